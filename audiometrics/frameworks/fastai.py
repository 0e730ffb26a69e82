"""What fastai (0.7, v1 and v2), timm and torchvision do with the arguments we read.

Pure functions over :class:`~audiometrics.analysis.values.Value` objects: which
architecture a learner factory gets, whether it is pretrained, which metric
columns fastai will print, and the phases (epochs, learning rate) a training
call prints a table for. Facts are taken from fastai 2.8 / 1.0 / 0.7.0 sources
(0.7 and 0.6, the 2018 course's library, are "version 0": ``ConvLearner.pretrained(arch,
data)``, ``learn.fit(lrs, n_cycle, cycle_len=, cycle_mult=)``).
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, Sequence

from audiometrics.analysis.walk import walk
from audiometrics.analysis.convert import as_bool, as_int, as_number, format_number, lr_text
from audiometrics.analysis.evaluate import evaluate, small_ints
from audiometrics.frameworks.fastai_metrics import call_arg as _arg
from audiometrics.frameworks.fastai_metrics import keyword_arg as _kw
from audiometrics.frameworks.fastai_metrics import metric_names
from audiometrics.analysis.values import Value, holds_unknown, is_unknown
from audiometrics.analysis.fold import callee as _callee
from audiometrics.frameworks.base import MISSING, Args, LearnerInfo, LearnerLr, PhaseSpec, _Missing
from audiometrics.frameworks import Framework
from audiometrics.frameworks.torch_layers import CONTAINERS, TORCHVISION_MODEL, container_model, is_layer
from audiometrics.frameworks.fastai_version import detect_version, may_tell_version

# --------------------------------------------------------------------------- names

LEARNER_FACTORIES = frozenset(
    {
        "vision_learner",
        "cnn_learner",
        "unet_learner",
        "Learner",
        "tabular_learner",
        "text_classifier_learner",
        "language_model_learner",
        "collab_learner",
        "create_cnn",  # fastai v1's old name of cnn_learner
        "create_unet",  # fastai v1's ``Learner.create_unet``, the old name of unet_learner
        "ConvLearner",  # fastai 1.0.0-1.0.1x's name of cnn_learner
        "load_learner",  # a learner too, but of unknown architecture
        "synth_learner",  # fastai.test_utils: a Learner of a RegModel
        "timm_learner",  # walkwithfastai (wwf.vision.timm): cnn_learner for timm names
        "audio_learner",  # audio libraries on fastai: signature not verified, arch read by name or position
        "pretrained",  # fastai 0.7's ConvLearner.pretrained(f, data, ...)
        "from_model_data",  # fastai 0.7's ConvLearner/Learner.from_model_data(m, data)
    }
)
_ARCH_FACTORIES = {
    # factory: (keyword names of the architecture argument, pretrained default)
    "vision_learner": (("arch",), True),
    "cnn_learner": (("arch", "base_arch"), True),
    "create_cnn": (("arch", "base_arch"), True),
    "ConvLearner": (("arch", "base_arch"), True),
    "unet_learner": (("arch",), True),
    "create_unet": (("arch",), True),
    "text_classifier_learner": (("arch",), True),
    "language_model_learner": (("arch",), True),
    "timm_learner": (("arch",), True),
    "audio_learner": (("arch",), None),
    "pretrained": (("f",), True),
}
_ARCH_FIRST = frozenset({"pretrained"})
"""Factories whose architecture is their first argument, not their second (fastai 0.7)."""
_OWN_DEFAULT_LR = frozenset({"load_learner", "audio_learner"})
"""Factories whose learner's default learning rate is not known to be the library's
(an exported learner keeps the rate it was built with)."""
_SCHEDULER_RE = re.compile(r"\w*Scheduler|ReduceLROnPlateau")
_CALLBACK_KWS = ("cbs", "callbacks", "callback_fns")

TRAINING_METHODS = frozenset({"fit_one_cycle", "fit", "fit_flat_cos", "fit_sgdr", "fine_tune"})
INFERENCE_METHODS = frozenset({"get_preds", "tta", "validate", "show_results"})
"""Learner methods that show a progress bar but no table (reported as ProgressCall)."""

_TIMM_CREATE = frozenset({"create_model"})
_FASTAI_MODEL_BUILDERS = frozenset(
    {"create_cnn_model", "create_vision_model", "create_timm_model", "create_unet_model", "create_body"}
)
_PEEL_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "train", "eval", "requires_grad_", "to_fp16"}
)

# --------------------------------------------------------------------------- arguments


def _node_bool(value: Value, node: ast.AST | None) -> bool | None:
    if node is None:
        return None
    return as_bool(value.sub(node))


# --------------------------------------------------------------------------- models


def model_of(value: Value | None, *, instance: bool) -> tuple[str | None, bool | None]:
    """(architecture name, pretrained flag) of an architecture or model expression.

    ``instance`` is True for ``Learner(dls, model)``'s model (a built module, so a
    bare unknown name tells nothing) and False for an ``arch`` argument (where
    ``resnet18`` names the architecture). The flag is None unless the
    expression itself decides it (timm/torchvision/fastai model builders).
    """
    if value is None or not value.known:
        return None, None
    return _model(value, value.node, instance, 0)


def _model(value: Value, node: ast.AST, instance: bool, depth: int) -> tuple[str | None, bool | None]:
    if depth > 10:
        return None, None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value or None), None
    if isinstance(node, ast.Name):
        if is_unknown(node) or instance:
            return None, None
        return node.id, None
    if isinstance(node, ast.Attribute):
        if instance:
            return None, None
        return node.attr, None
    if not isinstance(node, ast.Call):
        return None, None
    func = node.func
    name = _callee(func)
    if name is None:
        return None, None
    if isinstance(func, ast.Attribute) and name in _PEEL_METHODS and isinstance(func.value, ast.Call):
        return _model(value, func.value, instance, depth + 1)
    if name in _TIMM_CREATE:
        arch = _arg(node, 0, "model_name")
        model = _string_or_name(arch)
        flag = _kw(node, "pretrained")
        return model, (False if flag is None else _node_bool(value, flag))
    if name in _FASTAI_MODEL_BUILDERS:
        arch = _arg(node, 0, "arch")
        model = None if arch is None else _model(value, arch, False, depth + 1)[0]
        flag = _kw(node, "pretrained")
        return model, (True if flag is None else _node_bool(value, flag))
    if name == "partial" and node.args:
        model, flag = _model(value, node.args[0], False, depth + 1)
        return model, _torch_flag(value, node, model, flag)
    if name == "from_pretrained" and isinstance(func, ast.Attribute):
        arch = _arg(node, 0, "pretrained_model_name_or_path")
        return _string_or_name(arch), True
    if name in CONTAINERS:  # nn.Sequential(body, head): the body's model; of layers only, its own class
        return container_model(node, lambda part: _model(value, part, True, depth + 1))
    if instance and is_layer(node):  # one torch.nn layer (nn.Linear(2, 1)): its class, from scratch
        return name, False
    if holds_unknown(func):
        return None, None
    if not instance:
        return None, None  # an architecture is a callable or a name, not the result of some call
    path = _path(func)
    if name[:1].isupper() or TORCHVISION_MODEL.fullmatch(name) or "models" in path[:-1]:
        # a model class (``Net()``), a torchvision/timm constructor (``models.resnet18()``)
        return name, _torch_flag(value, node, name, None)
    return None, None


def _path(node: ast.AST) -> list[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return list(reversed(parts))


def _string_or_name(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value or None
    return None


def _torch_flag(value: Value, call: ast.Call, name: str | None, fallback: bool | None) -> bool | None:
    """pretrained of a torchvision-style constructor call."""
    flag = _kw(call, "pretrained")
    if flag is not None:
        return _node_bool(value, flag)
    weights = _kw(call, "weights")
    if weights is not None:
        v = evaluate(value.sub(weights))
        if v is None:
            return False
        if holds_unknown(weights):
            return None
        return True
    if fallback is not None:
        return fallback
    if name is not None and TORCHVISION_MODEL.fullmatch(name):
        return False
    return None


# --------------------------------------------------------------------------- learners


def metrics_of(args: Args, version: int, classes: frozenset[str] = frozenset()) -> tuple[str, ...] | None:
    """Metric column names of a learner built with ``args`` (``()`` without ``metrics=``, None when unknown)."""
    metrics_arg = args.get(None, ("metrics",))
    if metrics_arg is MISSING:
        return ()
    if metrics_arg is None:
        return None
    return metric_names(metrics_arg, version, classes)  # type: ignore[arg-type]


def scheduler_in(args: Args) -> str | None:
    """The name of an lr scheduler callback among a call's callbacks (``cbs=[ParamScheduler(...)]``), if any.

    Fastai's ``ParamScheduler``/``OneCycleScheduler``/``GeneralScheduler``/... set the
    learning rate of every batch, whatever rate the fit is given, ``ReduceLROnPlateau``
    lowers it; other callbacks (``SaveModelCallback``) leave it alone.
    """
    for name in _CALLBACK_KWS:
        value = args.keywords.get(name)
        if not isinstance(value, Value) or not value.known:
            continue
        spared: set[int] = set()  # ParamScheduler({'mom': ...}) schedules no learning rate
        for node in walk(value.node):
            if isinstance(node, ast.Call) and _callee(node.func) == "ParamScheduler" and not _schedules_lr(node):
                spared.add(id(node.func))
            ident = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if ident is not None and id(node) not in spared and _SCHEDULER_RE.fullmatch(ident):
                return ident
    return None


def _schedules_lr(call: ast.Call) -> bool:
    """Whether ``ParamScheduler(scheds)`` may schedule ``lr``: False only for a literal dict without that key."""
    scheds = _arg(call, 0, "scheds")
    if not isinstance(scheds, ast.Dict) or None in scheds.keys:
        return True
    keys = [k.value if isinstance(k, ast.Constant) else None for k in scheds.keys]
    return any(not isinstance(k, str) or k == "lr" for k in keys)


def learner_info(factory: str, args: Args, version: int, classes: frozenset[str] = frozenset()) -> LearnerInfo:
    """Architecture, pretrained flag, metric names, ``lr=`` and scheduler callbacks of a learner factory call."""
    lr = args.keywords.get("lr")
    metrics = metrics_of(args, version, classes)
    if metrics == () and factory in _ARCH_FIRST | {"from_model_data"}:
        metrics = None  # fastai 0.7's ConvLearner picks accuracy or accuracy_thresh(0.5) from the data
    scheduler = scheduler_in(args)
    if factory == "load_learner":
        return LearnerInfo(None, None, None, None, False, scheduler)
    if factory in ("tabular_learner", "collab_learner"):
        # no architecture argument: the model is the class the factory builds, from random weights
        return LearnerInfo(_built_model(factory, args), False, metrics, lr, True, scheduler)
    if factory in ("Learner", "synth_learner", "from_model_data"):
        model_arg = args.get({"Learner": 1, "synth_learner": 5, "from_model_data": 0}[factory], ("model", "m"))
        if isinstance(model_arg, Value) and model_arg.text != "None":
            model, flag = model_of(model_arg, instance=True)
        elif factory == "synth_learner" and (model_arg is MISSING or isinstance(model_arg, Value)):
            model, flag = "RegModel", False  # synth_learner(model=None) builds a fresh RegModel
        else:
            model, flag = None, None
        if factory == "synth_learner" and lr is None and len(args.positional) > 3:
            lr = args.positional[3]  # synth_learner(n_trn, n_val, cuda, lr, ...)
        return LearnerInfo(model, flag, metrics, lr, True, scheduler)
    names, default = _ARCH_FACTORIES.get(factory, (("arch",), None))
    arch = args.get(0 if factory in _ARCH_FIRST else 1, names)
    model = model_of(arch, instance=False)[0] if isinstance(arch, Value) else None
    flag_arg = args.get(None, ("pretrained",))
    if flag_arg is MISSING:
        pretrained = default
    elif flag_arg is None:
        pretrained = None
    else:
        pretrained = as_bool(flag_arg)  # type: ignore[arg-type]
    return LearnerInfo(model, pretrained, metrics, lr, factory not in _OWN_DEFAULT_LR, scheduler)


def _built_model(factory: str, args: Args) -> str | None:
    """The model class ``tabular_learner``/``collab_learner`` build (fastai v1 and v2 alike):
    ``TabularModel``; ``EmbeddingDotBias``, or ``EmbeddingNN`` with ``use_nn=True`` (None when
    ``use_nn`` cannot be read)."""
    if factory == "tabular_learner":
        return "TabularModel"
    use_nn = args.get(2, ("use_nn",))
    if use_nn is MISSING:
        return "EmbeddingDotBias"
    flag = as_bool(use_nn) if isinstance(use_nn, Value) else None
    return None if flag is None else "EmbeddingNN" if flag else "EmbeddingDotBias"


# --------------------------------------------------------------------------- training


_EPOCH_KWS = ("n_epoch", "epochs", "cyc_len")
_LR_KWS = ("lr_max", "max_lr", "lr", "base_lr")

V2_DEFAULT_LR = "1e-3"  # fastai v2 defaults.lr, the Learner's lr
V1_DEFAULT_LR = "slice(3e-3)"  # fastai v1 defaults.lr
FINE_TUNE_BASE_LR = "2e-3"


def is_training_fit(args: Args) -> bool:
    """Whether a ``x.fit(...)`` whose receiver is not known to be a learner looks like fastai's."""
    first = args.get(0, ("n_epoch",))
    return isinstance(first, Value) and as_int(first) is not None


