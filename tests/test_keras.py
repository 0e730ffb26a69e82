"""Keras: the ``keras`` stream format, the Keras framework and the column mapping.

Fixtures in ``tests/fixtures/keras/`` are real outputs (see its README): Keras 3.15
(torch backend) and tf-keras 2.21 notebooks executed with nbclient, and Keras 2.0.8's
own ``Progbar`` code run in a kernel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.analysis.analyser import analyse_cells
from audiometrics.epochs.values import time_to_seconds
from audiometrics.frameworks.keras import csv_column
from audiometrics.model import LearnerCreated, ProgressCall, TrainingCall
from audiometrics.pipeline import extract_notebook
from audiometrics.tables import find_tables
from audiometrics.tables.keras import progress_line
from tests import nbfactory as nbf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keras"
EXAMPLES = int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cells(name: str) -> list[dict]:
    return json.loads((FIXTURES / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def _tables(name: str, cell: int):
    return find_tables(_cells(name)[cell]["outputs"])


# --------------------------------------------------------------------------- columns


def test_column_mapping():
    assert csv_column("loss") == "train_loss"
    assert csv_column("val_loss") == "valid_loss"
    assert csv_column("val_accuracy") == "accuracy"
    assert csv_column("accuracy") == "train_accuracy"
    assert csv_column("acc") == "train_acc" and csv_column("val_acc") == "acc"
    assert csv_column("lr") == csv_column("learning_rate") == "lr"
    assert csv_column("val_") == "train_val_"


def test_keras_times_load_as_seconds():
    assert time_to_seconds("36s") == 36.0
    assert time_to_seconds("01:05") == 65.0


# --------------------------------------------------------------------------- the format, real outputs


@pytest.mark.parametrize("name", ["keras3", "tf_keras"])
def test_verbose_1_with_validation(name):
    (table,) = _tables(name, 3)
    assert table.format == "keras"
    assert set(table.columns) == {"epoch", "train_loss", "train_accuracy", "valid_loss", "accuracy", "time"}
    assert table.columns[0] == "epoch" and table.columns[-1] == "time"
    assert [r[0] for r in table.rows] == ["1", "2", "3"]
    row = dict(zip(table.columns, table.rows[0]))
    expected = {"keras3": ("0.6073", "0.4416", "0.9062", "1s"), "tf_keras": ("0.6150", "0.5745", "0.6875", "2s")}[name]
    assert (row["train_loss"], row["valid_loss"], row["accuracy"], row["time"]) == expected
    assert not table.interrupted and not table.notes


@pytest.mark.parametrize("name", ["keras3", "tf_keras"])
def test_verbose_2(name):
    (table,) = _tables(name, 4)
    assert set(table.columns) == {"epoch", "train_loss", "train_accuracy", "time"}
    assert len(table.rows) == 2 and table.rows[1][0] == "2"


@pytest.mark.parametrize("name", ["keras3", "tf_keras"])
def test_early_stopping_checkpoint_and_reduce_lr_lines(name):
    (table,) = _tables(name, 5)
    assert [r[0] for r in table.rows] == ["1", "2", "3"]
    assert "lr" in table.columns
    assert dict(zip(table.columns, table.rows[2]))["lr"] == "1.0000e-04"
    assert table.notes == ("EarlyStopping ended the fit after 3 of 20 epochs; the weights of its best epoch (epoch 1) were restored",)


@pytest.mark.parametrize("name", ["keras3", "tf_keras"])
def test_headerless_lines_are_tables_of_one_row(name):
    fit, evaluate = _tables(name, 6)  # fit(epochs=1) prints no header; evaluate() looks the same
    assert len(fit.rows) == len(evaluate.rows) == 1 and fit.rows[0][0] == "1"


@pytest.mark.parametrize("name", ["keras3", "tf_keras"])
def test_evaluate_and_predict_after_a_fit_are_apart(name):
    fit, evaluate, predict = _tables(name, 7)
    assert len(fit.rows) == 2 and "valid_loss" in fit.columns
    assert len(evaluate.rows) == 1 and "valid_loss" not in evaluate.columns
    assert predict.blank and not predict.rows


@pytest.mark.parametrize("name", ["keras3", "tf_keras"])
def test_initial_epoch_and_crash(name):
    (table,) = _tables(name, 8)
    assert [r[0] for r in table.rows] == ["3", "4"]
    (crashed,) = _tables(name, 11)
    assert crashed.interrupted and not crashed.rows


def test_verbose_0_prints_no_table():
    for name in ("keras3", "tf_keras"):
        assert _tables(name, 9) == []


def test_keras_2_0():
    (table,) = _tables("keras20", 2)
    assert table.columns == ("epoch", "train_loss", "train_acc", "valid_loss", "acc", "time")
    assert table.rows[0] == ("1", "0.8691", "0.6291", "1.0711", "0.3016", "0s")
    assert len(table.rows) == 3
    (table,) = _tables("keras20", 3)
    assert table.rows == (("1", "0.8691", "0.6291", "1.0711", "0.3016", "0s"), ("2", "0.9136", "0.4611", "0.9694", "0.6883", "0s"))


def test_progress_line_shapes():
    keras3 = "459/459 ━━━━━━━━━━━━━━━━━━━━ 36s 79ms/step - accuracy: 0.7100 - loss: 0.5407 - val_accuracy: 0.74 - val_loss: 0.5179"
    assert progress_line(keras3) == (True, "36s", (("accuracy", "0.7100"), ("loss", "0.5407"), ("val_accuracy", "0.74"), ("val_loss", "0.5179")))
    assert progress_line("14/14 - 0s - loss: 0.5 - accuracy: 0.7 - 124ms/epoch - 9ms/step") == (True, "0s", (("loss", "0.5"), ("accuracy", "0.7")))
    assert progress_line(" - 3s - loss: 0.5 - acc: 0.7")[1:] == ("3s", (("loss", "0.5"), ("acc", "0.7")))
    assert progress_line("150/150 [==============================] - 0s 1ms/sample - loss: 1.0997")[2] == (("loss", "1.0997"),)
    # junk glued after the last value (a warning printed into the line) is dropped
    assert progress_line("4/4 [==============================] - 0s 2ms/step - loss: 0.8347WARNING:absl: x")[2] == (("loss", "0.8347"),)
    assert progress_line("4/4 [==============================] - 0s 2ms/step - loss: 0.8347   ")[2] == (("loss", "0.8347"),)
    assert progress_line("4/4 [==============================] - 0s 2ms/step - loss: nan")[2] == (("loss", "nan"),)
    for other in ("Epoch 1/3", "1/3", "x - loss: 1", "0  1.2  0.3  00:05", "- loss: 0.3", "12s - nothing here"):
        assert progress_line(other) is None, other


def _fit_stream(epochs, metrics, *, total=None, start=1, verbose=1, newline_bars=False):
    text = ""
    for k in range(start, start + len(epochs)):
        text += f"Epoch {k}/{total or start + len(epochs) - 1}\n"
        values = " - ".join(f"{name}: {value}" for name, value in zip(metrics, epochs[k - start]))
        if verbose == 1:
            text += "\r 1/10 [==>...........................] - ETA: 3s - loss: 0.9000"
            text += ("\n" if newline_bars else "\b" * 60) + f"\r10/10 [==============================] - 3s 30ms/step - {values}\n"
        else:
            text += f"10/10 - 3s - {values} - 300ms/epoch - 30ms/step\n"
    return text


def test_interleaved_prints_and_a_second_fit():
    first = _fit_stream([("0.5", "0.4"), ("0.3", "0.2")], ("loss", "val_loss"))
    second = _fit_stream([("0.9", "0.8")], ("loss", "val_loss"), total=5)
    text = first.replace("Epoch 2/2\n", "Epoch 2/2\nsomething the user printed\n") + second
    one, two = find_tables([nbf.stream_output(text)])
    assert one.rows == (("1", "0.5", "0.4", "3s"), ("2", "0.3", "0.2", "3s")) and not one.interrupted
    assert two.rows == (("1", "0.9", "0.8", "3s"),) and not two.interrupted  # its last epoch shown was complete


def test_redraws_across_outputs_are_merged():
    text = _fit_stream([("0.5", "0.4")], ("loss", "val_loss"))
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
    (table,) = find_tables([nbf.stream_output(p) for p in pieces])
    assert table.rows == (("1", "0.5", "0.4", "3s"),)


def test_a_fit_cut_off_after_its_header_is_interrupted():
    text = "Epoch 1/100\n\r 3/10 [======>.......................] - ETA: 3s - loss: 0.9000"
    (table,) = find_tables([nbf.stream_output(text)])
    assert table.interrupted and not table.rows


# --------------------------------------------------------------------------- the framework


def _events(*sources):
    out = []

    def flat(events):
        for e in events:
            body = getattr(e, "body", None)
            if body is not None:
                flat(body)
            else:
                out.append(e)

    results = analyse_cells(list(sources))
    for r in results:
        flat(r.events)
    return out, [w for r in results for w in r.warnings]


def _calls(events):
    return [e for e in events if isinstance(e, TrainingCall)]


def test_models_and_pretrained_flags():
    events, _ = _events(
        "from tensorflow import keras\nfrom tensorflow.keras.applications import ResNet50",
        "a = keras.applications.ResNet50(weights='imagenet', include_top=False)\nb = ResNet50(weights=None)\nc = ResNet50()",
        "base = keras.applications.EfficientNetB0(include_top=False)\nx = base(inputs)\nm = keras.Model(inputs, keras.layers.Dense(2)(x))",
        "s = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])",
        "class Net(keras.Model):\n    pass\nnet = Net()",
        "f = keras.Model(inputs, keras.layers.Dense(2)(inputs))\ng = keras.Model(inputs=i, outputs=o, name='toy_mlp')",
    )
    made = {e.target: (e.model, e.pretrained) for e in events if isinstance(e, LearnerCreated)}
    assert made["a"] == ("ResNet50", True) and made["b"] == ("ResNet50", False) and made["c"] == ("ResNet50", True)
    assert made["m"] == ("EfficientNetB0", True)
    assert made["s"] == ("Sequential", False)
    assert made["net"] == ("Net", False)  # (its code builds nothing that brings weights: frameworks/scratch.py)
    assert made["f"] == ("Functional", False) and made["g"] == ("toy_mlp", False)  # Keras's class, or the name given
    assert all(e.framework == "keras" for e in events if isinstance(e, LearnerCreated))


@pytest.mark.parametrize(
    "compile_call, rate, default",
    [
        ("m.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-4), loss='mse')", "3e-4", False),
        ("m.compile(keras.optimizers.SGD(lr=0.1), 'mse')", "0.1", False),
        ("opt = Adam(1e-5)\nm.compile(optimizer=opt, loss='mse')", "1e-5", False),
        ("m.compile(optimizer='adam', loss='mse')", "1e-3", True),
        ("m.compile(optimizer='sgd', loss='mse')", "1e-2", True),
        ("m.compile(optimizer=keras.optimizers.SGD(), loss='mse')", "1e-2", True),
        ("m.compile(loss='mse')", "1e-3", True),
    ],
)
def test_compile_sets_the_rate_of_later_fits(compile_call, rate, default):
    events, warnings = _events("import keras", "m = keras.Sequential([keras.layers.Dense(1)])", compile_call, "m.fit(x, y, epochs=3)")
    (call,) = _calls(events)
    assert (call.learning_rate, call.lr_is_default, call.epochs, call.lr_from_learner) == (rate, default, 3, False)
    assert not warnings


def test_a_second_compile_changes_the_rate():
    events, _ = _events(
        "import keras\nm = keras.Sequential([keras.layers.Dense(1)])",
        "m.compile(optimizer=keras.optimizers.Adam(1e-3))\nm.fit(x, y, epochs=2)",
        "m.compile(optimizer=keras.optimizers.Adam(1e-5))\nm.fit(x, y, epochs=2)",
    )
    assert [c.learning_rate for c in _calls(events)] == ["1e-3", "1e-5"]


def test_unknown_rates_are_warned():
    events, warnings = _events("import keras\nm = keras.Sequential([])", "m.fit(x, y, epochs=2)")
    assert _calls(events)[0].learning_rate == "" and any("learning rate of m.fit(x, y, epochs=2) unknown" in w for w in warnings)
    events, warnings = _events(
        "import keras\nm = keras.Sequential([])",
        "m.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)))",
        "m.fit(x, y, epochs=2)",
    )
    assert _calls(events)[0].learning_rate == "" and any("ExponentialDecay" in w for w in warnings)
    events, warnings = _events(
        "import keras\nm = keras.Sequential([])\nm.compile(optimizer='adam')",
        "m.fit(x, y, epochs=2, callbacks=[keras.callbacks.LearningRateScheduler(f)])",
    )
    assert _calls(events)[0].learning_rate == "" and any("LearningRateScheduler" in w for w in warnings)


def test_reduce_lr_on_plateau_keeps_the_starting_rate_and_says_so():
    events, warnings = _events(
        "import keras\nm = keras.Sequential([])\nm.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05))",
        "reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=1)\n"
        "m.fit(x, y, epochs=6, validation_split=0.2, callbacks=[reduce_lr])",
    )
    assert _calls(events)[0].learning_rate == "0.05"
    assert any("is the starting rate: ReduceLROnPlateau lowers it" in w for w in warnings), warnings


def test_fit_arguments():
    events, warnings = _events(
        "import keras\nm = keras.Sequential([])\nm.compile(optimizer='adam')",
        "m.fit(x, y)\nm.fit(x, y, epochs=10, initial_epoch=4)\nm.fit(x, y, epochs=5, verbose=0)\nm.fit(x, y, 32, 7)",
    )
    assert [c.epochs for c in _calls(events)] == [1, 6, 7]
    assert not warnings


def test_scikit_learn_fits_do_not_count_and_evaluate_is_a_display():
    events, _ = _events(
        "import keras\nfrom sklearn.linear_model import LogisticRegression\nclf = LogisticRegression()\nclf.fit(X, y)",
        "m = keras.Sequential([])\nm.compile('adam')\nm.evaluate(x, y)\nm.predict(x)",
    )
    assert not _calls(events)
    assert [e.method for e in events if isinstance(e, ProgressCall)] == ["evaluate", "predict"]


def test_fastai_notebooks_stay_fastai():
    events, _ = _events("from fastai.vision.all import *\nimport tensorflow.keras", "learn = vision_learner(dls, resnet18)")
    assert [e.framework for e in events if isinstance(e, LearnerCreated)] == ["fastai"]


# --------------------------------------------------------------------------- end to end


def test_fixture_notebooks_end_to_end():
    for name in ("keras3", "tf_keras"):
        result = extract_notebook(FIXTURES / f"{name}.ipynb")
        runs = {run.ordinal: run for run in result.runs}
        assert [(r.model, r.pretrained, r.framework) for r in result.runs] == [
            ("Sequential", False, "keras"),
            ("Sequential", False, "keras"),
            ("MyModel", False, "keras"),
        ]
        first = runs[1]
        assert [(p.learning_rate, p.planned_epochs, p.recorded_epochs) for p in first.phases] == [
            ("1e-2", 3, 3), ("1e-2", 2, 2), ("1e-2", 2, 2), ("1e-2", 2, 2), ("1e-2", 100, 0),
        ]
        assert first.phases[-1].interrupted
        second = runs[2]
        assert [(p.learning_rate, p.lr_is_default, p.recorded_epochs) for p in second.phases] == [("1e-3", True, 3), ("1e-3", True, 1)]
        assert runs[3].phases[0].learning_rate == "0.05"
        messages = [d.message for d in result.diagnostics]
        assert len(messages) == 4, messages  # the early stop, the phase it cut short, the crash, and:
        assert sum("is the starting rate: ReduceLROnPlateau" in m for m in messages) == 1
        assert not any("training table" in m or "no training call" in m for m in messages)


def _without_stderr(cells: list[dict]) -> list[dict]:
    return [{**c, "outputs": [o for o in c.get("outputs", []) if o.get("name") != "stderr"]} for c in cells]


def test_an_optimizer_lr_keyword_dropped_by_tf_keras_trains_at_its_default(tmp_path):
    # tf-keras 2.21 drops Adam(lr=0.005) and says so on stderr; its legacy Adam honours lr=
    result = extract_notebook(FIXTURES / "tf_keras_lr_keyword.ipynb")
    assert [(r.phases[0].learning_rate, r.phases[0].lr_is_default) for r in result.runs] == [("1e-3", True), ("0.005", False)]
    (said,) = [d.message for d in result.diagnostics if "dropped" in d.message]
    assert "run 1, phase 1" in said and "lr=0.005 was dropped" in said and "default 1e-3" in said
    # without the message (older Keras honours lr=; or the output was not kept) the rate is the one given, unsaid
    doc = json.loads((FIXTURES / "tf_keras_lr_keyword.ipynb").read_text(encoding="utf-8"))
    doc["cells"] = _without_stderr(doc["cells"])
    quiet = extract_notebook(nbf.write(tmp_path / "quiet.ipynb", doc))
    assert [r.phases[0].learning_rate for r in quiet.runs] == ["0.005", "0.005"]
    assert not any("dropped" in d.message for d in quiet.diagnostics)


@pytest.mark.parametrize(
    "optimizer, dropped",
    [("keras.optimizers.Adam(lr=0.005)", "1e-3"), ("tf.keras.optimizers.SGD(lr=0.1)", "1e-2"),
     ("keras.optimizers.Adam(learning_rate=0.005)", None), ("keras.optimizers.Adam(0.005)", None),
     ("tf.keras.optimizers.legacy.Adam(lr=0.005)", None)],
)
def test_only_an_lr_keyword_of_a_current_optimizer_may_be_dropped(optimizer, dropped):
    cells = ["from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])",
             f"model.compile(optimizer={optimizer}, loss='mse')\nmodel.fit(x, y, epochs=2)"]
    (call,) = [e for e in analyse_cells(cells)[1].events if isinstance(e, TrainingCall)]
    assert call.lr_if_ignored == dropped


def test_keras_2_0_outputs_end_to_end(tmp_path):
    cells = _cells("keras20")
    doc = nbf.notebook(
        [
            nbf.code_cell("from keras.models import Sequential\nfrom keras.layers import Dense\nmodel = Sequential([Dense(3, input_dim=4)])"),
            nbf.code_cell("model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])"),
            nbf.code_cell("model.fit(X, Y, nb_epoch=3, validation_split=0.2)", cells[2]["outputs"]),
            nbf.code_cell("model.fit(X, Y, epochs=2, validation_split=0.2, verbose=2)", cells[3]["outputs"]),
        ]
    )
    result = extract_notebook(nbf.write(tmp_path / "k20.ipynb", doc))
    (run,) = result.runs
    assert [(p.recorded_epochs, p.planned_epochs, p.learning_rate) for p in run.phases] == [(3, 3, "1e-3"), (2, 2, "1e-3")]
    assert not result.diagnostics


def test_evaluate_alone_makes_no_row_and_no_warning(tmp_path):
    cells = _cells("keras3")
    doc = nbf.notebook(
        [
            nbf.code_cell("import keras\nmodel = keras.Sequential([])\nmodel.compile('adam')"),
            nbf.code_cell("model.fit(x, y, epochs=2, validation_data=(xv, yv))", cells[7]["outputs"][:8]),
            nbf.code_cell("loss, acc = model.evaluate(xv, yv)", cells[7]["outputs"][8:]),
        ]
    )
    result = extract_notebook(nbf.write(tmp_path / "e.ipynb", doc))
    (run,) = result.runs
    assert [p.recorded_epochs for p in run.phases] == [2]
    assert not result.diagnostics


# --------------------------------------------------------------------------- hypothesis

_NAMES = st.sampled_from(["accuracy", "auc", "precision", "mae", "top_k_categorical_accuracy", "f1_score"])
_VALUES = st.one_of(
    st.floats(0.0011, 1000, allow_nan=False).map(lambda v: f"{v:.4f}"),
    st.floats(1e-9, 1e-3, allow_nan=False).map(lambda v: f"{v:.4e}"),
    st.just("nan"),
)
_NOISE = st.text(st.characters(blacklist_characters="\r\b\x1b", blacklist_categories=("Cs",)), max_size=30).map(
    lambda t: "log: " + t.replace("\n", " ") + "\n"
)


@st.composite
def keras_fits(draw):
    metrics = ["loss", *draw(st.lists(_NAMES, max_size=2, unique=True))]
    if draw(st.booleans()):
        metrics += ["val_" + m for m in metrics]
    epochs = draw(st.integers(1, 5))
    values = [tuple(draw(_VALUES) for _ in metrics) for _ in range(epochs)]
    start = draw(st.integers(1, 3))
    return metrics, values, start, draw(st.sampled_from([1, 2])), draw(st.booleans())


@FUZZ
@given(keras_fits(), st.lists(_NOISE, max_size=4), st.integers(1, 9), st.data())
def test_keras_fits_are_found_in_noise(fit, noise, chunk, data):
    metrics, values, start, verbose, newline_bars = fit
    text = _fit_stream(values, metrics, total=start + len(values) - 1 + (start > 1), start=start, verbose=verbose, newline_bars=newline_bars)
    lines = text.split("\n")
    for line in noise:  # noise lines only between whole lines, never before the first header
        at = data.draw(st.integers(1, len(lines) - 1))
        lines.insert(at, line.rstrip("\n"))
    text = "\n".join(lines)
    outputs = [nbf.stream_output(text[i : i + chunk * 13]) for i in range(0, len(text), chunk * 13)]
    found = [t for t in find_tables(outputs) if t.format == "keras"]
    assert len(found) == 1
    (table,) = found
    names = [csv_column(m) for m in metrics]
    assert table.columns == ("epoch", *names, "time")
    assert table.rows == tuple((str(start + k), *values[k], "3s") for k in range(len(values)))


@FUZZ
@given(st.lists(st.text(max_size=80), max_size=8), st.booleans())
def test_random_text_never_raises(texts, joined):
    outputs = [nbf.stream_output("\n".join(texts) if joined else t) for t in texts]
    find_tables(outputs)
    for text in texts:
        progress_line(text)


@FUZZ
@given(st.lists(st.sampled_from(["Epoch 1/3", "Epoch 2/3", "Epoch 3: early stopping", "Train on 10 samples",
                                 "3/3 [==============================] - 0s 1ms/step - loss: 0.5",
                                 " 1/3 [=========>....................] - ETA: 0s - loss: 0.5", "1/1 - 0s", "x", "",
                                 "Restoring model weights from the end of the best epoch: 1."]), max_size=12))
def test_any_sequence_of_keras_lines_never_raises(lines):
    for table in find_tables([nbf.stream_output("\n".join(lines))]):
        assert all(len(row) == len(table.columns) for row in table.rows)


def test_pretrained_of_composed_models():
    events, _ = _events(
        "import keras\nimport tensorflow_hub as hub",
        "h = keras.Sequential([hub.KerasLayer('https://tfhub.dev/google/x/feature_vector/5'), keras.layers.Dense(2)])",
        "u = keras.Sequential([make_backbone(), keras.layers.Dense(2)])\nv = keras.Sequential([Backbone(), keras.layers.Dense(2)])",
        "class Block(keras.layers.Layer):\n    pass\nw = keras.Sequential([Block(), keras.layers.Dense(2)])",
        "r = keras.Sequential([keras.applications.MobileNetV2(weights=None, include_top=False), keras.layers.Dense(2)])",
    )
    made = {e.target: (e.model, e.pretrained) for e in events if isinstance(e, LearnerCreated)}
    assert made["h"] == ("Sequential", True)
    assert made["u"] == made["v"] == ("Sequential", None)  # an unknown function or class may load weights
    assert made["w"] == ("Sequential", False)
    assert made["r"] == ("MobileNetV2", False)


def test_fit_generator_arguments():
    events, _ = _events("import keras\nm = keras.Sequential([])\nm.compile('adam')", "m.fit_generator(gen, 100, 8)\nm.fit_generator(gen, 100, 8, 0)")
    assert [c.epochs for c in _calls(events)] == [8]


def test_a_value_that_is_no_number_is_left_out():
    line = "4/4 [==============================] - 0s 2ms/step - loss: 0.8347 - f1: [0.5 0.6] - val_loss: 0.7"
    assert progress_line(line)[2] == (("loss", "0.8347"), ("val_loss", "0.7"))


def test_transformers_tf_models_are_keras_models():
    events, warnings = _events(
        "import tensorflow as tf\nfrom transformers import TFAutoModelForSequenceClassification",
        "model = TFAutoModelForSequenceClassification.from_pretrained('distilbert-base-uncased', num_labels=2)",
        "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=5e-5))\nmodel.fit(train_set, validation_data=val_set, epochs=3)",
    )
    (made,) = [e for e in events if isinstance(e, LearnerCreated)]
    assert (made.model, made.pretrained) == ("distilbert-base-uncased", True)
    assert [(c.learning_rate, c.epochs) for c in _calls(events)] == [("5e-5", 3)]


def test_other_libraries_epoch_bars_do_not_join_a_keras_table():
    text = _fit_stream([("0.5", "0.4")], ("loss", "val_loss")).replace("Epoch 1/1", "Epoch 1/2")
    text += "Epoch 3: 100%|██████████| 56/56 [00:01<00:00, 40.02it/s, loss=0.484]\n"
    from audiometrics.tables.keras import FORMAT

    table = FORMAT.start("Epoch 1/2")
    assert FORMAT.add(table, "Epoch 1: val_loss improved from inf to 0.40000, saving model to m.h5")
    assert not FORMAT.add(table, "Epoch 3: 100%|██████████| 56/56 [00:01<00:00, 40.02it/s, loss=0.484]")
    (found,) = [t for t in find_tables([nbf.stream_output(text)]) if t.format == "keras"]
    assert found.rows == (("1", "0.5", "0.4", "3s"),)


def test_train_on_then_a_headerless_epoch():
    # tf.keras 1.x / 2.0-2.1 fit(epochs=1) on arrays: the prelude, then one line and no header
    text = "Train on 150 samples, validate on 38 samples\n\r 32/150 [=====>....] - ETA: 0s - loss: 0.9\b\b\b\r150/150 [==============================] - 0s 1ms/sample - loss: 0.8691 - val_loss: 1.0711\n"
    text += "38/38 [==============================] - 0s 1ms/sample - loss: 1.0711\n"  # evaluate()
    fit, evaluate = find_tables([nbf.stream_output(text)])
    assert fit.rows == (("1", "0.8691", "1.0711", "0s"),) and not fit.interrupted
    assert evaluate.rows == (("1", "1.0711", "0s"),)


@pytest.mark.parametrize(
    "change",
    [
        "K.set_value(m.optimizer.lr, 1e-5)",
        "tf.keras.backend.set_value(m.optimizer.learning_rate, 1e-5)",
        "m.optimizer.learning_rate.assign(1e-5)",
        "m.optimizer.lr = 1e-5",
        "m.optimizer.learning_rate = 1e-5",
    ],
)
def test_a_rate_set_on_the_optimizer_is_the_rate_of_later_fits(change):
    events, warnings = _events(
        "import tensorflow as tf\nfrom tensorflow import keras\nfrom keras import backend as K",
        "m = keras.Sequential([keras.layers.Dense(1)])\nm.compile(optimizer=keras.optimizers.Adam(1e-3))\nm.fit(x, y, epochs=2)",
        change + "\nm.fit(x, y, epochs=2)",
        "m.compile(optimizer=keras.optimizers.Adam(2e-4))\nm.fit(x, y, epochs=2)",
    )
    assert [c.learning_rate for c in _calls(events)] == ["1e-3", "1e-5", "2e-4"]
    assert not warnings


def test_outputs_as_jupyterlab_saves_them_and_as_a_batch_run_prints_them(tmp_path):
    # JupyterLab saves the stream with the redraws already applied; a run without a live display
    # (``_dynamic_display`` false) prints every update on a line of its own
    lab = (
        "Epoch 1/2\n1875/1875 [==============================] - 4s 2ms/step - loss: 0.4977 - accuracy: 0.8249"
        " - val_loss: 0.4102 - val_accuracy: 0.8530\nEpoch 2/2\n1875/1875 [==============================] - 3s 2ms/step"
        " - loss: 0.3745 - accuracy: 0.8650 - val_loss: 0.3900 - val_accuracy: 0.8601\n"
    )
    batch = "Epoch 1/2\n\n   1/1875 [..............................] - ETA: 2:03:21 - loss: 2.3026 - accuracy: 0.0938"
    batch += "\n 937/1875 [=============>................] - ETA: 2s - loss: 0.6 - accuracy: 0.79"
    batch += "\n1875/1875 [==============================] - ETA: 0s - loss: 0.4977 - accuracy: 0.8249"
    batch += "\n1875/1875 [==============================] - 4s 2ms/step - loss: 0.4977 - accuracy: 0.8249 - val_loss: 0.4102 - val_accuracy: 0.8530"
    batch += "\nEpoch 2/2\n\n1875/1875 [==============================] - 3s 2ms/step - loss: 0.3745 - accuracy: 0.8650 - val_loss: 0.3900 - val_accuracy: 0.8601\n"
    for text in (lab, batch):
        doc = nbf.notebook(
            [
                nbf.code_cell("import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])"),
                nbf.code_cell("model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"),
                nbf.code_cell("history = model.fit(train_images, train_labels, epochs=2, validation_split=0.1)", [nbf.stream_output(text)]),
            ]
        )
        result = extract_notebook(nbf.write(tmp_path / "lab.ipynb", doc))
        (run,) = result.runs
        (phase,) = run.phases
        assert phase.columns == ("epoch", "train_loss", "train_accuracy", "valid_loss", "accuracy", "time")
        assert phase.rows == (
            ("1", "0.4977", "0.8249", "0.4102", "0.8530", "4s"),
            ("2", "0.3745", "0.8650", "0.3900", "0.8601", "3s"),
        )
        assert (run.model, run.pretrained, phase.learning_rate, phase.lr_is_default) == ("Sequential", False, "1e-3", True)
        assert not result.diagnostics


_FRAGMENTS = st.sampled_from([
    "import keras", "from tensorflow import keras", "m = keras.Sequential([keras.layers.Dense(1)])",
    "m = keras.Model(inp, out)", "b = keras.applications.ResNet50(weights=W)", "m = keras.Sequential([b, *layers])",
    "m.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss='mse')", "m.compile(**kw)", "m.compile(opt)",
    "m.fit(x, y, epochs=E, verbose=v)", "m.fit(*a, **k)", "m.fit(x, y, epochs=3, initial_epoch=i)", "m.evaluate(x)",
    "K.set_value(m.optimizer.lr, 1e-4)", "m.optimizer.learning_rate.assign(r)", "m.optimizer.lr = None",
    "class M(keras.Model):\n    pass", "n = M()", "n.fit(x, epochs=2)", "for i in range(3):\n    m.fit(x, epochs=i)",
    "def f(model):\n    model.compile('sgd')\n    return model.fit(x, epochs=2)", "f(m)", "m = keras.models.load_model(p)",
    "lr = 1e-3", "E = 5", "W = None", "v = 0", "x.assign(3)", "K.set_value(v, 2)", "keras.backend.set_value()",
])


@FUZZ
@given(st.lists(st.lists(_FRAGMENTS, min_size=1, max_size=4).map("\n".join), min_size=1, max_size=5))
def test_keras_code_never_raises(cells):
    results = analyse_cells(cells)
    assert len(results) == len(cells)


def test_a_partial_line_glued_to_a_message_and_junk_after_a_final_line():
    text = (
        "Epoch 1/2\n\r 5/10 [==============>...............] - ETA: 1s - loss: 0.5000WARNING: something odd\n"
        + "\b" * 70 + "\r10/10 [==============================] - 2s 20ms/step - loss: 0.4000 - val_loss: 0.3000   \n"
        "Epoch 2/2\n\r10/10 [==============================] - 2s 20ms/step - loss: 0.3500 - val_loss: 0.2500 <- best\n"
    )
    (table,) = find_tables([nbf.stream_output(text[:40]), nbf.stream_output(text[40:])])
    assert table.rows == (("1", "0.4000", "0.3000", "2s"), ("2", "0.3500", "0.2500", "2s"))


def test_a_bar_drawn_again_after_a_callback_line_gives_the_epoch_its_validation_values():
    # Keras 3 drew the bar at the last step, then ModelCheckpoint printed, then the bar again with val_*
    bar = "\r8/8 ━━━━━━━━━━━━━━━━━━━━ 0s {ms}ms/step - accuracy: {a} - loss: {l}"
    text = ""
    for k, (a, l, va, vl) in enumerate([("0.48", "0.87", "0.64", "0.71"), ("0.59", "0.69", "0.72", "0.61")], 1):
        text += f"Epoch {k}/2\n" + bar.format(ms=24, a=a, l=l)
        text += f"\nEpoch {k}: val_loss improved from None to {vl}, saving model to best.keras\n"
        text += "\b" * 40 + bar.format(ms=47, a=a, l=l) + f" - val_accuracy: {va} - val_loss: {vl}\n"
    text += "\r2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.59 - loss: 0.69\n"  # evaluate(): its own table
    fit, evaluate = find_tables([nbf.stream_output(text)])
    assert fit.columns == ("epoch", "train_accuracy", "train_loss", "accuracy", "valid_loss", "time")
    assert fit.rows == (("1", "0.48", "0.87", "0.64", "0.71", "0s"), ("2", "0.59", "0.69", "0.72", "0.61", "0s"))
    assert len(evaluate.rows) == 1


def test_a_different_bar_after_the_last_epoch_is_not_its_redraw():
    text = "Epoch 1/1\n\r8/8 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.87\nEpoch 1: note\n"
    text += "\r8/8 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.80 - val_loss: 0.5\n"  # other values: not the same bar
    first, second = find_tables([nbf.stream_output(text)])
    assert first.rows == (("1", "0.87", "0s"),) and len(second.rows) == 1


def test_a_headerless_line_in_a_cell_with_no_fit_is_a_result_not_an_epoch(tmp_path):
    # evaluate() through a call the analysis does not know prints the one line fit(epochs=1) would print
    line = "\r2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.4062 - loss: 1.1472\n"
    doc = nbf.notebook([
        nbf.code_cell("import keras\nfrom helpers import check\nmodel = keras.models.load_model('m.keras')"),
        nbf.code_cell("check(model, x, y)", [nbf.stream_output(line)]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "eval.ipynb", doc))
    assert not [row for run in result.runs for p in run.phases for row in p.rows]
    assert any("evaluate()'s result, not an epoch" in d.message for d in result.diagnostics)
    # with a fit in the cell, the same line is that fit's one epoch
    doc = nbf.notebook([
        nbf.code_cell("import keras\nmodel = keras.Sequential([])\nmodel.compile('adam', 'mse')"),
        nbf.code_cell("model.fit(x, y)", [nbf.stream_output(line)]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "fit.ipynb", doc))
    assert [len(p.rows) for run in result.runs for p in run.phases] == [1]


def test_one_epoch_fit_with_a_checkpoint_line_is_one_table_and_train_on_lines_are_fits(tmp_path):
    text = "\r8/8 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.87\nEpoch 1: val_loss improved from inf to 0.5\n"
    text += "\r8/8 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 0.87 - val_loss: 0.5\n"
    (table,) = find_tables([nbf.stream_output(text)])
    assert table.rows == (("1", "0.87", "0.5", "0s"),) and table.headerless
    # Keras 2.0's fit(epochs=1): "Train on" says a fit, not evaluate()
    text = "Train on 150 samples\n\r150/150 [==============================] - 0s 1ms/sample - loss: 0.8691\n"
    (table,) = find_tables([nbf.stream_output(text)])
    assert len(table.rows) == 1 and not table.headerless


def test_an_empty_sequential_filled_later_has_an_unknown_pretrained_flag():
    from audiometrics.analysis.analyser import analyse_cells

    source = "import keras\nmodel = keras.Sequential()\nmodel.add(keras.applications.ResNet50())\nmodel.compile(optimizer='adam')"
    (analysis,) = analyse_cells([source])
    (created,) = [e for e in analysis.events if type(e).__name__ == "LearnerCreated" and e.factory == "Sequential"]
    assert (created.model, created.pretrained) == ("Sequential", None)
    (listed,) = analyse_cells(["import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])"])
    assert [(e.model, e.pretrained) for e in listed.events] == [("Sequential", False)]


_TAPE_LINES = "".join(f"Epoch {e + 1}, Loss: 0.{9 - e}, Accuracy: {50 + e}.5\n" for e in range(3))
_TAPE_STEP = (
    "@tf.function\ndef train_step(x, y):\n    with tf.GradientTape() as tape:\n        loss = loss_object(y, model(x))\n"
    "    grads = tape.gradient(loss, model.trainable_variables)\n    optimizer.apply_gradients(APPLIED)"
)


@pytest.mark.parametrize(
    ("optimizer", "applied", "rate", "default", "said"),
    [
        ("tf.keras.optimizers.SGD(learning_rate=0.01)", "zip(grads, model.trainable_variables)", "0.01", False, None),
        ("tf.keras.optimizers.Adam()", "zip(grads, model.trainable_variables)", "1e-3", True, None),  # Keras's default
        ("keras.optimizers.Adam(1e-4)", "grads_and_vars=zip(grads, model.trainable_weights)", "1e-4", False, None),
        ("tf.keras.optimizers.Adam(learning_rate=tf.keras.optimizers.schedules.ExponentialDecay(1e-2, 100, 0.9))",
         "zip(grads, model.trainable_variables)", "", False, "a schedule (ExponentialDecay) sets it"),
        ("make_optimizer()", "zip(grads, model.trainable_variables)", "", False, "make_optimizer is not known"),
        ("tf.keras.optimizers.SGD(0.1)", "zip(grads, model.trainable_variables + head.trainable_variables)", "", False,
         "learning rate unknown"),  # two models' weights: not one learner's rate
    ],
)
def test_a_gradient_tape_loop_trains_at_the_rate_of_the_optimizer_it_applies(tmp_path, optimizer, applied, rate, default, said):
    doc = nbf.notebook([
        nbf.code_cell("import tensorflow as tf\nfrom tensorflow import keras\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3)])\n"
                      f"optimizer = {optimizer}\nloss_object = tf.keras.losses.MeanSquaredError()"),
        nbf.code_cell(_TAPE_STEP.replace("APPLIED", applied)),
        nbf.code_cell("EPOCHS = 3\nfor epoch in range(EPOCHS):\n    for x, y in train_ds:\n        train_step(x, y)\n"
                      "    print(f'Epoch {epoch + 1}, Loss: {l:.1f}')", [nbf.stream_output(_TAPE_LINES)]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    (run,) = result.runs
    (phase,) = run.phases
    assert (run.model, phase.learning_rate, phase.lr_is_default, phase.planned_epochs) == ("Sequential", rate, default, 3)
    messages = [d.message for d in result.diagnostics]
    assert (any(said in m for m in messages) if said else not messages), messages


def test_a_loop_over_models_trains_each_of_them():
    """``for name, m in [('a', model_a), ('b', model_b)]: m.fit(...)`` (real run): the second fit of each model is
    its phase 2 (it was a phantom run of unknown model); the same for fastai learners in a plain list."""
    result = extract_notebook(FIXTURES / "keras_loop_over_models.ipynb")
    assert [[(p.learning_rate, p.recorded_epochs) for p in r.phases] for r in result.runs] == [
        [("1e-2", 3), ("1e-2", 1)], [("3e-3", 2), ("3e-3", 1)]]
    assert not any("never bound to a learner" in d.message for d in result.diagnostics)
    cells = ["from fastai.vision.all import *",
             "a = vision_learner(dls, resnet18)\nb = vision_learner(dls, resnet34)\nfor learn in [a, b]:\n    learn.fit_one_cycle(1, 1e-3)"]
    calls = [e for e in analyse_cells(cells)[1].events if isinstance(e, TrainingCall)]
    assert [c.learner for c in calls] == ["a", "b"]


@pytest.mark.parametrize(
    "loop",
    ["models = [model_a, model_b]\nfor m in models:\n    m.fit(x, y, epochs=1)",
     "models = {'a': model_a, 'b': model_b}\nfor name, m in models.items():\n    m.fit(x, y, epochs=1)",
     "models = {'a': model_a, 'b': model_b}\nfor m in models.values():\n    m.fit(x, y, epochs=1)"],
)
def test_a_loop_over_models_bound_to_a_name_trains_each_of_them(loop):
    head = ("import keras\nmodel_a = keras.Sequential([keras.layers.Dense(1)])\nmodel_b = keras.Sequential([keras.layers.Dense(2)])\n"
            "model_a.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2))\nmodel_b.compile(optimizer='adam')")
    calls = [e for e in analyse_cells([head, loop])[1].events if isinstance(e, TrainingCall)]
    assert [(c.learner, c.learning_rate, c.lr_is_default) for c in calls] == [("model_a", "1e-2", False), ("model_b", "1e-3", True)]
    rebound = analyse_cells([head, "models = [model_a, model_b]\nmodels = pick(models)\nfor m in models:\n    m.fit(x, y, epochs=1)"])[1]
    assert not [e for e in rebound.events if isinstance(e, TrainingCall)]  # (a Loop of unknown learners)
