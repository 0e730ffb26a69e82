"""One side of a comparison read into run summaries: a folder (or files) of notebooks, or an epoch CSV.

* **Notebooks** (a folder, a ``.ipynb`` file or a glob): extracted as ``extract``
  does, streamed (:func:`~audiometrics.pipeline.extract_files` with
  ``keep_runs=False``: one notebook's runs in memory at a time); a run is named
  by its notebook's path relative to the common parent folder of the notebooks
  found (the rule of the CSV's ``notebook`` column) and its ordinal.
* **An epoch CSV**: read back into runs by :func:`~audiometrics.epochs.csv_runs.runs_from_frame`
  (the adapter ``report`` uses). With the source columns (``extract
  --with-source``) runs are identified exactly; without them they are guessed,
  numbered in order, and a warning says so.
* **A runs table** (``runs.csv``: one row per run, its ``best_M``,
  ``best_M_epoch`` and ``final_M`` columns): read as it is, through
  :func:`~audiometrics.epochs.runs_table.load_runs`. It holds no epochs, so a
  change between a run's best and final epochs that moves neither shows only
  when the two sides are epoch CSVs or notebooks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiometrics.compare.summary import RunSummary, summarize_run
from audiometrics.model import NotebookResult, Run
from audiometrics.sinks.series import numbered

__all__ = ["Side", "read_side", "side_from_runs"]


@dataclass
class Side:
    """What one side of a comparison holds: its run summaries in order, and what went wrong reading it."""

    source: str
    kind: str  # "notebooks", "epoch-csv", "runs-table" or "runs"
    runs: list[RunSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def read_side(source: str | os.PathLike[str], *, jobs: int | None = 1) -> Side:
    """Read ``source`` (see the module docstring). Raises :class:`~audiometrics.errors.MetricsFileError` for a CSV that
    is not an epoch table, :class:`FileNotFoundError` for a path that holds no notebook."""
    text = os.fspath(source)
    if text.lower().endswith((".csv", ".tsv")) or (Path(text).is_file() and not text.lower().endswith(".ipynb")):
        return _csv_side(text)
    return _notebook_side(text, jobs)


def _csv_side(path: str) -> Side:
    from audiometrics.epochs.csv_file import read_epoch_csv
    from audiometrics.epochs.csv_runs import has_source_columns, runs_from_frame

    if _is_runs_table(path):
        return _runs_table_side(path)
    raw = read_epoch_csv(path)
    side = Side(path, "epoch-csv")
    if not has_source_columns(raw):
        side.warnings.append(f"{path}: no source columns (notebook, run): runs were guessed from model and phase changes "
                             "and matched by their order; write the CSV with --with-source to match them exactly")
    for run in numbered(runs_from_frame(raw)):
        side.runs.append(summarize_run(run, run.notebook))
    return side


def _is_runs_table(path: str) -> bool:
    import pandas as pd

    try:
        header = pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8-sig").columns
    except (OSError, ValueError):
        return False
    return {"notebook", "run", "epochs_recorded"} <= set(header) and "epoch" not in set(header)


def _runs_table_side(path: str) -> Side:
    """Run summaries straight from a runs table's ``best_M``/``best_M_epoch``/``final_M`` columns."""
    import hashlib
    import math

    from audiometrics.compare.summary import MetricSummary
    from audiometrics.epochs.runs_table import load_runs

    table = load_runs(path)
    metrics = [c[len("best_"):-len("_epoch")] for c in table.columns if c.startswith("best_") and c.endswith("_epoch")]
    side = Side(path, "runs-table")
    for row in table.to_dict("records"):
        epochs = _int(row.get("epochs_recorded"))
        found: dict[str, MetricSummary] = {}
        for name in metrics:
            best, final, at = row.get(f"best_{name}"), row.get(f"final_{name}"), _int(row.get(f"best_{name}_epoch"))
            if isinstance(best, float) and not math.isnan(best) and isinstance(final, float) and not math.isnan(final):
                found[name] = MetricSummary(best, at, final, max(epochs - 1, 0))
        content = hashlib.sha256(repr(sorted((k, repr(v)) for k, v in row.items() if k != "label")).encode()).hexdigest()[:32]
        pretrained = row.get("pretrained")
        side.runs.append(RunSummary(
            str(row.get("notebook", "")), _int(row.get("run")), str(row.get("model", "")),
            pretrained if isinstance(pretrained, bool) else None, _int(row.get("phases")), epochs, found, content,
        ))
    return side


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _notebook_side(source: str, jobs: int | None) -> Side:
    from audiometrics.epochs.rows import notebook_name, notebook_root
    from audiometrics.pipeline import extract_files
    from audiometrics.read.inputs import collect_notebooks

    if not os.path.exists(source) and not set("*?[") & set(source):
        raise FileNotFoundError(f"{source}: no such file or folder")
    paths = collect_notebooks([source])
    if not paths:
        raise FileNotFoundError(f"{source}: no notebooks found (give a folder of notebooks, a .ipynb file or an epoch CSV)")
    side = Side(source, "notebooks")
    root = notebook_root(paths)

    def take(item: Any) -> None:
        if isinstance(item, NotebookResult):
            name = notebook_name(item.path, root)
            side.runs.extend(summarize_run(run, name) for run in numbered(item.runs))
        else:
            side.failures.append(str(item))

    extract_files(paths, jobs=jobs, on_result=take, keep_runs=False)
    return side


def side_from_runs(runs: list[Run] | tuple[Run, ...], source: str = "runs", *, root: str | None = None) -> Side:
    """A side from :class:`~audiometrics.model.Run` values (``root``: see :func:`~audiometrics.epochs.rows.notebook_name`;
    default the runs' common parent folder)."""
    from audiometrics.epochs.rows import notebook_name, notebook_root

    runs = list(numbered(runs))
    if root is None:
        root = notebook_root(run.notebook for run in runs)
    return Side(source, "runs", [summarize_run(run, notebook_name(run.notebook, root)) for run in runs])
