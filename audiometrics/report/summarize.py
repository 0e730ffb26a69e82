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
* :mod:`~audiometrics.report.ranking`: the ranking by best value;
* :mod:`~audiometrics.report.quality`: data-quality warnings (and loss spikes);
* :mod:`~audiometrics.report.insights`: findings, with the rules they follow;
* :mod:`~audiometrics.report.recommendations`: what to do next.

Nothing here reads or writes files, and nothing depends on the clock or on
dictionary/set iteration order: the same input gives the same summary.
"""

from __future__ import annotations

import pandas as pd

from audiometrics.epochs.loader import typed_frame

from audiometrics.epochs.schema import DERIVED_COLUMNS
from audiometrics.report.insights import find_insights
from audiometrics.report.metric import accuracy_column, choose_metric, metric_columns
from audiometrics.report.model import MetricInfo, RunSummary, Summary
from audiometrics.report.phases import match_phases
from audiometrics.report.quality import attach_phase_notes, data_warnings, find_spikes
from audiometrics.report.ranking import rank_runs
from audiometrics.report.recommendations import recommend
from audiometrics.report.runs import name_runs, summarize_run

__all__ = ["summarize"]

def _summarize_runs(
    frame: pd.DataFrame,
    run_order: list[str],
    phase_table: pd.DataFrame | None,
    columns: list[str],
    info: MetricInfo | None,
    accuracy: str | None,
) -> list[RunSummary]:
    groups = {str(run): rows for run, rows in frame.groupby("run", sort=False)}
    runs: list[RunSummary] = []
    for index, run_id in enumerate(run_order, start=1):
        rows = groups.get(run_id, frame.iloc[0:0])
        run_phases = phase_table[[str(value) == run_id for value in phase_table["run"]]] if phase_table is not None else None
        runs.append(summarize_run(index, run_id, rows, run_phases, columns, info, accuracy))
    name_runs(runs)
    return runs


def summarize(
    frame: pd.DataFrame,
    phases: pd.DataFrame | None = None,
    *,
    metric: str | None = None,
    lower_is_better: bool | None = None,
) -> Summary:
    """Compute the reading of an epoch table (the rules are in the modules listed above).

    ``frame`` is the typed epoch table (:func:`~audiometrics.epochs.frame.load_metrics`;
    a frame of CSV text is typed first). ``phases`` is the optional phase frame
    (:func:`~audiometrics.epochs.frame.phase_frame`) that adds planned epochs, the
    training calls, and phases or runs that recorded no epoch.

    Raises :class:`~audiometrics.options.MetricError` when ``metric`` is not a column of the table.
    """
    if any(column not in frame.columns for column in DERIVED_COLUMNS):
        frame = typed_frame(frame)
    frame, run_order, phase_table, warnings = match_phases(frame.reset_index(drop=True), phases)
    info = choose_metric(frame, metric, lower_is_better)
    columns = [c for c in metric_columns(frame) if frame[c].notna().any()]
    accuracy = accuracy_column(columns, info)
    runs = _summarize_runs(frame, run_order, phase_table, columns, info, accuracy)
    ranking = rank_runs(runs, info)
    spikes = find_spikes(frame, runs, columns)
    warnings.extend(data_warnings(frame, runs, columns, spikes))
    attach_phase_notes(runs, warnings)
    insights = find_insights(runs, info, accuracy, ranking, warnings)
    return Summary(
        metric=info,
        accuracy_column=accuracy,
        runs=runs,
        ranking=ranking,
        insights=insights,
        recommendations=recommend(runs, info, ranking, insights, warnings, spikes),
        warnings=warnings,
        spikes=spikes,
        rows=len(frame),
        metric_columns=columns,
        has_phase_table=phase_table is not None,
    )
