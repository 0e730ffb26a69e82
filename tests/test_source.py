"""Tests of :mod:`audiometrics.analysis.analyser` (static analysis of notebook code cells)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiometrics.model import CellAnalysis, LearnerCreated, Loop, ProgressCall, TrainingCall
from audiometrics.analysis.analyser import MAX_UNROLL, analyse_cells
from audiometrics.analysis import text as source_text
from audiometrics.frameworks.fastai_version import _V0_NAMES, _V1_NAMES, _V2_NAMES, _import_version, detect_version, may_tell_version
from audiometrics.frameworks.fastai_metrics import camel2snake, class2attr
from audiometrics.analysis.magics import _MAYBE_IPYTHON, _is_help, _transform_line, maybe_ipython, parse_cell, prepare_cell
from audiometrics.analysis.convert import format_number, iter_items, lr_text
from audiometrics.analysis.text import parse_expr, segment
from audiometrics.analysis.values import _leaf_tree, finish, normalise, value_from_text

_REF_NAME = "reference/notebooks/cnn-2d-basic-solution-powered-by-fast-ai.ipynb"
_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = next(
    (p for p in (_ROOT / "shared" / _REF_NAME, _ROOT.parent / "shared" / _REF_NAME) if p.exists()),
    _ROOT / "shared" / _REF_NAME,
)


# --------------------------------------------------------------------------- helpers


def analyse(*cells: str) -> list[CellAnalysis]:
    return analyse_cells(list(cells))


def last(*cells: str) -> CellAnalysis:
    return analyse(*cells)[-1]


def trainings(analysis: CellAnalysis) -> list[TrainingCall]:
    return [e for e in analysis.events if isinstance(e, TrainingCall)]


def learners(analysis: CellAnalysis) -> list[LearnerCreated]:
    return [e for e in analysis.events if isinstance(e, LearnerCreated)]


def lrs(analysis: CellAnalysis) -> list[str]:
    return [t.learning_rate for t in trainings(analysis)]


def epochs(analysis: CellAnalysis) -> list[int | None]:
    return [t.epochs for t in trainings(analysis)]


def only_learner(*cells: str) -> LearnerCreated:
    got = learners(last(*cells))
    assert len(got) == 1, got
    return got[0]


V2 = "from fastai.vision.all import *"
V1 = "from fastai.vision import *"


# --------------------------------------------------------------------------- the reference study


def test_reference_learner_cell():
    cell = "learn = vision_learner(dls, resnet18, pretrained=False, metrics=lwlrap)\nlearn.unfreeze()\n\nlearn.lr_find()"
    result = last(V2, cell)
    assert result.events == (
        LearnerCreated(1, "learn", "vision_learner", "resnet18", False, ("lwlrap",)),
        ProgressCall(4, "learn", "lr_find"),
    )
    assert result.warnings == ()


def test_reference_two_calls_in_one_cell_are_two_phases():
    result = last(V2, "learn.fit_one_cycle(5, 1e-1)\nlearn.fit_one_cycle(10, 1e-2)")
    assert result.events == (
        TrainingCall(1, "learn", "fit_one_cycle", 5, "1e-1", call_text="learn.fit_one_cycle(5, 1e-1)"),
        TrainingCall(2, "learn", "fit_one_cycle", 10, "1e-2", call_text="learn.fit_one_cycle(10, 1e-2)"),
    )


def test_reference_slice_learning_rate_keeps_its_closing_parenthesis():
    (call,) = trainings(last(V2, "learn.fit_one_cycle(50, slice(1e-3, 3e-3))"))
    assert call.learning_rate == "slice(1e-3, 3e-3)"
    assert call.epochs == 50
    assert call.call_text == "learn.fit_one_cycle(50, slice(1e-3, 3e-3))"
    assert not call.lr_is_default


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference notebook not available")
def test_reference_notebook_six_phases_in_order():
    nb = json.loads(REFERENCE.read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    cells.sort(key=lambda c: c["execution_count"])
    results = analyse_cells(["".join(c["source"]) for c in cells])
    calls = [e for r in results for e in r.events if isinstance(e, TrainingCall)]
    assert [(c.epochs, c.learning_rate) for c in calls] == [
        (5, "1e-1"),
        (10, "1e-2"),
        (20, "3e-3"),
        (20, "1e-3"),
        (50, "slice(1e-3, 3e-3)"),
        (10, "slice(1e-4, 1e-3)"),
    ]
    created = [e for r in results for e in r.events if isinstance(e, LearnerCreated)]
    assert [(e.model, e.pretrained, e.metrics) for e in created] == [("resnet18", False, ("lwlrap",))] * 2
    finds = [e for r in results for e in r.events if isinstance(e, ProgressCall) and e.method == "lr_find"]
    assert len(finds) == 4
    assert all(not any("internal error" in w for w in r.warnings) for r in results)


# --------------------------------------------------------------------------- learner creation


@pytest.mark.parametrize(
    "factory",
    [
        "vision_learner",
        "cnn_learner",
        "unet_learner",
        "Learner",
        "tabular_learner",
        "text_classifier_learner",
        "language_model_learner",
        "collab_learner",
    ],
)
def test_every_factory_is_a_learner(factory):
    (event,) = learners(last(V2, f"learn = {factory}(dls, arch_or_model)"))
    assert event.factory == factory
    assert event.target == "learn"


def test_factory_as_attribute_and_alias():
    assert only_learner("learn = fastai.vision.all.vision_learner(dls, resnet34)").factory == "vision_learner"
    assert only_learner("import fastai.vision.all as fv\nlearn = fv.vision_learner(dls, resnet34)").model == "resnet34"
    got = only_learner("from fastai.vision.all import vision_learner as vl\nm = vl(dls, 'convnext_tiny')")
    assert (got.factory, got.target, got.model) == ("vision_learner", "m", "convnext_tiny")


def test_targets():
    assert only_learner("learn: Learner = vision_learner(dls, resnet18)").target == "learn"
    assert only_learner("self.learn = vision_learner(dls, resnet18)").target == "self.learn"
    assert only_learner("learn = vision_learner(dls, resnet18, metrics=error_rate).to_fp16()").target == "learn"
    assert only_learner("vision_learner(dls, resnet18)").target is None
    assert only_learner("a, b = vision_learner(dls, resnet18), 3").target is None
    assert only_learner("if (learn := vision_learner(dls, resnet18)): pass").target == "learn"


def test_model_from_attribute_name_and_string():
    assert only_learner("learn = vision_learner(dls, models.resnet18)").model == "resnet18"
    assert only_learner("learn = vision_learner(dls, resnet18)").model == "resnet18"
    assert only_learner("learn = vision_learner(dls, 'mobilenetv4_conv_small')").model == "mobilenetv4_conv_small"
    assert only_learner("learn = vision_learner(dls, arch=resnet50)").model == "resnet50"
    assert only_learner("learn = cnn_learner(data, base_arch=models.densenet121)").model == "densenet121"


def test_model_from_variable_in_an_earlier_cell():
    assert only_learner("ARCH = 'convit_tiny'", "learn = vision_learner(dls, ARCH)").model == "convit_tiny"
    # the last binding before the call wins
    assert only_learner("ARCH = 'a'", "ARCH = 'b'", "learn = vision_learner(dls, ARCH)").model == "b"


def test_model_from_subscripts_of_literals():
    assert only_learner("ARCHS = ['resnet18', 'resnet34']\nlearn = vision_learner(dls, ARCHS[1])").model == "resnet34"
    assert only_learner("ARCHS = (resnet18, resnet34)\nlearn = vision_learner(dls, ARCHS[-2])").model == "resnet18"
    assert only_learner("CFG = {'arch': 'deit_small', 'lr': 1e-3}\nlearn = vision_learner(dls, CFG['arch'])").model == "deit_small"
    assert only_learner("CFG = dict(arch='efficientnet_b0')\nlearn = vision_learner(dls, CFG['arch'])").model == "efficientnet_b0"


@pytest.mark.parametrize(
    ("setup", "lr_expr", "expected"),
    [
        ("LRS = [1e-2, 1e-3]\nI = 1", "LRS[I]", "1e-3"),  # the index is substituted too
        ("LRS = (1e-2, 1e-3)", "LRS[-1]", "1e-3"),
        ("I = 1", "[1e-2, 1e-3][I]", "1e-3"),  # a literal written in place, its index substituted
        ("CFG = dict(lr=3e-3)", "CFG['lr']", "3e-3"),
        ("C = SimpleNamespace(lr=4e-3)", "C.lr", "4e-3"),
        ("C = {'a': {'lr': 2e-3}}", "C['a'].get('lr')", "2e-3"),  # folded twice: a subscript, then .get
        ("C = {'a': {'lr': 2e-3}}\nA = C['a']", "A['lr']", "2e-3"),  # a folded value folded again
        ("C = {'lr': 5e-3}", "C.get('wd', C.get('lr'))", "5e-3"),
        ("f = np.ones(3)", "f[0]", ""),  # not a literal: unresolved
    ],
)
def test_learning_rate_folds_through_substituted_names(setup, lr_expr, expected):
    """Subscripts and ``.get`` of literal containers reached through variables fold to the element."""
    assert lrs(last(f"{setup}\nlearn = vision_learner(dls, resnet18)\nlearn.fit(1, {lr_expr})")) == [expected]


INERT_L = "learn = vision_learner(dls, resnet18)"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # a loop over a notebook function that trains, directly or two calls down
        ([INERT_L, "def train(n):\n    learn.fit_one_cycle(n, 1e-3)", "for n in [1, 2]:\n    train(n)"], [(1, "1e-3"), (2, "1e-3")]),
        ([INERT_L, "def inner(n):\n    learn.fit(n, 2e-3)\ndef outer(n):\n    inner(n)", "for n in [3, 4]:\n    outer(n)"], [(3, "2e-3"), (4, "2e-3")]),
        # a function whose ``global`` statement rebinds the learning rate, called for nothing else
        ([INERT_L, "LR = 1e-3\ndef setup():\n    global LR\n    LR = 1e-2", "setup()", "learn.fit(1, LR)"], [(1, "1e-2")]),
        ([INERT_L, "(LR := 4e-3)", "learn.fit(1, LR)"], [(1, "4e-3")]),
        # a local name that shadows a training function in the caller, not where the callee was defined
        ([INERT_L, "def helper():\n    learn.fit(7, 1e-4)", "def caller():\n    helper = 3\n    run()\ndef run():\n    helper()", "caller()"], [(7, "1e-4")]),
        # a function's loop that returns: the call's value is unknown
        ([INERT_L, "def f(xs):\n    for x in xs:\n        return 1e-2\n    return 1e-3", "learn.fit(1, f(items))"], [(1, "")]),
        ([INERT_L, "def t(n):\n    learn.fit(n)\n    return n", "[t(n) for n in [1, 2]]"], [(1, "1e-3"), (2, "1e-3")]),
        # inert loops and calls change nothing they do not store
        ([INERT_L, "def prep(x):\n    return x * 2", "for f in files:\n    out = prep(f)\n    show(out)", "learn.fit(1, 3e-3)"], [(1, "3e-3")]),
        # a loop over a static iterable that calls a notebook function is still unrolled: the last value wins
        ([INERT_L, "lr = 1e-3\ndef pick(x):\n    return x", "for v in [1e-2, 5e-3]:\n    lr = pick(v)", "learn.fit(1, lr)"], [(1, "5e-3")]),
        # over an unknown iterable it is not: what it stores is unknown afterwards
        ([INERT_L, "lr = 1e-3\ndef pick(x):\n    return x", "for v in values:\n    lr = pick(v)", "learn.fit(1, lr)"], [(1, "")]),
    ],
)
def test_inert_code_is_skipped_without_changing_results(cells, expected):
    """Loops and dropped expressions that cannot emit or rebind anything are not walked; these must still be."""
    got = [(t.epochs, t.learning_rate) for a in analyse(*cells) for t in trainings(a)]
    assert got == expected


def test_model_from_learner_factory_passed_to_a_notebook_function():
    got = only_learner("def make(factory):\n    return factory(dls, resnet34)\nlearn = make(vision_learner)")
    assert got.model == "resnet34"


def test_model_from_class_attribute_and_namespace():
    src = "class CFG:\n    arch = 'resnet26d'\n    pretrained = False\nlearn = vision_learner(dls, CFG.arch, pretrained=CFG.pretrained)"
    got = only_learner(src)
    assert (got.model, got.pretrained) == ("resnet26d", False)
    got = only_learner("cfg = SimpleNamespace(arch='vit_tiny')\nlearn = vision_learner(dls, cfg.arch)")
    assert got.model == "vit_tiny"
    # an attribute of a notebook class that is not a literal is unknown
    assert only_learner("class CFG:\n    arch = pick()\nlearn = vision_learner(dls, CFG.arch)").model is None


def test_unknown_architecture_is_none():
    assert only_learner("arch = choose()\nlearn = vision_learner(dls, arch)").model is None
    assert only_learner("for a in archs: pass\nlearn = vision_learner(dls, a)").model is None


def test_timm_model_inline():
    src = "learn = Learner(dls, timm.create_model('deit_tiny_patch16_224', pretrained=True, num_classes=80), metrics=[accuracy_multi, lwlrap])"
    assert only_learner(V2, src) == LearnerCreated(
        1, "learn", "Learner", "deit_tiny_patch16_224", True, ("accuracy_multi", "lwlrap")
    )


def test_timm_model_from_variable_and_default_pretrained_false():
    cells = ("model = timm.create_model('convit_tiny', num_classes=80)", "learn = Learner(dls, model, metrics=lwlrap)")
    got = only_learner(*cells)
    assert (got.model, got.pretrained) == ("convit_tiny", False)


def test_create_model_with_name_via_variable():
    src = "from timm import create_model\nARCH = 'deit_tiny_patch16_224'\nPRE = True\nm = create_model(ARCH, pretrained=PRE)\nlearn = Learner(dls, m)"
    got = only_learner(src)
    assert (got.model, got.pretrained) == ("deit_tiny_patch16_224", True)
    got = only_learner("m = timm.create_model(model_name='vit_small', pretrained=False).cuda()\nlearn = Learner(dls, m)")
    assert (got.model, got.pretrained) == ("vit_small", False)


def test_torchvision_style_models():
    assert only_learner("learn = Learner(dls, resnet18(pretrained=True))").pretrained is True
    got = only_learner("learn = Learner(dls, models.resnet34(weights=ResNet34_Weights.DEFAULT))")
    assert (got.model, got.pretrained) == ("resnet34", True)
    assert only_learner("learn = Learner(dls, resnet18(weights=None))").pretrained is False
    assert only_learner("learn = Learner(dls, resnet18())").pretrained is False
    # a model of unknown origin
    got = only_learner("learn = Learner(dls, net)")
    assert (got.model, got.pretrained) == (None, None)
    got = only_learner("class Net(nn.Module): pass\nlearn = Learner(dls, Net())")
    assert (got.model, got.pretrained) == ("Net", False)  # a class of the notebook building no weights
    got = only_learner("class Net(timm.models.ResNet): pass\nlearn = Learner(dls, Net())")
    assert (got.model, got.pretrained) == ("Net", None)  # a library's model as its base: unknown


def test_fastai_model_builders_default_to_pretrained():
    got = only_learner("learn = Learner(dls, create_cnn_model(resnet50, 80))")
    assert (got.model, got.pretrained) == ("resnet50", True)
    got = only_learner("learn = Learner(dls, nn.Sequential(create_body(resnet34, pretrained=False), head))")
    assert (got.model, got.pretrained) == ("resnet34", False)


def test_pretrained_defaults_and_keyword():
    assert only_learner("learn = vision_learner(dls, resnet18)").pretrained is True
    assert only_learner("learn = cnn_learner(dls, resnet18)").pretrained is True
    assert only_learner("learn = unet_learner(dls, resnet34)").pretrained is True
    assert only_learner("learn = vision_learner(dls, resnet18, pretrained=False)").pretrained is False
    assert only_learner("PRE = False", "learn = vision_learner(dls, resnet18, pretrained=PRE)").pretrained is False
    assert only_learner("learn = vision_learner(dls, resnet18, pretrained=flag())").pretrained is None
    assert only_learner("learn = tabular_learner(dls, layers=[200, 100])").pretrained is False


def test_metrics_plain_partial_and_lists():
    assert only_learner("learn = vision_learner(dls, r, metrics=error_rate)").metrics == ("error_rate",)
    src = "learn = vision_learner(dls, r, metrics=[partial(accuracy_multi, thresh=0.5), lwlrap])"
    assert only_learner(src).metrics == ("accuracy_multi", "lwlrap")
    assert only_learner("learn = vision_learner(dls, r, metrics=(accuracy, error_rate))").metrics == ("accuracy", "error_rate")
    assert only_learner("learn = vision_learner(dls, r)").metrics == ()
    assert only_learner("learn = vision_learner(dls, r, metrics=None)").metrics == ()


def test_metrics_bound_earlier_and_notebook_functions():
    cells = ("def lwlrap(preds, targs):\n    return 0", "METRICS = [accuracy_multi, lwlrap]", "learn = Learner(dls, m, metrics=METRICS)")
    assert only_learner(*cells).metrics == ("accuracy_multi", "lwlrap")
    assert only_learner("acc = partial(accuracy_multi, thresh=0.2)\nlearn = Learner(dls, m, metrics=acc)").metrics == ("accuracy_multi",)


def test_metric_classes_follow_fastai_naming():
    # fastai 2.8 metrics.py: RocAuc()/F1ScoreMulti() are AccumMetric(skm.roc_auc_score / skm.f1_score),
    # whose column is the sklearn function's name; real Metric subclasses use class2attr.
    src = "learn = Learner(dls, m, metrics=[RocAuc(), F1ScoreMulti(), DiceMulti(), CorpusBLEUMetric(), rmse])"
    assert only_learner(V2, src).metrics == ("roc_auc_score", "f1_score", "dice_multi", "corpus_bleu", "_rmse")
    src = "class MyScore(Metric): pass\nlearn = Learner(dls, m, metrics=[MyScore(), MyScore])"
    assert only_learner(V2, src).metrics == ("my_score", "my_score")


def test_metric_wrappers():
    src = "learn = Learner(dls, m, metrics=[AccumMetric(lwlrap, flatten=False), AvgMetric(my_fn), AccumMetric(f, name='custom'), ValueMetric(g, 'vm'), LossMetric('aux'), LossMetric('aux', 'Aux')])"
    assert only_learner(V2, src).metrics == ("lwlrap", "my_fn", "custom", "vm", "aux", "Aux")
    assert only_learner(V2, "learn = Learner(dls, m, metrics=AccumMetric(f, name=N))").metrics is None
    assert only_learner(V2, "learn = Learner(dls, m, metrics=lambda p, t: 0)").metrics == ("<lambda>",)


def test_metrics_v1_classes_are_camel_to_snake():
    src = "learn = cnn_learner(data, models.resnet34, metrics=[accuracy_thresh, FBeta(), AUROC()])"
    assert only_learner(V1, src).metrics == ("accuracy_thresh", "f_beta", "auroc")


def test_unknown_metrics_are_none():
    assert only_learner("learn = Learner(dls, m, metrics=get_metrics())").metrics is None
    assert only_learner("learn = Learner(dls, m, metrics=[accuracy, make()])").metrics is None
    assert only_learner("ms = load()\nlearn = Learner(dls, m, metrics=ms)").metrics is None


def test_cnn_learner_v1_style():
    result = last(V1, "learn = cnn_learner(data, models.resnet34, metrics=error_rate)\nlearn.fit_one_cycle(4)")
    assert learners(result) == [LearnerCreated(1, "learn", "cnn_learner", "resnet34", True, ("error_rate",))]
    (call,) = trainings(result)
    assert (call.epochs, call.learning_rate, call.lr_is_default) == (4, "slice(3e-3)", True)


def test_load_learner_is_a_learner_of_unknown_model():
    assert only_learner("learn = load_learner('export.pkl')") == LearnerCreated(1, "learn", "load_learner", None, None, None)


def test_learner_never_trained_is_reported():
    result = last(V2, "learn = vision_learner(dls, resnet18)")
    assert len(result.events) == 1 and not trainings(result)


# --------------------------------------------------------------------------- training calls


def test_positional_and_keyword_arguments():
    src = "\n".join(
        [
            "learn.fit_one_cycle(n_epoch=3, lr_max=2e-3)",
            "learn.fit(4, lr=1e-4)",
            "learn.fit_flat_cos(6, 5e-4)",
            "learn.fit_one_cycle(2, max_lr=3e-4)",
            "learn.fit_one_cycle(cyc_len=7, max_lr=slice(1e-5,1e-3))",
            "learn.fit(epochs=8, lr=1e-2)",
        ]
    )
    result = last(V2, src)
    assert epochs(result) == [3, 4, 6, 2, 7, 8]
    assert lrs(result) == ["2e-3", "1e-4", "5e-4", "3e-4", "slice(1e-5, 1e-3)", "1e-2"]
    assert [t.method for t in trainings(result)] == [
        "fit_one_cycle", "fit", "fit_flat_cos", "fit_one_cycle", "fit_one_cycle", "fit"
    ]


def test_fit_sgdr_epochs():
    result = last(V2, "learn.fit_sgdr(3, 1)\nlearn.fit_sgdr(2, 2, 1e-2, cycle_mult=1)\nlearn.fit_sgdr(3, 2, cycle_mult=3)")
    assert epochs(result) == [7, 4, 26]
    assert lrs(result) == ["1e-3", "1e-2", "1e-3"]


def test_learning_rate_text_is_normalised_not_reprinted():
    src = "learn.fit_one_cycle(10,\n                    slice( 1e-5 ,\n                          1E-3))  # note\nlearn.fit(1, 0.1)\nlearn.fit(1, 1_000e-6)"
    result = last(V2, src)
    assert lrs(result) == ["slice(1e-5, 1E-3)", "0.1", "1_000e-6"]
    assert trainings(result)[0].call_text == "learn.fit_one_cycle(10, slice(1e-5, 1E-3))"


def test_learning_rate_names_resolved_textually():
    result = last("LR = 3e-3\nlrs = [1e-1, 1e-2]", "learn.fit_one_cycle(5, LR)\nlearn.fit_one_cycle(5, lrs[1])\nlearn.fit_one_cycle(5, slice(LR/10, LR))")
    assert lrs(result) == ["3e-3", "1e-2", "slice(3e-4, 3e-3)"]  # (arithmetic computed, literals as spelled)
    assert trainings(result)[0].call_text == "learn.fit_one_cycle(5, LR)"
    assert lrs(last("LR = 1e-3", "learn.fit_one_cycle(5, slice(None, LR))")) == ["slice(None, 1e-3)"]


def test_learning_rate_expression_substitution_keeps_precedence():
    # substituted with brackets, (1e-3 + 2e-3) / 2, not 1e-3 + 2e-3 / 2 (which is 2e-3); arithmetic is computed
    (call,) = trainings(last("LR = 1e-3 + 2e-3", "learn.fit(1, slice(1e-4, LR / 2))"))
    assert call.learning_rate == "slice(1e-4, 1.5e-3)"


def test_last_binding_before_the_call_wins():
    result = analyse("LR = 1e-2", "learn.fit(1, LR)", "LR = 5e-4", "learn.fit(1, LR)")
    assert lrs(result[1]) == ["1e-2"]
    assert lrs(result[3]) == ["5e-4"]


def test_papermill_injected_parameters():
    parameters = "# parameters\nLRS = ['1e-1', '1e-2']\nEPOCHS = [5, 10]\nARCH = 'resnet18'"
    injected = "# Parameters\nLRS = ['3e-1', '3e-2']\nEPOCHS = [2, 4]\nARCH = 'convit_tiny'\n"
    body = "learn = vision_learner(dls, ARCH)\nlearn.fit_one_cycle(EPOCHS[0], LRS[0])\nlearn.fit_one_cycle(EPOCHS[1], float(LRS[1]))"
    result = last(V2, parameters, injected, body)
    assert learners(result)[0].model == "convit_tiny"
    assert epochs(result) == [2, 4]
    assert lrs(result) == ["3e-1", "3e-2"]
    assert result.warnings == ()


def test_numeric_list_parameters():
    result = last("EPOCHS = [5, 10]\nLRS = [1e-2, 1e-3]", "learn.fit_one_cycle(EPOCHS[1], LRS[0])")
    assert (epochs(result), lrs(result)) == ([10], ["1e-2"])


def test_unresolvable_learning_rate_warns():
    result = last(V2, "\n\nlearn.fit_one_cycle(5, lr)")
    (call,) = trainings(result)
    assert call.learning_rate == "" and not call.lr_is_default
    assert call.epochs == 5
    assert result.warnings == ("line 3: learning rate of learn.fit_one_cycle(5, lr) cannot be resolved statically",)


def test_learning_rate_from_lr_find_is_unresolvable():
    result = last("lr_min, lr_steep = learn.lr_find()\nlearn.fit_one_cycle(5, lr_min)")
    assert result.events[0] == ProgressCall(1, "learn", "lr_find")
    assert lrs(result) == [""]
    assert any("lr_min" in w and w.startswith("line 2:") for w in result.warnings)


def test_names_rebound_to_non_literals_become_unresolvable():
    result = last("LR = 1e-3", "LR = suggest(learn)", "learn.fit(1, LR)")
    assert lrs(result) == [""]
    result = last("lrs = [1e-3]\nlrs.append(1e-4)\nlearn.fit(1, lrs[0])")
    assert lrs(result) == [""]


def test_unresolvable_epochs_warn():
    result = last("learn.fit_one_cycle(n_epochs_from_config, 1e-3)")
    assert epochs(result) == [None]
    assert "line 1: number of epochs of learn.fit_one_cycle(n_epochs_from_config, 1e-3) cannot be resolved statically" in result.warnings


def test_omitted_learning_rate_defaults_v2_and_v1():
    v2 = last(V2, "learn.fit_one_cycle(5)\nlearn.fit(2)\nlearn.fit_flat_cos(3)\nlearn.fit_sgdr(1, 1)\nlearn.fit(2, None)")
    assert lrs(v2) == ["1e-3"] * 5
    assert all(t.lr_is_default for t in trainings(v2))
    v1 = last(V1, "learn.fit_one_cycle(5)\nlearn.fit(2)")
    assert lrs(v1) == ["slice(3e-3)"] * 2
    assert all(t.lr_is_default for t in trainings(v1))
    assert lrs(last("learn.fit_one_cycle(5)")) == ["1e-3"]  # unknown version → v2


def test_learner_lr_is_the_default_of_its_fits():
    src = "learn = vision_learner(dls, resnet18, lr=1e-2)\nlearn.fit_one_cycle(1)\nlearn.lr = 3e-3\nlearn.fit_one_cycle(1)\nlearn = vision_learner(dls, resnet18)\nlearn.fit_one_cycle(1)"
    result = last(V2, src)
    assert lrs(result) == ["1e-2", "3e-3", "1e-3"]
    # the learner's own rate (lr= of its factory, learn.lr = ...) is not the library default
    assert [(t.lr_is_default, t.lr_from_learner) for t in trainings(result)] == [(False, True), (False, True), (True, False)]


def test_fine_tune_defaults():
    result = last(V2, "learn.fine_tune(3)")
    assert result.events == (
        TrainingCall(1, "learn", "fine_tune", 1, "slice(2e-3)", True, "frozen", "learn.fine_tune(3)"),
        TrainingCall(1, "learn", "fine_tune", 3, "slice(1e-5, 1e-3)", True, "unfrozen", "learn.fine_tune(3)"),
    )


def test_fine_tune_custom():
    result = last(V2, "learn.fine_tune(5, base_lr=4e-3, freeze_epochs=2)")
    assert [(t.part, t.epochs, t.learning_rate, t.lr_is_default) for t in trainings(result)] == [
        ("frozen", 2, "slice(4e-3)", False),
        ("unfrozen", 5, "slice(2e-5, 2e-3)", False),
    ]
    result = last(V2, "BASE = 1e-3", "learn.fine_tune(4, BASE, 1, 10)")
    assert lrs(result) == ["slice(1e-3)", "slice(5e-5, 5e-4)"]
    result = last(V2, "learn.fine_tune(2, 5e-4)")
    assert lrs(result) == ["slice(5e-4)", "slice(2.5e-6, 2.5e-4)"]


def test_fine_tune_without_frozen_phase():
    result = last(V2, "learn.fine_tune(3, freeze_epochs=0)")
    assert [(t.part, t.epochs, t.learning_rate) for t in trainings(result)] == [("unfrozen", 3, "slice(1e-5, 1e-3)")]


def test_fine_tune_unresolvable_base_lr():
    result = last(V2, "learn.fine_tune(3, base_lr=suggested)")
    assert lrs(result) == ["", ""]
    assert result.warnings == ("line 1: learning rate of learn.fine_tune(3, base_lr=suggested) cannot be resolved statically",)


def test_receiver_name():
    result = last("learner.fit(1, 1e-3)\nself.learn.fit(1, 1e-3)\nlearners[0].fit_one_cycle(1, 1e-3)")
    assert [t.learner for t in trainings(result)] == ["learner", "self.learn", None]


def test_scikit_and_keras_fit_are_not_training_calls():
    result = last("clf.fit(X, y)\nmodel.fit(x_train, y_train, epochs=10)\nscaler.fit(df)")
    assert result.events == ()
    # but a learner's fit is, whatever its arguments
    assert len(trainings(last("learn = Learner(dls, m)\nlearn.fit(EPOCHS)"))) == 1
    assert len(trainings(last("model.fit(5, 1e-3)"))) == 1


def test_progress_calls():
    src = "learn.lr_find()\nlearn.lr_find(suggest_funcs=(minimum, steep))\nlr_find(learn)\npreds, y = learn.get_preds()\nlearn.tta()\nlearn.validate()\nlearn.show_results()\nx.validate()\nschema.get_preds()"
    result = last(src)
    assert result.events == (
        ProgressCall(1, "learn", "lr_find"),
        ProgressCall(2, "learn", "lr_find"),
        ProgressCall(3, "learn", "lr_find"),
        ProgressCall(4, "learn", "get_preds"),
        ProgressCall(5, "learn", "tta"),
        ProgressCall(6, "learn", "validate"),
        ProgressCall(7, "learn", "show_results"),
    )


def test_inference_on_a_known_learner_variable():
    result = last("m = vision_learner(dls, resnet18)\nm.get_preds()")
    assert result.events[1] == ProgressCall(2, "m", "get_preds")


def test_no_bar_and_no_logging():
    src = "with learn.no_bar():\n    learn.lr_find()\n    learn.fit(1, 1e-3)\nwith learn.no_logging():\n    learn.fine_tune(2)"
    result = last(V2, src)
    assert result.events == (
        TrainingCall(3, "learn", "fit", 1, "1e-3", call_text="learn.fit(1, 1e-3)"),
        ProgressCall(5, "learn", "fine_tune"),
        ProgressCall(5, "learn", "fine_tune"),
    )
    assert any("no_logging" in w for w in result.warnings)


def test_events_in_execution_order_within_an_expression():
    result = last("learn.fit_one_cycle(5, learn.lr_find().valley)")
    assert [type(e) for e in result.events] == [ProgressCall, TrainingCall]


# --------------------------------------------------------------------------- loops


def test_for_range_unrolls():
    result = last("for i in range(3):\n    learn.fit_one_cycle(1, 1e-3)")
    assert len(trainings(result)) == 3
    assert not any(isinstance(e, Loop) for e in result.events)


def test_for_over_list_binds_the_loop_variable():
    result = last("for lr in [1e-2, 1e-3]:\n    learn.fit_one_cycle(1, lr)")
    assert lrs(result) == ["1e-2", "1e-3"]
    assert [t.line for t in trainings(result)] == [2, 2]


def test_for_over_a_bound_list_enumerate_and_zip():
    cells = ("ARCHS = ['resnet18', 'resnet34']\nLRS = [1e-2, 3e-3]",
             "for i, (arch, lr) in enumerate(zip(ARCHS, LRS)):\n    learn = vision_learner(dls, arch)\n    learn.fit_one_cycle(i + 1, lr)")
    result = last(*cells)
    assert [e.model for e in learners(result)] == ["resnet18", "resnet34"]
    assert epochs(result) == [1, 2]
    assert lrs(result) == ["1e-2", "3e-3"]


def test_for_over_dict_items():
    result = last("S = {'a': 1e-2, 'b': 1e-3}\nfor k, lr in S.items():\n    learn.fit(1, lr)")
    assert lrs(result) == ["1e-2", "1e-3"]


def test_loop_variable_keeps_its_last_value():
    result = last("for lr in [1e-2, 1e-3]:\n    pass\nlearn.fit(1, lr)")
    # no events in the loop: not unrolled, so the variable is unknown after it
    assert lrs(result) == [""]
    result = last("for lr in [1e-2, 1e-3]:\n    learn.fit(1, lr)\nlearn.fit(1, lr)")
    assert lrs(result) == ["1e-2", "1e-3", "1e-3"]


def test_loop_over_unknown_iterable():
    result = last("for lr in candidate_lrs:\n    learn.fit_one_cycle(1, lr)")
    (loop,) = result.events
    assert isinstance(loop, Loop)
    assert loop.count is None and loop.line == 1
    (call,) = loop.body
    assert call.learning_rate == "" and call.line == 2
    assert result.warnings == ("line 2: learning rate of learn.fit_one_cycle(1, lr) cannot be resolved statically",)


def test_loop_with_static_count_but_unknown_items_and_range_of_unknown():
    result = last("for _ in range(N):\n    learn.fit(1, 1e-3)")
    (loop,) = result.events
    assert isinstance(loop, Loop) and loop.count is None
    assert loop.body[0].learning_rate == "1e-3"


def test_loop_too_long_to_unroll():
    n = MAX_UNROLL + 1
    (loop,) = last(f"for i in range({n}):\n    learn.fit(1, 1e-3)").events
    assert isinstance(loop, Loop) and loop.count == n
    assert len(loop.body) == 1


def test_while_and_break_give_unknown_counts():
    (loop,) = last("while not done:\n    learn.fit(1, 1e-3)").events
    assert isinstance(loop, Loop) and loop.count is None
    (loop,) = last("for i in range(3):\n    learn.fit(1, 1e-3)\n    if good(): break").events
    assert isinstance(loop, Loop) and loop.count is None
    assert last("while False:\n    learn.fit(1)").events == ()


def test_loop_modified_names_are_unknown_inside_a_loop_template():
    result = last("lr = 1e-2\nwhile go():\n    learn.fit(1, lr)\n    lr = lr / 10")
    (loop,) = result.events
    assert loop.body[0].learning_rate == ""


def test_unrolled_loop_tracks_rebinding():
    result = last("lr = 1e-2\nfor _ in range(2):\n    learn.fit(1, lr)\n    lr = lr / 10")
    assert lrs(result) == ["1e-2", "1e-3"]


def test_nested_loops_and_comprehensions():
    result = last("for a in ['x', 'y']:\n    for e in range(2):\n        learn.fit(e + 1, 1e-3)")
    assert epochs(result) == [1, 2, 1, 2]
    result = last("[learn.fit(i, 1e-3) for i in range(1, 3)]")
    assert epochs(result) == [1, 2]
    (loop,) = last("[learn.fit(1, 1e-3) for x in xs]").events
    assert isinstance(loop, Loop) and loop.count is None


def test_continue_skips_the_rest_of_an_unrolled_iteration():
    src = "for lr in [1e-1, 1e-2, 1e-3]:\n    if lr > 5e-2:\n        continue\n    learn.fit(1, lr)"
    assert lrs(last(src)) == ["1e-2", "1e-3"]


# --------------------------------------------------------------------------- functions


def test_function_inlined_with_defaults():
    cells = ("def train(lr, n=5):\n    learn.fit_one_cycle(n, lr)", "train(1e-2)\ntrain(1e-3, n=2)")
    result = last(*cells)
    assert [(t.line, t.epochs, t.learning_rate) for t in trainings(result)] == [(1, 5, "1e-2"), (2, 2, "1e-3")]


def test_function_not_called_has_no_events():
    assert last("def train():\n    learn.fit_one_cycle(1, 1e-3)").events == ()


def test_function_parameter_receiver_maps_to_the_argument():
    result = last("def train(learner, lr):\n    learner.fit_one_cycle(1, lr)\ntrain(learn, 3e-3)")
    (call,) = trainings(result)
    assert (call.learner, call.learning_rate) == ("learn", "3e-3")


def test_function_returning_a_learner_takes_the_assigned_name():
    src = "def make(arch, epochs=3, lr=1e-3):\n    learn = vision_learner(dls, arch, metrics=error_rate)\n    learn.fit_one_cycle(epochs, lr)\n    return learn\nm = make('convnext_tiny', lr=2e-3)\nm.fit_one_cycle(1, 1e-4)"
    result = last(V2, src)
    assert learners(result)[0] == LearnerCreated(5, "m", "vision_learner", "convnext_tiny", True, ("error_rate",))
    assert [(t.line, t.learner, t.learning_rate) for t in trainings(result)] == [(5, "m", "2e-3"), (6, "m", "1e-4")]


def test_function_return_value_used_as_a_value():
    result = last("def get_lr():\n    return 3e-4\nLR = get_lr()\nlearn.fit(1, LR)")
    assert lrs(result) == ["3e-4"]


def test_early_return_ends_the_function():
    src = "def train(quick):\n    if quick:\n        learn.fit(1, 1e-3)\n        return 'q'\n    learn.fit(10, 1e-3)\n    return 'full'\ntrain(True)\ntrain(False)\nR = train(True)\nlearn.fit(2, float(R == 'q'))"
    assert epochs(last(src)) == [1, 10, 1, 2]
    assert lrs(last(src))[-1] == ""  # float(True) is not a literal learning rate


def test_return_under_unknown_condition_makes_the_result_unknown():
    src = "def pick():\n    if cond():\n        return 1e-2\n    return 1e-3\nlearn.fit(1, pick())"
    assert lrs(last(src)) == [""]


def test_recursion_guard():
    result = last("def f(n):\n    learn.fit(1, 1e-3)\n    f(n - 1)\nf(3)")
    assert len(trainings(result)) == 1
    assert any("recursive" in w for w in result.warnings)


def test_function_called_in_a_loop():
    result = last("def run(arch):\n    l = vision_learner(dls, arch)\n    l.fine_tune(1)\nfor a in (resnet18, resnet34):\n    run(a)")
    assert [e.model for e in learners(result)] == ["resnet18", "resnet34"]
    assert len(trainings(result)) == 4


def test_function_locals_do_not_leak():
    result = last("LR = 1e-2\ndef f():\n    LR = 5.0\nf()\nlearn.fit(1, LR)")
    assert lrs(result) == ["1e-2"]
    result = last("LR = 1e-2\ndef f():\n    global LR\n    LR = 5e-3\nf()\nlearn.fit(1, LR)")
    assert lrs(result) == ["5e-3"]


def test_function_with_star_args_leaves_parameters_unknown():
    result = last("def train(lr=1e-3):\n    learn.fit(1, lr)\ntrain(*args)")
    assert lrs(result) == [""]
    assert "(inside train())" in result.warnings[0]


# --------------------------------------------------------------------------- branches, with, try


def test_if_with_constant_condition_takes_that_branch():
    result = last("DEBUG = False", "if DEBUG:\n    learn.fit(1)\nelse:\n    learn.fit(20)")
    assert epochs(result) == [20]
    assert result.warnings == ()
    result = last("MODE = 'full'\nif MODE == 'debug':\n    learn.fit(1)\nelif MODE == 'full':\n    learn.fit(30)")
    assert epochs(result) == [30]


def test_if_with_unknown_condition_takes_the_if_branch_and_warns():
    result = last("if torch.cuda.is_available():\n    learn.fit(10)\nelse:\n    learn.fit(1)")
    assert epochs(result) == [10]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("line 1: condition `torch.cuda.is_available()` cannot be resolved statically")


def test_if_with_unknown_condition_and_only_else_training():
    result = last("if SKIP:\n    learn.load('x')\nelse:\n    learn.fit(5)")
    assert epochs(result) == [5]
    assert "else branch" in result.warnings[0]


def test_if_with_unknown_condition_makes_disagreeing_names_unknown():
    result = last("lr = 1e-2\nif fast:\n    lr = 1e-1\nlearn.fit(1, lr)\nother = 1e-4\nlearn.fit(1, other)")
    assert lrs(result) == ["", "1e-4"]


def test_with_and_try_bodies_are_followed():
    src = "with torch.no_grad():\n    learn.fit(1, 1e-3)\ntry:\n    learn.fit(2, 1e-3)\nexcept Exception:\n    learn.fit(99, 1e-3)\nfinally:\n    learn.fit(3, 1e-3)"
    assert epochs(last(src)) == [1, 2, 3]


def test_class_bodies_and_lambdas_are_ignored():
    src = "class T:\n    def go(self):\n        learn.fit(1)\n    learn.fit(2)\nf = lambda: learn.fit(3)"
    assert last(src).events == ()


# --------------------------------------------------------------------------- IPython syntax


def test_line_magics_shell_and_help_keep_line_numbers():
    src = "%matplotlib inline\n!pip install timm\nfiles = !ls\nlearn.fit?\n??learn\npip install fastai\n%load_ext autoreload\nlearn.fit_one_cycle(3, 1e-3)"
    result = last(src)
    assert result.warnings == ()
    (call,) = trainings(result)
    assert call.line == 8


def test_time_and_timeit_run_their_statement():
    result = last("%time learn.fit(1, 1e-2)\n%timeit -n1 -r1 learn.fit(2, 1e-2)\nif True:\n    %time learn.fit(3, 1e-2)\nout = %time learn.fit(4, 1e-2)")
    assert [(t.line, t.epochs) for t in trainings(result)] == [(1, 1), (2, 2), (4, 3), (5, 4)]


def test_python_cell_magics():
    assert [t.line for t in trainings(last("%%time\nlearn.fit_one_cycle(5, 1e-3)"))] == [2]
    result = last("%%capture\nlearn.fit_one_cycle(5, 1e-3)")
    assert len(trainings(result)) == 1
    assert any("%%capture" in w for w in result.warnings)


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile train.py", "%%html", "%%sh"])
def test_non_python_cell_magics_have_no_events(magic):
    result = last(f"{magic}\nlearn = vision_learner(dls, resnet18)\nlearn.fit(1)")
    assert result.events == () and result.warnings == ()


def test_magic_looking_text_inside_strings_is_untouched():
    src = "s = '''\n%time learn.fit(9)\n!rm -rf /\n'''\nlearn.fit(1, 1e-3)"
    result = last(src)
    assert epochs(result) == [1]
    assert result.warnings == ()


def test_nbconvert_style_magic_calls():
    src = "get_ipython().run_line_magic('time', 'learn.fit_one_cycle(2, 1e-3)')\nget_ipython().run_line_magic('matplotlib', 'inline')"
    (call,) = trainings(last(src))
    assert (call.line, call.epochs, call.learning_rate) == (1, 2, "1e-3")


def test_prepare_cell_preserves_line_count():
    src = "%%time\n%matplotlib inline\nx = !ls\n!echo\nlearn.fit?\ny = 1"
    prepared = prepare_cell(src)
    assert prepared.python is not None
    assert len(prepared.python.split("\n")) == len(src.split("\n"))
    assert prepared.python.split("\n")[-1] == "y = 1"
    assert prepare_cell("%%bash\necho hi").python is None


# --------------------------------------------------------------------------- syntax errors


def test_syntax_error_line_is_skipped_and_named():
    result = last("learn.fit(1, 1e-3)\nx = = 3\nlearn.fit(2, 1e-3)")
    assert epochs(result) == [1, 2]
    assert len(result.warnings) == 1 and result.warnings[0].startswith("line 2: syntax error")


def test_broken_block_header_keeps_its_body():
    result = last("if x == = 1:\n    learn.fit(2, 1e-3)\nlearn.fit(3, 1e-3)")
    assert epochs(result) == [2, 3]
    assert result.warnings[0].startswith("line 1: syntax error")


def test_unclosed_bracket_is_salvaged():
    result = last("learn.fit(1, 1e-3)\nlearn.fit_one_cycle(3, 1e-3\nlearn.fit(4, 1e-3)")
    assert epochs(result) == [1, 4]
    assert result.warnings[0].startswith("line 2:")


def test_broken_block_header():
    result = last("learn.fit(1)\nfor x in y\n    learn.fit(2)\nlearn.fit(3)")
    assert epochs(result) == [1, 3]
    assert result.warnings and result.warnings[0].startswith("line 2:")


@pytest.mark.parametrize(
    "src",
    ["", "   ", "(((", "'''", "def", "%%", "\x00", "\\", "if x:\n", "\t\tlearn.fit(1)", "}{", "learn.fit(" * 50, "a" * 5000,
     "x = [" + "[" * 300 + "]" * 300 + "]", "- " * 2000 + "1"],
)
def test_garbage_never_raises(src):
    (result,) = analyse_cells([src])
    assert isinstance(result, CellAnalysis)


_FRAGMENTS = [
    "learn.fit_one_cycle(5, 1e-3)", "learn = vision_learner(dls, resnet18)", "for i in range(2):", "if x:",
    "    learn.fit(1, lr)", "def f(lr=1e-2):", "    return lr", "f()", "%time learn.fit(1)", "!ls", "%%time",
    "lr = 3e-3", "else:", "learn.fine_tune(2, LR)", "while True:", "    break", "    continue", "(", ")", '"""',
    "x = [1e-1, 1e-2]", "learn.fit(x[1])", "class C:", "    lr = 1", "learn.fit(C.lr)", "try:", "except:", "    pass",
]


