"""How the reports write numbers and lists: the template filters and the sentence helpers.

The filters (``num``, ``signed``, ``pct``, ``ratio``, ``dur``, ``unknown``,
``words``) of :mod:`audiometrics.report.render` are the functions here, so that
a sentence built in Python (a data-quality warning) and one worded by a template
read the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


__all__ = [
    "FILTERS",
    "yes_no",
    "fmt",
    "fmt_duration",
    "fmt_percent",
    "fmt_ratio",
    "fmt_signed",
    "isnum",
    "join_words",
    "number_ranges",
    "or_unknown",
    "plural",
]


def isnum(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: Any, missing: str = "n/a") -> str:
    """A metric value as fastai shows it: 6 decimals (``0.722973``), ``6g`` for very large/small values."""
    if not isnum(value):
        return missing
    value = float(value)
    if value == 0:
        return "0.000000"
    if abs(value) >= 1e6 or abs(value) < 1e-4:
        return f"{value:.6g}"
    return f"{value:.6f}"


def fmt_signed(value: Any, digits: int = 3) -> str:
    """``+0.631`` / ``-0.012``."""
    if not isnum(value):
        return "n/a"
    text = f"{float(value):+.{digits}f}"
    return "+0." + "0" * digits if text in ("-0." + "0" * digits,) else text


def fmt_percent(value: Any) -> str:
    """``6.8%`` (one decimal, no sign)."""
    if not isnum(value):
        return "n/a"
    return f"{abs(float(value)):.1f}%"


def fmt_ratio(value: Any) -> str:
    """``2.78×``."""
    return "n/a" if not isnum(value) else f"{float(value):.2f}×"


def fmt_duration(seconds: Any) -> str:
    """``6.8 s``, ``13 min 1 s``, ``1 h 02 min``."""
    if not isnum(seconds):
        return "n/a"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {(whole % 3600) // 60:02d} min"


def yes_no(value: Any) -> str:
    """A flag as a report shows it: ``Yes``, ``No``, or ``unknown`` for ``None``.

    >>> yes_no(True), yes_no(False), yes_no(None)
    ('Yes', 'No', 'unknown')
    """
    return "unknown" if value is None else ("Yes" if value else "No")


def or_unknown(value: Any) -> str:
    """``str(value)``, or ``?`` for ``None`` (a phase or epoch number that is not known)."""
    return "?" if value is None else str(value)


def number_ranges(numbers: Sequence[int]) -> str:
    """``[4, 5, 7]`` → ``"4–5, 7"``."""
    out: list[str] = []
    start = prev = None
    for n in sorted(set(numbers)):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = n
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(out)


def join_words(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``1 epoch`` / ``3 epochs``."""
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


FILTERS = {
    "num": fmt, "signed": fmt_signed, "pct": fmt_percent, "ratio": fmt_ratio, "dur": fmt_duration,
    "yesno": yes_no, "unknown": or_unknown, "words": join_words,
}
"""The template filters every report environment shares (numbers, flags, lists); each environment adds
its own escaping ones (``md``, ``code``: markdown for the reports, HTML for ``report.html``)."""
