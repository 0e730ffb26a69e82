"""Diagnostics on stderr as text lines or JSON lines (``--log-format``), shared by the commands.

Text: ``warning: PATH, In [3] (cell 4): message`` as the commands always printed;
JSON: one object per line (docs/json.md, "Diagnostics"). Terminal control
characters are removed from text lines; JSON escapes them itself.
"""

from __future__ import annotations

import click

from audiometrics.escaping import terminal_text
from audiometrics.model import Diagnostic

__all__ = ["Emitter", "log_format_option"]

log_format_option = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics on stderr as text lines or as JSON lines (one object per line, docs/json.md).",
)


class Emitter:
    """Writes diagnostics to stderr in the chosen format."""

    def __init__(self, log_format: str = "text") -> None:
        self.json = log_format == "json"

    def diagnostic(self, diagnostic: Diagnostic) -> None:
        from audiometrics.json_output import diagnostic_line

        self._out(diagnostic_line(diagnostic) if self.json else f"warning: {diagnostic}")

    def message(self, level: str, text: str, **fields: object) -> None:
        """A line of ours: ``level: text`` (text) or ``{"level": …, fields…, "message": text}`` (JSON)."""
        from audiometrics.json_output import message_line

        self._out(message_line(level, text, **fields) if self.json else f"{level}: {text}")

    def failure(self, path: str, reason: str) -> None:
        self.message("error", f"{path}: {reason}", file=path, reason=reason)

    def _out(self, line: str) -> None:
        click.echo(line if self.json else terminal_text(line), err=True)
