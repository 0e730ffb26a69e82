"""Insights: findings about the runs, each emitted only when the data supports it.

* ``families``: at least two families have a run with the main metric. The
  best run of each family is compared; the ratio is best/other (higher is
  better) or other/best (lower is better), given only when both values are
  positive.
* ``pretrained``: the same architecture has runs with and without
  pretrained weights. The best run of each side is compared by final and by
  best value; the difference is a percentage of the from-scratch value.
  Differences under :data:`SAME_PERCENT` percent are reported as "about the same".
* ``metric_disagreement``: an accuracy column (``accuracy_multi`` or
  ``accuracy``) other than the main metric is present for at least two runs,
  and either some pair of runs is ordered one way by best accuracy and the
  other way by best main metric, or accuracy barely separates the runs (its
  spread is under :data:`SATURATION_RATIO` of the main metric's spread); with
  many runs, among the :data:`MAX_PAIRED` best by the main metric.
* ``improvement``: a run has at least two values of the main metric; the
  change from its first to its final recorded value.
* ``schedule``: a run has at least two phases with values of the main
  metric: how much each phase moved it, and the phases that made it worse.
* ``efficiency``: epoch times (``time``) are known for at least one run:
  total and per-epoch time, and the ratio of the slowest to the fastest
  per-epoch time.
* ``still_improving``: a run's best value is its last recorded one.

Each insight holds facts, no markup: :attr:`~audiometrics.report.model.Insight.facts`
and :attr:`~audiometrics.report.model.Insight.bullets` are records of
:mod:`~audiometrics.report.facts` that the templates word (``templates/_insights.md.j2``,
macros ``<kind>_title``, ``<kind>_text`` and ``<kind>_bullet``);
:attr:`~audiometrics.report.model.Insight.data` holds the numbers the
recommendations read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from audiometrics.report.facts import (
    Change,
    Doubt,
    Effect,
    Efficiency,
    Families,
    FamilyBest,
    FamilyComparison,
    Improvement,
    LateRun,
    MetricDisagreement,
    PhaseMove,
    Pretrained,
    PretrainedPair,
    ReversedPair,
    Schedule,
    ScheduleRun,
    StillImproving,
    Timing,
)
from audiometrics.report.formatting import fmt, fmt_duration, fmt_signed, isnum
from audiometrics.report.model import DataWarning, Insight, MetricInfo, PhaseSummary, RankEntry, RunSummary

__all__ = ["MAX_LISTED", "SHOWN_MOVE", "SAME_PERCENT", "SATURATION_RATIO", "WORSE_FRACTION", "better", "caveat", "find_insights", "percent_change"]

#: Relative differences (in percent) under this are "about the same".
SAME_PERCENT = 1.0
#: Accuracy "barely separates" runs when its spread is under this fraction of the main metric's.
SATURATION_RATIO = 0.1
#: A phase "made the main metric worse" when it lost at least this fraction of the run's range.
WORSE_FRACTION = 0.02
#: A phase move smaller than this shows as ``+0.000``: it is not a move worth naming.
SHOWN_MOVE = 0.0005
#: Per-run tables and bullets of an insight list at most this many runs (the runs table has them all).
MAX_LISTED = 15
#: ``metric_disagreement`` compares the pairs among this many best runs of a group (a bounded, not quadratic, cost).
MAX_PAIRED = 40


@dataclass
class _Context:
    """What every insight rule reads."""

    runs: list[RunSummary]
    info: MetricInfo
    accuracy_column: str | None
    ranking: list[RankEntry]
    warnings: list[DataWarning]

    @property
    def lower(self) -> bool:
        return self.info.lower_is_better

    @property
    def metric(self) -> str:
        return self.info.name

    @property
    def scored(self) -> list[RunSummary]:
        """The runs with a best value of the main metric."""
        return [r for r in self.runs if r.best is not None]

    def best_key(self, run: RunSummary) -> tuple[float, int]:
        """Sort key: best value first, then table order."""
        return (run.best.value if self.lower else -run.best.value, run.index)  # type: ignore[union-attr]


def better(a: float, b: float, lower: bool) -> bool:
    """``a`` strictly better than ``b``."""
    return a < b if lower else a > b


def percent_change(new: float, base: float) -> float | None:
    """``new`` relative to ``base``, in percent of ``|base|``; ``None`` for a zero or missing base."""
    if base == 0 or not (isnum(new) and isnum(base)):
        return None
    return (new - base) / abs(base) * 100.0


def caveat(runs: Sequence[RunSummary], warnings: list[DataWarning]) -> list[Doubt]:
    """The runs whose numbers are in doubt (incomplete phases, shared rows), each reason once."""
    doubts: list[Doubt] = []
    shared = {name for w in warnings if w.kind in ("duplicate_rows", "duplicate_runs") for name in w.runs}
    for run in runs:
        if any(p.incomplete or p.empty for p in run.phases):
            doubts.append(Doubt(run.name, "incomplete"))
        if run.name in shared:
            doubts.append(Doubt(run.name, "shared"))
    return list(dict.fromkeys(doubts))


# --------------------------------------------------------------------------- families


def _family_comparison(c: _Context, top: RunSummary, family: str, run: RunSummary) -> FamilyComparison:
    a, b = top.best.value, run.best.value  # type: ignore[union-attr]
    ratio = None
    if a > 0 and b > 0:
        ratio = (b / a) if c.lower else (a / b)
    return FamilyComparison(family, run.name, a, b, ratio, top.epochs, run.epochs)


def _families(c: _Context) -> Insight | None:
    families: dict[str, RunSummary] = {}
    for run in c.scored:
        current = families.get(run.family)
        if current is None or better(run.best.value, current.best.value, c.lower):  # type: ignore[union-attr]
            families[run.family] = run
    if len(families) < 2:
        return None
    ordered = sorted(families.items(), key=lambda kv: c.best_key(kv[1]))
    best = [FamilyBest(family, run.name, run.best.value) for family, run in ordered]  # type: ignore[union-attr]
    top_family, top = ordered[0]
    comparisons = [_family_comparison(c, top, family, run) for family, run in ordered[1:]]
    counts = Counter(r.family for r in c.scored)
    facts = Families(c.metric, c.lower, best[0], comparisons, [(f, counts[f]) for f, _ in ordered])
    data: dict[str, Any] = {
        "families": {f.family: {"run": f.run, "best": f.best} for f in best},
        "ratios": {comparison.family: comparison.ratio for comparison in comparisons},
    }
    return Insight("families", facts, best, data=data)


# --------------------------------------------------------------------------- pretrained


def _effect(what: str, pretrained: float, scratch: float) -> Effect:
    pct = percent_change(pretrained, scratch)
    return Effect(what, pct, pct is not None and abs(pct) < SAME_PERCENT, pretrained, scratch)


def _pretrained_pairs(c: _Context) -> list[tuple[str, RunSummary, RunSummary]]:
    """``(model, best pretrained run, best from-scratch run)`` for each architecture trained both ways."""
    scored = c.scored
    pairs = []
    for model in dict.fromkeys(r.model for r in scored):
        pre = [r for r in scored if r.model == model and r.pretrained is True]
        scratch = [r for r in scored if r.model == model and r.pretrained is False]
        if pre and scratch:
            pairs.append((model, min(pre, key=c.best_key), min(scratch, key=c.best_key)))
    return pairs


def _pretrained_pair(c: _Context, model: str, pre: RunSummary, scratch: RunSummary) -> tuple[PretrainedPair, dict[str, Any]]:
    effects = [_effect("final", pre.final.value, scratch.final.value)] if pre.final and scratch.final else []
    best = _effect("best", pre.best.value, scratch.best.value)  # type: ignore[union-attr]
    effects.append(best)
    best_pct = best.percent
    helped = best_pct is not None and abs(best_pct) >= SAME_PERCENT and ((best_pct < 0) == c.lower)
    hurt = best_pct is not None and abs(best_pct) >= SAME_PERCENT and not helped
    verdict = "helped" if helped else ("hurt" if hurt else "made little difference")
    data = {
        "pretrained": pre.name,
        "scratch": scratch.name,
        "final_percent": effects[0].percent if len(effects) == 2 else None,
        "best_percent": best_pct,
        "final": (pre.final.value if pre.final else None, scratch.final.value if scratch.final else None),
        "best": (pre.best.value, scratch.best.value),  # type: ignore[union-attr]
        "verdict": verdict,
    }
    return PretrainedPair(model, verdict, effects, caveat([pre, scratch], c.warnings), pre.epochs, scratch.epochs), data


def _pretrained(c: _Context) -> Insight | None:
    pairs = _pretrained_pairs(c)
    if not pairs:
        return None
    bullets = []
    data = {}
    for model, pre, scratch in pairs:
        bullet, data[model] = _pretrained_pair(c, model, pre, scratch)
        bullets.append(bullet)
    return Insight("pretrained", Pretrained(c.metric), bullets, data=data)


# --------------------------------------------------------------------------- accuracy vs main metric


def _reversed_pair(c: _Context, a: RunSummary, b: RunSummary) -> ReversedPair | None:
    """The pair when accuracy and the main metric order ``a`` and ``b`` differently."""
    if fmt(a.best.value) == fmt(b.best.value) or fmt(a.accuracy_best.value) == fmt(b.accuracy_best.value):  # type: ignore[union-attr]
        return None
    main_says_a = better(a.best.value, b.best.value, c.lower)  # type: ignore[union-attr]
    acc_says_a = a.accuracy_best.value > b.accuracy_best.value  # type: ignore[union-attr]
    if main_says_a == acc_says_a:
        return None
    win, lose = (a, b) if acc_says_a else (b, a)
    return ReversedPair(
        win.name, lose.name, win.accuracy_best.value, lose.accuracy_best.value, win.best.value, lose.best.value  # type: ignore[union-attr]
    )


def _metric_disagreement(c: _Context) -> Insight | None:
    if c.accuracy_column is None:
        return None
    both = [r for r in c.scored if r.accuracy_best is not None]
    if len(both) < 2:
        return None
    if len(both) > MAX_PAIRED:  # pairs are compared among the best runs only: bounded work
        kept = {id(r) for r in sorted(both, key=c.best_key)[:MAX_PAIRED]}
        both = [r for r in both if id(r) in kept]
    pairs = [pair for i, a in enumerate(both) for b in both[i + 1 :] if (pair := _reversed_pair(c, a, b)) is not None]
    acc_values = [r.accuracy_best.value for r in both]  # type: ignore[union-attr]
    main_values = [r.best.value for r in both]  # type: ignore[union-attr]
    acc_spread = max(acc_values) - min(acc_values)
    main_spread = max(main_values) - min(main_values)
    saturated = main_spread > 0 and acc_spread < SATURATION_RATIO * main_spread
    if not (pairs or saturated):
        return None
    facts = MetricDisagreement(
        c.metric,
        c.accuracy_column,
        c.lower,
        bool(pairs),
        saturated,
        (min(acc_values), max(acc_values)),
        (min(main_values), max(main_values)),
        acc_spread,
        main_spread,
    )
    data = {
        "reversed_pairs": len(pairs),
        "saturated": saturated,
        "accuracy_spread": acc_spread,
        "metric_spread": main_spread,
        "column": c.accuracy_column,
    }
    return Insight("metric_disagreement", facts, pairs, data=data)


# --------------------------------------------------------------------------- improvement


def _improvement_facts(c: _Context, improving: list[RunSummary]) -> Improvement:
    improved = [r for r in improving if (r.improvement < 0) == c.lower and r.improvement != 0]  # type: ignore[operator]
    better_ids = {id(r) for r in improved}
    worse = [Change(r.name, r.improvement) for r in improving if id(r) not in better_ids and r.improvement != 0]  # type: ignore[arg-type]
    largest = None
    if len(improving) > 1:
        top = max(improving, key=lambda r: (-r.improvement if c.lower else r.improvement, -r.index))  # type: ignore[operator]
        largest = Change(top.name, top.improvement, top.first.value, top.final.value)  # type: ignore[arg-type,union-attr]
    return Improvement(c.metric, [r.name for r in improving], len(improved), worse, largest)


def _improvement(c: _Context) -> Insight | None:
    improving = [r for r in c.scored if r.improvement is not None]
    if not improving:
        return None
    m = c.info.name
    rows = [
        [r.name, fmt(r.first.value), fmt(r.final.value), fmt_signed(r.improvement)]  # type: ignore[union-attr]
        for r in improving
    ]
    return Insight(
        "improvement",
        _improvement_facts(c, improving),
        headers=["Run", f"First {m}", f"Final {m}", "Change"],
        table=rows,
        data={r.name: r.improvement for r in improving},
    )


# --------------------------------------------------------------------------- schedule


def _hurting_phases(c: _Context, run: RunSummary, moved: list[PhaseSummary], best_phase: PhaseSummary) -> list[PhaseSummary]:
    values = [v for v in run.series.get(c.info.name, []) if v is not None]
    spread = (max(values) - min(values)) if values else 0.0
    return [
        p
        for p in moved
        if p is not best_phase
        and (p.change > 0) == c.lower  # type: ignore[operator]
        and abs(p.change) >= max(WORSE_FRACTION * spread, SHOWN_MOVE)  # type: ignore[arg-type]
    ]


def _move(phase: PhaseSummary) -> PhaseMove:
    return PhaseMove(phase.number, phase.learning_rate, phase.change, phase.start_value, phase.end_value)  # type: ignore[arg-type]


def _schedule_run(c: _Context, run: RunSummary, moved: list[PhaseSummary]) -> tuple[ScheduleRun, dict[str, Any]]:
    best_phase = max(moved, key=lambda p: (-p.change if c.lower else p.change))  # type: ignore[operator]
    hurting = _hurting_phases(c, run, moved, best_phase)
    last = moved[-1]
    shown_last = _move(last) if last is not best_phase and last not in hurting else None
    bullet = ScheduleRun(run.name, _move(best_phase), [_move(p) for p in hurting], shown_last)
    return bullet, {"best_phase": best_phase.number, "worse_phases": [p.number for p in hurting]}


def _schedule(c: _Context) -> Insight | None:
    bullets = []
    data: dict[str, Any] = {}
    for run in c.scored:
        moved = [p for p in run.phases if p.change is not None]
        gains = [(-p.change if c.lower else p.change) for p in moved]  # type: ignore[operator]
        if len(moved) >= 2 and max(gains) >= SHOWN_MOVE:  # a best move that shows as +0.000 is no finding
            bullet, data[run.name] = _schedule_run(c, run, moved)
            bullets.append(bullet)
    if not bullets:
        return None
    return Insight("schedule", Schedule(c.metric, WORSE_FRACTION), bullets, data=data)


# --------------------------------------------------------------------------- efficiency


def _timing(run: RunSummary) -> Timing:
    return Timing(run.name, run.epochs, run.total_time_s, run.time_per_epoch_s)


def _efficiency_facts(c: _Context, timed: list[RunSummary]) -> Efficiency:
    fastest = min(timed, key=lambda r: (r.time_per_epoch_s, r.index))  # type: ignore[arg-type,return-value]
    slowest = max(timed, key=lambda r: (r.time_per_epoch_s, -r.index))  # type: ignore[arg-type,return-value]
    ratio = slowest.time_per_epoch_s / fastest.time_per_epoch_s if fastest.time_per_epoch_s else None  # type: ignore[operator]
    winner = None
    if c.ranking:
        leader = next(r for r in c.runs if r.name == c.ranking[0].run)
        winner = _timing(leader) if leader.total_time_s is not None else None
    total = sum(r.total_time_s for r in timed)  # type: ignore[misc]
    return Efficiency(len(timed), _timing(fastest), _timing(slowest), ratio, winner, total)


def _efficiency(c: _Context) -> Insight | None:
    timed = [r for r in c.runs if r.time_per_epoch_s is not None]
    if not timed:
        return None
    rows = [
        [r.name, str(r.epochs), fmt_duration(r.total_time_s), fmt_duration(r.time_per_epoch_s), fmt(r.best.value) if r.best else "n/a"]
        for r in timed
    ]
    return Insight(
        "efficiency",
        _efficiency_facts(c, timed),
        headers=["Run", "Epochs", "Total time", "Per epoch", f"Best {c.info.name}"],
        table=rows,
        data={r.name: {"total_s": r.total_time_s, "per_epoch_s": r.time_per_epoch_s} for r in timed},
    )


# --------------------------------------------------------------------------- still improving


def _still_improving(c: _Context) -> Insight | None:
    late = [r for r in c.scored if r.best is not None and r.final is not None and r.epochs > 1 and r.best.global_epoch == r.final.global_epoch]
    if not late:
        return None
    return Insight(
        "still_improving",
        StillImproving(c.metric),
        [LateRun(r.name, r.best.value, r.best.where, r.epochs) for r in late],  # type: ignore[union-attr]
        data={"runs": [r.name for r in late]},
    )


#: The insight rules, in the order the reports list them.
RULES: tuple[Callable[[_Context], Insight | None], ...] = (
    _families,
    _pretrained,
    _metric_disagreement,
    _improvement,
    _schedule,
    _efficiency,
    _still_improving,
)


def find_insights(
    runs: list[RunSummary],
    info: MetricInfo | None,
    accuracy_column: str | None,
    ranking: list[RankEntry],
    warnings: list[DataWarning],
) -> list[Insight]:
    """The insights the data supports (none without a main metric), in :data:`RULES` order."""
    if info is None:
        return []
    context = _Context(runs, info, accuracy_column, ranking, warnings)
    return [insight for rule in RULES if (insight := rule(context)) is not None]
