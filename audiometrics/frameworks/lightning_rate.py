"""The learning rate a LightningModule's own code sets, read from its class with ``ast``.

Lightning has no rate of its own: ``trainer.fit(model)`` trains with the
optimizer the module's ``configure_optimizers`` builds. When the module's class
is defined in the notebook, :func:`module_rate` reads that method:

* the ``torch.optim`` optimizer it builds (one; several that agree count as one)
  and its rate: ``lr=``/the second argument, or the class's default
  (:data:`~audiometrics.frameworks.torch_optim.DEFAULT_RATES`, marked default);
* the rate as a literal (``1e-3``), a notebook constant (``LR``), a local name
  bound once in the method, or ``self.hparams.lr``/``self.hparams["lr"]``/
  ``self.lr`` traced to the ``__init__`` parameter it comes from (directly, or
  through ``self.lr = lr``): the constructor's argument where the module is built,
  else the parameter's default;
* unknown, said, when the method returns a scheduler (it sets the rate), builds
  optimizers that disagree, or the rate comes from anywhere else (a checkpoint's
  hyperparameters: ``load_from_checkpoint``).

Methods are looked up through base classes the notebook also defines. Nothing is
run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from audiometrics.analysis.convert import lr_text
from audiometrics.analysis.fold import callee
from audiometrics.analysis.values import Value
from audiometrics.analysis.walk import walk
from audiometrics.frameworks.base import Classes, ClassSource
from audiometrics.frameworks.torch_optim import DEFAULT_RATES, optimizer_calls, rate_argument

__all__ = ["Rate", "module_rate"]

_MAX_DEPTH = 8


@dataclass(frozen=True)
class Rate:
    """A rate read from a module's code: its text (None when not known), whether it is the
    optimizer's default, and why it is not known (None when the code says nothing either way)."""

    text: str | None
    default: bool = False
    why: str | None = None


def module_rate(source: ClassSource, module: Value | None, classes: Classes) -> Rate:
    """The rate ``configure_optimizers`` of the module's class sets, for the module ``module``
    (its constructor call, or ``X.load_from_checkpoint(...)``); ``Rate(None)`` when the class
    has no such method (the caller falls back to the constructor's ``lr=``)."""
    found = _method(source, "configure_optimizers", classes)
    if found is None:
        return Rate(None)
    _owner, method = found
    optimizers, schedulers = optimizer_calls(walk(method))
    if schedulers:
        return Rate(None, why=f"the module's configure_optimizers uses the scheduler {schedulers[0]}, which sets it")
    if not optimizers:
        return Rate(None, why="the module's configure_optimizers builds no torch.optim optimizer the analysis knows")
    tracer = _Tracer(source, module, classes, method)
    rates = {tracer.optimizer_rate(call) for call in optimizers}
    if len(rates) > 1:
        return Rate(None, why="the module's configure_optimizers builds optimizers with different rates")
    return rates.pop()


def _method(source: ClassSource, name: str, classes: Classes, depth: int = 0) -> tuple[ClassSource, ast.FunctionDef] | None:
    """``name`` defined in the class or, first found, in a base class the notebook defines."""
    for statement in source.node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            return source, statement  # type: ignore[return-value]
    if depth >= _MAX_DEPTH:
        return None
    for base in source.node.bases:
        parent = classes.get(callee(base) or "")
        if parent is not None and parent is not source:
            found = _method(parent, name, classes, depth + 1)
            if found is not None:
                return found
    return None


