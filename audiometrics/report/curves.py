"""Learning-curve flags: shapes of a run's curves that make its numbers doubtful or its training broken.

One warning per kind, naming the first :data:`NAMED` runs and counting the rest
(the runs table and the epoch CSV hold them all); each is computed once per run
and column, so the cost is linear in the epoch rows.

* ``stuck_metric``: a metric column with at least :data:`MIN_EPOCHS` values, all equal
  (the model or the metric is not learning anything: a frozen body, a constant prediction).
* ``never_improves``: the main metric (or ``valid_loss``) has at least
  :data:`MIN_EPOCHS` values, not all equal, and none after the first is better than the first.
* ``nonfinite_loss``: a loss column showed ``nan``/``inf`` at some epoch (the
  loader reads those as missing values, so this is said here).
* ``divergence``: ``train_loss`` (or ``valid_loss``) ends above where it started and
  above :data:`DIVERGE_FACTOR` × its lowest value, with at least :data:`MIN_EPOCHS` values.
* ``overfitting``: ``valid_loss`` rises while ``train_loss`` falls for at least
  :data:`OVERFIT_EPOCHS` consecutive epochs; the onset is the first epoch of the
  first such stretch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from audiometrics.escaping import Style
from audiometrics.report.formatting import fmt, join_words
from audiometrics.report.model import DataWarning, MetricInfo, RunSummary
from audiometrics.report.rows import Rows

__all__ = ["DIVERGE_FACTOR", "MIN_EPOCHS", "NAMED", "OVERFIT_EPOCHS", "curve_warnings"]

#: A curve needs at least this many values to be judged.
MIN_EPOCHS = 3
#: Consecutive epochs of rising valid_loss and falling train_loss that mark overfitting.
OVERFIT_EPOCHS = 3
#: A loss that ends above its start and above this factor of its lowest value diverged.
DIVERGE_FACTOR = 1.5
#: Runs named in a warning, before "and N more".
NAMED = 3


def _values(rows: Rows, column: str) -> list[float]:
    return [float(v) for v in rows.values(column)]


def _overfit_onset(rows: Rows) -> int | None:
    """The global epoch where valid_loss starts rising while train_loss falls for OVERFIT_EPOCHS epochs."""
    if not rows.has("valid_loss") or not rows.has("train_loss"):
        return None
    both = [i for i, (v, t) in enumerate(zip(rows.col("valid_loss"), rows.col("train_loss"))) if v is not None and t is not None]
    valid = [rows.col("valid_loss")[i] for i in both]
    train = [rows.col("train_loss")[i] for i in both]
    epochs = [rows.col("global_epoch")[i] for i in both]
    streak = 0
    for i in range(1, len(valid)):
        streak = streak + 1 if valid[i] > valid[i - 1] and train[i] < train[i - 1] else 0
        if streak >= OVERFIT_EPOCHS:
            return int(epochs[i - streak])
    return None


def _run_flags(run: RunSummary, rows: Rows, info: MetricInfo | None) -> dict[str, str]:
    """The flags of one run: kind → the detail said after its name."""
    flags: dict[str, str] = {}
    stuck = [c for c in run.columns if len(v := _values(rows, c)) >= MIN_EPOCHS and min(v) == max(v)]
    if stuck:
        flags["stuck_metric"] = join_words([f"{c} at {fmt(_values(rows, c)[0])}" for c in stuck])
    judged = [(info.name, info.lower_is_better)] if info is not None else []
    if info is None or info.name != "valid_loss":
        judged.append(("valid_loss", True))
    for column, lower in judged:
        values = _values(rows, column)
        if len(values) >= MIN_EPOCHS and min(values) != max(values) and column not in stuck:
            later = values[1:]
            if (min(later) >= values[0]) if lower else (max(later) <= values[0]):
                flags.setdefault("never_improves", f"{column} never beat its first value {fmt(values[0])} in {len(values)} epochs")
    bad = {c: n for c, n in run.nonfinite.items() if "loss" in c.lower()}
    if bad:
        flags["nonfinite_loss"] = join_words([f"{c} in {n} epoch{'s' if n != 1 else ''}" for c, n in bad.items()])
    for column in ("train_loss", "valid_loss"):
        values = _values(rows, column)
        low = min(values) if values else 0.0
        if len(values) >= MIN_EPOCHS and values[-1] > values[0] and low > 0 and values[-1] > DIVERGE_FACTOR * low:
            flags["divergence"] = f"{column} {fmt(values[0])} → lowest {fmt(low)} → final {fmt(values[-1])}"
            break
    onset = _overfit_onset(rows)
    if onset is not None:
        flags["overfitting"] = f"from epoch {onset + 1} of {run.epochs}"
    return flags


_LEADS = {
    "stuck_metric": "a metric never changed (the same value every epoch)",
    "never_improves": "the metric never improved on its first epoch",
    "nonfinite_loss": "a loss was nan or inf",
    "divergence": "the loss diverged (it ends above where it started)",
    "overfitting": f"overfitting: valid_loss rose while train_loss fell for {OVERFIT_EPOCHS} or more epochs in a row",
}


def _flag_text(s: Style, *, kind: str, named: tuple[tuple[str, str], ...], more: int) -> str:
    runs = "1 run" if len(named) + more == 1 else f"{len(named) + more} runs"
    listed = [f"{s(name)} ({s(detail)})" for name, detail in named] + ([f"{more} more"] if more else [])
    return f"{_LEADS[kind]} in {runs}: {join_words(listed)}"


def curve_warnings(
    runs: list[RunSummary], groups: dict[str, Rows], info: MetricInfo | None, skip: set[str] | None = None
) -> list[DataWarning]:
    """One warning per kind of flag (module docstring), naming up to :data:`NAMED` runs; ``skip``: run names left out."""
    found: dict[str, list[tuple[str, str]]] = {kind: [] for kind in _LEADS}
    for run in runs:
        rows = groups.get(run.id)
        if rows is None or not len(rows) or (skip and run.name in skip):
            continue
        for kind, detail in _run_flags(run, rows, info).items():
            found[kind].append((run.name, detail))
    out = []
    for kind, hits in found.items():
        if hits:
            wording: Callable[[Style], str] = partial(_flag_text, kind=kind, named=tuple(hits[:NAMED]), more=max(len(hits) - NAMED, 0))
            data: dict[str, Any] = {"count": len(hits)}
            out.append(DataWarning(kind, runs=[name for name, _ in hits], data=data, wording=wording))
    return out
