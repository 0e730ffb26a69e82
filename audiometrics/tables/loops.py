"""``loop``: epoch lines a hand-written training loop prints (no framework).

One rule for the family, not one pattern per tutorial: a **record** starts at a
line opening with an *epoch marker* — ``epoch``/``ep`` (any case), an optional
``:``/``=``/``#``, an integer, optionally ``/N`` or `` of N``, optionally in
brackets (``Epoch [1/10]``) — followed only by *pairs* ``name: number``,
``name=number`` or ``name number`` (names of up to four words; values a number,
a percentage kept as displayed (``74.41%``), or a time ``7m 13s``/``12.3s``/``01:05``),
separated by ``,`` ``|`` ``;`` ``-`` brackets or blanks.  Lines made only of pairs
that follow a record belong to it (bentrevett's ``Train Loss: … | Train Acc: …``
then ``Val. Loss: …``; ``epoch: 0`` then ``train_loss: 0.261, train_acc: 0.885``;
PyTorch's transfer-learning ``train Loss: 0.56 Acc: 0.72``, where a phase word on
the first name carries to the line's other names).  Anything else on a line
(a word that is not a pair, text after the numbers) makes it no record line:
``Epoch 3 done, saving model`` is not read.

Shapes read::

    Epoch: 01 | Epoch Time: 7m 13s            (then Train Loss / Val. Loss lines)
    Ep 1 (Step 000005): Train loss 8.066, Val loss 8.332
    Epoch [1/5], Step [100/600], Loss: 0.2164
    epoch 1: train loss 0.3, val acc 0.9
    Epoch 1/10, Loss: 0.1234, Val Loss: 0.2345
    [1,  2000] loss: 2.166                     (epoch, step) in brackets: PyTorch's CIFAR-10 tutorial

Limits: this format is asked last, so a marker alone in Keras's ``Epoch N/M``
shape is Keras's header when that format reads the stream; ``test``-prefixed pairs after a record are a test
evaluation, not the epoch's; a record needs a loss- or metric-like name.  Epochs
are written as displayed (``Epoch: 01`` is ``1``), as by every format.  Lines with a ``step`` value are one row each (the
``step`` column).  A new table starts where the epoch number goes down.
Column names by :func:`metric_column`.  Every pattern is linear in the line.
"""

from __future__ import annotations

import re

from audiometrics.model import ProgressTable

__all__ = ["FORMAT", "LoopLines", "VALUE", "metric_column", "parse_pairs"]

_MARKER = re.compile(
    r"[\[(]? ?(?:epoch|ep)\b ?[:=#]? ?[\[(]? ?(\d{1,7}) ?(?:(/|of) ?(\d{1,7}))? ?[\])]? ?",
    re.I,
)
_EPOCH_STEP = re.compile(r"\[ ?(\d{1,7}), ?(\d{1,12})\] ?")
_NUM = r"[-+]?(?:\d{1,30}\.?\d{0,30}|\.\d{1,30})(?:[eE][-+]?\d{1,4})?%?|[-+]?(?:nan|inf)\b"
_TIME = r"\d{1,4}m ?\d{1,2}(?:\.\d{1,9})?s|\d{1,6}(?:\.\d{1,9})? ?(?:s|sec|secs|seconds|ms)\b|(?:\d{1,3}:)?\d{1,2}:\d\d(?:\.\d{1,9})?"
VALUE = re.compile(rf"(?:{_TIME})|(?:{_NUM})", re.I)
"""A value as a loop prints it: a number, a percentage, ``nan``, or a time (``7m 13s``, ``12.3s``, ``01:05``)."""
_WORD = r"[A-Za-z][A-Za-z0-9_.@/]{0,40}"
_PAIR = re.compile(
    rf" ?[\[(]? ?(?P<name>{_WORD}(?: {_WORD}){{0,3}}?) ?(?:[:=] ?| )[\[(]? ?"
    rf"(?P<value>(?:{_TIME})|(?:{_NUM})(?: ?/ ?\d{{1,12}})?)(?![\w.]) ?[\])]? ?[,|;:]? ?(?:- )?",
)
_METRIC_WORDS = (
    "loss", "acc", "f1", "auc", "err", "score", "mse", "mae", "rmse", "ppl", "perplexity", "bleu", "iou",
    "dice", "precision", "recall", "map", "top1", "top5", "r2", "wer", "cer", "nll", "kl", "lwlrap",
)
_PHASES = ("train", "training", "val", "valid", "validation", "eval", "dev", "test")
_VALIDATION = ("val", "valid", "validation", "eval", "dev")
_HEADS = frozenset("Ee[( \ttTvVlLaA")


