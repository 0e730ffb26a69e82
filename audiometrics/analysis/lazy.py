"""A call's argument values, each computed when a reader first asks for it.

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

from collections.abc import Mapping, Sequence
from typing import Callable, Iterable, Iterator, Union

from audiometrics.analysis.values import Value

__all__ = ["LazyValues", "LazyKeywords"]

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
