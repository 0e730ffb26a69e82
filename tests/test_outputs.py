"""Outputs as one consistent set: staging, manifest, lock, recovery, special destinations, faults, options."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from audiometrics import atomic
from audiometrics.atomic import JOURNAL_NAME, MANIFEST_NAME, STAGING_PREFIX, OutputError, OutputSet, recover
from audiometrics.cli.main import main
from tests import nbfactory as nbf

runner = nbf.cli_runner
CSV = "training_metrics_extracted.csv"
ROOT = Path(__file__).resolve().parent.parent
COLUMNS2 = ("epoch", "train_loss", "valid_loss", "accuracy_multi", "lwlrap", "time")


def notebook(path: Path, epochs: int = 2, seed: float = 0.5) -> str:
    cells = [
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell(f"learn.fit_one_cycle({epochs}, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(epochs, seed=seed))),
    ]
    return str(nbf.write(path, nbf.notebook(cells)))


def corpus(folder: Path, n: int, epochs: int = 3) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return [notebook(folder / f"n{i}.ipynb", epochs, seed=0.1 + i / (n + 1)) for i in range(n)]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative posix path → bytes), staging folders left out."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0].startswith(STAGING_PREFIX) or relative.name == JOURNAL_NAME or not path.is_file():
            continue
        found[relative.as_posix()] = path.read_bytes()
    return found


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.startswith(STAGING_PREFIX) or p.name.endswith(".tmp") or p.name == JOURNAL_NAME)


def extract(*args: str):
    return runner().invoke(main, ["extract", *args])


# --------------------------------------------------------------------------- one set


def test_a_new_set_replaces_the_old_one_and_keeps_the_users_files(tmp_path):
    nbs = corpus(tmp_path / "nb", 2)
    out = tmp_path / "out"
    assert extract(*nbs, "--out", str(out), "-q").exit_code == 0
    assert {p.name for p in (out / "plots").iterdir()} == {"metric_by_epoch.png", "losses_by_epoch.png", "best_final_metric.png"}
    (out / "notes.txt").write_text("mine")
    (out / "plots" / "mine.png").write_bytes(b"mine")
    result = extract(nbs[0], "--out", str(out), "--no-report", "-q")
    assert result.exit_code == 0, result.output
    # the documents and plots of the previous run described another CSV: gone; the user's files stay
    assert sorted(snapshot(out)) == sorted([CSV, "runs.csv", MANIFEST_NAME, "notes.txt", "plots/mine.png"])
    assert len((out / CSV).read_text().splitlines()) == 4


def test_outputs_of_an_older_version_without_a_manifest_are_replaced_by_name(tmp_path):
    out = tmp_path / "out"
    (out / "plots").mkdir(parents=True)
    for name in ("EXTRACTION_SUMMARY.md", "training_metrics_summary.md", "plots/metric_by_epoch.png", "plots/other.png", "keep.md"):
        (out / name).write_text("old")
    assert extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--no-report", "-q").exit_code == 0
    assert sorted(snapshot(out)) == sorted([CSV, "runs.csv", MANIFEST_NAME, "keep.md", "plots/other.png"])


def test_report_command_replaces_only_the_report_files(tmp_path):
    out = tmp_path / "out"
    assert extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "-q").exit_code == 0
    before = snapshot(out)
    result = runner().invoke(main, ["report", str(out / CSV), "--out", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    after = snapshot(out)
    assert after[CSV] == before[CSV]  # the report's input stays
    assert not any(name.startswith("plots/") for name in after)
    assert f'"{CSV}"' in after[MANIFEST_NAME].decode()


def test_a_run_that_reads_nothing_writes_nothing(tmp_path):
    out = tmp_path / "out"
    assert extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--errors", str(out / "errors.csv"), "-q").exit_code == 0
    before = snapshot(out)
    result = extract(str(tmp_path / "mistyped.ipynb"), "--out", str(out), "--errors", str(out / "errors.csv"))
    assert result.exit_code == 1
    assert "nothing written" in result.stderr and "mistyped.ipynb: no such file" in result.stderr
    assert snapshot(out) == before
    fresh = tmp_path / "fresh"
    assert extract(str(tmp_path / "mistyped.ipynb"), "--out", str(fresh)).exit_code == 1
    assert not fresh.exists()


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out"
    staging = out / f"{STAGING_PREFIX}999-abcdef"
    (staging / "plots").mkdir(parents=True)
    (staging / "plots" / "x.png").write_bytes(b"half")
    (out / f".{CSV}.k2j3h4.tmp").write_text("half a csv")
    (out / "user.tmp").write_text("not ours")
    assert extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--no-report", "-q").exit_code == 0
    assert leftovers(out) == ["user.tmp"]


def test_an_interrupted_commit_is_finished_by_the_next_run(tmp_path, monkeypatch):
    root = tmp_path / "out"
    with OutputSet(root) as outputs:
        for name in ("a.txt", "b.txt", "plots/c.png"):
            outputs.path(root / name).write_text("old " + name)
        outputs.commit()
    real_replace = os.replace

    def crash_on_second(src, dst):
        if str(dst).endswith("b.txt"):
            raise KeyboardInterrupt  # dies between the renames of a.txt and b.txt
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        with OutputSet(root) as outputs:
            for name in ("a.txt", "b.txt"):
                outputs.path(root / name).write_text("new " + name)
            outputs.commit()
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert (root / JOURNAL_NAME).exists()
    assert recover(root) is True
    assert snapshot(root) == {"a.txt": b"new a.txt", "b.txt": b"new b.txt", MANIFEST_NAME: snapshot(root)[MANIFEST_NAME]}
    assert leftovers(root) == []


# --------------------------------------------------------------------------- kills


#: Seconds a forked run may take before the test fails instead of waiting forever.
FORK_PATIENCE = 180.0


def _start_child(work) -> int:
    """Fork a child that runs ``work()`` with stdout/stderr to /dev/null and exits with its status; returns its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            work()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            os._exit(code)
    return pid