def training_phases(
    method: str,
    args: Args,
    version: int,
    default_lr: LearnerLr | None,
) -> tuple[list[PhaseSpec], list[str]]:
    """The table-printing phases of a training call, and problems as message stems.

    Messages are ``"learning rate"``/``"number of epochs"``/... : the caller
    words them (``line 3: learning rate of learn.fit(5, lr) cannot be resolved
    statically``). ``default_lr`` is what the receiver gives a fit without a rate
    (fastai v2's ``fit``/``fit_one_cycle``/``fit_flat_cos``/``fit_sgdr`` use the
    learner's ``lr``; ``fine_tune`` and every fastai v1 method have their own
    default); None: the library default.
    """
    problems: list[str] = []
    if method == "fine_tune":
        return _fine_tune(args, problems), problems
    if version == 0 and method == "fit":
        return [_fit_v0(args, problems)], problems

    if method == "fit_sgdr":
        n_cycles = _int_slot(args, 0, ("n_cycles",), None, "number of cycles", problems)
        cycle_len = _int_slot(args, 1, ("cycle_len",), None, "cycle length", problems)
        cycle_mult = _int_slot(args, 3, ("cycle_mult",), 2, "cycle multiplier", problems)
        epochs = None
        known = n_cycles is not None and cycle_len is not None and cycle_mult is not None
        if known and small_ints(n_cycles, cycle_len, cycle_mult, what="the number of epochs of fit_sgdr(...)"):
            epochs = sum(cycle_len * cycle_mult**i for i in range(min(n_cycles, 64)))
        lr_index = 2
    else:
        epochs = _int_slot(args, 0, _EPOCH_KWS, None, "number of epochs", problems)
        lr_index = 1

    lr_arg = args.get(lr_index, _LR_KWS)
    return [_lr(lr_arg, epochs, version, default_lr, problems)], problems


