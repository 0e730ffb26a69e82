"""Recommendations: what to do next, read from the ranking, the insights and the warnings.

Each is a record of :mod:`~audiometrics.report.facts` (names and numbers, no
markup) that the templates word by its ``kind`` (``templates/_insights.md.j2``),
in this order: the run to use (or a tie to break), the architecture family to
prefer, pretrained weights, the metric to select by, runs to train longer,
learning rates to lower (one per spiking phase), runs sharing rows to check,
phases to finish, and notebooks to re-extract.
"""

from __future__ import annotations

from audiometrics.report.facts import (
    CheckCopies,
    CheckDuplicates,
    FinishPhases,
    Leader,
    LowerLearningRate,
    PreferFamily,
    PretrainedAdvice,
    ReExtract,
    Recommendation,
    SelectionMetric,
    SmokeRuns,
    TrainLonger,
    UnfinishedPhase,
)
from audiometrics.report.insights import caveat, percent_change
from audiometrics.report.model import DataWarning, Group, Insight, MetricInfo, RankEntry, RunSummary, Spike

__all__ = ["recommend"]


def _leader(
    runs: list[RunSummary], info: MetricInfo, ranking: list[RankEntry], warnings: list[DataWarning], group: int | None = None
) -> list[Leader]:
    if len(ranking) < 2:
        return []
    leader, second = ranking[0], ranking[1]
    doubts = caveat([r for r in runs if r.name in (leader.run, second.run)], warnings)
    percent = percent_change(leader.best, second.best)
    return [
        Leader(
            info.name, info.lower_is_better, leader.run, second.run, leader.best, second.best, percent, doubts,
            leader.epochs, second.epochs, group,
        )
    ]


def _family(info: MetricInfo, families: Insight | None, group: Group | None = None) -> list[PreferFamily]:
    if families is None:
        return []
    ordered = list(families.data["families"].items())
    top_family, top = ordered[0]
    others = [(f, families.data["ratios"].get(f)) for f, _ in ordered[1:]]
    number = group.number if group is not None else None
    budgets = group.epochs if group is not None else (0, 0)
    return [PreferFamily(top_family, top["best"], info.lower_is_better, others, number, budgets)]


def _pretrained(info: MetricInfo, pretrained: Insight | None) -> list[PretrainedAdvice]:
    if pretrained is None:
        return []
    return [
        PretrainedAdvice(model, info.name, info.lower_is_better, data["verdict"], data["best_percent"], data["final_percent"])
        for model, data in pretrained.data.items()
        if data["verdict"] in ("helped", "hurt")
    ]


def _selection_metric(info: MetricInfo, disagreement: Insight | None) -> list[SelectionMetric]:
    if disagreement is None:
        return []
    data = disagreement.data
    return [
        SelectionMetric(
            info.name, data["column"], data["saturated"], data["accuracy_spread"], data["metric_spread"], data["reversed_pairs"]
        )
    ]


def _train_longer(info: MetricInfo, late: Insight | None) -> list[TrainLonger]:
    return [] if late is None else [TrainLonger(info.name, list(late.data["runs"]))]


def _lower_lr(spikes: list[Spike]) -> list[LowerLearningRate]:
    out: list[LowerLearningRate] = []
    seen: set[tuple[str, int | None]] = set()
    for spike in spikes:
        key = (spike.run, spike.start.phase)
        if key not in seen:
            seen.add(key)
            out.append(LowerLearningRate(spike.run, spike.start.phase, spike.learning_rate, spike.column, spike.baseline, spike.peak.value))
    return out


def _check_duplicates(warnings: list[DataWarning]) -> list[CheckDuplicates | CheckCopies]:
    copies: list[CheckDuplicates | CheckCopies] = [
        CheckCopies(list(w.runs[:3]), w.data["count"]) for w in warnings if w.kind == "duplicate_runs"
    ]
    return copies + [
        CheckDuplicates((w.runs[0], w.runs[1]), w.data["shared"], w.data["rows"])
        for w in warnings
        if w.kind == "duplicate_rows"
    ]


def _finish_phases(runs: list[RunSummary]) -> list[FinishPhases]:
    unfinished = [
        UnfinishedPhase(r.name, p.number, p.recorded_epochs, p.planned_epochs, p.interrupted)
        for r in runs
        for p in r.phases
        if p.incomplete or p.empty
    ]
    return [FinishPhases(unfinished)] if unfinished else []


def _re_extract(runs: list[RunSummary], warnings: list[DataWarning]) -> list[ReExtract]:
    restarted = {w.runs[0] for w in warnings if w.kind == "epoch_restart"}
    if not restarted:
        return []
    return [ReExtract(sorted(restarted, key=[r.name for r in runs].index))]


def _smoke(groups: list[Group]) -> list[SmokeRuns]:
    smoke = [g for g in groups if g.is_smoke]
    if not smoke:
        return []
    reasons = list(dict.fromkeys(reason for g in smoke for reason in g.smoke))
    numbers = [g.number for g in smoke][:5] if len(groups) > 1 else []
    return [SmokeRuns(numbers, len(smoke), sum(len(g.runs) for g in smoke), reasons[:3], len(groups))]


def _comparisons(
    runs: list[RunSummary],
    info: MetricInfo,
    ranking: list[RankEntry],
    insights: list[Insight],
    warnings: list[DataWarning],
    group: Group | None,
    groups: int,
) -> list[Recommendation]:
    """What to use and prefer, read from one comparison group (nothing from a smoke group)."""
    number = group.number if group is not None and groups > 1 else None
    kinds = {i.kind: i for i in insights}
    out: list[Recommendation] = []
    out += _leader(runs, info, ranking, warnings, number)
    out += _family(info, kinds.get("families"), group if number is not None else None)
    out += _pretrained(info, kinds.get("pretrained"))
    out += _selection_metric(info, kinds.get("metric_disagreement"))
    out += _train_longer(info, kinds.get("still_improving"))
    return out


def recommend(
    runs: list[RunSummary],
    info: MetricInfo | None,
    ranking: list[RankEntry],
    insights: list[Insight],
    warnings: list[DataWarning],
    spikes: list[Spike],
    groups: list[Group] | None = None,
) -> list[Recommendation]:
    """The recommendations, in the order of the module docstring, comparisons group by group.

    With ``groups`` (:func:`audiometrics.report.groups.group_runs`), the ranking
    entries and insights of each group give its own recommendations, and a
    smoke group gives only :class:`~audiometrics.report.facts.SmokeRuns`;
    groups without insights (beyond the documents' bound) give none.
    """
    out: list[Recommendation] = []
    if info is not None and ranking:
        if not groups:
            out += _comparisons(runs, info, ranking, insights, warnings, None, 1)
        else:
            with_insights = {i.group for i in insights}
            by_group: dict[int | None, list[RunSummary]] = {}
            for run in runs:
                by_group.setdefault(run.group, []).append(run)
            out += _smoke(groups)
            for group in groups:
                if group.number not in with_insights or group.is_smoke:
                    continue
                out += _comparisons(
                    by_group.get(group.number, []),
                    info,
                    [e for e in ranking if e.group == group.number],
                    [i for i in insights if i.group == group.number],
                    warnings,
                    group,
                    len(groups),
                )
    return out + _lower_lr(spikes) + _check_duplicates(warnings) + _finish_phases(runs) + _re_extract(runs, warnings)
