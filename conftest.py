"""Doctest collection (``--doctest-modules``): modules whose optional dependency is missing are skipped."""

import importlib.util

collect_ignore = ["setup.py"]
if importlib.util.find_spec("torch") is None:  # the [torch] extra: its docstring examples need torch
    collect_ignore += ["audiometrics/metrics/lwlrap_torch.py", "audiometrics/torch_metrics.py"]
