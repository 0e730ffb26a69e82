"""A run reduced to what a comparison needs: identity, model, epochs, and best/final of each metric.

:func:`summarize_run` keeps no rows, so comparing folders of thousands of
notebooks holds one summary (a few numbers) per run.

Examples
--------
>>> from audiometrics.model import Phase, Run
>>> phase = Phase(1, "fit", 3, "1e-3", False, 0, ("epoch", "valid_loss", "lwlrap", "time"),
...               (("0", "0.9", "0.5", "00:01"), ("1", "0.6", "0.7", "00:01"), ("2", "0.8", "#na#", "00:01")))
>>> s = summarize_run(Run("a.ipynb", "resnet18", True, (phase,), ordinal=1), "a.ipynb")
>>> s.metrics["valid_loss"], s.metrics["lwlrap"]
(MetricSummary(best=0.6, best_step=1, final=0.8, final_step=2), MetricSummary(best=0.7, best_step=1, final=0.7, final_step=1))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from audiometrics.epochs.schema import learning_rate_text
from audiometrics.model import Run
from audiometrics.options import metric_direction
from audiometrics.sinks.series import is_rate_column, run_series

__all__ = ["MetricSummary", "RunSummary", "summarize_run", "lower_is_better"]


def lower_is_better(metric: str) -> bool:
    """The direction used for ``metric``: known from its name, else higher is better (callers warn about that)."""
    return bool(metric_direction(metric))


@dataclass(frozen=True)
class MetricSummary:
    """Best value (by the metric's direction) and final value of one metric in a run, with their global epochs."""

    best: float
    best_step: int
    final: float
    final_step: int


@dataclass(frozen=True)
class RunSummary:
    """One run as compared: ``notebook`` + ``run`` identify it (see :mod:`audiometrics.compare`)."""

    notebook: str
    run: int
    model: str
    pretrained: bool | None
    phases: int
    epochs: int
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    #: A hash of every value by epoch and of the phases' learning rates: a change between best and final shows here.
    content: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.notebook, self.run)


def summarize_run(run: Run, notebook: str) -> RunSummary:
    """The summary of ``run`` (values read as the exporters read them: :func:`~audiometrics.sinks.series.run_series`)."""
    best: dict[str, tuple[float, int]] = {}
    final: dict[str, tuple[float, int]] = {}
    digest = hashlib.sha256()
    for phase in run.phases:
        digest.update(repr((phase.number, learning_rate_text(phase.learning_rate, phase.lr_is_default, phase.lr_from_learner))).encode("utf-8", "surrogatepass"))
    for point in run_series(run).points:
        digest.update(repr((point.step, sorted(point.values.items()))).encode("utf-8", "surrogatepass"))
        for name, value in point.values.items():
            if is_rate_column(name):
                continue  # a learning rate printed by the table: no best or worst
            final[name] = (value, point.step)
            lower = lower_is_better(name)
            held = best.get(name)
            if held is None or (value < held[0] if lower else value > held[0]):
                best[name] = (value, point.step)
    metrics = {name: MetricSummary(best[name][0], best[name][1], *final[name]) for name in best}
    return RunSummary(notebook, run.ordinal, run.model, run.pretrained, len(run.phases),
                      sum(p.recorded_epochs for p in run.phases), metrics, digest.hexdigest()[:32])
