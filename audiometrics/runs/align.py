"""Align the progress tables a cell printed with the training calls it executed, into runs.

Within a cell, the k-th training table belongs to the k-th training phase the
cell executed (``fine_tune`` executes two). Calls that draw a progress display
without training (``lr_find``) take a display slot when the tables show one.
Phase numbers count training phases within a run, so a phase always points at a
call in the code, even when its table was saved empty or not saved at all.

A run is one learner: every execution of a learner creation starts one (each
iteration of a loop that creates a learner, too), and a training call belongs to
the learner its receiver was last bound to (a call on no plain name, such as
``learners[i].fit(...)``, to the learner created last). A creation the analysis
does not know as a factory (``get_learner(...)``) still starts a run, with model
and pretrained flag left empty and a warning; a call on a name never bound to a
learner is a run of its own, warned. When a name is trained before the cell that
binds it ran (a creation cell re-run after training), the training is taken as
that cell's earlier execution, warned.

Cells that never ran (see :func:`audiometrics.runs.order.cells_never_run`) record
nothing: their training calls are counted in one diagnostic per notebook, and
still count in the phase numbering of the run they would belong to (they are not
listed in :attr:`Run.phases`). A cell that ran but kept no output (its output
cleared) gives empty phases, which keep their numbers.

Diagnostics are grouped per notebook (:mod:`audiometrics.runs.findings`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from audiometrics.model import (
    CellAnalysis,
    CodeCell,
    Diagnostic,
    EpochLoop,
    LearnerCreated,
    Loop,
    Phase,
    ProgressTable,
    RateApplied,
    Run,
    SourceEvent,
    TrainingCall,
    cell_label,
)
from audiometrics.runs.evidence import rate_keyword_dropped, until_error
from audiometrics.runs.findings import Finding, group
from audiometrics.runs.matching import match_cell
from audiometrics.runs.order import cells_never_run
from audiometrics.tables.registry import framework_of

__all__ = ["align_notebook", "expand_events"]

#: Unrolling limit for loops whose count is known.
MAX_UNROLL = 10_000


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


def _unroll(events: Sequence[SourceEvent], tables: int) -> tuple[list[SourceEvent], str | None]:
    """Events with loops unrolled, a loop of unknown count sized by the cell's ``tables``.

    With one such loop, its count is the one that explains the number of training
    tables (rounded up when none does exactly, so that every table still gets an
    iteration); the message says when the tables are matched without that certainty.
    """
    if not any(isinstance(e, Loop) for e in events):
        return list(events), None
    unknown = _unknown_loops(events)
    if not unknown:
        return expand_events(events), None
    message = "a training loop of unknown length: its tables are matched in order"
    if unknown != 1:
        return expand_events(events), message
    without = _training_count(expand_events(events, 0))
    per_iteration = _training_count(expand_events(events, 1)) - without
    if per_iteration <= 0:  # the loop trains nothing: its count changes no table's call
        return expand_events(events), None
    if tables < without:
        return expand_events(events), message
    iterations, rest = divmod(tables - without, per_iteration)
    if rest:
        return expand_events(events, iterations + 1), message
    return expand_events(events, iterations), None


def _columns_for(table: ProgressTable, learner: LearnerCreated | None) -> tuple[tuple[str, ...], str | None]:
    """The columns of a table's rows, and a warning about how they were named or placed.

    Header-less (``no_bar``) rows are named from the learner's ``metrics=`` when
    the widest row confirms them, or is too short to hold a validation loss
    (every epoch cancelled something); a row with fewer values (training or
    validation cancelled) is then placed by meaning (see
    :func:`audiometrics.tables.rows.place_row`).  When every row is shorter than
    ``metrics=`` says, the metrics are more likely misread than every epoch
    cancelled: generic names and a warning, as for any mismatch.
    """
    if table.columns is not None:
        return table.columns, None
    from audiometrics.tables.rows import place_row, short_rows_note

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
    *,
    never_run: Collection[int] | None = None,
) -> tuple[list[Run], list[Diagnostic]]:
    """Build the runs of one notebook from its cells (in execution order), their analyses and tables.

    ``never_run`` holds the document indices of the cells that never ran (default:
    :func:`audiometrics.runs.order.cells_never_run` of ``cells``). Runs are numbered
    (:attr:`Run.ordinal`) in the order of their first phase; diagnostics are grouped
    (see the module documentation).
    """
    if never_run is None:
        never_run = cells_never_run(cells)
    aligner = _Aligner(path, cells, analyses, never_run)
    for position, (cell, analysis, cell_tables) in enumerate(zip(cells, analyses, tables)):
        if cell.index in never_run:
            aligner.skip(cell, analysis)
        else:
            aligner.cell(position, cell, analysis, list(cell_tables))
    return aligner.finish()


@dataclass(eq=False)
class _Run:
    """One learner being built: an execution of a creation, or a stand-in for an unknown one."""

    learner: LearnerCreated | None
    cell: CodeCell | None  # the creation cell
    count: int | None  # its execution count (None: an earlier execution, whose count is lost)
    note: tuple[CodeCell, str] | None = None  # how the run was found, said when it is kept
    phases: list[Phase] = field(default_factory=list)
    calls: int = 0  # training phases counted so far, run or not (the phase numbering)
    framework: str = ""  # the framework of the first table format it recorded
    call_model: str | None = None  # the model its training calls name (Lightning's module), when the learner has none
    call_pretrained: bool | None = None  # whether that model is pretrained
    loop_epochs: dict[int, int] = field(default_factory=dict)  # cell index -> length of the epoch loop it ran there


class _Aligner:
    """Walks a notebook's cells in execution order, building runs and findings."""

    def __init__(
        self, path: str, cells: Sequence[CodeCell], analyses: Sequence[CellAnalysis], never_run: Collection[int]
    ) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.runs: list[_Run] = []  # runs with a phase, in the order of their first phase
        self.bound: dict[str, _Run] = {}
        self.by_name: dict[str, _Run] = {}  # runs of names trained before any binding
        self.current: _Run | None = None
        self.loose = _Run(None, None, None)  # what a cell says of tables no known learner trains (its epoch loop)
        self.bound_here: set[str] = set()  # names bound so far in the cell being aligned
        self.orphan: _Run | None = None
        self.calls = 0  # training calls (a fine_tune is one), run or not
        self.tables = 0  # epoch tables found
        self.unrun: dict[int, CodeCell] = {}  # cells that never ran and hold training calls
        self.unrun_calls = 0
        self.cells = cells
        self._rate_keyword_dropped: bool | None = None  # Keras said it dropped an optimizer's lr= (read when asked)
        # the last binding of each name per cell that ran, in document order: (position, creation, cell)
        self.creations: dict[str, list[tuple[int, LearnerCreated, CodeCell]]] = {}
        self.any_creation = False
        for position, (cell, analysis) in enumerate(zip(cells, analyses)):
            if not analysis.events:
                continue
            created = _created(analysis.events)
            if not created:
                continue
            self.any_creation = True
            last = {e.target: e for e in created}
            if cell.index not in never_run:
                for target, event in last.items():
                    if target:
                        self.creations.setdefault(target, []).append((position, event, cell))
        for found in self.creations.values():
            found.sort(key=lambda entry: entry[2].index)

    def note(self, cell: CodeCell | None, message: str, run: _Run | None = None) -> None:
        self.findings.append(Finding(cell, message, run))

    # ------------------------------------------------------------------ cells

    def cell(self, position: int, cell: CodeCell, analysis: CellAnalysis, tables: list[ProgressTable]) -> None:
        for warning in analysis.warnings:
            self.note(cell, warning)
        if not analysis.events and not tables:
            return  # most cells: nothing to align
        analysis = self._until_error(cell, analysis)
        epoch_tables = sum(1 for t in tables if not t.blank)
        self.tables += epoch_tables
        flat, loop_message = _unroll(analysis.events, epoch_tables)
        if loop_message:
            self.note(cell, loop_message)
        self.calls += _call_count(flat)
        pairs, mismatch = match_cell(flat, tables)
        if mismatch:
            self.note(cell, mismatch)
        consumed = 0
        self.bound_here: set[str] = set()
        made: list[_Run] = []  # runs of learners whose tables need no training call (a loop's optimizers)
        for event in flat:
            if isinstance(event, LearnerCreated):
                self.current = _Run(event, cell, cell.execution_count)
                if event.rate is not None:
                    made.append(self.current)
                if event.target:
                    self.bound[event.target] = self.current
                    self.bound_here.add(event.target)
            elif isinstance(event, TrainingCall):
                table = None  # a zero-epoch call that printed no table, or a call whose table is missing
                if consumed < len(pairs) and pairs[consumed][0] is event:
                    table = pairs[consumed][1]
                    consumed += 1
                self.add_phase(self.run_for(event, position, cell), event, table, cell)
            elif isinstance(event, EpochLoop):  # for the learner it trains (none known: this cell's tables)
                (self.current or self.loose).loop_epochs[cell.index] = event.count
            elif isinstance(event, RateApplied):
                self._rate_applied(event)
        # Tables with no call (more tables than calls) go to the current learner's run; as many as the
        # cell made learners that train without a call (a loop over rates, an optimizer each), one each.
        rest = pairs[consumed:]
        if len(made) > 1 and len(rest) == len(made) and all(call is None for call, _ in rest):
            for run, (call, table) in zip(made, rest):
                self.add_phase(run, call, table, cell)
            return
        if len(made) > 1 and rest:
            self.note(cell, f"{len(rest)} table{'s' if len(rest) > 1 else ''} printed without a training call for "
                      f"{len(made)} optimizers made in this cell: given to the last one made")
        for call, table in rest:
            self.add_phase(self.run_for(call, position, cell), call, table, cell)

    def rate_keyword_dropped(self) -> bool:
        """Whether an output shows Keras dropping an optimizer's ``lr=`` (read once, when a call may need it)."""
        if self._rate_keyword_dropped is None:
            self._rate_keyword_dropped = rate_keyword_dropped(self.cells)
        return self._rate_keyword_dropped

    def _until_error(self, cell: CodeCell, analysis: CellAnalysis) -> CellAnalysis:
        """The events of a cell up to the line an error stopped it at, what never ran said
        (:func:`~audiometrics.runs.evidence.until_error`)."""
        analysis, said = until_error(cell, analysis)
        if said:
            self.note(cell, said)
        return analysis

    def _rate_applied(self, event: RateApplied) -> None:
        """An optimizer applied by hand to a learner: the rate of that learner's tables with no call."""
        run = self.bound.get(event.learner) if event.learner else None
        if run is None or run.learner is None:
            return
        run.learner = replace(
            run.learner, rate=event.rate, rate_is_default=event.rate_is_default, rate_unknown=event.rate_unknown
        )

    def skip(self, cell: CodeCell, analysis: CellAnalysis) -> None:
        """A cell that never ran: its training calls count in the numbering, nothing else."""
        flat = expand_events(analysis.events)
        calls = _call_count(flat)
        if not calls:
            return
        self.calls += calls
        self.unrun_calls += calls
        self.unrun[cell.index] = cell
        for event in flat:
            if isinstance(event, TrainingCall):
                run = self.bound.get(event.learner) if event.learner else self.current
                if run is not None:
                    run.calls += 1

    # ------------------------------------------------------------------ runs

    def run_for(self, call: TrainingCall | None, position: int, cell: CodeCell) -> _Run:
        """The run a training call (or a table with no call) belongs to."""
        name = call.learner if call is not None else None
        if not name:
            if self.current is not None:
                return self.current
            if self.orphan is None:
                self.orphan = _Run(None, None, None, (cell, "training tables found but no learner creation in the source: model unknown"))
            return self.orphan
        if name in self.bound_here:  # created earlier in this very cell
            return self.bound[name]
        label = call.call_text or f"{name}.{call.method}(...)"
        rerun = self._rerun(name, position, cell, label)
        if rerun is not None:
            return rerun
        run = self.bound.get(name) or self.by_name.get(name)
        if run is not None:
            return run
        message = f"{label} trains a name never bound to a learner: a run of its own, model unknown"
        if not self.any_creation:
            message += " (no learner creation in the source)"
        run = self.by_name[name] = _Run(None, None, None, (cell, message))
        return run

    def _rerun(self, name: str, position: int, cell: CodeCell, label: str) -> _Run | None:
        """The run of an earlier execution of the cell creating ``name``, when the training shows one.

        The creation closest above the training cell in the document (or, with none,
        the next one) normally ran before it; when that cell's count says it ran after
        the training, it was re-run after training: the training is taken as that
        cell's earlier execution (most likely), and said.
        """
        found = self.creations.get(name, ())
        if all(entry[0] <= position for entry in found):
            return None  # every creation of the name ran before this training (the usual case)
        above = [entry for entry in found if entry[2].index < cell.index]
        bound = self.bound.get(name)
        if above:
            creation_position, event, creation = above[-1]
            if bound is not None and bound.cell is not None and bound.cell.index > creation.index:
                return None  # bound by a cell between them in the document, or below: it ran before the training
        else:
            later = [entry for entry in found if entry[0] > position]
            if not later or bound is not None:
                return None
            creation_position, event, creation = min(later, key=lambda entry: entry[0])
        if creation_position <= position:
            return None
        key = f"{name}\0{creation.index}"
        if key not in self.by_name:
            message = (
                f"{label} trains {name} before {cell_label(creation.index, creation.execution_count)} creates it "
                "(a creation cell re-run after training?): taken as the learner of an earlier run of that cell"
            )
            self.by_name[key] = _Run(event, creation, None, (cell, message))
        return self.by_name[key]

    def start(self, run: _Run, call: TrainingCall | None = None) -> None:
        """A run gets its first phase: it is kept, and what is odd about it is said."""
        self.runs.append(run)
        if run.note is not None:
            self.note(run.note[0], run.note[1], run)
        learner = run.learner
        if learner is not None and not learner.known:
            self.note(run.cell, f"learner from {learner.factory}(...), not a known factory: model and pretrained left empty", run)
        elif learner is not None and not learner.model and not (call is not None and call.model):
            self.note(run.cell, "model name cannot be resolved statically: left empty", run)

    def add_phase(self, builder: _Run, call: TrainingCall | None, table: ProgressTable | None, cell: CodeCell) -> None:
        if not builder.phases:
            self.start(builder, call)
        if call is not None and call.model and builder.call_model is None:
            builder.call_model, builder.call_pretrained = call.model, call.model_pretrained
        builder.calls += 1
        columns: tuple[str, ...] = ()
        rows: tuple[tuple[str, ...], ...] = ()
        if table is not None:
            columns, why = _columns_for(table, builder.learner)
            if why:
                self.note(cell, why)
            for note in table.notes:  # how the table's rows were read (short rows, spans)
                self.note(cell, note)
            rows = tuple(_fit(row, len(columns)) for row in table.rows)
            if _sanity_check_first(builder, table, columns, rows):
                rows = rows[1:]
                self.note(cell, "the first line of epoch 0 is Lightning's sanity check (validation before training): left out")
            builder.framework = builder.framework or framework_of(table.format)
        learner = builder.learner
        learning_rate, lr_is_default = _phase_rate(call, learner)
        if call is not None and call.lr_if_ignored and learning_rate and self.rate_keyword_dropped():
            self.findings.append(Finding(cell, (
                f" ({call.call_text or call.method}): its optimizer's lr={learning_rate} was dropped (the output says"
                f" `lr` is deprecated: this Keras ignores it), so it trained at the optimizer's default {call.lr_if_ignored}"
            ), builder, builder.calls))
            learning_rate, lr_is_default = call.lr_if_ignored, True
        phase = Phase(
            number=builder.calls,
            method=call.method if call else "",
            planned_epochs=call.epochs if call else _loop_planned(builder, self.loose, cell, columns, rows),
            learning_rate=learning_rate,
            lr_is_default=lr_is_default,
            cell=cell.index,
            columns=columns,
            rows=rows,
            call_text=call.call_text if call else "",
            interrupted=bool(table is not None and table.interrupted),
            lr_from_learner=call.lr_from_learner if call else False,
            count=cell.execution_count,
        )
        builder.phases.append(phase)
        finding = _phase_finding(phase, call, table, learner)
        if finding is not None:
            message, no_table = finding
            self.findings.append(Finding(cell, message, builder, phase.number, no_table))

    # ------------------------------------------------------------------ the end

    def _learners_without_tables(self) -> list[Finding]:
        """A notebook that makes a plain loop's optimizer but shows no table says so, not that it holds no
        training at all."""
        first = _first_creation(self.creations)
        if first is None:
            return []
        event, cell = first
        return [Finding(cell, f"{event.factory}(...) makes a learner here, but no progress table was read in any output:"
                              " nothing to extract (a format the tool does not read, or outputs not saved?)")]

    def finish(self) -> tuple[list[Run], list[Diagnostic]]:
        findings = self.findings
        if self.unrun_calls:
            numbers = [str(index + 1) for index in self.unrun]  # cells that never ran have no count
            cells = f"cell{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}"
            s = "s" if self.unrun_calls != 1 else ""
            findings.append(Finding(None, f"{self.unrun_calls} training call{s} in cells that were never run: {cells}"))
        if self.calls and not self.tables:
            s = "s" if self.calls != 1 else ""
            findings = [f for f in findings if not f.no_table]
            findings.append(Finding(None, f"{self.calls} training call{s} but no progress table in any output: no epochs recorded"))
        elif not self.tables and not self.runs:
            findings.extend(self._learners_without_tables())
        ordinals = {id(run): k for k, run in enumerate(self.runs, 1)}
        runs = [
            Run(
                notebook=self.path,
                model="" if b.learner is None or not b.learner.known else b.learner.model or b.call_model or "",
                pretrained=_run_pretrained(b),
                phases=tuple(b.phases),
                cell=b.cell.index if b.cell is not None else None,
                count=b.count,
                ordinal=ordinals[id(b)],
                framework=b.framework or (b.learner.framework if b.learner is not None else ""),
            )
            for b in self.runs
        ]
        many = len(runs) > 1
        return runs, group(self.path, findings, {k: (v if many else None) for k, v in ordinals.items()})


