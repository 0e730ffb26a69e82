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

from audiometrics.epochs.schema import DEFAULT_CSV_NAME
from audiometrics.runs.align import align_notebook
from audiometrics.runs.boundary import clean_text, guard_error, guard_result, guard_sources
from audiometrics.errors import NotebookError
from audiometrics.failures import STRICT_REASON
from audiometrics.read.inputs import collect_notebooks
from audiometrics.model import Diagnostic, NotebookResult, Run
from audiometrics.read.notebook import _read_notebook
from audiometrics.runs.order import in_execution_order
from audiometrics.analysis.analyser import analyse_cells
from audiometrics.analysis.parameters import stated_parameters
from audiometrics.tables.find import find_tables
from audiometrics.tables.suspect import suspect_diagnostics

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from audiometrics.cache import ResultCache

__all__ = [
    "Extraction",
    "extract",
    "extract_notebook",
    "extract_files",
    "iter_extract",
    "STRICT_REASON",
    "DEFAULT_CSV_NAME",
]



NOTHING_FOUND = "no training call and no progress table in any output: nothing to extract"
#: Stored results read from the cache per query, decoded just before they are handed on.
_SERVED_AT_ONCE = 256


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
    notebook = in_execution_order(_read_notebook(location, name, drop_media=None, skim=True))  # extraction reads no images
    sources, source_notes = guard_sources(name, notebook.cells)
    analyses = analyse_cells(sources)
    tables = [find_tables(cell.outputs) for cell in notebook.cells]
    runs, diagnostics = align_notebook(name, notebook.cells, analyses, tables)
    notes = [Diagnostic(name, note) for note in notebook.notes]
    unread = suspect_diagnostics(name, notebook.cells, tables)  # never silent: progress no format read
    found = tuple(notes + source_notes + diagnostics + unread)
    if not runs and not found:  # a notebook that yields nothing says why
        found = (Diagnostic(name, NOTHING_FOUND),)
    result = guard_result(NotebookResult(path=name, runs=tuple(runs), diagnostics=found))
    return replace(result, parameters=stated_parameters(notebook.cells, sources, clean_text))


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
    cache: "bool | str | os.PathLike[str] | ResultCache | None" = True,
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

    ``cache``: a file whose bytes were extracted before (by this version of the
    code) is not read again (:mod:`audiometrics.cache`): ``True`` the user cache
    folder, a path another folder, a :class:`~audiometrics.cache.ResultCache`
    (left open), ``False`` none.
    """
    from audiometrics.cache import open_cache

    names = [os.fspath(p) for p in paths]
    items = [(name, os.path.abspath(name) if name else name) for name in names]
    store = open_cache(cache)
    try:
        yield from _extract_items(items, store, jobs=jobs, executor=executor, file_timeout=file_timeout)
    finally:
        if store is not None and store is not cache:
            store.close()


def _extract_items(
    items: list[tuple[str, str]], store: "ResultCache | None", *, jobs: int | None, executor: Any, file_timeout: float | None
) -> Iterator[NotebookResult | NotebookError]:
    """Each item's outcome in order: stored ones from ``store``, the others extracted (and stored)."""
    from audiometrics.cache import cacheable
    from audiometrics.parallel import map_ordered

    stored = store.probe_many([location for _, location in items]) if store is not None else [False] * len(items)
    todo = [item for item, hit in zip(items, stored) if not hit]
    parallel = executor is not None or jobs is None or jobs > 1
    sizes = [_size(location) for _, location in todo] if parallel and len(todo) > 1 else None
    extracted = map_ordered(
        _extract_item,
        todo,
        jobs=jobs,
        executor=executor,
        sizes=sizes,
        on_error=_task_failed,
        preload=("audiometrics.pipeline",),
        limit=file_timeout,
    )
    for start in range(0, len(items), _SERVED_AT_ONCE):
        chunk, hits = items[start : start + _SERVED_AT_ONCE], stored[start : start + _SERVED_AT_ONCE]
        wanted = [(location, name) for (name, location), hit in zip(chunk, hits) if hit]
        served = iter(store.fetch_many(wanted) if wanted else ())  # type: ignore[union-attr]
        for (name, location), hit in zip(chunk, hits):
            outcome = next(served) if hit else None
            if outcome is None:  # not stored, or unreadable since it was probed (then the file is read here)
                outcome = guard_error(_extract_item((name, location)) if hit else next(extracted))
                if store is not None and cacheable(outcome):
                    store.put(location, outcome)
            yield outcome


