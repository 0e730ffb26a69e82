"""Displayed values as numbers: the one parser of the epoch table's text.

The CSV keeps values as the notebook displayed them; everything that needs a
number of that text (the typed loader, the command line's run lines, the
reports) reads it here, so that a value means the same thing everywhere:

* :func:`parse_number` — a metric or loss: a finite ``float``, or ``None`` for
  every spelling of missing (:data:`MISSING_TEXT`) and for anything else;
* :func:`whole_number` — an epoch, phase or count: a whole number ≥ 0;
* :func:`time_to_seconds` — an epoch time (``"01:05"``);
* :func:`lr_upper` — the largest learning rate of a learning-rate text.

Nothing here evaluates code: learning rates are parsed with :mod:`ast`.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
from typing import Any

from audiometrics.analysis.evaluate import number
from audiometrics.epochs.schema import DEFAULT_LR_SUFFIX, LEARNER_LR_SUFFIX

__all__ = ["MISSING_TEXT", "is_missing", "parse_number", "whole_number", "time_to_seconds", "lr_upper"]

#: Every spelling of "no value" fastai (or a spreadsheet) writes, lower case; compared stripped and ignoring case.
MISSING_TEXT = frozenset({"", "#na#", "none", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity", "na", "n/a"})


def is_missing(text: Any) -> bool:
    """Whether ``text`` is a spelling of a missing value (``""``, ``"#na#"``, ``"None"``, ``"nan"``, ``"inf"``, …).

    Examples
    --------
    >>> is_missing(" #na# "), is_missing("N/A"), is_missing("0.5")
    (True, True, False)
    """
    return not isinstance(text, str) or text.strip().lower() in MISSING_TEXT


def parse_number(text: Any) -> float | None:
    """A displayed number as a finite ``float``; ``None`` when it is missing or not a finite number.

    Surrounding white space is ignored; every spelling of missing
    (:data:`MISSING_TEXT`), infinities, NaN, overflow (``"1e999"``) and text
    that is not a plain decimal number (``"1_000"``, non-ASCII digits,
    ``"0x1"``, ``"abc"``) give ``None``. Tell a missing value from a refused
    one with :func:`is_missing`. A percentage (``"74.41%"``, as plain loops
    print accuracies) is its fraction, as fastai's metrics are (``0.7441``). A
    value that is already a number (a typed frame's ``float64``) is returned as
    a ``float`` when finite; anything else (``None``, ``pandas.NA``) gives ``None``.

    Examples
    --------
    >>> parse_number("0.693147"), parse_number(" 1e-3 "), parse_number("#na#")
    (0.693147, 0.001, None)
    >>> parse_number("inf"), parse_number("1e999"), parse_number("1_000"), parse_number("abc")
    (None, None, None, None)
    >>> parse_number(0.25), parse_number(float("nan")), parse_number(None)
    (0.25, None, None)
    >>> parse_number("74.41%"), parse_number("%")
    (0.7441, None)
    """
    if type(text) is str and text.isascii() and "_" not in text:  # the common case, read by float() in C
        try:
            value = float(text)  # every spelling of missing is refused here or is not finite below
        except ValueError:
            return _percentage(text)
        return value if math.isfinite(value) else None
    if type(text) is float:  # a typed frame's cell
        return text if math.isfinite(text) else None
    if isinstance(text, numbers.Real):
        value = float(text)
    elif not isinstance(text, str):
        return None
    else:
        text = text.strip()
        percent = text.endswith("%")
        if percent:
            text = text[:-1].rstrip()
        if not text.isascii() or "_" in text or text.lower() in MISSING_TEXT:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
        if percent:
            value = round(value / 100, 12)  # (74.41 / 100 is 0.7440999999999999)
    return value if math.isfinite(value) else None


def _percentage(text: str) -> float | None:
    """``"74.41%"`` → ``0.7441``; None for any other text float() refused."""
    text = text.strip()
    if not text.endswith("%"):
        return None
    try:
        value = round(float(text[:-1]) / 100, 12)  # (74.41 / 100 is 0.7440999999999999)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


_WHOLE = re.compile(r"\+?0*(\d{1,18}?)(?:\.0*)?")


def whole_number(value: Any) -> int | None | bool:
    """A whole number ≥ 0 from text; ``None`` for a missing spelling; ``False`` for anything else.

    Examples
    --------
    >>> whole_number("3"), whole_number("3.0"), whole_number("#na#"), whole_number("1.5")
    (3, 3, None, False)
    """
    text = "" if value is None or isinstance(value, float) or _is_na(value) else str(value).strip()
    match = _WHOLE.fullmatch(text)
    if match is not None:
        return int(match.group(1))
    return None if text.lower() in MISSING_TEXT else False


def _is_na(value: Any) -> bool:
    """Whether ``value`` is ``pandas.NA`` (without importing pandas)."""
    return type(value).__name__ == "NAType"


_TIME = re.compile(r"(?:(\d{1,9}):)?(\d{1,9}):(\d{1,2}(?:\.\d{0,9})?)|(\d{1,9}(?:\.\d{0,9})?)s?")
_UNITS = re.compile(r"(?:(\d{1,9})\s*h\s*)?(?:(\d{1,9})\s*m(?:in)?\s*)?(\d{1,9}(?:\.\d{0,9})?)\s*s")
"""``7m 13s``, ``1h 2m 3s``, ``2min 5.1s``: the times plain loops print (bentrevett's ``Epoch Time: 0m 7s``)."""


def time_to_seconds(text: str) -> float:
    """``"01:05"`` → 65.0, ``"1:02:03"`` → 3723.0, ``"7.5"`` → 7.5, ``"36s"`` (Keras) → 36.0,
    ``"7m 13s"`` → 433.0; NaN for anything else.

    Refused (NaN): negative times (``"-00:05"``), seconds ≥ 60 after a colon, minutes
    ≥ 60 under an hour field, absurdly long numbers, and any other text.
    """
    if not isinstance(text, str):
        return math.nan
    match = _TIME.fullmatch(text.strip())
    if match is None:
        units = _UNITS.fullmatch(text.strip())
        if units is None or (units.group(1) is not None and units.group(2) is not None and int(units.group(2)) >= 60):
            return math.nan
        hours, minutes, seconds = units.groups()
        if (hours or minutes) and float(seconds) >= 60:
            return math.nan
        return (int(hours or 0) * 60 + int(minutes or 0)) * 60 + float(seconds)
    hours, minutes, seconds, alone = match.groups()
    if alone is not None:
        return float(alone)
    if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return math.nan
    return (int(hours or 0) * 60 + int(minutes)) * 60 + float(seconds)


_LR_OPS = frozenset({ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow})


def _arith(node: ast.AST) -> float | None:
    """A literal arithmetic expression's value (numbers, + - * / **), by the analysis' bounded evaluator."""
    return number(node, _LR_OPS, int_bits=1024, max_exponent=64)


def lr_upper(text: str) -> float | None:
    """The largest learning rate a learning-rate text stands for, or ``None``.

    ``"1e-3"`` → 0.001, ``"slice(1e-4, 1e-3)"`` → 0.001, ``"slice(2e-3)"`` → 0.002,
    ``"[1e-3, 1e-2]"`` → 0.01, ``"1e-3 (default)"`` and ``"1e-3 (learner)"`` → 0.001. Parsed with ``ast``, never evaluated.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip().removesuffix(DEFAULT_LR_SUFFIX.strip()).removesuffix(LEARNER_LR_SUFFIX.strip()).strip()
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice" and not node.keywords:
        values = [_arith(arg) for arg in node.args]
        values = [v for v in values if v is not None]
        return max(values) if values and len(values) == len(node.args) else None
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_arith(e) for e in node.elts]
        return max(values) if values and all(v is not None for v in values) else None  # type: ignore[type-var]
    return _arith(node)

