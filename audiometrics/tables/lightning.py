"""``lightning``: PyTorch Lightning's text progress bar (``TQDMProgressBar``).

Lightning draws one tqdm bar per epoch and redraws it with ``\\r`` after every
step; in Jupyter without ipywidgets tqdm prints text, so a cell's stream holds
lines such as::

    Epoch 9: 100%|██████████| 56/56 [00:01<00:00, 40.02it/s, loss=0.484, v_num=0, val_loss=0.47]

(Lightning 1.x, ``loss`` the running training loss) or, with ``self.log(...,
prog_bar=True)``, ``train_loss_step=…, val_loss=…, train_loss_epoch=…``.
``Sanity Checking``, ``Training`` and ``Validation DataLoader 0`` bars are drawn
between the epochs; they are not epochs.

What an epoch's row is: the **last** redraw of its ``Epoch N:`` bar anywhere in
the stream.  Validation runs after the training steps and its metrics are added
to the epoch's bar afterwards (in Jupyter that last redraw opens the *next*
line, before ``Epoch N+1:``), so the last redraw holds the epoch's own
validation values; the last epoch is printed twice (the second is the same
epoch, one row).  Every ``\\r`` segment of a line is read, not only the one
shown: the segment shown on a line is the next epoch's first, whose
validation values are the previous epoch's.  A bar that shows validation
metrics on an epoch during which no validation bar ran (``check_val_every_n_epoch``)
repeats an earlier epoch's values: they are left empty, with a note.

A notebook saved with each line's last redraw only (no ``\r`` left) holds, per
epoch, the bar drawn before its validation (showing the previous epoch's
validation values) and the Validation bars; an epoch's own validation values are
then on the next epoch's first bar, the last epoch's on its bar drawn again at
the end.  An epoch with no bar after its validation has no validation values
(those shown are an earlier epoch's): left empty, with a note.  Blanks before
the first ``Epoch`` line (a cleared bar) are skipped.

A table starts only on a line that also shows a bar only Lightning draws
(``Sanity Checking``, ``Training``, ``Validation``, or ``v_num=`` in the
postfix): a hand-written loop's ``tqdm(desc=f"Epoch {e}")`` bar is not
Lightning's (the loop's own epoch lines are read by :mod:`.loops`; a loop
with only such bars is flagged by :mod:`.suspect`).  A new table starts where the epoch number goes down or a new fit's ``Sanity
Checking``/``Training`` bar appears after epochs.  Columns: ``epoch``, the
postfix values mapped by :func:`lightning_column`, ``time`` (the bar's elapsed
time, as displayed).  Every pattern is linear in the line.
"""

from __future__ import annotations

import re

from audiometrics.model import ProgressTable
from audiometrics.tables.loops import metric_column
from audiometrics.tables.text import ANSI

__all__ = ["FORMAT", "LightningBar", "lightning_column"]

_EPOCH = re.compile(r"Epoch (\d{1,9})(?:/\d{1,9})?: ")
# "Epoch 3:  40%|████      | 10/25 [00:01<00:02, 7.1it/s, loss=0.4]" or a bar of unknown length "| 10/? [".
_BAR = re.compile(r"[^|\[\]]{0,40}\|[^|\[\]]{0,200}\|? {0,8}\d{1,12}/(?:\d{1,12}|\?) \[([0-9:]{1,12})<[^,\]]{0,20}(?:,([^\]]*))?\]")
_PAIR = re.compile(r"\s{0,8}([A-Za-z_][\w/.\-]{0,80})=([^,]{0,60})")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:nan|inf)$")
_NEW_FIT = ("Sanity Checking", "Training: ", "Training:|")
_VALIDATION = ("Validation", "Validating")
_CONFIRM = ("Validation DataLoader", "Sanity Checking")  # bars only Lightning draws
_SKIP = frozenset({"v_num", "it/s", "s/it"})  # the logger's version number, not a metric


def lightning_column(name: str) -> str:
    """The CSV column of a name in Lightning's bar postfix.

    ``loss``, ``train_loss``, ``train_loss_epoch`` → ``train_loss``; ``val_loss`` →
    ``valid_loss``; the rest by :func:`~audiometrics.tables.loops.metric_column`
    (a validation prefix dropped, training names kept with theirs).  ``_epoch``
    suffixes (``self.log(on_epoch=True)``'s epoch mean) are dropped; ``_step``
    values (the last step's) keep their suffix.

    >>> [lightning_column(n) for n in ("loss", "train_loss_epoch", "val_loss", "val_acc", "train_loss_step")]
    ['train_loss', 'train_loss', 'valid_loss', 'acc', 'train_loss_step']
    """
    if name.endswith("_epoch") and len(name) > 6:
        name = name[:-6]
    return metric_column(name)


