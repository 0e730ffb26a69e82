"""``report.html``: one self-contained page of the runs, for a browser, with no network.

The page holds a sortable, filterable table of the runs, the insights and
recommendations of the markdown overview (worded by the same
``_insights.md.j2`` macros, with HTML filters), interactive learning curves (pick
runs, zoom and pan, phase boundaries labelled with their learning rates,
best-epoch markers), the data-quality warnings and per-run details. It
is written with the markdown reports, in the same output set
(:func:`audiometrics.report.render.stage_reports`).

* :func:`page_model` is the one place that turns the runs into what the page
  shows (an :class:`HtmlPage`, plain values); the templates lay it out.
* :func:`render_html` renders it through a second Jinja environment with
  autoescape (``templates/report.html.j2`` and its ``_report_*.html.j2``
  partials, ``report.css``, ``report.js``; ``--templates`` overrides them by
  file name like the markdown ones).
* :func:`stage_html` writes ``report.html`` into an :class:`~audiometrics.atomic.OutputSet`.

The charts are Vega-Lite (:mod:`audiometrics.report.html_charts`), whose offline
bundle comes with the ``[html]`` extra; without it the page embeds the PNG
plots as data URIs and says how to get the interactive charts. Everything
notebook-derived is escaped by the template (autoescape,
:data:`audiometrics.escaping.HTML` for the warnings' sentences,
:func:`audiometrics.escaping.script_json` for the data in ``<script>``).

The page stays bounded however many runs there are: the curves of at most
:data:`MAX_CURVES` runs and the details of at most :data:`MAX_DETAILS` runs are
embedded (the best ranked first), at most :data:`MAX_WARNINGS` warnings are
listed, and the page says what it left out (the CSV has everything).
"""

from __future__ import annotations

import base64
import functools
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from audiometrics.escaping import HTML, html_text, script_json
from audiometrics.report.formatting import or_unknown
from audiometrics.report.html_charts import bundle_missing_hint, curve_spec, inline_script, vega_bundle
from audiometrics.report.model import DataWarning, Insight, MetricInfo, PhaseSummary, Recommendation, RunSummary, Summary

__all__ = [
    "HTML_NAME",
    "HTML_TEMPLATE",
    "MAX_CURVES",
    "MAX_DETAILS",
    "MAX_WARNINGS",
    "SHOWN_CURVES",
    "HtmlPage",
    "PhaseView",
    "RunView",
    "page_model",
    "render_html",
    "stage_html",
]

HTML_NAME = "report.html"
HTML_TEMPLATE = "report.html.j2"
#: Runs whose learning curves the page embeds (the best ranked first); the others are listed.
MAX_CURVES = 40
#: Runs drawn when the page opens (the reader picks others in the table).
SHOWN_CURVES = 8
#: Runs whose phases the page details (the best ranked first).
MAX_DETAILS = 200
#: Warnings listed on the page (all of them are in EXTRACTION_SUMMARY.md and on stderr).
MAX_WARNINGS = 300
#: The loss columns drawn in the second chart.
LOSS_COLUMNS = ("train_loss", "valid_loss")


@dataclass(frozen=True)
class PhaseView:
    """One phase of a run as the page shows it."""

    number: int | None
    call: str | None
    learning_rate: str
    planned_epochs: int | None
    recorded_epochs: int
    status: str
    start_value: float | None
    end_value: float | None
    change: float | None
    notes: list[DataWarning]


@dataclass(frozen=True)
class RunView:
    """One row of the runs table (and its details)."""

    index: int
    name: str
    notebook: str | None
    model: str
    pretrained: bool | None
    family: str
    phases: int
    epochs: int
    best: float | None
    best_where: str | None  # "phase 2, epoch 3"
    final: float | None
    final_valid_loss: float | None
    total_time_s: float | None
    rank: int | None
    warnings: int
    plottable: bool  # it recorded values to draw
    curve: bool  # its curves are embedded
    shown: bool  # drawn when the page opens
    detail: bool  # its phases are detailed
    phase_views: list[PhaseView] = field(default_factory=list)
    final_values: dict[str, float | None] = field(default_factory=dict)


