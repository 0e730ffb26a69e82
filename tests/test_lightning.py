"""PyTorch Lightning: the tqdm progress bar (tables/lightning.py) and Trainer/fit (frameworks/lightning.py).

The fixtures in ``tests/fixtures/lightning/`` are real notebooks executed with
pytorch-lightning 2.6 (see their README and ``make_lightning_fixtures.py``); synthetic
bars below follow the same printing (tqdm ``\\r`` redraws, Validation bars
between epochs, the last epoch printed twice).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.analysis.analyser import analyse_cells
from audiometrics.model import TrainingCall
from audiometrics.pipeline import extract_notebook
from audiometrics.tables import find_tables
from audiometrics.tables.lightning import lightning_column
from tests import nbfactory as nbf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lightning"
EXAMPLES = int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cell_outputs(name: str, cell: int = 2) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["cells"][cell]["outputs"]


def test_real_bar_one_row_per_epoch_with_its_own_validation_values():
    tables = find_tables(_cell_outputs("lightning_epoch_loss.ipynb"))
    assert len(tables) == 1
    table = tables[0]
    assert table.format == "lightning"
    assert table.columns == ("epoch", "train_loss", "valid_loss", "acc", "time")
    # the values each epoch's bar ended with: epoch 0's validation (0.405) is on epoch 0, not epoch 1
    assert [r[:4] for r in table.rows] == [
        ("0", "0.326", "0.405", "0.875"),
        ("1", "0.132", "0.241", "0.922"),
        ("2", "0.0747", "0.169", "0.953"),
        ("3", "0.0572", "0.134", "0.953"),  # the last epoch, printed twice: one row
    ]


def test_real_bar_with_step_and_epoch_values_prefers_the_epoch_mean():
    table = find_tables(_cell_outputs("lightning_step_epoch.ipynb"))[0]
    assert table.columns == ("epoch", "train_loss_step", "valid_loss", "acc", "train_loss", "time")
    assert table.rows[0] == ("0", "0.326", "0.405", "0.875", "0.522", "00:00")
    assert [r[0] for r in table.rows] == ["0", "1", "2"]


def test_real_bar_without_validation():
    table = find_tables(_cell_outputs("lightning_no_val.ipynb"))[0]
    assert table.columns == ("epoch", "train_loss", "time")
    assert [r[:2] for r in table.rows] == [("0", "0.611"), ("1", "0.573")]


def test_end_to_end_run_learning_rate_from_the_module_and_no_silent_notebook():
    result = extract_notebook(FIXTURES / "lightning_epoch_loss.ipynb")
    (run,) = result.runs
    assert run.framework == "lightning"
    (phase,) = run.phases
    assert phase.call_text == "trainer.fit(model, train, valid)"
    assert phase.learning_rate == "1e-2"  # model = LitClassifier(lr=1e-2)
    assert len(phase.rows) == 4
    # LitClassifier(): configure_optimizers uses self.lr, set from __init__'s lr=1e-3 default
    from_init = extract_notebook(FIXTURES / "lightning_no_val.ipynb")
    assert from_init.runs[0].phases[0].learning_rate == "1e-3"
    assert not any("configure_optimizers" in d.message for d in from_init.diagnostics)


def test_rich_bar_leaves_nothing_and_the_notebook_says_so():
    result = extract_notebook(FIXTURES / "lightning_rich_default.ipynb")
    assert sum(len(p.rows) for r in result.runs for p in r.phases) == 0
    assert any("no progress table in any output" in d.message for d in result.diagnostics)


def _bar(epoch: int, step: int, total: int, postfix: str) -> str:
    pct = int(100 * step / total)
    return f"\rEpoch {epoch}: {pct:3d}%|##########| {step}/{total} [00:01<00:00, 40.02it/s{postfix}]"


def _old_style_stream(epochs: list[tuple[str, str]], validate_every: int = 1) -> str:
    """Lightning 1.x text: one line per epoch holding its redraws, then validation, then the next epoch."""
    text = "\rSanity Checking: 0it [00:00, ?it/s]\rSanity Checking DataLoader 0: 100%|##| 2/2 [00:00<00:00]\n"
    previous_val = ""
    for k, (loss, val) in enumerate(epochs):
        for step in (1, 2, 3):
            text += _bar(k, step, 3, f", loss={loss}, v_num=0{previous_val}")
        text += "\n"
        if k % validate_every == 0:
            text += "\rValidation: 0it [00:00, ?it/s]\n\rValidation DataLoader 0: 100%|##| 2/2 [00:00<00:00]\n"
            previous_val = f", val_loss={val}"
        text += _bar(k, 3, 3, f", loss={loss}, v_num=0{previous_val}")
    text += _bar(len(epochs) - 1, 3, 3, f", loss={epochs[-1][0]}, v_num=0{previous_val}") + "\n"
    return text


def test_synthetic_old_bar_and_stale_validation_left_empty():
    text = _old_style_stream([("0.9", "0.8"), ("0.7", "0.6"), ("0.5", "0.4")], validate_every=2)
    (table,) = find_tables([nbf.stream_output(text, "stderr")])
    assert table.columns == ("epoch", "train_loss", "valid_loss", "time")
    assert table.rows == (
        ("0", "0.9", "0.8", "00:01"),
        ("1", "0.7", "", "00:01"),  # no validation ran in epoch 1: the 0.8 its bar shows is epoch 0's
        ("2", "0.5", "0.4", "00:01"),
    )
    assert table.notes and "epoch 1" in table.notes[0]


def test_two_fits_in_one_cell_are_two_tables():
    first = _old_style_stream([("0.9", "0.8"), ("0.7", "0.6")])
    second = _old_style_stream([("0.5", "0.4")])
    tables = find_tables([nbf.stream_output(first), nbf.stream_output(second)])
    assert [len(t.rows) for t in tables] == [2, 1]


def test_column_mapping():
    assert lightning_column("loss") == "train_loss"
    assert lightning_column("val_loss") == "valid_loss"
    assert lightning_column("val/acc") == "acc"
    assert lightning_column("train_acc_epoch") == "train_acc"
    assert lightning_column("val_f1") == "f1"


def test_not_a_lightning_bar():
    # a plain tqdm bar over epochs (no "Epoch N:" prefix) and Keras' header are not Lightning's
    outputs = [nbf.stream_output("\r100%|##########| 10/10 [00:01<00:00, 9.9it/s, loss=0.3]\nEpoch 1/10\n")]
    assert [t.format for t in find_tables(outputs)] != ["lightning"]


_NOISE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@FUZZ
@given(st.lists(st.tuples(st.floats(0.01, 9, allow_nan=False), st.floats(0.01, 9, allow_nan=False)), min_size=1, max_size=5),
       st.lists(_NOISE, max_size=4), st.data())
def test_bars_in_noise_are_found_with_their_values(epochs, noise, data):
    values = [(f"{a:.3f}", f"{b:.3f}") for a, b in epochs]
    text = _old_style_stream(values)
    outputs = [nbf.stream_output(n.replace("Epoch", "E poch") + "\n") for n in noise]
    at = data.draw(st.integers(0, len(outputs)))
    outputs.insert(at, nbf.stream_output(text, "stderr"))
    tables = [t for t in find_tables(outputs) if t.format == "lightning"]
    assert len(tables) == 1
    assert [(r[1], r[2]) for r in tables[0].rows] == values


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("Epoch 0123456789:%|#/[]<>,.=\r\n\x1bAval_loss")), max_size=300))
def test_random_bar_text_never_raises(text):
    find_tables([nbf.stream_output(text)])


def test_lightning_source_shapes(tmp_path):
    bar = _old_style_stream([("0.9", "0.8"), ("0.7", "0.6")])
    doc = nbf.notebook([
        nbf.code_cell("import lightning as L\nfrom sklearn.linear_model import LogisticRegression"),
        nbf.code_cell("clf = LogisticRegression()\nclf.fit(X, y)"),
        nbf.code_cell("trainer = L.Trainer(max_epochs=2)\ntrainer.fit(LitModel(learning_rate=3e-4), datamodule=dm)",
                      [nbf.stream_output(bar, "stderr")]),
        nbf.code_cell("trainer.test(datamodule=dm)"),
    ])
    result = extract_notebook(nbf.write(tmp_path / "nb.ipynb", doc))
    (run,) = result.runs
    assert run.framework == "lightning"
    (phase,) = run.phases
    assert phase.learning_rate == "3e-4"
    assert [r[:3] for r in phase.rows] == [("0", "0.9", "0.8"), ("1", "0.7", "0.6")]
    assert not any("LogisticRegression" in d.message for d in result.diagnostics)


def test_a_loops_own_tqdm_bar_is_not_lightning_and_its_epoch_lines_are_read():
    text = ""
    for epoch, (loss, acc) in enumerate([("0.5", "0.8"), ("0.4", "0.9")]):
        text += "".join(f"\rEpoch {epoch}: {p}%|###| {p // 10}/10 [00:01<00:00, 9.9it/s, loss={loss}]" for p in (10, 100)) + "\n"
        text += f"Epoch {epoch}: train loss {loss}, val acc {acc}\n"
    tables = find_tables([nbf.stream_output(text, "stderr")])
    assert [t.format for t in tables] == ["loop"]
    assert [r[:3] for r in tables[0].rows] == [("0", "0.5", "0.8"), ("1", "0.4", "0.9")]


def test_lightning_1x_shape_validation_inside_the_main_bar():
    # Lightning 1.x: "Validation sanity check", "Training: -1it", the epoch bar counting train + val batches,
    # "Validating" bars, the validation values on the epoch's own bar once it reaches 100%
    text = (
        "\rValidation sanity check: 0it [00:00, ?it/s]\rValidation sanity check:  50%|#####     | 1/2 [00:00<00:00,  4.52it/s]"
        "\r                                                              \rTraining: -1it [00:00, ?it/s]"
        "\rEpoch 0:  88%|########8 | 938/1063 [00:13<00:01, 70.04it/s, loss=0.104, v_num=0]\n"
        "\rValidating: 0it [00:00, ?it/s]\x1b[A\n"
        "\rEpoch 0: 100%|##########| 1063/1063 [00:14<00:00, 72.40it/s, loss=0.104, v_num=0, val_loss=0.0943, val_acc=0.971]"
        "\rEpoch 1:  88%|########8 | 938/1063 [00:13<00:01, 70.04it/s, loss=0.0712, v_num=0, val_loss=0.0943, val_acc=0.971]\n"
        "\rValidating: 0it [00:00, ?it/s]\x1b[A\n"
        "\rEpoch 1: 100%|##########| 1063/1063 [00:15<00:00, 70.11it/s, loss=0.0712, v_num=0, val_loss=0.0611, val_acc=0.981]"
        "\rEpoch 1: 100%|##########| 1063/1063 [00:15<00:00, 70.10it/s, loss=0.0712, v_num=0, val_loss=0.0611, val_acc=0.981]\n"
    )
    (table,) = find_tables([nbf.stream_output(text, "stderr")])
    assert table.columns == ("epoch", "train_loss", "valid_loss", "acc", "time")
    assert table.rows == (("0", "0.104", "0.0943", "0.971", "00:14"), ("1", "0.0712", "0.0611", "0.981", "00:15"))


def _collapsed_stream(epochs, *, v_num=True, final=True):
    """Lightning 2.x's bars saved with each line's last redraw only (no ``\\r``): the epoch's bar drawn before
    its validation, the Validation bars, the next epoch's bar still showing the previous validation values."""
    bar = "Epoch {e}: 100%|██████████| 6/6 [00:00<00:00, 250.00it/s, {post}]\n"
    val = (
        "Validation: |          | 0/? [00:00<?, ?it/s]\x1b[A\n"
        "Validation DataLoader 0:   0%|          | 0/2 [00:00<?, ?it/s]\x1b[A\n"
        "Validation DataLoader 0: 100%|██████████| 2/2 [00:00<00:00, 400.00it/s]\x1b[A\n"
    )
    text, shown = " " * 40, ""
    for e, (loss, val_loss) in enumerate(epochs):
        post = ("v_num=0, " if v_num else "") + f"train_loss={loss}" + shown
        text += bar.format(e=e, post=post) + val
        shown = f", val_loss={val_loss}"
    if final:
        post = ("v_num=0, " if v_num else "") + f"train_loss={epochs[-1][0]}" + shown
        text += bar.format(e=len(epochs) - 1, post=post)
    return text


