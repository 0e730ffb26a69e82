"""Signals, workers that die with their parent, per-file time limits (issue 14).

The acceptance tests run the real command line in a subprocess of its own
process group on a generated corpus (600 nbfactory notebooks, a run of a few
seconds with ``--jobs 2``) and send it SIGINT (as Ctrl-C does: to the whole
group), SIGTERM or SIGKILL mid-run; workers are found and checked by pid in /proc.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audiometrics import lifecycle, parallel
from audiometrics.cli import main
from audiometrics.parallel import TimedOut, map_ordered
from tests import nbfactory as nbf

ROOT = Path(__file__).resolve().parents[1]
#: The checkout's templates, named explicitly: an installed copy of the package may be older or newer.
TEMPLATES = ["--templates", str(ROOT / "templates")]
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


# --------------------------------------------------------------------------- helpers


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first, then ppid), None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def descendants(pid: int) -> set[int]:
    """Living processes below ``pid`` (pool workers, a fork server and its workers)."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields is not None and fields[0] not in ("Z", "X"):
                parents[int(name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


#: How long a test waits for what must happen soon (a worker's death, a disconnection): generous, since
#: a loaded CI machine is slow, and a passing test stops waiting as soon as it happens.
PATIENCE = 20.0


def wait_until(condition, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONWARNINGS", None)
    return env


def start(args: list[str], code: str | None = None) -> subprocess.Popen:
    """The command line (or ``code``, given ``args`` as ``sys.argv[1:]``) in a new process group."""
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "audiometrics", *args]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=environment(),
        cwd=ROOT,
    )


def workers_of(process: subprocess.Popen, count: int = 1, timeout: float = 30) -> set[int]:
    """The worker processes of ``process`` once it has ``count`` of them (the pool has started)."""
    found: set[int] = set()

    def started() -> bool:
        found.clear()
        found.update(descendants(process.pid))
        return len(found) >= count or process.poll() is not None

    assert wait_until(started, timeout), "the pool never started"
    return set(found)


def finish(process: subprocess.Popen, timeout: float = 15) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        pytest.fail(f"did not exit within {timeout} s of the signal; stderr: {err[-2000:]}")
    return process.returncode, err


def notebook(path: Path, seed: float) -> None:
    """A notebook of six 20-epoch phases that extracts without any warning."""
    cells = [nbf.code_cell(nbf.LEARNER)]
    for k in range(6):
        rows = nbf.epoch_rows(20, seed=seed)
        cells.append(nbf.code_cell(f"learn.fit_one_cycle(20, 1e-{k + 2})", nbf.legacy_fit_outputs(nbf.COLUMNS, rows)))
    nbf.write(path, nbf.notebook(cells))


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory) -> Path:
    """600 notebooks: about 3 s of extraction with --jobs 2, then the reports."""
    folder = tmp_path_factory.mktemp("corpus")
    for i in range(600):
        notebook(folder / f"nb{i:03d}.ipynb", 0.1 + i / 500)
    return folder


# --------------------------------------------------------------------------- acceptance: signals


@linux_only
def test_ctrl_c_to_the_process_group_stops_promptly_without_a_traceback(big_corpus, tmp_path):
    """20 trials, at random points of the extraction or of the reports: exit 130 within
    seconds, one line saying how far it got, no traceback, no worker left."""
    rng = random.Random(14)
    for trial in range(20):
        args = ["extract", "--no-cache", str(big_corpus), "--out", str(tmp_path / "out"), "--jobs", "2"]
        process = start(args + (["--no-report"] if trial % 2 else TEMPLATES))
        workers = workers_of(process, 2)
        time.sleep(rng.uniform(0, 0.8))
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        status, err = finish(process)
        took = time.monotonic() - sent
        assert status == 130, (trial, status, err)
        assert "Traceback" not in err and "Error" not in err, (trial, err)
        assert err.strip().splitlines()[-1].startswith("audiometrics: stopped by SIGINT after reading"), (trial, err)
        assert took < 8, (trial, took)
        assert wait_until(lambda: not any(alive(pid) for pid in workers), PATIENCE), (trial, workers)


