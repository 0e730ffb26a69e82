"""``keras``: the epoch lines Keras' ``Progbar`` prints on stdout during ``model.fit``.

Every Keras generation prints an ``Epoch k/N`` header (only when ``epochs > 1``
since Keras 2.1; Keras 2.0 always) and then one progress line per epoch, redrawn
in place (``\\b`` and ``\\r``) until its final state, which holds the epoch's
values.  Shapes read, as shown once the redraws are applied (:mod:`.text`):

==================  ===========================================================================
Keras 3, verbose=1  ``459/459 ━━━━━━━━━━━━━━━━━━━━ 36s 79ms/step - accuracy: 0.71 - loss: 0.54 - val_accuracy: …``
Keras 3, verbose=2  ``14/14 - 0s - 9ms/step - accuracy: 0.71 - loss: 0.54``
Keras 2, verbose=1  ``459/459 [==============================] - 36s 79ms/step - loss: 0.54 - accuracy: 0.71``
Keras 2, verbose=2  ``14/14 - 0s - loss: 0.54 - accuracy: 0.71 - 124ms/epoch - 9ms/step``
Keras 2.0–2.2       ``150/150 [====] - 0s - loss: 1.0997``, ``0s - loss: 1.0997`` / `` - 0s - loss: …`` (verbose=2),
                    after ``Train on 150 samples, validate on 38 samples``
==================  ===========================================================================

A table is one ``fit``: it opens at an ``Epoch k/N`` header (or Keras 2.0's
``Train on …`` line) and takes, for each following header ``k+1/N``, the final
progress line after it (``current == target``, no ``ETA``).  Callback lines
(``Epoch 6: early stopping``, ``Restoring model weights …``, ModelCheckpoint's and
ReduceLROnPlateau's ``Epoch 3: …`` messages) belong to the table; a final line
drawn again after such a message, with the same steps and values and more (the
validation values), replaces the epoch's row.  A final line no
header asked for is ``fit(epochs=1)`` (no header since Keras 2.1) or
``evaluate()``: it is a table of its own with one row, and alignment decides which
by the calls of the cell; a final line with no value at all (``predict()``) is a
blank display (a slot for its call).  An epoch whose header has no final line
(a crash, an interrupt) leaves the table ``interrupted``.

Columns are CSV column names (:func:`audiometrics.frameworks.keras.csv_column`):
``epoch`` is the epoch as displayed (``Epoch 2/3`` → ``2``), ``time`` the
displayed elapsed time of the epoch (``36s``).
"""

from __future__ import annotations

import re

from audiometrics.frameworks.keras import csv_column
from audiometrics.model import ProgressTable

__all__ = ["FORMAT", "Keras", "progress_line"]

_HEADER = re.compile(r"^Epoch (\d{1,9})/(\d{1,9})\s*$")
_PRELUDE = re.compile(r"^Train on \d+ samples(?:, validate on \d+ samples)?\s*$")
_CALLBACK = re.compile(r"^Epoch \d{1,9}: (?![\d. ]*%)")  # (not another library's ``Epoch 3: 45%|██`` bar)
_EARLY_STOP = re.compile(r"^Epoch (\d{1,9}): early stopping")
_RESTORE = re.compile(r"^Restoring model weights from the end of the best epoch(?:: (\d{1,9}))?")
_COUNTS = re.compile(r"^\s*(\d{1,12})/(\d{1,12}|Unknown)( \[[=>.]*\]| [━]*(?= |$))?")
_ELAPSED = re.compile(r"^\s*(\d{1,9})s$")  # the epoch's elapsed time part of Keras 2 (``0s``)
_ELAPSED_STEP = re.compile(r"^\s*(\d{1,9})s (?:\d{1,9}(?:s|ms|us)/\w+)$")  # ``36s 79ms/step``
_PER_UNIT = re.compile(r"^\d{1,9}(?:s|ms|us)/\w+$")  # ``9ms/step``, ``124ms/epoch``
_PAIR = re.compile(r"^([^\s:][^:]{0,99}?): (.*)$", re.S)
_NUMBER = re.compile(r"-?(?:\d{1,30}(?:\.\d{0,30})?(?:e[-+]?\d{1,4})?|nan|inf)", re.I)