def test_arbitrary_fragments_never_raise():
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hypothesis.settings(max_examples=150, deadline=None)
    @hypothesis.given(st.lists(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=12), max_size=8), max_size=4))
    def check(cells):
        sources = ["\n".join(lines) for lines in cells]
        results = analyse_cells(sources)
        assert len(results) == len(sources)
        for result in results:
            assert not any("internal error" in w for w in result.warnings)
            for event in result.events:
                assert isinstance(event, (LearnerCreated, TrainingCall, ProgressCall, Loop))
                assert event.line >= 1

    check()


def test_indented_cell_is_dedented():
    assert epochs(last("    learn.fit(1, 1e-3)\n    learn.fit(2, 1e-3)")) == [1, 2]


def test_cells_bind_across_even_after_errors():
    results = analyse("LR = 2e-3\nbroken(", "learn.fit(1, LR)")
    assert lrs(results[1]) == ["2e-3"]


# --------------------------------------------------------------------------- fastai version


@pytest.mark.parametrize(
    "imports, version",
    [
        ("from fastai.vision.all import *", 2),
        ("from fastai.tabular.all import *", 2),
        ("import fastai.vision.all", 2),
        ("from fastai2.vision.all import *", 2),
        ("from fastai.callback.schedule import *", 2),
        ("from fastai.vision import *", 1),
        ("from fastai import *", 1),
        ("from fastai.text import *", 1),
        ("from fastai.basic_train import Learner", 1),
        ("data = ImageDataBunch.from_folder(path)", 1),
        ("import fastai", 2),
        ("import numpy", 2),
        ("from fastai.vision import *\nfrom fastai.vision.all import *", 2),
    ],
)
def test_detect_version(imports, version):
    tree = parse_cell(imports).tree
    assert detect_version([tree]) == version


