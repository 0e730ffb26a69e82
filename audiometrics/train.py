"""``audiometrics train``: run the companion training notebook once per architecture, then extract.

The notebook (``audiometrics/notebooks/fat2019_training.ipynb``, the top-level
``notebooks/`` folder of a checkout) trains a timm model on FAT2019-style
log-mel spectrograms with fastai. This module executes it with papermill, one
run per architecture, writes the executed notebooks to
``OUT/notebooks/<arch>[-pretrained].ipynb`` and runs the extraction and the
report on them.

papermill, fastai, timm and torch are imported lazily, inside the command only:
``import audiometrics.train`` and ``audiometrics train --help`` work without
them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import click

__all__ = [
    "NOTEBOOK_NAME",
    "PHASES",
    "DEFAULT_EPOCHS",
    "SMOKE_EPOCHS",
    "TRAIN_EXTRA_HINT",
    "RunOutcome",
    "parse_epochs",
    "notebook_parameters",
    "output_name",
    "notebook_path",
    "missing_training_modules",
    "run_notebook",
    "describe_failure",
    "ran_training",
    "train_command",
]

NOTEBOOK_NAME = "fat2019_training.ipynb"

#: The study's schedule: (learning rate as written in the notebook, default epochs) per phase.
PHASES: tuple[tuple[str, int], ...] = (
    ("1e-1", 5),
    ("1e-2", 10),
    ("3e-3", 20),
    ("1e-3", 20),
    ("slice(1e-3, 3e-3)", 50),
    ("slice(1e-4, 1e-3)", 10),
)
DEFAULT_EPOCHS: tuple[int, ...] = tuple(epochs for _, epochs in PHASES)
SMOKE_EPOCHS: tuple[int, ...] = (1,) * len(PHASES)

DEFAULT_BATCH_SIZE, SMOKE_BATCH_SIZE = 64, 32
DEFAULT_IMG_SIZE, SMOKE_IMG_SIZE = 128, 64
DEFAULT_SEED = 42

#: Modules the runs need: papermill here, the others in the kernel that runs the notebook.
TRAINING_MODULES = ("papermill", "ipykernel", "torch", "fastai", "timm")
TRAIN_EXTRA_HINT = "pip install 'audiometrics[train]'"  # for an installed package; hints.install_hint says it from a checkout too


# --------------------------------------------------------------------------- pure functions


def parse_epochs(text: str) -> list[int]:
    """``"1"`` → one epoch in each of the six phases; ``"5,10,20,20,50,10"`` → one value per phase.

    Raises :class:`ValueError` for anything else (a count other than 1 or 6, a
    negative or non-integer value).
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"epochs must be integers, got {text!r}") from None
    if any(v < 0 for v in values):
        raise ValueError(f"epochs cannot be negative, got {text!r}")
    if len(values) == 1:
        return values * len(PHASES)
    if len(values) != len(PHASES):
        raise ValueError(
            f"give one epoch count for every phase or {len(PHASES)} comma-separated counts "
            f"(one per phase), got {len(values)}: {text!r}"
        )
    return values