def progress_line(line: str) -> tuple[bool, str, tuple[tuple[str, str], ...]] | None:
    """A Keras ``Progbar`` line as shown: (final, elapsed time, metric (name, value) pairs); None otherwise.

    ``final`` is the epoch's last state (``current == target``, or a verbose=2 line,
    which only ever prints at the end).  Text glued after the last value (a warning
    printed into the line) is dropped.

    Examples
    --------
    >>> progress_line("14/14 [==============================] - 1s 10ms/step - loss: 0.5407 - val_loss: 0.5179")
    (True, '1s', (('loss', '0.5407'), ('val_loss', '0.5179')))
    >>> progress_line(" 3/14 [====>.........................] - ETA: 2s - loss: 0.61")[0]
    False
    >>> progress_line("0s - loss: 1.0997 - val_loss: 1.0996")
    (True, '0s', (('loss', '1.0997'), ('val_loss', '1.0996')))
    >>> progress_line("Epoch 1/3") is None
    True
    """
    counts = _COUNTS.match(line)
    final, timed = True, False  # (a verbose=2 line prints only at the end)
    if counts is not None:
        done, target, bar = counts.groups()
        timed = bool(bar)
        final = done == target
        rest = line[counts.end() :]
        parts = rest.split(" - ")
        first = parts[0].strip()
        if first:  # Keras 3 puts the time after the bar: ``━━━ 36s 79ms/step``
            if not _ELAPSED_STEP.match(first) and not _ELAPSED.match(first):
                return None
            parts[0] = first
        else:
            parts = parts[1:]
    else:
        parts = line.split(" - ")
        if parts and not parts[0].strip():
            parts = parts[1:]  # Keras 2.2's verbose=2: `` - 0s - loss: …``
        if not parts or not _ELAPSED.match(parts[0]):
            return None
    read = _read_parts(parts)
    if read is None:
        return None
    eta, elapsed, metrics = read
    final, timed = final and not eta, timed or eta
    if counts is None and (not metrics or not elapsed):
        return None
    if counts is not None and not (timed or elapsed):
        return None  # ``3/10`` alone: no bar, no time, not a progress line
    return final, elapsed, metrics


def _read_parts(parts: list[str]) -> tuple[bool, str, tuple[tuple[str, str], ...]] | None:
    """(an ``ETA`` shown, the elapsed time, the metric pairs) of a progress line's `` - ``-separated parts.

    A metric whose value is no number (an array a custom metric returns) is left
    out and the next ones are read; text that is no ``name: value`` part ends the
    values (a warning glued to the line), as does text glued to a value.
    """
    eta, elapsed = False, ""
    metrics: list[tuple[str, str]] = []
    for part in parts:
        if part.startswith("ETA: "):
            eta = True
            continue
        if not metrics and not elapsed:
            time = _ELAPSED_STEP.match(part) or _ELAPSED.match(part)
            if time is not None:
                elapsed = time.group(1) + "s"
                continue
        if _PER_UNIT.match(part.strip()):
            continue
        pair = _PAIR.match(part)
        if pair is None:
            if metrics:
                break  # junk after the values
            return None
        value = _NUMBER.match(pair.group(2))
        if value is None:
            continue  # not a number: left out
        metrics.append((pair.group(1), value.group()))
        if value.end() < len(pair.group(2).rstrip()):
            break  # junk glued to the value
    return eta, elapsed, tuple(metrics)


class _Table:
    """One ``fit``'s epochs as they are read."""

    __slots__ = ("total", "last", "pending", "rows", "headerless", "blank", "stopped", "restored", "target", "alone")

    def __init__(self, total: int | None = None, last: int = 0, pending: int | None = None) -> None:
        self.total = total  # N of ``Epoch k/N``; None before the first header (after ``Train on``)
        self.last = last  # the last header's k
        self.pending = pending  # the epoch whose final line is awaited
        self.rows: list[tuple[int, str, tuple[tuple[str, str], ...]]] = []  # (displayed epoch, time, metrics)
        self.headerless = False
        self.blank = False
        self.stopped: str | None = None
        self.restored: str | None = None
        self.target: str | None = None  # the step count of the last row's final line, while it may be redrawn
        self.alone = False  # a final line nothing announced (no header, no ``Train on``): fit(epochs=1) or evaluate()


