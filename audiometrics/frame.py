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
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from audiometrics.atomic import atomic_writer, write_atomic
from audiometrics.model import Run

__all__ = [
    "SCHEMA",
    "NON_METRIC_COLUMNS",
    "rows_from_runs",
    "csv_columns",
    "write_csv",
    "render_csv",
    "typed_frame",
    "load_metrics",
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

#: Columns that are not metric values.
NON_METRIC_COLUMNS = frozenset({"epoch", "learning_rate", "model", "pretrained", "time", "training_phase", "notebook"})

#: Columns added by the loader.
DERIVED_COLUMNS: tuple[str, ...] = ("time_s", "global_epoch", "run", "lr_max")

_MISSING_TEXT = frozenset({"", "#na#", "none", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity", "na", "n/a"})


#: Appended to a learning rate the source did not give, which is the library's default.
DEFAULT_LR_SUFFIX = " (default)"


def learning_rate_text(learning_rate: str, is_default: bool) -> str:
    """The CSV's learning-rate text: ``"1e-3 (default)"`` for an omitted learning rate."""
    return f"{learning_rate}{DEFAULT_LR_SUFFIX}" if is_default and learning_rate else learning_rate


def _yes_no(flag: bool | None) -> str:
    return "" if flag is None else ("Yes" if flag else "No")


def rows_from_runs(runs: Iterable[Run], *, with_source: bool = False) -> list[dict[str, str]]:
    """One dict per recorded epoch, keyed by CSV column, values as displayed."""
    rows: list[dict[str, str]] = []
    for run in runs:
        for phase in run.phases:
            for values in phase.rows:
                row = dict(zip(phase.columns, values))
                row.update(
                    learning_rate=learning_rate_text(phase.learning_rate, phase.lr_is_default),
                    model=run.model,
                    pretrained=_yes_no(run.pretrained),
                    training_phase=str(phase.number),
                )
                if with_source:
                    row["notebook"] = os.path.basename(run.notebook)
                rows.append(row)
    return rows


def csv_columns(rows: Iterable[dict[str, str]], *, with_source: bool = False) -> list[str]:
    """The schema's columns, then other columns found (sorted), then ``notebook``."""
    return columns_for_keys({key for row in rows for key in row}, with_source=with_source)


def columns_for_keys(keys: Iterable[str], *, with_source: bool = False) -> list[str]:
    """The CSV columns for rows holding ``keys``: see :func:`csv_columns`."""
    extra = sorted(set(keys) - set(SCHEMA) - {"notebook"})
    return [*SCHEMA, *extra, *(["notebook"] if with_source else [])]


def render_csv(rows: Sequence[dict[str, str]], *, with_source: bool = False) -> str:
    """The CSV text for ``rows`` (``\\n`` line endings)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=csv_columns(rows, with_source=with_source), lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv_rows(path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    """Write ``rows`` (any iterable, consumed once, never held) as CSV with ``columns``, atomically."""
    with atomic_writer(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_csv(path: str | os.PathLike[str], rows: Sequence[dict[str, str]], *, with_source: bool = False) -> None:
    """Write ``rows`` as CSV to ``path`` atomically."""
    write_atomic(path, render_csv(rows, with_source=with_source))


# --------------------------------------------------------------------------- loader


def time_to_seconds(text: str) -> float:
    """``"01:05"`` → 65.0, ``"1:02:03"`` → 3723.0; NaN for anything else."""
    if not isinstance(text, str):
        return math.nan
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3:
        return math.nan
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return math.nan
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds


def _arith(node: ast.AST) -> float | None:
    """Evaluate a literal arithmetic expression (numbers, + - * / **) without eval."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _arith(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        left, right = _arith(node.left), _arith(node.right)
        if left is None or right is None:
            return None
        try:
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right
            if abs(right) > 64:
                return None
            return left**right
        except (ZeroDivisionError, OverflowError):
            return None
    return None


def lr_upper(text: str) -> float | None:
    """The largest learning rate a learning-rate text stands for, or ``None``.

    ``"1e-3"`` → 0.001, ``"slice(1e-4, 1e-3)"`` → 0.001, ``"slice(2e-3)"`` → 0.002,
    ``"[1e-3, 1e-2]"`` → 0.01, ``"1e-3 (default)"`` → 0.001. Parsed with ``ast``, never evaluated.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip().removesuffix(DEFAULT_LR_SUFFIX.strip()).strip()
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice" and not node.keywords:
        values = [_arith(arg) for arg in node.args]
        values = [v for v in values if v is not None]
        return max(values) if values and len(values) == len(node.args) else None
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_arith(e) for e in node.elts]
        return max(values) if values and all(v is not None for v in values) else None  # type: ignore[type-var]
    return _arith(node)


def _to_float(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    missing = text.isna() | text.str.lower().isin(_MISSING_TEXT)
    values = pd.to_numeric(text.mask(missing), errors="coerce").astype("float64")
    values[~np.isfinite(values)] = np.nan
    return values


def _run_labels(frame: pd.DataFrame) -> pd.Series:
    """One id per run: a new run starts when notebook, model or pretrained changes, or phases restart."""
    if frame.empty:
        return pd.Series([], dtype="string", index=frame.index)
    keys = [c for c in ("notebook", "model", "pretrained") if c in frame.columns]
    key_frame = frame[keys].astype("string").fillna("")
    changed = (key_frame != key_frame.shift()).any(axis=1)
    phase = frame["training_phase"]
    restarted = (phase < phase.shift()).fillna(False).astype(bool)
    starts = changed | restarted
    starts.iloc[0] = True
    number = starts.cumsum()
    labels: dict[int, str] = {}
    seen: dict[str, int] = {}
    for run_number, first in frame[starts].assign(_n=number[starts]).iterrows():
        base = str(first.get("model") or "unknown model")
        if first.get("pretrained") is True:
            base += " (pretrained)"
        notebook = first.get("notebook")
        if isinstance(notebook, str) and notebook:
            base = f"{notebook}: {base}"
        seen[base] = seen.get(base, 0) + 1
        labels[int(first["_n"])] = base if seen[base] == 1 else f"{base} #{seen[base]}"
    return number.map(labels).astype("string")


def typed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame of CSV text proper dtypes and add ``time_s``, ``global_epoch``, ``run``, ``lr_max``.

    Missing values in any spelling fastai used (``#na#``, empty, ``None``,
    ``nan``, ``inf``) become NaN in metric columns.
    """
    out = frame.copy()
    for column in SCHEMA:
        if column not in out.columns:
            out[column] = ""
    for column in ("epoch", "training_phase"):
        out[column] = pd.to_numeric(out[column].astype("string").str.strip().replace("", pd.NA), errors="coerce").astype("Int64")
    pretrained = out["pretrained"].astype("string").str.strip().str.lower()
    out["pretrained"] = pretrained.map({"yes": True, "no": False, "true": True, "false": False}).astype("boolean")
    for column in ("learning_rate", "model", "time", *(["notebook"] if "notebook" in out.columns else [])):
        out[column] = out[column].astype("string").fillna("")
    metric_columns = [c for c in out.columns if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]
    for column in metric_columns:
        out[column] = _to_float(out[column])
    out = out.copy()  # consolidated again: no fragmentation (PerformanceWarning) with many metric columns
    out["time_s"] = out["time"].map(time_to_seconds).astype("float64")
    out["run"] = _run_labels(out)
    out["global_epoch"] = out.groupby("run", sort=False).cumcount().astype("int64")
    out["lr_max"] = out["learning_rate"].map(lambda t: lr_upper(t) if t else None).astype("float64")
    ordered = [*SCHEMA, *sorted(c for c in metric_columns if c not in SCHEMA)]
    if "notebook" in out.columns:
        ordered.append("notebook")
    return out[[*ordered, *DERIVED_COLUMNS]].reset_index(drop=True)


def load_metrics(csv_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load an epoch CSV written by ``audiometrics extract`` as a typed DataFrame.

    Returns the CSV's columns with dtypes (``epoch``/``training_phase``: Int64,
    ``pretrained``: boolean, metrics: float64 with NaN for missing values,
    ``learning_rate``/``model``/``time``: string) plus the derived columns
    ``time_s``, ``global_epoch``, ``run`` and ``lr_max``.
    """
    raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_filter=False)
    unknown = [c for c in ("epoch", "training_phase") if c not in raw.columns]
    if unknown:
        raise ValueError(f"{os.fspath(csv_path)}: not an audiometrics epoch CSV (missing columns: {', '.join(unknown)})")
    return typed_frame(raw)


def frame_from_rows(rows: Sequence[dict[str, str]], *, with_source: bool = False) -> pd.DataFrame:
    """The typed DataFrame for rows from :func:`rows_from_runs` (same as writing and loading the CSV)."""
    columns = csv_columns(rows, with_source=with_source)
    raw = pd.DataFrame([[row.get(c, "") for c in columns] for row in rows], columns=columns, dtype="object")
    return typed_frame(raw)



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


def phase_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per phase of every run, including phases that recorded no epoch.

    ``run`` uses the same labels :func:`typed_frame` derives from the epoch rows,
    so the two frames join on ``run`` and ``training_phase``.
    """
    firsts = pd.DataFrame(
        {
            "notebook": [os.path.basename(r.notebook) for r in runs],
            "model": [r.model for r in runs],
            "pretrained": pd.array([r.pretrained for r in runs], dtype="boolean"),
            "training_phase": pd.array([r.phases[0].number if r.phases else 1 for r in runs], dtype="Int64"),
        }
    )
    # Every run starts a new run even when it repeats the previous one's keys.
    labels = [_run_labels(firsts.iloc[[i]]).iloc[0] for i in range(len(runs))]
    seen: dict[str, int] = {}
    unique: list[str] = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    records = [
        {
            "run": label,
            "notebook": os.path.basename(run.notebook),
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
            "cell": phase.cell,
        }
        for label, run in zip(unique, runs)
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
