"""The typed loader: the epoch table's text as a pandas DataFrame with proper dtypes.

:func:`load_metrics` reads an epoch CSV (:func:`~audiometrics.epochs.csv_file.read_epoch_csv`)
and :func:`typed_frame` types it: counts as ``Int64``, metrics as ``float64``
(parsed by :func:`~audiometrics.epochs.values.parse_number`), flags as
``boolean``, text as ``string``, plus the derived columns. Values that are
nonsense for their column become missing, with one
:class:`~audiometrics.errors.LoaderWarning` per column.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from audiometrics.epochs.csv_file import by_value, csv_name, read_epoch_csv
from audiometrics.epochs.labels import run_labels
from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS, ROW_COLUMNS, SCHEMA, TYPED_SOURCE_COLUMNS
from audiometrics.epochs.values import MISSING_TEXT, lr_upper, parse_number, time_to_seconds, whole_number
from audiometrics.errors import LoaderWarning

__all__ = ["typed_frame", "load_metrics", "loader_warnings"]


class _Problems:
    """Values the loader refused, per column, reported as one :class:`LoaderWarning` each."""

    def __init__(self, where: str, notebooks: pd.Series | None = None) -> None:
        self.where = where
        self.notebooks = notebooks
        self.found: list[str] = []

    def _row(self, position: int) -> str:
        if self.notebooks is None or not str(self.notebooks.iloc[position]):
            return f"row {position + 1}"
        return f"row {position + 1} ({self.notebooks.iloc[position]})"

    def add(self, column: str, text: pd.Series, refused: pd.Series, what: str) -> None:
        if not refused.any():
            return
        positions = np.flatnonzero(refused.to_numpy())
        examples = ", ".join(f"{self._row(p)}: {str(text.iloc[p])[:40]!r}" for p in positions[:3])
        more = f" and {len(positions) - 3} more" if len(positions) > 3 else ""
        self.found.append(f"column {column!r}: {len(positions)} value(s) {what}, read as missing ({examples}{more})")

    def warn(self) -> None:
        prefix = f"{self.where}: " if self.where else ""
        for message in self.found:
            warnings.warn(f"{prefix}{message}", LoaderWarning, stacklevel=4)


def _stripped(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().fillna("")


def _to_float(series: pd.Series, column: str = "", problems: _Problems | None = None) -> pd.Series:
    """Metric values as float64 (:func:`~audiometrics.epochs.values.parse_number`); refused ones warned."""
    text = _stripped(series)
    values = pd.Series([parse_number(value) for value in text], index=series.index, dtype="float64")
    refused = values.isna() & ~text.str.lower().isin(MISSING_TEXT)
    if problems is not None:
        problems.add(column, text, refused, "that are not finite numbers")
    return values


def _to_count(series: pd.Series, column: str, problems: _Problems) -> pd.Series:
    """Whole numbers ≥ 0 (``"3"``, ``"3.0"``) as Int64; anything else (``"1.5"``, ``"-1"``, overflow) NA and warned."""
    parsed = by_value(series, whole_number)
    refused = np.fromiter((v is False for v in parsed), dtype=bool, count=len(parsed))
    problems.add(column, series.reset_index(drop=True), pd.Series(refused), "that are not whole numbers ≥ 0 (or too large)")
    values = [None if v is None or v is False else v for v in parsed]
    return pd.Series(pd.array(values, dtype="Int64"), index=series.index)




def _type_source_columns(out: pd.DataFrame, problems: _Problems) -> list[str]:
    """Type the :data:`SOURCE_COLUMNS` present; returns the typed names in order."""
    present = []
    if "run" in out.columns:
        out["run_ordinal"] = _to_count(out.pop("run"), "run", problems)
    for column in TYPED_SOURCE_COLUMNS:
        if column not in out.columns:
            continue
        present.append(column)
        if column == "planned_epochs":
            out[column] = _to_count(out[column], column, problems)
        elif column == "interrupted":
            out[column] = _stripped(out[column]).str.lower().map({"yes": True, "no": False}).astype("boolean")
        elif column != "run_ordinal":
            out[column] = out[column].astype("string").fillna("")
    return present


def typed_frame(frame: pd.DataFrame, *, where: str = "") -> pd.DataFrame:
    """Give a frame of CSV text proper dtypes and add ``time_s``, ``global_epoch``, ``run``, ``lr_max``.

    Missing values in any spelling fastai used (``#na#``, empty, ``None``,
    ``nan``, ``inf``) become NaN in metric columns. Values that are nonsense
    for their column (an epoch ``1.5`` or ``99999999999999999999999``, a time
    ``-00:05``, a metric ``abc``) become missing too, with a
    :class:`~audiometrics.errors.LoaderWarning` per column naming ``where``.
    The source columns (``--with-source``) are typed as well, the CSV's ``run``
    ordinal as ``run_ordinal``; they decide the runs when present.
    """
    # pandas keeps one block per extension-typed column (string, Int64, boolean) and warns
    # about fragmentation past 100 of them, even though the columns are built once each.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        return _typed_frame(frame, where)


def _typed_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    out = frame.copy()
    problems = _Problems(where, out["notebook"].astype(str) if "notebook" in out.columns else None)
    for column in SCHEMA:
        if column not in out.columns:
            out[column] = ""
    for column in ("epoch", "training_phase"):
        out[column] = _to_count(out[column], column, problems)
    pretrained = out["pretrained"].astype("string").str.strip().str.lower()
    out["pretrained"] = pretrained.map({"yes": True, "no": False, "true": True, "false": False}).astype("boolean")
    for column in ("learning_rate", "model", "time"):
        out[column] = out[column].astype("string").fillna("")
    source = _type_source_columns(out, problems)
    extra = [c for c in ROW_COLUMNS if c in out.columns]  # step (Int64), epoch_float
    for column in extra:
        out[column] = _to_count(out[column], column, problems) if column == "step" else _to_float(out[column], column, problems)
    metric_columns = [c for c in out.columns if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]
    for column in metric_columns:
        out[column] = _to_float(out[column], column, problems)
    out = out.copy()  # consolidated again: no fragmentation (PerformanceWarning) with many metric columns
    out["time_s"] = pd.Series(by_value(out["time"], time_to_seconds), index=out.index, dtype="float64")
    problems.add("time", out["time"], out["time_s"].isna() & ~out["time"].str.strip().str.lower().isin(MISSING_TEXT), "that are not epoch times")
    out["run"] = run_labels(out)
    out["global_epoch"] = out.groupby("run", sort=False).cumcount().astype("int64")
    lr_max = by_value(out["learning_rate"], lambda t: (lr_upper(t) if t else None))
    out["lr_max"] = pd.Series(lr_max, index=out.index).astype("float64")
    problems.warn()
    ordered = [*SCHEMA, *extra, *sorted(c for c in metric_columns if c not in SCHEMA), *source]
    return out[[*ordered, *DERIVED_COLUMNS]].reset_index(drop=True)


#: Columns every epoch CSV has.


def load_metrics(csv_path: Any, *, raw_text: bool = False) -> pd.DataFrame:
    """Load an epoch CSV written by ``audiometrics extract`` as a typed DataFrame.

    ``csv_path`` is a path or a text stream. Returns the CSV's columns with
    dtypes (``epoch``/``training_phase``: Int64, ``pretrained``: boolean,
    metrics: float64 with NaN for missing values, ``learning_rate``/``model``/
    ``time``: string; the source columns of ``--with-source``, the ``run``
    ordinal as ``run_ordinal``) plus the derived columns ``time_s``,
    ``global_epoch``, ``run`` and ``lr_max``. Text the writer neutralised for
    spreadsheets (``'=…``) is given back as it was, unless ``raw_text``.

    Raises :class:`~audiometrics.errors.MetricsFileError` (a ``ValueError``)
    naming the file and the problem; refused values are warned
    (:class:`~audiometrics.errors.LoaderWarning`, see :func:`typed_frame`).
    """
    return typed_frame(read_epoch_csv(csv_path, raw_text=raw_text), where=csv_name(csv_path))


def loader_warnings(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """``function(*args, **kwargs)`` and the :class:`~audiometrics.errors.LoaderWarning` messages it gave, as lines.

    For command lines, which print them as ``warning: …`` lines rather than as
    Python warnings; other warnings pass through.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoaderWarning)
        result = function(*args, **kwargs)
    lines = []
    for warning in caught:
        if issubclass(warning.category, LoaderWarning):
            lines.append(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return result, lines

