"""The types a :class:`Summary` is made of: plain dataclasses of numbers, texts and lists.

:func:`audiometrics.report.summarize.summarize` builds them; the templates and
the plots only read them. Notebook-derived values are plain text in the data
fields; the few sentences kept here as markdown say so in their comments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from audiometrics.escaping import MARKDOWN, PLAIN, Style, md_text
from audiometrics.report.facts import Recommendation
from audiometrics.report.formatting import or_unknown

__all__ = [
    "DataWarning",
    "EpochRow",
    "Group",
    "Insight",
    "MetricInfo",
    "PhaseSummary",
    "Point",
    "RankEntry",
    "RunSummary",
    "Spike",
    "Summary",
]

@dataclass
class MetricInfo:
    """The main metric: its column, its direction and where both came from."""

    name: str
    lower_is_better: bool
    chosen: str  # "given" (metric=) or "default"
    direction: str  # "given", "known" or "assumed"

    @property
    def better(self) -> str:
        return "lower" if self.lower_is_better else "higher"


@dataclass
class Point:
    """A value of a metric at one epoch of a run."""

    value: float
    phase: int | None
    epoch: int | None
    global_epoch: int

    @property
    def where(self) -> str:
        return f"phase {or_unknown(self.phase)}, epoch {or_unknown(self.epoch)}"


@dataclass
class EpochRow:
    """One epoch row as shown in the per-run summary."""

    epoch: int | None
    global_epoch: int
    values: dict[str, float | None]
    time: str


@dataclass
class PhaseSummary:
    """One training phase (one training call) of a run."""

    number: int | None
    learning_rate: str
    lr_max: float | None
    lr_status: str  # "ok", "default", "missing", "malformed"
    method: str | None
    call: str | None
    planned_epochs: int | None
    recorded_epochs: int
    incomplete: bool
    interrupted: bool
    cell: int | None
    first_global_epoch: int | None
    rows: list[EpochRow]  # rows shown: the first HEAD_ROWS, then the final one
    elided: bool  # rows were left out between the head and the final row
    start_value: float | None  # main metric before the phase (or at its first epoch, for the first phase)
    end_value: float | None  # main metric at the phase's last epoch with a value
    change: float | None  # end_value - start_value
    status: str  # a sentence: "fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded"
    notes: list[DataWarning] = field(default_factory=list)  # data-quality warnings about this phase

    @property
    def empty(self) -> bool:
        return self.recorded_epochs == 0

    @property
    def planned_known(self) -> bool:
        return self.planned_epochs is not None


@dataclass
class RunSummary:
    """One run (one learner trained through its phases)."""

    index: int  # 1-based, in table order
    id: str  # the loader's run label (joins with the frame's ``run`` column)
    name: str  # display name, unique among runs
    notebook: str | None
    model: str
    pretrained: bool | None
    family: str
    epochs: int
    phases: list[PhaseSummary]
    columns: list[str]  # metric columns this run has values for, in display order
    has_time: bool
    first: Point | None
    best: Point | None
    final: Point | None
    improvement: float | None  # final - first (main metric)
    accuracy_best: Point | None
    accuracy_final: Point | None
    final_valid_loss: float | None
    final_values: dict[str, float | None]  # last row's metric values
    final_epoch: int | None
    final_phase: int | None
    total_time_s: float | None
    time_per_epoch_s: float | None
    timed_epochs: int
    rank: int | None = None
    series: dict[str, list[float | None]] = field(default_factory=dict)  # column → values by global epoch
    phase_starts: list[tuple[int, int | None]] = field(default_factory=list)  # (global epoch, phase number)
    framework: str = ""  # from the runs table, when known
    status: str = ""  # "complete", "interrupted", "stale", "empty" (runs table); "" when not known
    smoke: str = ""  # why the notebook is a smoke/debug run ("SMOKE = True"), "" when it is not
    parameters: dict[str, str] = field(default_factory=dict)  # stated parameters: name → source text
    group: int | None = None  # the comparison group's number (None: no main metric value, not compared)
    nonfinite: dict[str, int] = field(default_factory=dict)  # column → epochs that showed nan/inf (runs table)

    @property
    def pretrained_text(self) -> str:
        return "unknown" if self.pretrained is None else ("Yes" if self.pretrained else "No")


@dataclass
class RankEntry:
    rank: int
    tied: bool  # shares its rank with another run
    run: str  # run name
    best: float
    final: float | None
    behind: float  # distance to the leader's best (0 for the leader), in metric units
    group: int = 1  # the comparison group ranked (ranks restart in each group)
    epochs: int = 0  # epochs the run recorded (its budget, said next to the comparison)


@dataclass
class Insight:
    """A finding as facts (:mod:`~audiometrics.report.facts`); the templates word it by ``kind``.

    ``facts`` is what the title and text say, ``bullets`` one record per bullet,
    ``headers`` and ``table`` a table of plain text, and ``data`` the numbers
    the recommendations read.
    """

    kind: str
    facts: Any
    bullets: list[Any] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    group: int | None = None  # the comparison group it is about (None: the only one)
    omitted: int = 0  # runs left out of the bullets/table (bounded for readability)
    smoke: bool = False  # about a group of smoke runs (not evidence about the models)


@dataclass
class DataWarning:
    """A data-quality problem; ``str()`` is the one-line message.

    ``wording`` (when given) writes the sentence in an output style
    (:class:`~audiometrics.escaping.Style`) from the facts bound to it:
    ``message`` and ``markdown`` are its plain and markdown texts, and
    :meth:`text` gives it in any other style (a second renderer's).
    """

    kind: str
    message: str = ""  # plain text (the terminal's line)
    runs: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""  # the same sentence for the documents, every notebook value escaped
    wording: Callable[[Style], str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.wording is not None:
            self.message = self.message or self.wording(PLAIN)
            self.markdown = self.markdown or self.wording(MARKDOWN)
        if not self.markdown:
            self.markdown = md_text(self.message)

    def text(self, style: Style) -> str:
        """The sentence in ``style``: from :attr:`wording`, else the plain message escaped by the style."""
        if self.wording is not None:
            return self.wording(style)
        return style(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class Spike:
    run: str
    column: str
    baseline: float
    baseline_at: Point
    start: Point
    peak: Point
    epochs: int
    recovered: Point | None
    learning_rate: str


@dataclass
class Group:
    """Runs that can be compared: same main metric recorded, same data/task parameters, smoke or not.

    ``parameters`` are the data/task parameters the group's notebooks state
    (name → source text; every run of the group states the same), ``differs``
    says what sets it apart from the first group (``IMG_SIZE: 64 vs not stated``).
    """

    number: int
    runs: list[str]  # run names, in ranking order
    smoke: list[str]  # the smoke reasons of its notebooks ("SMOKE = True"); empty when no run is a smoke run
    parameters: dict[str, str]
    epochs: tuple[int, int]  # fewest and most epochs recorded by a run of the group
    differs: list[str] = field(default_factory=list)
    ranking: list[RankEntry] = field(default_factory=list)

    @property
    def is_smoke(self) -> bool:
        return bool(self.smoke)

    @property
    def budgets_differ(self) -> bool:
        return self.epochs[0] != self.epochs[1]


@dataclass
class Summary:
    """Everything the reports show, computed from the epoch table.

    Names, metric columns, learning rates and other notebook-derived values are
    kept as plain text in the data fields (runs, phases, ranking entries, insight
    tables, the facts of insights and recommendations, :attr:`DataWarning.message`);
    the templates word the insights and recommendations
    (:mod:`~audiometrics.report.facts`) and the notes around them, escaping every
    such value with their filters. :attr:`DataWarning.markdown` is the one
    sentence kept here as markdown (every value escaped, :mod:`audiometrics.escaping`).
    """

    metric: MetricInfo | None
    accuracy_column: str | None
    runs: list[RunSummary]
    ranking: list[RankEntry]
    insights: list[Insight]
    recommendations: list[Recommendation]
    warnings: list[DataWarning]
    spikes: list[Spike]
    rows: int
    metric_columns: list[str]
    has_phase_table: bool
    groups: list[Group] = field(default_factory=list)
    unscored: list[str] = field(default_factory=list)  # runs without a value of the main metric (not compared)
    detailed: list[RunSummary] = field(default_factory=list)  # the runs the documents detail (bounded), best of each group first
    has_run_table: bool = False  # parameters and smoke flags are known (a runs table was given)

    def insight(self, kind: str) -> Insight | None:
        return next((i for i in self.insights if i.kind == kind), None)

    def run_named(self, name: str) -> RunSummary | None:
        """The run with display name ``name`` (an index built once)."""
        index = self.__dict__.get("_by_name")
        if index is None or len(index) != len(self.runs):
            index = self.__dict__["_by_name"] = {run.name: run for run in self.runs}
        return index.get(name)

