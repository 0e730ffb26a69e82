"""The epoch table: rows in the fixed CSV schema, the CSV writer and the typed loader.

The CSV keeps every value exactly as the notebook displayed it (text); the
loader turns it into a pandas DataFrame with proper dtypes and derived columns.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd

from audiometrics.analysis.evaluate import number
from audiometrics.atomic import atomic_writer, write_atomic
from audiometrics.errors import LoaderWarning, MetricsFileError
from audiometrics.model import Run, cell_label

__all__ = [
    "SCHEMA",
    "SOURCE_COLUMNS",
    "NON_METRIC_COLUMNS",
    "rows_from_runs",
    "notebook_root",
    "csv_columns",
    "write_csv",
    "render_csv",
    "neutralise_formula",
    "restore_formula",
    "typed_frame",
    "load_metrics",
    "read_epoch_csv",
    "frame_from_runs",
    "phase_frame",
    "lr_upper",
    "time_to_seconds",
]

#: The fixed columns of the CSV, in order. Other metric columns follow, sorted.
SCHEMA: tuple[str, ...] = (
    "accuracy_multi",
    "epoch",
    "learning_rate",
    "lwlrap",
    "model",
    "pretrained",
    "time",
    "train_loss",
    "training_phase",
    "valid_loss",
)

#: The columns ``--with-source`` adds after the metric columns, in order (see the README, "The CSV").
SOURCE_COLUMNS: tuple[str, ...] = ("notebook", "run", "cell", "call", "planned_epochs", "interrupted")

#: The source columns as the loader returns them: the CSV's ``run`` ordinal becomes ``run_ordinal``.
TYPED_SOURCE_COLUMNS: tuple[str, ...] = ("notebook", "run_ordinal", "cell", "call", "planned_epochs", "interrupted")

#: Columns that are not metric values.
NON_METRIC_COLUMNS = frozenset(
    {"epoch", "learning_rate", "model", "pretrained", "time", "training_phase", *SOURCE_COLUMNS, *TYPED_SOURCE_COLUMNS}
)

#: Columns added by the loader.
DERIVED_COLUMNS: tuple[str, ...] = ("time_s", "global_epoch", "run", "lr_max")

_MISSING_TEXT = frozenset({"", "#na#", "none", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity", "na", "n/a"})


#: Appended to a learning rate the source did not give, which is the library's default.
DEFAULT_LR_SUFFIX = " (default)"
#: Appended to a learning rate that is the learner's own (``Learner(..., lr=1e-2)``), not the call's.
LEARNER_LR_SUFFIX = " (learner)"


def learning_rate_text(learning_rate: str, is_default: bool, from_learner: bool = False) -> str:
    """The CSV's learning-rate text: ``"1e-3 (default)"``, ``"1e-2 (learner)"``, or the source text."""
    if not learning_rate:
        return learning_rate
    if is_default:
        return f"{learning_rate}{DEFAULT_LR_SUFFIX}"
    return f"{learning_rate}{LEARNER_LR_SUFFIX}" if from_learner else learning_rate


def split_learning_rate(text: str) -> tuple[str, bool, bool]:
    """Undo :func:`learning_rate_text`: ``(source text, is_default, from_learner)``."""
    if text.endswith(DEFAULT_LR_SUFFIX):
        return text[: -len(DEFAULT_LR_SUFFIX)], True, False
    if text.endswith(LEARNER_LR_SUFFIX):
        return text[: -len(LEARNER_LR_SUFFIX)], False, True
    return text, False, False


def _yes_no(flag: bool | None) -> str:
    return "" if flag is None else ("Yes" if flag else "No")


def notebook_root(paths: Iterable[str]) -> str | None:
    """The common parent folder of notebook ``paths`` (absolute), ``None`` when there are none.

    Paths are compared as :func:`audiometrics.runs.boundary.clean_text` writes them, so
    names repaired at the boundary still sit under the root.
    """
    from audiometrics.runs.boundary import clean_text

    folders = [os.path.dirname(os.path.abspath(clean_text(os.fspath(p)))) for p in paths]
    if not folders:
        return None
    try:
        return os.path.commonpath(folders)
    except ValueError:  # different drives
        return None


def notebook_name(path: str, root: str | None) -> str:
    """``path`` relative to ``root`` with ``/`` separators (``root=""``: ``path`` as it is; ``None``: its base name)."""
    if root == "":
        return path
    if root is None:
        return os.path.basename(path)
    try:
        relative = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # different drives
        return os.path.basename(path)
    return relative.replace(os.sep, "/")