def _fit_v0(args: Args, problems: list[str]) -> PhaseSpec:
    """fastai 0.6/0.7's ``learn.fit(lrs, n_cycle, wds=None, cycle_len=None, cycle_mult=1, ...)``: one
    table of ``cycle_len * (1 + cycle_mult + ... + cycle_mult ** (n_cycle - 1))`` epochs (``n_cycle``
    without ``cycle_len``), at the rate ``lrs`` (``np.array([1e-4, 1e-3, 1e-2])`` read as its list).

    >>> from audiometrics.analysis.values import finish
    >>> spec = _fit_v0(Args((finish("np.array([1e-4, 1e-3, 1e-2])"), finish("3")), {"cycle_len": finish("1"), "cycle_mult": finish("2")}), [])
    >>> spec.epochs, spec.learning_rate
    (7, '[1e-4, 1e-3, 1e-2]')
    """
    n_cycle = _int_slot(args, 1, ("n_cycle",), None, "number of cycles", problems)
    # fit(self, lrs, n_cycle, wds=None, **kwargs): cycle_len and cycle_mult are keywords only
    cycle_len = _int_slot(args, None, ("cycle_len",), 1, "cycle length", problems)
    cycle_mult = _int_slot(args, None, ("cycle_mult",), 1, "cycle multiplier", problems)
    epochs = None
    known = n_cycle is not None and cycle_len is not None and cycle_mult is not None
    if known and small_ints(n_cycle, cycle_len, cycle_mult, what="the number of epochs of fit(...)"):
        epochs = sum(cycle_len * cycle_mult**i for i in range(min(n_cycle, 64)))  # type: ignore[operator]
    lrs = args.get(0, ("lrs",))
    if isinstance(lrs, Value) and lrs.known and isinstance(lrs.node, ast.Call) and _callee(lrs.node.func) in ("array", "asarray"):
        inner = lrs.node.args[0] if len(lrs.node.args) == 1 and not lrs.node.keywords else None
        lrs = lrs.sub(inner) if isinstance(inner, (ast.List, ast.Tuple)) else None
    if not isinstance(lrs, Value):
        problems.append("learning rate")
        return PhaseSpec(epochs, "")
    text = lr_text(lrs)
    if text is None:
        problems.append("learning rate")
    return PhaseSpec(epochs, text or "")


