"""Static analysis of notebook code cells: which learners are built and trained how.

:func:`analyse_cells` reads the code cells of one notebook, in execution order,
with :mod:`ast` only (notebook code is never executed) and reports, per cell, the
events that matter for extraction, in execution order:

* :class:`~audiometrics.model.LearnerCreated` for ``vision_learner``/``cnn_learner``/
  ``unet_learner``/``Learner``/``tabular_learner``/``text_classifier_learner``/
  ``language_model_learner``/``collab_learner``/``synth_learner`` (also
  module-qualified, or through ``partial``), fastai v1's ``create_cnn``/``ConvLearner``/
  ``Learner.create_unet``, walkwithfastai's ``timm_learner``, ``audio_learner`` and
  ``load_learner`` (model None); and, with ``known=False`` and no model, for any
  other call whose result is bound to a name the notebook trains
  (``learn = get_learner(dls, 'convnext_tiny')``; :func:`trained_names` reads those
  names from the text of all cells first), unless the call works on a learner
  (``learn = learn.load('stage-1')``, ``learn = to_fp16(learn)``). Every binding
  is its own event object, one per iteration of an unrolled loop;
* :class:`~audiometrics.model.TrainingCall` per table-printing phase of
  ``fit_one_cycle``/``fit``/``fit_flat_cos``/``fit_sgdr``/``fine_tune`` (two
  phases for ``fine_tune``);
* :class:`~audiometrics.model.ProgressCall` for displays without a table:
  ``lr_find*`` on any receiver; ``get_preds``/``tta``/``validate``/
  ``show_results`` on a receiver known to be a learner; a training call inside
  ``with learn.no_logging():`` (it shows bars but prints no table). Progress
  calls inside ``with learn.no_bar():`` show nothing and are left out;
* :class:`~audiometrics.model.Loop` for calls in a loop body that cannot be
  unrolled (unknown iterable, more than :data:`MAX_UNROLL` iterations, or a
  ``break``); loops over a static iterable are unrolled into plain events with
  the loop variable bound per iteration.

A fit given no learning rate gets what its learner gives it (fastai v2: the
learner's ``lr=`` or ``learn.lr = ...``, ``lr_from_learner``; the library default
only for a learner of a known factory that uses it), fastai v1's fits and
``fine_tune`` their own default; a learner from an unknown factory or
``load_learner``, or a scheduler callback (``cbs=ParamScheduler(...)``, on the call,
the factory or ``learn.add_cb``), leaves the rate empty with a warning that says why.

Values flow between cells: a name bound to a literal (``LR = 3e-3``; papermill's
injected parameters rebinding it later) is substituted as *text*, so learning
rates keep the author's spelling. Functions defined in the notebook are inlined
where they are called (events get the call-site line). For an ``if`` whose
condition cannot be decided statically, the ``if`` branch is assumed to run (or
the ``else`` branch when only it trains), with a warning; names the branches bind
differently become unknown afterwards. ``break``/``continue``/``return`` end
what they end when reached on a known path (a loop whose body can ``break`` is
reported as a Loop of unknown count). ``try`` bodies, ``finally`` and ``with``
bodies are followed; ``except`` handlers, class bodies and lambdas are not.

Work is skipped where it cannot change the result: code that can neither emit an
event nor change a binding that outlives it (a loop over files calling audio
helpers, a dropped ``show_batch()`` call) is not walked, as
:mod:`~audiometrics.analysis.reach` tells from its syntax and what its names are bound
to; and a call of a notebook function that only computes a value is inlined when
that value is first read (a :class:`~audiometrics.analysis.scope.Deferred` binding,
computed before anything it reads is rebound), so a value nobody reads is never
computed.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import re
import warnings
from typing import Iterable, Iterator, Sequence

from audiometrics.model import CellAnalysis, LearnerCreated, Loop, SourceEvent, TrainingCall
from audiometrics.analysis.walk import child_nodes
from audiometrics.analysis.calls import CallsMixin
from audiometrics.analysis.convert import iter_items
from audiometrics.analysis.evaluate import NOPE, begin_cell, end_cell, escape_for_parser, evaluate
from audiometrics.frameworks.fastai import detect_version, may_tell_version
from audiometrics.analysis.magics import ParsedCell, parse_cell
from audiometrics.analysis.reach import Reach, is_event_callee, reach
from audiometrics.analysis.scope import (
    ABSENT,
    LEARNER_KEY,
    Ctx,
    Deferred,
    Jump,
    LearnerMark,
    Out,
    Scope,
    Target,
    has_break,
    receiver_chain,
    settled,
    stored_names,
    target_text,
)
from audiometrics.analysis.values import callee as callee_name
from audiometrics.analysis.values import (
    OPAQUE_VALUE,
    UNKNOWN,
    Alias,
    ClassEntry,
    FunctionEntry,
    Value,
    combine,
    dotted,
    finish,
    make_value,
    normalise,
    segment,
)

__all__ = ["analyse_cells", "MAX_UNROLL"]

MAX_UNROLL = 1000
"""Loops over more iterations than this are reported as a Loop, not unrolled."""

_UNROLL_BUDGET = 5000  # unrolled iterations per cell, all loops together
_MAIN = finish("'__main__'")  # the value of __name__ in a notebook


def analyse_cells(sources: Sequence[str]) -> list[CellAnalysis]:
    """One :class:`CellAnalysis` per code cell source, given in execution order.

    Never raises for any cell content: what cannot be read becomes a warning.
    """
    with warnings.catch_warnings():
        # ast.parse reports odd literals (``1_``, ``"\d"``) as warnings; they are not ours
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return _analyse(sources)


def _analyse(sources: Sequence[str]) -> list[CellAnalysis]:
    parsed = []
    # cells repeat (``learn.lr_find()``): each text is parsed once; the analysis only reads trees
    seen: dict[str, ParsedCell | None] = {}
    for src in sources:
        text = escape_for_parser(src) if isinstance(src, str) else ""
        if text not in seen:
            try:
                seen[text] = parse_cell(text)
            except Exception:  # pragma: no cover - defensive
                seen[text] = None
        parsed.append(seen[text])
    try:
        version = detect_version(
            p.tree for p in seen.values() if p is not None and p.tree is not None and may_tell_version(p.text)
        )
    except Exception:  # pragma: no cover - defensive
        version = 2
    analyser = _Analyser(version, list(seen))
    results = []
    for p in parsed:
        if p is None:  # pragma: no cover - defensive
            results.append(CellAnalysis((), ("cell could not be read",)))
            continue
        results.append(analyser.cell(p))
    return _drop_untrained(results) if analyser.unknown_learners else results


_TRAINING_METHOD = re.compile(r"(fit_one_cycle|fit_flat_cos|fit_sgdr|fine_tune|lr_find\w*|fit)\s*\(")
_FIT_EPOCHS = re.compile(r"\s*(?:\d|n_epoch|epochs\b)")  # fit(5 / fit(n_epoch= / fit(epochs=: not fit(X, y)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def trained_names(texts: Iterable[str]) -> frozenset[str]:
    """The receivers of fastai training methods anywhere in the cells, read from their text.

    ``learn.fit_one_cycle(``, ``m.fine_tune(``, ``learner.lr_find(``, ``model.fit(5``:
    names the notebook uses as learners, whatever they are bound to (a scikit-learn
    ``model.fit(X, y)`` does not count). A cheap over-approximation: a binding of such a
    name from a call the analysis does not know is reported as a learner, and kept
    when the name is really trained (:func:`_drop_untrained`).
    """
    found: set[str] = set()
    text = "\n".join(texts)  # one scan: a receiver never spans cells
    for needle in (".fi", ".lr_find"):  # (str.find is much faster than a regex scan)
        dot = text.find(needle)
        while dot >= 0:
            match = _TRAINING_METHOD.match(text, dot + 1)
            if match is not None and (match.group(1) != "fit" or _FIT_EPOCHS.match(text, match.end())):
                start = dot
                while start > 0 and text[start - 1] in _NAME_CHARS:
                    start -= 1
                name = text[start:dot].strip(".")
                if name and not name[0].isdigit():
                    found.add(name)
            dot = text.find(needle, dot + 1)
    return frozenset(found)


def _drop_untrained(results: list[CellAnalysis]) -> list[CellAnalysis]:
    """Drop the learners made by unknown calls (``LearnerCreated.known`` False) whose name no
    training call of the notebook uses: a binding of ``learn_rate = get_lr()`` is no learner."""
    trained: set[str | None] = set()
    unknown = False

    def visit(events: Sequence[SourceEvent]) -> None:
        nonlocal unknown
        for event in events:
            if isinstance(event, TrainingCall):
                trained.add(event.learner)
            elif isinstance(event, Loop):
                visit(event.body)
            elif isinstance(event, LearnerCreated) and not event.known:
                unknown = True

    for result in results:
        visit(result.events)
    if not unknown:
        return results

    def keep(events: Sequence[SourceEvent]) -> tuple[SourceEvent, ...]:
        kept: list[SourceEvent] = []
        for event in events:
            if isinstance(event, LearnerCreated) and not event.known and event.target not in trained:
                continue
            if isinstance(event, Loop):
                body = keep(event.body)
                if not body:
                    continue
                if len(body) != len(event.body):
                    event = dataclasses.replace(event, body=body)
            kept.append(event)
        return tuple(kept)

    out = []
    for result in results:
        events = keep(result.events)
        out.append(result if len(events) == len(result.events) else dataclasses.replace(result, events=events))
    return out


def _bindable(value: object) -> object:
    """What a name is bound to for an assigned value: the value when known, else UNKNOWN."""
    return value if isinstance(value, Value) and value.known else UNKNOWN


# --------------------------------------------------------------------------- analyser


class _Analyser(CallsMixin):
    def __init__(self, version: int, texts: Sequence[str] = ()) -> None:
        self.version = version
        self.texts = texts  # every cell's text, for :attr:`receivers`
        self._receivers: frozenset[str] | None = None
        self.unknown_learners = 0  # LearnerCreated events of unknown calls made (see _drop_untrained)
        self.globals = Scope()
        self.learners: set[str] = set()
        self.aliases: dict[str, str] = {}  # global name -> the learner name it was assigned from (learn2 = learn)
        self.classes: set[str] = set()
        self.out = Out()
        self.budget = _UNROLL_BUDGET
        self.results: dict[int, Value] = {}  # id(call node) -> value of an inlined call
        self.keep: list[ast.AST] = []  # trees parsed on the fly, kept alive while ids are in use
        self.declared: dict[ast.AST, frozenset[str]] = {}  # function node -> its ``global`` names
        self.acting: dict[tuple[ast.AST, int], bool] = {}  # (function node, id(scope)) -> whether inlining it can matter
        self.reaches: dict[object, Reach] = {}  # function, loop or statement -> the calls in it (syntax only)
        self.stored: dict[object, frozenset[str]] = {}  # function or loop -> the names it stores
        self.loads: dict[ast.AST, frozenset[str]] = {}  # call or function -> the names it loads
        self.breaks: dict[object, bool] = {}  # loop -> whether its body can break
        self.globals.vars["__name__"] = _MAIN

    @property
    def receivers(self) -> frozenset[str]:
        """The names the notebook trains (:func:`trained_names` of all cells), read when first needed."""
        if self._receivers is None:
            self._receivers = trained_names(self.texts)
        return self._receivers

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _collect(self) -> Iterator[Out]:
        saved = self.out
        self.out = Out()
        try:
            yield self.out
        finally:
            self.out = saved

    def _emit(self, event: SourceEvent) -> None:
        self.out.events.append(event)

    def _warn(self, line: int, message: str) -> None:
        self.out.warnings.append(f"line {line}: {message}")

    @staticmethod
    def _line(node: ast.AST, ctx: Ctx) -> int:
        return ctx.line if ctx.line is not None else getattr(node, "lineno", 1)

    def _value(self, node: ast.AST | None, ctx: Ctx, *, lazy: bool = False) -> Value:
        """The value of ``node``; with ``lazy``, a deferred call's :class:`Deferred` is returned as it is."""
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

    def _via(self, ctx: Ctx) -> str:
        return f" (inside {ctx.stack[-1]}())" if ctx.stack else ""

    # ------------------------------------------------------------------ cells

    def cell(self, parsed) -> CellAnalysis:
        self.out = Out()
        self.budget = _UNROLL_BUDGET
        self.results = {}
        self.keep = []
        notes = list(parsed.warnings)
        begin_cell()
        if parsed.tree is not None:
            ctx = Ctx(scope=self.globals, src=parsed.text)
            for stmt in parsed.tree.body:
                self.acting = {}  # bindings may change between statements
                try:
                    self._stmt(stmt, ctx)
                except Jump:
                    pass  # a return/break outside any function or loop does not parse; be lenient
                except RecursionError:
                    self._warn(getattr(stmt, "lineno", 1), "statement too deeply nested to analyse; skipped")
                except Exception as exc:  # never raise on notebook content
                    self._warn(
                        getattr(stmt, "lineno", 1),
                        f"internal error while analysing this statement ({type(exc).__name__}: {exc}); skipped",
                    )
        notes.extend(self.out.warnings)
        notes.extend(f"expression too costly to evaluate statically: {text}; left unknown" for text in end_cell()[:1])
        return CellAnalysis(tuple(self.out.events), tuple(dict.fromkeys(notes)))  # each note once, in order

    # ------------------------------------------------------------------ statements

    def _block(self, stmts: Sequence[ast.stmt], ctx: Ctx) -> None:
        for stmt in stmts:
            self._stmt(stmt, ctx)

    def _stmt(self, node: ast.stmt, ctx: Ctx) -> None:
        if isinstance(node, ast.Expr):
            # an expression whose value is dropped matters only through what its calls do
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and is_event_callee(value.func.attr):
                self._expr(value, ctx)  # learn.fit_one_cycle(...), learn.lr_find(): acts, no need to look further
                return
            found = self._reach(node, [value])
            if self._acts(found, ctx) or found.has_effects(frozenset()):
                self._expr(value, ctx)
        elif isinstance(node, ast.Assign):
            self._assign(node.targets, node.value, ctx)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self._assign([node.target], node.value, ctx)
        elif isinstance(node, ast.AugAssign):
            self._augassign(node, ctx)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self._for(node, ctx)
        elif isinstance(node, ast.While):
            self._while(node, ctx)
        elif isinstance(node, ast.If):
            self._if(node, ctx)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            self._with(node, ctx)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self._try(node, ctx)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._def(node, ctx)
        elif isinstance(node, ast.ClassDef):
            self._class(node, ctx)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    ctx.scope.bind(alias.asname, Alias(alias.name))
                else:  # a module: its name means itself again
                    ctx.scope.bind(alias.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    continue
                if alias.asname and alias.asname != alias.name:
                    ctx.scope.bind(alias.asname, Alias(alias.name))
                else:
                    ctx.scope.bind(alias.name, None)
        elif isinstance(node, ast.Global):
            ctx.scope.globals.update(node.names)
        elif isinstance(node, ast.Delete):
            for t in node.targets:
                self._unbind(t, ctx)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                frame = ctx.frame
                pending = frame.pending if frame is not None else None
                self._expr(node.value, ctx, Target(receiver_chain(node.value), frame.target if frame else None), pending)
            if ctx.frame is not None:
                raise Jump("return", node, self._value(node.value, ctx))
        elif isinstance(node, ast.Break):
            raise Jump("break", node)
        elif isinstance(node, ast.Continue):
            raise Jump("continue", node)
        elif isinstance(node, ast.Match):
            self._match(node, ctx)
        elif isinstance(node, (ast.Raise, ast.Assert)):
            for child in child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child, ctx)
        # Pass: nothing

    def _assign(self, targets: Sequence[ast.expr], value: ast.expr, ctx: Ctx) -> None:
        text = target_text(targets[0], ctx.src) if len(targets) >= 1 else None
        names: tuple[str, ...] = ()
        if text is None and targets and isinstance(targets[0], (ast.Tuple, ast.List)):
            names = tuple(t.id for t in targets[0].elts if isinstance(t, ast.Name))
        pending: list[tuple[str, Value]] = []
        self._expr(value, ctx, Target(receiver_chain(value), text, names), pending)
        # a call of a notebook function that only computes a value is deferred (see _call):
        # names keep it unevaluated until something looks them up
        val = self._value(value, ctx, lazy=all(isinstance(t, ast.Name) for t in targets))
        for t in targets:
            self._bind(t, val, ctx)
            if isinstance(t, ast.Name) and ctx.scope is self.globals:
                self._alias(t.id, value)
        for key, v in pending:
            ctx.scope.bind(key, v)

    def _alias(self, name: str, value: ast.expr) -> None:
        """``learn2 = learn``: ``learn2`` names the same learner (and run); any other binding ends that."""
        source = self.aliases.get(value.id, value.id) if isinstance(value, ast.Name) else None
        if source is not None and source != name and source in self.learners:
            self.aliases[name] = source
        else:
            self.aliases.pop(name, None)

    def _augassign(self, node: ast.AugAssign, ctx: Ctx) -> None:
        self._expr(node.value, ctx)
        target = node.target
        key = target.id if isinstance(target, ast.Name) else dotted(target)
        if key is None:
            self._unbind(target, ctx)
            return
        old = ctx.scope.lookup(key)
        if isinstance(old, Value):
            ctx.scope.bind(key, combine(old, node.op, self._value(node.value, ctx)))
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
        if isinstance(target, ast.Name):
            ctx.scope.bind(target.id, UNKNOWN)
        elif isinstance(target, ast.Attribute):
            key = dotted(target)
            if key is not None:
                ctx.scope.bind(key, UNKNOWN)
        elif isinstance(target, ast.Subscript):
            key = dotted(target.value)
            if key is not None:
                ctx.scope.bind(key, UNKNOWN)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._unbind(t, ctx)
        elif isinstance(target, ast.Starred):
            self._unbind(target.value, ctx)

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
            defaults[param.arg] = self._value(default, ctx)
        for param, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                defaults[param.arg] = self._value(default, ctx)
        ctx.scope.bind(node.name, FunctionEntry(node, ctx.src, ctx.scope, defaults))

    def _class(self, node: ast.ClassDef, ctx: Ctx) -> None:
        ctx.scope.bind(node.name, ClassEntry(node.name))
        self.classes.add(node.name)
        local = Scope(parent=ctx.scope)
        inner = dataclasses.replace(ctx, scope=local)
        for stmt in node.body:
            if isinstance(stmt, ast.Assign):
                val = self._value(stmt.value, inner)
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        local.vars[t.id] = val if val.known else UNKNOWN
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                val = self._value(stmt.value, inner)
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

    def _stored(self, key: object, nodes: Sequence[ast.AST]) -> frozenset[str]:
        """:func:`~audiometrics.analysis.scope.stored_names` of ``nodes``, read once per ``key``."""
        found = self.stored.get(key)
        if found is None:
            found = self.stored[key] = frozenset(stored_names(nodes))
        return found

    def _reach(self, key: object, nodes: Sequence[ast.AST]) -> Reach:
        """The calls in ``nodes`` (:func:`~audiometrics.source_reach.reach`), read once per ``key``."""
        found = self.reaches.get(key)
        if found is None:
            found = self.reaches[key] = reach(nodes)
        return found

    def _acts(self, found: Reach, ctx: Ctx, local: frozenset[str] = frozenset(), *, returns: bool = True) -> bool:
        """Whether walking code that calls what ``found`` says may emit an event or change a
        binding that outlives the walk.

        Stores written in the code itself are the caller's business (a loop forgets
        them); what counts is every call: of an attribute spelled like an event method,
        of a name spelled like an event callee, of a name in ``local`` (bound only when
        the code runs, so anything), of a name bound to an alias or to a value naming an
        event callee, and of a notebook function that acts or has effects
        (:meth:`_function_acts`). With ``returns``, a ``return`` or ``yield`` counts too
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
            return self._function_acts(entry, ctx)
        if isinstance(entry, Alias):
            return True
        if isinstance(entry, Value) and entry.known and isinstance(entry.node, (ast.Name, ast.Attribute)):
            return is_event_callee(callee_name(entry.node) or "")
        return False

    def _function_acts(self, entry: FunctionEntry, ctx: Ctx) -> bool:
        """Whether inlining ``entry`` may emit an event or change anything outside its own frame.

        :meth:`_acts` on its body (its parameters and the names it rebinds as
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
        found = self._reach(node, node.body)
        inside = dataclasses.replace(ctx, scope=entry.scope)
        acts = self._acts(found, inside, own | found.rebound, returns=False) or found.has_effects(own | self._stored(node, node.body))
        self.acting[key] = acts
        return acts

    def _may_have_events(self, found: Reach, ctx: Ctx) -> bool:
        """Whether code that calls what ``found`` says may emit an event (loops over it are unrolled)."""
        if found.event_attribute:
            return True
        for name in found.names:
            if is_event_callee(name) or isinstance(ctx.scope.lookup(name), (FunctionEntry, Alias)):
                return True
        return False

    def _for(self, node: ast.For | ast.AsyncFor, ctx: Ctx) -> None:
        self._expr(node.iter, ctx)
        iterable = self._value(node.iter, ctx)
        self._loop(node, node.target, iterable, lambda c: self._block(node.body, c), node.body, ctx)
        self._block(node.orelse, ctx)

    def _loop(self, node, target, iterable: Value, run_body, body_nodes, ctx: Ctx) -> None:
        line = self._line(node, ctx)
        key = (node, target)
        assigned = set(self._stored(key, [*body_nodes, target]))
        found = self._reach(key, [*body_nodes, target])
        interesting = self._may_have_events(found, ctx)
        limit = min(MAX_UNROLL, self.budget)
        items, count = iter_items(iterable, limit) if interesting else (None, None)
        breaks = self.breaks.get(key)
        if breaks is None:
            breaks = self.breaks[key] = has_break(body_nodes)
        unrolled = interesting and items is not None and not breaks
        if not unrolled and not self._acts(found, ctx, found.rebound):
            # walked once as a template, it would emit nothing and leave nothing but
            # its own stores, which are forgotten: skip the walk
            self._forget(assigned, ctx)
            return
        if unrolled:
            self.budget -= len(items)
            for item in items:
                self._bind(target, item, ctx)
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
        with self._collect() as out:
            self._template(run_body, ctx)
        self._forget_but_learners(assigned, ctx)
        self.out.warnings.extend(out.warnings)
        if out.events:
            if count is None and not breaks:
                count = iter_items(iterable, 0)[1]
            self._emit(Loop(line, tuple(out.events), None if breaks else count))

    def _while(self, node: ast.While, ctx: Ctx) -> None:
        self._expr(node.test, ctx)
        test = evaluate(self._value(node.test, ctx))
        if test is not NOPE and not test:
            self._block(node.orelse, ctx)
            return
        line = self._line(node, ctx)
        assigned = stored_names(node.body)
        self._forget(assigned, ctx)
        with self._collect() as out:
            self._template(lambda c: self._block(node.body, c), ctx)
        self._forget_but_learners(assigned, ctx)
        self.out.warnings.extend(out.warnings)
        if out.events:
            self._emit(Loop(line, tuple(out.events), None))
        self._block(node.orelse, ctx)

    def _if(self, node: ast.If, ctx: Ctx) -> None:
        self._expr(node.test, ctx)
        test = evaluate(self._value(node.test, ctx))
        if test is not NOPE:
            try:
                truth = bool(test)
            except Exception:  # pragma: no cover
                truth = True
            self._block(node.body if truth else node.orelse, ctx)
            return
        journal = ctx.scope.journal
        journal.begin()
        with self._collect() as body_out:
            self._speculate(node.body, ctx)
        after_body = journal.undo()
        journal.begin()
        with self._collect() as else_out:
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
        self.out.events.extend(chosen.events)
        self.out.warnings.extend(chosen.warnings)
        if body_acts or else_acts:
            cond = normalise(segment(ctx.src, node.test))
            skipped = " (its other branch is ignored)" if body_acts and else_acts else ""
            self._warn(
                self._line(node, ctx),
                f"condition `{cond}` cannot be resolved statically; assuming the {label} branch runs{skipped}",
            )

    def _matters(self, events: Sequence[SourceEvent]) -> bool:
        """Whether a branch's events are worth choosing it for: a learner from an unknown call counts
        only when the notebook trains its name (``learner_path = Path(...)`` is no learner)."""
        return any(
            not (isinstance(e, LearnerCreated) and not e.known and e.target not in self.receivers) for e in events
        )

    def _match(self, node: ast.Match, ctx: Ctx) -> None:
        self._expr(node.subject, ctx)
        chosen = None
        for case in node.cases:
            ctx.scope.journal.begin()
            with self._collect() as out:
                self._speculate(case.body, ctx)
            ctx.scope.journal.undo()
            if self._matters(out.events):
                chosen = out
                break
        self._forget(stored_names([c for case in node.cases for c in case.body]), ctx)
        if chosen is not None:
            self.out.events.extend(chosen.events)
            self.out.warnings.extend(chosen.warnings)
            self._warn(self._line(node, ctx), "match statement cannot be resolved statically; assuming the first case that trains runs")

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
        handler_names = stored_names([s for h in node.handlers for s in h.body])
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
            test = evaluate(self._value(node.test, ctx))
            if test is NOPE:
                self._expr(node.body, ctx, target, pending)
            else:
                self._expr(node.body if test else node.orelse, ctx, target, pending)
            return
        if isinstance(node, ast.NamedExpr):
            self._expr(node.value, ctx, Target(receiver_chain(node.value), node.target.id), pending)
            self._bind(node.target, self._value(node.value, ctx), ctx)
            return
        if isinstance(node, ast.Call):
            self._expr(node.func, ctx, target, pending)
            for arg in node.args:
                self._expr(arg, ctx)
            for kw in node.keywords:
                self._expr(kw.value, ctx)
            self._call(node, ctx, target, pending)
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
            iterable = self._value(gen.iter, c)

            def body(c2: Ctx) -> None:
                for cond in gen.ifs:
                    self._expr(cond, c2)
                run(level + 1, c2)

            rest = list(gen.ifs) + [g for g in gens[level + 1 :]] + (
                [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            )
            self._loop(node, gen.target, iterable, body, rest, c)

        run(0, inner)