def metric_column(name: str) -> str:
    """The CSV column of a metric name printed by a loop or a framework's progress line.

    The name is lower-cased, ``.`` dropped, blanks, ``/`` and ``-`` made ``_``.  Then:
    ``loss``, ``train_loss``, ``training_loss`` → ``train_loss``; a validation
    loss (``val_loss``, ``valid_loss``, ``validation_loss``, ``eval_loss``,
    ``dev_loss``) → ``valid_loss``; any other validation metric loses its prefix
    (``val_acc`` → ``acc``, like fastai's metric columns, computed on the
    validation set); training metrics keep theirs (``train_acc``); ``lr``/
    ``learning_rate`` → ``lr`` (the rate printed, not the call's).

    >>> [metric_column(n) for n in ("Train Loss", "Val. Loss", "Val. Acc", "val/f1", "Acc", "learning rate")]
    ['train_loss', 'valid_loss', 'acc', 'f1', 'acc', 'lr']
    """
    key = name.strip().lower().replace(".", "")
    key = re.sub(r"[\s/\-]+", "_", key).strip("_")
    if key in ("loss", "train_loss", "training_loss", "trn_loss", "tr_loss"):
        return "train_loss"
    if key in ("lr", "learning_rate"):
        return "lr"
    head, _, rest = key.partition("_")
    if head in _VALIDATION and rest:
        return "valid_loss" if rest == "loss" else rest
    if head == "training" and rest:
        return "train_" + rest
    return key or "unnamed"


def _is_time(name: str, value: str) -> bool:
    return "time" in name.lower() or bool(re.fullmatch(_TIME, value)) and not value.replace(".", "").isdigit()


def parse_pairs(text: str) -> list[tuple[str, str]] | None:
    """``text`` as ``(name, value)`` pairs when it is nothing but pairs; None otherwise.

    Runs of blanks count as one (the patterns allow one blank where they allow any,
    which keeps every match linear).

    >>> parse_pairs("Train Loss: 0.502 | Train Acc: 74.41%")
    [('Train Loss', '0.502'), ('Train Acc', '74.41%')]
    >>> parse_pairs("train loss 0.3, val acc 0.9")
    [('train loss', '0.3'), ('val acc', '0.9')]
    >>> parse_pairs("saving model to disk") is None
    True
    """
    text = " ".join(text.split())
    pairs: list[tuple[str, str]] = []
    pos, size = 0, len(text)
    text_end = len(text.rstrip())
    while pos < text_end:
        m = _PAIR.match(text, pos)
        if m is None or m.end() == pos:
            return None
        pairs.append((m.group("name"), m.group("value").strip()))
        pos = m.end()
    return pairs if pairs and pos >= min(size, text_end) else None


