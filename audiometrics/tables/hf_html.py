"""``hf-html``: the HuggingFace Trainer's notebook tables (``NotebookProgressCallback``).

transformers' ``utils/notebook.py`` shows one display per training, redrawn as it
runs: a ``<div>`` with a ``<progress>`` bar and a label
(``[1377/1377 01:19, Epoch 3/3]``: steps reached of planned, elapsed time, epoch
reached of planned), then ``<table border="1" class="dataframe">`` (no border in
some versions) whose first column is ``Epoch`` (``eval_strategy="epoch"``) or
``Step``, then ``Training Loss``, ``Validation Loss`` (when evaluating) and the
metrics with humanised names (``eval_matthews_correlation`` → ``Matthews
Correlation``). ``No log`` / ``No Log`` stands for a loss not logged yet.

Columns are given their CSV names by
:func:`audiometrics.frameworks.huggingface.csv_column`, ``No log`` becomes an
empty value, evaluation timings some 4.x versions showed as columns (``Runtime``,
``Samples Per Second``) are left out, and a label whose steps reached are fewer than planned marks the
table interrupted (a ``KeyboardInterrupt``, a crash, early stopping, or a
notebook saved mid-run). Not progress tables: ``trainer.evaluate()``'s own table
(first column ``Training Loss``), a pandas display of ``log_history`` (an index
column, ``text-align: right``), fastai's tables (first column ``epoch``).
"""

from __future__ import annotations

import re

from audiometrics.model import ProgressTable
from audiometrics.tables.markup import HtmlTable, row_cells, table_rows, tables_in

__all__ = ["FORMAT", "HfHtml", "locate"]

_FIRST = ("Epoch", "Step")
_LOSSES = ("Training Loss", "Validation Loss")
_NO_LOG = frozenset({"no log"})
#: Evaluation timings early transformers 4.x showed as columns: logging diagnostics, not metrics.
_TIMINGS = frozenset({"runtime", "samples_per_second", "steps_per_second", "model_preparation_time", "total_flos"})
# ``[24/24 00:06, Epoch 3/3]``, ``[12/24 00:05 < 00:06, 1.75 it/s, Epoch 1.38/3]``, ``[ 5/24 : < :, Epoch 0.62/3]``
_LABEL = re.compile(r"\[\s*(\d{1,12})/(\d{1,12})\b[^\[\]]{0,200}?(?:Epoch\s+(\d{1,9}(?:\.\d{1,6})?)/(\d{1,9}(?:\.\d{1,6})?))?\]")
_MAX_LABEL_SEARCH = 4000  # characters before the table the label is looked for in


def locate(markup: str) -> HtmlTable | None:
    """The first HF Trainer table in ``markup``, or None.

    Its first header cell is ``Epoch`` or ``Step`` and its header holds
    ``Training Loss`` or ``Validation Loss``; the header row is not pandas'
    (``text-align: right``).  ``head`` holds the markup before the table (where
    the progress label is) followed by the table's own head.
    """
    if "Epoch</th>" not in markup and "Step</th>" not in markup:
        return None
    for i, segment, first_row, body in tables_in(markup):
        first = segment[first_row + 3 : body]
        if ("Epoch" in first or "Step" in first) and "text-align: right" not in first[: first.find(">") + 1]:
            header = tuple(row_cells(first))
            if header and header[0] in _FIRST and any(loss in header for loss in _LOSSES):
                attrs = segment[: segment.find(">") + 1]
                head = markup[max(0, i - _MAX_LABEL_SEARCH) : i] + segment[:first_row]
                return HtmlTable(segment, attrs, head, first, segment[body:], header)
    return None


def progress_label(text: str) -> tuple[int, int, str, str] | None:
    """(steps reached, steps planned, epoch reached, epochs planned) of the last label in ``text``.

    Examples
    --------
    >>> progress_label("<div> [12/24 00:05 < 00:06, 1.75 it/s, Epoch 1.38/3] </div>")
    (12, 24, '1.38', '3')
    >>> progress_label("[1377/1377 01:19, Epoch 3/3]")
    (1377, 1377, '3', '3')
    """
    found = None
    for found in _LABEL.finditer(text):
        pass
    if found is None:
        return None
    reached, planned, epoch, epochs = found.groups()
    return int(reached), int(planned), epoch or "", epochs or ""


class HfHtml:
    """The Trainer's table: ``Epoch``/``Step`` first, ``Training Loss``, ``Validation Loss``, metrics."""

    name = "hf-html"
    framework = "huggingface"
    markers = ("Epoch</th>", "Step</th>")

    @staticmethod
    def locate(markup: str) -> HtmlTable | None:
        return locate(markup)

    def detect(self, table: HtmlTable) -> bool:
        header = table.header
        return bool(header) and header[0] in _FIRST and any(loss in header for loss in _LOSSES)

    def parse(self, table: HtmlTable, index: int) -> ProgressTable:
        from audiometrics.frameworks.huggingface import csv_column  # here: importing tables stays free of analysis/

        rows, notes = table_rows(table)
        columns = tuple(csv_column(name) for name in table.header)
        keep = [k for k, column in enumerate(columns) if column not in _TIMINGS]
        if len(keep) < len(columns):
            columns = tuple(columns[k] for k in keep)
            rows = tuple(tuple(row[k] for k in keep if k < len(row)) for row in rows)
        rows = tuple(tuple("" if value.lower() in _NO_LOG else value for value in row) for row in rows)
        notes = list(notes)
        interrupted = False
        label = progress_label(table.head[-_MAX_LABEL_SEARCH:])
        if label is not None and label[0] < label[1]:
            interrupted = True
            epoch = f" (epoch {label[2]} of {label[3]})" if label[2] else ""
            notes.append(
                f"the Trainer's progress bar stopped at step {label[0]} of {label[1]}{epoch}: training was "
                "interrupted, stopped early, or the notebook was saved while it ran"
            )
        if len(set(columns)) < len(columns):
            notes.append(f"columns {', '.join(table.header)} share CSV names; later ones are suffixed")
            columns = _unique(columns)
        return ProgressTable(columns, rows, self.name, index, interrupted=interrupted, notes=tuple(notes))


def _unique(columns: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    out = []
    for column in columns:
        seen[column] = seen.get(column, 0) + 1
        out.append(column if seen[column] == 1 else f"{column}_{seen[column]}")
    return tuple(out)


FORMAT = HfHtml()