@linux_only
@pytest.mark.parametrize("to_group", [True, False], ids=["group", "parent"])
def test_sigterm_stops_with_143_and_stops_the_workers(big_corpus, tmp_path, to_group):
    for trial in range(3):
        process = start(["extract", "--no-cache", str(big_corpus), "--out", str(tmp_path / "out"), "--jobs", "2", "--no-report"])
        workers = workers_of(process, 2)
        time.sleep(0.2 * trial)
        (os.killpg if to_group else os.kill)(process.pid, signal.SIGTERM)
        status, err = finish(process)
        assert status == 143, (trial, err)
        assert "Traceback" not in err, err
        assert "stopped by SIGTERM after reading" in err
        assert wait_until(lambda: not any(alive(pid) for pid in workers), PATIENCE), workers


@linux_only
def test_ctrl_c_with_a_dask_scheduler_closes_the_connection_and_exits_130(big_corpus, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0", protocol="tcp", host="127.0.0.1"
    ) as cluster:
        clients = cluster.scheduler.clients
        for delay in (0.2, 0.6):
            before = set(clients)
            args = ["extract", "--no-cache", str(big_corpus), "--out", str(tmp_path / "out"), "--no-report"]
            process = start(args + ["--scheduler", cluster.scheduler_address])
            assert wait_until(lambda: set(clients) - before, 30), "the command never connected"
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGINT)
            status, err = finish(process)
            assert status == 130, err
            assert err.strip().splitlines()[-1].startswith("audiometrics: stopped by SIGINT after reading"), err
            assert "Traceback" not in err
            assert wait_until(lambda: set(clients) <= before, PATIENCE)  # disconnected


FORKSERVER_CLI = "import audiometrics.parallel as p; p.START_METHOD = 'forkserver'; from audiometrics.cli import main; main()"


@linux_only
@pytest.mark.parametrize("code", [None, FORKSERVER_CLI], ids=["fork", "forkserver"])
def test_sigkill_of_the_parent_leaves_no_worker_behind(big_corpus, tmp_path, code):
    for trial in range(3):
        process = start(["extract", "--no-cache", str(big_corpus), "--out", str(tmp_path / "out"), "--jobs", "2", "--no-report"], code)
        workers = workers_of(process, 2)
        time.sleep(0.3 * trial)
        workers |= descendants(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        assert wait_until(lambda: not any(alive(pid) for pid in workers), PATIENCE), [p for p in workers if alive(p)]


STUCK_CLI = """
import audiometrics.pipeline as pipeline
real = pipeline._extract
def stuck(location, name):
    if location.endswith("nb003.ipynb"):
        sum(range(10**12))  # native code: signal handlers and watchdog threads cannot run
    return real(location, name)
pipeline._extract = stuck
from audiometrics.cli import main
main()
"""


@linux_only
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_worker_stuck_in_native_code_dies_with_its_parent(big_corpus, tmp_path, signum):
    process = start(["extract", "--no-cache", str(big_corpus), "--out", str(tmp_path / "out"), "--jobs", "2", "--no-report"], STUCK_CLI)
    workers = workers_of(process, 2)
    time.sleep(1.0)  # nb003 is in the first chunk: one worker is stuck by now
    os.kill(process.pid, signum)
    process.communicate(timeout=15)
    assert wait_until(lambda: not any(alive(pid) for pid in workers), PATIENCE), [p for p in workers if alive(p)]


WATCHED_CHILD = """
import os, sys, time
from audiometrics import lifecycle
lifecycle._set_parent_death_signal = lambda signum: False  # the watchdog alone
owner = os.getpid()  # read before the fork: the parent may be killed before the child runs at all
child = os.fork()
if child == 0:
    lifecycle.die_with_parent(owner)
    time.sleep(30)
    os._exit(0)
print(child, flush=True)
time.sleep(30)
"""


@linux_only
def test_without_the_death_signal_the_watchdog_ends_an_orphaned_worker():
    process = start([], WATCHED_CHILD)
    child = int(process.stdout.readline())
    assert alive(child)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    try:
        assert wait_until(lambda: not alive(child), PATIENCE + lifecycle.WATCHDOG_S), _stat(child)
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
        process.communicate()


def worker_state(_: int) -> tuple:
    import ctypes

    pdeathsig = ctypes.c_int(0)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(2, ctypes.byref(pdeathsig), 0, 0, 0)  # PR_GET_PDEATHSIG
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), pdeathsig.value


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_workers_ignore_ctrl_c_stop_quietly_and_die_with_their_parent(monkeypatch, method):
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"no {method} here")
    monkeypatch.setattr(parallel, "START_METHOD", method)
    states = set(map_ordered(worker_state, range(4), jobs=2))
    expected_deathsig = signal.SIGKILL if sys.platform.startswith("linux") else 0
    assert states == {(signal.SIG_IGN, lifecycle._stop_worker, expected_deathsig)}


