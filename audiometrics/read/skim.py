"""Skimming: image payloads cut out of a notebook's raw bytes before the JSON is parsed.

The string values of ``image/*`` keys (base64 PNGs, SVG; most of a notebook's
bytes) are found with a few substring searches and emptied, so they are
neither decoded nor parsed.  Extraction reads no image.
"""

from __future__ import annotations

import mmap
import re

__all__ = ["without_images"]


#: How the key of an image payload starts, as bytes in the file. Images are most of a
#: notebook's bytes, and their values are JSON strings of base64 (or SVG) text that
#: extraction never reads. (Only images: looking for a key that a file lacks costs a
#: scan of the whole file, as much as skipping an image saves.)
_IMAGE_KEY_START = b'"image/'
_IMAGE_KEY = re.compile(rb'"image/[A-Za-z0-9.+\-]+"[ \t\r\n]*:[ \t\r\n]*"')
_BACKSLASH = ord("\\")
_RELEASE_BYTES = 32 * 1024 * 1024


def without_images(buffer: bytes | mmap.mmap) -> bytes | None:
    """``buffer`` with the string values of ``image/*`` keys emptied, found without parsing; None when there are none.

    Skipping those values in the raw bytes (fast substring searches) costs far less
    than parsing them. A match counts only where its opening quote is not escaped: it
    is then a key, since an unescaped quote followed by a letter opens a string. A
    value is cut up to its closing quote (one not escaped by an odd run of
    backslashes); an unterminated value ends the search, leaving the rest to the parser.
    """
    pieces: list[bytes] = []
    kept = released = 0
    # a memory map's scanned pages are handed back (they stay in the page cache):
    # otherwise a 1 GB file's pages would all count in this process's memory
    release = getattr(buffer, "madvise", None) if hasattr(mmap, "MADV_DONTNEED") else None
    at = buffer.find(_IMAGE_KEY_START)
    while at >= 0:
        if release is not None and at - released >= _RELEASE_BYTES:
            boundary = at - at % mmap.PAGESIZE
            try:
                release(mmap.MADV_DONTNEED, released, boundary - released)
            except (OSError, ValueError):  # pragma: no cover - advisory only
                release = None
            released = boundary
        resume = at + 1
        match = _IMAGE_KEY.match(buffer, at)
        if match is not None and (at == 0 or buffer[at - 1] != _BACKSLASH):
            value = match.end()
            end = _string_end(buffer, value)
            if end < 0:
                break
            if end > value:
                pieces.append(buffer[kept:value])
                kept = end
            resume = end + 1
        at = buffer.find(_IMAGE_KEY_START, resume)
    if not pieces:
        return None
    pieces.append(buffer[kept:])
    return b"".join(pieces)


def _string_end(buffer: bytes | mmap.mmap, start: int) -> int:
    """Index of the quote closing the JSON string whose content starts at ``start``; -1 if none."""
    position = start
    while True:
        end = buffer.find(b'"', position)
        if end < 0:
            return -1
        before = end
        while before > start and buffer[before - 1] == _BACKSLASH:
            before -= 1
        if (end - before) % 2 == 0:
            return end
        position = end + 1

