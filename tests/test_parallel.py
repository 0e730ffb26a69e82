"""Parallel extraction: process pools, any executor, Dask; same results as one process, in input order."""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading

import pytest

from audiometrics import parallel
from audiometrics.cli.main import main
from audiometrics.errors import NotebookError
from audiometrics.pipeline import extract, extract_files, iter_extract
from audiometrics.parallel import MAX_CHUNK_BYTES, MAX_CHUNK_ITEMS, map_ordered, plan_chunks
from tests import nbfactory as nbf

LEARNER = nbf.LEARNER


runner = nbf.cli_runner


def notebook_file(path, epochs: int, seed: float = 0.5):
    cells = [
        nbf.code_cell(LEARNER),
        nbf.code_cell(
            f"learn.fit_one_cycle({epochs + 1}, 1e-2)",  # one epoch short: a diagnostic too
            nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(epochs, seed=seed)),
        ),
    ]
    return str(nbf.write(path, nbf.notebook(cells)))


@pytest.fixture
def corpus(tmp_path):
    """Thirty files: notebooks of different lengths, a truncated one, a non-notebook, a missing path."""
    paths = []
    for i in range(27):
        paths.append(notebook_file(tmp_path / f"nb{i:02d}.ipynb", 1 + i % 5, seed=0.1 + i / 50))
    (tmp_path / "truncated.ipynb").write_text('{"cells": [')
    (tmp_path / "package.ipynb").write_text('{"name": "x"}')
    paths.insert(5, str(tmp_path / "truncated.ipynb"))
    paths.insert(17, str(tmp_path / "package.ipynb"))
    paths.insert(23, str(tmp_path / "missing.ipynb"))
    return paths


def outcome_key(outcome):
    return (
        outcome.results,
        [(f.path, f.reason) for f in outcome.failures],
    )


# --------------------------------------------------------------------------- chunks


def test_chunks_cover_every_item_once_in_order():
    for count in (0, 1, 2, 7, 33, 100, 2000):
        for workers in (1, 2, 16):
            chunks = plan_chunks(count, workers)
            assert [i for chunk in chunks for i in chunk] == list(range(count))
            assert all(1 <= len(c) <= MAX_CHUNK_ITEMS for c in chunks)


def test_chunks_spread_small_inputs_and_cap_large_ones():
    assert [len(c) for c in plan_chunks(8, 2)] == [1] * 8
    assert max(len(c) for c in plan_chunks(2000, 2)) == MAX_CHUNK_ITEMS


def test_a_large_file_closes_its_chunk():
    sizes = [10] * 10
    sizes[3] = MAX_CHUNK_BYTES
    chunks = plan_chunks(10, 1, sizes)
    assert any(list(c)[-1] == 3 for c in chunks)
    assert [i for c in chunks for i in c] == list(range(10))


# --------------------------------------------------------------------------- map_ordered


def square(x: int) -> int:
    return x * x


def explode_on_13(x: int) -> int:
    if x == 13:
        raise ValueError("thirteen")
    return x


def die_on_13(x: int) -> int:
    if x == 13:
        os._exit(3)  # a worker killed for memory looks like this to the pool
    return x


def test_map_ordered_in_process_pool_and_executor_agree():
    items = list(range(100))
    expected = [x * x for x in items]
    assert list(map_ordered(square, items)) == expected
    assert list(map_ordered(square, items, jobs=2)) == expected
    with cf.ThreadPoolExecutor(3) as pool:
        assert list(map_ordered(square, items, executor=pool)) == expected


def test_jobs_must_be_positive():
    with pytest.raises(ValueError):
        list(map_ordered(square, [1, 2], jobs=0))


class CountingExecutor(cf.Executor):
    """A thread pool that records how many submitted tasks were not yet collected."""

    def __init__(self, workers: int) -> None:
        self._pool = cf.ThreadPoolExecutor(workers)
        self._max_workers = workers
        self.outstanding = 0
        self.most = 0
        self.submitted = 0
        self.lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        future = self._pool.submit(fn, *args, **kwargs)
        with self.lock:
            self.outstanding += 1
            self.submitted += 1
            self.most = max(self.most, self.outstanding)
        original = future.result

        def result(timeout=None):
            value = original(timeout)
            with self.lock:
                self.outstanding -= 1
            return value

        future.result = result
        return future

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def test_submissions_in_flight_are_bounded_by_twice_the_workers():
    executor = CountingExecutor(2)
    with executor:
        assert list(map_ordered(square, range(500), executor=executor)) == [x * x for x in range(500)]
    assert executor.submitted > 4 * 2  # many chunks went through...
    assert executor.most <= 2 * 2  # ...but never more than 2 x workers at once