def _fork(work, kill_after: float | None = None, watch=None) -> int:
    """Run ``work()`` in a forked child (stdout/stderr to /dev/null); SIGKILL it after ``kill_after`` seconds.

    ``watch()`` is called every few milliseconds while the child runs.
    """
    pid = _start_child(work)
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)
    done, deadline = (0, 0), time.monotonic() + FORK_PATIENCE
    while done == (0, 0) and time.monotonic() < deadline:
        if watch is not None:
            watch()
        time.sleep(0.002)
        done = os.waitpid(pid, os.WNOHANG)
    if done == (0, 0):  # a child stuck (a lock held by another thread at the fork): fail, never hang
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f"the forked run did not finish within {FORK_PATIENCE} s")
    return os.waitstatus_to_exitcode(done[1])


def _commit_new(root: Path, kill_at: int | None, counter: list[int]) -> None:
    """The new set of the kill tests: two changed files, one new, one stale plot to remove; SIGKILL at file operation ``kill_at``."""

    def counted(function):
        def wrapper(*args, **kwargs):
            counter[0] += 1
            if counter[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)

        return wrapper

    names = ("replace", "unlink", "rmdir", "mkdir", "fsync", "open", "chmod")
    saved = {name: getattr(os, name) for name in names}
    for name in names:
        setattr(os, name, counted(saved[name]))
    try:
        with OutputSet(root) as outputs:
            for name in ("a.csv", "b.md", "plots/new.png"):
                outputs.path(root / name).write_bytes(f"new {name}".encode() * 1000)
            outputs.commit()
    finally:
        for name in names:
            setattr(os, name, saved[name])


