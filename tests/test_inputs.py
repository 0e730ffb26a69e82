"""Command-line inputs → notebook paths: files, folders, globs expanded by the tool, each path once."""

from __future__ import annotations

import os

import pytest

from audiometrics.inputs import collect_notebooks


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