def _segment_row(segment: str) -> tuple[int, dict[str, str], str] | None:
    """(epoch, postfix values, elapsed time) of one redraw of an ``Epoch N:`` bar; None for anything else."""
    m = _EPOCH.match(segment)
    if m is None:
        return None
    bar = _BAR.match(segment, m.end())
    if bar is None:
        return None
    values: dict[str, str] = {}
    for item in (bar.group(2) or "").split(","):
        pair = _PAIR.match(item)
        if pair is None:
            continue
        key, value = pair.group(1), pair.group(2).strip()
        if key not in _SKIP and _NUMBER.match(value):
            values[key] = value
    return int(m.group(1)), values, bar.group(1)


class _Table:
    """An open Lightning table: each epoch's last redraw, and whether a validation bar ran in it."""

    def __init__(self) -> None:
        self.epochs: dict[int, tuple[dict[str, str], str]] = {}
        self.validated: set[int] = set()
        self.current: int | None = None
        self.any_validation = False
        self.signed = False  # a bar only Lightning draws was seen (Sanity Checking, Training, Validation, v_num)
        self.awaiting: int | None = None  # the epoch whose validation ran and whose bar has not been drawn since
        self.after: set[int] = set()  # epochs whose bar was drawn again after their validation
        self.carried: dict[int, dict[str, str]] = {}  # an epoch's validation values, from the next epoch's bar


def _segments(line: str) -> list[str]:
    if "\x1b" in line:
        line = ANSI.sub("", line)
    return [s.strip() for s in line.split("\r")] if "\r" in line else [line.strip()]


class LightningBar:
    """Lightning's per-epoch tqdm bars on a stream; one table per fit."""

    name = "lightning"
    framework = "lightning"
    markers = ("Ep",)  # (shared with the loop format: one scan)
    #: Offered each line with its ``\r`` redraws (:mod:`.streams`): an epoch's values are its last redraw's.
    redrawn = True

    def wants(self, head: str) -> bool:
        # "Epoch N:" lines; redrawn lines start with "\r", read anyway; a cleared bar's blanks (a
        # Sanity Checking bar, saved without its "\r") may stand before the first epoch's line
        return head == "E" or head == " "

    def _read(self, table: _Table, line: str, fresh: bool) -> bool | None:
        """Add ``line``'s redraws to ``table``; None: the line starts a new fit (or goes back in epochs).

        Only each epoch's last redraw in the line is parsed (a line may hold thousands).
        """
        took = False
        last: dict[int, str] = {}
        for segment in _segments(line):
            if not segment:
                continue
            head = segment[0]
            if head == "E":
                m = _EPOCH.match(segment)
                if m is None:
                    continue
                epoch = int(m.group(1))
                if not fresh and table.current is not None and epoch < table.current:
                    return None
                table.current = epoch
                last[epoch] = segment
                if table.awaiting is not None:
                    _redrawn(table, epoch, segment)
            elif head == "V" and segment.startswith(_VALIDATION):
                table.signed = True
                if table.current is not None:
                    table.validated.add(table.current)
                    table.any_validation = True
                    table.awaiting = table.current
                took = True
            elif head in "ST" and segment.startswith(_NEW_FIT):
                if (table.epochs or last) and not fresh:
                    return None
                table.signed = True
        for epoch, segment in last.items():
            row = _segment_row(segment)
            if row is not None:
                table.signed = table.signed or "v_num=" in segment
                table.epochs[epoch] = row[1:]
                took = True
        return took

    def start(self, line: str) -> _Table | None:
        if "Epoch " not in line:
            return None
        table = _Table()
        self._read(table, line, True)
        return table if table.epochs and table.signed else None

    def tentative(self, line: str) -> _Table | None:
        """A table an ``Epoch N:`` bar with no mark of Lightning's opens once a Lightning bar follows (:meth:`confirms`).

        A bar saved without its ``\r`` redraws (and without ``v_num``: no logger)
        shows no Sanity Checking bar before it; the Validation bars after it tell.
        """
        if "Epoch " not in line or "\r" in line:
            return None
        table = _Table()
        self._read(table, line, True)
        return table if table.epochs and not table.signed else None

    def confirms(self, state: _Table, line: str) -> bool | None:
        """Whether ``line`` shows the tentative table is Lightning's: True, False, or None (taken, not yet).

        Only bars a hand-written loop does not draw confirm it: ``Validation DataLoader``,
        ``Sanity Checking``, ``v_num=``; a plain ``Validation:`` bar is taken and waits.
        """
        segments = [s for s in _segments(line) if s]
        if not segments or any(s[:1] == "E" and _EPOCH.match(s) and "v_num=" not in s for s in segments):
            return False
        if any(s.startswith(_CONFIRM) or "v_num=" in s for s in segments):
            return self._read(state, line, False) is not None
        if all(s.startswith(_VALIDATION) for s in segments):
            self._read(state, line, False)
            return None
        return False

    def add(self, state: _Table, line: str) -> bool:
        if "Epoch " not in line and "Validat" not in line and "Sanity" not in line and "Training" not in line:
            return False
        return bool(self._read(state, line, False))

    def close(self, state: _Table, index: int) -> ProgressTable:
        names: list[str] = []
        for values, _ in state.epochs.values():
            for key in values:
                if key not in names:
                    names.append(key)
        for values in state.carried.values():
            for key in values:
                if key not in names:
                    names.append(key)
        columns = _columns(names)
        stale: list[int] = []
        unseen: list[int] = []
        rows = []
        for epoch in sorted(state.epochs):
            values, elapsed = state.epochs[epoch]
            if state.any_validation and epoch not in state.validated and any(_is_validation(k) for k in values):
                values = {k: v for k, v in values.items() if not _is_validation(k)}
                stale.append(epoch)
            elif epoch in state.validated and epoch not in state.after:
                # the epoch's last bar was drawn before its validation: its own values are on the next
                # epoch's first bar, or nowhere (the bar shows an earlier epoch's)
                carried = state.carried.get(epoch)
                if carried is not None or any(_is_validation(k) for k in values):
                    values = {k: v for k, v in values.items() if not _is_validation(k)}
                    if carried is not None:
                        values.update(carried)
                    else:
                        unseen.append(epoch)
            rows.append((str(epoch), *(values.get(name, "") for name in names), elapsed))
        notes: tuple[str, ...] = ()
        if stale:
            shown = ", ".join(map(str, stale[:5])) + (", …" if len(stale) > 5 else "")
            notes = (
                f"Lightning bar: no validation ran in epoch{'s' if len(stale) > 1 else ''} {shown}; the validation "
                "values its bar shows are an earlier epoch's: left empty",
            )
        if unseen:
            shown = ", ".join(map(str, unseen[:5])) + (", …" if len(unseen) > 5 else "")
            notes += (
                f"Lightning bar: no bar was drawn after the validation of epoch{'s' if len(unseen) > 1 else ''} "
                f"{shown}; the validation values shown before it are an earlier epoch's: left empty",
            )
        return ProgressTable(("epoch", *columns, "time"), tuple(rows), self.name, index, notes=notes)