def test_version_decided_from_all_cells_even_later_ones():
    # the import cell may come after the training cell in execution order
    results = analyse("learn.fit_one_cycle(2)", "from fastai.vision import *")
    assert lrs(results[0]) == ["slice(3e-3)"]


# --------------------------------------------------------------------------- values


def test_normalise():
    assert normalise("slice( 1e-3 ,3e-3 )") == "slice(1e-3, 3e-3)"
    assert normalise("f(a = 1,\n  b  =  [1 ,2])  # c") == "f(a=1, b=[1, 2])"
    assert normalise("x . y ( 'a  b' )") == "x.y('a  b')"
    assert normalise("(1,)") == "(1,)"
    assert normalise("a  +  b") == "a + b"


@pytest.mark.parametrize(
    "x, text",
    [(1e-5, "1e-5"), (2.5e-4, "2.5e-4"), (1e-3, "1e-3"), (2e-3 / 2 / 100, "1e-5"), (0.0, "0"), (3.0, "3"), (1234.5, "1.2345e3")],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_lr_text():
    assert lr_text(value_from_text("1e-1")) == "1e-1"
    assert lr_text(value_from_text("'3e-3'")) == "3e-3"
    assert lr_text(value_from_text("slice(1e-5, 1e-3)")) == "slice(1e-5, 1e-3)"
    assert lr_text(value_from_text("[1e-4, 1e-3]")) == "[1e-4, 1e-3]"
    assert lr_text(value_from_text("lr")) is None
    assert lr_text(value_from_text("'fast'")) is None
    assert lr_text(value_from_text("np.array([1e-3])")) is None


def test_iter_items():
    items, count = iter_items(finish("range(2, 5)"), 100)
    assert [v.text for v in items] == ["2", "3", "4"] and count == 3
    items, count = iter_items(finish("[1e-2, 1e-3] * 2"), 100)
    assert [v.text for v in items] == ["1e-2", "1e-3", "1e-2", "1e-3"]
    assert iter_items(finish("range(10)"), 5) == (None, 10)
    assert iter_items(finish("things"), 5) == (None, None)


def test_camel2snake_and_class2attr():
    assert camel2snake("RocAuc") == "roc_auc"
    assert camel2snake("F1ScoreMulti") == "f1_score_multi"
    assert class2attr("CorpusBLEUMetric") == "corpus_bleu"
    assert class2attr("Metric") == "metric"


# --------------------------------------------------------------------------- fast paths
# Each shortcut taken for speed must give what the general path gives.


def normalise_by_tokenize(text: str) -> str:
    """What normalise gives when every text goes through tokenize (its reference)."""
    items = source_text._tokenize(text)
    return re.sub(r"\s+", " ", text).strip() if items is None else source_text._join(items)


def check_normalise_paths(text: str) -> None:
    expected = normalise_by_tokenize(text)
    assert normalise(text) == expected
    simple = source_text._simple_tokens(text)
    if simple is not None:
        assert source_text._join(simple) == expected
    if source_text._ALREADY_NORMAL.fullmatch(text):
        assert expected == text


TRICKY_TEXTS = [
    "slice( 1e-3 ,3e-3 )", "learn.fit_one_cycle(5, slice(1e-3, 3e-3))", "f(a = 1,\n  b  =  [1 ,2])", "f(a, )", "f(a ,)",
    "[1 ,2 ,]", "x . y", "1 .real", "1. + 2", ".5 + 1", "1.e5+x", "0x1F  +1", "1_000 * 2", "1j + 2", "1if x else 2",
    "0x", "1e", "1..real", "not (x)", "print (x)", "x if  y else z", "lambda x : x", "a[1 : 2]", "(x  :=  5)",
    "f(a=(b = 1))", "f(a=[b == 1])", "{a: 1 , **b}", "f(*a , **k)", "a ... b", "x  ->  y", "a!=b", "a ! b", "a $ b",
    "f(\n a,\n b)", "f(a,\n\n b)", "  f( x )", "f( x )\n", "f( x )\n\n  ", "a\n b", "  a\nb", "\n f(x)", "(", ")",
    "a)", "(a", "f(a) ,", ", f", "a,", "a ,", "a, ", " a, b", "a,  b", "a, )", "a,\tb", "a, b\n", "", "   ", "\t",
    "f('a  b' , c)", "f(a) # c", "f(a,\\\n b)", "x\\\n+1", "é + 1", "f(é = 1)", "a\x0cb", "a\rb",
    "[" * 150 + "]" * 150, "f(" * 120 + ")" * 120, "[" * 101 + "1" + "]" * 101,
    "f('a')", "f( 'a' , \"b c\" )", "'a' 'b'", "'a''b'", "r'a' [0]", "b'x' (1)", "Rb'x'", "u'a'.upper ( )", "x'a'",
    "f'{a}'", "rf'{a}'", "F'a'", "'" * 3 + "a" + "'" * 3, '"' * 3 + "a" + '"' * 3, "'a", "'a\nb'", "1'a'", "'a'b",
    "'a#b'", "'a\\'b'", "d[ 'k' ]",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_normalise_fast_paths_agree_with_tokenize(text):
    check_normalise_paths(text)


def test_normalise_takes_its_fast_paths():
    assert source_text._ALREADY_NORMAL.fullmatch("learn.fit_one_cycle(5, slice(1e-3, 3e-3))")
    assert not source_text._ALREADY_NORMAL.fullmatch("f(a, )")
    assert source_text._simple_tokens("slice( 1e-3 ,3e-3 )") is not None
    assert source_text._simple_tokens("f(\n a,\n b)") is not None
    assert source_text._simple_tokens("pd.read_csv(data_dir / 'train.csv', sep = ',')") is not None  # one-line strings
    for hard in ("f'a'", "'" * 3 + "a" + "'" * 3, "x'a'", "'a\\'b'", "f(a) # c", "f(a", "a)", "a\n b", "1if x else 2", "a ! b", "é", "[" * 101 + "]" * 101):
        assert source_text._simple_tokens(hard) is None, hard


_SOUP = st.sampled_from(
    list("ab1_ ,()[]{}=.:+-*/<>@\n\t!")
    + ["  ", "lambda", "if", "else", "not", "in", "1e-3", "0x1", ".5", "1.", "==", "!=", "**", "...", "->", ":=", "f(",
       "'s'", "#c\n", "\\\n", "x1", '"t"', "r'", "b", "f", "'", '"', "'" * 3]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_SOUP, max_size=14).map("".join))
def test_normalise_fast_paths_agree_with_tokenize_on_token_soup(text):
    check_normalise_paths(text)


LEAF_SOURCES = [
    "x = [1, 0x1F, 0o17, 0b1, 1_000, 1e-3, .5, 1., 2j, 1.5e3J, True, None, False, name, 'a', b'x', -1, f(x), ...]",
    "learn.fit_one_cycle(5, 1e-1, pretrained=False, lr=LR)",
    "y = ábc + 1 + 2",
    "f'{1}{x!r:>{3}}'",
    "(1)\n( x )",
    "t = 1 if y else 2",
]


@pytest.mark.parametrize("source", LEAF_SOURCES)
def test_leaf_trees_are_what_parsing_gives(source):
    made = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.expr):
            seg = segment(source, node)
            leaf = _leaf_tree(node, seg)
            if leaf is not None:
                made += 1
                assert ast.dump(leaf, include_attributes=True) == ast.dump(parse_expr(seg), include_attributes=True)
    assert made


