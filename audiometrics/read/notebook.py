"""Read a notebook file into a :class:`~audiometrics.model.Notebook`.

Only JSON parsing happens here (no nbformat validation of the whole document,
which is slow on notebooks full of media): the keys extraction relies on are
checked, and every problem becomes a :class:`~audiometrics.errors.NotebookError`
naming the file and the reason.

Speed: extraction reads a notebook *skimmed*: the string values of ``image/*``
keys (base64 PNGs, SVG; most of a notebook's bytes) are cut out of the raw bytes
with a few substring searches before the JSON is parsed, so they are neither
decoded nor parsed. If the skimmed copy does not parse, the file is parsed as it
is, so errors always describe the file itself.

Memory: a file of :data:`LARGE_FILE_BYTES` or more is memory-mapped. Skimmed, a
notebook of images shrinks to its text before anything is decoded (the pages
already scanned are handed back as the scan goes), so a 1 GB notebook of images
needs a few MB. When the text itself is large, it is decoded straight from the
mapping (no ``bytes`` copy), non-ASCII text in it turned into JSON ``\\uXXXX``
escapes first (so the decoded text takes one byte per character, not two or
four), the mapping is closed before parsing, and with ``drop_media`` the values of
non-text mime types (``application/pdf``, widget state, ...) are dropped as soon as
the parser has built their bundle.
"""

from __future__ import annotations

import codecs
import json
import mmap
import os
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from audiometrics.errors import NotebookError
from audiometrics.model import CodeCell, Notebook, cell_label

__all__ = ["read_notebook", "parse_notebook", "text_of", "cells_never_run", "LARGE_FILE_BYTES"]

#: Files at least this large are memory-mapped, and (with ``drop_media=None``)
#: parsed with binary payloads dropped.
LARGE_FILE_BYTES = 64 * 1024 * 1024

#: Mime types whose values are kept by ``drop_media``: the only ones extraction reads.
_TEXT_MIMES = frozenset({"text/html", "text/plain", "text/markdown"})

_BOM = codecs.BOM_UTF8


def text_of(value: Any) -> str:
    """Join a notebook multiline string (``str`` or list of ``str``) into one ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return ""


def read_notebook(path: str | os.PathLike[str], *, drop_media: bool | None = False) -> Notebook:
    """Read and check the notebook at ``path``.

    Raises :class:`NotebookError` for a file that is missing, binary, not JSON,
    truncated, not a notebook, or of an unsupported nbformat version.

    ``drop_media=True`` replaces the value of every mime type other than
    ``text/html``, ``text/plain`` and ``text/markdown`` (images, PDFs, widget
    and plotly JSON, ...) by ``""`` while parsing, which bounds memory on
    notebooks full of media; ``None`` does so for files of
    :data:`LARGE_FILE_BYTES` or more only. Extraction reads none of those values.
    """
    name = os.fspath(path)
    return _read_notebook(name, name, drop_media)


def _read_notebook(location: str, name: str, drop_media: bool | None, *, skim: bool = False, plain: bool = False) -> Notebook:
    """Read the file at ``location``, naming it ``name`` in the result and in errors.

    ``skim`` (implied by dropping media) parses the file without its image payloads
    (:func:`_without_images`), whose values then read as ``""``. If that copy does
    not parse, the file is read again as it is (``plain``), so that errors describe
    the file itself.
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
                    _check_bytes(content, name)
                    content = _without_images(content) or content
    except FileNotFoundError:
        raise NotebookError(name, "no such file") from None
    except IsADirectoryError:
        raise NotebookError(name, _directory_reason(location)) from None
    except OSError as exc:
        raise NotebookError(name, f"cannot be read ({exc.strerror or exc})") from None
    hook = _drop_media if drop else None
    if not skim:
        return _parse(content, name, hook)
    try:
        return _parse(content, name, hook)
    except NotebookError:
        del content
    return _read_notebook(location, name, drop_media, plain=True)


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
            stripped = _without_images(mapped)
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


#: How the key of an image payload starts, as bytes in the file. Images are most of a
#: notebook's bytes, and their values are JSON strings of base64 (or SVG) text that
#: extraction never reads. (Only images: looking for a key that a file lacks costs a
#: scan of the whole file, as much as skipping an image saves.)
_IMAGE_KEY_START = b'"image/'
_IMAGE_KEY = re.compile(rb'"image/[A-Za-z0-9.+\-]+"[ \t\r\n]*:[ \t\r\n]*"')
_BACKSLASH = ord("\\")
_RELEASE_BYTES = 32 * 1024 * 1024


def _without_images(buffer: bytes | mmap.mmap) -> bytes | None:
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