def test_bars_saved_with_their_last_redraw_only_give_each_epoch_its_own_validation_values():
    outputs = [nbf.stream_output(_collapsed_stream([("0.55", "0.57"), ("0.41", "0.45"), ("0.29", "0.33")]))]
    (table,) = find_tables(outputs)
    assert table.format == "lightning" and table.columns == ("epoch", "train_loss", "valid_loss", "time")
    assert [r[:3] for r in table.rows] == [("0", "0.55", "0.57"), ("1", "0.41", "0.45"), ("2", "0.29", "0.33")]
    assert not table.notes


def test_an_epoch_with_no_bar_after_its_validation_has_no_validation_values_and_a_note():
    outputs = [nbf.stream_output(_collapsed_stream([("0.55", "0.57"), ("0.41", "0.45")], final=False))]
    (table,) = find_tables(outputs)
    assert [r[:3] for r in table.rows] == [("0", "0.55", "0.57"), ("1", "0.41", "")]  # not epoch 0's 0.57
    assert any("epoch 1" in n for n in table.notes)


def test_bars_with_no_logger_and_no_redraws_are_confirmed_by_the_validation_bars_that_follow():
    # no v_num (logger=False), no Sanity Checking bar left: the first Epoch line alone does not say Lightning
    first = _collapsed_stream([("0.54", "0.52"), ("0.35", "0.30")], v_num=False)
    second = _collapsed_stream([("0.36", "0.32"), ("0.08", "0.15")], v_num=False)
    tables = find_tables([nbf.stream_output(first), nbf.stream_output("\n"), nbf.stream_output(second)])
    assert [t.format for t in tables] == ["lightning", "lightning"]
    assert [r[:3] for r in tables[0].rows] == [("0", "0.54", "0.52"), ("1", "0.35", "0.30")]
    assert [r[:3] for r in tables[1].rows] == [("0", "0.36", "0.32"), ("1", "0.08", "0.15")]


