"""The result cache: a file extracted before is not read again, and never served when it changed."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sqlite3
from pathlib import Path

import pytest

from audiometrics import cache as cache_module
from audiometrics import pipeline
from audiometrics.cache import ResultCache, cacheable
from audiometrics.cli import main
from audiometrics.errors import NotebookError
from audiometrics.model import NotebookResult
from tests import nbfactory as nbf


def _notebook(path: Path, epochs: int = 3, seed: float = 0.0) -> Path:
    cells = [
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit_one_cycle(3, 1e-3)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(epochs, seed=seed))),
    ]
    nbf.write(path, nbf.notebook(cells))
    return path


@pytest.fixture
def counted(monkeypatch):
    """Counts the files really read (not served by the cache)."""
    calls: list[str] = []
    real = pipeline._extract

    def extract(location: str, name: str):
        calls.append(name)
        return real(location, name)

    monkeypatch.setattr(pipeline, "_extract", extract)
    return calls


def _rows(paths, folder):
    return pipeline.extract_files(paths, cache=folder).rows(with_source=True)


def test_a_second_run_reads_nothing_and_gives_the_same_rows(tmp_path, counted):
    paths = [str(_notebook(tmp_path / f"n{k}.ipynb", seed=k)) for k in range(3)]
    first = _rows(paths, tmp_path / "c")
    assert len(counted) == 3
    second = _rows(paths, tmp_path / "c")
    assert len(counted) == 3 and second == first and len(first) == 9


def test_touching_a_file_rereads_nothing_and_changing_it_rereads_it_alone(tmp_path, counted):
    a, b = (str(_notebook(tmp_path / f"{n}.ipynb")) for n in "ab")
    _rows([a, b], tmp_path / "c")
    os.utime(a, ns=(1, 1))  # same bytes, new time: hashed again, not extracted
    _rows([a, b], tmp_path / "c")
    assert counted == [a, b]
    _notebook(Path(b), epochs=2)
    rows = _rows([a, b], tmp_path / "c")
    assert counted == [a, b, b]
    assert sum(r["notebook"] == "b.ipynb" for r in rows) == 2


def test_the_same_bytes_at_another_path_are_served_under_that_path(tmp_path, counted):
    a = _notebook(tmp_path / "a.ipynb")
    b = tmp_path / "copy.ipynb"
    b.write_bytes(a.read_bytes())
    pipeline.extract_files([str(a)], cache=tmp_path / "c")
    outcome = pipeline.extract_files([str(b)], cache=tmp_path / "c")
    assert counted == [str(a)]
    assert outcome.results[0].path == str(b) and outcome.runs[0].notebook == str(b)


def test_unreadable_files_are_cached_but_time_outs_and_our_bugs_are_not(tmp_path, counted):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    for _ in range(2):
        outcome = pipeline.extract_files([str(bad)], cache=tmp_path / "c")
        assert "JSON" in outcome.failures[0].reason or "json" in outcome.failures[0].reason.lower()
    assert counted == [str(bad)]
    assert cacheable(NotebookError("x", "not a notebook: no cells"))
    assert not cacheable(NotebookError("x", "took longer than 5 s; skipped"))
    assert not cacheable(NotebookError("x", "internal error (TypeError: boom); please report it"))
    assert not cacheable(NotebookError("x", "the worker process reading it died (out of memory, or a crash)"))


def test_a_corrupt_database_is_set_aside_and_rebuilt(tmp_path, counted):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "results.sqlite3").write_bytes(b"this is not a database" * 100)
    path = str(_notebook(tmp_path / "a.ipynb"))
    assert len(_rows([path], folder)) == 3
    assert (folder / "results.sqlite3.corrupt").exists()
    _rows([path], folder)
    assert counted == [path]


def test_a_foreign_entry_is_ignored_and_rewritten(tmp_path, counted):
    folder = tmp_path / "c"
    path = str(_notebook(tmp_path / "a.ipynb"))
    _rows([path], folder)
    evil = pickle.dumps(("result", os.system))  # names a callable: refused by the loader
    db = sqlite3.connect(folder / "results.sqlite3")
    db.execute("UPDATE results SET payload = ?", (evil,))
    db.commit()
    db.close()
    assert len(_rows([path], folder)) == 3
    assert len(counted) == 2  # read again...
    _rows([path], folder)
    assert len(counted) == 2  # ...and rewritten


def test_another_version_of_the_code_does_not_see_the_entries(tmp_path, counted, monkeypatch):
    path = str(_notebook(tmp_path / "a.ipynb"))
    _rows([path], tmp_path / "c")
    monkeypatch.setattr(cache_module, "_CODE_KEY", "9.9.9:other")
    _rows([path], tmp_path / "c")
    assert len(counted) == 2


def test_the_store_stays_within_its_bound(tmp_path):
    paths = [str(_notebook(tmp_path / f"n{k}.ipynb", epochs=30, seed=k)) for k in range(6)]
    with ResultCache(tmp_path / "c", max_bytes=4000) as store:
        pipeline.extract_files(paths, cache=store)
    db = sqlite3.connect(tmp_path / "c" / "results.sqlite3")
    total, entries = db.execute("SELECT sum(bytes), count(*) FROM results").fetchone()
    db.close()
    assert total <= 4000 and 0 < entries < 6


def test_a_file_changed_while_it_was_read_is_not_stored(tmp_path):
    path = str(_notebook(tmp_path / "a.ipynb"))
    with ResultCache(tmp_path / "c") as store:
        assert store.get(path) is None
        _notebook(Path(path), epochs=2)
        os.utime(path, ns=(5, 5))
        store.put(path, NotebookResult(path))
        assert store.written == 0


def _extract_in_process(args):
    paths, folder = args
    return pipeline.extract_files(paths, cache=folder, jobs=1).rows(with_source=True)


def test_concurrent_runs_share_one_store(tmp_path):
    paths = [str(_notebook(tmp_path / f"n{k}.ipynb", seed=k)) for k in range(8)]
    expected = pipeline.extract_files(paths, cache=False).rows(with_source=True)
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        results = pool.map(_extract_in_process, [(paths, str(tmp_path / "c"))] * 6)
    assert all(r == expected for r in results)
    with ResultCache(tmp_path / "c") as store:
        assert all(store.probe(p) for p in paths)


def test_jobs_use_the_store_too(tmp_path, counted):
    paths = [str(_notebook(tmp_path / f"n{k}.ipynb", seed=k)) for k in range(4)]
    cold = pipeline.extract_files(paths, cache=tmp_path / "c", jobs=2).rows(with_source=True)
    warm = pipeline.extract_files(paths, cache=tmp_path / "c", jobs=2).rows(with_source=True)
    assert cold == warm and len(cold) == 12


def test_the_command_line_caches_and_no_cache_reads_again(tmp_path, counted):
    path = str(_notebook(tmp_path / "a.ipynb"))
    runner = nbf.cli_runner()
    args = ["extract", path, "--no-report", "-q", "--cache-dir", str(tmp_path / "c")]
    for out in ("o1", "o2"):
        result = runner.invoke(main, [*args, "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    assert counted == [path]
    assert (tmp_path / "o1" / "training_metrics_extracted.csv").read_bytes() == (
        tmp_path / "o2" / "training_metrics_extracted.csv"
    ).read_bytes()
    result = runner.invoke(main, [*args, "--no-cache", "--out", str(tmp_path / "o3")])
    assert result.exit_code == 0 and counted == [path, path]


def test_an_unwritable_cache_folder_is_no_cache(tmp_path, counted):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = str(_notebook(tmp_path / "a.ipynb"))
    assert len(_rows([path], blocker / "sub")) == 3
    assert len(_rows([path], blocker / "sub")) == 3
    assert len(counted) == 2


def test_the_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AUDIOMETRICS_CACHE_DIR", str(tmp_path / "x"))
    assert cache_module.default_dir() == tmp_path / "x"
    monkeypatch.delenv("AUDIOMETRICS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert cache_module.default_dir() == tmp_path / "xdg" / "audiometrics"


def test_every_type_a_result_holds_is_readable_back(tmp_path):
    """A type the loader refuses would make every entry 'foreign': never served, rewritten forever."""
    path = tmp_path / "p.ipynb"
    cells = [
        nbf.code_cell("SMOKE = True\nBS = 64\nLRS = {1e-3, 2e-3}\nZ = 1j\nSIZE = (128, 128)"),
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit_one_cycle(3, 1e-3)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(3))),
    ]
    nbf.write(path, nbf.notebook(cells))
    result = pipeline.extract_notebook(str(path))
    assert result.parameters  # the notebook states some
    with ResultCache(tmp_path / "c") as store:
        assert store.get(str(path)) is None
        store.put(str(path), result)
        back = store.get(str(path))
    assert back == result and back.parameters == result.parameters


def test_more_files_than_one_query_holds_are_probed_and_served_in_batches(tmp_path, counted, monkeypatch):
    monkeypatch.setattr(cache_module, "_BATCH", 2)
    monkeypatch.setattr(pipeline, "_SERVED_AT_ONCE", 3)
    paths = [str(_notebook(tmp_path / f"n{k}.ipynb", seed=k)) for k in range(5)]
    cold = _rows([*paths, paths[0]], tmp_path / "c")  # a name twice: served (or read) twice, in place
    warm = _rows([*paths, paths[0]], tmp_path / "c")
    assert warm == cold and len(cold) == 18
    assert sorted(counted) == sorted([*paths, paths[0]])  # the second run read nothing
    with ResultCache(tmp_path / "c") as store:
        assert store.probe_many([*paths, str(tmp_path / "absent.ipynb"), ""]) == [True] * 5 + [False, False]
        served = store.fetch_many([(p, f"x{k}") for k, p in enumerate(paths)])
    assert [r.path for r in served] == [f"x{k}" for k in range(5)]


def test_a_stored_result_reads_back_equal_and_a_foreign_payload_as_absent():
    from audiometrics.analysis.parameters import Parameter
    from audiometrics.model import Diagnostic, Phase, Run
    from audiometrics.result_codec import dump, load

    phase = Phase(1, "fit", 2, "1e-3", False, 3, ("epoch", "time"), (("0", "00:05"), ("1", "00:05")), count=4)
    params = (Parameter("LRS", frozenset({1e-3}), "{1e-3}", 0), Parameter("Z", 1j, "1j", 0, True), Parameter("D", {"a": [1]}, "{'a': [1]}", 1))
    result = NotebookResult("a.ipynb", (Run("a.ipynb", "resnet18", None, (phase, phase), cell=2, ordinal=1),), (Diagnostic("a.ipynb", "m", 1, 2),), params)
    back = load(dump(result))
    assert back == result and back.parameters == params and isinstance(back.runs[0].phases[1], Phase)
    error = load(dump(NotebookError("b.ipynb", "not JSON")))
    assert isinstance(error, NotebookError) and (error.path, error.reason) == ("b.ipynb", "not JSON")
    for foreign in (pickle.dumps(("result", "a.ipynb")), pickle.dumps(("result", "a", (("x",),), (), ())), pickle.dumps([1]), b"", pickle.dumps(("error", os.system, "x"))):
        assert load(foreign) is None


def test_serving_from_the_store_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    import gc

    paths = [str(_notebook(tmp_path / f"n{k}.ipynb", seed=k)) for k in range(2)]
    _rows(paths, tmp_path / "c")
    was = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            assert len(_rows(paths, tmp_path / "c")) == 6
            assert gc.isenabled() is state
    finally:
        (gc.enable if was else gc.disable)()


def test_a_path_recorded_with_another_digest_algorithm_is_hashed_again_and_served(tmp_path, counted):
    path = str(_notebook(tmp_path / "a.ipynb"))
    _rows([path], tmp_path / "c")
    db = sqlite3.connect(tmp_path / "c" / "results.sqlite3")
    (digest,) = db.execute("SELECT digest FROM files").fetchone()
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 40
    db.execute("UPDATE files SET digest = 'a0b1c2'")  # as an older version recorded it
    db.commit()
    db.close()
    assert len(_rows([path], tmp_path / "c")) == 3 and counted == [path]  # hashed again, found, not read
    db = sqlite3.connect(tmp_path / "c" / "results.sqlite3")
    assert db.execute("SELECT digest FROM files").fetchone() == (digest,)
    db.close()


def _results():
    from hypothesis import strategies as st

    from audiometrics.analysis.parameters import Parameter
    from audiometrics.model import Diagnostic, Phase, Run

    text = st.text(max_size=8)
    maybe_int = st.none() | st.integers(-5, 10**6)
    columns = st.lists(text, max_size=4).map(tuple)
    phase = st.builds(
        Phase, st.integers(0, 9), text, maybe_int, text, st.booleans(), st.integers(0, 50), columns,
        st.lists(st.lists(text, max_size=4).map(tuple), max_size=5).map(tuple), text, st.booleans(), st.booleans(), maybe_int,
    )
    run = st.builds(Run, text, text, st.none() | st.booleans(), st.lists(phase, max_size=3).map(tuple), maybe_int, maybe_int,
                    st.integers(0, 9), text)
    literal = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text | st.complex_numbers(allow_nan=False),
                           lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
                           | st.frozensets(st.integers(), max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6)
    parameter = st.builds(Parameter, text, literal, text, st.integers(0, 9), st.booleans())
    diagnostic = st.builds(Diagnostic, text, text, maybe_int, maybe_int)
    return st.builds(NotebookResult, text, st.lists(run, max_size=3).map(tuple), st.lists(diagnostic, max_size=3).map(tuple),
                     st.lists(parameter, max_size=3).map(tuple))


def test_any_result_reads_back_equal_field_for_field():
    from hypothesis import given, settings

    from audiometrics.result_codec import dump, load

    @settings(max_examples=300, deadline=None)
    @given(_results())
    def check(result):
        back = load(dump(result))
        assert back == result and back.parameters == result.parameters
        assert [type(r) for r in back.runs] == [type(r) for r in result.runs]
        assert all(p.rows == q.rows and p.columns == q.columns for r, s in zip(back.runs, result.runs) for p, q in zip(r.phases, s.phases))

    check()