def _drop_media(obj: dict) -> dict:
    """``object_hook``: empty the values of non-text mime types as soon as their bundle is built."""
    for key in [k for k in obj if "/" in k and k not in _TEXT_MIMES]:
        obj[key] = ""
    return obj


def parse_notebook(data: bytes | str, path: str = "<notebook>", *, drop_media: bool = False) -> Notebook:
    """Parse notebook JSON (bytes or text) into a :class:`Notebook`; see :func:`read_notebook`."""
    return _parse(data, path, _drop_media if drop_media else None)


def _parse(data: bytes | str, path: str, hook) -> Notebook:
    document = _load_json(data, path, hook)
    del data
    if not isinstance(document, dict):
        raise NotebookError(path, f"not a notebook: the JSON top level is a {type(document).__name__}, not an object")
    major = document.get("nbformat")
    if major is None:
        raise NotebookError(path, "not a notebook: no 'nbformat' key")
    if not isinstance(major, int) or isinstance(major, bool):
        raise NotebookError(path, f"not a notebook: 'nbformat' is {major!r}, not an integer")
    if major < 4:
        document = _upgrade(document, major, path)
        notes: tuple[str, ...] = (f"converted from nbformat {major} to 4",)
    elif major > 4:
        raise NotebookError(path, f"unsupported nbformat version {major} (only 4, and 3 by conversion, are supported)")
    else:
        notes = ()
    minor = document.get("nbformat_minor", 0)
    cells = document.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(path, "not a notebook: missing or malformed 'cells' list")
    code_cells = _code_cells(cells, path)
    ordered, order, order_note = _execution_order(code_cells)
    if order_note:
        notes = notes + (order_note,)
    return Notebook(
        path=path,
        cells=tuple(ordered),
        order=order,
        nbformat=4,
        nbformat_minor=minor if isinstance(minor, int) else 0,
        notes=notes,
    )


