"""Read a notebook file into a :class:`~audiometrics.model.Notebook`.

Only JSON parsing happens here (no nbformat validation of the whole document,
which is slow on notebooks full of media): the keys extraction relies on are
checked, and every problem becomes a :class:`~audiometrics.errors.NotebookError`
naming the file and the reason.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from audiometrics.errors import NotebookError
from audiometrics.model import CodeCell, Notebook

__all__ = ["read_notebook", "parse_notebook", "text_of"]


def text_of(value: Any) -> str:
    """Join a notebook multiline string (``str`` or list of ``str``) into one ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return ""


def read_notebook(path: str | os.PathLike[str]) -> Notebook:
    """Read and check the notebook at ``path``.

    Raises :class:`NotebookError` for a file that is missing, binary, not JSON,
    truncated, not a notebook, or of an unsupported nbformat version.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise NotebookError(name, "no such file") from None
    except IsADirectoryError:
        raise NotebookError(name, "is a directory, not a notebook file") from None
    except OSError as exc:
        raise NotebookError(name, f"cannot be read ({exc.strerror or exc})") from None
    return parse_notebook(data, name)


def parse_notebook(data: bytes | str, path: str = "<notebook>") -> Notebook:
    """Parse notebook JSON (bytes or text) into a :class:`Notebook`; see :func:`read_notebook`."""
    document = _load_json(data, path)
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


def _load_json(data: bytes | str, path: str) -> Any:
    if isinstance(data, bytes):
        if not data.strip():
            raise NotebookError(path, "empty file")
        if b"\x00" in data[:8192]:
            raise NotebookError(path, "binary file, not a notebook (contains NUL bytes)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise NotebookError(path, f"not UTF-8 text (byte {exc.start}): not a notebook") from None
    else:
        text = data
        if not text.strip():
            raise NotebookError(path, "empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        end = len(text.rstrip())
        runs_to_end = exc.msg.startswith("Unterminated string") and "\n" not in text[exc.pos : end]
        if exc.pos >= end - 1 or runs_to_end:
            reason = f"truncated JSON: the file ends before the document does (line {exc.lineno})"
        else:
            reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise NotebookError(path, reason) from None
    except RecursionError:
        raise NotebookError(path, "invalid JSON: nested too deeply") from None


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
        if not isinstance(count, int) or isinstance(count, bool):
            count = None
        code.append(
            CodeCell(
                index=index,
                execution_count=count,
                source=text_of(cell.get("source", "")),
                outputs=tuple(o for o in outputs if isinstance(o, dict)),
            )
        )
    return code


def _execution_order(cells: list[CodeCell]) -> tuple[list[CodeCell], str, str | None]:
    """Cells that ran, in execution order when the counts allow it.

    A cell ran when it has an execution count or outputs. Execution order is used
    when every such cell has a count and no count repeats (a kernel restart
    reuses counts, which makes the order unknowable); otherwise document order.
    """
    executed = [c for c in cells if c.execution_count is not None or c.outputs]
    counts = [c.execution_count for c in executed if c.execution_count is not None]
    in_document_order = counts == sorted(counts)
    missing = sum(1 for c in executed if c.execution_count is None)
    repeated = [n for n, k in Counter(counts).items() if k > 1]
    if missing == 0 and not repeated:
        ordered = sorted(executed, key=lambda c: c.execution_count or 0)
        if in_document_order:
            return ordered, "execution", None
        return ordered, "execution", "cells taken in execution order, which differs from document order"
    if in_document_order:
        return executed, "document", None
    if repeated:
        why = f"execution count{'s' if len(repeated) > 1 else ''} {', '.join(map(str, sorted(repeated)[:5]))} repeat (kernel restarted)"
    else:
        why = f"{missing} executed cell{'s' if missing > 1 else ''} without an execution count"
    return executed, "document", f"cells taken in document order ({why}), which differs from execution-count order"