def test_leaf_tree_checks_the_text_it_stands_for():
    def node(text: str) -> ast.expr:
        return ast.parse(text).body[0].value  # type: ignore[attr-defined]

    assert _leaf_tree(node("x"), "y") is None
    assert _leaf_tree(node("10"), "1") is None and _leaf_tree(node("10"), "10") is not None
    assert _leaf_tree(node("True"), "1") is None and _leaf_tree(node("1"), "True") is None
    assert _leaf_tree(node("1.0"), "1") is None  # same value, other type
    assert _leaf_tree(node("'a'"), "'a'") is None  # strings are parsed
    assert _leaf_tree(node("f(x)"), "f(x)") is None


IPYTHON_LINES = [
    "x = 1", "  y = 2", "pip install x", "pip = 3", "cd ..", "cd", "  cd x", "matplotlib inline", "%time f()", "!ls",
    "x = !ls", "f?", "?f", "'''", "# comment", "", "%%time", "%%bash", "load_ext autoreload", "conda  list", "x != y",
    "autoreload 2", "print('%d' % 3)", "\x0cpip install x", "reload_ext x", "    cd ..", "learn.fit(1) # ok?", "cd = 1",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(IPYTHON_LINES), st.text(alphabet=st.sampled_from(list("pi cd%!?=x(1)#'\t")))))
