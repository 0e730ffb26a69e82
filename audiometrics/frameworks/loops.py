"""Plain PyTorch training loops: the optimizer stands for the learner, so a loop's run gets its model.

A hand-written loop has no learner factory and no training method; its epoch
lines (:mod:`audiometrics.tables.loops`) would make a run of unknown model.
The one call every such loop makes once per model is the optimizer's:
``optimizer = optim.Adam(model.parameters(), lr=1e-3)``.  Read as a learner
creation, it starts a run whose model is the module the parameters come from
(``model = Net()`` → ``Net``; ``models.resnet18(pretrained=True)`` → ``resnet18``,
pretrained; read as fastai reads ``Learner(dls, model)``; an ``nn.Sequential(...)``
of layers has no architecture name: empty, said), and the tables
printed after it go to that run (alignment gives tables without a training call
to the learner created last).

The framework claims a notebook only when it imports torch and calls ``.backward(``
(a loop), and uses none of the libraries with their own formats.

Limits: no training method exists, so the rows' learning rate stays unknown
(said for each such table: a loop's rate may be scheduled per step); a module
built where the analysis cannot see (a function's result, a loaded
checkpoint) leaves the model empty, said.
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, Sequence

from audiometrics.analysis.fold import callee as _callee
from audiometrics.analysis.values import Value
from audiometrics.frameworks import Framework
from audiometrics.frameworks.base import Args, LearnerInfo, LearnerLr, PhaseSpec
from audiometrics.frameworks.fastai import model_of
from audiometrics.frameworks.torch_optim import OPTIMIZERS

__all__ = ["FRAMEWORK", "detect", "learner_info"]

_TORCH = re.compile(r"^\s*(?:import\s+torch\b|from\s+torch\b)", re.M)
_OTHERS = ("fastai", "fastbook", "earner(", "fit_one_cycle", "lightning", "transformers", "keras", "tensorflow")


def detect(texts: Sequence[str]) -> bool:
    """Whether the cells hold a hand-written torch loop (torch imported, ``.backward(`` called) and no
    library whose own formats and framework come first (fastai, fastbook, a ``*Learner(`` of any
    library, Lightning, transformers, Keras/TensorFlow).

    >>> detect(["import torch", "loss.backward()"]), detect(["import torch", "from fastai.vision.all import *"])
    (True, False)
    >>> detect(["import torch", "learn = vision_learner(dls, resnet18)", "loss.backward()"])
    False
    """
    joined = "\n".join(texts)
    if ".backward(" not in joined or _TORCH.search(joined) is None:
        return False
    return not any(other in joined for other in _OTHERS)


def learner_info(factory: str, args: Args, version: int, classes: frozenset[str] = frozenset()) -> LearnerInfo:
    """An optimizer: the model its parameters come from (``X.parameters()``), pretrained when that says so."""
    params = args.get(0, ("params",))
    model, pretrained = None, None
    if isinstance(params, Value) and params.known:
        node = params.node
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("parameters", "named_parameters")
        ):
            module = node.func.value
            while isinstance(module, ast.Call) and isinstance(module.func, ast.Attribute) and module.func.attr in _PEEL:
                module = module.func.value  # Net().to(device).parameters()
            if not (isinstance(module, ast.Call) and _callee(module.func) in _CONTAINERS):
                model, pretrained = model_of(params.sub(module), instance=True)
    return LearnerInfo(model, pretrained, (), None, default_lr=False)


_PEEL = frozenset({"to", "cuda", "cpu", "float", "half", "double", "train", "eval"})
#: Containers of layers: no architecture name (their first layer's class is not the model's).
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})




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
)
"""Plain PyTorch loops, registered in :mod:`audiometrics.frameworks`."""
