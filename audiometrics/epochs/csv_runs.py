"""The epoch CSV read back as Runs: the one adapter ``report`` uses.

:func:`runs_from_frame` turns the CSV's text (as :func:`~audiometrics.epochs.csv_file.read_epoch_csv`
gives it) into the :class:`~audiometrics.model.Run` values extraction produced, so
that the summaries are computed from the same runs whether they come straight
from the notebooks (``extract``) or from a CSV (``report``):

* **With the source columns** (``extract --with-source``): a run is the rows
  with the same ``notebook`` and ``run`` ordinal; a phase is the rows of a run
  with the same ``training_phase``; ``cell`` (``In [13] (cell 5)``), ``call``,
  ``planned_epochs`` and ``interrupted`` come back on the phase, ``framework`` on the run, the
  ``(default)``/``(learner)`` mark of ``learning_rate`` on its flags.
* **Without them**: runs are guessed as :func:`~audiometrics.epochs.loader.load_metrics`
  guesses them (a new run where notebook, model or pretrained change, or the
  phase number goes down), and nothing is known of planned epochs or calls.

Phases and runs that recorded no epoch have no row in the CSV, so they cannot
come back; every other part of a run does.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import pandas as pd

from audiometrics.errors import LoaderWarning
from audiometrics.epochs.csv_file import csv_name, read_epoch_csv
from audiometrics.epochs.frame import frame_from_runs, phase_frame
from audiometrics.epochs.loader import typed_frame
from audiometrics.epochs.schema import SOURCE_COLUMNS, split_learning_rate
from audiometrics.model import Phase, Run

__all__ = ["has_source_columns", "runs_from_frame", "runs_from_csv", "report_inputs"]

#: Columns that describe a run or a phase, not an epoch.
_RUN_COLUMNS = frozenset({"model", "pretrained", "training_phase", "learning_rate", *SOURCE_COLUMNS})

_CELL = re.compile(r"\s*(?:In \[(\d{1,9})\])?\s*(?:\(?cell (\d{1,9})\)?)?\s*")
_METHOD = re.compile(r"(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_COUNT = re.compile(r"\s*\+?(\d{1,18})\s*")


def has_source_columns(raw: pd.DataFrame) -> bool:
    """Whether the CSV says which run each row belongs to (``notebook`` and ``run``)."""
    return "notebook" in raw.columns and "run" in raw.columns


def _count(text: str) -> int | None:
    match = _COUNT.fullmatch(text)
    return int(match.group(1)) if match else None


def parse_cell(text: str) -> tuple[int, int | None]:
    """``"In [13] (cell 5)"`` → ``(4, 13)``: the 0-based document index (-1 unknown) and the count."""
    match = _CELL.fullmatch(text or "")
    if match is None:
        return -1, None
    count, position = match.groups()
    return (int(position) - 1 if position else -1), (int(count) if count else None)


def _method(call: str) -> str:
    match = _METHOD.search(call)
    return match.group(1) if match else ""


def _run_keys(raw: pd.DataFrame) -> list[tuple[str, ...]]:
    if has_source_columns(raw):
        return list(zip(raw["notebook"], raw["run"]))
    return [(label,) for label in typed_frame(raw)["run"].astype(str)]


def _phase(rows: pd.DataFrame, columns: list[str]) -> Phase:
    first = rows.iloc[0]
    columns = [c for c in columns if (rows[c] != "").any()]  # the columns this phase's table had
    learning_rate, is_default, from_learner = split_learning_rate(str(first["learning_rate"]))
    cell, count = parse_cell(str(first.get("cell", "")))
    call = str(first.get("call", ""))
    return Phase(
        number=_count(str(first["training_phase"])) or 0,
        method=_method(call),
        planned_epochs=_count(str(first.get("planned_epochs", ""))),
        learning_rate=learning_rate,
        lr_is_default=is_default,
        cell=cell,
        columns=tuple(columns),
        rows=tuple(tuple(str(v) for v in values) for values in rows[columns].itertuples(index=False)),
        call_text=call,
        interrupted=str(first.get("interrupted", "")).strip().lower() == "yes",
        lr_from_learner=from_learner,
        count=count,
    )


def _pretrained(text: Any) -> bool | None:
    return {"yes": True, "no": False, "true": True, "false": False}.get(str(text).strip().lower())


def runs_from_frame(raw: pd.DataFrame) -> list[Run]:
    """The runs of an epoch CSV's text (every column ``str``), in the CSV's order (see the module docstring)."""
    raw = raw.reset_index(drop=True)
    for column in ("model", "pretrained", "learning_rate"):
        if column not in raw.columns:
            raw[column] = ""
    columns = [c for c in raw.columns if c not in _RUN_COLUMNS]
    groups: dict[tuple[str, ...], dict[str, list[int]]] = {}
    for position, (key, phase) in enumerate(zip(_run_keys(raw), raw["training_phase"])):
        groups.setdefault(key, {}).setdefault(str(phase), []).append(position)
    runs = []
    for key, phases in groups.items():
        first = raw.iloc[next(iter(phases.values()))[0]]
        runs.append(
            Run(
                notebook=str(first.get("notebook", "")),
                model=str(first["model"]),
                pretrained=_pretrained(first["pretrained"]),
                phases=tuple(_phase(raw.iloc[positions], columns) for positions in phases.values()),
                ordinal=(_count(key[1]) or 0) if len(key) == 2 else 0,
                framework=str(first.get("framework", "")),
            )
        )
    return runs


def runs_from_csv(csv_path: Any, *, raw_text: bool = False) -> list[Run]:
    """The runs of the epoch CSV at ``csv_path`` (errors: see :func:`~audiometrics.epochs.csv_file.read_epoch_csv`)."""
    return runs_from_frame(read_epoch_csv(csv_path, raw_text=raw_text))


def report_inputs(csv_path: Any, *, raw_text: bool = False) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The epoch frame and phase frame ``report`` summarises for the CSV at ``csv_path``.

    With the source columns, both come from :func:`runs_from_frame` through the
    functions ``extract`` uses (:func:`~audiometrics.epochs.frame.frame_from_runs`,
    :func:`~audiometrics.epochs.frame.phase_frame`), so the documents are the same as
    ``extract``'s; without them, the typed frame and no phase frame.
    """
    raw = read_epoch_csv(csv_path, raw_text=raw_text)
    if not has_source_columns(raw):
        return typed_frame(raw, where=csv_name(csv_path)), None
    typed_frame(raw, where=csv_name(csv_path))  # warns about refused values, naming the file
    runs = runs_from_frame(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)  # said above
        frame = frame_from_runs(runs, root="")
    return frame, phase_frame(runs, root="")
