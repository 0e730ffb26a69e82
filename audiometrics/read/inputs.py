"""Turn command-line inputs (files, directories, globs) into notebook paths.

Folders are searched, and ``**`` globs expanded, by one walker that follows
symbolic links to folders but enters each folder (by device and inode) once, so
a link loop neither repeats notebooks nor hangs the search. A notebook reached
through several names is listed once, under the first. A folder that cannot be
listed is passed on in place of its notebooks, so that reading it fails with the
reason, as for a missing file: one error per folder, and a non-zero exit.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from collections.abc import Iterable, Iterator

__all__ = ["collect_notebooks"]

_GLOB_CHARS = frozenset("*?[")
_SKIPPED_FOLDERS = frozenset({".ipynb_checkpoints"})


class _Walker:
    """Folders entered so far (device, inode, pattern position): each is entered once."""

    def __init__(self) -> None:
        self.entered: set[tuple[int, int, int]] = set()

    def enter(self, path: str, position: int = -1) -> bool:
        """Whether ``path`` is a folder not yet entered at ``position`` of a pattern (-1: a folder search)."""
        try:
            st = os.stat(path)
        except OSError:
            return True  # listing it will fail and report it
        key = (st.st_dev, st.st_ino, position)
        if key in self.entered:
            return False
        self.entered.add(key)
        return True

    def walk(self, directory: str) -> Iterator[str]:
        """Every ``*.ipynb`` below ``directory``, depth first, sorted, each folder's files before its subfolders.

        Hidden folders and ``.ipynb_checkpoints`` are skipped. A folder that cannot
        be listed is yielded itself.
        """
        stack = [directory]
        while stack:
            folder = stack.pop()
            if not self.enter(folder):
                continue
            entries = _list(folder)
            if entries is None:
                yield folder
                continue
            yield from sorted(os.path.join(folder, name) for name, is_dir in entries if not is_dir and name.endswith(".ipynb"))
            subfolders = sorted(name for name, is_dir in entries if is_dir and not _hidden(name))
            stack.extend(os.path.join(folder, name) for name in reversed(subfolders))

    def glob(self, pattern: str) -> list[str]:
        """The paths ``pattern`` matches (``**``: any number of folders), sorted; unlistable folders included."""
        if "**" not in pattern:
            return sorted(glob.glob(pattern))
        parts = (pattern.replace(os.altsep, os.sep) if os.altsep else pattern).split(os.sep)
        fixed = 0
        while fixed < len(parts) - 1 and not glob.has_magic(parts[fixed]):
            fixed += 1
        base = os.sep.join(parts[:fixed]) or (os.sep if pattern.startswith(os.sep) else "")
        return sorted(set(self._match(base, parts[fixed:])))

    def _match(self, base: str, parts: list[str]) -> Iterator[str]:
        """Paths under ``base`` ('' for the current folder) matching the pattern components ``parts``."""
        stack = [(base, 0)]
        while stack:
            path, k = stack.pop()
            if k == len(parts):
                if path and os.path.lexists(path):
                    yield path
                continue
            part = parts[k]
            if not glob.has_magic(part):
                stack.append((os.path.join(path, part) if path else part, k + 1))
                continue
            folder = path or os.curdir
            if not os.path.isdir(folder) or (part == "**" and not self.enter(folder, k)):
                continue  # (a folder met again through a link loop matches nothing new)
            entries = _list(folder)
            if entries is None:
                yield folder
                continue
            found = []
            for name, is_dir in sorted(entries):
                child = os.path.join(path, name) if path else name
                if part == "**":
                    if is_dir and not _hidden(name):
                        found.append((child, k))
                elif fnmatch.fnmatchcase(name, part) and (part.startswith(".") or not name.startswith(".")):
                    if k + 1 == len(parts):
                        yield child  # (listed: it exists)
                    elif is_dir:
                        found.append((child, k + 1))
            if part == "**":
                found.insert(0, (path, k + 1))  # ``**`` standing for no folder at all
            stack.extend(reversed(found))  # popped in sorted order: the first name of a folder is entered first


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED_FOLDERS


def _list(folder: str) -> list[tuple[str, bool]] | None:
    """``(name, is a folder)`` for each entry of ``folder`` (links followed); None when it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            entries = []
            for entry in it:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                entries.append((entry.name, is_dir))
            return entries
    except OSError:
        return None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _identity(path: str, st: os.stat_result | None) -> object:
    """What ``path`` names: its file (device and inode, links followed), or the absolute path of a missing one."""
    if st is None:
        return os.path.normcase(os.path.abspath(path))
    return (st.st_dev, st.st_ino)


def collect_notebooks(inputs: Iterable[str]) -> list[str]:
    """Expand ``inputs`` into notebook paths, in input order, each notebook once.

    A directory contributes every ``*.ipynb`` below it (recursively, following
    links to folders, skipping ``.ipynb_checkpoints`` and hidden folders, sorted).
    A pattern with ``*``, ``?`` or ``[`` that does not name an existing file is
    expanded here, for shells that do not expand globs; directories it matches
    are walked. Anything else is passed through as a file path, so that a
    missing file is reported by the reader with its name; so is a folder that
    cannot be listed. A file reached under several names (links, ``..``) is
    listed once, under the first name given (hard links are one file too).
    """
    walker = _Walker()
    seen: set[object] = set()
    paths: list[str] = []

    def add(path: str, st: os.stat_result | None = None) -> None:
        key = _identity(path, st or _stat(path))
        if key not in seen:
            seen.add(key)
            paths.append(path)

    for item in inputs:
        if os.path.isdir(item):
            for path in walker.walk(item):
                add(path)
        elif not os.path.exists(item) and _GLOB_CHARS & set(item):
            matches = walker.glob(item)
            for match in matches:
                st = _stat(match)
                if st is not None and stat.S_ISDIR(st.st_mode):
                    for path in walker.walk(match):
                        add(path)
                elif ".ipynb_checkpoints" not in match.split(os.sep):
                    add(match, st)
            if not matches:
                add(item)
        else:
            add(item)
    return paths
