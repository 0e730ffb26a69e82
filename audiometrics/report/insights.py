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
  spread is under :data:`SATURATION_RATIO` of the main metric's spread).
* ``improvement``: a run has at least two values of the main metric; the
  change from its first to its final recorded value.
* ``schedule``: a run has at least two phases with values of the main
  metric: how much each phase moved it, and the phases that made it worse.
* ``efficiency``: epoch times (``time``) are known for at least one run:
  total and per-epoch time, and the ratio of the slowest to the fastest
  per-epoch time.
* ``still_improving``: a run's best value is its last recorded one.

Titles, texts and bullets are markdown with every notebook value escaped;
:attr:`~audiometrics.report.model.Insight.data` holds the numbers behind them
(the recommendations read it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from audiometrics.escaping import MARKDOWN, Style
from audiometrics.report.formatting import fmt, fmt_duration, fmt_percent, fmt_ratio, fmt_signed, isnum, join_words, lr_words, or_unknown
from audiometrics.report.model import DataWarning, Insight, MetricInfo, PhaseSummary, RankEntry, RunSummary

__all__ = ["SAME_PERCENT", "SATURATION_RATIO", "WORSE_FRACTION", "better", "caveat", "find_insights", "percent_change"]

#: Relative differences (in percent) under this are "about the same".
SAME_PERCENT = 1.0
#: Accuracy "barely separates" runs when its spread is under this fraction of the main metric's.
SATURATION_RATIO = 0.1
#: A phase "made the main metric worse" when it lost at least this fraction of the run's range.
WORSE_FRACTION = 0.02


@dataclass
class _Context:
    """What every insight rule reads."""

    runs: list[RunSummary]
    info: MetricInfo
    accuracy_column: str | None
    ranking: list[RankEntry]
    warnings: list[DataWarning]
    s: Style = MARKDOWN  # how notebook values are escaped in the sentences

    @property
    def lower(self) -> bool:
        return self.info.lower_is_better

    @property
    def em(self) -> str:
        """The main metric's name, escaped."""
        return self.s(self.info.name)

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


def caveat(runs: Sequence[RunSummary], warnings: list[DataWarning], s: Style = MARKDOWN) -> str:
    """`` Caveat: …`` naming the runs whose numbers are in doubt (incomplete phases, shared rows), or ``""``."""
    parts: list[str] = []
    for run in runs:
        if any(p.incomplete or p.empty for p in run.phases):
            parts.append(f"{s(run.name)} has incomplete phases")
        if any(w.kind == "duplicate_rows" and run.name in w.runs for w in warnings):
            parts.append(f"{s(run.name)} shares epoch rows with another run")
    return f" Caveat: {join_words(list(dict.fromkeys(parts)))}." if parts else ""


# --------------------------------------------------------------------------- families


def _family_comparison(c: _Context, top: RunSummary, family: str, run: RunSummary) -> tuple[str, float | None]:
    a, b = top.best.value, run.best.value  # type: ignore[union-attr]
    ratio = None
    if a > 0 and b > 0:
        ratio = (b / a) if c.lower else (a / b)
    if fmt(a) == fmt(b):
        return f"the best {family} run is as good ({fmt(b)})", ratio
    if ratio is not None:
        return (
            f"{fmt_ratio(ratio)} {'lower' if c.lower else 'higher'} than the best {family} run "
            f"({fmt(a)} vs {fmt(b)} for {c.s(run.name)})"
        ), ratio
    return f"{fmt(abs(a - b))} better than the best {family} run ({fmt(a)} vs {fmt(b)})", ratio


def _families(c: _Context) -> Insight | None:
    families: dict[str, RunSummary] = {}
    for run in c.scored:
        current = families.get(run.family)
        if current is None or better(run.best.value, current.best.value, c.lower):  # type: ignore[union-attr]
            families[run.family] = run
    if len(families) < 2:
        return None
    ordered = sorted(families.items(), key=lambda kv: c.best_key(kv[1]))
    top_family, top = ordered[0]
    bullets = [f"best {family}: {c.s(run.name)}, {c.em} {fmt(run.best.value)}" for family, run in ordered]  # type: ignore[union-attr]
    data: dict[str, Any] = {"families": {f: {"run": r.name, "best": r.best.value} for f, r in ordered}, "ratios": {}}  # type: ignore[union-attr]
    comparisons = []
    for family, run in ordered[1:]:
        sentence, data["ratios"][family] = _family_comparison(c, top, family, run)
        comparisons.append(sentence)
    text = f"{top_family} runs lead on {c.em}: the best, {c.s(top.name)} ({fmt(top.best.value)}), is " + "; ".join(comparisons) + "."  # type: ignore[union-attr]
    counts = Counter(r.family for r in c.scored)
    text += " Runs per family: " + ", ".join(f"{f} {counts[f]}" for f, _ in ordered) + "."
    return Insight("families", "Architecture families", text, bullets, data=data)


# --------------------------------------------------------------------------- pretrained


def _effect(pct: float | None, a: float, b: float, what: str) -> str:
    if pct is None:
        return f"{what} {fmt(a)} vs {fmt(b)}"
    if abs(pct) < SAME_PERCENT:
        return f"left its {what} about the same ({fmt(a)} vs {fmt(b)}, {fmt_percent(pct)})"
    verb = "raised" if pct > 0 else "lowered"
    return f"{verb} its {what} by {fmt_percent(pct)} ({fmt(a)} vs {fmt(b)} from scratch)"


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


def _pretrained_bullet(c: _Context, model: str, pre: RunSummary, scratch: RunSummary) -> tuple[str, dict[str, Any]]:
    final_pct = percent_change(pre.final.value, scratch.final.value) if pre.final and scratch.final else None
    best_pct = percent_change(pre.best.value, scratch.best.value)  # type: ignore[union-attr]
    parts = []
    if pre.final and scratch.final:
        parts.append(_effect(final_pct, pre.final.value, scratch.final.value, f"final {c.em}"))
    parts.append(_effect(best_pct, pre.best.value, scratch.best.value, f"best {c.em}"))  # type: ignore[union-attr]
    helped = best_pct is not None and abs(best_pct) >= SAME_PERCENT and ((best_pct < 0) == c.lower)
    hurt = best_pct is not None and abs(best_pct) >= SAME_PERCENT and not helped
    verdict = "helped" if helped else ("hurt" if hurt else "made little difference")
    data = {
        "pretrained": pre.name,
        "scratch": scratch.name,
        "final_percent": final_pct,
        "best_percent": best_pct,
        "final": (pre.final.value if pre.final else None, scratch.final.value if scratch.final else None),
        "best": (pre.best.value, scratch.best.value),  # type: ignore[union-attr]
        "verdict": verdict,
    }
    bullet = f"{c.s(model)}: pretrained weights {verdict}: they " + " and ".join(parts) + "." + caveat([pre, scratch], c.warnings, c.s)
    return bullet, data


def _pretrained(c: _Context) -> Insight | None:
    pairs = _pretrained_pairs(c)
    if not pairs:
        return None
    bullets = []
    data = {}
    for model, pre, scratch in pairs:
        bullet, data[model] = _pretrained_bullet(c, model, pre, scratch)
        bullets.append(bullet)
    text = "The same architecture trained with and without pretrained weights:"
    return Insight("pretrained", "Pretrained weights (transfer learning)", text, bullets, data=data)


# --------------------------------------------------------------------------- accuracy vs main metric


def _reversed_pair(c: _Context, a: RunSummary, b: RunSummary, eacc: str) -> str | None:
    """A sentence when accuracy and the main metric order ``a`` and ``b`` differently."""
    if fmt(a.best.value) == fmt(b.best.value) or fmt(a.accuracy_best.value) == fmt(b.accuracy_best.value):  # type: ignore[union-attr]
        return None
    main_says_a = better(a.best.value, b.best.value, c.lower)  # type: ignore[union-attr]
    acc_says_a = a.accuracy_best.value > b.accuracy_best.value  # type: ignore[union-attr]
    if main_says_a == acc_says_a:
        return None
    win, lose = (a, b) if acc_says_a else (b, a)
    return (
        f"{c.s(win.name)} has the higher {eacc} ({fmt(win.accuracy_best.value)} vs "  # type: ignore[union-attr]
        f"{fmt(lose.accuracy_best.value)}) but the {'higher' if c.lower else 'lower'} {c.em} "  # type: ignore[union-attr]
        f"({fmt(win.best.value)} vs {fmt(lose.best.value)} for {c.s(lose.name)})"  # type: ignore[union-attr]
    )


def _metric_disagreement(c: _Context) -> Insight | None:
    if c.accuracy_column is None:
        return None
    both = [r for r in c.scored if r.accuracy_best is not None]
    if len(both) < 2:
        return None
    em, eacc = c.em, c.s(c.accuracy_column)
    reversed_pairs = [
        sentence for i, a in enumerate(both) for b in both[i + 1 :] if (sentence := _reversed_pair(c, a, b, eacc)) is not None
    ]
    acc_values = [r.accuracy_best.value for r in both]  # type: ignore[union-attr]
    main_values = [r.best.value for r in both]  # type: ignore[union-attr]
    acc_spread = max(acc_values) - min(acc_values)
    main_spread = max(main_values) - min(main_values)
    saturated = main_spread > 0 and acc_spread < SATURATION_RATIO * main_spread
    if not (reversed_pairs or saturated):
        return None
    parts = []
    if reversed_pairs:
        parts.append(f"Ranking by best {eacc} differs from ranking by best {em}.")
    if saturated:
        parts.append(
            f"{eacc} barely separates the runs: the best values span {fmt(acc_spread)} "
            f"({fmt(min(acc_values))} to {fmt(max(acc_values))}) while {em} spans {fmt(main_spread)} "
            f"({fmt(min(main_values))} to {fmt(max(main_values))}), so a high {eacc} says "
            f"little about {em} here."
        )
    data = {
        "reversed_pairs": len(reversed_pairs),
        "saturated": saturated,
        "accuracy_spread": acc_spread,
        "metric_spread": main_spread,
        "column": c.accuracy_column,
    }
    return Insight("metric_disagreement", f"{eacc} vs {em}", " ".join(parts), reversed_pairs, data=data)


# --------------------------------------------------------------------------- improvement


def _improvement_text(c: _Context, improving: list[RunSummary]) -> str:
    em, lower = c.em, c.lower
    improved = [r for r in improving if (r.improvement < 0) == lower and r.improvement != 0]  # type: ignore[operator]
    worse = [r for r in improving if r not in improved and r.improvement != 0]
    if not worse and len(improved) == len(improving):
        if len(improving) == 1:
            text = f"{c.s(improving[0].name)} improved {em} from the first to the final epoch."
        else:
            text = f"{'Both' if len(improving) == 2 else 'All ' + str(len(improving))} runs improved {em} from the first to the final epoch."
    else:
        text = f"{len(improved)} of {len(improving)} runs improved {em} from the first to the final epoch"
        if worse:
            text += "; " + join_words([f"{c.s(r.name)} ended worse than it started ({fmt_signed(r.improvement)})" for r in worse])
        text += "."
    top = max(improving, key=lambda r: (-r.improvement if lower else r.improvement, -r.index))  # type: ignore[operator]
    if len(improving) > 1:
        text += f" The largest change: {c.s(top.name)}, {fmt_signed(top.improvement)} ({fmt(top.first.value)} → {fmt(top.final.value)})."  # type: ignore[union-attr]
    return text


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
        "Improvement from first to final epoch",
        _improvement_text(c, improving),
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
        if p is not best_phase and (p.change > 0) == c.lower and p.change != 0 and abs(p.change) >= WORSE_FRACTION * spread  # type: ignore[operator]
    ]


