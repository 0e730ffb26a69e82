"""PNG plots of a summary, drawn with matplotlib's object API (Agg canvas, no pyplot state).

:func:`write_plots` writes, into ``plots_dir``:

``metric_by_epoch.png``
    the main metric against the epoch counted across phases (``global_epoch``),
    one line per run on one axis; each run's phase starts are marked with a
    diamond on its line and a faint vertical line in its colour (grey dashed
    lines labelled ``P2``, ``P3``… when every run shares the same boundaries);
    a star marks each run's best epoch.
``losses_by_epoch.png``
    one panel per run with ``train_loss`` and ``valid_loss``; a panel switches
    to a log scale when the run has a divergence spike or its losses span more
    than :data:`LOG_SPAN` × their median (the panel title says so).
``best_final_metric.png``
    horizontal bars of the best and the final main metric per run, in ranking
    order, with the values written at the bar ends.

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

__all__ = ["PlotSpec", "Drawn", "plot_specs", "draw_plots", "write_plots", "LOG_SPAN"]

#: A loss panel uses a log scale when max/median of its losses exceeds this.
LOG_SPAN = 20.0
DPI = 110


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
                f"{metric.name} ({metric.better} is better) of every run by epoch, counted across phases; "
                "diamonds and faint vertical lines mark where each phase starts, stars the best epoch.",
            )
        )
    if any(_has_values(r, "train_loss") or _has_values(r, "valid_loss") for r in summary.runs):
        specs.append(
            PlotSpec(
                "losses_by_epoch.png",
                "Training and validation loss",
                "train_loss and valid_loss per run; panels with divergence spikes use a log scale.",
            )
        )
    if summary.ranking and metric is not None:
        specs.append(
            PlotSpec(
                "best_final_metric.png",
                f"Best and final {metric.name}",
                f"Best and final {metric.name} per run, in ranking order.",
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


def _linestyle(index: int) -> str:
    return ("-", "--", "-.", ":")[(index // 20) % 4] if index >= 20 else "-"


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


def _draw_metric_run(axes: Any, run: RunSummary, name: str, shared: list[tuple[int, int | None]] | None) -> Any:
    """One run's line of the main metric, its phase starts (unless shared by all runs) and its best epoch."""
    colour = _colour(run.index - 1)
    xs, ys = _points(run, name)
    (line,) = axes.plot(xs, ys, color=colour, linewidth=1.6, linestyle=_linestyle(run.index - 1), label=_label(run.name))
    lookup = dict(zip(xs, ys))
    if shared is None:
        marks = [(s, lookup[s]) for s, _ in run.phase_starts if s > 0 and s in lookup]
        if marks:
            axes.plot([m[0] for m in marks], [m[1] for m in marks], linestyle="none", marker="D", markersize=6, color=colour, markeredgecolor="white", zorder=4)
    if run.best is not None:
        axes.plot([run.best.global_epoch], [run.best.value], linestyle="none", marker="*", markersize=14, color=colour, markeredgecolor="black", markeredgewidth=0.6, zorder=5)
    return line


def _phase_boundaries(axes: Any, runs: list[RunSummary], shared: list[tuple[int, int | None]] | None) -> list[Line2D]:
    """Vertical lines at phase starts (labelled when all runs share them); returns their legend entries."""
    owners: dict[int, list[RunSummary]] = {}
    for run in runs:
        for start, _ in run.phase_starts:
            if start > 0:
                owners.setdefault(start, []).append(run)
    if shared:
        top = axes.get_ylim()[1]
        for start, number in shared:
            axes.axvline(start - 0.5, color="0.45", linestyle="--", linewidth=0.9)
            axes.annotate(f"P{number}" if number is not None else "", (start - 0.5, top), xytext=(3, -12), textcoords="offset points", fontsize=8, color="0.35")
        return [Line2D([], [], color="0.45", linestyle="--", linewidth=0.9, label="phase start")]
    if not owners:
        return []
    for start in sorted(owners):
        several = len(owners[start]) > 1
        colour = "0.55" if several else _colour(owners[start][0].index - 1)
        axes.axvline(start - 0.5, color=colour, linestyle=":", linewidth=1.0, alpha=0.8 if several else 0.55, zorder=1)
    return [
        Line2D([], [], color="0.3", linestyle="none", marker="D", markersize=6, label="phase start (on its run)"),
        Line2D([], [], color="0.55", linestyle=":", linewidth=1.0, label="phase boundary (grey: several runs)"),
    ]


