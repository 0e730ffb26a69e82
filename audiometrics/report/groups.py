"""Comparison groups: which runs may be ranked, compared and recommended against each other.

Two runs are in the same group when

* both recorded the main metric (runs without it are listed, never ranked);
* both or neither are smoke/debug runs by their notebooks' own parameters
  (:func:`audiometrics.analysis.parameters.smoke_reason`);
* their notebooks state the same values of the parameters that change the data
  or the task (:func:`audiometrics.analysis.parameters.is_data_parameter`: image
  size, sample rate, data folder, number of classes, fold, smoke/debug flags, …;
  a parameter one notebook states and another does not counts as different).

Groups are numbered: groups of full (non-smoke) runs first, the larger first,
then by the first run's position. A smoke group is never the basis of a
recommendation (:mod:`audiometrics.report.recommendations`).

:func:`detailed_runs` picks the runs the documents describe one by one when
there are many: the best run of each group first, then the second of each, …
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audiometrics.analysis.parameters import is_data_parameter
from audiometrics.report.model import Group, RunSummary

__all__ = ["MAX_DETAILED_RUNS", "attach_run_rows", "detailed_runs", "group_runs"]

#: The documents describe at most this many runs one by one (the full data is in the CSVs).
MAX_DETAILED_RUNS = 40


def attach_run_rows(runs: Sequence[RunSummary], run_rows: Sequence[Any] | None) -> bool:
    """Copy framework, status, smoke reason and parameters from the runs table onto the summaries (by run label).

    Returns whether a runs table was given.
    """
    if run_rows is None:
        return False
    by_label = {row.label: row for row in run_rows}
    for run in runs:
        row = by_label.get(run.id)
        if row is None:
            continue
        run.framework, run.status, run.smoke = row.framework, row.status, row.smoke
        run.parameters = row.parameter_texts()
        run.nonfinite = dict(row.nonfinite)
    return True


def _key(run: RunSummary) -> tuple[bool, tuple[tuple[str, str], ...]]:
    data = tuple(sorted((name, text) for name, text in run.parameters.items() if is_data_parameter(name)))
    return bool(run.smoke), data


def _differences(first: dict[str, str], other: dict[str, str]) -> list[str]:
    """``IMG_SIZE: 64 vs not stated`` for each data parameter where ``other`` differs from ``first``."""
    names = sorted(set(first) | set(other))
    return [
        f"{name}: {other.get(name, 'not stated')} vs {first.get(name, 'not stated')}"
        for name in names
        if first.get(name) != other.get(name)
    ]


def group_runs(runs: Sequence[RunSummary]) -> tuple[list[Group], list[str]]:
    """The comparison groups of the runs with a best main-metric value, and the names of the other runs.

    Sets each run's ``group``. Runs keep table order inside a group until
    they are ranked. Linear in the number of runs.
    """
    buckets: dict[tuple[bool, tuple[tuple[str, str], ...]], list[RunSummary]] = {}
    unscored: list[str] = []
    for run in runs:
        if run.best is None:
            run.group = None
            unscored.append(run.name)
        else:
            buckets.setdefault(_key(run), []).append(run)
    ordered = sorted(buckets.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[1][0].index))
    groups: list[Group] = []
    first: dict[str, str] | None = None
    for number, ((smoke, data), members) in enumerate(ordered, start=1):
        parameters = dict(data)
        for run in members:
            run.group = number
        epochs = [run.epochs for run in members]
        differs = [] if first is None else _differences(first, parameters)
        if first is not None and smoke != ordered[0][0][0]:
            differs.insert(0, "smoke runs" if smoke else "full runs (the first group's are smoke runs)")
        groups.append(
            Group(
                number=number,
                runs=[run.name for run in members],
                smoke=list(dict.fromkeys(run.smoke for run in members if run.smoke)),
                parameters=parameters,
                epochs=(min(epochs), max(epochs)),
                differs=differs,
            )
        )
        if first is None:
            first = parameters
    return groups, unscored


def detailed_runs(runs: Sequence[RunSummary], limit: int = MAX_DETAILED_RUNS) -> list[RunSummary]:
    """At most ``limit`` runs, in table order: every run when there are that few, else the best of each group first.

    Runs are taken by their rank in their group (leaders of all groups, then
    the runners-up, …), then runs without the main metric, in table order.
    """
    if len(runs) <= limit:
        return list(runs)
    chosen = sorted(runs, key=lambda r: (r.rank if r.rank is not None else 1 << 30, r.group or 1 << 30, r.index))[:limit]
    return sorted(chosen, key=lambda r: r.index)
