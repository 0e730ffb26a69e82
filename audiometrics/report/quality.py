"""Data-quality warnings: problems in the epoch table that make its numbers doubtful.

* ``duplicate_rows``: two runs share at least :data:`MIN_SHARED_ROWS` epoch
  rows whose metric values and time are identical (rows with fewer than two
  metric values are not compared).
* ``empty_phase`` / ``incomplete_phase``: from the phase frame (planned vs
  recorded epochs, interrupted fits).
* ``epoch_restart``: the epoch numbering restarts inside a phase, so the
  phase's rows probably come from more than one training call.
* ``spike``: a loss column (any column with ``loss`` in its name) jumps to
  more than :data:`SPIKE_FACTOR` times its previous value between epochs of
  a run; the episode lasts while values stay above that factor of the last
  value before the jump.
* ``missing_metric``: a metric recorded for some runs and not for others,
  or missing in some rows of a run that has it.
* ``missing_lr`` / ``malformed_lr``: an empty learning rate, or a learning
  rate text that cannot be parsed (:func:`audiometrics.epochs.frame.lr_upper`).

(``phase_mismatch`` comes from :mod:`audiometrics.report.phases`.) Each
warning's sentence is built once per output style (:class:`~audiometrics.escaping.Style`):
plain text for the terminal, markdown for the documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from audiometrics.escaping import MARKDOWN, PLAIN, Style
from audiometrics.report.cells import opt_float, opt_int, opt_str
from audiometrics.report.formatting import fmt, join_words, number_ranges, or_unknown, plural
from audiometrics.report.model import DataWarning, PhaseSummary, Point, RunSummary, Spike

__all__ = ["MIN_SHARED_ROWS", "SPIKE_FACTOR", "SPIKE_WINDOW", "attach_phase_notes", "data_warnings", "find_spikes"]

#: A loss value above this many times the value before it is a spike.
SPIKE_FACTOR = 10.0
#: The value a spike is measured against: the lowest of this many values before it (outside spikes).
SPIKE_WINDOW = 3
#: Runs sharing at least this many identical epoch rows are flagged.
MIN_SHARED_ROWS = 2

Groups = dict[str, pd.DataFrame]


def _where_phases(rows: pd.DataFrame) -> str:
    numbers = [int(p) for p in rows["training_phase"].dropna().unique()]
    if not numbers:
        return ""
    return ("phase " if len(set(numbers)) == 1 else "phases ") + number_ranges(numbers)


def _warn(kind: str, build: Callable[[Style], str], runs: list[str] | None = None, data: dict[str, Any] | None = None) -> DataWarning:
    """A warning whose message ``build(style)`` gives as plain text and as markdown."""
    return DataWarning(kind, build(PLAIN), list(runs or []), dict(data or {}), build(MARKDOWN))


# --------------------------------------------------------------------------- spikes


@dataclass
class _Episode:
    baseline: int
    start: int
    peak: int
    count: int = 0


def _loss_columns(metric_columns: list[str]) -> list[str]:
    loss_columns = [c for c in metric_columns if "loss" in c.lower()]
    ordered = [c for c in ("train_loss", "valid_loss") if c in loss_columns]
    return ordered + [c for c in loss_columns if c not in ordered]


def _episodes(values: list[float]) -> Iterator[tuple[_Episode, int | None]]:
    """Each spike episode of ``values`` and the index it recovered at (``None`` if it never did)."""
    recent: list[int] = [0]  # indices of the last SPIKE_WINDOW values outside spikes
    episode: _Episode | None = None
    for i in range(1, len(values)):
        base_index = min(recent, key=lambda j: (values[j], -j))
        base = values[base_index]
        if base > 0 and values[i] > SPIKE_FACTOR * base:
            if episode is None:
                episode = _Episode(baseline=base_index, start=i, peak=i)
            episode.count += 1
            if values[i] > values[episode.peak]:
                episode.peak = i
        else:
            if episode is not None:
                yield episode, i
                episode = None
            recent = [*recent, i][-SPIKE_WINDOW:]
    if episode is not None:
        yield episode, None


def _column_spikes(name: str, rows: pd.DataFrame, column: str) -> list[Spike]:
    valid = rows[rows[column].notna()]
    if len(valid) < 2:
        return []
    values = [float(v) for v in valid[column]]  # Python floats: no numpy overflow warnings near 1e308

    def point(i: int) -> Point:
        row = valid.iloc[i]
        return Point(float(values[i]), opt_int(row["training_phase"]), opt_int(row["epoch"]), int(row["global_epoch"]))

    return [
        Spike(
            run=name,
            column=column,
            baseline=float(values[episode.baseline]),
            baseline_at=point(episode.baseline),
            start=point(episode.start),
            peak=point(episode.peak),
            epochs=episode.count,
            recovered=point(recovered) if recovered is not None else None,
            learning_rate=opt_str(valid.iloc[episode.start]["learning_rate"]),
        )
        for episode, recovered in _episodes(values)
    ]


def find_spikes(frame: pd.DataFrame, runs: list[RunSummary], metric_columns: list[str]) -> list[Spike]:
    """The loss spikes of every run (see the module docstring), by run, loss column and epoch."""
    spikes: list[Spike] = []
    losses = _loss_columns(metric_columns)
    for run in runs:
        rows = frame[[str(value) == run.id for value in frame["run"]]]
        for column in losses:
            spikes.extend(_column_spikes(run.name, rows, column))
    return spikes


def _spike_message(spike: Spike, s: Style = PLAIN) -> str:
    text = (
        f"{s(spike.column)} of {s(spike.run)} jumped by more than an order of magnitude: {fmt(spike.start.value)} at "
        f"{spike.start.where} against {fmt(spike.baseline)} shortly before ({spike.baseline_at.where})"
    )
    if spike.peak.global_epoch != spike.start.global_epoch:
        text += f", peaking at {fmt(spike.peak.value)} ({spike.peak.where})"
    text += f"; {plural(spike.epochs, 'epoch')} above {SPIKE_FACTOR:g}× that"
    if spike.recovered is not None:
        text += f", back to {fmt(spike.recovered.value)} at {spike.recovered.where}"
    else:
        text += ", and it never came back"
    if spike.learning_rate:
        text += f" (learning rate {s.code(spike.learning_rate)})"
    return text


def _spike_warnings(spikes: list[Spike]) -> list[DataWarning]:
    return [_warn("spike", lambda s: _spike_message(spike, s), [spike.run], {"phase": (spike.run, spike.start.phase)}) for spike in spikes]


# --------------------------------------------------------------------------- shared rows


def _row_keys(rows: pd.DataFrame, columns: list[str]) -> list[tuple[str, ...] | None]:
    """A key per row of its metric values and time; ``None`` for rows with too few values to compare."""
    keys: list[tuple[str, ...] | None] = []
    for values in rows[[*columns, "time"]].itertuples(index=False, name=None):
        numbers = [opt_float(v) for v in values[:-1]]
        if sum(n is not None for n in numbers) < 2:
            keys.append(None)  # too little to call two rows the same
        else:
            keys.append((*("" if n is None else repr(n) for n in numbers), str(values[-1])))
    return keys


def _duplicate_pair(run_a: RunSummary, run_b: RunSummary, groups: Groups) -> DataWarning | None:
    columns = [c for c in run_a.columns if c in run_b.columns]
    if len(columns) < 2:
        return None
    keys_a, keys_b = _row_keys(groups[run_a.id], columns), _row_keys(groups[run_b.id], columns)
    shared_keys = Counter(k for k in keys_a if k is not None) & Counter(k for k in keys_b if k is not None)
    shared = sum(shared_keys.values())
    if shared < MIN_SHARED_ROWS:
        return None
    (small, small_keys), (large, large_keys) = sorted(
        [(run_a, keys_a), (run_b, keys_b)], key=lambda pair: (pair[0].epochs, pair[0].index)
    )

    def where(run: RunSummary, keys: list[tuple[str, ...] | None]) -> str:
        rows = groups[run.id]
        return _where_phases(rows[[k is not None and k in shared_keys for k in keys]])

    return _warn(
        "duplicate_rows",
        lambda s: f"{s(small.name)} and {s(large.name)} share {shared} of {s(small.name)}'s {small.epochs} epoch rows "
        f"value for value, time included ({where(small, small_keys)} of {s(small.name)}; "
        f"{where(large, large_keys)} of {s(large.name)}, which has {large.epochs} rows): a copied notebook "
        "or an extraction mix-up; do not compare these runs until it is explained",
        [small.name, large.name],
        {"shared": shared, "rows": small.epochs, "other_rows": large.epochs},
    )


def _duplicate_warnings(with_rows: list[RunSummary], groups: Groups) -> list[DataWarning]:
    """Runs sharing epoch rows value for value (compared on the metric columns both runs have, and time)."""
    out: list[DataWarning] = []
    for i, run_a in enumerate(with_rows):
        for run_b in with_rows[i + 1 :]:
            warning = _duplicate_pair(run_a, run_b, groups)
            if warning is not None:
                out.append(warning)
    return out


# --------------------------------------------------------------------------- phases


def _phase_warnings(runs: list[RunSummary]) -> list[DataWarning]:
    """Empty and incomplete phases (known only from a phase table), and runs with no epochs."""
    out: list[DataWarning] = []
    for run in runs:
        for phase in run.phases:
            if phase.empty:
                out.append(_warn("empty_phase", lambda s: f"{s(run.name)}, phase {or_unknown(phase.number)}: {s(phase.status)}", [run.name]))
            elif phase.incomplete:
                out.append(
                    _warn(
                        "incomplete_phase",
                        lambda s: f"{s(run.name)}, phase {or_unknown(phase.number)}: {s(phase.status)}",
                        [run.name],
                        {"recorded": phase.recorded_epochs, "planned": phase.planned_epochs},
                    )
                )
    for run in runs:
        if run.epochs == 0 and not run.phases:
            out.append(_warn("empty_phase", lambda s: f"{s(run.name)}: no epochs recorded", [run.name]))
    return out


def _segments(epochs: list[int | None]) -> list[list[int]]:
    """Runs of increasing epoch numbers."""
    segments: list[list[int]] = []
    for epoch in epochs:
        if epoch is None:
            continue
        if segments and epoch > segments[-1][-1]:
            segments[-1].append(epoch)
        else:
            segments.append([epoch])
    return segments


def _restart_warnings(runs: list[RunSummary], groups: Groups) -> list[DataWarning]:
    """Epoch numbering restarting inside a phase."""
    out: list[DataWarning] = []
    for run in runs:
        rows = groups.get(run.id)
        if rows is None:
            continue
        for number, phase_rows in rows.groupby("training_phase", sort=False, dropna=False):
            segments = _segments([opt_int(e) for e in phase_rows["epoch"]])
            if len(segments) <= 1:
                continue
            spans = ", then ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else f"{s[0]}" for s in segments)
            out.append(
                _warn(
                    "epoch_restart",
                    lambda s: f"{s(run.name)}, phase {or_unknown(opt_int(number))}: the epoch numbering restarts ({spans}), so its "
                    f"{len(phase_rows)} rows probably come from {len(segments)} training calls merged into one phase",
                    [run.name],
                    {"phase": (run.name, opt_int(number)), "segments": len(segments)},
                )
            )
    return out


# --------------------------------------------------------------------------- metrics and learning rates


def _missing_metric_warnings(metric_columns: list[str], with_rows: list[RunSummary], groups: Groups) -> list[DataWarning]:
    """Metrics present in some runs and missing in others, or in some rows of a run."""
    out: list[DataWarning] = []
    for column in metric_columns:
        having = [r for r in with_rows if column in r.columns]
        lacking = [r for r in with_rows if column not in r.columns]
        if having and lacking:
            out.append(
                _warn(
                    "missing_metric",
                    lambda s: f"{s(column)} is recorded for {len(having)} of {len(with_rows)} runs; missing for "
                    f"{join_words([s(r.name) for r in lacking])}, so comparisons on {s(column)} leave "
                    + ("it" if len(lacking) == 1 else "them")
                    + " out",
                    [r.name for r in lacking],
                )
            )
    for run in with_rows:
        rows = groups[run.id]
        for column in run.columns:
            missing = int(rows[column].isna().sum())
            if missing:
                out.append(
                    _warn(
                        "missing_metric",
                        lambda s: f"{s(column)} is missing in {missing} of {run.epochs} epoch rows of {s(run.name)} "
                        f"({_where_phases(rows[rows[column].isna()])})",
                        [run.name],
                    )
                )
    return out


def _lr_warnings(runs: list[RunSummary]) -> list[DataWarning]:
    """Learning rates that could not be resolved or parsed."""
    out: list[DataWarning] = []
    for run in runs:
        missing = [p for p in run.phases if p.lr_status == "missing"]
        if missing:
            numbers = [p.number for p in missing if p.number is not None]
            out.append(
                _warn(
                    "missing_lr",
                    lambda s: f"{s(run.name)}: the learning rate of {'phase' if len(numbers) == 1 else 'phases'} {number_ranges(numbers)} "
                    "could not be resolved (empty learning_rate)",
                    [run.name],
                )
            )
    malformed: dict[str, list[tuple[RunSummary, PhaseSummary]]] = {}
    for run in runs:
        for phase in run.phases:
            if phase.lr_status == "malformed":
                malformed.setdefault(phase.learning_rate, []).append((run, phase))
    for text, uses in malformed.items():
        hint = " (a closing parenthesis is missing)" if text.count("(") > text.count(")") else ""
        out.append(
            _warn(
                "malformed_lr",
                lambda s: f"learning rate {s.code(text)} cannot be parsed{hint}; used by "
                + join_words([f"{s(run.name)} phase {or_unknown(phase.number)}" for run, phase in uses]),
                sorted({run.name for run, _ in uses}, key=[r.name for r in runs].index),
            )
        )
    return out


# --------------------------------------------------------------------------- all


def data_warnings(frame: pd.DataFrame, runs: list[RunSummary], metric_columns: list[str], spikes: list[Spike]) -> list[DataWarning]:
    """Every data-quality warning of the table, in the order of the module docstring's list."""
    groups: Groups = {str(run): rows for run, rows in frame.groupby("run", sort=False)}
    with_rows = [r for r in runs if groups.get(r.id) is not None and len(groups[r.id])]
    return [
        *_duplicate_warnings(with_rows, groups),
        *_phase_warnings(runs),
        *_restart_warnings(runs, groups),
        *_spike_warnings(spikes),
        *_missing_metric_warnings(metric_columns, with_rows, groups),
        *_lr_warnings(runs),
    ]


def attach_phase_notes(runs: list[RunSummary], warnings: list[DataWarning]) -> None:
    """Copy the warnings pinned to one phase onto that phase (for the per-run summary)."""
    phases = {(run.name, phase.number): phase for run in runs for phase in run.phases}
    for warning in warnings:
        key = warning.data.get("phase")
        if key is not None and tuple(key) in phases:
            phases[tuple(key)].notes.append(warning.markdown)

