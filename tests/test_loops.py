"""Plain training loops' epoch lines (tables/loops.py): the rule, its variants and its limits.

``tests/fixtures/loops/`` holds real notebooks (tiny torch trainings printing in
the shapes of well-known tutorials; see ``make_loop_fixtures.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.pipeline import extract_notebook
from audiometrics.tables import find_tables
from audiometrics.tables.loops import metric_column, parse_pairs
from tests import nbfactory as nbf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "loops"
EXAMPLES = int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tables(name: str, cell: int = 1):
    return find_tables(json.loads((FIXTURES / name).read_text())["cells"][cell]["outputs"])


def _read(text: str):
    return find_tables([nbf.stream_output(text)])


def test_bentrevett_three_line_records_from_a_real_notebook():
    (table,) = _tables("loop_bentrevett.ipynb")
    assert table.format == "loop"
    assert table.columns == ("epoch", "train_loss", "train_acc", "valid_loss", "acc", "time")
    assert table.rows[0] == ("1", "0.719", "47.40%", "0.710", "51.56%", "0m 0s")  # printed "Epoch: 01": as displayed
    assert [r[0] for r in table.rows] == ["1", "2", "3", "4", "5"]


def test_the_test_evaluation_after_training_is_not_an_epoch():
    assert _tables("loop_bentrevett.ipynb", cell=2) == []


def test_rasbt_step_lines_one_row_each():
    (table,) = _tables("loop_rasbt.ipynb")
    assert table.columns == ("epoch", "step", "train_loss", "valid_loss")
    assert table.rows == (("1", "000000", "0.719", "0.710"), ("2", "000005", "0.707", "0.701"), ("3", "000010", "0.696", "0.693"))


def test_two_line_records():
    (table,) = _tables("loop_two_line.ipynb")
    assert table.columns == ("epoch", "train_loss", "train_acc")
    assert table.rows[0] == ("0", "0.719", "0.474")
    assert len(table.rows) == 4


def test_one_line_records_two_loops_two_tables():
    first, second = _tables("loop_one_line.ipynb")
    assert first.columns == ("epoch", "train_loss", "valid_loss")
    assert first.rows[0] == ("1", "0.7190", "0.7095")  # "Epoch 1/4": as displayed
    assert second.columns == ("epoch", "train_loss", "acc")
    assert [r[0] for r in second.rows] == ["0", "1", "2"]  # "epoch 0": kept


def test_transfer_learning_tutorial_phase_word_carries():
    (table,) = _tables("loop_transfer.ipynb")
    assert table.columns == ("epoch", "train_loss", "train_acc", "valid_loss", "acc")
    assert table.rows[0] == ("0", "0.7190", "0.4740", "0.7095", "0.5156")


def test_loop_notebook_end_to_end_run_from_the_optimizer():
    result = extract_notebook(FIXTURES / "loop_bentrevett.ipynb")
    (run,) = result.runs
    assert run.framework == "loop"
    # nn.Sequential(...) of torch.nn layers: named by its class (as Keras's Sequential is), from scratch
    assert (run.model, run.pretrained) == ("Sequential", False) and len(run.phases[0].rows) == 5
    assert not any("model name cannot be resolved" in d.message for d in result.diagnostics)
    assert run.phases[0].learning_rate == "1e-3"  # optim.Adam(model.parameters(), lr=1e-3)
    assert not any("no training call" in d.message for d in result.diagnostics)  # a loop has none to find


@pytest.mark.parametrize(
    "build, model, pretrained",
    [
        ("model = Net().to(device)", "Net", None),
        ("model = torchvision.models.resnet18(pretrained=True)", "resnet18", True),
        ("model = nn.Sequential(nn.Linear(8, 2))", "Sequential", False),
        ("model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))", "Sequential", False),
        ("model = nn.Sequential(*layers)", "Sequential", None),  # parts not seen: may carry weights
        ("model = nn.Sequential(make_body(), nn.Linear(8, 2))", "Sequential", None),
        ("model = nn.Sequential(Net(), nn.Linear(8, 2))", "Net", None),
        ("model = nn.Sequential(torchvision.models.resnet18(pretrained=True), nn.Linear(512, 2))", "resnet18", True),
        ("model = nn.Sequential(OrderedDict([('fc', nn.Linear(8, 2)), ('act', nn.ReLU())]))", "Sequential", False),
        ("model = nn.Sequential(OrderedDict(layers))", "Sequential", None),
    ],
)
def test_loop_model_from_the_optimizer(tmp_path, build, model, pretrained):
    lines = "Epoch 1/2, Loss: 0.5, Val Loss: 0.4\nEpoch 2/2, Loss: 0.3, Val Loss: 0.2\n"
    doc = nbf.notebook([
        nbf.code_cell("import torch\nimport torchvision\nfrom torch import nn, optim"),
        nbf.code_cell(build + "\noptimizer = optim.Adam(model.parameters(), lr=1e-3)"),
        nbf.code_cell("for epoch in range(2):\n    loss = step()\n    loss.backward()", [nbf.stream_output(lines)]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    (run,) = result.runs
    assert (run.model, run.pretrained) == (model, pretrained)
    assert [r[:3] for r in run.phases[0].rows] == [("1", "0.5", "0.4"), ("2", "0.3", "0.2")]


_LINES = "Epoch 1/2, Loss: 0.5, Val Loss: 0.4\nEpoch 2/2, Loss: 0.3, Val Loss: 0.2\n"


def _loop_notebook(tmp_path, setup: str, outputs: int = 1):
    doc = nbf.notebook([
        nbf.code_cell("import torch\nfrom torch import nn, optim\nmodel = Net()"),
        nbf.code_cell(setup + "\nfor epoch in range(2):\n    loss.backward()", [nbf.stream_output(_LINES)] * outputs),
    ])
    return extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))


@pytest.mark.parametrize(
    ("setup", "rate", "default"),
    [
        ("opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)", "0.1", False),
        ("opt = torch.optim.SGD(model.parameters(), 1e-2)", "1e-2", False),  # the second positional argument
        ("LR = 3e-4\nopt = optim.AdamW(model.parameters(), lr=LR)", "3e-4", False),
        ("opt = optim.Adam(model.parameters())", "1e-3", True),  # torch's default
        ("opt = optim.RMSprop(model.parameters())", "1e-2", True),
        ("opt = optim.SGD(model.parameters())", "", False),  # no default before torch 2.2
        ("opt = optim.Adam(model.parameters(), lr=float(input()))", "", False),
        ("opt = optim.SGD(model.parameters(), lr=0.1)\nsched = optim.lr_scheduler.StepLR(opt, 1)", "", False),
        ("opt = optim.AdamW(model.parameters(), lr=1e-4)\nnoise = DDPMScheduler(num_train_timesteps=1000)", "1e-4", False),
        ("opt = optim.SGD(model.parameters(), lr=0.1)\nfor g in opt.param_groups:\n    g['lr'] = 0.05", "", False),
    ],
)
def test_loop_rate_is_the_optimizers(tmp_path, setup, rate, default):
    result = _loop_notebook(tmp_path, setup)
    (phase,) = result.runs[0].phases
    assert (phase.learning_rate, phase.lr_is_default) == (rate, default)
    if not rate:  # unknown is said with its reason
        assert any("learning rate unknown" in d.message for d in result.diagnostics)


def test_loop_over_rates_gives_each_table_its_optimizer(tmp_path):
    setup = "for lr in [0.1, 0.01]:\n    opt = optim.SGD(model.parameters(), lr=lr)\n    print(lr)"
    doc = nbf.notebook([
        nbf.code_cell("import torch\nfrom torch import nn, optim\nmodel = Net()"),
        nbf.code_cell(setup + "\n    for epoch in range(2):\n        loss.backward()", [nbf.stream_output(_LINES)] * 2),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    assert [[p.learning_rate for p in run.phases] for run in result.runs] == [["0.1"], ["0.01"]]
    three = nbf.notebook([doc["cells"][0], nbf.code_cell("".join(doc["cells"][1]["source"]), [nbf.stream_output(_LINES)] * 3)])
    result = extract_notebook(nbf.write(tmp_path / "three.ipynb", three))  # 3 tables, 2 optimizers: said
    assert any("3 tables printed without a training call for 2 optimizers" in d.message for d in result.diagnostics)


def test_loop_framework_leaves_other_libraries_alone(tmp_path):
    doc = nbf.notebook([
        nbf.code_cell("import torch\nfrom fastai.vision.all import *"),
        nbf.code_cell("model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)"),
        nbf.code_cell("loss.backward()", [nbf.stream_output("Epoch 1/2, Loss: 0.5\nEpoch 2/2, Loss: 0.3\n")]),
    ])
    (run,) = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc)).runs
    assert run.model == "" and run.framework == "loop"  # the table's format; no optimizer learner under fastai


@pytest.mark.parametrize(
    "text, rows",
    [
        ("Epoch [1/5], Step [100/600], Loss: 0.2164\nEpoch [1/5], Step [200/600], Loss: 0.1\n",
         (("1", "100", "0.2164"), ("1", "200", "0.1"))),
        ("epoch=0 loss=1.5 val_loss=1.2\nepoch=1 loss=1.1 val_loss=1.0\n", (("0", "1.5", "1.2"), ("1", "1.1", "1.0"))),
        ("Epoch 1 | train loss 0.5 | valid loss 0.4\nEPOCH 2 | train loss 0.3 | valid loss 0.2\n",
         (("1", "0.5", "0.4"), ("2", "0.3", "0.2"))),
        ("Epoch 0 - loss: 0.5 - acc: 80.0%\nEpoch 1 - loss: 0.4 - acc: 85.5%\n", (("0", "0.5", "80.0%"), ("1", "0.4", "85.5%"))),
        ("[1,  2000] loss: 2.166\n[1,  4000] loss: 1.853\n[2,  2000] loss: 1.512\nFinished Training\n",
         (("1", "2000", "2.166"), ("1", "4000", "1.853"), ("2", "2000", "1.512"))),
        ("Epoch 1 | Train Loss: 0.5 | Val Loss: 0.4 | Time: 12.3s\nEpoch 2 | Train Loss: 0.3 | Val Loss: 0.2 | Time: 11.9s\n",
         (("1", "0.5", "0.4", "12.3s"), ("2", "0.3", "0.2", "11.9s"))),
        ("epoch 1, loss = 0.693147\nepoch 2, loss = 0.5\n", (("1", "0.693147"), ("2", "0.5"))),
    ],
)
def test_variants(text, rows):
    (table,) = _read(text)
    assert tuple(r[: len(rows[0])] for r in table.rows) == rows


@pytest.mark.parametrize(
    "text",
    [
        "Epoch 3 done, saving model\nEpoch 4 done, saving model\n",  # words that are not pairs
        "epochs = 10\nbatch size 32\n",  # a setting, no metric
        "Epoch 1: lr 0.001\nEpoch 2: lr 0.0005\n",  # no loss or metric
        "Test Loss: 0.3 | Test Acc: 80.00%\n",  # no epoch marker
        "[1, 2] [3, 4]\n[5, 6] ok\n",  # bracketed numbers without metric pairs
    ],
)
def test_limits_not_read(text):
    assert [t for t in _read(text) if not t.blank] == []


def test_metric_column_rule():
    assert metric_column("Train Loss") == "train_loss"
    assert metric_column("loss") == "train_loss"
    assert metric_column("Val. Loss") == "valid_loss"
    assert metric_column("validation accuracy") == "accuracy"
    assert metric_column("train acc") == "train_acc"
    assert metric_column("eval_f1") == "f1"


def test_parse_pairs_is_all_or_nothing():
    assert parse_pairs("loss: 0.3, acc: 0.9") == [("loss", "0.3"), ("acc", "0.9")]
    assert parse_pairs("loss: 0.3, see you") is None


_NAMES = st.sampled_from(["loss", "val_loss", "Train Acc", "valid loss", "f1", "val acc"])
_NOISE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60).filter(lambda s: "poch" not in s.lower() and "ep" not in s.lower())


@FUZZ
@given(st.lists(_NAMES, min_size=1, max_size=3, unique_by=metric_column),
       st.lists(st.floats(0.001, 99, allow_nan=False), min_size=2, max_size=6),
       st.sampled_from(["Epoch {e}: {p}", "epoch {e} | {p}", "Epoch [{e}/99], {p}"]),
       st.lists(_NOISE, max_size=3), st.data())
def test_epoch_lines_in_noise_are_found(names, values, shape, noise, data):
    lines = []
    for e, v in enumerate(values):
        pairs = ", ".join(f"{n}: {v:.4f}" for n in names) if "|" not in shape else " | ".join(f"{n} {v:.4f}" for n in names)
        lines.append(shape.format(e=e, p=pairs) + "\n")
    outputs = [nbf.stream_output(n + "\n") for n in noise]
    outputs.insert(data.draw(st.integers(0, len(outputs))), nbf.stream_output("".join(lines)))
    tables = [t for t in find_tables(outputs) if t.format == "loop" and not t.blank]
    assert len(tables) == 1
    assert [r[1] for r in tables[0].rows] == [f"{v:.4f}" for v in values]


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("Epoch 0123456789:%|/[](),.=-\n\tloss acc Val.")), max_size=300))
def test_random_loop_text_never_raises(text):
    find_tables([nbf.stream_output(text)])


@pytest.mark.parametrize(
    "line",
    [" " * 60_000 + "x", "epoch 1: loss" + " " * 60_000 + "x", "Epoch 1: " + "loss 1 " * 10_000, "\t " * 30_000, "[1, " + " " * 60_000],
)
def test_pathological_lines_are_read_in_linear_time(line):
    import time

    start = time.perf_counter()
    find_tables([nbf.stream_output("epoch\n" + line + "\n")])
    assert time.perf_counter() - start < 5  # a quadratic pattern takes minutes on these


def _epoch_lines(epochs: list[int], total: int) -> str:
    return "".join(f"Epoch {e}/{total}, Loss: 0.{e}, Val Loss: 0.{e}\n" for e in epochs)


@pytest.mark.parametrize(
    ("loop", "shown", "planned"),
    [
        ("N_EPOCHS = 4\nfor epoch in range(N_EPOCHS):", [1, 2, 3, 4], 4),
        ("for epoch in range(1, EPOCHS + 1):", [1, 2, 3], 3),  # EPOCHS = 3, set in the first cell
        ("for i in range(cfg_epochs):", [1, 2, 3], 5),  # an early stop: 3 of 5 recorded
        ("for epoch in range(2, EPOCHS):", [3], 1),  # resumed
        ("for i in range(3):", [1, 2, 3], None),  # nothing says it counts epochs
        ("for epoch in range(100):", [1, 11, 21], None),  # prints every tenth epoch: no plan for its table
        ("for epoch in range(int(input())):", [1, 2], None),  # length unknown
        ("for epoch in epochs_list:", [1, 2], None),  # not a range
    ],
)
def test_a_loops_planned_epochs_are_its_epoch_loops_length(tmp_path, loop, shown, planned):
    doc = nbf.notebook([
        nbf.code_cell("import torch\nfrom torch import nn, optim\nmodel = Net()\nEPOCHS = 3\ncfg_epochs = 5"),
        nbf.code_cell("opt = optim.Adam(model.parameters(), lr=1e-3)"),
        nbf.code_cell(loop + "\n    loss.backward()\n    print(epoch)", [nbf.stream_output(_epoch_lines(shown, 9))]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    (phase,) = result.runs[0].phases
    assert (phase.planned_epochs, phase.recorded_epochs) == (planned, len(shown))
    assert phase.incomplete == (planned is not None and len(shown) < planned)
    said = [d.message for d in result.diagnostics if "incomplete" in d.message]
    assert said == ([f"phase 1 (a training table) incomplete: {len(shown)} of {planned} epochs recorded"] if phase.incomplete else [])


def test_each_optimizer_of_a_loop_over_rates_plans_its_epoch_loop_and_no_learner_still_plans(tmp_path):
    setup = "for lr in [0.1, 0.01]:\n    opt = optim.SGD(model.parameters(), lr=lr)\n    for epoch in range(num_epochs):"
    doc = nbf.notebook([
        nbf.code_cell("import torch\nfrom torch import nn, optim\nmodel = nn.Sequential(nn.Linear(2, 1))\nnum_epochs = 2"),
        nbf.code_cell(setup + "\n        loss.backward()", [nbf.stream_output(_LINES)] * 2),
        nbf.code_cell("for epoch in range(num_epochs):\n    l.sum().backward()", [nbf.stream_output(_LINES)]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    # (the last cell's table goes to the optimizer made last, and its own epoch loop plans it)
    assert [[(p.learning_rate, p.planned_epochs) for p in run.phases] for run in result.runs] == [
        [("0.1", 2)], [("0.01", 2), ("0.01", 2)]
    ]
    no_optimizer = nbf.notebook([doc["cells"][0], nbf.code_cell("import torch\nl = w.sum()\nl.backward()"), doc["cells"][2]])
    no_optimizer["cells"][0]["source"] = "import torch\nnum_epochs = 2"
    (run,) = extract_notebook(nbf.write(tmp_path / "plain.ipynb", no_optimizer)).runs
    assert run.model == "" and run.phases[0].planned_epochs == 2


def test_a_hand_written_epoch_loop_plans_its_table_in_any_librarys_notebook(tmp_path):
    keras_loop = (
        "for epoch in range(num_epochs):\n    with tf.GradientTape() as tape:\n        loss = loss_object(y, model(x))\n"
        "    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))"
    )
    cases = [
        ("import torch\nfrom fastai.vision.all import *\nlearn = vision_learner(dls, resnet18)",
         "for epoch in range(3):\n    loss.backward()", "resnet18"),
        ("import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3)])\n"
         "optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)\nnum_epochs = 3", keras_loop, "Sequential"),
    ]
    for k, (setup, loop, model) in enumerate(cases):
        doc = nbf.notebook([nbf.code_cell(setup), nbf.code_cell(loop, [nbf.stream_output(_epoch_lines([1, 2], 3))])])
        (run,) = extract_notebook(nbf.write(tmp_path / f"nb{k}.ipynb", doc)).runs
        assert (run.model, run.phases[0].planned_epochs, run.phases[0].incomplete) == (model, 3, True)


def test_a_transformers_notebook_with_its_own_loop_is_a_loop_and_its_model_the_checkpoint(tmp_path):
    lines = "".join(f"epoch {e}: train_loss = 0.{9 - e}, val_loss = 0.{8 - e}\n" for e in range(3))
    doc = nbf.notebook([
        nbf.code_cell(
            "import torch\nfrom torch.optim import AdamW\nfrom transformers import AutoModelForSequenceClassification\n"
            "checkpoint = 'bert-base-uncased'\nmodel = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)\n"
            "optimizer = AdamW(model.parameters(), lr=5e-5)"
        ),
        nbf.code_cell(
            "num_epochs = 3\nfor epoch in range(num_epochs):\n    for batch in train_dataloader:\n"
            "        loss = model(**batch).loss\n        loss.backward()\n        optimizer.step()",
            [nbf.stream_output(lines)],
        ),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    (run,) = result.runs
    (phase,) = run.phases
    assert (run.framework, run.model, run.pretrained) == ("loop", "bert-base-uncased", True)
    assert (phase.learning_rate, phase.planned_epochs, len(phase.rows)) == ("5e-5", 3, 3) and not result.diagnostics


_LOOP_FRAGMENTS = st.sampled_from([
    "import torch", "from torch import nn, optim", "model = nn.Sequential(nn.Linear(2, 1))", "model = nn.Sequential(*layers)",
    "model = nn.Sequential(OrderedDict([('a', nn.ReLU())]))", "model = nn.Sequential(OrderedDict(x), Net())", "model = Net()",
    "model = nn.ModuleList([nn.Linear(1, 1)])", "model = nn.Sequential(torch.nn)", "model = nn.Sequential(**kw)",
    "opt = optim.Adam(model.parameters(), lr=LR)", "opt = optim.SGD(model.parameters())", "opt = optim.AdamW(params)",
    "for epoch in range(EPOCHS):\n    loss.backward()", "for epoch in range(1, n_epochs + 1):\n    loss.backward()",
    "for ep in range(10 ** 100):\n    pass", "for epoch in range(*r):\n    pass", "for epoch, b in range(3):\n    pass",
    "for i in range(cfg.epochs):\n    for epoch in range(i):\n        loss.backward()", "async def f():\n    async for epoch in range(3):\n        pass",
    "for lr in [0.1, 0.01]:\n    opt = optim.SGD(model.parameters(), lr=lr)\n    for epoch in range(EPOCHS):\n        loss.backward()",
    "while True:\n    for epoch in range(2):\n        break", "def train(n):\n    for epoch in range(n):\n        loss.backward()", "train(3)",
    "EPOCHS = 3", "LR = 1e-3", "n_epochs = None", "r = (1, 2)",
])


@FUZZ
@given(st.lists(st.lists(_LOOP_FRAGMENTS, min_size=1, max_size=4).map("\n".join), min_size=1, max_size=5),
       st.lists(st.sampled_from([[1, 2, 3], [1], [2, 1], [1, 1, 2], []]), min_size=1, max_size=5))
def test_loop_notebooks_never_raise(tmp_path_factory, cells, shown):
    lines = [_epoch_lines(epochs, 3) for epochs in shown]
    doc = nbf.notebook([
        nbf.code_cell(source, [nbf.stream_output(lines[k % len(lines)])] if lines[k % len(lines)] else [])
        for k, source in enumerate(cells)
    ])
    result = extract_notebook(nbf.write(tmp_path_factory.mktemp("fuzz") / "nb.ipynb", doc))
    assert not any("internal error" in d.message for d in result.diagnostics)
    for run in result.runs:
        for phase in run.phases:
            assert phase.planned_epochs is None or phase.planned_epochs >= 0


def test_a_loop_whose_output_no_format_reads_says_so_at_its_optimizer(tmp_path):
    doc = nbf.notebook([
        nbf.code_cell("import torch\nfrom torch import nn"),
        nbf.code_cell("model = nn.Linear(2, 1)\nopt = torch.optim.Adam(model.parameters(), lr=1e-3)"),
        nbf.code_cell("for epoch in range(2):\n    loss = model(x).sum()\n    loss.backward()\n    opt.step()\nshow(history)",
                      [nbf.stream_output("something the tool does not read\n")]),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    assert result.runs == ()
    (said,) = [d.message for d in result.diagnostics]
    assert "Adam(...) makes a learner here, but no progress table was read in any output" in said and "In [2]" in str(result.diagnostics[0])


def test_an_optimizer_named_by_a_config_through_getattr_starts_the_run():
    from audiometrics.analysis.analyser import analyse_cells
    from audiometrics.model import LearnerCreated

    cells = ["import torch\nfrom torch import nn\nCFG = {'optimizer': 'AdamW', 'lr': 3e-4, 'epochs': 3}",
             "model = nn.Linear(2, 1)\noptimizer = getattr(torch.optim, CFG['optimizer'])(model.parameters(), lr=CFG['lr'])\n"
             "loss.backward()",
             "other = getattr(torch.optim, name)(model.parameters())\nthing = getattr(np, 'mean')(x)"]
    results = analyse_cells(cells)
    (made,) = [e for e in results[1].events if isinstance(e, LearnerCreated)]
    assert (made.factory, made.model, made.pretrained, made.rate) == ("AdamW", "Linear", False, "3e-4")
    assert not [e for e in results[2].events if isinstance(e, LearnerCreated)]  # an unknown name, or no optimizer


@pytest.mark.parametrize(
    "setup, params, model, pretrained",
    [
        ("model = Net()", "filter(lambda p: p.requires_grad, model.parameters())", "Net", False),
        ("model = Net().to(device)", "[{'params': [p for n, p in model.named_parameters() if 'bias' in n], 'weight_decay': 0.0},"
         " {'params': [p for n, p in model.named_parameters() if 'bias' not in n]}]", "Net", False),
        ("model = BertForSequenceClassification(config).to(device)", "model.parameters()", "BertForSequenceClassification", False),
        ("model = Net()\nmodel.load_state_dict(torch.load('pretrained.pt'))", "model.parameters()", "Net", True),
        ("model = Net()\nmodel.load_state_dict(torch.load('w.pt'))\nmodel = Net()", "model.parameters()", "Net", False),  # rebound
        ("a, b = Net(), nn.Linear(2, 2)", "list(a.parameters()) + list(b.parameters())", None, None),  # two models: which is it?
    ],
)
def test_the_model_an_optimizer_trains_and_weights_loaded_before(setup, params, model, pretrained):
    from audiometrics.analysis.analyser import analyse_cells
    from audiometrics.model import LearnerCreated

    classes = "import torch\nfrom torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(2, 2)"
    (made,) = [e for e in analyse_cells([classes, f"{setup}\nopt = torch.optim.AdamW({params}, lr=1e-3)\nloss.backward()"])[1].events
               if isinstance(e, LearnerCreated)]
    assert (made.model, made.pretrained) == (model, pretrained)
