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
              bars, ``\\r`` and ``\\b``; also the report fastprogress <= 0.1.15 printed
              for fastai 1.0.x (rows ending in ``(00:57)``, no ``time`` column: the
              bracketed time becomes one).
``list``      fastai v2 under ``learn.no_bar()``: ``[0, 0.54, ..., '00:05']`` or fastcore's
              older ``(#5) [0,0.54,...,'00:05']``; no header, ``columns=None``.

Rows with fewer values than the header (training or validation cancelled) are
placed by meaning (:func:`place_row`); ``rowspan`` values are repeated down their
column and ``colspan`` rows left out.  Each table says what was done in its
``notes``.

Speed: image and other binary mime types are never read; an HTML string is only
parsed (with regular expressions, no HTML parser) after a cheap substring test
finds ``epoch</th>``, ``class="fastprogress"`` or a ``<progress`` bar in it.
Streams are read line by line, never joined whole; every pattern is linear in its
input (no pattern rescans the rest of the text from each position).
Nothing is ever evaluated; odd or broken input is skipped, never raised on.
"""

from __future__ import annotations

import bisect
import dataclasses
import html
import re
from typing import Any, Iterator, Sequence

from audiometrics.model import ProgressTable

__all__ = ["find_tables", "place_row", "place_rows", "short_rows_note"]

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


_TAG = re.compile(r"<[^<>]*>")


def _cell_text(raw: str) -> str:
    """Displayed text of one table cell: inner tags dropped, entities decoded, trimmed."""
    if "<" in raw:
        raw = _TAG.sub("", raw)
    if "&" in raw:
        raw = html.unescape(raw)
    return raw.strip()


# --------------------------------------------------------------------------- short rows

_TIME = re.compile(r"^(?:\d+:)?\d\d:\d\d$")

#: Why a row is shorter than its header, as said in the table's note.
_SHORT_REASONS = {
    "train": "training cancelled: the values are the validation ones",
    "valid": "validation cancelled or absent: the values are the training ones",
    "both": "training and validation cancelled",
    "lone": "one loss for train_loss and valid_loss, taken as valid_loss (fastai logs no training values "
    "when training is cancelled); it is the training loss if validation was cancelled instead",
    "v1": "fastai v1 leaves out the values it could not compute: kept in order from the left",
    "dropped": "fastprogress 0.1.x leaves empty values out of a row: kept in order from the left, "
    "so a value after a missing one may sit in the wrong column",
    "left": "no fastai layout explains the row: values kept in order from the left",
}


def place_row(row: Sequence[str], columns: Sequence[str], left: str | None = None) -> tuple[tuple[str, ...], str | None]:
    """A row with fewer values than ``columns`` placed by meaning, and why it is short.

    fastai v2's ``Recorder`` logs ``epoch``, the training values (unless training
    was cancelled), the validation values (unless validation was cancelled), then
    the time; fastai v1 always logs the training loss and drops what it could
    not compute from the end (it writes ``#na#`` or ``''``).  So the first value
    is the epoch, an ``MM:SS`` last value is the time, and the values between
    fill the group whose size they match.  A time never lands in another column.
    ``left`` names the reason (a key of ``_SHORT_REASONS``) when the format is
    known to fill rows from the left (fastai v1 formats).  Full rows are returned
    unchanged (longer ones cut) with ``None``; a short one with its reason.
    """
    width = len(columns)
    if len(row) >= width:
        return tuple(row[:width]), None
    values = list(row)
    out = [""] * width
    has_time = width > 1 and columns[-1] == "time"
    time = values.pop() if len(values) > 1 and _TIME.match(values[-1]) else None
    if values:
        out[0] = values.pop(0)
    middle = columns[1 : width - 1 if has_time else width]
    values = [v for v in values if not _TIME.match(v)]  # never a time in a loss or metric column
    train = next((k for k, name in enumerate(middle) if not name.startswith("train")), len(middle))
    valid = len(middle) - train
    m = len(values)
    if m >= len(middle):
        start, why = 0, "left"
    elif left is not None or "#na#" in values or "" in values:  # only fastai v1 writes these
        start, why = 0, left or "v1"
    elif m == 0:
        start, why = 0, "both"
    elif m == valid and m != train:
        start, why = train, "train"
    elif m == train and m != valid:
        start, why = 0, "valid"
    elif m == train == valid:
        start, why = train, "lone"
    else:
        start, why = 0, "left"
    for k, value in enumerate(values[: len(middle) - start]):
        out[1 + start + k] = value
    if time is not None and has_time:
        out[-1] = time
    return tuple(out), why


def place_rows(
    rows: Sequence[Sequence[str]], columns: Sequence[str], left: str | None = None
) -> tuple[tuple[tuple[str, ...], ...], str | None]:
    """Every row placed by :func:`place_row`, and one note for the table when any was short."""
    if not rows or set(map(len, rows)) == {len(columns)}:
        return tuple(rows), None
    placed, reasons = [], []
    for row in rows:
        fixed, why = place_row(row, columns, left) if len(row) != len(columns) else (tuple(row), None)
        placed.append(fixed)
        if why is not None and len(row) < len(columns):
            reasons.append(why)
    return tuple(placed), short_rows_note(reasons)


def short_rows_note(reasons: Sequence[str]) -> str | None:
    """One line saying how many rows were short and why (``None`` when none was)."""
    if not reasons:
        return None
    counts: dict[str, int] = {}
    for why in reasons:
        counts[why] = counts.get(why, 0) + 1
    n = len(reasons)
    if len(counts) == 1:
        detail = _SHORT_REASONS[reasons[0]]
    else:
        detail = "; ".join(f"{c}: {_SHORT_REASONS[w]}" for w, c in counts.items())
    return f"{n} row{'s' if n != 1 else ''} shorter than the header ({detail}): values placed by meaning"


# --------------------------------------------------------------------------- HTML

_CELL = re.compile(r"<t[hd]\b[^<>]*>(.*?)</t[hd]\s*>", re.S | re.I)
_CELL_TOLERANT = re.compile(r"<t[hd]\b[^<>]*>(.*?)(?=</?t[hdr]\b|</table|\Z)", re.S | re.I)
_CELL_ATTRS = re.compile(r"<t[hd]\b([^<>]*)>(.*?)</t[hd]\s*>", re.S | re.I)
_CELL_ATTRS_TOLERANT = re.compile(r"<t[hd]\b([^<>]*)>(.*?)(?=</?t[hdr]\b|</table|\Z)", re.S | re.I)
_CLOSER = re.compile(r"</t[hd]\s*>", re.I)
_OPENER = re.compile(r"<t[hd]\b", re.I)
_SPAN = re.compile(r"""\b(col|row)span\s*=\s*(?:['"]\s*)?0*([1-9]\d{0,5})""", re.I)
_INTERRUPTED = re.compile(r"""class\s*=\s*['"][^'"]*progress-bar-interrupted""")
_FASTHTML_BLANK = re.compile(r"^<div>\s*</div>$")


def _cells(row: str) -> list[str]:
    """Displayed cell texts of one ``<tr`` segment (closing tags optional)."""
    return [_cell_text(raw) for raw in _raw_cells(row, _CELL, _CELL_TOLERANT)]


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


def _parse_html_table(markup: str) -> tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...]] | None:
    """The first epoch table in ``markup`` as (format, columns, rows, notes), or None.

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
                    rows, notes = _table_rows(first, segment[body:], tuple(header), fmt)
                    return fmt, tuple(header), rows, notes
        if j < 0:
            return None


def _table_rows(
    first: str, body: str, header: tuple[str, ...], fmt: str
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The body rows placed under ``header`` (short rows by meaning), and notes on them."""
    if _has_span(first) and any(int(n) > 1 for _, n in _SPAN.findall(first)):
        rows = _rows_one_by_one(body, len(header))
        if not rows:
            return (), ()
        return (), (f"the header has cells spanning several columns or rows: its {len(rows)} rows cannot be "
                    "placed under the right columns and are left out",)
    raw = _plain_rows(body, len(header))
    if raw is not None:  # plain rows: bare <td> cells (no spans), exactly as many as the header
        return raw, ()
    notes: list[str] = []
    if _has_span(body):
        raw, note = _span_rows(body, len(header))
        if note:
            notes.append(note)
    else:
        raw = _rows_one_by_one(body, len(header))
    rows, short = place_rows(raw, header, "dropped" if fmt == "html-th" else None)
    if short:
        notes.append(short)
    return rows, tuple(notes)


def _has_span(markup: str) -> bool:
    """A ``colspan``/``rowspan`` attribute somewhere in ``markup`` (a substring test first: fast)."""
    return "span" in markup.lower() and _SPAN.search(markup) is not None


def _body_rows(body: str, width: int) -> tuple[tuple[str, ...], ...]:
    """The rows of ``body`` (the text from a table's second ``<tr`` on), as many cells as they show."""
    rows = _plain_rows(body, width)
    return rows if rows is not None else _rows_one_by_one(body, width)


def _rows_one_by_one(body: str, width: int) -> tuple[tuple[str, ...], ...]:
    """The rows of ``body``, parsed ``<tr`` by ``<tr`` (closing tags optional), longer ones cut to ``width``."""
    rows = []
    for part in body.split("<tr")[1:]:
        cells = _cells(part)
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
            text = _cell_text(inner)
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
            fmt, columns, rows, notes = found
            interrupted = "progress-bar-interrupted" in markup and bool(_INTERRUPTED.search(markup))
            return "table", ProgressTable(columns, rows, fmt, -1, interrupted=interrupted, notes=notes), True
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
#
# Stream text is read line by line without ever joining a whole output (memory
# stays near the longest line), and every step is linear in the line: redraws
# (``\r``, ``\b``) are applied with string operations, console rows are
# segmented with a memoised search whose work is bounded by the line's length,
# and printed lists are split by one regex match when flat.

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_BACKSPACES = re.compile(r"(\x08+)")


def _apply_backspaces(line: str) -> str:
    """``line`` with each ``\\b`` erasing the character before it, in linear time.

    Read from the right, a run of backspaces erases that many of the nearest
    characters still shown to its left; each piece of text is cut at most once.
    """
    pieces = _BACKSPACES.split(line)  # text, run, text, run, ..., text
    kept: list[str] = []
    erase = 0
    for k in range(len(pieces) - 1, -1, -1):
        piece = pieces[k]
        if k % 2:
            erase += len(piece)
        elif erase >= len(piece):
            erase -= len(piece)
        else:
            kept.append(piece[: len(piece) - erase] if erase else piece)
            erase = 0
    kept.reverse()
    return "".join(kept)


def _visible(line: str) -> str:
    """What a terminal/Jupyter shows for one line: ``\\b`` and ``\\r`` applied."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\b" in line:
        line = _apply_backspaces(line)
    if "\r" in line:
        parts = line.rstrip("\r").split("\r")
        shown = parts[-1]
        tail: list[str] = []  # later text overwrites earlier text; longer earlier lines show their ends
        reach = len(shown)
        for earlier in reversed(parts[:-1]):
            if len(earlier) > reach:
                tail.append(earlier[reach:])
                reach = len(earlier)
        line = shown + "".join(tail)
    return line


def _last_segment(line: str) -> str:
    """The text after the last carriage return (Jupyter's simpler rendering)."""
    return line.rstrip("\r").rsplit("\r", 1)[-1]


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
                found = ((1 if _TYPICAL.match(last) else 0) + (2 if _TIME.match(last) else 0), (last,))
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
    return values[: k + 1] if k > 0 and _TIME.match(values[k]) else values


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
            columns, left = c["columns"], None
            if c["brackets"]:  # fastai 1.0.x with fastprogress <= 0.1.15: the time is the bracketed one
                columns = tuple(_V1_NAMES.get(name, name) for name in columns)
                columns, left = (columns if "time" in columns else (*columns, "time")), "v1"
            rows, note = place_rows(c["rows"], columns, left)
            table = ProgressTable(columns, rows, "console", c["index"], notes=(note,) if note else ())
            self.found.append((c["index"], c["seq"], table))
            self.console = None

    def _close_list(self) -> None:
        if self.listing is not None:
            c = self.listing
            self.found.append((c["index"], c["seq"], ProgressTable(None, tuple(c["rows"]), "list", c["index"])))
            self.listing = None

    def line(self, raw: str, index: int) -> None:
        # Jupyter shows the text after the last carriage return; a terminal overwrites
        # earlier text in place (a short row over a longer bar keeps the bar's end).
        shown = _visible(raw)
        candidates = [shown]
        if "\r" in raw:
            tail = _last_segment(raw)
            if tail != shown:
                candidates.insert(0, _visible(tail) if "\b" in tail or "\x1b" in tail else tail)
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
                                "seq": self.seq, "brackets": False}
                return True
        elif head.isdigit():
            if self.console is not None:
                found = _console_row(text, self.console["widths"])
                if found is not None:
                    row, bracket = found
                    self.console["brackets"] = self.console["brackets"] or bracket
                    self.console["rows"].append(row if bracket else _unpad(row, self.console["columns"]))
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


_BLOCK = 4096  # list items (saved lines) joined at a time: C-speed joins, memory bounded by the block


def _blocks(value: Any) -> list[str] | Iterator[str]:
    """A stream's ``text`` (a string or a list of strings) as a few large strings, never all joined."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        if len(value) <= _BLOCK:  # the usual case: one join, no slicing
            try:
                return ("".join(value),)
            except TypeError:
                return ("".join(item for item in value if isinstance(item, str)),)
        return _large_blocks(value)
    return ()


def _large_blocks(value: list | tuple) -> Iterator[str]:
    for start in range(0, len(value), _BLOCK):
        part = value[start : start + _BLOCK]
        try:
            yield "".join(part)
        except TypeError:  # a non-string item: skipped
            yield "".join(item for item in part if isinstance(item, str))


def _stream_lines(chunks: Sequence[tuple[int, Any]]) -> Iterator[tuple[str, list[tuple[int, str]] | int]]:
    """Each line of one stream with where it came from, reading the outputs block by block.

    Yields ``(line, index)`` for a line inside one block, or ``(line, parts)``
    with its ``(output index, text)`` parts when it spans blocks or outputs.
    """
    parts: list[tuple[int, str]] = []
    for index, value in chunks:
        for block in _blocks(value):
            start, size = 0, len(block)
            while start < size:
                nl = block.find("\n", start)
                if nl < 0:
                    parts.append((index, block[start:] if start else block))
                    break
                text = block[start:nl]
                if parts:
                    parts.append((index, text))
                    yield "".join(t for _, t in parts), parts
                    parts = []
                else:
                    yield text, index
                start = nl + 1
    if parts:
        yield "".join(t for _, t in parts), parts


def _origin(raw: str, where: list[tuple[int, str]] | int) -> int:
    """The output index holding the visible (last redrawn) part of a line."""
    if isinstance(where, int):
        return where
    visible_from = raw.rfind("\r", 0, len(raw.rstrip("\r"))) + 1
    offset = 0
    for index, text in where:
        offset += len(text)
        if offset > visible_from:
            return index
    return where[-1][0]


def _may_hold_tables(chunks: list[tuple[int, Any]]) -> bool:
    """Whether a stream's text has an ``epoch`` header or a ``[`` list at all (C-speed scans)."""
    tail = ""
    for _, value in chunks:
        for block in _blocks(value):
            if "[" in block or "epoch" in block or (tail and "epoch" in tail + block[:4]):
                return True
            tail = block[-4:]
    return False


def _stream_tables(chunks: list[tuple[int, Any]]) -> list[tuple[int, int, ProgressTable]]:
    """Tables in the text of one stream's outputs (``(index, text)`` chunks), in linear time."""
    if not _may_hold_tables(chunks):
        return []
    parser = _StreamTables()
    for raw, where in _stream_lines(chunks):
        first = raw[:1]
        if first and (first in "e[(\r\b\x1b" or first.isdigit() or "\r" in raw or "\b" in raw):
            try:
                parser.line(raw, _origin(raw, where))
            except Exception:  # an unreadable line is skipped, the stream goes on
                pass
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
                text = out.get("text")
                if text and isinstance(text, (str, list, tuple)):
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
    t = table
    return ProgressTable(t.columns, t.rows, t.format, index, t.interrupted, t.blank, t.notes)


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
