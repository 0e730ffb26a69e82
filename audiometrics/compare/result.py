"""Two sides matched run by run: deltas of best and final values, runs on one side only, regressions.

Runs are matched by notebook and run ordinal (:attr:`RunSummary.key`). For every
metric either run has, a :class:`MetricDiff` holds best and final on each side
and ``b - a``; a metric one run lacks has ``None`` there. A run is ``changed``
when its model, pretrained flag, epoch count, any recorded value or any phase's
learning rate differs (a change between best and final shows only as ``changed``).

Examples
--------
>>> from audiometrics.compare.summary import MetricSummary, RunSummary
>>> a = RunSummary("n.ipynb", 1, "resnet18", False, 1, 3, {"valid_loss": MetricSummary(0.5, 2, 0.5, 2)})
>>> b = RunSummary("n.ipynb", 1, "resnet18", False, 1, 3, {"valid_loss": MetricSummary(0.6, 2, 0.6, 2)})
>>> result = compare_runs([a], [b])
>>> [(r.status, r.metrics["valid_loss"].best_delta) for r in result.runs]
[('changed', 0.09999999999999998)]
>>> [r.key for r in result.regressions("valid_loss")]
[('n.ipynb', 1)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from audiometrics.compare.summary import MetricSummary, RunSummary, lower_is_better
from audiometrics.options import metric_direction

__all__ = ["MetricDiff", "RunDiff", "DiffResult", "compare_runs", "SCHEMA"]

#: The ``schema`` value of :meth:`DiffResult.to_dict` (docs/json.md).
SCHEMA = "audiometrics.diff/1"


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


@dataclass(frozen=True)
class MetricDiff:
    """One metric of a matched pair of runs: best and final on each side (``None``: the run lacks the metric)."""

    name: str
    lower_is_better: bool
    a: MetricSummary | None
    b: MetricSummary | None

    @property
    def best_delta(self) -> float | None:
        return _delta(self.a and self.a.best, self.b and self.b.best)

    @property
    def final_delta(self) -> float | None:
        return _delta(self.a and self.a.final, self.b and self.b.final)

    @property
    def changed(self) -> bool:
        return self.a != self.b

    def worse(self, which: str = "best") -> bool:
        """Whether B's ``which`` (``"best"`` or ``"final"``) value is worse than A's, by the metric's direction."""
        delta = self.best_delta if which == "best" else self.final_delta
        if delta is None or delta == 0:
            return False
        return delta > 0 if self.lower_is_better else delta < 0


@dataclass(frozen=True)
class RunDiff:
    """A run in the comparison: ``status`` ``"changed"``, ``"unchanged"``, ``"only_a"`` or ``"only_b"``."""

    key: tuple[str, int]
    status: str
    a: RunSummary | None
    b: RunSummary | None
    metrics: dict[str, MetricDiff] = field(default_factory=dict)


@dataclass
class DiffResult:
    """The comparison of side A with side B (:func:`audiometrics.diff`)."""

    a_source: str
    b_source: str
    runs: list[RunDiff]
    warnings: list[str] = field(default_factory=list)
    a_kind: str = "runs"
    b_kind: str = "runs"

    def by_status(self, status: str) -> list[RunDiff]:
        return [run for run in self.runs if run.status == status]

    @property
    def only_a(self) -> list[RunDiff]:
        return self.by_status("only_a")

    @property
    def only_b(self) -> list[RunDiff]:
        return self.by_status("only_b")

    @property
    def changed(self) -> list[RunDiff]:
        return self.by_status("changed")

    @property
    def metrics(self) -> list[str]:
        """Every metric of a matched pair, sorted."""
        return sorted({name for run in self.runs for name in run.metrics})

    def regressions(self, metric: str, which: str = "best") -> list[RunDiff]:
        """Matched runs whose ``metric`` (``which``: best or final value) is worse in B than in A."""
        return [run for run in self.runs if metric in run.metrics and run.metrics[metric].worse(which)]

    def to_dict(self, *, regression: tuple[str, str] | None = None) -> dict[str, Any]:
        """The JSON document (schema ``audiometrics.diff/1``, docs/json.md); ``regression``: (metric, which) checked."""
        counts = {status: len(self.by_status(status)) for status in ("changed", "unchanged", "only_a", "only_b")}
        document: dict[str, Any] = {
            "schema": SCHEMA,
            "a": {"source": self.a_source, "kind": self.a_kind, "runs": counts["changed"] + counts["unchanged"] + counts["only_a"]},
            "b": {"source": self.b_source, "kind": self.b_kind, "runs": counts["changed"] + counts["unchanged"] + counts["only_b"]},
            "counts": counts,
            "directions": {name: _direction(name) for name in self.metrics},
            "runs": [_run_dict(run) for run in self.runs],
            "warnings": list(self.warnings),
        }
        if regression is not None:
            metric, which = regression
            document["regression"] = {"metric": metric, "value": which,
                                      "runs": [{"notebook": r.key[0], "run": r.key[1]} for r in self.regressions(metric, which)]}
        return document


