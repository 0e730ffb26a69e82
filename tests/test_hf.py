"""HuggingFace Trainer: its notebook tables, its log dicts on a stream, and what its calls mean.

The notebooks in ``tests/fixtures/hf/`` were produced by really training tiny
models in Jupyter (``tests/fixtures/hf/make_hf_fixtures.py``, versions in its
README); the markup built here is byte for byte what ``transformers/utils/notebook.py``
prints (:func:`hf_display` copies its ``html_progress_bar`` and ``text_to_html_table``),
and the log lines are what ``PrinterCallback``/``ProgressCallback`` print.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.analysis.analyser import analyse_cells
from audiometrics.epochs.csv_runs import runs_from_frame
from audiometrics.epochs.loader import typed_frame
from audiometrics.epochs.rows import csv_columns, rows_from_runs
from audiometrics.frameworks import detect as detect_framework
from audiometrics.frameworks.huggingface import csv_column
from audiometrics.model import LearnerCreated, ProgressCall, TrainingCall
from audiometrics.pipeline import extract_notebook
from audiometrics.tables import find_tables
from audiometrics.tables.hf_logs import parse_dict
from tests import nbfactory as nbf
from tests.test_fuzz import noisy, table_key

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hf"


def fixture(name: str):
    return extract_notebook(FIXTURES / f"{name}.ipynb")


def only_run(result):
    (run,) = result.runs
    (phase,) = run.phases
    return run, phase


# --------------------------------------------------------------------------- markup as transformers prints it


def _table_html(items) -> str:
    """``text_to_html_table`` of transformers/utils/notebook.py (4.x-5.x)."""
    html_code = """<table border="1" class="dataframe">\n"""
    html_code += """  <thead>\n <tr style="text-align: left;">\n"""
    for i in items[0]:
        html_code += f"      <th>{i}</th>\n"
    html_code += "    </tr>\n  </thead>\n  <tbody>\n"
    for line in items[1:]:
        html_code += "    <tr>\n"
        for elt in line:
            elt = f"{elt:.6f}" if isinstance(elt, float) else str(elt)
            html_code += f"      <td>{elt}</td>\n"
        html_code += "    </tr>\n"
    html_code += "  </tbody>\n</table><p>"
    return html_code


def hf_display(items, value: int, total: int, label: str) -> dict:
    """One ``NotebookTrainingTracker`` display: the bar with its label, then the table."""
    bar = f"""
    <div>
      
      <progress value='{value}' max='{total}' style='width:300px; height:20px; vertical-align: middle;'></progress>
      {label}
    </div>
    """
    return nbf.html_output(bar + _table_html(items))


EPOCH_ITEMS = [
    ["Epoch", "Training Loss", "Validation Loss", "Accuracy", "Matthews Correlation"],
    [1, "No log", 0.52, 0.81, 0.5],
    [2, 0.4438, 0.39, 0.85, 0.6],
]


# --------------------------------------------------------------------------- real runs (fixtures)


def test_epoch_table_with_metrics_from_a_real_run():
    result = fixture("hf_epoch_metrics")
    run, phase = only_run(result)
    assert (run.model, run.pretrained, run.framework) == ("tiny-bert", True, "huggingface")
    assert phase.columns == ("epoch", "train_loss", "valid_loss", "accuracy", "matthews_correlation", "f1")
    assert [r[:3] for r in phase.rows] == [
        ("1", "0.694340", "0.692645"), ("2", "0.687219", "0.690928"), ("3", "0.683387", "0.690100")]
    assert (phase.method, phase.planned_epochs, phase.learning_rate, phase.lr_is_default) == ("train", 3, "1e-3", False)
    assert not phase.interrupted
    assert result.diagnostics == ()  # trainer.evaluate()'s own table is no epoch and needs no warning


def test_step_table_with_no_log_and_the_default_learning_rate():
    run, phase = only_run(fixture("hf_steps_nolog"))
    assert (run.model, run.pretrained) == ("BertForSequenceClassification", False)
    assert phase.columns == ("step", "train_loss", "valid_loss")
    assert phase.rows == (("4", "", "0.694652"), ("8", "", "0.694618"), ("12", "", "0.694604"))
    assert (phase.planned_epochs, phase.learning_rate, phase.lr_is_default) == (None, "5e-5", True)


def test_step_tables_without_evaluation_and_with_evaluate_in_the_same_cell():
    _, phase = only_run(fixture("hf_no_eval"))
    assert phase.columns == ("step", "train_loss") and [r[0] for r in phase.rows] == ["5", "10", "15", "20"]
    result = fixture("hf_steps_metrics")
    _, phase = only_run(result)
    assert [r[0] for r in phase.rows] == ["6", "12", "16"] and phase.learning_rate == "3e-4"
    assert result.diagnostics == ()


def test_header_only_table_is_an_empty_phase_said_so():
    result = fixture("hf_header_only")
    _, phase = only_run(result)
    assert phase.rows == () and phase.columns == ("step", "train_loss")
    assert any("no epochs recorded" in d.message for d in result.diagnostics)


def test_interrupted_run_reads_the_progress_label():
    result = fixture("hf_interrupted")
    _, phase = only_run(result)
    assert phase.interrupted and phase.rows == (("1", "0.693795", "0.694599"),)
    messages = " | ".join(d.message for d in result.diagnostics)
    assert "stopped at step 12 of 24 (epoch 1.38 of 3)" in messages and "interrupted: 1 of 3 epochs" in messages


def test_log_dicts_from_real_runs_merge_evaluations_and_skip_the_summary():
    _, phase = only_run(fixture("hf_logs"))  # logging every 3 steps, evaluation every epoch, then evaluate()
    assert phase.columns == ("epoch", "train_loss", "valid_loss", "accuracy", "matthews_correlation", "f1")
    assert phase.rows == (("1", "0.6931", "0.6944", "0.4062", "-0.1875", "0.24"),
                          ("2", "0.692", "0.6942", "0.4688", "-0.0625", "0.3704"))
    assert (phase.planned_epochs, phase.learning_rate) == (2, "2e-4")
    result = fixture("hf_logs_epoch")
    _, phase = only_run(result)
    assert [r[:3] for r in phase.rows] == [("1", "0.6938", "0.6946"), ("2", "0.6924", "0.6946")]
    assert result.diagnostics == ()


def test_transformers_4_real_runs():
    _, phase = only_run(fixture("hf_logs_v4"))  # floats printed in full, epochs 1.0 / 2.0
    assert phase.columns == ("epoch", "train_loss", "valid_loss", "accuracy", "matthews_correlation", "f1")
    assert phase.rows == (("1.0", "0.6931", "0.6943585872650146", "0.40625", "-0.1875", "0.24"),
                          ("2.0", "0.692", "0.6942142844200134", "0.46875", "-0.0625", "0.37037037037037035"))
    result = fixture("hf_epoch_metrics_v4")
    _, phase = only_run(result)
    assert [r[:3] for r in phase.rows] == [
        ("1", "0.694300", "0.692645"), ("2", "0.687200", "0.690928"), ("3", "0.683400", "0.690100")]
    assert result.diagnostics == ()
    _, phase = only_run(fixture("hf_steps_nolog_v4"))
    assert phase.rows == (("4", "", "0.694652"), ("8", "", "0.694618"), ("12", "", "0.694604"))
    result = fixture("hf_interrupted_v4")
    _, phase = only_run(result)
    assert phase.interrupted and len(phase.rows) == 1


def test_csv_rows_with_source_round_trip_framework_and_step(tmp_path):
    runs = [*fixture("hf_steps_nolog").runs, *fixture("hf_epoch_metrics").runs]
    rows = rows_from_runs(runs, with_source=True)
    assert {row["framework"] for row in rows} == {"huggingface"}
    assert rows[0]["step"] == "4" and rows[0]["learning_rate"] == "5e-5 (default)" and "epoch" not in rows[0]
    columns = csv_columns(rows, with_source=True)
    assert columns[-1] == "framework" and "step" in columns
    raw = pd.DataFrame([[row.get(c, "") for c in columns] for row in rows], columns=columns, dtype="object")
    back = runs_from_frame(raw)
    assert [r.framework for r in back] == ["huggingface", "huggingface"]
    assert back[0].phases[0].rows[0][back[0].phases[0].columns.index("step")] == "4"
    typed = typed_frame(raw)
    assert str(typed["step"].dtype) == "Int64" and typed["step"].tolist()[:3] == [4, 8, 12]
    assert "step" not in [c for c in typed.columns if c.startswith("metric")]
    assert typed["epoch"].isna().sum() == 3  # step rows show no epoch


# --------------------------------------------------------------------------- tables


def test_hf_table_is_not_stolen_by_fastai_and_fastai_not_by_hf():
    (hf,) = find_tables([hf_display(EPOCH_ITEMS, 10, 10, "[10/10 00:01, Epoch 2/2]")])
    assert hf.format == "hf-html" and hf.columns == ("epoch", "train_loss", "valid_loss", "accuracy", "matthews_correlation")
    assert hf.rows == (("1", "", "0.520000", "0.810000", "0.500000"), ("2", "0.443800", "0.390000", "0.850000", "0.600000"))
    fastai = find_tables(nbf.legacy_fit_outputs(["epoch", "train_loss", "valid_loss", "time"], [["0", "0.5", "0.4", "00:01"]]))
    assert [t.format for t in fastai if not t.blank] == ["html"]


def test_no_log_capitalised_older_borderless_table_and_a_mid_run_label():
    items = [["Step", "Training Loss", "Validation Loss"], [50, "No Log", 0.7], [100, 0.61, 0.66]]
    markup = "".join(nbf.lines("".join(hf_display(items, 120, 300, "[120/300 00:40 < 01:20, 2.00 it/s, Epoch 1.20/3]")["data"]["text/html"])))
    markup = markup.replace('<table border="1" class="dataframe">', '<table class="dataframe">')
    (table,) = find_tables([nbf.html_output(markup)])
    assert table.columns == ("step", "train_loss", "valid_loss") and table.rows[0] == ("50", "", "0.700000")
    assert table.interrupted and "step 120 of 300 (epoch 1.20 of 3)" in table.notes[0]


def test_early_4x_timing_columns_are_left_out():
    items = [["Epoch", "Training Loss", "Validation Loss", "Accuracy", "Runtime", "Samples Per Second"], [1, 0.5, 0.4, 0.8, 3.2, 100.1]]
    (table,) = find_tables([hf_display(items, 5, 5, "[5/5 00:03, Epoch 1/1]")])
    assert table.columns == ("epoch", "train_loss", "valid_loss", "accuracy")
    assert table.rows == (("1", "0.500000", "0.400000", "0.800000"),)


def test_header_only_table_saved_mid_run():
    (table,) = find_tables([hf_display([["Epoch", "Training Loss", "Validation Loss"]], 3, 30, "[ 3/30 : < :, Epoch 0.20/3]")])
    assert table.rows == () and not table.blank and table.interrupted


def test_log_history_dataframe_and_evaluate_table_are_not_progress_tables():
    frame = pd.DataFrame({"loss": [0.5, None], "Epoch": [1.0, 1.0], "eval_loss": [None, 0.4], "step": [10, 10]})
    history = {"output_type": "execute_result", "execution_count": 5, "metadata": {},
               "data": {"text/html": frame.to_html(), "text/plain": str(frame)}}
    frame2 = pd.DataFrame({"Epoch": [1, 2], "Training Loss": [0.5, 0.4], "Validation Loss": [0.45, 0.41]})
    history2 = {"output_type": "execute_result", "execution_count": 6, "metadata": {},
                "data": {"text/html": frame2.to_html(), "text/plain": str(frame2)}}
    evaluate = nbf.html_output(_table_html([["Training Loss", "Validation Loss", "Epoch", "Accuracy"], [0.4, 0.39, 2, 0.85]]))
    assert [t for t in find_tables([history, history2, evaluate]) if not t.blank] == []


# --------------------------------------------------------------------------- log dicts

V4_LOGS = (
    "{'loss': 0.6931, 'grad_norm': 1.2345, 'learning_rate': 3.5e-05, 'epoch': 0.5}\n"
    "\x1b[A{'loss': 0.4438, 'grad_norm': 1.9, 'learning_rate': 2e-05, 'epoch': 1.0}\n"
    "\x1b[A\x1b[A{'eval_loss': 0.39, 'eval_accuracy': 0.85, 'eval_runtime': 1.2, 'eval_samples_per_second': 80.1, "
    "'eval_steps_per_second': 10.0, 'epoch': 1.0}\n"
    "{'loss': 0.31, 'grad_norm': 1.1, 'learning_rate': 1e-05, 'epoch': 1.5}\n"
    "{'loss': 0.28, 'grad_norm': 0.9, 'learning_rate': 0.0, 'epoch': 2.0}\n"
    "{'eval_loss': 0.35, 'eval_accuracy': 0.87, 'eval_runtime': 1.1, 'eval_samples_per_second': 85.0, "
    "'eval_steps_per_second': 11.0, 'epoch': 2.0}\n"
    "{'train_runtime': 80.1, 'train_samples_per_second': 9.1, 'train_steps_per_second': 1.1, 'train_loss': 0.41, "
    "'epoch': 2.0}\n"
)


def test_transformers_4_float_logs_with_ansi_prefixes():
    (table,) = find_tables([nbf.stream_output(V4_LOGS)])
    assert table.format == "hf-logs" and table.columns == ("epoch", "train_loss", "valid_loss", "accuracy")
    assert table.rows == (("1.0", "0.4438", "0.39", "0.85"), ("2.0", "0.28", "0.35", "0.87"))
    assert not table.interrupted


def test_logs_without_evaluation_every_n_steps_use_epoch_float():
    text = "".join(V4_LOGS.splitlines(keepends=True)[i] for i in (0, 1, 3, 4, 6))
    (table,) = find_tables([nbf.stream_output(text)])
    assert table.columns == ("epoch_float", "train_loss") and [r[0] for r in table.rows] == ["0.5", "1.0", "1.5", "2.0"]


def test_tqdm_redraws_evaluate_after_training_and_an_unfinished_training():
    bar = "\r 50%|█████     | 5/10 [00:01<00:01,  4.00it/s]"
    text = bar + "\r" + " " * 40 + "\r" + V4_LOGS + "{'eval_loss': 0.35, 'eval_runtime': 1.0, 'epoch': 2.0}\n"
    tables = find_tables([nbf.stream_output(text)])
    assert [(t.blank, len(t.rows)) for t in tables] == [(False, 2), (True, 0)]
    (cut,) = find_tables([nbf.stream_output("".join(V4_LOGS.splitlines(keepends=True)[:3]))])
    assert cut.interrupted and cut.rows == (("1.0", "0.4438", "0.39", "0.85"),) and "train_runtime" in cut.notes[0]


def test_an_evaluation_on_the_training_set_neither_ends_the_training_nor_is_a_row():
    train_eval = "{'train_loss': 0.3, 'train_accuracy': 0.9, 'train_runtime': 2.0, 'train_samples_per_second': 50.0, 'epoch': 1.0}\n"
    lines = V4_LOGS.splitlines(keepends=True)
    (table,) = find_tables([nbf.stream_output("".join(lines[:3]) + train_eval + "".join(lines[3:]))])
    assert table.rows == (("1.0", "0.4438", "0.39", "0.85"), ("2.0", "0.28", "0.35", "0.87")) and not table.interrupted


def test_plain_dict_prints_and_log_history_are_not_hf_logs():
    text = "{'epoch': 1, 'loss': 0.3, 'acc': 0.9}\n{'epoch': 2, 'loss': 0.2, 'acc': 0.95}\n"
    assert find_tables([nbf.stream_output(text)]) == []
    history = "".join(line[:-2] + ", 'step': 5}\n" for line in V4_LOGS.splitlines(keepends=True))  # for log in log_history: print(log)
    assert find_tables([nbf.stream_output(history)]) == []


def test_train_side_keys_are_prefixed_and_diagnostics_left_out():
    text = ("{'loss': 1.2, 'grad_norm': 3.0, 'learning_rate': 2e-05, 'num_tokens': 4096.0, 'mean_token_accuracy': 0.61, "
            "'train_accuracy': 0.7, 'epoch': 1.0}\n{'train_runtime': 9.0, 'train_loss': 1.2, 'epoch': 1.0}\n")
    (table,) = find_tables([nbf.stream_output(text)])
    assert table.columns == ("epoch", "train_loss", "train_mean_token_accuracy", "train_accuracy")
    assert table.rows == (("1.0", "1.2", "0.61", "0.7"),)


def test_parse_dict_keeps_spelling_and_refuses_what_is_not_a_dict():
    assert parse_dict("{'a': tensor(0.5000), 'b': np.float64(1e-3), 'c': [1, 2], \"d\": None}") == {
        "a": "0.5000", "b": "1e-3", "d": "None"}
    for bad in ("{'a': 1", "{'a' 1}", "{a: 1}", "[1, 2]", "{'a': (1,}", "{'a': 'x}"):
        assert parse_dict(bad) is None


def test_column_rule():
    names = ["Epoch", "Step", "Training Loss", "Validation Loss", "Matthews Correlation", "eval_accuracy", "loss", "eval_loss", "Rouge-L"]
    assert [csv_column(n) for n in names] == [
        "epoch", "step", "train_loss", "valid_loss", "matthews_correlation", "accuracy", "train_loss", "valid_loss", "rouge_l"]


# --------------------------------------------------------------------------- source


def events(*sources: str):
    analyses = analyse_cells(list(sources))
    return [e for a in analyses for e in a.events]


TRAINING = """\
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
checkpoint = "distilbert-base-uncased"
model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
args = TrainingArguments("out", learning_rate=2e-5, num_train_epochs=4, eval_strategy="epoch")
trainer = Trainer(model=model, args=args, train_dataset=ds)
trainer.train()
trainer.evaluate()
"""


def test_trainer_factory_training_and_evaluation_events():
    found = events(TRAINING)
    kinds = [type(e).__name__ for e in found]
    assert kinds == ["LearnerCreated", "TrainingCall", "ProgressCall"]
    created, call, progress = found
    assert isinstance(created, LearnerCreated) and (created.model, created.pretrained, created.framework) == (
        "distilbert-base-uncased", True, "huggingface")
    assert isinstance(call, TrainingCall) and (call.epochs, call.learning_rate, call.lr_is_default) == (4, "2e-5", False)
    assert isinstance(progress, ProgressCall) and progress.method == "evaluate"


def test_a_notebooks_own_trainer_subclass_is_a_trainer():
    source = TRAINING.replace("trainer = Trainer(", "class WeightedTrainer(Trainer):\n    pass\ntrainer = WeightedTrainer(")
    created, call, _ = events(source)
    assert created.known and created.model == "distilbert-base-uncased" and call.learning_rate == "2e-5"


def test_an_optimizer_given_to_the_trainer_leaves_the_rate_unknown():
    base = "from transformers import Trainer, TrainingArguments\nt = Trainer(m, TrainingArguments('o', learning_rate=1e-4), {})\nt.train()"
    analyses = analyse_cells([base.format("optimizers=(torch.optim.AdamW(m.parameters(), lr=1e-3), None)")])
    assert [e for a in analyses for e in a.events][1].learning_rate == ""
    assert any("optimizers" in w for a in analyses for w in a.warnings)
    assert events(base.format("optimizers=(None, get_scheduler(...))"))[1].learning_rate == "1e-4"


def test_model_train_of_plain_pytorch_is_no_phase():
    source = TRAINING + "model.train()\nfor batch in loader:\n    model(**batch)\n"
    assert [type(e).__name__ for e in events(source)] == ["LearnerCreated", "TrainingCall", "ProgressCall"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("BertForSequenceClassification(config)", ("BertForSequenceClassification", False)),
        ("AutoModelForCausalLM.from_config(AutoConfig.from_pretrained('gpt2'))", ("gpt2", False)),
        ("AutoModelForSequenceClassification.from_config(DistilBertConfig(dim=32))", ("DistilBertForSequenceClassification", False)),
        ("AutoModel.from_config(transformers.BertConfig())", ("BertModel", False)),
        ("AutoModelForCausalLM.from_config(GPT2Config(n_layer=2))", ("GPT2", False)),  # GPT2LMHeadModel: family only
        ("AutoModelForSequenceClassification.from_config(AutoConfig.for_model('bert'))", (None, False)),
        ("AutoModel.from_pretrained(name_from_elsewhere).to(device)", (None, True)),
        ("T5ForConditionalGeneration.from_pretrained(path)", ("T5ForConditionalGeneration", True)),
        ("get_peft_model(AutoModelForCausalLM.from_pretrained('facebook/opt-350m'), lora)", ("facebook/opt-350m", True)),
    ],
)
def test_model_name_and_pretrained_flag(model, expected):
    (created, _) = events(f"from transformers import Trainer, TrainingArguments\ntrainer = Trainer(model={model}, args=TrainingArguments('o'))\ntrainer.train()")
    assert (created.model, created.pretrained) == expected


def test_defaults_max_steps_and_trl_configs():
    (_, call) = events("from transformers import Seq2SeqTrainer\ntrainer = Seq2SeqTrainer(model=m)\ntrainer.train()")
    assert (call.epochs, call.learning_rate, call.lr_is_default) == (None, "5e-5", True)  # step table: no epoch plan
    source = "from transformers import Trainer, TrainingArguments\na = TrainingArguments('o', eval_strategy='epoch', max_steps=100)\nt = Trainer(m, a)\nt.train()"
    assert events(source)[1].epochs is None
    source = "from transformers import Trainer, TrainingArguments\na = TrainingArguments('o', evaluation_strategy='epoch')\nt = Trainer(m, a)\nt.train()"
    assert events(source)[1].epochs == 3
    source = "from transformers import Trainer, TrainingArguments\nkw = {'learning_rate': 3e-5, 'num_train_epochs': 2, 'eval_strategy': 'epoch'}\nt = Trainer(m, TrainingArguments('o', **kw))\nt.train()"
    assert (events(source)[1].learning_rate, events(source)[1].epochs) == ("3e-5", 2)
    source = "from transformers import Trainer, TrainingArguments\nt = Trainer(m, TrainingArguments('o', **config))\nt.train()"
    assert events(source)[1].learning_rate == ""
    analyses = analyse_cells(["from trl import SFTTrainer, SFTConfig\ntrainer = SFTTrainer(model='gpt2', args=SFTConfig(output_dir='o'))\ntrainer.train()"])
    created, call = [e for a in analyses for e in a.events]
    assert (created.model, created.pretrained, call.learning_rate) == ("gpt2", True, "")
    assert any("learning rate" in w for a in analyses for w in a.warnings)


def test_framework_detection_leaves_fastai_and_lightning_notebooks_alone():
    assert detect_framework([TRAINING]).name == "huggingface"
    assert detect_framework(["from fastai.text.all import *\nfrom transformers import AutoModel\nlearn.fit(1)"]).name == "fastai"
    assert detect_framework(["import lightning as L\nfrom transformers import AutoModel\ntrainer = L.Trainer(max_epochs=3)"]).name != "huggingface"


# --------------------------------------------------------------------------- hypothesis

_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
FUZZ = settings(max_examples=int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100")), deadline=None, suppress_health_check=_CHECKS)
_NUMBERS = st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 4))
_METRICS = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True).filter(lambda n: n not in {"loss", "runtime", "epoch", "step"}),
                    max_size=3, unique=True)
_NOISE = st.text(st.characters(blacklist_characters="{}<>\r\b\x1b", blacklist_categories=("Cs",)), max_size=40)


@FUZZ
@given(st.lists(st.one_of(_NOISE, st.just("{'loss': 0.5, 'epoch': 1.0}"), st.just("{'eval_loss': 1, 'eval_runtime': 2, 'epoch': 1}"),
                          st.just("{'train_runtime': 3, 'epoch': 1}"), st.text(max_size=60)), max_size=12),
       st.booleans())
def test_log_lines_never_raise(lines, as_html):
    text = "\n".join(lines)
    outputs = [nbf.stream_output(text), nbf.html_output("<table><tr><th>Epoch</th><th>Training Loss</th></tr>" + text)]
    find_tables(outputs)
    for line in lines:
        parse_dict(line)


@FUZZ
@given(_METRICS, st.integers(1, 6), st.lists(_NOISE.map(lambda t: "log: " + t.replace("\n", " ")), max_size=6), st.data())
def test_generated_logs_are_found_in_noise(metrics, epochs, noise, data):
    lines, expected, loss = [], [], None
    for epoch in range(1, epochs + 1):
        loss = data.draw(_NUMBERS)
        lines.append(repr({"loss": loss, "grad_norm": 1.0, "learning_rate": 1e-5, "epoch": float(epoch)}))
        values = [data.draw(_NUMBERS) for _ in range(len(metrics) + 1)]
        log = {"eval_loss": values[0], **{f"eval_{m}": v for m, v in zip(metrics, values[1:])}, "eval_runtime": 0.5, "epoch": float(epoch)}
        lines.append(repr(log))
        expected.append((f"{float(epoch)}", repr(loss), *(repr(v) for v in values)))
    lines.append(repr({"train_runtime": 1.0, "train_loss": 0.3, "epoch": float(epochs)}))
    for item in noise:
        lines.insert(data.draw(st.integers(0, len(lines))), item)
    (table,) = find_tables([nbf.stream_output("\n".join(lines) + "\n")])
    assert table.columns == ("epoch", "train_loss", "valid_loss", *metrics) and table.rows == tuple(expected)


@FUZZ
@given(_METRICS, st.sampled_from(["Epoch", "Step"]), st.integers(0, 6), st.integers(1, 50), st.data())
def test_generated_tables_are_found_in_noise(metrics, first, count, total, data):
    header = [first, "Training Loss", "Validation Loss", *(m.title() for m in metrics)]
    rows = [[k + 1, data.draw(st.one_of(_NUMBERS, st.just("No log"))), *(data.draw(_NUMBERS) for _ in range(len(metrics) + 1))]
            for k in range(count)]
    value = data.draw(st.integers(0, total))
    before, after = data.draw(_NOISE), data.draw(_NOISE)
    display = hf_display([header, *rows], value, total, f"[{value}/{total} 00:01, Epoch {count}/{count or 1}]")
    display["data"]["text/html"] = [before, *display["data"]["text/html"], after]
    (table,) = find_tables([nbf.stream_output(data.draw(_NOISE) or "x"), display])
    assert table.columns == (first.lower(), "train_loss", "valid_loss", *(csv_column(m.title()) for m in metrics))
    assert len(table.rows) == count and table.interrupted == (value < total)
    assert all(r[1] == "" for r, src in zip(table.rows, rows) if src[1] == "No log")


def _recorded_outputs() -> list[tuple[str, int]]:
    found = []
    for path in sorted(FIXTURES.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        found.extend((path.stem, k) for k, cell in enumerate(cells) if cell.get("outputs"))
    return found


@FUZZ
@given(st.sampled_from(_recorded_outputs()), st.data())
def test_recorded_hf_outputs_are_found_in_noise(where, data):
    name, k = where
    outputs = json.loads((FIXTURES / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"][k]["outputs"]
    expected = table_key(find_tables(outputs))
    assert table_key(find_tables(noisy(outputs, data))) == expected


def test_training_arguments_changed_later_are_warned_not_followed():
    """``args.learning_rate = ...`` after TrainingArguments(...) is not followed: the rate read may be wrong, so it is said."""
    from audiometrics.analysis.analyser import analyse_cells

    source = TRAINING.replace("trainer = Trainer(", "args.learning_rate = 1e-4\ntrainer = Trainer(")
    (analysis,) = analyse_cells([source])
    assert any("args.learning_rate is set after the training arguments were made" in w for w in analysis.warnings)
    (plain,) = analyse_cells([TRAINING])
    assert not any("set after the training arguments" in w for w in plain.warnings)


def test_fstring_output_dir_keeps_the_training_arguments_known():
    """The HF course's ``TrainingArguments(f"{model_name}-finetuned-{task}", ...)``: the f-string folds
    (or keeps its names) instead of making the whole call unknown."""
    head = "from transformers import Trainer, TrainingArguments\n"
    for setup in ('task = "cola"\n', "import os\ntask = os.environ['TASK']\n"):
        source = head + setup + (
            "args = TrainingArguments(f'bert-finetuned-{task}', eval_strategy='epoch', learning_rate=2e-5, num_train_epochs=5)\n"
            "trainer = Trainer(model, args)\ntrainer.train()"
        )
        call = events(source)[1]
        assert (call.learning_rate, call.epochs) == ("2e-5", 5)


def test_trainer_built_and_trained_in_one_expression():
    source = (
        "from transformers import Trainer, TrainingArguments\n"
        "args = TrainingArguments('o', eval_strategy='epoch', learning_rate=2e-5, num_train_epochs=5)\n"
        "Trainer(model=AutoModelForSequenceClassification.from_pretrained('bert-base-uncased'), args=args).train()"
    )
    created, call = events(source)
    assert created.model == "bert-base-uncased"
    assert (call.learner, call.learning_rate, call.epochs) == (None, "2e-5", 5)


def test_a_model_built_by_model_init_is_the_trainers_model():
    """``Trainer(model_init=model_init)``: the notebook function the Trainer calls builds the model (real run)."""
    run, phase = only_run(fixture("hf_model_init"))
    assert (run.model, run.pretrained, phase.learning_rate, phase.planned_epochs) == (
        "BertForSequenceClassification", False, "1e-3", 2)
    source = (
        "from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments\n"
        "checkpoint = 'distilbert-base-uncased'\n"
        "def model_init(trial=None):\n"
        "    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)\n"
        "    return model\n"
        "trainer = Trainer(model_init=model_init, args=TrainingArguments('o', num_train_epochs=1))\ntrainer.train()"
    )
    created = events(source)[0]
    assert (created.model, created.pretrained) == ("distilbert-base-uncased", True)  # (a checkpoint names the model)
    given = events(source.replace("model_init=model_init", "model=m, model_init=model_init"))[0]
    assert given.model is None  # a model given is the model (here an unknown one)


def test_a_resumed_training_plans_no_epoch_count():
    """``trainer.train(resume_from_checkpoint=True)`` records the epochs after the checkpoint only (real run:
    epochs 3-4 of 4): not an incomplete phase."""
    result = fixture("hf_resume_checkpoint")
    assert [(p.planned_epochs, p.recorded_epochs, p.incomplete) for r in result.runs for p in r.phases] == [
        (2, 2, False), (None, 2, False)]
    assert not any("incomplete" in d.message for d in result.diagnostics)
    for resume, planned in (("True", None), ("'out/checkpoint-8'", None), ("None", 4), ("False", 4)):
        source = TRAINING.replace("trainer.train()", f"trainer.train(resume_from_checkpoint={resume})")
        assert events(source)[1].epochs == planned, resume


def test_what_follows_the_line_an_error_stopped_a_cell_at_never_ran():
    """A cell stopped by an error at ``TrainingArguments(evaluation_strategy=...)`` (transformers 5 refuses the
    old keyword; real run): its Trainer and train() never ran, so they make no run; the cell run again
    after the fix is the notebook's only run."""
    result = fixture("hf_old_kwarg_crash_then_fixed")
    assert [(r.model, r.pretrained, len(r.phases)) for r in result.runs] == [("BertForSequenceClassification", False, 1)]
    (said,) = [d.message for d in result.diagnostics if "stopped the cell" in d.message]
    assert said == "TypeError stopped the cell at line 2; what follows never ran: Trainer(...) (line 4), trainer.train() (line 6)"
    assert not any("no epochs recorded" in d.message for d in result.diagnostics)


