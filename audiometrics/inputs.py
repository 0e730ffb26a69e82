"""Turn command-line inputs (files, directories, globs) into notebook paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

__all__ = ["collect_notebooks"]

_GLOB_CHARS = frozenset("*?[")


def _walk(directory: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints" and not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".ipynb"))
    return found


def collect_notebooks(inputs: Iterable[str]) -> list[str]:
    """Expand ``inputs`` into notebook paths, in input order, each path once.

    A directory contributes every ``*.ipynb`` below it (recursively, skipping
    ``.ipynb_checkpoints`` and hidden folders, sorted). A pattern with ``*``, ``?``
    or ``[`` that does not name an existing file is expanded here, for shells
    that do not expand globs; directories it matches are walked. Anything else
    is passed through as a file path, so that a missing file is reported by the
    reader with its name.
    """
    seen: set[str] = set()
    paths: list[str] = []

    def add(path: str) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            paths.append(path)

    for item in inputs:
        if os.path.isdir(item):
            for path in _walk(item):
                add(path)
        elif not os.path.exists(item) and _GLOB_CHARS & set(item):
            matches = sorted(glob.glob(item, recursive=True))
            for match in matches:
                if os.path.isdir(match):
                    for path in _walk(match):
                        add(path)
                elif ".ipynb_checkpoints" not in match.split(os.sep):
                    add(match)
            if not matches:
                add(item)
        else:
            add(item)
    return paths