def test_consuming_lazily_submits_lazily():
    executor = CountingExecutor(2)
    with executor:
        results = map_ordered(square, range(500), executor=executor, max_pending=3)
        assert next(results) == 0
        assert executor.submitted <= 4
        results.close()


def test_a_task_that_raises_costs_only_its_item_on_an_executor():
    with cf.ThreadPoolExecutor(2) as pool:
        results = list(map_ordered(explode_on_13, range(40), executor=pool, on_error=lambda item, exc: ("failed", item, str(exc))))
    assert results[13] == ("failed", 13, "thirteen")
    assert results[:13] == list(range(13)) and results[14:] == list(range(14, 40))


def test_without_on_error_the_error_propagates():
    with cf.ThreadPoolExecutor(2) as pool, pytest.raises(ValueError, match="thirteen"):
        list(map_ordered(explode_on_13, range(40), executor=pool))


def test_a_worker_process_that_dies_costs_only_its_item():
    results = list(map_ordered(die_on_13, range(60), jobs=2, on_error=lambda item, exc: ("died", item, type(exc).__name__)))
    assert results[13] == ("died", 13, "WorkerDied")
    assert results[:13] == list(range(13)) and results[14:] == list(range(14, 60))


def test_without_worker_processes_it_runs_here_and_says_so(monkeypatch):
    def no_pool(*args, **kwargs):
        raise OSError("no /dev/shm")

    monkeypatch.setattr(parallel, "_process_pool", no_pool)
    with pytest.warns(RuntimeWarning, match="no /dev/shm"):
        assert list(map_ordered(square, range(10), jobs=2)) == [x * x for x in range(10)]


def test_forkserver_pools_give_the_same_results(corpus, monkeypatch):
    if "forkserver" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no forkserver on this platform")
    monkeypatch.setattr(parallel, "START_METHOD", "forkserver")
    assert outcome_key(extract_files(corpus, jobs=2)) == outcome_key(extract_files(corpus, jobs=1))


# --------------------------------------------------------------------------- extraction


def test_jobs_give_the_same_results_and_failures_in_input_order(corpus):
    one = extract_files(corpus, jobs=1)
    assert [os.path.basename(f.path) for f in one.failures] == ["truncated.ipynb", "package.ipynb", "missing.ipynb"]
    assert len(one.results) == 27
    for jobs in (2, 3, None):
        assert outcome_key(extract_files(corpus, jobs=jobs)) == outcome_key(one)
    with cf.ThreadPoolExecutor(4) as pool:
        assert outcome_key(extract_files(corpus, executor=pool)) == outcome_key(one)


def test_iter_extract_yields_results_and_errors_in_input_order(corpus):
    items = list(iter_extract(corpus, jobs=2))
    assert [getattr(i, "path") for i in items] == corpus
    assert [isinstance(i, NotebookError) for i in items].count(True) == 3


def test_relative_paths_are_named_as_given_by_workers(corpus, monkeypatch):
    root = os.path.dirname(corpus[0])
    monkeypatch.chdir(root)
    relative = [os.path.basename(p) for p in corpus]
    outcome = extract_files(relative, jobs=2)
    assert [r.path for r in outcome.results] == [p for p in relative if p.startswith("nb")]
    assert all(r.notebook == r_path for res in outcome.results for r_path in [res.path] for r in res.runs)
    assert outcome_key(outcome) == outcome_key(extract_files(relative, jobs=1))


def test_on_result_sees_every_file_in_order(corpus):
    seen = []
    extract_files(corpus, jobs=2, on_result=seen.append)
    assert [s.path for s in seen] == corpus


def test_an_unexpected_exception_fails_one_file_not_the_job(corpus, monkeypatch):
    import importlib

    ex = importlib.import_module("audiometrics.pipeline")

    real = ex.analyse_cells

    def flaky(sources):
        if any("fit_one_cycle(3," in s for s in sources):
            raise TypeError("boom")
        return real(sources)

    monkeypatch.setattr(ex, "analyse_cells", flaky)
    outcome = extract_files(corpus, jobs=1)
    broken = [f for f in outcome.failures if "internal error" in f.reason]
    assert broken and all("TypeError: boom" in f.reason for f in broken)
    assert len(outcome.results) + len(outcome.failures) == len(corpus)


def test_extract_frame_is_the_same_with_jobs(corpus):
    import pandas as pd

    with pytest.warns(UserWarning):
        one = extract(corpus)
    with pytest.warns(UserWarning):
        two = extract(corpus, jobs=2)
    pd.testing.assert_frame_equal(one, two)


