"""Find fastai/fastprogress training-progress tables in one code cell's outputs.

:func:`find_tables` takes the ``outputs`` list of one notebook code cell (nbformat
v4 JSON) and returns every progress display in output order as a
:class:`~audiometrics.model.ProgressTable`.  Formats:

``html``      legacy fastprogress 0.1.20 – 1.0.x: ``<table border="1" class="dataframe">``
              with ``<thead>``/``<td>``, bare, after ``Total time: MM:SS <p>``, or inside
              the mid-run ``<div>`` with ``<progress>`` bars.
``html-th``   fastprogress <= 0.1.19: ``<table style='width:...px; margin-bottom:10px'>``
              where every cell is a ``<th>``.
``fasthtml``  fastprogress >= 1.1: ``<table class="fastprogress">`` rendered by fasthtml;
              the same output's ``text/markdown``/``text/plain`` copies are not counted.
``console``   ``ConsoleMasterBar`` tables printed on a stream, among ``Epoch 1/5 :``
              bars, ``\\r`` and ``\\b``.
``list``      fastai v2 under ``learn.no_bar()``: ``[0, 0.54, ..., '00:05']`` or fastcore's
              older ``(#5) [0,0.54,...,'00:05']``; no header, ``columns=None``.

Speed: image and other binary mime types are never read; an HTML string is only
parsed (with regular expressions, no HTML parser) after a cheap substring test
finds ``epoch</th>``, ``class="fastprogress"`` or a ``<progress`` bar in it.
Nothing is ever evaluated; odd or broken input is skipped, never raised on.
"""

from __future__ import annotations

import bisect
import html
import re
from typing import Any, Iterator, Sequence

from audiometrics.model import ProgressTable

__all__ = ["find_tables"]

_DISPLAY_TYPES = frozenset({"display_data", "execute_result", "update_display_data"})
_HTML_PLACEHOLDER = "<IPython.core.display.HTML object>"

# --------------------------------------------------------------------------- small helpers


def _text(value: Any) -> str | None:
    """A mime-bundle or stream value as one string (lists of str are joined once)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return "".join(value)
        except TypeError:
            return "".join(part for part in value if isinstance(part, str))
    return None


_TAG = re.compile(r"<[^>]*>")


def _cell_text(raw: str) -> str:
    """Displayed text of one table cell: inner tags dropped, entities decoded, trimmed."""
    if "<" in raw:
        raw = _TAG.sub("", raw)
    if "&" in raw:
        raw = html.unescape(raw)
    return raw.strip()


def _fit(cells: Sequence[str], width: int) -> tuple[str, ...]:
    """Pad a row with "" (or drop extra cells) to ``width`` cells."""
    if len(cells) == width:
        return tuple(cells)
    if len(cells) > width:
        return tuple(cells[:width])
    return tuple(cells) + ("",) * (width - len(cells))


# --------------------------------------------------------------------------- HTML

_CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]\s*>", re.S | re.I)
_CELL_TOLERANT = re.compile(r"<t[hd]\b[^>]*>(.*?)(?=</?t[hdr]\b|</table|\Z)", re.S | re.I)
_INTERRUPTED = re.compile(r"""class\s*=\s*['"][^'"]*progress-bar-interrupted""")
_FASTHTML_BLANK = re.compile(r"^<div>\s*</div>$")


def _cells(row: str) -> list[str]:
    """Displayed cell texts of one ``<tr`` segment (closing tags optional)."""
    raw = _CELL.findall(row)
    if len(raw) != row.count("<th") + row.count("<td"):
        raw = _CELL_TOLERANT.findall(row)
    return [_cell_text(c) for c in raw]


def _parse_html_table(markup: str) -> tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]] | None:
    """The first epoch table in ``markup`` as (format, columns, rows), or None.

    A table counts when the first cell of its first row is ``epoch``; pandas
    DataFrames (index column ``<th></th>``, ``text-align: right`` header) never
    do.  Plain string splitting, no HTML parser: the markups are machine-made.
    """
    start = 0
    while True:
        i = markup.find("<table", start)
        if i < 0:
            return None
        j = markup.find("</table", i)
        end = len(markup) if j < 0 else j
        start = end + 1
        segment = markup[i:end]
        first_row = segment.find("<tr")
        if first_row >= 0:
            body = segment.find("<tr", first_row + 3)  # the second ``<tr``: where the body rows start
            if body < 0:
                body = len(segment)
            first = segment[first_row + 3 : body]
            if "epoch" in first:
                header = _cells(first)
                if header and header[0] == "epoch" and "text-align: right" not in first[: first.find(">") + 1]:
                    attrs = segment[: segment.find(">") + 1]
                    if "fastprogress" in attrs:
                        fmt = "fasthtml"
                    elif "<thead" in segment[:first_row] or "<td" in segment:
                        fmt = "html"
                    else:
                        fmt = "html-th"
                    return fmt, tuple(header), _body_rows(segment[body:], len(header))
        if j < 0:
            return None


