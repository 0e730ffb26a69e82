"""``hf-logs``: the HuggingFace Trainer's log dicts printed on a stream.

Outside a live notebook, or with ``disable_tqdm=True``, the Trainer prints each log
as a Python dict on its own line (``PrinterCallback`` / ``ProgressCallback``), values
as floats (transformers 4.x) or as text (``'0.6943'``, transformers 5.x)::

    {'loss': 0.4438, 'grad_norm': 1.9, 'learning_rate': 3.5e-05, 'epoch': 1.09}
    {'eval_loss': 0.39, 'eval_accuracy': 0.85, 'eval_runtime': 1.2, ..., 'epoch': 1.0}
    {'train_runtime': 80.1, 'train_samples_per_second': 9.1, ..., 'train_loss': 0.41, 'epoch': 3.0}

A training's dicts become one table, as ``NotebookProgressCallback`` would have
drawn it: with evaluations, one row per evaluation dict, its training loss the
last ``loss`` logged before it (empty when none was: the table's ``No log``);
entries of ``trainer.state.log_history`` printed by the notebook (they hold ``step``) are not read;
without, one row per ``loss`` dict. The closing ``train_runtime`` summary ends
the table and is no row; a table without one is marked interrupted. Dicts of an
evaluation alone (``trainer.evaluate()``) make a blank display, never rows.

Columns: :func:`audiometrics.frameworks.huggingface.csv_column` names
(``eval_accuracy`` → ``accuracy``); other keys of a training log are prefixed
``train_``; ``learning_rate``, ``grad_norm``, runtimes and throughputs are
logging diagnostics and left out. The epoch goes to ``epoch`` as displayed when
every row's epoch is a whole number (a last one part way, ``num_train_epochs=2.5``, goes
under its whole epoch, as the notebook table shows it), else (evaluations every N steps) to
``epoch_float``, ``epoch`` staying empty.

Dict text is read by a small scanner (bounded, never ``eval``), so values keep
the spelling printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from typing import Callable

from audiometrics.model import ProgressTable

__all__ = ["FORMAT", "HfLogs", "parse_dict"]

#: Longest line read as a dict (a log dict is a few hundred characters).
MAX_LINE = 20_000
_MAX_VALUE = 200  # a printed number, even wrapped (``np.float64(...)``), is far shorter
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|NaN|Infinity)")
_WRAPPED = re.compile(r"[A-Za-z_][\w.]{0,40}\(\s*([^()]*?)\s*(?:,[^()]*)?\)")  # tensor(0.5), np.float64(0.5)
_QUIET = ("runtime", "samples_per_second", "steps_per_second", "model_preparation_time")
_SUMMARY = frozenset({"runtime", "samples_per_second", "steps_per_second", "tokens_per_second", "loss"})
_TRAIN_QUIET = frozenset({"loss", "learning_rate", "grad_norm", "epoch", "total_flos", "num_tokens"})


def _scalar(raw: str) -> str | None:
    """A value's displayed text: a number or ``None``/``nan`` as printed, a quoted one unquoted; None otherwise."""
    raw = raw.strip()
    if len(raw) > _MAX_VALUE:
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        raw = raw[1:-1].strip()
    elif raw[-1:] == ")":
        wrapped = _WRAPPED.fullmatch(raw)
        if wrapped is None:
            return None
        raw = wrapped.group(1)
    if _NUMBER.fullmatch(raw) or raw in ("None", "nan", "inf", "-inf"):
        return raw
    return None


def parse_dict(line: str) -> dict[str, str] | None:
    """The keys and scalar values of a printed dict of string keys, or None when ``line`` is no such dict.

    Values that are not scalars (lists, nested dicts) are left out.

    Examples
    --------
    >>> parse_dict("{'loss': 0.4438, 'learning_rate': 3.5e-05, 'epoch': 1.09}")
    {'loss': '0.4438', 'learning_rate': '3.5e-05', 'epoch': '1.09'}
    >>> parse_dict("{'eval_loss': '0.6926', 'epoch': '1'}")
    {'eval_loss': '0.6926', 'epoch': '1'}
    >>> parse_dict("{'loss': 0.5") is None, parse_dict("{1: 2}") is None
    (True, True)
    """
    text = line.strip()
    if len(text) > MAX_LINE or not text.startswith("{") or not text.endswith("}"):
        return None
    out: dict[str, str] = {}
    pos, end = 1, len(text) - 1
    while True:
        while pos < end and text[pos] in " \t":
            pos += 1
        if pos >= end:
            return out
        quote = text[pos]
        if quote not in "'\"":
            return None
        close = text.find(quote, pos + 1)
        if close < 0:
            return None
        key = text[pos + 1 : close]
        pos = close + 1
        while pos < end and text[pos] in " \t":
            pos += 1
        if pos >= end or text[pos] != ":":
            return None
        value_end = _value_end(text, pos + 1, end)
        if value_end is None:
            return None
        value = _scalar(text[pos + 1 : value_end])
        if value is not None:
            out[key] = value
        pos = value_end + 1


def _value_end(text: str, pos: int, end: int) -> int | None:
    """Where the value starting at ``pos`` ends (its ``,`` or the closing ``}``), brackets and quotes skipped."""
    depth = 0
    quote = ""
    while pos < end:
        char = text[pos]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif char == "," and depth == 0:
            return pos
        pos += 1
    return pos if not quote and depth == 0 else None


def _eval_prefix(log: dict[str, str]) -> str | None:
    """``eval`` of an evaluation log (``eval_loss``, ``eval_runtime``), the prefix it was given; None otherwise."""
    for key in log:
        if key.endswith("_runtime") and key != "train_runtime":
            return key[: -len("_runtime")]
    if "eval_loss" in log:
        return "eval"
    return None


