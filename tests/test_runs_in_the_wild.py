"""Issue 9 end to end: run boundaries, execution order and diagnostics on notebook shapes seen in the wild.

Each test builds a notebook the way real public notebooks look (nbfactory markup) and checks the
whole pipeline's answer: which runs, which phases, which model/pretrained/learning rate, and that
anything uncertain is said.
"""

from __future__ import annotations

from pathlib import Path

from audiometrics.pipeline import extract_notebook
from tests import nbfactory as nbf

COLUMNS = nbf.COLUMNS


def fit_outputs(n: int, seed: float = 0.5) -> list[dict]:
    return nbf.legacy_fit_outputs(COLUMNS, nbf.epoch_rows(n, seed=seed))


def extract(tmp_path: Path, cells, *, number_cells: bool = True, name: str = "nb.ipynb"):
    path = nbf.write(tmp_path / name, nbf.notebook(cells, number_cells=number_cells))
    return extract_notebook(path)


def shape(result):
    return [
        (run.model, run.pretrained, [(p.number, p.learning_rate, p.recorded_epochs) for p in run.phases])
        for run in result.runs
    ]


def said(result, *words: str) -> list[str]:
    return [str(d) for d in result.diagnostics if all(w in str(d) for w in words)]


# --------------------------------------------------------------------------- pattern 1


def test_learner_from_an_unknown_helper_is_a_new_run_with_a_warning(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", fit_outputs(2)),
        nbf.code_cell("from helpers import get_learner\nlearn = get_learner(dls, 'convnext_tiny')"),
        nbf.code_cell("learn.fit_one_cycle(3, 1e-3)", fit_outputs(3)),
    ])
    runs = shape(result)
    assert len(runs) == 2
    assert runs[0] == ("resnet18", False, [(1, "1e-2", 2)])
    assert runs[1][0] == "" and runs[1][1] is None
    assert [(n, e) for n, _, e in runs[1][2]] == [(1, 3)]
    assert said(result, "get_learner")


def test_attribute_factory_rebinding_is_a_new_run(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER + "\nlearn.fit_one_cycle(2, 1e-2)", fit_outputs(2)),
        nbf.code_cell("learn = exp.create_cls_learner(dls)\nlearn.fit_one_cycle(2, 1e-3)", fit_outputs(2)),
    ])
    assert len(result.runs) == 2
    assert result.runs[1].model == ""
    assert said(result, "create_cls_learner")


def test_training_a_name_never_bound_is_its_own_run(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER + "\nlearn.fit_one_cycle(2, 1e-2)", fit_outputs(2)),
        nbf.code_cell("learn1.fit(2, 1e-3)", fit_outputs(2)),
    ])
    assert len(result.runs) == 2
    assert result.runs[0].model == "resnet18"
    assert said(result, "learn1")


def test_load_unfreeze_and_lr_find_continue_the_run(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER + "\nlearn.fit_one_cycle(2, 1e-2)", fit_outputs(2)),
        nbf.code_cell("learn.save('s1')\nlearn = learn.load('s1')\nlearn.unfreeze()"),
        nbf.code_cell("learn.lr_find()", nbf.lr_find_outputs()),
        nbf.code_cell("learn.fit_one_cycle(3, slice(1e-4, 1e-3))", fit_outputs(3)),
    ])
    assert shape(result) == [("resnet18", False, [(1, "1e-2", 2), (2, "slice(1e-4, 1e-3)", 3)])]


# --------------------------------------------------------------------------- pattern 2


def test_stripped_execution_counts_keep_the_silent_learner_cell(tmp_path):
    result = extract(tmp_path, [
        nbf.markdown_cell("# Training"),
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit_one_cycle(2, 3e-3)", fit_outputs(2)),
    ], number_cells=False)
    assert shape(result) == [("resnet18", False, [(1, "3e-3", 2)])]
    assert not said(result, "no learner creation")


def test_mixed_counts_use_document_order_and_warn_once(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER, count=1),
        nbf.code_cell("learn.fit_one_cycle(2, 3e-3)", fit_outputs(2), count=None),
        nbf.code_cell("learn.fit_one_cycle(1, 1e-3)", fit_outputs(1), count=3),
    ], number_cells=False)
    assert shape(result) == [("resnet18", False, [(1, "3e-3", 2), (2, "1e-3", 1)])]
    order_notes = [d for d in result.diagnostics if "execution count" in d.message]
    assert len(order_notes) == 1 and "cell 2" in order_notes[0].message


# --------------------------------------------------------------------------- pattern 3


def test_static_loop_of_learners_is_one_run_per_iteration(tmp_path):
    source = "for arch in [resnet18, resnet34]:\n    learn = vision_learner(dls, arch)\n    learn.fit_one_cycle(2, 1e-3)"
    result = extract(tmp_path, [nbf.code_cell(source, fit_outputs(2) + fit_outputs(2, seed=0.7))])
    assert [(r.model, len(r.phases)) for r in result.runs] == [("resnet18", 1), ("resnet34", 1)]


def test_cross_validation_loop_of_unknown_length_is_one_run_per_fold(tmp_path):
    source = (
        "for fold, (trn, val) in enumerate(kf.split(df)):\n"
        "    dls = get_dls(trn, val)\n"
        "    learn = vision_learner(dls, resnet34, metrics=lwlrap)\n"
        "    learn.fit_one_cycle(2, 1e-3)"
    )
    outputs = fit_outputs(2) + fit_outputs(2, seed=0.6) + fit_outputs(2, seed=0.7)
    result = extract(tmp_path, [nbf.code_cell(source, outputs)])
    assert [(r.model, [p.number for p in r.phases], r.phases[0].recorded_epochs) for r in result.runs] == [
        ("resnet34", [1], 2)
    ] * 3


