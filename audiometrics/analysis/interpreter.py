"""The interpreter over :mod:`ast` that :func:`~audiometrics.analysis.analyser.analyse_cells` runs.

One :class:`Interpreter` walks a notebook's cells in execution order: assignments
bind values in versioned scopes, loops over static iterables are unrolled (others
reported as a :class:`~audiometrics.model.Loop`), undecidable conditions take the
branch that trains, and calls go to :class:`~audiometrics.analysis.calls.Calls`.
Each statement kind has its own small handler (:data:`_HANDLERS`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from typing import Callable, Sequence

from audiometrics.model import CellAnalysis, EpochLoop, LearnerCreated, Loop, RateApplied, SourceEvent
from audiometrics.analysis.walk import child_nodes
from audiometrics.analysis.fold import callee as callee_name
from audiometrics.analysis.calls import Calls
from audiometrics.analysis.convert import combine, element_names, iter_items
from audiometrics.analysis.evaluate import NOPE, begin_cell, end_cell, evaluate
from audiometrics.analysis.reach import is_event_callee
from audiometrics.analysis.lazy import lazy_value, never_unpacked
from audiometrics.analysis.relevance import Relevance
from audiometrics.analysis.scope import (
    ABSENT,
    LEARNER_KEY,
    Ctx,
    Deferred,
    Jump,
    LearnerMark,
    Scope,
    Target,
    bind_import,
    receiver_chain,
    settled,
    target_text,
)
from audiometrics.analysis.state import State
from audiometrics.analysis.values import (
    UNKNOWN,
    ClassEntry,
    FunctionEntry,
    Value,
    dotted,
    finish,
    normalise,
    segment,
)

__all__ = ["Interpreter", "MAX_UNROLL"]

MAX_UNROLL = 1000
"""Loops over more iterations than this are reported as a Loop, not unrolled."""

_MAIN = finish("'__main__'")  # the value of __name__ in a notebook
#: Events that describe a hand-written loop rather than train: not repeated with the loops around them.
_ABOUT_A_LOOP = (EpochLoop, RateApplied)


def _bindable(value: object) -> object:
    """What a name is bound to for an assigned value: the value when known, else UNKNOWN."""
    return value if isinstance(value, Value) and value.known else UNKNOWN


class Interpreter:
    """Walks the code cells of one notebook in execution order, statement by statement.

    Statements and expressions are handled here; what calls do is the
    :class:`~audiometrics.analysis.calls.Calls` collaborator's, whether code can matter
    the :class:`~audiometrics.analysis.relevance.Relevance` one's; all three share one
    :class:`~audiometrics.analysis.state.State`.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        self.relevance = Relevance()
        self.calls = Calls(state, self.relevance, self._block)
        state.globals.vars["__name__"] = _MAIN
        self._handlers = {kind: getattr(self, name) for kind, name in _HANDLERS.items()}

    # ------------------------------------------------------------------ cells

    def cell(self, parsed) -> CellAnalysis:
        self.state.begin_cell()
        notes = list(parsed.warnings)
        begin_cell()
        if parsed.tree is not None:
            ctx = Ctx(scope=self.state.globals, src=parsed.text)
            for stmt in parsed.tree.body:
                self.relevance.new_statement()  # bindings may change between statements
                try:
                    self._stmt(stmt, ctx)
                except Jump:
                    pass  # a return/break outside any function or loop does not parse; be lenient
                except RecursionError:
                    self.state.warn(getattr(stmt, "lineno", 1), "statement too deeply nested to analyse; skipped")
                except Exception as exc:  # never raise on notebook content
                    self.state.warn(
                        getattr(stmt, "lineno", 1),
                        f"internal error while analysing this statement ({type(exc).__name__}: {exc}); skipped",
                    )
        notes.extend(self.state.out.warnings)
        notes.extend(f"expression too costly to evaluate statically: {text}; left unknown" for text in end_cell()[:1])
        return CellAnalysis(tuple(self.state.out.events), tuple(dict.fromkeys(notes)))  # each note once, in order

    # ------------------------------------------------------------------ statements

    def _block(self, stmts: Sequence[ast.stmt], ctx: Ctx) -> None:
        for stmt in stmts:
            self._stmt(stmt, ctx)

    def _stmt(self, node: ast.stmt, ctx: Ctx) -> None:
        handler = self._handlers.get(type(node))
        if handler is not None:  # (Pass and the like: nothing)
            handler(node, ctx)

    def _expr_stmt(self, node: ast.Expr, ctx: Ctx) -> None:
        # an expression whose value is dropped matters only through what its calls do
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and is_event_callee(value.func.attr):
            self._expr(value, ctx)  # learn.fit_one_cycle(...), learn.lr_find(): acts, no need to look further
            return
        found = self.relevance.syntax.statement(node).reach  # (the statement holds nothing but its value)
        if self.relevance.acts(found, ctx) or found.has_effects(frozenset()):
            self._expr(value, ctx)

    def _assign_stmt(self, node: ast.Assign, ctx: Ctx) -> None:
        self._assign(node.targets, node.value, ctx)

    def _annassign(self, node: ast.AnnAssign, ctx: Ctx) -> None:
        if node.value is not None:
            self._assign([node.target], node.value, ctx)

    def _import(self, node: ast.Import | ast.ImportFrom, ctx: Ctx) -> None:
        bind_import(ctx.scope, node)

    def _global(self, node: ast.Global, ctx: Ctx) -> None:
        ctx.scope.globals.update(node.names)

    def _delete(self, node: ast.Delete, ctx: Ctx) -> None:
        for t in node.targets:
            self._unbind(t, ctx)

    def _return(self, node: ast.Return, ctx: Ctx) -> None:
        frame = ctx.frame
        if node.value is not None:
            pending = frame.pending if frame is not None else None
            self._expr(node.value, ctx, Target(receiver_chain(node.value), frame.target if frame else None), pending)
        if frame is not None:
            raise Jump("return", node, self.state.value(node.value, ctx))

    def _break(self, node: ast.Break, ctx: Ctx) -> None:
        raise Jump("break", node)

    def _continue(self, node: ast.Continue, ctx: Ctx) -> None:
        raise Jump("continue", node)

    def _sub_expressions(self, node: ast.stmt, ctx: Ctx) -> None:
        """``raise``/``assert``: only the calls in their expressions matter."""
        for child in child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, ctx)

    def _assign(self, targets: Sequence[ast.expr], value: ast.expr, ctx: Ctx) -> None:
        text = target_text(targets[0], ctx.src) if len(targets) >= 1 else None
        names: tuple[str, ...] = ()
        if text is None and targets and isinstance(targets[0], (ast.Tuple, ast.List)):
            names = tuple(t.id for t in targets[0].elts if isinstance(t, ast.Name))
        pending: list[tuple[str, Value]] = []
        self._expr(value, ctx, Target(receiver_chain(value), text, names), pending)
        # a call of a notebook function that only computes a value is deferred (see _call):
        # names keep it unevaluated until something looks them up
        names_only = all(type(t) is ast.Name for t in targets)
        if names_only:
            val = lazy_value(self.state, value, ctx)
        elif all(type(t) in (ast.Tuple, ast.List) for t in targets) and never_unpacked(self.state, value):
            val = UNKNOWN  # a, b = learn.get_preds(): unpacking a call's result binds nothing known
        else:
            val = None
        if val is None:
            val = self.state.value(value, ctx, lazy=names_only)
        for t in targets:
            self._bind(t, val, ctx)
            if isinstance(t, ast.Name) and ctx.scope is self.state.globals:
                self._alias(t.id, value)
                self._listed(t.id, value)
        for key, v in pending:
            ctx.scope.bind(key, v)

    def _listed(self, name: str, value: ast.expr) -> None:
        """``models = [model_a, model_b]`` (or a dict of them): kept, so a loop over ``models`` can tell which
        learner each iteration trains (:func:`~audiometrics.analysis.convert.element_names`); any other
        binding ends that."""
        if isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
            self.state.listed[name] = value
        else:
            self.state.listed.pop(name, None)

    def _alias(self, name: str, value: ast.expr) -> None:
        """``learn2 = learn``: ``learn2`` names the same learner (and run); any other binding ends that."""
        source = self.state.aliases.get(value.id, value.id) if isinstance(value, ast.Name) else None
        if source is not None and source != name and source in self.state.learners:
            self.state.aliases[name] = source
        else:
            self.state.aliases.pop(name, None)

    def _augassign(self, node: ast.AugAssign, ctx: Ctx) -> None:
        self._expr(node.value, ctx)
        target = node.target
        key = target.id if isinstance(target, ast.Name) else dotted(target)
        if key is None:
            self._unbind(target, ctx)
            return
        old = ctx.scope.lookup(key)
        if isinstance(old, Value):
            ctx.scope.bind(key, combine(old, node.op, self.state.value(node.value, ctx)))
        else:
            ctx.scope.bind(key, UNKNOWN)

    def _bind(self, target: ast.AST, val: Value | object, ctx: Ctx) -> None:
        if isinstance(val, Deferred):
            if isinstance(target, ast.Name):
                ctx.scope.bind(target.id, ctx.scope.journal.defer(Deferred(val.deps, lambda: _bindable(val.force()), UNKNOWN)))
                return
            val = val.force()
        if isinstance(target, ast.Name):
            ctx.scope.bind(target.id, val if isinstance(val, Value) and val.known else UNKNOWN)
        elif isinstance(target, ast.Attribute):
            key = dotted(target)
            if key is not None:
                ctx.scope.bind(key, val if isinstance(val, Value) and val.known else UNKNOWN)
        elif isinstance(target, ast.Subscript):
            self._unbind(target, ctx)
        elif isinstance(target, (ast.Tuple, ast.List)):
            elts = target.elts
            node = val.node if isinstance(val, Value) else None
            if (
                isinstance(val, Value)
                and isinstance(node, (ast.Tuple, ast.List))
                and len(node.elts) == len(elts)
                and not any(isinstance(e, ast.Starred) for e in list(elts) + list(node.elts))
            ):
                subs = [val.sub(e) for e in node.elts]
                for t, v in zip(elts, subs):
                    self._bind(t, v, ctx)
            else:
                for t in elts:
                    self._bind(t, UNKNOWN, ctx)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, UNKNOWN, ctx)

    def _unbind(self, target: ast.AST, ctx: Ctx) -> None:
        ctx.scope.unbind_target(target)

    def _forget(self, names: set[str], ctx: Ctx) -> None:
        for name in names:
            ctx.scope.bind(name, UNKNOWN)

    def _forget_but_learners(self, names: set[str], ctx: Ctx) -> None:
        """:meth:`_forget` after a loop template, keeping what its iterations made of the learners they
        bind (the factory, the learner's own rate): the fits after the loop train the last one."""
        kept = []
        for name in names:
            mark = ctx.scope.lookup(name + LEARNER_KEY)
            if isinstance(mark, LearnerMark):
                kept.append((name + LEARNER_KEY, mark))
                lr = ctx.scope.lookup(name + ".lr")
                if lr is not None:
                    kept.append((name + ".lr", lr))
        self._forget(names, ctx)
        for key, entry in kept:
            ctx.scope.bind(key, entry)

    # ------------------------------------------------------------------ definitions

    def _def(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Ctx) -> None:
        args = node.args
        positional = list(args.posonlyargs) + list(args.args)
        defaults: dict[str, object] = {}
        for param, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults):
            defaults[param.arg] = self.state.value(default, ctx)
        for param, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                defaults[param.arg] = self.state.value(default, ctx)
        ctx.scope.bind(node.name, FunctionEntry(node, ctx.src, ctx.scope, defaults))

    def _class(self, node: ast.ClassDef, ctx: Ctx) -> None:
        ctx.scope.bind(node.name, ClassEntry(node.name))
        self.state.classes.add(node.name)
        if ctx.scope is self.state.globals:
            self.state.class_defs[node.name] = (node, ctx.src)
        bases = self.state.framework.model_bases | self.state.model_classes
        if bases and any(callee_name(base) in bases for base in node.bases):
            self.state.model_classes.add(node.name)  # class MyModel(keras.Model): its instances are learners
        local = Scope(parent=ctx.scope)
        inner = dataclasses.replace(ctx, scope=local)
        for stmt in node.body:
            if isinstance(stmt, ast.Assign):
                val = self.state.value(stmt.value, inner)
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        local.vars[t.id] = val if val.known else UNKNOWN
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                val = self.state.value(stmt.value, inner)
                local.vars[stmt.target.id] = val if val.known else UNKNOWN
        for name, entry in local.vars.items():
            ctx.scope.set(f"{node.name}.{name}", entry)

    # ------------------------------------------------------------------ control flow

    def _template(self, run_body, ctx: Ctx) -> None:
        """Walk a loop body once as the template of all its iterations."""
        try:
            run_body(ctx)
        except Jump as jump:
            if jump.kind == "return" and ctx.frame is not None:
                ctx.frame.nested_return = True  # the function may or may not return here

    def _speculate(self, stmts: Sequence[ast.stmt], ctx: Ctx) -> None:
        """Walk a branch that may not run: a jump in it ends the branch, not the walk."""
        try:
            self._block(stmts, ctx)
        except Jump as jump:
            if jump.kind == "return" and ctx.frame is not None:
                ctx.frame.nested_return = True

    def _for(self, node: ast.For | ast.AsyncFor, ctx: Ctx) -> None:
        self._expr(node.iter, ctx)
        iterable = functools.partial(self.state.value, node.iter, ctx)
        epoch_loop = self.state.framework.epoch_loop
        if epoch_loop is not None and epoch_loop(node):
            count = iter_items(iterable(), 0)[1]
            if count is not None:
                self.state.emit(EpochLoop(self.state.line(node, ctx), count))
        self._loop(node, node.target, iterable, lambda c: self._block(node.body, c), node.body, ctx)
        self._block(node.orelse, ctx)

    def _loop(self, node, target, iterable: Callable[[], Value], run_body, body_nodes, ctx: Ctx) -> None:
        """A loop of ``target`` over the value ``iterable()`` gives (asked only when the loop may
        emit an event: its elements are needed to unroll it, its length to report it)."""
        line = self.state.line(node, ctx)
        summary = self.relevance.summary((node, target), [*body_nodes, target])
        assigned = set(summary.stored)
        found = summary.reach
        interesting = self.relevance.may_have_events(found, ctx)
        limit = min(MAX_UNROLL, self.state.budget)
        items, count = iter_items(iterable(), limit) if interesting else (None, None)
        breaks = summary.breaks
        unrolled = interesting and items is not None and not breaks
        if not unrolled and not self.relevance.acts(found, ctx, found.rebound):
            # walked once as a template, it would emit nothing and leave nothing but
            # its own stores, which are forgotten: skip the walk
            self._forget(assigned, ctx)
            return
        if unrolled:
            self.state.budget -= len(items)
            names = element_names(node, target, len(items), self.state.listed)
            for k, item in enumerate(items):
                self._bind(target, item, ctx)
                for name, element in names[k] if names else ():
                    self._alias(name, element)  # for m in [model_a, model_b]: m.fit(...) trains model_a, then model_b
                try:
                    run_body(ctx)
                except Jump as jump:
                    if jump.kind == "break":  # pragma: no cover - loops with a break are not unrolled
                        break
                    if jump.kind != "continue":
                        raise
            return
        if not interesting:
            count = None
        self._forget(assigned, ctx)
        with self.state.collect() as out:
            self._template(run_body, ctx)
        self._forget_but_learners(assigned, ctx)
        self.state.out.warnings.extend(out.warnings)
        if out.events and all(isinstance(event, _ABOUT_A_LOOP) for event in out.events):
            for event in out.events:  # what a loop says of itself holds however often the loop around runs
                self.state.emit(event)
        elif out.events:
            if count is None and not breaks:
                count = iter_items(iterable(), 0)[1]
            self.state.emit(Loop(line, tuple(out.events), None if breaks else count))

    def _while(self, node: ast.While, ctx: Ctx) -> None:
        self._expr(node.test, ctx)
        test = evaluate(self.state.value(node.test, ctx))
        if test is not NOPE and not test:
            self._block(node.orelse, ctx)
            return
        line = self.state.line(node, ctx)
        assigned = set(self.relevance.syntax.summary(node.body).stored)
        self._forget(assigned, ctx)
        with self.state.collect() as out:
            self._template(lambda c: self._block(node.body, c), ctx)
        self._forget_but_learners(assigned, ctx)
        self.state.out.warnings.extend(out.warnings)
        if out.events:
            self.state.emit(Loop(line, tuple(out.events), None))
        self._block(node.orelse, ctx)

    def _if(self, node: ast.If, ctx: Ctx) -> None:
        self._expr(node.test, ctx)
        test = evaluate(self.state.value(node.test, ctx))
        if test is not NOPE:
            try:
                truth = bool(test)
            except Exception:  # pragma: no cover
                truth = True
            self._block(node.body if truth else node.orelse, ctx)
            return
        journal = ctx.scope.journal
        journal.begin()
        with self.state.collect() as body_out:
            self._speculate(node.body, ctx)
        after_body = journal.undo()
        journal.begin()
        with self.state.collect() as else_out:
            self._speculate(node.orelse, ctx)
        after_else = journal.undo()
        # names both branches leave alike keep their value; the others become unknown
        for ident in after_body.keys() | after_else.keys():
            scope, key, _ = after_body.get(ident) or after_else[ident]
            original = settled(scope.vars.get(key, ABSENT))
            a = settled(after_body.get(ident, (None, None, original))[2])
            b = settled(after_else.get(ident, (None, None, original))[2])
            final = a if a == b else UNKNOWN
            if final is not original:
                scope.set(key, final)
        body_acts, else_acts = self._matters(body_out.events), self._matters(else_out.events)
        chosen, label = body_out, "if"
        if not body_acts and (else_acts or not body_out.events):
            chosen, label = else_out, "else"
        self.state.out.events.extend(chosen.events)
        self.state.out.warnings.extend(chosen.warnings)
        if body_acts or else_acts:
            cond = normalise(segment(ctx.src, node.test))
            skipped = " (its other branch is ignored)" if body_acts and else_acts else ""
            self.state.warn(
                self.state.line(node, ctx),
                f"condition `{cond}` cannot be resolved statically; assuming the {label} branch runs{skipped}",
            )

    def _matters(self, events: Sequence[SourceEvent]) -> bool:
        """Whether a branch's events are worth choosing it for: a learner from an unknown call counts
        only when the notebook trains its name (``learner_path = Path(...)`` is no learner)."""
        return any(
            not (isinstance(e, LearnerCreated) and not e.known and e.target not in self.state.receivers) for e in events
        )

    def _match(self, node: ast.Match, ctx: Ctx) -> None:
        self._expr(node.subject, ctx)
        chosen = None
        for case in node.cases:
            ctx.scope.journal.begin()
            with self.state.collect() as out:
                self._speculate(case.body, ctx)
            ctx.scope.journal.undo()
            if self._matters(out.events):
                chosen = out
                break
        self._forget(set(self.relevance.syntax.summary([c for case in node.cases for c in case.body]).stored), ctx)
        if chosen is not None:
            self.state.out.events.extend(chosen.events)
            self.state.out.warnings.extend(chosen.warnings)
            self.state.warn(self.state.line(node, ctx), "match statement cannot be resolved statically; assuming the first case that trains runs")

    def _with(self, node: ast.With | ast.AsyncWith, ctx: Ctx) -> None:
        no_bar, no_logging = ctx.no_bar, ctx.no_logging
        for item in node.items:
            self._expr(item.context_expr, ctx)
            expr = item.context_expr
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
                if expr.func.attr == "no_bar":
                    no_bar = True
                elif expr.func.attr == "no_logging":
                    no_logging = True
            if item.optional_vars is not None:
                self._unbind(item.optional_vars, ctx)
        inner = dataclasses.replace(ctx, no_bar=no_bar, no_logging=no_logging)
        self._block(node.body, inner)

    def _try(self, node, ctx: Ctx) -> None:
        try:
            self._block(node.body, ctx)
        except Jump:
            self._block(node.finalbody, ctx)
            raise
        handler_names = set(self.relevance.syntax.summary([s for h in node.handlers for s in h.body]).stored)
        for h in node.handlers:
            if h.name:
                handler_names.add(h.name)
        self._forget(handler_names, ctx)
        self._block(node.orelse, ctx)
        self._block(node.finalbody, ctx)

    # ------------------------------------------------------------------ expressions

    def _expr(self, node: ast.AST | None, ctx: Ctx, target: Target | None = None, pending: list | None = None) -> None:
        if node is None or isinstance(node, (ast.Name, ast.Constant, ast.Lambda)):
            return  # (names and constants have no sub-expressions)
        if isinstance(node, ast.Attribute):
            self._expr(node.value, ctx, target, pending)  # its only sub-expression
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self._comprehension(node, ctx)
            return
        if isinstance(node, ast.IfExp):
            self._expr(node.test, ctx)
            test = evaluate(self.state.value(node.test, ctx))
            if test is NOPE:
                self._expr(node.body, ctx, target, pending)
            else:
                self._expr(node.body if test else node.orelse, ctx, target, pending)
            return
        if isinstance(node, ast.NamedExpr):
            self._expr(node.value, ctx, Target(receiver_chain(node.value), node.target.id), pending)
            self._bind(node.target, self.state.value(node.value, ctx), ctx)
            return
        if isinstance(node, ast.Call):
            self._expr(node.func, ctx, target, pending)
            for arg in node.args:
                self._expr(arg, ctx)
            for kw in node.keywords:
                self._expr(kw.value, ctx)
            self.calls.call(node, ctx, target, pending)
            return
        for child in child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, ctx, target, pending)

    def _comprehension(self, node, ctx: Ctx) -> None:
        gens = node.generators
        scope = Scope(parent=ctx.scope)
        inner = dataclasses.replace(ctx, scope=scope)
        self._expr(gens[0].iter, ctx)

        def run(level: int, c: Ctx) -> None:
            if level == len(gens):
                if isinstance(node, ast.DictComp):
                    self._expr(node.key, c)
                    self._expr(node.value, c)
                else:
                    self._expr(node.elt, c)
                return
            gen = gens[level]
            if level > 0:
                self._expr(gen.iter, c)
            iterable = functools.partial(self.state.value, gen.iter, c)

            def body(c2: Ctx) -> None:
                for cond in gen.ifs:
                    self._expr(cond, c2)
                run(level + 1, c2)

            rest = list(gen.ifs) + [g for g in gens[level + 1 :]] + (
                [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            )
            self._loop(node, gen.target, iterable, body, rest, c)

        run(0, inner)


_HANDLERS: dict[type, str] = {
    ast.Expr: "_expr_stmt",
    ast.Assign: "_assign_stmt",
    ast.AnnAssign: "_annassign",
    ast.AugAssign: "_augassign",
    ast.For: "_for",
    ast.AsyncFor: "_for",
    ast.While: "_while",
    ast.If: "_if",
    ast.With: "_with",
    ast.AsyncWith: "_with",
    ast.Try: "_try",
    ast.FunctionDef: "_def",
    ast.AsyncFunctionDef: "_def",
    ast.ClassDef: "_class",
    ast.Import: "_import",
    ast.ImportFrom: "_import",
    ast.Global: "_global",
    ast.Delete: "_delete",
    ast.Return: "_return",
    ast.Break: "_break",
    ast.Continue: "_continue",
    ast.Match: "_match",
    ast.Raise: "_sub_expressions",
    ast.Assert: "_sub_expressions",
}
"""Statement type -> the :class:`Interpreter` method that handles it (others do nothing)."""
if hasattr(ast, "TryStar"):  # Python 3.11+
    _HANDLERS[ast.TryStar] = "_try"
