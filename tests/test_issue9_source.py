"""Issue 9, end to end through :func:`audiometrics.pipeline.extract_notebook`: what the source
analysis decides per run (model, pretrained flag, learning rates), on notebooks built by nbfactory."""

from __future__ import annotations

from pathlib import Path

from audiometrics.pipeline import extract_notebook
from tests import nbfactory as nbf

V2 = "from fastai.vision.all import *"
V1 = "from fastai.vision import *"


def fit_cell(source: str, *tables: int) -> dict:
    outputs: list[dict] = []
    for n in tables:
        outputs += nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(n))
    return nbf.code_cell(source, outputs)


def extract(tmp_path: Path, *cells: dict):
    path = nbf.write(tmp_path / "nb.ipynb", nbf.notebook([nbf.code_cell(V2), *cells]))
    return extract_notebook(path)


def shape(result):
    """Per run: model, pretrained and (learning rate, is default) per phase."""
    return [
        (run.model, run.pretrained, [(p.learning_rate, p.lr_is_default, p.recorded_epochs) for p in run.phases])
        for run in result.runs
    ]


def test_learner_recreated_by_an_unknown_helper_is_a_new_run_of_unknown_model(tmp_path):
    result = extract(
        tmp_path,
        fit_cell("learn = vision_learner(dls, resnet18, metrics=lwlrap)\nlearn.fit_one_cycle(2, 1e-2)", 2),
        fit_cell("learn = get_learner(dls, 'convnext_tiny', metrics=lwlrap)\nlearn.fit_one_cycle(3)", 3),
    )
    assert shape(result) == [
        ("resnet18", True, [("1e-2", False, 2)]),
        ("", None, [("", False, 3)]),  # neither resnet18's phase 2 nor the library default rate
    ]
    said = [str(d) for d in result.diagnostics]
    assert any(
        "cell 3" in line  # (``In [3] (cell 3)`` once diagnostics carry execution counts)
        and "learning rate of learn.fit_one_cycle(3) unknown: the learner comes from get_learner(...), not a known factory" in line
        for line in said
    ), said


def test_learner_rate_and_known_ecosystem_factories(tmp_path):
    result = extract(
        tmp_path,
        fit_cell("learn = synth_learner(lr=1e-2, metrics=lwlrap)\nlearn.fit(2)", 2),
        fit_cell("learn = Learner(dls, Net(), lr=3e-3, metrics=lwlrap)\nlearn.fit_one_cycle(1)\nlearn.fine_tune(1)", 1, 1, 1),
        fit_cell("learn = timm_learner(dls, 'efficientnet_b0', pretrained=False, metrics=lwlrap)\nlearn.fit(1)", 1),
    )
    assert shape(result) == [
        ("RegModel", False, [("1e-2", False, 2)]),  # the learner's own rate, not "1e-3 (default)"
        ("Net", None, [("3e-3", False, 1), ("slice(2e-3)", True, 1), ("slice(1e-5, 1e-3)", True, 1)]),
        ("efficientnet_b0", False, [("1e-3", True, 1)]),
    ]


def test_scheduler_callback_leaves_the_rate_unknown_with_a_warning(tmp_path):
    result = extract(
        tmp_path,
        fit_cell(
            "learn = vision_learner(dls, resnet18, metrics=lwlrap)\nlearn.fit(2, cbs=[ParamScheduler({'lr': SchedCos(1e-2, 1e-5)})])\n"
            "learn.fit(1, cbs=SaveModelCallback())",
            2,
            1,
        ),
    )
    assert shape(result) == [("resnet18", True, [("", False, 2), ("1e-3", True, 1)])]
    assert any("the scheduler callback ParamScheduler sets it" in str(d) for d in result.diagnostics)


def test_static_sweep_over_architectures_is_one_run_per_architecture(tmp_path):
    result = extract(
        tmp_path,
        nbf.code_cell("ARCHS = ['resnet18', 'convnext_tiny']"),
        fit_cell("for arch in ARCHS:\n    learn = vision_learner(dls, arch, metrics=lwlrap)\n    learn = learn.to_fp16()\n    learn.fine_tune(1)", 1, 1, 1, 1),
    )
    assert shape(result) == [
        ("resnet18", True, [("slice(2e-3)", True, 1), ("slice(1e-5, 1e-3)", True, 1)]),
        ("convnext_tiny", True, [("slice(2e-3)", True, 1), ("slice(1e-5, 1e-3)", True, 1)]),
    ]


def test_loading_weights_and_lr_find_stay_in_the_run(tmp_path):
    result = extract(
        tmp_path,
        fit_cell("learn = vision_learner(dls, resnet34, metrics=lwlrap)\nlearn.fit_one_cycle(1, 1e-3)", 1),
        nbf.code_cell("learn = learn.load('stage-1')\nlearn.unfreeze()\nlearn.lr_find()", nbf.lr_find_outputs()),
        fit_cell("learn.fit_one_cycle(2, slice(1e-5, 1e-4))", 2),
    )
    assert shape(result) == [("resnet34", True, [("1e-3", False, 1), ("slice(1e-5, 1e-4)", False, 2)])]
