"""``console``: fastprogress's ``ConsoleMasterBar`` tables printed on a stream.

A header line (``epoch     train_loss  valid_loss  time``) then one row per
epoch, among ``Epoch 1/5 :`` bars, ``\\r`` and ``\\b`` redraws.  Also the report
fastprogress <= 0.1.15 printed for fastai 1.0.x: rows ending in ``(00:57)`` and
no ``time`` column (the bracketed time becomes one).  Rows are segmented with a
memoised search whose work is bounded by the line's length.
"""

from __future__ import annotations

import re
from typing import Sequence

from audiometrics.model import ProgressTable
from audiometrics.tables.rows import TIME, place_rows

__all__ = ["FORMAT", "Console"]

_CONSOLE_HEADER = re.compile(r"^epoch {2,}\S")
_TYPICAL = re.compile(r"^(?:-?\d+(?:\.\d{6})?|-?\d+\.\d+e[-+]\d+|#na#|nan|-?inf|None|)$")
_DIGITS = re.compile(r"^\d+$")
_BRACKET_TIME = re.compile(r"^\(((?:\d+:)?\d\d:\d\d)\)$")
_MAX_GLUED = 64  # longest run of glued values tried (two or three values; a row is a few dozen characters)
_V1_NAMES = {"train loss": "train_loss", "valid loss": "valid_loss"}  # fastai 1.0.0 - 1.0.13


def _console_header(line: str) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """Column names and padded widths of a ``ConsoleMasterBar`` header line."""
    if not _CONSOLE_HEADER.match(line):
        return None
    names = tuple(re.split(r"\s{2,}", line.strip()))
    if len(names) < 2:
        return None
    return names, tuple(max(8, len(n)) for n in names)


def _segment_row(line: str, widths: Sequence[int]) -> list[str] | None:
    """Invert fastprogress's ``t + ' ' * (2 + len(name) - len(t))`` row layout.

    Every value but the last takes ``max(len(t), width + 2)`` characters, so a
    value as wide as its column runs into the next one.  The segmentations
    consistent with the layout (values hold no spaces) are searched, each
    (column, position) once, and the one whose values look most like fastai's
    (``%.6f``, ``#na#``, ``MM:SS``) wins; ties go to the earliest split.  The
    search stops after ``16 + len(line) // 2`` steps, so no line costs more than
    its length (a real row needs a few dozen).
    """
    line = line.rstrip()
    n, size = len(widths), len(line)
    budget = [16 + size // 2]
    memo: dict[tuple[int, int], tuple[int, tuple[str, ...]] | None] = {}

    def best(col: int, pos: int) -> tuple[int, tuple[str, ...]] | None:
        key = (col, pos)
        if key in memo:
            return memo[key]
        budget[0] -= 1
        if budget[0] < 0:
            return None
        found: tuple[int, tuple[str, ...]] | None = None
        if col == n - 1:
            last = line[pos:].strip() if pos <= size else ""
            if " " not in last:
                found = ((1 if _TYPICAL.match(last) else 0) + (2 if TIME.match(last) else 0), (last,))
        else:
            span = widths[col] + 2
            end = line.find(" ", pos) if pos < size else pos
            end = size if end < 0 else end
            if end - pos < span:
                if not line[end : pos + span].strip():
                    found = _prepend(line[pos:end], best(col + 1, pos + span))
            elif end - pos <= _MAX_GLUED:
                for length in range(span, end - pos + 1):
                    candidate = _prepend(line[pos : pos + length], best(col + 1, pos + length))
                    if candidate is not None and (found is None or candidate[0] > found[0]):
                        found = candidate
        memo[key] = found
        return found

    result = best(0, 0)
    return list(result[1]) if result is not None else None


def _prepend(value: str, rest: tuple[int, tuple[str, ...]] | None) -> tuple[int, tuple[str, ...]] | None:
    if rest is None:
        return None
    return rest[0] + (1 if _TYPICAL.match(value) else 0), (value, *rest[1])


def _laid_out(line: str, tokens: list[str], widths: Sequence[int]) -> bool:
    """Whether ``tokens`` are the row's values exactly as laid out (none glued, none empty).

    Then no other segmentation exists (a value narrower than its column leaves
    the next column starting at the next token), so the search is skipped.
    """
    if len(tokens) != len(widths):
        return False
    pads = []
    for token, width in zip(tokens, widths):
        if len(token) >= width + 2:
            return False
        pads.append(token + " " * (width + 2 - len(token)))
    pads[-1] = tokens[-1]
    return "".join(pads) == line.rstrip()


def _console_row(line: str, widths: Sequence[int]) -> tuple[tuple[str, ...], bool] | None:
    """One console row's values and whether it is an early fastai v1 row ending in ``(MM:SS)``."""
    if not line or not line[0].isdigit():
        return None
    tokens = line.split()
    bracket = _BRACKET_TIME.match(tokens[-1]) if len(tokens) > 1 else None
    if bracket is not None:  # fastprogress <= 0.1.15 report: '  '-joined padded values, then (elapsed)
        if len(tokens) - 1 > len(widths) or not _DIGITS.match(tokens[0]):
            return None
        return (*tokens[:-1], bracket.group(1)), True
    values = tokens if _laid_out(line, tokens, widths) else _segment_row(line, widths)
    if values is None:
        if len(tokens) != len(widths):
            return None
        values = tokens
    if not _DIGITS.match(values[0]):
        return None
    return tuple(values), False


def _unpad(values: tuple[str, ...], columns: tuple[str, ...]) -> tuple[str, ...]:
    """A console row cut after its time when fastai wrote fewer values than columns.

    ``ConsoleMasterBar`` zips the values with the names, so a row logged with
    training or validation cancelled ends early: its time shows under an
    earlier column and the columns after it are blank.
    """
    if columns[-1] != "time" or values[-1]:
        return values
    k = len(values) - 1
    while k > 0 and not values[k]:
        k -= 1
    return values[: k + 1] if k > 0 and TIME.match(values[k]) else values




class Console:
    """Console tables: a header opens one, numbered rows fill it."""

    name = "console"
    framework = "fastai"
    markers = ("epoch",)

    def wants(self, head: str) -> bool:
        return head == "e" or head.isdigit()

    def start(self, line: str) -> dict | None:
        header = _console_header(line) if line[:1] == "e" else None
        if header is None:
            return None
        return {"columns": header[0], "widths": header[1], "rows": [], "brackets": False}

    def add(self, state: dict, line: str) -> bool:
        found = _console_row(line, state["widths"])  # None unless the line starts with a digit
        if found is None:
            return False
        row, bracket = found
        state["brackets"] = state["brackets"] or bracket
        state["rows"].append(row if bracket else _unpad(row, state["columns"]))
        return True

    def close(self, state: dict, index: int) -> ProgressTable:
        columns, left = state["columns"], None
        if state["brackets"]:  # fastai 1.0.x with fastprogress <= 0.1.15: the time is the bracketed one
            columns = tuple(_V1_NAMES.get(name, name) for name in columns)
            columns, left = (columns if "time" in columns else (*columns, "time")), "v1"
        rows, note = place_rows(state["rows"], columns, left)
        return ProgressTable(columns, rows, self.name, index, notes=(note,) if note else ())


FORMAT = Console()
