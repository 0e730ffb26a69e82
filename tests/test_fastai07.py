"""fastai 0.6 / 0.7 tables on stdout (``audiometrics.tables.fastai07``).

The fixtures in ``tests/fixtures/fastai07`` are written by ``make_fastai07_fixtures.py`` with
fastai's own printing code; the rows expected here were checked by hand against their text.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.tables import find_tables
from audiometrics.model import ProgressTable
from audiometrics.tables.fastai07 import FORMAT, array_row, header_columns, stats_row
from tests import nbfactory as nbf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fastai07"
V07 = ("epoch", "train_loss", "valid_loss", "accuracy")
V06 = ("epoch", "train_loss", "valid_loss", "metric_1")
NOTE_1 = "fastai 0.6 prints no column names: the metrics are named metric_1, in the order of metrics="


def cell_tables(name: str) -> dict[int, list]:
    """Each code cell's tables, by cell position, as (format, columns, rows, notes)."""
    cells = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["cells"]
    found = {}
    for position, cell in enumerate(cells):
        tables = find_tables(cell.get("outputs", []))
        if tables:
            found[position] = [(t.format, t.columns, t.rows, t.notes) for t in tables]
    return found


def test_fastai07_one_and_two_fits_in_a_cell():
    assert cell_tables("fastai07_fits.ipynb") == {
        3: [("fastai07", V07, (("0", "0.386979", "0.362959", "0.800023"), ("1", "0.286053", "0.08191", "0.818468"), ("2", "0.183909", "0.179325", "0.879353")), ())],
        4: [
            ("fastai07", V07, (("0", "0.403676", "0.022704", "0.909932"), ("1", "0.403084", "0.21598", "0.866067"), ("2", "0.200091", "0.313443", "0.859931")), ()),
            ("fastai07", V07, (("0", "0.504702", "0.356992", "0.858181"), ("1", "0.469528", "0.447544", "0.979259")), ()),
        ],
    }


def test_fastai07_swa_columns_empty_before_swa_start():
    columns = (*V07, "swa_loss", "swa_accuracy")
    rows = (
        ("0", "0.870986", "0.278144", "0.994537", "", ""),
        ("1", "0.649038", "0.351887", "0.843218", "", ""),
        ("2", "0.879122", "0.013053", "0.850596", "0.223048", "0.955877"),
        ("3", "0.193963", "0.432867", "0.99668", "0.090283", "0.919467"),
    )
    assert cell_tables("fastai07_swa.ipynb") == {2: [("fastai07", columns, rows, ())]}


def _fastai06_expected(scientific: tuple[tuple[str, ...], ...]) -> dict[int, list]:
    wrapped_columns = (*V06, *(f"metric_{k}" for k in range(2, 7)))
    note_6 = "fastai 0.6 prints no column names: the metrics are named metric_1 … metric_6, in the order of metrics="
    note_3 = "fastai 0.6 prints no column names: the metrics are named metric_1 … metric_3, in the order of metrics="
    return {
        2: [("fastai07", V06, (("0", "0.215354", "0.436659", "0.841344"), ("1", "0.828378", "0.249321", "0.922349"), ("2", "0.693999", "0.264025", "0.85936")), (NOTE_1,))],
        3: [
            ("fastai07", V06, (("0", "0.805717", "0.17267", "0.964246"), ("1", "0.056693", "0.062752", "0.91901"), ("2", "0.486239", "0.215216", "0.867082")), (NOTE_1,)),
            ("fastai07", V06, (("0", "0.087151", "0.39216", "0.887682"), ("1", "0.656649", "0.489215", "0.907699")), (NOTE_1,)),
        ],
        4: [
            (
                "fastai07",
                wrapped_columns,
                (
                    ("0", "0.788618", "0.484585", "0.973839", "0.906171", "0.846546", "0.80228", "0.886094", "0.88047"),
                    ("1", "0.479954", "0.244412", "0.911071", "0.908677", "0.952179", "0.942475", "0.923936", "0.885218"),
                ),
                (note_6,),
            )
        ],
        5: [("fastai07", (*V06, "metric_2", "metric_3"), scientific, (note_3,))],
    }


def test_fastai06_numpy_before_1_14():
    scientific = (
        ("0", "2.91290000e-02", "1.20000000e-05", "9.00375000e-01", "8.99155000e-01", "8.26766000e-01"),
        ("1", "1.45058000e-01", "1.20000000e-05", "8.43712000e-01", "8.83702000e-01", "8.49620000e-01"),
    )
    assert cell_tables("fastai06_numpy113.ipynb") == _fastai06_expected(scientific)


