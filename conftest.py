"""Doctest collection (``--doctest-modules``): modules whose optional dependency is missing are skipped."""

import importlib.util

collect_ignore = ["setup.py"]
if importlib.util.find_spec("torch") is None:  # the [torch] extra: its docstring examples need torch
    collect_ignore += ["audiometrics/metrics/lwlrap_torch.py", "audiometrics/torch_metrics.py"]


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _own_result_cache(tmp_path_factory, monkeypatch):
    """The result cache (:mod:`audiometrics.cache`) is on by default: each test gets a fresh one,
    apart from the user's, so no test sees another's results."""
    monkeypatch.setenv("AUDIOMETRICS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