def test_executor_must_have_submit(corpus):
    with pytest.raises(TypeError, match="executor"):
        extract_files(corpus, executor=object())


# --------------------------------------------------------------------------- CLI


def test_cli_jobs_writes_the_same_csv_as_one_job(corpus, tmp_path):
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = runner().invoke(main, ["extract", *corpus, "--out", str(out), "--no-report", "--with-source", "--jobs", jobs])
        assert result.exit_code == 1, result.output  # three bad files
        stdout = result.stdout.replace(str(out), "OUT")
        outputs.append(((out / "training_metrics_extracted.csv").read_text(), stdout, result.stderr))
    assert outputs[0] == outputs[1]


def test_cli_jobs_must_be_at_least_one(corpus):
    assert runner().invoke(main, ["extract", corpus[0], "--jobs", "0"]).exit_code == 2


def test_cli_jobs_and_scheduler_are_exclusive(corpus):
    result = runner().invoke(main, ["extract", corpus[0], "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "cannot be used together" in result.stderr


def test_cli_scheduler_without_dask_says_how_to_install(corpus, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    result = runner().invoke(main, ["extract", corpus[0], "--scheduler", "tcp://127.0.0.1:1", "--no-report"])
    assert result.exit_code == 2
    assert "[dask]'" in result.stderr and "pip install" in result.stderr


# --------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, protocol="tcp", host="127.0.0.1"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_client_and_its_executor_give_the_same_results(corpus, dask_client):
    one = outcome_key(extract_files(corpus, jobs=1))
    assert outcome_key(extract_files(corpus, executor=dask_client)) == one
    assert outcome_key(extract_files(corpus, executor=dask_client.get_executor())) == one
    # run twice: never served from a cache of the first run
    assert outcome_key(extract_files(corpus, executor=dask_client)) == one


def test_dask_extract_frame(corpus, dask_client):
    import pandas as pd

    pd.testing.assert_frame_equal(extract(corpus, executor=dask_client, on_error="ignore"), extract(corpus, on_error="ignore"))


def test_dask_files_changed_between_runs_are_read_again(tmp_path, dask_client):
    path = notebook_file(tmp_path / "a.ipynb", 2)
    paths = [path, notebook_file(tmp_path / "b.ipynb", 2)]
    first = extract_files(paths, executor=dask_client)
    notebook_file(tmp_path / "a.ipynb", 4)
    second = extract_files(paths, executor=dask_client)
    assert first.results[0] != second.results[0]
    assert second.results == extract_files(paths).results


def test_cli_scheduler_runs_on_the_cluster(corpus, tmp_path, dask_client):
    address = dask_client.scheduler.address
    out1, out2 = tmp_path / "one", tmp_path / "dask"
    local = runner().invoke(main, ["extract", *corpus, "--out", str(out1), "--no-report", "--jobs", "1"])
    remote = runner().invoke(main, ["extract", *corpus, "--out", str(out2), "--no-report", "--scheduler", address])
    assert remote.exit_code == local.exit_code == 1
    assert (out2 / "training_metrics_extracted.csv").read_text() == (out1 / "training_metrics_extracted.csv").read_text()
    assert remote.stderr == local.stderr
    assert not dask_client.status == "closed"


def test_cli_scheduler_that_cannot_be_reached(corpus, monkeypatch):
    pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = runner().invoke(
            main, ["extract", corpus[0], "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1", "--no-report"]
        )
    assert result.exit_code == 1
    assert "cannot connect to the Dask scheduler at tcp://127.0.0.1:9" in result.stderr


def test_a_pool_found_broken_when_submitting_is_restarted(monkeypatch):
    """A worker can die between two collections: the next submit then raises at once
    (not through its future). That chunk is re-run with the others in flight."""
    real_pool = parallel._process_pool
    pools: list = []

    class BreaksOnThirdSubmit:
        def __init__(self, pool):
            self.pool, self.calls = pool, 0

        def submit(self, *args):
            self.calls += 1
            if self.calls == 3:
                raise cf.process.BrokenProcessPool("a worker died")
            return self.pool.submit(*args)

        def shutdown(self, *args, **kwargs):
            return self.pool.shutdown(*args, **kwargs)

    def first_one_breaks(workers, preload):
        pool, board = real_pool(workers, preload)
        pools.append(pool)
        return (BreaksOnThirdSubmit(pool) if len(pools) == 1 else pool), board

    monkeypatch.setattr(parallel, "_process_pool", first_one_breaks)
    results = list(map_ordered(square, range(40), jobs=2, max_pending=2, on_error=lambda item, exc: ("failed", item)))
    assert results == [x * x for x in range(40)]
    assert len(pools) >= 2  # the broken pool was replaced
