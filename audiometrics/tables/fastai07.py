"""``fastai07``: the epoch tables fastai 0.6 and 0.7 print on stdout (2018 course, Kaggle kernels).

fastai 0.7 (``fastai/model.py``, ``fit``) prints one header per fit call, at its
first epoch, then one row per epoch::

    epoch      trn_loss   val_loss   accuracy
        0      0.048835   0.026254   0.991211

The header is ``"{!s:10} " * len(names)`` of ``epoch``, ``trn_loss``,
``val_loss``, the metrics' ``__name__`` (and ``swa_loss``, ``swa_<metric>`` with
SWA, whose values only epochs from ``swa_start`` on carry); a row is
``"{!s:^10}" + " {!s:10}" * n`` of the epoch (an ``int`` counted from 0) and the
``str`` of numpy floats rounded to 6 decimals, so a long value shifts the rest
of the row: rows are split on white space.

fastai 0.6 prints ``print(np.round([epoch, debias_loss] + vals, 6))``: no header,
one numpy array per epoch (``[ 0.       0.04955  0.02605  0.98975]`` before
numpy 1.14, ``[0.      0.04955 0.02605 0.98975]`` after; scientific notation when
the values span a wide range; wrapped over several lines past 75 characters).
The epoch counts from 0 in each fit call, so a table starts at an epoch 0 row
and a row whose epoch is not the previous one plus one starts another.  A row
must look printed by that code (every value a multiple of 1e-6, not all whole
numbers), which keeps user-printed arrays out.

Column names for the CSV: ``trn_loss`` is ``train_loss``, ``val_loss`` is
``valid_loss``, metrics as printed; 0.6 tables are ``epoch, train_loss,
valid_loss, metric_1 … metric_k`` with a note.  Values are kept as displayed,
except a 0.6 epoch (``0.``, ``1.00000000e+00``), written as the whole number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from audiometrics.model import ProgressTable

__all__ = ["FORMAT", "Fastai07"]

#: ``str()`` of a numpy float (0.7 rows): ``0.048835``, ``1e-06``, ``12.0``, ``nan``, ``-inf``.
_STR_FLOAT = re.compile(r"^(?:-?\d+(?:\.\d+)?(?:e[-+]\d+)?|nan|-?inf)$")
#: An element of a printed numpy float array (0.6 rows): ``0.``, ``0.04955``, ``1.23e-05``, ``1.e-05``.
_ARRAY_FLOAT = re.compile(r"^(?:-?\d+\.\d*(?:e[-+]\d+)?|nan|-?inf)$")
_DIGITS = re.compile(r"^\d{1,9}$")
_NAMES = {"trn_loss": "train_loss", "val_loss": "valid_loss"}
_MAX_VALUES = 64  # values in one row at most (a fit's metrics are a handful)
_MAX_WRAPPED = 16  # lines one wrapped 0.6 array may span


def header_columns(line: str) -> tuple[str, ...] | None:
    """The CSV columns of a fastai 0.7 header line, None when ``line`` is not one.

    The names must start ``epoch trn_loss val_loss``, or be laid out exactly as
    ``"{!s:10} " * len(names)`` prints them (which fastprogress' console headers
    for fastai v1/v2, two spaces between names padded to 8, never are).

    >>> header_columns("epoch      trn_loss   val_loss   accuracy   ")
    ('epoch', 'train_loss', 'valid_loss', 'accuracy')
    >>> header_columns("epoch     train_loss  valid_loss  accuracy  time") is None
    True
    """
    names = line.split()
    if len(names) < 3 or names[0] != "epoch" or len(names) > _MAX_VALUES:
        return None
    if names[1:3] != ["trn_loss", "val_loss"] and line.rstrip() != ("{!s:10} " * len(names)).format(*names).rstrip():
        return None
    return tuple(_NAMES.get(name, name) for name in names)


def stats_row(line: str) -> tuple[int, tuple[str, ...]] | None:
    """The epoch and values of a fastai 0.7 ``print_stats`` row, None when ``line`` is not one.

    >>> stats_row("    0      0.048835   0.026254   0.991211   ")
    (0, ('0', '0.048835', '0.026254', '0.991211'))
    >>> stats_row("  0%|          | 0/360 [00:00<?, ?it/s]") is None
    True
    """
    tokens = line.split()
    if not 3 <= len(tokens) <= _MAX_VALUES or not _DIGITS.match(tokens[0]):
        return None
    for token in tokens[1:]:
        if not _STR_FLOAT.match(token):
            return None
    return int(tokens[0]), tuple(tokens)


def _whole(value: float) -> bool:
    return value == value and abs(value) != float("inf") and value == int(value)


def _rounded(value: float) -> bool:
    """Whether ``value`` is what ``np.round(x, 6)`` can give (a multiple of 1e-6; nan and inf pass)."""
    if value != value or abs(value) == float("inf") or abs(value) >= 1e9:
        return True
    scaled = value * 1e6
    return abs(scaled - round(scaled)) <= 1e-3


def array_row(line: str) -> tuple[int, tuple[str, ...]] | None:
    """The epoch and values of a fastai 0.6 row (a printed numpy array), None when ``line`` is not one.

    The epoch is written as the whole number it is; a non-whole epoch, a value
    that is no multiple of 1e-6, or values all whole (``[ 0.  1.  2.]``) mean
    the array is not a row.

    >>> array_row("[ 0.       0.04955  0.02605  0.98975]")
    (0, ('0', '0.04955', '0.02605', '0.98975'))
    >>> array_row("[  1.00000000e+00   1.20000000e-05   2.60510000e-02]")
    (1, ('1', '1.20000000e-05', '2.60510000e-02'))
    >>> array_row("[0.024961, 0.991211]") is None
    True
    """
    text = line.strip()
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        return None
    tokens = text[1:-1].split()
    if not 3 <= len(tokens) <= _MAX_VALUES:
        return None
    for token in tokens:
        if not _ARRAY_FLOAT.match(token):
            return None
    values = [float(token) for token in tokens]
    epoch = values[0]
    if not _whole(epoch) or not 0 <= epoch < 1e9 or not all(map(_rounded, values)):
        return None
    if all(_whole(v) for v in values[1:]):
        return None
    return int(epoch), (str(int(epoch)), *tokens[1:])


def _partial(line: str) -> bool:
    """Whether ``line`` may be the first line of a 0.6 array numpy wrapped (``[`` and values, no ``]``)."""
    text = line.rstrip()
    if text[:1] != "[" or text.endswith("]") or "\r" in line or "\b" in line or "\x1b" in line:
        return False
    tokens = text[1:].split()
    return 0 < len(tokens) < _MAX_VALUES and all(_ARRAY_FLOAT.match(t) for t in tokens)


def _continues(line: str) -> bool:
    """Whether ``line`` may continue a wrapped 0.6 array (indented values, perhaps the closing ``]``)."""
    text = line.rstrip()
    if text[:1] != " ":
        return False
    body = text[:-1] if text.endswith("]") else text
    tokens = body.split()
    return len(tokens) < _MAX_VALUES and all(_ARRAY_FLOAT.match(t) for t in tokens)


@dataclass
class _Table:
    """One table being read: a 0.7 table (``columns`` from its header) or a 0.6 one (``columns`` None)."""

    columns: tuple[str, ...] | None
    rows: list[tuple[str, ...]] = field(default_factory=list)
    last: int = -1  # the last row's epoch
    pending: list[str] = field(default_factory=list)  # the lines so far of a wrapped 0.6 array

    def take(self, epoch: int, row: tuple[str, ...]) -> bool:
        """Add a row when its epoch follows the last one (a 0.6 row: as long as the others)."""
        if epoch != self.last + 1 or (self.rows and self.columns is None and len(row) != len(self.rows[0])):
            return False
        self.rows.append(row)
        self.last = epoch
        return True

    def fits(self, row: tuple[str, ...]) -> tuple[str, ...] | None:
        """A 0.7 row against the header: whole, or without the SWA values (epochs before ``swa_start``)."""
        columns = self.columns or ()
        if len(row) == len(columns):
            return row
        swa = next((k for k, name in enumerate(columns) if name.startswith("swa_")), len(columns))
        return row + ("",) * (len(columns) - len(row)) if len(row) == swa < len(columns) else None


class Fastai07:
    """fastai 0.7 tables (a header, then rows) and fastai 0.6 tables (numpy arrays, epoch 0 first)."""

    name = "fastai07"
    framework = "fastai"
    markers = ("epoch", "[")  # (shared with the console and list formats: one scan)

    def wants(self, head: str) -> bool:
        # headers ("epoch"), 0.6 arrays ("["); rows and wrapped arrays start with blanks (read by ``add``)
        return head == "e" or head == "[" or head == " "

    def start(self, line: str) -> _Table | None:
        head = line[:1]
        if head == "e":
            columns = header_columns(line)
            return _Table(columns) if columns is not None else None
        if head == "[":
            found = array_row(line)
            if found is not None and found[0] == 0:
                table = _Table(None)
                table.take(*found)
                return table
        return None

    def tentative(self, line: str) -> _Table | None:
        """A 0.6 table whose first row numpy wrapped: held until the next lines close the array."""
        table = _Table(None)
        if not _partial(line) or not self._next_epoch(table, line):
            return None
        table.pending.append(line.rstrip())
        return table

    def confirms(self, state: _Table, line: str) -> bool | None:
        """True once the wrapped array is an epoch-0 row, None while it goes on, False otherwise."""
        if self._wrapped(state, line) is not True:
            return None if state.pending else False
        return state.last == 0

    def _wrapped(self, state: _Table, line: str) -> bool | None:
        """Read ``line`` as the next line of the pending array: True (a row added), None (more to come), False."""
        if not _continues(line) or len(state.pending) >= _MAX_WRAPPED:
            state.pending.clear()
            return False
        state.pending.append(line.rstrip())
        if not line.rstrip().endswith("]"):
            return None
        found = array_row(" ".join(state.pending))
        state.pending.clear()
        return found is not None and state.take(*found)

    def add(self, state: _Table, line: str) -> bool:
        if state.columns is not None:
            found = stats_row(line) if line[:1] == " " else None
            row = state.fits(found[1]) if found is not None else None
            return row is not None and state.take(found[0], row)  # type: ignore[index]
        if state.pending:
            if self._wrapped(state, line) is not False:
                return True
        if line[:1] != "[":
            return False
        found = array_row(line)
        if found is not None:
            return state.take(*found)
        if _partial(line) and self._next_epoch(state, line):
            state.pending.append(line.rstrip())
            return True
        return False

    @staticmethod
    def _next_epoch(state: _Table, line: str) -> bool:
        """Whether a wrapped array's first line starts with the epoch after the table's last row."""
        first = line.lstrip()[1:].split()
        try:
            return bool(first) and float(first[0]) == state.last + 1
        except ValueError:
            return False

    def close(self, state: _Table, index: int) -> ProgressTable:
        if state.columns is not None:
            return ProgressTable(state.columns, tuple(state.rows), self.name, index)
        metrics = len(state.rows[0]) - 3 if state.rows else 0
        columns = ("epoch", "train_loss", "valid_loss", *(f"metric_{k}" for k in range(1, metrics + 1)))
        notes = ()
        if metrics:
            names = "metric_1" if metrics == 1 else f"metric_1 … metric_{metrics}"
            notes = (f"fastai 0.6 prints no column names: the metrics are named {names}, in the order of metrics=",)
        return ProgressTable(columns, tuple(state.rows), self.name, index, notes=notes)


FORMAT = Fastai07()
