"""Checks of the user's choices that the library can make.

* :func:`resolve_metric`: the metric column a name means (exact, else ignoring case).
* :func:`check_direction`: a direction that reverses a metric's known one needs ``force``.
* :func:`available_metrics` / :func:`default_metric`: metric columns with values in epoch
  rows, and the one reports rank by when none is named (:data:`METRIC_FALLBACKS` first).
* :func:`metric_direction`: whether lower is better for a metric, known from its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from audiometrics.errors import AudiometricsError

__all__ = [
    "METRIC_FALLBACKS",
    "DirectionError",
    "MetricError",
    "available_metrics",
    "check_direction",
    "default_metric",
    "metric_direction",
    "resolve_metric",
]

#: Main-metric candidates, in order, when none is named (the reports and the CLI summary).
METRIC_FALLBACKS: tuple[str, ...] = ("lwlrap", "accuracy_multi", "accuracy", "error_rate", "valid_loss")

_LOWER_RE = re.compile(r"loss|error|(^|_)err($|_)|(^|_)(mse|mae|rmse|msle|mape|wer|cer|brier|perplexity|nll)($|_)")
_HIGHER_RE = re.compile(
    r"acc|lwlrap|lrap|(^|_)f1|fbeta|f_beta|precision|recall|auc|dice|jaccard|iou|(^|_)r2($|_)|(^|_)map($|_)"
    r"|average_precision|kappa|corr|matthews|mcc|bleu|rouge|(^|_)ap($|_)|score"
)


class MetricError(AudiometricsError, ValueError):
    """A main metric that the epoch table does not have."""


def metric_direction(name: str) -> bool | None:
    """``True`` when lower is better for a metric of this name, ``False`` when higher is, ``None`` if unknown.

    Losses and error rates are lower is better; accuracies, LWLRAP, F-scores and the like higher.
    """
    lowered = name.lower()
    if _LOWER_RE.search(lowered):
        return True
    if _HIGHER_RE.search(lowered):
        return False
    return None


class DirectionError(MetricError):
    """A direction that reverses a metric's known one, asked for without ``force``."""

    def __init__(self, metric: str, known_lower: bool) -> None:
        better = "lower" if known_lower else "higher"
        super().__init__(f"{metric} is known to be better when {better}; reversing its direction needs an explicit override")
        self.metric = metric
        self.known_lower = known_lower


def available_metrics(rows: Iterable[dict[str, str]]) -> list[str]:
    """Metric columns of epoch ``rows`` (CSV text values) holding at least one finite number, sorted."""
    from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS

    from audiometrics.epochs.values import parse_number

    found: set[str] = set()
    skip = NON_METRIC_COLUMNS.union(DERIVED_COLUMNS)  # (never metrics: not read)
    for row in rows:
        found.update(k for k, v in row.items() if k not in found and k not in skip and parse_number(v) is not None)
    return sorted(found)


def resolve_metric(name: str, available: Iterable[str]) -> str:
    """The column of ``available`` that ``name`` means: the same name, else the one equal ignoring case.

    Raises :class:`MetricError` (listing ``available``)
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
    """The main metric reports use when none is named (:func:`audiometrics.report.metric.choose_metric` uses it)."""
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