def test_settings_changed_on_the_trainers_arguments_are_followed():
    """``trainer.args.learning_rate = lr`` in a loop over rates (real run: 1e-3 then 5e-4), and
    ``num_train_epochs`` likewise; set on the arguments object before the Trainer, still only warned."""
    result = fixture("hf_steps_eval_args_loop")
    assert [p.learning_rate for r in result.runs for p in r.phases] == ["1e-3", "5e-4"]
    assert not any("set after the training arguments" in d.message for d in result.diagnostics)
    source = TRAINING.replace("trainer.train()", "trainer.args.learning_rate = 3e-5\ntrainer.args.num_train_epochs = 6\ntrainer.train()")
    call = events(source)[1]
    assert (call.learning_rate, call.lr_is_default, call.epochs) == ("3e-5", False, 6)
    again = [e for e in events(source + "\ntrainer = Trainer(model=model, args=args, train_dataset=ds)\ntrainer.train()")
             if hasattr(e, "learning_rate")][-1]
    assert (again.learning_rate, again.epochs) == ("2e-5", 4)  # a new trainer: its own arguments again


def test_a_part_way_last_epoch_reads_as_the_notebook_table_shows_it():
    """``num_train_epochs=2.5`` (real runs): log dicts at epochs 1, 2, 2.5 read as the table shows them, epochs 1
    and 2, the last row the 2.5 evaluation's (it was: three rows with no epoch, silently)."""
    logs, table = (only_run(fixture(name))[1] for name in ("hf_fractional_epochs_logs", "hf_fractional_epochs_table"))
    for phase in (logs, table):
        assert [row[phase.columns.index("epoch")] for row in phase.rows] == ["1", "2"]
    valid = logs.columns.index("valid_loss"), table.columns.index("valid_loss")
    assert [row[valid[0]] for row in logs.rows] == ["0.6939", "0.6939"]
