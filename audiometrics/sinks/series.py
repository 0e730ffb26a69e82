"""A run as exporters see it: metric series by global epoch, wall times, hyperparameters, a name, a fingerprint.

The TensorBoard and MLflow sinks (:mod:`audiometrics.sinks.tensorboard`,
:mod:`audiometrics.sinks.mlflow`) write the same things, computed here once:

* **Steps.** ``step`` is the run's global epoch, 0-based, counted over all its
  phases in order (phases continue, they do not restart at 0), as the loader's
  ``global_epoch`` column.
* **Wall times.** Notebooks record how long each epoch took (the ``time``
  column), not when it ran, so wall times are *relative*: epoch ``k`` ends at the
  sum of the first ``k + 1`` epoch times, counted from the Unix epoch
  (1970-01-01 00:00 UTC). An epoch with no readable time adds nothing (its wall
  time is the previous one) and the run's :attr:`RunSeries.notes` say so.
* **Values.** Every displayed number that
  :func:`~audiometrics.epochs.values.parse_number` reads as finite; a missing
  value (``#na#``, empty, ``nan``, ``inf``) is no point at all.
* **Train or validation.** A column belongs to the training curves when it is
  named ``train_…``/``training_…``, to the validation curves when named
  ``valid_…``/``val_…``/``validation_…``/``eval_…``/``dev_…``/``test_…``; every other
  metric column is a validation metric: that is how the CSV names them for every
  framework (fastai's metric columns; Keras' ``val_accuracy``, Lightning's
  ``val_acc`` and the Hugging Face ``Trainer``'s metrics lose their prefix, their
  training metrics keep ``train_``). ``lr``/``learning_rate`` (a rate the table
  printed) is the training side's ``learning_rate``. :func:`split_column` gives
  the side and the shared tag (``train_loss`` and ``valid_loss`` are both
  ``loss``), so the two curves overlay.
* **Not curves**: ``epoch``, ``time`` and ``step`` (:data:`NOT_METRICS`, any case).

Examples
--------
>>> from audiometrics.model import Phase, Run
>>> phase = Phase(1, "fit_one_cycle", 2, "1e-3", False, 3, ("epoch", "train_loss", "valid_loss", "lwlrap", "time"),
...               (("0", "0.9", "0.8", "0.5", "00:10"), ("1", "0.7", "#na#", "0.6", "00:12")))
>>> series = run_series(Run("nb/a.ipynb", "resnet18", False, (phase, phase), ordinal=1))
>>> [(p.step, p.wall_time, p.values) for p in series.points[1:3]]
[(1, 22.0, {'train_loss': 0.7, 'lwlrap': 0.6}), (2, 32.0, {'train_loss': 0.9, 'valid_loss': 0.8, 'lwlrap': 0.5})]
>>> split_column("valid_loss"), split_column("lwlrap"), split_column("train_acc"), split_column("lr")
(('validation', 'loss'), ('validation', 'lwlrap'), ('train', 'acc'), ('train', 'learning_rate'))
>>> run_name("nb/a b.ipynb", 2)
'nb+a%20b.run2'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from audiometrics.epochs.schema import learning_rate_text
from audiometrics.epochs.values import lr_upper, parse_number, time_to_seconds
from audiometrics.model import Run, cell_label

__all__ = [
    "Point",
    "RunSeries",
    "run_series",
    "split_column",
    "is_rate_column",
    "run_name",
    "run_hparams",
    "fingerprint",
    "NOT_METRICS",
]

#: Columns of a progress table that are not metrics (no curve is drawn for them), compared lower-cased.
NOT_METRICS = frozenset({"epoch", "time", "step"})

_TRAIN = re.compile(r"^(?:train|training)[_ ](.+)$", re.I)
_VALID = re.compile(r"^(?:valid|val|validation|eval|dev|test)[_ ](.+)$", re.I)
_RATE = re.compile(r"^(?:lr|learning[_ ]rate)$", re.I)


@dataclass(frozen=True)
class Point:
    """One recorded epoch of a run: its global step, relative wall time (seconds) and finite values by column."""

    step: int
    wall_time: float
    values: dict[str, float]
    phase: int


@dataclass(frozen=True)
class RunSeries:
    """A run's points in step order, the metric columns it has (in first-seen order), and notes for the user."""

    run: Run
    points: tuple[Point, ...]
    columns: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def is_rate_column(column: str) -> bool:
    """Whether ``column`` is a learning rate the table printed (``lr``, ``learning_rate``)."""
    return bool(_RATE.match(column))


def split_column(column: str) -> tuple[str, str]:
    """``(side, tag)`` of a metric column: ``side`` is ``"train"`` or ``"validation"`` (see the module docstring)."""
    if _RATE.match(column):
        return "train", "learning_rate"
    match = _TRAIN.match(column)
    if match:
        return "train", match.group(1)
    match = _VALID.match(column)
    if match:
        return "validation", match.group(1)
    return "validation", column


