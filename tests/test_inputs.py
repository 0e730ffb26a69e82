"""Command-line inputs → notebook paths: files, folders, globs expanded by the tool, each path once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audiometrics.read.inputs import collect_notebooks


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return str(path)


@pytest.fixture
def tree(tmp_path):
    """a.ipynb, b.ipynb, notes.txt, sub/c.ipynb, sub/deeper/d.ipynb, checkpoints and hidden folders."""
    for name in (
        "a.ipynb",
        "b.ipynb",
        "notes.txt",
        "sub/c.ipynb",
        "sub/deeper/d.ipynb",
        ".ipynb_checkpoints/a-checkpoint.ipynb",
        "sub/.ipynb_checkpoints/c-checkpoint.ipynb",
        ".hidden/e.ipynb",
    ):
        touch(tmp_path / name)
    return tmp_path


def rel(paths, root):
    return [os.path.relpath(p, root) for p in paths]


def test_a_directory_is_walked_recursively_sorted_skipping_checkpoints_and_hidden_folders(tree):
    assert rel(collect_notebooks([str(tree)]), tree) == [
        "a.ipynb",
        "b.ipynb",
        os.path.join("sub", "c.ipynb"),
        os.path.join("sub", "deeper", "d.ipynb"),
    ]


def test_files_are_kept_in_input_order_whatever_their_extension(tree):
    given = [str(tree / "sub" / "c.ipynb"), str(tree / "a.ipynb"), str(tree / "notes.txt")]
    assert collect_notebooks(given) == given


def test_a_missing_file_is_passed_through_for_the_reader_to_report(tree):
    missing = str(tree / "nope.ipynb")
    assert collect_notebooks([missing]) == [missing]


def test_globs_are_expanded_by_the_tool(tree):
    assert rel(collect_notebooks([str(tree / "*.ipynb")]), tree) == ["a.ipynb", "b.ipynb"]
    assert rel(collect_notebooks([str(tree / "?.ipynb")]), tree) == ["a.ipynb", "b.ipynb"]
    assert rel(collect_notebooks([str(tree / "[b].ipynb")]), tree) == ["b.ipynb"]


def test_recursive_globs_skip_checkpoints(tree):
    found = rel(collect_notebooks([str(tree / "**" / "*.ipynb")]), tree)
    assert found == ["a.ipynb", "b.ipynb", os.path.join("sub", "c.ipynb"), os.path.join("sub", "deeper", "d.ipynb")]
    assert not any(".ipynb_checkpoints" in p for p in found)


def test_a_glob_matching_folders_walks_them(tree):
    assert rel(collect_notebooks([str(tree / "su*")]), tree) == [
        os.path.join("sub", "c.ipynb"),
        os.path.join("sub", "deeper", "d.ipynb"),
    ]


def test_a_glob_matching_nothing_is_passed_through(tree):
    pattern = str(tree / "*.nothing")
    assert collect_notebooks([pattern]) == [pattern]


def test_a_file_whose_name_looks_like_a_glob_is_taken_as_a_file(tmp_path):
    odd = touch(tmp_path / "run[1].ipynb")
    touch(tmp_path / "run1.ipynb")
    assert collect_notebooks([odd]) == [odd]


def test_duplicates_are_read_once_in_first_seen_order(tree, monkeypatch):
    a = str(tree / "a.ipynb")
    monkeypatch.chdir(tree)
    given = [a, str(tree), "a.ipynb", os.path.join(".", "sub", "..", "a.ipynb"), str(tree / "*.ipynb"), a]
    found = collect_notebooks(given)
    assert found[0] == a
    assert len(found) == len({os.path.abspath(p) for p in found}) == 4
    assert rel(found, tree) == [
        "a.ipynb",
        "b.ipynb",
        os.path.join("sub", "c.ipynb"),
        os.path.join("sub", "deeper", "d.ipynb"),
    ]


def test_relative_paths_stay_relative(tree, monkeypatch):
    monkeypatch.chdir(tree)
    assert collect_notebooks(["sub"]) == [os.path.join("sub", "c.ipynb"), os.path.join("sub", "deeper", "d.ipynb")]


def test_empty_inputs_and_empty_folders(tmp_path):
    assert collect_notebooks([]) == []
    (tmp_path / "empty").mkdir()
    assert collect_notebooks([str(tmp_path / "empty")]) == []


def test_a_folder_given_twice_through_different_spellings(tree):
    assert collect_notebooks([str(tree), str(tree) + os.sep, str(tree / "sub" / "..")]) == collect_notebooks([str(tree)])


# --------------------------------------------------------------------------- links, loops, unreadable folders


def _collect_in_subprocess(args, cwd):
    """collect_notebooks(args) in a fresh interpreter, killed after a minute (a hang fails, not blocks)."""
    import json
    import subprocess
    import sys

    code = "import json, sys; from audiometrics.read.inputs import collect_notebooks; print(json.dumps(collect_notebooks(sys.argv[1:])))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"collect_notebooks({args}) did not finish in 60 s")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def looped(tmp_path):
    """a/x.ipynb, a/b/y.ipynb, and two links back up: a/b/up -> a, a/b/top -> the root."""
    touch(tmp_path / "a" / "x.ipynb")
    touch(tmp_path / "a" / "b" / "y.ipynb")
    os.symlink("..", tmp_path / "a" / "b" / "up")
    os.symlink(os.path.join("..", ".."), tmp_path / "a" / "b" / "top")
    return tmp_path


def test_a_recursive_glob_through_link_loops_lists_each_notebook_once(looped):
    expected = [os.path.join("a", "b", "y.ipynb"), os.path.join("a", "x.ipynb")]
    assert _collect_in_subprocess([os.path.join("**", "*.ipynb")], looped) == expected
    found = _collect_in_subprocess([str(looped / "**" / "*.ipynb")], looped)
    assert rel(found, looped) == expected


def test_a_folder_search_follows_links_once_through_loops(looped):
    found = _collect_in_subprocess(["a", "."], looped)
    assert found == [os.path.join("a", "x.ipynb"), os.path.join("a", "b", "y.ipynb")]


def test_a_linked_folder_is_searched(tmp_path):
    touch(tmp_path / "elsewhere" / "z.ipynb")
    (tmp_path / "study").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "study" / "linked")
    assert rel(collect_notebooks([str(tmp_path / "study")]), tmp_path) == [os.path.join("study", "linked", "z.ipynb")]


def test_a_notebook_reached_under_two_names_is_listed_once_under_the_first(tmp_path):
    real = touch(tmp_path / "real.ipynb")
    os.symlink(real, tmp_path / "alias.ipynb")
    alias = str(tmp_path / "alias.ipynb")
    assert collect_notebooks([alias, real, str(tmp_path)]) == [alias]


def test_the_pattern_semantics_of_recursive_globs(tree):
    assert rel(collect_notebooks([str(tree / "**" / "c.ipynb")]), tree) == [os.path.join("sub", "c.ipynb")]
    assert rel(collect_notebooks([str(tree / "**" / "deeper")]), tree) == [os.path.join("sub", "deeper", "d.ipynb")]
    assert rel(collect_notebooks([str(tree / "sub" / "**")]), tree) == [
        os.path.join("sub", "c.ipynb"),
        os.path.join("sub", "deeper", "d.ipynb"),
    ]
    assert rel(collect_notebooks([str(tree / "**" / ".hidden" / "*.ipynb")]), tree) == [os.path.join(".hidden", "e.ipynb")]


def _unlistable(monkeypatch, *folders):
    """os.scandir fails with EACCES on ``folders`` (the tests run as root, who can list anything)."""
    real = os.scandir
    refused = {os.path.realpath(f) for f in folders}

    def scandir(path="."):
        if not isinstance(path, int) and os.path.realpath(os.fspath(path)) in refused:  # shutil.rmtree passes fds
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_that_cannot_be_listed_is_passed_on_in_place_of_its_notebooks(tree, monkeypatch):
    _unlistable(monkeypatch, tree / "sub" / "deeper")
    assert rel(collect_notebooks([str(tree)]), tree) == ["a.ipynb", "b.ipynb", os.path.join("sub", "c.ipynb"), os.path.join("sub", "deeper")]
    assert rel(collect_notebooks([str(tree / "**" / "*.ipynb")]), tree) == [
        "a.ipynb",
        "b.ipynb",
        os.path.join("sub", "c.ipynb"),
        os.path.join("sub", "deeper"),
    ]


def test_reading_a_folder_that_cannot_be_listed_says_so(tree, monkeypatch):
    from audiometrics.errors import NotebookError
    from audiometrics.read.notebook import read_notebook

    with pytest.raises(NotebookError, match="is a directory, not a notebook file"):
        read_notebook(tree / "sub")
    _unlistable(monkeypatch, tree / "sub")
    with pytest.raises(NotebookError, match=r"folder cannot be read \(Permission denied\)"):
        read_notebook(tree / "sub")


def test_the_cli_reports_each_unreadable_folder_and_exits_1(tmp_path, monkeypatch):
    from audiometrics.cli.main import main
    from tests import nbfactory as nbf

    cells = [
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2))),
    ]
    (tmp_path / "study" / "locked").mkdir(parents=True)
    (tmp_path / "study" / "shut").mkdir()
    nbf.write(tmp_path / "study" / "good.ipynb", nbf.notebook(cells))
    nbf.write(tmp_path / "study" / "locked" / "hidden_from_us.ipynb", nbf.notebook(cells))
    _unlistable(monkeypatch, tmp_path / "study" / "locked", tmp_path / "study" / "shut")
    out = tmp_path / "out"
    result = nbf.cli_runner().invoke(main, ["extract", str(tmp_path / "study"), "--out", str(out), "--no-report", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert all("folder cannot be read (Permission denied)" in line for line in errors)
    assert str(tmp_path / "study" / "locked") in errors[0] and str(tmp_path / "study" / "shut") in errors[1]
    assert len((out / "training_metrics_extracted.csv").read_text().splitlines()) == 3  # the good notebook's rows