def _int_slot(
    args: Args,
    index: int | None,
    names: tuple[str, ...],
    default: int | None,
    what: str,
    problems: list[str],
) -> int | None:
    got = args.get(index, names)
    if got is MISSING:
        if default is None:
            problems.append(what)
        return default
    value = as_int(got) if isinstance(got, Value) else None
    if value is None:
        problems.append(what)
    return value


def _default_lr(epochs: int | None, version: int, default_lr: LearnerLr | None, problems: list[str]) -> PhaseSpec:
    """The phase of a fit given no learning rate: the method's default (v1), the learner's, or the library's."""
    if version == 1:
        return PhaseSpec(epochs, V1_DEFAULT_LR, True)  # v1's fit methods default to defaults.lr, not the learner's
    if default_lr is None:
        return PhaseSpec(epochs, V2_DEFAULT_LR, True)
    if default_lr.value is None:
        if default_lr.unknown is None:
            return PhaseSpec(epochs, V2_DEFAULT_LR, True)
        return PhaseSpec(epochs, "", lr_unknown=default_lr.unknown)
    text = lr_text(default_lr.value)
    if text is None:
        problems.append("learning rate")
        return PhaseSpec(epochs, "")
    return PhaseSpec(epochs, text, lr_from_learner=True)


def _lr(
    arg: Value | _Missing | None,
    epochs: int | None,
    version: int,
    default_lr: LearnerLr | None,
    problems: list[str],
) -> PhaseSpec:
    if arg is MISSING or (isinstance(arg, Value) and arg.text == "None"):
        return _default_lr(epochs, version, default_lr, problems)
    if arg is None:
        problems.append("learning rate")
        return PhaseSpec(epochs, "")
    text = lr_text(arg)  # type: ignore[arg-type]
    if text is None:
        problems.append("learning rate")
        return PhaseSpec(epochs, "")
    return PhaseSpec(epochs, text)


