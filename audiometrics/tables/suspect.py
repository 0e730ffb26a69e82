"""Never silent: cells whose outputs look like training progress that no format read.

A notebook trained with a library or a loop whose printing no registered format
knows would otherwise give no rows and no word.  :func:`suspect_cells` looks at
the cells where **no** table was found and flags those whose outputs look like
training progress; :func:`suspect_diagnostics` words it as one warning per
notebook naming the cells (``looks like training output; format not
recognised``), so the user knows to report the format.

What looks like training progress (the rule and its limits):

* **text** (streams, ``text/plain``) holding ``epoch`` (any case), ``Ep `` or
  (the loop format's markers): at least two lines (``\\n`` or ``\\r``
  separated, so a redrawn bar counts each redraw) holding an epoch marker with a
  number (``epoch 3``, ``Epoch: 01``, ``Ep 1``, ``epoch=2``), and at least two
  lines holding a loss- or metric-like name followed by a number (``loss: 0.3``,
  ``val_acc=0.9``, ``Train Acc: 74%``) — on the same lines or not.  One
  ``evaluate()`` result (``{'eval_loss': 0.3, 'epoch': 3.0}``) is one line: not
  flagged; scikit-learn reports and Keras ``evaluate`` lines name no epoch.
* **HTML**: a ``<table>`` whose header cells name an epoch (or step) *and* a
  loss, that is not a pandas DataFrame of results (those start with an empty
  index header cell and have no ``<progress>`` bar).

Cost: only cells with no table are looked at, and each output is tested with
substring tests on the first and last 16 KB of its text (``epoch``/``Ep``/``EP``;
unread progress fills an output, so its ends show it) before any pattern; the
patterns run on the lines that hold a marker only, and are linear in the line.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from audiometrics.model import CodeCell, Diagnostic, ProgressTable, cell_label
from audiometrics.tables.text import blocks

__all__ = ["MESSAGE", "looks_like_training", "suspect_cells", "suspect_diagnostics"]

MESSAGE = "looks like training output; format not recognised (please report it)"

_EPOCH_LINE = re.compile(r"(?:\bepochs?\b|\bEp\b|\bep(?=[=:]))[^\w\n]{0,4}\[?\s{0,4}\d", re.I)
# a loss- or metric-like word (as a word's end too: "val_loss", "train_acc"), then a number; bounded repeats only
_METRIC_LINE = re.compile(
    r"(?:loss|acc|f1|auc|error|mse|mae|rmse|perplexity|ppl)\w{0,30}\.?\s{0,4}(?:[:=]|\s)\s{0,4}[-+]?\.?\d",
    re.I,
)
_HEADER = re.compile(r"<th[^>]{0,300}>(.{0,200}?)</th>", re.I | re.S)
_MAX_TEXT = 2_000_000  # characters of one cell's text looked at (the first ones): enough to see the shape


def _cell_text(outputs: Sequence[Any]) -> tuple[str, list[str]]:
    """(the cell's text outputs joined, its HTML values), bounded in size."""
    texts: list[str] = []
    html: list[str] = []
    size = 0
    for out in outputs:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        values: list[Any] = []
        if kind == "stream":
            values.append(out.get("text"))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data")
            if isinstance(data, dict):
                values.append(data.get("text/plain"))
                if "text/html" in data:
                    html.extend(b for b in blocks(data.get("text/html")) if isinstance(b, str))
        for value in values:
            for block in blocks(value):
                if size >= _MAX_TEXT:
                    break
                texts.append(block[: _MAX_TEXT - size])
                size += len(texts[-1])
    return "".join(texts), html


_MARKS = ("epoch", "Ep", "EP")  # the loop format's markers
_SCAN = 16_384  # characters looked at from each end of an output's text: unread progress fills outputs


def _may_be_training(outputs: Sequence[Any]) -> bool:
    """Cheap: whether any output's text holds an epoch-like substring (C-speed scans, nothing joined)."""
    for out in outputs:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            values = [out.get("text")]
        elif kind in ("execute_result", "display_data") and isinstance(out.get("data"), dict):
            values = [out["data"].get("text/plain"), out["data"].get("text/html")]
        else:
            continue
        for value in values:
            for block in blocks(value):
                if not isinstance(block, str):
                    continue
                ends = (block,) if len(block) <= 2 * _SCAN else (block[:_SCAN], block[-_SCAN:])
                if any(mark in end for end in ends for mark in _MARKS):
                    return True
    return False


def _text_looks_like_training(text: str) -> bool:
    lower = text.lower()
    if "loss" not in lower and "acc" not in lower and "f1" not in lower and "error" not in lower and "auc" not in lower:
        return False
    epochs = metrics = 0
    for line in re.split(r"[\r\n]", text):
        if not line or len(line) > 10_000:
            continue
        if epochs < 2 and _EPOCH_LINE.search(line):
            epochs += 1
        if metrics < 2 and _METRIC_LINE.search(line):
            metrics += 1
        if epochs >= 2 and metrics >= 2:
            return True
    return False


def _html_looks_like_training(html: str) -> bool:
    lower = html.lower()
    if "<table" not in lower or "loss" not in lower or ("epoch" not in lower and "step" not in lower):
        return False
    headers = [re.sub(r"<[^>]*>", "", h).strip().lower() for h in _HEADER.findall(lower[:200_000])]
    if not any("loss" in h for h in headers) or not any(h.startswith(("epoch", "step")) for h in headers):
        return False
    if headers and "loss" in headers[0]:  # HF's evaluate() table (Training Loss, Validation Loss, Epoch, ...): a result
        return False
    pandas_index = bool(headers) and headers[0] == "" and "<progress" not in lower
    return not pandas_index


def looks_like_training(outputs: Sequence[Any]) -> bool:
    """Whether a cell's ``outputs`` look like training progress (see the module docstring).

    >>> looks_like_training([{"output_type": "stream", "name": "stdout",
    ...     "text": "epoch 1 done; mean loss=0.52\\nepoch 2 done; mean loss=0.41\\n"}])
    True
    >>> looks_like_training([{"output_type": "execute_result", "data": {"text/plain": "{'eval_loss': 0.3, 'epoch': 3.0}"}}])
    False
    """
    try:
        if not _may_be_training(outputs):
            return False
        text, html = _cell_text(outputs)
        if text and _text_looks_like_training(text):
            return True
        return any(_html_looks_like_training(h) for h in html)
    except Exception:  # noqa: BLE001 - a check that cannot read an output says nothing about it
        return False


def suspect_cells(cells: Sequence[CodeCell], tables: Sequence[Sequence[ProgressTable]]) -> list[CodeCell]:
    """The cells with no table found (blank displays aside) whose outputs look like training progress."""
    found = []
    for cell, cell_tables in zip(cells, tables):
        if not cell.outputs or any(not t.blank for t in cell_tables):
            continue  # (a blank display, no table in it, does not count: an epoch marker alone makes one)
        if looks_like_training(cell.outputs):
            found.append(cell)
    return found


def suspect_diagnostics(path: str, cells: Sequence[CodeCell], tables: Sequence[Sequence[ProgressTable]]) -> list[Diagnostic]:
    """One warning for the notebook naming every suspect cell (none when there is none).

    One cell: the warning is pinned to it; several: it names them all (in document order).
    """
    found = sorted(suspect_cells(cells, tables), key=lambda c: c.index)
    if not found:
        return []
    if len(found) == 1:
        return [Diagnostic(path, MESSAGE, found[0].index, found[0].execution_count)]
    names = ", ".join(cell_label(c.index, c.execution_count) for c in found[:10])
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    return [Diagnostic(path, f"{MESSAGE}: {names}{more}")]