def test_fastai06_numpy_2():
    scientific = (
        ("0", "2.91290e-02", "1.20000e-05", "9.00375e-01", "8.99155e-01", "8.26766e-01"),
        ("1", "1.45058e-01", "1.20000e-05", "8.43712e-01", "8.83702e-01", "8.49620e-01"),
    )
    assert cell_tables("fastai06_numpy2.ipynb") == _fastai06_expected(scientific)


def stream_tables(text: str) -> list[tuple]:
    return [(t.format, t.columns, t.rows) for t in find_tables([nbf.stream_output(text)])]


def test_fastai_v1_console_tables_are_still_console():
    text = (
        "epoch     train_loss  valid_loss  accuracy  time    \n"
        "0         0.512345    0.401234    0.876543  00:07     \n"
        "1         0.312345    0.301234    0.906543  00:07     \n"
    )
    assert stream_tables(text) == [
        ("console", ("epoch", "train_loss", "valid_loss", "accuracy", "time"), (("0", "0.512345", "0.401234", "0.876543", "00:07"), ("1", "0.312345", "0.301234", "0.906543", "00:07")))
    ]
    assert header_columns("epoch     train_loss  valid_loss  accuracy  time    ") is None


def test_header_by_layout_alone():
    header = ("{!s:10} " * 3).format("epoch", "loss", "error_rate")
    assert header_columns(header) == ("epoch", "loss", "error_rate")
    assert header_columns("epoch loss error_rate") is None  # neither the names nor the layout


def test_a_wrapped_first_row_that_never_closes_is_no_table():
    text = "[ 0.        0.788618  0.484585\nsome log line\n[ 0.  0.5  0.25]\n[ 1.  0.4  0.2]\n"
    assert stream_tables(text) == [("fastai07", ("epoch", "train_loss", "valid_loss"), (("0", "0.5", "0.25"), ("1", "0.4", "0.2")))]


def test_a_fastai06_table_starts_at_epoch_0_and_ends_when_epochs_stop_following():
    text = "[ 1.  0.5  0.25]\n[ 0.  0.5  0.25]\n[ 1.  0.4  0.2]\n[ 3.  0.3  0.1]\n[ 0.  0.3  0.1]\n[ 0.  0.4  0.2  0.3]\n"
    columns = ("epoch", "train_loss", "valid_loss")
    assert stream_tables(text) == [
        ("fastai07", columns, (("0", "0.5", "0.25"), ("1", "0.4", "0.2"))),
        ("fastai07", columns, (("0", "0.3", "0.1"),)),
        ("fastai07", (*columns, "metric_1"), (("0", "0.4", "0.2", "0.3"),)),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "[ 0.5  0.5  0.25]",  # a non-whole epoch
        "[ 0.  1.  2.]",  # every value whole: a user's array
        "[ 0.          0.12345678  0.25]",  # not rounded to 6 decimals
        "[0.024961, 0.991211]",  # a list, not an array
        "[array([0.02496]), 0.9912109375]",
        "[0 1 2]",  # integers
        "[ 0.  0.5]",  # too few values
    ],
)
def test_arrays_that_are_not_fastai06_rows(line):
    assert array_row(line) is None


def test_fastai07_row_values_as_str_of_numpy_floats():
    assert stats_row("    3      1e-06      nan        inf        12.0       ") == (3, ("3", "1e-06", "nan", "inf", "12.0"))
    assert stats_row("    3      0.1 loss") is None


# --------------------------------------------------------------------------- hypothesis

