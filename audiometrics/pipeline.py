"""The extraction pipeline: notebook files → runs → the epoch table.

read notebook → find tables → analyse source → align into phases/runs → rows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiometrics.align import align_notebook
from audiometrics.errors import NotebookError
from audiometrics.failures import STRICT_REASON
from audiometrics.inputs import collect_notebooks
from audiometrics.model import Diagnostic, NotebookResult, Run
from audiometrics.notebook import _read_notebook
from audiometrics.source import analyse_cells
from audiometrics.tables import find_tables

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Extraction",
    "extract",
    "extract_notebook",
    "extract_files",
    "iter_extract",
    "STRICT_REASON",
    "DEFAULT_CSV_NAME",
]

DEFAULT_CSV_NAME = "training_metrics_extracted.csv"


def extract_notebook(path: str | os.PathLike[str]) -> NotebookResult:
    """Extract the runs of one notebook file.

    Raises :class:`~audiometrics.errors.NotebookError` when the file cannot be
    read as a notebook; problems inside a readable notebook are returned as
    diagnostics instead.
    """
    name = os.fspath(path)
    return _extract(name, name)


def _extract(location: str, name: str) -> NotebookResult:
    """Extract the file at ``location``, naming it ``name`` in the result and in errors."""
    notebook = _read_notebook(location, name, drop_media=None, skim=True)  # extraction reads no images
    analyses = analyse_cells([cell.source for cell in notebook.cells])
    tables = [find_tables(cell.outputs) for cell in notebook.cells]
    runs, diagnostics = align_notebook(name, notebook.cells, analyses, tables)
    notes = [Diagnostic(name, note) for note in notebook.notes]
    return NotebookResult(path=name, runs=tuple(runs), diagnostics=tuple(notes + diagnostics))


def _extract_item(item: tuple[str, str]) -> NotebookResult | NotebookError:
    """The worker task for one file: never raises, whatever the file holds."""
    name, location = item
    try:
        return _extract(location, name)
    except NotebookError as error:
        return NotebookError(name, error.reason)
    except RecursionError:
        return NotebookError(name, "nested too deeply to analyse")
    except MemoryError:
        return NotebookError(name, "too large to load into memory")
    except Exception as exc:  # noqa: BLE001 - a bug must cost one file, not the job
        return NotebookError(name, f"internal error ({type(exc).__name__}: {exc}); please report it")


def _task_failed(item: tuple[str, str], exc: BaseException) -> NotebookError:
    from audiometrics.parallel import TimedOut, WorkerDied

    if isinstance(exc, WorkerDied):
        return NotebookError(item[0], "the worker process reading it died (out of memory, or a crash)")
    if isinstance(exc, TimedOut):
        return NotebookError(item[0], f"{exc}; skipped")
    return NotebookError(item[0], f"worker failed ({type(exc).__name__}: {exc})")


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def iter_extract(
    paths: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = 1,
    executor: Any = None,
    file_timeout: float | None = None,
) -> Iterator[NotebookResult | NotebookError]:
    """Extract notebook files one by one, yielding each file's result or its error, in input order.

    Nothing is raised for a bad file (its :class:`~audiometrics.errors.NotebookError`
    is yielded instead) and nothing is kept: memory stays bounded however many
    files there are. ``jobs`` worker processes share the work (``None``: one per
    CPU); ``executor`` (a :class:`concurrent.futures.Executor` or a Dask
    ``distributed.Client``) runs it instead. Workers open the files by absolute
    path (on a cluster the files must be at the same paths on every worker: a
    shared filesystem), and results name them as given. ``file_timeout``: seconds
    one file may take (``None`` or 0: no limit); a file over it becomes a
    :class:`~audiometrics.errors.NotebookError` ("took longer than N s; skipped")
    and the others go on (see :func:`audiometrics.parallel.map_ordered`).
    """
    from audiometrics.parallel import map_ordered

    names = [os.fspath(p) for p in paths]
    items = [(name, os.path.abspath(name) if name else name) for name in names]
    parallel = executor is not None or jobs is None or jobs > 1
    sizes = [_size(location) for _, location in items] if parallel and len(items) > 1 else None
    for outcome in map_ordered(
        _extract_item,
        items,
        jobs=jobs,
        executor=executor,
        sizes=sizes,
        on_error=_task_failed,
        preload=("audiometrics.pipeline",),
        limit=file_timeout,
    ):
        yield outcome


def _strict_failure(result: NotebookResult) -> NotebookError:
    notes = [f"cell {d.cell}: {d.message}" if d.cell is not None else d.message for d in result.diagnostics]
    return NotebookError(result.path, f"{STRICT_REASON}: " + "; ".join(notes))


@dataclass
class Extraction:
    """The outcome of extracting many notebooks: results in input order, and failures."""

    results: list[NotebookResult] = field(default_factory=list)
    failures: list[NotebookError] = field(default_factory=list)

    @property
    def runs(self) -> list[Run]:
        return [run for result in self.results for run in result.runs]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for result in self.results for d in result.diagnostics]

    def rows(self, *, with_source: bool = False) -> list[dict[str, str]]:
        """Epoch rows as CSV text values, in input order then execution order."""
        from audiometrics.frame import rows_from_runs

        return rows_from_runs(self.runs, with_source=with_source)

    def frame(self) -> pd.DataFrame:
        """The typed epoch table (with a ``notebook`` column), as :func:`load_metrics` returns it."""
        from audiometrics.frame import frame_from_rows

        return frame_from_rows(self.rows(with_source=True), with_source=True)


def extract_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = 1,
    executor: Any = None,
    strict: bool = False,
    on_result: Callable[[NotebookResult | NotebookError], Any] | None = None,
    keep_runs: bool = True,
    file_timeout: float | None = None,
) -> Extraction:
    """Extract every notebook in ``paths``; a file that fails is recorded and the rest go on.

    ``jobs`` and ``executor``: see :func:`iter_extract` (results are the same
    whatever runs them). ``strict``: a file with any diagnostic counts as failed
    (reason :data:`STRICT_REASON` then its warnings) and contributes no rows.
    ``on_result`` is called with each file's result or error as it is collected,
    in input order (a progress bar, say). With ``keep_runs=False`` the results
    keep only their diagnostics (``on_result`` still sees the runs), so memory
    does not grow with the number of epoch rows. ``file_timeout``: see :func:`iter_extract`.
    """
    outcome = Extraction()
    for item in iter_extract(paths, jobs=jobs, executor=executor, file_timeout=file_timeout):
        if strict and isinstance(item, NotebookResult) and item.diagnostics:
            item = _strict_failure(item)
        if isinstance(item, NotebookError):
            outcome.failures.append(item)
        else:
            outcome.results.append(item if keep_runs else replace(item, runs=()))
        if on_result is not None:
            on_result(item)
    return outcome


def extract(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    on_error: str = "warn",
    jobs: int | None = 1,
    executor: Any = None,
    strict: bool = False,
    file_timeout: float | None = None,
) -> pd.DataFrame:
    """Extract every recorded epoch from notebooks as a typed DataFrame.

    ``paths`` may be files, directories (searched recursively for ``*.ipynb``)
    or glob patterns. ``on_error`` says what to do with a file that cannot be
    read: ``"warn"`` (a :class:`UserWarning` naming the file and the reason),
    ``"raise"`` (raise its :class:`~audiometrics.errors.NotebookError`) or
    ``"ignore"``.

    ``jobs`` worker processes share the files (``None``: one per CPU; default 1,
    in this process); ``executor`` runs them instead: any
    :class:`concurrent.futures.Executor`, or a Dask ``distributed.Client``
    (``pip install audiometrics[dask]``; the workers must see the files at the
    same absolute paths). The frame is the same whatever runs the work.
    ``strict=True`` treats a file with any diagnostic as failed (see
    :func:`extract_files`). ``file_timeout``: seconds one file may take (``None``:
    no limit), a file over it fails like an unreadable one (see :func:`iter_extract`).

    The frame has the CSV's columns with proper dtypes, a ``notebook`` column
    and the derived columns ``time_s``, ``global_epoch``, ``run`` and ``lr_max``
    (see :func:`audiometrics.load_metrics`).
    """
    if on_error not in {"warn", "raise", "ignore"}:
        raise ValueError(f"on_error must be 'warn', 'raise' or 'ignore', not {on_error!r}")
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    outcome = extract_files(
        collect_notebooks(os.fspath(p) for p in items), jobs=jobs, executor=executor, strict=strict, file_timeout=file_timeout
    )
    if outcome.failures and on_error == "raise":
        raise outcome.failures[0]
    if on_error == "warn":
        for failure in outcome.failures:
            warnings.warn(str(failure), UserWarning, stacklevel=2)
    return outcome.frame()


def write_outputs(
    outcome: Extraction,
    out_dir: str | os.PathLike[str],
    *,
    csv_path: str | os.PathLike[str] | None = None,
    with_source: bool = False,
) -> Path:
    """Write the epoch CSV for ``outcome`` atomically; returns its path."""
    from audiometrics.frame import write_csv

    target = Path(csv_path) if csv_path is not None else Path(out_dir) / DEFAULT_CSV_NAME
    write_csv(target, outcome.rows(with_source=with_source), with_source=with_source)
    return target


def _extract_to_csv(
    paths: Sequence[str],
    target: Path,
    *,
    with_source: bool,
    on_result: Callable[[NotebookResult | NotebookError], Any] | None,
    **options: Any,
) -> Extraction:
    """Extract and write the CSV holding no more than one notebook's rows in memory.

    Rows go to a temporary spool as each notebook arrives (the CSV's columns are
    only known at the end), then stream into the CSV; the returned extraction
    keeps diagnostics and failures, not runs.
    """
    import json
    import tempfile

    from audiometrics.frame import columns_for_keys, rows_from_runs, write_csv_rows

    keys: set[str] = set()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:

        def spool_rows(item: NotebookResult | NotebookError) -> None:
            if isinstance(item, NotebookResult):
                for row in rows_from_runs(item.runs, with_source=with_source):
                    keys.update(row)
                    spool.write(json.dumps(row, ensure_ascii=False) + "\n")
            if on_result is not None:
                on_result(item)

        outcome = extract_files(paths, on_result=spool_rows, keep_runs=False, **options)
        spool.seek(0)
        write_csv_rows(target, columns_for_keys(keys, with_source=with_source), (json.loads(line) for line in spool))
    return outcome


#: Report warnings that repeat what extraction diagnostics already said about a file.
_SAID_BY_EXTRACTION = frozenset({"empty_phase", "incomplete_phase", "missing_lr"})


def extract_paths_to_outputs(
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    csv_path: str | os.PathLike[str] | None = None,
    with_source: bool = False,
    report: bool = True,
    metric: str | None = None,
    lower_is_better: bool | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = 1,
    executor: Any = None,
    strict: bool = False,
    on_result: Callable[[NotebookResult | NotebookError], Any] | None = None,
    file_timeout: float | None = None,
) -> tuple[Extraction, list[Path], list[str]]:
    """Extract ``inputs`` and write the CSV (and, with ``report``, the summaries and plots) into ``out_dir``.

    ``jobs``, ``executor``, ``strict``, ``on_result`` and ``file_timeout``: see :func:`extract_files`.
    Returns the extraction, the paths written and the report's data-quality warnings.
    """
    paths = collect_notebooks(os.fspath(p) for p in inputs)
    if not report:
        target = Path(csv_path) if csv_path is not None else Path(out_dir) / DEFAULT_CSV_NAME
        outcome = _extract_to_csv(
            paths,
            target,
            with_source=with_source,
            jobs=jobs,
            executor=executor,
            strict=strict,
            on_result=on_result,
            file_timeout=file_timeout,
        )
        return outcome, [target], []
    outcome = extract_files(
        paths, jobs=jobs, executor=executor, strict=strict, on_result=on_result, file_timeout=file_timeout
    )
    written = [write_outputs(outcome, out_dir, csv_path=csv_path, with_source=with_source)]
    report_warnings: list[str] = []
    from audiometrics.frame import phase_frame
    from audiometrics.report import write_reports

    result = write_reports(
        outcome.frame(),
        out_dir,
        phases=phase_frame(outcome.runs),
        metric=metric,
        lower_is_better=lower_is_better,
        templates_dir=templates_dir,
        csv_name=written[0].name,
    )
    written.extend(result.paths)
    # Phase problems were already reported by the extraction, per file and cell.
    kinds = [w.kind for w in result.summary.warnings] if result.summary else [None] * len(result.warnings)
    report_warnings.extend(line for line, kind in zip(result.warnings, kinds) if kind not in _SAID_BY_EXTRACTION)
    return outcome, written, report_warnings