@dataclass
class HtmlPage:
    """Everything ``report.html`` shows; the templates only lay it out."""

    csv_name: str
    metric: MetricInfo | None
    runs: list[RunView]
    notebooks: int
    rows: int
    warnings: list[DataWarning]
    warnings_left_out: int
    curves: dict[str, Any]  # the data the charts draw (embedded as JSON)
    charts: dict[str, Any] | None  # Vega-Lite specifications; None without the bundle
    bundle: str | None  # the offline Vega bundle (trusted library code)
    images: list[tuple[str, str, str]]  # (title, caption, data: URI) of the PNG fallback
    install_hint: str
    max_curves: int
    max_details: int
    insights: list[Insight] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    grouped: bool = False  # more than one comparison group: insights say which

    @property
    def curves_left_out(self) -> int:
        return sum(1 for run in self.runs if run.plottable and not run.curve)

    @property
    def details_left_out(self) -> int:
        return sum(1 for run in self.runs if not run.detail)


# --------------------------------------------------------------------------- the view model


def _priority(summary: Summary) -> list[RunSummary]:
    """Runs in the order the page spends its budget on: ranked runs best first, then the others in table order."""
    ranked = sorted((run for run in summary.runs if run.rank is not None), key=lambda run: (run.rank, run.index))
    return ranked + [run for run in summary.runs if run.rank is None]


def _has_values(run: RunSummary, columns: list[str]) -> bool:
    return any(v is not None for column in columns for v in run.series.get(column, []))


def _phase_view(phase: PhaseSummary) -> PhaseView:
    return PhaseView(
        phase.number, phase.call, phase.learning_rate, phase.planned_epochs, phase.recorded_epochs, phase.status,
        phase.start_value, phase.end_value, phase.change, list(phase.notes),
    )


def _curve_data(run: RunSummary, columns: list[str]) -> dict[str, Any]:
    """A run's curves, compact (one list of values per column); the page's script expands them."""
    rates = {phase.number: phase.learning_rate for phase in run.phases}
    phases = [[start, f"P{or_unknown(number)} {rates.get(number) or '?'}"] for start, number in run.phase_starts if start > 0]
    best = [run.best.global_epoch, run.best.value] if run.best is not None else None
    return {
        "run": run.name,
        "x": run.series.get("global_epoch", []),
        "series": {column: run.series[column] for column in columns if column in run.series},
        "phases": phases,
        "best": best,
    }


