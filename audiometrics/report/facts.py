"""The facts behind the insights and recommendations: small records of names and numbers.

:mod:`~audiometrics.report.insights` and :mod:`~audiometrics.report.recommendations`
decide what to say and fill these records; the templates word them
(``templates/_insights.md.j2``, one macro per kind), passing every
notebook-derived value (run, model and column names, learning rates) through
their ``md``/``code`` filters and every number through ``num``, ``signed``,
``pct``, ``ratio`` or ``dur``. Nothing here holds markup, so a second renderer
(an HTML report) is a second Jinja environment with its own templates and filters.

Each recommendation record has a ``kind`` (the name of the macro that words it);
an insight's kind is :attr:`~audiometrics.report.model.Insight.kind`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

__all__ = [
    "Change",
    "CheckCopies",
    "CheckDuplicates",
    "Doubt",
    "Effect",
    "Efficiency",
    "FamilyBest",
    "FamilyComparison",
    "Families",
    "FinishPhases",
    "Improvement",
    "LateRun",
    "Leader",
    "LowerLearningRate",
    "MetricDisagreement",
    "PhaseMove",
    "PreferFamily",
    "Pretrained",
    "PretrainedAdvice",
    "PretrainedPair",
    "ReExtract",
    "Recommendation",
    "ReversedPair",
    "Schedule",
    "ScheduleRun",
    "SelectionMetric",
    "SmokeRuns",
    "StillImproving",
    "Timing",
    "TrainLonger",
    "UnfinishedPhase",
]


@dataclass(frozen=True)
class Doubt:
    """Why a run's numbers are in doubt: ``reason`` is ``"incomplete"`` (phases) or ``"shared"`` (epoch rows)."""

    run: str
    reason: str


# --------------------------------------------------------------------------- insights


@dataclass(frozen=True)
class FamilyBest:
    """The best run of an architecture family."""

    family: str
    run: str
    best: float


@dataclass(frozen=True)
class FamilyComparison:
    """The leading family's best run against another family's: ``ratio`` only when both values are positive."""

    family: str
    run: str
    top: float
    other: float
    ratio: float | None
    top_epochs: int = 0  # epoch budgets of the two runs (said when they differ)
    other_epochs: int = 0


@dataclass(frozen=True)
class Families:
    metric: str
    lower: bool
    top: FamilyBest
    comparisons: list[FamilyComparison]
    counts: list[tuple[str, int]]  # runs with a best value, per family, in the families' order


@dataclass(frozen=True)
class Effect:
    """What pretrained weights did to one value: ``percent`` of the from-scratch value (``None`` when undefined)."""

    what: str  # "final" or "best"
    percent: float | None
    same: bool  # under SAME_PERCENT
    pretrained: float
    scratch: float


@dataclass(frozen=True)
class PretrainedPair:
    """A bullet of the ``pretrained`` insight: one architecture trained both ways."""

    model: str
    verdict: str  # "helped", "hurt" or "made little difference"
    effects: list[Effect]
    caveat: list[Doubt]
    pretrained_epochs: int = 0  # epoch budgets of the two runs (said when they differ)
    scratch_epochs: int = 0


@dataclass(frozen=True)
class Pretrained:
    metric: str


@dataclass(frozen=True)
class ReversedPair:
    """Two runs that accuracy and the main metric order differently; ``win`` has the higher accuracy."""

    win: str
    lose: str
    win_accuracy: float
    lose_accuracy: float
    win_best: float
    lose_best: float


@dataclass(frozen=True)
class MetricDisagreement:
    metric: str
    column: str
    lower: bool
    reversed: bool  # some pair of runs is ordered differently
    saturated: bool  # accuracy barely separates the runs
    accuracy_range: tuple[float, float]
    metric_range: tuple[float, float]
    accuracy_spread: float
    metric_spread: float


@dataclass(frozen=True)
class Change:
    """A run's change of the main metric from its first to its final value."""

    run: str
    change: float
    first: float | None = None
    final: float | None = None


@dataclass(frozen=True)
class Improvement:
    metric: str
    runs: list[str]  # the runs with at least two values
    improved: int  # how many of them improved
    worse: list[Change]  # those that ended worse than they started
    largest: Change | None  # the largest change, when there are two runs or more


@dataclass(frozen=True)
class PhaseMove:
    """How one phase moved the main metric."""

    number: int | None
    learning_rate: str
    change: float
    start: float | None
    end: float | None


