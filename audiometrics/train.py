"""Running the companion training notebook: its parameters, papermill, and what a run produced.

The notebook (``audiometrics/notebooks/fat2019_training.ipynb``, the top-level
``notebooks/`` folder of a checkout) trains a timm model on FAT2019-style
log-mel spectrograms with fastai. :func:`run_notebook` executes it with
papermill, once per architecture (:func:`notebook_parameters`,
:func:`output_name`); the command ``audiometrics train``
(:mod:`audiometrics.cli.train`) loops over the architectures and extracts the
executed notebooks.

papermill, fastai, timm and torch are imported lazily, inside
:func:`run_notebook` only: ``import audiometrics.train`` works without them.
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
    "train_one",
    "describe_failure",
    "ran_training",
    "kernel_warning",
    "TRAINING_MODULES",
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


def kernel_warning(kernel_name: str | None) -> str | None:
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


def train_one(
    arch: str,
    pretrained: bool,
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    parameters: dict[str, Any],
    *,
    kernel_name: str | None = None,
    progress: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> RunOutcome:
    """Run the notebook for one architecture (:func:`run_notebook`) and time it.

    A run that fails (a failed cell, a dead or missing kernel) is returned with
    its :func:`describe_failure` line as ``error``, not raised;
    :class:`KeyboardInterrupt` is raised (the partial notebook is in ``target``).
    """
    started = time.monotonic()
    error: str | None = None
    try:
        run_notebook(source, target, parameters, kernel_name=kernel_name, progress=progress, cwd=cwd)
    except Exception as exc:  # noqa: BLE001 - a failed cell, a dead kernel, a missing kernel...
        error = describe_failure(exc)
    return RunOutcome(arch, pretrained, Path(target), time.monotonic() - started, error)
