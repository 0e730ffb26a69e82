"""Checks of the user's choices that the library can make.

* :func:`resolve_metric`: the metric column a name means (exact, else ignoring case).
* :func:`check_direction`: a direction that reverses a metric's known one needs ``force``.
* :func:`available_metrics` / :func:`default_metric`: metric columns with values in epoch
  rows, and the one reports rank by when none is named.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from audiometrics.report.summarize import METRIC_FALLBACKS, MetricError, metric_direction

__all__ = [
    "DirectionError",
    "available_metrics",
    "check_direction",
    "default_metric",
    "resolve_metric",
]


class DirectionError(MetricError):
    """A direction that reverses a metric's known one, asked for without ``force``."""

    def __init__(self, metric: str, known_lower: bool) -> None:
        better = "lower" if known_lower else "higher"
        super().__init__(f"{metric} is known to be better when {better}; reversing its direction needs an explicit override")
        self.metric = metric
        self.known_lower = known_lower


def _has_value(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def available_metrics(rows: Iterable[dict[str, str]]) -> list[str]:
    """Metric columns of epoch ``rows`` (CSV text values) holding at least one finite number, sorted."""
    from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS

    found: set[str] = set()
    for row in rows:
        found.update(k for k, v in row.items() if k not in found and _has_value(v))
    return sorted(found - NON_METRIC_COLUMNS - set(DERIVED_COLUMNS))


def resolve_metric(name: str, available: Iterable[str]) -> str:
    """The column of ``available`` that ``name`` means: the same name, else the one equal ignoring case.

    Raises :class:`~audiometrics.report.summarize.MetricError` (listing ``available``)
    when there is none, or when several differ only in case.
    """
    columns = list(available)
    if name in columns:
        return name
    folded = [column for column in columns if column.casefold() == name.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    if folded:
        raise MetricError(f"metric {name!r} matches several columns ({', '.join(folded)}); give the exact name")
    raise MetricError(f"metric {name!r} is not a metric column of the epoch table (available: {', '.join(columns) or 'none'})")


def default_metric(available: Iterable[str]) -> str | None:
    """The main metric reports use when none is named (as :func:`audiometrics.report.summarize.choose_metric`)."""
    columns = set(available)
    ordered = [c for c in METRIC_FALLBACKS if c in columns]
    ordered += sorted(c for c in columns if c not in METRIC_FALLBACKS and c != "train_loss")
    ordered += [c for c in ("train_loss",) if c in columns]
    return ordered[0] if ordered else None


def check_direction(metric: str, lower_is_better: bool | None, *, force: bool = False) -> str | None:
    """Check a direction asked for ``metric``; returns a warning line when it reverses the known one.

    Raises :class:`DirectionError` for a reversal without ``force``; returns
    ``None`` when no direction is asked, the metric's direction is unknown, or
    they agree.
    """
    if lower_is_better is None:
        return None
    known = metric_direction(metric)
    if known is None or known == bool(lower_is_better):
        return None
    if not force:
        raise DirectionError(metric, known)
    asked = "lower" if lower_is_better else "higher"
    return f"ranking {metric} as better when {asked}, the reverse of its known direction"
