"""audiometrics: executed fastai notebooks → a tidy epoch table, summaries and plots.

Public API::

    from audiometrics import extract, load_metrics, load_runs, lwlrap, per_class_lwlrap
    from audiometrics import diff, to_tensorboard, to_mlflow   # compare extractions; export runs

Heavy optional dependencies (torch, fastai, timm, papermill) are never imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "extract",
    "extract_notebook",
    "extract_files",
    "iter_extract",
    "load_metrics",
    "load_runs",
    "lwlrap",
    "per_class_lwlrap",
    "AudiometricsError",
    "NotebookError",
    "diff",
    "to_tensorboard",
    "to_mlflow",
    "__version__",
]

_LAZY = {
    "extract": "audiometrics.pipeline",
    "extract_notebook": "audiometrics.pipeline",
    "extract_files": "audiometrics.pipeline",
    "iter_extract": "audiometrics.pipeline",
    "load_metrics": "audiometrics.epochs.loader",
    "load_runs": "audiometrics.epochs.runs_table",
    "AudiometricsError": "audiometrics.errors",
    "NotebookError": "audiometrics.errors",
    "lwlrap": "audiometrics.metrics.lwlrap",
    "per_class_lwlrap": "audiometrics.metrics.lwlrap",
    "diff": "audiometrics.compare",
    "to_tensorboard": "audiometrics.sinks.tensorboard",  # tensorboardX is imported only when runs are written
    "to_mlflow": "audiometrics.sinks.mlflow",  # mlflow is imported only when a store is opened
}

if TYPE_CHECKING:  # pragma: no cover
    from audiometrics.errors import AudiometricsError, NotebookError
    from audiometrics.pipeline import extract, extract_files, extract_notebook, iter_extract
    from audiometrics.epochs.loader import load_metrics
    from audiometrics.metrics.lwlrap import lwlrap, per_class_lwlrap
    from audiometrics.epochs.runs_table import load_runs
    from audiometrics.compare import diff
    from audiometrics.sinks.mlflow import to_mlflow
    from audiometrics.sinks.tensorboard import to_tensorboard


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'audiometrics' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