def _fine_tune(args: Args, problems: list[str]) -> list[PhaseSpec]:
    epochs = _int_slot(args, 0, ("epochs",), None, "number of epochs", problems)
    freeze = _int_slot(args, 2, ("freeze_epochs",), 1, "number of frozen epochs", problems)
    base_arg = args.get(1, ("base_lr",))
    lr_mult_arg = args.get(3, ("lr_mult",))

    is_default = base_arg is MISSING or (isinstance(base_arg, Value) and base_arg.text == "None")
    if is_default:
        base_text: str | None = FINE_TUNE_BASE_LR
        base = 2e-3
    elif isinstance(base_arg, Value):
        base_text = lr_text(base_arg)
        base = as_number(base_arg) if base_text is not None else None
    else:
        base_text, base = None, None
    if lr_mult_arg is MISSING:
        lr_mult: float | None = 100.0
    elif isinstance(lr_mult_arg, Value):
        lr_mult = as_number(lr_mult_arg)
    else:
        lr_mult = None

    frozen = "" if base_text is None or base is None else f"slice({base_text})"
    if base is None or lr_mult is None or lr_mult == 0:
        unfrozen = ""
    else:
        half = base / 2
        unfrozen = f"slice({format_number(half / lr_mult)}, {format_number(half)})"
    if not frozen or not unfrozen:
        problems.append("learning rate")
    phases = []
    if freeze is None or freeze > 0:
        phases.append(PhaseSpec(freeze, frozen, is_default, "frozen"))
    phases.append(PhaseSpec(epochs, unfrozen, is_default, "unfrozen"))
    return phases