class Keras:
    """Keras ``Progbar`` epochs: a header opens a table, final progress lines fill it."""

    name = "keras"
    framework = "keras"
    # Every fit prints an ``Epoch`` header or a time per step (Keras >= 2.1); ``poch`` also stands
    # for the console format's ``epoch``, so one scan serves both.
    markers = ("poch", "s/step", "s/sample")

    def wants(self, head: str) -> bool:
        return head in "ERT " or head.isdigit()

    def start(self, line: str) -> _Table | None:
        head = line[:1]
        if head == "E":
            header = _HEADER.match(line) if line[-1:].isdigit() or line[-1:].isspace() else None
            if header is None:
                return None
            k, n = int(header.group(1)), int(header.group(2))
            if not 1 <= k <= n:  # Keras counts 1..N (initial_epoch included): "Epoch 0/24" is a loop's print
                return None
            return _Table(n, k, k)
        if head == "T":
            return _Table() if _PRELUDE.match(line) else None
        if head == " " and not line.lstrip(" ")[:1].isdigit() and not line.startswith(" - "):
            return None  # (cheap: most indented lines)
        found = progress_line(line)
        if found is None or not found[0]:
            return None
        table = _Table(1, 1)
        if found[2]:
            table.headerless = table.alone = True
            table.rows.append((1, found[1], found[2]))
            counts = _COUNTS.match(line)
            table.target = counts.group(2) if counts is not None else None
        else:
            table.blank = True  # predict(): a bar with no values
        return table

    def add(self, table: _Table, line: str) -> bool:
        if table.blank:
            return False
        head = line[:1]
        if head == "E":
            header = _HEADER.match(line)
            if header is not None:
                return self._header(table, int(header.group(1)), int(header.group(2)))
            if _CALLBACK.match(line) is None:
                return False
            stop = _EARLY_STOP.match(line)
            if stop is not None:
                table.stopped = stop.group(1)
            return True
        restore = _RESTORE.match(line) if head == "R" else None
        if restore is not None:
            table.restored = restore.group(1) or ""
            return True
        prelude = table.total is None and not table.rows  # ``Train on N samples``: a header or the one line of epochs=1
        if table.pending is None and not prelude:
            return self._redraw(table, line) if table.target is not None else False
        found = progress_line(line)
        if found is None:
            return False
        final, elapsed, metrics = found
        if prelude:
            if not (final and metrics):
                return True
            table.total, table.last, table.pending, table.headerless = 1, 1, 1, True
        if final and metrics:
            table.rows.append((table.pending, elapsed, metrics))
            table.pending = None
            counts = _COUNTS.match(line)
            table.target = counts.group(2) if counts is not None else None
        return True  # (a bar still moving: the epoch's final line may follow)

    @staticmethod
    def _redraw(table: _Table, line: str) -> bool:
        """The last row's bar drawn again after a callback's line, now with validation values: the row's values.

        Keras 3 may draw an epoch's bar at its last step before validation, and
        again at the epoch's end with the validation values; a callback printing
        in between (ModelCheckpoint's ``Epoch 3: val_loss improved …``) leaves both
        on the stream.  The second is the same bar only when it counts the same
        steps and repeats the row's values, adding new ones (evaluate() after a
        fit draws a bar of its own, with no more names than the fit's).
        """
        found = progress_line(line)
        counts = _COUNTS.match(line)
        if found is None or counts is None or counts.group(2) != table.target or not found[0]:
            return False
        epoch, _, shown = table.rows[-1]
        before, after = dict(shown), dict(found[2])
        if len(after) <= len(before) or any(after.get(name) != value for name, value in before.items()):
            return False
        table.rows[-1] = (epoch, found[1], found[2])
        table.target = None
        return True

    @staticmethod
    def _header(table: _Table, k: int, n: int) -> bool:
        if table.headerless:
            return False
        if table.total is None:  # the first header after ``Train on``
            table.total, table.last, table.pending = n, k, k
            return True
        if n != table.total or k <= table.last or k == 1:
            return False
        table.last, table.pending, table.target = k, k, None
        return True

    def close(self, table: _Table, index: int) -> ProgressTable:
        if table.blank:
            return ProgressTable((), (), self.name, index, blank=True)
        names: dict[str, None] = {}
        for _, _, metrics in table.rows:
            for name, _ in metrics:
                names.setdefault(name, None)
        columns = ("epoch", *(csv_column(name) for name in names), "time")
        rows = []
        for epoch, elapsed, metrics in table.rows:
            values = dict(metrics)
            rows.append((str(epoch), *(values.get(name, "") for name in names), elapsed))
        notes = []
        if table.stopped is not None:  # (the printed epoch numbers count from 0 or 1 by version: the rows tell)
            of = f" of {table.total}" if table.total else ""
            restored = ""
            if table.restored is not None:
                best = f" (epoch {int(table.restored)})" if table.restored else ""
                restored = f"; the weights of its best epoch{best} were restored"
            notes.append(f"EarlyStopping ended the fit after {len(rows)}{of} epochs{restored}")
        interrupted = table.pending is not None and table.total is not None and not table.headerless
        return ProgressTable(
            columns if rows else (),
            tuple(rows),
            self.name,
            index,
            interrupted=interrupted,
            notes=tuple(notes),
            headerless=table.alone,
        )


FORMAT = Keras()
