"""The ``audiometrics`` command group and ``extract``; the other commands live in their own modules.

``report``, ``score``, ``train``, ``export`` and ``diff`` live in their own modules, imported when
used (:data:`LAZY_COMMANDS`, :class:`~audiometrics.cli.lazy.LazyGroup`); the run lines printed at the
end are :mod:`audiometrics.cli.run_lines`.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from audiometrics import __version__
from audiometrics.cli.emit import Emitter, log_format_option
from audiometrics.cli.errors import metric_usage_errors
from audiometrics.cli.lazy import LazyGroup
from audiometrics.escaping import terminal_text

if TYPE_CHECKING:  # pragma: no cover - imported where used: `--help` and `--version` stay fast
    from audiometrics.cli.run_lines import RunDigest

__all__ = ["main"]


def _say(line: str, err: bool = False) -> None:
    """Print one line of ours that may hold notebook-derived text, control characters removed."""
    click.echo(terminal_text(line), err=err)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audiometrics")
def main() -> None:
    """Turn executed fastai notebooks into an epoch table, summaries and plots."""


#: With ``--errors``, more failures than this are summarised (a few per reason) on stderr.
LISTED_FAILURES = 20


def _connect(scheduler: str, timeout: float = 10.0):
    try:
        from distributed import Client
    except ImportError:
        from audiometrics.hints import install_hint

        raise click.UsageError(f"--scheduler needs Dask distributed: {install_hint('dask')}") from None
    try:
        return Client(scheduler, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address
        reason = next(iter(str(exc).strip().splitlines()), "") or type(exc).__name__
        raise click.ClickException(f"cannot connect to the Dask scheduler at {scheduler}: {reason}") from None


def _stops_cleanly(command):
    """Run ``command`` so that SIGINT (Ctrl-C) and SIGTERM stop it with one line saying how far
    it got (the :class:`~audiometrics.progress.Progress` put in ``ctx.meta["progress"]``),
    no traceback, and exit status 130 or 143."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from audiometrics.lifecycle import interruptible

        def say(stop) -> None:
            progress = click.get_current_context().meta.get("progress")
            done = "" if progress is None else f" {progress.done_line()}"
            click.echo(f"audiometrics: stopped by {stop}{done}", err=True)

        with interruptible(say):
            return command(*args, **kwargs)

    return run