def _schedule_bullet(c: _Context, run: RunSummary, moved: list[PhaseSummary]) -> tuple[str, dict[str, Any]]:
    best_phase = max(moved, key=lambda p: (-p.change if c.lower else p.change))  # type: ignore[operator]
    hurting = _hurting_phases(c, run, moved, best_phase)
    text = (
        f"{c.s(run.name)}: phase {or_unknown(best_phase.number)} (lr {lr_words(best_phase.learning_rate, c.s)}) moved {c.em} the most, "
        f"{fmt_signed(best_phase.change)} ({fmt(best_phase.start_value)} → {fmt(best_phase.end_value)})"
    )
    if hurting:
        text += "; " + join_words(
            [f"phase {or_unknown(p.number)} (lr {lr_words(p.learning_rate, c.s)}) made it worse, {fmt_signed(p.change)}" for p in hurting]
        )
    last = moved[-1]
    if last is not best_phase and last not in hurting:
        text += f"; the last phase changed it by {fmt_signed(last.change)}"
    return text + ".", {"best_phase": best_phase.number, "worse_phases": [p.number for p in hurting]}


def _schedule(c: _Context) -> Insight | None:
    bullets = []
    data: dict[str, Any] = {}
    for run in c.scored:
        moved = [p for p in run.phases if p.change is not None]
        if len(moved) >= 2:
            bullet, data[run.name] = _schedule_bullet(c, run, moved)
            bullets.append(bullet)
    if not bullets:
        return None
    text = (
        f"Change in {c.em} over each phase (from the end of the previous phase to the end of this one); "
        f"a phase \"made it worse\" when it lost at least {WORSE_FRACTION:.0%} of the run's {c.em} range:"
    )
    return Insight("schedule", "Learning-rate schedule", text, bullets, data=data)


