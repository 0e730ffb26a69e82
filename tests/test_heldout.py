"""The held-out check's scorer (benchmarks/heldout_check.py) on tiny synthetic cases.

The corpus itself is a benchmark, run by hand (``python3 benchmarks/heldout_check.py``),
not a unit test; these tests make sure the scorer counts what it claims to count.
"""

from __future__ import annotations

import doctest
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "heldout"))
import heldout_check as hc  # noqa: E402
import make_corpus  # noqa: E402
import scoring  # noqa: E402


def keras_oracle(*rows):
    """A one-run Keras oracle whose rows are ``(epoch, loss, val_loss, val_accuracy)``."""
    return {
        "notebook": "k.ipynb",
        "runs": [{
            "framework": "keras", "key": "epoch", "model": ["Sequential", "sequential"], "learning_rate": 0.001,
            "planned_epochs": len(rows),
            "rows": [{"epoch": e, "step": None, "values": {"loss": l, "val_loss": v, "val_accuracy": a}}
                     for e, l, v, a in rows],
        }],
    }


ORACLE = keras_oracle((0, 0.69312, 0.70111, 0.5), (1, 0.61234, 0.65437, 0.625), (2, 0.55551, 0.60004, 0.75))


def csv_row(epoch, train, valid, acc, column="accuracy", run="1", model="sequential", lr="1e-3"):
    return {"epoch": str(epoch), "train_loss": train, "valid_loss": valid, column: acc, "run": run,
            "model": model, "learning_rate": lr, "notebook": "k.ipynb"}


PERFECT = [csv_row(0, "0.6931", "0.7011", "0.5000"), csv_row(1, "0.6123", "0.6544", "0.6250"),
           csv_row(2, "0.5555", "0.6000", "0.7500")]


def test_perfect_match_scores_full_recall_and_precision():
    score = hc.score_notebook(ORACLE, PERFECT)
    assert (score.found, score.found_strict, score.matched_extracted) == (3, 3, 3)
    assert score.recall == 1.0 and score.precision == 1.0
    assert not score.missing and not score.extra and not score.silent
    assert (score.model_agree, score.model_checked, score.lr_agree, score.lr_checked) == (1, 1, 1, 1)
    assert (score.epochs_agree, score.epochs_checked) == (0, 1)  # the rows have no planned_epochs
    assert hc.score_notebook(ORACLE, [{**PERFECT[0], "planned_epochs": "3"}]).epochs_agree == 1


def test_a_missing_row_lowers_recall_only_and_is_named():
    score = hc.score_notebook(ORACLE, [PERFECT[0], PERFECT[2]])
    assert score.found == 2 and score.recall == pytest.approx(2 / 3)
    assert score.precision == 1.0
    assert score.missing == ["run 1 epoch 1: train_loss=0.61234, valid_loss=0.65437, accuracy=0.625"]
    assert (score.calls_with_rows, score.calls_missed) == (1, 0)
    assert hc.score_notebook(ORACLE, []).calls_missed == 1


def test_an_extra_row_lowers_precision_only():
    evaluate_line = csv_row(0, "0.5550", "0.6000", "0.7500", run="2")  # an evaluate() after fit, read as an epoch
    score = hc.score_notebook(ORACLE, [*PERFECT, evaluate_line])
    assert score.recall == 1.0
    assert score.precision == pytest.approx(3 / 4)
    assert len(score.extra) == 1 and "run=2" in score.extra[0]


def test_a_value_off_by_more_than_its_display_rounding_is_not_a_match():
    wrong = [PERFECT[0], csv_row(1, "0.6124", "0.6544", "0.6250"), PERFECT[2]]  # 0.61234 shows as 0.6123
    assert hc.score_notebook(ORACLE, wrong).found == 2
    coarse = [PERFECT[0], csv_row(1, "0.61", "0.65", "0.62"), PERFECT[2]]  # fewer digits, still the same values
    assert hc.score_notebook(ORACLE, coarse).found == 3


def test_losses_are_strict_other_metrics_may_sit_in_any_column():
    swapped = [csv_row(e, r["valid_loss"], r["train_loss"], r["accuracy"]) for e, r in enumerate(PERFECT)]
    assert hc.score_notebook(ORACLE, swapped).found == 0
    renamed = [csv_row(e, r["train_loss"], r["valid_loss"], r["accuracy"], column="val_acc") for e, r in enumerate(PERFECT)]
    score = hc.score_notebook(ORACLE, renamed)
    assert (score.found, score.found_strict) == (3, 0)


def test_rows_read_from_a_notebook_without_training_are_all_extra():
    negative = hc.score_notebook({"notebook": "n.ipynb", "runs": []}, [PERFECT[0]])
    assert (negative.framework, negative.recall, negative.precision, negative.silent) == ("negative", None, 0.0, False)
    total = hc.summarize([negative, hc.score_notebook(ORACLE, PERFECT)])["all"]
    assert total["precision"] == 0.75 and total["recall"] == 1.0


