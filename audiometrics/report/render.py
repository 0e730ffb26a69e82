"""Markdown reports from a :class:`~audiometrics.report.model.Summary`.

* :func:`render_reports` lays a summary out with the Jinja templates and returns
  ``{file name: markdown}`` for ``training_metrics_summary.md`` (per run, per
  phase) and ``EXTRACTION_SUMMARY.md`` (the findings overview).
* :func:`write_reports` summarizes an epoch frame, writes both documents and
  the ``plots/`` folder as one set (:class:`~audiometrics.atomic.OutputSet`;
  :func:`stage_reports` adds them to a caller's set), and returns a
  :class:`ReportResult` with the paths written and the data-quality warnings
  (one line each) for the caller to print.

The ``audiometrics report CSV`` command is :mod:`audiometrics.cli.report`.

Templates are found, by file name, first in ``templates_dir`` (``--templates``),
then, when running from a checkout, in its top-level ``templates/`` folder, then
in the installed package ``audiometrics.templates``. They are rendered with ``StrictUndefined``;
every number comes from the summary, formatted by the filters below:

``num`` (6 decimals, ``n/a`` when missing), ``signed`` (``+0.631``), ``pct``
(``6.8%``), ``ratio`` (``2.78×``), ``dur`` (``13 min 1 s``), ``yesno``,
``unknown`` (``?`` for a phase or epoch number not known), ``words`` (``a, b and
c``), and for text:

``md``
    any notebook-derived text (names, metric columns, call text, statuses,
    paths): markdown specials, HTML and block syntax escaped, line breaks
    collapsed, control characters removed (:func:`audiometrics.escaping.md_text`).
    Safe in headings, paragraphs, list items and table cells.
``cell``
    the same as ``md`` (kept for templates written before it).
``code``
    a code span with a fence longer than any backtick run inside;
    ``code(cell=True)`` also escapes ``|`` for a table cell.
``inline``
    only for text that is already markdown (a macro's sentence, or
    :attr:`~audiometrics.report.model.DataWarning.markdown`, built with every
    value escaped): line breaks collapsed, control characters removed.

The insights and recommendations are facts (:mod:`audiometrics.report.facts`);
``_insights.md.j2`` words them, one macro per kind. Another output format is
another environment with its own templates and ``md``/``code`` filters.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from audiometrics.epochs.runs_table import RUNS_CSV_NAME
from audiometrics.epochs.schema import DEFAULT_CSV_NAME
from audiometrics.escaping import md_code, md_text, terminal_text
from audiometrics.report.html import HTML_NAME, stage_html
from audiometrics.report.formatting import FILTERS
from audiometrics.report.model import DataWarning, Summary
from audiometrics.report.summarize import summarize

__all__ = [
    "SUMMARY_NAME",
    "OVERVIEW_NAME",
    "TEMPLATE_NAMES",
    "ReportResult",
    "render_reports",
    "write_reports",
    "stage_reports",
]

SUMMARY_NAME = "training_metrics_summary.md"
OVERVIEW_NAME = "EXTRACTION_SUMMARY.md"
#: Output file name → template file name.
TEMPLATE_NAMES: dict[str, str] = {
    SUMMARY_NAME: "training_metrics_summary.md.j2",
    OVERVIEW_NAME: "EXTRACTION_SUMMARY.md.j2",
}
PLOTS_DIR = "plots"
#: The overview ranks the runs of at most this many groups, at most this many runs each (the runs table has them all).
MAX_RANKED_GROUPS = 8
MAX_RANKED = 15
#: The file names :func:`audiometrics.report.plots.write_plots` can write (files of an earlier run without a manifest).
PLOT_FILES = ("metric_by_epoch.png", "losses_by_epoch.png", "best_final_metric.png")


# --------------------------------------------------------------------------- templates


def _checkout_templates() -> Path:
    return Path(__file__).resolve().parents[2] / "templates"


def _package_template(name: str) -> str | None:
    try:
        resource = importlib.resources.files("audiometrics.templates").joinpath(name)
    except (ModuleNotFoundError, ImportError, TypeError):
        return None
    try:
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    return None


def _from_file(path: Path, shadow: Path | None = None) -> tuple[str, str, Any]:
    """A template file's text, its name, and a check for Jinja's cache: unchanged, and no ``shadow`` file appeared."""
    stamp = path.stat().st_mtime_ns

    def uptodate() -> bool:
        try:
            return path.stat().st_mtime_ns == stamp and not (shadow is not None and shadow.is_file())
        except OSError:
            return False

    return path.read_text(encoding="utf-8"), str(path), uptodate


def _loader(templates_dir: str | os.PathLike[str] | None) -> jinja2.BaseLoader:
    override = Path(templates_dir) if templates_dir is not None else None

    def load(name: str) -> tuple[str, str | None, Any] | None:
        if ".." in Path(name).parts:
            return None
        candidate = override / name if override is not None else None
        if candidate is not None and candidate.is_file():
            return _from_file(candidate)
        checkout = _checkout_templates() / name
        # in a checkout, its own templates/ (an editable install elsewhere may map the package to another one)
        if (_checkout_templates().parent / "pyproject.toml").is_file() and checkout.is_file():
            return _from_file(checkout, candidate)
        text = _package_template(name)
        if text is not None:
            return text, None, lambda: candidate is None or not candidate.is_file()
        if checkout.is_file():
            return _from_file(checkout, candidate)
        return None

    return jinja2.FunctionLoader(load)


def _inline(value: Any) -> str:
    """Markdown built by the summary (values already escaped) on one line."""
    return terminal_text(value, newlines=False)


def _environment(templates_dir: str | os.PathLike[str] | None) -> jinja2.Environment:
    return _cached_environment(None if templates_dir is None else os.path.abspath(templates_dir))


def report_environment(templates_dir: str | None, *, html: bool) -> jinja2.Environment:
    """A Jinja environment over the report templates (``templates_dir`` first, then the packaged ones)
    with the shared :data:`~audiometrics.report.formatting.FILTERS`; ``html``: autoescaped (report.html),
    else plain text (the markdown reports, which escape through their ``md``/``code`` filters)."""
    env = jinja2.Environment(
        loader=_loader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=not html,
    )
    env.filters.update(FILTERS)
    return env


@functools.lru_cache(maxsize=8)
def _cached_environment(templates_dir: str | None) -> jinja2.Environment:
    """One environment per templates folder, so that compiled templates are reused (Jinja checks file times)."""
    env = report_environment(templates_dir, html=False)
    env.globals.update(runs_name=RUNS_CSV_NAME, max_groups=MAX_RANKED_GROUPS, max_ranked=MAX_RANKED)
    env.filters.update(md=md_text, code=md_code, cell=md_text, inline=_inline)
    return env


def _tidy(text: str) -> str:
    """Strip trailing spaces, collapse runs of blank lines, end with one newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- render / write


