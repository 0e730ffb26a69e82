"""Fast traversal of :mod:`ast` trees for the source analysis.

:func:`child_nodes` gives what :func:`ast.iter_child_nodes` gives, in the same
order, and :func:`walk` the nodes :func:`ast.walk` gives (depth first, not
breadth first), both less the ``Load``/``Store``/``Del`` context markers (never
visited for themselves: a node's ``ctx`` is read as an attribute). They read
each node type's child fields once and build no generators, which makes them
about 1.5 times as fast: the analysis walks the same trees many times.
"""

from __future__ import annotations

import ast

__all__ = ["child_nodes", "loaded_names", "walk"]

_AST = ast.AST
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(name for name in kind._fields if name != "ctx")
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """The direct child nodes of ``node``, in field order."""
    children: list[ast.AST] = []
    for name in _fields(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, _AST):
            children.append(value)
        elif value.__class__ is list:
            children.extend([item for item in value if isinstance(item, _AST)])
    return children


def walk(node: ast.AST) -> list[ast.AST]:
    """``node`` and every node below it, depth first."""
    found: list[ast.AST] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(child_nodes(current))
    return found


def loaded_names(node: ast.AST) -> set[str]:
    """The names read anywhere in ``node`` (every :class:`ast.Name` not stored to)."""
    names: set[str] = set()
    stack = [node]
    name_kind, store = ast.Name, ast.Store
    while stack:
        current = stack.pop()
        if current.__class__ is name_kind:
            if current.ctx.__class__ is not store:  # type: ignore[attr-defined]
                names.add(current.id)  # type: ignore[attr-defined]
            continue
        stack.extend(child_nodes(current))
    return names
