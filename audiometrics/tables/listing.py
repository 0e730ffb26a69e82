"""``list``: fastai v2's epoch lines under ``learn.no_bar()``.

``[0, 0.54, ..., '00:05']`` or fastcore's older ``(#5) [0,0.54,...,'00:05']``;
no header, so the tables have ``columns=None``.  A line must start with an
integer epoch and end with the quoted time fastai's ``Recorder`` appends, which
keeps user-printed lists such as ``[1, 2, 3]`` out.  A flat list is split by one
regex match; every pattern is linear in the line.
"""

from __future__ import annotations

import re

from audiometrics.model import ProgressTable
from audiometrics.tables.rows import TIME

__all__ = ["FORMAT", "Listing"]

_DIGITS = re.compile(r"^\d+$")
_LIST_LINE = re.compile(r"^(?:\(#\d+\)\s*)?\[(.*)\]$", re.S)
_LIST_EDGES = re.compile(r"""^\s*\d{1,9}\s*,(?:.*,)?\s*(['"])(?:\d+:)?\d\d:\d\d\1\s*$""", re.S)
# One item of a flat list.  Blanks and value characters are disjoint classes and trailing
# blanks only follow a value, so a failing match backtracks over each blank run a bounded
# number of times: linear, whatever the line.
_FLAT_ITEM = (
    r"""[ \t]*(?:(?:'[^'\\,\n]*'|"[^"\\,\n]*"|[^,'"()\[\]{}\\ \t\n]+(?:[ \t]+[^,'"()\[\]{}\\ \t\n]+)*)[ \t]*)?"""
)
_FLAT_LIST = re.compile(_FLAT_ITEM + r"(?:," + _FLAT_ITEM + r")*")
_LIST_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[()\[\]{}]|,|[^,'"()\[\]{}]+|['"]""", re.S)


def _split_list(body: str) -> list[str] | None:
    """Split a printed list's body at top-level commas; quotes and brackets respected.

    A flat list (what fastai prints) is checked by one regex match and split
    with ``str.split``; anything else is walked token by token, never character
    by character.
    """
    if _FLAT_LIST.fullmatch(body):
        items = body.split(",")
    else:
        items, depth, start = [], 0, 0
        for token in _LIST_TOKEN.finditer(body):
            text = token.group()
            if text in ("'", '"'):
                return None  # an unterminated quote
            if text in "([{":
                depth += 1
            elif text in ")]}":
                depth -= 1
            elif text == "," and depth == 0:
                items.append(body[start : token.start()])
                start = token.end()
        if depth:
            return None
        items.append(body[start:])
    out = []
    for item in items:
        item = item.strip()
        if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
            item = item[1:-1]
        out.append(item)
    return out


def _list_row(line: str) -> tuple[str, ...] | None:
    """An epoch line printed under ``no_bar``, values as printed; None otherwise.

    It must start with an integer epoch and end with the quoted ``format_time``
    string fastai's ``Recorder`` appends (``'00:05'``), which keeps user-printed
    lists such as ``[1, 2, 3]`` out.
    """
    s = line.strip()
    if not s or s[-1] != "]" or (s[0] != "[" and not s.startswith("(#")):
        return None
    m = _LIST_LINE.match(s)
    if m is None:
        return None
    body = m.group(1).rstrip()
    if not _LIST_EDGES.match(body):
        return None
    values = _split_list(body)
    if values is None or len(values) < 2 or len(values[0]) > 9 or not _DIGITS.match(values[0]):
        return None
    if not TIME.match(values[-1]):
        return None
    return tuple(values)




class Listing:
    """``no_bar`` lists: consecutive epoch lines form one table; an epoch that does not grow starts another."""

    name = "list"
    framework = "fastai"
    markers = ("[",)

    def wants(self, head: str) -> bool:
        return head == "[" or head == "("

    def __init__(self) -> None:
        self._memo: tuple[str | None, tuple[str, ...] | None] = (None, None)

    def _row(self, line: str) -> tuple[str, ...] | None:
        """:func:`_list_row` of ``line``, remembered for one line: a rejected ``add`` is followed by ``start``."""
        memo = self._memo  # one tuple read: safe when threads share the format
        if memo[0] is line:
            return memo[1]
        row = _list_row(line) if line[:1] in ("[", "(") else None
        self._memo = (line, row)
        return row

    def start(self, line: str) -> dict | None:
        row = self._row(line)
        if row is None:
            return None
        return {"rows": [row], "last": int(row[0])}

    def add(self, state: dict, line: str) -> bool:
        row = self._row(line)
        if row is None:
            return False
        epoch = int(row[0])
        if epoch <= state["last"]:
            return False
        state["rows"].append(row)
        state["last"] = epoch
        return True

    def close(self, state: dict, index: int) -> ProgressTable:
        return ProgressTable(None, tuple(state["rows"]), self.name, index)


FORMAT = Listing()