@dataclass
class PlotRef:
    """A plot as the markdown references it."""

    path: str  # relative to the markdown, posix separators
    title: str
    caption: str


@dataclass
class ReportResult:
    """What :func:`write_reports` did: paths written (markdown, then plots) and warning lines."""

    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: Summary | None = None


def render_reports(
    summary: Summary,
    templates_dir: str | os.PathLike[str] | None = None,
    *,
    csv_name: str = DEFAULT_CSV_NAME,
    plots: list[PlotRef] | None = None,
) -> dict[str, str]:
    """Render both documents: ``{"training_metrics_summary.md": ..., "EXTRACTION_SUMMARY.md": ...}``.

    ``plots`` are the images the overview embeds (:func:`audiometrics.report.plots.plot_specs`
    gives them for a summary); none when omitted.
    """
    env = _environment(templates_dir)
    context = {
        "summary": summary,
        "csv_name": csv_name,
        "plots": list(plots or []),
        "summary_name": SUMMARY_NAME,
        "overview_name": OVERVIEW_NAME,
    }
    out: dict[str, str] = {}
    for output, template in TEMPLATE_NAMES.items():
        try:
            out[output] = _tidy(env.get_template(template).render(**context))
        except jinja2.TemplateNotFound as error:
            raise FileNotFoundError(f"template {error.name!r} not found") from None
    return out


def _report_output(name: str) -> bool:
    """Whether ``name`` (relative to the output folder) is one of the files a report writes."""
    return name in TEMPLATE_NAMES or name == HTML_NAME or name.startswith(f"{PLOTS_DIR}/")


