"""The order cells are taken in: execution order where the counts tell it, cells that never ran last.

This is alignment's policy, not the reader's: :mod:`audiometrics.read` returns a
notebook's code cells in document order, and :func:`in_execution_order` orders
them before tables and training calls are matched, saying in a note when the
order is a guess or differs from the document's.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from audiometrics.model import CodeCell, Notebook, cell_label

__all__ = ["in_execution_order", "cells_never_run", "execution_order"]


def in_execution_order(notebook: Notebook) -> Notebook:
    """``notebook`` with its cells in execution order (:func:`execution_order`), its ``order`` and a note set."""
    cells, order, note = execution_order(list(notebook.cells))
    notes = notebook.notes + (note,) if note else notebook.notes
    return dataclasses.replace(notebook, cells=tuple(cells), order=order, notes=notes)


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


def execution_order(cells: list[CodeCell]) -> tuple[list[CodeCell], str, str | None]:
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
        return ran + tail, "document", _repeated_note(repeated, in_document_order)
    if not counts:  # stripped: document order, every cell as run (nothing to warn about)
        return ran + tail, "document", None
    # a ran cell without a count is placed by the cell above it: said when that is a guess
    # (it shows output, or the counts reorder the cells); a cleared cell in order is not worth a word
    note = _guessed_note([c for c in uncounted if c.outputs or not in_document_order])
    if in_document_order:
        return ran + tail, "document" if uncounted else "execution", note
    ordered = "cells taken in execution order, which differs from document order"
    return _by_count(ran) + tail, "execution", f"{ordered}; {note}" if note else ordered


def _repeated_note(repeated: list[int], in_document_order: bool) -> str:
    """Why the cells are taken in document order when execution counts repeat."""
    shown = ", ".join(map(str, repeated[:5])) + (", …" if len(repeated) > 5 else "")
    why = f"execution count{'s' if len(repeated) > 1 else ''} {shown} repeat (the kernel was restarted, or a cell copied)"
    differs = "" if in_document_order else ", which differs from execution-count order"
    return f"cells taken in document order ({why}){differs}"


def _guessed_note(guessed: list[CodeCell]) -> str | None:
    """The note on cells that ran without a count and were placed by the cell above them (None for none)."""
    if not guessed:
        return None
    shown = ", ".join(cell_label(c.index, None) for c in guessed[:5]) + (", …" if len(guessed) > 5 else "")
    return (
        f"{len(guessed)} cell{'s' if len(guessed) > 1 else ''} that ran without an execution count ({shown}) "
        f"taken right after the cell above {'them' if len(guessed) > 1 else 'it'}"
    )


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
