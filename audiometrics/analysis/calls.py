"""Calls seen by :mod:`audiometrics.analysis.analyser`: learners, training, progress displays, inlining."""

from __future__ import annotations

import ast
import dataclasses
import functools
from typing import Callable, Sequence

from audiometrics.model import LearnerCreated, ProgressCall, RateApplied, TrainingCall
from audiometrics.analysis.convert import iter_items
from audiometrics.analysis.lazy import LazyKeywords, LazyValues
from audiometrics.analysis.evaluate import NOPE, evaluate
from audiometrics.frameworks.base import Args, LearnerLr, PhaseSpec, sets_rate
from audiometrics.frameworks.scratch import built_pretrained
from audiometrics.analysis.reach import CALLBACK_ADDERS, WEIGHT_LOADERS
from audiometrics.analysis.relevance import Relevance
from audiometrics.analysis.state import State
from audiometrics.analysis.magics import PYTHON_CELL_MAGICS, magic_statement, parse_python
from audiometrics.analysis.scope import (
    ABSENT,
    LEARNER_KEY,
    WEIGHTS_KEY,
    MAGIC_RUNNERS,
    MUTATORS,
    Ctx,
    Deferred,
    Frame,
    Jump,
    LearnerMark,
    Out,
    Target,
    dotted_ok,
    frame_scope,
    weights_loaded,
    renamed,
    settled,
)
from audiometrics.analysis.fold import callee as callee_name
from audiometrics.analysis.values import (
    OPAQUE_VALUE,
    UNKNOWN,
    Alias,
    FunctionEntry,
    Value,
    dotted,
    finish,
    normalise,
    segment,
)

MAX_INLINE_DEPTH = 12
"""Deepest chain of notebook functions inlined into each other."""

