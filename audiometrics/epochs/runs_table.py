"""The runs table: one row per run (``runs.csv``), built from Runs, written beside the epoch CSV, loaded typed.

:func:`runs_table` builds one :class:`RunRow` per run from extraction results
(the notebook's stated parameters, :mod:`audiometrics.analysis.parameters`, and
its warnings included); :func:`render_runs_csv` writes them, :func:`load_runs`
reads them back as a typed DataFrame. The columns (:data:`RUN_COLUMNS`, then for
every metric column ``M`` of the runs: ``best_M``, ``best_M_epoch``, ``final_M``):

``notebook``, ``run``
    the notebook (named as in the epoch CSV's ``notebook`` column) and the run's
    ordinal in it: they identify the run.
``label``
    the run's id in :func:`~audiometrics.epochs.loader.load_metrics`'s ``run`` column.
``framework``, ``model``, ``pretrained``
    as extraction found them (``Yes``/``No``/empty).
``status``
    ``empty``: no epoch recorded; ``stale``: a phase recorded more epochs than
    its call asked for (a table kept from an earlier version of the cell);
    ``interrupted``: a fit stopped early or a phase recorded fewer epochs than
    planned (or none); ``complete``: every phase recorded what its call planned.
``smoke``
    why the notebook is a smoke/debug run by its own parameters (``SMOKE = True``),
    empty when it is not (:func:`~audiometrics.analysis.parameters.smoke_reason`).
``phases``, ``phases_recorded``
    training calls, and those that recorded at least one epoch.
``epochs_planned``, ``epochs_recorded``
    epochs the calls asked for (empty when any call's count is not known) and the epoch rows.
``total_time_s``
    the sum of the recorded epoch times (empty when no epoch has a time).
``warnings``
    extraction warnings of the notebook pinned to the run's cells or to no cell.
``parameters``
    the stated parameters as a JSON object (name → value; a value JSON cannot
    hold, a set say, as its source text).
``best_M``, ``best_M_epoch``, ``final_M``
    the best value of metric ``M`` (lowest for losses and errors, else highest),
    the epoch it was reached at (counted across phases from 0, as the loader's
    ``global_epoch``), and the last recorded value.
"""

from __future__ import annotations

import io
import json
import re
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from audiometrics.analysis.parameters import Parameter, smoke_reason
from audiometrics.epochs.labels import label_runs
from audiometrics.epochs.rows import notebook_name, notebook_root
from audiometrics.epochs.values import parse_number, time_to_seconds
from audiometrics.model import NotebookResult, Run
from audiometrics.options import metric_direction

__all__ = [
    "RUNS_CSV_NAME",
    "RUN_COLUMNS",
    "STATUSES",
    "MetricStat",
    "RunRow",
    "RunsTableBuilder",
    "runs_columns",
    "load_runs",
    "render_runs_csv",
    "report_run_rows",
    "run_status",
    "runs_table",
]

#: The runs table's file name, beside the epoch CSV.
RUNS_CSV_NAME = "runs.csv"
#: The fixed columns, before the metric columns.
RUN_COLUMNS: tuple[str, ...] = (
    "notebook", "run", "label", "framework", "model", "pretrained", "status", "smoke", "phases", "phases_recorded",
    "epochs_planned", "epochs_recorded", "total_time_s", "warnings", "parameters",
)
#: The values of ``status``, worst first.
STATUSES: tuple[str, ...] = ("empty", "stale", "interrupted", "complete")
_NOT_METRICS = frozenset({"epoch", "time"})
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)")


@dataclass(frozen=True)
class MetricStat:
    """A metric of a run: best value, the epoch of the best (across phases, 0-based), final value."""

    best: float
    best_epoch: int
    final: float


@dataclass(frozen=True)
class RunRow:
    """One row of the runs table (see the module docstring for each field)."""

    notebook: str
    run: int
    label: str
    framework: str
    model: str
    pretrained: bool | None
    status: str
    smoke: str
    phases: int
    phases_recorded: int
    epochs_planned: int | None
    epochs_recorded: int
    total_time_s: float | None
    warnings: int
    parameters: tuple[Parameter, ...] = ()
    metrics: dict[str, MetricStat] = field(default_factory=dict)
    nonfinite: dict[str, int] = field(default_factory=dict)  # column → epochs showing nan/inf (not in runs.csv)

    def parameter_texts(self) -> dict[str, str]:
        """The stated parameters as ``{name: source text}``."""
        return {p.name: p.text for p in self.parameters}