def _loop_planned(
    builder: _Run, loose: _Run, cell: CodeCell, columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]
) -> int | None:
    """The epochs planned for a table with no training call: the length of the epoch loop its cell ran for
    its learner (or, with no learner known, in the cell), when the table shows every epoch in its span
    (``epoch`` never skips a number: a loop printing every tenth epoch records no plan)."""
    planned = builder.loop_epochs.get(cell.index)
    if planned is None and builder.learner is None:
        planned = loose.loop_epochs.get(cell.index)
    if planned is None or "epoch" not in columns or not rows:
        return None
    at = columns.index("epoch")
    try:
        shown = [int(row[at]) for row in rows]
    except (ValueError, IndexError):
        return None
    return planned if all(0 <= b - a <= 1 for a, b in zip(shown, shown[1:])) else None


def _created(events: Sequence[SourceEvent]) -> list[LearnerCreated]:
    """The learner creations among ``events``, loop bodies included, once each."""
    found: list[LearnerCreated] = []
    for event in events:
        if isinstance(event, LearnerCreated):
            found.append(event)
        elif isinstance(event, Loop):
            found.extend(_created(event.body))
    return found


def _call_count(events: Sequence[SourceEvent]) -> int:
    """Training calls among ``events`` (the two phases of a ``fine_tune`` are one call)."""
    return sum(1 for e in events if isinstance(e, TrainingCall) and e.part != "unfrozen")