def test_prepare_cell_fast_path_only_skips_lines_left_alone(line):
    # prepare_cell skips its line scan when maybe_ipython says no: no line may then need a change
    warnings: list[str] = []
    if _transform_line(line, 1, warnings) != line or warnings:
        assert maybe_ipython(line)


@pytest.mark.parametrize("source", ["x = 1\n  y = 2", "  a = 1\n   b = 2", "a = 1\r\nb = 2\rc = 3", "", "\n", "f(x) "])
def test_prepare_cell_fast_path_keeps_text(source):
    prepared = prepare_cell(source)
    assert prepared.warnings == [] and prepared.cell_magic is None
    indent = source[: len(source) - len(source.lstrip(" "))]
    slow = prepare_cell(source + "\n" + indent + "# %")  # the '%' sends it through the line scan
    assert prepared.python == slow.python.rsplit("\n", 1)[0]


VERSION_CELLS = [
    "import numpy as np", "from fastai.vision.all import *", "learn = vision_learner(dls, resnet18)", "x = DataBlock",
    "def f():\n    from fastai.basic_train import Learner", "print('vision_learner')", "ｖision_learner(dls)",
    "data = ImageDataBunch.from_folder(p)", "m.create_cnn", "learn.fit(1)", "x = 1", "if a:\n    import fastai2",
    "import fastai", "from fastai.conv_learner import *", "md = ImageClassifierData.from_paths(p)", "import torch, os",
]


@pytest.mark.parametrize("cell", VERSION_CELLS)
def test_version_prefilter_keeps_every_cell_that_can_tell(cell):
    parsed = parse_cell(cell)
    telling = [
        n
        for n in ast.walk(parsed.tree)
        if (isinstance(n, (ast.Import, ast.ImportFrom)) and _import_version(n) is not None)
        or (isinstance(n, ast.Name) and n.id in _V0_NAMES | _V1_NAMES | _V2_NAMES)
    ]
    if telling:
        assert may_tell_version(parsed.text)
    # whatever the filter leaves out changes no verdict, next to any cell that tells one
    for other in ("from fastai.vision import *", "from fastai.conv_learner import *", "x = 1"):
        trees = [parsed.tree, ast.parse(other)]
        kept = [t for t, text in zip(trees, (parsed.text, other)) if may_tell_version(text)]
        assert detect_version(kept) == detect_version(trees)