# --------------------------------------------------------------------------- receivers

_TRAINING_METHOD = re.compile(r"(fit_one_cycle|fit_flat_cos|fit_sgdr|fine_tune|lr_find\w*|fit)\s*\(")
_FIT_EPOCHS = re.compile(r"\s*(?:\d|n_epoch|epochs\b)")  # fit(5 / fit(n_epoch= / fit(epochs=: not fit(X, y)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def trained_names(texts: Iterable[str]) -> frozenset[str]:
    """The receivers of fastai's training methods anywhere in the cells, read from their text.

    ``learn.fit_one_cycle(``, ``m.fine_tune(``, ``learner.lr_find(``, ``model.fit(5``:
    names the notebook uses as learners, whatever they are bound to (a scikit-learn
    ``model.fit(X, y)`` does not count). A cheap over-approximation: a binding of such a
    name from a call the analysis does not know is reported as a learner, and kept
    when the name is really trained (:func:`~audiometrics.analysis.analyser.analyse_cells` drops the others).
    """
    found: set[str] = set()
    text = "\n".join(texts)  # one scan: a receiver never spans cells
    for needle in (".fi", ".lr_find"):  # (str.find is much faster than a regex scan)
        dot = text.find(needle)
        while dot >= 0:
            match = _TRAINING_METHOD.match(text, dot + 1)
            if match is not None and (match.group(1) != "fit" or _FIT_EPOCHS.match(text, match.end())):
                start = dot
                while start > 0 and text[start - 1] in _NAME_CHARS:
                    start -= 1
                name = text[start:dot].strip(".")
                if name and not name[0].isdigit():
                    found.add(name)
            dot = text.find(needle, dot + 1)
    return frozenset(found)


def detect(texts: Sequence[str]) -> bool:
    """Whether the cells use fastai (the default framework: also asked when no other claims the notebook)."""
    return any("fastai" in text for text in texts)


FRAMEWORK = Framework(
    name="fastai",
    learner_factories=LEARNER_FACTORIES,
    training_methods=TRAINING_METHODS,
    inference_methods=INFERENCE_METHODS,
    detect=detect,
    may_tell_version=may_tell_version,
    detect_version=detect_version,
    trained_names=trained_names,
    learner_info=learner_info,
    metrics_of=metrics_of,
    scheduler_in=scheduler_in,
    is_training_fit=is_training_fit,
    training_phases=training_phases,
    progress_prefixes=("lr_find",),
)
"""fastai v1 and v2, registered in :mod:`audiometrics.frameworks`."""