def _metric_plot(summary: Summary) -> Figure:
    metric = summary.metric
    assert metric is not None
    runs = [r for r in summary.runs if _has_values(r, metric.name)]
    legend_rows = math.ceil((len(runs) + 3) / 3)
    figure = Figure(figsize=(11, 5.2 + 0.24 * legend_rows), layout="constrained")
    axes = figure.add_subplot()
    shared = _shared_starts(runs)
    handles = [_draw_metric_run(axes, run, metric.name, shared) for run in runs]
    extra = _phase_boundaries(axes, runs, shared)
    extra.append(Line2D([], [], color="0.3", linestyle="none", marker="*", markersize=12, markeredgecolor="black", label="best epoch"))
    axes.set_xlabel("epoch, counted across phases (global_epoch)")
    axes.set_ylabel(_label(f"{metric.name} ({metric.better} is better)"))
    axes.set_title(_label(f"{metric.name} by epoch, all runs"))
    axes.grid(True, alpha=0.3)
    axes.margins(x=0.01)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    columns = min(3, len(handles) + len(extra))
    _legend_below(figure, [*handles, *extra], columns)
    return figure


def _needs_log(run: RunSummary, summary: Summary) -> bool:
    values = sorted(v for c in ("train_loss", "valid_loss") for v in run.series.get(c, []) if v is not None and v > 0)
    if not values:
        return False  # nothing to draw on a log scale
    if any(s.run == run.name for s in summary.spikes):
        return True
    if len(values) < 3:
        return False
    median = values[len(values) // 2]
    return median > 0 and values[-1] / median > LOG_SPAN


def _loss_plot(summary: Summary) -> Figure:
    runs = [r for r in summary.runs if _has_values(r, "train_loss") or _has_values(r, "valid_loss")]
    columns = min(3, len(runs))
    rows = math.ceil(len(runs) / columns)
    figure = Figure(figsize=(5.0 * columns, 3.4 * rows + 0.9), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    styles = {"train_loss": ("tab:blue", "-"), "valid_loss": ("tab:orange", "-")}
    for position, run in enumerate(runs):
        axes = grid[position // columns][position % columns]
        for column, (colour, style) in styles.items():
            xs, ys = _points(run, column)
            if xs:
                axes.plot(xs, ys, color=colour, linestyle=style, linewidth=1.4, label=column)
        for start, _ in run.phase_starts:
            if start > 0:
                axes.axvline(start - 0.5, color="0.5", linestyle=":", linewidth=0.9)
        log = _needs_log(run, summary)
        if log:
            axes.set_yscale("log")
        axes.set_title(_label(run.name) + ("  (log scale)" if log else ""), fontsize=10)
        axes.set_xlabel("epoch (global)", fontsize=9)
        axes.set_ylabel("loss", fontsize=9)
        axes.tick_params(labelsize=8)
        axes.grid(True, alpha=0.3, which="major")
        axes.margins(x=0.01)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for position in range(len(runs), rows * columns):
        grid[position // columns][position % columns].set_visible(False)
    figure.suptitle("Training and validation loss per run", fontsize=12)
    handles = [
        Line2D([], [], color="tab:blue", linewidth=1.4, label="train_loss"),
        Line2D([], [], color="tab:orange", linewidth=1.4, label="valid_loss"),
    ]
    if any(start > 0 for run in runs for start, _ in run.phase_starts):
        handles.append(Line2D([], [], color="0.5", linestyle=":", linewidth=0.9, label="phase start"))
    _legend_below(figure, handles, len(handles))
    return figure


def _bar_plot(summary: Summary) -> Figure:
    metric = summary.metric
    assert metric is not None
    by_name = {r.name: r for r in summary.runs}
    entries = summary.ranking
    height = 0.38
    figure = Figure(figsize=(10, 1.4 + 0.75 * len(entries)), layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(entries)))
    best = [e.best for e in entries]
    final = [e.final if e.final is not None else math.nan for e in entries]
    colours = [_colour(by_name[e.run].index - 1) for e in entries]
    best_bars = axes.barh([p - height / 2 for p in positions], best, height=height, color=colours, edgecolor="black", linewidth=0.5)
    final_bars = axes.barh([p + height / 2 for p in positions], final, height=height, color=colours, alpha=0.45, hatch="//", edgecolor="black", linewidth=0.5)
    for bars, values in ((best_bars, best), (final_bars, final)):
        for bar, value in zip(bars, values):
            if value == value:
                axes.annotate(fmt(value), (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    axes.set_yticks(positions, [_label(f"#{e.rank}{'=' if e.tied else ''}  {e.run}") for e in entries], fontsize=9)
    axes.set_ylim(len(entries) - 0.5, -0.5)  # first rank on top, no empty margin
    low = min([*best, *(f for f in final if f == f), 0.0])
    high = max([*best, *(f for f in final if f == f)])
    span = (high - low) or 1.0
    axes.set_xlim(low, high + 0.16 * span)
    axes.set_xlabel(_label(f"{metric.name} ({metric.better} is better)"))
    axes.set_title(_label(f"Best and final {metric.name} per run (ranked by best)"))
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