class Calls:
    """What the calls of notebook code do: build learners, train, show progress, run magics, inline functions.

    Parameters
    ----------
    state
        The analysis state it reads and adds events, warnings and bindings to.
    relevance
        Tells whether inlining a notebook function can matter (else it is deferred).
    run_block
        Walks statements (the interpreter's), for inlined functions and magics' code.
    """

    def __init__(
        self, state: State, relevance: Relevance, run_block: Callable[[Sequence[ast.stmt], Ctx], None]
    ) -> None:
        self.state = state
        self.framework = state.framework
        self.relevance = relevance
        self.run_block = run_block

    def _args(self, call: ast.Call, ctx: Ctx) -> Args:
        """The arguments of ``call``, each valued when a reader first asks (``*x``/``**x`` at once)."""
        positional: list = []
        keywords: dict = {}
        opaque = False
        value = self.state.value
        for arg in call.args:
            if isinstance(arg, ast.Starred):
                items, _count = iter_items(value(arg.value, ctx), 1000)
                if items is None:
                    opaque = True
                    break
                positional.extend(items)
            elif not opaque:
                positional.append(functools.partial(value, arg, ctx))
        for kw in call.keywords:
            if kw.arg is not None:
                keywords[kw.arg] = functools.partial(value, kw.value, ctx)
                continue
            mapping = self.state.value(kw.value, ctx)
            node = mapping.node
            ok = False
            if isinstance(node, ast.Dict) and mapping.known:
                keys = [evaluate(k) if k is not None else NOPE for k in node.keys]
                if all(isinstance(k, str) for k in keys):
                    for k, v in zip(keys, node.values):
                        keywords[k] = mapping.sub(v)
                    ok = True
            elif isinstance(node, ast.Call) and callee_name(node.func) == "dict" and not node.args and mapping.known:
                if all(k.arg for k in node.keywords):
                    for k in node.keywords:
                        keywords[k.arg] = mapping.sub(k.value)  # type: ignore[index]
                    ok = True
            if not ok:
                opaque = True
        return Args(LazyValues(positional), LazyKeywords(keywords), opaque)

    def _receiver_name(self, recv: ast.AST, ctx: Ctx) -> str | None:
        if isinstance(recv, ast.Name):
            entry, scope = ctx.scope.find(recv.id)
            if scope is not None and scope is not self.state.globals and isinstance(entry, Value) and entry.origin:
                return entry.origin
            return self.state.aliases.get(recv.id, recv.id)
        return dotted(recv)

    def _is_learner(self, recv: ast.AST, name: str | None) -> bool:
        if name is not None and (name in self.state.learners or "learn" in name.lower()):
            return True
        text = dotted(recv) if not isinstance(recv, ast.Subscript) else dotted(recv.value)
        return text is not None and "learn" in text.lower()

    def call(self, node: ast.Call, ctx: Ctx, target: Target | None, pending: list | None) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            entry = ctx.scope.lookup(func.id)
            if isinstance(entry, FunctionEntry):
                if self.relevance.function_acts(entry, ctx):
                    self._inline(entry, node, ctx, target, pending)
                else:
                    self._defer(entry, node, ctx, target)
                    self._unknown_learner(node, func.id, ctx, target, pending)  # it cannot build a known learner
                return
            name = entry.text.rsplit(".", 1)[-1] if isinstance(entry, Alias) else func.id
            if isinstance(entry, Value) and entry.known and isinstance(entry.node, (ast.Name, ast.Attribute)):
                name = callee_name(entry.node) or name
            if self.framework.is_factory(name) or name in self.state.model_classes:
                self._learner(node, name, ctx, target, pending)
            elif self.framework.shows_progress(name):
                first = node.args[0] if node.args else None
                learner = self._receiver_name(first, ctx) if first is not None else None
                self._progress(node, learner, name, ctx)
            else:
                bound = self._partial_factory(entry, node, ctx)
                if bound is not None:
                    self._learner(node, bound[0], ctx, target, pending, bound[1])
                else:
                    self._unknown_learner(node, func.id, ctx, target, pending)
            return
        if not isinstance(func, ast.Attribute):
            factory = self._factory_by_name(func, ctx)
            if factory is not None:  # getattr(torch.optim, CFG["optimizer"])(model.parameters(), lr=...)
                self._learner(node, factory, ctx, target, pending)
            return
        attr = func.attr
        recv = func.value
        if attr in self.framework.training_methods:
            self._training(node, attr, recv, ctx)
        elif self.framework.shows_progress(attr):
            self._progress(node, self._receiver_name(recv, ctx), attr, ctx)
        elif attr in self.framework.inference_methods:
            name = self._receiver_name(recv, ctx)
            if self._is_learner(recv, name):
                self._progress(node, name, attr, ctx)
        elif self.framework.is_factory(attr) and dotted(recv) is not None:
            self._learner(node, attr, ctx, target, pending)
        elif attr in self.framework.rate_methods:
            self._rate_method(node, attr, recv, ctx)
        elif attr in self.framework.apply_methods:
            self._applied_rate(node, recv, ctx)
        elif attr in MAGIC_RUNNERS:
            self._ipython_magic(node, ctx)
        elif attr in WEIGHT_LOADERS:  # model.load_state_dict(torch.load(path)): what it trains next starts there
            key = dotted(recv)
            if key is not None:
                ctx.scope.bind(key + WEIGHTS_KEY, finish(repr(f"{key}.{attr}(...)")))
        elif attr in MUTATORS:
            key = dotted(recv)
            if key is not None:
                ctx.scope.bind(key, UNKNOWN)
        elif attr in CALLBACK_ADDERS:
            self._added_callbacks(node, recv, ctx)
        else:
            self._unknown_learner(node, None, ctx, target, pending)

    def _factory_by_name(self, func: ast.AST, ctx: Ctx) -> str | None:
        """The factory ``getattr(module, name)`` names, when ``name`` is a string the analysis knows and a
        factory of the framework (``getattr(torch.optim, "AdamW")``), else None."""
        if not (isinstance(func, ast.Call) and callee_name(func.func) == "getattr" and len(func.args) == 2):
            return None
        name = evaluate(self.state.value(func.args[1], ctx))
        return name if isinstance(name, str) and self.framework.is_factory(name) else None

    def _progress(self, node: ast.Call, learner: str | None, method: str, ctx: Ctx) -> None:
        if ctx.no_bar:
            return
        self.state.emit(ProgressCall(self.state.line(node, ctx), learner, method))

    def _partial_factory(self, entry: object, node: ast.Call, ctx: Ctx) -> tuple[str, Args] | None:
        """``get_learner = partial(vision_learner, dls, metrics=accuracy)``; ``get_learner(resnet34)``:
        the factory and the arguments of both calls together, or None for any other callee."""
        if not (isinstance(entry, Value) and entry.known and isinstance(entry.node, ast.Call)):
            return None
        bound = entry.node
        if callee_name(bound.func) != "partial" or not bound.args:
            return None
        factory = callee_name(bound.args[0])
        if not self.framework.is_factory(factory) or any(isinstance(a, ast.Starred) for a in bound.args):
            return None
        args = self._args(node, ctx)
        keywords = {kw.arg: entry.sub(kw.value) for kw in bound.keywords if kw.arg is not None}
        keywords.update(args.keywords)
        opaque = args.opaque or any(kw.arg is None for kw in bound.keywords)
        return factory, Args(tuple(entry.sub(a) for a in bound.args[1:]) + args.positional, LazyKeywords(keywords), opaque)

    def _learner(
        self, node: ast.Call, factory: str, ctx: Ctx, target: Target | None, pending: list | None, args: Args | None = None
    ) -> None:
        if args is None:
            args = self._args(node, ctx)
        args = self._built_model(node, args, ctx)
        info = self.framework.learner_info(factory, args, self.state.version, frozenset(self.state.classes))
        if info.pretrained is None and info.model in self.state.class_defs:
            classes = {name: cls for name, (cls, _src) in self.state.class_defs.items()}
            info = dataclasses.replace(info, pretrained=built_pretrained(node, args, info.model, classes))
        loaded = weights_loaded(ctx.scope, node)
        if loaded is not None and info.model is not None and info.pretrained is not True:
            info = dataclasses.replace(info, pretrained=True)
            self.state.warn(self.state.line(node, ctx), f"{loaded} loaded trained weights into the model before: "
                            f"taken as pretrained{self.state.via(ctx)}")
        text = target.text if target is not None and id(node) in target.calls else None
        self.state.emit(
            LearnerCreated(
                self.state.line(node, ctx), text, factory, info.model, info.pretrained, info.metrics,
                framework=self.framework.name, **_call_less_rate(info.call_less),
            )
        )
        if text is None:  # Trainer(model, args).train(): its training call reads it from here
            self.state.inline_learners[id(node)] = (LearnerMark(factory, True, info.default_lr, info.scheduler), info.lr)
        if text is not None:
            self.state.learners.add(text)
            if pending is not None and dotted_ok(text):
                pending.append((text + LEARNER_KEY, LearnerMark(factory, True, info.default_lr, info.scheduler)))
                if info.lr is not None:
                    pending.append((f"{text}.lr", info.lr))

    def _built_model(self, node: ast.Call, args: Args, ctx: Ctx) -> Args:
        """``args`` with, as the ``model`` keyword, what a notebook function the factory is given to build
        its model returns (``Trainer(model_init=model_init)``: the function inlined with no argument), when
        no model is given (see :attr:`~audiometrics.frameworks.Framework.model_builders`)."""
        if not self.framework.model_builders or args.positional or "model" in args.keywords:
            return args
        for keyword in node.keywords:
            if keyword.arg not in self.framework.model_builders or not isinstance(keyword.value, ast.Name):
                continue
            entry = ctx.scope.lookup(keyword.value.id)
            if not isinstance(entry, FunctionEntry):
                continue
            call = ast.copy_location(ast.Call(func=keyword.value, args=[], keywords=[]), keyword.value)
            self._inline(entry, call, ctx, None)
            built = self.state.results.pop(id(call), None)
            if isinstance(built, Value):
                return Args(args.positional, LazyKeywords({**args.keywords, "model": built}), args.opaque)
        return args

    def _unknown_learner(
        self, node: ast.Call, factory: str | None, ctx: Ctx, target: Target | None, pending: list | None
    ) -> None:
        """A call the analysis does not know, bound to a name the notebook may train: a learner of unknown
        model (kept by :func:`~audiometrics.analysis.analyser.analyse_cells` only when that name is trained).
        ``factory`` is the callee as written (None: read it from the call).

        Not for a call on a learner or taking one (``learn = learn.load('stage-1')``,
        ``learn = to_fp16(learn)``): that is the same learner.
        """
        if target is None or id(node) not in target.calls:
            return
        for text in (target.text,) if target.text is not None else target.names:
            if not self._may_be_learner(text) or self._same_learner(node, text):
                continue
            if factory is None:
                factory = normalise(segment(ctx.src, node.func))
            args = self._args(node, ctx)
            metrics = self.framework.metrics_of(args, self.state.version, frozenset(self.state.classes))
            line = self.state.line(node, ctx)
            self.state.emit(
                LearnerCreated(line, text, factory, None, None, metrics, known=False, framework=self.framework.name)
            )
            self.state.unknown_learners += 1
            if pending is not None and dotted_ok(text):
                pending.append((text + LEARNER_KEY, LearnerMark(factory, False, False, self.framework.scheduler_in(args))))

    def _may_be_learner(self, text: str) -> bool:
        """Whether a binding of ``text`` may be a learner: its name says so, the notebook trains it, or
        it was bound to a learner before."""
        root = text.split(".", 1)[0]
        if root != text and (root in self.state.learners or root in self.state.receivers):
            return False  # an attribute of a learner (learn.model = ...)
        return "learn" in text.lower() or text in self.state.learners or text in self.state.receivers

    def _same_learner(self, node: ast.Call, text: str) -> bool:
        """Whether the call works on a learner rather than making one: its receiver or an argument is one."""
        func = node.func
        if isinstance(func, ast.Attribute):
            base = func.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Call):
                return True  # a method of a call's result: the call itself was judged (get_learner(...).to_fp16())
            if isinstance(base, ast.Name) and self._a_learner(base.id, text):
                return True
        for arg in [*node.args, *(kw.value for kw in node.keywords)]:
            key = dotted(arg.value if isinstance(arg, ast.Starred) else arg)
            if key is not None and self._a_learner(key, text):
                return True
        return False

    def _a_learner(self, name: str, text: str) -> bool:
        return name == text or name in self.state.learners or name in self.state.receivers

    def _rate_method(self, node: ast.Call, method: str, recv: ast.AST, ctx: Ctx) -> None:
        """``model.compile(optimizer=Adam(1e-3))``, ``K.set_value(model.optimizer.lr, 1e-5)``: the learner
        whose rate the call sets, and to what, as the framework reads it (bound as ``<learner>.lr``)."""
        if self.framework.learner_rate is None:
            return
        paths = tuple(dotted(arg) for arg in node.args)
        found = self.framework.learner_rate(method, dotted(recv), paths, self._args(node, ctx))
        if found is None:
            return
        learner = self._learner_named(found[0], ctx)
        if learner is None or not dotted_ok(learner):
            return
        for path in self.framework.rate_paths:  # a new rate replaces any set through the learner's attributes
            ctx.scope.bind(f"{learner}.{path}", ABSENT)
        ctx.scope.bind(f"{learner}.lr", found[1])

    def _applied_rate(self, node: ast.Call, recv: ast.AST, ctx: Ctx) -> None:
        """``optimizer.apply_gradients(zip(grads, model.trainable_variables))``: the learner's hand-written
        loop trains at the optimizer's rate."""
        if self.framework.applied_rate is None:
            return
        found = self.framework.applied_rate(node, self.state.value(recv, ctx))
        if found is None:
            return
        spec = found[1]
        self.state.emit(RateApplied(
            self.state.line(node, ctx), self._learner_named(found[0], ctx), spec.learning_rate, spec.lr_is_default,
            spec.lr_unknown,
        ))

    def _learner_named(self, written: str, ctx: Ctx) -> str | None:
        """A learner's dotted name as a framework read it from the code (``model``, ``self.model``), its
        root resolved as a receiver's is (a function's parameter stands for the argument's name)."""
        root, _, rest = written.partition(".")
        name = self._receiver_name(ast.Name(id=root, ctx=ast.Load()), ctx)
        return f"{name}.{rest}" if name and rest else name

    def _added_callbacks(self, node: ast.Call, recv: ast.AST, ctx: Ctx) -> None:
        """``learn.add_cb(ParamScheduler(...))``: the learner's later fits follow the scheduler."""
        learner = self._receiver_name(recv, ctx)
        if learner is None or not dotted_ok(learner):
            return
        args = self._args(node, ctx)
        cbs = Args((), {"cbs": args.positional[0]} if args.positional else dict(args.keywords))
        scheduler = self.framework.scheduler_in(cbs)
        if scheduler is None:
            return
        mark = ctx.scope.lookup(learner + LEARNER_KEY)
        if not isinstance(mark, LearnerMark):
            mark = LearnerMark(learner, True, True)
        ctx.scope.bind(learner + LEARNER_KEY, dataclasses.replace(mark, scheduler=scheduler))

    def _training(self, node: ast.Call, method: str, recv: ast.AST, ctx: Ctx) -> None:
        args = self._args(node, ctx)
        learner = self._receiver_name(recv, ctx)
        if method == "fit" and not self._is_learner(recv, learner) and not self.framework.is_training_fit(args):
            return  # model.fit(X, y) of scikit-learn/keras
        line = self.state.line(node, ctx)
        call_text = normalise(segment(ctx.src, node))
        mark = ctx.scope.lookup(learner + LEARNER_KEY) if learner is not None else None
        learner_lr = self._learner_lr(learner, mark, ctx)
        inline = self.state.inline_learners.get(id(recv)) if learner is None else None
        if inline is not None:  # a method of the factory call itself: vision_learner(...).fine_tune(1)
            mark, own = inline
            why = mark.why_unknown()
            learner_lr = LearnerLr(own) if own is not None else LearnerLr(None, why) if why else None
        read = (args, self.state.version, learner_lr)
        if self.framework.reads_classes:
            read += (self.state.class_sources(),)
        phases, problems = self.framework.training_phases(method, *read)
        for what in problems:
            self.state.warn(line, f"{what} of {call_text} cannot be resolved statically{self.state.via(ctx)}")
        scheduler = self.framework.scheduler_in(args)
        if scheduler is None and isinstance(mark, LearnerMark) and mark.scheduler is not None:
            scheduler = mark.scheduler
        if scheduler is not None and not sets_rate(scheduler):  # a reducer: the rate given is where it starts
            self.state.warn(line, f"learning rate of {call_text} is the starting rate: {scheduler} lowers it when "
                            f"the monitored value stops improving{self.state.via(ctx)}")
        elif scheduler is not None:
            phases = [
                dataclasses.replace(
                    p, learning_rate="", lr_is_default=False, lr_from_learner=False, lr_unknown=None, lr_if_ignored=None
                )
                for p in phases
            ]
            why = f"the scheduler callback {scheduler} sets it"
            self.state.warn(line, f"learning rate of {call_text} unknown: {why}{self.state.via(ctx)}")
        unknown = [p.lr_unknown for p in phases if p.lr_unknown]
        for why in dict.fromkeys(unknown) if unknown else ():
            self.state.warn(line, f"learning rate of {call_text} unknown: {why}{self.state.via(ctx)}")
        for phase in phases:
            if ctx.no_logging:
                if not ctx.no_bar:
                    self.state.emit(ProgressCall(line, learner, method))
                continue
            self.state.emit(
                TrainingCall(
                    line=line,
                    learner=learner,
                    method=method,
                    epochs=phase.epochs,
                    learning_rate=phase.learning_rate,
                    lr_is_default=phase.lr_is_default,
                    part=phase.part,
                    call_text=call_text,
                    lr_from_learner=phase.lr_from_learner,
                    model=phase.model,
                    model_pretrained=phase.model_pretrained,
                    lr_if_ignored=phase.lr_if_ignored,
                )
            )
        if ctx.no_logging:
            self.state.warn(line, f"{call_text} runs under no_logging() and prints no table{self.state.via(ctx)}")

    def _learner_lr(self, learner: str | None, mark: object, ctx: Ctx) -> LearnerLr | None:
        """The rate a fit on ``learner`` without one falls back to (None: the library default), with the
        settings changed on it since it was made (:attr:`~audiometrics.frameworks.Framework.setting_paths`)."""
        found = self._learner_rate(learner, mark, ctx)
        if learner is None or not self.framework.setting_paths:
            return found
        changed = {}
        for path in self.framework.setting_paths:
            entry = ctx.scope.lookup(f"{learner}.{path}")
            if entry is UNKNOWN or isinstance(entry, Value):
                changed[path] = OPAQUE_VALUE if entry is UNKNOWN else entry
        return dataclasses.replace(found, changed=changed) if changed and found is not None else found

    def _learner_rate(self, learner: str | None, mark: object, ctx: Ctx) -> LearnerLr | None:
        if learner is None:
            return None
        for path in self.framework.rate_paths:  # ``model.optimizer.lr = 1e-5`` (set after the rate below)
            entry = ctx.scope.lookup(f"{learner}.{path}")
            if entry is UNKNOWN or isinstance(entry, Value):
                return LearnerLr(OPAQUE_VALUE if entry is UNKNOWN else entry)
        entry = ctx.scope.lookup(f"{learner}.lr")
        if entry is UNKNOWN:
            return LearnerLr(OPAQUE_VALUE)
        if isinstance(entry, Value):
            return LearnerLr(entry)
        if isinstance(mark, LearnerMark):
            why = None if sets_rate(mark.scheduler) else mark.why_unknown()  # (a scheduler is said by the caller)
            return LearnerLr(None, why) if why else None
        return None

    def _ipython_magic(self, node: ast.Call, ctx: Ctx) -> None:
        """``get_ipython().run_line_magic('time', 'learn.fit(1)')`` as written by nbconvert."""
        func = node.func
        recv = func.value  # type: ignore[union-attr]
        if not (isinstance(recv, ast.Call) and callee_name(recv.func) == "get_ipython"):
            return
        consts = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if func.attr == "magic" and len(consts) == 1 and isinstance(consts[0], str):  # type: ignore[union-attr]
            consts = (consts[0].split(None, 1) + [""])[:2]
            func_attr = "run_line_magic"
        else:
            func_attr = func.attr  # type: ignore[union-attr]
        if len(consts) < 2 or not isinstance(consts[0], str):
            return
        name = consts[0]
        code: str | None = None
        if func_attr == "run_line_magic" and isinstance(consts[1], str):
            code = magic_statement(name, consts[1])
        elif func_attr == "run_cell_magic" and len(consts) >= 3 and isinstance(consts[2], str):
            if name in PYTHON_CELL_MAGICS:
                code = consts[2]
        if not code:
            return
        tree, _warnings = parse_python(code)
        self.state.keep.append(tree)
        inner = dataclasses.replace(ctx, src=code, line=self.state.line(node, ctx))
        self.run_block(tree.body, inner)

    # ------------------------------------------------------------------ inlining

    def _globals_declared(self, node: ast.stmt) -> frozenset[str]:
        """The names a function's ``global`` statements declare."""
        return self.relevance.syntax.statement(node).declared

    def _defer(self, entry: FunctionEntry, call: ast.Call, ctx: Ctx, target: Target | None) -> None:
        """Leave a call of a function that cannot emit or change anything (only computes a
        value) to be inlined when its value is wanted: ``self.state.results`` gets a
        :class:`~audiometrics.analysis.scope.Deferred` reading the names the call and the
        functions it reaches load."""

        def compute() -> Value:
            saved = self.state.out, self.state.results
            self.state.out, self.state.results = Out(), {}
            try:
                self._inline(entry, call, ctx, target)
                return self.state.results.get(id(call), OPAQUE_VALUE)
            finally:
                warnings = self.state.out.warnings
                self.state.out, self.state.results = saved
                self.state.out.warnings.extend(warnings)

        deps = {(ctx.scope.peek(name)[1], name) for name in self._loaded(call)}
        seen: set[ast.AST] = set()
        reached = [entry]
        while reached:
            function = reached.pop()
            if function.node in seen:
                continue
            seen.add(function.node)
            for name in self._loaded(function.node):
                found, where = function.scope.peek(name)
                deps.add((where, name))  # (its own locals live in a scope made when it runs)
                if isinstance(found, FunctionEntry):
                    reached.append(found)
        self.state.results[id(call)] = ctx.scope.journal.defer(Deferred(frozenset(deps), compute, OPAQUE_VALUE))

    def _loaded(self, node: ast.AST) -> frozenset[str]:
        """The names ``node`` (a call or a function definition) loads anywhere in it."""
        if isinstance(node, ast.stmt):
            return self.relevance.syntax.statement(node).loaded
        return self.relevance.summary(node, [node]).loaded

    def _inline(
        self, entry: FunctionEntry, call: ast.Call, ctx: Ctx, target: Target | None, pending: list | None = None
    ) -> None:
        name = entry.node.name
        line = self.state.line(call, ctx)
        if name in ctx.stack or len(ctx.stack) >= MAX_INLINE_DEPTH:
            if self.relevance.function_acts(entry, ctx):
                self.state.warn(line, f"recursive call of {name}() not followed")
            self.state.results[id(call)] = OPAQUE_VALUE
            if name not in ctx.stack:  # too deep to follow: what it returns is not known
                self._unknown_learner(call, name, ctx, target, pending)
            return
        local = frame_scope(entry, self._args(call, ctx))
        local.globals.update(self._globals_declared(entry.node))

        outer_text = target.text if target is not None and id(call) in target.calls else None
        frame = Frame(name, outer_text)
        inner = dataclasses.replace(
            ctx, scope=local, src=entry.src, line=line, stack=ctx.stack + (name,), frame=frame
        )
        returned_node: ast.expr | None = None
        with self.state.collect() as out:
            try:
                self.run_block(entry.node.body, inner)
            except Jump as jump:
                if jump.kind == "return":
                    returned_node = jump.node.value  # type: ignore[attr-defined]
                    frame.returns.append(jump.value)
        events = out.events
        if outer_text is not None and isinstance(returned_node, ast.Name) and not frame.nested_return:
            local_name = returned_node.id
            local_entry = settled(local.vars.get(local_name))
            if local_name in local.vars and not (isinstance(local_entry, Value) and local_entry.origin):
                events = [renamed(e, local_name, outer_text) for e in events]
                if local_name in self.state.learners:
                    self.state.learners.add(outer_text)
                if dotted_ok(outer_text):  # what the function knew of its learner goes with it
                    for suffix in (LEARNER_KEY, ".lr"):
                        known = local.vars.get(local_name + suffix)
                        if known is not None:
                            frame.pending.append((outer_text + suffix, settled(known)))
        if pending is not None and outer_text is not None and not frame.nested_return:
            pending.extend(frame.pending)
        self.state.out.events.extend(events)
        self.state.out.warnings.extend(out.warnings)
        if frame.nested_return:
            result = OPAQUE_VALUE
        elif frame.returns:
            result = frame.returns[0]
        else:
            result = finish("None")
        self.state.results[id(call)] = result


def _call_less_rate(spec: PhaseSpec | None) -> dict:
    """The :class:`~audiometrics.model.LearnerCreated` rate fields of a learner's call-less tables."""
    if spec is None:
        return {}
    return {"rate": spec.learning_rate, "rate_is_default": spec.lr_is_default, "rate_unknown": spec.lr_unknown}