def test_interruptible_turns_sigterm_into_exit_143_and_restores_the_handlers():
    said = []
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        with lifecycle.interruptible(said.append):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted long before
    assert stopped.value.code == 143
    assert [exc.signum for exc in said] == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------- time limits


def slow_on_3(x: int) -> int:
    if x == 3:
        time.sleep(30)
    return x


def native_hang_on_3(x: int) -> int:
    if x == 3:
        Path(os.environ["AUDIOMETRICS_TEST_PIDFILE"]).write_text(str(os.getpid()))
        sum(range(10**12))  # one C call: no signal handler runs before it returns
    return x


def swallows_its_timeout(x: int) -> str:
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        try:
            time.sleep(0.05)
        except BaseException:  # noqa: BLE001 - a careless handler
            pass
    return "finished anyway"


def timed_out(item, exc):
    return ("timed out", item, str(exc)) if isinstance(exc, TimedOut) else ("other", item, repr(exc))


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_item_over_its_time_limit_fails_alone(jobs, monkeypatch):
    monkeypatch.setattr(parallel, "START_METHOD", "fork" if jobs > 1 else None)
    began = time.monotonic()
    results = list(map_ordered(slow_on_3, range(12), jobs=jobs, limit=0.5, on_error=timed_out))
    assert time.monotonic() - began < 10
    assert results[3] == ("timed out", 3, "took longer than 0.5 s")
    assert results[:3] + results[4:] == [x for x in range(12) if x != 3]
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)  # put back


def test_without_on_error_a_time_limit_raises():
    with pytest.raises(TimedOut):
        list(map_ordered(slow_on_3, range(5), limit=0.3))


def test_a_swallowed_time_limit_still_fails_the_item():
    assert list(map_ordered(swallows_its_timeout, [0], limit=0.3, on_error=timed_out)) == [
        ("timed out", 0, "took longer than 0.3 s")
    ]


@linux_only
def test_a_worker_stuck_in_native_code_is_killed_and_the_others_go_on(monkeypatch, tmp_path):
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("AUDIOMETRICS_TEST_PIDFILE", str(pidfile))
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    began = time.monotonic()
    results = list(map_ordered(native_hang_on_3, range(20), jobs=2, limit=0.3, on_error=timed_out))
    assert time.monotonic() - began < 15
    assert results[3] == ("timed out", 3, "took longer than 0.3 s")
    assert results[:3] + results[4:] == [x for x in range(20) if x != 3]
    assert wait_until(lambda: not alive(int(pidfile.read_text())), PATIENCE)  # killed, not leaked


def test_a_thread_executor_reports_an_item_over_its_time(monkeypatch):
    with cf.ThreadPoolExecutor(3) as pool:  # one thread for the stuck item, one for its second try, one free
        began = time.monotonic()
        results = list(map_ordered(slow_on_3_briefly, range(8), executor=pool, limit=0.3, on_error=timed_out))
        assert time.monotonic() - began < 2.4  # not waiting for the stuck threads
    assert results[3] == ("timed out", 3, "took longer than 0.3 s")
    assert results[:3] + results[4:] == [x for x in range(8) if x != 3]


def slow_on_3_briefly(x: int) -> int:
    if x == 3:
        time.sleep(2.5)  # a thread cannot be interrupted: it ends on its own
    return x


# --------------------------------------------------------------------------- the command line


def slow_notebook_hook(monkeypatch, name: str) -> None:
    """Make the extraction of notebook ``name`` hang (inherited by forked workers)."""
    import importlib

    pipeline = importlib.import_module("audiometrics.pipeline")
    real = pipeline._extract

    def slow(location, shown):
        if os.path.basename(location) == name:
            time.sleep(60)
        return real(location, shown)

    monkeypatch.setattr(pipeline, "_extract", slow)
    monkeypatch.setattr(parallel, "START_METHOD", "fork")


