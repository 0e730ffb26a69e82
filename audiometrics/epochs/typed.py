"""The epoch table's text typed column by column in plain Python, then made a DataFrame once.

:func:`typed_frame_from_columns` is the loader's typing (see
:func:`audiometrics.epochs.loader.typed_frame` for the rules) without a pandas
operation per column: each column is converted as a list, distinct values once,
and the frame is built in one constructor call, so extracting one notebook
through the public ``extract()`` does not pay a fixed pandas cost per column.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from audiometrics.epochs.labels import label_runs
from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS, ROW_COLUMNS, SCHEMA, TYPED_SOURCE_COLUMNS
from audiometrics.epochs.values import MISSING_TEXT, lr_upper, parse_number, time_to_seconds, whole_number
from audiometrics.errors import LoaderWarning

__all__ = ["typed_frame_from_columns"]

_FLAGS = {"yes": True, "no": False, "true": True, "false": False}
_YES_NO = {"yes": True, "no": False}


def _text(value: Any) -> str:
    """A cell as text: missing (``None``, NaN, ``pd.NA``) is ``""``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return ""
    return value if isinstance(value, str) else str(value)


def _each(values: Sequence[Any], function: Callable[[Any], Any]) -> list[Any]:
    """``function`` of every value, computed once per distinct value."""
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        try:
            result = done[value]
        except KeyError:
            result = done[value] = function(value)
        except TypeError:  # unhashable: computed as it comes
            result = function(value)
        out.append(result)
    return out


class _Problems:
    """Refused values per column, said as one :class:`LoaderWarning` each (as the loader words them)."""

    def __init__(self, where: str, notebooks: Sequence[str] | None) -> None:
        self.where, self.notebooks, self.found = where, notebooks, []

    def _row(self, position: int) -> str:
        if self.notebooks is None or not self.notebooks[position]:
            return f"row {position + 1}"
        return f"row {position + 1} ({self.notebooks[position]})"

    def add(self, column: str, text: Sequence[Any], refused: Sequence[bool], what: str) -> None:
        positions = [k for k, bad in enumerate(refused) if bad]
        if not positions:
            return
        examples = ", ".join(f"{self._row(p)}: {str(text[p])[:40]!r}" for p in positions[:3])
        more = f" and {len(positions) - 3} more" if len(positions) > 3 else ""
        self.found.append(f"column {column!r}: {len(positions)} value(s) {what}, read as missing ({examples}{more})")

    def warn(self) -> None:
        prefix = f"{self.where}: " if self.where else ""
        for message in self.found:
            warnings.warn(f"{prefix}{message}", LoaderWarning, stacklevel=4)


def _counts(raw: Sequence[Any], column: str, problems: _Problems) -> list[int | None]:
    parsed = _each(raw, whole_number)
    problems.add(column, raw, [v is False for v in parsed], "that are not whole numbers ≥ 0 (or too large)")
    return [None if v is None or v is False else v for v in parsed]


def _floats(raw: Sequence[Any], column: str, problems: _Problems) -> list[float]:
    text = [_text(v).strip() for v in raw]
    values = _each(text, parse_number)
    refused = [v is None and t.lower() not in MISSING_TEXT for v, t in zip(values, text)]
    problems.add(column, text, refused, "that are not finite numbers")
    return [math.nan if v is None else v for v in values]


def _flags(raw: Sequence[Any], spellings: dict[str, bool]) -> list[bool | None]:
    return [spellings.get(_text(v).strip().lower()) for v in raw]


def _run_labels(columns: dict[str, list[Any]], rows: int) -> list[str]:
    """The loader's run labels (:func:`audiometrics.epochs.labels.run_labels`), on lists."""
    if not rows:
        return []
    if "run_ordinal" in columns:
        keys = list(zip(*(_key_text(columns[c]) for c in ("notebook", "run_ordinal") if c in columns)))
        starts = [k == 0 or keys[k] != keys[k - 1] for k in range(rows)]
    else:
        keys = list(zip(*(_key_text(columns[c]) for c in ("notebook", "model", "pretrained") if c in columns)))
        phase = columns["training_phase"]
        starts = [
            k == 0 or keys[k] != keys[k - 1] or (phase[k] is not None and phase[k - 1] is not None and phase[k] < phase[k - 1])
            for k in range(rows)
        ]
    heads = [k for k in range(rows) if starts[k]]
    notebooks = columns["notebook"] if "notebook" in columns else [None] * rows
    labels = label_runs((notebooks[k], columns["model"][k], columns["pretrained"][k]) for k in heads)
    out, current = [], -1
    for k in range(rows):
        current += starts[k]
        out.append(labels[current])
    return out