def test_a_loops_bars_saved_without_redraws_are_still_not_lightning():
    text = ""
    for epoch, (loss, acc) in enumerate([("0.5", "0.8"), ("0.4", "0.9")]):
        text += f"Epoch {epoch}: 100%|##########| 10/10 [00:01<00:00, 9.9it/s, loss={loss}]\n"
        text += "Validation: 100%|##########| 2/2 [00:00<00:00, 9.9it/s]\n"
        text += f"Epoch {epoch}: train loss {loss}, val acc {acc}\n"
    tables = find_tables([nbf.stream_output(text)])
    assert [t.format for t in tables] == ["loop"]
    assert [r[:3] for r in tables[0].rows] == [("0", "0.5", "0.8"), ("1", "0.4", "0.9")]
    # bars alone, confirmed by nothing: no table, as before
    bars = "".join(f"Epoch {e}: 100%|##########| 10/10 [00:01<00:00, 9.9it/s, loss=0.{e}]\n" for e in range(3))
    assert find_tables([nbf.stream_output(bars)]) == []


def test_the_run_is_named_by_the_module_fit_trains():
    """The Trainer names no model: the LightningModule handed to ``fit`` does (pretrained stays unknown)."""
    from audiometrics.pipeline import extract_notebook

    (run,) = extract_notebook(str(FIXTURES / "lightning_epoch_loss.ipynb")).runs
    assert (run.model, run.pretrained, run.framework) == ("LitClassifier", False, "lightning")  # (read from its __init__)


