"""Folding of literal containers for :mod:`~audiometrics.analysis.values`.

A subscript, ``.get(...)`` or attribute of a literal list, tuple or dict, or of a
namespace call (``dict(...)``, ``SimpleNamespace(...)``), is replaced by the text
of the element it selects (``[1e-1, 1e-2][1]`` → ``1e-2``): :func:`fold_text`. Also
here: which nodes are atomic and when a value put in place of a node needs
brackets (:func:`needs_parens`), shared with substitution.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from audiometrics.analysis.evaluate import NOPE, evaluate
from audiometrics.analysis.text import MAX_TEXT, Positions, parse_expr, splice
from audiometrics.analysis.walk import child_nodes, walk

__all__ = [
    "ATOMIC",
    "needs_parens",
    "is_container",
    "callee",
    "mapping_items",
    "may_have_fold_site",
    "has_fold_site",
    "fold_text",
]

ATOMIC = (
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.JoinedStr,
)
"""Node kinds whose source text binds tighter than any operator: put in anywhere as is."""


def needs_parens(replacement: ast.expr, node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether text of kind ``replacement`` put in place of ``node`` (a child of ``parent``) needs brackets."""
    if isinstance(replacement, ATOMIC):
        if isinstance(replacement, ast.Constant) and isinstance(parent, ast.Attribute):
            return isinstance(replacement.value, (int, float, complex))
        return False
    if parent is None:
        return False
    if isinstance(parent, ast.Call) and node is not parent.func:
        return False
    if isinstance(parent, (ast.keyword, ast.List, ast.Tuple, ast.Set, ast.Dict)):
        return False
    if isinstance(parent, ast.Subscript) and node is parent.slice:
        return False
    return True


def is_container(node: ast.AST) -> bool:
    """A literal list, tuple or dict, or a namespace call (``dict(...)``, ``SimpleNamespace(...)``)."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Dict)):
        return True
    return isinstance(node, ast.Call) and callee(node.func) in _NAMESPACE_CALLS

_NAMESPACE_CALLS = {"SimpleNamespace", "Namespace", "EasyDict", "edict", "AttrDict", "Box", "dict"}
_SUBSCRIPTABLE = _NAMESPACE_CALLS - {"SimpleNamespace", "Namespace"}
_ATTRIBUTE_ACCESS = _NAMESPACE_CALLS - {"dict"}
_MAYBE_FOLDABLE = re.compile(r"[\]\)\}]\s*\[|[\)\}]\s*\.\s*get\s*\(")
"""What a foldable subscript or ``.get(...)`` needs in the text: a literal container (``[...]``,
``(...)``, ``{...}``) or a namespace call (``dict(...)``) right before it."""
_NAMESPACE_CALL = re.compile(r"\b(?:" + "|".join(sorted(_ATTRIBUTE_ACCESS)) + r")\s*\(")
_CALL_ATTRIBUTE = re.compile(r"\)\s*\.")


def _maybe_foldable(text: str) -> bool:
    """Whether ``text`` may hold something :func:`fold_text` folds (a cheap test that can say yes wrongly)."""
    if "#" in text:  # a comment could sit between a container and its subscript
        return "[" in text or "." in text
    if _MAYBE_FOLDABLE.search(text):
        return True
    return _NAMESPACE_CALL.search(text) is not None and _CALL_ATTRIBUTE.search(text) is not None


def callee(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def mapping_items(node: ast.AST) -> list[tuple[Any, ast.expr]] | None:
    """Keys and value nodes of a dict literal / dict(...) / SimpleNamespace(...) call."""
    if isinstance(node, ast.Dict):
        out = []
        for k, v in zip(node.keys, node.values):
            if k is None:
                return None
            key = evaluate(k)
            if key is NOPE:
                return None
            out.append((key, v))
        return out
    if isinstance(node, ast.Call) and callee(node.func) in _NAMESPACE_CALLS:
        out = []
        if node.args:
            if len(node.args) != 1:
                return None
            inner = mapping_items(node.args[0])
            if inner is None:
                return None
            out.extend(inner)
        for kw in node.keywords:
            if kw.arg is None:
                return None
            out.append((kw.arg, kw.value))
        return out
    return None


def _lookup_key(items: list[tuple[Any, ast.expr]], key: Any) -> ast.expr | None:
    found = None
    for k, v in items:
        try:
            if k == key:
                found = v  # the last duplicate wins, as in a dict display
        except Exception:  # pragma: no cover - exotic constants
            continue
    return found


def _fold_one(node: ast.AST, text: str, pos: Positions) -> str | None:
    """Replacement text for a foldable node, or None."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if isinstance(node.value, (ast.List, ast.Tuple)):
            return _fold_sequence_subscript(node, node.value, text, pos)
        return _fold_mapping_subscript(node, text, pos)
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        base = node.value
        if isinstance(base, ast.Call) and callee(base.func) in _ATTRIBUTE_ACCESS:
            items = mapping_items(base)
            val = None if items is None else _lookup_key(items, node.attr)
            return None if val is None else text[slice(*pos.span(val))]
        return None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and not node.keywords
        and 1 <= len(node.args) <= 2
    ):
        return _fold_get(node, text, pos)
    return None


