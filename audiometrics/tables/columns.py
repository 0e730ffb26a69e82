"""``columns``: an epoch table a hand-written loop prints itself, a header line then a row per epoch.

A header names the columns, the first an epoch (``epoch``, ``ep``, ``Epoch #``), at
least one a loss or a metric, separated by ``|``, tabs or runs of two or more blanks
(a name may hold one blank: ``Train Loss``); each row has as many fields, separated
the same way (by any blanks where the header used blanks), the first an epoch
number (``3`` or ``3/10``), the others numbers, percentages or times as displayed.
Rule lines (``-----+-----``, ``=====``) are skipped. Anything else ends the table.

    epoch | train_loss | val_loss | acc    | lr
    ------+------------+----------+--------+---------
        1 |     0.5918 |   0.3706 | 88.54% | 1.00e-01

    Epoch   Train Loss   Valid Loss   Accuracy
        1       0.6931       0.6928     0.5012

Column names by :func:`~audiometrics.tables.loops.metric_column` (``val_loss`` →
``valid_loss``); a printed pandas frame (its index a column the header lacks) is
no such table: the field counts differ.

>>> fmt = ColumnLines()
>>> state = fmt.start("epoch | train_loss | val_loss | acc")
>>> fmt.add(state, "------+------------+----------+-----"), fmt.add(state, "    1 | 0.5918 | 0.3706 | 88.54%")
(True, True)
>>> fmt.add(state, "done.")
False
>>> table = fmt.close(state, 0)
>>> table.columns, table.rows
(('epoch', 'train_loss', 'valid_loss', 'acc'), (('1', '0.5918', '0.3706', '88.54%'),))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from audiometrics.model import ProgressTable
from audiometrics.tables.loops import VALUE, metric_column

__all__ = ["FORMAT", "ColumnLines"]

_EPOCH_NAME = re.compile(r"(?:epoch|ep)s? ?#?", re.I)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.%@/()-]*(?: [A-Za-z][A-Za-z0-9_.%@/()-]*)?")
_EPOCH_VALUE = re.compile(r"(\d{1,7})(?: ?/ ?\d{1,7})?")
_RULE = re.compile(r"[-=+|: ]{3,}")
_WIDE_BLANKS = re.compile(r" {2,}|\t")
_METRIC_WORDS = ("loss", "acc", "f1", "auc", "err", "score", "mse", "mae", "rmse", "ppl", "bleu", "iou", "dice",
                 "precision", "recall", "map", "top1", "top5", "r2", "wer", "cer", "nll", "lwlrap")


@dataclass
class _Table:
    columns: tuple[str, ...]
    pipes: bool
    rows: list[tuple[str, ...]] = field(default_factory=list)


def _fields(line: str, pipes: bool, header: bool) -> list[str]:
    """The fields of ``line``: between ``|``, else between tabs or wide blanks (a header) or any blanks (a row)."""
    if pipes:
        parts = line.strip().strip("|").split("|")
    elif header:
        parts = _WIDE_BLANKS.split(line.strip())
        if len(parts) == 1:
            parts = line.split()
    else:
        parts = line.split()
    return [part.strip() for part in parts]


class ColumnLines:
    """Epoch tables a loop prints as a header and aligned rows."""

    name = "columns"
    framework = "loop"
    markers = ("epoch", "Epoch", "EPOCH", "Ep ", "ep ")

    def wants(self, head: str) -> bool:
        return head in "EeP| \t-=+" or head.isdigit()

    def start(self, line: str) -> _Table | None:
        if len(line) > 400 or not line[:1] or line.lstrip()[:1] not in "EeP|":
            return None
        pipes = "|" in line
        names = _fields(line, pipes, header=True)
        if len(names) < 2 or not _EPOCH_NAME.fullmatch(names[0]) or not all(_NAME.fullmatch(n) for n in names[1:]):
            return None
        if not any(word in name.lower() for name in names[1:] for word in _METRIC_WORDS):
            return None
        return _Table(("epoch", *(metric_column(n) for n in names[1:])), pipes)

    def add(self, state: _Table, line: str) -> bool:
        if not line.strip():
            return False
        if _RULE.fullmatch(line.strip()):
            return True  # a rule under the header or between rows
        values = _fields(line, state.pipes, header=False)
        if len(values) != len(state.columns):
            return False
        epoch = _EPOCH_VALUE.fullmatch(values[0])
        if epoch is None or not all(VALUE.fullmatch(v) for v in values[1:]):
            return False
        state.rows.append((str(int(epoch.group(1))), *values[1:]))
        return True

    def close(self, state: _Table, index: int) -> ProgressTable:
        if not state.rows:
            return ProgressTable(state.columns, (), self.name, index, blank=True)
        return ProgressTable(state.columns, tuple(state.rows), self.name, index)


FORMAT = ColumnLines()
