"""What a piece of notebook code can call and change, read once from its syntax.

The analyser of :mod:`audiometrics.analysis.analyser` does not walk code that can neither
emit an event nor change a binding that outlives it (a loop over files calling
audio helpers, ``show_batch()``); deciding that takes the calls in the code,
which this module reads in one walk, kept per function body or loop for the
whole notebook. Resolving the called names is the analyser's part: it depends on
what they are bound to when the code runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Sequence

from audiometrics.analysis.walk import walk
from audiometrics.frameworks import call_names, progress_prefixes
from audiometrics.analysis.scope import MAGIC_RUNNERS, MUTATORS
from audiometrics.analysis.values import dotted

__all__ = ["Reach", "reach", "is_event_callee", "CALLBACK_ADDERS"]

CALLBACK_ADDERS = frozenset({"add_cb", "add_cbs"})
"""Learner methods that add callbacks for all later fits (a scheduler among them sets their rate)."""

_OWN_CALLS = MAGIC_RUNNERS | CALLBACK_ADDERS


def is_event_callee(name: str) -> bool:
    """A callee name that can produce an event or change what a learner's fits do by its spelling alone:
    a learner factory, training, inference or progress method of a registered framework, a magic runner
    or a callback adder."""
    return name in call_names() or name in _OWN_CALLS or name.startswith(progress_prefixes())


@dataclass(frozen=True)
class Reach:
    """The calls in some code, from its syntax.

    ``event_attribute``: it calls an attribute spelled like an event method
    (``learn.fit_one_cycle``, ``.lr_find``); ``names``: the plain names it calls,
    each once; ``returns``: it holds a ``return`` or ``yield``; ``rebound``: the
    names it binds to what could be any callable (see :func:`reach`).
    """

    event_attribute: bool
    names: tuple[str, ...]
    returns: bool
    rebound: frozenset[str]
    declares: bool = False
    changed: frozenset[str | None] = frozenset()

    def has_effects(self, own: set[str] | frozenset[str]) -> bool:
        """Whether running the code can change a binding outside the names in ``own``.

        ``global``/``nonlocal`` statements and ``:=`` count (``declares``), and stores
        or mutating calls (``x.append``) whose target is not rooted in a name of
        ``own`` (``changed`` holds their roots, None for a target that is not a
        dotted name).
        """
        return self.declares or any(root is None or root not in own for root in self.changed)


def reach(nodes: Sequence[ast.AST]) -> Reach:
    """The :class:`Reach` of ``nodes`` (nested definitions included).

    ``rebound`` holds every name stored by an assignment, a loop or ``with``
    target, a ``def`` or ``class`` or an ``except ... as``, and an import only when
    it renames something the analysis follows (``import vision_learner as vl``): a
    plain import binds a library name, which a call treats by its own spelling.
    """
    event_attribute = returns = declares = False
    names: dict[str, None] = {}
    rebound: set[str] = set()
    changed: set[str | None] = set()

    def root(target: ast.AST) -> str | None:
        path = dotted(target)
        return None if path is None else path.split(".", 1)[0]

    for top in nodes:
        for node in walk(top):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute):
                    event_attribute = event_attribute or is_event_callee(func.attr)
                    if func.attr in MUTATORS:
                        changed.add(root(func.value))
                elif isinstance(func, ast.Name):
                    names[func.id] = None
            elif isinstance(node, ast.Name):
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    rebound.add(node.id)
            elif isinstance(node, (ast.Attribute, ast.Subscript)):
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    changed.add(root(node.value))
            elif isinstance(node, (ast.Global, ast.Nonlocal, ast.NamedExpr)):
                declares = True
            elif isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)):
                returns = True
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                rebound.add(node.name)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                rebound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.asname and is_event_callee(alias.name.rsplit(".", 1)[-1]):
                        rebound.add(alias.asname)
    return Reach(event_attribute, tuple(names), returns, frozenset(rebound), declares, frozenset(changed))
