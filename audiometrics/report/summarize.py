"""The reading of an epoch table: runs, phases, best/final, rankings, insights, warnings.

:func:`summarize` turns the typed epoch frame (:func:`audiometrics.epochs.frame.load_metrics`)
and, optionally, the phase frame (:func:`audiometrics.epochs.frame.phase_frame`, which
knows planned epochs and phases that recorded nothing) into a
:class:`~audiometrics.report.model.Summary`: plain dataclasses holding numbers,
texts and lists. Every number a report shows is computed in this package; the
templates (``templates/*.md.j2``) only lay it out, and the plots
(:mod:`audiometrics.report.plots`) draw the series kept here.

The jobs, one module each:

* :mod:`~audiometrics.report.phases`: the phase frame matched with the rows;
* :mod:`~audiometrics.report.metric`: the main metric and architecture families;
* :mod:`~audiometrics.report.runs`: run and phase summaries, display names;
* :mod:`~audiometrics.report.groups`: comparison groups (parameters, smoke runs);
* :mod:`~audiometrics.report.ranking`: the ranking by best value, within each group;
* :mod:`~audiometrics.report.quality`: data-quality warnings (copies, loss spikes,
  learning-curve flags of :mod:`~audiometrics.report.curves`);
* :mod:`~audiometrics.report.insights`: findings, with the rules they follow;
* :mod:`~audiometrics.report.recommendations`: what to do next.

Nothing here reads or writes files, and nothing depends on the clock or on
dictionary/set iteration order: the same input gives the same summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from audiometrics.epochs.loader import typed_frame

from audiometrics.epochs.schema import DERIVED_COLUMNS
from audiometrics.report.groups import attach_run_rows, detailed_runs, group_runs
from audiometrics.report.insights import MAX_LISTED, find_insights
from audiometrics.report.metric import accuracy_column, choose_metric, metric_columns
from audiometrics.report.model import Group, Insight, MetricInfo, RankEntry, RunSummary, Summary
from audiometrics.report.phases import match_phases
from audiometrics.report.quality import attach_phase_notes, data_warnings, find_spikes
from audiometrics.report.ranking import rank_runs
from audiometrics.report.rows import Rows, split_runs
from audiometrics.report.recommendations import recommend
from audiometrics.report.runs import name_runs, summarize_run

__all__ = ["MAX_INSIGHT_GROUPS", "summarize"]

#: Insights are computed for at most this many comparison groups (the first ones: full runs, larger groups first).
MAX_INSIGHT_GROUPS = 8


def _summarize_runs(
    frame: pd.DataFrame,
    run_order: list[str],
    phase_table: pd.DataFrame | None,
    columns: list[str],
    info: MetricInfo | None,
    accuracy: str | None,
    groups: dict[str, Rows],
) -> list[RunSummary]:
    phase_groups: dict[str, list[dict[str, Any]]] = {}
    if phase_table is not None:
        for record in phase_table.astype(object).where(phase_table.notna(), None).to_dict("records"):
            phase_groups.setdefault(str(record["run"]), []).append(record)
    runs: list[RunSummary] = []
    for index, run_id in enumerate(run_order, start=1):
        rows = groups.get(run_id) or Rows({c: [] for c in frame.columns})
        run_phases = phase_groups.get(run_id, []) if phase_table is not None else None
        runs.append(summarize_run(index, run_id, rows, run_phases, columns, info, accuracy))
    name_runs(runs)
    return runs


def _rank_groups(runs: list[RunSummary], groups: list[Group], info: MetricInfo | None) -> list[RankEntry]:
    """Rank the runs of each group (ranks restart per group); the entries of all groups, group by group."""
    by_group: dict[int | None, list[RunSummary]] = {}
    for run in runs:
        by_group.setdefault(run.group, []).append(run)
    epochs = {run.name: run.epochs for run in runs}
    ranking: list[RankEntry] = []
    for group in groups:
        entries = rank_runs(by_group.get(group.number, []), info)
        for entry in entries:
            entry.group, entry.epochs = group.number, epochs[entry.run]
        group.ranking = entries
        group.runs = [entry.run for entry in entries]
        ranking.extend(entries)
    return ranking


def _insights(runs: list[RunSummary], groups: list[Group], info: MetricInfo | None, accuracy: str | None, warnings: list) -> list[Insight]:
    """The insights of the first :data:`MAX_INSIGHT_GROUPS` groups, each list of runs bounded (:data:`MAX_LISTED`)."""
    if not groups:
        return find_insights(runs, info, accuracy, [], warnings)
    by_group: dict[int | None, list[RunSummary]] = {}
    for run in runs:
        by_group.setdefault(run.group, []).append(run)
    out: list[Insight] = []
    for group in groups[:MAX_INSIGHT_GROUPS]:
        for insight in find_insights(by_group.get(group.number, []), info, accuracy, group.ranking, warnings):
            insight.group, insight.smoke = group.number, group.is_smoke
            insight.omitted = max(len(insight.table) - MAX_LISTED, len(insight.bullets) - MAX_LISTED, 0)
            insight.table, insight.bullets = insight.table[:MAX_LISTED], insight.bullets[:MAX_LISTED]
            out.append(insight)
    return out


def summarize(
    frame: pd.DataFrame,
    phases: pd.DataFrame | None = None,
    *,
    metric: str | None = None,
    lower_is_better: bool | None = None,
    run_rows: Sequence[Any] | None = None,
) -> Summary:
    """Compute the reading of an epoch table (the rules are in the modules listed above).

    ``frame`` is the typed epoch table (:func:`~audiometrics.epochs.frame.load_metrics`;
    a frame of CSV text is typed first). ``phases`` is the optional phase frame
    (:func:`~audiometrics.epochs.frame.phase_frame`) that adds planned epochs, the
    training calls, and phases or runs that recorded no epoch. ``run_rows`` is the
    runs table (:func:`~audiometrics.epochs.runs_table.runs_table`, matched on the
    run labels) that adds the stated parameters: runs are then ranked and compared
    within groups of comparable runs only (:mod:`~audiometrics.report.groups`).
    The cost is linear in the number of runs and epoch rows.

    Raises :class:`~audiometrics.options.MetricError` when ``metric`` is not a column of the table.
    """
    if any(column not in frame.columns for column in DERIVED_COLUMNS):
        frame = typed_frame(frame)
    frame, run_order, phase_table, warnings = match_phases(frame.reset_index(drop=True), phases)
    info = choose_metric(frame, metric, lower_is_better)
    columns = [c for c in metric_columns(frame) if frame[c].notna().any()]
    accuracy = accuracy_column(columns, info)
    by_run = split_runs(frame)
    runs = _summarize_runs(frame, run_order, phase_table, columns, info, accuracy, by_run)
    has_run_table = attach_run_rows(runs, run_rows)
    groups, unscored = group_runs(runs)
    ranking = _rank_groups(runs, groups, info)
    spikes = find_spikes(frame, runs, columns, by_run)
    warnings.extend(data_warnings(frame, runs, columns, spikes, info, by_run))
    attach_phase_notes(runs, warnings)
    insights = _insights(runs, groups, info, accuracy, warnings) if info is not None else []
    return Summary(
        metric=info,
        accuracy_column=accuracy,
        runs=runs,
        ranking=ranking,
        insights=insights,
        recommendations=recommend(runs, info, ranking, insights, warnings, spikes, groups),
        warnings=warnings,
        spikes=spikes,
        rows=len(frame),
        metric_columns=columns,
        has_phase_table=phase_table is not None,
        groups=groups,
        unscored=unscored,
        detailed=detailed_runs(runs),
        has_run_table=has_run_table,
    )
