"""The epoch CSV as a sink: rows streamed through a spool, written once the columns are known.

The CSV's columns are the schema, then every other column some table had
(sorted), so they are only known after the last notebook. :class:`CsvSink`
therefore writes each notebook's rows to a temporary spool (a pickle per notebook) as it
arrives, holding no more than one notebook's rows in memory, and streams them
into the CSV at the end: the same bytes as
:func:`~audiometrics.epochs.csv_file.write_csv` of all the rows at once.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from audiometrics.epochs.csv_file import write_csv_rows
from audiometrics.epochs.rows import columns_for_keys, rows_from_runs
from audiometrics.model import NotebookResult

__all__ = ["CsvSink"]


class CsvSink:
    """Writes the epoch CSV of every notebook it is given (the sink ``"csv"``).

    Parameters
    ----------
    target : path, optional
        Where :meth:`close` writes the CSV (atomically). Without it, write with
        :meth:`write` (into an output set's staging folder, say) before closing.
    root : str, optional
        The folder the ``notebook`` column is relative to: pass
        :func:`~audiometrics.epochs.rows.notebook_root` of *all* the inputs,
        since the sink sees one notebook at a time (``""``: paths as given;
        ``None``: see :func:`~audiometrics.epochs.rows.rows_from_runs`).
    with_source : bool
        Add the source columns (``extract --with-source``).
    raw_text : bool
        Write text a spreadsheet would take for a formula as it is (see
        :func:`~audiometrics.epochs.csv_file.write_csv_rows`).

    Examples
    --------
    >>> import io, tempfile, os
    >>> from audiometrics.model import NotebookResult, Phase, Run
    >>> phase = Phase(1, "fit", 1, "1e-3", False, 0, ("epoch", "valid_loss"), (("0", "0.5"),))
    >>> sink = CsvSink(root="")
    >>> sink.add(NotebookResult("a.ipynb", (Run("a.ipynb", "resnet18", True, (phase,)),)))
    >>> sink.row_count, sink.metrics
    (1, ['valid_loss'])
    >>> target = os.path.join(tempfile.mkdtemp(), "epochs.csv")
    >>> sink.write(target) == Path(target), sink.close() == [Path(target)]
    (True, True)
    >>> print(open(target).read().splitlines()[1])
    ,0,1e-3,,resnet18,Yes,,,1,0.5
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | None = None,
        *,
        root: str | None = None,
        with_source: bool = False,
        raw_text: bool = False,
    ) -> None:
        self.target = Path(target) if target is not None else None
        self.root = root
        self.with_source = with_source
        self.raw_text = raw_text
        self.keys: set[str] = set()
        self.row_count = 0
        self._metrics: set[str] = set()
        self._spool: IO[bytes] | None = tempfile.TemporaryFile("w+b")
        self._written: list[Path] = []

    # ------------------------------------------------------------------ the Sink protocol

    def add(self, result: NotebookResult) -> None:
        """Spool the epoch rows of ``result``'s runs."""
        from audiometrics.options import available_metrics

        spool = self._open_spool()
        rows = rows_from_runs(result.runs, with_source=self.with_source, root=self.root)
        if not rows:
            return
        for row in rows:
            self.keys.update(row)
        pickle.dump(rows, spool, protocol=pickle.HIGHEST_PROTOCOL)  # (our own file: read back below)
        self.row_count += len(rows)
        self._metrics.update(available_metrics(rows))

    def close(self) -> list[Path]:
        """Write the CSV to ``target`` (when given and not written yet), drop the spool; returns the paths written."""
        if self._spool is not None:
            try:
                if self.target is not None and not self._written:
                    self.write(self.target)
            finally:
                self._discard()
        return list(self._written)

    # ------------------------------------------------------------------ what the outputs need

    @property
    def columns(self) -> list[str]:
        """The CSV's columns for the rows so far (:func:`~audiometrics.epochs.rows.columns_for_keys`)."""
        return columns_for_keys(self.keys, with_source=self.with_source)

    @property
    def metrics(self) -> list[str]:
        """Metric columns holding at least one finite value, sorted (:func:`audiometrics.options.available_metrics`)."""
        return sorted(self._metrics)

    def spooled_rows(self) -> Iterator[dict[str, str]]:
        """The rows so far, read back from the spool (one at a time)."""
        spool = self._open_spool()
        spool.seek(0)
        return _read_back(spool)

    def write(self, target: str | os.PathLike[str]) -> Path:
        """Write the CSV of the rows so far to ``target`` atomically; returns ``target`` as a :class:`~pathlib.Path`."""
        write_csv_rows(target, self.columns, self.spooled_rows(), raw_text=self.raw_text)
        self._spool.seek(0, os.SEEK_END)  # type: ignore[union-attr]  # more rows may follow
        written = Path(target)
        self._written.append(written)
        return written

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> CsvSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._discard()  # a failed extraction writes nothing

    def _open_spool(self) -> IO[bytes]:
        if self._spool is None:
            raise ValueError("the CSV sink is closed")
        return self._spool

    def _discard(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def _read_back(spool: IO[bytes]) -> Iterator[dict[str, str]]:
    """The rows :meth:`CsvSink.add` spooled, one notebook's list at a time."""
    while True:
        try:
            rows = pickle.load(spool)
        except EOFError:
            return
        yield from rows
