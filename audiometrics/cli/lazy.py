"""A click group whose commands live in their own modules, imported only when used.

``audiometrics --version`` and ``--help`` then cost click and this package's
first module, not pandas, numpy or matplotlib: the listing reads each command's
one-line help from the table it was registered with (a test checks that table
against the commands themselves).
"""

from __future__ import annotations

from importlib import import_module

import click

__all__ = ["LazyGroup", "shorten"]


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word to at most ``limit`` characters, ``...`` marking the cut (as click lists commands).

    >>> shorten("Score SUBMISSION against TRUTH with LWLRAP.", 30)
    'Score SUBMISSION against...'
    >>> shorten("Short.", 30)
    'Short.'
    """
    if len(text) <= limit:
        return text
    words, kept = text.split(), ""
    for word in words:
        candidate = f"{kept} {word}" if kept else word
        if len(candidate) + 3 > limit:
            break
        kept = candidate
    return (kept.rstrip(",;:") or text[: max(limit - 3, 0)]) + "..."


class LazyGroup(click.Group):
    """A :class:`click.Group` with ``lazy`` commands: ``name -> ("module:attribute", short help)``.

    The short help is the command's own, untruncated (``command.get_short_help_str(10**6)``).
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = dict(lazy or {})

    def add_lazy(self, name: str, target: str, short_help: str) -> None:
        """Register the command at ``target`` (``"module:attribute"``) as ``name``."""
        self.lazy[name] = (target, short_help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None or name not in self.lazy:
            return command
        module, _, attribute = self.lazy[name][0].partition(":")
        command = getattr(import_module(module), attribute)
        self.add_command(command, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max((len(n) for n in self.list_commands(ctx)), default=0)
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, shorten(self.lazy[name][1], limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