def _load_json(data: bytes | str, path: str, hook=None) -> Any:
    if isinstance(data, (bytes, bytearray)):
        _check_bytes(data, path)
        text = _decode(data, path)
    else:
        text = data
        if not text or text.isspace():
            raise NotebookError(path, "empty file")
    del data
    try:
        try:
            return json.loads(text, object_hook=hook)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer too long for int(): parse again, reading long ones as floats
            return json.loads(text, object_hook=hook, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        end = _content_end(text)
        runs_to_end = exc.msg.startswith("Unterminated string") and "\n" not in text[exc.pos : end]
        if exc.pos >= end - 1 or runs_to_end:
            reason = f"truncated JSON: the file ends before the document does (line {exc.lineno})"
        else:
            reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise NotebookError(path, reason) from None
    except RecursionError:
        raise NotebookError(path, "invalid JSON: nested too deeply") from None


#: Longest integer literal read as an ``int`` when a document holds a longer one
#: (Python's limit on int-string conversion, which bounds its quadratic cost).
_MAX_INT_DIGITS = 4300


def _json_int(literal: str) -> int | float:
    """An integer literal of the JSON text: an int, or a float when too long for :func:`int`.

    JSON numbers are doubles to most readers; a float keeps the magnitude (or is
    ``inf``), read in linear time. Extraction reads no such number.
    """
    if len(literal.lstrip("-")) <= _MAX_INT_DIGITS:
        return int(literal)
    return float(literal)


#: Byte-order marks of the encodings other than UTF-8 that JSON text may be in
#: (a notebook saved through a Windows shell's redirection is UTF-16).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(data: bytes) -> str:
    """The encoding a byte-order mark at the start of ``data`` names; UTF-8 (BOM or not) otherwise."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            return encoding
    return "utf-8-sig"


def _decode(data: bytes, path: str) -> str:
    """The text of the file: UTF-8, or UTF-16/32 when it starts with their byte-order mark and a JSON document."""
    encoding = _bom_encoding(data)
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


def _check_bytes(data: bytes, path: str) -> None:
    if not data or data.isspace():
        raise NotebookError(path, "empty file")
    if b"\x00" in data[:8192] and _bom_encoding(data[:4]) == "utf-8-sig":
        raise NotebookError(path, "binary file, not a notebook (contains NUL bytes)")


def _content_end(text: str) -> int:
    """``len(text.rstrip())`` without copying the text."""
    end = len(text)
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _upgrade(document: dict, major: int, path: str) -> dict:
    if major != 3:
        raise NotebookError(path, f"unsupported nbformat version {major} (only 4, and 3 by conversion, are supported)")
    try:
        import nbformat

        converted = nbformat.convert(nbformat.from_dict(document), 4)
    except Exception as exc:  # nbformat raises a variety of types on malformed v3
        raise NotebookError(path, f"nbformat 3 notebook that cannot be converted to 4 ({type(exc).__name__}: {exc})") from None
    return json.loads(json.dumps(converted))


def _code_cells(cells: list, path: str) -> list[CodeCell]:
    code: list[CodeCell] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise NotebookError(path, f"not a notebook: cell {index} is not an object")
        kind = cell.get("cell_type")
        if kind is None:
            raise NotebookError(path, f"not a notebook: cell {index} has no 'cell_type'")
        if kind != "code":
            continue
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list):
            raise NotebookError(path, f"not a notebook: cell {index} has a malformed 'outputs' list")
        count = cell.get("execution_count")
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            count = None  # never ran, or its count was stripped (some tools write 0)
        code.append(
            CodeCell(
                index=index,
                execution_count=count,
                source=text_of(cell.get("source", "")),
                outputs=tuple(o for o in outputs if isinstance(o, dict)),
            )
        )
    return code


def cells_never_run(cells: Iterable[CodeCell]) -> frozenset[int]:
    """Document indices of the code cells that never ran.

    A cell shows it ran by an execution count or an output. When some cell has a
    count, the cells below the last cell that shows it ran never ran (a cell above
    it with neither ran and had its output cleared). When no cell has a count (they
    were stripped, as nbdev and course repositories do), every cell ran, unless no
    cell has an output either: then the notebook was never run.
    """
    cells = list(cells)
    counted, last = False, -1
    for cell in cells:
        if cell.execution_count is not None:
            counted, last = True, max(last, cell.index)
        elif cell.outputs:
            last = max(last, cell.index)
    if not counted and last >= 0:
        return frozenset()
    return frozenset(c.index for c in cells if c.index > last)


def _execution_order(cells: list[CodeCell]) -> tuple[list[CodeCell], str, str | None]:
    """Every code cell, in execution order where the counts tell it, cells that never ran last.

    Cells with a count run in count order; a cell that ran without one (its count
    stripped, or still running when the notebook was saved) runs right after the
    cell above it in the document. With no count at all, document order. When a
    count repeats (two kernel sessions, or a copied cell) the counts cannot order
    anything: document order, said in a note. Cells that never ran
    (:func:`cells_never_run`) follow in document order.
    """
    never = cells_never_run(cells)
    ran = [c for c in cells if c.index not in never]
    tail = [c for c in cells if c.index in never]
    counts = [c.execution_count for c in ran if c.execution_count is not None]
    repeated = sorted(n for n, k in Counter(counts).items() if k > 1)
    in_document_order = counts == sorted(counts)
    uncounted = [c for c in ran if c.execution_count is None]
    if repeated:
        shown = ", ".join(map(str, repeated[:5])) + (", …" if len(repeated) > 5 else "")
        why = f"execution count{'s' if len(repeated) > 1 else ''} {shown} repeat (the kernel was restarted, or a cell copied)"
        differs = "" if in_document_order else ", which differs from execution-count order"
        return ran + tail, "document", f"cells taken in document order ({why}){differs}"
    if not counts:  # stripped: document order, every cell as run (nothing to warn about)
        return ran + tail, "document", None
    # a ran cell without a count is placed by the cell above it: said when that is a guess
    # (it shows output, or the counts reorder the cells); a cleared cell in order is not worth a word
    guessed = [c for c in uncounted if c.outputs or not in_document_order]
    note = None
    if guessed:
        shown = ", ".join(cell_label(c.index, None) for c in guessed[:5]) + (", …" if len(guessed) > 5 else "")
        note = (
            f"{len(guessed)} cell{'s' if len(guessed) > 1 else ''} that ran without an execution count ({shown}) "
            f"taken right after the cell above {'them' if len(guessed) > 1 else 'it'}"
        )
    if in_document_order:
        return ran + tail, "document" if uncounted else "execution", note
    ordered = "cells taken in execution order, which differs from document order"
    return _by_count(ran) + tail, "execution", f"{ordered}; {note}" if note else ordered


def _by_count(cells: list[CodeCell]) -> list[CodeCell]:
    """Cells with a count in count order, each followed by the uncounted cells below it in the document."""
    groups: list[list[CodeCell]] = [[]]
    for cell in cells:
        if cell.execution_count is not None:
            groups.append([cell])
        else:
            groups[-1].append(cell)
    head, rest = groups[0], groups[1:]
    rest.sort(key=lambda group: group[0].execution_count or 0)
    return head + [cell for group in rest for cell in group]
