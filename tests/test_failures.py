"""The failure summary, ``--errors PATH`` and ``--strict``."""

from __future__ import annotations

import csv
import io
import os

import pytest

from audiometrics.cli.main import main
from audiometrics.errors import NotebookError
from audiometrics.pipeline import extract, extract_files
from audiometrics.failures import (
    STRICT_REASON,
    group_failures,
    reason_kind,
    render_errors_csv,
    summary_lines,
    write_errors_csv,
)
from tests import nbfactory as nbf

LEARNER = nbf.LEARNER


runner = nbf.cli_runner


def clean_notebook(path):
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2)))]
    return str(nbf.write(path, nbf.notebook(cells)))


def warned_notebook(path):
    """Three of twenty planned epochs: an 'incomplete' warning on In [2] (cell 2)."""
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(20, 3e-3)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(3)))]
    return str(nbf.write(path, nbf.notebook(cells)))


# --------------------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    "reason, kind",
    [
        ("no such file", "no such file"),
        ("empty file", "empty file"),
        ("is a directory, not a notebook file", "is a directory, not a notebook file"),
        ("cannot be read (Permission denied)", "cannot be read"),
        ("binary file, not a notebook (contains NUL bytes)", "binary file, not a notebook"),
        ("not UTF-8 text (byte 12): not a notebook", "not UTF-8 text"),
        ("truncated JSON: the file ends before the document does (line 3)", "truncated JSON"),
        ("invalid JSON at line 3, column 5: Expecting value", "invalid JSON"),
        ("invalid JSON: nested too deeply", "invalid JSON"),
        ("not a notebook: no 'nbformat' key", "not a notebook"),
        ("not a notebook: cell 3 is not an object", "not a notebook"),
        ("unsupported nbformat version 5 (only 4, and 3 by conversion, are supported)", "unsupported nbformat version 5"),
        ("nbformat 3 notebook that cannot be converted to 4 (KeyError: 'x')", "nbformat 3 notebook that cannot be converted to 4"),
        ("internal error (TypeError: boom); please report it", "internal error"),
        ("the worker process reading it died (out of memory, or a crash)", "the worker process reading it died"),
        (f"{STRICT_REASON}: cell 1: phase 1 (x) incomplete: 3 of 20 epochs recorded", STRICT_REASON),
        ("", "unknown"),
    ],
)
def test_reason_kinds(reason, kind):
    assert reason_kind(reason) == kind


def test_groups_largest_first_then_first_seen_and_keep_order_within():
    failures = [
        NotebookError("a", "no such file"),
        NotebookError("b", "invalid JSON at line 1, column 2: x"),
        NotebookError("c", "invalid JSON at line 9, column 9: y"),
        NotebookError("d", "empty file"),
        NotebookError("e", "no such file"),
        NotebookError("f", "invalid JSON at line 1, column 1: z"),
    ]
    groups = group_failures(failures)
    assert [(kind, [f.path for f in members]) for kind, members in groups] == [
        ("invalid JSON", ["b", "c", "f"]),
        ("no such file", ["a", "e"]),
        ("empty file", ["d"]),
    ]


def test_summary_lists_files_by_group_then_counts():
    failures = [NotebookError("a.ipynb", "no such file"), NotebookError("b.ipynb", "empty file"), NotebookError("c.ipynb", "no such file")]
    assert summary_lines(failures, 10) == [
        "error: a.ipynb: no such file",
        "error: c.ipynb: no such file",
        "error: b.ipynb: empty file",
        "failed: 3 of 10 notebooks, by reason:",
        "  2  no such file",
        "  1  empty file",
    ]
    assert summary_lines([], 10) == []


def test_summary_can_list_a_few_per_group_and_point_to_the_file():
    failures = [NotebookError(f"{i}.ipynb", "no such file") for i in range(30)]
    lines = summary_lines(failures, 100, per_group=3, errors_path="errs.csv")
    assert lines[:4] == [
        "error: 0.ipynb: no such file",
        "error: 1.ipynb: no such file",
        "error: 2.ipynb: no such file",
        "error: ... and 27 more: no such file; all in errs.csv",
    ]
    assert lines[-1] == "  30  no such file"


def test_errors_csv_quotes_what_needs_quoting_and_is_written_atomically(tmp_path):
    failures = [NotebookError("dir, with comma/a.ipynb", 'invalid JSON at line 1, column 2: "quoted"'), NotebookError("b.ipynb", "empty file")]
    target = tmp_path / "sub" / "errors.csv"
    target.parent.mkdir()
    target.write_text("old content")
    write_errors_csv(target, failures)
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows == [["path", "reason"], ["dir, with comma/a.ipynb", 'invalid JSON at line 1, column 2: "quoted"'], ["b.ipynb", "empty file"]]
    assert os.listdir(target.parent) == ["errors.csv"]  # no temporary file left behind
    assert render_errors_csv([]) == "path,reason\n"


