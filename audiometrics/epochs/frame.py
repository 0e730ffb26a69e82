"""Typed frames straight from runs: the epoch frame and the phase frame.

:func:`frame_from_runs` is the frame :func:`~audiometrics.epochs.loader.load_metrics`
would return for the CSV of the same runs; :func:`phase_frame` adds one row per
phase (planned epochs, the call, phases that recorded nothing). Both label runs
as :mod:`audiometrics.epochs.labels` does, so they join on ``run`` and
``training_phase``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from audiometrics.epochs.labels import label_runs
from audiometrics.epochs.typed import typed_frame_from_columns
from audiometrics.epochs.rows import csv_columns, notebook_name, notebook_root, rows_from_runs
from audiometrics.model import Run

__all__ = ["frame_from_rows", "frame_from_runs", "PHASE_COLUMNS", "phase_frame"]



def frame_from_rows(rows: Sequence[dict[str, str]], *, with_source: bool = False) -> pd.DataFrame:
    """The typed DataFrame for rows from :func:`rows_from_runs` (same as writing and loading the CSV)."""
    columns = csv_columns(rows, with_source=with_source)
    return typed_frame_from_columns({c: [row.get(c, "") for row in rows] for c in columns}, len(rows))


def frame_from_runs(runs: Sequence[Run], *, root: str | None = None) -> pd.DataFrame:
    """The typed epoch frame of ``runs`` with the source columns (``root``: see :func:`rows_from_runs`)."""
    return frame_from_rows(rows_from_runs(runs, with_source=True, root=root), with_source=True)


PHASE_COLUMNS: tuple[str, ...] = (
    "run",
    "notebook",
    "model",
    "pretrained",
    "training_phase",
    "method",
    "call",
    "learning_rate",
    "lr_is_default",
    "planned_epochs",
    "recorded_epochs",
    "incomplete",
    "interrupted",
    "cell",
)


def phase_frame(runs: Sequence[Run], *, root: str | None = None) -> pd.DataFrame:
    """One row per phase of every run, including phases that recorded no epoch.

    ``run`` uses the same labels :func:`typed_frame` derives from the epoch rows,
    so the two frames join on ``run`` and ``training_phase``; ``notebook`` is
    named as :func:`rows_from_runs` names it for the same ``root``.
    """
    if root is None:
        root = notebook_root(run.notebook for run in runs)
    names = [notebook_name(run.notebook, root) for run in runs]
    # Every run starts a new run even when it repeats the previous one's keys.
    unique = label_runs((name, run.model, run.pretrained) for name, run in zip(names, runs))
    records = [
        {
            "run": label,
            "notebook": name,
            "model": run.model,
            "pretrained": run.pretrained,
            "training_phase": phase.number,
            "method": phase.method,
            "call": phase.call_text,
            "learning_rate": phase.learning_rate,
            "lr_is_default": phase.lr_is_default,
            "planned_epochs": phase.planned_epochs,
            "recorded_epochs": phase.recorded_epochs,
            "incomplete": phase.incomplete,
            "interrupted": phase.interrupted,
            "cell": phase.cell if phase.cell >= 0 else None,
        }
        for label, name, run in zip(unique, names, runs)
        for phase in run.phases
    ]
    frame = pd.DataFrame.from_records(records, columns=list(PHASE_COLUMNS))
    return frame.astype(
        {
            "run": "string",
            "notebook": "string",
            "model": "string",
            "pretrained": "boolean",
            "training_phase": "Int64",
            "method": "string",
            "call": "string",
            "learning_rate": "string",
            "lr_is_default": "bool",
            "planned_epochs": "Int64",
            "recorded_epochs": "int64",
            "incomplete": "bool",
            "interrupted": "bool",
            "cell": "Int64",
        }
    )