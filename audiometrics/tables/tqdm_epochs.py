"""``tqdm``: a hand-written loop's tqdm bar per epoch whose postfix shows the epoch's validation values.

A loop that draws one bar per epoch (``tqdm(loader, desc=f"Epoch {e}/{EPOCHS}")``) and
puts the epoch's metrics in its postfix (``set_postfix(loss=…, val_loss=…)``) leaves,
once each bar is closed, its last redraw on a line of its own::

    Epoch 1/4: 100%|██████████| 9/9 [00:00<00:00, 592.58it/s, loss=0.6850, val_acc=0.5104, val_loss=0.7125]

A row is such a finished bar (``n/n``, the same count twice): its epoch from the
description (``Epoch 1/4``, ``epoch 1``, ``Ep 1``), the postfix pairs (names by
:func:`~audiometrics.tables.loops.metric_column`), and the elapsed time as
displayed. Only bars whose postfix holds a validation value (``val_…``, ``valid…``,
``eval…``) are read: a bar showing the running training loss alone is a progress
display, and the loop then prints its epochs itself (read by :mod:`.loops`).
Lightning's bars (``v_num=`` in the postfix) are :mod:`.lightning`'s. A new table
starts where the epoch number goes down. Every pattern is linear in the line.

>>> fmt = EpochBars()
>>> state = fmt.start("Epoch 1/4: 100%|██████████| 9/9 [00:00<00:00, 592.58it/s, loss=0.6850, val_loss=0.7125]")
>>> fmt.add(state, "Epoch 2/4: 100%|██████████| 9/9 [00:01<00:00, 890.26it/s, loss=0.6185, val_loss=0.6406]")
True
>>> table = fmt.close(state, 0)
>>> table.columns, table.rows
(('epoch', 'train_loss', 'valid_loss', 'time'), (('1', '0.6850', '0.7125', '00:00'), ('2', '0.6185', '0.6406', '00:01')))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from audiometrics.model import ProgressTable
from audiometrics.tables.loops import VALUE, metric_column

__all__ = ["FORMAT", "EpochBars"]

_BAR = re.compile(
    r"\s{0,8}(?:Epoch|epoch|EPOCH|Ep|ep)\s{0,3}[:#]?\s{0,3}(\d{1,7})(?:\s{0,3}/\s{0,3}\d{1,7})?\s{0,3}:?\s{0,3}"
    r"100%\|[^|]{0,200}\| {0,8}(\d{1,12})/(\d{1,12}) \[([0-9:]{1,12})<[^,\]]{0,20}(?:,([^\]]{0,2000}))?\]\s{0,8}"
)
_PAIR = re.compile(r"\s{0,8}([A-Za-z_][\w/.\-]{0,80})=([^,]{0,60})")
_VALIDATION = ("val", "valid", "validation", "eval", "dev")


@dataclass
class _Table:
    rows: dict[int, dict[str, str]] = field(default_factory=dict)  # epoch -> its last finished bar
    last: int = -1


def _row(line: str) -> tuple[int, dict[str, str]] | None:
    """(epoch, columns) of a finished epoch bar showing a validation value; None for any other line."""
    m = _BAR.fullmatch(line)
    if m is None or m.group(2) != m.group(3) or not m.group(5):
        return None
    columns: dict[str, str] = {}
    for part in m.group(5).split(","):
        pair = _PAIR.fullmatch(part)
        if pair is None:
            continue  # the rate ("592.58it/s") and anything that is no pair
        name, value = pair.group(1), pair.group(2).strip()
        if name == "v_num":
            return None  # Lightning's bar
        if VALUE.fullmatch(value):
            columns[metric_column(name)] = value
    named = [part.split("=", 1)[0].strip().lower() for part in m.group(5).split(",") if "=" in part]
    if not any(name.split("_", 1)[0] in _VALIDATION or name.startswith(_VALIDATION) for name in named):
        return None
    columns["time"] = m.group(4)
    return int(m.group(1)), columns


class EpochBars:
    """Finished per-epoch tqdm bars of a hand-written loop, their postfix holding the epoch's values."""

    name = "tqdm"
    framework = "loop"
    markers = ("100%|",)

    def wants(self, head: str) -> bool:
        return head in "EeP \t"

    def start(self, line: str) -> _Table | None:
        got = _row(line)
        if got is None:
            return None
        table = _Table()
        table.rows[got[0]], table.last = got[1], got[0]
        return table

    def add(self, state: _Table, line: str) -> bool:
        got = _row(line)
        if got is None:
            return not line.strip()  # (a blank line between bars)
        epoch, columns = got
        if epoch < state.last:
            return False  # a new loop: a new table
        state.rows[epoch], state.last = columns, epoch
        return True

    def close(self, state: _Table, index: int) -> ProgressTable:
        names: list[str] = []
        for columns in state.rows.values():
            names.extend(name for name in columns if name not in names and name != "time")
        header = ("epoch", *names, "time")
        rows = tuple((str(epoch), *(columns.get(name, "") for name in header[1:])) for epoch, columns in state.rows.items())
        return ProgressTable(header, rows, self.name, index)


FORMAT = EpochBars()
