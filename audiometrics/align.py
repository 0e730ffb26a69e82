"""Align the progress tables a cell printed with the training calls it executed.

Within a cell, the k-th training table belongs to the k-th training phase the
cell executed (``fine_tune`` executes two). Calls that draw a progress display
without training (``lr_find``) take a display slot when the tables show one.
Phase numbers count training phases within a run, so a phase always points at a
call in the code, even when its table was saved empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from audiometrics.model import (
    CellAnalysis,
    CodeCell,
    Diagnostic,
    LearnerCreated,
    Loop,
    Phase,
    ProgressCall,
    ProgressTable,
    Run,
    SourceEvent,
    TrainingCall,
)

__all__ = ["align_notebook", "expand_events"]

#: Unrolling limit for loops whose count is known.
MAX_UNROLL = 10_000


@dataclass
class _RunBuilder:
    learner: LearnerCreated | None
    cell: int | None
    phases: list[Phase] = field(default_factory=list)


def expand_events(events: Sequence[SourceEvent], unknown_loop_count: int | None = None) -> list[SourceEvent]:
    """Flatten loops: known counts are unrolled; unknown ones use ``unknown_loop_count`` (default 1)."""
    flat: list[SourceEvent] = []
    for event in events:
        if isinstance(event, Loop):
            count = event.count if event.count is not None else (unknown_loop_count if unknown_loop_count is not None else 1)
            body = expand_events(event.body, unknown_loop_count)
            flat.extend(body * max(0, min(count, MAX_UNROLL)))
        else:
            flat.append(event)
    return flat


def _unknown_loops(events: Sequence[SourceEvent]) -> int:
    return sum(
        (1 if e.count is None else 0) + _unknown_loops(e.body) for e in events if isinstance(e, Loop)
    )


def _training_count(events: Sequence[SourceEvent]) -> int:
    return sum(1 for e in events if isinstance(e, TrainingCall))


def _solve_unknown_loop(events: Sequence[SourceEvent], tables: int) -> list[SourceEvent] | None:
    """With one loop of unknown count, the count that explains ``tables`` tables, if any."""
    if _unknown_loops(events) != 1:
        return None
    without = _training_count(expand_events(events, 0))
    per_iteration = _training_count(expand_events(events, 1)) - without
    if per_iteration <= 0 or tables < without or (tables - without) % per_iteration:
        return None
    return expand_events(events, (tables - without) // per_iteration)


def _match_cell(
    events: list[SourceEvent], tables: list[ProgressTable]
) -> tuple[list[tuple[TrainingCall | None, ProgressTable | None]], str | None]:
    """Pair training calls with tables; returns pairs in order and a mismatch message, if any.

    A call planned for zero epochs may print nothing at all (fastprogress 1.1) or an
    empty table (older versions): it is matched to a table only when the counts say so.
    """
    training = [e for e in events if isinstance(e, TrainingCall)]
    epoch_tables = [t for t in tables if not t.blank]
    if len(epoch_tables) == len(training):
        return list(zip(training, epoch_tables)), None
    silent = [e for e in training if e.epochs != 0]
    if len(silent) < len(training) and len(epoch_tables) == len(silent):
        return list(zip(silent, epoch_tables)), None
    # Count displays: every call that draws a progress display owns one slot,
    # blank or not (an lr_find in fastai v2, a display saved before its first update).
    displays = [e for e in events if isinstance(e, (TrainingCall, ProgressCall))]
    for candidates in (tables, epoch_tables):
        if len(candidates) == len(displays) and displays:
            pairs = [(e, t) for e, t in zip(displays, candidates) if isinstance(e, TrainingCall)]
            return [(e, None if t.blank else t) for e, t in pairs], None
    # Tables with a header and no rows that no call explains are not training tables.
    with_rows = [t for t in epoch_tables if t.rows]
    if not training:
        if not with_rows:
            return [], None
        return [(None, t) for t in with_rows], (
            f"{len(with_rows)} progress table{'s' if len(with_rows) > 1 else ''} with epoch rows but no training call "
            "found in the cell's source; rows kept with an unknown learning rate"
        )
    if len(with_rows) == len(training):
        return list(zip(training, with_rows)), None
    pairs: list[tuple[TrainingCall | None, ProgressTable | None]] = []
    for k in range(max(len(training), len(epoch_tables))):
        pairs.append((training[k] if k < len(training) else None, epoch_tables[k] if k < len(epoch_tables) else None))
    message = (
        f"{len(epoch_tables)} training table{'s' if len(epoch_tables) != 1 else ''} for {len(training)} training "
        f"phase{'s' if len(training) != 1 else ''} ({', '.join(c.call_text or c.method for c in training[:3])}"
        f"{', …' if len(training) > 3 else ''}); matched in order"
    )
    return pairs, message


def _columns_for(table: ProgressTable, learner: LearnerCreated | None) -> tuple[tuple[str, ...], str | None]:
    """The columns of a table's rows, and a warning about how they were named or placed.

    Header-less (``no_bar``) rows are named from the learner's ``metrics=`` when
    the widest row confirms them, or is too short to hold a validation loss
    (every epoch cancelled something); a row with fewer values (training or
    validation cancelled) is then placed by meaning (see
    :func:`audiometrics.tables.place_row`).  When every row is shorter than
    ``metrics=`` says, the metrics are more likely misread than every epoch
    cancelled: generic names and a warning, as for any mismatch.
    """
    if table.columns is not None:
        return table.columns, None
    from audiometrics.tables import place_row, short_rows_note

    width = max((len(r) for r in table.rows), default=0)
    why = None
    if learner is not None and learner.metrics is not None and width in (2, 3, len(learner.metrics) + 4):
        names: tuple[str, ...] = ("epoch", "train_loss", "valid_loss", *learner.metrics, "time")
    else:
        unknown = max(width, 4) - 4
        names = ("epoch", "train_loss", "valid_loss", *(f"metric_{i}" for i in range(1, unknown + 1)), "time")
        if not width:
            names = ()
        why = (
            "the learner's metrics= cannot be resolved"
            if learner is None or learner.metrics is None
            else f"the learner's metrics= names {len(learner.metrics)} metrics but the rows hold {unknown}"
        )
        why = f"epoch rows printed without a header (learn.no_bar()) and {why}: columns named {', '.join(names)}"
    short = short_rows_note([place_row(r, names)[1] or "left" for r in table.rows if len(r) < len(names)])
    return names, "; ".join(m for m in (why, short) if m) or None


def align_notebook(
    path: str,
    cells: Sequence[CodeCell],
    analyses: Sequence[CellAnalysis],
    tables: Sequence[Sequence[ProgressTable]],
) -> tuple[list[Run], list[Diagnostic]]:
    """Build the runs of one notebook from its cells (in execution order), their analyses and tables."""
    diagnostics: list[Diagnostic] = []
    builders: list[_RunBuilder] = []
    by_learner: dict[int, _RunBuilder] = {}
    bound: dict[str, LearnerCreated] = {}
    current: LearnerCreated | None = None
    creation_cell: dict[int, int] = {}
    orphan: _RunBuilder | None = None

    def builder_for(call: TrainingCall | None, cell: int) -> _RunBuilder:
        nonlocal orphan
        learner = bound.get(call.learner) if call is not None and call.learner else None
        if learner is None:
            learner = current
        if learner is None:
            if orphan is None:
                orphan = _RunBuilder(None, None)
                builders.append(orphan)
                diagnostics.append(
                    Diagnostic(path, "training tables found but no learner creation in the source: model unknown", cell)
                )
            return orphan
        key = id(learner)
        if key not in by_learner:
            by_learner[key] = _RunBuilder(learner, creation_cell.get(key))
            builders.append(by_learner[key])
        return by_learner[key]

    for cell, analysis, cell_tables in zip(cells, analyses, tables):
        for warning in analysis.warnings:
            diagnostics.append(Diagnostic(path, warning, cell.index))
        events = list(analysis.events)
        table_list = list(cell_tables)
        epoch_table_count = sum(1 for t in table_list if not t.blank)
        flat = _solve_unknown_loop(events, epoch_table_count) if _unknown_loops(events) else None
        if flat is None:
            if _unknown_loops(events):
                diagnostics.append(
                    Diagnostic(path, "a training loop of unknown length: its tables are matched in order", cell.index)
                )
            flat = expand_events(events)
        # Learners created in this cell are bound before its training runs, in order.
        pairs, mismatch = _match_cell(flat, table_list)
        if mismatch:
            diagnostics.append(Diagnostic(path, mismatch, cell.index))
        pending = list(pairs)
        consumed = 0
        for event in flat:
            if isinstance(event, LearnerCreated):
                current = event
                creation_cell[id(event)] = cell.index
                if event.target:
                    bound[event.target] = event
            elif isinstance(event, TrainingCall):
                if consumed < len(pending) and pending[consumed][0] is event:
                    _add_phase(builder_for(event, cell.index), event, pending[consumed][1], cell, path, diagnostics)
                    consumed += 1
                else:  # a zero-epoch call that printed no table
                    _add_phase(builder_for(event, cell.index), event, None, cell, path, diagnostics)
        # Tables with no call (more tables than calls) go to the current learner's run.
        for call, table in pending[consumed:]:
            _add_phase(builder_for(call, cell.index), call, table, cell, path, diagnostics)
    runs = [
        Run(
            notebook=path,
            model=(b.learner.model or "") if b.learner else "",
            pretrained=b.learner.pretrained if b.learner else None,
            phases=tuple(b.phases),
            cell=b.cell,
        )
        for b in builders
        if b.phases
    ]
    for run in runs:
        if not run.model:
            diagnostics.append(Diagnostic(path, "model name cannot be resolved statically: left empty", run.cell))
    return runs, diagnostics


def _add_phase(
    builder: _RunBuilder,
    call: TrainingCall | None,
    table: ProgressTable | None,
    cell: CodeCell,
    path: str,
    diagnostics: list[Diagnostic],
) -> None:
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    if table is not None:
        columns, why = _columns_for(table, builder.learner)
        if why:
            diagnostics.append(Diagnostic(path, why, cell.index))
        diagnostics.extend([Diagnostic(path, note, cell.index) for note in table.notes])
        rows = tuple(_fit(row, len(columns)) for row in table.rows)
    phase = Phase(
        number=len(builder.phases) + 1,
        method=call.method if call else "",
        planned_epochs=call.epochs if call else None,
        learning_rate=call.learning_rate if call else "",
        lr_is_default=call.lr_is_default if call else False,
        cell=cell.index,
        columns=columns,
        rows=rows,
        call_text=call.call_text if call else "",
        interrupted=bool(table is not None and table.interrupted),
    )
    builder.phases.append(phase)
    label = phase.call_text or phase.method or "a training table"
    if call is not None and call.epochs == 0 and not rows:
        return  # nothing planned, nothing recorded: not worth a warning
    if call is not None and not rows:
        why = "no table saved" if table is None else "the saved table is empty"
        diagnostics.append(Diagnostic(path, f"phase {phase.number} ({label}): no epochs recorded ({why})", cell.index))
    elif call is None:
        diagnostics.append(
            Diagnostic(path, f"phase {phase.number}: {phase.recorded_epochs} epochs with no training call: learning rate unknown", cell.index)
        )
    elif phase.incomplete:
        planned = f" of {phase.planned_epochs}" if phase.planned_epochs is not None else ""
        how = "interrupted" if phase.interrupted else "incomplete"
        diagnostics.append(
            Diagnostic(path, f"phase {phase.number} ({label}) {how}: {phase.recorded_epochs}{planned} epochs recorded", cell.index)
        )


def _fit(row: tuple[str, ...], width: int) -> tuple[str, ...]:
    """``row`` as ``width`` cells: a short header-less row placed by meaning, a long one cut."""
    if len(row) == width:
        return row
    from audiometrics.tables import place_row

    if len(row) < width and width >= 4:  # fastai's no_bar layout: epoch, train_loss, valid_loss, metrics, time
        return place_row(row, ("epoch", "train_loss", "valid_loss", *("metric",) * (width - 4), "time"))[0]
    return (tuple(row) + ("",) * width)[:width]
