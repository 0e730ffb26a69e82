"""The command line: one module per command; no library code here."""

from audiometrics.cli.main import main

__all__ = ["main"]