def rows_from_runs(runs: Iterable[Run], *, with_source: bool = False, root: str | None = None) -> list[dict[str, str]]:
    """One dict per recorded epoch, keyed by CSV column, values as displayed.

    With ``with_source`` the rows carry the :data:`SOURCE_COLUMNS`; ``notebook`` is
    the path relative to ``root`` (see :func:`notebook_root`; ``None``: the common
    parent of these runs' notebooks; ``""``: the path as recorded).
    """
    runs = list(runs)
    if with_source and root is None:
        root = notebook_root(run.notebook for run in runs)
    rows: list[dict[str, str]] = []
    ordinals: dict[str, int] = {}
    for run in runs:
        ordinals[run.notebook] = ordinals.get(run.notebook, 0) + 1
        run_fields = {"model": run.model, "pretrained": _yes_no(run.pretrained)}
        if with_source:
            run_fields.update(notebook=notebook_name(run.notebook, root), run=str(run.ordinal or ordinals[run.notebook]))
        for phase in run.phases:
            phase_fields = dict(
                run_fields,
                learning_rate=learning_rate_text(phase.learning_rate, phase.lr_is_default, phase.lr_from_learner),
                training_phase=str(phase.number),
            )
            if with_source:
                phase_fields.update(
                    cell=cell_label(phase.cell, phase.count),
                    call=phase.call_text,
                    planned_epochs="" if phase.planned_epochs is None else str(phase.planned_epochs),
                    interrupted=_yes_no(phase.interrupted),
                )
            for values in phase.rows:
                row = dict(zip(phase.columns, values))
                row.update(phase_fields)
                rows.append(row)
    return rows


def csv_columns(rows: Iterable[dict[str, str]], *, with_source: bool = False) -> list[str]:
    """The schema's columns, then other columns found (sorted), then the :data:`SOURCE_COLUMNS`."""
    return columns_for_keys({key for row in rows for key in row}, with_source=with_source)


def columns_for_keys(keys: Iterable[str], *, with_source: bool = False) -> list[str]:
    """The CSV columns for rows holding ``keys``: see :func:`csv_columns`."""
    extra = sorted(set(keys) - set(SCHEMA) - set(SOURCE_COLUMNS))
    return [*SCHEMA, *extra, *(SOURCE_COLUMNS if with_source else ())]


# --------------------------------------------------------------------------- formula injection

#: A cell a spreadsheet would run as a formula: ``=``, ``+``, ``-``, ``@``, tab or CR first
#: (after any quotes this module added, so that the neutralising quote round-trips).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_RESTORE = re.compile(r"'+[=+\-@\t\r]")
_FORMULA_FIRST = frozenset("'=+-@\t\r")
#: The characters that make a spreadsheet read a cell as a formula.
FORMULA_START = frozenset("=+-@\t\r")


def _is_number(text: str) -> bool:
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


def _neutralised(rows: Iterable[dict[str, str]]) -> Iterator[dict[str, str]]:
    first = _FORMULA_FIRST
    for row in rows:
        if any(value and value[0] in first for value in row.values()):
            row = {key: neutralise_formula(value) for key, value in row.items()}
        yield row


def render_csv(rows: Sequence[dict[str, str]], *, with_source: bool = False, raw_text: bool = False) -> str:
    """The CSV text for ``rows`` (``\\n`` line endings); see :func:`write_csv_rows` for ``raw_text``."""
    buffer = io.StringIO()
    _write_rows(buffer, csv_columns(rows, with_source=with_source), rows, raw_text)
    return buffer.getvalue()


def _write_rows(handle: IO[str], columns: Sequence[str], rows: Iterable[dict[str, str]], raw_text: bool) -> None:
    writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", restval="")
    writer.writerow({c: c if raw_text else neutralise_formula(c) for c in columns})
    writer.writerows(rows if raw_text else _neutralised(rows))


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


# --------------------------------------------------------------------------- loader


_TIME = re.compile(r"(?:(\d{1,9}):)?(\d{1,9}):(\d{1,2}(?:\.\d{0,9})?)|(\d{1,9}(?:\.\d{0,9})?)")


def time_to_seconds(text: str) -> float:
    """``"01:05"`` → 65.0, ``"1:02:03"`` → 3723.0, ``"7.5"`` → 7.5; NaN for anything else.

    Refused (NaN): negative times (``"-00:05"``), seconds ≥ 60 after a colon, minutes
    ≥ 60 under an hour field, absurdly long numbers, and any other text.
    """
    if not isinstance(text, str):
        return math.nan
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return math.nan
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


