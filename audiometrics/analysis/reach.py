"""What a piece of notebook code can call and change, read once from its syntax.

The analyser of :mod:`audiometrics.analysis.analyser` does not walk code that can neither
emit an event nor change a binding that outlives it (a loop over files calling
audio helpers, ``show_batch()``); deciding that takes the calls in the code,
which this module reads (with the names the code stores, loads and declares
``global``, and whether it breaks out of its loop) once per statement for the
whole notebook (:class:`Syntax`): a function body or loop is the merge of its
statements' summaries, so each tree is walked once however often the analysis
asks. Resolving the called names is the analyser's part: it depends on what they
are bound to when the code runs.
"""

from __future__ import annotations

import ast
from typing import NamedTuple, Sequence

from audiometrics.analysis.walk import _FIELDS, _fields, child_nodes
from audiometrics.frameworks import call_names, progress_prefixes
from audiometrics.analysis.scope import MAGIC_RUNNERS, MUTATORS
from audiometrics.analysis.values import dotted

__all__ = ["Reach", "Summary", "Syntax", "reach", "is_event_callee", "CALLBACK_ADDERS", "WEIGHT_LOADERS"]

CALLBACK_ADDERS = frozenset({"add_cb", "add_cbs"})
"""Learner methods that add callbacks for all later fits (a scheduler among them sets their rate)."""
WEIGHT_LOADERS = frozenset({"load_state_dict", "load_weights"})
"""Methods that load trained weights into a model (``model.load_state_dict(torch.load(path))``)."""

_OWN_CALLS = MAGIC_RUNNERS | CALLBACK_ADDERS | WEIGHT_LOADERS


def is_event_callee(name: str) -> bool:
    """A callee name that can produce an event or change what a learner's fits do by its spelling alone:
    a learner factory, training, inference or progress method of a registered framework, a magic runner
    or a callback adder."""
    return name in call_names() or name in _OWN_CALLS or name.startswith(progress_prefixes())


class Reach(NamedTuple):
    """The calls in some code, from its syntax.

    ``event_attribute``: it calls an attribute spelled like an event method
    (``learn.fit_one_cycle``, ``.lr_find``); ``names``: the plain names it calls,
    each once; ``returns``: it holds a ``return`` or ``yield``; ``rebound``: the
    names it binds to what could be any callable (see :func:`reach`).
    (A named tuple: one is made per statement of a notebook.)
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

    >>> found = reach(ast.parse("for f in files: learn.fit_one_cycle(1)").body)
    >>> found.event_attribute, found.rebound
    (True, frozenset({'f'}))
    """
    return Syntax().summary(nodes).reach


class Summary(NamedTuple):
    """What the syntax of some code holds, read in one walk (see :class:`Syntax`).

    ``reach``: its :class:`Reach`; ``stored``: the names and dotted names it
    assigns, not inside nested definitions or lambdas (a ``def``/``class`` counts
    by its name; mutating calls such as ``x.append`` count for ``x``); ``loaded``:
    every name it reads anywhere; ``declared``: the names of its ``global``
    statements anywhere; ``breaks``: it holds a ``break`` of the loop around it
    (not one of a nested loop's body, nor inside a nested definition).
    """

    reach: Reach
    stored: frozenset[str]
    loaded: frozenset[str]
    declared: frozenset[str]
    breaks: bool


class _Found:
    """What a walk collects; statements already read are merged whole."""

    __slots__ = ("event_attribute", "names", "returns", "rebound", "declares", "changed", "stored", "loaded",
                 "declared", "breaks")

    def __init__(self) -> None:
        self.event_attribute = self.returns = self.declares = self.breaks = False
        self.names: dict[str, None] = {}
        self.rebound: set[str] = set()
        self.changed: set[str | None] = set()
        self.stored: set[str] = set()
        self.loaded: set[str] = set()
        self.declared: set[str] = set()

    def merge(self, part: Summary, stored: bool, breaks: bool) -> None:
        r = part.reach
        self.event_attribute = self.event_attribute or r.event_attribute
        self.returns = self.returns or r.returns
        self.declares = self.declares or r.declares
        for name in r.names:
            self.names[name] = None
        self.rebound |= r.rebound
        self.changed |= r.changed
        self.loaded |= part.loaded
        self.declared |= part.declared
        if stored:
            self.stored |= part.stored
        if breaks and part.breaks:
            self.breaks = True

    def summary(self) -> Summary:
        found = Reach(self.event_attribute, tuple(self.names), self.returns, _frozen(self.rebound), self.declares,
                      _frozen(self.changed))
        return Summary(found, _frozen(self.stored), _frozen(self.loaded), _frozen(self.declared), self.breaks)


_EMPTY: frozenset = frozenset()


def _frozen(items: set) -> frozenset:
    return frozenset(items) if items else _EMPTY


def _root(target: ast.AST) -> str | None:
    path = dotted(target)
    return None if path is None else path.split(".", 1)[0]


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_NESTING = frozenset({*_DEFINITIONS, ast.Lambda, ast.For, ast.AsyncFor, ast.While})
_STMT, _AST = ast.stmt, ast.AST
_NAME, _CONSTANT, _CALL, _ATTRIBUTE, _SUBSCRIPT = ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript
_LOAD, _STORE, _KEYWORD = ast.Load, ast.Store, ast.keyword
_OTHER = frozenset({
    ast.Global, ast.Nonlocal, ast.NamedExpr, ast.Return, ast.Yield, ast.YieldFrom, ast.ExceptHandler, ast.Import,
    ast.ImportFrom, ast.Break,
})
"""The other kinds of node :meth:`Syntax._other` reads something from."""


