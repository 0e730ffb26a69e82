"""Within one cell: which progress table belongs to which training call (:func:`match_cell`).

The k-th training table of a cell belongs to the k-th training phase the cell
executed; a call that draws a progress display without training (``lr_find``) owns a
display slot when the tables show one; a call planned for zero epochs may print
nothing. :mod:`audiometrics.runs.align` then puts each pair into its run.
"""

from __future__ import annotations

from typing import Optional, Tuple

from audiometrics import frameworks
from audiometrics.model import ProgressCall, ProgressTable, SourceEvent, TrainingCall
from audiometrics.tables.registry import framework_of

__all__ = ["match_cell", "Pair"]

Pair = Tuple[Optional[TrainingCall], Optional[ProgressTable]]
"""A training call and its table (either may be missing)."""


def match_cell(events: list[SourceEvent], tables: list[ProgressTable]) -> tuple[list[Pair], str | None]:
    """Pair training calls with tables; returns pairs in order and a mismatch message, if any.

    A call planned for zero epochs may print nothing at all (fastprogress 1.1) or an
    empty table (older versions): it is matched to a table only when the counts say so.
    """
    training = [e for e in events if isinstance(e, TrainingCall)]
    epoch_tables = [t for t in tables if not t.blank]
    if len(epoch_tables) == len(training):
        return list(zip(training, epoch_tables)), None
    if not epoch_tables:  # no table saved at all: each phase says so
        return [(e, None) for e in training], None
    silent = [e for e in training if e.epochs != 0]
    if len(silent) < len(training) and len(epoch_tables) == len(silent):
        return list(zip(silent, epoch_tables)), None
    # Count displays: every call that draws a progress display owns one slot,
    # blank or not (an lr_find in fastai v2, a display saved before its first update).
    displays = [e for e in events if isinstance(e, (TrainingCall, ProgressCall))]
    for candidates in (tables, epoch_tables):
        if len(candidates) == len(displays) and displays:
            pairs = [(e, t) for e, t in zip(displays, candidates) if isinstance(e, TrainingCall)]
            return [(e, None if t.blank else t) for e, t in pairs], None
    # Tables with a header and no rows that no call explains are not training tables.
    with_rows = [t for t in epoch_tables if t.rows]
    if not training:
        return _without_training(with_rows)
    if len(with_rows) == len(training):
        return list(zip(training, with_rows)), None
    return _in_order(training, epoch_tables)


def _without_training(with_rows: list[ProgressTable]) -> tuple[list[Pair], str | None]:
    """Tables in a cell whose source makes no training call: kept with no call, and said.

    A progress line no epoch header asked for is evaluate()'s result (Keras prints
    ``fit(epochs=1)`` and ``evaluate()`` alike): not an epoch. A hand-written loop's
    tables have no training call to find: nothing to say about them.
    """
    results = sum(1 for t in with_rows if t.headerless)
    with_rows = [t for t in with_rows if not t.headerless]
    result = (
        f"{results} progress line{'s' if results > 1 else ''} with no epoch header and no training call in the "
        "cell's source: read as evaluate()'s result, not an epoch (no rows)"
        if results
        else None
    )
    if not with_rows:
        return [], result
    if all(_without_calls(t) for t in with_rows):
        return [(None, t) for t in with_rows], result
    unknown = (
        f"{len(with_rows)} progress table{'s' if len(with_rows) > 1 else ''} with epoch rows but no training call "
        "found in the cell's source; rows kept with an unknown learning rate"
    )
    return [(None, t) for t in with_rows], "; ".join(m for m in (unknown, result) if m)


def _in_order(training: list[TrainingCall], epoch_tables: list[ProgressTable]) -> tuple[list[Pair], str]:
    """Calls and tables whose counts disagree, paired in order, and the message that says so."""
    pairs: list[Pair] = []
    for k in range(max(len(training), len(epoch_tables))):
        pairs.append((training[k] if k < len(training) else None, epoch_tables[k] if k < len(epoch_tables) else None))
    calls = list(dict.fromkeys(c.call_text or c.method for c in training))
    message = (
        f"{len(epoch_tables)} training table{'s' if len(epoch_tables) != 1 else ''} for {len(training)} training "
        f"phase{'s' if len(training) != 1 else ''} ({', '.join(calls[:3])}{', …' if len(calls) > 3 else ''}); matched in order"
    )
    return pairs, message


def _without_calls(table: ProgressTable) -> bool:
    """Whether ``table`` is printed by code with no training method to call (a plain loop's epoch lines)."""
    name = framework_of(table.format)
    return any(f.name == name and not f.training_methods for f in frameworks.registered())
