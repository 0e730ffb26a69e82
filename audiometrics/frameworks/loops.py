"""Plain PyTorch training loops: the optimizer stands for the learner, so a loop's run gets its model.

A hand-written loop has no learner factory and no training method; its epoch
lines (:mod:`audiometrics.tables.loops`) would make a run of unknown model.
The one call every such loop makes once per model is the optimizer's:
``optimizer = optim.Adam(model.parameters(), lr=1e-3)``.  Read as a learner
creation, it starts a run whose model is the module the parameters come from
(``model = Net()`` → ``Net``; ``models.resnet18(pretrained=True)`` → ``resnet18``,
pretrained; read as fastai reads ``Learner(dls, model)``; an ``nn.Sequential(...)``
of torch.nn layers is named by its class, ``Sequential``, trained from scratch:
:mod:`audiometrics.frameworks.torch_layers`), and the tables
printed after it go to that run (alignment gives tables without a training call
to the learner created last).

The framework claims a notebook only when it imports torch and calls ``.backward(``
(a loop), and uses none of the libraries with their own formats (a transformers
model trained in the notebook's own loop counts: a ``Trainer`` is claimed by the
HuggingFace framework, registered before this one).

The rows' learning rate is the optimizer's: its ``lr=`` (or second argument), or
the class's default (``Adam(params)`` → ``1e-3 (default)``; SGD has none before
torch 2.2: unknown). A notebook that schedules or sets the rate anywhere (a
``torch.optim.lr_scheduler`` class, transformers' ``get_*_schedule*``, a write to
``param_groups``' ``"lr"``) leaves every optimizer's rate unknown, said
(:func:`rate_changes`): the rate the optimizer was built with is not the one
its epochs trained with.

Limits: a module built where the analysis cannot see (a function's result, a
loaded checkpoint) leaves the model empty, said.
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, Sequence

from audiometrics.analysis.walk import walk
from audiometrics.analysis.values import Value
from audiometrics.frameworks import Framework
from audiometrics.frameworks.base import MISSING, Args, LearnerInfo, LearnerLr, PhaseSpec
from audiometrics.frameworks.fastai import model_of
from audiometrics.frameworks.huggingface import model_of as transformers_model_of
from audiometrics.analysis.convert import lr_text
from audiometrics.frameworks.torch_optim import DEFAULT_RATES, OPTIMIZERS, is_scheduler

__all__ = ["FRAMEWORK", "detect", "learner_info", "optimizer_rate", "rate_changes"]

_TORCH = re.compile(r"\n\s*(?:import\s+torch\b|from\s+torch\b)")  # after a line break: as ^ of re.M, but far faster
_OTHERS = ("fastai", "fastbook", "earner(", "fit_one_cycle", "lightning", "keras", "tensorflow")


def detect(texts: Sequence[str]) -> bool:
    """Whether the cells hold a hand-written torch loop (torch imported, ``.backward(`` called) and no
    library whose own formats and framework come first (fastai, fastbook, a ``*Learner(`` of any
    library, Lightning, Keras/TensorFlow; a HuggingFace ``Trainer`` is claimed before this is asked).

    >>> detect(["import torch", "loss.backward()"]), detect(["import torch", "from fastai.vision.all import *"])
    (True, False)
    >>> detect(["import torch", "learn = vision_learner(dls, resnet18)", "loss.backward()"])
    False
    """
    joined = "\n".join(texts)
    if ".backward(" not in joined or any(other in joined for other in _OTHERS):
        return False
    return _TORCH.search("\n" + joined) is not None


def learner_info(factory: str, args: Args, version: int, classes: frozenset[str] = frozenset()) -> LearnerInfo:
    """An optimizer: the model its parameters come from (``X.parameters()``), pretrained when that says so,
    and its rate (the rate of the run's tables)."""
    params = args.get(0, ("params",))
    model, pretrained = None, None
    if isinstance(params, Value) and params.known:
        modules = _modules(params.node)
        if len({ast.dump(module) for module in modules}) == 1:
            module = params.sub(modules[0])
            model, pretrained = model_of(module, instance=True)
            if pretrained is None:  # a transformers model built from its config (BertForSequenceClassification(config))
                name, flag = transformers_model_of(module)
                model, pretrained = (name, flag) if name and flag is not None else (model, pretrained)
    return LearnerInfo(model, pretrained, (), None, default_lr=False, call_less=optimizer_rate(factory, args))


def _modules(params: ast.AST) -> list[ast.AST]:
    """The modules whose parameters an optimizer is given: ``X`` of every ``X.parameters()`` or
    ``X.named_parameters()`` in its argument (the argument itself, ``filter(lambda p: p.requires_grad,
    X.parameters())``, or parameter groups ``[{"params": [p for n, p in X.named_parameters() if ...]}, ...]``),
    ``.to(device)``-like calls peeled (``Net().to(device).parameters()`` → ``Net()``)."""
    found = []
    for node in walk(params):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("parameters", "named_parameters"):
            module = node.func.value
            while isinstance(module, ast.Call) and isinstance(module.func, ast.Attribute) and module.func.attr in _PEEL:
                module = module.func.value
            found.append(module)
    return found


def optimizer_rate(factory: str, args: Args) -> PhaseSpec:
    """The rate an optimizer call is built with, as the phase of the tables its run records.

    >>> from audiometrics.analysis.values import finish
    >>> optimizer_rate("SGD", Args((finish("params"), finish("0.1")), {})).learning_rate
    '0.1'
    >>> spec = optimizer_rate("Adam", Args((finish("params"),), {}))
    >>> spec.learning_rate, spec.lr_is_default
    ('1e-3', True)
    """
    rate = args.get(1, ("lr",))
    if rate is MISSING:
        default = DEFAULT_RATES.get(factory)
        if default is None:
            return PhaseSpec(None, "", lr_unknown=f"{factory}(...) is given no lr and its default differs between torch versions")
        return PhaseSpec(None, default, lr_is_default=True)
    text = lr_text(rate) if isinstance(rate, Value) else None
    if text is None:
        return PhaseSpec(None, "", lr_unknown=f"the rate {factory}(...) is given cannot be resolved statically")
    return PhaseSpec(None, text)


_SETS_RATE = re.compile(r"""\bparam_groups\b[\s\S]{0,400}?\[\s*['"]lr['"]\s*\]\s*(?:[-+*/]?=(?!=)|\.)|\bset_lr\s*\(""")
"""A rate set by hand: ``g["lr"] = ...`` after a ``param_groups`` loop or index, ``set_lr(...)``."""
_SCHEDULER_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def rate_changes(texts: Sequence[str]) -> str | None:
    """Why the rate an optimizer is built with may not be the rate its epochs trained with, from the
    notebook's cell texts (a scheduler, a rate set on ``param_groups``); None when nothing says so.

    >>> rate_changes(["sched = torch.optim.lr_scheduler.StepLR(opt, 10)"])
    'the notebook schedules the rate (StepLR)'
    >>> rate_changes(["for g in opt.param_groups:\\n    g['lr'] *= 0.1"])
    "the notebook sets the rate by hand (param_groups' 'lr')"
    >>> rate_changes(["opt = optim.Adam(model.parameters(), lr=1e-3)"]) is None
    True
    """
    for text in texts:
        for match in _SCHEDULER_CALL.finditer(text):
            if is_scheduler(match.group(1)):
                return f"the notebook schedules the rate ({match.group(1)})"
    for text in texts:
        if _SETS_RATE.search(text):
            return "the notebook sets the rate by hand (param_groups' 'lr')"
    return None


_PEEL = frozenset({"to", "cuda", "cpu", "float", "half", "double", "train", "eval"})


def _no_phases(method: str, args: Args, version: int, default_lr: LearnerLr | None) -> tuple[list[PhaseSpec], list[str]]:
    return [], []  # pragma: no cover - no training method is registered


def _no_names(texts: Iterable[str]) -> frozenset[str]:
    return frozenset()


FRAMEWORK = Framework(
    name="loop",
    learner_factories=OPTIMIZERS,
    training_methods=frozenset(),
    inference_methods=frozenset(),
    detect=detect,
    trained_names=_no_names,
    learner_info=learner_info,
    training_phases=_no_phases,
    rate_changes=rate_changes,
)
"""Plain PyTorch loops, registered in :mod:`audiometrics.frameworks`."""