# --------------------------------------------------------------------------- efficiency


def _efficiency_text(c: _Context, timed: list[RunSummary]) -> str:
    fastest = min(timed, key=lambda r: (r.time_per_epoch_s, r.index))  # type: ignore[arg-type,return-value]
    slowest = max(timed, key=lambda r: (r.time_per_epoch_s, -r.index))  # type: ignore[arg-type,return-value]
    if len(timed) == 1:
        return (
            f"{c.s(fastest.name)} trained {fastest.epochs} epochs in {fmt_duration(fastest.total_time_s)} "
            f"({fmt_duration(fastest.time_per_epoch_s)} per epoch)."
        )
    text = f"{c.s(fastest.name)} is the fastest per epoch ({fmt_duration(fastest.time_per_epoch_s)})"
    if fastest.time_per_epoch_s:
        ratio = slowest.time_per_epoch_s / fastest.time_per_epoch_s  # type: ignore[operator]
        text += f"; {c.s(slowest.name)} is the slowest ({fmt_duration(slowest.time_per_epoch_s)}, {fmt_ratio(ratio)} as long)"
    text += "."
    if c.ranking:
        winner = next(r for r in c.runs if r.name == c.ranking[0].run)
        if winner.total_time_s is not None:
            text += (
                f" The best run, {c.s(winner.name)}, trained {winner.epochs} epochs in {fmt_duration(winner.total_time_s)} "
                f"({fmt_duration(winner.time_per_epoch_s)} per epoch)."
            )
    total = sum(r.total_time_s for r in timed)  # type: ignore[misc]
    return text + f" All runs together: {fmt_duration(total)}."


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
        "Training efficiency",
        _efficiency_text(c, timed),
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
        "Best value at the last epoch",
        f"These runs reached their best {c.em} at their last recorded epoch, so they may not have finished improving:",
        [f"{c.s(r.name)}: {fmt(r.best.value)} at {r.best.where} (epoch {r.epochs} of {r.epochs})" for r in late],  # type: ignore[union-attr]
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
    style: Style = MARKDOWN,
) -> list[Insight]:
    """The insights the data supports (none without a main metric), in :data:`RULES` order.

    Their sentences escape notebook values with ``style`` (markdown by default).
    """
    if info is None:
        return []
    context = _Context(runs, info, accuracy_column, ranking, warnings, style)
    return [insight for rule in RULES if (insight := rule(context)) is not None]
