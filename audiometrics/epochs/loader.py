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

import pandas as pd

from audiometrics.epochs.csv_file import csv_name, read_epoch_csv
from audiometrics.epochs.typed import typed_frame_from_columns
from audiometrics.errors import LoaderWarning

__all__ = ["typed_frame", "load_metrics", "loader_warnings"]


def typed_frame(frame: pd.DataFrame, *, where: str = "") -> pd.DataFrame:
    """Give a frame of CSV text proper dtypes and add ``time_s``, ``global_epoch``, ``run``, ``lr_max``.

    Missing values in any spelling fastai used (``#na#``, empty, ``None``,
    ``nan``, ``inf``) become NaN in metric columns. Values that are nonsense
    for their column (an epoch ``1.5`` or ``99999999999999999999999``, a time
    ``-00:05``, a metric ``abc``) become missing too, with a
    :class:`~audiometrics.errors.LoaderWarning` per column naming ``where``.
    The source columns (``--with-source``) are typed as well, the CSV's ``run``
    ordinal as ``run_ordinal``; they decide the runs when present. The typing
    itself is :func:`audiometrics.epochs.typed.typed_frame_from_columns`.
    """
    data = {str(column): frame[column].tolist() for column in frame.columns}
    return typed_frame_from_columns(data, len(frame), where=where)


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