class _Problems:
    """Values the loader refused, per column, reported as one :class:`LoaderWarning` each."""

    def __init__(self, where: str, notebooks: pd.Series | None = None) -> None:
        self.where = where
        self.notebooks = notebooks
        self.found: list[str] = []

    def _row(self, position: int) -> str:
        if self.notebooks is None or not str(self.notebooks.iloc[position]):
            return f"row {position + 1}"
        return f"row {position + 1} ({self.notebooks.iloc[position]})"

    def add(self, column: str, text: pd.Series, refused: pd.Series, what: str) -> None:
        if not refused.any():
            return
        positions = np.flatnonzero(refused.to_numpy())
        examples = ", ".join(f"{self._row(p)}: {str(text.iloc[p])[:40]!r}" for p in positions[:3])
        more = f" and {len(positions) - 3} more" if len(positions) > 3 else ""
        self.found.append(f"column {column!r}: {len(positions)} value(s) {what}, read as missing ({examples}{more})")

    def warn(self) -> None:
        prefix = f"{self.where}: " if self.where else ""
        for message in self.found:
            warnings.warn(f"{prefix}{message}", LoaderWarning, stacklevel=4)


def _stripped(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().fillna("")


def _to_float(series: pd.Series, column: str = "", problems: _Problems | None = None) -> pd.Series:
    text = _stripped(series)
    missing = text.str.lower().isin(_MISSING_TEXT)
    values = pd.to_numeric(text.mask(missing), errors="coerce").astype("float64")
    refused = ~missing & ~np.isfinite(values)
    values[~np.isfinite(values)] = np.nan
    if problems is not None:
        problems.add(column, text, refused, "that are not finite numbers")
    return values


_WHOLE = re.compile(r"\+?0*(\d{1,18}?)(?:\.0*)?")


def _by_value(series: pd.Series, function: Callable[[Any], Any]) -> np.ndarray:
    """``function`` of every value of ``series``, computed once per distinct value (an object array)."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=False)
    results = np.empty(len(uniques), dtype=object)
    results[:] = [function(value) for value in uniques]
    return results[codes]


def _whole(value: Any) -> int | None | bool:
    """A whole number ≥ 0 from text; ``None`` for a missing spelling; ``False`` for nonsense."""
    text = "" if value is None or value is pd.NA or isinstance(value, float) else str(value).strip()
    match = _WHOLE.fullmatch(text)
    if match is not None:
        return int(match.group(1))
    return None if text.lower() in _MISSING_TEXT else False


def _to_count(series: pd.Series, column: str, problems: _Problems) -> pd.Series:
    """Whole numbers ≥ 0 (``"3"``, ``"3.0"``) as Int64; anything else (``"1.5"``, ``"-1"``, overflow) NA and warned."""
    parsed = _by_value(series, _whole)
    refused = np.fromiter((v is False for v in parsed), dtype=bool, count=len(parsed))
    problems.add(column, series.reset_index(drop=True), pd.Series(refused), "that are not whole numbers ≥ 0 (or too large)")
    values = [None if v is None or v is False else v for v in parsed]
    return pd.Series(pd.array(values, dtype="Int64"), index=series.index)


def _run_starts(frame: pd.DataFrame) -> pd.Series:
    """Where a run starts: at a new (notebook, run ordinal) when the CSV has them, else at a guess.

    The guess (CSVs without source columns): notebook, model or pretrained
    changes, or the phase number goes down.
    """
    if "run_ordinal" in frame.columns:
        keys = frame[[c for c in ("notebook", "run_ordinal") if c in frame.columns]].astype("string").fillna("")
        return (keys != keys.shift()).any(axis=1)
    keys = [c for c in ("notebook", "model", "pretrained") if c in frame.columns]
    key_frame = frame[keys].astype("string").fillna("")
    changed = (key_frame != key_frame.shift()).any(axis=1)
    phase = frame["training_phase"]
    return changed | (phase < phase.shift()).fillna(False).astype(bool)


def _label_runs(firsts: Iterable[tuple[Any, Any, Any]]) -> list[str]:
    """One label per run from its (notebook, model, pretrained): ``nb: model (pretrained)``, repeats ``#2``, …"""
    labels: list[str] = []
    seen: dict[str, int] = {}
    for notebook, model, pretrained in firsts:
        base = str(model) if isinstance(model, str) and model else "unknown model"
        if pretrained is True:
            base += " (pretrained)"
        if isinstance(notebook, str) and notebook:
            base = f"{notebook}: {base}"
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base} #{seen[base]}")
    return labels


