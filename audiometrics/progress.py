"""A one-line progress bar on a terminal: files done, rows found, failures, speed, time left.

No dependency (tqdm is not one): the line is redrawn in place with ``\\r`` at
most every :data:`REFRESH_S` seconds, and finished with a newline on
:meth:`Progress.close`. It is silent (draws nothing at all) when the stream is
not a terminal, when disabled (``--quiet``), and for a handful of files
(:data:`HANDFUL` or fewer), where it would only flicker.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Progress", "HANDFUL", "REFRESH_S"]

#: Up to this many files, no bar is drawn.
HANDFUL = 5
#: Least time between two redraws.
REFRESH_S = 0.1


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Progress of ``total`` files, drawn on ``stream`` (default: ``sys.stderr``).

    ``enabled``: ``None`` (the default) draws when the stream is a terminal and
    ``total`` is more than :data:`HANDFUL`; ``False`` never draws; ``True``
    always does (tests). Use :meth:`advance` (or :meth:`update` with an
    extraction outcome) per file, and :meth:`close` (or a ``with`` block) at the end.
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        label: str = "extracting",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = total > HANDFUL and _is_terminal(self.stream)
        self.enabled = enabled
        self.label = label
        self.clock = clock
        self.files = 0
        self.rows = 0
        self.failed = 0
        self._start = clock()
        self._drawn_at: float | None = None
        self._width = 0
        self._closed = False
        self._stage_drawn = False
        self.stage_text = ""

    # ------------------------------------------------------------------ counting

    def advance(self, files: int = 1, rows: int = 0, failed: int = 0) -> None:
        """Count ``files`` more files done, with ``rows`` epoch rows found and ``failed`` failures."""
        self.files += files
        self.rows += rows
        self.failed += failed
        if self.enabled:
            now = self.clock()
            if self._drawn_at is None or now - self._drawn_at >= REFRESH_S or self.files >= self.total:
                self._draw(now)

    def update(self, outcome: Any) -> None:
        """Count one file from its extraction outcome (a ``NotebookResult`` or a ``NotebookError``)."""
        runs = getattr(outcome, "runs", None)
        if runs is None:
            self.advance(failed=1)
        else:
            self.advance(rows=sum(len(phase.rows) for run in runs for phase in run.phases))

    def stage(self, text: str) -> None:
        """Show what the work after reading is doing (``writing reports: drawing plots``), on the same line.

        Reopens a closed bar's line (the run lines may have been printed in
        between); :meth:`close` ends it again. Silent when disabled.
        """
        self.stage_text = text
        if not self.enabled:
            return
        self._closed = False
        elapsed = _clock(max(self.clock() - self._start, 0.0))
        line = f"{text}  ({elapsed})"[: max(_columns(self.stream) - 1, 0)]
        pad = max(self._width - len(line), 0)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._width = len(line)
        self._stage_drawn = True

    def done_line(self) -> str:
        """How far the work got, for a run that was stopped: ``after reading 37 of 500 files``."""
        if self.total and self.files >= self.total:
            files = "the file" if self.total == 1 else f"all {self.total} files"
            doing = f" ({self.stage_text})" if self.stage_text else ""
            return f"after reading {files}, while writing the outputs{doing}"
        failed = f" ({self.failed} failed)" if self.failed else ""
        return f"after reading {self.files} of {self.total} files{failed}"

    def close(self) -> None:
        """Draw the final state and end the line (nothing when disabled)."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            if not self._stage_drawn:
                self._draw(self.clock())
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0  # a new line: nothing to overwrite

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ drawing

    def line(self, now: float | None = None, columns: int = 100) -> str:
        """The text of the bar for the current counts, fitted to ``columns`` characters."""
        now = self.clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        done = min(self.files, self.total) if self.total else self.files
        fraction = done / self.total if self.total else 1.0
        rate = self.files / elapsed
        parts = [f"{self.files}/{self.total} files", f"{self.rows} rows"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.files and elapsed >= 0.5:
            parts.append(f"{rate:.1f} files/s")
            if self.files < self.total:
                parts.append(f"{_clock((self.total - self.files) / rate)} left")
            else:
                parts.append(f"in {_clock(elapsed)}")
        text = "  ".join(parts)
        head = f"{self.label} {fraction:4.0%} "
        room = columns - 1 - len(head) - len(text) - 4
        if room >= 10:
            width = min(room, 30)
            filled = int(width * fraction)
            bar = "[" + "#" * filled + "." * (width - filled) + "]"
            return f"{head}{bar}  {text}"
        return f"{head}{text}"[: max(columns - 1, 0)]

    def _draw(self, now: float) -> None:
        text = self.line(now, _columns(self.stream))
        pad = max(self._width - len(text), 0)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)
        self._drawn_at = now


def _columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` shows on (stdout may be redirected while stderr is not)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    if columns <= 0:  # not a terminal, or one that reports no size (a pty under `script`)
        columns = shutil.get_terminal_size(fallback=(100, 24)).columns
    return columns if columns > 0 else 100


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or odd streams
        return False
