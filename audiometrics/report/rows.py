"""A run's epoch rows as plain Python lists by column: the summaries read them without pandas per run.

:func:`split_runs` converts the typed epoch frame once (every missing value
``None``) and cuts it into one :class:`Rows` per run label, so the per-run and
per-phase work of :mod:`~audiometrics.report.runs`, :mod:`~audiometrics.report.quality`
and :mod:`~audiometrics.report.curves` costs plain list operations: the report is
linear in the epoch rows with a small constant, however many runs there are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = ["Rows", "split_runs"]


def _plain(values: list[Any]) -> list[Any]:
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v for v in values]


class Rows:
    """Epoch rows as ``{column: list}``; missing values are ``None``.

    Examples
    --------
    >>> rows = Rows({"epoch": [0, 1, 2], "lwlrap": [0.1, None, 0.3]})
    >>> len(rows), rows.values("lwlrap"), rows.take([2]).col("epoch")
    (3, [0.1, 0.3], [2])
    """

    __slots__ = ("data", "size")

    def __init__(self, data: dict[str, list[Any]]) -> None:
        self.data = data
        self.size = len(next(iter(data.values()))) if data else 0

    def __len__(self) -> int:
        return self.size

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def has(self, column: str) -> bool:
        return column in self.data

    def col(self, column: str) -> list[Any]:
        """The column's values (``None`` for missing); all ``None`` for a column the rows lack."""
        found = self.data.get(column)
        return found if found is not None else [None] * self.size

    def values(self, column: str) -> list[Any]:
        """The column's values that are not missing."""
        return [v for v in self.col(column) if v is not None]

    def present(self, column: str) -> list[int]:
        """Positions where ``column`` has a value."""
        return [i for i, v in enumerate(self.col(column)) if v is not None]

    def take(self, positions: Iterable[int]) -> Rows:
        chosen = list(positions)
        return Rows({c: [v[i] for i in chosen] for c, v in self.data.items()})

    def record(self, position: int) -> dict[str, Any]:
        return {c: v[position] for c, v in self.data.items()}

    def by(self, column: str) -> dict[Any, Rows]:
        """The rows split by the values of ``column``, in order of first appearance."""
        positions: dict[Any, list[int]] = {}
        for i, value in enumerate(self.col(column)):
            positions.setdefault(value, []).append(i)
        return {value: self.take(found) for value, found in positions.items()}

    def empty(self) -> Rows:
        return Rows({c: [] for c in self.data})


def split_runs(frame: pd.DataFrame) -> dict[str, Rows]:
    """One :class:`Rows` per value of the frame's ``run`` column, in order of first appearance (one pass)."""
    data = {str(c): _plain(frame[c].tolist()) for c in frame.columns}
    positions: dict[str, list[int]] = {}
    for i, label in enumerate(data.get("run", [])):
        positions.setdefault(str(label), []).append(i)
    every = Rows(data)
    return {label: every.take(found) for label, found in positions.items()}
