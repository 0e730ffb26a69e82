"""The reading of an epoch table: runs, phases, best/final, rankings, insights, warnings.

:func:`summarize` turns the typed epoch frame (:func:`audiometrics.epochs.frame.load_metrics`)
and, optionally, the phase frame (:func:`audiometrics.epochs.frame.phase_frame`, which
knows planned epochs and phases that recorded nothing) into a :class:`Summary`:
plain dataclasses holding numbers, texts and lists. Every number a report shows
is computed here; the templates (``templates/*.md.j2``) only lay it out, and the
plots (:mod:`audiometrics.report.plots`) draw the series kept here.

Nothing here reads or writes files, and nothing depends on the clock or on
dictionary/set iteration order: the same input gives the same summary.

Main metric
    ``metric=`` names it; otherwise the first of :data:`METRIC_FALLBACKS` that
    has a value in the table, then any other metric column (alphabetically),
    then ``train_loss``. Its direction comes from ``lower_is_better=`` or from
    the name (:func:`metric_direction`: losses and error rates are lower is
    better, accuracies, LWLRAP, F-scores and the like higher is better); an
    unknown name is taken as higher is better and the summary says so.

Architecture families (:data:`ARCHITECTURE_FAMILIES`)
    An architecture name (``resnet18``, ``timm/deit_tiny_patch16_224``,
    ``models.resnet34``, ``vit_base_patch16_224.augreg_in21k``) is lower-cased,
    split on ``/`` and ``.``, a ``tf_``/``legacy_``/``timm_`` prefix dropped,
    and each part (last first) is matched against the name prefixes below; the
    first family with a matching prefix wins, and a name that matches none is
    ``"other"``. Hybrids with attention blocks (ConViT, CoAtNet, MaxViT,
    MobileViT, LeViT) count as vision transformers; ConvNeXt, RegNet and the
    EfficientNet/MobileNet families are CNNs.

Insight rules (each is emitted only when the data supports it)
    * ``families``: at least two families have a run with the main metric. The
      best run of each family is compared; the ratio is best/other (higher is
      better) or other/best (lower is better), given only when both values are
      positive.
    * ``pretrained``: the same architecture has runs with and without
      pretrained weights. The best run of each side is compared by final and by
      best value; the difference is a percentage of the from-scratch value.
      Differences under :data:`SAME_PERCENT` percent are reported as "about the same".
    * ``metric_disagreement``: an accuracy column (``accuracy_multi`` or
      ``accuracy``) other than the main metric is present for at least two runs,
      and either some pair of runs is ordered one way by best accuracy and the
      other way by best main metric, or accuracy barely separates the runs (its
      spread is under :data:`SATURATION_RATIO` of the main metric's spread).
    * ``improvement``: a run has at least two values of the main metric; the
      change from its first to its final recorded value.
    * ``schedule``: a run has at least two phases with values of the main
      metric: how much each phase moved it, and the phases that made it worse.
    * ``efficiency``: epoch times (``time``) are known for at least one run:
      total and per-epoch time, and the ratio of the slowest to the fastest
      per-epoch time.
    * ``still_improving``: a run's best value is its last recorded one.

Data-quality warnings
    * ``duplicate_rows``: two runs share at least :data:`MIN_SHARED_ROWS` epoch
      rows whose metric values and time are identical (rows with fewer than two
      metric values are not compared).
    * ``empty_phase`` / ``incomplete_phase``: from the phase frame (planned vs
      recorded epochs, interrupted fits).
    * ``epoch_restart``: the epoch numbering restarts inside a phase, so the
      phase's rows probably come from more than one training call.
    * ``spike``: a loss column (any column with ``loss`` in its name) jumps to
      more than :data:`SPIKE_FACTOR` times its previous value between epochs of
      a run; the episode lasts while values stay above that factor of the last
      value before the jump.
    * ``missing_metric``: a metric recorded for some runs and not for others,
      or missing in some rows of a run that has it.
    * ``missing_lr`` / ``malformed_lr``: an empty learning rate, or a learning
      rate text that cannot be parsed (:func:`audiometrics.epochs.frame.lr_upper`).
    * ``phase_mismatch``: a phase frame was given that does not match the rows.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from audiometrics.errors import AudiometricsError
from audiometrics.escaping import MARKDOWN, PLAIN, Style, md_code, md_text
from audiometrics.epochs.loader import typed_frame
from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS
from audiometrics.epochs.values import lr_upper

__all__ = [
    "ARCHITECTURE_FAMILIES",
    "METRIC_FALLBACKS",
    "MetricError",
    "MetricInfo",
    "Point",
    "EpochRow",
    "PhaseSummary",
    "RunSummary",
    "RankEntry",
    "Insight",
    "DataWarning",
    "Spike",
    "Summary",
    "architecture_family",
    "metric_direction",
    "choose_metric",
    "summarize",
    "fmt",
    "fmt_duration",
    "fmt_percent",
]

#: Main-metric candidates, in order, when none is named.
METRIC_FALLBACKS: tuple[str, ...] = ("lwlrap", "accuracy_multi", "accuracy", "error_rate", "valid_loss")

#: Accuracy columns compared with the main metric, in order of preference.
ACCURACY_COLUMNS: tuple[str, ...] = ("accuracy_multi", "accuracy")

#: Architecture families and the name prefixes that belong to them (see the module docstring).
ARCHITECTURE_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "vision transformer",
        (
            "vit", "deit", "convit", "swin", "beit", "cait", "pit_", "tnt_", "levit", "crossvit",
            "twins", "xcit", "eva", "mvit", "coat", "volo", "visformer", "maxvit", "mobilevit",
            "efficientformer", "efficientvit", "fastvit", "nest_", "gcvit", "davit", "hiera",
            "flexivit", "samvit", "tiny_vit", "pvt", "cvt", "t2t", "dino", "clip", "siglip",
        ),
    ),
    (
        "CNN",
        (
            "resnet", "resnext", "xresnet", "xresnext", "xse_res", "wide_resnet", "wrn", "seresnet",
            "seresnext", "senet", "res2net", "res2next", "resnest", "regnet", "densenet", "vgg",
            "alexnet", "squeezenet", "mobilenet", "mnasnet", "shufflenet", "efficientnet", "mixnet",
            "ghostnet", "inception", "xception", "googlenet", "dpn", "dla", "hrnet", "cspnet",
            "cspresnet", "cspresnext", "cspdarknet", "darknet", "convnext", "nfnet", "dm_nfnet",
            "eca_nfnet", "nf_res", "rexnet", "hardcorenas", "lcnet", "tinynet", "fbnet", "repvgg",
            "vovnet", "ese_vovnet", "selecsls", "tresnet", "gernet", "bat_resnext", "ecaresnet",
            "skresnet", "skresnext", "gluon_", "ig_resnext", "ssl_res", "swsl_res", "spnasnet",
            "semnasnet", "fastvit_", "repghost", "efficientnetv2", "resnetv2", "resnetrs", "bit_",
            "timm_resnet", "simple_cnn", "cnn", "lenet", "unet",
        ),
    ),
    ("MLP-mixer", ("mixer", "gmixer", "resmlp", "gmlp", "cyclemlp", "mlp_mixer")),
)

#: A loss value above this many times the value before it is a spike.
SPIKE_FACTOR = 10.0
#: The value a spike is measured against: the lowest of this many values before it (outside spikes).
SPIKE_WINDOW = 3
#: Runs sharing at least this many identical epoch rows are flagged.
MIN_SHARED_ROWS = 2
#: Relative differences (in percent) under this are "about the same".
SAME_PERCENT = 1.0
#: Accuracy "barely separates" runs when its spread is under this fraction of the main metric's.
SATURATION_RATIO = 0.1
#: A phase "made the main metric worse" when it lost at least this fraction of the run's range.
WORSE_FRACTION = 0.02
#: Rows shown at the start of each phase in the per-run summary (then ``...`` and the final epoch).
HEAD_ROWS = 10

_LOWER_RE = re.compile(r"loss|error|(^|_)err($|_)|(^|_)(mse|mae|rmse|msle|mape|wer|cer|brier|perplexity|nll)($|_)")
_HIGHER_RE = re.compile(
    r"acc|lwlrap|lrap|(^|_)f1|fbeta|f_beta|precision|recall|auc|dice|jaccard|iou|(^|_)r2($|_)|(^|_)map($|_)"
    r"|average_precision|kappa|corr|matthews|mcc|bleu|rouge|(^|_)ap($|_)|score"
)


class MetricError(AudiometricsError, ValueError):
    """A main metric that the epoch table does not have."""


# --------------------------------------------------------------------------- formatting


def _isnum(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: Any, missing: str = "n/a") -> str:
    """A metric value as fastai shows it: 6 decimals (``0.722973``), ``6g`` for very large/small values."""
    if not _isnum(value):
        return missing
    value = float(value)
    if value == 0:
        return "0.000000"
    if abs(value) >= 1e6 or abs(value) < 1e-4:
        return f"{value:.6g}"
    return f"{value:.6f}"


def fmt_signed(value: Any, digits: int = 3) -> str:
    """``+0.631`` / ``-0.012``."""
    if not _isnum(value):
        return "n/a"
    text = f"{float(value):+.{digits}f}"
    return "+0." + "0" * digits if text in ("-0." + "0" * digits,) else text


def fmt_percent(value: Any) -> str:
    """``6.8%`` (one decimal)."""
    if not _isnum(value):
        return "n/a"
    text = f"{abs(float(value)):.1f}%"
    return text


def fmt_ratio(value: Any) -> str:
    return "n/a" if not _isnum(value) else f"{float(value):.2f}×"


def fmt_duration(seconds: Any) -> str:
    """``6.8 s``, ``13 min 1 s``, ``1 h 02 min``."""
    if not _isnum(seconds):
        return "n/a"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {(whole % 3600) // 60:02d} min"


def fmt_lr(text: str) -> str:
    return text if text else "(not resolved)"


def _lr_words(text: str) -> str:
    """A learning rate for a markdown sentence: a code span, or ``not resolved``."""
    return md_code(text) if text else "not resolved"


# --------------------------------------------------------------------------- data


@dataclass
class MetricInfo:
    """The main metric: its column, its direction and where both came from."""

    name: str
    lower_is_better: bool
    chosen: str  # "given" (metric=) or "default"
    direction: str  # "given", "known" or "assumed"

    @property
    def better(self) -> str:
        return "lower" if self.lower_is_better else "higher"


@dataclass
class Point:
    """A value of a metric at one epoch of a run."""

    value: float
    phase: int | None
    epoch: int | None
    global_epoch: int

    @property
    def where(self) -> str:
        return f"phase {_text(self.phase)}, epoch {_text(self.epoch)}"


@dataclass
class EpochRow:
    """One epoch row as shown in the per-run summary."""

    epoch: int | None
    global_epoch: int
    values: dict[str, float | None]
    time: str


@dataclass
class PhaseSummary:
    """One training phase (one training call) of a run."""

    number: int | None
    learning_rate: str
    lr_max: float | None
    lr_status: str  # "ok", "default", "missing", "malformed"
    method: str | None
    call: str | None
    planned_epochs: int | None
    recorded_epochs: int
    incomplete: bool
    interrupted: bool
    cell: int | None
    first_global_epoch: int | None
    rows: list[EpochRow]  # rows shown: the first HEAD_ROWS, then the final one
    elided: bool  # rows were left out between the head and the final row
    start_value: float | None  # main metric before the phase (or at its first epoch, for the first phase)
    end_value: float | None  # main metric at the phase's last epoch with a value
    change: float | None  # end_value - start_value
    status: str  # a sentence: "fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded"
    notes: list[str] = field(default_factory=list)  # data-quality warnings about this phase

    @property
    def empty(self) -> bool:
        return self.recorded_epochs == 0

    @property
    def planned_known(self) -> bool:
        return self.planned_epochs is not None


@dataclass
class RunSummary:
    """One run (one learner trained through its phases)."""

    index: int  # 1-based, in table order
    id: str  # the loader's run label (joins with the frame's ``run`` column)
    name: str  # display name, unique among runs
    notebook: str | None
    model: str
    pretrained: bool | None
    family: str
    epochs: int
    phases: list[PhaseSummary]
    columns: list[str]  # metric columns this run has values for, in display order
    has_time: bool
    first: Point | None
    best: Point | None
    final: Point | None
    improvement: float | None  # final - first (main metric)
    accuracy_best: Point | None
    accuracy_final: Point | None
    final_valid_loss: float | None
    final_values: dict[str, float | None]  # last row's metric values
    final_epoch: int | None
    final_phase: int | None
    total_time_s: float | None
    time_per_epoch_s: float | None
    timed_epochs: int
    rank: int | None = None
    series: dict[str, list[float | None]] = field(default_factory=dict)  # column → values by global epoch
    phase_starts: list[tuple[int, int | None]] = field(default_factory=list)  # (global epoch, phase number)

    @property
    def pretrained_text(self) -> str:
        return "unknown" if self.pretrained is None else ("Yes" if self.pretrained else "No")


@dataclass
class RankEntry:
    rank: int
    tied: bool  # shares its rank with another run
    run: str  # run name
    best: float
    final: float | None
    behind: float  # distance to the leader's best (0 for the leader), in metric units


@dataclass
class Insight:
    """A finding, worded with the numbers behind it."""

    kind: str
    title: str
    text: str
    bullets: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataWarning:
    """A data-quality problem; ``str()`` is the one-line message."""

    kind: str
    message: str  # plain text (the terminal's line)
    runs: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""  # the same sentence for the documents, every notebook value escaped

    def __post_init__(self) -> None:
        if not self.markdown:
            self.markdown = md_text(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class Spike:
    run: str
    column: str
    baseline: float
    baseline_at: Point
    start: Point
    peak: Point
    epochs: int
    recovered: Point | None
    learning_rate: str


@dataclass
class Summary:
    """Everything the reports show, computed from the epoch table.

    Names, metric columns, learning rates and other notebook-derived values are
    kept as plain text in the data fields (runs, phases, ranking entries, insight
    tables, :attr:`DataWarning.message`); the sentences meant only for the
    documents (``ranking_line``, ``notes``, insight titles, texts and bullets,
    recommendations, :attr:`DataWarning.markdown`, ``PhaseSummary.notes``) are
    markdown with every such value escaped (:mod:`audiometrics.escaping`).
    """

    metric: MetricInfo | None
    accuracy_column: str | None
    runs: list[RunSummary]
    ranking: list[RankEntry]
    ranking_line: str
    insights: list[Insight]
    recommendations: list[str]
    warnings: list[DataWarning]
    spikes: list[Spike]
    rows: int
    metric_columns: list[str]
    has_phase_table: bool
    notes: list[str] = field(default_factory=list)

    def insight(self, kind: str) -> Insight | None:
        return next((i for i in self.insights if i.kind == kind), None)


# --------------------------------------------------------------------------- metric choice


def metric_direction(name: str) -> bool | None:
    """``True`` when lower is better for a metric of this name, ``False`` when higher is, ``None`` if unknown."""
    lowered = name.lower()
    if _LOWER_RE.search(lowered):
        return True
    if _HIGHER_RE.search(lowered):
        return False
    return None


def _metric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]


def choose_metric(frame: pd.DataFrame, metric: str | None = None, lower_is_better: bool | None = None) -> MetricInfo | None:
    """The main metric for ``frame`` (see the module docstring); ``None`` when no column has a value."""
    columns = _metric_columns(frame)
    if metric is not None:
        if metric not in columns:
            available = ", ".join(c for c in columns if frame[c].notna().any()) or "none"
            raise MetricError(f"metric {metric!r} is not a metric column of the epoch table (available: {available})")
        chosen = "given"
    else:
        with_values = [c for c in columns if frame[c].notna().any()]
        ordered = [c for c in METRIC_FALLBACKS if c in with_values]
        ordered += sorted(c for c in with_values if c not in METRIC_FALLBACKS and c != "train_loss")
        ordered += [c for c in ("train_loss",) if c in with_values]
        if not ordered:
            return None
        metric = ordered[0]
        chosen = "default"
    if lower_is_better is not None:
        return MetricInfo(metric, bool(lower_is_better), chosen, "given")
    known = metric_direction(metric)
    return MetricInfo(metric, bool(known), chosen, "known" if known is not None else "assumed")


# --------------------------------------------------------------------------- families


def architecture_family(model: str) -> str:
    """``"CNN"``, ``"vision transformer"``, ``"MLP-mixer"`` or ``"other"`` for an architecture name."""
    parts = [p for p in re.split(r"[/.:]", (model or "").strip().lower()) if p]
    for part in reversed(parts):
        part = re.sub(r"^(tf_|legacy_|timm_|torchvision_|tv_)", "", part)
        for family, prefixes in ARCHITECTURE_FAMILIES:
            if any(part.startswith(prefix) for prefix in prefixes):
                return family
    return "other"


# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    return "?" if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        if isinstance(value, float) and math.isnan(value):
            return None
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_bool(value: Any) -> bool | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return bool(value)


def _opt_float(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _opt_str(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _better(a: float, b: float, lower: bool) -> bool:
    """``a`` strictly better than ``b``."""
    return a < b if lower else a > b


def _pct(new: float, base: float) -> float | None:
    if base == 0 or not (_isnum(new) and _isnum(base)):
        return None
    return (new - base) / abs(base) * 100.0


def _ranges(numbers: Sequence[int]) -> str:
    """``[4, 5, 7]`` → ``"4–5, 7"``."""
    out: list[str] = []
    ordered = sorted(set(numbers))
    start = prev = None
    for n in ordered:
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


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# --------------------------------------------------------------------------- phases ↔ rows


def _align_phases(frame: pd.DataFrame, phases: pd.DataFrame) -> tuple[pd.DataFrame, list[str]] | None:
    """Relabel ``frame``'s runs with ``phases``' labels by slicing rows in order; ``None`` if they disagree."""
    if "recorded_epochs" not in phases.columns or "run" not in phases.columns:
        return None
    labels: list[str] = []
    position = 0
    order: list[str] = []
    for record in phases.itertuples(index=False):
        count = int(record.recorded_epochs)
        rows = frame.iloc[position : position + count]
        if len(rows) != count:
            return None
        if count:
            if not all(str(value) == str(record.model) for value in rows["model"]):
                return None
            if not (rows["training_phase"].astype("Int64") == _opt_int(record.training_phase)).fillna(False).all():
                return None
            pretrained = _opt_bool(record.pretrained)
            values = rows["pretrained"].astype("boolean")
            if pretrained is None:
                if values.notna().any():
                    return None
            elif not (values == pretrained).fillna(False).all():
                return None
        labels.extend([str(record.run)] * count)
        if str(record.run) not in order:
            order.append(str(record.run))
        position += count
    if position != len(frame):
        return None
    out = frame.copy()
    out["run"] = pd.array(labels, dtype="string")
    out["global_epoch"] = out.groupby("run", sort=False).cumcount().astype("int64")
    return out, order


def _join_phases(frame: pd.DataFrame, phases: pd.DataFrame) -> list[str] | None:
    """Run order when ``phases`` joins ``frame`` on run label and phase number; ``None`` if not."""
    counts = frame.groupby(["run", "training_phase"], sort=False).size()
    expected: dict[tuple[str, int | None], int] = {}
    for record in phases.itertuples(index=False):
        key = (str(record.run), _opt_int(record.training_phase))
        expected[key] = expected.get(key, 0) + int(record.recorded_epochs)
    for (run, phase), count in counts.items():
        if expected.get((str(run), _opt_int(phase))) != int(count):
            return None
    for key, count in expected.items():
        if count and key not in {(str(r), _opt_int(p)) for r, p in counts.index}:
            return None
    order: list[str] = []
    for run in [*map(str, phases["run"]), *map(str, frame["run"])]:  # Python strings: pandas drops trailing NULs
        if run not in order:
            order.append(run)
    return order


# --------------------------------------------------------------------------- per run


def _point(rows: pd.DataFrame, column: str, position: int) -> Point | None:
    values = rows[column]
    valid = rows[values.notna()]
    if valid.empty:
        return None
    row = valid.iloc[position]
    return Point(float(row[column]), _opt_int(row["training_phase"]), _opt_int(row["epoch"]), int(row["global_epoch"]))


def _best_point(rows: pd.DataFrame, column: str, lower: bool) -> Point | None:
    valid = rows[rows[column].notna()]
    if valid.empty:
        return None
    values = valid[column].to_numpy()
    index = int(values.argmin() if lower else values.argmax())  # first occurrence of the best value
    row = valid.iloc[index]
    return Point(float(row[column]), _opt_int(row["training_phase"]), _opt_int(row["epoch"]), int(row["global_epoch"]))


def _display_columns(rows: pd.DataFrame, metric_columns: list[str]) -> list[str]:
    present = [c for c in metric_columns if rows[c].notna().any()]
    first = [c for c in ("train_loss", "valid_loss") if c in present]
    return first + [c for c in present if c not in first]


def _epoch_row(row: Any, columns: list[str]) -> EpochRow:
    return EpochRow(
        epoch=_opt_int(row["epoch"]),
        global_epoch=int(row["global_epoch"]),
        values={c: _opt_float(row[c]) for c in columns},
        time=_opt_str(row["time"]),
    )


def _lr_status(text: str, lr_max: float | None, is_default: bool) -> str:
    if is_default:
        return "default"
    if not text.strip():
        return "missing"
    return "ok" if lr_max is not None else "malformed"


def _phase_status(method: str | None, call: str | None, planned: int | None, recorded: int, interrupted: bool, lr: str) -> str:
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
        text = f"{label}: {_plural(recorded, 'epoch')} recorded"
    if interrupted:
        text += " (interrupted)"
    return text


# --------------------------------------------------------------------------- summarize


def summarize(
    frame: pd.DataFrame,
    phases: pd.DataFrame | None = None,
    *,
    metric: str | None = None,
    lower_is_better: bool | None = None,
) -> Summary:
    """Compute the reading of an epoch table (see the module docstring for the rules).

    ``frame`` is the typed epoch table (:func:`~audiometrics.epochs.frame.load_metrics`;
    a frame of CSV text is typed first). ``phases`` is the optional phase frame
    (:func:`~audiometrics.epochs.frame.phase_frame`) that adds planned epochs, the
    training calls, and phases or runs that recorded no epoch.

    Raises :class:`MetricError` when ``metric`` is not a column of the table.
    """
    if any(column not in frame.columns for column in DERIVED_COLUMNS):
        frame = typed_frame(frame)
    frame = frame.reset_index(drop=True)
    warnings: list[DataWarning] = []
    notes: list[str] = []

    run_order: list[str] = list(dict.fromkeys(map(str, frame["run"])))
    phase_table: pd.DataFrame | None = None
    if phases is not None and len(phases):
        aligned = _align_phases(frame, phases)
        if aligned is not None:
            frame, run_order = aligned
            phase_table = phases
        else:
            joined = _join_phases(frame, phases)
            if joined is not None:
                run_order = joined
                phase_table = phases
            else:
                warnings.append(
                    DataWarning(
                        "phase_mismatch",
                        "the phase table does not match the epoch rows (different runs, phases or epoch counts); "
                        "planned epochs and empty phases are not reported",
                    )
                )

    info = choose_metric(frame, metric, lower_is_better)
    if info is not None and info.direction == "assumed":
        notes.append(
            f"The direction of {md_code(info.name)} is not known; higher is taken as better "
            "(use --lower-is-better if it is not)."
        )
    metric_columns = [c for c in _metric_columns(frame) if frame[c].notna().any()]
    accuracy_column = next(
        (c for c in ACCURACY_COLUMNS if c in metric_columns and (info is None or c != info.name)),
        None,
    )

    groups = {str(run): rows for run, rows in frame.groupby("run", sort=False)}
    runs: list[RunSummary] = []
    for index, run_id in enumerate(run_order, start=1):
        rows = groups.get(run_id, frame.iloc[0:0])
        run_phases = (
            phase_table[[str(value) == run_id for value in phase_table["run"]]] if phase_table is not None else None
        )
        runs.append(_summarize_run(index, run_id, rows, run_phases, metric_columns, info, accuracy_column))
    _name_runs(runs)

    ranking, ranking_line = _rank(runs, info)
    for entry, run in zip(ranking, [r for r in _ranked_runs(runs, info)]):
        run.rank = entry.rank

    spikes = _find_spikes(frame, runs, metric_columns)
    warnings.extend(_warnings(frame, runs, metric_columns, spikes, phase_table is not None))
    _attach_phase_notes(runs, warnings)
    insights = _insights(runs, info, accuracy_column, ranking, warnings)
    recommendations = _recommendations(runs, info, ranking, insights, warnings, spikes)
    if phase_table is None and len(frame):
        notes.append(
            "The CSV does not record how many epochs each training call planned, so incomplete or empty "
            "phases cannot be detected from it; `audiometrics extract` reports them."
        )
    return Summary(
        metric=info,
        accuracy_column=accuracy_column,
        runs=runs,
        ranking=ranking,
        ranking_line=ranking_line,
        insights=insights,
        recommendations=recommendations,
        warnings=warnings,
        spikes=spikes,
        rows=len(frame),
        metric_columns=metric_columns,
        has_phase_table=phase_table is not None,
        notes=notes,
    )


def _summarize_run(
    index: int,
    run_id: str,
    rows: pd.DataFrame,
    run_phases: pd.DataFrame | None,
    metric_columns: list[str],
    info: MetricInfo | None,
    accuracy_column: str | None,
) -> RunSummary:
    lower = bool(info and info.lower_is_better)
    columns = _display_columns(rows, metric_columns)
    if len(rows):
        head = rows.iloc[0]
        notebook = _opt_str(head["notebook"]) if "notebook" in rows.columns else ""
        model = _opt_str(head["model"])
        pretrained = _opt_bool(head["pretrained"])
    else:
        head = run_phases.iloc[0] if run_phases is not None and len(run_phases) else None
        notebook = _opt_str(head["notebook"]) if head is not None else ""
        model = _opt_str(head["model"]) if head is not None else ""
        pretrained = _opt_bool(head["pretrained"]) if head is not None else None
    if not notebook and run_phases is not None and len(run_phases):
        notebook = _opt_str(run_phases.iloc[0]["notebook"])

    # phases: from the phase table when there is one, else from the rows
    specs: list[dict[str, Any]] = []
    if run_phases is not None and len(run_phases):
        for record in run_phases.itertuples(index=False):
            number = _opt_int(record.training_phase)
            specs.append(
                {
                    "number": number,
                    "rows": rows[rows["training_phase"] == number] if number is not None else rows.iloc[0:0],
                    "learning_rate": _opt_str(record.learning_rate),
                    "lr_is_default": bool(record.lr_is_default),
                    "method": _opt_str(record.method) or None,
                    "call": _opt_str(record.call) or None,
                    "planned": _opt_int(record.planned_epochs),
                    "incomplete": bool(record.incomplete),
                    "interrupted": bool(record.interrupted),
                    "cell": _opt_int(record.cell),
                }
            )
    else:
        for number, phase_rows in rows.groupby("training_phase", sort=False, dropna=False):
            texts = list(dict.fromkeys(map(str, phase_rows["learning_rate"])))
            specs.append(
                {
                    "number": _opt_int(number),
                    "rows": phase_rows,
                    "learning_rate": texts[0] if texts else "",
                    "lr_is_default": False,
                    "method": None,
                    "call": None,
                    "planned": None,
                    "incomplete": False,
                    "interrupted": False,
                    "cell": None,
                }
            )

    phase_summaries: list[PhaseSummary] = []
    previous_end: float | None = None
    for spec in specs:
        phase_rows: pd.DataFrame = spec["rows"]
        text = spec["learning_rate"]
        lr_values = phase_rows["lr_max"].dropna() if len(phase_rows) else pd.Series([], dtype="float64")
        lr_max = float(lr_values.iloc[0]) if len(lr_values) else (lr_upper(text) if text else None)
        recorded = len(phase_rows)
        if len(phase_rows) > HEAD_ROWS + 1:
            shown = [*phase_rows.iloc[:HEAD_ROWS].iterrows(), *phase_rows.iloc[-1:].iterrows()]
            elided = True
        else:
            shown = list(phase_rows.iterrows())
            elided = False
        start_value = end_value = change = None
        if info is not None and recorded:
            values = phase_rows[info.name].dropna()
            if len(values):
                end_value = float(values.iloc[-1])
                start_value = previous_end if previous_end is not None else float(values.iloc[0])
                change = end_value - start_value
                previous_end = end_value
        planned = spec["planned"]
        phase_summaries.append(
            PhaseSummary(
                number=spec["number"],
                learning_rate=text,
                lr_max=lr_max,
                lr_status=_lr_status(text, lr_max, spec["lr_is_default"]),
                method=spec["method"],
                call=spec["call"],
                planned_epochs=planned,
                recorded_epochs=recorded,
                incomplete=spec["incomplete"] or (planned is not None and recorded < planned),
                interrupted=spec["interrupted"],
                cell=spec["cell"],
                first_global_epoch=int(phase_rows["global_epoch"].iloc[0]) if recorded else None,
                rows=[_epoch_row(row, columns) for _, row in shown],
                elided=elided,
                start_value=start_value,
                end_value=end_value,
                change=change,
                status=_phase_status(spec["method"], spec["call"], planned, recorded, spec["interrupted"], text),
            )
        )

    metric_name = info.name if info is not None else None
    first = _point(rows, metric_name, 0) if metric_name else None
    final = _point(rows, metric_name, -1) if metric_name else None
    best = _best_point(rows, metric_name, lower) if metric_name else None
    accuracy_best = _best_point(rows, accuracy_column, False) if accuracy_column else None
    accuracy_final = _point(rows, accuracy_column, -1) if accuracy_column else None
    valid_loss = _point(rows, "valid_loss", -1) if "valid_loss" in rows.columns else None
    times = rows["time_s"].dropna() if len(rows) else pd.Series([], dtype="float64")
    last = rows.iloc[-1] if len(rows) else None
    series_columns = [c for c in dict.fromkeys([*(x for x in (metric_name,) if x), "train_loss", "valid_loss"]) if c in rows.columns]
    series = {"global_epoch": [int(g) for g in rows["global_epoch"]]} if len(rows) else {"global_epoch": []}
    for column in series_columns:
        series[column] = [_opt_float(v) for v in rows[column]]
    starts: list[tuple[int, int | None]] = []
    for phase in phase_summaries:
        if phase.first_global_epoch is not None:
            starts.append((phase.first_global_epoch, phase.number))
    return RunSummary(
        index=index,
        id=run_id,
        name=run_id,
        notebook=notebook or None,
        model=model,
        pretrained=pretrained,
        family=architecture_family(model),
        epochs=len(rows),
        phases=phase_summaries,
        columns=columns,
        has_time=bool(len(times)),
        first=first,
        best=best,
        final=final,
        improvement=(final.value - first.value) if first and final and len(rows[rows[metric_name].notna()]) > 1 else None,
        accuracy_best=accuracy_best,
        accuracy_final=accuracy_final,
        final_valid_loss=valid_loss.value if valid_loss else None,
        final_values={c: _opt_float(last[c]) for c in columns} if last is not None else {},
        final_epoch=_opt_int(last["epoch"]) if last is not None else None,
        final_phase=_opt_int(last["training_phase"]) if last is not None else None,
        total_time_s=float(times.sum()) if len(times) else None,
        time_per_epoch_s=float(times.mean()) if len(times) else None,
        timed_epochs=len(times),
        series=series,
        phase_starts=starts,
    )


def _name_runs(runs: list[RunSummary]) -> None:
    """Short, unique display names: the model, ``(pretrained)``/``(from scratch)`` where both exist."""
    flags: dict[str, set[bool | None]] = {}
    for run in runs:
        flags.setdefault(run.model, set()).add(run.pretrained)
    names: list[str] = []
    for run in runs:
        base = run.model or "unknown model"
        if run.pretrained is True:
            base += " (pretrained)"
        elif run.pretrained is False and True in flags.get(run.model, set()):
            base += " (from scratch)"
        names.append(base)
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


# --------------------------------------------------------------------------- ranking


def _ranked_runs(runs: list[RunSummary], info: MetricInfo | None) -> list[RunSummary]:
    if info is None:
        return []
    lower = info.lower_is_better
    with_best = [r for r in runs if r.best is not None]

    def key(run: RunSummary) -> tuple[float, float, int]:
        sign = 1.0 if lower else -1.0
        final = run.final.value if run.final is not None else math.inf * (1 if lower else -1)
        return (sign * float(fmt(run.best.value)), sign * final, run.index)  # type: ignore[union-attr]

    return sorted(with_best, key=key)


def _rank(runs: list[RunSummary], info: MetricInfo | None) -> tuple[list[RankEntry], str]:
    ordered = _ranked_runs(runs, info)
    if not ordered:
        return [], ""
    entries: list[RankEntry] = []
    leader = ordered[0].best.value  # type: ignore[union-attr]
    shown = [fmt(r.best.value) for r in ordered]  # type: ignore[union-attr]
    rank = 0
    for position, run in enumerate(ordered):
        if position == 0 or shown[position] != shown[position - 1]:
            rank = position + 1
        tied = shown.count(shown[position]) > 1
        entries.append(
            RankEntry(
                rank=rank,
                tied=tied,
                run=run.name,
                best=run.best.value,  # type: ignore[union-attr]
                final=run.final.value if run.final else None,
                behind=abs(leader - run.best.value),  # type: ignore[union-attr]
            )
        )
    line = md_text(ordered[0].name)
    for position in range(1, len(ordered)):
        line += (" ≈ " if shown[position] == shown[position - 1] else " > ") + md_text(ordered[position].name)
    return entries, line


# --------------------------------------------------------------------------- warnings


def _where_phases(rows: pd.DataFrame) -> str:
    numbers = [int(p) for p in rows["training_phase"].dropna().unique()]
    if not numbers:
        return ""
    return ("phase " if len(set(numbers)) == 1 else "phases ") + _ranges(numbers)


def _find_spikes(frame: pd.DataFrame, runs: list[RunSummary], metric_columns: list[str]) -> list[Spike]:
    spikes: list[Spike] = []
    loss_columns = [c for c in metric_columns if "loss" in c.lower()]
    ordered_losses = [c for c in ("train_loss", "valid_loss") if c in loss_columns]
    ordered_losses += [c for c in loss_columns if c not in ordered_losses]
    names = {r.id: r.name for r in runs}
    for run in runs:
        rows = frame[[str(value) == run.id for value in frame["run"]]]
        for column in ordered_losses:
            valid = rows[rows[column].notna()]
            if len(valid) < 2:
                continue
            values = [float(v) for v in valid[column]]  # Python floats: no numpy overflow warnings near 1e308
            recent: list[int] = [0]  # indices of the last SPIKE_WINDOW values outside spikes
            episode: dict[str, Any] | None = None

            def point(i: int) -> Point:
                row = valid.iloc[i]
                return Point(float(values[i]), _opt_int(row["training_phase"]), _opt_int(row["epoch"]), int(row["global_epoch"]))

            def close(recovered: int | None) -> None:
                assert episode is not None
                spikes.append(
                    Spike(
                        run=names[run.id],
                        column=column,
                        baseline=float(values[episode["baseline"]]),
                        baseline_at=point(episode["baseline"]),
                        start=point(episode["start"]),
                        peak=point(episode["peak"]),
                        epochs=episode["count"],
                        recovered=point(recovered) if recovered is not None else None,
                        learning_rate=_opt_str(valid.iloc[episode["start"]]["learning_rate"]),
                    )
                )

            for i in range(1, len(values)):
                base_index = min(recent, key=lambda j: (values[j], -j))
                base = values[base_index]
                if base > 0 and values[i] > SPIKE_FACTOR * base:
                    if episode is None:
                        episode = {"baseline": base_index, "start": i, "peak": i, "count": 0}
                    episode["count"] += 1
                    if values[i] > values[episode["peak"]]:
                        episode["peak"] = i
                else:
                    if episode is not None:
                        close(i)
                        episode = None
                    recent = [*recent, i][-SPIKE_WINDOW:]
            if episode is not None:
                close(None)
    return spikes


def _spike_message(spike: Spike, s: Style = PLAIN) -> str:
    text = (
        f"{s(spike.column)} of {s(spike.run)} jumped by more than an order of magnitude: {fmt(spike.start.value)} at "
        f"{spike.start.where} against {fmt(spike.baseline)} shortly before ({spike.baseline_at.where})"
    )
    if spike.peak.global_epoch != spike.start.global_epoch:
        text += f", peaking at {fmt(spike.peak.value)} ({spike.peak.where})"
    text += f"; {_plural(spike.epochs, 'epoch')} above {SPIKE_FACTOR:g}× that"
    if spike.recovered is not None:
        text += f", back to {fmt(spike.recovered.value)} at {spike.recovered.where}"
    else:
        text += ", and it never came back"
    if spike.learning_rate:
        text += f" (learning rate {s.code(spike.learning_rate)})"
    return text


def _warn(kind: str, build: Callable[[Style], str], runs: list[str] | None = None, data: dict[str, Any] | None = None) -> DataWarning:
    """A warning whose message ``build(style)`` gives as plain text and as markdown."""
    return DataWarning(kind, build(PLAIN), list(runs or []), dict(data or {}), build(MARKDOWN))


def _warnings(
    frame: pd.DataFrame,
    runs: list[RunSummary],
    metric_columns: list[str],
    spikes: list[Spike],
    has_phase_table: bool,
) -> list[DataWarning]:
    out: list[DataWarning] = []
    groups = {str(run): rows for run, rows in frame.groupby("run", sort=False)}

    # runs sharing epoch rows value for value (compared on the metric columns both runs have, and time)
    def row_keys(rows: pd.DataFrame, columns: list[str]) -> list[tuple[str, ...] | None]:
        keys: list[tuple[str, ...] | None] = []
        for values in rows[[*columns, "time"]].itertuples(index=False, name=None):
            numbers = [_opt_float(v) for v in values[:-1]]
            if sum(n is not None for n in numbers) < 2:
                keys.append(None)  # too little to call two rows the same
            else:
                keys.append((*("" if n is None else repr(n) for n in numbers), str(values[-1])))
        return keys

    with_rows = [r for r in runs if groups.get(r.id) is not None and len(groups[r.id])]
    for i, run_a in enumerate(with_rows):
        for run_b in with_rows[i + 1 :]:
            columns = [c for c in run_a.columns if c in run_b.columns]
            if len(columns) < 2:
                continue
            rows_a, rows_b = groups[run_a.id], groups[run_b.id]
            keys_a, keys_b = row_keys(rows_a, columns), row_keys(rows_b, columns)
            shared_keys = Counter(k for k in keys_a if k is not None) & Counter(k for k in keys_b if k is not None)
            shared = sum(shared_keys.values())
            if shared < MIN_SHARED_ROWS:
                continue
            (small, small_keys), (large, large_keys) = sorted(
                [(run_a, keys_a), (run_b, keys_b)], key=lambda pair: (pair[0].epochs, pair[0].index)
            )

            def where(run: RunSummary, keys: list[tuple[str, ...] | None]) -> str:
                rows = groups[run.id]
                return _where_phases(rows[[k is not None and k in shared_keys for k in keys]])

            out.append(
                _warn(
                    "duplicate_rows",
                    lambda s: f"{s(small.name)} and {s(large.name)} share {shared} of {s(small.name)}'s {small.epochs} epoch rows "
                    f"value for value, time included ({where(small, small_keys)} of {s(small.name)}; "
                    f"{where(large, large_keys)} of {s(large.name)}, which has {large.epochs} rows): a copied notebook "
                    "or an extraction mix-up; do not compare these runs until it is explained",
                    [small.name, large.name],
                    {"shared": shared, "rows": small.epochs, "other_rows": large.epochs},
                )
            )

    # empty and incomplete phases (known only from a phase table)
    for run in runs:
        for phase in run.phases:
            if phase.empty:
                out.append(_warn("empty_phase", lambda s: f"{s(run.name)}, phase {_text(phase.number)}: {s(phase.status)}", [run.name]))
            elif phase.incomplete:
                out.append(
                    _warn(
                        "incomplete_phase",
                        lambda s: f"{s(run.name)}, phase {_text(phase.number)}: {s(phase.status)}",
                        [run.name],
                        {"recorded": phase.recorded_epochs, "planned": phase.planned_epochs},
                    )
                )
    for run in runs:
        if run.epochs == 0 and run.phases and not all(p.empty for p in run.phases):
            continue
        if run.epochs == 0 and not run.phases:
            out.append(_warn("empty_phase", lambda s: f"{s(run.name)}: no epochs recorded", [run.name]))

    # epoch numbering restarting inside a phase
    for run in runs:
        rows = groups.get(run.id)
        if rows is None:
            continue
        for number, phase_rows in rows.groupby("training_phase", sort=False, dropna=False):
            epochs = [_opt_int(e) for e in phase_rows["epoch"]]
            segments: list[list[int]] = []
            for epoch in epochs:
                if epoch is None:
                    continue
                if segments and epoch > segments[-1][-1]:
                    segments[-1].append(epoch)
                else:
                    segments.append([epoch])
            if len(segments) > 1:
                spans = ", then ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else f"{s[0]}" for s in segments)
                out.append(
                    _warn(
                        "epoch_restart",
                        lambda s: f"{s(run.name)}, phase {_text(_opt_int(number))}: the epoch numbering restarts ({spans}), so its "
                        f"{len(phase_rows)} rows probably come from {len(segments)} training calls merged into one phase",
                        [run.name],
                        {"phase": (run.name, _opt_int(number)), "segments": len(segments)},
                    )
                )

    # divergence spikes
    for spike in spikes:
        out.append(_warn("spike", lambda s: _spike_message(spike, s), [spike.run], {"phase": (spike.run, spike.start.phase)}))

    # metrics present in some runs and missing in others
    for column in metric_columns:
        having = [r for r in with_rows if column in r.columns]
        lacking = [r for r in with_rows if column not in r.columns]
        if having and lacking:
            out.append(
                _warn(
                    "missing_metric",
                    lambda s: f"{s(column)} is recorded for {len(having)} of {len(with_rows)} runs; missing for "
                    f"{_join([s(r.name) for r in lacking])}, so comparisons on {s(column)} leave "
                    + ("it" if len(lacking) == 1 else "them")
                    + " out",
                    [r.name for r in lacking],
                )
            )
    for run in with_rows:
        rows = groups[run.id]
        for column in run.columns:
            missing = int(rows[column].isna().sum())
            if missing:
                out.append(
                    _warn(
                        "missing_metric",
                        lambda s: f"{s(column)} is missing in {missing} of {run.epochs} epoch rows of {s(run.name)} "
                        f"({_where_phases(rows[rows[column].isna()])})",
                        [run.name],
                    )
                )

    # learning rates that could not be resolved or parsed
    for run in runs:
        missing = [p for p in run.phases if p.lr_status == "missing"]
        if missing:
            numbers = [p.number for p in missing if p.number is not None]
            out.append(
                _warn(
                    "missing_lr",
                    lambda s: f"{s(run.name)}: the learning rate of {'phase' if len(numbers) == 1 else 'phases'} {_ranges(numbers)} "
                    "could not be resolved (empty learning_rate)",
                    [run.name],
                )
            )
    malformed: dict[str, list[tuple[RunSummary, PhaseSummary]]] = {}
    for run in runs:
        for phase in run.phases:
            if phase.lr_status == "malformed":
                malformed.setdefault(phase.learning_rate, []).append((run, phase))
    for text, uses in malformed.items():
        hint = " (a closing parenthesis is missing)" if text.count("(") > text.count(")") else ""
        out.append(
            _warn(
                "malformed_lr",
                lambda s: f"learning rate {s.code(text)} cannot be parsed{hint}; used by "
                + _join([f"{s(run.name)} phase {_text(phase.number)}" for run, phase in uses]),
                sorted({run.name for run, _ in uses}, key=[r.name for r in runs].index),
            )
        )
    return out


def _attach_phase_notes(runs: list[RunSummary], warnings: list[DataWarning]) -> None:
    """Copy the warnings pinned to one phase onto that phase (for the per-run summary)."""
    phases = {(run.name, phase.number): phase for run in runs for phase in run.phases}
    for warning in warnings:
        key = warning.data.get("phase")
        if key is not None and tuple(key) in phases:
            phases[tuple(key)].notes.append(warning.markdown)


# --------------------------------------------------------------------------- insights


def _caveat(runs: Sequence[RunSummary], warnings: list[DataWarning]) -> str:
    """`` Caveat: …`` naming the runs whose numbers are in doubt (incomplete phases, shared rows), or ``""``."""
    e = MARKDOWN
    parts: list[str] = []
    for run in runs:
        if any(p.incomplete or p.empty for p in run.phases):
            parts.append(f"{e(run.name)} has incomplete phases")
        if any(w.kind == "duplicate_rows" and run.name in w.runs for w in warnings):
            parts.append(f"{e(run.name)} shares epoch rows with another run")
    return f" Caveat: {_join(list(dict.fromkeys(parts)))}." if parts else ""


def _insights(
    runs: list[RunSummary],
    info: MetricInfo | None,
    accuracy_column: str | None,
    ranking: list[RankEntry],
    warnings: list[DataWarning],
) -> list[Insight]:
    if info is None:
        return []
    out: list[Insight] = []
    m = info.name
    e = MARKDOWN
    em, eacc = e(m), e(accuracy_column)
    lower = info.lower_is_better
    scored = [r for r in runs if r.best is not None]

    # architecture families
    families: dict[str, RunSummary] = {}
    for run in scored:
        current = families.get(run.family)
        if current is None or _better(run.best.value, current.best.value, lower):  # type: ignore[union-attr]
            families[run.family] = run
    if len(families) >= 2:
        ordered = sorted(families.items(), key=lambda kv: (kv[1].best.value if lower else -kv[1].best.value, kv[1].index))  # type: ignore[union-attr]
        top_family, top = ordered[0]
        bullets = [f"best {family}: {e(run.name)}, {em} {fmt(run.best.value)}" for family, run in ordered]  # type: ignore[union-attr]
        comparisons = []
        data: dict[str, Any] = {"families": {f: {"run": r.name, "best": r.best.value} for f, r in ordered}, "ratios": {}}  # type: ignore[union-attr]
        for family, run in ordered[1:]:
            a, b = top.best.value, run.best.value  # type: ignore[union-attr]
            ratio = None
            if a > 0 and b > 0:
                ratio = (b / a) if lower else (a / b)
            data["ratios"][family] = ratio
            if fmt(a) == fmt(b):
                comparisons.append(f"the best {family} run is as good ({fmt(b)})")
            elif ratio is not None:
                comparisons.append(
                    f"{fmt_ratio(ratio)} {'lower' if lower else 'higher'} than the best {family} run "
                    f"({fmt(a)} vs {fmt(b)} for {e(run.name)})"
                )
            else:
                comparisons.append(f"{fmt(abs(a - b))} better than the best {family} run ({fmt(a)} vs {fmt(b)})")
        text = f"{top_family} runs lead on {em}: the best, {e(top.name)} ({fmt(top.best.value)}), is " + "; ".join(comparisons) + "."  # type: ignore[union-attr]
        counts = Counter(r.family for r in scored)
        text += " Runs per family: " + ", ".join(f"{f} {counts[f]}" for f, _ in ordered) + "."
        out.append(Insight("families", "Architecture families", text, bullets, data=data))

    # the same architecture with and without pretrained weights
    pairs = []
    for model in dict.fromkeys(r.model for r in scored):
        pre = [r for r in scored if r.model == model and r.pretrained is True]
        scratch = [r for r in scored if r.model == model and r.pretrained is False]
        if not pre or not scratch:
            continue
        best_pre = min(pre, key=lambda r: (r.best.value if lower else -r.best.value, r.index))  # type: ignore[union-attr]
        best_scratch = min(scratch, key=lambda r: (r.best.value if lower else -r.best.value, r.index))  # type: ignore[union-attr]
        pairs.append((model, best_pre, best_scratch))
    if pairs:
        bullets = []
        data = {}
        for model, pre, scratch in pairs:
            final_pct = _pct(pre.final.value, scratch.final.value) if pre.final and scratch.final else None
            best_pct = _pct(pre.best.value, scratch.best.value)  # type: ignore[union-attr]
            data[model] = {
                "pretrained": pre.name,
                "scratch": scratch.name,
                "final_percent": final_pct,
                "best_percent": best_pct,
                "final": (pre.final.value if pre.final else None, scratch.final.value if scratch.final else None),
                "best": (pre.best.value, scratch.best.value),  # type: ignore[union-attr]
            }

            def effect(pct: float | None, a: float, b: float, what: str) -> str:
                if pct is None:
                    return f"{what} {fmt(a)} vs {fmt(b)}"
                if abs(pct) < SAME_PERCENT:
                    return f"left its {what} about the same ({fmt(a)} vs {fmt(b)}, {fmt_percent(pct)})"
                verb = "raised" if pct > 0 else "lowered"
                return f"{verb} its {what} by {fmt_percent(pct)} ({fmt(a)} vs {fmt(b)} from scratch)"

            parts = []
            if pre.final and scratch.final:
                parts.append(effect(final_pct, pre.final.value, scratch.final.value, f"final {em}"))
            parts.append(effect(best_pct, pre.best.value, scratch.best.value, f"best {em}"))  # type: ignore[union-attr]
            helped = best_pct is not None and abs(best_pct) >= SAME_PERCENT and ((best_pct < 0) == lower)
            hurt = best_pct is not None and abs(best_pct) >= SAME_PERCENT and not helped
            verdict = "helped" if helped else ("hurt" if hurt else "made little difference")
            data[model]["verdict"] = verdict
            bullets.append(f"{e(model)}: pretrained weights {verdict}: they " + " and ".join(parts) + "." + _caveat([pre, scratch], warnings))
        out.append(
            Insight(
                "pretrained",
                "Pretrained weights (transfer learning)",
                "The same architecture trained with and without pretrained weights:",
                bullets,
                data=data,
            )
        )

    # metric disagreement (accuracy vs main metric)
    if accuracy_column is not None:
        both = [r for r in scored if r.accuracy_best is not None]
        if len(both) >= 2:
            reversed_pairs = []
            for i, a in enumerate(both):
                for b in both[i + 1 :]:
                    main_a, main_b = fmt(a.best.value), fmt(b.best.value)  # type: ignore[union-attr]
                    acc_a, acc_b = fmt(a.accuracy_best.value), fmt(b.accuracy_best.value)  # type: ignore[union-attr]
                    if main_a == main_b or acc_a == acc_b:
                        continue
                    main_says_a = _better(a.best.value, b.best.value, lower)  # type: ignore[union-attr]
                    acc_says_a = a.accuracy_best.value > b.accuracy_best.value  # type: ignore[union-attr]
                    if main_says_a != acc_says_a:
                        win, lose = (a, b) if acc_says_a else (b, a)
                        reversed_pairs.append(
                            f"{e(win.name)} has the higher {eacc} ({fmt(win.accuracy_best.value)} vs "  # type: ignore[union-attr]
                            f"{fmt(lose.accuracy_best.value)}) but the {'higher' if lower else 'lower'} {em} "  # type: ignore[union-attr]
                            f"({fmt(win.best.value)} vs {fmt(lose.best.value)} for {e(lose.name)})"  # type: ignore[union-attr]
                        )
            acc_values = [r.accuracy_best.value for r in both]  # type: ignore[union-attr]
            main_values = [r.best.value for r in both]  # type: ignore[union-attr]
            acc_spread = max(acc_values) - min(acc_values)
            main_spread = max(main_values) - min(main_values)
            saturated = main_spread > 0 and acc_spread < SATURATION_RATIO * main_spread
            if reversed_pairs or saturated:
                parts = []
                if reversed_pairs:
                    parts.append(f"Ranking by best {eacc} differs from ranking by best {em}.")
                if saturated:
                    parts.append(
                        f"{eacc} barely separates the runs: the best values span {fmt(acc_spread)} "
                        f"({fmt(min(acc_values))} to {fmt(max(acc_values))}) while {em} spans {fmt(main_spread)} "
                        f"({fmt(min(main_values))} to {fmt(max(main_values))}), so a high {eacc} says "
                        f"little about {em} here."
                    )
                out.append(
                    Insight(
                        "metric_disagreement",
                        f"{eacc} vs {em}",
                        " ".join(parts),
                        reversed_pairs,
                        data={
                            "reversed_pairs": len(reversed_pairs),
                            "saturated": saturated,
                            "accuracy_spread": acc_spread,
                            "metric_spread": main_spread,
                            "column": accuracy_column,
                        },
                    )
                )

    # improvement from first to final epoch
    improving = [r for r in scored if r.improvement is not None]
    if improving:
        rows = [
            [r.name, fmt(r.first.value), fmt(r.final.value), fmt_signed(r.improvement)]  # type: ignore[union-attr]
            for r in improving
        ]
        better = [r for r in improving if (r.improvement < 0) == lower and r.improvement != 0]  # type: ignore[operator]
        worse = [r for r in improving if r not in better and r.improvement != 0]
        if not worse and len(better) == len(improving):
            if len(improving) == 1:
                text = f"{e(improving[0].name)} improved {em} from the first to the final epoch."
            else:
                text = f"{'Both' if len(improving) == 2 else 'All ' + str(len(improving))} runs improved {em} from the first to the final epoch."
        else:
            text = f"{len(better)} of {len(improving)} runs improved {em} from the first to the final epoch"
            if worse:
                text += "; " + _join([f"{e(r.name)} ended worse than it started ({fmt_signed(r.improvement)})" for r in worse])
            text += "."
        top = max(improving, key=lambda r: (-r.improvement if lower else r.improvement, -r.index))  # type: ignore[operator]
        if len(improving) > 1:
            text += f" The largest change: {e(top.name)}, {fmt_signed(top.improvement)} ({fmt(top.first.value)} → {fmt(top.final.value)})."  # type: ignore[union-attr]
        out.append(
            Insight(
                "improvement",
                "Improvement from first to final epoch",
                text,
                headers=["Run", f"First {m}", f"Final {m}", "Change"],
                table=rows,
                data={r.name: r.improvement for r in improving},
            )
        )

    # what the learning-rate schedule did
    bullets = []
    schedule_data: dict[str, Any] = {}
    for run in scored:
        moved = [p for p in run.phases if p.change is not None]
        if len(moved) < 2:
            continue
        values = [v for v in run.series.get(m, []) if v is not None]
        spread = (max(values) - min(values)) if values else 0.0
        best_phase = max(moved, key=lambda p: (-p.change if lower else p.change))  # type: ignore[operator]
        hurting = [
            p
            for p in moved
            if p is not best_phase and (p.change > 0) == lower and p.change != 0 and abs(p.change) >= WORSE_FRACTION * spread  # type: ignore[operator]
        ]
        text = (
            f"{e(run.name)}: phase {_text(best_phase.number)} (lr {_lr_words(best_phase.learning_rate)}) moved {em} the most, "
            f"{fmt_signed(best_phase.change)} ({fmt(best_phase.start_value)} → {fmt(best_phase.end_value)})"
        )
        if hurting:
            text += "; " + _join(
                [f"phase {_text(p.number)} (lr {_lr_words(p.learning_rate)}) made it worse, {fmt_signed(p.change)}" for p in hurting]
            )
        last = moved[-1]
        if last is not best_phase and last not in hurting:
            text += f"; the last phase changed it by {fmt_signed(last.change)}"
        bullets.append(text + ".")
        schedule_data[run.name] = {"best_phase": best_phase.number, "worse_phases": [p.number for p in hurting]}
    if bullets:
        out.append(
            Insight(
                "schedule",
                "Learning-rate schedule",
                f"Change in {em} over each phase (from the end of the previous phase to the end of this one); "
                f"a phase \"made it worse\" when it lost at least {WORSE_FRACTION:.0%} of the run's {em} range:",
                bullets,
                data=schedule_data,
            )
        )

    # training efficiency
    timed = [r for r in runs if r.time_per_epoch_s is not None]
    if timed:
        rows = [
            [r.name, str(r.epochs), fmt_duration(r.total_time_s), fmt_duration(r.time_per_epoch_s), fmt(r.best.value) if r.best else "n/a"]
            for r in timed
        ]
        fastest = min(timed, key=lambda r: (r.time_per_epoch_s, r.index))  # type: ignore[arg-type,return-value]
        slowest = max(timed, key=lambda r: (r.time_per_epoch_s, -r.index))  # type: ignore[arg-type,return-value]
        if len(timed) == 1:
            text = (
                f"{e(fastest.name)} trained {fastest.epochs} epochs in {fmt_duration(fastest.total_time_s)} "
                f"({fmt_duration(fastest.time_per_epoch_s)} per epoch)."
            )
        else:
            text = f"{e(fastest.name)} is the fastest per epoch ({fmt_duration(fastest.time_per_epoch_s)})"
            if fastest.time_per_epoch_s:
                ratio = slowest.time_per_epoch_s / fastest.time_per_epoch_s  # type: ignore[operator]
                text += f"; {e(slowest.name)} is the slowest ({fmt_duration(slowest.time_per_epoch_s)}, {fmt_ratio(ratio)} as long)"
            text += "."
        if ranking and len(timed) > 1:
            winner = next(r for r in runs if r.name == ranking[0].run)
            if winner.total_time_s is not None:
                text += (
                    f" The best run, {e(winner.name)}, trained {winner.epochs} epochs in {fmt_duration(winner.total_time_s)} "
                    f"({fmt_duration(winner.time_per_epoch_s)} per epoch)."
                )
        if len(timed) > 1:
            total = sum(r.total_time_s for r in timed)  # type: ignore[misc]
            text += f" All runs together: {fmt_duration(total)}."
        out.append(
            Insight(
                "efficiency",
                "Training efficiency",
                text,
                headers=["Run", "Epochs", "Total time", "Per epoch", f"Best {m}"],
                table=rows,
                data={r.name: {"total_s": r.total_time_s, "per_epoch_s": r.time_per_epoch_s} for r in timed},
            )
        )

    # still improving at the last epoch
    late = [r for r in scored if r.best is not None and r.final is not None and r.epochs > 1 and r.best.global_epoch == r.final.global_epoch]
    if late:
        out.append(
            Insight(
                "still_improving",
                "Best value at the last epoch",
                f"These runs reached their best {em} at their last recorded epoch, so they may not have finished improving:",
                [f"{e(r.name)}: {fmt(r.best.value)} at {r.best.where} (epoch {r.epochs} of {r.epochs})" for r in late],  # type: ignore[union-attr]
                data={"runs": [r.name for r in late]},
            )
        )
    return out


# --------------------------------------------------------------------------- recommendations


def _recommendations(
    runs: list[RunSummary],
    info: MetricInfo | None,
    ranking: list[RankEntry],
    insights: list[Insight],
    warnings: list[DataWarning],
    spikes: list[Spike],
) -> list[str]:
    out: list[str] = []
    e = MARKDOWN
    kinds = {i.kind: i for i in insights}
    duplicates = [w for w in warnings if w.kind == "duplicate_rows"]
    if info is not None and ranking:
        em = e(info.name)
        leader = ranking[0]
        if len(ranking) >= 2:
            second = ranking[1]
            if fmt(second.best) == fmt(leader.best):
                out.append(f"{e(leader.run)} and {e(second.run)} tie on best {em} ({fmt(leader.best)}); compare them on another metric or more runs before choosing.")
            else:
                pct = _pct(leader.best, second.best)
                out.append(
                    f"Use {e(leader.run)}: its best {em} {fmt(leader.best)} is "
                    f"{fmt(abs(leader.best - second.best))} ({fmt_percent(pct)}) "
                    f"{'below' if info.lower_is_better else 'above'} the runner-up, {e(second.run)} ({fmt(second.best)})."
                    + _caveat([r for r in runs if r.name in (leader.run, second.run)], warnings)
                )
        families = kinds.get("families")
        if families is not None:
            ordered = list(families.data["families"].items())
            top_family, top = ordered[0]
            others = [(f, families.data["ratios"].get(f)) for f, _ in ordered[1:]]
            parts = [
                f"{fmt_ratio(r)} {'lower' if info.lower_is_better else 'higher'} than the best {f}" if r is not None else f"ahead of the best {f}"
                for f, r in others
            ]
            out.append(f"Prefer {top_family} architectures for this task: the best {top_family} run ({fmt(top['best'])}) is " + ", ".join(parts) + ".")
        pretrained = kinds.get("pretrained")
        if pretrained is not None:
            for model, data in pretrained.data.items():
                pct = data["best_percent"]
                if data["verdict"] == "hurt":
                    out.append(
                        f"Train {e(model)} from scratch: pretrained weights lowered its best {em} by {fmt_percent(pct)}"
                        + (f" and its final {em} by {fmt_percent(data['final_percent'])}" if data["final_percent"] is not None else "")
                        + "."
                        if not info.lower_is_better
                        else f"Train {e(model)} from scratch: pretrained weights made its best {em} {fmt_percent(pct)} worse."
                    )
                elif data["verdict"] == "helped":
                    out.append(f"Use pretrained weights for {e(model)}: they improved its best {em} by {fmt_percent(pct)}.")
        disagreement = kinds.get("metric_disagreement")
        if disagreement is not None:
            column = e(disagreement.data["column"])
            reason = []
            if disagreement.data["saturated"]:
                reason.append(f"{column} spans only {fmt(disagreement.data['accuracy_spread'])} across runs against {fmt(disagreement.data['metric_spread'])} for {em}")
            if disagreement.data["reversed_pairs"]:
                reason.append(f"{_plural(disagreement.data['reversed_pairs'], 'pair')} of runs are ordered differently by the two")
            out.append(f"Select models and checkpoints by {em}, not {column}: " + "; ".join(reason) + ".")
        late = kinds.get("still_improving")
        if late is not None:
            out.append(
                f"Train {_join([e(name) for name in late.data['runs']])} longer: "
                + ("its" if len(late.data["runs"]) == 1 else "each one's")
                + f" best {em} came at the last recorded epoch."
            )
    seen_spikes: set[tuple[str, int | None]] = set()
    for spike in spikes:
        key = (spike.run, spike.start.phase)
        if key in seen_spikes:
            continue
        seen_spikes.add(key)
        lr = f" ({e.code(spike.learning_rate)})" if spike.learning_rate else ""
        out.append(
            f"Lower the learning rate{lr} of {e(spike.run)} phase {_text(spike.start.phase)}: {e(spike.column)} jumped from "
            f"{fmt(spike.baseline)} to {fmt(spike.peak.value)}; a divergence like this wastes epochs and can hide a better model."
        )
    for warning in duplicates:
        out.append(
            f"Check {e(warning.runs[0])} and {e(warning.runs[1])} before relying on either: they share "
            f"{warning.data['shared']} of {warning.data['rows']} epoch rows value for value."
        )
    unfinished = [(r, p) for r in runs for p in r.phases if p.incomplete or p.empty]
    if unfinished:
        out.append(
            "Re-run or finish the incomplete phases before comparing their runs: "
            + "; ".join(
                f"{e(r.name)} phase {_text(p.number)}: "
                + (
                    f"{p.recorded_epochs} of {p.planned_epochs} epochs recorded"
                    if p.planned_epochs is not None
                    else f"{_plural(p.recorded_epochs, 'epoch')} recorded"
                )
                + (", interrupted" if p.interrupted else "")
                for r, p in unfinished
            )
            + "."
        )
    restarts = [w for w in warnings if w.kind == "epoch_restart"]
    if restarts:
        out.append(
            "Re-extract the notebooks with `audiometrics extract`: "
            + _join([e(name) for name in sorted({w.runs[0] for w in restarts}, key=[r.name for r in runs].index)])
            + (" has a phase" if len({w.runs[0] for w in restarts}) == 1 else " have phases")
            + " whose epoch numbering restarts, so the phases and learning rates recorded for them are probably wrong."
        )
    return out
