"""What a notebook's outputs say about how its code ran, where the code alone cannot tell.

The analysis reads code only (:mod:`audiometrics.analysis`) and the table readers
outputs only (:mod:`audiometrics.tables`); a library's version can decide what the same
code did, and only the messages it printed tell the version. Alignment asks here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from audiometrics.model import CodeCell

__all__ = ["rate_keyword_dropped", "stopped_at"]

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
            if output.get("output_type") == "stream" and _LR_DROPPED.search(_text(output.get("text"))):
                return True
    return False


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
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
        text = _ANSI.sub("", "\n".join(part for part in frames if isinstance(part, str))) if isinstance(frames, list) else ""
        error = str(output.get("ename") or "an error")
        if error in _NOT_RUN:
            return 0, error  # the cell did not compile: none of it ran
        found = _CELL_FRAME.search(text) or _ARROW.search(text)
        if found is not None:
            return int(found.group(1)), error
    return None


def _text(value: object) -> str:
    """A stream's text, stored as one string or as a list of lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return ""