def _strict_failure(result: NotebookResult) -> NotebookError:
    notes = [f"{d.where}: {d.message}" if d.where else d.message for d in result.diagnostics]
    return NotebookError(result.path, f"{STRICT_REASON}: " + "; ".join(notes))


@dataclass
class Extraction:
    """The outcome of extracting many notebooks: results in input order, and failures."""

    results: list[NotebookResult] = field(default_factory=list)
    failures: list[NotebookError] = field(default_factory=list)
    #: The main metric the outputs used (set by :func:`extract_paths_to_outputs`).
    metric: str | None = None

    @property
    def runs(self) -> list[Run]:
        return [run for result in self.results for run in result.runs]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for result in self.results for d in result.diagnostics]

    def rows(self, *, with_source: bool = False) -> list[dict[str, str]]:
        """Epoch rows as CSV text values, in input order then execution order."""
        from audiometrics.epochs.rows import rows_from_runs

        return rows_from_runs(self.runs, with_source=with_source, root=self.root)

    @property
    def root(self) -> str | None:
        """The common parent of every input: the CSV's ``notebook`` column is relative to it."""
        from audiometrics.epochs.rows import notebook_root

        return notebook_root([*(r.path for r in self.results), *(f.path for f in self.failures)])

    def frame(self) -> pd.DataFrame:
        """The typed epoch table (with the source columns), as :func:`load_metrics` returns it."""
        from audiometrics.epochs.frame import frame_from_rows

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
    cache: "bool | str | os.PathLike[str] | ResultCache | None" = True,
) -> Extraction:
    """Extract every notebook in ``paths``; a file that fails is recorded and the rest go on.

    ``jobs`` and ``executor``: see :func:`iter_extract` (results are the same
    whatever runs them). ``strict``: a file with any diagnostic counts as failed
    (reason :data:`STRICT_REASON` then its warnings) and contributes no rows.
    ``on_result`` is called with each file's result or error as it is collected,
    in input order (a progress bar, say). With ``keep_runs=False`` the results
    keep only their diagnostics (``on_result`` still sees the runs), so memory
    does not grow with the number of epoch rows. ``file_timeout`` and ``cache`` (on by
    default: files extracted before are not read again): see :func:`iter_extract`.
    """
    outcome = Extraction()
    for item in iter_extract(paths, jobs=jobs, executor=executor, file_timeout=file_timeout, cache=cache):
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
    cache: "bool | str | os.PathLike[str]" = True,
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
    ``cache``: results are kept in the user cache folder (``$AUDIOMETRICS_CACHE_DIR``
    overrides it; a path picks another; ``False`` turns it off), so a file
    extracted before by this version is not read again (:mod:`audiometrics.cache`).

    The frame has the CSV's columns with proper dtypes, the source columns
    and the derived columns ``time_s``, ``global_epoch``, ``run`` and ``lr_max``
    (see :func:`audiometrics.load_metrics`).
    """
    if on_error not in {"warn", "raise", "ignore"}:
        raise ValueError(f"on_error must be 'warn', 'raise' or 'ignore', not {on_error!r}")
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    outcome = extract_files(
        collect_notebooks(os.fspath(p) for p in items),
        jobs=jobs,
        executor=executor,
        strict=strict,
        file_timeout=file_timeout,
        cache=cache,
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
    raw_text: bool = False,
) -> Path:
    """Write the epoch CSV for ``outcome`` atomically; returns its path (``raw_text``: see :func:`~audiometrics.epochs.frame.write_csv_rows`)."""
    from audiometrics.epochs.csv_file import write_csv

    target = Path(csv_path) if csv_path is not None else Path(out_dir) / DEFAULT_CSV_NAME
    write_csv(target, outcome.rows(with_source=with_source), with_source=with_source, raw_text=raw_text)
    return target


#: Report warnings that repeat what extraction diagnostics already said about a file.
_SAID_BY_EXTRACTION = frozenset({"empty_phase", "incomplete_phase", "missing_lr"})


@dataclass
class OutputOptions:
    """Where and what :func:`extract_paths_to_outputs` writes, and how reports rank runs."""

    out_dir: Path
    csv_path: Path | None = None
    errors_path: Path | None = None
    with_source: bool = False
    report: bool = True
    metric: str | None = None
    lower_is_better: bool | None = None
    force_direction: bool = False
    templates_dir: str | os.PathLike[str] | None = None
    raw_csv_text: bool = False  # text cells that start like a spreadsheet formula written as they are
    html: bool = True  # report.html with the markdown reports

    @property
    def csv_target(self) -> Path:
        return self.csv_path if self.csv_path is not None else self.out_dir / DEFAULT_CSV_NAME

    def finals(self) -> list[tuple[str, bool]]:
        """Every destination with whether it is a folder, for :func:`check_outputs`."""
        found = [(os.fspath(self.out_dir), True)] if self.report else []
        found.append((os.fspath(self.csv_target), False))
        if self.runs_target is not None:
            found.append((os.fspath(self.runs_target), False))
        if self.errors_path is not None:
            found.append((os.fspath(self.errors_path), False))
        return found

    @property
    def runs_target(self) -> Path | None:
        """Where ``runs.csv`` goes: beside the epoch CSV (in ``out_dir`` when the CSV goes to a stream); ``None``: nowhere."""
        from audiometrics.atomic import is_special
        from audiometrics.epochs.runs_table import RUNS_CSV_NAME

        if not is_special(self.csv_target):
            return self.csv_target.parent / RUNS_CSV_NAME
        return self.out_dir / RUNS_CSV_NAME if self.owns_out_dir else None

    @property
    def owns_out_dir(self) -> bool:
        """Whether the set holds the default outputs of ``out_dir`` (then it replaces the previous run's there)."""
        return self.report or self.csv_path is None

    def root(self) -> Path | None:
        """The output folder of the set: ``out_dir`` when it :attr:`owns_out_dir`, else the CSV's folder."""
        from audiometrics.atomic import is_special

        if self.owns_out_dir:
            return self.out_dir
        inside = [Path(p) for p, _ in self.finals() if not is_special(p)]
        return inside[0].parent if inside else None


def check_outputs(options: OutputOptions) -> None:
    """Check before any work what can be checked of the destinations and the metric options.

    Raises :class:`~audiometrics.atomic.OutputError` for a destination that
    cannot be written and :class:`~audiometrics.options.DirectionError` for a
    named metric whose known direction ``lower_is_better`` reverses without
    ``force_direction``.
    """
    from audiometrics.atomic import check_destination
    from audiometrics.options import check_direction

    for path, directory in options.finals():
        check_destination(path, directory=directory)
    if options.metric is not None:
        check_direction(options.metric.strip(), options.lower_is_better, force=options.force_direction)


def _main_metric(options: OutputOptions, available: list[str], run_rows: list[Any] | None = None) -> tuple[str | None, list[str]]:
    """The main metric (resolved against the columns with values) and warnings; raises MetricError.

    By default, as the reports choose it: the metric the most runs recorded (``run_rows``), losses
    only when nothing else is, ties by :func:`~audiometrics.options.default_metric`.
    """
    from audiometrics.options import check_direction, default_metric, resolve_metric

    if options.metric is not None and available:
        name = resolve_metric(options.metric, available)
    elif options.metric is not None:
        return None, [f"no metric values were extracted: main metric {options.metric!r} not used"]
    else:
        name = default_metric(_most_recorded(available, run_rows or []))
    warning = check_direction(name, options.lower_is_better, force=options.force_direction) if name else None
    return name, [warning] if warning else []


def _most_recorded(available: list[str], run_rows: list[Any]) -> list[str]:
    """The ``available`` metrics recorded by the most runs (losses only when no other metric has a value)."""
    counts = {name: 0 for name in available}
    for row in run_rows:
        for name in row.metrics:
            if name in counts:
                counts[name] += 1
    pool = [n for n in available if "loss" not in n.lower()] or list(available)
    most = max((counts[n] for n in pool), default=0)
    return [n for n in pool if counts[n] == most] if most else pool


def _legacy_outputs() -> list[str]:
    from audiometrics.report.render import OVERVIEW_NAME, PLOT_FILES, PLOTS_DIR, SUMMARY_NAME

    return [DEFAULT_CSV_NAME, SUMMARY_NAME, OVERVIEW_NAME, *(f"{PLOTS_DIR}/{name}" for name in PLOT_FILES)]


def _stage_reports(
    outputs: Any,
    outcome: Extraction,
    options: OutputOptions,
    metric: str | None,
    run_rows: list[Any] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[list[Path], list[str]]:
    from audiometrics.atomic import describe
    from audiometrics.epochs.frame import phase_frame
    from audiometrics.epochs.loader import loader_warnings
    from audiometrics.report.render import stage_reports

    csv_name = "standard output" if describe(options.csv_target) == "standard output" else options.csv_target.name
    frame, loader_lines = loader_warnings(outcome.frame)
    result = stage_reports(
        outputs,
        frame,
        options.out_dir,
        phases=phase_frame(outcome.runs, root=outcome.root),
        metric=metric if options.metric is not None else None,  # the default is the report's own choice
        lower_is_better=options.lower_is_better,
        templates_dir=options.templates_dir,
        csv_name=csv_name,
        html=options.html,
        run_rows=run_rows,
        on_stage=on_stage,
    )
    # Phase problems were already reported by the extraction, per file and cell.
    kinds = [w.kind for w in result.summary.warnings] if result.summary else [None] * len(result.warnings)
    return result.paths, loader_lines + [line for line, kind in zip(result.warnings, kinds) if kind not in _SAID_BY_EXTRACTION]


def _write_set(
    options: OutputOptions,
    outcome: Extraction,
    write_csv_to: Callable[[Path], None],
    metric: str | None,
    on_wait: Callable[[str], None] | None,
    run_rows: list[Any] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[list[Path], list[str]]:
    """Write the CSV, the reports and the errors CSV as one set (see :class:`~audiometrics.atomic.OutputSet`)."""
    from audiometrics.atomic import OutputSet
    from audiometrics.failures import render_errors_csv

    written = [options.csv_target]
    warnings_: list[str] = []
    root = options.root()
    owned = options.owns_out_dir  # else only where --csv goes: no manifest, nothing removed
    with OutputSet(root, legacy=_legacy_outputs() if owned else (), manifest=owned, on_wait=on_wait) as outputs:
        write_csv_to(outputs.path(options.csv_target))
        if run_rows is not None and options.runs_target is not None:
            from audiometrics.epochs.runs_table import render_runs_csv

            text = render_runs_csv(run_rows, raw_text=options.raw_csv_text)
            outputs.path(options.runs_target).write_bytes(text.encode("utf-8", "replace"))
            written.append(options.runs_target)
        if options.report:
            paths, warnings_ = _stage_reports(outputs, outcome, options, metric, run_rows, on_stage)
            written.extend(paths)
        if options.errors_path is not None:
            outputs.path(options.errors_path).write_text(render_errors_csv(outcome.failures), encoding="utf-8")
        outputs.commit()
    return written, warnings_


def extract_paths_to_outputs(
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    csv_path: str | os.PathLike[str] | None = None,
    errors_path: str | os.PathLike[str] | None = None,
    with_source: bool = False,
    report: bool = True,
    metric: str | None = None,
    lower_is_better: bool | None = None,
    force_direction: bool = False,
    templates_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = 1,
    executor: Any = None,
    strict: bool = False,
    on_result: Callable[[NotebookResult | NotebookError], Any] | None = None,
    on_wait: Callable[[str], None] | None = None,
    raw_csv_text: bool = False,
    file_timeout: float | None = None,
    cache: "bool | str | os.PathLike[str]" = True,
    html: bool = True,
    on_extracted: Callable[[Extraction], Any] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[Extraction, list[Path], list[str]]:
    """Extract ``inputs`` and write the CSV (with ``report``, the summaries and plots; with ``errors_path``, the failures).

    The outputs are written as one set (:class:`~audiometrics.atomic.OutputSet`):
    all of them or none, replacing the previous run's set in ``out_dir``. When no
    input could be read (every one failed) nothing is written and the list of
    paths is empty. ``metric`` is matched to the extracted columns ignoring case;
    a ``lower_is_better`` that reverses the metric's known direction needs
    ``force_direction`` (then it is warned). ``on_wait`` is called when another
    run holds ``out_dir``'s lock (this one waits). ``jobs``, ``executor``,
    ``strict``, ``on_result``, ``file_timeout`` and ``cache``: see :func:`extract_files`. ``raw_csv_text``:
    write text cells that start like a spreadsheet formula as they are. ``html``:
    with ``report``, also ``report.html`` (:mod:`audiometrics.report.html`).
    ``on_extracted`` is called with the extraction once every file is read and
    before any output is written (the command prints its run lines then);
    ``on_stage`` hears what the writing is doing (a progress display).

    Raises :class:`~audiometrics.atomic.OutputError` (a destination that cannot
    be written; the previous outputs are left as they were) and
    :class:`~audiometrics.options.MetricError` (a metric the data does not
    have, or a reversal without ``force_direction``; nothing written). Returns
    the extraction (``.metric``: the main metric used), the paths written and
    the warnings of the reports.
    """
    from audiometrics.epochs.rows import notebook_root
    from audiometrics.epochs.runs_table import RunsTableBuilder
    from audiometrics.sinks import forward
    from audiometrics.sinks.csv import CsvSink

    options = OutputOptions(
        Path(out_dir),
        Path(csv_path) if csv_path is not None else None,
        Path(errors_path) if errors_path is not None else None,
        with_source, report, metric, lower_is_better, force_direction, templates_dir, raw_csv_text, html,
    )
    check_outputs(options)
    paths = collect_notebooks(os.fspath(p) for p in inputs)
    run = {"jobs": jobs, "executor": executor, "strict": strict, "file_timeout": file_timeout, "cache": cache}
    table = RunsTableBuilder(notebook_root(paths))
    with CsvSink(root=notebook_root(paths), with_source=with_source, raw_text=raw_csv_text) as sink:
        if report:  # the reports need every run: kept in memory
            outcome = extract_files(paths, on_result=forward([table], on_result), **run)
            available = available_metrics_of(outcome, with_source)
            write = lambda target: write_outputs(outcome, target.parent, csv_path=target, with_source=with_source, raw_text=raw_csv_text)  # noqa: E731
        else:  # CSV only: rows stream through the sink, memory stays flat in the number of notebooks
            outcome = extract_files(paths, on_result=forward([sink, table], on_result), keep_runs=False, **run)
            available, write = sink.metrics, sink.write
        if paths and not outcome.results:
            return outcome, [], []
        rows = table.rows()
        outcome.metric, notes = _main_metric(options, available, rows)
        if on_extracted is not None:
            on_extracted(outcome)
        written, report_warnings = _write_set(options, outcome, write, outcome.metric, on_wait, rows, on_stage)
    return outcome, written, notes + report_warnings


def available_metrics_of(outcome: Extraction, with_source: bool = False) -> list[str]:
    """Metric columns with values in ``outcome``'s rows (see :func:`audiometrics.options.available_metrics`)."""
    from audiometrics.options import available_metrics

    return available_metrics(outcome.rows(with_source=with_source))
