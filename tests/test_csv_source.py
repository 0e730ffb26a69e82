"""Run identity through the CSV (issue 9, pattern 10), learner learning rates, formula
neutralising and the loader's refusals (issue 14)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from audiometrics.cli.main import main
from audiometrics.epochs.csv_runs import parse_cell, runs_from_csv
from audiometrics.errors import LoaderWarning, MetricsFileError
from audiometrics.epochs.csv_file import neutralise_formula, restore_formula, write_csv
from audiometrics.epochs.loader import load_metrics
from audiometrics.epochs.rows import rows_from_runs
from audiometrics.epochs.schema import SCHEMA, SOURCE_COLUMNS, learning_rate_text
from audiometrics.epochs.values import lr_upper, time_to_seconds
from audiometrics.model import Phase, Run
from tests import nbfactory as nbf

runner = nbf.cli_runner
COLUMNS = nbf.COLUMNS


def _fit(call: str, rows, *, interrupted: bool = False) -> dict:
    outputs = nbf.legacy_fit_outputs(COLUMNS, rows)
    if interrupted:
        outputs.append(nbf.error_output())
    return nbf.code_cell(call, outputs)


def _single_phase_runs_notebook(path: Path, runs: int = 3) -> Path:
    """``runs`` learners of one architecture, each trained once: the old guess merges them."""
    cells = []
    for k in range(runs):
        cells += [nbf.code_cell(nbf.LEARNER), _fit("learn.fit_one_cycle(2, 1e-2)", nbf.epoch_rows(2, seed=0.5 + k))]
    return nbf.write(path, nbf.notebook(cells))


def _rich_notebook(path: Path, seed: float) -> Path:
    cells = [
        nbf.markdown_cell("# training"),
        nbf.code_cell(nbf.LEARNER),
        _fit("learn.fit_one_cycle(3, 1e-1)", nbf.epoch_rows(3, seed=seed)),
        _fit("learn.fit_one_cycle(5)", nbf.epoch_rows(2, seed=seed / 2), interrupted=True),
        nbf.code_cell("learn = vision_learner(dls, resnet34, metrics=lwlrap)"),
        _fit("learn.fit_one_cycle(2, slice(1e-4, 1e-3))", nbf.epoch_rows(2, seed=seed / 3)),
    ]
    return nbf.write(path, nbf.notebook(cells))


# --------------------------------------------------------------------------- pattern 10


def test_source_columns_keep_runs_of_one_architecture_apart(tmp_path):
    path = _single_phase_runs_notebook(tmp_path / "sweep.ipynb")
    target = tmp_path / "m.csv"
    result = runner().invoke(main, ["extract", str(path), "--csv", str(target), "--with-source", "--no-report", "-q"])
    assert result.exit_code == 0, result.output
    header = target.read_text().splitlines()[0].split(",")
    assert header == [*SCHEMA, *SOURCE_COLUMNS]
    df = load_metrics(target)
    assert df["run_ordinal"].tolist() == [1, 1, 2, 2, 3, 3]
    assert df["run"].tolist() == ["sweep.ipynb: resnet18"] * 2 + ["sweep.ipynb: resnet18 #2"] * 2 + ["sweep.ipynb: resnet18 #3"] * 2
    assert df["global_epoch"].tolist() == [0, 1, 0, 1, 0, 1]
    assert df["cell"].tolist()[0] == "In [2] (cell 2)" and df["cell"].tolist()[2] == "In [4] (cell 4)"
    assert df["call"].tolist()[0] == "learn.fit_one_cycle(2, 1e-2)"
    assert df["planned_epochs"].tolist() == [2] * 6
    # Without the source columns the loader can only guess, and the guess merges them.
    legacy = load_metrics(io.StringIO(pd.read_csv(target, dtype=str)[list(SCHEMA)].to_csv(index=False)))
    assert legacy["run"].nunique() == 1


def test_notebook_is_relative_to_the_common_parent_of_the_inputs(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _single_phase_runs_notebook(tmp_path / folder / "train.ipynb", runs=1)
    target = tmp_path / "m.csv"
    result = runner().invoke(main, ["extract", str(tmp_path / "a"), str(tmp_path / "b"), "--csv", str(target), "--with-source", "--no-report", "-q"])
    assert result.exit_code == 0, result.output
    df = load_metrics(target)
    assert df["notebook"].tolist() == ["a/train.ipynb"] * 2 + ["b/train.ipynb"] * 2
    assert df["run"].nunique() == 2


def test_report_on_a_source_csv_writes_the_documents_extract_wrote(tmp_path):
    for folder, seed in (("a", 0.5), ("b", 0.7)):
        (tmp_path / folder).mkdir()
        _rich_notebook(tmp_path / folder / "train.ipynb", seed)
    first, second = tmp_path / "extract", tmp_path / "report"
    done = runner().invoke(main, ["extract", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(first), "--with-source", "-q"])
    assert done.exit_code == 0, done.output
    again = runner().invoke(main, ["report", str(first / "training_metrics_extracted.csv"), "--out", str(second)])
    assert again.exit_code == 0, again.output
    for name in ("training_metrics_summary.md", "EXTRACTION_SUMMARY.md"):
        assert (second / name).read_text() == (first / name).read_text(), name
    summary = (second / "training_metrics_summary.md").read_text()
    assert "not recorded" not in summary and "`a/train.ipynb`" in summary
    assert "**Planned epochs**: 5" in summary and "fit_one_cycle(5)" in summary


def test_adapter_round_trips_every_field(tmp_path):
    phases = (
        Phase(1, "fit_one_cycle", 3, "1e-3", True, 4, COLUMNS, tuple(nbf.epoch_rows(2)), "learn.fit_one_cycle(3)", True, count=7),
        Phase(2, "fit", 1, "1e-2", False, 6, COLUMNS, tuple(nbf.epoch_rows(1)), "learn.fit(1)", lr_from_learner=True, count=None),
    )
    runs = [Run("nb.ipynb", "resnet18", None, phases, ordinal=2), Run("nb.ipynb", "=x", True, phases[:1], ordinal=5)]
    path = tmp_path / "m.csv"
    rows = rows_from_runs(runs, with_source=True)
    write_csv(path, rows, with_source=True)
    back = runs_from_csv(path)
    assert [(r.notebook, r.model, r.pretrained, r.ordinal) for r in back] == [(r.notebook, r.model, r.pretrained, r.ordinal) for r in runs]
    fields = ("number", "method", "planned_epochs", "learning_rate", "lr_is_default", "cell", "call_text", "interrupted", "lr_from_learner", "count")
    for got, want in zip(back, runs):
        assert [[getattr(p, f) for f in fields] for p in got.phases] == [[getattr(p, f) for f in fields] for p in want.phases]
        for p, q in zip(got.phases, want.phases):
            assert [dict(zip(p.columns, row)) for row in p.rows] == [dict(zip(q.columns, row)) for row in q.rows]
    assert rows_from_runs(back, with_source=True, root="") == rows


@pytest.mark.parametrize(("text", "expected"), [("In [13] (cell 5)", (4, 13)), ("cell 2", (1, None)), ("In [3]", (-1, 3)), ("x", (-1, None))])
def test_parse_cell(text, expected):
    assert parse_cell(text) == expected


# --------------------------------------------------------------------------- learner learning rates


def test_learner_learning_rate_is_marked_and_parsed(tmp_path):
    assert learning_rate_text("1e-2", False, True) == "1e-2 (learner)"
    assert learning_rate_text("1e-3", True, False) == "1e-3 (default)"
    assert lr_upper("1e-2 (learner)") == pytest.approx(0.01)
    phase = Phase(1, "fit", 1, "1e-2", False, 1, COLUMNS, tuple(nbf.epoch_rows(1)), "learn.fit(1)", lr_from_learner=True)
    rows = rows_from_runs([Run("nb.ipynb", "m", False, (phase,))])
    assert rows[0]["learning_rate"] == "1e-2 (learner)"
    write_csv(tmp_path / "m.csv", rows)
    assert load_metrics(tmp_path / "m.csv")["lr_max"].tolist() == [pytest.approx(0.01)]


# --------------------------------------------------------------------------- formula injection


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+cmd", "'+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-00:05", "'-00:05"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("-0.5", "-0.5"),
        ("+1e-3", "+1e-3"),
        ("-inf", "-inf"),
        ("'plain", "'plain"),
        ("resnet18", "resnet18"),
        ("", ""),
    ],
)
def test_formula_neutralising_round_trips(text, written):
    assert neutralise_formula(text) == written
    assert restore_formula(written) == text


def _formula_run() -> Run:
    rows = (("0", "-0.5", "@SUM(1)", "0.1", "00:01"),)
    phase = Phase(1, "fit", 1, "1e-2", False, 1, ("epoch", "train_loss", "=cmd", "lwlrap", "time"), rows, "learn.fit(1)")
    return Run("=evil.ipynb", "=HYPERLINK(\"http://x\")", False, (phase,))


def test_csv_text_is_neutralised_numbers_untouched_and_the_loader_restores_it(tmp_path):
    path = tmp_path / "m.csv"
    write_csv(path, rows_from_runs([_formula_run()], with_source=True), with_source=True)
    text = path.read_text()
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and "'=evil.ipynb" in text and ",'=cmd," in text
    assert ",-0.5," in text and "'-0.5" not in text
    for line in text.splitlines():
        assert not any(cell[:1] and cell[:1] in "=+@" for cell in line.split(",")), line
    with pytest.warns(LoaderWarning):  # "@SUM(1)" is no number
        df = load_metrics(path)
    assert df["model"].tolist() == ['=HYPERLINK("http://x")']
    assert df["notebook"].tolist() == ["=evil.ipynb"]
    assert df["train_loss"].tolist() == [-0.5]
    assert "=cmd" in df.columns
    with pytest.warns(LoaderWarning):
        raw = load_metrics(path, raw_text=True)
    assert raw["model"].tolist() == ['\'=HYPERLINK("http://x")']


def test_raw_csv_text_flag_writes_text_as_it_is(tmp_path):
    cells = [nbf.code_cell('learn = vision_learner(dls, "=cmd|calc", pretrained=False, metrics=lwlrap)'), _fit("learn.fit(2, 1e-2)", nbf.epoch_rows(2))]
    path = nbf.write(tmp_path / "nb.ipynb", nbf.notebook(cells))
    for flags, expected in (([], "'=cmd|calc"), (["--raw-csv-text"], "=cmd|calc")):
        for report in ([], ["--no-report"]):
            target = tmp_path / "m.csv"
            result = runner().invoke(main, ["extract", str(path), "--csv", str(target), "--out", str(tmp_path / "o"), "-q", *flags, *report])
            assert result.exit_code == 0, result.output
            assert pd.read_csv(target, dtype=str)["model"].tolist() == [expected] * 2


# --------------------------------------------------------------------------- loader refusals


def _csv(rows: list[tuple[str, str]]) -> io.StringIO:
    lines = [",".join(SCHEMA)] + [f",{epoch},1e-3,0.5,m,No,{time},0.1,1,0.2" for epoch, time in rows]
    return io.StringIO("\n".join(lines) + "\n")


def test_loader_refuses_overflow_and_nonsense_with_a_warning():
    rows = [("99999999999999999999999", "00:01"), ("1.5", "-00:05"), ("-1", "01:75"), ("2", "00:02"), ("3.0", "1:02:03")]
    with pytest.warns(LoaderWarning) as caught:
        df = load_metrics(_csv(rows))
    assert df["epoch"].tolist()[:3] == [pd.NA] * 3
    assert df["epoch"].tolist()[3:] == [2, 3]
    assert df["time_s"].isna().tolist() == [False, True, True, False, False]
    assert df["time_s"].tolist()[4] == 3723
    messages = [str(w.message) for w in caught]
    assert any("'epoch'" in m and "3 value(s)" in m and "99999" in m for m in messages)
    assert any("'time'" in m and "-00:05" in m for m in messages)


def test_time_to_seconds_refuses_negative_and_out_of_range():
    assert time_to_seconds("00:05") == 5
    for text in ("-00:05", "00:-5", "01:75", "1:60:00", "9" * 5000, "1e3"):
        assert time_to_seconds(text) != time_to_seconds(text)  # NaN


def test_load_metrics_errors_name_the_file_and_the_problem(tmp_path):
    cases = {
        tmp_path / "missing.csv": "no such file",
        tmp_path: "is a folder",
    }
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x01" * 50)
    cases[tmp_path / "binary.csv"] = "not a UTF-8 text file"
    (tmp_path / "empty.csv").write_text("")
    cases[tmp_path / "empty.csv"] = "empty file"
    (tmp_path / "nb.ipynb").write_text('{"cells": [], "metadata": {}}')
    cases[tmp_path / "nb.ipynb"] = "missing columns: epoch, training_phase"
    (tmp_path / "ragged.csv").write_text('epoch,training_phase\n1,2\n"3,4\n')
    cases[tmp_path / "ragged.csv"] = "not a CSV file"
    for path, reason in cases.items():
        with pytest.raises(MetricsFileError, match=reason) as info:
            load_metrics(path)
        assert str(info.value).startswith(str(path)), info.value
        assert isinstance(info.value, ValueError)


def test_load_metrics_on_a_stream_missing_columns_says_so():
    with pytest.raises(MetricsFileError, match=r"<the CSV stream>: not an audiometrics epoch CSV \(missing columns: training_phase\)"):
        load_metrics(io.StringIO("epoch,lwlrap\n1,0.5\n"))


def test_report_prints_loader_warnings_as_warning_lines(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(_csv([("1.5", "00:01"), ("2", "00:02")]).getvalue())
    result = runner().invoke(main, ["report", str(path), "--out", str(tmp_path / "o"), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert any(line.startswith(f"warning: {path}: column 'epoch'") for line in result.stderr.splitlines()), result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner().invoke(main, ["report", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "missing columns" in result.stderr
