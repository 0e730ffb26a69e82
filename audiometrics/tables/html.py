"""``html``: legacy fastprogress 0.1.20 – 1.0.x tables.

``<table border="1" class="dataframe">`` with ``<thead>``/``<td>``, bare, after
``Total time: MM:SS <p>``, or inside the mid-run ``<div>`` with ``<progress>`` bars.
"""

from __future__ import annotations

from audiometrics.model import ProgressTable
from audiometrics.tables.markup import HtmlTable, table_rows

__all__ = ["FORMAT", "LegacyHtml"]


class LegacyHtml:
    """fastprogress's ``<td>`` table (or one with a ``<thead>``)."""

    name = "html"
    framework = "fastai"
    markers = ("epoch</th>", "epoch</TH>")

    def detect(self, table: HtmlTable) -> bool:
        return "<thead" in table.head or "<td" in table.segment

    def parse(self, table: HtmlTable, index: int) -> ProgressTable:
        rows, notes = table_rows(table)
        return ProgressTable(table.header, rows, self.name, index, notes=notes)


FORMAT = LegacyHtml()
