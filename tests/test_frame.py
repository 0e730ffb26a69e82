"""The CSV writer and the typed loader."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from audiometrics import load_metrics
from audiometrics.epochs.csv_file import render_csv, write_csv
from audiometrics.epochs.frame import phase_frame
from audiometrics.epochs.rows import rows_from_runs
from audiometrics.epochs.schema import SCHEMA
from audiometrics.epochs.values import lr_upper, time_to_seconds
from audiometrics.model import Phase, Run

COLUMNS = ("epoch", "train_loss", "valid_loss", "lwlrap", "time")


def _phase(number, rows, lr="1e-1", columns=COLUMNS, planned=None):
    return Phase(number, "fit_one_cycle", planned if planned is not None else len(rows), lr, False, 3, columns, tuple(rows))


def _runs():
    a = Run(
        "nbs/a b.ipynb",
        "resnet18",
        False,
        (
            _phase(1, [("0", "0.611317", "115578.328125", "0.101347", "00:01"), ("1", "0.38", "#na#", "0.2", "01:05")]),
            _phase(2, [("0", "0.3", "0.2", "0.3", "1:00:00")], lr="slice(1e-3, 3e-3)"),
        ),
    )
    b = Run(
        "nbs/c.ipynb",
        "deit_tiny_patch16_224",
        True,
        (_phase(1, [("0", "0.5", "0.4", "None", "0.9", "00:02")], columns=("epoch", "train_loss", "valid_loss", "lwlrap", "accuracy_multi", "time")),
         _phase(2, [("0", "0.5", "0.4", "nan", "inf", "00:02")], columns=("epoch", "train_loss", "valid_loss", "lwlrap", "f1_score", "time"))),
    )
    return [a, b]


def test_csv_has_schema_then_sorted_extras_then_source_columns():
    rows = rows_from_runs(_runs(), with_source=True)
    header = render_csv(rows, with_source=True).splitlines()[0].split(",")
    assert header == [*SCHEMA, "f1_score", "notebook", "run", "cell", "call", "planned_epochs", "interrupted", "framework"]
    plain = render_csv(rows_from_runs(_runs())).splitlines()
    assert plain[0] == ",".join(SCHEMA) + ",f1_score"
    assert plain[1] == ",0,1e-1,0.101347,resnet18,No,00:01,0.611317,1,115578.328125,"


def test_values_kept_exactly_as_displayed(tmp_path):
    path = tmp_path / "out" / "m.csv"
    write_csv(path, rows_from_runs(_runs()))
    text = path.read_text()
    assert "115578.328125" in text and "#na#" in text and '"slice(1e-3, 3e-3)"' in text
    assert not list(path.parent.glob(".*tmp"))


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "m.csv"
    path.write_text("old\n")
    import audiometrics.atomic as atomic

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        write_csv(path, rows_from_runs(_runs()))
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]


def test_loader_dtypes_and_derived_columns(tmp_path):
    path = tmp_path / "m.csv"
    write_csv(path, rows_from_runs(_runs(), with_source=True), with_source=True)
    df = load_metrics(path)
    assert str(df["epoch"].dtype) == "Int64"
    assert str(df["training_phase"].dtype) == "Int64"
    assert str(df["pretrained"].dtype) == "boolean"
    assert df["pretrained"].tolist() == [False, False, False, True, True]
    for column in ("lwlrap", "valid_loss", "accuracy_multi", "f1_score", "time_s", "lr_max"):
        assert df[column].dtype == "float64"
    assert pd.isna(df.loc[1, "valid_loss"])  # "#na#"
    assert pd.isna(df.loc[3, "lwlrap"])  # "None"
    assert pd.isna(df.loc[4, "lwlrap"]) and pd.isna(df.loc[4, "f1_score"])  # "nan", "inf"
    assert pd.isna(df.loc[0, "accuracy_multi"])  # empty cell
    assert df["time_s"].tolist() == [1.0, 65.0, 3600.0, 2.0, 2.0]
    assert df["global_epoch"].tolist() == [0, 1, 2, 0, 1]
    assert df["run"].tolist() == ["a b.ipynb: resnet18"] * 3 + ["c.ipynb: deit_tiny_patch16_224 (pretrained)"] * 2
    assert df["lr_max"].tolist()[:3] == [0.1, 0.1, 0.003]
    assert df["learning_rate"].dtype == "string"


def test_runs_without_notebook_column_split_on_model_and_phase_restart(tmp_path):
    path = tmp_path / "m.csv"
    header = ",".join(SCHEMA)
    rows = [
        ",0,1e-1,0.1,resnet18,No,00:01,0.5,1,0.4",
        ",0,1e-2,0.2,resnet18,No,00:01,0.5,2,0.4",
        ",0,1e-1,0.1,resnet18,No,00:01,0.5,1,0.4",
        ",0,1e-1,0.1,resnet18,Yes,00:01,0.5,1,0.4",
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    df = load_metrics(path)
    assert df["run"].tolist() == ["resnet18", "resnet18", "resnet18 #2", "resnet18 (pretrained)"]
    assert df["global_epoch"].tolist() == [0, 1, 0, 0]


def test_loader_rejects_other_csvs(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an audiometrics epoch CSV"):
        load_metrics(path)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 1e-3),
        ("slice(1e-4, 1e-3)", 1e-3),
        ("slice(2e-3)", 2e-3),
        ("slice(3e-3/10, 3e-3)", 3e-3),
        ("[1e-3, 1e-2]", 1e-2),
        ("0.1", 0.1),
        ("1e-3 (default)", 1e-3),
        ("slice(3e-3) (default)", 3e-3),
        ("", None),
        ("lr", None),
        ("slice(1e-3, 3e-3", None),
        ("__import__('os').system('x')", None),
    ],
)
def test_lr_upper(text, value):
    assert lr_upper(text) == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:07", 7), ("12:34", 754), ("1:02:03", 3723), ("", math.nan), ("x", math.nan),
        ("36s", 36), ("7m 13s", 433), ("0m 0s", 0), ("1h 2m 3s", 3723), ("2min 5.5s", 125.5),  # Keras, plain loops
        ("7m 63s", math.nan), ("1h 75m 0s", math.nan), ("m s", math.nan),
    ],
)
def test_time_to_seconds(text, seconds):
    result = time_to_seconds(text)
    assert (math.isnan(result) and math.isnan(seconds)) or result == seconds


def test_phase_frame_lists_empty_phases_and_matches_run_labels(tmp_path):
    runs = _runs()
    runs[0] = Run(runs[0].notebook, runs[0].model, runs[0].pretrained, (*runs[0].phases, _phase(3, [], planned=20)))
    phases = phase_frame(runs)
    assert len(phases) == 5
    empty = phases.iloc[2]
    assert empty["recorded_epochs"] == 0 and empty["planned_epochs"] == 20 and bool(empty["incomplete"])
    path = tmp_path / "m.csv"
    write_csv(path, rows_from_runs(runs, with_source=True), with_source=True)
    assert set(phases["run"]) == set(load_metrics(path)["run"])


def test_default_learning_rate_is_marked_in_the_csv():
    phase = Phase(1, "fit_one_cycle", 1, "1e-3", True, 0, COLUMNS, (("0", "0.5", "0.4", "0.3", "00:01"),))
    rows = rows_from_runs([Run("a.ipynb", "resnet18", True, (phase,))])
    assert rows[0]["learning_rate"] == "1e-3 (default)"


def test_one_number_parser_for_the_loader_and_the_command_line():
    import doctest

    import audiometrics.epochs.values as values
    from audiometrics.epochs.values import parse_number

    assert doctest.testmod(values).failed == 0
    texts = ["0.5", " 1e-3 ", "-0.25", "#na#", "", "None", "inf", "-inf", "nan", "1e999", "abc", "1_000", "+2e 8", "３"]
    rows = [{"epoch": "0", "training_phase": "1", "valid_loss": t} for t in texts]
    with pytest.warns(Warning):
        loaded = load_metrics(__import__("io").StringIO(render_csv(rows)))["valid_loss"].tolist()
    expected = [parse_number(t) for t in texts]
    assert [None if math.isnan(v) else v for v in loaded] == expected
    assert expected[:3] == [0.5, 0.001, -0.25] and set(expected[3:]) == {None}


def test_loader_reads_a_loops_percentages_and_times(tmp_path):
    """bentrevett's ``Train Acc: 74.41%`` and ``Epoch Time: 7m 13s``, kept as displayed in the CSV,
    are numbers in the typed frame: the fraction (as fastai's accuracies) and seconds."""
    from audiometrics.epochs.values import parse_number

    assert (parse_number("74.41%"), parse_number(" 51.56 % "), parse_number("%"), parse_number("abc%")) == (0.7441, 0.5156, None, None)
    path = tmp_path / "m.csv"
    path.write_text(
        "accuracy_multi,epoch,learning_rate,lwlrap,model,pretrained,time,train_loss,training_phase,valid_loss,acc\n"
        ",1,1e-3,,RNN,No,7m 13s,0.693,1,0.61,74.41%\n"
    )
    frame = load_metrics(path)
    assert frame["acc"].tolist() == [pytest.approx(0.7441)]
    assert frame["time_s"].tolist() == [433.0]