def test_analysis_of_a_realistic_notebook():
    cells = [
        "import numpy as np\nfrom fastai.vision.all import *",
        "LR = 3e-3\nEPOCHS = [5, 10]",
        "learn = vision_learner(dls, resnet18, pretrained=False, metrics=lwlrap)\nlearn.lr_find()",
        "learn.fit_one_cycle(EPOCHS[0], LR)\nlearn.fit_one_cycle( 10 , slice( 1e-4 ,1e-3 ))",
        "test_df.head()",
    ]
    results = analyse(*cells)
    assert [len(r.events) for r in results] == [0, 0, 2, 2, 0]
    assert learners(results[2])[0].model == "resnet18" and learners(results[2])[0].metrics == ("lwlrap",)
    assert lrs(results[3]) == ["3e-3", "slice(1e-4, 1e-3)"] and epochs(results[3]) == [5, 10]
    assert [t.call_text for t in trainings(results[3])] == [
        "learn.fit_one_cycle(EPOCHS[0], LR)",
        "learn.fit_one_cycle(10, slice(1e-4, 1e-3))",
    ]


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("learn = Learner(dls, m, metrics=[accuracy_multi, lwlrap_metric()])", ("accuracy_multi", "lwlrap")),
        ("learn = Learner(dls, m, metrics=[accuracy_multi, lwlrap_metric(name='lw')])", ("accuracy_multi", "lw")),
        ("lwlrap = lwlrap_metric()\nlearn = Learner(dls, m, metrics=[accuracy_multi, lwlrap])", ("accuracy_multi", "lwlrap")),
    ],
)
def test_audiometrics_own_fastai_metric_is_named(source, names):
    (analysis,) = analyse_cells([source])
    assert analysis.events[-1].metrics == names


def test_reach_reads_calls_rebindings_and_effects_from_syntax():
    from audiometrics.analysis.reach import reach

    tree = ast.parse(
        "import numpy as np\n"
        "from fastai.vision.all import vision_learner as vl\n"
        "def f(x):\n    return helper(x)\n"
        "for a in items:\n    out[a] = np.log(a)\n    cfg.lr = a\n    LRS.append(a)\n"
        "learn.fit_one_cycle(1)\n"
        "with open(p) as fh:\n    pass\n"
        "try:\n    g()\nexcept E as err:\n    pass\n"
    )
    found = reach(tree.body)
    assert found.event_attribute  # learn.fit_one_cycle
    assert set(found.names) == {"helper", "open", "g"} and len(found.names) == 3
    assert found.returns and not found.declares
    # np is a plain import (a library name); vl renames an event callee; the rest are stores
    assert found.rebound == {"vl", "f", "a", "fh", "err"}
    assert found.changed == {"out", "cfg", "LRS"}
    assert found.has_effects({"out", "cfg"}) and not found.has_effects({"out", "cfg", "LRS"})
    assert reach(ast.parse("print(x := 1)").body).declares
    assert reach(ast.parse("f()[0] = 1").body).changed == {None}
    assert reach(ast.parse("f()[0] = 1").body).has_effects({"f"})


DEFERRED_L = "learn = vision_learner(dls, resnet18)"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # the value is the one the call had when it ran, whatever is rebound before it is read
        (["LR = 1e-3\ndef f():\n    return LR", "X = f()", "LR = 5e-3", "learn.fit(1, X)"], [(1, "1e-3")]),
        (["def f():\n    return 1e-3", "X = f()", "def f():\n    return 2e-3", "learn.fit(1, X)", "learn.fit(2, f())"], [(1, "1e-3"), (2, "2e-3")]),
        (["LR = 1e-3\ndef f():\n    return LR\ndef g():\n    global LR\n    LR = 9e-3", "X = f()", "g()", "learn.fit(1, X)", "learn.fit(2, LR)"], [(1, "1e-3"), (2, "9e-3")]),
        (["def f(a):\n    return a", "i = 1e-2\nX = f(i)\ni = 3e-3", "learn.fit(1, X)"], [(1, "1e-2")]),
        (["def f(a):\n    return a", "A = f(1e-3)\nB = f(A)\nA = 7", "learn.fit(1, B)"], [(1, "1e-3")]),
        (["X = 1e-3\ndef f():\n    return X", "X = f()", "learn.fit(1, X)"], [(1, "1e-3")]),  # reads what it rebinds
        (["def f(a):\n    return a", "for v in [1e-2, 2e-3]:\n    X = f(v)", "learn.fit(1, X)"], [(1, "2e-3")]),
        # branches: alike values are kept, different ones are unknown
        (["def f():\n    return 4e-3", "if cond:\n    X = f()\nelse:\n    X = f()", "learn.fit(1, X)"], [(1, "4e-3")]),
        (["def f(a):\n    return a", "if cond:\n    X = f(1e-2)\nelse:\n    X = f(1e-3)", "learn.fit(1, X)"], [(1, "")]),
        # made in a branch that is tried, then taken back: computed with the branch's bindings
        (["LR = 1e-3\ndef f():\n    return LR", "if cond:\n    LR = 2e-3\n    X = f()\nelse:\n    LR = 2e-3\n    X = f()", "learn.fit(1, X)"], [(1, "2e-3")]),
        # nested and enclosed functions, tuple and attribute targets
        (["def inner(a):\n    return a * 2\ndef outer(a):\n    b = inner(a)\n    return b", "X = outer(1e-3)", "learn.fit(1, X)"], [(1, "2e-3")]),
        (["def make():\n    base = 1e-3\n    def get():\n        return base\n    return get()", "X = make()", "learn.fit(1, X)"], [(1, "1e-3")]),
        (["def f():\n    return (2, 1e-3)", "E, LRV = f()", "learn.fit(E, LRV)"], [(2, "1e-3")]),
        (["def f():\n    return 3e-3", "cfg.lr = f()", "learn.fit(1, cfg.lr)"], [(1, "3e-3")]),
    ],
)
def test_values_of_notebook_function_calls_are_computed_when_read(cells, expected):
    """A call of a notebook function that only computes a value is inlined when its value is
    first read (or before what it reads changes): the result is the one inlining at once gives."""
    got = [(t.epochs, t.learning_rate) for a in analyse(DEFERRED_L, *cells) for t in trainings(a)]
    assert got == expected


def test_a_value_never_read_is_never_computed(monkeypatch):
    from audiometrics.analysis.calls import Calls

    inlined: list[str] = []
    real = Calls._inline

    def spy(self, entry, call, ctx, target):
        inlined.append(entry.node.name)
        return real(self, entry, call, ctx, target)

    monkeypatch.setattr(Calls, "_inline", spy)
    result = analyse(
        "def filters(n):\n    return [k * 2 for k in range(n)]\ndef lr():\n    return 1e-3",
        "FILTERS = filters(128)\nLR = lr()",
        f"{DEFERRED_L}\nlearn.fit(1, LR)",
    )
    assert lrs(result[-1]) == ["1e-3"]
    assert inlined == ["lr"]  # FILTERS is never read


def test_pure_recursion_is_not_reported():
    """Only a recursive function that trains is worth a warning that its recursion is not followed."""
    result = last(DEFERRED_L, "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nN = fact(3)\nlearn.fit(N, 1e-3)")
    assert not any("recursive" in w for w in result.warnings)


def test_fast_traversal_visits_what_ast_does():
    from audiometrics.analysis.walk import child_nodes, walk

    notebook = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "fat2019_training.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    tree = ast.parse(prepare_cell(code).python)  # IPython syntax neutralised
    contexts = (ast.Load, ast.Store, ast.Del)
    every = [n for n in ast.walk(tree) if not isinstance(n, contexts)]
    assert len(every) > 1000
    assert sorted(map(id, walk(tree))) == sorted(map(id, every))
    for node in every:
        assert child_nodes(node) == [c for c in ast.iter_child_nodes(node) if not isinstance(c, contexts)]


# --------------------------------------------------------------------------- issue 9: runs you can trust


def test_known_factories_of_fastai_and_its_ecosystem():
    cases = [
        (V1, "learn = Learner.create_unet(data, models.resnet34, metrics=dice)", "create_unet", "resnet34", True),
        (V1, "learn = ConvLearner(data, models.resnet34, metrics=error_rate)", "ConvLearner", "resnet34", True),
        (V2, "learn = text_classifier_learner(dls, AWD_LSTM, drop_mult=0.5)", "text_classifier_learner", "AWD_LSTM", True),
        (V2, "learn = language_model_learner(dls, AWD_LSTM, pretrained=False)", "language_model_learner", "AWD_LSTM", False),
        (V2, "learn = tabular_learner(dls, layers=[200, 100])", "tabular_learner", "TabularModel", False),
        (V1, "learn = tabular_learner(data, layers=[200, 100], metrics=accuracy)", "tabular_learner", "TabularModel", False),
        (V2, "learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))", "collab_learner", "EmbeddingDotBias", False),
        (V2, "learn = collab_learner(dls, use_nn=True, layers=[100, 50])", "collab_learner", "EmbeddingNN", False),
        (V1, "learn = collab_learner(data, 40, False, y_range=(0, 5.5))", "collab_learner", "EmbeddingDotBias", False),
        (V2, "learn = collab_learner(dls, use_nn=USE_NN)", "collab_learner", None, False),
        (V2, "learn = synth_learner(lr=1e-2)", "synth_learner", "RegModel", False),
        (V2, "learn = synth_learner(model=Net())", "synth_learner", "Net", None),
        (V2, "learn = timm_learner(dls, 'efficientnet_b3', pretrained=False)", "timm_learner", "efficientnet_b3", False),
        (V2, "learn = audio_learner(dls, resnet18)", "audio_learner", "resnet18", None),
        (V2, "learn = unet_learner(dls, resnet34)", "unet_learner", "resnet34", True),
    ]
    for header, cell, factory, model, pretrained in cases:
        got = only_learner(header, cell + "\nlearn.fit(1)")
        assert (got.factory, got.model, got.pretrained, got.known) == (factory, model, pretrained, True), cell


def test_unknown_call_bound_to_a_trained_name_is_a_learner_of_unknown_model():
    cells = [
        V2,
        "learn = vision_learner(dls, resnet18)\nlearn.fit_one_cycle(1, 1e-3)",
        "learn = get_learner(dls, 'convnext_tiny', metrics=[accuracy])\nlearn.fit_one_cycle(1, 1e-3)",
        "model = exp.create_cls_learner(cfg)\nmodel.fine_tune(1)",
    ]
    results = analyse(*cells)
    assert learners(results[2]) == [LearnerCreated(1, "learn", "get_learner", None, None, ("accuracy",), known=False)]
    assert learners(results[3]) == [LearnerCreated(1, "model", "exp.create_cls_learner", None, None, (), known=False)]
    assert [t.learner for t in trainings(results[2]) + trainings(results[3])] == ["learn", "model", "model"]


def test_unknown_calls_that_are_not_learners_leave_no_event():
    result = last(
        V2,
        "learn_rate = get_lr()\nlearner_path = Path('models')\ndls = get_dls(64)\nlearn.model = nn.DataParallel(learn.model)\n"
        "model = RandomForestClassifier()\nmodel.fit(X, y)\nif big:\n    learner_kw = dict(a=1)\nelse:\n    learner_kw = dict(a=2)",
    )
    assert result.events == ()
    assert result.warnings == ()


def test_a_learner_from_an_unknown_call_in_an_undecidable_branch_is_said():
    result = last(V2, "if big:\n    learn = get_big(dls)\nelse:\n    learn = get_small(dls)\nlearn.fit(1, 1e-3)")
    assert [(e.factory, e.known) for e in learners(result)] == [("get_big", False)]
    assert any("cannot be resolved statically; assuming the if branch runs" in w for w in result.warnings)


def test_methods_of_a_learner_never_make_a_new_one():
    result = last(
        V2,
        "learn = vision_learner(dls, resnet18)\nlearn.fit(1)\nlearn = learn.load('stage-1')\nlearn = learn.to_fp16()\n"
        "learn = to_fp16(learn)\nlearn.unfreeze()\nlearn.lr_find()\nlearn.fit(1)",
    )
    assert [type(e).__name__ for e in result.events] == ["LearnerCreated", "TrainingCall", "ProgressCall", "TrainingCall"]
    result = last(V2, "learn = get_learner(dls).to_fp16()\nlearn.fit(1)")
    assert [(e.factory, e.known) for e in learners(result)] == [("get_learner", False)]


def test_every_unknown_creation_is_its_own_event():
    result = last(V2, "for arch in ['a', 'b']:\n    learn = make(dls, arch)\n    learn.fit(1)")
    made = learners(result)
    assert len(made) == 2 and made[0] is not made[1] and not made[0].known


