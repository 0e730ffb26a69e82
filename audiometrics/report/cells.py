"""Values of an epoch or phase frame cell as Python values (``None`` for missing)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from audiometrics.epochs.values import parse_number

__all__ = ["opt_bool", "opt_float", "opt_int", "opt_str"]


def opt_int(value: Any) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        if isinstance(value, float) and math.isnan(value):
            return None
        return int(value)
    except (TypeError, ValueError):
        return None


def opt_bool(value: Any) -> bool | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return bool(value)


def opt_float(value: Any) -> float | None:
    """A finite number or ``None`` (the one number parser: :func:`audiometrics.epochs.values.parse_number`)."""
    return parse_number(value)


def opt_str(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
