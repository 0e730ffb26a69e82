"""Values computed when first read: a binding's, and a call's arguments.

A name bound in the notebook's scope to an expression keeps the expression and
the bindings it reads (:func:`lazy_value`: a
:class:`~audiometrics.analysis.scope.Deferred`, computed before any of them is
written, or when the name is first looked up): a value nothing reads (no learner
creation, training call, loop or condition) is never computed.

The call handler (:mod:`~audiometrics.analysis.calls`) hands a framework a call's
arguments as :class:`~audiometrics.frameworks.base.Args`; a framework reads a few
of them (the architecture, ``lr=``, the epochs) and most of the others are never
looked at (``dls``, whose value is the whole data pipeline's text). So the
arguments are kept as thunks until read. They are read only while the call is
handled, under the bindings of the call (an inlined function's frame reads all
its arguments before its body runs): no :class:`~audiometrics.frameworks.base.Args`
outlives the handling of its call.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Union

from audiometrics.analysis.scope import Ctx, Deferred
from audiometrics.analysis.values import OPAQUE_VALUE, Value
from audiometrics.analysis.walk import loaded_names

if TYPE_CHECKING:  # pragma: no cover
    from audiometrics.analysis.state import State

__all__ = ["LazyValues", "LazyKeywords", "lazy_value", "never_unpacked"]

_EAGER = (ast.Name, ast.Constant)
"""Expressions whose value is as cheap to make as to defer."""
_UNPACKABLE_CALLEES = frozenset({"tuple", "list"})
"""Callees whose call a value may fold to a literal container (``tuple([1, 2])``)."""


def lazy_value(state: "State", value: ast.expr, ctx: Ctx) -> Deferred | None:
    """The value of ``value`` left to be computed when a name bound to it is first looked up (a
    :class:`~audiometrics.analysis.scope.Deferred` reading the names ``value`` loads), for an
    expression of the notebook's own scope that is more than a name or a literal; else None
    (the caller values it now)."""
    if ctx.scope is not state.globals or type(value) in _EAGER or (
        type(value) is ast.Call and id(value) in state.results
    ):
        return None
    scope = ctx.scope
    deps = frozenset((scope, name) for name in loaded_names(value))
    return Deferred(deps, lambda: state.value(value, ctx), OPAQUE_VALUE)


def never_unpacked(state: "State", value: ast.expr) -> bool:
    """Whether ``value`` is a call whose value, however it is read, is a call again (not a literal
    tuple or list a target could unpack: ``a, b = learn.get_preds()`` binds nothing known): not an
    inlined notebook function, not a ``.get`` that may fold a literal container."""
    if type(value) is not ast.Call or id(value) in state.results:
        return False
    func = value.func
    return type(func) is ast.Name and func.id not in _UNPACKABLE_CALLEES or (
        type(func) is ast.Attribute and func.attr != "get"
    )

Item = Union[Value, Callable[[], Value]]


def _get(items: list, index: int) -> Value:
    item = items[index]
    if type(item) is not Value and callable(item):
        item = items[index] = item()
    return item


class LazyValues(Sequence):
    """A tuple of Values whose items may be thunks, computed on first read.

    >>> values = LazyValues([Value("1", None), lambda: Value("2", None)])
    >>> len(values), values[1].text, [v.text for v in values + (Value("3", None),)]
    (2, '2', ['1', '2', '3'])
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items = list(items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return tuple(_get(self._items, i) for i in range(*index.indices(len(self._items))))
        return _get(self._items, index)

    def __iter__(self) -> Iterator[Value]:
        for i in range(len(self._items)):
            yield _get(self._items, i)

    def __add__(self, other: Sequence) -> "LazyValues":
        return LazyValues([*self._items, *(other._items if isinstance(other, LazyValues) else other)])

    def __radd__(self, other: Sequence) -> "LazyValues":
        return LazyValues([*other, *self._items])

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"LazyValues({self._items!r})"


class LazyKeywords(Mapping):
    """A mapping of keyword names to Values whose items may be thunks, computed on first read.

    >>> kw = LazyKeywords({"lr": lambda: Value("1e-3", None)})
    >>> "lr" in kw, kw.get("lr").text, kw.get("wd")
    (True, '1e-3', None)
    """

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, Item] | None = None) -> None:
        self._items: dict[str, Item] = dict(items or {})

    def __getitem__(self, key: str) -> Value:
        item = self._items[key]
        if type(item) is not Value and callable(item):
            item = self._items[key] = item()
        return item

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"LazyKeywords({self._items!r})"
