"""Rows shorter than their header, placed under the columns they belong to.

fastai logs fewer values than columns when training or validation is cancelled,
and fastai v1 / fastprogress 0.1.x leave values out.  Every format's parser
hands its rows to :func:`place_rows`, which places them by meaning and says why
in one note for the table.
"""

from __future__ import annotations

import re
from typing import Sequence

__all__ = ["TIME", "place_row", "place_rows", "short_rows_note"]

#: A time as fastai formats it: ``MM:SS`` or ``H:MM:SS``.
TIME = re.compile(r"^(?:\d+:)?\d\d:\d\d$")

#: Why a row is shorter than its header, as said in the table's note.
_SHORT_REASONS = {
    "train": "training cancelled: the values are the validation ones",
    "valid": "validation cancelled or absent: the values are the training ones",
    "both": "training and validation cancelled",
    "lone": "one loss for train_loss and valid_loss, taken as valid_loss (fastai logs no training values "
    "when training is cancelled); it is the training loss if validation was cancelled instead",
    "v1": "fastai v1 leaves out the values it could not compute: kept in order from the left",
    "dropped": "fastprogress 0.1.x leaves empty values out of a row: kept in order from the left, "
    "so a value after a missing one may sit in the wrong column",
    "left": "no fastai layout explains the row: values kept in order from the left",
}


def place_row(row: Sequence[str], columns: Sequence[str], left: str | None = None) -> tuple[tuple[str, ...], str | None]:
    """A row with fewer values than ``columns`` placed by meaning, and why it is short.

    fastai v2's ``Recorder`` logs ``epoch``, the training values (unless training
    was cancelled), the validation values (unless validation was cancelled), then
    the time; fastai v1 always logs the training loss and drops what it could
    not compute from the end (it writes ``#na#`` or ``''``).  So the first value
    is the epoch, an ``MM:SS`` last value is the time, and the values between
    fill the group whose size they match.  A time never lands in another column.
    ``left`` names the reason (a key of ``_SHORT_REASONS``) when the format is
    known to fill rows from the left (fastai v1 formats).  Full rows are returned
    unchanged (longer ones cut) with ``None``; a short one with its reason.
    """
    width = len(columns)
    if len(row) >= width:
        return tuple(row[:width]), None
    values = list(row)
    out = [""] * width
    has_time = width > 1 and columns[-1] == "time"
    time = values.pop() if len(values) > 1 and TIME.match(values[-1]) else None
    if values:
        out[0] = values.pop(0)
    middle = columns[1 : width - 1 if has_time else width]
    values = [v for v in values if not TIME.match(v)]  # never a time in a loss or metric column
    start, why = _placement(values, middle, left)
    for k, value in enumerate(values[: len(middle) - start]):
        out[1 + start + k] = value
    if time is not None and has_time:
        out[-1] = time
    return tuple(out), why


def _placement(values: Sequence[str], middle: Sequence[str], left: str | None) -> tuple[int, str]:
    """Where the values between the epoch and the time start among the ``middle`` columns, and why."""
    train = next((k for k, name in enumerate(middle) if not name.startswith("train")), len(middle))
    valid = len(middle) - train
    m = len(values)
    if m >= len(middle):
        return 0, "left"
    if left is not None or "#na#" in values or "" in values:  # only fastai v1 writes these
        return 0, left or "v1"
    if m == 0:
        return 0, "both"
    if m == valid and m != train:
        return train, "train"
    if m == train and m != valid:
        return 0, "valid"
    if m == train == valid:
        return train, "lone"
    return 0, "left"


def place_rows(
    rows: Sequence[Sequence[str]], columns: Sequence[str], left: str | None = None
) -> tuple[tuple[tuple[str, ...], ...], str | None]:
    """Every row placed by :func:`place_row`, and one note for the table when any was short."""
    if not rows or set(map(len, rows)) == {len(columns)}:
        return tuple(rows), None
    placed, reasons = [], []
    for row in rows:
        fixed, why = place_row(row, columns, left) if len(row) != len(columns) else (tuple(row), None)
        placed.append(fixed)
        if why is not None and len(row) < len(columns):
            reasons.append(why)
    return tuple(placed), short_rows_note(reasons)


def short_rows_note(reasons: Sequence[str]) -> str | None:
    """One line saying how many rows were short and why (``None`` when none was)."""
    if not reasons:
        return None
    counts: dict[str, int] = {}
    for why in reasons:
        counts[why] = counts.get(why, 0) + 1
    n = len(reasons)
    if len(counts) == 1:
        detail = _SHORT_REASONS[reasons[0]]
    else:
        detail = "; ".join(f"{c}: {_SHORT_REASONS[w]}" for w, c in counts.items())
    return f"{n} row{'s' if n != 1 else ''} shorter than the header ({detail}): values placed by meaning"

