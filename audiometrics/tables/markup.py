"""HTML progress tables: locate the epoch table in a markup, read its cells and rows.

Shared by the HTML formats (:mod:`.html`, :mod:`.html_th`, :mod:`.fasthtml`).
Plain string splitting and regular expressions, no HTML parser: the markups are
machine-made.  Every pattern is linear in its input.  ``rowspan`` values are
repeated down their column and ``colspan`` rows left out; short rows are placed
by meaning (:func:`~audiometrics.tables.rows.place_rows`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import NamedTuple

from audiometrics.tables.rows import place_rows

__all__ = ["HtmlTable", "tables_in", "first_epoch_table", "table_rows", "body_rows", "rows_one_by_one", "plain_rows"]

_TAG = re.compile(r"<[^<>]*>")
_CELL = re.compile(r"<t[hd]\b[^<>]*>(.*?)</t[hd]\s*>", re.S | re.I)
_CELL_TOLERANT = re.compile(r"<t[hd]\b[^<>]*>(.*?)(?=</?t[hdr]\b|</table|\Z)", re.S | re.I)
_CELL_ATTRS = re.compile(r"<t[hd]\b([^<>]*)>(.*?)</t[hd]\s*>", re.S | re.I)
_CELL_ATTRS_TOLERANT = re.compile(r"<t[hd]\b([^<>]*)>(.*?)(?=</?t[hdr]\b|</table|\Z)", re.S | re.I)
_CLOSER = re.compile(r"</t[hd]\s*>", re.I)
_OPENER = re.compile(r"<t[hd]\b", re.I)
_SPAN = re.compile(r"""\b(col|row)span\s*=\s*(?:['"]\s*)?0*([1-9]\d{0,5})""", re.I)


class HtmlTable(NamedTuple):
    """The first epoch table of a markup, cut into the parts formats look at.

    ``attrs`` is the opening ``<table ...>`` tag, ``head`` the text before the
    first ``<tr`` (a ``<thead>``), ``first`` the first row (after its ``<tr``),
    ``body`` the text from the second ``<tr`` on and ``header`` the first row's
    cell texts (``header[0] == "epoch"``).
    """

    segment: str
    attrs: str
    head: str
    first: str
    body: str
    header: tuple[str, ...]


_new_table = tuple.__new__  # HtmlTable(*parts) without the generated __new__: one per table found


def tables_in(markup: str) -> Iterator[tuple[int, str, int, int]]:
    """Each ``<table`` of ``markup`` that has a row: ``(offset, segment, first row, body)``.

    ``segment`` runs from ``<table`` to its ``</table`` (or the end); ``first row``
    is where its first ``<tr`` starts in it, ``body`` where the second does (the
    body rows), ``len(segment)`` when there is none. Linear in ``markup``.
    """
    start = 0
    while True:
        i = markup.find("<table", start)
        if i < 0:
            return
        j = markup.find("</table", i)
        end = len(markup) if j < 0 else j
        start = end + 1
        segment = markup[i:end]
        first_row = segment.find("<tr")
        if first_row >= 0:
            body = segment.find("<tr", first_row + 3)
            yield i, segment, first_row, len(segment) if body < 0 else body
        if j < 0:
            return


def first_epoch_table(markup: str) -> HtmlTable | None:
    """The first table in ``markup`` whose first row starts with an ``epoch`` cell, or None.

    pandas DataFrames (index column ``<th></th>``, ``text-align: right`` header)
    never count.
    """
    for _, segment, first_row, body in tables_in(markup):
        first = segment[first_row + 3 : body]
        if "epoch" in first:
            header = row_cells(first)
            if header and header[0] == "epoch" and "text-align: right" not in first[: first.find(">") + 1]:
                attrs = segment[: segment.find(">") + 1]
                parts = (segment, attrs, segment[:first_row], first, segment[body:], tuple(header))
                return _new_table(HtmlTable, parts)
    return None


def cell_text(raw: str) -> str:
    """Displayed text of one table cell: inner tags dropped, entities decoded, trimmed."""
    if "<" in raw:
        raw = _TAG.sub("", raw)
    if "&" in raw:
        raw = html.unescape(raw)
    return raw.strip()


def row_cells(row: str) -> list[str]:
    """Displayed cell texts of one ``<tr`` segment (closing tags optional)."""
    return [cell_text(raw) for raw in _raw_cells(row, _CELL, _CELL_TOLERANT)]


def _raw_cells(row: str, exact: re.Pattern[str], tolerant: re.Pattern[str]) -> list:
    """``findall`` of one ``<tr`` segment's cells, in linear time.

    Cells with closing tags are matched exactly (``exact``); otherwise (closing
    tags left out) every cell ends where the next tag of the table starts
    (``tolerant``).  The exact pattern is only tried when a real closing tag
    follows every opening one, so no cell search runs to the end of the text
    more than once.
    """
    last = max(row.rfind("</td"), row.rfind("</th"))
    if last < 0 or "</T" in row[last:]:
        last = max(last, row.rfind("</TD"), row.rfind("</TH"))
    if last >= 0 and _CLOSER.match(row, last) and not _OPENER.search(row, last):
        found = exact.findall(row)
        if len(found) == row.count("<th") + row.count("<td"):
            return found
    return tolerant.findall(row)


def table_rows(table: HtmlTable, left: str | None = None) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The body rows placed under the header (short rows by meaning), and notes on them.

    ``left`` is the reason given for short rows when the format fills rows from
    the left (see :func:`~audiometrics.tables.rows.place_row`).
    """
    first, body, header = table.first, table.body, table.header
    if _has_span(first) and any(int(n) > 1 for _, n in _SPAN.findall(first)):
        rows = rows_one_by_one(body, len(header))
        if not rows:
            return (), ()
        return (), (f"the header has cells spanning several columns or rows: its {len(rows)} rows cannot be "
                    "placed under the right columns and are left out",)
    raw = plain_rows(body, len(header))
    if raw is not None:  # plain rows: bare <td> cells (no spans), exactly as many as the header
        return raw, ()
    notes: list[str] = []
    if _has_span(body):
        raw, note = _span_rows(body, len(header))
        if note:
            notes.append(note)
    else:
        raw = rows_one_by_one(body, len(header))
    rows, short = place_rows(raw, header, left)
    if short:
        notes.append(short)
    return rows, tuple(notes)


def _has_span(markup: str) -> bool:
    """A ``colspan``/``rowspan`` attribute somewhere in ``markup`` (a substring test first: fast)."""
    return "span" in markup.lower() and _SPAN.search(markup) is not None


def body_rows(body: str, width: int) -> tuple[tuple[str, ...], ...]:
    """The rows of ``body`` (the text from a table's second ``<tr`` on), as many cells as they show."""
    rows = plain_rows(body, width)
    return rows if rows is not None else rows_one_by_one(body, width)


def rows_one_by_one(body: str, width: int) -> tuple[tuple[str, ...], ...]:
    """The rows of ``body``, parsed ``<tr`` by ``<tr`` (closing tags optional), longer ones cut to ``width``."""
    rows = []
    for part in body.split("<tr")[1:]:
        cells = row_cells(part)
        if cells:
            rows.append(tuple(cells[:width]))
    return tuple(rows)


def _span_rows(body: str, width: int) -> tuple[tuple[tuple[str, ...], ...], str | None]:
    """Rows of a body with ``rowspan``/``colspan`` cells, and a note on what was done.

    A ``rowspan`` cell shows its value in the rows below it too, so it is
    repeated down its column, as a reader sees the table.  A ``colspan`` cell
    shows one value across several columns: which column it belongs to cannot
    be known, so its row is left out.
    """
    rows: list[tuple[str, ...]] = []
    pending: dict[int, list] = {}  # column -> [value, rows still covered]
    dropped = repeated = 0
    for part in body.split("<tr")[1:]:
        cells = _raw_cells(part, _CELL_ATTRS, _CELL_ATTRS_TOLERANT)
        if not cells and not pending:
            continue
        row: list[str] = []
        spans_columns = used_pending = False

        def fill() -> None:
            nonlocal used_pending
            while len(row) in pending and len(row) <= width:
                value = pending[len(row)]
                row.append(value[0])
                used_pending = True
                value[1] -= 1
                if value[1] <= 0:
                    del pending[len(row) - 1]

        for attrs, inner in cells:
            fill()
            spans = {kind.lower(): int(n) for kind, n in _SPAN.findall(attrs)}
            cols, down = min(spans.get("col", 1), width + 1), spans.get("row", 1)
            spans_columns = spans_columns or cols > 1
            text = cell_text(inner)
            for k in range(cols):
                if down > 1:
                    pending[len(row)] = [text if k == 0 else "", down - 1]
                row.append(text if k == 0 else "")
        fill()
        if spans_columns:
            dropped += 1
        elif row:
            repeated += used_pending
            rows.append(tuple(row[:width]))
    notes = []
    if repeated:
        notes.append(f"{repeated} row{'s take' if repeated != 1 else ' takes'} values from a rowspan cell above, "
                     "repeated down its column as displayed")
    if dropped:
        notes.append(f"{dropped} row{'s' if dropped != 1 else ''} with a cell spanning several columns left out "
                     "(the column its value belongs to cannot be known)")
    return tuple(rows), "; ".join(notes) or None


_PLAIN_ROW_PATTERNS: dict[int, re.Pattern[str]] = {}


def _plain_row_pattern(width: int) -> re.Pattern[str]:
    """One whole ``<tr>`` of ``width`` plain ``<td>`` cells: text without tags, entities or outer blanks."""
    pattern = _PLAIN_ROW_PATTERNS.get(width)
    if pattern is None:
        cell = r"<td>(?!\s)([^<&]*)(?<!\s)</td>\s*"
        pattern = _PLAIN_ROW_PATTERNS[width] = re.compile(r"<tr\b[^<>]*>\s*" + cell * width + r"</tr>\s*")
    return pattern


def plain_rows(body: str, width: int) -> tuple[tuple[str, ...], ...] | None:
    """All rows of ``body`` in one regex pass when every row is plain, else None.

    Plain is what fastprogress writes: rows back to back, each exactly ``width``
    bare ``<td>`` cells whose text needs no trimming, decoding or tag removal,
    and no other ``<tr``, ``<td`` or ``<th`` (in any case) after the last row.
    :func:`rows_one_by_one` gives these very rows for such a body.
    """
    if not body or width > 100:
        return None
    pieces = _plain_row_pattern(width).split(body)
    # pieces: text before the first row, then per row its cells and the text after it
    step = width + 1
    between = pieces[0::step]
    if any(between[:-1]) or "<t" in between[-1].lower():
        return None
    return tuple(zip(*(pieces[column::step] for column in range(1, step))))

