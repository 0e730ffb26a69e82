"""The epoch table's rows: one dict of CSV text per recorded epoch of a run.

:func:`rows_from_runs` is where :class:`~audiometrics.model.Run` values become
the table; :func:`csv_columns` orders the columns the rows hold.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from audiometrics.epochs.schema import SCHEMA, SOURCE_COLUMNS, learning_rate_text
from audiometrics.model import Run, cell_label

__all__ = ["notebook_root", "notebook_name", "rows_from_runs", "csv_columns", "columns_for_keys"]


def _yes_no(flag: bool | None) -> str:
    return "" if flag is None else ("Yes" if flag else "No")


def notebook_root(paths: Iterable[str]) -> str | None:
    """The common parent folder of notebook ``paths`` (absolute), ``None`` when there are none.

    Paths are compared as :func:`audiometrics.runs.boundary.clean_text` writes them, so
    names repaired at the boundary still sit under the root.
    """
    from audiometrics.runs.boundary import clean_text

    folders = [os.path.dirname(os.path.abspath(clean_text(os.fspath(p)))) for p in paths]
    if not folders:
        return None
    try:
        return os.path.commonpath(folders)
    except ValueError:  # different drives
        return None


def notebook_name(path: str, root: str | None) -> str:
    """``path`` relative to ``root`` with ``/`` separators (``root=""``: ``path`` as it is; ``None``: its base name)."""
    if root == "":
        return path
    if root is None:
        return os.path.basename(path)
    try:
        relative = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # different drives
        return os.path.basename(path)
    return relative.replace(os.sep, "/")


def rows_from_runs(runs: Iterable[Run], *, with_source: bool = False, root: str | None = None) -> list[dict[str, str]]:
    """One dict per recorded epoch, keyed by CSV column, values as displayed.

    With ``with_source`` the rows carry the :data:`SOURCE_COLUMNS`; ``notebook`` is
    the path relative to ``root`` (see :func:`notebook_root`; ``None``: the common
    parent of these runs' notebooks; ``""``: the path as recorded).
    """
    runs = list(runs)
    if with_source and root is None:
        root = notebook_root(run.notebook for run in runs)
    rows: list[dict[str, str]] = []
    ordinals: dict[str, int] = {}
    for run in runs:
        ordinals[run.notebook] = ordinals.get(run.notebook, 0) + 1
        run_fields = {"model": run.model, "pretrained": _yes_no(run.pretrained)}
        if with_source:
            run_fields.update(
                notebook=notebook_name(run.notebook, root), run=str(run.ordinal or ordinals[run.notebook]),
                framework=run.framework,
            )
        for phase in run.phases:
            phase_fields = dict(
                run_fields,
                learning_rate=learning_rate_text(phase.learning_rate, phase.lr_is_default, phase.lr_from_learner),
                training_phase=str(phase.number),
            )
            if with_source:
                phase_fields.update(
                    cell=cell_label(phase.cell, phase.count),
                    call=phase.call_text,
                    planned_epochs="" if phase.planned_epochs is None else str(phase.planned_epochs),
                    interrupted=_yes_no(phase.interrupted),
                )
            for values in phase.rows:
                row = dict(zip(phase.columns, values))
                row.update(phase_fields)
                rows.append(row)
    return rows


def csv_columns(rows: Iterable[dict[str, str]], *, with_source: bool = False) -> list[str]:
    """The schema's columns, then other columns found (sorted), then the :data:`SOURCE_COLUMNS`."""
    return columns_for_keys({key for row in rows for key in row}, with_source=with_source)


def columns_for_keys(keys: Iterable[str], *, with_source: bool = False) -> list[str]:
    """The CSV columns for rows holding ``keys``: see :func:`csv_columns`."""
    extra = sorted(set(keys) - set(SCHEMA) - set(SOURCE_COLUMNS))
    return [*SCHEMA, *extra, *(SOURCE_COLUMNS if with_source else ())]
