"""``html-th``: fastprogress <= 0.1.19 tables.

``<table style='width:...px; margin-bottom:10px'>`` where every cell is a
``<th>``.  fastprogress 0.1.x leaves empty values out of a row, so short rows
are kept in order from the left.
"""

from __future__ import annotations

from audiometrics.model import ProgressTable
from audiometrics.tables.markup import HtmlTable, table_rows

__all__ = ["FORMAT", "HeaderCellHtml"]


class HeaderCellHtml:
    """fastprogress 0.1.x's all-``<th>`` table: any epoch table no other format claims."""

    name = "html-th"
    framework = "fastai"
    markers = ("epoch</th>", "epoch</TH>")

    def detect(self, table: HtmlTable) -> bool:
        return True

    def parse(self, table: HtmlTable, index: int) -> ProgressTable:
        rows, notes = table_rows(table, left="dropped")
        return ProgressTable(table.header, rows, self.name, index, notes=notes)


FORMAT = HeaderCellHtml()
