"""Plain data passed between the pipeline stages.

read notebook (:mod:`audiometrics.read.notebook`) → find tables (:mod:`audiometrics.tables.find`)
→ analyse source (:mod:`audiometrics.analysis.analyser`) → align (:mod:`audiometrics.runs.align`)
→ table (:mod:`audiometrics.epochs.rows`).

Every type here is an immutable value; no stage mutates another stage's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:  # pragma: no cover
    from audiometrics.analysis.parameters import Parameter

# --------------------------------------------------------------------------- notebook


@dataclass(frozen=True)
class CodeCell:
    """One code cell of a notebook.

    ``index`` is the cell's position among *all* cells of the document (0-based),
    which is what a user sees as "cell N" in an editor; ``execution_count`` is the
    ``In [n]`` number or ``None`` for a cell that never ran.
    """

    index: int
    execution_count: int | None
    source: str
    outputs: tuple[dict, ...]
    tags: tuple[str, ...] = ()  # the cell's metadata tags (papermill's "parameters", "injected-parameters")


@dataclass(frozen=True)
class Notebook:
    """A validated notebook's code cells: in document order as read, in execution order (cells that never ran
    last) once :func:`audiometrics.runs.order.in_execution_order` has ordered them."""

    path: str
    cells: tuple[CodeCell, ...]
    order: str  # "execution" or "document"
    nbformat: int
    nbformat_minor: int
    notes: tuple[str, ...] = ()  # things worth telling the user (cell order, conversion)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class ProgressTable:
    """A progress display found in one cell output.

    ``columns`` is ``None`` for formats that print no header (fastai v2's
    ``no_bar`` lists); the names then come from the learner's ``metrics=``.
    ``rows`` hold every cell exactly as displayed (``"0.611317"``, ``"#na#"``,
    ``""``, ``"00:01"``). An ``empty`` display (header only, or a progress bar
    with no table yet) has no rows; ``blank`` marks a display with no table at
    all (an ``lr_find`` or a display never updated) so that alignment can count
    it as a slot. ``notes`` are warnings about how the rows were read (short rows
    placed by meaning, spanning cells), one line each, shown to the user.
    ``headerless`` marks a single final line no epoch header asked for (Keras'
    ``fit(epochs=1)`` or ``evaluate()``: the cell's calls tell which).
    """

    columns: tuple[str, ...] | None
    rows: tuple[tuple[str, ...], ...]
    format: str  # "html", "html-th", "fasthtml", "console", "list"
    output_index: int
    interrupted: bool = False
    blank: bool = False
    notes: tuple[str, ...] = ()
    headerless: bool = False


# --------------------------------------------------------------------------- source


@dataclass(frozen=True)
class LearnerCreated:
    """``learn = vision_learner(dls, resnet18, pretrained=False, metrics=lwlrap)``."""

    line: int
    target: str | None  # the variable the learner is bound to, if any
    factory: str  # "vision_learner", "cnn_learner", "Learner", ...
    model: str | None  # architecture name, None when it cannot be known statically
    pretrained: bool | None  # None when it cannot be known statically
    metrics: tuple[str, ...] | None  # metric column names, None when unknown
    known: bool = True  # False: a call the analysis does not know as a learner factory (get_learner(...))
    framework: str = field(default="", compare=False)  # the framework whose factory this is ("fastai")
    #: the rate of the tables its run records without a training call (a plain loop's optimizer:
    #: ``optim.Adam(params, lr=1e-3)``): the source text, "" when unknown (``rate_unknown`` says
    #: why); None for a learner whose tables take their rate from training calls
    rate: str | None = None
    rate_is_default: bool = False  # ``rate`` is the optimizer's default (``Adam(params)``)
    rate_unknown: str | None = None


@dataclass(frozen=True)
class TrainingCall:
    """One phase a training call prints a table for.

    ``fine_tune`` yields two of these (``part`` = ``"frozen"`` then
    ``"unfrozen"``); every other method yields one. ``learning_rate`` is the
    source text (``"1e-1"``, ``"slice(1e-3, 3e-3)"``), the library default
    (``lr_is_default``), or ``""`` when it cannot be resolved statically.
    """

    line: int
    learner: str | None  # receiver variable name ("learn"), None when not a name
    method: str  # "fit_one_cycle", "fit", "fit_flat_cos", "fit_sgdr", "fine_tune"
    epochs: int | None
    learning_rate: str
    lr_is_default: bool = False
    part: str | None = None  # "frozen" / "unfrozen" for fine_tune
    call_text: str = ""  # the call as written, whitespace-normalised, for messages
    lr_from_learner: bool = False  # the rate is the learner's own (Learner(..., lr=1e-2)), not the call's
    model: str | None = field(default=None, compare=False)  # what it trains, when the learner names no model
    model_pretrained: bool | None = field(default=None, compare=False)  # whether that model is pretrained
    lr_if_ignored: str | None = None  # the rate if the library dropped ``learning_rate`` as given (see PhaseSpec)


@dataclass(frozen=True)
class ProgressCall:
    """A call that shows a progress bar but records no training epochs (``lr_find``)."""

    line: int
    learner: str | None
    method: str


@dataclass(frozen=True)
class Loop:
    """Events inside a ``for``/``while`` body, repeated ``count`` times (``None``: unknown)."""

    line: int
    body: tuple["SourceEvent", ...]
    count: int | None


@dataclass(frozen=True)
class EpochLoop:
    """A hand-written loop over epochs (``for epoch in range(N_EPOCHS):``) of known length: the epochs
    planned for the tables it prints without a training call."""

    line: int
    count: int


@dataclass(frozen=True)
class RateApplied:
    """An optimizer applied to a learner's weights by hand (Keras's
    ``optimizer.apply_gradients(zip(grads, model.trainable_variables))``): its rate is the rate of the
    tables that learner's loop prints without a training call (as :attr:`LearnerCreated.rate` is)."""

    line: int
    learner: str | None
    rate: str
    rate_is_default: bool = False
    rate_unknown: str | None = None