def test_notebook_function_returning_an_unknown_learner():
    deferred = analyse(V2, "def get_learner(arch):\n    return timm_stuff.make(dls, arch)", "learn = get_learner('vit')\nlearn.fit(1)")
    assert [(e.target, e.factory, e.known) for e in learners(deferred[-1])] == [("learn", "get_learner", False)]
    inlined = analyse(
        V2,
        "def get_learner(arch):\n    m = timm_stuff.make(dls, arch)\n    m.lr_find()\n    return m",
        "learn = get_learner('vit')\nlearn.fit(1)",
    )
    assert [(e.target, e.factory, e.known) for e in learners(inlined[-1])] == [("learn", "timm_stuff.make", False)]
    assert lrs(inlined[-1]) == [""]


def test_notebook_function_returning_a_known_learner_keeps_its_model_and_rate():
    result = last(V2, "def get_learner(arch):\n    return vision_learner(dls, arch, lr=3e-2)", "learn = get_learner(resnet18)\nlearn.fit(1)")
    assert [(e.model, e.known) for e in learners(result)] == [("resnet18", True)]
    assert [(t.learning_rate, t.lr_from_learner, t.lr_is_default) for t in trainings(result)] == [("3e-2", True, False)]


def test_training_on_a_name_never_bound_keeps_its_name():
    result = last(V2, "learn = vision_learner(dls, resnet18)\nlearn.fit(1)\nlearn1.fit(2)\nm.fit(3)")
    assert [(t.learner, t.epochs) for t in trainings(result)] == [("learn", 1), ("learn1", 2), ("m", 3)]


def _loop_shape(result: CellAnalysis):
    (loop,) = result.events
    assert isinstance(loop, Loop)
    return loop.count, [type(e).__name__ for e in loop.body]


def test_loops_creating_a_learner_per_iteration():
    static = last(V2, "for fold in range(5):\n    learn = vision_learner(dls, resnet18)\n    learn.fit_one_cycle(1)")
    assert [type(e).__name__ for e in static.events] == ["LearnerCreated", "TrainingCall"] * 5
    archs = last(V2, "for arch in [resnet18, resnet34]:\n    learn = vision_learner(dls, arch)\n    learn.fit_one_cycle(1)")
    assert [e.model for e in learners(archs)] == ["resnet18", "resnet34"]
    named = last(V2, "ARCHS = ['convnext_tiny', 'resnet50']", "for arch in ARCHS:\n    learn = vision_learner(dls, arch)\n    learn.fit(1)")
    assert [e.model for e in learners(named)] == ["convnext_tiny", "resnet50"]
    folds = last(V2, "for fold, (trn, val) in enumerate(kf.split(df)):\n    learn = vision_learner(dls, resnet18)\n    learn.fit(1)")
    assert _loop_shape(folds) == (None, ["LearnerCreated", "TrainingCall"])
    unknown = last(V2, "for fold in folds:\n    learn = get_learner(dls, fold)\n    learn.fit(1)")
    assert _loop_shape(unknown) == (None, ["LearnerCreated", "TrainingCall"])
    loop = last(V2, "i = 0\nwhile i < n:\n    learn = vision_learner(dls, resnet18)\n    learn.fit(1)\n    i += 1")
    assert _loop_shape(loop) == (None, ["LearnerCreated", "TrainingCall"])


def test_notebook_function_per_fold_in_a_loop():
    train_fold = "def train_fold(i):\n    learn = vision_learner(get_dls(i), resnet34)\n    learn.fine_tune(2)\n    return learn"
    static = last(V2, train_fold, "for i in range(3):\n    train_fold(i)")
    assert [type(e).__name__ for e in static.events] == ["LearnerCreated", "TrainingCall", "TrainingCall"] * 3
    assert len({id(e) for e in learners(static)}) == 3
    unknown = last(V2, train_fold, "for i in range(n_folds):\n    learn = train_fold(i)")
    assert _loop_shape(unknown) == (None, ["LearnerCreated", "TrainingCall", "TrainingCall"])
    assert unknown.events[0].body[0].target == "learn"


def test_learner_rate_is_the_default_of_later_fits_v2():
    for cell in ["learn = Learner(dls, Net(), lr=1e-2)", "learn = synth_learner(lr=1e-2)", "learn = cnn_learner(dls, resnet18, lr=1e-2)"]:
        result = last(V2, cell + "\nlearn.fit(1)\nlearn.fit_one_cycle(2)\nlearn.fit_flat_cos(1)\nlearn.fit_sgdr(1, 1)")
        assert [(t.learning_rate, t.lr_from_learner, t.lr_is_default) for t in trainings(result)] == [("1e-2", True, False)] * 4
        # fine_tune has its own default (base_lr=2e-3), whatever the learner's rate
        tune = last(V2, cell + "\nlearn.fine_tune(1)")
        assert [(t.learning_rate, t.lr_is_default, t.lr_from_learner) for t in trainings(tune)] == [
            ("slice(2e-3)", True, False),
            ("slice(1e-5, 1e-3)", True, False),
        ]


def test_fastai_v1_fits_use_their_own_default_whatever_the_learner():
    result = last(V1, "learn = get_learner(data)\nlearn.fit_one_cycle(1)\nlearn.fit(1)")
    assert [(t.learning_rate, t.lr_is_default) for t in trainings(result)] == [("slice(3e-3)", True)] * 2
    assert result.warnings == ()


def test_learner_from_an_unknown_factory_has_no_default_rate():
    result = last(V2, "learn = get_learner(dls, 'convnext_tiny')\nlearn.fit(1)\nlearn.fit(1, 1e-2)\nlearn.fine_tune(1)")
    assert [(t.learning_rate, t.lr_is_default) for t in trainings(result)] == [
        ("", False), ("1e-2", False), ("slice(2e-3)", True), ("slice(1e-5, 1e-3)", True)
    ]
    assert result.warnings == (
        "line 2: learning rate of learn.fit(1) unknown: the learner comes from get_learner(...), not a known factory",
    )
    loaded = last(V2, "learn = load_learner('export.pkl')\nlearn.fit_one_cycle(1)")
    assert lrs(loaded) == [""] and "whose default learning rate is not known" in loaded.warnings[0]


def test_scheduler_callbacks_make_the_rate_unknown():
    result = last(
        V2,
        "learn = vision_learner(dls, resnet18)\nlearn.fit(3, cbs=[ParamScheduler({'lr': sched})])\nlearn.fit(3, 1e-2, cbs=OneCycleScheduler(1e-2))\n"
        "learn.fit(3, cbs=SaveModelCallback())",
    )
    assert [(t.learning_rate, t.lr_is_default) for t in trainings(result)] == [("", False), ("", False), ("1e-3", True)]
    assert result.warnings[0] == "line 2: learning rate of learn.fit(3, cbs=[ParamScheduler({'lr': sched})]) unknown: the scheduler callback ParamScheduler sets it"
    built = last(V2, "learn = Learner(dls, Net(), cbs=[ParamScheduler(s)])\nlearn.fit(1)")
    assert lrs(built) == [""]
    reduced = last(V2, "learn = vision_learner(dls, resnet18, cbs=ReduceLROnPlateau(patience=2))\nlearn.fit_one_cycle(2)\n"
                       "learn.fit(3, 1e-2, cbs=[ReduceLROnPlateau(monitor='valid_loss')])")
    assert lrs(reduced) == ["1e-3", "1e-2"]  # a reducer starts from the rate given (or the default)
    assert all("is the starting rate: ReduceLROnPlateau lowers it" in w for w in reduced.warnings), reduced.warnings
    added = last(V2, "learn = vision_learner(dls, resnet18)\nlearn.add_cb(ParamScheduler(s))\nlearn.fit(1)")
    assert lrs(added) == [""] and "ParamScheduler" in added.warnings[0]
    v1 = last(V1, "learn = cnn_learner(data, models.resnet18)\nlearn.fit(1, callbacks=[OneCycleScheduler(learn, 1e-2)])")
    assert lrs(v1) == [""]
    momentum = last(V2, "learn = vision_learner(dls, resnet18)\nlearn.fit(1, 1e-2, cbs=ParamScheduler({'mom': SchedCos(0.9, 0.8)}))")
    assert lrs(momentum) == ["1e-2"] and momentum.warnings == ()


def test_trained_names_prepass():
    from audiometrics.frameworks.fastai import trained_names

    text = "learn.fit_one_cycle(1)\nself.learn.fine_tune(2)\nm.fit(3)\nmodel.fit(X, y, epochs=3)\nlrn.lr_find()\nx.fit_sgdr(1, 1)\nk.fit(epochs=2)"
    assert trained_names([text]) == {"learn", "self.learn", "m", "lrn", "x", "k"}


def test_partial_of_a_known_factory_is_that_factory():
    result = last(
        V2,
        "get_learner = partial(vision_learner, dls, metrics=accuracy, pretrained=False)",
        "learn = get_learner(resnet34, lr=1e-2)\nlearn.fit(1)",
    )
    assert learners(result) == [LearnerCreated(1, "learn", "vision_learner", "resnet34", False, ("accuracy",))]
    assert [(t.learning_rate, t.lr_from_learner) for t in trainings(result)] == [("1e-2", True)]


def test_fits_after_a_loop_of_creations_train_its_last_learner():
    def fits(result):
        loop, after = result.events
        return [(t.learning_rate, t.lr_from_learner) for t in [loop.body[1], after]]

    unknown = last(V2, "for f in folds:\n    learn = get_learner(dls, f)\n    learn.fit(1)\nlearn.fit(2)")
    assert fits(unknown) == [("", False)] * 2
    assert unknown.warnings[-1].startswith("line 4: learning rate of learn.fit(2) unknown")
    own = last(V2, "for f in folds:\n    learn = vision_learner(dls, resnet18, lr=3e-2)\n    learn.fit(1)\nlearn.fit(2)")
    assert fits(own) == [("3e-2", True)] * 2


def test_rebinding_a_learner_name_from_an_unknown_call_is_a_new_learner():
    result = last(V2, "m = vision_learner(dls, resnet18)\nm.fit(EPOCHS)\nm = make_model(dls)\nm.fit(EPOCHS)")
    assert [(e.factory, e.known) for e in learners(result)] == [("vision_learner", True), ("make_model", False)]
    assert lrs(result) == ["1e-3", ""]


def test_unknown_call_unpacked_into_a_trained_name():
    result = last(V2, "learn, dls = make_learner(cfg)\nlearn.fit(1)\nx_train, learn_rate = split(df)")
    assert [(e.target, e.factory, e.known) for e in learners(result)] == [("learn", "make_learner", False)]
    assert lrs(result) == [""]


def test_notebook_function_too_deep_to_inline_is_an_unknown_factory():
    chain = "\n".join(f"def f{i}():\n    return f{i + 1}()" for i in range(14)) + "\ndef f14():\n    learn = vision_learner(dls, resnet18)\n    learn.lr_find()\n    return learn"
    result = last(V2, chain, "learn = f0()\nlearn.fit(1)")
    made = learners(result)
    assert [(e.target, e.known) for e in made] == [("learn", False)], made


def test_a_registered_framework_is_asked_instead_of_fastai():
    """The frameworks seam: a notebook another registered framework claims gets its learners and phases."""
    from audiometrics import frameworks
    from audiometrics.analysis.convert import as_int
    from audiometrics.frameworks.base import LearnerInfo, PhaseSpec

    def phases(method, args, version, learner_lr):
        epochs = args.keywords.get("epochs")
        return [PhaseSpec(as_int(epochs) if epochs is not None else 1, "1e-4")], []

    toy = frameworks.Framework(
        name="toy",
        learner_factories=frozenset({"ToyTrainer"}),
        training_methods=frozenset({"train"}),
        inference_methods=frozenset(),
        detect=lambda texts: any("import toy" in text for text in texts),
        may_tell_version=lambda text: False,
        detect_version=lambda trees: 1,
        trained_names=lambda texts: frozenset(),
        learner_info=lambda factory, args, version, classes: LearnerInfo("toy-net", False, ("acc",), None),
        metrics_of=lambda args, version, classes: (),
        scheduler_in=lambda args: None,
        is_training_fit=lambda args: True,
        training_phases=phases,
    )
    frameworks.register(toy)
    try:
        result = analyse_cells(["import toy\ntrainer = ToyTrainer(net)", "trainer.train(epochs=3)"])
    finally:
        frameworks.unregister("toy")
    learner = result[0].events[0]
    assert (learner.factory, learner.model, learner.metrics) == ("ToyTrainer", "toy-net", ("acc",))
    (call,) = result[1].events
    assert (call.learner, call.method, call.epochs, call.learning_rate) == ("trainer", "train", 3, "1e-4")
    assert frameworks.detect(["import toy"]) is frameworks.DEFAULT  # gone again