class _Tracer:
    """Follows a rate expression of ``configure_optimizers`` to where its value is written."""

    def __init__(self, source: ClassSource, module: Value | None, classes: Classes, method: ast.FunctionDef) -> None:
        self.source, self.module, self.classes, self.method = source, module, classes, method
        self.locals = _bound_once(method.body)
        args = method.args
        # names the method binds (its parameters among them): not the notebook's, whatever they hold
        self.own = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
        self.own.update(n.id for n in walk(method) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))

    def optimizer_rate(self, call: ast.Call) -> Rate:
        expr = rate_argument(call)
        if expr is None:
            if any(k.arg is None for k in call.keywords):
                return Rate(None, why="the module's optimizer takes **keyword arguments")
            default = DEFAULT_RATES.get(callee(call.func) or "")
            if default is None:
                return Rate(None, why=f"the module's {callee(call.func)} is given no lr (its default differs between torch versions)")
            return Rate(default, default=True)
        return self.expression(expr, 0)

    def expression(self, expr: ast.expr, depth: int) -> Rate:
        if depth > _MAX_DEPTH:
            return self._unknown(expr)
        if isinstance(expr, ast.Name) and expr.id in self.locals:
            return self.expression(self.locals[expr.id], depth + 1)
        attribute = _self_attribute(expr)
        if attribute is not None:
            return self.attribute(attribute, expr, depth)
        if any(isinstance(n, ast.Name) and n.id in self.own or isinstance(n, ast.Call) and callee(n.func) != "slice"
               for n in walk(expr)):
            return self._unknown(expr)
        return self._text(self.source.value(expr), expr)

    def attribute(self, name: str, expr: ast.expr, depth: int) -> Rate:
        """``self.hparams.<name>``/``self.<name>``: the ``__init__`` parameter or value it holds."""
        found = _method(self.source, "__init__", self.classes)
        if found is None:
            return self._unknown(expr)
        owner, init = found
        params = _params(init)
        if name in params:
            return self.parameter(name, params[name], owner, init)
        assigned = _self_assignments(init).get(name)
        if isinstance(assigned, ast.Name) and assigned.id in params:
            return self.parameter(assigned.id, params[assigned.id], owner, init)
        if assigned is not None and not any(isinstance(n, (ast.Name, ast.Call)) for n in walk(assigned)):
            return self._text(owner.value(assigned), assigned)
        return self._unknown(expr)

    def parameter(self, name: str, default: ast.expr | None, owner: ClassSource, init: ast.FunctionDef) -> Rate:
        """The argument the module's constructor gives ``name``, else its default."""
        module = self.module
        call = module.node if module is not None and module.known else None
        if not isinstance(call, ast.Call):
            return Rate(None, why=f"the module's {name} is set where the analysis cannot see (the module is not built in the notebook)")
        if callee(call.func) == "load_from_checkpoint":
            return Rate(None, why=f"the module's {name} comes from the checkpoint's hyperparameters")
        for keyword in call.keywords:
            if keyword.arg == name:
                return self._text(module.sub(keyword.value), keyword.value)  # type: ignore[union-attr]
            if keyword.arg is None:
                return Rate(None, why=f"the module's {name} may come from **keyword arguments")
        positional = [a.arg for a in [*init.args.posonlyargs, *init.args.args][1:]]
        index = positional.index(name) if name in positional else None
        if index is not None and index < len(call.args):
            if any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
                return Rate(None, why=f"the module's {name} may come from *arguments")
            return self._text(module.sub(call.args[index]), call.args[index])  # type: ignore[union-attr]
        if default is None:
            return self._unknown_name(name)
        return self._text(owner.value(default), default)

    def _text(self, value: Value, expr: ast.expr) -> Rate:
        text = lr_text(value)
        return Rate(text) if text is not None else self._unknown(expr)

    @staticmethod
    def _unknown(expr: ast.expr) -> Rate:
        return Rate(None, why=f"the rate `{ast.unparse(expr)[:80]}` of the module's configure_optimizers cannot be resolved statically")

    @staticmethod
    def _unknown_name(name: str) -> Rate:
        return Rate(None, why=f"the module's {name} has no default and is not given")


def _self_attribute(expr: ast.expr) -> str | None:
    """``name`` of ``self.hparams.name``, ``self.hparams["name"]``, ``self.hparams.get("name")`` or ``self.name``."""
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and expr.args:
        inner, key = expr.func.value, expr.args[0]
        if _is_hparams(inner) and isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
        return None
    if isinstance(expr, ast.Subscript) and _is_hparams(expr.value):
        key = expr.slice
        return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
    if isinstance(expr, ast.Attribute):
        if _is_hparams(expr.value):
            return expr.attr
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return expr.attr
    return None


def _is_hparams(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in ("hparams", "hyperparameters") and isinstance(node.value, ast.Name) and node.value.id == "self"


def _params(init: ast.FunctionDef) -> dict[str, ast.expr | None]:
    """``__init__``'s parameters (``self`` aside) and their defaults (None: none)."""
    args = init.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    found = {a.arg: d for a, d in zip(positional, defaults)}
    found.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults)})
    found.pop(positional[0].arg if positional else "self", None)
    return found


def _self_assignments(init: ast.FunctionDef) -> dict[str, ast.expr]:
    """``self.name = expr`` at the top of ``__init__``, for names assigned once."""
    seen: dict[str, ast.expr | None] = {}
    for statement in init.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                seen[target.attr] = statement.value if target.attr not in seen else None
    return {k: v for k, v in seen.items() if v is not None}


def _bound_once(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Names a method binds exactly once, by a plain ``name = expr`` at its top level (others: not followed)."""
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    for statement in body:
        for node in walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            values[statement.targets[0].id] = statement.value
    return {name: value for name, value in values.items() if counts.get(name) == 1}
