"""A loop's own printed table: a header naming epoch and metrics, then aligned rows (tables/columns.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.pipeline import extract_notebook
from audiometrics.tables import find_tables
from tests import nbfactory as nbf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "loops"
EXAMPLES = int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(text: str):
    return [t for t in find_tables([nbf.stream_output(text)]) if not t.blank]


def test_a_real_loop_printing_its_own_table():
    result = extract_notebook(FIXTURES / "loop_column_table.ipynb")
    (run,) = result.runs
    (phase,) = run.phases
    assert (run.model, run.pretrained) == ("Net", False)
    assert phase.columns == ("epoch", "train_loss", "valid_loss", "acc", "lr")
    assert [row[0] for row in phase.rows] == ["1", "2", "3", "4", "5"] and phase.rows[0][3] == "88.54%"
    assert phase.learning_rate == "" and any("StepLR" in d.message for d in result.diagnostics)


@pytest.mark.parametrize(
    "text, columns, rows",
    [
        ("Epoch   Train Loss   Valid Loss   Accuracy\n    1       0.6931       0.6928     0.5012\n    2       0.5000       0.5100     0.6000\n",
         ("epoch", "train_loss", "valid_loss", "accuracy"), (("1", "0.6931", "0.6928", "0.5012"), ("2", "0.5000", "0.5100", "0.6000"))),
        ("Epoch\tLoss\tAcc\n1\t0.69\t0.50\n2\t0.50\t0.61\n", ("epoch", "train_loss", "acc"), (("1", "0.69", "0.50"), ("2", "0.50", "0.61"))),
        ("| epoch | loss | val_acc | time |\n|-------|------|---------|------|\n| 1/3 | 0.5 | 81.2% | 12.3s |\n",
         ("epoch", "train_loss", "acc", "time"), (("1", "0.5", "81.2%", "12.3s"),)),
        ("ep  loss  val_loss\n====================\n0  1.0  1.1\n1  0.9  1.0\nTraining done.\n",
         ("epoch", "train_loss", "valid_loss"), (("0", "1.0", "1.1"), ("1", "0.9", "1.0"))),
    ],
)
def test_shapes(text, columns, rows):
    (table,) = _read(text)
    assert (table.columns, table.rows) == (columns, rows)


@pytest.mark.parametrize(
    "text",
    [
        "   epoch  train_loss  val_loss\n0      1      0.5918    0.3706\n1      2      0.2613    0.1747\n",  # a printed DataFrame: its index
        "Epoch   Batch Size   Workers\n1   32   4\n",  # no loss or metric named
        "epoch | note\n1 | fine\n",  # a value that is no number
        "name | loss\nresnet | 0.5\n",  # the first column is no epoch
    ],
)
def test_not_read(text):
    assert [t for t in _read(text) if t.format == "columns"] == []


_NAMES = st.sampled_from(["loss", "val_loss", "Train Acc", "valid loss", "f1", "val acc"])  # (and "lr", not a metric alone)


@FUZZ
@given(st.lists(_NAMES, min_size=1, max_size=4, unique=True), st.lists(st.floats(0.001, 99, allow_nan=False), min_size=1, max_size=6),
       st.sampled_from([" | ", "\t", "   "]), st.lists(st.text(max_size=40).filter(lambda s: "poch" not in s and "ep" not in s.lower()), max_size=3),
       st.data())
def test_tables_in_noise_are_found(names, values, separator, noise, data):
    names = names + data.draw(st.sampled_from([[], ["lr"]]))
    header = separator.join(["epoch", *names]) + "\n"
    rows = "".join(separator.join([str(e + 1), *(f"{v:.4f}" for _ in names)]) + "\n" for e, v in enumerate(values))
    outputs = [nbf.stream_output(n + "\n") for n in noise]
    outputs.insert(data.draw(st.integers(0, len(outputs))), nbf.stream_output(header + rows))
    # (one-word names between blanks are also fastai v1's console table, which is asked first)
    tables = [t for t in find_tables(outputs) if t.format in ("columns", "console") and not t.blank]
    assert len(tables) == 1
    assert [r[1] for r in tables[0].rows] == [f"{v:.4f}" for v in values]


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("Epoch 0123456789:%|/-=+.\n\tloss acc Val")), max_size=300))
def test_random_text_never_raises(text):
    find_tables([nbf.stream_output(text)])


@pytest.mark.parametrize("line", ["epoch | loss" + " |" * 30_000, "Epoch" + " " * 60_000 + "loss", "1 " * 30_000, "-" * 60_000])
def test_pathological_lines_are_read_in_linear_time(line):
    find_tables([nbf.stream_output("epoch | loss\n" + line + "\n" + line + "\n")])