def _run_labels(frame: pd.DataFrame) -> pd.Series:
    """One label per run (see :func:`_run_starts` for what a run is, :func:`_label_runs` for the label)."""
    if frame.empty:
        return pd.Series([], dtype="string", index=frame.index)
    starts = _run_starts(frame)
    starts.iloc[0] = True
    number = starts.cumsum()
    heads = frame[starts]
    notebooks = heads["notebook"] if "notebook" in heads.columns else [None] * len(heads)
    labels = _label_runs(zip(notebooks, heads["model"], heads["pretrained"].astype(object)))
    return number.map(dict(zip(number[starts], labels))).astype("string")


def _type_source_columns(out: pd.DataFrame, problems: _Problems) -> list[str]:
    """Type the :data:`SOURCE_COLUMNS` present; returns the typed names in order."""
    present = []
    if "run" in out.columns:
        out["run_ordinal"] = _to_count(out.pop("run"), "run", problems)
    for column in TYPED_SOURCE_COLUMNS:
        if column not in out.columns:
            continue
        present.append(column)
        if column == "planned_epochs":
            out[column] = _to_count(out[column], column, problems)
        elif column == "interrupted":
            out[column] = _stripped(out[column]).str.lower().map({"yes": True, "no": False}).astype("boolean")
        elif column != "run_ordinal":
            out[column] = out[column].astype("string").fillna("")
    return present


def typed_frame(frame: pd.DataFrame, *, where: str = "") -> pd.DataFrame:
    """Give a frame of CSV text proper dtypes and add ``time_s``, ``global_epoch``, ``run``, ``lr_max``.

    Missing values in any spelling fastai used (``#na#``, empty, ``None``,
    ``nan``, ``inf``) become NaN in metric columns. Values that are nonsense
    for their column (an epoch ``1.5`` or ``99999999999999999999999``, a time
    ``-00:05``, a metric ``abc``) become missing too, with a
    :class:`~audiometrics.errors.LoaderWarning` per column naming ``where``.
    The source columns (``--with-source``) are typed as well, the CSV's ``run``
    ordinal as ``run_ordinal``; they decide the runs when present.
    """
    # pandas keeps one block per extension-typed column (string, Int64, boolean) and warns
    # about fragmentation past 100 of them, even though the columns are built once each.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        return _typed_frame(frame, where)


def _typed_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    out = frame.copy()
    problems = _Problems(where, out["notebook"].astype(str) if "notebook" in out.columns else None)
    for column in SCHEMA:
        if column not in out.columns:
            out[column] = ""
    for column in ("epoch", "training_phase"):
        out[column] = _to_count(out[column], column, problems)
    pretrained = out["pretrained"].astype("string").str.strip().str.lower()
    out["pretrained"] = pretrained.map({"yes": True, "no": False, "true": True, "false": False}).astype("boolean")
    for column in ("learning_rate", "model", "time"):
        out[column] = out[column].astype("string").fillna("")
    source = _type_source_columns(out, problems)
    metric_columns = [c for c in out.columns if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]
    for column in metric_columns:
        out[column] = _to_float(out[column], column, problems)
    out = out.copy()  # consolidated again: no fragmentation (PerformanceWarning) with many metric columns
    out["time_s"] = pd.Series(_by_value(out["time"], time_to_seconds), index=out.index, dtype="float64")
    problems.add("time", out["time"], out["time_s"].isna() & ~out["time"].str.strip().str.lower().isin(_MISSING_TEXT), "that are not epoch times")
    out["run"] = _run_labels(out)
    out["global_epoch"] = out.groupby("run", sort=False).cumcount().astype("int64")
    lr_max = _by_value(out["learning_rate"], lambda t: (lr_upper(t) if t else None))
    out["lr_max"] = pd.Series(lr_max, index=out.index).astype("float64")
    problems.warn()
    ordered = [*SCHEMA, *sorted(c for c in metric_columns if c not in SCHEMA), *source]
    return out[[*ordered, *DERIVED_COLUMNS]].reset_index(drop=True)


#: Columns every epoch CSV has.
REQUIRED_COLUMNS: tuple[str, ...] = ("epoch", "training_phase")


def _csv_name(csv_path: Any) -> str:
    if isinstance(csv_path, (str, os.PathLike)):
        return os.fspath(csv_path)
    name = getattr(csv_path, "name", None)
    return name if isinstance(name, str) else "<the CSV stream>"


def read_epoch_csv(csv_path: Any, *, raw_text: bool = False) -> pd.DataFrame:
    """The epoch CSV at ``csv_path`` (a path or a text stream) as text, every column ``str``.

    Undoes :func:`neutralise_formula` unless ``raw_text``. Raises
    :class:`~audiometrics.errors.MetricsFileError` naming the file and the problem.
    """
    name = _csv_name(csv_path)
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
                raw[column] = _by_value(raw[column], restore_formula)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise MetricsFileError(name, f"not an audiometrics epoch CSV (missing columns: {', '.join(missing)})")
    return raw