def run_status(run: Run) -> str:
    """``empty``, ``stale``, ``interrupted`` or ``complete`` (see the module docstring)."""
    if not any(p.recorded_epochs for p in run.phases):
        return "empty"
    if any(p.planned_epochs is not None and p.recorded_epochs > p.planned_epochs for p in run.phases):
        return "stale"
    if any(p.incomplete or not p.recorded_epochs for p in run.phases):
        return "interrupted"
    return "complete"


def _metric_stats(run: Run) -> tuple[dict[str, MetricStat], float | None, dict[str, int]]:
    """Best/final of every metric column, the total epoch time, and the values shown as nan/inf per column."""
    series: dict[str, list[tuple[int, float]]] = {}
    nonfinite: dict[str, int] = {}
    total, timed = 0.0, False
    position = 0
    for phase in run.phases:
        at_time = phase.columns.index("time") if "time" in phase.columns else None
        for row in phase.rows:
            for at, name in enumerate(phase.columns):
                if name in _NOT_METRICS or at >= len(row):
                    continue
                value = parse_number(row[at])
                if value is not None:
                    series.setdefault(name, []).append((position, value))
                elif _NONFINITE.fullmatch(row[at].strip().lower()):
                    nonfinite[name] = nonfinite.get(name, 0) + 1
            if at_time is not None and at_time < len(row):
                seconds = time_to_seconds(row[at_time])
                if not math.isnan(seconds):
                    total, timed = total + seconds, True
            position += 1
    stats = {}
    for name, values in series.items():
        lower = bool(metric_direction(name))
        best = min(values, key=lambda pv: (pv[1], pv[0])) if lower else min(values, key=lambda pv: (-pv[1], pv[0]))
        stats[name] = MetricStat(best[1], best[0], values[-1][1])
    return stats, (total if timed else None), nonfinite


def _warnings_of(run: Run, result: NotebookResult | None) -> int:
    if result is None:
        return 0
    cells = {p.cell for p in run.phases} | ({run.cell} if run.cell is not None else set())
    return sum(1 for d in result.diagnostics if d.cell is None or d.cell in cells)


def _row(run: Run, label: str, name: str, result: NotebookResult | None, parameters: tuple[Parameter, ...]) -> RunRow:
    planned = [p.planned_epochs for p in run.phases]
    metrics, total, nonfinite = _metric_stats(run)
    return RunRow(
        notebook=name,
        run=run.ordinal,
        label=label,
        framework=run.framework,
        model=run.model,
        pretrained=run.pretrained,
        status=run_status(run),
        smoke=smoke_reason(parameters),
        phases=len(run.phases),
        phases_recorded=sum(1 for p in run.phases if p.recorded_epochs),
        epochs_planned=sum(planned) if planned and None not in planned else None,  # type: ignore[arg-type]
        epochs_recorded=sum(p.recorded_epochs for p in run.phases),
        total_time_s=total,
        warnings=_warnings_of(run, result),
        parameters=parameters,
        metrics=metrics,
        nonfinite=nonfinite,
    )


class RunsTableBuilder:
    """Builds the runs table one extraction result at a time (memory: one small row per run).

    ``root``: see :func:`runs_table`. Call :meth:`add` with each result (errors are
    ignored), then :meth:`rows`.
    """

    def __init__(self, root: str | None) -> None:
        self.root = root
        self._rows: list[RunRow] = []

    def add(self, result: Any, parameters: tuple[Parameter, ...] | None = None) -> None:
        """Add the runs of ``result`` (a :class:`~audiometrics.model.NotebookResult` or a bare Run)."""
        if isinstance(result, NotebookResult):
            pairs: list[tuple[Run, NotebookResult | None]] = [(run, result) for run in result.runs]
            stated = result.parameters
        elif isinstance(result, Run):
            pairs, stated = [(result, None)], parameters or ()
        else:
            return
        for run, owner in pairs:
            self._rows.append(_row(run, "", notebook_name(run.notebook, self.root), owner, stated))

    def rows(self) -> list[RunRow]:
        """The rows added so far, labelled as the loader labels runs."""
        labels = label_runs((row.notebook, row.model, row.pretrained) for row in self._rows)
        return [replace(row, label=label) for row, label in zip(self._rows, labels)]


