"""``audiometrics report CSV``: the markdown documents and plots of an epoch CSV.

The library (:func:`audiometrics.report.render.write_reports`) raises typed
errors; this module turns them into one line and an exit status: 2 for a CSV
that is not an epoch table, an unknown ``--metric`` or a reversed direction
without ``--force-direction``; 1 for a template or output error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
import pandas as pd

from audiometrics.cli.emit import Emitter, log_format_option
from audiometrics.cli.errors import metric_usage_errors
from audiometrics.escaping import terminal_text

__all__ = ["report_command"]


def _read_report_inputs(csv_path: str, emit: Emitter | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The CSV's runs as frames (:func:`audiometrics.epochs.csv_runs.report_inputs`); refused values warned on stderr."""
    from audiometrics.epochs.csv_runs import report_inputs
    from audiometrics.epochs.loader import loader_warnings

    try:
        inputs, lines = loader_warnings(report_inputs, csv_path)
    except (ValueError, OSError) as error:
        raise click.UsageError(str(error)) from None
    for line in lines:
        (emit or Emitter()).message("warning", line)
    return inputs


def _main_metric(frame: pd.DataFrame, metric: str | None) -> str | None:
    """The column ``--metric`` names (exact, else ignoring case), or the default main metric."""
    from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS
    from audiometrics.options import default_metric, resolve_metric

    metrics = [c for c in frame.columns if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]
    if metric is not None:
        return resolve_metric(metric, metrics)
    return default_metric(c for c in metrics if frame[c].notna().any())


@contextmanager
def _report_errors() -> Iterator[None]:
    """The library's typed errors as click errors (usage: exit 2; others: exit 1)."""
    import jinja2

    from audiometrics.atomic import OutputError

    try:
        with metric_usage_errors():
            yield
    except (jinja2.TemplateError, FileNotFoundError) as error:
        raise click.ClickException(f"template error: {error}") from None
    except OutputError as error:
        raise click.ClickException(str(error)) from None


@click.command("report")
@click.argument("csv_path", metavar="CSV", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the two markdown documents and plots/ (the current folder by default, so that "
    "reporting on a CSV never overwrites documents beside it unasked).",
)
@click.option("--metric", default=None, help="Main metric (default: lwlrap, else accuracy_multi, accuracy, error_rate, valid_loss).")
@click.option(
    "--lower-is-better/--higher-is-better",
    "lower_is_better",
    default=None,
    help="Direction of the main metric (known for losses, error rates, accuracies, LWLRAP).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of templates overriding the built-in ones by file name.",
)
@click.option("--force-direction", is_flag=True, help="Let --lower-is-better/--higher-is-better reverse a metric's known direction (warned).")
@click.option("--no-plots", is_flag=True, help="Write only the markdown documents (no plots/, no report.html).")
@click.option("--no-html", is_flag=True, help="Do not write report.html (the page of runs, curves and warnings).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Print the paths written as text lines, or the result as one JSON document (docs/json.md).")
@log_format_option
def report_command(
    csv_path: str,
    out_dir: str,
    metric: str | None,
    lower_is_better: bool | None,
    templates_dir: str | None,
    force_direction: bool,
    no_plots: bool,
    no_html: bool,
    output_format: str = "text",
    log_format: str = "text",
) -> None:
    """Write training_metrics_summary.md, EXTRACTION_SUMMARY.md, plots/ and report.html from an epoch CSV.

    Data-quality warnings go to stderr, one per line; the paths written go to stdout.
    With the source columns (extract --with-source), the runs.csv written beside
    the CSV gives the notebooks' stated parameters, so runs are compared within
    the same groups as extract's report.
    Exit status 2 for a CSV that is not an epoch table or an unknown --metric.
    """
    from audiometrics.options import check_direction
    from audiometrics.report.render import write_reports

    from audiometrics.epochs.runs_table import report_run_rows

    emit = Emitter(log_format)
    frame, phases = _read_report_inputs(csv_path, emit)
    run_rows, lines = report_run_rows(csv_path) if phases is not None else (None, [])
    for line in lines:
        emit.message("warning", line)
    with _report_errors():
        name = _main_metric(frame, metric)
        notes = [check_direction(name, lower_is_better, force=force_direction)] if name else []
        result = write_reports(
            frame,
            out_dir,
            phases=phases,
            metric=name if metric is not None else None,
            lower_is_better=lower_is_better,
            templates_dir=templates_dir,
            csv_name=os.path.basename(csv_path),
            run_rows=run_rows,
            plots=not no_plots,
            html=not (no_plots or no_html),
            on_wait=lambda root: click.echo(f"waiting: another audiometrics run is writing into {root}", err=True),
        )
    for note in notes:
        if note:
            emit.message("warning", note)
    for warning in result.warnings:
        emit.message("warning", str(warning))
    if output_format == "json":
        from audiometrics.json_output import report_document

        click.echo(report_document(csv_path, result))
        return
    for path in result.paths:
        click.echo(terminal_text(str(path)))


if __name__ == "__main__":  # pragma: no cover
    report_command(sys.argv[1:])