_MODULE = '''import pytorch_lightning as pl
import torch
LR = 3e-4
class Base(pl.LightningModule):
    def __init__(self, hidden=32, lr=1e-2):
        super().__init__()
        self.save_hyperparameters()
        self.rate = lr
class Lit(Base):
    def configure_optimizers(self):
        {body}
'''


@pytest.mark.parametrize(
    ("body", "build", "expected"),
    [
        ("return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)", "Lit()", ("1e-2", False)),  # __init__ default
        ("return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)", "Lit(hidden=3, lr=5e-3)", ("5e-3", False)),
        ("return torch.optim.Adam(self.parameters(), lr=self.hparams['lr'])", "Lit(3, 7e-4)", ("7e-4", False)),
        ("return torch.optim.Adam(self.parameters(), lr=self.rate)", "Lit()", ("1e-2", False)),  # self.rate = lr
        ("return torch.optim.SGD(self.parameters(), 1e-1, momentum=0.9)", "Lit(lr=5)", ("1e-1", False)),  # literal wins
        ("return torch.optim.Adam(self.parameters(), lr=LR)", "Lit()", ("3e-4", False)),  # a notebook constant
        ("lr = self.hparams.lr\n        return torch.optim.AdamW(self.parameters(), lr=lr)", "Lit(lr=2e-5)", ("2e-5", False)),
        ("return torch.optim.Adam(self.parameters())", "Lit()", ("1e-3", True)),  # torch's default
        ("return torch.optim.SGD(self.parameters())", "Lit()", ("", False)),  # no default before torch 2.2
        ("opt = torch.optim.SGD(self.parameters(), lr=0.1)\n        return [opt], [torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, 100)]",
         "Lit()", ("", False)),
        ("return torch.optim.Adam(self.parameters(), lr=self.hparams.unknown)", "Lit()", ("", False)),
        ("lr = 1e-3\n        lr = lr * 2\n        return torch.optim.Adam(self.parameters(), lr=lr)", "Lit()", ("", False)),
    ],
)
def test_rate_from_the_modules_configure_optimizers(body, build, expected):
    cells = [_MODULE.format(body=body), f"model = {build}\ntrainer = pl.Trainer(max_epochs=3)\ntrainer.fit(model)"]
    analysis = analyse_cells(cells)[1]
    (call,) = [e for e in analysis.events if isinstance(e, TrainingCall)]
    assert (call.learning_rate, call.lr_is_default) == expected
    assert call.model == "Lit"
    if not expected[0]:  # unknown is said, with the reason
        assert any("learning rate of trainer.fit(model) unknown" in w for w in analysis.warnings)