def _columns_of(pairs: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """Pairs as (column, value): the phase word of the first name carried to bare later names."""
    out: list[tuple[str, str]] = []
    phase = ""
    for k, (name, value) in enumerate(pairs):
        words = name.replace(".", "").split()
        first = words[0].lower() if words else ""
        if k == 0 and first in _PHASES and len(words) > 1:
            phase = first
        elif phase and first not in _PHASES and len(words) == 1 and "_" not in name:
            name = f"{phase} {name}"
        if _is_time(name, value):
            out.append(("time", value))
        elif name.lower().startswith("step"):
            out.append(("step", value.split("/")[0].strip()))
        else:
            out.append((metric_column(name), value.split("/")[0].strip() if "/" in value else value))
    return out


def _metric_like(columns: list[tuple[str, str]]) -> bool:
    return any(any(word in column for word in _METRIC_WORDS) for column, _ in columns)


class _Table:
    def __init__(self) -> None:
        self.records: list[dict[str, str]] = []
        self.last = -1
        self.step = False


class LoopLines:
    """Epoch records printed by plain loops: a marker line, then pair-only lines."""

    name = "loop"
    framework = "loop"  # no library: a hand-written loop (the "loop" framework reads its optimizer)
    # "epoch" is the console format's marker too (one scan for both); "Ep" covers "Epoch", "Ep 1", "EPOCH".
    # Not "ep ": every "step " would make a stream worth reading.
    markers = ("epoch", "Ep", "EP")

    def wants(self, head: str) -> bool:
        # marker lines ("Epoch", "epoch", "[Epoch", "(ep") and the pair lines that follow them
        # ("train ...", "val ...", "Loss: ...", "acc ...", indented ones)
        return head in _HEADS

    def _record(self, line: str) -> tuple[int, list[tuple[str, str]]] | None:
        """(epoch, columns) of a marker line; None when the line is not one."""
        line = " ".join(line.split())  # one blank per run: the patterns stay linear
        m = _MARKER.match(line)
        step: list[tuple[str, str]] = []
        if m is None:
            m = _EPOCH_STEP.match(line)  # PyTorch's CIFAR-10 tutorial: "[1,  2000] loss: 2.166"
            if m is None:
                return None
            step = [("step", m.group(2))]
            rest = line[m.end() :].strip()
            pairs = parse_pairs(rest) if rest else None
            columns = _columns_of(pairs) if pairs else None
            if not columns or not _metric_like(columns):
                return None
            return int(m.group(1)), step + columns
        rest = line[m.end() :]
        rest = rest.lstrip(":-|,;) ")
        if not rest.strip():
            return int(m.group(1)), []  # a marker alone ("epoch: 0", "Epoch 0/24"): the values follow
        pairs = parse_pairs(rest)
        if pairs is None:
            return None
        columns = _columns_of(pairs)
        if columns is None or not _metric_like(columns) and not any(c == "time" for c, _ in columns):
            return None
        return int(m.group(1)), columns

    def start(self, line: str) -> _Table | None:
        if line[:1] not in "EeP[( \t":
            return None
        got = self._record(line)
        if got is None:
            return None
        table = _Table()
        self._open(table, *got)
        return table

    def _open(self, table: _Table, epoch: int, columns: list[tuple[str, str]]) -> None:
        record = {"epoch": str(epoch)}
        record.update(columns)
        table.records.append(record)
        table.last = epoch
        table.step = table.step or "step" in record

    def add(self, state: _Table, line: str) -> bool:
        got = self._record(line) if line[:1] in "EeP[( \t" else None
        if got is not None:
            epoch, columns = got
            if epoch < state.last:
                return False  # a new training run: a new table
            if epoch == state.last and not columns and not state.step:
                return False
            self._open(state, epoch, columns)
            return True
        if not state.records:
            return False
        pairs = parse_pairs(line)
        if pairs is None:
            return False
        columns = _columns_of(pairs)
        record = state.records[-1]
        if not columns or any(c in record for c, _ in columns) or any(c.startswith("test") for c, _ in columns):
            return False
        if not _metric_like(columns):
            return False
        record.update(columns)
        return True

    def close(self, state: _Table, index: int) -> ProgressTable:
        records = [r for r in state.records if len(r) > 1]
        if not records:
            return ProgressTable((), (), self.name, index, blank=True)
        names: list[str] = []
        for record in records:
            for key in record:
                if key not in names and key not in ("epoch", "time"):
                    names.append(key)
        has_time = any("time" in r for r in records)
        columns = ("epoch", *names, *(("time",) if has_time else ()))
        rows = []
        for record in records:  # the epoch as displayed (``Epoch: 01`` is 1), as in every format
            rows.append((str(int(record["epoch"])), *(record.get(n, "") for n in columns[1:])))
        return ProgressTable(columns, tuple(rows), self.name, index)


FORMAT = LoopLines()
