"""The epoch CSV file: writing rows (with the spreadsheet-formula guard) and reading the text back.

Values are written exactly as displayed, except text a spreadsheet would run
as a formula, which gets a leading ``'`` (:func:`neutralise_formula`);
:func:`read_epoch_csv` removes it again.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd

from audiometrics.atomic import atomic_writer, write_atomic
from audiometrics.epochs.rows import csv_columns
from audiometrics.epochs.schema import REQUIRED_COLUMNS
from audiometrics.errors import MetricsFileError

__all__ = [
    "FORMULA_START",
    "neutralise_formula",
    "restore_formula",
    "render_csv",
    "write_csv_rows",
    "write_csv",
    "by_value",
    "csv_name",
    "read_epoch_csv",
]


#: A cell a spreadsheet would run as a formula: ``=``, ``+``, ``-``, ``@``, tab or CR first
#: (after any quotes this module added, so that the neutralising quote round-trips).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_RESTORE = re.compile(r"'+[=+\-@\t\r]")
_FORMULA_FIRST = frozenset("'=+-@\t\r")
#: The characters that make a spreadsheet read a cell as a formula.
FORMULA_START = frozenset("=+-@\t\r")


def _is_number(text: str) -> bool:
    """Python's number syntax (``-1e-3``, ``-inf``): left as it is, so the CSV's numbers stay as displayed."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def neutralise_formula(text: str) -> str:
    """``text`` safe to open in a spreadsheet: ``'`` before a formula start (OWASP); numbers untouched."""
    if text and text[0] in _FORMULA_FIRST and _FORMULA.match(text) and not _is_number(text):
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """Undo :func:`neutralise_formula`."""
    return text[1:] if _RESTORE.match(text) else text


_MAY_BE_FORMULA = re.compile("[" + re.escape("".join(sorted(_FORMULA_FIRST))) + "]").match


def _neutralised(rows: Iterable[dict[str, str]]) -> Iterator[dict[str, str]]:
    for row in rows:
        try:
            suspect = any(map(_MAY_BE_FORMULA, row.values()))  # a first character that may start one
        except TypeError:  # a value that is not text (None): looked at one by one
            suspect = any(isinstance(value, str) and _MAY_BE_FORMULA(value) for value in row.values())
        if suspect:
            row = {key: neutralise_formula(value) if isinstance(value, str) else value for key, value in row.items()}
        yield row


def _as_lists(rows: Iterable[dict[str, str]], columns: list[str]) -> Iterator[list[str | None]]:
    """Each row's values in ``columns`` order (None, written empty, for a column it lacks), as
    :class:`csv.DictWriter` gives them; a key outside ``columns`` is an error, as there."""
    known = set(columns)
    for row in rows:
        if not known.issuperset(row):
            raise ValueError(f"dict contains fields not in fieldnames: {', '.join(repr(k) for k in row.keys() - known)}")
        yield list(map(row.get, columns))


def render_csv(rows: Sequence[dict[str, str]], *, with_source: bool = False, raw_text: bool = False) -> str:
    """The CSV text for ``rows`` (``\\n`` line endings); see :func:`write_csv_rows` for ``raw_text``."""
    buffer = io.StringIO()
    _write_rows(buffer, csv_columns(rows, with_source=with_source), rows, raw_text)
    return buffer.getvalue()


def _write_rows(handle: IO[str], columns: Sequence[str], rows: Iterable[dict[str, str]], raw_text: bool) -> None:
    columns = list(columns)
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([c if raw_text else neutralise_formula(c) for c in columns])
    writer.writerows(_as_lists(rows if raw_text else _neutralised(rows), columns))


def write_csv_rows(
    path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[dict[str, str]], *, raw_text: bool = False
) -> None:
    """Write ``rows`` (any iterable, consumed once, never held) as CSV with ``columns``, atomically.

    Text that a spreadsheet would take for a formula is prefixed with ``'``
    (:func:`neutralise_formula`; :func:`load_metrics` removes it again);
    ``raw_text=True`` writes every value as it is.
    """
    with atomic_writer(path) as handle:
        _write_rows(handle, columns, rows, raw_text)


def write_csv(
    path: str | os.PathLike[str], rows: Sequence[dict[str, str]], *, with_source: bool = False, raw_text: bool = False
) -> None:
    """Write ``rows`` as CSV to ``path`` atomically (``raw_text``: see :func:`write_csv_rows`)."""
    write_atomic(path, render_csv(rows, with_source=with_source, raw_text=raw_text))


def by_value(series: pd.Series, function: Callable[[Any], Any]) -> np.ndarray:
    """``function`` of every value of ``series``, computed once per distinct value (an object array)."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=False)
    results = np.empty(len(uniques), dtype=object)
    results[:] = [function(value) for value in uniques]
    return results[codes]



def csv_name(csv_path: Any) -> str:
    """How errors and warnings name ``csv_path``: the path, a stream's ``name``, or ``"<the CSV stream>"``."""
    if isinstance(csv_path, (str, os.PathLike)):
        return os.fspath(csv_path)
    name = getattr(csv_path, "name", None)
    return name if isinstance(name, str) else "<the CSV stream>"


def read_epoch_csv(csv_path: Any, *, raw_text: bool = False) -> pd.DataFrame:
    """The epoch CSV at ``csv_path`` (a path or a text stream) as text, every column ``str``.

    Undoes :func:`neutralise_formula` unless ``raw_text``. Raises
    :class:`~audiometrics.errors.MetricsFileError` naming the file and the problem.
    """
    name = csv_name(csv_path)
    try:
        raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise MetricsFileError(name, "no such file") from None
    except IsADirectoryError:
        raise MetricsFileError(name, "is a folder, not a CSV file") from None
    except OSError as error:
        raise MetricsFileError(name, f"cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise MetricsFileError(name, f"not a UTF-8 text file (byte {error.start}: {error.reason})") from None
    except pd.errors.EmptyDataError:
        raise MetricsFileError(name, "empty file, not an epoch CSV") from None
    except (pd.errors.ParserError, ValueError) as error:
        detail = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise MetricsFileError(name, f"not a CSV file ({detail})") from None
    if not raw_text:
        raw.columns = [restore_formula(c) for c in raw.columns]
        for column in raw.columns:
            if raw[column].str.startswith("'").any():
                raw[column] = by_value(raw[column], restore_formula)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise MetricsFileError(name, f"not an audiometrics epoch CSV (missing columns: {', '.join(missing)})")
    return raw

