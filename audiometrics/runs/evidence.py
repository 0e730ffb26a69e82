"""What a notebook's outputs say about how its code ran, where the code alone cannot tell.

The analysis reads code only (:mod:`audiometrics.analysis`) and the table readers
outputs only (:mod:`audiometrics.tables`); a library's version can decide what the same
code did, and only the messages it printed tell the version. Alignment asks here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from audiometrics.model import CodeCell

__all__ = ["rate_keyword_dropped"]

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


def _text(value: object) -> str:
    """A stream's text, stored as one string or as a list of lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return ""
