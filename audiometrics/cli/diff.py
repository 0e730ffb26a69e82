"""``audiometrics diff A B``: two extractions compared run by run (:func:`audiometrics.diff`).

Text output: one block per changed run (best and final of each metric that
changed, with the delta), the runs only in A or only in B, then the counts;
``--json`` prints the document of docs/json.md instead. ``--fail-on-regression
METRIC`` exits with status 1 when a matched run's METRIC got worse (by its
direction), as ``dvc metrics diff`` is used in CI.
"""

from __future__ import annotations

import sys

import click

from audiometrics.cli.emit import Emitter, log_format_option

__all__ = ["diff_command"]


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _delta(value: float | None) -> str:
    return "" if value is None or value == 0 else f" ({value:+.6g})"


def _model(summary) -> str:
    pretrained = "" if summary.pretrained is None else (", pretrained" if summary.pretrained else ", from scratch")
    return f"{summary.model or '?'}{pretrained}, {summary.epochs} epochs"


def text_lines(result, *, show_unchanged: bool = False) -> list[str]:
    """The human-readable comparison (see the module docstring)."""
    lines: list[str] = []
    for run in result.runs:
        name = f"{run.key[0]} run {run.key[1]}"
        if run.status == "only_a":
            lines.append(f"- {name}: only in A ({_model(run.a)})")
        elif run.status == "only_b":
            lines.append(f"+ {name}: only in B ({_model(run.b)})")
        elif run.status == "changed" or show_unchanged:
            mark = "~" if run.status == "changed" else "="
            a_model, b_model = _model(run.a), _model(run.b)
            lines.append(f"{mark} {name}: {a_model}" + ("" if a_model == b_model else f" -> {b_model}"))
            if run.status == "changed" and a_model == b_model and not any(d.changed for d in run.metrics.values()):
                lines.append("    values or learning rates changed between epochs; best and final are the same")
            for metric, diff in sorted(run.metrics.items()):
                if not diff.changed and not show_unchanged:
                    continue
                a, b = diff.a, diff.b
                lines.append(
                    f"    {metric}: best {_value(a and a.best)} -> {_value(b and b.best)}{_delta(diff.best_delta)}, "
                    f"final {_value(a and a.final)} -> {_value(b and b.final)}{_delta(diff.final_delta)}"
                )
    counts = {status: len(result.by_status(status)) for status in ("changed", "unchanged", "only_a", "only_b")}
    lines.append(f"{counts['changed']} changed, {counts['unchanged']} unchanged, {counts['only_a']} only in A, "
                 f"{counts['only_b']} only in B")
    return lines


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON (schema in docs/json.md).")
@click.option("--all", "show_unchanged", is_flag=True, help="Show unchanged runs and metrics too.")
@click.option("--fail-on-regression", "regression_metric", metavar="METRIC", default=None,
              help="Exit with status 1 when METRIC got worse in B for any run found in both.")
@click.option("--on", "which", type=click.Choice(["best", "final"]), default="best", show_default=True,
              help="Which value of METRIC --fail-on-regression compares.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes reading notebooks.")
@log_format_option
def diff_command(a: str, b: str, as_json: bool, show_unchanged: bool, regression_metric: str | None, which: str,
                 jobs: int, log_format: str) -> None:
    """Compare A with B, run by run: each a folder of notebooks, a notebook, an epoch CSV or a runs table.

    \b
    audiometrics diff before/ after/
    audiometrics diff old.csv new.csv --fail-on-regression lwlrap

    Runs are matched by notebook path and run number. Exit status: 0, or 1 with
    --fail-on-regression when the metric got worse (or when a side cannot be
    read), 2 for usage errors (an unknown metric, a CSV that is not an epoch table).
    """
    from audiometrics.compare import diff
    from audiometrics.errors import MetricsFileError
    from audiometrics.options import MetricError, metric_direction, resolve_metric

    emit = Emitter(log_format)
    try:
        result = diff(a, b, jobs=jobs)
    except (MetricsFileError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from None
    regression = None
    if regression_metric is not None:
        try:
            metric = resolve_metric(regression_metric, result.metrics)
        except MetricError as error:
            raise click.UsageError(str(error)) from None
        if metric_direction(metric) is None:
            emit.message("warning", f"the direction of {metric} is unknown; higher is taken as better")
        regression = (metric, which)
    for warning in result.warnings:
        emit.message("warning", warning)
    if as_json:
        from audiometrics.json_output import dumps

        click.echo(dumps(result.to_dict(regression=regression)))
    else:
        for line in text_lines(result, show_unchanged=show_unchanged):
            click.echo(line)
    if regression is not None:
        worse = result.regressions(*regression)
        for run in worse:
            m = run.metrics[regression[0]]
            before, after = getattr(m.a, which), getattr(m.b, which)
            emit.message("error", f"{run.key[0]} run {run.key[1]}: {regression[0]} ({which}) regressed {before:.6g} -> {after:.6g}",
                         file=run.key[0], run=run.key[1])
        if worse:
            sys.exit(1)