def _direction(name: str) -> str:
    known = metric_direction(name)
    return "assumed higher" if known is None else ("lower" if known else "higher")


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _side_dict(summary: RunSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {"model": summary.model, "pretrained": summary.pretrained, "phases": summary.phases, "epochs": summary.epochs,
            "content": summary.content}


def _metric_dict(diff: MetricDiff) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for which in ("best", "final"):
        a = getattr(diff.a, which) if diff.a else None
        b = getattr(diff.b, which) if diff.b else None
        out[which] = {"a": _number(a), "b": _number(b), "delta": _number(_delta(a, b)),
                      "a_epoch": getattr(diff.a, f"{which}_step") if diff.a else None,
                      "b_epoch": getattr(diff.b, f"{which}_step") if diff.b else None}
    out["changed"] = diff.changed
    return out


def _run_dict(run: RunDiff) -> dict[str, Any]:
    return {
        "notebook": run.key[0],
        "run": run.key[1],
        "status": run.status,
        "a": _side_dict(run.a),
        "b": _side_dict(run.b),
        "metrics": {name: _metric_dict(diff) for name, diff in sorted(run.metrics.items())},
    }


def _pair(a: RunSummary, b: RunSummary) -> RunDiff:
    names = list(dict.fromkeys([*a.metrics, *b.metrics]))
    metrics = {name: MetricDiff(name, lower_is_better(name), a.metrics.get(name), b.metrics.get(name)) for name in names}
    same = (a.model, a.pretrained, a.phases, a.epochs, a.content) == (b.model, b.pretrained, b.phases, b.epochs, b.content)
    changed = not same or any(diff.changed for diff in metrics.values())
    return RunDiff(a.key, "changed" if changed else "unchanged", a, b, metrics)


def compare_runs(a: list[RunSummary], b: list[RunSummary], a_source: str = "a", b_source: str = "b") -> DiffResult:
    """Match ``a`` and ``b`` by notebook and run; runs in A's order, then runs only in B in B's order."""
    warnings: list[str] = []
    in_b: dict[tuple[str, int], RunSummary] = {}
    for summary in b:
        if summary.key in in_b:
            warnings.append(f"{b_source}: two runs are {summary.key[0]} run {summary.key[1]}; the first is compared")
            continue
        in_b[summary.key] = summary
    runs: list[RunDiff] = []
    seen: set[tuple[str, int]] = set()
    for summary in a:
        if summary.key in seen:
            warnings.append(f"{a_source}: two runs are {summary.key[0]} run {summary.key[1]}; the first is compared")
            continue
        seen.add(summary.key)
        other = in_b.get(summary.key)
        runs.append(_pair(summary, other) if other is not None else RunDiff(summary.key, "only_a", summary, None))
    runs += [RunDiff(key, "only_b", None, summary) for key, summary in in_b.items() if key not in seen]
    matched = sum(run.a is not None and run.b is not None for run in runs)
    if a and b and not matched:
        warnings.append("no run of A matches a run of B (runs are matched by notebook path and run number; "
                        f"A has e.g. {a[0].key[0]!r}, B {b[0].key[0]!r})")
    unknown = sorted({name for run in runs for name in run.metrics if metric_direction(name) is None})
    if unknown:
        warnings.append(f"direction unknown for {', '.join(unknown)}: higher taken as better for their best values")
    return DiffResult(a_source, b_source, runs, warnings)
