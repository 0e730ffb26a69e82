"""PyTorch Lightning: ``Trainer(...)`` builds the learner, ``trainer.fit(model, ...)`` is one phase.

What the analysis learns from Lightning code (read with ``ast``, never run):

* ``pl.Trainer(max_epochs=N)``, ``L.Trainer(...)``, ``lightning.Trainer(...)``
  (``import pytorch_lightning as pl`` / ``import lightning as L``) start a run.
  The model is not the Trainer's: it is the ``LightningModule`` handed to
  ``fit``; its class names the run (``PhaseSpec.model``: the run takes it when its
  learner names none). Pretrained is left empty (a module may load any weights).
* ``trainer.fit(model, datamodule=...)`` is one phase (``validate``/``test``/
  ``predict`` print no epochs).  Its learning rate is the ``lr=`` or
  ``learning_rate=`` keyword of the module's constructor when the module is
  built in the call or bound to a name from a constructor call
  (``model = LitClassifier(lr=1e-3)``; Lightning itself has no default: the
  module's ``configure_optimizers`` decides), else unknown: empty, with one
  warning per call.  When the module's class is defined in the notebook, its
  ``configure_optimizers`` decides instead (:func:`module_rate`): the optimizer
  it builds (``torch.optim.Adam(self.parameters(), lr=1e-3)``; torch's default
  rate when it gives none), its rate read as a literal, a notebook constant, or
  ``self.hparams.lr``/``self.lr`` traced to the ``__init__`` parameter it comes
  from (the constructor's argument, else the parameter's default); a scheduler
  it returns, or more than one optimizer, leaves the rate unknown, said.
  Planned epochs are the Trainer's ``max_epochs`` (kept as the Trainer's own
  value, ``LearnerInfo.lr``, which its fits are handed, as HF keeps its
  ``TrainingArguments``); none are planned with ``max_steps`` (whichever limit
  comes first stops the run) or without ``max_epochs`` (pytorch-lightning 2.6,
  checked in its ``Trainer`` docstring, runs 1000 epochs then: not claimed).
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Iterable, Sequence

from audiometrics.analysis.fold import callee
from audiometrics.analysis.convert import as_int, lr_text
from audiometrics.analysis.values import Value, finish
from audiometrics.frameworks import Framework
from audiometrics.frameworks.base import NO_CLASSES, Args, Classes, ClassSource, LearnerInfo, LearnerLr, PhaseSpec
from audiometrics.frameworks.lightning_rate import module_rate
from audiometrics.frameworks.scratch import instance_pretrained

__all__ = ["FRAMEWORK", "detect", "learner_info", "training_phases", "module_lr"]

LEARNER_FACTORIES = frozenset({"Trainer"})
TRAINING_METHODS = frozenset({"fit"})
INFERENCE_METHODS = frozenset({"validate", "test", "predict"})
DEFAULT_MAX_EPOCHS = 1000  # pytorch-lightning 2.6: max_epochs=None and max_steps=-1 -> 1000
_LR_KEYWORDS = ("lr", "learning_rate")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:pytorch_lightning|lightning)\b", re.M)


def detect(texts: Sequence[str]) -> bool:
    """Whether the cells import Lightning (``pytorch_lightning``, ``lightning``, ``lightning.pytorch``).

    >>> detect(["import pytorch_lightning as pl"]), detect(["from fastai.vision.all import *"])
    (True, False)
    """
    return any("lightning" in text and _IMPORT.search(text) is not None for text in texts)


def learner_info(factory: str, args: Args, version: int, classes: frozenset[str] = frozenset()) -> LearnerInfo:
    """A ``Trainer``: no model of its own (the module is given to ``fit``), no rate of its own; its
    ``max_epochs`` kept as its own value (``Trainer(max_epochs=N)``) for its fits' planned epochs."""
    return LearnerInfo(None, None, (), _settings(args), default_lr=False)


def _settings(args: Args) -> Value | None:
    """``Trainer(max_epochs=N)`` of a Trainer call whose epochs are planned by ``max_epochs`` alone."""
    epochs = args.get(None, ("max_epochs",))
    steps = args.get(None, ("max_steps",))
    if not isinstance(epochs, Value) or steps is None or (isinstance(steps, Value) and as_int(steps) != -1):
        return None
    count = as_int(epochs)
    return finish(f"Trainer(max_epochs={count})") if count is not None and count >= 0 else None