def _redrawn(table: _Table, epoch: int, segment: str) -> None:
    """An ``Epoch N:`` redraw after the validation of ``table.awaiting``: that epoch's own, or the next one's first.

    The next epoch's first redraw still shows the validation values of the epoch
    before it; when no redraw of that epoch came in between (a notebook saved with
    each line's last redraw only), they are its validation values.
    """
    awaiting = table.awaiting
    if awaiting is None or epoch < awaiting:
        return
    table.awaiting = None
    if epoch == awaiting:
        table.after.add(epoch)
        return
    row = _segment_row(segment)
    if row is not None:
        carried = {k: v for k, v in row[1].items() if _is_validation(k)}
        if carried:
            table.carried[awaiting] = carried


def _is_validation(name: str) -> bool:
    return name.lower().startswith(("val", "valid"))


def _columns(names: list[str]) -> list[str]:
    """CSV columns for the postfix ``names``: mapped, the epoch mean preferred, clashes kept apart.

    ``train_loss_epoch`` wins ``train_loss`` over ``loss``/``train_loss``; a bare
    name that clashes with a validation name's column gets ``train_``.
    """
    mapped = [lightning_column(n) for n in names]
    out: list[str] = []
    for k, (name, column) in enumerate(zip(names, mapped)):
        clash = [j for j, c in enumerate(mapped) if c == column and j != k]
        if clash:
            if name.endswith("_epoch"):
                pass  # the epoch mean keeps the column
            elif _is_validation(name) and not any(names[j].endswith("_epoch") for j in clash):
                pass
            elif not name.startswith("train"):
                column = "train_" + column if not column.startswith("train") else column + "_running"
            else:
                column = name
        while column in out or column in ("epoch", "time"):
            column = f"metric_{column}"
        out.append(column)
    return out


FORMAT = LightningBar()