class Syntax:
    """:class:`Summary` of code, each statement read once (kept for the whole notebook).

    A statement's summary is its own nodes' and its nested statements' (read once
    each, then merged), so however often the analysis asks about a function body, a
    loop and the statements inside them, every tree is walked once.
    """

    def __init__(self) -> None:
        self.statements: dict[ast.AST, Summary] = {}

    def summary(self, nodes: Sequence[ast.AST]) -> Summary:
        """The :class:`Summary` of ``nodes`` (statements or expressions) together."""
        if len(nodes) == 1 and isinstance(nodes[0], _STMT):
            return self.statement(nodes[0])
        found = _Found()
        for node in nodes:
            if isinstance(node, _STMT):
                found.merge(self.statement(node), True, True)
            else:
                self._walk(node, found)
        return found.summary()

    def statement(self, node: ast.stmt) -> Summary:
        """The :class:`Summary` of one statement, read once."""
        known = self.statements.get(node)
        if known is None:
            found = _Found()
            self._walk(node, found)
            known = self.statements[node] = found.summary()
        return known

    def _walk(self, top: ast.AST, found: _Found, storing: bool = True, breaking: bool = True) -> None:
        """Add what ``top`` holds to ``found``: its nodes depth first, in the order of
        :func:`~audiometrics.analysis.walk.walk` (so called names keep their order). ``storing``:
        stores count (not inside a nested definition or lambda); ``breaking``: a ``break`` counts
        (not inside a nested loop's body or a definition)."""
        stack: list[ast.AST] = [top]
        names, loaded, rebound, changed, stored = found.names, found.loaded, found.rebound, found.changed, found.stored
        memo = self.statements
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is _NAME:
                if type(node.ctx) is _LOAD:  # type: ignore[attr-defined]
                    loaded.add(node.id)  # type: ignore[attr-defined]
                else:
                    rebound.add(node.id)  # type: ignore[attr-defined]
                    if storing:
                        stored.add(node.id)  # type: ignore[attr-defined]
                continue  # (a name has no child but its context)
            if kind is _CONSTANT:
                continue
            if kind is _CALL:
                func = node.func  # type: ignore[attr-defined]
                if isinstance(func, _ATTRIBUTE):
                    found.event_attribute = found.event_attribute or is_event_callee(func.attr)
                    if func.attr in MUTATORS:
                        changed.add(_root(func.value))
                        path = dotted(func.value) if storing else None
                        if path:
                            stored.add(path)
                elif isinstance(func, _NAME):
                    names[func.id] = None
                stack.append(func)  # (the children in field order, as for any node below)
                stack.extend(node.args)  # type: ignore[attr-defined]
                stack.extend(node.keywords)  # type: ignore[attr-defined]
                continue
            if kind is _ATTRIBUTE or kind is _SUBSCRIPT:
                ctx = type(node.ctx)  # type: ignore[attr-defined]
                if ctx is not _LOAD:
                    changed.add(_root(node.value))  # type: ignore[attr-defined]
                    if storing:
                        path = dotted(node) if kind is _ATTRIBUTE else dotted(node.value)  # type: ignore[attr-defined]
                        if path and (ctx is _STORE or kind is _SUBSCRIPT):
                            stored.add(path)
                stack.append(node.value)  # type: ignore[attr-defined]
                if kind is _SUBSCRIPT:
                    stack.append(node.slice)  # type: ignore[attr-defined]
                continue
            if kind is _KEYWORD:
                stack.append(node.value)  # type: ignore[attr-defined]
                continue
            if node is not top and isinstance(node, _STMT):
                part = memo.get(node)
                found.merge(part if part is not None else self.statement(node), storing, breaking)  # type: ignore[arg-type]
                continue
            elif kind in _NESTING:
                self._nesting(node, found, storing, breaking)
                continue
            elif kind in _OTHER:
                self._other(node, found, storing, breaking)
            fields = _FIELDS.get(kind)
            for field in fields if fields is not None else _fields(kind):
                value = getattr(node, field, None)
                if isinstance(value, _AST):
                    stack.append(value)
                elif value.__class__ is list:
                    stack.extend([item for item in value if isinstance(item, _AST)])

    def _nesting(self, node: ast.AST, found: _Found, storing: bool, breaking: bool) -> None:
        """A definition, lambda or loop: its children, with the stores and breaks that count below it."""
        body: list[ast.stmt] = []
        if isinstance(node, _DEFINITIONS):
            found.rebound.add(node.name)
            if storing:
                found.stored.add(node.name)
            storing = breaking = False
        elif isinstance(node, ast.Lambda):
            storing = breaking = False
        else:
            body = node.body  # type: ignore[attr-defined]  # a break in a nested loop's body ends that loop
        for child in reversed(child_nodes(node)):  # (the order a stack of the children pops them)
            breaks = breaking and not any(child is s for s in body)
            if isinstance(child, _STMT):
                found.merge(self.statement(child), storing, breaks)
            else:
                self._walk(child, found, storing, breaks)

    @staticmethod
    def _other(node: ast.AST, found: _Found, storing: bool, breaking: bool) -> None:
        """Add what a node of any other kind says."""
        if isinstance(node, ast.Global):
            found.declares = True
            found.declared.update(node.names)
        elif isinstance(node, (ast.Nonlocal, ast.NamedExpr)):
            found.declares = True
        elif isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)):
            found.returns = True
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                found.rebound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.asname and is_event_callee(alias.name.rsplit(".", 1)[-1]):
                    found.rebound.add(alias.asname)
                if storing and alias.name != "*":
                    found.stored.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Break):
            if breaking:
                found.breaks = True