def test_epochs_as_displayed_or_from_zero():
    displayed = [{**row, "epoch": str(int(row["epoch"]) + 1)} for row in PERFECT]  # Keras shows Epoch 1/3 for epoch 0
    as_shown = hc.score_notebook(ORACLE, displayed, convention="displayed")
    assert (as_shown.found, as_shown.found_other) == (3, 0)  # from zero, every epoch is one off
    from_zero = hc.score_notebook(ORACLE, displayed)
    assert (from_zero.found, from_zero.found_other) == (0, 3)
    lightning = {"notebook": "l.ipynb", "runs": [{"framework": "pytorch_lightning", "key": "epoch", "rows": [
        {"epoch": 0, "values": {"val_loss": 0.5}}]}]}
    assert hc.score_notebook(lightning, [{"epoch": "0", "valid_loss": "0.500"}], convention="displayed").found == 1
    counted_from_zero = {"notebook": "p.ipynb", "runs": [{"framework": "plain", "key": "epoch", "epoch_display_base": 0,
                         "rows": [{"epoch": 0, "values": {"train_loss": 0.5}}]}]}
    assert hc.oracle_rows(counted_from_zero, "displayed")[0].epoch == 0
    with pytest.raises(ValueError):
        hc.oracle_rows(ORACLE, "one")


def test_each_extracted_row_is_used_once():
    twice = keras_oracle((0, 0.69312, 0.70111, 0.5), (0, 0.69312, 0.70111, 0.5))
    score = hc.score_notebook(twice, [PERFECT[0]])
    assert (score.found, score.matched_extracted) == (1, 1)


def test_silent_means_training_output_with_neither_rows_nor_warning():
    assert hc.score_notebook(ORACLE, []).silent
    assert not hc.score_notebook(ORACLE, [], diagnostics=["k.ipynb, In [3] (cell 3): looks like training output"]).silent
    assert not hc.score_notebook({"notebook": "e.ipynb", "runs": []}, []).silent
    summary = hc.summarize([hc.score_notebook(ORACLE, []), hc.score_notebook(ORACLE, PERFECT)])
    assert summary["all"]["silent"] == ["k.ipynb"] and summary["all"]["recall"] == 0.5


def test_hf_no_log_is_not_scored_and_step_rows_match_on_step():
    oracle = {"notebook": "h.ipynb", "runs": [{"framework": "transformers", "key": "step", "model": ["bert"],
              "learning_rate": 5e-5, "rows": [
                  {"epoch": None, "step": 4, "values": {"loss": None, "eval_loss": 0.7, "eval_accuracy": 0.5}},
                  {"epoch": None, "step": 8, "values": {"loss": 0.65, "eval_loss": 0.6, "eval_accuracy": 0.75}}]}]}
    rows = [{"step": "4", "epoch": "0", "train_loss": "No log", "valid_loss": "0.700000", "accuracy": "0.500000"},
            {"step": "8", "epoch": "0", "train_loss": "0.650000", "valid_loss": "0.600000", "accuracy": "0.750000"}]
    assert hc.score_notebook(oracle, rows).found_strict == 2
    rows[1]["step"] = "9"
    assert hc.score_notebook(oracle, rows).found == 1


def test_plain_loop_percentages_match_their_fraction():
    oracle = {"notebook": "p.ipynb", "runs": [{"framework": "plain", "key": "epoch", "model": ["RNN"],
              "learning_rate": 0.1, "rows": [{"epoch": 0, "values": {"train_loss": 0.5021, "val_acc": 0.74409}}]}]}
    assert hc.score_notebook(oracle, [{"epoch": "0", "train_loss": "0.502", "acc": "74.41"}]).found_strict == 1
    assert hc.score_notebook(oracle, [{"epoch": "0", "train_loss": "0.502", "acc": "74.51"}]).found == 0


@pytest.mark.parametrize("module", [hc, scoring, make_corpus])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_committed_oracles_follow_the_schema():
    oracles = sorted((ROOT / "benchmarks" / "heldout" / "oracle").glob("*.json"))
    if not oracles:
        pytest.skip("no corpus generated (benchmarks/heldout/make_corpus.py)")
    for path in oracles:
        data = json.loads(path.read_text())
        assert (ROOT / "benchmarks" / "heldout" / "notebooks" / data["notebook"]).exists(), path
        for run in data["runs"]:
            assert {"framework", "model", "planned_epochs", "learning_rate", "key", "rows", "learner", "phase"} <= set(run)
            for row in run["rows"]:
                assert {"epoch", "step", "values"} <= set(row), path