def load_metrics(csv_path: Any, *, raw_text: bool = False) -> pd.DataFrame:
    """Load an epoch CSV written by ``audiometrics extract`` as a typed DataFrame.

    ``csv_path`` is a path or a text stream. Returns the CSV's columns with
    dtypes (``epoch``/``training_phase``: Int64, ``pretrained``: boolean,
    metrics: float64 with NaN for missing values, ``learning_rate``/``model``/
    ``time``: string; the source columns of ``--with-source``, the ``run``
    ordinal as ``run_ordinal``) plus the derived columns ``time_s``,
    ``global_epoch``, ``run`` and ``lr_max``. Text the writer neutralised for
    spreadsheets (``'=…``) is given back as it was, unless ``raw_text``.

    Raises :class:`~audiometrics.errors.MetricsFileError` (a ``ValueError``)
    naming the file and the problem; refused values are warned
    (:class:`~audiometrics.errors.LoaderWarning`, see :func:`typed_frame`).
    """
    return typed_frame(read_epoch_csv(csv_path, raw_text=raw_text), where=_csv_name(csv_path))


def loader_warnings(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """``function(*args, **kwargs)`` and the :class:`~audiometrics.errors.LoaderWarning` messages it gave, as lines.

    For command lines, which print them as ``warning: …`` lines rather than as
    Python warnings; other warnings pass through.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoaderWarning)
        result = function(*args, **kwargs)
    lines = []
    for warning in caught:
        if issubclass(warning.category, LoaderWarning):
            lines.append(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return result, lines


def frame_from_rows(rows: Sequence[dict[str, str]], *, with_source: bool = False) -> pd.DataFrame:
    """The typed DataFrame for rows from :func:`rows_from_runs` (same as writing and loading the CSV)."""
    columns = csv_columns(rows, with_source=with_source)
    raw = pd.DataFrame([[row.get(c, "") for c in columns] for row in rows], columns=columns, dtype="object")
    return typed_frame(raw)


def frame_from_runs(runs: Sequence[Run], *, root: str | None = None) -> pd.DataFrame:
    """The typed epoch frame of ``runs`` with the source columns (``root``: see :func:`rows_from_runs`)."""
    return frame_from_rows(rows_from_runs(runs, with_source=True, root=root), with_source=True)


PHASE_COLUMNS: tuple[str, ...] = (
    "run",
    "notebook",
    "model",
    "pretrained",
    "training_phase",
    "method",
    "call",
    "learning_rate",
    "lr_is_default",
    "planned_epochs",
    "recorded_epochs",
    "incomplete",
    "interrupted",
    "cell",
)


def phase_frame(runs: Sequence[Run], *, root: str | None = None) -> pd.DataFrame:
    """One row per phase of every run, including phases that recorded no epoch.

    ``run`` uses the same labels :func:`typed_frame` derives from the epoch rows,
    so the two frames join on ``run`` and ``training_phase``; ``notebook`` is
    named as :func:`rows_from_runs` names it for the same ``root``.
    """
    if root is None:
        root = notebook_root(run.notebook for run in runs)
    names = [notebook_name(run.notebook, root) for run in runs]
    # Every run starts a new run even when it repeats the previous one's keys.
    unique = _label_runs((name, run.model, run.pretrained) for name, run in zip(names, runs))
    records = [
        {
            "run": label,
            "notebook": name,
            "model": run.model,
            "pretrained": run.pretrained,
            "training_phase": phase.number,
            "method": phase.method,
            "call": phase.call_text,
            "learning_rate": phase.learning_rate,
            "lr_is_default": phase.lr_is_default,
            "planned_epochs": phase.planned_epochs,
            "recorded_epochs": phase.recorded_epochs,
            "incomplete": phase.incomplete,
            "interrupted": phase.interrupted,
            "cell": phase.cell if phase.cell >= 0 else None,
        }
        for label, name, run in zip(unique, names, runs)
        for phase in run.phases
    ]
    frame = pd.DataFrame.from_records(records, columns=list(PHASE_COLUMNS))
    return frame.astype(
        {
            "run": "string",
            "notebook": "string",
            "model": "string",
            "pretrained": "boolean",
            "training_phase": "Int64",
            "method": "string",
            "call": "string",
            "learning_rate": "string",
            "lr_is_default": "bool",
            "planned_epochs": "Int64",
            "recorded_epochs": "int64",
            "incomplete": "bool",
            "interrupted": "bool",
            "cell": "Int64",
        }
    )