def _fold_sequence_subscript(node: ast.Subscript, base: ast.List | ast.Tuple, text: str, pos: Positions) -> str | None:
    """``[a, b][1]`` → ``b``; ``(a, b, c)[:2]`` → ``(a, b)``."""
    if any(isinstance(e, ast.Starred) for e in base.elts):
        return None
    if isinstance(node.slice, ast.Slice):
        idx = evaluate(node.slice)
        if not isinstance(idx, slice):
            return None
        try:
            chosen = base.elts[idx]
        except (TypeError, ValueError):
            return None
        parts = [text[slice(*pos.span(e))] for e in chosen]
        if isinstance(base, ast.List):
            return "[" + ", ".join(parts) + "]"
        if len(parts) == 1:
            return f"({parts[0]},)"
        return "(" + ", ".join(parts) + ")"
    idx = evaluate(node.slice)
    if type(idx) is not int:
        return None
    try:
        elt = base.elts[idx]
    except IndexError:
        return None
    return text[slice(*pos.span(elt))]


def _fold_mapping_subscript(node: ast.Subscript, text: str, pos: Positions) -> str | None:
    """``{'a': 1}['a']`` / ``dict(a=1)['a']`` → ``1``."""
    base = node.value
    items = mapping_items(base)
    if items is None or not (isinstance(base, ast.Dict) or callee(base.func) in _SUBSCRIPTABLE):  # type: ignore[attr-defined]
        return None
    key = evaluate(node.slice)
    if key is NOPE:
        return None
    val = _lookup_key(items, key)
    return None if val is None else text[slice(*pos.span(val))]


def _fold_get(node: ast.Call, text: str, pos: Positions) -> str | None:
    """``{'a': 1}.get('a')`` → ``1``; a missing key gives the default, or ``None``."""
    items = mapping_items(node.func.value)  # type: ignore[attr-defined]
    if items is None:
        return None
    key = evaluate(node.args[0])
    if key is NOPE:
        return None
    val = _lookup_key(items, key)
    if val is None:
        val = node.args[1] if len(node.args) == 2 else None
        if val is None:
            return "None"
    return text[slice(*pos.span(val))]


def may_have_fold_site(text: str) -> bool:
    """What :func:`has_fold_site` needs in the text: ``[``, ``.get`` or a namespace call."""
    return "[" in text or ".get" in text or ("(" in text and _NAMESPACE_CALL.search(text) is not None)


def has_fold_site(tree: ast.AST) -> bool:
    """Whether ``tree`` has a subscript, ``.get(...)`` or attribute on a literal container or
    namespace call: the sites :func:`_fold_one` can fold, whatever their index."""
    for node in walk(tree):
        if isinstance(node, ast.Subscript):
            if is_container(node.value):
                return True
        elif isinstance(node, ast.Attribute):
            base = node.value
            if isinstance(base, ast.Call) and callee(base.func) in _NAMESPACE_CALLS:
                return True
            if node.attr == "get" and isinstance(base, ast.Dict):
                return True
    return False


def fold_text(text: str, tree: ast.expr | None = None) -> str:
    """Fold subscripts of literal containers; returns ``text`` itself if nothing folds."""
    for _ in range(25):
        if not _maybe_foldable(text):
            return text  # nothing foldable
        if tree is None:
            tree = parse_expr(text)
        if tree is None:
            return text
        pos = Positions(text)
        repls: list[tuple[int, int, str]] = []

        def visit(node: ast.AST, parent: ast.AST | None) -> None:
            if isinstance(node, ast.Lambda):
                return
            new = _fold_one(node, text, pos) if isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)) else None
            if new is not None:
                start, end = pos.span(node)
                if parent is not None:
                    sub = parse_expr(new)  # (parsed once: its kind says whether it needs brackets)
                    if sub is not None and not isinstance(sub, ATOMIC) and needs_parens(sub, node, parent):
                        new = f"({new})"
                repls.append((start, end, new))
                return
            for child in child_nodes(node):
                visit(child, node)

        visit(tree, None)
        if not repls:
            return text
        text = splice(text, repls)
        tree = None
        if len(text) > MAX_TEXT:
            return text
    return text
