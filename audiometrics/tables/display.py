"""Display outputs: which HTML a mime bundle shows, and what it is.

A display is a table (parsed by the first registered
:class:`~audiometrics.tables.base.HtmlFormat` that detects it), a blank slot (a
cleared display, bars without a table yet, fasthtml's ``<div></div>``), the
``<style>`` fastprogress shows before its bars, or something else.  Only
``text/*`` values are ever read (images and other binary types never), and a
markup is only parsed after a cheap substring test finds a format's marker or a
``<progress`` bar in it.
"""

from __future__ import annotations

import dataclasses
import re

from audiometrics.model import ProgressTable
from audiometrics.tables.markup import HtmlTable, first_epoch_table
from audiometrics.tables.registry import HTML_FORMATS
from audiometrics.tables.text import as_text

__all__ = ["Displays", "classify", "display_markup"]

#: What Jupyter shows as ``text/plain`` for an HTML display.
_HTML_PLACEHOLDER = "<IPython.core.display.HTML object>"

_INTERRUPTED = re.compile(r"""class\s*=\s*['"][^'"]*progress-bar-interrupted""")
_FASTHTML_BLANK = re.compile(r"^<div>\s*</div>$")
_MARKERS = tuple(dict.fromkeys(marker for fmt in HTML_FORMATS for marker in fmt.markers))
# bound once (the walk is hot): a format's own ``locate`` when it has one, else the shared epoch-table locator
_DETECT_PARSE = tuple((getattr(fmt, "locate", None), fmt.detect, fmt.parse) for fmt in HTML_FORMATS)


def _table(markup: str, index: int) -> ProgressTable | None:
    """The first epoch table of ``markup`` (output ``index``) in the first format that detects it, or None.

    A format with a ``locate(markup)`` method finds its own tables; the others are
    offered the first table :func:`~audiometrics.tables.markup.first_epoch_table` finds.
    """
    shared: HtmlTable | None | bool = False  # not looked for yet
    for locate, detect, parse in _DETECT_PARSE:
        if locate is not None:
            located = locate(markup)
        else:
            if shared is False:
                shared = first_epoch_table(markup)
            located = shared  # type: ignore[assignment]
        if located is not None and detect(located):
            table = parse(located, index)
            if "progress-bar-interrupted" in markup and _INTERRUPTED.search(markup):
                table = dataclasses.replace(table, interrupted=True)
            return table
    return None


class Displays:
    """Tables and blank slots among one cell's display outputs, offered in output order.

    A blank display counts as a slot (a cleared progress display, bars without a
    table yet) when fastprogress showed something earlier in the cell or Jupyter
    shows it as an HTML object; it takes the format of the fastprogress seen.
    """

    def __init__(self) -> None:
        self.found: list[tuple[int, int, ProgressTable]] = []  # (output index, 0, table)
        self.context = False  # a fastprogress style/bar/table was shown earlier in this cell
        self.fasthtml = False  # ... by fastprogress >= 1.1

    def add(self, index: int, data: dict) -> None:
        """Read the mime bundle ``data`` of display output ``index``."""
        markup, plain = display_markup(data)
        if markup is None:
            return
        what, table, sets_context = classify(markup, index)
        if table is not None:  # a table, or bars without one
            self.found.append((index, 0, table))
            self.fasthtml = self.fasthtml or table.format == "fasthtml"
        elif what == "blank-fasthtml":
            self.found.append((index, 0, ProgressTable(None, (), "fasthtml", index, blank=True)))
            self.fasthtml = True
        elif what == "blank":
            if self.context or (plain or "").strip() == _HTML_PLACEHOLDER:
                fmt = "fasthtml" if self.fasthtml else "html"
                self.found.append((index, 0, ProgressTable(None, (), fmt, index, blank=True)))
        elif what == "style" and "fastprogress" in markup:
            self.fasthtml = True
        self.context = self.context or sets_context


def _is_progress_style(markup: str) -> bool:
    """The separate ``<style>`` output fastprogress shows before its bars."""
    return "<style>" in markup and "progress" in markup and "<progress" not in markup and "<table" not in markup


def classify(markup: str, index: int) -> tuple[str, ProgressTable | None, bool]:
    """Classify one HTML string: (kind, table-or-None, sets progress context).

    ``kind`` is "table", "blank" (an empty string, or bars without a table),
    "blank-fasthtml" (``<div></div>``), "style" (fastprogress's CSS) or
    "other".  Tables are found at output ``index``.
    """
    if not markup or markup.isspace():
        return "blank", None, False
    for marker in _MARKERS:  # a plain loop: cheaper than any() on every display
        if marker in markup:
            table = _table(markup, index)
            if table is not None:
                return "table", table, True
            if 'class="fastprogress"' in markup:
                return "other", None, False
            break
    if len(markup) < 64 and _FASTHTML_BLANK.match(markup.strip()):
        return "blank-fasthtml", None, True
    if "<progress" in markup:
        fasthtml = '<progress max="' in markup
        legacy = "<progress value=" in markup and "class='" in markup
        if fasthtml or legacy:
            interrupted = bool(_INTERRUPTED.search(markup))
            fmt = "fasthtml" if fasthtml else "html"
            return "blank", ProgressTable(None, (), fmt, index, interrupted=interrupted, blank=True), True
        return "other", None, False
    if _is_progress_style(markup):
        return "style", None, True
    return "other", None, False


_FENCE = re.compile(r"^```html\s*\n(.*?)\n?```\s*$", re.S)


def display_markup(data: dict) -> tuple[str | None, str | None]:
    """(markup, text/plain) of a display's bundle; only text/* values are ever read."""
    markup = as_text(data.get("text/html"))
    plain = data.get("text/plain")
    plain_text = as_text(plain) if plain is not None else None
    if markup is not None:
        return markup, plain_text
    # No text/html: fastprogress >= 1.1 also puts the table in text/markdown and text/plain.
    md = as_text(data.get("text/markdown"))
    if md is not None and ('class="fastprogress"' in md or "<div>" in md):
        fenced = _FENCE.match(md.strip())
        return (fenced.group(1) if fenced else md), plain_text
    if plain_text is not None and plain_text.lstrip().startswith("<div>") and (
        'class="fastprogress"' in plain_text or _FASTHTML_BLANK.match(plain_text.strip())
    ):
        return plain_text, plain_text
    return None, plain_text