def _body_rows(body: str, width: int) -> tuple[tuple[str, ...], ...]:
    """The rows of ``body`` (the text from a table's second ``<tr`` on), ``width`` cells each."""
    rows = _plain_rows(body, width)
    return rows if rows is not None else _rows_one_by_one(body, width)


def _rows_one_by_one(body: str, width: int) -> tuple[tuple[str, ...], ...]:
    """The rows of ``body``, parsed ``<tr`` by ``<tr`` (closing tags optional), padded to ``width``."""
    rows = []
    for part in body.split("<tr")[1:]:
        cells = _cells(part)
        if cells:
            rows.append(_fit(cells, width))
    return tuple(rows)


_PLAIN_ROW_PATTERNS: dict[int, re.Pattern[str]] = {}


def _plain_row_pattern(width: int) -> re.Pattern[str]:
    """One whole ``<tr>`` of ``width`` plain ``<td>`` cells: text without tags, entities or outer blanks."""
    pattern = _PLAIN_ROW_PATTERNS.get(width)
    if pattern is None:
        cell = r"<td>(?!\s)([^<&]*)(?<!\s)</td>\s*"
        pattern = _PLAIN_ROW_PATTERNS[width] = re.compile(r"<tr\b[^<>]*>\s*" + cell * width + r"</tr>\s*")
    return pattern


