"""Never silent (tables/suspect.py + pipeline): unread training output is warned, other output is not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiometrics.pipeline import NOTHING_FOUND, extract_notebook
from audiometrics.tables.suspect import MESSAGE, looks_like_training
from tests import nbfactory as nbf


def _stream(text: str, name: str = "stdout") -> list[dict]:
    return [nbf.stream_output(text, name)]


def _html(html: str) -> list[dict]:
    return [nbf.html_output(html)]


UNREAD_SHAPES = [
    # a custom tqdm bar per epoch with a postfix (no "Epoch N:" prefix Lightning prints)
    "\rtrain Ep 0: 100%|###| 10/10 [00:01, loss 0.52]\rtrain Ep 1: 100%|###| 10/10 [00:01, loss 0.41]\n",
    # Keras-like lines (read by the Keras format once registered; unread without it)
    "Epoch 1/2\n10/10 [====] - 1s 5ms/step - loss: 0.54 - val_loss: 0.51\nEpoch 2/2\n10/10 [====] - 1s - loss: 0.4 - val_loss: 0.4\n",
    # a loop printing values without names the loop format accepts
    ">> epoch 1 finished; mean loss=0.52 (best so far)\n>> epoch 2 finished; mean loss=0.41 (best so far)\n",
]


@pytest.mark.parametrize("text", UNREAD_SHAPES)
def test_training_like_text(text):
    assert looks_like_training(_stream(text))


HF_LIKE = (
    "<div><progress value='4' max='4'></progress> [4/4 00:01, Epoch 2/2]</div><table border=\"1\" class=\"dataframe\">"
    "<thead><tr style=\"text-align: left;\"><th>Epoch</th><th>Training Loss</th><th>Validation Loss</th></tr></thead>"
    "<tbody><tr><td>1</td><td>No log</td><td>0.5</td></tr></tbody></table>"
)
PANDAS_RESULTS = (
    "<table border=\"1\" class=\"dataframe\"><thead><tr style=\"text-align: right;\"><th></th><th>epoch</th>"
    "<th>loss</th></tr></thead><tbody><tr><th>0</th><td>1.0</td><td>0.3</td></tr></tbody></table>"
)


def test_html_progress_table_but_not_a_pandas_frame_of_results():
    assert looks_like_training(_html(HF_LIKE))
    assert not looks_like_training(_html(PANDAS_RESULTS))


NOT_TRAINING = [
    "{'eval_loss': 0.3012, 'eval_accuracy': 0.91, 'epoch': 3.0}\n",  # trainer.evaluate(): one line
    "313/313 [==============================] - 1s 2ms/step - loss: 0.3 - accuracy: 0.9\n",  # keras evaluate
    "              precision    recall  f1-score   support\n\n           0       0.90      0.91      0.90       100\n"
    "    accuracy                           0.90       200\n",  # sklearn report
    "Test Loss: 0.301 | Test Acc: 89.12%\n",
    "Downloading: 100%|####| 440M/440M [00:05<00:00, 80MB/s]\n",
]


@pytest.mark.parametrize("text", NOT_TRAINING)
def test_not_training(text):
    assert not looks_like_training(_stream(text))


def test_one_warning_per_notebook_naming_the_cells(tmp_path):
    doc = nbf.notebook([
        nbf.code_cell("train()", _stream(UNREAD_SHAPES[2])),
        nbf.code_cell("print(1)", _stream("1\n")),
        nbf.code_cell("train()", _stream(UNREAD_SHAPES[0])),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    found = [d for d in result.diagnostics if MESSAGE in d.message]
    assert len(found) == 1
    assert "In [1] (cell 1)" in found[0].message and "In [3] (cell 3)" in found[0].message


def test_keras_shaped_lines_are_read_not_suspect(tmp_path):
    # the Keras format reads them: rows, and no "format not recognised" warning
    doc = nbf.notebook([nbf.code_cell("import keras\nmodel.fit(X, y, epochs=2)", _stream(UNREAD_SHAPES[1]))])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    assert [len(p.rows) for run in result.runs for p in run.phases] == [2]
    assert not any(MESSAGE in d.message for d in result.diagnostics)


def test_a_cell_whose_table_is_read_is_not_suspect(tmp_path):
    text = "Epoch 1/2, Loss: 0.5, Val Loss: 0.4\nEpoch 2/2, Loss: 0.3, Val Loss: 0.2\n"
    doc = nbf.notebook([nbf.code_cell("train()", _stream(text))])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    assert result.runs and not any(MESSAGE in d.message for d in result.diagnostics)


def test_strict_fails_a_notebook_with_unread_training_output(tmp_path):
    from audiometrics.pipeline import extract_files

    doc = nbf.notebook([nbf.code_cell("train()", _stream(UNREAD_SHAPES[2]))])
    path = nbf.write(tmp_path / "nb.ipynb", doc)
    outcome = extract_files([path], strict=True)
    assert outcome.failures and MESSAGE in outcome.failures[0].reason


def test_a_notebook_that_yields_nothing_says_why(tmp_path):
    doc = nbf.notebook([nbf.code_cell("x = 1", _stream("hello\n"))])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    assert [d.message for d in result.diagnostics] == [NOTHING_FOUND]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), st.sampled_from(UNREAD_SHAPES + NOT_TRAINING)), max_size=5))
def test_never_raises(texts):
    looks_like_training([nbf.stream_output(t) for t in texts] + [nbf.html_output(t) for t in texts])
