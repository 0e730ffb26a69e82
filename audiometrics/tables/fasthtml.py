"""``fasthtml``: fastprogress >= 1.1 tables.

``<table class="fastprogress">`` rendered by fasthtml; the same output's
``text/markdown``/``text/plain`` copies are not counted (the display walk,
:mod:`audiometrics.tables.display`, reads one copy per output).
"""

from __future__ import annotations

from audiometrics.model import ProgressTable
from audiometrics.tables.markup import HtmlTable, table_rows

__all__ = ["FORMAT", "FastHtml"]


class FastHtml:
    """fastprogress 1.1's ``class="fastprogress"`` table."""

    name = "fasthtml"
    framework = "fastai"
    markers = ("epoch</th>", "epoch</TH>")

    def detect(self, table: HtmlTable) -> bool:
        return "fastprogress" in table.attrs

    def parse(self, table: HtmlTable, index: int) -> ProgressTable:
        rows, notes = table_rows(table)
        return ProgressTable(table.header, rows, self.name, index, notes=notes)


FORMAT = FastHtml()
