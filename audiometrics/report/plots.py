"""PNG plots of a summary, drawn with matplotlib's object API (Agg canvas, no pyplot state).

:func:`write_plots` writes, into ``plots_dir``:

``metric_by_epoch.png``
    the main metric against the epoch counted across phases (``global_epoch``):
    the best :data:`MAX_LINES` runs (:func:`chosen_runs`: the best of each
    comparison group first) one line each, the others as their median and
    10–90% band; runs of very different lengths go to separate panels
    (:func:`length_buckets`) so that short runs are not squeezed; phase starts
    are marked (diamonds, or labelled dashed lines when all runs share them), a
    star marks each run's best epoch.
``losses_by_epoch.png``
    ``train_loss`` and ``valid_loss`` for at most :data:`MAX_PANELS` runs
    (chosen as above; the title says so). The axes keep the bulk of the curve
    readable (:func:`robust_limits`): a spike beyond them is drawn at the edge
    as a triangle with its value, never by switching the panel to a log scale.
``best_final_metric.png``
    horizontal bars of the best and the final main metric for at most
    :data:`MAX_BARS` runs, group by group in ranking order, with the values
    written at the bar ends.

The figure sizes do not grow with the number of runs beyond these bounds, and
the drawing time is linear in the epochs drawn.

File names are fixed, so a new report overwrites the previous plots. PNGs carry
no ``Software`` metadata and the default style is used whatever the user's
matplotlibrc says, so the same input gives byte-identical files on one machine.

Every label that holds a notebook-derived name (run names, metric columns) goes
through :func:`audiometrics.escaping.plot_text`: never read as mathtext, no
control characters, one line. :func:`draw_plots` draws each plot on its own, so
a plot that still fails is left out (and named) without losing the others;
matplotlib's missing-glyph warnings are silenced around the drawing only.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.style
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

import pandas as pd

from audiometrics.atomic import write_atomic
from audiometrics.escaping import plot_text as _label
from audiometrics.report.formatting import fmt
from audiometrics.report.model import RunSummary, Summary
from audiometrics.report.summarize import summarize

__all__ = [
    "MAX_BARS", "MAX_LINES", "MAX_PANELS", "PlotSpec", "Drawn", "chosen_runs", "draw_plots", "length_buckets",
    "plot_specs", "robust_limits", "write_plots",
]

DPI = 110
#: The main plot draws this many runs one by one (the best of each group first); the rest as a median and a band.
MAX_LINES = 10
#: Loss panels are drawn for at most this many runs (chosen as the main plot's lines).
MAX_PANELS = 6
#: The bar chart shows at most this many runs.
MAX_BARS = 20
#: In one panel of the main plot, the longest run has at most this many times the epochs of the shortest.
LENGTH_RATIO = 4.0
#: The main plot has at most this many panels of run lengths.
MAX_LENGTH_PANELS = 3
#: A value above this many times the median of a panel's values is a spike: clipped and marked.
SPIKE_SPAN = 20.0
#: Legend labels are cut to this many characters.
LABEL_CHARS = 60


@dataclass(frozen=True)
class PlotSpec:
    file: str
    title: str
    caption: str


def plot_specs(summary: Summary) -> list[PlotSpec]:
    """The plots :func:`write_plots` draws for ``summary`` (file name, title, caption for the markdown)."""
    specs: list[PlotSpec] = []
    metric = summary.metric
    if metric is not None and any(_has_values(r, metric.name) for r in summary.runs):
        specs.append(
            PlotSpec(
                "metric_by_epoch.png",
                f"{metric.name} by epoch",
                f"{metric.name} ({metric.better} is better) by epoch, counted across phases: the best {MAX_LINES} runs "
                "(the best of each comparison group first) one line each, any others as a median and a band; "
                "diamonds or dashed lines mark where each phase starts, stars the best epoch, triangles values beyond the axis.",
            )
        )
    if any(_has_values(r, "train_loss") or _has_values(r, "valid_loss") for r in summary.runs):
        specs.append(
            PlotSpec(
                "losses_by_epoch.png",
                "Training and validation loss",
                f"train_loss and valid_loss for at most {MAX_PANELS} runs (the best of each comparison group first); "
                "a spike beyond the axis is clipped and marked with its value.",
            )
        )
    if summary.ranking and metric is not None:
        specs.append(
            PlotSpec(
                "best_final_metric.png",
                f"Best and final {metric.name}",
                f"Best and final {metric.name} for at most {MAX_BARS} runs, group by group in ranking order.",
            )
        )
    return specs


def _legend_below(figure: Figure, handles: list[Any], ncols: int) -> None:
    try:
        figure.legend(handles=handles, loc="outside lower center", ncols=ncols, fontsize=9, frameon=False)
    except ValueError:  # matplotlib < 3.7 has no "outside" legends
        figure.legend(handles=handles, loc="lower center", ncols=ncols, fontsize=9, frameon=False)


def _has_values(run: RunSummary, column: str) -> bool:
    return any(v is not None for v in run.series.get(column, []))


def _colour(index: int) -> Any:
    cmap = matplotlib.colormaps["tab10" if index < 10 else "tab20"]
    return cmap((index % 10) if index < 10 else (index % 20))


def _points(run: RunSummary, column: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for x, y in zip(run.series.get("global_epoch", []), run.series.get(column, [])):
        if y is not None:
            xs.append(int(x))
            ys.append(float(y))
    return xs, ys


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _shared_starts(runs: list[RunSummary]) -> list[tuple[int, int | None]] | None:
    starts = [tuple(s for s in r.phase_starts if s[0] > 0) for r in runs if r.phase_starts]
    if starts and all(s == starts[0] for s in starts):
        return list(starts[0])
    return None


def chosen_runs(runs: list[RunSummary], limit: int) -> list[RunSummary]:
    """At most ``limit`` of ``runs``: the best of each comparison group first (rank 1 of every group, then rank 2, …).

    Runs without a rank (no main metric) come last, in table order; the result is in table order.
    """
    if len(runs) <= limit:
        return list(runs)
    picked = sorted(runs, key=lambda r: (r.rank if r.rank is not None else 1 << 30, r.group or 1 << 30, r.index))[:limit]
    return sorted(picked, key=lambda r: r.index)


def length_buckets(runs: list[RunSummary], ratio: float = LENGTH_RATIO, most: int = MAX_LENGTH_PANELS) -> list[list[RunSummary]]:
    """Runs split by length so that no panel squeezes a short run: in a bucket the longest is at most ``ratio`` × the shortest.

    At most ``most`` buckets (the longest runs share the last one), shortest first.
    """
    ordered = sorted(runs, key=lambda r: (max(r.epochs, 1), r.index))
    buckets: list[list[RunSummary]] = []
    for run in ordered:
        if buckets and (max(run.epochs, 1) <= ratio * max(buckets[-1][0].epochs, 1) or len(buckets) == most):
            buckets[-1].append(run)
        else:
            buckets.append([run])
    return buckets


def robust_limits(values: list[float]) -> tuple[float, float, bool]:
    """Axis limits that keep the bulk of ``values`` readable: ``(low, high, clipped)``.

    A value more than :data:`SPIKE_SPAN` times the median of the values (the
    median being positive) is a spike: the axis ends above the largest other
    value, and the spike is clipped to the edge and marked instead of flattening
    the rest of the curve.

    Examples
    --------
    >>> robust_limits([0.9, 0.5, 0.4, 0.3, 1330.0])[2], robust_limits([1.5, 0.6, 0.5, 0.45])[2]
    (True, False)
    """
    data = sorted(v for v in values if math.isfinite(v))
    if not data:
        return 0.0, 1.0, False
    median = data[len(data) // 2]
    kept = [v for v in data if not (median > 0 and v > SPIKE_SPAN * median)]
    low, high = data[0], kept[-1] if kept else data[-1]
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 0.05
    return low - pad, high + pad, len(kept) < len(data)


def _mark_clipped(axes: Any, xs: list[int], ys: list[float], low: float, high: float, colour: Any) -> bool:
    """Draw values outside ``(low, high)`` at the edge with a triangle and the largest one's value; whether any was."""
    over = [(x, y) for x, y in zip(xs, ys) if y > high]
    under = [(x, y) for x, y in zip(xs, ys) if y < low]
    for points, edge, marker in ((over, high, "^"), (under, low, "v")):
        if points:
            axes.plot([x for x, _ in points], [edge] * len(points), linestyle="none", marker=marker, color=colour, markersize=7, clip_on=False, zorder=6)
            x, y = max(points, key=lambda p: abs(p[1]))
            axes.annotate(fmt(y), (x, edge), xytext=(4, -10 if marker == "^" else 4), textcoords="offset points", fontsize=7, color=colour)
    return bool(over or under)