@pytest.fixture
def small_corpus(tmp_path) -> list[str]:
    paths = []
    for i in range(8):
        notebook(tmp_path / f"nb{i}.ipynb", 0.1 + i / 50)
        paths.append(str(tmp_path / f"nb{i}.ipynb"))
    return paths


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cli_file_timeout_fails_one_file_and_the_others_are_written(small_corpus, tmp_path, monkeypatch, jobs):
    from audiometrics import progress as progress_module

    slow_notebook_hook(monkeypatch, "nb2.ipynb")
    monkeypatch.setattr(progress_module, "_is_terminal", lambda stream: True)
    out = tmp_path / "out"
    began = time.monotonic()
    result = nbf.cli_runner().invoke(
        main, ["extract", *small_corpus, "--out", str(out), "--no-report", "--jobs", jobs, "--file-timeout", "0.5"]
    )
    assert time.monotonic() - began < 20
    assert result.exit_code == 1, result.output
    assert f"{small_corpus[2]}: took longer than 0.5 s; skipped" in result.stderr
    assert "8/8 files" in result.stderr and "1 failed" in result.stderr  # the progress bar went on
    csv = (out / "training_metrics_extracted.csv").read_text()
    assert len(csv.splitlines()) == 1 + 7 * 6 * 20


def test_cli_file_timeout_is_checked(small_corpus):
    result = nbf.cli_runner().invoke(main, ["extract", small_corpus[0], "--file-timeout", "-1"])
    assert result.exit_code == 2


def test_cli_scheduler_timeout_bounds_the_wait_for_a_dead_scheduler(small_corpus):
    pytest.importorskip("distributed")
    began = time.monotonic()
    result = nbf.cli_runner().invoke(
        main, ["extract", small_corpus[0], "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1", "--no-report"]
    )
    assert time.monotonic() - began < 8
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot connect to the Dask scheduler at tcp://127.0.0.1:9"), lines


def test_cli_scheduler_timeout_defaults_to_ten_seconds(small_corpus, monkeypatch):
    distributed = pytest.importorskip("distributed")
    seen = {}

    class Unreachable:
        def __init__(self, address, timeout=None):
            seen.update(address=address, timeout=timeout)
            raise OSError("Timed out trying to connect\nsecond line")

    monkeypatch.setattr(distributed, "Client", Unreachable)
    result = nbf.cli_runner().invoke(main, ["extract", small_corpus[0], "--scheduler", "tcp://h:1", "--no-report"])
    assert seen == {"address": "tcp://h:1", "timeout": 10}
    assert result.stderr.strip() == "Error: cannot connect to the Dask scheduler at tcp://h:1: Timed out trying to connect"


@linux_only
def test_the_parallel_path_keeps_stderr_clean(small_corpus, tmp_path):
    process = start(["extract", "--no-cache", *small_corpus, "--out", str(tmp_path / "out"), "--jobs", "2", "-q", *TEMPLATES])
    status, err = finish(process, timeout=120)
    assert status == 0, err
    assert_only_own_warnings(err)


@linux_only
def test_the_dask_path_keeps_stderr_clean(small_corpus, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0", protocol="tcp", host="127.0.0.1"
    ) as cluster:
        args = ["extract", "--no-cache", *small_corpus, "--out", str(tmp_path / "out"), "-q", *TEMPLATES]
        args += ["--scheduler", cluster.scheduler_address]
        status, err = finish(start(args), timeout=120)
    assert status == 0, err
    assert_only_own_warnings(err)


def assert_only_own_warnings(err: str) -> None:
    """Only the tool's own one-line warnings (about the data): no Python warnings, logs or tracebacks."""
    foreign = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert not foreign, foreign


def test_extract_file_timeout_fails_the_slow_file_only(small_corpus, monkeypatch):
    from audiometrics.pipeline import extract_files

    slow_notebook_hook(monkeypatch, "nb5.ipynb")
    for jobs in (1, 2):
        outcome = extract_files(small_corpus, jobs=jobs, file_timeout=0.4)
        assert [(f.path, f.reason) for f in outcome.failures] == [(small_corpus[5], "took longer than 0.4 s; skipped")]
        assert [r.path for r in outcome.results] == small_corpus[:5] + small_corpus[6:]


def test_a_stop_raised_inside_a_finaliser_prints_no_traceback_and_still_stops(monkeypatch):
    class Finalised:
        def __del__(self):
            raise lifecycle.Interrupted(signal.SIGINT)  # where a signal lands in a Dask __del__

    printed = []  # what Python would print as "Exception ignored in ...", with a traceback
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    said, before = [], sys.unraisablehook
    with pytest.raises(SystemExit) as stopped:
        with lifecycle.interruptible(said.append):
            lifecycle._PENDING = signal.SIGINT  # what the signal handler records before raising
            Finalised()  # collected at once: its exception is "unraisable"
            lifecycle.checkpoint()
    assert stopped.value.code == 130 and len(said) == 1
    assert printed == []
    assert sys.unraisablehook is before