def runs_table(
    results: Iterable[NotebookResult | Run], *, root: str | None = None, parameters: dict[str, tuple[Parameter, ...]] | None = None
) -> list[RunRow]:
    """One :class:`RunRow` per run of ``results`` (extraction results, or bare Runs), in order.

    ``root`` names notebooks as the epoch CSV does (:func:`~audiometrics.epochs.rows.notebook_name`;
    ``None``: the common parent of the notebooks). ``parameters`` gives the stated
    parameters of bare Runs by notebook path (results carry their own).
    The cost is linear in the number of epoch rows.
    """
    items = list(results)
    if root is None:
        paths = [run.notebook for item in items for run in (item.runs if isinstance(item, NotebookResult) else (item,))]
        root = notebook_root(paths)
    builder = RunsTableBuilder(root)
    stated = parameters or {}
    for item in items:
        builder.add(item, None if isinstance(item, NotebookResult) else stated.get(item.notebook, ()))
    return builder.rows()


# --------------------------------------------------------------------------- CSV


def _json_value(parameter: Parameter) -> Any:
    try:
        json.dumps(parameter.value, allow_nan=False)
        return parameter.value
    except (TypeError, ValueError):
        return parameter.text


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _fields(row: RunRow) -> dict[str, str]:
    fields = {
        "notebook": row.notebook,
        "run": str(row.run),
        "label": row.label,
        "framework": row.framework,
        "model": row.model,
        "pretrained": "" if row.pretrained is None else ("Yes" if row.pretrained else "No"),
        "status": row.status,
        "smoke": row.smoke,
        "phases": str(row.phases),
        "phases_recorded": str(row.phases_recorded),
        "epochs_planned": "" if row.epochs_planned is None else str(row.epochs_planned),
        "epochs_recorded": str(row.epochs_recorded),
        "total_time_s": _number(row.total_time_s),
        "warnings": str(row.warnings),
        "parameters": json.dumps({p.name: _json_value(p) for p in row.parameters}, ensure_ascii=False) if row.parameters else "",
    }
    for name, stat in row.metrics.items():
        fields[f"best_{name}"] = _number(stat.best)
        fields[f"best_{name}_epoch"] = str(stat.best_epoch)
        fields[f"final_{name}"] = _number(stat.final)
    return fields


def runs_columns(rows: Sequence[RunRow]) -> list[str]:
    """:data:`RUN_COLUMNS`, then ``best_M``, ``best_M_epoch``, ``final_M`` for every metric (losses first, then by name)."""
    names = {name for row in rows for name in row.metrics}
    ordered = [n for n in ("train_loss", "valid_loss") if n in names] + sorted(n for n in names if n not in ("train_loss", "valid_loss"))
    return [*RUN_COLUMNS, *(c for n in ordered for c in (f"best_{n}", f"best_{n}_epoch", f"final_{n}"))]


def render_runs_csv(rows: Sequence[RunRow], *, raw_text: bool = False) -> str:
    """The text of ``runs.csv`` for ``rows`` (text a spreadsheet would run guarded with ``'`` unless ``raw_text``)."""
    from audiometrics.epochs.csv_file import _write_rows

    buffer = io.StringIO()
    _write_rows(buffer, runs_columns(rows), (_fields(row) for row in rows), raw_text)
    return buffer.getvalue()


_COUNTS = ("run", "phases", "phases_recorded", "epochs_planned", "epochs_recorded", "warnings")