def _draw_metric_run(axes: Any, run: RunSummary, name: str, shared: list[tuple[int, int | None]] | None, colour: Any) -> Any:
    """One run's line of the main metric, its phase starts (unless shared by all runs) and its best epoch."""
    xs, ys = _points(run, name)
    label = run.name if len(run.name) <= LABEL_CHARS else run.name[: LABEL_CHARS - 1] + "…"
    (line,) = axes.plot(xs, ys, color=colour, linewidth=1.6, label=_label(label))
    lookup = dict(zip(xs, ys))
    if shared is None:
        marks = [(s, lookup[s]) for s, _ in run.phase_starts if s > 0 and s in lookup]
        if marks:
            axes.plot([m[0] for m in marks], [m[1] for m in marks], linestyle="none", marker="D", markersize=6, color=colour, markeredgecolor="white", zorder=4)
    if run.best is not None:
        axes.plot([run.best.global_epoch], [run.best.value], linestyle="none", marker="*", markersize=14, color=colour, markeredgecolor="black", markeredgewidth=0.6, zorder=5)
    return line


def _draw_rest(axes: Any, runs: list[RunSummary], name: str) -> bool:
    """The runs not drawn one by one, as their median by epoch and the band of their middle 80%."""
    series = [_points(run, name) for run in runs]
    series = [(xs, ys) for xs, ys in series if xs]
    if not series:
        return False
    width = max(max(xs) for xs, _ in series) + 1
    grid = np.full((len(series), width), np.nan)
    for row, (xs, ys) in enumerate(series):
        grid[row, xs] = ys
    counts = np.sum(~np.isnan(grid), axis=0)
    epochs = np.flatnonzero(counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, median, high = np.nanquantile(grid[:, epochs], [0.1, 0.5, 0.9], axis=0)
    axes.fill_between(epochs, low, high, color="0.6", alpha=0.25, linewidth=0, zorder=1)
    axes.plot(epochs, median, color="0.45", linewidth=1.1, linestyle="--", zorder=2)
    return True


def _phase_boundaries(axes: Any, runs: list[RunSummary], shared: list[tuple[int, int | None]] | None) -> list[Line2D]:
    """Vertical lines at phase starts (labelled when all runs share them); returns their legend entries."""
    if shared:
        top = axes.get_ylim()[1]
        for start, number in shared:
            axes.axvline(start - 0.5, color="0.45", linestyle="--", linewidth=0.9)
            axes.annotate(f"P{number}" if number is not None else "", (start - 0.5, top), xytext=(3, -12), textcoords="offset points", fontsize=8, color="0.35")
        return [Line2D([], [], color="0.45", linestyle="--", linewidth=0.9, label="phase start")]
    if not any(start > 0 for run in runs for start, _ in run.phase_starts):
        return []
    return [Line2D([], [], color="0.3", linestyle="none", marker="D", markersize=6, label="phase start (on its run)")]


def _metric_panel(axes: Any, shown: list[RunSummary], rest: list[RunSummary], name: str, colours: dict[str, Any]) -> tuple[list[Any], bool]:
    shared = _shared_starts(shown)
    handles = [_draw_metric_run(axes, run, name, shared, colours[run.name]) for run in shown]
    summarised = _draw_rest(axes, rest, name)
    values = [y for run in [*shown] for y in _points(run, name)[1]]
    low, high, clipped = robust_limits(values)
    if clipped:
        axes.set_ylim(low, high)
        for run in shown:
            _mark_clipped(axes, *_points(run, name), low, high, colours[run.name])
    handles += _phase_boundaries(axes, shown, shared)
    axes.grid(True, alpha=0.3)
    axes.margins(x=0.01)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return handles, summarised or clipped


def _metric_plot(summary: Summary) -> Figure:
    metric = summary.metric
    assert metric is not None
    runs = [r for r in summary.runs if _has_values(r, metric.name)]
    shown = chosen_runs(runs, MAX_LINES)
    chosen = {r.name for r in shown}
    colours = {run.name: _colour(i) for i, run in enumerate(shown)}
    buckets = length_buckets(runs)
    figure = Figure(figsize=(11, 6.4), layout="constrained")
    grid = figure.subplots(1, len(buckets), squeeze=False)
    legend: dict[str, Any] = {}
    for axes, bucket in zip(grid[0], buckets):
        handles, _ = _metric_panel(axes, [r for r in bucket if r.name in chosen], [r for r in bucket if r.name not in chosen], metric.name, colours)
        for handle in handles:
            legend.setdefault(handle.get_label(), handle)
        axes.set_xlabel("epoch, counted across phases")
        if len(buckets) > 1:
            axes.set_title(f"runs of {bucket[0].epochs}–{bucket[-1].epochs} epochs", fontsize=10)
    grid[0][0].set_ylabel(_label(f"{metric.name} ({metric.better} is better)"))
    others = len(runs) - len(shown)
    if others:
        legend["rest"] = Patch(facecolor="0.6", alpha=0.4, label=f"{others} other runs: median (dashed), 10–90% band")
    legend["best"] = Line2D([], [], color="0.3", linestyle="none", marker="*", markersize=12, markeredgecolor="black", label="best epoch")
    title = f"{metric.name} by epoch" + (f": the best {len(shown)} of {len(runs)} runs (best of each group first)" if others else ", all runs")
    figure.suptitle(_label(title), fontsize=12)
    _legend_below(figure, list(legend.values()), 2)
    return figure


def _loss_plot(summary: Summary) -> Figure:
    candidates = [r for r in summary.runs if _has_values(r, "train_loss") or _has_values(r, "valid_loss")]
    runs = chosen_runs(candidates, MAX_PANELS)
    columns = min(3, len(runs))
    rows = math.ceil(len(runs) / columns)
    figure = Figure(figsize=(5.0 * columns, 3.4 * rows + 0.9), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    styles = {"train_loss": "tab:blue", "valid_loss": "tab:orange"}
    any_clipped = False
    for position, run in enumerate(runs):
        axes = grid[position // columns][position % columns]
        points = {column: _points(run, column) for column in styles}
        for column, colour in styles.items():
            xs, ys = points[column]
            if xs:
                axes.plot(xs, ys, color=colour, linewidth=1.4, label=column)
        for start, _ in run.phase_starts:
            if start > 0:
                axes.axvline(start - 0.5, color="0.5", linestyle=":", linewidth=0.9)
        low, high, clipped = robust_limits([y for xs, ys in points.values() for y in ys])
        if clipped:
            axes.set_ylim(low, high)
            for column, colour in styles.items():
                _mark_clipped(axes, *points[column], low, high, colour)
        any_clipped |= clipped
        title = run.name if len(run.name) <= LABEL_CHARS // 2 else "…" + run.name[-(LABEL_CHARS // 2 - 1):]
        axes.set_title(_label(title) + ("  (spike clipped)" if clipped else ""), fontsize=10)
        axes.set_xlabel("epoch (global)", fontsize=9)
        axes.set_ylabel("loss", fontsize=9)
        axes.tick_params(labelsize=8)
        axes.grid(True, alpha=0.3, which="major")
        axes.margins(x=0.01)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for position in range(len(runs), rows * columns):
        grid[position // columns][position % columns].set_visible(False)
    chosen = "" if len(runs) == len(candidates) else f": {len(runs)} of {len(candidates)} runs, the best of each group first"
    figure.suptitle("Training and validation loss per run" + chosen, fontsize=12)
    handles = [Line2D([], [], color=c, linewidth=1.4, label=n) for n, c in styles.items()]
    if any(start > 0 for run in runs for start, _ in run.phase_starts):
        handles.append(Line2D([], [], color="0.5", linestyle=":", linewidth=0.9, label="phase start"))
    if any_clipped:
        handles.append(Line2D([], [], color="0.3", linestyle="none", marker="^", label="value beyond the axis (clipped)"))
    _legend_below(figure, handles, len(handles))
    return figure


def _bar_entries(summary: Summary) -> list[Any]:
    """At most :data:`MAX_BARS` ranking entries: the best of each group first, shown group by group."""
    entries = summary.ranking
    if len(entries) > MAX_BARS:
        entries = sorted(entries, key=lambda e: (e.rank, e.group))[:MAX_BARS]
        entries = sorted(entries, key=lambda e: (e.group, e.rank))
    return entries


def _bar_plot(summary: Summary) -> Figure:
    metric = summary.metric
    assert metric is not None
    entries = _bar_entries(summary)
    several = len(summary.groups) > 1
    height = 0.38
    figure = Figure(figsize=(10, 1.4 + 0.75 * len(entries)), layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(entries)))
    best = [e.best for e in entries]
    final = [e.final if e.final is not None else math.nan for e in entries]
    colours = [_colour(e.group - 1 if several else i) for i, e in enumerate(entries)]
    best_bars = axes.barh([p - height / 2 for p in positions], best, height=height, color=colours, edgecolor="black", linewidth=0.5)
    final_bars = axes.barh([p + height / 2 for p in positions], final, height=height, color=colours, alpha=0.45, hatch="//", edgecolor="black", linewidth=0.5)
    for bars, values in ((best_bars, best), (final_bars, final)):
        for bar, value in zip(bars, values):
            if value == value:
                axes.annotate(fmt(value), (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    labels = [f"{'G' + str(e.group) + ' ' if several else ''}#{e.rank}{'=' if e.tied else ''}  {e.run}" for e in entries]
    axes.set_yticks(positions, [_label(text) for text in labels], fontsize=9)
    axes.set_ylim(len(entries) - 0.5, -0.5)  # first rank on top, no empty margin
    low = min([*best, *(f for f in final if f == f), 0.0])
    high = max([*best, *(f for f in final if f == f)])
    span = (high - low) or 1.0
    axes.set_xlim(low, high + 0.16 * span)
    axes.set_xlabel(_label(f"{metric.name} ({metric.better} is better)"))
    shown = "" if len(entries) == len(summary.ranking) else f", the best {len(entries)} of {len(summary.ranking)}"
    axes.set_title(_label(f"Best and final {metric.name} per run (ranked by best{' within each group G' if several else ''}{shown})"))
    axes.grid(True, axis="x", alpha=0.3)
    legend = [
        Patch(facecolor="0.55", edgecolor="black", linewidth=0.5, label=_label(f"best {metric.name}")),
        Patch(facecolor="0.55", alpha=0.45, hatch="//", edgecolor="black", linewidth=0.5, label=_label(f"final {metric.name}")),
    ]
    _legend_below(figure, legend, 2)
    return figure


_DRAW = {
    "metric_by_epoch.png": _metric_plot,
    "losses_by_epoch.png": _loss_plot,
    "best_final_metric.png": _bar_plot,
}


@dataclass
class Drawn:
    """What :func:`draw_plots` drew: PNG bytes by file name, and the plots that failed."""

    images: dict[str, bytes] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # file name → "ValueError: …"

    def warning(self) -> str | None:
        """One line naming the plots that could not be drawn, or ``None``."""
        if not self.failed:
            return None
        reasons = "; ".join(f"{name} ({reason})" for name, reason in self.failed.items())
        return f"plots not drawn, so the documents do not show them: {reasons}"


def draw_plots(summary: Summary) -> Drawn:
    """Draw every plot of :func:`plot_specs` in memory; one that raises is recorded in ``.failed``."""
    drawn = Drawn()
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support", category=UserWarning)
        # values near the float limits overflow in matplotlib's limit arithmetic; such a plot fails (below) or is drawn
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"matplotlib\.")
        matplotlib.style.use("default")
        matplotlib.rcParams["svg.hashsalt"] = "audiometrics"
        for spec in plot_specs(summary):
            try:
                drawn.images[spec.file] = _png(_DRAW[spec.file](summary))
            except Exception as error:  # noqa: BLE001 - a plot that fails must not lose the other outputs
                message = " ".join(str(error).split())[:200]
                drawn.failed[spec.file] = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return drawn


def write_plots(source: Summary | pd.DataFrame, plots_dir: str | os.PathLike[str], drawn: Drawn | None = None) -> list[str]:
    """Draw the plots of :func:`plot_specs` into ``plots_dir`` (those that could be drawn).

    ``source`` is a :class:`~audiometrics.report.model.Summary` or a typed epoch
    frame (summarized with the default main metric); ``drawn`` reuses the
    images of an earlier :func:`draw_plots`. Returns the paths written,
    relative to ``plots_dir``'s parent with ``/`` separators (``plots/metric_by_epoch.png``),
    which is how the markdown next to ``plots_dir`` references them.
    """
    summary = source if isinstance(source, Summary) else summarize(source)
    if drawn is None:
        drawn = draw_plots(summary)
    target = Path(plots_dir)
    written: list[str] = []
    for file, image in drawn.images.items():
        write_atomic(target / file, image)
        written.append(f"{target.name}/{file}")
    return written
