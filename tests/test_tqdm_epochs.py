"""A loop's finished tqdm bar per epoch, its postfix holding the epoch's values (tables/tqdm_epochs.py)."""

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
BAR = "Epoch {e}/4: 100%|██████████| 9/9 [00:0{e}<00:00, 592.58it/s, loss={loss}, val_acc=0.51, val_loss=0.71]\n"


def test_bars_alone_are_the_epochs_of_a_real_loop():
    result = extract_notebook(FIXTURES / "loop_tqdm_postfix.ipynb")
    (run,) = result.runs
    (phase,) = run.phases
    assert (run.model, run.pretrained, phase.learning_rate, phase.planned_epochs) == ("Net", False, "1e-3", 4)
    assert phase.columns == ("epoch", "train_loss", "acc", "valid_loss", "time")
    assert phase.rows[0] == ("1", "0.6850", "0.5104", "0.7125", "00:00") and len(phase.rows) == 4
    assert not any("format not recognised" in d.message for d in result.diagnostics)


def test_bars_beside_printed_epochs_add_no_table():
    # the loss-only bars are progress; the printed lines are the epochs (a real loop)
    (run,) = extract_notebook(FIXTURES / "loop_tqdm_and_lines.ipynb").runs
    assert len(run.phases) == 1 and len(run.phases[0].rows) == 4


def test_bars_echoing_printed_epochs_are_left_out():
    bars = nbf.stream_output("".join(BAR.format(e=e, loss=f"0.{9 - e}") for e in range(1, 4)), name="stderr")
    lines = nbf.stream_output("".join(f"Epoch {e}: train_loss 0.{9 - e}, val_loss 0.71\n" for e in range(1, 4)))
    assert [t.format for t in find_tables([bars, lines])] == ["loop"]
    assert [t.format for t in find_tables([bars])] == ["tqdm"]


@pytest.mark.parametrize(
    "text",
    [
        "Epoch 1/4: 100%|██████████| 9/9 [00:00<00:00, 592.58it/s, loss=0.6850]\n",  # no validation value: progress
        "Epoch 1/4:  50%|█████     | 4/9 [00:00<00:00, 592.58it/s, loss=0.6850, val_loss=0.7]\n",  # unfinished
        "Epoch 1: 100%|██████████| 9/9 [00:00<00:00, 5.2it/s, loss=0.68, v_num=0, val_loss=0.71]\n",  # Lightning's
        "100%|██████████| 9/9 [00:00<00:00, 592.58it/s, val_loss=0.7]\n",  # no epoch
    ],
)
def test_not_read(text):
    assert [t for t in find_tables([nbf.stream_output(text, name="stderr")]) if t.format == "tqdm"] == []


@FUZZ
@given(st.lists(st.floats(0.001, 9, allow_nan=False), min_size=1, max_size=5),
       st.lists(st.text(max_size=40).filter(lambda s: "100%" not in s), max_size=3), st.data())
def test_bars_in_noise_are_found(losses, noise, data):
    text = "".join(BAR.format(e=e + 1, loss=f"{loss:.4f}") for e, loss in enumerate(losses))
    outputs = [nbf.stream_output(n + "\n", name="stderr") for n in noise]
    outputs.insert(data.draw(st.integers(0, len(outputs))), nbf.stream_output(text, name="stderr"))
    tables = [t for t in find_tables(outputs) if t.format == "tqdm"]
    assert len(tables) == 1 and [r[1] for r in tables[0].rows] == [f"{loss:.4f}" for loss in losses]


@pytest.mark.parametrize("line", ["Epoch 1/4: 100%|" + "█" * 60_000 + "| 9/9 [00:00<00:00, x=1]", "Epoch 1: 100%|a| 1/1 [0<0," + "a=1," * 20_000 + "]"])
def test_pathological_lines_are_read_in_linear_time(line):
    find_tables([nbf.stream_output(line + "\n" + line + "\n", name="stderr")])
