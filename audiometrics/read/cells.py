"""The cells layer: a notebook's code cells as :class:`~audiometrics.model.CodeCell`\\ s, in document order.

Which order they ran in is alignment's business (:mod:`audiometrics.runs.order`).
"""

from __future__ import annotations

from typing import Any

from audiometrics.errors import NotebookError
from audiometrics.model import CodeCell

__all__ = ["code_cells", "text_of"]


def text_of(value: Any) -> str:
    """Join a notebook multiline string (``str`` or list of ``str``) into one ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        try:
            return "".join(value)  # the usual case, at C speed
        except TypeError:  # a malformed part: keep the strings
            return "".join(part for part in value if isinstance(part, str))
    return ""


def code_cells(cells: list, path: str) -> list[CodeCell]:
    """The code cells of a notebook's ``cells`` list; :class:`NotebookError` for a malformed cell."""
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
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        code.append(
            CodeCell(
                index=index,
                execution_count=count,
                source=text_of(cell.get("source", "")),
                outputs=tuple(o for o in outputs if isinstance(o, dict)),
                tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
            )
        )
    return code

