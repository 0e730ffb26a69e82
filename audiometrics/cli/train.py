"""``audiometrics train``: run the companion training notebook once per architecture, then extract.

The running is :mod:`audiometrics.train`; this module checks the options,
prints what happens and extracts the executed notebooks into ``OUT`` as
``audiometrics extract`` does. papermill, fastai, timm and torch are never
imported here: ``audiometrics train --help`` works without them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from audiometrics import train
from audiometrics.train import DEFAULT_SEED, TRAINING_MODULES, RunOutcome, notebook_parameters, output_name, parse_epochs, ran_training

__all__ = ["train_command"]


def _positive(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter("must be at least 1")
    return value


def _epochs_option(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return parse_epochs(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _notebook_to_run(smoke: bool, data_dir: str | None, kernel_name: str | None) -> Path:
    """The companion notebook, once the options and the installed modules allow a run (else a usage error)."""
    if smoke and data_dir is not None:
        raise click.UsageError("--smoke trains on generated data; drop --data (or use --epochs 1 for a quick run on real data)")
    if not smoke and data_dir is None:
        raise click.UsageError("give --data DIR (train_curated.csv and train_curated/*.wav) or --smoke")
    missing = train.missing_training_modules(("papermill",) if kernel_name else TRAINING_MODULES)
    if missing:
        from audiometrics.hints import install_hint

        raise click.ClickException(f"audiometrics train needs {', '.join(missing)}: {install_hint('train')}")
    try:
        return train.notebook_path()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None


def _run_one(label: str, arch: str, source: Path, target: Path, params: dict, out: Path, kernel_name: str | None, quiet: bool, progress: bool) -> RunOutcome:
    """Run one architecture, saying when it starts and how it ended."""
    if not quiet:
        click.echo(f"{label}: running {source.name} → {target}", err=True)
    try:
        outcome = train.train_one(arch, params["PRETRAINED"], source, target, params, kernel_name=kernel_name, progress=progress, cwd=out)
    except KeyboardInterrupt:
        click.echo(f"{label}: interrupted; the partial notebook is in {target}", err=True)
        raise
    if outcome.ok:
        if not quiet:
            click.echo(f"{label}: done in {outcome.seconds:.0f} s", err=True)
    else:
        click.echo(f"error: {label} failed after {outcome.seconds:.0f} s: {outcome.error}", err=True)
    return outcome


def _extract(paths: list[Path], out_dir: Path, quiet: bool) -> bool:
    """Extraction and report of the executed notebooks; False when a notebook could not be read."""
    from audiometrics.cli.run_lines import run_lines
    from audiometrics.pipeline import extract_paths_to_outputs

    outcome, written, report_warnings = extract_paths_to_outputs([os.fspath(p) for p in paths], os.fspath(out_dir))
    for diagnostic in outcome.diagnostics:
        click.echo(f"warning: {diagnostic}", err=True)
    for warning in report_warnings:
        click.echo(f"warning: {warning}", err=True)
    for failure in outcome.failures:
        click.echo(f"error: {failure}", err=True)
    if not quiet:
        for line in run_lines(outcome.runs, None):
            click.echo(line)
        epochs = sum(p.recorded_epochs for r in outcome.runs for p in r.phases)
        click.echo(
            f"{epochs} epoch rows from {len(outcome.runs)} runs in {len(paths)} notebooks; wrote "
            + ", ".join(str(p) for p in written[:3])
            + (f" and {len(written) - 3} more" if len(written) > 3 else "")
        )
    return not outcome.failures


def _extract_finished(outcomes: list[RunOutcome], out: Path, quiet: bool) -> bool:
    """Extract the runs that got to training; False when an extraction failed."""
    to_extract = [o.path for o in outcomes if o.path.is_file() and (o.ok or ran_training(o.path))]
    if not to_extract:
        click.echo("nothing to extract: no run got to training", err=True)
        return True
    return _extract(to_extract, out, quiet)


@click.command(name="train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("archs", metavar="ARCH...", nargs=-1, required=True)
@click.option("--pretrained", is_flag=True, help="Start from timm's ImageNet weights (must be cached or downloadable).")
@click.option("--smoke", is_flag=True, help="Synthetic data, one epoch per phase, 64-pixel inputs: a quick end-to-end check (CPU: about a minute per model).")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False), help="Dataset folder in Kaggle's layout: train_curated.csv and train_curated/*.wav.")
@click.option("--out", "out_dir", default="runs", show_default=True, type=click.Path(file_okay=False), help="Folder for OUT/notebooks/<arch>.ipynb, the CSV and the reports.")
@click.option("--epochs", callback=_epochs_option, metavar="N|N1,...,N6", help="Epochs per phase: one number for all six, or six comma-separated (default 5,10,20,20,50,10; 1 with --smoke).")
@click.option("--batch-size", type=int, callback=_positive, help="Batch size (default 64; 32 with --smoke).")
@click.option("--img-size", type=int, callback=_positive, help="Side of the square model input (default 128; 64 with --smoke).")
@click.option("--seed", type=int, default=None, help=f"Random seed (default {DEFAULT_SEED}).")
@click.option("--limit", type=int, callback=_positive, help="Use only the first N clips of train_curated.csv.")
@click.option("--kernel", "kernel_name", default=None, help="Jupyter kernel to run the notebook with (default: the notebook's python3, i.e. this environment).")
@click.option("--no-extract", is_flag=True, help="Only run the notebooks; no CSV or reports.")
@click.option("--no-progress", is_flag=True, help="No per-cell progress bar (one line per notebook only).")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors and warnings.")
def train_command(
    archs: tuple[str, ...],
    pretrained: bool,
    smoke: bool,
    data_dir: str | None,
    out_dir: str,
    epochs: list[int] | None,
    batch_size: int | None,
    img_size: int | None,
    seed: int | None,
    limit: int | None,
    kernel_name: str | None,
    no_extract: bool,
    no_progress: bool,
    quiet: bool,
) -> None:
    """Train ARCH... (timm model names) with the companion FAT2019 notebook, then extract.

    Runs the notebook once per architecture with papermill, writes the executed
    notebooks to OUT/notebooks/<arch>[-pretrained].ipynb, then extracts their
    epoch tables into OUT (CSV, summaries, plots) as `audiometrics extract` does.
    A run that fails (e.g. pretrained weights that are not cached) is reported
    and the others go on.

    Exit status: 0 when every run finished, 1 when any failed, 2 for usage errors.

    \b
    Examples:
      audiometrics train resnet18 deit_tiny_patch16_224 --smoke --out smoke
      audiometrics train resnet18 convit_tiny --data ../input/freesound-audio-tagging-2019 --out runs
    """
    source = _notebook_to_run(smoke, data_dir, kernel_name)
    unique = list(dict.fromkeys(archs))
    if len(unique) < len(archs):
        click.echo("warning: repeated architectures are trained once", err=True)
    warning = train.kernel_warning(kernel_name)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    out = Path(out_dir)
    nb_dir = out / "notebooks"
    nb_dir.mkdir(parents=True, exist_ok=True)
    sizes = {"epochs": epochs, "batch_size": batch_size, "img_size": img_size, "seed": seed, "limit": limit}
    outcomes: list[RunOutcome] = []
    for number, arch in enumerate(unique, 1):
        params = notebook_parameters(arch, pretrained=pretrained, smoke=smoke, data_dir=data_dir, **sizes)
        label = f"[{number}/{len(unique)}] {arch}{' (pretrained)' if pretrained else ''}"
        target = nb_dir / output_name(arch, pretrained)
        outcomes.append(_run_one(label, arch, source, target, params, out, kernel_name, quiet, not (quiet or no_progress)))
    failed = [o for o in outcomes if not o.ok]
    if not quiet:
        click.echo(
            f"{len(outcomes) - len(failed)} of {len(outcomes)} runs finished" + (f"; failed: {', '.join(o.arch for o in failed)}" if failed else ""),
            err=True,
        )
    extracted_ok = True if no_extract else _extract_finished(outcomes, out, quiet)
    if failed or not extracted_ok:
        sys.exit(1)