def load_runs(csv_path: Any, *, raw_text: bool = False) -> pd.DataFrame:
    """Load ``runs.csv`` (a path or a text stream) as a typed DataFrame.

    Counts (``run``, ``phases``, ``phases_recorded``, ``epochs_planned``,
    ``epochs_recorded``, ``warnings`` and every ``best_M_epoch``) are ``Int64``,
    ``pretrained`` is ``boolean``, ``total_time_s`` and the metric values are
    ``float64``, ``parameters`` holds dicts (``{}`` when none were stated), the
    rest are strings. Raises :class:`~audiometrics.errors.MetricsFileError`
    naming the file and the problem.

    Examples
    --------
    >>> import io
    >>> text = "notebook,run,label,status,parameters,best_lwlrap,best_lwlrap_epoch\\na.ipynb,1,a.ipynb: resnet18,complete,\\"{\\"\\"SMOKE\\"\\": true}\\",0.5,3\\n"
    >>> runs = load_runs(io.StringIO(text))
    >>> runs.loc[0, "parameters"], float(runs.loc[0, "best_lwlrap"]), runs["best_lwlrap_epoch"].dtype
    ({'SMOKE': True}, 0.5, Int64Dtype())
    """
    from audiometrics.epochs.csv_file import csv_name, restore_formula
    from audiometrics.errors import MetricsFileError

    name = csv_name(csv_path)
    try:
        raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise MetricsFileError(name, "no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError, ValueError) as error:
        raise MetricsFileError(name, f"not a runs CSV ({type(error).__name__}: {str(error).strip()[:120]})") from None
    for column in ("notebook", "run"):
        if column not in raw.columns:
            raise MetricsFileError(name, f"not an audiometrics runs CSV (missing column: {column})")
    if not raw_text:
        raw = raw.apply(lambda series: series.map(restore_formula) if series.str.startswith("'").any() else series)
    return _typed_runs(raw, name)


def _parameters(text: str, name: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        from audiometrics.errors import MetricsFileError

        raise MetricsFileError(name, f"the parameters column holds something other than a JSON object: {text[:60]!r}")
    return value


def _typed_runs(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    out = raw.copy()
    for column in out.columns:
        if column in _COUNTS or (column.startswith("best_") and column.endswith("_epoch")):
            out[column] = pd.array([int(v) if v.strip().isdigit() else None for v in out[column]], dtype="Int64")
        elif column == "pretrained":
            out[column] = out[column].str.strip().str.lower().map({"yes": True, "no": False}).astype("boolean")
        elif column == "total_time_s" or column.startswith(("best_", "final_")):
            out[column] = pd.Series([parse_number(v) for v in out[column]], index=out.index, dtype="float64")
        elif column == "parameters":
            out[column] = pd.Series([_parameters(v, name) for v in out[column]], index=out.index, dtype="object")
        else:
            out[column] = out[column].astype("string")
    return out


# --------------------------------------------------------------------------- report on a CSV


def _parameter_text(value: Any) -> str:
    """A loaded parameter value written back as Python source (``True``, ``"resnet18"``, ``[1, 1]``)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def report_run_rows(csv_path: Any, runs: Sequence[Run] | None = None) -> tuple[list[RunRow] | None, list[str]]:
    """The runs table ``report`` uses for an epoch CSV: from its runs, with ``runs.csv`` beside it when present.

    Returns ``(rows, warnings)``. Runs are those of the CSV (``runs``, or
    :func:`~audiometrics.epochs.csv_runs.runs_from_csv`); parameters, smoke
    reasons and warning counts come from ``runs.csv`` beside the CSV, matched on
    ``notebook`` and ``run``. ``None`` when the CSV has no source columns (its runs
    cannot be matched: write it with ``--with-source``) or when ``csv_path`` is a stream.
    """
    import os
    from pathlib import Path

    from audiometrics.epochs.csv_runs import has_source_columns, runs_from_frame
    from audiometrics.epochs.csv_file import read_epoch_csv
    from audiometrics.errors import MetricsFileError

    if not isinstance(csv_path, (str, os.PathLike)):
        return None, []
    if runs is None:
        raw = read_epoch_csv(csv_path)
        if not has_source_columns(raw):
            return None, []
        runs = runs_from_frame(raw)
    rows = runs_table(runs, root="")
    beside = Path(csv_path).parent / RUNS_CSV_NAME
    if not beside.is_file():
        return rows, []
    try:
        table = load_runs(beside)
    except (MetricsFileError, OSError) as error:
        return rows, [f"{error}; the report does not know the notebooks' parameters"]
    stated = {
        (str(n), int(r)): (p, str(s), w)
        for n, r, p, s, w in zip(table["notebook"], table["run"], table["parameters"], table.get("smoke", [""] * len(table)), table.get("warnings", [0] * len(table)))
        if r is not pd.NA
    }
    merged = []
    for row in rows:
        found = stated.get((row.notebook, row.run))
        if found is None:
            merged.append(row)
            continue
        values, smoke, warnings = found
        parameters = tuple(Parameter(name, value, _parameter_text(value), -1) for name, value in values.items())
        merged.append(replace(row, parameters=parameters, smoke=smoke if smoke != "<NA>" else "", warnings=int(warnings) if warnings is not pd.NA else 0))
    return merged, []