# --------------------------------------------------------------------------- pattern 4 and 5


def test_cancelled_training_row_puts_the_time_in_time(tmp_path):
    rows = [("0", "0.5", "0.4", "0.3", "00:02"), ("1", "00:00")]
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit(2, 1e-3)", nbf.legacy_fit_outputs(COLUMNS, rows)),
    ])
    phase = result.runs[0].phases[0]
    short = dict(zip(phase.columns, phase.rows[1]))
    assert short["time"] == "00:00"
    assert short["train_loss"] == "" and short["lwlrap"] == ""
    assert said(result, "shorter")


def test_early_fastai_v1_console_rows_with_bracketed_times(tmp_path):
    text = (
        "epoch  train_loss  valid_loss  error_rate\n"
        "1      1.182160    0.314141    0.100812    (00:57)\n"
        "2      0.547326    0.266389    0.088633    (00:56)\n"
    )
    result = extract(tmp_path, [
        nbf.code_cell("learn = ConvLearner(data, models.resnet34, metrics=error_rate)"),
        nbf.code_cell("learn.fit_one_cycle(2)", [nbf.stream_output(text)]),
    ])
    phase = result.runs[0].phases[0]
    assert phase.recorded_epochs == 2
    first = dict(zip(phase.columns, phase.rows[0]))
    assert first["time"] == "00:57" and first["error_rate"] == "0.100812"
    assert not said(result, "empty")


# --------------------------------------------------------------------------- pattern 6


def test_learner_lr_is_used_not_the_library_default(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell("learn = Learner(dls, resnet18(), lr=1e-2, metrics=lwlrap)"),
        nbf.code_cell("learn.fit(1)", fit_outputs(1)),
    ])
    phase = result.runs[0].phases[0]
    assert (phase.learning_rate, phase.lr_from_learner, phase.lr_is_default) == ("1e-2", True, False)


def test_unknown_factory_gets_no_default_lr(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell("learn = get_learner(dls, 'convnext_tiny')"),
        nbf.code_cell("learn.fit(1)", fit_outputs(1)),
    ])
    phase = result.runs[0].phases[0]
    assert phase.learning_rate == "" and not phase.lr_is_default


# --------------------------------------------------------------------------- pattern 7, 8, 9, 11


def test_more_rows_than_planned_is_flagged(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER),
        nbf.code_cell("learn.fit_one_cycle(5, 1e-3)", fit_outputs(10)),
    ])
    assert result.runs[0].phases[0].recorded_epochs == 10
    assert said(result, "10") and said(result, "5")
    assert any("10" in d.message and "5" in d.message for d in result.diagnostics)


def test_training_cells_never_run_are_said_and_keep_phase_numbers(tmp_path):
    cells = [
        nbf.code_cell(nbf.LEARNER, count=1),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", fit_outputs(2), count=2),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-3)", count=None),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-4)", fit_outputs(2), count=4),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-5)", count=None),
    ]
    result = extract(tmp_path, cells, number_cells=False)
    numbers = {p.learning_rate: p.number for p in result.runs[0].phases if p.rows}
    assert numbers == {"1e-2": 1, "1e-4": 3}
    assert said(result, "never")


def test_unexecuted_notebook_with_training_calls_warns(tmp_path):
    result = extract(tmp_path, [nbf.code_cell(nbf.LEARNER), nbf.code_cell("learn.fit_one_cycle(2, 1e-2)")],
                     number_cells=False)
    assert not any(p.rows for r in result.runs for p in r.phases)
    assert result.diagnostics


def test_a_thousand_identical_diagnostics_are_grouped(tmp_path):
    source = "for i in range(1000):\n    learn.fit(1, 1e-3)"
    result = extract(tmp_path, [nbf.code_cell(nbf.LEARNER), nbf.code_cell(source, [nbf.stream_output("done\n")])])
    assert len(result.diagnostics) < 20


def test_diagnostics_name_cells_as_jupyter_shows_them(tmp_path):
    cells = [nbf.markdown_cell("# x"), nbf.code_cell(nbf.LEARNER, count=12),
             nbf.code_cell("learn.fit_one_cycle(20, 3e-3)", fit_outputs(5), count=13)]
    result = extract(tmp_path, cells, number_cells=False)
    assert any("In [13] (cell 3)" in str(d) for d in result.diagnostics)
    assert result.runs[0].phases[0].count == 13 and result.runs[0].count == 12 and result.runs[0].ordinal == 1


def test_an_alias_of_a_learner_trains_the_same_run(tmp_path):
    result = extract(tmp_path, [
        nbf.code_cell(nbf.LEARNER + "\nlearn.fit_one_cycle(1, 1e-2)", fit_outputs(1)),
        nbf.code_cell("learn2 = learn\nlearn2.fit_one_cycle(2, 3e-3)", fit_outputs(2)),
        nbf.code_cell("learn2 = vision_learner(dls, resnet34)\nlearn2.fit_one_cycle(1, 1e-3)", fit_outputs(1)),
    ])
    assert shape(result) == [
        ("resnet18", False, [(1, "1e-2", 1), (2, "3e-3", 2)]),
        ("resnet34", True, [(1, "1e-3", 1)]),
    ]
    assert not said(result, "never bound")
