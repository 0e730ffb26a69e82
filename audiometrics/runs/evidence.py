"""What a notebook's outputs say about how its code ran, where the code alone cannot tell.

The analysis reads code only (:mod:`audiometrics.analysis`) and the table readers
outputs only (:mod:`audiometrics.tables`); a library's version can decide what the same
code did, and only the messages it printed tell the version; an error output tells where a
cell stopped, so what follows that line never ran. Alignment asks here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from audiometrics.model import CellAnalysis, CodeCell, LearnerCreated, Loop, SourceEvent, TrainingCall
from audiometrics.tables.text import ANSI, as_text

__all__ = ["rate_keyword_dropped", "stopped_at", "until_error"]

_LR_DROPPED = re.compile(r"`lr` is deprecated in (?:TF-)?Keras optimizer")
"""What tf.keras 2.11+ and tf-keras log (to stderr, through absl) when an optimizer is given ``lr=``,
a keyword they then drop (the optimizer keeps its default rate); older Keras and the
``optimizers.legacy`` classes honour it, the latter saying "The `lr` argument is deprecated"."""


def rate_keyword_dropped(cells: Sequence[CodeCell]) -> bool:
    """Whether an output of the notebook shows Keras dropping an optimizer's ``lr=``.

    >>> warning = {"output_type": "stream", "name": "stderr",
    ...            "text": "WARNING:absl:`lr` is deprecated in TF-Keras optimizer, please use `learning_rate`"}
    >>> rate_keyword_dropped([CodeCell(0, 1, "", (warning,))]), rate_keyword_dropped([CodeCell(0, 1, "", ())])
    (True, False)
    """
    for cell in cells:
        for output in cell.outputs:
            if output.get("output_type") == "stream" and _LR_DROPPED.search(as_text(output.get("text")) or ""):
                return True
    return False


_CELL_FRAME = re.compile(r"Cell In ?\[[^\]]*\], line (\d+)")  # IPython 8's header of the cell's own frame
_ARROW = re.compile(r"^-+> ?(\d+)", re.MULTILINE)  # IPython 7's (and 8's) marker of the line that raised
_NOT_RUN = frozenset({"SyntaxError", "IndentationError", "TabError"})


def stopped_at(cell: CodeCell) -> tuple[int, str] | None:
    """The line of the cell where an error stopped it, and the error's name, read from the traceback
    of its error output (its first frame is the cell's own); None when the cell has none.

    >>> error = {"output_type": "error", "ename": "TypeError", "evalue": "",
    ...          "traceback": ["\\x1b[31mTypeError\\x1b[39m  Traceback", "\\x1b[36mCell In[3], line 2\\x1b[39m\\n"
    ...                        "\\x1b[32m----> \\x1b[39m\\x1b[32m2\\x1b[39m args = TrainingArguments(...)"]}
    >>> stopped_at(CodeCell(0, 3, "", (error,)))
    (2, 'TypeError')
    """
    for output in cell.outputs:
        if output.get("output_type") != "error":
            continue
        frames = output.get("traceback")
        text = ANSI.sub("", "\n".join(part for part in frames if isinstance(part, str))) if isinstance(frames, list) else ""
        error = str(output.get("ename") or "an error")
        if error in _NOT_RUN:
            return 0, error  # the cell did not compile: none of it ran
        found = _CELL_FRAME.search(text) or _ARROW.search(text)
        if found is not None:
            return int(found.group(1)), error
    return None


def until_error(cell: CodeCell, analysis: CellAnalysis) -> tuple[CellAnalysis, str]:
    """The events of a cell that an error stopped, up to the line it stopped at (what comes after never
    ran: a learner made there is no run, a training call there no phase), and what to say of the rest."""
    stop = stopped_at(cell) if any(o.get("output_type") == "error" for o in cell.outputs) else None
    if stop is None:
        return analysis, ""
    line, error = stop
    kept = tuple(event for event in analysis.events if getattr(event, "line", 0) <= line)
    if len(kept) == len(analysis.events):
        return analysis, ""
    never = [_what(event) for event in analysis.events if getattr(event, "line", 0) > line and _what(event)]
    where = f"at line {line}" if line else "before it ran (it does not compile)"
    said = f"{error} stopped the cell {where}; what follows never ran: {', '.join(never)}" if never else ""
    return replace(analysis, events=kept), said


def _what(event: SourceEvent) -> str:
    """An event as a user reads it in a note (``Trainer(...) (line 4)``); "" for one not worth naming."""
    if isinstance(event, LearnerCreated):
        return f"{event.factory}(...) (line {event.line})"
    if isinstance(event, TrainingCall):
        return f"{event.call_text or event.method} (line {event.line})"
    if isinstance(event, Loop):
        return f"a loop (line {event.line})"
    return ""
