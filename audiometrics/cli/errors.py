"""The library's metric-option errors as command-line usage errors (shared by ``extract`` and ``report``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click


@contextmanager
def metric_usage_errors() -> Iterator[None]:
    """Turn :class:`~audiometrics.options.MetricError` (and its ``DirectionError``) into exit status 2."""
    from audiometrics.options import DirectionError, MetricError

    try:
        yield
    except DirectionError as error:
        better = "lower" if error.known_lower else "higher"
        raise click.UsageError(
            f"{error.metric} is known to be better when {better}; add --force-direction to rank it the other way"
        ) from None
    except MetricError as error:
        raise click.UsageError(str(error)) from None