def _bindings(**texts: str):
    values = {name: value_from_text(text) for name, text in texts.items()}
    return values.get


def test_substituted_value_is_parsed_only_when_its_node_is_read():
    lookup = _bindings(dls="DataBlock(blocks=(ImageBlock, CategoryBlock)).dataloaders(df, bs=BS)", LR="1e-1")
    value = value_from_text("Learner(dls, model, lr=LR)", lookup)
    assert value.text == "Learner(DataBlock(blocks=(ImageBlock, CategoryBlock)).dataloaders(df, bs=BS), model, lr=1e-1)"
    assert value.tree is None and isinstance(value.head, ast.Call)  # not parsed yet
    assert ast.dump(value.node) == ast.dump(parse_expr(value.text))  # parsed on first read
    assert value.tree is value.node
    # a value built from the lazy one reads its kind without parsing it
    outer = value_from_text("f(learn.model)", _bindings(learn=value.text))
    assert outer.text == f"f({value.text}.model)"


@pytest.mark.parametrize(
    "text, bound",
    [
        ("f'{x}'", "'a'"),  # a value put into an f-string may clash with its quotes
        ("x", "'a'"),  # the whole text replaced: the value itself
        ("x(1)", "dict"),  # the callee replaced
        ("{**x}", "a or b"),  # an operator value put in without brackets
        ("(a, x)", "1"),  # a bare tuple is wrapped
    ],
)
def test_substitution_that_may_change_kind_or_validity_is_parsed_at_once(text, bound):
    value = value_from_text(text, _bindings(x=bound))
    expected = parse_expr(value.text)
    assert value.tree is not None or expected is not None
    assert ast.dump(value.node) == ast.dump(expected) if expected is not None else not value.known


# --------------------------------------------------------------------------- one walk, no re-parse (issue 15)


def test_syntax_summary_reads_each_statement_once(monkeypatch):
    from audiometrics.analysis.reach import Syntax

    tree = ast.parse(
        "def f(x):\n"
        "    for a in x:\n        if a:\n            break\n        out.append(a)\n"
        "    else:\n        g = lambda y: (z := y)\n"
        "    global G\n"
        "    return h(x)\n"
    )
    func = tree.body[0]
    loop = func.body[0]
    tops: list[ast.AST] = []
    walk = Syntax._walk

    def counting(self, top, found, *flags):
        tops.append(top)
        return walk(self, top, found, *flags)

    monkeypatch.setattr(Syntax, "_walk", counting)
    syntax = Syntax()
    body = syntax.summary(func.body)
    inner = syntax.summary(loop.body)
    assert syntax.summary(func.body) == body
    statements = [t for t in tops if isinstance(t, ast.stmt)]
    assert len(statements) == len({id(t) for t in statements}) == 7  # each statement walked once
    # stores outside nested lambdas, mutated names, every load, globals; the loop's break is its own
    assert body.stored == {"a", "out", "g"} and body.reach.rebound == {"a", "g", "z"}
    assert body.loaded == {"x", "a", "out", "y", "h"} and body.declared == {"G"}
    assert body.reach.names == ("h",) and body.reach.returns and body.reach.declares
    assert body.reach.changed == {"out"}
    assert not body.breaks and inner.breaks


def _counting_parses(monkeypatch) -> list[str]:
    from audiometrics.analysis import fold, values

    parsed: list[str] = []

    def counting(text: str):
        parsed.append(text)
        return parse_expr(text)

    monkeypatch.setattr(values, "parse_expr", counting)
    monkeypatch.setattr(fold, "parse_expr", counting)
    return parsed


@pytest.mark.parametrize(
    "src",
    [
        "learn = vision_learner(dls, resnet34, metrics=[accuracy, error_rate], lr=LR)",
        "x = f(LR) * 2 + g(y=CFG.lr)",
        "x = [LR, LR / 10][1]",  # folds: parsed for that
        "x = {'a': LR}",
        "x = lambda: LR",
        "x = (LR, 2)",  # a tuple is bracketed: as before
        "x = vision_learner(dls,\n    resnet34)",  # two lines: normalised, as before
        "x = f('é', LR)",  # not ASCII: as before
        "x = f(f'{LR}')",  # an f-string: as before
        "x = LR",
        "x = UNSET",
        "x = OPAQUE_NAME",
        "x = 1e-1",
        "x = None",
        "x = timm",
    ],
)
def test_value_read_on_the_cell_tree_is_the_value_read_from_its_text(monkeypatch, src):
    from audiometrics.analysis.values import UNKNOWN, Alias, make_value

    entries = {"LR": finish("1e-1"), "CFG.lr": finish("3e-3"), "OPAQUE_NAME": UNKNOWN, "timm": Alias("timm2")}
    node = ast.parse(src).body[0].value
    expected = value_from_text(segment(src, node), entries.get)
    parsed = _counting_parses(monkeypatch)
    value = make_value(node, src, entries.get, "origin")
    assert (value.text, value.origin, value.known) == (expected.text, "origin", expected.known)
    simple = "\n" not in src and src.isascii() and "[1]" not in src and "(LR, 2)" not in src and "f'" not in src
    if simple and "timm" not in src:
        assert parsed == []  # nothing parsed to value a one-line expression...
    assert ast.dump(value.node) == ast.dump(expected.node)  # ...until its tree is read
    for sub in ast.walk(value.node):
        if isinstance(sub, ast.expr):
            assert value.sub(sub).text == expected.sub(next(
                n for n in ast.walk(expected.node) if ast.dump(n) == ast.dump(sub)
            )).text


@pytest.mark.parametrize(
    "line",
    ["%time learn.fit(1)", "  !pip install x", "x = !ls", "y = %timeit f()", "obj?", "f(x)??", "pip install fastai",
     "\tcd /tmp", "matplotlib inline", 's = "%d" % n', "ok = a != b", "print('?')", "a = b %c"],
)
def test_cell_prefilter_lets_through_every_line_a_transform_changes(line):
    changed = _transform_line(line, 1, []) != line
    assert not changed or maybe_ipython(line)
    if line in ('s = "%d" % n', "ok = a != b", "print('?')"):
        assert not maybe_ipython(line)  # an operator, a question mark in a string: no IPython syntax, no line scan


@pytest.mark.parametrize(
    "code, version",
    [
        ("x = create_cnn\nfrom fastai.vision.all import *", 2),  # a later v2 marker wins
        ("from .local import vision_learner\nx = ImageDataBunch", 1),  # a relative import names nothing
        ("from fastai.vision import *\nimport fastai2", 2),
        ("import os", 2),
    ],
)
def test_detect_version_markers_anywhere_v2_wins(code, version):
    assert detect_version([ast.parse(code)]) == version


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["%", "!", "?", "=", " ", "\t", "\n", "\x0c", "\x1c", "\u2028", "pip", "cd", "conda",
                                 "matplotlib", "load_ext", "x", "(", "#", '"']), max_size=14))
def test_maybe_ipython_is_the_prefilter_pattern(parts):
    text = "".join(parts)
    help_line = any(_is_help(line) for line in text.split("\n"))
    assert maybe_ipython(text) == (bool(_MAYBE_IPYTHON.search(text)) or help_line)


@pytest.mark.parametrize(
    ("setup", "expr", "expected"),
    [
        ("ARCH = 'resnet'\nDEPTH = 34", "f'{ARCH}{DEPTH}'", "resnet34"),
        ("LR = 3e-3", "float(f'{LR}')", None),  # a call of an f-string: not a literal, but the call stays readable
        ("NAME = 'x'", "f'{NAME!r}-{3.14159:.2f}'", "'x'-3.14"),
    ],
)
def test_fstrings_of_known_constants_fold(setup, expr, expected):
    result = analyse_cells([f"{setup}\nlearn = vision_learner(dls, {expr})\nlearn.fit(1, 1e-3)"])
    (created,) = learners(result[0])
    if expected is not None:
        assert created.model == expected
    assert lrs(result[0]) == ["1e-3"]


def test_fstring_with_unknown_names_leaves_the_rest_of_the_call_known():
    result = last(V2, "import os\nrun = os.environ['RUN']\nlearn = vision_learner(dls, resnet34, path=f'/out/{run}')\nlearn.fit(2, 1e-2)")
    assert lrs(result) == ["1e-2"]
    assert learners(result)[0].model == "resnet34"


def test_a_fit_on_the_factory_call_itself_takes_the_learners_rate():
    (created, call) = last(V2, "vision_learner(dls, resnet34, lr=1e-2).fit_one_cycle(1)").events
    assert created.model == "resnet34"
    assert (call.learning_rate, call.lr_from_learner) == ("1e-2", True)
    (_, call) = last(V2, "vision_learner(dls, resnet34).fit_one_cycle(1)").events
    assert (call.learning_rate, call.lr_is_default) == ("1e-3", True)


V0 = "from fastai.conv_learner import *"


def test_fastai_07_learner_and_fits():
    """fastai 0.6/0.7 (the 2018 course): ConvLearner.pretrained(arch, data), fit(lrs, n_cycle, cycle_len=, cycle_mult=)."""
    result = analyse_cells([
        V0,
        "arch = resnet34\ndata = ImageClassifierData.from_paths(PATH, tfms=tfms_from_model(arch, 224))\n"
        "learn = ConvLearner.pretrained(arch, data, precompute=True)\nlearn.fit(0.01, 2)",
        "lr = np.array([1e-4, 1e-3, 1e-2])\nlearn.fit(lr, 3, cycle_len=1, cycle_mult=2)",
        "learn.fit(1e-2, 3, cycle_len=1)",
        "m = ConvLearner.pretrained(resnext50, data, pretrained=False)",
    ])
    (created, first) = result[1].events
    assert (created.model, created.pretrained, created.metrics) == ("resnet34", True, None)  # metrics: the data decides
    assert (first.epochs, first.learning_rate) == (2, "0.01")
    (second,) = result[2].events
    assert (second.epochs, second.learning_rate) == (7, "[1e-4, 1e-3, 1e-2]")  # 1 + 2 + 4 epochs
    assert result[3].events[0].epochs == 3
    assert result[4].events[0].pretrained is False
    (wds,) = last(V0, "learn = ConvLearner.pretrained(arch, data)\nlearn.fit(1e-2, 2, 1e-4)").events[1:]
    assert wds.epochs == 2  # the third positional argument is wds, not cycle_len


def test_fastai_07_is_told_from_its_imports_and_v1_v2_are_unchanged():
    from audiometrics.frameworks.fastai import detect_version

    def version(text):
        return detect_version([ast.parse(text)])

    assert version("from fastai.imports import *\nfrom fastai.transforms import *\nfrom fastai.dataset import *") == 0
    assert version("from fastai.imports import *") == 2  # in every version: says nothing
    assert version("from fastai.conv_learner import *\nfrom fastai.vision import *") == 1  # a later version wins
    assert version("from fastai.conv_learner import *\nfrom fastai.vision.all import *") == 2
    # a v2 fit keeps its (epochs, lr) order
    (_, call) = last(V2, "learn = vision_learner(dls, resnet18)\nlearn.fit(3, 1e-3)").events
    assert (call.epochs, call.learning_rate) == (3, "1e-3")