def _key_text(values: Sequence[Any]) -> list[str]:
    """A key column as the loader compares it: text, missing as ``""``, flags as ``True``/``False``."""
    return ["" if v is None else (str(v) if isinstance(v, (bool, int)) else _text(v)) for v in values]


def _type_columns(
    data: dict[str, list[Any]], rows: int, problems: _Problems
) -> tuple[dict[str, list[Any]], list[str], list[str], list[str]]:
    typed: dict[str, list[Any]] = {}
    for column, values in data.items():
        typed[column] = values
    for column in SCHEMA:
        typed.setdefault(column, [""] * rows)
    for column in ("epoch", "training_phase"):
        typed[column] = _counts(typed[column], column, problems)
    typed["pretrained"] = _flags(typed["pretrained"], _FLAGS)
    for column in ("learning_rate", "model", "time"):
        typed[column] = [_text(v) for v in typed[column]]
    source = []
    if "run" in typed:
        typed["run_ordinal"] = _counts(typed.pop("run"), "run", problems)
    for column in TYPED_SOURCE_COLUMNS:
        if column not in typed:
            continue
        source.append(column)
        if column == "planned_epochs":
            typed[column] = _counts(typed[column], column, problems)
        elif column == "interrupted":
            typed[column] = _flags(typed[column], _YES_NO)
        elif column != "run_ordinal":
            typed[column] = [_text(v) for v in typed[column]]
    extra = [c for c in ROW_COLUMNS if c in typed]  # step (Int64), epoch_float
    for column in extra:
        convert = _counts if column == "step" else _floats
        typed[column] = convert(typed[column], column, problems)
    metrics = [c for c in typed if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]
    for column in metrics:
        typed[column] = _floats(typed[column], column, problems)
    return typed, metrics, source, extra


def typed_frame_from_columns(data: dict[str, list[Any]], rows: int, *, where: str = ""):  # -> pd.DataFrame
    """The typed epoch frame of CSV text given as columns (``column -> list of text``, ``rows`` long).

    The same frame, dtypes and warnings as :func:`audiometrics.epochs.loader.typed_frame`
    (a test holds the two equal).
    """
    import numpy as np
    import pandas as pd

    notebooks = [_text(v) for v in data["notebook"]] if "notebook" in data else None
    problems = _Problems(where, notebooks)
    typed, metrics, source, extra = _type_columns(dict(data), rows, problems)
    times = typed["time"]
    time_s = _each(times, time_to_seconds)
    problems.add("time", times, [math.isnan(s) and t.strip().lower() not in MISSING_TEXT for s, t in zip(time_s, times)], "that are not epoch times")
    run = _run_labels(typed, rows)
    global_epoch, seen = [], {}
    for label in run:
        seen[label] = seen.get(label, -1) + 1
        global_epoch.append(seen[label])
    lr_max = _each(typed["learning_rate"], lambda t: (lr_upper(t) if t else None))
    problems.warn()
    ordered = [*SCHEMA, *extra, *sorted(c for c in metrics if c not in SCHEMA), *source]
    kinds = {"epoch": "Int64", "training_phase": "Int64", "run_ordinal": "Int64", "planned_epochs": "Int64", "step": "Int64",
             "pretrained": "boolean", "interrupted": "boolean", "epoch_float": "float64"}
    frame = {}
    for column in ordered:
        kind = kinds.get(column, "float64" if column in metrics else "string")  # framework, notebook, ...
        frame[column] = np.array(typed[column], dtype="float64") if kind == "float64" else pd.array(typed[column], dtype=kind)
    frame["time_s"] = np.array(time_s, dtype="float64")
    frame["global_epoch"] = np.array(global_epoch, dtype="int64")
    frame["run"] = pd.array(run, dtype="string")
    frame["lr_max"] = np.array([math.nan if v is None else v for v in lr_max], dtype="float64")
    return pd.DataFrame(frame, index=pd.RangeIndex(rows))
