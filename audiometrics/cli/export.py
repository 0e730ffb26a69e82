"""``audiometrics export --to tensorboard|mlflow DEST NOTEBOOKS...``: runs into TensorBoard event files or MLflow.

Notebooks are extracted as ``extract`` reads them and streamed into the sink
(:mod:`audiometrics.sinks.tensorboard`, :mod:`audiometrics.sinks.mlflow`) one
notebook at a time (memory flat in the number of runs), with a progress bar on
a terminal. Exit status: 0 when every notebook was read, 1 when any failed or
the destination cannot be written, 2 for usage errors.
"""

from __future__ import annotations

import os
import re
import sys

import click

from audiometrics.cli.emit import Emitter, log_format_option

__all__ = ["export_command"]

#: A tracking URI's scheme (``sqlite:``, ``http:``, ``databricks``, ``postgresql+psycopg2:``); a drive letter is not one.
_URI = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]+:|databricks$)")


def _destination(kind: str, arguments: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``(DEST, notebooks)``: the first argument is DEST for tensorboard, and for mlflow when it is a URI."""
    from audiometrics.sinks.mlflow import DEFAULT_URI

    if kind == "mlflow" and not (arguments and _URI.match(arguments[0]) and not os.path.exists(arguments[0])):
        return DEFAULT_URI, arguments
    if len(arguments) < 2:
        raise click.UsageError(f"give the destination then the notebooks: export --to {kind} DEST NOTEBOOKS...")
    return arguments[0], arguments[1:]


def _sink(kind: str, dest: str, root: str | None, experiment: str, on_run):
    try:
        if kind == "tensorboard":
            from audiometrics.sinks.tensorboard import TensorBoardSink

            if os.path.exists(dest) and not os.path.isdir(dest):
                raise click.UsageError(f"{dest}: not a folder (TensorBoard writes a folder of runs)")
            return TensorBoardSink(dest, root=root, on_run=on_run)
        import logging

        from audiometrics.sinks.mlflow import MlflowSink

        try:
            import mlflow  # noqa: F401 - sets up its loggers on import; quieted below, before the store is opened
        except ImportError:
            pass  # MlflowSink says how to install it
        for name in ("mlflow", "alembic"):  # their INFO lines (creating tables) are not ours to print
            logging.getLogger(name).setLevel(logging.WARNING)
        return MlflowSink(dest, experiment=experiment, root=root, on_run=on_run)
    except ImportError as error:
        raise click.ClickException(str(error)) from None
    except click.UsageError:
        raise
    except Exception as error:  # noqa: BLE001 - a store that cannot be opened: one line, whatever the client raises
        reason = next(iter(str(error).strip().splitlines()), "") or type(error).__name__
        raise click.ClickException(f"cannot open {dest}: {reason}") from None


class _WriteFailed(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class _Guarded:
    """A sink whose failures (a full disk, a store that went away, a rejected value) become one :class:`_WriteFailed`."""

    def __init__(self, sink) -> None:
        self.sink = sink

    def add(self, result) -> None:
        try:
            self.sink.add(result)
        except Exception as error:  # noqa: BLE001 - OSError, MlflowException, …: one line naming the notebook
            reason = getattr(error, "strerror", None) or next(iter(str(error).strip().splitlines()), "") or type(error).__name__
            raise _WriteFailed(result.path, reason) from error

    def close(self) -> list:
        return self.sink.close()


@click.command("export")
@click.option("--to", "kind", type=click.Choice(["tensorboard", "mlflow"]), required=True, help="Where the runs go.")
@click.argument("arguments", nargs=-1, required=True, metavar="DEST NOTEBOOKS...")
@click.option("--experiment", default="audiometrics", show_default=True, help="MLflow experiment name (created when missing).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes reading notebooks (default: one per CPU; 1: no pool).")
@click.option("--file-timeout", type=click.FloatRange(min=0), default=600, show_default=True, metavar="SECONDS",
              help="Time one notebook may take (0: no limit).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The closing summary as text or as a JSON document (docs/json.md).")
@log_format_option
@click.option("--quiet", "-q", is_flag=True, help="Print only problems (no progress bar, no summary).")
def export_command(kind: str, arguments: tuple[str, ...], experiment: str, jobs: int | None, file_timeout: float,
                   output_format: str, log_format: str, quiet: bool) -> None:
    """Export the runs of NOTEBOOKS to TensorBoard (DEST: a log folder) or MLflow (DEST: a tracking URI,
    default sqlite:///mlflow.db).

    \b
    audiometrics export --to tensorboard logs/ notebooks/
    audiometrics export --to mlflow sqlite:///mlflow.db notebooks/

    Exporting again adds nothing for unchanged runs; a changed notebook's runs
    are replaced (TensorBoard: the run folder is rewritten; MLflow: the old run
    is deleted and a new one written).
    """
    from audiometrics.epochs.rows import notebook_root
    from audiometrics.pipeline import extract_files
    from audiometrics.progress import Progress
    from audiometrics.read.inputs import collect_notebooks
    from audiometrics.sinks import forward

    dest, notebooks = _destination(kind, arguments)
    paths = collect_notebooks(notebooks)
    if not paths:
        raise click.UsageError(f"no notebooks found in {', '.join(notebooks)}")
    emit = Emitter(log_format)
    sink = _sink(kind, dest, notebook_root(paths), experiment, None)
    progress = Progress(len(paths), enabled=False if quiet else None, label="exporting")
    try:
        outcome = extract_files(paths, jobs=jobs, on_result=forward([_Guarded(sink)], progress.update), keep_runs=False,
                                file_timeout=file_timeout or None)
        sink.close()
    except _WriteFailed as failed:
        raise click.ClickException(f"cannot write {dest} (exporting {failed.path}): {failed.reason}") from None
    finally:
        progress.close()
    for diagnostic in outcome.diagnostics:
        emit.diagnostic(diagnostic)
    for note in sink.notes:
        emit.message("warning", note)
    for failure in outcome.failures:
        emit.failure(failure.path, failure.reason)
    _summary(kind, dest, sink.counts, len(paths), len(outcome.failures), output_format, quiet)
    if outcome.failures or not outcome.results:
        sys.exit(1)


def _summary(kind: str, dest: str, counts: dict[str, int], notebooks: int, failed: int, output_format: str, quiet: bool) -> None:
    if output_format == "json":
        from audiometrics.json_output import EXPORT_SCHEMA, dumps

        click.echo(dumps({"schema": EXPORT_SCHEMA, "to": kind, "destination": dest, "notebooks": notebooks,
                          "failed": failed, "runs": counts}))
        return
    if quiet:
        return
    total = sum(counts.get(k, 0) for k in ("written", "updated", "unchanged"))
    parts = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    click.echo(f"exported {total} run{'' if total == 1 else 's'} from {notebooks - failed} of {notebooks} notebooks to {dest}"
               + (f" ({parts})" if parts else ""))