def write_reports(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    phases: pd.DataFrame | None = None,
    metric: str | None = None,
    lower_is_better: bool | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
    csv_name: str = DEFAULT_CSV_NAME,
    plots: bool = True,
    on_wait: Any = None,
    html: bool | None = None,
    run_rows: list[Any] | None = None,
) -> ReportResult:
    """Summarize ``frame`` and write both markdown documents (and ``plots/``) into ``out_dir``.

    The documents and plots are written as one set
    (:class:`~audiometrics.atomic.OutputSet`): they replace the previous report's
    (old plots included) all at once, and other files in ``out_dir`` are left
    alone (``html``: see :func:`stage_reports`). Returns a :class:`ReportResult`: ``.paths`` (the two documents, then
    the PNGs, then ``report.html``) and ``.warnings`` (the data-quality warnings, one line each, for
    stderr). The plots are drawn first: one that fails is not referenced by
    the documents, and one warning names it. Raises
    :class:`~audiometrics.options.MetricError` for an unknown ``metric`` and :class:`~audiometrics.atomic.OutputError` when a file cannot
    be written (nothing is then changed).
    """
    from audiometrics.atomic import OutputSet

    legacy = [*TEMPLATE_NAMES, *(f"{PLOTS_DIR}/{name}" for name in PLOT_FILES)]
    with OutputSet(out_dir, replaces=_report_output, legacy=legacy, on_wait=on_wait) as outputs:
        result = stage_reports(
            outputs,
            frame,
            out_dir,
            phases=phases,
            metric=metric,
            lower_is_better=lower_is_better,
            templates_dir=templates_dir,
            csv_name=csv_name,
            plots=plots,
            html=html,
            run_rows=run_rows,
        )
        outputs.commit()
    return result


def stage_reports(
    outputs: Any,
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    phases: pd.DataFrame | None = None,
    metric: str | None = None,
    lower_is_better: bool | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
    csv_name: str = DEFAULT_CSV_NAME,
    plots: bool = True,
    html: bool | None = None,
    run_rows: list[Any] | None = None,
    on_stage: Any = None,
) -> ReportResult:
    """Render the reports of ``frame`` into the :class:`~audiometrics.atomic.OutputSet` ``outputs``.

    Like :func:`write_reports` (the paths are those in ``out_dir`` after the
    set's commit), but the caller commits, with its other outputs. ``html``:
    write ``report.html`` (:mod:`audiometrics.report.html`); ``None``, when
    ``plots`` are drawn. ``run_rows``
    (:func:`audiometrics.epochs.runs_table.runs_table`) adds what the notebooks
    state (parameters, smoke runs) to the comparisons. ``on_stage`` (a text →
    None callable) hears what is being done (``writing reports: drawing plots``),
    for a progress display.
    """
    from audiometrics.report import plots as plotting
    say = on_stage if on_stage is not None else (lambda text: None)
    say(f"writing reports: summarizing {frame['run'].nunique() if 'run' in frame.columns else 0} runs")
    summary = summarize(frame, phases, metric=metric, lower_is_better=lower_is_better, run_rows=run_rows)
    target = Path(out_dir)
    if plots:
        say("writing reports: drawing plots")
    drawn = plotting.draw_plots(summary) if plots else plotting.Drawn()
    refs = [PlotRef(f"{PLOTS_DIR}/{s.file}", s.title, s.caption) for s in plotting.plot_specs(summary) if s.file in drawn.images]
    if drawn.warning() is not None:
        summary.warnings.append(DataWarning("plots", drawn.warning()))
    say("writing reports: rendering the documents")
    documents = render_reports(summary, templates_dir, csv_name=csv_name, plots=refs)
    result = ReportResult(summary=summary, warnings=[terminal_text(w.message, newlines=False) for w in summary.warnings])
    for name, text in documents.items():
        path = target / name
        outputs.path(path).write_bytes(text.encode("utf-8", "replace"))  # a lone surrogate must not lose the set
        result.paths.append(path)
    if refs:
        scratch = outputs.scratch(PLOTS_DIR)
        for relative in plotting.write_plots(summary, scratch, drawn):
            outputs.adopt(target / relative, scratch.parent / relative)
            result.paths.append(target / relative)
    if plots if html is None else html:
        images = {s.file: (s.title, s.caption, drawn.images[s.file]) for s in plotting.plot_specs(summary) if s.file in drawn.images}
        result.paths.append(stage_html(outputs, summary, target, images=images, templates_dir=templates_dir, csv_name=csv_name))
    return result
