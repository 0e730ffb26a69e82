"""Tables printed on streams: each stream's lines offered to the stream formats.

A stream's text (one or many outputs of the same ``name``) is read line by line,
block by block (:func:`~audiometrics.tables.text.stream_lines`), never joined
whole; a stream holding none of the formats' markers is not read at all.  Each
line is offered as displayed (redraws applied) to the registered
:class:`~audiometrics.tables.base.StreamFormat`\\ s.
"""

from __future__ import annotations

from typing import Any, Callable

from audiometrics.model import ProgressTable
from audiometrics.tables.base import StreamFormat
from audiometrics.tables.registry import STREAM_FORMATS
from audiometrics.tables.text import blocks, last_segment, origin, stream_lines, visible

__all__ = ["stream_tables"]

Found = tuple[int, int, ProgressTable]  # (output index, order in the stream, table)


class _StreamReader:
    """The tables of one stream (stdout or stderr), line by line; at most one open at a time."""

    def __init__(self) -> None:
        self.found: list[Found] = []
        self.open: tuple[StreamFormat, Any, int, int] | None = None  # (format, state, output index, seq)
        self.add: Callable[[Any, str], bool] | None = None  # the open format's ``add`` (bound once: hot)
        self.state: Any = None  # the open table's state
        self.seq = 0
        # A table a line may open once the next lines confirm it: (format, state, output index, lines held).
        self.held: tuple[Any, Any, int, list[tuple[str, int]]] | None = None

    def line(self, raw: str, index: int) -> None:
        if self.held is not None and self._confirm(raw, index):
            return
        if "\r" in raw and _REDRAWN and self._redrawn(raw, index):
            return
        # Jupyter shows the text after the last carriage return; a terminal overwrites
        # earlier text in place (a short row over a longer bar keeps the bar's end).
        if "\r" not in raw and "\b" not in raw and "\x1b" not in raw:  # the usual line: shown as it is
            if not self._try(raw, index) and _TENTATIVE:
                self._hold(raw, index)
            return
        shown = visible(raw)
        candidates = [shown]
        if "\r" in raw:
            tail = last_segment(raw)
            if tail != shown:
                candidates.insert(0, visible(tail) if "\b" in tail or "\x1b" in tail else tail)
        for text in candidates:
            if self._try(text, index):
                return

    def _hold(self, raw: str, index: int) -> None:
        """A line no format took that may open a table once the next lines confirm it (``tentative``)."""
        for fmt in _TENTATIVE:
            state = fmt.tentative(raw)
            if state is not None:
                self.held = (fmt, state, index, [])
                return

    def _confirm(self, raw: str, index: int) -> bool:
        """Offer ``raw`` to the held table: opened when it confirms it; else the held lines are read as usual."""
        fmt, state, at, lines = self.held  # type: ignore[misc]
        verdict = fmt.confirms(state, raw)
        if verdict is None and len(lines) < _HOLD:
            lines.append((raw, index))
            return True
        self.held = None
        if verdict:
            self._close()
            self.seq += 1
            self.open = (fmt, state, at, self.seq)
            self.add, self.state = fmt.add, state
            return True
        for line, where in lines:  # as if nothing had been held
            self.line(line, where)
        return self._confirm(raw, index) if self.held is not None else False

    def _redrawn(self, raw: str, index: int) -> bool:
        """Offer a line with every redraw (``\\r`` segments kept) to the formats that read them (tqdm bars)."""
        if self.open is not None and self.open[0] in _REDRAWN:
            if self.add(self.state, raw):  # type: ignore[misc]
                return True
        for fmt in _REDRAWN:
            state = fmt.start(raw)
            if state is not None:
                self._open(fmt, state, index)
                return True
        return False

    def _try(self, text: str, index: int) -> bool:
        if not text:
            return False
        if self.add is not None and self.add(self.state, text):
            return True
        head = text[:1]
        starters = _STARTERS.get(head)
        if starters is None:
            starters = _starters(head)
        for fmt in starters:
            state = fmt.start(text)
            if state is not None:
                self._open(fmt, state, index)
                return True
        return False

    def _open(self, fmt: StreamFormat, state: Any, index: int) -> None:
        """Close the open table and open ``fmt``'s, started with ``state`` at output ``index``."""
        self._close()
        self.seq += 1
        self.open = (fmt, state, index, self.seq)
        self.add, self.state = fmt.add, state

    def _close(self) -> None:
        if self.open is not None:
            fmt, state, index, seq = self.open
            self.found.append((index, seq, fmt.close(state, index)))
            self.open = self.add = self.state = None

    def finish(self) -> list[Found]:
        while self.held is not None:
            lines = self.held[3]
            self.held = None
            for line, where in lines:
                self.line(line, where)
        self._close()
        return self.found


def _needles(markers: tuple[str, ...]) -> tuple[str, ...]:
    """The markers worth scanning for: one that holds another is found by that one's scan.

    >>> _needles(("epoch", "[", "poch", "s/step"))
    ('[', 'poch', 's/step')
    """
    unique = tuple(dict.fromkeys(markers))
    return tuple(m for m in unique if not any(other != m and other in m for other in unique))


_MARKERS = _needles(tuple(marker for fmt in STREAM_FORMATS for marker in fmt.markers))


#: Formats that read a line's redraws themselves (``redrawn = True``): offered the raw line first.
_REDRAWN = tuple(fmt for fmt in STREAM_FORMATS if getattr(fmt, "redrawn", False))
#: Formats whose table a line may open only once the next lines confirm it (``tentative``/``confirms``).
_TENTATIVE = tuple(fmt for fmt in STREAM_FORMATS if hasattr(fmt, "tentative"))
_HOLD = 64  # lines held at most before the held table is given up
_REACH = max(map(len, _MARKERS)) - 1  # characters of a block's end a marker may start in


def _may_hold_tables(chunks: list[tuple[int, Any]]) -> bool:
    """Whether a stream's text holds one of the formats' markers at all (C-speed scans, block by block)."""
    tail = ""
    for _, value in chunks:
        for block in blocks(value):
            for marker in _MARKERS:
                if marker in block:
                    return True
            if tail:  # a marker across two blocks
                edge = tail + block[:_REACH]
                for marker in _MARKERS:
                    if marker in edge:
                        return True
            tail = block[-_REACH:] if _REACH else ""
    return False


_WANTED: dict[str, bool] = {}  # first character of a line -> worth reading


_STARTERS: dict[str, tuple[StreamFormat, ...]] = {}  # first character of a line -> formats it may start


def _starters(head: str) -> tuple[StreamFormat, ...]:
    """The formats whose tables a line starting with ``head`` may open (``wants``), remembered per character."""
    found = _STARTERS[head] = tuple(fmt for fmt in STREAM_FORMATS if fmt.wants(head))
    return found


def _wants(first: str) -> bool:
    """Whether a line starting with ``first`` may be a table's, or may show one once redrawn."""
    return first in "\r\b\x1b" or bool(_starters(first))


def stream_tables(chunks: list[tuple[int, Any]]) -> list[Found]:
    """Tables in the text of one stream's outputs (``(index, text)`` chunks), in linear time."""
    if not _may_hold_tables(chunks):
        return []
    reader = _StreamReader()
    for raw, where in stream_lines(chunks):
        first = raw[:1]
        if not first:
            continue
        wanted = _WANTED.get(first)
        if wanted is None:
            wanted = _WANTED[first] = _wants(first)
        if wanted or "\r" in raw or "\b" in raw:
            try:
                reader.line(raw, origin(raw, where))
            except Exception:  # an unreadable line is skipped, the stream goes on
                pass
    return reader.finish()