_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
FUZZ = settings(max_examples=int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100")), deadline=None, suppress_health_check=_CHECKS)

_TOKENS = st.sampled_from(
    ["epoch", "trn_loss", "val_loss", "accuracy", "[", "]", " ", "  ", "\n", "\r", "0", "1.", "0.5", "1e-06", "nan", "inf", "-inf", "0.00000000e+00", ",", "|", "%", "e"]
)
_SOUP = st.lists(_TOKENS, max_size=60).map("".join)


@FUZZ
@given(st.lists(st.one_of(_SOUP, st.text(max_size=80)), max_size=5), st.booleans())
def test_random_text_never_raises(texts, as_lines):
    outputs = [{"output_type": "stream", "name": "stdout", "text": nbf.lines(t) if as_lines else t} for t in texts]
    assert all(table.format for table in find_tables(outputs))


@FUZZ
@given(st.lists(st.one_of(_SOUP, st.text(max_size=80)), max_size=12))
def test_the_format_itself_never_raises_on_random_lines(texts):
    """Every method of the format on random lines (the stream reader would hide an exception: skipped line)."""
    state, held = None, None
    for text in texts:
        for line in text.split("\n"):
            if held is not None:
                verdict = FORMAT.confirms(held, line)
                if verdict is None:
                    continue
                state, held = (held if verdict else state), None
                if verdict:
                    continue
            if state is not None and FORMAT.add(state, line):
                continue
            if FORMAT.wants(line[:1]) and (fresh := FORMAT.start(line)) is not None:
                state = fresh
            elif (tentative := FORMAT.tentative(line)) is not None:
                held = tentative
    if state is not None:
        assert isinstance(FORMAT.close(state, 0), ProgressTable)


_NOISE = st.one_of(
    st.text(st.characters(blacklist_characters="\r\b\x1b[", blacklist_categories=("Cs",)), max_size=40).map(lambda t: "log: " + t.replace("\n", " ")),
    st.sampled_from(["  0%|          | 0/360 [00:00<?, ?it/s]", "Epoch 100%|██████████| 3/3 [00:12<00:00,  4.08s/it]", "[0.024961, 0.991211]", ""]),
)
_METRIC = st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True).filter(lambda n: n not in {"epoch", "trn_loss", "val_loss"})
_MICROS = st.integers(1, 50_000_000)
_VALUE = st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.sampled_from([float("nan"), float("inf"), 1e-6, 12.0]))


def _printed(print_, *args) -> list[str]:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        print_(*args)
    return out.getvalue().splitlines()


def _print_stats(epoch, values, decimals=6):  # fastai 0.7.0 model.py lines 171-174
    layout = "{!s:^10}" + " {!s:10}" * len(values)
    values = [epoch] + list(np.round(values, decimals))
    print(layout.format(*values))


@FUZZ
@given(st.lists(_METRIC, max_size=3, unique=True), st.integers(1, 6), st.data())
def test_generated_fastai07_table_is_found_in_noise(metrics, epochs, data):
    names = ["epoch", "trn_loss", "val_loss", *metrics]
    lines = [("{!s:10} " * len(names)).format(*names)]
    rows = []
    for epoch in range(epochs):
        values = [data.draw(_VALUE) for _ in range(2 + len(metrics))]
        lines += _printed(_print_stats, epoch, values)
        rows.append((str(epoch), *(str(v) for v in np.round(values, 6))))
    text = "".join(f"{data.draw(_NOISE)}\n{line}\n" for line in lines) + data.draw(_NOISE) + "\n"
    columns = ("epoch", "train_loss", "valid_loss", *metrics)
    assert stream_tables(text) == [("fastai07", columns, tuple(rows))]


@FUZZ
@given(st.integers(0, 7), st.integers(1, 5), st.booleans(), st.data())
def test_generated_fastai06_table_is_found_in_noise(metrics, epochs, legacy, data):
    lines, firsts = [], []
    np.set_printoptions(legacy="1.13" if legacy else False)
    try:
        for epoch in range(epochs):
            loss = data.draw(_MICROS.filter(lambda k: k % 1_000_000)) / 1e6  # never whole, as a mean loss is
            values = [loss, *(data.draw(st.floats(0.0005, 50)) for _ in range(1 + metrics))]
            lines += _printed(print, np.round([epoch] + values, 6))  # fastai 0.6 model.py line 93
            firsts.append(str(epoch))
    finally:
        np.set_printoptions(legacy=False)
    text = ""
    for line in lines:
        text += (f"{data.draw(_NOISE)}\n" if line.startswith("[") else "") + line + "\n"
    found = stream_tables(text)
    assert len(found) == 1 and found[0][0] == "fastai07"
    assert found[0][1] == ("epoch", "train_loss", "valid_loss", *(f"metric_{k}" for k in range(1, metrics + 1)))
    assert [row[0] for row in found[0][2]] == firsts


def test_a_fastai_07_notebook_end_to_end():
    """Tables (this format) and code (the analysis' fastai 0.7: ConvLearner.pretrained, fit(lrs, n_cycle))
    together: one run of resnet34, pretrained, each fit a phase with its rate and planned epochs."""
    from audiometrics.pipeline import extract_notebook

    result = extract_notebook(FIXTURES / "fastai07_fits.ipynb")
    (run,) = result.runs
    assert (run.model, run.pretrained, run.framework) == ("resnet34", True, "fastai")
    phases = [(p.learning_rate, p.planned_epochs, len(p.rows)) for p in run.phases]
    assert phases == [("1e-2", 3, 3), ("1e-2", 3, 3), ("1e-3", 2, 2)]
    assert all(p.columns[:3] == ("epoch", "train_loss", "valid_loss") for p in run.phases)
    assert not any("learning rate" in d.message or "model name" in d.message for d in result.diagnostics)