def test_sigkill_at_every_file_operation_of_a_commit_leaves_the_old_or_the_new_set(tmp_path):
    template = tmp_path / "template"
    with OutputSet(template) as outputs:
        for name in ("a.csv", "b.md", "plots/old.png"):
            outputs.path(template / name).write_bytes(f"old {name}".encode())
        outputs.commit()
    (template / "user.txt").write_text("mine")
    old = snapshot(template)
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    counter = [0]
    _commit_new(probe, None, counter)
    new, operations = snapshot(probe), counter[0]
    assert "plots/old.png" not in new and new["user.txt"] == b"mine"
    mixed_before_recovery = 0
    for kill_at in range(1, operations + 1):
        root = tmp_path / f"k{kill_at}"
        shutil.copytree(template, root)
        assert _fork(lambda: _commit_new(root, kill_at, [0])) == -signal.SIGKILL
        seen = snapshot(root)
        if seen not in (old, new):
            mixed_before_recovery += 1
            assert (root / JOURNAL_NAME).exists(), f"killed at operation {kill_at}: a mix without a journal"
        recover(root)
        assert snapshot(root) in (old, new), f"killed at operation {kill_at}"
        assert leftovers(root) == []
    assert operations >= 20
    # only the four renames of the commit itself (three files, the manifest) can show a mix; the journal finishes them
    assert 0 < mixed_before_recovery <= 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_of_the_cli_at_random_points_leaves_the_old_or_the_new_set(tmp_path):
    old_inputs = corpus(tmp_path / "old", 1, epochs=2)
    new_inputs = corpus(tmp_path / "new", 4, epochs=8)
    template = tmp_path / "template"
    assert extract(*old_inputs, "--out", str(template), "-q").exit_code == 0
    (template / "user.txt").write_text("mine")
    old = snapshot(template)

    def run_into(out: Path):
        return lambda: main(["extract", *new_inputs, "-j", "1", "-q", "--out", str(out), "--errors", str(out / "errors.csv")], standalone_mode=False)

    reference = tmp_path / "reference"
    shutil.copytree(template, reference)
    started, staged = time.perf_counter(), []

    def watch() -> None:
        if not staged and any(p.name.startswith(STAGING_PREFIX) for p in reference.iterdir()):
            staged.append(time.perf_counter() - started)

    assert _fork(run_into(reference), watch=watch) == 0
    duration = time.perf_counter() - started
    writing = staged[0] if staged else 0.5 * duration  # when the staging folder appeared
    new = snapshot(reference)
    assert old != new and new["user.txt"] == b"mine"
    outcomes = {"old": 0, "new": 0, "journal": 0, "leftovers": 0}
    rng = random.Random(14)
    for trial in range(20):
        out = tmp_path / f"t{trial}"
        shutil.copytree(template, out)
        delay = rng.uniform(0.8 * writing, 1.3 * duration)  # before that the run only reads notebooks
        _fork(run_into(out), kill_after=delay)
        if (out / JOURNAL_NAME).exists():
            outcomes["journal"] += 1
            recover(out)
        seen = snapshot(out)
        assert seen in (old, new), f"trial {trial}, killed after {delay:.2f} s of {duration:.2f} s: {sorted(seen)}"
        outcomes["old" if seen == old else "new"] += 1
        if leftovers(out) and outcomes["leftovers"] < 2:  # the next run cleans what a killed one left
            outcomes["leftovers"] += 1
            assert _fork(run_into(out)) == 0
            assert snapshot(out) == new and leftovers(out) == []
    print(f"T={duration:.2f}s, writing from {writing:.2f}s", outcomes)
    assert outcomes["old"] and outcomes["new"], outcomes


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_two_concurrent_runs_into_one_folder_leave_one_complete_set(tmp_path):
    a, b = corpus(tmp_path / "a", 2), corpus(tmp_path / "b", 3, epochs=5)
    sets = {}
    for name, inputs in (("a", a), ("b", b)):
        assert extract(*inputs, "--out", str(tmp_path / f"ref-{name}"), "-q").exit_code == 0
        sets[name] = snapshot(tmp_path / f"ref-{name}")
    for trial in range(2):
        out = tmp_path / f"both{trial}"
        pids = []
        for inputs in (a, b):
            args = ["extract", *inputs, "--out", str(out), "-q", "-j", "1"]
            pids.append(_start_child(lambda args=args: main(args, standalone_mode=False)))
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        assert codes == [0, 0]
        assert snapshot(out) in (sets["a"], sets["b"])
        assert leftovers(out) == []


