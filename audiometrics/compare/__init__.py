"""Compare two extractions run by run: ``audiometrics diff A B`` and :func:`diff`.

A and B are each a folder (or file, or glob) of notebooks, an epoch CSV, or a
list of :class:`~audiometrics.model.Run` values (:mod:`audiometrics.compare.sources`).
Runs are matched by notebook path and run ordinal; for every metric the best
value (by the metric's direction, :func:`audiometrics.options.metric_direction`)
and the final value are compared (:mod:`audiometrics.compare.result`).

Examples
--------
>>> from audiometrics.model import Phase, Run
>>> def run(loss):
...     phase = Phase(1, "fit", 1, "1e-3", False, 0, ("epoch", "valid_loss"), (("0", loss),))
...     return Run("/data/a.ipynb", "resnet18", False, (phase,), ordinal=1)
>>> result = diff([run("0.5")], [run("0.4")])
>>> [(r.key, r.status, round(r.metrics["valid_loss"].best_delta, 6)) for r in result.runs]
[(('a.ipynb', 1), 'changed', -0.1)]
>>> result.regressions("valid_loss")
[]
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Union

from audiometrics.compare.result import SCHEMA, DiffResult, MetricDiff, RunDiff, compare_runs
from audiometrics.compare.sources import Side, read_side, side_from_runs
from audiometrics.compare.summary import MetricSummary, RunSummary, summarize_run
from audiometrics.model import Run

__all__ = ["diff", "DiffResult", "RunDiff", "MetricDiff", "RunSummary", "MetricSummary", "SCHEMA", "read_side",
           "summarize_run"]

Source = Union[str, "os.PathLike[str]", Iterable[Run]]


def _side(source: Source, jobs: int | None) -> Side:
    if isinstance(source, (str, os.PathLike)):
        return read_side(source, jobs=jobs)
    return side_from_runs(list(source))


def diff(a: Source, b: Source, *, jobs: int | None = 1) -> DiffResult:
    """Compare ``a`` with ``b`` (paths of notebook folders, notebooks or epoch CSVs, or lists of runs).

    Returns a :class:`~audiometrics.compare.result.DiffResult`: every run with its
    status (``changed``, ``unchanged``, ``only_a``, ``only_b``) and, for matched
    runs, best/final of each metric with ``b - a``; ``.warnings`` says what was
    guessed or could not be read (notebooks that failed are listed there).
    Raises :class:`~audiometrics.errors.MetricsFileError` for a CSV that is not
    an epoch table and :class:`FileNotFoundError` for a path with no notebooks.
    ``jobs``: worker processes reading notebooks (see :func:`audiometrics.extract`).
    """
    left, right = _side(a, jobs), _side(b, jobs)
    result = compare_runs(left.runs, right.runs, left.source, right.source)
    result.a_kind, result.b_kind = left.kind, right.kind
    result.warnings[:0] = [*left.warnings, *(f"A: {f}" for f in left.failures), *right.warnings, *(f"B: {f}" for f in right.failures)]
    return result
