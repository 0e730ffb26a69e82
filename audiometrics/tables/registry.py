"""The progress-table formats, in the order they are asked.

Adding a format is one new module in this package and one line here (see the
package docstring, :mod:`audiometrics.tables`).  HTML formats are asked in order
which one a located epoch table is (the first whose ``detect`` accepts it wins,
so the most specific comes first); stream formats are offered each line in order.
"""

from __future__ import annotations

from audiometrics.tables import (
    columns, console, fastai07, fasthtml, hf_html, hf_logs, html, html_th, keras, lightning, listing, loops, tqdm_epochs,
)
from audiometrics.tables.base import HtmlFormat, StreamFormat

__all__ = ["HTML_FORMATS", "STREAM_FORMATS", "framework_of"]

HTML_FORMATS: tuple[HtmlFormat, ...] = (
    hf_html.FORMAT,  # HuggingFace Trainer: first column Epoch/Step (finds its own tables: ``locate``)
    fasthtml.FORMAT,  # class="fastprogress" (fastprogress >= 1.1)
    html.FORMAT,  # <td> cells or a <thead> (fastprogress 0.1.20 - 1.0.x)
    html_th.FORMAT,  # every other epoch table: all-<th> (fastprogress <= 0.1.19)
)

STREAM_FORMATS: tuple[StreamFormat, ...] = (
    fastai07.FORMAT,  # fastai 0.6/0.7 stdout tables (0.7 headers read as console ones otherwise)
    console.FORMAT,  # ConsoleMasterBar header + rows
    listing.FORMAT,  # fastai v2 no_bar lists
    hf_logs.FORMAT,  # HuggingFace Trainer log dicts ({'loss': ..., 'epoch': ...})
    keras.FORMAT,  # Keras Progbar epochs (Epoch k/N + final progress lines)
    lightning.FORMAT,  # PyTorch Lightning's tqdm bar (reads every \r redraw)
    tqdm_epochs.FORMAT,  # a loop's finished tqdm bar per epoch, validation values in its postfix
    columns.FORMAT,  # a loop's own table: a header naming epoch and metrics, then aligned rows
    loops.FORMAT,  # plain training loops' epoch lines (last: framework formats first)
)


def framework_of(format_name: str) -> str:
    """The training library that prints tables of the format called ``format_name`` ("" when none is registered).

    >>> framework_of("fasthtml")
    'fastai'
    """
    for fmt in (*HTML_FORMATS, *STREAM_FORMATS):
        if fmt.name == format_name:
            return fmt.framework
    return ""