SourceEvent = Union[LearnerCreated, TrainingCall, ProgressCall, Loop, EpochLoop, RateApplied]


@dataclass(frozen=True)
class CellAnalysis:
    """What a code cell does that matters for extraction, in execution order."""

    events: tuple[SourceEvent, ...]
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- results


def cell_label(cell: int | None, count: int | None) -> str:
    """A cell as a user finds it: ``In [13] (cell 5)``; ``cell 5`` when it has no count.

    ``cell`` is the 0-based document index (markdown cells included); it is shown
    1-based, as a position a person counts to.

    Examples
    --------
    >>> cell_label(4, 13)
    'In [13] (cell 5)'
    >>> cell_label(4, None)
    'cell 5'
    """
    if cell is None:
        return "" if count is None else f"In [{count}]"
    return f"cell {cell + 1}" if count is None else f"In [{count}] (cell {cell + 1})"


@dataclass(frozen=True)
class Diagnostic:
    """A warning about one notebook, optionally pinned to a cell.

    ``cell`` is the document index (0-based, markdown included); ``count`` is the
    cell's execution count (``In [n]``), ``None`` when it has none.
    """

    path: str
    message: str
    cell: int | None = None
    count: int | None = None

    @property
    def where(self) -> str:
        return cell_label(self.cell, self.count)

    def __str__(self) -> str:
        where = self.where
        return f"{self.path}, {where}: {self.message}" if where else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Phase:
    """One training call's phase in a run, with its recorded epochs."""

    number: int  # 1-based ordinal of the call within its run
    method: str
    planned_epochs: int | None
    learning_rate: str
    lr_is_default: bool
    cell: int  # document index of the cell that ran it
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    call_text: str = ""
    interrupted: bool = False
    lr_from_learner: bool = False  # the learner's own rate (rendered "1e-2 (learner)")
    count: int | None = None  # execution count of the cell that ran it (In [n])

    @property
    def recorded_epochs(self) -> int:
        return len(self.rows)

    @property
    def incomplete(self) -> bool:
        """Fewer rows than planned, or the fit was interrupted."""
        if self.interrupted:
            return True
        return self.planned_epochs is not None and len(self.rows) < self.planned_epochs


@dataclass(frozen=True)
class Run:
    """One trained learner: model, pretrained flag and its phases."""

    notebook: str
    model: str
    pretrained: bool | None
    phases: tuple[Phase, ...]
    cell: int | None = None  # cell that created the learner (document index)
    count: int | None = None  # execution count of that cell
    ordinal: int = 0  # 1-based position of the run in its notebook (0: not yet numbered)
    framework: str = ""  # the training library that printed its tables ("fastai"), "" when unknown


@dataclass(frozen=True)
class NotebookResult:
    """Everything extracted from one notebook."""

    path: str
    runs: tuple[Run, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
    #: what the notebook states without running it (:mod:`audiometrics.analysis.parameters`)
    parameters: tuple["Parameter", ...] = field(default=(), compare=False)