def page_model(
    summary: Summary,
    *,
    csv_name: str,
    images: dict[str, tuple[str, str, bytes]] | None = None,
    interactive: bool = True,
    max_curves: int = MAX_CURVES,
    max_details: int = MAX_DETAILS,
    max_warnings: int = MAX_WARNINGS,
) -> HtmlPage:
    """The page's view of ``summary``: the runs table, the curve data, the warnings, the details.

    ``images`` are the PNG plots (``{file: (title, caption, bytes)}``), embedded
    only when the interactive charts are not (``interactive=False`` or no
    ``[html]`` extra). The limits bound the page at any number of runs.
    """
    metric = summary.metric.name if summary.metric is not None else None
    main = [metric] if metric else []
    losses = [c for c in LOSS_COLUMNS if c != metric]
    order = _priority(summary)
    plottable = [run for run in order if _has_values(run, [*main, *losses])]
    plotted = plottable[:max_curves]
    can_plot = {run.index for run in plottable}
    with_curve = {run.index for run in plotted}
    shown = {run.index for run in plotted[:SHOWN_CURVES]}
    detailed = {run.index for run in order[:max_details]}
    warned = Counter(name for warning in summary.warnings for name in dict.fromkeys(warning.runs))
    runs = [
        RunView(
            index=run.index, name=run.name, notebook=run.notebook, model=run.model, pretrained=run.pretrained,
            family=run.family, phases=len(run.phases), epochs=run.epochs,
            best=run.best.value if run.best else None, best_where=run.best.where if run.best else None,
            final=run.final.value if run.final else None, final_valid_loss=run.final_valid_loss,
            total_time_s=run.total_time_s, rank=run.rank, warnings=warned.get(run.name, 0),
            plottable=run.index in can_plot, curve=run.index in with_curve, shown=run.index in shown, detail=run.index in detailed,
            phase_views=[_phase_view(p) for p in run.phases] if run.index in detailed else [],
            final_values=dict(run.final_values),
        )
        for run in summary.runs
    ]
    bundle = vega_bundle() if interactive and plotted else None
    charts = None
    if bundle is not None:
        charts = {"losses": curve_spec("loss", dashed_by_column=True, best=False)}
        if metric and metric not in LOSS_COLUMNS:
            charts = {"metric": curve_spec(metric, lower_is_better=summary.metric.lower_is_better), **charts}
    curves = {
        "metric": metric if metric not in LOSS_COLUMNS else None,
        "losses": [c for c in LOSS_COLUMNS],
        "runs": [_curve_data(run, [*main, *LOSS_COLUMNS]) for run in plotted],
        "shown": [run.name for run in plotted if run.index in shown],
    }
    fallback = [(title, caption, "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
                for title, caption, png in (images or {}).values()] if bundle is None else []
    notebooks = len({run.notebook for run in summary.runs if run.notebook})
    return HtmlPage(
        csv_name=csv_name, metric=summary.metric, runs=runs, notebooks=notebooks, rows=summary.rows,
        warnings=summary.warnings[:max_warnings], warnings_left_out=max(0, len(summary.warnings) - max_warnings),
        curves=curves, charts=charts, bundle=bundle, images=fallback, install_hint=bundle_missing_hint(),
        max_curves=max_curves, max_details=max_details, insights=summary.insights,
        recommendations=summary.recommendations, grouped=len(summary.groups) > 1,
    )


# --------------------------------------------------------------------------- rendering


def _sentence(warning: DataWarning) -> markupsafe.Markup:
    """A warning's sentence in HTML (every notebook value escaped by :data:`~audiometrics.escaping.HTML`)."""
    return markupsafe.Markup(warning.text(HTML))


def _html_text(value: Any) -> markupsafe.Markup:
    """An untrusted value as HTML text (the ``md`` filter of the insight macros)."""
    return markupsafe.Markup(html_text(value))


def _html_code(value: Any) -> markupsafe.Markup:
    """An untrusted value as a ``<code>`` element (the ``code`` filter of the insight macros)."""
    return markupsafe.Markup(HTML.code(value))


def _html_inline(value: Any) -> markupsafe.Markup:
    """A macro's sentence (escaped as it was written), its line breaks made spaces."""
    return markupsafe.Markup(" ".join(str(markupsafe.escape(value)).split()))


def _json(value: Any) -> markupsafe.Markup:
    return markupsafe.Markup(script_json(value))


def _sort_key(value: Any) -> str:
    """A ``data-sort`` value: numbers as they are, booleans as 1/0, missing as empty (sorted last)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else ""
    return str(value)


@functools.lru_cache(maxsize=8)
def _cached_environment(templates_dir: str | None) -> jinja2.Environment:
    from audiometrics.report.render import report_environment  # noqa: PLC0415 - (render imports this module)

    env = report_environment(templates_dir, html=True)
    env.filters.update(
        sentence=_sentence, json=_json, sortkey=_sort_key,
        # what the insight macros (_insights.md.j2) write through: HTML here, markdown in the reports
        md=_html_text, cell=_html_text, code=_html_code, inline=_html_inline,
    )

    def asset(name: str) -> markupsafe.Markup:
        """A stylesheet or script from the templates folder, inlined (it must not close its element)."""
        text = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        return markupsafe.Markup(inline_script(text))

    env.globals["asset"] = asset
    return env


def render_html(page: HtmlPage, templates_dir: str | os.PathLike[str] | None = None) -> str:
    """The page's HTML text.

    Raises :class:`FileNotFoundError` when a template is missing.
    """
    env = _cached_environment(None if templates_dir is None else os.path.abspath(templates_dir))
    try:
        return env.get_template(HTML_TEMPLATE).render(page=page)
    except jinja2.TemplateNotFound as error:
        raise FileNotFoundError(f"template {error.name!r} not found") from None


def stage_html(
    outputs: Any,
    summary: Summary,
    out_dir: str | os.PathLike[str],
    *,
    images: dict[str, tuple[str, str, bytes]] | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
    csv_name: str,
) -> Path:
    """Write ``report.html`` of ``summary`` into the :class:`~audiometrics.atomic.OutputSet` ``outputs``; returns its final path."""
    page = page_model(summary, csv_name=csv_name, images=images)
    path = Path(out_dir) / HTML_NAME
    outputs.path(path).write_bytes(render_html(page, templates_dir).encode("utf-8", "replace"))
    return path