@dataclass(frozen=True)
class ScheduleRun:
    """A bullet of the ``schedule`` insight: the phase that moved a run most, those that hurt, the last one."""

    run: str
    best: PhaseMove
    worse: list[PhaseMove]
    last: PhaseMove | None  # when it is neither the best nor a worse phase


@dataclass(frozen=True)
class Schedule:
    metric: str
    worse_fraction: float


@dataclass(frozen=True)
class Timing:
    run: str
    epochs: int
    total_s: float | None
    per_epoch_s: float | None


@dataclass(frozen=True)
class Efficiency:
    runs: int  # runs with epoch times
    fastest: Timing
    slowest: Timing
    ratio: float | None  # slowest / fastest per epoch
    winner: Timing | None  # the ranking's leader, when its time is known
    total_s: float


@dataclass(frozen=True)
class LateRun:
    """A run whose best value is its last."""

    run: str
    best: float
    where: str  # "phase 2, epoch 4"
    epochs: int


@dataclass(frozen=True)
class StillImproving:
    metric: str


# --------------------------------------------------------------------------- recommendations


@dataclass(frozen=True)
class Recommendation:
    """Base of the recommendation records; ``kind`` names the macro that words it."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class Leader(Recommendation):
    """Use the leader (or break a tie with the runner-up, when both show the same value)."""

    kind: ClassVar[str] = "leader"
    metric: str
    lower: bool
    leader: str
    second: str
    leader_best: float
    second_best: float
    percent: float | None
    caveat: list[Doubt]
    leader_epochs: int = 0  # epoch budgets of the two runs (said when they differ)
    second_epochs: int = 0
    group: int | None = None  # the comparison group, when there are several


@dataclass(frozen=True)
class PreferFamily(Recommendation):
    kind: ClassVar[str] = "prefer_family"
    family: str
    best: float
    lower: bool
    others: list[tuple[str, float | None]]  # (family, ratio)
    group: int | None = None  # the comparison group, when there are several
    budgets: tuple[int, int] = (0, 0)  # fewest and most epochs of the group's runs (said when they differ)


@dataclass(frozen=True)
class PretrainedAdvice(Recommendation):
    kind: ClassVar[str] = "pretrained"
    model: str
    metric: str
    lower: bool
    verdict: str  # "helped" or "hurt"
    best_percent: float | None
    final_percent: float | None


@dataclass(frozen=True)
class SelectionMetric(Recommendation):
    kind: ClassVar[str] = "selection_metric"
    metric: str
    column: str
    saturated: bool
    accuracy_spread: float
    metric_spread: float
    reversed_pairs: int


@dataclass(frozen=True)
class SmokeRuns(Recommendation):
    """Groups of smoke/debug runs (by their notebooks' own parameters): nothing is recommended from them."""

    kind: ClassVar[str] = "smoke_runs"
    numbers: list[int]  # the smoke groups' numbers (the first few; empty when there is one group in all)
    smoke_groups: int  # how many groups are smoke groups
    runs: int  # runs in them
    reasons: list[str]  # "SMOKE = True" (the first few)
    groups: int = 1  # how many comparison groups there are


@dataclass(frozen=True)
class TrainLonger(Recommendation):
    kind: ClassVar[str] = "train_longer"
    metric: str
    runs: list[str]


@dataclass(frozen=True)
class LowerLearningRate(Recommendation):
    kind: ClassVar[str] = "lower_lr"
    run: str
    phase: int | None
    learning_rate: str
    column: str
    baseline: float
    peak: float


@dataclass(frozen=True)
class CheckCopies(Recommendation):
    """Runs whose every epoch row is the same: named (a few) and counted."""

    kind: ClassVar[str] = "check_copies"
    runs: list[str]  # the first few
    count: int


@dataclass(frozen=True)
class CheckDuplicates(Recommendation):
    kind: ClassVar[str] = "check_duplicates"
    runs: tuple[str, str]
    shared: int
    rows: int


@dataclass(frozen=True)
class UnfinishedPhase:
    run: str
    number: int | None
    recorded: int
    planned: int | None
    interrupted: bool


@dataclass(frozen=True)
class FinishPhases(Recommendation):
    kind: ClassVar[str] = "finish_phases"
    phases: list[UnfinishedPhase] = field(default_factory=list)


@dataclass(frozen=True)
class ReExtract(Recommendation):
    kind: ClassVar[str] = "re_extract"
    runs: list[str] = field(default_factory=list)