def kind(log: dict[str, str]) -> str | None:
    """"train", "eval", "summary" or "train-eval" (ignored) for a Trainer log dict; None for any other dict.

    A dict with a ``step`` key is an entry of ``trainer.state.log_history`` printed by
    the notebook's own code (the Trainer adds ``step`` there, never to what it prints),
    not a live log: None.
    """
    if "step" in log:
        return None
    if "train_runtime" in log:
        # An evaluation on the training set (a callback's ``evaluate(metric_key_prefix="train")``)
        # has metrics besides the summary's: it neither ends the training nor is a row.
        extra = [k for k in log if k.startswith("train_") and k[6:] not in _SUMMARY and k != "train_loss"]
        return "train-eval" if extra else "summary"
    if "epoch" not in log:
        return None
    if "loss" in log and ("learning_rate" in log or "grad_norm" in log):
        return "train"
    if _eval_prefix(log) is not None:
        return "eval"
    return None


@dataclass
class _Logs:
    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    finished: bool = False


def _eval_values(log: dict[str, str], csv_column: Callable[[str], str]) -> dict[str, str]:
    prefix = _eval_prefix(log) or "eval"
    out = {}
    for key, value in log.items():
        if key == "epoch" or key == "total_flos":
            continue
        if key.startswith(prefix + "_"):
            rest = key[len(prefix) + 1 :]
            if rest in _QUIET:
                continue
            out["valid_loss" if rest == "loss" else csv_column("eval_" + rest)] = value
        else:
            out[csv_column(key)] = value
    return out


def _train_values(log: dict[str, str], csv_column: Callable[[str], str]) -> dict[str, str]:
    out = {"train_loss": log.get("loss", "")}
    for key, value in log.items():
        if key not in _TRAIN_QUIET:
            name = csv_column(key)
            out[name if name.startswith("train_") else f"train_{name}"] = value
    return out


def _rows(events: list[tuple[str, dict[str, str]]]) -> list[dict[str, str]]:
    """One dict of CSV values per row (see the module docstring)."""
    from audiometrics.frameworks.huggingface import csv_column  # here: importing tables stays free of analysis/

    evaluations = any(what == "eval" for what, _ in events)
    rows: list[dict[str, str]] = []
    last_train: dict[str, str] = {}
    for what, log in events:
        if what == "train":
            last_train = _train_values(log, csv_column)
            if not evaluations:
                rows.append({"epoch": log["epoch"], **last_train})
        elif what == "eval":
            rows.append({"epoch": log["epoch"], "train_loss": "", **last_train, **_eval_values(log, csv_column)})
    return rows


def _whole(text: str) -> bool:
    return re.fullmatch(r"\d+(?:\.0*)?", text) is not None


_DECIMAL = re.compile(r"\d{1,9}\.\d{1,20}")


def _partial_last_epoch(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows of whole epochs then a last one part way (``num_train_epochs=2.5``: 1, 2, 2.5) as the notebook
    table shows them: the last under its whole epoch (``int``), replacing a row of that epoch before it.

    >>> [row["epoch"] for row in _partial_last_epoch([{"epoch": "1"}, {"epoch": "2"}, {"epoch": "2.5"}])]
    ['1', '2']
    >>> [row["epoch"] for row in _partial_last_epoch([{"epoch": "1"}, {"epoch": "1.5"}])]
    ['1']
    """
    last = dict(rows[-1])
    last["epoch"] = str(int(float(last["epoch"])))
    earlier = rows[:-1]
    if earlier and earlier[-1]["epoch"].split(".")[0] == last["epoch"]:
        earlier = earlier[:-1]
    return [*earlier, last]


class HfLogs:
    """Trainer log dicts, one per line, a training's dicts one table."""

    name = "hf-logs"
    framework = "huggingface"
    markers = ("'epoch': ", '"epoch": ', "'train_runtime': ")

    def wants(self, head: str) -> bool:
        return head == "{"

    def start(self, line: str) -> _Logs | None:
        log = parse_dict(line) if line[:1] == "{" else None
        what = kind(log) if log is not None else None
        if what is None:
            return None
        state = _Logs()
        self.add(state, line)
        return state

    def add(self, state: _Logs, line: str) -> bool:
        if state.finished or line[:1] != "{":
            return False
        log = parse_dict(line)
        what = kind(log) if log is not None else None
        if what is None:
            return False
        if what == "summary":
            state.finished = True
        elif what != "train-eval":
            state.events.append((what, log))  # type: ignore[arg-type]
        return True

    def close(self, state: _Logs, index: int) -> ProgressTable:
        trained = state.finished or any(what == "train" for what, _ in state.events)
        if not trained:  # an evaluation on its own (trainer.evaluate()): a progress display, no epochs
            return ProgressTable(None, (), self.name, index, blank=True)
        rows = _rows(state.events)
        if rows and not all(_whole(row["epoch"]) for row in rows):
            if all(_whole(row["epoch"]) for row in rows[:-1]) and _DECIMAL.fullmatch(rows[-1]["epoch"]):
                rows = _partial_last_epoch(rows)
            else:
                rows = [{"epoch_float": row.pop("epoch"), **row} for row in rows]
        columns: list[str] = []
        for row in rows:
            columns.extend(key for key in row if key not in columns)
        if not columns:
            columns = ["epoch", "train_loss"]
        notes = () if state.finished else (
            "the Trainer's logs end without the closing {'train_runtime': ...} summary: training was interrupted "
            "or the notebook was saved while it ran",
        )
        values = tuple(tuple(row.get(column, "") for column in columns) for row in rows)
        return ProgressTable(tuple(columns), values, self.name, index, interrupted=not state.finished, notes=notes)


FORMAT = HfLogs()