def notebook_parameters(
    arch: str,
    *,
    pretrained: bool = False,
    smoke: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    epochs: Sequence[int] | None = None,
    batch_size: int | None = None,
    img_size: int | None = None,
    seed: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The papermill parameters of one run (the notebook's ``parameters`` cell names).

    Unset options take the smoke defaults with ``smoke`` (one epoch per phase,
    64-pixel inputs, batches of 32) and the study's otherwise. ``DATA_DIR`` is
    made absolute (the notebook runs in another folder) and only given when
    set; ``LIMIT`` likewise. Values are plain lists/ints/bools/strs so that
    papermill writes them as Python literals.
    """
    if not arch or not str(arch).strip():
        raise ValueError("empty architecture name")
    if epochs is None:
        epochs = SMOKE_EPOCHS if smoke else DEFAULT_EPOCHS
    epochs = [int(e) for e in epochs]
    if len(epochs) != len(PHASES):
        raise ValueError(f"EPOCHS needs {len(PHASES)} values (one per phase), got {len(epochs)}")
    params: dict[str, Any] = {
        "ARCH": str(arch),
        "PRETRAINED": bool(pretrained),
        "SMOKE": bool(smoke),
        "EPOCHS": epochs,
        "BATCH_SIZE": int(batch_size if batch_size is not None else (SMOKE_BATCH_SIZE if smoke else DEFAULT_BATCH_SIZE)),
        "IMG_SIZE": int(img_size if img_size is not None else (SMOKE_IMG_SIZE if smoke else DEFAULT_IMG_SIZE)),
        "SEED": int(seed if seed is not None else DEFAULT_SEED),
    }
    if data_dir is not None:
        params["DATA_DIR"] = os.path.abspath(os.fspath(data_dir))
    if limit is not None:
        params["LIMIT"] = int(limit)
    return params


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def output_name(arch: str, pretrained: bool = False) -> str:
    """File name of a run's executed notebook: ``resnet18.ipynb``, ``convit_tiny-pretrained.ipynb``.

    Characters that do not belong in a file name (``hf-hub:timm/x`` → ``hf-hub_timm_x``) become ``_``.
    """
    stem = _UNSAFE.sub("_", str(arch)).strip("._") or "model"
    return f"{stem}{'-pretrained' if pretrained else ''}.ipynb"


def notebook_path() -> Path:
    """The companion notebook: package data ``audiometrics.notebooks``, else the checkout's ``notebooks/``."""
    try:
        from importlib.resources import files

        candidate = files("audiometrics.notebooks") / NOTEBOOK_NAME
        if candidate.is_file():
            path = Path(str(candidate))
            if path.is_file():
                return path
    except (ImportError, ModuleNotFoundError, TypeError, OSError):
        pass
    fallback = Path(__file__).resolve().parent.parent / "notebooks" / NOTEBOOK_NAME
    if fallback.is_file():
        return fallback
    raise FileNotFoundError(
        f"the training notebook {NOTEBOOK_NAME} is not installed with audiometrics "
        f"(looked in audiometrics.notebooks and {fallback.parent})"
    )


def missing_training_modules(modules: Sequence[str] = TRAINING_MODULES) -> list[str]:
    """Those of ``modules`` that cannot be imported by this interpreter (nothing is imported)."""
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def describe_failure(error: BaseException) -> str:
    """One line for a failed run: ``RuntimeError: Pretrained weights for ... (cell 3)``."""
    ename = getattr(error, "ename", None)
    evalue = getattr(error, "evalue", None)
    if ename:  # papermill.exceptions.PapermillExecutionError
        count = getattr(error, "exec_count", None)
        where = f" (cell [{count}])" if count is not None else ""
        text = f"{ename}: {evalue}" if evalue else str(ename)
        return text.strip().splitlines()[0] + where if text.strip() else str(ename)
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def ran_training(path: str | os.PathLike[str]) -> bool:
    """Whether an executed notebook ran at least one training call (so there is something to extract)."""
    try:
        with open(path, encoding="utf-8") as fh:
            cells = json.load(fh).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return False
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if ".fit" in source and cell.get("execution_count") is not None:
            return True
    return False


@dataclass(frozen=True)
class RunOutcome:
    """What one architecture's run produced."""

    arch: str
    pretrained: bool
    path: Path
    seconds: float
    error: str | None = None  # None: the notebook ran to the end

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- running


@contextmanager
def _quiet_papermill_logs() -> Iterator[None]:
    """papermill logs every cell's start at INFO; keep its tqdm bar, drop the log lines."""
    import logging

    logger = logging.getLogger("papermill")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_notebook(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    parameters: dict[str, Any],
    *,
    kernel_name: str | None = None,
    progress: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> None:
    """Execute ``source`` with ``parameters`` into ``target`` with papermill.

    The executed notebook is written even when a cell fails; papermill then
    raises (``PapermillExecutionError`` carries the error's name and value).
    """
    import papermill  # lazy: the training extra

    extra: dict[str, Any] = {}
    if kernel_name is None:  # the notebook's own python3 kernel, i.e. ipykernel: keep its start-up chatter out
        extra["extra_arguments"] = ["--IPKernelApp.log_level=ERROR"]
    with _quiet_papermill_logs():
        papermill.execute_notebook(
            os.fspath(source),
            os.fspath(target),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=progress,
            log_output=False,
            cwd=os.fspath(cwd) if cwd is not None else None,
            **extra,
        )


def _kernel_warning(kernel_name: str | None) -> str | None:
    """A warning when the kernel papermill will start is not this interpreter (fastai may be missing there)."""
    if kernel_name is not None:
        return None
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec("python3")
    except Exception:
        return None
    exe = spec.argv[0] if spec.argv else ""
    generic = {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    if exe in generic or exe == "{python}":
        return None  # jupyter_client runs these with sys.executable
    try:
        if os.path.samefile(exe, sys.executable):
            return None
    except OSError:
        pass
    return (
        f"the 'python3' Jupyter kernel runs {exe}, not this interpreter ({sys.executable}); "
        "pass --kernel NAME if fastai and timm live elsewhere"
    )


def _extract(paths: list[Path], out_dir: Path, quiet: bool) -> bool:
    """Extraction and report of the executed notebooks; False when a notebook could not be read."""
    from audiometrics.cli.main import _run_lines
    from audiometrics.pipeline import extract_paths_to_outputs

    outcome, written, report_warnings = extract_paths_to_outputs([os.fspath(p) for p in paths], os.fspath(out_dir))
    for diagnostic in outcome.diagnostics:
        click.echo(f"warning: {diagnostic}", err=True)
    for warning in report_warnings:
        click.echo(f"warning: {warning}", err=True)
    for failure in outcome.failures:
        click.echo(f"error: {failure}", err=True)
    if not quiet:
        for line in _run_lines(outcome.runs, None):
            click.echo(line)
        epochs = sum(p.recorded_epochs for r in outcome.runs for p in r.phases)
        click.echo(
            f"{epochs} epoch rows from {len(outcome.runs)} runs in {len(paths)} notebooks; wrote "
            + ", ".join(str(p) for p in written[:3])
            + (f" and {len(written) - 3} more" if len(written) > 3 else "")
        )
    return not outcome.failures


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
    if smoke and data_dir is not None:
        raise click.UsageError("--smoke trains on generated data; drop --data (or use --epochs 1 for a quick run on real data)")
    if not smoke and data_dir is None:
        raise click.UsageError("give --data DIR (train_curated.csv and train_curated/*.wav) or --smoke")
    missing = missing_training_modules(("papermill",) if kernel_name else TRAINING_MODULES)
    if missing:
        from audiometrics.hints import install_hint

        raise click.ClickException(f"audiometrics train needs {', '.join(missing)}: {install_hint('train')}")
    try:
        source = notebook_path()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None

    unique = list(dict.fromkeys(archs))
    if len(unique) < len(archs):
        click.echo("warning: repeated architectures are trained once", err=True)
    warning = _kernel_warning(kernel_name)
    if warning:
        click.echo(f"warning: {warning}", err=True)

    out = Path(out_dir)
    nb_dir = out / "notebooks"
    nb_dir.mkdir(parents=True, exist_ok=True)

    outcomes: list[RunOutcome] = []
    for number, arch in enumerate(unique, 1):
        params = notebook_parameters(
            arch,
            pretrained=pretrained,
            smoke=smoke,
            data_dir=data_dir,
            epochs=epochs,
            batch_size=batch_size,
            img_size=img_size,
            seed=seed,
            limit=limit,
        )
        target = nb_dir / output_name(arch, pretrained)
        label = f"[{number}/{len(unique)}] {arch}{' (pretrained)' if pretrained else ''}"
        if not quiet:
            click.echo(f"{label}: running {source.name} → {target}", err=True)
        started = time.monotonic()
        error: str | None = None
        try:
            run_notebook(source, target, params, kernel_name=kernel_name, progress=not (quiet or no_progress), cwd=out)
        except KeyboardInterrupt:
            click.echo(f"{label}: interrupted; the partial notebook is in {target}", err=True)
            raise
        except Exception as exc:  # a failed cell, a dead kernel, a missing kernel...
            error = describe_failure(exc)
        seconds = time.monotonic() - started
        outcomes.append(RunOutcome(arch, pretrained, target, seconds, error))
        if error is None:
            if not quiet:
                click.echo(f"{label}: done in {seconds:.0f} s", err=True)
        else:
            click.echo(f"error: {label} failed after {seconds:.0f} s: {error}", err=True)

    failed = [o for o in outcomes if not o.ok]
    if not quiet:
        click.echo(
            f"{len(outcomes) - len(failed)} of {len(outcomes)} runs finished"
            + (f"; failed: {', '.join(o.arch for o in failed)}" if failed else ""),
            err=True,
        )
    extracted_ok = True
    if not no_extract:
        to_extract = [o.path for o in outcomes if o.path.is_file() and (o.ok or ran_training(o.path))]
        if to_extract:
            extracted_ok = _extract(to_extract, out, quiet)
        else:
            click.echo("nothing to extract: no run got to training", err=True)
    if failed or not extracted_ok:
        sys.exit(1)
