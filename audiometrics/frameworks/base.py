"""The types a training framework and the analysis exchange.

A framework module (:mod:`audiometrics.frameworks.fastai`) reads a call's
arguments as :class:`Args` and answers with a :class:`LearnerInfo` for a learner
factory and a list of :class:`PhaseSpec` for a training call; a fit given no
learning rate falls back to its learner's :class:`LearnerLr`. All are values over
:class:`~audiometrics.analysis.values.Value` objects and know no framework.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from audiometrics.analysis.fold import callee
from audiometrics.analysis.values import Value

__all__ = ["MISSING", "Args", "LearnerInfo", "LearnerLr", "PhaseSpec", "ClassSource", "Classes", "NO_CLASSES", "is_epoch_loop"]


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover
        return "MISSING"


MISSING = _Missing()
"""An argument the call does not pass (so the library default applies)."""


@dataclass(frozen=True)
class Args:
    """A call's arguments as Values. ``opaque``: a ``*x``/``**x`` could not be expanded.

    The analysis hands the sequences of :mod:`audiometrics.analysis.lazy` (each value made when
    first read); a tuple and a dict do as well.
    """

    positional: Sequence[Value]
    keywords: Mapping[str, Value]
    opaque: bool = False

    def get(self, index: int | None, names: Iterable[str]) -> Value | _Missing | None:
        """The argument at ``index`` or under one of ``names``; MISSING; None when unknowable."""
        if index is not None and index < len(self.positional):
            return self.positional[index]
        for name in names:
            if name in self.keywords:
                return self.keywords[name]
        return None if self.opaque else MISSING



RATE_REDUCERS = frozenset({"ReduceLROnPlateau"})
"""Callbacks that start from the rate a fit is given and lower it when a monitored value stops improving
(Keras's and fastai's): a ``scheduler_in`` that finds one keeps the rate, said to be the starting one."""


def sets_rate(scheduler: str | None) -> bool:
    """Whether a scheduler callback ``scheduler_in`` found sets the rate itself, so the rate a fit is given
    is not the one it trains at (not a :data:`RATE_REDUCERS` one, which starts from it)."""
    return scheduler is not None and scheduler not in RATE_REDUCERS


@dataclass(frozen=True)
class LearnerInfo:
    model: str | None
    pretrained: bool | None
    metrics: tuple[str, ...] | None
    lr: Value | None  # the learner's own ``lr=`` (default of later fits), None if not given
    default_lr: bool = True  # without ``lr=``, its fits' default is the library's
    scheduler: str | None = None  # a scheduler callback it is built with (its fits' rate is the scheduler's)
    call_less: "PhaseSpec | None" = None  # the rate of its tables printed without a training call (a loop's optimizer)



@dataclass(frozen=True)
class PhaseSpec:
    epochs: int | None
    learning_rate: str
    lr_is_default: bool = False
    part: str | None = None
    lr_from_learner: bool = False  # the receiver's own rate (``Learner(lr=1e-2)``, ``learn.lr = ...``)
    lr_unknown: str | None = None  # why an omitted rate is unknown (the learner's factory is not known)
    model: str | None = None  # the model the call trains when its learner names none (Lightning's module)
    model_pretrained: bool | None = None  # whether that model is pretrained (None: unknown)
    lr_if_ignored: str | None = None  # the rate if the library dropped the rate as given (tf-keras 2.11+ and ``Adam(lr=...)``)


@dataclass(frozen=True)
class LearnerLr:
    """What a fit without a learning rate falls back to, from its receiver (fastai v2's ``self.lr``).

    ``value``: the learner's own rate (``lr=`` of its factory, ``learn.lr = ...``);
    ``unknown``: why the rate is not known (a learner from an unknown factory). Neither:
    the library default.
    """

    value: Value | None = None
    unknown: str | None = None
    changed: "Mapping[str, Value] | None" = None
    """Settings changed on the learner after it was made, by the attributes of the framework's
    ``setting_paths`` (``trainer.args.learning_rate = 1e-4`` → ``{"args.learning_rate": 1e-4}``)."""




@dataclass(frozen=True)
class ClassSource:
    """A class the notebook defines, for a framework that reads a model's own code (Lightning's
    ``configure_optimizers``).

    ``node`` is its syntax; ``value`` gives an expression of its body as a Value under the
    notebook's bindings at the call being read (the names its methods bind are not known
    there: a framework values only literals and names the method does not bind).
    """

    node: ast.ClassDef
    value: Callable[[ast.expr], Value]


Classes = Mapping[str, ClassSource]
"""The classes a notebook defines, by name (see :class:`ClassSource`)."""
NO_CLASSES: Classes = {}


def is_epoch_loop(node: ast.For | ast.AsyncFor) -> bool:
    """A loop over ``range(...)`` whose variable or bounds say epochs: ``for epoch in range(N_EPOCHS)``,
    ``for ep in range(1, num_epochs + 1)``, ``for i in range(EPOCHS)`` (not ``for i in range(10)``).

    >>> [is_epoch_loop(ast.parse(text).body[0]) for text in (
    ...     "for epoch in range(3): pass", "for i in range(cfg.n_epochs): pass", "for i in range(10): pass",
    ...     "for epoch in epochs: pass")]
    [True, True, False, False]
    """
    call = node.iter
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "range"):
        return False
    target = node.target
    if isinstance(target, ast.Name) and (target.id.lower() in _EPOCH_VARIABLES or "epoch" in target.id.lower()):
        return True
    return any(
        isinstance(part, (ast.Name, ast.Attribute)) and "epoch" in (callee(part) or "").lower()
        for arg in call.args
        for part in ast.walk(arg)
    )


#: Loop variables that count epochs whatever the bounds are called.
_EPOCH_VARIABLES = frozenset({"ep", "epoch_idx", "epoch_num"})
