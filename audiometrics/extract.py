"""The extraction pipeline: notebook files → runs → the epoch table.

read notebook → find tables → analyse source → align into phases/runs → rows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from audiometrics.align import align_notebook
from audiometrics.errors import NotebookError
from audiometrics.frame import frame_from_rows, rows_from_runs, write_csv
from audiometrics.inputs import collect_notebooks
from audiometrics.model import Diagnostic, NotebookResult, Run
from audiometrics.notebook import read_notebook
from audiometrics.source import analyse_cells
from audiometrics.tables import find_tables

__all__ = [
    "Extraction",
    "extract",
    "extract_notebook",
    "extract_files",
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
    notebook = read_notebook(name)
    analyses = analyse_cells([cell.source for cell in notebook.cells])
    tables = [find_tables(cell.outputs) for cell in notebook.cells]
    runs, diagnostics = align_notebook(name, notebook.cells, analyses, tables)
    notes = [Diagnostic(name, note) for note in notebook.notes]
    return NotebookResult(path=name, runs=tuple(runs), diagnostics=tuple(notes + diagnostics))


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
        return rows_from_runs(self.runs, with_source=with_source)

    def frame(self) -> pd.DataFrame:
        """The typed epoch table (with a ``notebook`` column), as :func:`load_metrics` returns it."""
        return frame_from_rows(self.rows(with_source=True), with_source=True)


def extract_files(paths: Iterable[str | os.PathLike[str]]) -> Extraction:
    """Extract every notebook in ``paths``; a file that fails is recorded and the rest go on."""
    outcome = Extraction()
    for path in paths:
        try:
            outcome.results.append(extract_notebook(path))
        except NotebookError as error:
            outcome.failures.append(error)
        except RecursionError:
            outcome.failures.append(NotebookError(os.fspath(path), "nested too deeply to analyse"))
        except MemoryError:
            outcome.failures.append(NotebookError(os.fspath(path), "too large to load into memory"))
    return outcome


def extract(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    on_error: str = "warn",
) -> pd.DataFrame:
    """Extract every recorded epoch from notebooks as a typed DataFrame.

    ``paths`` may be files, directories (searched recursively for ``*.ipynb``)
    or glob patterns. ``on_error`` says what to do with a file that cannot be
    read: ``"warn"`` (a :class:`UserWarning` naming the file and the reason),
    ``"raise"`` (raise its :class:`~audiometrics.errors.NotebookError`) or
    ``"ignore"``.

    The frame has the CSV's columns with proper dtypes, a ``notebook`` column
    and the derived columns ``time_s``, ``global_epoch``, ``run`` and ``lr_max``
    (see :func:`audiometrics.load_metrics`).
    """
    if on_error not in {"warn", "raise", "ignore"}:
        raise ValueError(f"on_error must be 'warn', 'raise' or 'ignore', not {on_error!r}")
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    outcome = extract_files(collect_notebooks(os.fspath(p) for p in items))
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
    target = Path(csv_path) if csv_path is not None else Path(out_dir) / DEFAULT_CSV_NAME
    write_csv(target, outcome.rows(with_source=with_source), with_source=with_source)
    return target


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
) -> tuple[Extraction, list[Path], list[str]]:
    """Extract ``inputs`` and write the CSV (and, with ``report``, the summaries and plots) into ``out_dir``.

    Returns the extraction, the paths written and the report's data-quality warnings.
    """
    outcome = extract_files(collect_notebooks(os.fspath(p) for p in inputs))
    written = [write_outputs(outcome, out_dir, csv_path=csv_path, with_source=with_source)]
    report_warnings: list[str] = []
    if report:
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
        report_warnings.extend(result.warnings)
    return outcome, written, report_warnings
