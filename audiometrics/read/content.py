"""The bytes layer: a notebook file's content, read, mapped or skimmed, and its encoding.

Memory: a file of :data:`LARGE_FILE_BYTES` or more is memory-mapped. Skimmed
(:mod:`.skim`), a notebook of images shrinks to its text before anything is
decoded (the pages already scanned are handed back as the scan goes), so a 1 GB
notebook of images needs a few MB. When the text itself is large, it is decoded
straight from the mapping (no ``bytes`` copy), non-ASCII text in it turned into
JSON ``\\uXXXX`` escapes first (so the decoded text takes one byte per character,
not two or four), and the mapping is closed before parsing.

Text is UTF-8 (with or without a byte-order mark), or UTF-16/32 when it starts
with their byte-order mark (a Windows shell redirect writes them).
"""

from __future__ import annotations

import codecs
import mmap
import os

from audiometrics.errors import NotebookError
from audiometrics.read.skim import without_images

__all__ = ["LARGE_FILE_BYTES", "read_content", "check_bytes", "decode"]

#: Files at least this large are memory-mapped, and (with ``drop_media=None``)
#: parsed with binary payloads dropped.
LARGE_FILE_BYTES = 64 * 1024 * 1024

_BOM = codecs.BOM_UTF8


def read_content(location: str, name: str, drop_media: bool | None, *, skim: bool, plain: bool) -> tuple[bytes | str, bool, bool]:
    """The content of the file at ``location`` (named ``name`` in errors), whether to drop media, whether skimmed.

    Media are dropped with ``drop_media``, or with ``None`` for a file of
    :data:`LARGE_FILE_BYTES` or more; dropping implies skimming, unless ``plain``
    asks for the file as it is.  Raises :class:`NotebookError` for a file that is
    missing, a folder, unreadable or binary.
    """
    try:
        with open(location, "rb") as handle:
            try:
                size = os.fstat(handle.fileno()).st_size
            except OSError:
                size = 0
            large = size >= LARGE_FILE_BYTES
            drop = bool(drop_media or (drop_media is None and large))
            skim = (skim or drop) and not plain
            content = _map_content(handle, name, skim) if large else None
            if content is None:
                content = handle.read()
                if skim:
                    check_bytes(content, name)
                    content = without_images(content) or content
    except FileNotFoundError:
        raise NotebookError(name, "no such file") from None
    except IsADirectoryError:
        raise NotebookError(name, _directory_reason(location)) from None
    except OSError as exc:
        raise NotebookError(name, f"cannot be read ({exc.strerror or exc})") from None
    return content, drop, skim


def _directory_reason(path: str) -> str:
    """Why a folder given as a notebook cannot be read: one that cannot be listed was passed on for that."""
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        return f"folder cannot be read ({exc.strerror or exc}): its notebooks were not searched"
    return "is a directory, not a notebook file"


def _map_content(handle, name: str, skim: bool) -> str | bytes | None:
    """The content of a large file, read through a memory map; None when it cannot be mapped.

    With ``skim``, when the file without its image payloads is small, those bytes
    are returned. Otherwise the text is decoded straight from the mapping, non-ASCII
    characters (valid only inside JSON strings) becoming ``\\uXXXX`` escapes, so the
    text is one byte per character and parses to the same values.
    """
    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    with mapped:
        if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_SEQUENTIAL"):
            try:
                mapped.madvise(mmap.MADV_SEQUENTIAL)
            except OSError:  # pragma: no cover - advisory only
                pass
        if mapped.find(b"\x00", 0, 8192) >= 0:
            raise NotebookError(name, "binary file, not a notebook (contains NUL bytes)")
        if skim:
            stripped = without_images(mapped)
            if stripped is not None and len(stripped) < LARGE_FILE_BYTES // 4:
                return stripped
            del stripped
        start = len(_BOM) if mapped[: len(_BOM)] == _BOM else 0
        with memoryview(mapped) as whole, whole[start:] as view:
            first = _first_non_ascii_chunk(view)
            if first is None:
                return str(view, "ascii")  # the common case: one copy, one byte per character
            try:
                pieces = _escaped_pieces(view, first, name)
            except _NeedsPlainDecode:
                return _decode_utf8(view, name)
    # the mapping is closed here: only the pieces are in memory while they are joined
    return "".join(pieces)


