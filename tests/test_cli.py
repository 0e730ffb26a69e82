"""The ``audiometrics extract`` command: outputs, messages, exit status."""

from __future__ import annotations


from audiometrics.cli.main import main
from audiometrics.epochs.schema import SCHEMA
from tests import nbfactory as nbf

LEARNER = nbf.LEARNER


def good_notebook(tmp_path, name="run one.ipynb"):
    cells = [
        nbf.code_cell(LEARNER),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2))),
    ]
    return nbf.write(tmp_path / name, nbf.notebook(cells))


runner = nbf.cli_runner


def test_extract_writes_csv_and_prints_a_run_line(tmp_path):
    path = good_notebook(tmp_path)
    out = tmp_path / "out"
    result = runner().invoke(main, ["extract", str(path), "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    lines = (out / "training_metrics_extracted.csv").read_text().splitlines()
    assert lines[0] == ",".join(SCHEMA)
    assert len(lines) == 3
    assert "run one.ipynb" in result.stdout and "resnet18" in result.stdout and "best lwlrap" in result.stdout


def test_with_source_and_csv_path(tmp_path):
    path = good_notebook(tmp_path)
    target = tmp_path / "custom" / "m.csv"
    result = runner().invoke(main, ["extract", str(path), "--csv", str(target), "--with-source", "--no-report", "-q"])
    assert result.exit_code == 0
    header = target.read_text().splitlines()[0]
    assert header.endswith(",notebook,run,cell,call,planned_epochs,interrupted,framework")
    assert result.stdout == ""


def test_bad_file_exits_1_and_still_writes_the_good_ones(tmp_path):
    good = good_notebook(tmp_path)
    bad = tmp_path / "broken.ipynb"
    bad.write_text('{"cells": [')
    out = tmp_path / "out"
    result = runner().invoke(main, ["extract", str(bad), str(good), "--out", str(out), "--no-report"])
    assert result.exit_code == 1
    assert f"error: {bad}: truncated JSON" in result.stderr
    assert len((out / "training_metrics_extracted.csv").read_text().splitlines()) == 3


def test_missing_file_is_a_file_error_not_a_usage_error(tmp_path):
    result = runner().invoke(main, ["extract", str(tmp_path / "nope.ipynb"), "--out", str(tmp_path), "--no-report"])
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    assert runner().invoke(main, ["extract"]).exit_code == 2
    assert runner().invoke(main, ["extract", "--bogus", "x"]).exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner().invoke(main, ["extract", str(empty)])
    assert result.exit_code == 2
    assert "no notebooks found" in result.stderr


def test_warnings_name_file_and_cell(tmp_path):
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(20, 3e-3)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(5)))]
    path = nbf.write(tmp_path / "x.ipynb", nbf.notebook(cells))
    result = runner().invoke(main, ["extract", str(path), "--out", str(tmp_path), "--no-report"])
    assert result.exit_code == 0
    assert f"warning: {path}, In [2] (cell 2): phase 1 (learn.fit_one_cycle(20, 3e-3)) incomplete: 5 of 20 epochs recorded" in result.stderr


def test_glob_expanded_by_the_tool(tmp_path):
    good_notebook(tmp_path, "a.ipynb")
    good_notebook(tmp_path, "b.ipynb")
    result = runner().invoke(main, ["extract", str(tmp_path / "*.ipynb"), "--out", str(tmp_path / "o"), "--no-report"])
    assert result.exit_code == 0
    assert len((tmp_path / "o" / "training_metrics_extracted.csv").read_text().splitlines()) == 5


def test_phase_warnings_are_said_once(tmp_path):
    outputs = nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(5)) + nbf.legacy_fit_outputs(nbf.COLUMNS, [])
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(20, 3e-3)\nlearn.fit_one_cycle(5, 1e-3)", outputs)]
    path = nbf.write(tmp_path / "x.ipynb", nbf.notebook(cells))
    result = runner().invoke(main, ["extract", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert sum("5 of 20 epochs recorded" in line for line in lines) == 1
    assert sum("no epochs recorded" in line for line in lines) == 1
    assert "5 of 20 epochs recorded" in (tmp_path / "out" / "training_metrics_summary.md").read_text()


def test_csv_only_run_streams_rows_and_writes_the_same_csv(tmp_path):
    from audiometrics.pipeline import extract_paths_to_outputs

    columns2 = ("epoch", "train_loss", "valid_loss", "f1_score", "lwlrap", "time")
    paths = [good_notebook(tmp_path, f"n{i}.ipynb") for i in range(3)]
    extra = [
        nbf.code_cell(LEARNER),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-3)", nbf.legacy_fit_outputs(columns2, [(str(i), "0.5", "0.4", "0.7", "0.3", "00:02") for i in range(2)])),
    ]
    paths.insert(1, nbf.write(tmp_path / "extra column.ipynb", nbf.notebook(extra)))
    (tmp_path / "bad.ipynb").write_text("{")
    paths.append(tmp_path / "bad.ipynb")
    streamed, written, _ = extract_paths_to_outputs(paths, tmp_path / "a", report=False, with_source=True)
    kept, _, _ = extract_paths_to_outputs(paths, tmp_path / "b", report=True, with_source=True)
    assert (tmp_path / "a" / "training_metrics_extracted.csv").read_bytes() == (tmp_path / "b" / "training_metrics_extracted.csv").read_bytes()
    assert written == [tmp_path / "a" / "training_metrics_extracted.csv", tmp_path / "a" / "runs.csv"]
    assert all(result.runs == () for result in streamed.results)  # no rows held
    assert [str(f) for f in streamed.failures] == [str(f) for f in kept.failures]
    header = (tmp_path / "a" / "training_metrics_extracted.csv").read_text().splitlines()[0]
    assert header.endswith(",f1_score,notebook,run,cell,call,planned_epochs,interrupted,framework")


def test_run_lines_are_the_same_with_and_without_report(tmp_path):
    path = good_notebook(tmp_path)
    with_report = runner().invoke(main, ["extract", str(path), "--out", str(tmp_path / "a")])
    without = runner().invoke(main, ["extract", str(path), "--out", str(tmp_path / "b"), "--no-report"])
    assert with_report.exit_code == without.exit_code == 0
    assert with_report.stdout.splitlines()[:2] == without.stdout.splitlines()[:2]
    assert "2 epoch rows from 1 run in 1 of 1 notebook" in without.stdout
