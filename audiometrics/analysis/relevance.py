"""Whether walking a piece of notebook code can matter, told from its syntax and bindings.

The interpreter (:mod:`~audiometrics.analysis.interpreter`) skips code that can
neither emit an event nor change a binding that outlives it (a loop over files
calling audio helpers, a dropped ``show_batch()`` call), and the call handler
(:mod:`~audiometrics.analysis.calls`) defers the call of a notebook function that
only computes a value. :class:`Relevance` answers both, from what
:func:`~audiometrics.analysis.reach.reach` reads of the code and what its names
are bound to; its answers are cached per node.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Sequence

from audiometrics.analysis.reach import Reach, Summary, Syntax, is_event_callee
from audiometrics.analysis.scope import Ctx
from audiometrics.analysis.values import Alias, FunctionEntry, Value
from audiometrics.analysis.fold import callee as callee_name

__all__ = ["Relevance"]


class Relevance:
    """Sound, syntax-based answers to "can walking this matter?", memoised.

    ``acting`` (per function and defining scope) holds only while bindings do not
    change: the interpreter calls :meth:`new_statement` before each top-level statement.
    """

    def __init__(self) -> None:
        self.acting: dict[tuple[ast.AST, int], bool] = {}  # (function node, id(scope)) -> whether inlining it can matter
        self.syntax = Syntax()  # each statement's summary, read once for the notebook
        self.summaries: dict[object, Summary] = {}  # function body or loop -> the summary of its nodes

    def new_statement(self) -> None:
        """Bindings may have changed: forget which functions act."""
        self.acting = {}

    def summary(self, key: object, nodes: Sequence[ast.AST]) -> Summary:
        """The :class:`~audiometrics.analysis.reach.Summary` of ``nodes``, merged once per ``key``."""
        found = self.summaries.get(key)
        if found is None:
            found = self.summaries[key] = self.syntax.summary(nodes)
        return found

    def stored_in(self, key: object, nodes: Sequence[ast.AST]) -> frozenset[str]:
        """The names ``nodes`` store (:attr:`~audiometrics.analysis.reach.Summary.stored`), per ``key``."""
        return self.summary(key, nodes).stored

    def calls_in(self, key: object, nodes: Sequence[ast.AST]) -> Reach:
        """The calls in ``nodes`` (:func:`~audiometrics.analysis.reach.reach`), per ``key``."""
        return self.summary(key, nodes).reach

    def acts(self, found: Reach, ctx: Ctx, local: frozenset[str] = frozenset(), *, returns: bool = True) -> bool:
        """Whether walking code that calls what ``found`` says may emit an event or change a
        binding that outlives the walk.

        Stores written in the code itself are the caller's business (a loop forgets
        them); what counts is every call: of an attribute spelled like an event method,
        of a name spelled like an event callee, of a name in ``local`` (bound only when
        the code runs, so anything), of a name bound to an alias or to a value naming an
        event callee, and of a notebook function that acts or has effects
        (:meth:`function_acts`). With ``returns``, a ``return`` or ``yield`` counts too
        (it changes the enclosing function's result). Sound, not exact: it may say yes
        to code that does nothing.
        """
        if found.event_attribute or (returns and found.returns):
            return True
        return any(self._name_acts(name, ctx, local) for name in found.names)

    def _name_acts(self, name: str, ctx: Ctx, local: frozenset[str]) -> bool:
        if is_event_callee(name) or name in local:
            return True
        entry = ctx.scope.lookup(name)
        if isinstance(entry, FunctionEntry):
            return self.function_acts(entry, ctx)
        if isinstance(entry, Alias):
            return True
        if isinstance(entry, Value) and entry.known and isinstance(entry.node, (ast.Name, ast.Attribute)):
            return is_event_callee(callee_name(entry.node) or "")
        return False

    def function_acts(self, entry: FunctionEntry, ctx: Ctx) -> bool:
        """Whether inlining ``entry`` may emit an event or change anything outside its own frame.

        :meth:`acts` on its body (its parameters and the names it rebinds as
        ``local``, its names resolved where it was defined), or effects on names not
        its own (:meth:`~audiometrics.analysis.reach.Reach.has_effects`). Memoised per statement.
        """
        node = entry.node
        key = (node, id(entry.scope))
        known = self.acting.get(key)
        if known is not None:
            return known
        self.acting[key] = False  # a recursive call adds nothing new
        params = node.args
        own = frozenset(a.arg for a in [*params.posonlyargs, *params.args, *params.kwonlyargs, params.vararg, params.kwarg] if a)
        found = self.calls_in(node, node.body)
        inside = dataclasses.replace(ctx, scope=entry.scope)
        acts = self.acts(found, inside, own | found.rebound, returns=False) or found.has_effects(own | self.stored_in(node, node.body))
        self.acting[key] = acts
        return acts

    def may_have_events(self, found: Reach, ctx: Ctx) -> bool:
        """Whether code that calls what ``found`` says may emit an event (loops over it are unrolled)."""
        if found.event_attribute:
            return True
        for name in found.names:
            if is_event_callee(name) or isinstance(ctx.scope.lookup(name), (FunctionEntry, Alias)):
                return True
        return False