def _first_creation(creations: dict[str, list[tuple[int, LearnerCreated, CodeCell]]]) -> tuple[LearnerCreated, CodeCell] | None:
    """The optimizer of a plain loop created first in the notebook (document order), with its cell: a loop
    trains (a learner of a library may be there for inference only)."""
    found = [(cell.index, event, cell) for entries in creations.values() for _, event, cell in entries
             if event.known and event.framework == "loop"]  # (a fastai or Keras learner untrained: inference)
    return min(found, key=lambda entry: entry[0])[1:] if found else None


def _sanity_check_first(
    run: _Run, table: ProgressTable, columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]
) -> bool:
    """Whether the first row of lines a Lightning module prints itself (``print`` in
    ``on_validation_epoch_end``) is the sanity check's: Lightning validates a few batches before
    training (``num_sanity_val_steps``), so the hook prints epoch 0 twice, that line first."""
    if run.learner is None or run.learner.framework != "lightning" or table.format != "loop" or "epoch" not in columns:
        return False
    at = columns.index("epoch")
    return len(rows) >= 2 and rows[0][at] == rows[1][at]


def _run_pretrained(run: _Run) -> bool | None:
    """The run's pretrained flag: its learner's, or, for a learner that names no model (a Lightning
    ``Trainer``), that of the model its training calls name."""
    learner = run.learner
    if learner is None or not learner.known:
        return None
    if not learner.model and run.call_model:
        return run.call_pretrained
    return learner.pretrained


