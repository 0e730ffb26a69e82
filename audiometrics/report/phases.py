"""Matching the phase frame (planned epochs, training calls, empty phases) with the epoch rows.

The phase frame (:func:`audiometrics.epochs.frame.phase_frame`) is used when it
describes the rows: either its recorded epoch counts slice the rows in order
(:func:`align_phases`, which also relabels the runs), or it joins them on run
label and phase number (:func:`join_phases`). Otherwise the summary warns
(``phase_mismatch``) and reads phases from the rows alone.
"""

from __future__ import annotations

import pandas as pd

from audiometrics.report.cells import opt_bool, opt_int
from audiometrics.report.model import DataWarning

__all__ = ["align_phases", "join_phases", "match_phases"]


def match_phases(
    frame: pd.DataFrame, phases: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[str], pd.DataFrame | None, list[DataWarning]]:
    """``(frame, run order, phase table or None, warnings)``: ``phases`` used only where it matches ``frame``."""
    run_order: list[str] = list(dict.fromkeys(map(str, frame["run"])))
    if phases is None or not len(phases):
        return frame, run_order, None, []
    aligned = align_phases(frame, phases)
    if aligned is not None:
        return aligned[0], aligned[1], phases, []
    joined = join_phases(frame, phases)
    if joined is not None:
        return frame, joined, phases, []
    warning = DataWarning(
        "phase_mismatch",
        "the phase table does not match the epoch rows (different runs, phases or epoch counts); "
        "planned epochs and empty phases are not reported",
    )
    return frame, run_order, None, [warning]


def align_phases(frame: pd.DataFrame, phases: pd.DataFrame) -> tuple[pd.DataFrame, list[str]] | None:
    """Relabel ``frame``'s runs with ``phases``' labels by slicing rows in order; ``None`` if they disagree."""
    if "recorded_epochs" not in phases.columns or "run" not in phases.columns:
        return None
    labels: list[str] = []
    position = 0
    order: dict[str, None] = {}
    models = [str(v) for v in frame["model"].tolist()]
    numbers = [opt_int(v) for v in frame["training_phase"].tolist()]
    flags = [opt_bool(v) for v in frame["pretrained"].astype("boolean").tolist()]
    for record in phases.itertuples(index=False):
        count = int(record.recorded_epochs)
        stop = position + count
        if stop > len(frame):
            return None
        if count:
            number, pretrained = opt_int(record.training_phase), opt_bool(record.pretrained)
            if any(m != str(record.model) for m in models[position:stop]):
                return None
            if number is None or any(n != number for n in numbers[position:stop]):
                return None
            if any(f != pretrained for f in flags[position:stop]):
                return None
        labels.extend([str(record.run)] * count)
        order.setdefault(str(record.run))
        position = stop
    if position != len(frame):
        return None
    out = frame.copy()
    out["run"] = pd.array(labels, dtype="string")
    out["global_epoch"] = out.groupby("run", sort=False).cumcount().astype("int64")
    return out, list(order)


def join_phases(frame: pd.DataFrame, phases: pd.DataFrame) -> list[str] | None:
    """Run order when ``phases`` joins ``frame`` on run label and phase number; ``None`` if not."""
    counts = frame.groupby(["run", "training_phase"], sort=False).size()
    expected: dict[tuple[str, int | None], int] = {}
    for record in phases.itertuples(index=False):
        key = (str(record.run), opt_int(record.training_phase))
        expected[key] = expected.get(key, 0) + int(record.recorded_epochs)
    for (run, phase), count in counts.items():
        if expected.get((str(run), opt_int(phase))) != int(count):
            return None
    present = {(str(r), opt_int(p)) for r, p in counts.index}
    for key, count in expected.items():
        if count and key not in present:
            return None
    # Python strings: pandas drops trailing NULs
    return list(dict.fromkeys([*map(str, phases["run"]), *map(str, frame["run"])]))
