"""What PyTorch's optimizers and learning-rate schedulers are, read from a call's syntax.

Shared by the frameworks whose rate is the one a ``torch.optim`` optimizer is built
with: plain loops (:mod:`~audiometrics.frameworks.loops`: the optimizer stands for
the learner) and Lightning (:mod:`~audiometrics.frameworks.lightning_rate`: the
optimizer a module's ``configure_optimizers`` builds).
"""

from __future__ import annotations

import ast

from audiometrics.analysis.fold import callee

__all__ = ["OPTIMIZERS", "DEFAULT_RATES", "rate_argument", "is_scheduler"]

OPTIMIZERS = frozenset(
    {"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "SparseAdam", "ASGD", "Rprop"}
)
"""``torch.optim`` optimizer classes (called by their name or as ``torch.optim.X``/``optim.X``)."""

DEFAULT_RATES = {
    "Adam": "1e-3", "AdamW": "1e-3", "RAdam": "1e-3", "SparseAdam": "1e-3", "Adamax": "2e-3", "NAdam": "2e-3",
    "RMSprop": "1e-2", "Adagrad": "1e-2", "ASGD": "1e-2", "Rprop": "1e-2", "Adadelta": "1.0",
}
"""The ``lr`` default of each optimizer's constructor, as torch 1.x and 2.x spell it (SGD has none
before torch 2.2, whose default is ``1e-3``: absent here, so an SGD without ``lr=`` stays unknown)."""

_SCHEDULER_SUFFIXES = ("LR", "LROnPlateau", "WarmRestarts", "LRScheduler", "ChainedScheduler")
_SCHEDULE_FUNCTIONS = ("get_linear_schedule", "get_cosine_schedule", "get_constant_schedule", "get_polynomial_decay",
                       "get_scheduler", "get_inverse_sqrt_schedule", "get_cosine_with_hard_restarts")


def rate_argument(call: ast.Call) -> ast.expr | None:
    """The rate an optimizer call is given: ``lr=`` or its second positional argument (after the
    parameters); None when the call gives none (its class's default applies).

    >>> rate_argument(ast.parse("optim.SGD(model.parameters(), 0.1, momentum=0.9)", mode="eval").body).value
    0.1
    >>> rate_argument(ast.parse("Adam(params)", mode="eval").body) is None
    True
    """
    for keyword in call.keywords:
        if keyword.arg == "lr":
            return keyword.value
    if len(call.args) > 1 and not any(isinstance(a, ast.Starred) for a in call.args[:2]):
        return call.args[1]
    return None


def is_scheduler(name: str | None) -> bool:
    """Whether a callee name is a learning-rate scheduler's: ``torch.optim.lr_scheduler``'s classes
    (``StepLR``, ``OneCycleLR``, ``ReduceLROnPlateau``, ``CosineAnnealingWarmRestarts``,
    ``ChainedScheduler``), timm's (``CosineLRScheduler``) or transformers' schedule functions
    (``get_linear_schedule_with_warmup``, ``get_scheduler``); not a diffusion model's noise
    scheduler (``DDPMScheduler``), which sets no rate.

    >>> [is_scheduler(n) for n in ("OneCycleLR", "ReduceLROnPlateau", "get_cosine_schedule_with_warmup", "Adam")]
    [True, True, True, False]
    >>> is_scheduler("CosineLRScheduler"), is_scheduler("DDPMScheduler")
    (True, False)
    """
    if not name:
        return False
    return name.endswith(_SCHEDULER_SUFFIXES) or name.startswith(_SCHEDULE_FUNCTIONS)


def optimizer_calls(nodes: list[ast.AST]) -> tuple[list[ast.Call], list[str]]:
    """The optimizer constructor calls and the scheduler names among ``nodes`` (in walk order)."""
    optimizers: list[ast.Call] = []
    schedulers: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Call):
            name = callee(node.func)
            if name in OPTIMIZERS:
                optimizers.append(node)
            elif is_scheduler(name):
                schedulers.append(name)  # type: ignore[arg-type]
    return optimizers, schedulers
