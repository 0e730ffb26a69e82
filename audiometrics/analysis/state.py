"""The state one notebook's analysis shares between its collaborators.

:class:`State` is what the interpreter (:mod:`~audiometrics.analysis.interpreter`),
the call handler (:mod:`~audiometrics.analysis.calls`) and the relevance checks
(:mod:`~audiometrics.analysis.relevance`) read and write: the training framework
and its version, the global scope, what the notebook made of learners so far, the
events and warnings being collected, and the per-cell caches. Each collaborator is
given the one :class:`State` explicitly; none reaches into another's attributes.
"""

from __future__ import annotations

import ast
import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from audiometrics.frameworks import Framework
from audiometrics.frameworks.base import Classes, ClassSource
from audiometrics.model import SourceEvent
from audiometrics.analysis.scope import Ctx, Out, Scope, settled
from audiometrics.analysis.values import OPAQUE_VALUE, Value, finish, make_value

__all__ = ["State", "UNROLL_BUDGET"]

UNROLL_BUDGET = 5000
"""Unrolled loop iterations per cell, all loops together."""


@dataclass(eq=False)
class State:
    """What the analysis of one notebook knows and is collecting.

    Parameters
    ----------
    framework
        The training library the notebook uses (its learners, training methods, defaults).
    version
        The framework's major version the notebook is written for.
    texts
        Every code cell's text, for :attr:`receivers`.
    trained_names
        Reads the names a notebook trains from its cell texts (called once, when first needed).
    """

    framework: Framework
    version: int
    texts: Sequence[str] = ()
    trained_names: Callable[[Iterable[str]], frozenset[str]] = lambda texts: frozenset()
    globals: Scope = field(default_factory=Scope)
    learners: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)  # learn2 = learn: learn2 -> learn
    listed: dict[str, ast.expr] = field(default_factory=dict)  # models = [m1, m2] (or a dict): models -> its literal
    classes: set[str] = field(default_factory=set)
    model_classes: set[str] = field(default_factory=set)  # notebook classes whose instances are learners
    class_defs: dict[str, tuple[ast.ClassDef, str]] = field(default_factory=dict)  # top-level classes: node, cell text
    unknown_learners: int = 0  # LearnerCreated events of unknown calls made
    out: Out = field(default_factory=Out)
    budget: int = UNROLL_BUDGET
    results: dict[int, Value] = field(default_factory=dict)  # id(call node) -> value of an inlined call
    inline_learners: dict[int, tuple] = field(default_factory=dict)  # id(factory call bound to no name) -> (mark, own lr)
    keep: list[ast.AST] = field(default_factory=list)  # trees parsed on the fly, alive while ids are in use
    _receivers: frozenset[str] | None = None

    @property
    def receivers(self) -> frozenset[str]:
        """The names the notebook trains (read from all cells' text when first needed)."""
        if self._receivers is None:
            self._receivers = self.trained_names(self.texts)
        return self._receivers

    def begin_cell(self) -> None:
        """Forget what one cell collected and cached."""
        self.out = Out()
        self.budget = UNROLL_BUDGET
        self.results = {}
        self.inline_learners = {}
        self.keep = []

    @contextlib.contextmanager
    def collect(self) -> Iterator[Out]:
        """Collect the events and warnings of a block apart, for the caller to choose from."""
        saved = self.out
        self.out = Out()
        try:
            yield self.out
        finally:
            self.out = saved

    def emit(self, event: SourceEvent) -> None:
        self.out.events.append(event)

    def warn(self, line: int, message: str) -> None:
        self.out.warnings.append(f"line {line}: {message}")

    @staticmethod
    def line(node: ast.AST, ctx: Ctx) -> int:
        """The line an event of ``node`` is reported at (the call site, inside inlined code)."""
        return ctx.line if ctx.line is not None else getattr(node, "lineno", 1)

    @staticmethod
    def via(ctx: Ctx) -> str:
        return f" (inside {ctx.stack[-1]}())" if ctx.stack else ""

    def class_sources(self) -> Classes:
        """The notebook's top-level classes, their expressions valued under the notebook's bindings now."""
        return _ClassView(self)

    def value(self, node: ast.AST | None, ctx: Ctx, *, lazy: bool = False) -> Value:
        """The value of ``node``; with ``lazy``, a deferred call's value is returned unsettled."""
        if node is None:
            return finish("None")
        if isinstance(node, ast.Call) and id(node) in self.results:
            result = self.results[id(node)]
            return result if lazy else settled(result)
        origin = None
        if isinstance(node, ast.Name):
            entry = ctx.scope.lookup(node.id)
            origin = entry.origin if isinstance(entry, Value) and entry.origin else node.id
        try:
            return make_value(node, ctx.src, ctx.scope.lookup, origin)
        except RecursionError:
            return OPAQUE_VALUE


class _ClassView(Mapping):
    """:meth:`State.class_sources`: a :class:`~audiometrics.frameworks.base.ClassSource` per class, made when asked."""

    def __init__(self, state: State) -> None:
        self._state = state

    def __getitem__(self, name: str) -> ClassSource:
        node, src = self._state.class_defs[name]
        ctx = Ctx(scope=self._state.globals, src=src)
        return ClassSource(node, functools.partial(self._state.value, ctx=ctx))

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.class_defs)

    def __len__(self) -> int:
        return len(self._state.class_defs)
