"""Data-quality warnings: problems in the epoch table that make its numbers doubtful.

* ``duplicate_runs``: runs whose every epoch row is identical (metric values
  and time), one warning per group of copies (each run's rows hashed once).
* ``duplicate_rows``: two runs (copies counted once) share at least
  :data:`MIN_SHARED_ROWS` epoch rows whose metric values and time are
  identical (rows with fewer than two metric values are not compared); a row
  counts for the first run that had it.
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
warning's sentence is a wording function (``_..._text``) of an output style
(:class:`~audiometrics.escaping.Style`) and keyword facts, bound to the
warning (:attr:`~audiometrics.report.model.DataWarning.wording`): plain text
for the terminal, markdown for the documents, and any later style.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from audiometrics.escaping import Style
from audiometrics.report.cells import opt_int, opt_str
from audiometrics.report.formatting import fmt, join_words, number_ranges, or_unknown, plural
from audiometrics.report.curves import curve_warnings
from audiometrics.report.rows import Rows, split_runs
from audiometrics.report.model import DataWarning, MetricInfo, PhaseSummary, Point, RunSummary, Spike

__all__ = ["MIN_SHARED_ROWS", "SPIKE_FACTOR", "SPIKE_WINDOW", "attach_phase_notes", "data_warnings", "find_spikes"]

#: A loss value above this many times the value before it is a spike.
SPIKE_FACTOR = 10.0
#: The value a spike is measured against: the lowest of this many values before it (outside spikes).
SPIKE_WINDOW = 3
#: Runs sharing at least this many identical epoch rows are flagged.
MIN_SHARED_ROWS = 2

Groups = dict[str, Rows]


def _where_phases(rows: Rows) -> str:
    numbers = [int(p) for p in dict.fromkeys(rows.values("training_phase"))]
    if not numbers:
        return ""
    return ("phase " if len(set(numbers)) == 1 else "phases ") + number_ranges(numbers)


def _warn(kind: str, wording: Callable[[Style], str], runs: list[str] | None = None, data: dict[str, Any] | None = None) -> DataWarning:
    """A warning worded by ``wording(style)`` (a wording function with its facts bound)."""
    return DataWarning(kind, runs=list(runs or []), data=dict(data or {}), wording=wording)


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


def _column_spikes(name: str, rows: Rows, column: str) -> list[Spike]:
    valid = rows.present(column)
    if len(valid) < 2:
        return []
    values = [float(rows.col(column)[i]) for i in valid]  # Python floats: no numpy overflow warnings near 1e308

    def point(i: int) -> Point:
        row = rows.record(valid[i])
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
            learning_rate=opt_str(rows.col("learning_rate")[valid[episode.start]]),
        )
        for episode, recovered in _episodes(values)
    ]


def find_spikes(frame: pd.DataFrame, runs: list[RunSummary], metric_columns: list[str], groups: Groups | None = None) -> list[Spike]:
    """The loss spikes of every run (see the module docstring), by run, loss column and epoch.

    ``groups``: the frame's rows by run (:func:`~audiometrics.report.rows.split_runs`), when already split.
    """
    spikes: list[Spike] = []
    losses = _loss_columns(metric_columns)
    groups = groups if groups is not None else split_runs(frame)
    for run in runs:
        rows = groups.get(run.id)
        if rows is None:
            continue
        for column in losses:
            spikes.extend(_column_spikes(run.name, rows, column))
    return spikes


def _spike_text(s: Style, *, spike: Spike) -> str:
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
    return [_warn("spike", partial(_spike_text, spike=spike), [spike.run], {"phase": (spike.run, spike.start.phase)}) for spike in spikes]


# --------------------------------------------------------------------------- shared rows and copies


#: A copy group names this many runs, then "and N more".
NAMED_RUNS = 3
#: Pairs of runs sharing rows that get a warning each; the others are counted in one more warning.
LISTED_PAIRS = 5


def _row_keys(rows: Rows, columns: list[str]) -> list[tuple[str, ...] | None]:
    """A key per row of its metric values (named) and time; ``None`` for rows with too few values to compare."""
    keys: list[tuple[str, ...] | None] = []
    for values in zip(*(rows.col(c) for c in columns), rows.col("time")):
        numbers = [None if v is None else float(v) for v in values[:-1]]
        if sum(n is not None for n in numbers) < 2:
            keys.append(None)  # too little to call two rows the same
        else:
            keys.append((*(f"{c}={n!r}" for c, n in zip(columns, numbers) if n is not None), str(values[-1])))
    return keys


def _named(names: list[str]) -> tuple[str, ...]:
    return tuple(names[:NAMED_RUNS])


def _copies_text(s: Style, *, count: int, names: tuple[str, ...], rows: int) -> str:
    listed = join_words([s(n) for n in names] + ([f"{count - len(names)} more"] if count > len(names) else []))
    return (
        f"{count} runs are copies of each other, all {rows} epoch rows value for value, time included: {listed}; "
        "a copied notebook or an extraction mix-up: count them as one run until it is explained"
    )


def _copy_groups(with_rows: list[RunSummary], keys: dict[str, list[tuple[str, ...] | None]]) -> list[list[RunSummary]]:
    """Runs whose every epoch row is the same as another's (each run's key hashed once)."""
    buckets: dict[tuple[Any, ...], list[RunSummary]] = {}
    for run in with_rows:
        run_keys = keys[run.id]
        if run_keys and all(k is not None for k in run_keys):
            buckets.setdefault(tuple(run_keys), []).append(run)
    return [members for members in buckets.values() if len(members) > 1]


def _shared_pairs(runs: list[RunSummary], keys: dict[str, list[tuple[str, ...] | None]]) -> Counter[tuple[int, int]]:
    """Rows a later run shares with the first run that had them: ``(first, later) → count`` (one lookup per row)."""
    owner: dict[tuple[str, ...], int] = {}
    shared: Counter[tuple[int, int]] = Counter()
    for position, run in enumerate(runs):
        for key in dict.fromkeys(k for k in keys[run.id] if k is not None):
            first = owner.setdefault(key, position)
            if first != position:
                shared[(first, position)] += 1
    return shared


def _duplicate_pair(run_a: RunSummary, run_b: RunSummary, groups: Groups, keys: dict[str, list[tuple[str, ...] | None]]) -> DataWarning:
    keys_a, keys_b = keys[run_a.id], keys[run_b.id]
    shared_keys = Counter(k for k in keys_a if k is not None) & Counter(k for k in keys_b if k is not None)
    shared = sum(shared_keys.values())
    (small, small_keys), (large, large_keys) = sorted(
        [(run_a, keys_a), (run_b, keys_b)], key=lambda pair: (pair[0].epochs, pair[0].index)
    )

    def where(run: RunSummary, run_keys: list[tuple[str, ...] | None]) -> str:
        rows = groups[run.id]
        return _where_phases(rows.take(i for i, k in enumerate(run_keys) if k is not None and k in shared_keys))

    wording = partial(
        _shared_rows_text,
        small=small.name,
        large=large.name,
        shared=shared,
        small_rows=small.epochs,
        large_rows=large.epochs,
        small_where=where(small, small_keys),
        large_where=where(large, large_keys),
    )
    return _warn("duplicate_rows", wording, [small.name, large.name], {"shared": shared, "rows": small.epochs, "other_rows": large.epochs})


def _shared_rows_text(
    s: Style, *, small: str, large: str, shared: int, small_rows: int, large_rows: int, small_where: str, large_where: str
) -> str:
    return (
        f"{s(small)} and {s(large)} share {shared} of {s(small)}'s {small_rows} epoch rows "
        f"value for value, time included ({small_where} of {s(small)}; "
        f"{large_where} of {s(large)}, which has {large_rows} rows): a copied notebook "
        "or an extraction mix-up; do not compare these runs until it is explained"
    )


def _duplicate_warnings(with_rows: list[RunSummary], groups: Groups) -> list[DataWarning]:
    """Runs that are copies of each other (one warning per group), then runs sharing some epoch rows (per pair).

    Each run's rows are keyed once (metric values by column, and time): linear in the rows.
    """
    keys = {run.id: _row_keys(groups[run.id], run.columns) for run in with_rows}
    out: list[DataWarning] = []
    copies = _copy_groups(with_rows, keys)
    common = [c for c in (with_rows[0].columns if with_rows else []) if all(c in run.columns for run in with_rows)]
    if len(common) >= 2:  # rows are shared on the columns every run has (a run may track one metric more)
        keys = {run.id: _row_keys(groups[run.id], common) for run in with_rows}
    for members in copies:
        names = [r.name for r in members]
        wording = partial(_copies_text, count=len(members), names=_named(names), rows=members[0].epochs)
        out.append(_warn("duplicate_runs", wording, names, {"count": len(members), "rows": members[0].epochs}))
    copied = {run.id for members in copies for run in members[1:]}
    representatives = [run for run in with_rows if run.id not in copied]
    pairs = [(a, b) for (a, b), count in sorted(_shared_pairs(representatives, keys).items()) if count >= MIN_SHARED_ROWS]
    for a, b in pairs[:LISTED_PAIRS]:
        out.append(_duplicate_pair(representatives[a], representatives[b], groups, keys))
    if len(pairs) > LISTED_PAIRS:
        more = len(pairs) - LISTED_PAIRS
        names = sorted({representatives[i].name for pair in pairs[LISTED_PAIRS:] for i in pair}, key=lambda n: n)
        out.append(_warn("duplicate_rows_more", partial(_more_pairs_text, more=more), names, {"pairs": more}))
    return out


def _more_pairs_text(s: Style, *, more: int) -> str:
    return (
        f"{more} more pairs of runs share at least {MIN_SHARED_ROWS} epoch rows value for value, time included; "
        "compare the runs table's best and final values before relying on them"
    )


def copies_of(warnings: list[DataWarning]) -> set[str]:
    """The runs that repeat another run of their copy group (every member but the first)."""
    return {name for w in warnings if w.kind == "duplicate_runs" for name in w.runs[1:]}


# --------------------------------------------------------------------------- phases


def _phase_warnings(runs: list[RunSummary]) -> list[DataWarning]:
    """Empty and incomplete phases (known only from a phase table), and runs with no epochs."""
    out: list[DataWarning] = []
    for run in runs:
        for phase in run.phases:
            wording = partial(_phase_text, run=run.name, number=phase.number, status=phase.status)
            if phase.empty:
                out.append(_warn("empty_phase", wording, [run.name]))
            elif phase.incomplete:
                out.append(_warn("incomplete_phase", wording, [run.name], {"recorded": phase.recorded_epochs, "planned": phase.planned_epochs}))
    for run in runs:
        if run.epochs == 0 and not run.phases:
            out.append(_warn("empty_phase", partial(_no_epochs_text, run=run.name), [run.name]))
    return out


def _phase_text(s: Style, *, run: str, number: int | None, status: str) -> str:
    return f"{s(run)}, phase {or_unknown(number)}: {s(status)}"


def _no_epochs_text(s: Style, *, run: str) -> str:
    return f"{s(run)}: no epochs recorded"


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
        for number, phase_rows in rows.by("training_phase").items():
            segments = _segments([opt_int(e) for e in phase_rows.col("epoch")])
            if len(segments) <= 1:
                continue
            spans = ", then ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else f"{s[0]}" for s in segments)
            wording = partial(_restart_text, run=run.name, number=opt_int(number), spans=spans, rows=len(phase_rows), calls=len(segments))
            out.append(_warn("epoch_restart", wording, [run.name], {"phase": (run.name, opt_int(number)), "segments": len(segments)}))
    return out


def _restart_text(s: Style, *, run: str, number: int | None, spans: str, rows: int, calls: int) -> str:
    return (
        f"{s(run)}, phase {or_unknown(number)}: the epoch numbering restarts ({spans}), so its "
        f"{rows} rows probably come from {calls} training calls merged into one phase"
    )


# --------------------------------------------------------------------------- metrics and learning rates


def _missing_metric_warnings(metric_columns: list[str], with_rows: list[RunSummary], groups: Groups) -> list[DataWarning]:
    """Metrics present in some runs and missing in others, or in some rows of a run."""
    out: list[DataWarning] = []
    for column in metric_columns:
        having = [r for r in with_rows if column in r.columns]
        lacking = [r for r in with_rows if column not in r.columns]
        if having and lacking:
            names = [r.name for r in lacking]
            wording = partial(_metric_lacking_text, column=column, having=len(having), runs=len(with_rows), lacking=tuple(names))
            out.append(_warn("missing_metric", wording, names))
    for run in with_rows:
        rows = groups[run.id]
        for column in run.columns:
            gaps = [i for i, v in enumerate(rows.col(column)) if v is None]
            missing = len(gaps)
            if missing:
                where = _where_phases(rows.take(gaps))
                wording = partial(_metric_gaps_text, column=column, missing=missing, rows=run.epochs, run=run.name, where=where)
                out.append(_warn("missing_metric", wording, [run.name]))
    return out


def _metric_lacking_text(s: Style, *, column: str, having: int, runs: int, lacking: tuple[str, ...]) -> str:
    names = [s(name) for name in lacking[:NAMED_RUNS]] + ([f"{len(lacking) - NAMED_RUNS} more"] if len(lacking) > NAMED_RUNS else [])
    return (
        f"{s(column)} is recorded for {having} of {runs} runs; missing for "
        f"{join_words(names)}, so comparisons on {s(column)} leave "
        + ("it" if len(lacking) == 1 else "them")
        + " out"
    )


def _metric_gaps_text(s: Style, *, column: str, missing: int, rows: int, run: str, where: str) -> str:
    return f"{s(column)} is missing in {missing} of {rows} epoch rows of {s(run)} ({where})"


def _lr_warnings(runs: list[RunSummary]) -> list[DataWarning]:
    """Learning rates that could not be resolved or parsed."""
    out: list[DataWarning] = []
    for run in runs:
        missing = [p for p in run.phases if p.lr_status == "missing"]
        if missing:
            numbers = tuple(p.number for p in missing if p.number is not None)
            out.append(_warn("missing_lr", partial(_missing_lr_text, run=run.name, numbers=numbers), [run.name]))
    malformed: dict[str, list[tuple[RunSummary, PhaseSummary]]] = {}
    for run in runs:
        for phase in run.phases:
            if phase.lr_status == "malformed":
                malformed.setdefault(phase.learning_rate, []).append((run, phase))
    for text, uses in malformed.items():
        wording = partial(_malformed_lr_text, text=text, uses=tuple((run.name, phase.number) for run, phase in uses))
        out.append(_warn("malformed_lr", wording, sorted({run.name for run, _ in uses}, key=[r.name for r in runs].index)))
    return out


def _missing_lr_text(s: Style, *, run: str, numbers: tuple[int, ...]) -> str:
    return (
        f"{s(run)}: the learning rate of {'phase' if len(numbers) == 1 else 'phases'} {number_ranges(numbers)} "
        "could not be resolved (empty learning_rate)"
    )


def _malformed_lr_text(s: Style, *, text: str, uses: tuple[tuple[str, int | None], ...]) -> str:
    hint = " (a closing parenthesis is missing)" if text.count("(") > text.count(")") else ""
    return f"learning rate {s.code(text)} cannot be parsed{hint}; used by " + join_words(
        [f"{s(run)} phase {or_unknown(number)}" for run, number in uses]
    )


# --------------------------------------------------------------------------- all


def data_warnings(
    frame: pd.DataFrame,
    runs: list[RunSummary],
    metric_columns: list[str],
    spikes: list[Spike],
    info: MetricInfo | None = None,
    groups: Groups | None = None,
) -> list[DataWarning]:
    """Every data-quality warning of the table, in the order of the module docstring's list."""
    groups = groups if groups is not None else split_runs(frame)
    with_rows = [r for r in runs if groups.get(r.id) is not None and len(groups[r.id])]
    duplicates = _duplicate_warnings(with_rows, groups)
    copied = copies_of(duplicates)  # a copy's own warnings repeat its first run's: said once
    kept = [r for r in runs if r.name not in copied]
    kept_with_rows = [r for r in with_rows if r.name not in copied]
    return [
        *duplicates,
        *_phase_warnings(kept),
        *_restart_warnings(kept, groups),
        *_spike_warnings([s for s in spikes if s.run not in copied]),
        *_missing_metric_warnings(metric_columns, kept_with_rows, groups),
        *_lr_warnings(kept),
        *curve_warnings(kept, groups, info),
    ]


def attach_phase_notes(runs: list[RunSummary], warnings: list[DataWarning]) -> None:
    """Add the warnings pinned to one phase to that phase's notes (for the per-run summary)."""
    phases = {(run.name, phase.number): phase for run in runs for phase in run.phases}
    for warning in warnings:
        key = warning.data.get("phase")
        if key is not None and tuple(key) in phases:
            phases[tuple(key)].notes.append(warning)

