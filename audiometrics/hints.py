"""Install hints that work where the user is: from a source checkout, or with the package installed."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["install_hint"]


def _checkout() -> Path | None:
    """The source checkout this package runs from (``pyproject.toml`` of audiometrics beside it), if any."""
    top = Path(__file__).resolve().parent.parent
    try:
        text = (top / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return top if re.search(r'^name\s*=\s*"audiometrics"', text, re.M) else None


def install_hint(extra: str) -> str:
    """The command that installs the optional dependencies ``extra``.

    From a checkout: an editable install of it (``.`` when it is the current
    folder); from an installed package: the package with the extra.
    """
    top = _checkout()
    if top is None:
        return f"python3 -m pip install 'audiometrics[{extra}]'"
    where = "." if Path(os.getcwd()).resolve() == top else os.fspath(top)
    return f"python3 -m pip install -e '{where}[{extra}]'"