def _plain_rows(body: str, width: int) -> tuple[tuple[str, ...], ...] | None:
    """All rows of ``body`` in one regex pass when every row is plain, else None.

    Plain is what fastprogress writes: rows back to back, each exactly ``width``
    bare ``<td>`` cells whose text needs no trimming, decoding or tag removal,
    and no other ``<tr``, ``<td`` or ``<th`` (in any case) after the last row.
    :func:`_rows_one_by_one` gives these very rows for such a body.
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


def _is_progress_style(markup: str) -> bool:
    """The separate ``<style>`` output fastprogress shows before its bars."""
    return "<style>" in markup and "progress" in markup and "<progress" not in markup and "<table" not in markup


def _html_display(markup: str) -> tuple[str, ProgressTable | None, bool]:
    """Classify one HTML string: (kind, table-or-None, sets progress context).

    ``kind`` is "table", "blank" (an empty string, or bars without a table),
    "blank-fasthtml" (``<div></div>``), "style" (fastprogress's CSS) or
    "other".  Tables carry a dummy ``output_index`` that the caller replaces.
    """
    if not markup or markup.isspace():
        return "blank", None, False
    if "epoch</th>" in markup or "epoch</TH>" in markup:
        found = _parse_html_table(markup)
        if found is not None:
            fmt, columns, rows = found
            interrupted = "progress-bar-interrupted" in markup and bool(_INTERRUPTED.search(markup))
            return "table", ProgressTable(columns, rows, fmt, -1, interrupted=interrupted), True
        if 'class="fastprogress"' in markup:
            return "other", None, False
    if len(markup) < 64 and _FASTHTML_BLANK.match(markup.strip()):
        return "blank-fasthtml", None, True
    if "<progress" in markup:
        fasthtml = '<progress max="' in markup
        legacy = "<progress value=" in markup and "class='" in markup
        if fasthtml or legacy:
            interrupted = bool(_INTERRUPTED.search(markup))
            fmt = "fasthtml" if fasthtml else "html"
            return "blank", ProgressTable(None, (), fmt, -1, interrupted=interrupted, blank=True), True
        return "other", None, False
    if _is_progress_style(markup):
        return "style", None, True
    return "other", None, False


_FENCE = re.compile(r"^```html\s*\n(.*?)\n?```\s*$", re.S)


def _display_markup(data: dict) -> tuple[str | None, str | None]:
    """(markup, text/plain) of a display's bundle; only text/* values are ever read."""
    markup = _text(data.get("text/html"))
    plain = data.get("text/plain")
    plain_text = _text(plain) if plain is not None else None
    if markup is not None:
        return markup, plain_text
    # No text/html: fastprogress >= 1.1 also puts the table in text/markdown and text/plain.
    md = _text(data.get("text/markdown"))
    if md is not None and ('class="fastprogress"' in md or "<div>" in md):
        fenced = _FENCE.match(md.strip())
        return (fenced.group(1) if fenced else md), plain_text
    if plain_text is not None and plain_text.lstrip().startswith("<div>") and (
        'class="fastprogress"' in plain_text or _FASTHTML_BLANK.match(plain_text.strip())
    ):
        return plain_text, plain_text
    return None, plain_text


# --------------------------------------------------------------------------- streams

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _visible(line: str) -> str:
    """What a terminal/Jupyter shows for one line: ``\\b`` and ``\\r`` applied."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\b" in line:
        out: list[str] = []
        for ch in line:
            if ch == "\b":
                if out:
                    out.pop()
            else:
                out.append(ch)
        line = "".join(out)
    if "\r" in line:
        parts = line.rstrip("\r").split("\r")
        shown = parts[-1]
        for earlier in reversed(parts[:-1]):  # later text overwrites earlier text
            if len(earlier) > len(shown):
                shown += earlier[len(shown):]
        line = shown
    return line


def _last_segment(line: str) -> str:
    """The text after the last carriage return (Jupyter's simpler rendering)."""
    return line.rstrip("\r").rsplit("\r", 1)[-1]


_CONSOLE_HEADER = re.compile(r"^epoch {2,}\S")
_TYPICAL = re.compile(r"^(?:-?\d+(?:\.\d{6})?|-?\d+\.\d+e[-+]\d+|#na#|nan|-?inf|None|)$")
_TIME = re.compile(r"^(?:\d+:)?\d\d:\d\d$")
_DIGITS = re.compile(r"^\d+$")
_MAX_GLUED = 256  # longest run of glued values tried (a row is a few dozen characters)


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
    value as wide as its column runs into the next one.  All segmentations
    consistent with the layout are tried (values hold no spaces) and the one
    whose values look most like fastai's (``%.6f``, ``#na#``, ``MM:SS``) wins.
    """
    line = line.rstrip()
    n = len(widths)
    best: tuple[int, list[str]] | None = None
    budget = [2000]  # bound the search on pathological lines

    def walk(col: int, pos: int, acc: list[str], score: int) -> None:
        nonlocal best
        budget[0] -= 1
        if budget[0] < 0:
            return
        if col == n - 1:
            last = line[pos:].strip() if pos <= len(line) else ""
            if " " in last:
                return
            total = score + (1 if _TYPICAL.match(last) else 0) + (2 if _TIME.match(last) else 0)
            if best is None or total > best[0]:
                best = (total, acc + [last])
            return
        span = widths[col] + 2
        end = pos
        while end < len(line) and line[end] != " ":
            end += 1
        run = end - pos
        if run < span:
            if line[end:pos + span].strip():
                return
            value = line[pos:end]
            walk(col + 1, pos + span, acc + [value], score + (1 if _TYPICAL.match(value) else 0))
        elif run <= _MAX_GLUED:
            for length in range(span, run + 1):
                if budget[0] < 0:
                    return
                value = line[pos:pos + length]
                walk(col + 1, pos + length, acc + [value], score + (1 if _TYPICAL.match(value) else 0))

    walk(0, 0, [], 0)
    return best[1] if best is not None else None


def _console_row(line: str, widths: Sequence[int]) -> tuple[str, ...] | None:
    """One console row's values, or None when the line is not a row."""
    if not line or not line[0].isdigit():
        return None
    values = _segment_row(line, widths)
    if values is None:
        tokens = line.split()
        if len(tokens) != len(widths):
            return None
        values = tokens
    if not _DIGITS.match(values[0]):
        return None
    return tuple(values)


_LIST_LINE = re.compile(r"^(?:\(#\d+\)\s*)?\[(.*)\]$", re.S)


def _split_list(body: str) -> list[str] | None:
    """Split a printed list's body at top-level commas; quotes and brackets respected."""
    items: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
        i += 1
    if quote or depth:
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
    if not (body.endswith("'") or body.endswith('"')):
        return None
    values = _split_list(body)
    if values is None or len(values) < 2 or len(values[0]) > 9 or not _DIGITS.match(values[0]):
        return None
    if not _TIME.match(values[-1]):
        return None
    return tuple(values)


class _StreamTables:
    """Console and list tables of one stream (stdout or stderr), line by line."""

    def __init__(self) -> None:
        self.found: list[tuple[int, int, ProgressTable]] = []  # (output index, seq, table)
        self.console: dict | None = None
        self.listing: dict | None = None
        self.seq = 0

    def _close_console(self) -> None:
        if self.console is not None:
            c = self.console
            self.found.append((c["index"], c["seq"], ProgressTable(c["columns"], tuple(c["rows"]), "console", c["index"])))
            self.console = None

    def _close_list(self) -> None:
        if self.listing is not None:
            c = self.listing
            self.found.append((c["index"], c["seq"], ProgressTable(None, tuple(c["rows"]), "list", c["index"])))
            self.listing = None

    def line(self, raw: str, index: int) -> None:
        shown = _visible(raw)
        candidates = [shown]
        if "\r" in raw:
            tail = _last_segment(raw)
            if tail != shown:
                candidates.append(tail)
        for text in candidates:
            if self._try(text, index):
                return

    def _try(self, text: str, index: int) -> bool:
        head = text[:1]
        if head == "e":
            header = _console_header(text)
            if header is not None:
                self._close_console()
                self._close_list()
                self.seq += 1
                self.console = {"columns": header[0], "widths": header[1], "rows": [], "index": index,
                                "seq": self.seq}
                return True
        elif head.isdigit():
            if self.console is not None:
                row = _console_row(text, self.console["widths"])
                if row is not None:
                    self.console["rows"].append(row)
                    return True
        elif head in ("[", "("):
            row = _list_row(text)
            if row is not None:
                self._close_console()
                epoch = int(row[0])
                if self.listing is not None and epoch <= self.listing["last"]:
                    self._close_list()
                if self.listing is None:
                    self.seq += 1
                    self.listing = {"rows": [], "index": index, "seq": self.seq, "last": -1}
                self.listing["rows"].append(row)
                self.listing["last"] = epoch
                return True
        return False

    def finish(self) -> list[tuple[int, int, ProgressTable]]:
        self._close_console()
        self._close_list()
        return self.found


def _stream_tables(chunks: list[tuple[int, str]]) -> list[tuple[int, int, ProgressTable]]:
    """Tables in the concatenated text of one stream's outputs (``(index, text)`` chunks)."""
    text = "".join(t for _, t in chunks)
    if "epoch" not in text and "[" not in text:
        return []
    starts, pos = [], 0
    for _, t in chunks:
        starts.append(pos)
        pos += len(t)
    indexes = [i for i, _ in chunks]
    parser = _StreamTables()
    offset = 0
    for raw in text.split("\n"):
        first = raw[:1]
        if first and (first in "e[(\r\b\x1b" or first.isdigit() or "\r" in raw or "\b" in raw):
            visible_from = raw.rfind("\r", 0, len(raw.rstrip("\r"))) + 1
            where = bisect.bisect_right(starts, offset + visible_from) - 1
            try:
                parser.line(raw, indexes[max(where, 0)])
            except Exception:  # an unreadable line is skipped, the stream goes on
                pass
        offset += len(raw) + 1
    return parser.finish()


# --------------------------------------------------------------------------- entry point


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
    found: list[tuple[int, int, ProgressTable]] = []
    streams: dict[str, list[tuple[int, str]]] = {}
    errors: list[int] = []
    context = False  # a fastprogress style/bar/table was shown earlier in this cell
    fasthtml_context = False
    for index, out in _outputs(outputs):
        try:
            kind = out.get("output_type")
            if kind == "stream":
                text = _text(out.get("text"))
                if text:
                    name = out.get("name")
                    streams.setdefault(name if isinstance(name, str) else "stdout", []).append((index, text))
                continue
            if kind == "error":
                errors.append(index)
                continue
            if kind not in _DISPLAY_TYPES:
                continue
            data = out.get("data")
            if not isinstance(data, dict):
                continue
            markup, plain = _display_markup(data)
            if markup is None:
                continue
            what, table, sets_context = _html_display(markup)
            if what == "table" and table is not None:
                found.append((index, 0, _at(table, index)))
                fasthtml_context = fasthtml_context or table.format == "fasthtml"
            elif what == "blank-fasthtml":
                found.append((index, 0, ProgressTable(None, (), "fasthtml", index, blank=True)))
                fasthtml_context = True
            elif what == "blank":
                if table is not None:
                    found.append((index, 0, _at(table, index)))
                    fasthtml_context = fasthtml_context or table.format == "fasthtml"
                elif context or (plain or "").strip() == _HTML_PLACEHOLDER:
                    fmt = "fasthtml" if fasthtml_context else "html"
                    found.append((index, 0, ProgressTable(None, (), fmt, index, blank=True)))
            elif what == "style" and "fastprogress" in markup:
                fasthtml_context = True
            context = context or sets_context
        except Exception:
            continue
    for chunks in streams.values():
        try:
            found.extend(_stream_tables(chunks))
        except Exception:
            continue
    found.sort(key=lambda item: (item[0], item[1]))
    tables = [t for _, _, t in found]
    return _mark_errors(tables, errors)


def _at(table: ProgressTable, index: int) -> ProgressTable:
    return ProgressTable(table.columns, table.rows, table.format, index, table.interrupted, table.blank)


def _mark_errors(tables: list[ProgressTable], errors: list[int]) -> list[ProgressTable]:
    """``interrupted=True`` on the last display before each ``error`` output."""
    if not errors or not tables:
        return tables
    starts = [t.output_index for t in tables]
    for err in errors:
        k = bisect.bisect_left(starts, err) - 1
        if k >= 0 and not tables[k].interrupted:
            t = tables[k]
            tables[k] = ProgressTable(t.columns, t.rows, t.format, t.output_index, True, t.blank)
    return tables
