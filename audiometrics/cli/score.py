"""``audiometrics score``: LWLRAP of a Kaggle-format submission (:mod:`audiometrics.metrics.score`)."""

from __future__ import annotations

import json
import math

import click

from audiometrics.metrics.score import ScoreResult, score_files

__all__ = ["score_command", "format_table"]


def format_table(result: ScoreResult) -> list[str]:
    """The per-class table as aligned lines: class left, numbers right."""
    rows = [["class", "lwlrap", "weight", "positives"]]
    for _, r in result.per_class.iterrows():
        lw = "-" if math.isnan(r["lwlrap"]) else f"{r['lwlrap']:.6f}"
        rows.append([str(r["class"]), lw, f"{r['weight']:.6f}", str(int(r["positives"]))])
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    ]


@click.command("score")
@click.argument("submission", type=click.Path(exists=True, dir_okay=False))
@click.argument("truth", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
def score_command(submission: str, truth: str, as_json: bool) -> None:
    """Score SUBMISSION (fname + one column per class) against TRUTH with LWLRAP.

    TRUTH is either `fname,labels` with comma-separated label names (like
    train_curated.csv) or `fname` plus one 0/1 column per class.  Prints the
    overall LWLRAP and the per-class table, worst class first.
    """
    try:
        result = score_files(submission, truth)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        return
    click.echo(
        f"lwlrap: {result.score:.6f}  ({result.n_samples} samples, {result.n_classes} classes, "
        f"{result.n_positives} positive labels, truth format: {result.truth_format})"
    )
    click.echo("")
    for line in format_table(result):
        click.echo(line)
