"""The failure summary of a bulk extraction: which files failed and why, grouped by reason.

A failure's *kind* is its reason without the particulars ("invalid JSON at line
3, column 5: Expecting value" → "invalid JSON"), so that two thousand broken
files read as a few lines of counts. :func:`write_errors_csv` writes every
failure as a ``path,reason`` CSV, atomically.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence

from audiometrics.atomic import write_atomic
from audiometrics.errors import NotebookError

__all__ = ["reason_kind", "group_failures", "summary_lines", "write_errors_csv", "render_errors_csv", "ERRORS_CSV_COLUMNS", "STRICT_REASON"]

ERRORS_CSV_COLUMNS = ("path", "reason")

#: How the reason of a file failed under ``strict`` starts; its warnings follow.
STRICT_REASON = "warnings (strict)"

_PARTICULARS = (
    re.compile(r"\s*\(.*$"),  # "cannot be read (Permission denied)", "binary file, not a notebook (contains NUL bytes)"
    re.compile(r"\s+at line \d+.*$"),  # "invalid JSON at line 3, column 5"
)


def reason_kind(reason: str) -> str:
    """The kind of a failure reason: its text before the first ``:``, without the particulars."""
    if reason.startswith(STRICT_REASON):
        return STRICT_REASON
    head = reason.split(":", 1)[0].strip()
    for pattern in _PARTICULARS:
        head = pattern.sub("", head)
    return head or reason.strip() or "unknown"


def group_failures(failures: Iterable[NotebookError]) -> list[tuple[str, list[NotebookError]]]:
    """``(kind, failures)`` pairs: the largest group first, ties in order of first appearance;
    failures within a group keep their order."""
    groups: dict[str, list[NotebookError]] = {}
    for failure in failures:
        groups.setdefault(reason_kind(failure.reason), []).append(failure)
    order = {kind: index for index, kind in enumerate(groups)}
    return sorted(groups.items(), key=lambda item: (-len(item[1]), order[item[0]]))


def summary_lines(
    failures: Sequence[NotebookError],
    total: int,
    *,
    per_group: int | None = None,
    errors_path: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The end-of-run summary: ``error: PATH: REASON`` lines grouped by kind, then the counts.

    ``per_group`` lists at most that many files of each kind (the count says how
    many more; ``errors_path`` is named as where they all are). Empty when
    nothing failed.
    """
    if not failures:
        return []
    grouped = group_failures(failures)
    lines: list[str] = []
    for kind, members in grouped:
        shown = members if per_group is None else members[:per_group]
        lines.extend(f"error: {failure}" for failure in shown)
        if len(shown) < len(members):
            where = f"; all in {os.fspath(errors_path)}" if errors_path is not None else ""
            lines.append(f"error: ... and {len(members) - len(shown)} more: {kind}{where}")
    noun = "notebook" if total == 1 else "notebooks"
    lines.append(f"failed: {len(failures)} of {total} {noun}, by reason:")
    width = len(str(max(len(members) for _, members in grouped)))
    lines.extend(f"  {len(members):>{width}}  {kind}" for kind, members in grouped)
    return lines


def render_errors_csv(failures: Iterable[NotebookError]) -> str:
    """``path,reason`` CSV text, one row per failure, in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ERRORS_CSV_COLUMNS)
    writer.writerows((failure.path, failure.reason) for failure in failures)
    return buffer.getvalue()


def write_errors_csv(path: str | os.PathLike[str], failures: Iterable[NotebookError]) -> None:
    """Write the failures to ``path`` as CSV, atomically (a header alone when none failed)."""
    write_atomic(path, render_errors_csv(failures))
