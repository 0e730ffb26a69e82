"""The structure layer: a parsed document checked to be a notebook, upgraded to nbformat 4.

Only the keys extraction relies on are checked (no nbformat validation of the
whole document, which is slow on notebooks full of media); nbformat 3 documents
are converted with :mod:`nbformat`.  Every problem becomes a
:class:`~audiometrics.errors.NotebookError` naming the file and the reason.
"""

from __future__ import annotations

import json
from typing import Any

from audiometrics.errors import NotebookError

__all__ = ["check_structure"]


def check_structure(document: Any, path: str) -> tuple[list, int, tuple[str, ...]]:
    """The cells list of a notebook ``document`` (as nbformat 4), its ``nbformat_minor``, and notes.

    The note says when the document was converted from nbformat 3.
    """
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
    return cells, minor if isinstance(minor, int) else 0, notes


def _upgrade(document: dict, major: int, path: str) -> dict:
    """An nbformat 3 ``document`` converted to 4, as plain JSON values; any other version refused."""
    if major != 3:
        raise NotebookError(path, f"unsupported nbformat version {major} (only 4, and 3 by conversion, are supported)")
    try:
        import nbformat

        converted = nbformat.convert(nbformat.from_dict(document), 4)
    except Exception as exc:  # nbformat raises a variety of types on malformed v3
        raise NotebookError(path, f"nbformat 3 notebook that cannot be converted to 4 ({type(exc).__name__}: {exc})") from None
    return json.loads(json.dumps(converted))

