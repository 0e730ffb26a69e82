"""What alignment says about a notebook, grouped: one line for a finding many phases, runs or cells share.

:class:`Finding` is a diagnostic before grouping; :func:`group` makes the
notebook's :class:`~audiometrics.model.Diagnostic` lines: the same finding for
many phases or runs of a cell is one line (``phases 11–1000 (learn.fit(1)): no
epochs recorded``), and the same message in :data:`SAME_MESSAGE_CELLS` cells or
more is one line naming them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from audiometrics.model import CodeCell, Diagnostic

__all__ = ["Finding", "group", "SAME_MESSAGE_CELLS"]


@dataclass(eq=False)
class Finding:
    """A diagnostic before grouping: ``run``/``phase`` say what its message is about."""

    cell: CodeCell | None
    message: str  # for a phase finding, what follows "phase N"
    run: Any = None  # the run (alignment's builder) it is about, when one
    phase: int | None = None
    no_table: bool = False  # "no table saved": said once for the notebook when it has no table at all


def _numbers(values: Sequence[int]) -> str:
    """``1–3, 5, 7–1000``: sorted, with runs of consecutive numbers as ranges."""
    ordered = sorted(set(values))
    parts: list[str] = []
    start = previous = ordered[0]
    for value in ordered[1:] + [None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(str(start) if start == previous else f"{start}–{previous}")
        if value is not None:
            start = previous = value
    return ", ".join(parts)


def group(path: str, findings: Sequence[Finding], ordinals: dict[int, int | None]) -> list[Diagnostic]:
    """Diagnostics from findings, the same finding for many phases, runs or times said once.

    Findings are grouped per cell: first the phases of one run with the same
    message, then the runs with the same phases and message; identical other
    findings become one, with the number of times. The order is that of each
    group's first finding.
    """
    if not findings:
        return []
    by_phase: dict[tuple, list] = {}
    for f in findings:
        cell = f.cell.index if f.cell is not None else None
        count = f.cell.execution_count if f.cell is not None else None
        run = ordinals.get(id(f.run)) if f.run is not None else None
        by_phase.setdefault((cell, count, run, f.phase is not None, f.message), []).append(f.phase)
    by_run: dict[tuple, list] = {}
    for (cell, count, run, phased, message), phases in by_phase.items():
        shown = (_numbers(phases), len(set(phases)) > 1) if phased else None
        times = 1 if phased else len(phases)
        by_run.setdefault((cell, count, shown, message, times), []).append(run)
    diagnostics = []
    for (cell, count, shown, message, times), runs in by_run.items():
        head = []
        numbered = sorted({r for r in runs if r is not None})
        if numbered:
            head.append(f"run{'s' if len(numbered) > 1 else ''} {_numbers(numbered)}")
        if shown is not None:
            head.append(f"phase{'s' if shown[1] else ''} {shown[0]}")
            text = ", ".join(head) + message
        else:
            text = f"{', '.join(head)}: {message}" if head else message
        if times > 1:
            text += f" ({times} times)"
        diagnostics.append(Diagnostic(path, text, cell, count))
    return _across_cells(diagnostics)


#: The same message in at least this many cells is said once for all of them.
SAME_MESSAGE_CELLS = 3


def _across_cells(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic for a message repeated in :data:`SAME_MESSAGE_CELLS` cells or more, at its first cell."""
    if len(diagnostics) < SAME_MESSAGE_CELLS:
        return diagnostics
    by_message: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_message.setdefault(d.message, []).append(d)
    if all(len(same) < SAME_MESSAGE_CELLS for same in by_message.values()):
        return diagnostics
    out: list[Diagnostic] = []
    for d in diagnostics:
        same = by_message[d.message]
        if len(same) < SAME_MESSAGE_CELLS:
            out.append(d)
        elif d is same[0]:
            others = [o.where for o in same[1:]]
            shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
            out.append(replace(d, message=f"{d.message} (also in {len(others)} more cells: {shown})"))
    return out
