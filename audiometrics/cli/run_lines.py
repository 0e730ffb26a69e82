"""The run lines ``extract`` and ``train`` print at the end: one aligned line per run.

Runs are digested as they arrive (:func:`run_digest` keeps no rows), so the
table costs no memory however many epochs were extracted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from audiometrics.options import METRIC_FALLBACKS
from audiometrics.epochs.values import parse_number
from audiometrics.escaping import terminal_text
from audiometrics.model import Run

__all__ = ["RunDigest", "run_digest", "digest_lines", "run_lines"]

_HEADER = ("notebook", "model", "pretrained", "phases", "epochs")


@dataclass(frozen=True)
class RunDigest:
    """What the closing table needs of a run, without its rows."""

    notebook: str
    model: str
    pretrained: bool | None
    phases: int
    epochs: int
    metrics: dict[str, tuple[float, float, float]]  # column -> (lowest, highest, last) recorded value


def run_digest(run: Run) -> RunDigest:
    """Summarise ``run`` for :func:`digest_lines` (values read by :func:`~audiometrics.epochs.values.parse_number`)."""
    series: dict[str, list[float]] = {}
    for phase in run.phases:
        for at, name in enumerate(phase.columns):
            if name in ("epoch", "time"):
                continue
            found = series.setdefault(name, [])
            found.extend(v for v in (parse_number(row[at]) for row in phase.rows if at < len(row)) if v is not None)
    return RunDigest(
        notebook=os.path.basename(run.notebook),
        model=run.model,
        pretrained=run.pretrained,
        phases=len(run.phases),
        epochs=sum(p.recorded_epochs for p in run.phases),
        metrics={name: (min(v), max(v), v[-1]) for name, v in series.items() if v},
    )


def _main_metric(digests: list[RunDigest], metric: str | None, lower_is_better: bool | None) -> tuple[str | None, bool]:
    """The metric shown (the first fallback any run has, when none is named) and whether lower is better."""
    if metric is None:
        metric = next((m for m in METRIC_FALLBACKS if any(m in d.metrics for d in digests)), None)
    if lower_is_better is not None:
        return metric, lower_is_better
    return metric, metric is not None and ("loss" in metric or "error" in metric)


def _cells(digest: RunDigest, metric: str | None, lower: bool) -> list[str]:
    values = digest.metrics.get(metric) if metric else None
    best = None if values is None else (values[0] if lower else values[1])
    final = None if values is None else values[2]
    return [
        terminal_text(digest.notebook, newlines=False),
        terminal_text(digest.model, newlines=False) or "?",
        "" if digest.pretrained is None else ("Yes" if digest.pretrained else "No"),
        str(digest.phases),
        str(digest.epochs),
        "" if best is None else f"{best:.6f}",
        "" if final is None else f"{final:.6f}",
    ]


def digest_lines(digests: list[RunDigest], metric: str | None, lower_is_better: bool | None = None) -> list[str]:
    """One line per run: notebook, model, pretrained, phases, epochs, best and final main metric."""
    metric, lower = _main_metric(digests, metric, lower_is_better)
    table = [[*_HEADER, f"best {metric or '-'}", f"final {metric or '-'}"]]
    table += [_cells(digest, metric, lower) for digest in digests]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]


def run_lines(runs: list[Run], metric: str | None) -> list[str]:
    """One line per run (see :func:`digest_lines`)."""
    return digest_lines([run_digest(run) for run in runs], metric)