def run_series(run: Run) -> RunSeries:
    """The points of ``run``: one per recorded epoch, step = global epoch, wall time = cumulative epoch time."""
    points: list[Point] = []
    columns: dict[str, None] = {}
    clock, untimed = 0.0, 0
    for phase in run.phases:
        at_time = next((i for i, name in enumerate(phase.columns) if name.lower() == "time"), None)
        for row in phase.rows:
            seconds = time_to_seconds(row[at_time]) if at_time is not None and at_time < len(row) else math.nan
            if math.isnan(seconds):
                untimed += 1
            else:
                clock += seconds
            values = {}
            for name, text in zip(phase.columns, row):
                value = parse_number(text) if name.lower() not in NOT_METRICS else None
                if value is not None:
                    values[name] = value
                    columns.setdefault(name, None)
            points.append(Point(len(points), clock, values, phase.number))
    notes = ()
    if untimed:
        notes = (f"{untimed} of {len(points)} epochs have no readable time; their wall time is the previous epoch's",)
    return RunSeries(run, tuple(points), tuple(columns), notes)


_SAFE = re.compile(r"[A-Za-z0-9_.\-]")
#: Longest run name kept whole (bytes); longer ones are cut and end with a hash of the whole name.
MAX_NAME = 150


def _escape(text: str) -> str:
    out = []
    for char in text:
        if char == "/":
            out.append("+")
        elif _SAFE.fullmatch(char):
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
    escaped = "".join(out)
    return "%2E" + escaped[1:] if escaped.startswith(".") else escaped  # no hidden folders, no "." or ".."


def run_name(notebook: str, ordinal: int) -> str:
    """A stable, unique, readable name for run ``ordinal`` of ``notebook`` (a relative path), safe as a folder name.

    ``/`` becomes ``+``, every character but ASCII letters, digits, ``_``, ``.``
    and ``-`` is percent-escaped (``+`` and ``%`` included, so the name stays
    unique), ``.ipynb`` is dropped and ``.run<ordinal>`` appended. A name over
    :data:`MAX_NAME` characters is cut and ends with 12 hex digits of its hash.
    """
    stem = notebook[: -len(".ipynb")] if notebook.lower().endswith(".ipynb") else notebook
    name = f"{_escape(stem) or '%00'}.run{ordinal}"
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        name = f"{name[: MAX_NAME - 30]}~{digest}.run{ordinal}"
    return name


def run_hparams(run: Run, notebook: str) -> dict[str, str | int | float | bool]:
    """The run's hyperparameters: notebook, run, model, pretrained, framework, phases, and per phase its call,
    planned epochs and learning rate (as the CSV writes it) with its upper value as a number when known."""
    params: dict[str, str | int | float | bool] = {
        "notebook": notebook,
        "run": run.ordinal,
        "model": run.model,
        "pretrained": "" if run.pretrained is None else ("Yes" if run.pretrained else "No"),
        "framework": run.framework,
        "phases": len(run.phases),
        "epochs": sum(p.recorded_epochs for p in run.phases),
    }
    for phase in run.phases:
        key = f"phase{phase.number}"
        text = learning_rate_text(phase.learning_rate, phase.lr_is_default, phase.lr_from_learner)
        params[f"{key}.learning_rate"] = text
        upper = lr_upper(text)
        if upper is not None:
            params[f"{key}.lr_max"] = upper
        params[f"{key}.method"] = phase.method
        params[f"{key}.planned_epochs"] = -1 if phase.planned_epochs is None else phase.planned_epochs
        params[f"{key}.recorded_epochs"] = phase.recorded_epochs
    return params


def _canonical(run: Run, notebook: str) -> Iterator[str]:
    yield json.dumps([notebook, run.ordinal, run.model, run.pretrained, run.framework, cell_label(run.cell, run.count)])
    for phase in run.phases:
        yield json.dumps([phase.number, phase.method, phase.planned_epochs, phase.learning_rate, phase.lr_is_default,
                          phase.lr_from_learner, phase.call_text, phase.interrupted, cell_label(phase.cell, phase.count),
                          list(phase.columns)])
        for row in phase.rows:
            yield json.dumps(list(row))


def fingerprint(run: Run, notebook: str, *, version: str = "1") -> str:
    """A hash of everything an export writes of ``run`` (its rows exactly as displayed, its phases, its identity).

    Two extractions of an unchanged notebook give the same fingerprint; any change
    to a value, a phase, the model or the learning rates gives another. ``version``
    is the export format's, so that a change in what is written re-exports.
    """
    digest = hashlib.sha256(f"audiometrics-export/{version}\n".encode())
    for line in _canonical(run, notebook):
        digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()[:32]


def numbered(runs: Iterable[Run]) -> Iterator[Run]:
    """``runs`` with an ordinal each: a run not yet numbered (0) gets its position among its notebook's runs."""
    from dataclasses import replace

    seen: dict[str, int] = {}
    for run in runs:
        seen[run.notebook] = seen.get(run.notebook, 0) + 1
        yield run if run.ordinal else replace(run, ordinal=seen[run.notebook])
