"""Find progress tables in one code cell's outputs: the walk over the outputs.

:func:`find_tables` takes the ``outputs`` list of one notebook code cell (nbformat
v4 JSON) and returns every progress display in output order as a
:class:`~audiometrics.model.ProgressTable`: display outputs go to
:mod:`.display` (the HTML formats), the text of each stream to :mod:`.streams`
(the stream formats); the formats themselves are listed in :mod:`.registry`.
Nothing is ever evaluated; odd or broken input is skipped, never raised on.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Any, Iterator, Sequence

from audiometrics.model import ProgressTable
from audiometrics.tables.display import Displays
from audiometrics.tables.streams import stream_tables

__all__ = ["find_tables"]

_DISPLAY_TYPES = frozenset({"display_data", "execute_result", "update_display_data"})


def _outputs(outputs: Any) -> Iterator[tuple[int, dict]]:
    try:
        items = list(outputs)
    except Exception:
        return
    for index, out in enumerate(items):
        if isinstance(out, dict):
            yield index, out


def find_tables(outputs: Sequence[dict]) -> list[ProgressTable]:
    """All progress displays in one cell's ``outputs``, in output order.

    Blank displays (a cleared progress display, a ``<div>`` with bars only,
    fasthtml's ``<div></div>``) are reported with ``blank=True`` so alignment
    can count them as slots.  The last display before an ``error`` output, and
    any display showing a ``progress-bar-interrupted`` bar, is ``interrupted``.
    Never raises: outputs it cannot read are skipped.
    """
    displays = Displays()
    streams: dict[str, list[tuple[int, str]]] = {}
    errors: list[int] = []
    for index, out in _outputs(outputs):
        try:
            kind = out.get("output_type")
            if kind == "stream":
                text = out.get("text")
                if text and isinstance(text, (str, list, tuple)):
                    name = out.get("name")
                    streams.setdefault(name if isinstance(name, str) else "stdout", []).append((index, text))
            elif kind == "error":
                errors.append(index)
            elif kind in _DISPLAY_TYPES:
                data = out.get("data")
                if isinstance(data, dict):
                    displays.add(index, data)
        except Exception:
            continue
    found = displays.found
    for chunks in streams.values():
        try:
            found.extend(stream_tables(chunks))
        except Exception:
            continue
    found.sort(key=lambda item: (item[0], item[1]))
    tables = _without_echoes([t for _, _, t in found])
    return _mark_errors(tables, errors)


def _without_echoes(tables: list[ProgressTable]) -> list[ProgressTable]:
    """The tables less a loop's epoch bars (format ``tqdm``) whose epochs another table of the cell
    prints too (the loop's own epoch lines on stdout, the bars on stderr): one table per epoch span."""
    bars = [t for t in tables if t.format == "tqdm"]
    if not bars or len(bars) == len(tables):
        return tables
    others = [_epochs(t) for t in tables if t.format != "tqdm"]
    return [t for t in tables if t.format != "tqdm" or _epochs(t) not in others]


def _epochs(table: ProgressTable) -> tuple[str, ...]:
    at = table.columns.index("epoch") if table.columns and "epoch" in table.columns else None
    return tuple(row[at] for row in table.rows) if at is not None else ()


def _mark_errors(tables: list[ProgressTable], errors: list[int]) -> list[ProgressTable]:
    """``interrupted=True`` on the last display before each ``error`` output."""
    if not errors or not tables:
        return tables
    starts = [t.output_index for t in tables]
    for err in errors:
        k = bisect.bisect_left(starts, err) - 1
        if k >= 0 and not tables[k].interrupted:
            tables[k] = dataclasses.replace(tables[k], interrupted=True)
    return tables