def test_module_class_not_in_the_notebook_keeps_the_constructors_lr():
    cells = ["import pytorch_lightning as pl\nfrom mylib import Lit", "trainer = pl.Trainer()\ntrainer.fit(Lit(lr=4e-4))"]
    (call,) = [e for e in analyse_cells(cells)[1].events if isinstance(e, TrainingCall)]
    assert call.learning_rate == "4e-4"


@pytest.mark.parametrize(
    ("trainer", "planned"),
    [
        ("pl.Trainer(max_epochs=3)", 3),
        ("EPOCHS = 5\ntrainer = pl.Trainer(accelerator='cpu', max_epochs=EPOCHS)", 5),
        ("pl.Trainer(max_epochs=3, max_steps=100)", None),  # whichever comes first
        ("pl.Trainer()", None),  # 1000 by the library's default: not claimed
        ("pl.Trainer(**config)", None),
    ],
)
def test_planned_epochs_are_the_trainers_max_epochs(trainer, planned):
    if not trainer.startswith("EPOCHS"):
        trainer = f"trainer = {trainer}"
    cells = [_MODULE.format(body="return torch.optim.Adam(self.parameters())"), f"{trainer}\ntrainer.fit(Lit())"]
    (call,) = [e for e in analyse_cells(cells)[1].events if isinstance(e, TrainingCall)]
    assert call.epochs == planned


def test_a_module_printing_its_epochs_loses_the_sanity_checks_line():
    """``print`` in ``on_validation_epoch_end`` runs for the sanity check too (real run): the first of the two
    epoch-0 lines is left out, said."""
    result = extract_notebook(FIXTURES / "lightning_print_epoch_end.ipynb")
    (run,) = result.runs
    (phase,) = run.phases
    epoch = phase.columns.index("epoch")
    assert [row[epoch] for row in phase.rows] == ["0", "1", "2"] and phase.planned_epochs == 3
    assert (run.model, run.pretrained) == ("LitNet", False)
    assert any("Lightning's sanity check" in d.message for d in result.diagnostics)
    assert not any("earlier version of the cell" in d.message for d in result.diagnostics)
