"""Output text: mime-bundle values as strings, stream text line by line, redraws applied.

Stream text is read line by line without ever joining a whole output (memory
stays near the longest line), and every step is linear in the line: redraws
(``\\r``, ``\\b``, ANSI escapes) are applied with string operations.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Sequence

__all__ = ["as_text", "apply_backspaces", "visible", "last_segment", "blocks", "stream_lines", "origin"]


def as_text(value: Any) -> str | None:
    """A mime-bundle or stream value as one string (lists of str are joined once)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return "".join(value)
        except TypeError:
            return "".join(part for part in value if isinstance(part, str))
    return None


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""A terminal control sequence (colour, cursor): shown as nothing."""
_BACKSPACES = re.compile(r"(\x08+)")


def apply_backspaces(line: str) -> str:
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


def visible(line: str) -> str:
    """What a terminal/Jupyter shows for one line: ``\\b`` and ``\\r`` applied."""
    if "\x1b" in line:
        line = ANSI.sub("", line)
    if "\b" in line:
        line = apply_backspaces(line)
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


def last_segment(line: str) -> str:
    """The text after the last carriage return (Jupyter's simpler rendering)."""
    return line.rstrip("\r").rsplit("\r", 1)[-1]


_BLOCK = 4096  # list items (saved lines) joined at a time: C-speed joins, memory bounded by the block


def blocks(value: Any) -> list[str] | Iterator[str]:
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


def stream_lines(chunks: Sequence[tuple[int, Any]]) -> Iterator[tuple[str, list[tuple[int, str]] | int]]:
    """Each line of one stream with where it came from, reading the outputs block by block.

    Yields ``(line, index)`` for a line inside one block, or ``(line, parts)``
    with its ``(output index, text)`` parts when it spans blocks or outputs.
    """
    parts: list[tuple[int, str]] = []
    for index, value in chunks:
        for block in blocks(value):
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


def origin(raw: str, where: list[tuple[int, str]] | int) -> int:
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