_CHUNK = 1024 * 1024


class _NeedsPlainDecode(Exception):
    """A backslash right before a non-ASCII character: escaping could change what it means."""


def _escape_error(exc: UnicodeError) -> tuple[str, int]:
    """Encoding error handler: non-ASCII characters → JSON ``\\uXXXX`` escapes (UTF-16 code units)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    if exc.start > 0 and exc.object[exc.start - 1] == "\\":
        raise _NeedsPlainDecode
    units = exc.object[exc.start : exc.end].encode("utf-16-be", "surrogatepass").hex()
    return "".join("\\u" + units[i : i + 4] for i in range(0, len(units), 4)), exc.end


codecs.register_error("audiometrics.json-escape", _escape_error)


def _first_non_ascii_chunk(view: memoryview) -> int | None:
    """Start of the first :data:`_CHUNK` of ``view`` holding a non-ASCII byte, or None.

    (Decoding the whole view as ASCII and catching the error would copy all of it
    into the exception.)
    """
    for position in range(0, len(view), _CHUNK):
        if not bytes(view[position : position + _CHUNK]).isascii():
            return position
    return None


def _escaped_pieces(view: memoryview, first: int, name: str) -> list[str]:
    """The UTF-8 text of ``view`` as ASCII pieces, non-ASCII characters escaped; ``view[:first]`` is ASCII."""
    pieces = [str(view[:first], "ascii")]
    position, size = first, len(view)
    while position < size:
        end = min(size, position + _CHUNK)
        while end < size and view[end] & 0xC0 == 0x80:  # never split a UTF-8 sequence
            end += 1
        try:
            text = str(view[position:end], "utf-8")
        except UnicodeDecodeError as exc:
            raise NotebookError(name, f"not UTF-8 text (byte {position + exc.start}): not a notebook") from None
        if not text.isascii():
            if pieces[-1].endswith("\\") and not text[0].isascii():
                raise _NeedsPlainDecode
            text = text.encode("ascii", "audiometrics.json-escape").decode("ascii")
        pieces.append(text)
        position = end
    return pieces


def _decode_utf8(view: memoryview, name: str) -> str:
    try:
        return str(view, "utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(name, f"not UTF-8 text (byte {exc.start}): not a notebook") from None


#: Byte-order marks of the encodings other than UTF-8 that JSON text may be in
#: (a notebook saved through a Windows shell's redirection is UTF-16).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def bom_encoding(data: bytes) -> str:
    """The encoding a byte-order mark at the start of ``data`` names; UTF-8 (BOM or not) otherwise."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            return encoding
    return "utf-8-sig"


def decode(data: bytes, path: str) -> str:
    """The text of the file: UTF-8, or UTF-16/32 when it starts with their byte-order mark and a JSON document."""
    encoding = bom_encoding(data)
    if encoding != "utf-8-sig":
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = ""
        if text.lstrip()[:1] in ("{", "["):
            return text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(path, f"not UTF-8 text (byte {exc.start}): not a notebook") from None


def check_bytes(data: bytes, path: str) -> None:
    """Raise :class:`NotebookError` for empty bytes, or binary ones (NUL bytes, no UTF-16/32 mark)."""
    if not data or data.isspace():
        raise NotebookError(path, "empty file")
    if b"\x00" in data[:8192] and bom_encoding(data[:4]) == "utf-8-sig":
        raise NotebookError(path, "binary file, not a notebook (contains NUL bytes)")