def _phase_rate(call: TrainingCall | None, learner: LearnerCreated | None) -> tuple[str, bool]:
    """A phase's learning rate and whether it is the default: its training call's, else (a table with
    no call) its learner's own when it gives one (a loop's optimizer), else unknown."""
    if call is not None:
        return call.learning_rate, call.lr_is_default
    if learner is not None and learner.rate is not None:
        return learner.rate, learner.rate_is_default
    return "", False


def _phase_finding(
    phase: Phase, call: TrainingCall | None, table: ProgressTable | None, learner: LearnerCreated | None = None
) -> tuple[str, bool] | None:
    """What is worth saying about a phase (the text after "phase N"), and whether it is a missing table.

    A table with no training call is said, unless its learner gives its rate (a loop's optimizer:
    then only an unknown rate is)."""
    label = phase.call_text or phase.method or "a training table"
    recorded, planned = phase.recorded_epochs, phase.planned_epochs
    if call is not None and call.epochs == 0 and not phase.rows:
        return None  # nothing planned, nothing recorded: not worth a warning
    if call is not None and not phase.rows:
        why = "no table saved" if table is None else "the saved table is empty"
        return f" ({label}): no epochs recorded ({why})", table is None
    if call is None and learner is not None and learner.rate is not None:
        if not learner.rate:
            why = f": {learner.rate_unknown}" if learner.rate_unknown else ""
            return f": learning rate unknown{why}", False
        if not phase.incomplete:  # (planned from the cell's epoch loop)
            return None
    elif call is None:
        return f": {recorded} epochs with no training call: learning rate unknown", False
    if phase.incomplete:
        of = f" of {planned}" if planned is not None else ""
        how = "interrupted" if phase.interrupted else "incomplete"
        return f" ({label}) {how}: {recorded}{of} epochs recorded", False
    if planned is not None and recorded > planned:
        return (
            f" ({label}): {recorded} epochs recorded for {planned} planned "
            "(an output kept from an earlier version of the cell?): all rows kept"
        ), False
    return None


def _fit(row: tuple[str, ...], width: int) -> tuple[str, ...]:
    """``row`` as ``width`` cells: a short header-less row placed by meaning, a long one cut."""
    if len(row) == width:
        return row
    from audiometrics.tables.rows import place_row

    if len(row) < width and width >= 4:  # fastai's no_bar layout: epoch, train_loss, valid_loss, metrics, time
        return place_row(row, ("epoch", "train_loss", "valid_loss", *("metric",) * (width - 4), "time"))[0]
    return (tuple(row) + ("",) * width)[:width]