def test_a_second_writer_waits_for_the_lock_and_says_so(tmp_path):
    import fcntl

    root = tmp_path / "out"
    root.mkdir()
    holder = os.open(root, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    waited = threading.Event()
    done = threading.Event()

    def write() -> None:
        with OutputSet(root, on_wait=lambda where: waited.set()) as outputs:
            outputs.path(root / "x.txt").write_text("x")
            outputs.commit()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert waited.wait(10)
    time.sleep(0.2)
    assert not done.is_set() and not (root / "x.txt").exists()
    os.close(holder)
    thread.join(10)
    assert done.is_set() and (root / "x.txt").read_text() == "x"


# --------------------------------------------------------------------------- special destinations


def test_csv_dash_is_standard_output_and_run_lines_go_to_stderr(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = extract(notebook(tmp_path / "a.ipynb"), "--csv", "-", "--no-report")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("accuracy_multi,epoch,")
    assert len(result.stdout.splitlines()) == 3
    assert "wrote standard output" in result.stderr
    assert not (tmp_path / "-").exists()


def test_a_symlinked_csv_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real" / "metrics.csv"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert extract(notebook(tmp_path / "a.ipynb"), "--csv", str(link), "--no-report", "-q").exit_code == 0
    assert link.is_symlink() and target.read_text().startswith("accuracy_multi,")
    assert leftovers(tmp_path) == []


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert extract(notebook(tmp_path / "a.ipynb"), "--csv", str(fifo), "--no-report", "-q").exit_code == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and received[0].startswith(b"accuracy_multi,")


def test_a_link_to_our_own_stdout_is_written_through(tmp_path):
    """As ``--csv /dev/stdout`` (a link to /proc/self/fd/1): the link stays, the CSV reaches the pipe."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    done = subprocess.run(
        [sys.executable, "-m", "audiometrics", "extract", notebook(tmp_path / "a.ipynb"), "--csv", str(link), "--no-report"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert link.is_symlink()
    assert done.stdout.startswith("accuracy_multi,") and len(done.stdout.splitlines()) == 3
    assert "wrote" in done.stderr  # the run lines stay out of the CSV


# --------------------------------------------------------------------------- faults


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_disk_full_is_one_line_and_keeps_the_old_set(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "-q").exit_code == 0
    before = snapshot(out)

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_fsync_file", full)
    result = extract(notebook(tmp_path / "b.ipynb", epochs=3), "--out", str(out), "-q")
    assert result.exit_code == 1
    _no_traceback(result)
    assert result.stderr.strip().splitlines() == [f"error: cannot write {out / CSV}: no space left on device"]
    assert snapshot(out) == before and leftovers(out) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 96 KiB tmpfs (root with mount(8) only)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_real_full_disk_keeps_the_old_set(tmp_path, small_tmpfs):
    out = small_tmpfs / "out"
    nbs = corpus(tmp_path / "nb", 3, epochs=4)
    assert extract(nbs[0], "--out", str(out), "--no-report", "-q").exit_code == 0
    before = snapshot(out)
    result = extract(*nbs, "--out", str(out), "-q")  # plots do not fit
    assert result.exit_code == 1
    _no_traceback(result)
    assert "no space left on device" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(out) == before and leftovers(out) == []


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder this process cannot write: a read-only tmpfs as root, else mode 0o555."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "old.csv").write_text("old")
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode == 0
        if not mounted:
            pytest.skip("root and cannot mount a read-only tmpfs")
        (folder / "old.csv").write_text("old")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder, "read-only file system"
        subprocess.run(["umount", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        yield folder, "permission denied"
        folder.chmod(0o755)


def test_a_read_only_out_is_one_line_before_any_work(tmp_path, read_only_dir):
    folder, reason = read_only_dir
    result = extract(notebook(tmp_path / "a.ipynb"), "--out", str(folder), "-q")
    assert result.exit_code == 1
    _no_traceback(result)
    assert result.stderr.startswith(f"error: cannot write {folder}: {reason}")
    assert (folder / "old.csv").read_text() == "old"


def test_errors_on_a_read_only_location_is_one_line(tmp_path, read_only_dir):
    folder, reason = read_only_dir
    out = tmp_path / "out"
    result = extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--errors", str(folder / "errors.csv"), "-q")
    assert result.exit_code == 1
    _no_traceback(result)
    assert result.stderr.startswith(f"error: cannot write {folder / 'errors.csv'}: {reason}")
    assert not out.exists()


def test_out_under_a_regular_file_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = extract(notebook(tmp_path / "a.ipynb"), "--out", str(blocker / "out"), "-q")
    assert result.exit_code == 1
    _no_traceback(result)
    assert result.stderr.strip() == f"error: cannot write {blocker / 'out'}: {blocker} is not a directory"


def test_a_failure_found_only_while_writing_still_names_the_path(tmp_path, monkeypatch):
    """ENOTDIR after the checks (the folder became a file meanwhile): the same one line, nothing left behind."""
    out = tmp_path / "out"
    monkeypatch.setattr("audiometrics.pipeline.check_outputs", lambda options: None)
    out.write_text("now a file")
    result = extract(notebook(tmp_path / "a.ipynb"), "--out", str(out / "sub"), "-q")
    assert result.exit_code == 1
    _no_traceback(result)
    assert result.stderr.strip() == f"error: cannot write {out / 'sub'}: not a directory"


# --------------------------------------------------------------------------- options


def test_metric_names_ignore_case(tmp_path):
    path = notebook(tmp_path / "a.ipynb")
    result = extract(path, "--out", str(tmp_path / "o"), "--metric", "LWLRAP")
    assert result.exit_code == 0, result.stderr
    assert "best lwlrap" in result.stdout
    assert "lwlrap" in (tmp_path / "o" / "EXTRACTION_SUMMARY.md").read_text()
    report = runner().invoke(main, ["report", str(tmp_path / "o" / CSV), "--out", str(tmp_path / "r"), "--metric", "Valid_Loss", "--no-plots"])
    assert report.exit_code == 0, report.stderr


def test_unknown_metric_is_a_usage_error_listing_the_names_and_writes_nothing(tmp_path):
    out = tmp_path / "o"
    result = extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--metric", "foo")
    assert result.exit_code == 2
    _no_traceback(result)
    assert "metric 'foo' is not a metric column" in result.stderr
    assert "(available: lwlrap, train_loss, valid_loss)" in result.stderr
    assert not out.exists()
    streamed = extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--metric", "foo", "--no-report")
    assert streamed.exit_code == 2 and not out.exists()


def test_reversing_a_known_direction_needs_an_override_checked_before_extraction(tmp_path):
    missing = str(tmp_path / "missing.ipynb")  # extraction would fail with exit 1: the check comes first
    result = extract(missing, "--out", str(tmp_path / "o"), "--metric", "LWLRAP", "--lower-is-better")
    assert result.exit_code == 2
    assert "LWLRAP is known to be better when higher; add --force-direction" in result.stderr
    assert "no such file" not in result.stderr
    default = extract(notebook(tmp_path / "a.ipynb"), "--out", str(tmp_path / "o"), "--lower-is-better")  # lwlrap by default
    assert default.exit_code == 2 and "--force-direction" in default.stderr and not (tmp_path / "o").exists()
    forced = extract(notebook(tmp_path / "a.ipynb"), "--out", str(tmp_path / "o"), "--metric", "lwlrap", "--lower-is-better", "--force-direction")
    assert forced.exit_code == 0
    assert "warning: ranking lwlrap as better when lower, the reverse of its known direction" in forced.stderr
    agreeing = extract(notebook(tmp_path / "a.ipynb"), "--out", str(tmp_path / "o"), "--metric", "valid_loss", "--lower-is-better")
    assert agreeing.exit_code == 0 and "reverse" not in agreeing.stderr
    report = runner().invoke(main, ["report", str(tmp_path / "o" / CSV), "--out", str(tmp_path / "r"), "--higher-is-better", "--metric", "valid_loss"])
    assert report.exit_code == 2 and "--force-direction" in report.stderr


# --------------------------------------------------------------------------- install hints, README


def test_install_hints_work_from_a_checkout_and_from_an_installed_package(monkeypatch, tmp_path):
    from audiometrics import hints

    monkeypatch.chdir(ROOT)
    assert hints.install_hint("train") == "python3 -m pip install -e '.[train]'"
    monkeypatch.chdir(tmp_path)
    assert hints.install_hint("train") == f"python3 -m pip install -e '{ROOT}[train]'"
    monkeypatch.setattr(hints, "_checkout", lambda: None)
    assert hints.install_hint("dask") == "python3 -m pip install 'audiometrics[dask]'"


def test_readme_makes_a_virtual_environment_before_the_two_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The two commands") : readme.index("## Using it")]
    blocks = [block.split("```", 1)[0].strip() for block in section.split("```bash\n")[1:]]
    assert blocks[0] == "python3 -m venv .venv && . .venv/bin/activate"
    main_command, test_command = blocks[1], blocks[2]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.replace("pip install -e", "pip install -q -e") in ci
    assert main_command.split(" && ")[1].split(" --out ")[0] in ci
    assert "pip install 'audiometrics[" not in readme  # fails from a clone


def test_a_named_csv_without_reports_never_removes_anything_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("EXTRACTION_SUMMARY.md", "training_metrics_summary.md", "older.csv"):
        (tmp_path / name).write_text("the user's")
    assert extract(notebook(tmp_path / "a.ipynb"), "--csv", "older.csv", "--no-report", "-q").exit_code == 0
    assert extract(notebook(tmp_path / "a.ipynb"), "--csv", "new.csv", "--no-report", "-q").exit_code == 0
    assert (tmp_path / "EXTRACTION_SUMMARY.md").read_text() == "the user's"
    assert (tmp_path / "older.csv").read_text().startswith("accuracy_multi,") and (tmp_path / "new.csv").exists()
    assert not (tmp_path / MANIFEST_NAME).exists() and leftovers(tmp_path) == []


def test_a_csv_outside_out_joins_the_set_but_not_the_manifest(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere" / "m.csv"
    result = extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--csv", str(elsewhere), "-q")
    assert result.exit_code == 0, result.stderr
    assert elsewhere.read_text().startswith("accuracy_multi,")
    assert "m.csv" in (out / "EXTRACTION_SUMMARY.md").read_text()
    assert CSV not in snapshot(out) and "m.csv" not in snapshot(out)[MANIFEST_NAME].decode()
    assert leftovers(tmp_path) == []


def test_library_writes_go_through_links_and_into_fifos(tmp_path):
    from audiometrics.atomic import write_atomic

    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_atomic(fifo, "through")
    reader.join(10)
    assert received == ["through"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_the_library_raises_a_typed_error_naming_the_destination(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as caught:
        with OutputSet(blocker / "out") as outputs:
            outputs.path(blocker / "out" / "a.txt").write_text("a")
            outputs.commit()
    assert caught.value.path == str(blocker / "out") and caught.value.reason == "not a directory"
    assert blocker.read_text() == "x"


def test_a_crafted_manifest_cannot_remove_files_outside_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / MANIFEST_NAME).write_text('{"files": ["../victim.txt", "%s"]}' % victim)
    assert extract(notebook(tmp_path / "a.ipynb"), "--out", str(out), "--no-report", "-q").exit_code == 0
    assert victim.read_text() == "keep"


def test_ctrl_c_between_two_renames_still_completes_the_set(tmp_path, monkeypatch):
    root = tmp_path / "out"
    with OutputSet(root) as outputs:
        for name in ("a.txt", "b.txt"):
            outputs.path(root / name).write_text("old")
        outputs.commit()
    real_replace, interrupted = os.replace, []

    def interrupt_once(src, dst):
        if str(dst).endswith("b.txt") and not interrupted:
            interrupted.append(dst)
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        with OutputSet(root) as outputs:
            for name in ("a.txt", "b.txt"):
                outputs.path(root / name).write_text("new")
            outputs.commit()
    assert interrupted and (root / "a.txt").read_text() == (root / "b.txt").read_text() == "new"
    assert leftovers(root) == []
