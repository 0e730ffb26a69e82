"""Issue 14, per-file isolation: hostile names, headers and cells never take the job down.

Each case runs the command line on the hostile notebook between a good one and a
broken one: the good rows and the broken file's error must always be written.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path

import pytest

from audiometrics.runs.boundary import clean_text, guard_columns
from audiometrics.cli.main import main
from audiometrics.errors import LoaderWarning
from audiometrics.epochs.loader import load_metrics
from tests import nbfactory as nbf

runner = nbf.cli_runner


def _write_escaped(path: Path | bytes, document: dict) -> None:
    """Write JSON with ``\\uXXXX`` escapes, so that lone surrogates survive as they do in real files."""
    with open(path, "w", encoding="ascii") as handle:
        handle.write(json.dumps(document))


def _notebook(learner: str = nbf.LEARNER, columns=nbf.COLUMNS, rows=None) -> dict:
    fit = nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(columns, rows or nbf.epoch_rows(2)))
    return nbf.notebook([nbf.code_cell(learner), fit])


def _run(tmp_path: Path, hostile_name: str | bytes, document: dict, *extra: str):
    folder = tmp_path / "in"
    folder.mkdir()
    nbf.write(folder / "a_good.ipynb", _notebook())
    (folder / "z_broken.ipynb").write_text('{"cells": [')
    _write_escaped(os.path.join(os.fsencode(folder), os.fsencode(hostile_name)), document)
    out = tmp_path / "out"
    errors = tmp_path / "errors.csv"
    result = runner().invoke(main, ["extract", str(folder), "--out", str(out), "--errors", str(errors), "-q", *extra])
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    with open(errors, newline="", encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))
    assert [Path(row["path"]).name for row in failed] == ["z_broken.ipynb"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoaderWarning)  # a repaired cell may hold no number
        frame = load_metrics(out / "training_metrics_extracted.csv")
    return result, frame, out


MODES = [[], ["--with-source"], ["--no-report"], ["--no-report", "--with-source"]]


@pytest.mark.parametrize("mode", MODES)
def test_a_column_named_like_a_source_column_is_renamed(tmp_path, mode):
    columns = ("epoch", "train_loss", "valid_loss", "notebook", "run", "cell", "model", "valid_loss", "time")
    rows = [(str(i), "0.5", "0.4", "0.1", "0.2", "0.3", "0.9", "0.35", "00:01") for i in range(2)]
    result, frame, _ = _run(tmp_path, "hostile.ipynb", _notebook(columns=columns, rows=rows), *mode)
    assert len(frame) == 4
    hostile = frame[frame["valid_loss_2"].notna()]
    assert hostile["metric_notebook"].tolist() == [0.1, 0.1] and hostile["metric_run"].tolist() == [0.2, 0.2]
    assert hostile["metric_cell"].tolist() == [0.3, 0.3] and hostile["metric_model"].tolist() == [0.9, 0.9]
    assert hostile["valid_loss"].tolist() == [0.4, 0.4] and hostile["valid_loss_2"].tolist() == [0.35, 0.35]
    assert hostile["model"].tolist() == ["resnet18"] * 2
    assert "progress-table column 'notebook' renamed 'metric_notebook'" in result.stderr
    assert "progress-table column 'valid_loss' renamed 'valid_loss_2'" in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_lone_surrogate_in_a_table_cell(tmp_path, mode):
    rows = [("0", "0.5", "0.4", "0.\ud8001", "00:01"), ("1", "0.4", "0.3", "0.2", "00:01")]
    result, frame, _ = _run(tmp_path, "hostile.ipynb", _notebook(rows=rows), *mode)
    assert len(frame) == 4
    assert "progress-table values held undecodable text (replaced with U+FFFD)" in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_lone_surrogate_in_a_model_name_literal(tmp_path, mode):
    learner = 'learn = vision_learner(dls, "res\ud800net", pretrained=False, metrics=lwlrap)'
    result, frame, out = _run(tmp_path, "hostile.ipynb", _notebook(learner), *mode)
    assert sorted(set(frame["model"])) == ["resnet18", "res\ufffdnet"]
    assert "the code held undecodable text" in result.stderr
    if "--no-report" not in mode:
        assert "res\ufffdnet" in (out / "EXTRACTION_SUMMARY.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", MODES)
def test_a_lone_surrogate_in_a_column_header(tmp_path, mode):
    columns = ("epoch", "train_loss", "valid_loss", "lw\ud800lrap", "time")
    result, frame, _ = _run(tmp_path, "hostile.ipynb", _notebook(columns=columns), *mode)
    assert "lw\ufffdlrap" in frame.columns and frame["lw\ufffdlrap"].notna().sum() == 2
    assert "progress-table column 'lw\ufffdlrap' held undecodable text" in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_file_name_that_is_not_utf8(tmp_path, mode):
    result, frame, out = _run(tmp_path, b"bad\xffname.ipynb", _notebook(), *mode)
    assert len(frame) == 4
    assert "the file name held undecodable text" in result.stderr
    if "--with-source" in mode:
        assert sorted(set(frame["notebook"])) == ["a_good.ipynb", "bad\ufffdname.ipynb"]


def test_a_broken_file_whose_name_is_not_utf8_is_still_listed(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    nbf.write(folder / "good.ipynb", _notebook())
    with open(os.path.join(os.fsencode(folder), b"brok\xfeen.ipynb"), "w") as handle:
        handle.write("{")
    errors = tmp_path / "errors.csv"
    result = runner().invoke(main, ["extract", str(folder), "--out", str(tmp_path / "out"), "--errors", str(errors), "-q"])
    assert result.exit_code == 1, result.exception
    assert "brok\ufffden.ipynb" in errors.read_text(encoding="utf-8")
    assert len(load_metrics(tmp_path / "out" / "training_metrics_extracted.csv")) == 2


@pytest.mark.parametrize("mode", MODES)
def test_control_characters_in_names_and_headers_are_removed(tmp_path, mode):
    learner = 'learn = vision_learner(dls, "res\x1b[31mnet\u202e", pretrained=False, metrics=lwlrap)'
    columns = ("epoch", "train_loss", "valid_loss", "lw\x07lrap", "time")
    result, frame, _ = _run(tmp_path, "hostile.ipynb", _notebook(learner, columns=columns), *mode)
    assert sorted(set(frame["model"])) == ["resnet", "resnet18"]
    assert frame["lwlrap"].notna().sum() == 4
    assert "model name 'resnet' held control characters (removed)" in result.stderr
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout


def test_guard_columns():
    assert guard_columns(["epoch", "notebook", "metric_notebook", "time"]) == (
        ("epoch", "metric_notebook_2", "metric_notebook", "time"),
        ["progress-table column 'notebook' renamed 'metric_notebook_2': the CSV or the loader has a column of that name"],
    )
    names, messages = guard_columns(["epoch", "", "a", "a", "a", "global_epoch", "lr_max"])
    assert names == ("epoch", "unnamed_2", "a", "a_2", "a_3", "metric_global_epoch", "metric_lr_max")
    assert len(messages) == 5


def test_clean_text():
    assert clean_text("res\ud800net\tx\x1b\u202e") == "res\ufffdnet x"
    assert clean_text("plain text – ü") == "plain text – ü"


# --------------------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from audiometrics.runs.boundary import guard_result  # noqa: E402
from audiometrics.epochs.csv_runs import runs_from_csv  # noqa: E402
from audiometrics.epochs.csv_file import FORMULA_START, write_csv  # noqa: E402
from audiometrics.epochs.rows import rows_from_runs  # noqa: E402
from audiometrics.model import NotebookResult, Phase, Run  # noqa: E402

hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(
    ["=1+1", "-00:05", "@x", "+", "'=a", "\ud800", "\x1b[31m", "notebook", "run", "", "model"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=hostile_text, header=hostile_text, cell=hostile_text, name=hostile_text)
def test_any_notebook_text_is_written_and_read_back_as_the_boundary_left_it(tmp_path, model, header, cell, name):
    columns = ("epoch", header, "time")
    phase = Phase(1, "fit", 1, "1e-3", False, 1, columns, (("0", cell, "00:01"),), "learn.fit(1)")
    result = guard_result(NotebookResult(f"{name}.ipynb", (Run(f"{name}.ipynb", model, False, (phase,)),)))
    path = tmp_path / "m.csv"
    rows = rows_from_runs(result.runs, with_source=True)
    write_csv(path, rows, with_source=True)  # never raises, whatever the notebook held
    text = path.read_text(encoding="utf-8")
    for value in (c for line in csv.reader(text.splitlines()) for c in line):
        assert not value or value[0] not in FORMULA_START or _number(value), value
    back = runs_from_csv(path)
    assert _filled(rows_from_runs(back, with_source=True, root="")) == _filled(rows)


def _filled(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows without their empty cells (a column no row fills is not in the CSV)."""
    return [{key: value for key, value in row.items() if value} for row in rows]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