def planned_epochs(settings: LearnerLr | None) -> int | None:
    """The ``max_epochs`` a fit's Trainer was built with (see :func:`learner_info`), else None.

    >>> planned_epochs(LearnerLr(finish("Trainer(max_epochs=4)"))), planned_epochs(None)
    (4, None)
    """
    value = settings.value if settings is not None else None
    node = value.node if value is not None and value.known else None
    if isinstance(node, ast.Call) and callee(node.func) == "Trainer" and node.keywords:
        keyword = node.keywords[0]
        if keyword.arg == "max_epochs" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, int):
            return keyword.value.value
    return None


def module_lr(module: Value | None) -> str | None:
    """The ``lr=``/``learning_rate=`` keyword of the module's constructor call, as written; None when absent.

    >>> from audiometrics.analysis.text import parse_expr
    >>> module_lr(Value("LitClassifier(hidden=64, lr=1e-3)", parse_expr("LitClassifier(hidden=64, lr=1e-3)")))
    '1e-3'
    """
    if module is None or not module.known:
        return None
    node = module.node
    if not isinstance(node, ast.Call):
        return None
    for keyword in node.keywords:
        if keyword.arg in _LR_KEYWORDS:
            return lr_text(module.sub(keyword.value))
    return None


def training_phases(
    method: str, args: Args, version: int, default_lr: LearnerLr | None, classes: Classes = NO_CLASSES
) -> tuple[list[PhaseSpec], list[str]]:
    """``trainer.fit(model, ...)``: one phase, the Trainer's ``max_epochs``; the rate the module's own
    ``configure_optimizers`` sets when its class is the notebook's, else the module's ``lr=``."""
    module = args.get(0, ("model",))
    if not isinstance(module, Value):
        module = None
    model = module_class(module)
    epochs = planned_epochs(default_lr)
    source = classes.get(model) if model is not None else None
    spec = PhaseSpec(epochs, "", model=model, model_pretrained=_pretrained(module, source, classes))
    if source is not None:
        rate = module_rate(source, module, classes)
        if rate.text is not None:
            return [replace(spec, learning_rate=rate.text, lr_is_default=rate.default)], []
        if rate.why is not None:
            return [replace(spec, lr_unknown=rate.why)], []
    rate_text = module_lr(module)
    if rate_text is not None:
        return [replace(spec, learning_rate=rate_text)], []
    why = "Lightning takes it from the module's configure_optimizers (no lr= given to the module)"
    return [replace(spec, lr_unknown=why)], []


def _pretrained(module: Value | None, source: ClassSource | None, classes: Classes) -> bool | None:
    """Whether the module, a notebook class built in the call (``trainer.fit(LitModel(), ...)`` or a name
    bound to it), is pretrained, read from the class's code (:mod:`audiometrics.frameworks.scratch`)."""
    if source is None or module is None or not module.known or not isinstance(module.node, ast.Call):
        return None
    return instance_pretrained(module.node, {name: classes[name].node for name in classes})


def module_class(module: Value | None) -> str | None:
    """The class of the module ``fit`` trains: ``LitClassifier(...)`` → ``LitClassifier``,
    ``LitModel.load_from_checkpoint(path)`` → ``LitModel``; None when the value is not such a call.

    >>> from audiometrics.analysis.text import parse_expr
    >>> [module_class(Value(t, parse_expr(t))) for t in ("models.LitClassifier(lr=1e-3)", "LitModel.load_from_checkpoint(p)", "m")]
    ['LitClassifier', 'LitModel', None]
    """
    if module is None or not module.known:
        return None
    node = module.node
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "load_from_checkpoint":
        func = func.value
    return callee(func)


def trained_names(texts: Iterable[str]) -> frozenset[str]:
    """Receivers of ``.fit(`` named like a Trainer (``trainer``, ``pl_trainer``), read from text.

    A ``clf.fit(X, y)`` of scikit-learn in the same notebook is not one.

    >>> sorted(trained_names(["trainer.fit(model)", "clf.fit(X, y)", "self.trainer2.fit(m)"]))
    ['self.trainer2', 'trainer']
    """
    found: set[str] = set()
    for text in texts:
        if ".fit(" not in text:
            continue
        for m in re.finditer(r"([A-Za-z_][\w.]{0,80})\.fit\(", text):
            if "trainer" in m.group(1).lower():
                found.add(m.group(1))
    return frozenset(found)


FRAMEWORK = Framework(
    name="lightning",
    learner_factories=LEARNER_FACTORIES,
    training_methods=TRAINING_METHODS,
    inference_methods=INFERENCE_METHODS,
    detect=detect,
    trained_names=trained_names,
    learner_info=learner_info,
    training_phases=training_phases,
    reads_classes=True,
)
"""PyTorch Lightning, registered in :mod:`audiometrics.frameworks`."""
