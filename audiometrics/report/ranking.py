"""The ranking of runs by their best value of the main metric.

Runs are ordered by their best value as the reports show it (6 decimals, so
that values that print the same tie), then by their final value, then by table
order. Tied runs share a rank.
"""

from __future__ import annotations

import math

from audiometrics.report.formatting import fmt
from audiometrics.report.model import MetricInfo, RankEntry, RunSummary

__all__ = ["rank_runs", "ranked_runs"]


def ranked_runs(runs: list[RunSummary], info: MetricInfo | None) -> list[RunSummary]:
    """The runs with a best value, best first."""
    if info is None:
        return []
    lower = info.lower_is_better
    with_best = [r for r in runs if r.best is not None]

    def key(run: RunSummary) -> tuple[float, float, int]:
        sign = 1.0 if lower else -1.0
        final = run.final.value if run.final is not None else math.inf * (1 if lower else -1)
        return (sign * float(fmt(run.best.value)), sign * final, run.index)  # type: ignore[union-attr]

    return sorted(with_best, key=key)


def rank_runs(runs: list[RunSummary], info: MetricInfo | None) -> list[RankEntry]:
    """The ranking entries, best first; sets each ranked run's ``rank``."""
    ordered = ranked_runs(runs, info)
    if not ordered:
        return []
    entries: list[RankEntry] = []
    leader = ordered[0].best.value  # type: ignore[union-attr]
    shown = [fmt(r.best.value) for r in ordered]  # type: ignore[union-attr]
    rank = 0
    for position, run in enumerate(ordered):
        if position == 0 or shown[position] != shown[position - 1]:
            rank = position + 1
        run.rank = rank
        entries.append(
            RankEntry(
                rank=rank,
                tied=shown.count(shown[position]) > 1,
                run=run.name,
                best=run.best.value,  # type: ignore[union-attr]
                final=run.final.value if run.final else None,
                behind=abs(leader - run.best.value),  # type: ignore[union-attr]
            )
        )
    return entries
