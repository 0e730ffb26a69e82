"""Plumbing of :mod:`audiometrics.analysis.analyser`: scopes with an undo journal, walk context, AST helpers."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from audiometrics.model import LearnerCreated, Loop, ProgressCall, SourceEvent, TrainingCall
from audiometrics.analysis.values import UNKNOWN, Alias, FunctionEntry, Value, dotted, finish, normalise, segment
from audiometrics.frameworks.base import Args, sets_rate

MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "sort", "reverse",
     "popitem", "add", "discard", "__setitem__", "__delitem__"}
)
MAGIC_RUNNERS = frozenset({"run_line_magic", "run_cell_magic", "magic"})


ABSENT = object()


class Jump(Exception):
    """``break``/``continue``/``return`` reached while walking: unwinds to its loop or function."""

    def __init__(self, kind: str, node: ast.stmt, value: object = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.node = node
        self.value = value


class Deferred:
    """A binding whose value is computed when first looked up, if ever.

    ``deps`` are the (scope, name) bindings its computation reads: each name in
    the scope it resolves to (the notebook's for a name bound nowhere yet). The
    :class:`Journal` computes it before any of them is written, and before a
    branch it was made in is taken back, so that it always sees the bindings it
    was made with: deferring changes when the work is done, never its result.
    """

    __slots__ = ("deps", "_compute", "value")

    def __init__(self, deps: frozenset[tuple["Scope", str]], compute: Callable[[], object], fallback: object) -> None:
        self.deps = deps
        self._compute: Callable[[], object] | None = compute
        self.value: object = fallback  # what a cycle back to it, or a computation that raised, leaves

    def force(self) -> object:
        """The value, computed on the first call."""
        compute = self._compute
        if compute is not None:
            self._compute = None
            self.value = compute()
        return self.value


def settled(value: object) -> object:
    """``value``, computed if it is a :class:`Deferred`."""
    return value.force() if type(value) is Deferred else value


class Journal:
    """Undo logs of scope writes, so a branch can be tried and taken back.

    It also keeps the :class:`Deferred` bindings waiting on each name, and
    computes them before that name is written (:meth:`settle`).
    """

    def __init__(self) -> None:
        self.logs: list[list[tuple["Scope", str, object]]] = []
        self.waiting: dict[tuple[int, str], list[Deferred]] = {}  # (id(scope), name) -> deferred bindings reading it
        self.made: list[Deferred] = []  # deferred bindings made inside the open branches
        self.marks: list[int] = []

    def defer(self, deferred: Deferred) -> Deferred:
        """Register ``deferred``: it is computed before any binding of its ``deps`` changes."""
        for scope, name in deferred.deps:
            self.waiting.setdefault((id(scope), name), []).append(deferred)
        if self.marks:
            self.made.append(deferred)
        return deferred

    def settle(self, scope: "Scope", key: str) -> None:
        """Compute the deferred bindings that read ``key`` (or its first component) in ``scope``, before it is written."""
        waiting = self.waiting.pop((id(scope), key.partition(".")[0]), None)
        if waiting:
            for deferred in waiting:
                deferred.force()

    def record(self, scope: "Scope", key: str, old: object) -> None:
        if self.logs:
            self.logs[-1].append((scope, key, old))

    def begin(self) -> None:
        self.logs.append([])
        self.marks.append(len(self.made))

    def undo(self) -> dict[tuple[int, str], tuple["Scope", str, object]]:
        """Take back the writes since :meth:`begin`; return what they had produced
        (deferred bindings made since then computed first: they must not outlive
        the bindings they were made with)."""
        mark = self.marks.pop()
        made, self.made[mark:] = self.made[mark:], []
        for deferred in made:
            deferred.force()
        log = self.logs.pop()
        produced = {}
        for scope, key, _old in log:
            produced[(id(scope), key)] = (scope, key, scope.vars.get(key, ABSENT))
        for scope, key, old in reversed(log):
            scope._raw_set(key, old)
        return produced


class Scope:
    """Variable bindings: a chain from the innermost (function) scope to the notebook's.

    Keys are names and dotted names (``CFG.lr``, ``learn.lr``); binding a name
    drops the dotted keys below it.
    """

    def __init__(self, parent: "Scope | None" = None) -> None:
        self.vars: dict[str, object] = {}
        self.dotted: dict[str, set[str]] = {}  # first component -> dotted keys
        self.parent = parent
        self.globals: set[str] = set()
        self.journal: Journal = parent.journal if parent is not None else Journal()

    @property
    def root(self) -> "Scope":
        s = self
        while s.parent is not None:
            s = s.parent
        return s

    def find(self, key: str) -> tuple[object, "Scope | None"]:
        """The binding of ``key`` (computed, if it was deferred) and the scope holding it."""
        s: Scope | None = self
        while s is not None:
            if key in s.vars:
                value = s.vars[key]
                if type(value) is Deferred:
                    value = s.vars[key] = value.force()
                return value, s
            s = s.parent
        return None, None

    def lookup(self, key: str) -> object:
        return self.find(key)[0]

    def peek(self, key: str) -> tuple[object, "Scope"]:
        """The binding of ``key`` as it is stored (a :class:`Deferred` is not computed) and the
        scope holding it; the notebook's scope for a name bound nowhere (where it would be bound)."""
        s: Scope = self
        while True:
            if key in s.vars:
                return s.vars[key], s
            if s.parent is None:
                return None, s
            s = s.parent

    def _target(self, key: str) -> "Scope":
        return self.root if key.split(".", 1)[0] in self.globals else self

    def _raw_set(self, key: str, value: object) -> None:
        head, dot, _rest = key.partition(".")
        if value is ABSENT:
            self.vars.pop(key, None)
            if dot and head in self.dotted:
                self.dotted[head].discard(key)
        else:
            self.vars[key] = value
            if dot:
                self.dotted.setdefault(head, set()).add(key)

    def set(self, key: str, value: object) -> None:
        self.journal.settle(self, key)
        self.journal.record(self, key, self.vars.get(key, ABSENT))
        self._raw_set(key, value)

    def bind(self, key: str, entry: object) -> None:
        scope = self._target(key)
        prefix = key + "."
        for k in [k for k in scope.dotted.get(key.partition(".")[0], ()) if k.startswith(prefix)]:
            scope.set(k, ABSENT)
        scope.set(key, entry)

    def unbind_target(self, target: ast.AST) -> None:
        """What an assignment or ``del`` of ``target`` leaves unknown: a name, a dotted name, the container
        a subscript changes, each part of a tuple or list target."""
        if isinstance(target, ast.Name):
            self.bind(target.id, UNKNOWN)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            key = dotted(target if isinstance(target, ast.Attribute) else target.value)
            if key is not None:
                self.bind(key, UNKNOWN)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for part in target.elts:
                self.unbind_target(part)
        elif isinstance(target, ast.Starred):
            self.unbind_target(target.value)


# --------------------------------------------------------------------------- context


@dataclass
class Frame:
    """One inlined function call."""

    name: str
    target: str | None = None  # the variable the call's result is assigned to
    returns: list = field(default_factory=list)
    nested_return: bool = False
    pending: list = field(default_factory=list)  # bindings under ``target`` once the call's result is bound


WEIGHTS_KEY = ".<weights>"
"""Suffix of the scope key (``model.<weights>``) that says which call loaded trained weights into the
model a name is bound to (``model.load_state_dict(...)``); rebinding ``model`` drops it."""
LEARNER_KEY = ".<learner>"
"""Suffix of the scope key (``learn.<learner>``) that holds a bound learner's :class:`LearnerMark`;
no Python name reads it, and rebinding ``learn`` drops it."""


@dataclass(frozen=True)
class LearnerMark:
    """What the analysis knows of the learner a name is bound to, for its fits' default learning rate.

    ``factory`` is the call as written (``get_learner``); ``default_lr`` says whether the
    factory leaves the library default learning rate (``Learner(lr=defaults.lr)``);
    ``known`` whether the factory is one the analysis knows; ``scheduler`` names a
    scheduler callback the learner was built with (``cbs=ParamScheduler(...)``).
    """

    factory: str
    known: bool
    default_lr: bool
    scheduler: str | None = None

    def why_unknown(self) -> str | None:
        """Why a fit without a learning rate has an unknown one, or None when it has the default."""
        if sets_rate(self.scheduler):  # (a reducer starts from the rate)
            return f"the learner was built with the scheduler callback {self.scheduler}"
        if not self.known:
            return f"the learner comes from {self.factory}(...), not a known factory"
        if not self.default_lr:
            return f"the learner comes from {self.factory}(...), whose default learning rate is not known"
        return None


@dataclass(frozen=True)
class Ctx:
    scope: Scope
    src: str
    line: int | None = None  # call-site line for inlined code
    stack: tuple[str, ...] = ()
    frame: Frame | None = None
    no_bar: bool = False
    no_logging: bool = False


@dataclass
class Out:
    events: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """The variable a call's result is assigned to (for LearnerCreated.target)."""

    calls: frozenset[int]  # ids of the call nodes whose result ends up in the variable
    text: str | None
    names: tuple[str, ...] = ()  # the names a tuple target unpacks the result into (learn, dls = make())


def receiver_chain(node: ast.AST) -> frozenset[int]:
    """Calls whose result is the value of ``node``: ``vision_learner(...).to_fp16()``."""
    ids = set()
    while isinstance(node, ast.Call):
        ids.add(id(node))
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            node = func.value
        else:
            break
    return frozenset(ids)


def target_text(target: ast.AST, src: str) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        return normalise(segment(src, target))
    return None


def renamed(event: SourceEvent, old: str, new: str | None) -> SourceEvent:
    if isinstance(event, LearnerCreated) and event.target == old:
        return dataclasses.replace(event, target=new)
    if isinstance(event, (TrainingCall, ProgressCall)) and event.learner == old:
        return dataclasses.replace(event, learner=new)
    if isinstance(event, Loop):
        return dataclasses.replace(event, body=tuple(renamed(e, old, new) for e in event.body))
    return event


def dotted_ok(text: str) -> bool:
    """Whether ``text`` is a dotted name (``self.learn``)."""
    return all(part.isidentifier() for part in text.split("."))


def bind_import(scope: "Scope", node: ast.Import | ast.ImportFrom) -> None:
    """What an import binds in ``scope``: a renamed name its original (``import vision_learner as vl``,
    followed where the original is), a module or imported name itself again (a library name, read by
    its own spelling); a star import nothing."""
    for alias in node.names:
        if isinstance(node, ast.Import):
            if alias.asname:
                scope.bind(alias.asname, Alias(alias.name))
            else:  # a module: its name means itself again
                scope.bind(alias.name.split(".")[0], None)
        elif alias.name != "*":
            if alias.asname and alias.asname != alias.name:
                scope.bind(alias.asname, Alias(alias.name))
            else:
                scope.bind(alias.name, None)


def frame_scope(entry: FunctionEntry, args: Args) -> Scope:
    """The local scope of a call of ``entry`` with ``args``: each parameter bound to its argument,
    its default, or UNKNOWN."""
    local = Scope(parent=entry.scope)
    params = entry.node.args
    positional = list(params.posonlyargs) + list(params.args)
    keywords = dict(args.keywords)
    for i, param in enumerate(positional):
        if i < len(args.positional):
            val: object = args.positional[i]
        elif param.arg in keywords and param not in params.posonlyargs:
            val = keywords.pop(param.arg)
        elif args.opaque:
            val = UNKNOWN
        else:
            val = entry.defaults.get(param.arg, UNKNOWN)
        local.vars[param.arg] = val
    for param in params.kwonlyargs:
        if param.arg in keywords:
            local.vars[param.arg] = keywords.pop(param.arg)
        elif args.opaque:
            local.vars[param.arg] = UNKNOWN
        else:
            local.vars[param.arg] = entry.defaults.get(param.arg, UNKNOWN)
    if params.vararg is not None:
        extra = args.positional[len(positional) :]
        local.vars[params.vararg.arg] = (
            UNKNOWN if args.opaque else finish("(" + "".join(v.text + ", " for v in extra) + ")")
        )
    if params.kwarg is not None:
        local.vars[params.kwarg.arg] = UNKNOWN
    return local


def weights_loaded(scope: Scope, call: ast.Call) -> str | None:
    """The call that loaded trained weights (``model.load_state_dict(...)``, marked under
    :data:`WEIGHTS_KEY`) into a model ``call`` names among its arguments (``Adam(model.parameters(), ...)``,
    ``Learner(dls, model)``), if any."""
    for arg in (*call.args, *(k.value for k in call.keywords)):
        for sub in ast.walk(arg):
            key = dotted(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
            mark = scope.lookup(key + WEIGHTS_KEY) if key is not None else None
            if isinstance(mark, Value) and isinstance(mark.node, ast.Constant):
                return str(mark.node.value)
    return None