@main.command()
@click.argument("notebooks", nargs=-1, required=True)
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False), help="Folder for the CSV and the reports.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write the CSV here instead of OUT/training_metrics_extracted.csv.")
@click.option("--with-source", is_flag=True, help="Add the source columns (notebook, run, cell, call, planned_epochs, interrupted) to the CSV.")
@click.option("--no-report", is_flag=True, help="Write only the CSV, no markdown summaries or plots.")
@click.option("--no-html", is_flag=True, help="Do not write report.html (the page of runs, curves and warnings) with the reports.")
@click.option("--metric", default=None, help="Main metric for rankings and best/final (default: lwlrap when present).")
@click.option("--lower-is-better/--higher-is-better", "lower_is_better", default=None, help="Direction of --metric when it is not a known one.")
@click.option("--force-direction", is_flag=True, help="Let --lower-is-better/--higher-is-better reverse a metric's known direction (warned).")
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False, exists=True), help="Folder of templates overriding the built-in ones by file name.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes reading notebooks in parallel (default: one per CPU; 1: no pool).")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="Run on a Dask cluster (e.g. tcp://host:8786) instead of local processes; needs audiometrics[dask] and the files at the same paths on every worker.")
@click.option("--strict", is_flag=True, help="A notebook with any warning counts as failed: no rows, listed with its warnings, exit status 1.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False), default=None, help="Write the failed files as CSV (path,reason) here.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors and warnings (no progress bar).")
@click.option("--raw-csv-text", is_flag=True, help="Write CSV text cells that start with = + - @ as they are (not prefixed with ' for spreadsheets).")
@click.option("--file-timeout", type=click.FloatRange(min=0), default=600, show_default=True, metavar="SECONDS", help="Time one notebook may take; a notebook over it fails with an error and the others go on (0: no limit).")
@click.option("--no-cache", is_flag=True, help="Read every notebook again (by default a notebook whose bytes were extracted before by this version is not re-read).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, envvar="AUDIOMETRICS_CACHE_DIR", show_envvar=True, help="Folder of the result cache (default: the user cache folder, e.g. ~/.cache/audiometrics).")
@click.option("--scheduler-timeout", type=click.FloatRange(min=0, min_open=True), default=10, show_default=True, metavar="SECONDS", help="Time to wait for the --scheduler to answer.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="The closing run lines as text, or the result as one JSON document on stdout (docs/json.md).")
@log_format_option
@_stops_cleanly
def extract(
    notebooks: tuple[str, ...],
    out_dir: str,
    csv_path: str | None,
    with_source: bool,
    no_report: bool,
    no_html: bool,
    metric: str | None,
    lower_is_better: bool | None,
    force_direction: bool,
    templates_dir: str | None,
    jobs: int | None,
    scheduler: str | None,
    strict: bool,
    errors_path: str | None,
    quiet: bool,
    raw_csv_text: bool,
    file_timeout: float,
    no_cache: bool,
    cache_dir: str | None,
    scheduler_timeout: float,
    output_format: str = "text",
    log_format: str = "text",
) -> None:
    """Extract every training epoch from NOTEBOOKS (files, folders or globs).

    Notebooks are read by --jobs worker processes, or by a Dask cluster with
    --scheduler; the output is the same, in input order. A progress bar shows on
    a terminal for more than a handful of files, and failures are summarised by
    reason at the end.

    Exit status: 0 when every file was read, 1 when any file failed (the others
    are still extracted; with --strict, a file with warnings counts as failed),
    when no file could be read (nothing is written then) or when an output cannot
    be written (the previous outputs are left as they were), 2 for usage errors,
    130 or 143 when stopped by Ctrl-C or SIGTERM (the worker processes are stopped
    too).

    The outputs (CSV, documents, plots/, --errors) are replaced as one set; a
    second run into the same --out waits for the first to finish writing.
    """
    from audiometrics.read.inputs import collect_notebooks
    from audiometrics.pipeline import OutputOptions, check_outputs

    if jobs is not None and scheduler is not None:
        raise click.UsageError("--jobs and --scheduler cannot be used together (the cluster's workers do the work)")
    if metric is not None and not metric.strip():
        raise click.UsageError("--metric needs a metric column name")
    options = OutputOptions(
        Path(out_dir),
        Path(csv_path) if csv_path is not None else None,
        Path(errors_path) if errors_path is not None else None,
        with_source, not no_report, metric, lower_is_better, force_direction, templates_dir, raw_csv_text, not no_html,
    )
    with _user_errors():
        check_outputs(options)
    if output_format == "json" and csv_path == "-":
        raise click.UsageError("--format json and --csv - both write to standard output; choose one")
    paths = collect_notebooks(notebooks)
    if not paths:
        raise click.UsageError(f"no notebooks found in {', '.join(notebooks)}")
    cache = False if no_cache else (cache_dir or True)
    from audiometrics.json_output import ExtractRecords

    records = ExtractRecords(paths) if output_format == "json" else None
    emit = Emitter(log_format)
    outcome, written, report_warnings, digests, printed = _run_extract(
        paths, options, jobs, scheduler, strict, quiet, file_timeout, scheduler_timeout, cache, records, emit
    )
    _print_outcome(outcome, written, report_warnings, digests, options, len(paths), quiet, printed, emit, records)
    if outcome.failures or not written:
        sys.exit(1)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the library's typed errors into one line and an exit status (2 usage, 1 output)."""
    from audiometrics.atomic import OutputError

    try:
        with metric_usage_errors():
            yield
    except OutputError as error:
        _say(f"error: {error}", err=True)
        sys.exit(1)


def _run_extract(paths, options, jobs, scheduler, strict, quiet, file_timeout, scheduler_timeout, cache, records=None, emit=None):
    """Extract ``paths`` and write the outputs with a progress bar; returns what the summary needs."""
    from audiometrics.pipeline import extract_paths_to_outputs
    from audiometrics.progress import Progress

    client = _connect(scheduler, scheduler_timeout) if scheduler is not None else None
    progress = Progress(len(paths), enabled=False if quiet else None)
    click.get_current_context().meta["progress"] = progress  # for the line said when stopped
    from audiometrics.cli.run_lines import run_digest
    from audiometrics.model import NotebookResult

    digests: list[RunDigest] = []

    def seen(item) -> None:
        progress.update(item)
        if isinstance(item, NotebookResult):
            digests.extend(run_digest(run) for run in item.runs)
            if records is not None:
                records.add(item)

    def waiting(root: str) -> None:
        _say(f"waiting: another audiometrics run is writing into {root}", err=True)

    def extracted(outcome) -> None:  # every file read: its warnings and the run lines before the outputs are written
        if records is not None:  # --format json: one document at the end
            return
        progress.close()
        _print_extraction(outcome, digests, options, quiet, emit if emit is not None else Emitter())
        printed.append(True)

    printed: list[bool] = []

    try:
        with _user_errors():
            outcome, written, report_warnings = extract_paths_to_outputs(
                paths,
                options.out_dir,
                csv_path=options.csv_path,
                errors_path=options.errors_path,
                with_source=options.with_source,
                report=options.report,
                metric=options.metric,
                lower_is_better=options.lower_is_better,
                force_direction=options.force_direction,
                templates_dir=options.templates_dir,
                jobs=jobs,
                executor=client,
                strict=strict,
                on_result=seen,
                on_wait=waiting,
                raw_csv_text=options.raw_csv_text,
                file_timeout=file_timeout,
                cache=cache,
                html=options.html,
                on_extracted=extracted,
                on_stage=progress.stage if options.report else None,
            )
    finally:
        progress.close()
        if client is not None:
            client.close()
    return outcome, written, report_warnings, digests, bool(printed)


def _print_extraction(outcome, digests, options, quiet: bool, emit) -> None:
    """The files' warnings on stderr, then the run lines (stdout; stderr when the CSV goes there)."""
    from audiometrics.atomic import is_stdout
    from audiometrics.cli.run_lines import digest_lines

    for diagnostic in outcome.diagnostics:
        emit.diagnostic(diagnostic)
    if quiet or not outcome.results:
        return
    for line in digest_lines(digests, outcome.metric, options.lower_is_better):
        _say(line, err=is_stdout(options.csv_target))


def _print_outcome(
    outcome, written, report_warnings, digests, options, total: int, quiet: bool, printed: bool = False, emit=None, records=None
) -> None:
    """Warnings and failures on stderr (text or JSON lines); the run lines (unless ``printed`` already) and
    what was written on stdout (stderr when the CSV is there), or with ``records`` the JSON document."""
    from audiometrics.atomic import describe, is_stdout
    from audiometrics.failures import summary_lines

    emit = emit if emit is not None else Emitter()
    errors_path = os.fspath(options.errors_path) if options.errors_path is not None else None
    if not printed:
        for diagnostic in outcome.diagnostics:
            emit.diagnostic(diagnostic)
    for warning in report_warnings:
        emit.message("warning", str(warning))
    listed = errors_path if written else None
    per_group = 3 if listed is not None and len(outcome.failures) > LISTED_FAILURES else None
    if emit.json:
        for failure in outcome.failures:
            emit.failure(failure.path, failure.reason)
    else:
        for line in summary_lines(outcome.failures, total, per_group=per_group, errors_path=listed):
            _say(line, err=True)
    if not written:
        emit.message("error", f"no notebook could be read; nothing written (the outputs in {options.out_dir} are unchanged)")
    if records is not None:
        click.echo(records.document(outcome, [describe(p) for p in written], total))
        return
    if not written or quiet:
        return
    to_stderr = is_stdout(options.csv_target)
    if not printed:
        from audiometrics.cli.run_lines import digest_lines

        for line in digest_lines(digests, outcome.metric, options.lower_is_better):
            _say(line, err=to_stderr)
    epochs, count = sum(d.epochs for d in digests), len(digests)
    shown = [describe(p) for p in written] + ([errors_path] if errors_path is not None else [])
    _say(
        f"{_count(epochs, 'epoch row')} from {_count(count, 'run')} in {len(outcome.results)} of "
        f"{_count(total, 'notebook')}; wrote " + ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else ""),
        err=to_stderr,
    )


#: The commands in their own modules: imported when used (``--help`` and ``--version`` stay fast).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "report": (
        "audiometrics.cli.report:report_command",
        "Write training_metrics_summary.md, EXTRACTION_SUMMARY.md, plots/ and report.html from an epoch CSV.",
    ),
    "score": (
        "audiometrics.cli.score:score_command",
        "Score SUBMISSION (fname + one column per class) against TRUTH with LWLRAP.",
    ),
    "train": ("audiometrics.cli.train:train_command", "Train ARCH..."),
    "export": (
        "audiometrics.cli.export:export_command",
        "Export the runs of NOTEBOOKS to TensorBoard (DEST: a log folder) or MLflow (DEST: a tracking URI, "
        "default sqlite:///mlflow.db).",
    ),
    "diff": (
        "audiometrics.cli.diff:diff_command",
        "Compare A with B, run by run: each a folder of notebooks, a notebook, an epoch CSV or a runs table.",
    ),
}

for _name, (_target, _help) in LAZY_COMMANDS.items():
    main.add_lazy(_name, _target, _help)