# --------------------------------------------------------------------------- strict, library


def test_strict_turns_a_warned_file_into_a_failure_without_rows(tmp_path):
    clean, warned = clean_notebook(tmp_path / "clean.ipynb"), warned_notebook(tmp_path / "warned.ipynb")
    lenient = extract_files([clean, warned])
    assert not lenient.failures and len(lenient.rows()) == 5 and lenient.diagnostics
    strict = extract_files([clean, warned], strict=True)
    assert [r.path for r in strict.results] == [clean]
    assert len(strict.rows()) == 2 and not strict.diagnostics
    (failure,) = strict.failures
    assert failure.path == warned
    assert failure.reason == f"{STRICT_REASON}: In [2] (cell 2): phase 1 (learn.fit_one_cycle(20, 3e-3)) incomplete: 3 of 20 epochs recorded"


def test_strict_in_extract(tmp_path):
    clean, warned = clean_notebook(tmp_path / "clean.ipynb"), warned_notebook(tmp_path / "warned.ipynb")
    with pytest.warns(UserWarning, match="warned.ipynb"):
        frame = extract([clean, warned], strict=True)
    assert len(frame) == 2
    with pytest.raises(NotebookError, match="strict"):
        extract([clean, warned], strict=True, on_error="raise")


# --------------------------------------------------------------------------- CLI


def test_cli_errors_csv_lists_every_failure(tmp_path):
    good = clean_notebook(tmp_path / "good.ipynb")
    (tmp_path / "bad.ipynb").write_text("{")
    errors = tmp_path / "errors.csv"
    result = runner().invoke(
        main, ["extract", good, str(tmp_path / "bad.ipynb"), str(tmp_path / "gone.ipynb"), "--out", str(tmp_path / "o"), "--no-report", "--errors", str(errors)]
    )
    assert result.exit_code == 1
    rows = list(csv.DictReader(errors.open()))
    assert [(os.path.basename(r["path"]), r["reason"].split(":")[0]) for r in rows] == [("bad.ipynb", "truncated JSON"), ("gone.ipynb", "no such file")]
    assert "failed: 2 of 3 notebooks, by reason:" in result.stderr
    assert str(errors) in result.stdout


def test_cli_errors_csv_is_written_when_nothing_failed(tmp_path):
    errors = tmp_path / "errors.csv"
    result = runner().invoke(main, ["extract", clean_notebook(tmp_path / "g.ipynb"), "--out", str(tmp_path / "o"), "--no-report", "--errors", str(errors)])
    assert result.exit_code == 0
    assert errors.read_text() == "path,reason\n"
    assert "failed" not in result.stderr


def test_cli_many_failures_are_summarised_when_written_to_a_file(tmp_path):
    paths = [str(tmp_path / f"gone{i}.ipynb") for i in range(25)] + [clean_notebook(tmp_path / "g.ipynb")]  # one readable
    errors = tmp_path / "errors.csv"
    result = runner().invoke(main, ["extract", *paths, "--out", str(tmp_path / "o"), "--no-report", "--errors", str(errors), "-j", "1"])
    assert result.exit_code == 1
    assert result.stderr.count("error: ") == 4
    assert f"error: ... and 22 more: no such file; all in {errors}" in result.stderr
    assert len(errors.read_text().splitlines()) == 26
    listed = runner().invoke(main, ["extract", *paths, "--out", str(tmp_path / "o"), "--no-report", "-j", "1"])
    assert listed.stderr.count("error: ") == 25  # without --errors every failure is listed


def test_cli_strict_fails_a_warned_file_and_leaves_out_its_rows(tmp_path):
    clean, warned = clean_notebook(tmp_path / "clean.ipynb"), warned_notebook(tmp_path / "warned.ipynb")
    out = tmp_path / "o"
    lenient = runner().invoke(main, ["extract", clean, warned, "--out", str(out), "--no-report"])
    assert lenient.exit_code == 0
    assert "warning: " in lenient.stderr
    assert len((out / "training_metrics_extracted.csv").read_text().splitlines()) == 6
    errors = tmp_path / "errors.csv"
    strict = runner().invoke(main, ["extract", clean, warned, "--out", str(out), "--no-report", "--strict", "--errors", str(errors)])
    assert strict.exit_code == 1
    assert f"error: {warned}: {STRICT_REASON}: In [2] (cell 2): phase 1" in strict.stderr
    assert "warning: " not in strict.stderr  # the warning is the failure's reason now
    assert len((out / "training_metrics_extracted.csv").read_text().splitlines()) == 3
    assert list(csv.DictReader(errors.open()))[0]["path"] == warned
    assert "in 1 of 2 notebooks" in strict.stdout


def test_cli_strict_passes_clean_files(tmp_path):
    result = runner().invoke(main, ["extract", clean_notebook(tmp_path / "c.ipynb"), "--out", str(tmp_path / "o"), "--no-report", "--strict"])
    assert result.exit_code == 0
