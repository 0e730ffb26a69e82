"""The tool's own exception types."""

from __future__ import annotations


class AudiometricsError(Exception):
    """Base class of every error audiometrics raises on purpose."""


class _FileError(AudiometricsError):
    """A problem with one file: ``path: reason``; pickles (it crosses process boundaries)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple:
        return (type(self), (self.path, self.reason))


class NotebookError(_FileError):
    """A file that cannot be read as a notebook; names the file and the reason."""


class TableParseError(AudiometricsError):
    """Markup that looks like a progress table but cannot be read as one."""


class MetricsFileError(_FileError, ValueError):
    """A file that cannot be loaded as an epoch CSV; names the file and the problem.

    A :class:`ValueError` too, so code that caught the loader's earlier errors still works.
    """


class LoaderWarning(UserWarning):
    """A value of an epoch CSV that the loader refused (read as missing): overflow or nonsense."""
