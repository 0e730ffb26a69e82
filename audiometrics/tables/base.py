"""What a progress-table format is: the two interfaces the registry holds.

A format reads tables either from display outputs (HTML in a mime bundle,
:class:`HtmlFormat`) or from stream text printed line by line
(:class:`StreamFormat`).  Each has a **cheap detect** (substring tests, run on
every output before any parsing) and a **parse**.  Formats are plain classes
(structural typing: nothing to inherit) and registered, in order, in
:mod:`audiometrics.tables.registry`.

``name`` is the ``ProgressTable.format`` the format's tables carry; ``framework``
names the training library that prints it (``"fastai"`` for every format today),
for formats of other frameworks to declare theirs.
"""

from __future__ import annotations

from typing import Any, Protocol

from audiometrics.model import ProgressTable
from audiometrics.tables.markup import HtmlTable

__all__ = ["HtmlFormat", "StreamFormat"]


class HtmlFormat(Protocol):
    """A table drawn as HTML in a display output.

    The display walk locates the first epoch table of a markup holding one of
    the ``markers`` (:func:`~audiometrics.tables.markup.first_epoch_table`),
    then the first registered format whose :meth:`detect` accepts it parses it.
    A format whose tables that locator does not find (their first column is not
    ``epoch``: HuggingFace's ``Epoch``/``Step``) adds an optional
    ``locate(markup) -> HtmlTable | None`` and is offered only the tables it locates
    (:mod:`.hf_html`).
    """

    name: str
    framework: str
    #: Substrings one of which a markup must hold before any table is looked for.
    markers: tuple[str, ...]

    def detect(self, table: HtmlTable) -> bool:
        """Whether ``table`` is in this format (cheap: substring tests on its parts)."""

    def parse(self, table: HtmlTable, index: int) -> ProgressTable:
        """The table's rows and notes, as a ``ProgressTable`` found at output ``index``."""


class StreamFormat(Protocol):
    """A table printed as lines of text on a stream (stdout or stderr).

    Lines are offered one at a time, as displayed (redraws applied).  At most one
    table is open at a time in a stream: a line goes first to the open table's
    format (:meth:`add`), then to each format in order (:meth:`start`); a start
    closes the open table (:meth:`close`).

    A format that needs every ``\\r`` redraw of a line, not only the one shown
    (a tqdm bar whose last redraws carry an epoch's final values), sets a class
    attribute ``redrawn = True``: lines holding ``\\r`` are then offered to it raw
    (:meth:`add` of its open table, then :meth:`start`) before the shown text
    goes to the formats in order.

    A format whose table one line cannot prove (a bar only the next lines show to
    be its) adds ``tentative(line) -> state | None`` and ``confirms(state, line) ->
    bool | None``: a line no format took is held with that state; the next lines
    confirm it (True: the table opens there), are held too (None), or give it up
    (False: the held lines are then read as if nothing had been held).
    """

    name: str
    framework: str
    #: Substrings one of which a stream's text must hold for this format to read it.
    markers: tuple[str, ...]

    def wants(self, head: str) -> bool:
        """Whether a line starting with the character ``head`` may be this format's (cheap)."""

    def start(self, line: str) -> Any | None:
        """The state of a new table when ``line`` opens one (a header, a first row), else None."""

    def add(self, state: Any, line: str) -> bool:
        """Add ``line`` to the open table ``state``; False when it is not one of its lines."""

    def close(self, state: Any, index: int) -> ProgressTable:
        """The finished table, found at output ``index``."""
