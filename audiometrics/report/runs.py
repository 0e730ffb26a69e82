"""Run and phase summaries: one :class:`~audiometrics.report.model.RunSummary` per run.

A run's phases come from the phase frame when it matches the rows
(:mod:`audiometrics.report.phases`), else from the rows' ``training_phase``
values. Each phase shows its first :data:`HEAD_ROWS` epoch rows and its final
one; the main metric's change over a phase runs from the end of the previous
phase (or the phase's first value, for the first phase) to its last value.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any


from audiometrics.epochs.values import lr_upper
from audiometrics.report.cells import opt_bool, opt_float, opt_int, opt_str
from audiometrics.report.formatting import plural
from audiometrics.report.metric import architecture_family
from audiometrics.report.model import EpochRow, MetricInfo, PhaseSummary, Point, RunSummary
from audiometrics.report.rows import Rows

__all__ = ["HEAD_ROWS", "name_runs", "phase_status", "summarize_run"]

#: Rows shown at the start of each phase in the per-run summary (then ``...`` and the final epoch).
HEAD_ROWS = 10


@dataclass
class _PhaseSpec:
    """What is known of a phase before its rows are read: from the phase frame, or from the rows alone."""

    number: int | None
    rows: Rows
    learning_rate: str
    lr_is_default: bool = False
    method: str | None = None
    call: str | None = None
    planned: int | None = None
    incomplete: bool = False
    interrupted: bool = False
    cell: int | None = None


def _point_of(row: dict[str, Any], value: float) -> Point:
    return Point(value, opt_int(row["training_phase"]), opt_int(row["epoch"]), int(row["global_epoch"]))


def _point(rows: Rows, column: str, position: int) -> Point | None:
    found = rows.present(column)
    if not found:
        return None
    at = found[position]
    return _point_of(rows.record(at), float(rows.col(column)[at]))


def _best_point(rows: Rows, column: str, lower: bool) -> Point | None:
    found = rows.present(column)
    if not found:
        return None
    values = rows.col(column)
    best = (min if lower else max)(values[i] for i in found)
    at = next(i for i in found if values[i] == best)  # first occurrence of the best value
    return _point_of(rows.record(at), float(values[at]))


def _display_columns(rows: Rows, metric_columns: list[str]) -> list[str]:
    present = [c for c in metric_columns if any(v is not None for v in rows.col(c))]
    first = [c for c in ("train_loss", "valid_loss") if c in present]
    return first + [c for c in present if c not in first]


def _epoch_row(row: dict[str, Any], columns: list[str]) -> EpochRow:
    return EpochRow(
        epoch=opt_int(row["epoch"]),
        global_epoch=int(row["global_epoch"]),
        values={c: opt_float(row.get(c)) for c in columns},
        time=opt_str(row["time"]),
    )


def _lr_status(text: str, lr_max: float | None, is_default: bool) -> str:
    if is_default:
        return "default"
    if not text.strip():
        return "missing"
    return "ok" if lr_max is not None else "malformed"


def phase_status(method: str | None, call: str | None, planned: int | None, recorded: int, interrupted: bool, lr: str) -> str:
    """``fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded`` (the receiver, ``learn.``, left out)."""
    call = re.sub(r"^[A-Za-z_][A-Za-z0-9_]*\.(?=[A-Za-z_][A-Za-z0-9_]*\()", "", call) if call else call
    label = call or (f"{method}(…)" if method else "this phase")
    if recorded == 0:
        text = f"{label}: no epochs recorded"
        if planned is not None:
            text += f" (of {planned} planned)"
        return text + (" — the fit was interrupted" if interrupted else " — its saved table is empty")
    if planned is not None:
        text = f"{label}: {recorded} of {planned} epochs recorded"
    else:
        text = f"{label}: {plural(recorded, 'epoch')} recorded"
    if interrupted:
        text += " (interrupted)"
    return text


# --------------------------------------------------------------------------- phases of a run


def _specs_from_table(rows: Rows, run_phases: list[dict[str, Any]]) -> list[_PhaseSpec]:
    specs: list[_PhaseSpec] = []
    by_phase = {opt_int(number): part for number, part in rows.by("training_phase").items()}
    none = rows.empty()
    for record in (SimpleNamespace(**fields) for fields in run_phases):
        number = opt_int(record.training_phase)
        specs.append(
            _PhaseSpec(
                number=number,
                rows=by_phase.get(number, none) if number is not None else none,
                learning_rate=opt_str(record.learning_rate),
                lr_is_default=bool(record.lr_is_default),
                method=opt_str(record.method) or None,
                call=opt_str(record.call) or None,
                planned=opt_int(record.planned_epochs),
                incomplete=bool(record.incomplete),
                interrupted=bool(record.interrupted),
                cell=opt_int(record.cell),
            )
        )
    return specs


def _specs_from_rows(rows: Rows) -> list[_PhaseSpec]:
    specs: list[_PhaseSpec] = []
    for number, phase_rows in rows.by("training_phase").items():
        texts = list(dict.fromkeys(opt_str(v) for v in phase_rows.col("learning_rate")))
        specs.append(_PhaseSpec(number=opt_int(number), rows=phase_rows, learning_rate=texts[0] if texts else ""))
    return specs


def _shown_rows(phase_rows: Rows) -> tuple[list[dict[str, Any]], bool]:
    """The rows a phase shows (its head and its final row, as dicts) and whether rows were left out between them."""
    if len(phase_rows) > HEAD_ROWS + 1:
        return [phase_rows.record(i) for i in [*range(HEAD_ROWS), len(phase_rows) - 1]], True
    return [phase_rows.record(i) for i in range(len(phase_rows))], False


def _phase_summary(spec: _PhaseSpec, columns: list[str], info: MetricInfo | None, previous_end: float | None) -> PhaseSummary:
    phase_rows = spec.rows
    text = spec.learning_rate
    lr_values = phase_rows.values("lr_max")
    lr_max = float(lr_values[0]) if lr_values else (lr_upper(text) if text else None)
    recorded = len(phase_rows)
    shown, elided = _shown_rows(phase_rows)
    start_value = end_value = change = None
    if info is not None and recorded:
        values = phase_rows.values(info.name)
        if values:
            end_value = float(values[-1])
            if previous_end is not None or len(values) > 1:  # one value and nothing before it: no move to tell
                start_value = previous_end if previous_end is not None else float(values[0])
                change = end_value - start_value
    return PhaseSummary(
        number=spec.number,
        learning_rate=text,
        lr_max=lr_max,
        lr_status=_lr_status(text, lr_max, spec.lr_is_default),
        method=spec.method,
        call=spec.call,
        planned_epochs=spec.planned,
        recorded_epochs=recorded,
        incomplete=spec.incomplete or (spec.planned is not None and recorded < spec.planned),
        interrupted=spec.interrupted,
        cell=spec.cell,
        first_global_epoch=int(phase_rows.col("global_epoch")[0]) if recorded else None,
        rows=[_epoch_row(row, columns) for row in shown],
        elided=elided,
        start_value=start_value,
        end_value=end_value,
        change=change,
        status=phase_status(spec.method, spec.call, spec.planned, recorded, spec.interrupted, text),
    )


def _phases(rows: Rows, run_phases: list[dict[str, Any]] | None, columns: list[str], info: MetricInfo | None) -> list[PhaseSummary]:
    has_table = run_phases is not None and len(run_phases)
    specs = _specs_from_table(rows, run_phases) if has_table else _specs_from_rows(rows)  # type: ignore[arg-type]
    out: list[PhaseSummary] = []
    previous_end: float | None = None
    for spec in specs:
        phase = _phase_summary(spec, columns, info, previous_end)
        if phase.end_value is not None:
            previous_end = phase.end_value
        out.append(phase)
    return out


# --------------------------------------------------------------------------- one run


def _identity(rows: Rows, run_phases: list[dict[str, Any]] | None) -> tuple[str, str, bool | None]:
    """``(notebook, model, pretrained)`` of a run: from its first row, else from its first phase."""
    has_table = run_phases is not None and len(run_phases)
    if len(rows):
        head: Any = rows.record(0)
        notebook = opt_str(head["notebook"]) if rows.has("notebook") else ""
    elif has_table:
        head = run_phases[0]  # type: ignore[index]
        notebook = opt_str(head["notebook"])
    else:
        return "", "", None
    if not notebook and has_table:
        notebook = opt_str(run_phases[0]["notebook"])  # type: ignore[index]
    return notebook, opt_str(head["model"]), opt_bool(head["pretrained"])


def _series(rows: Rows, metric_name: str | None) -> dict[str, list[Any]]:
    """Values by global epoch of the main metric and the losses (for the plots)."""
    wanted = dict.fromkeys([*(x for x in (metric_name,) if x), "train_loss", "valid_loss"])
    series: dict[str, list[Any]] = {"global_epoch": [int(g) for g in rows.col("global_epoch")]}
    for column in (c for c in wanted if rows.has(c)):
        series[column] = [opt_float(v) for v in rows.col(column)]
    return series


def _metric_points(rows: Rows, info: MetricInfo | None, accuracy_column: str | None) -> dict[str, Any]:
    """First, best and final points of the main metric and of the accuracy column, and the final valid_loss."""
    name = info.name if info is not None else None
    lower = bool(info and info.lower_is_better)
    first = _point(rows, name, 0) if name else None
    final = _point(rows, name, -1) if name else None
    valid_loss = _point(rows, "valid_loss", -1) if rows.has("valid_loss") else None
    several = bool(name) and len(rows.present(name)) > 1  # type: ignore[arg-type]
    return {
        "first": first,
        "best": _best_point(rows, name, lower) if name else None,
        "final": final,
        "improvement": (final.value - first.value) if first and final and several else None,
        "accuracy_best": _best_point(rows, accuracy_column, False) if accuracy_column else None,
        "accuracy_final": _point(rows, accuracy_column, -1) if accuracy_column else None,
        "final_valid_loss": valid_loss.value if valid_loss else None,
    }


def _last_row(rows: Rows, columns: list[str]) -> dict[str, Any]:
    last = rows.record(len(rows) - 1) if len(rows) else None
    return {
        "final_values": {c: opt_float(last[c]) for c in columns} if last is not None else {},
        "final_epoch": opt_int(last["epoch"]) if last is not None else None,
        "final_phase": opt_int(last["training_phase"]) if last is not None else None,
    }


def _timing(rows: Rows) -> dict[str, Any]:
    times = [float(t) for t in rows.values("time_s")]
    return {
        "has_time": bool(len(times)),
        "total_time_s": float(sum(times)) if times else None,
        "time_per_epoch_s": float(sum(times) / len(times)) if times else None,
        "timed_epochs": len(times),
    }


def summarize_run(
    index: int,
    run_id: str,
    rows: Rows,
    run_phases: list[dict[str, Any]] | None,
    metric_columns: list[str],
    info: MetricInfo | None,
    accuracy_column: str | None,
) -> RunSummary:
    """The summary of one run: its ``rows`` of the epoch frame and its ``run_phases`` (the phase frame's records, if any).

    Its display name is its id until :func:`name_runs` names all runs.
    """
    columns = _display_columns(rows, metric_columns)
    notebook, model, pretrained = _identity(rows, run_phases)
    phases = _phases(rows, run_phases, columns, info)
    return RunSummary(
        index=index,
        id=run_id,
        name=run_id,
        notebook=notebook or None,
        model=model,
        pretrained=pretrained,
        family=architecture_family(model),
        epochs=len(rows),
        phases=phases,
        columns=columns,
        **_metric_points(rows, info, accuracy_column),
        **_last_row(rows, columns),
        **_timing(rows),
        series=_series(rows, info.name if info is not None else None),
        phase_starts=[(p.first_global_epoch, p.number) for p in phases if p.first_global_epoch is not None],
    )


def _base_name(run: RunSummary, flags: dict[str, set[bool | None]]) -> str:
    base = run.model or "unknown model"
    if run.pretrained is True:
        return base + " (pretrained)"
    if run.pretrained is False and True in flags.get(run.model, set()):
        return base + " (from scratch)"
    return base


def name_runs(runs: list[RunSummary]) -> None:
    """Short, unique display names: the model, ``(pretrained)``/``(from scratch)`` where both exist.

    Runs that would share a name get their notebook (``[name.ipynb]``) when that
    tells them apart, else a number (``#2``).
    """
    flags: dict[str, set[bool | None]] = {}
    for run in runs:
        flags.setdefault(run.model, set()).add(run.pretrained)
    names = [_base_name(run, flags) for run in runs]
    counts = Counter(names)
    notebooks: dict[str, set[str | None]] = {}
    for run, name in zip(runs, names):
        notebooks.setdefault(name, set()).add(run.notebook)
    seen: Counter[str] = Counter()
    for run, name in zip(runs, names):
        if counts[name] > 1:
            if len(notebooks[name]) == counts[name] and run.notebook:
                name = f"{name} [{run.notebook}]"
            else:
                seen[name] += 1
                name = f"{name} #{seen[name]}"
        run.name = name
