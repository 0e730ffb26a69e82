"""Values as the numbers, learning rates and loop items the analysis needs."""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from audiometrics.analysis.walk import child_nodes
from audiometrics.analysis.evaluate import NOPE, evaluate, is_number_expression, number
from audiometrics.analysis.fold import ATOMIC, mapping_items
from audiometrics.analysis.values import (
    OPAQUE,
    OPAQUE_VALUE,
    Positions,
    Value,
    finish,
    normalise,
    parse_expr,
    splice,
)



def format_number(x: float) -> str:
    """Compact scientific form: ``1e-5``, ``2.5e-4``, ``3e-3``; plain digits for exponent 0."""
    if x == 0:
        return "0"
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    mant, exp = f"{x:.12e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    e = int(exp)
    return mant if e == 0 else f"{mant}e{e}"


_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _is_number_literal(s: str) -> bool:
    return bool(_NUMBER_RE.fullmatch(s.strip()))


def _lr_unwrap(text: str, tree: ast.expr | None = None) -> tuple[str, ast.expr | None]:
    """``'1e-3'`` → ``1e-3`` and ``float(1e-3)``/``float('1e-3')`` → ``1e-3``.

    Returns the text and its parse (None if it does not parse); ``tree`` is
    ``text`` already parsed, if the caller has it.
    """
    for _ in range(10):
        if tree is None:
            tree = parse_expr(text)
        if tree is None:
            return text, None
        pos = Positions(text)
        repls: list[tuple[int, int, str]] = []

        def visit(node: ast.AST) -> None:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _is_number_literal(node.value):
                    start, end = pos.span(node)
                    repls.append((start, end, node.value.strip()))
                return
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "float"
                and len(node.args) == 1
                and not node.keywords
            ):
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _is_number_literal(arg.value):
                    start, end = pos.span(node)
                    repls.append((start, end, arg.value.strip()))
                    return
                if isinstance(arg, ast.Constant) and type(arg.value) in (int, float):
                    start, end = pos.span(node)
                    repls.append((start, end, text[slice(*pos.span(arg))]))
                    return
            for child in child_nodes(node):
                visit(child)

        visit(tree)
        if not repls:
            return text, tree
        text = splice(text, repls)
        tree = None
    return text, parse_expr(text)


def _lr_safe(node: ast.AST) -> bool:
    """Whether ``node`` is a learning rate: a number expression, ``slice`` of them, or a non-empty list of them."""
    if isinstance(node, ast.Call):
        return (
            isinstance(node.func, ast.Name)
            and node.func.id == "slice"
            and not node.keywords
            and 1 <= len(node.args) <= 3
            and all(is_number_expression(a) or (isinstance(a, ast.Constant) and a.value is None) for a in node.args)
            and any(is_number_expression(a) for a in node.args)
        )
    if isinstance(node, (ast.List, ast.Tuple)):
        return bool(node.elts) and all(is_number_expression(e) for e in node.elts)
    return is_number_expression(node)


def lr_text(value: Value) -> str | None:
    """The learning-rate text of ``value`` (``1e-1``, ``slice(1e-3, 3e-3)``) or None.

    Only numbers, arithmetic, ``slice(...)`` and lists of those qualify; a
    string holding a number counts as that number. A number keeps its spelling;
    arithmetic is computed (:func:`_computed`).

    >>> lr_text(finish("slice(1e-2/100, 1e-2)")), lr_text(finish("[1e-3*10, 1E-1]")), lr_text(finish("lr"))
    ('slice(1e-4, 1e-2)', '[1e-2, 1E-1]', None)
    """
    if not value.known:
        return None
    text, node = _lr_unwrap(value.text, value.node)
    if node is None or not _lr_safe(node):
        return None
    return normalise(_computed(text, node))


def _computed(text: str, node: ast.expr) -> str:
    """``text`` (``node`` its parse, a learning rate) with each rate in it that is arithmetic
    (``3e-3/10``: the rate, a bound of a ``slice``, an item of a list) replaced by its value in
    compact form (:func:`format_number`: ``3e-4``), as a reader compares rates; a literal keeps
    the author's spelling (``1e-1``, ``0.001``, ``-1e-3``). A value no float holds keeps the text."""
    parts = node.args if isinstance(node, ast.Call) else node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node]
    positions = Positions(text)
    found = []
    for part in parts:
        if any(isinstance(sub, ast.BinOp) for sub in ast.walk(part)):
            rate = number(part)
            if rate is not None and math.isfinite(rate):
                found.append((*positions.span(part), format_number(rate)))
    return splice(text, found) if found else text


def as_int(value: Value | None) -> int | None:
    """The value as an int (``5``, ``5.0``, ``EPOCHS[0]``), else None."""
    if value is None:
        return None
    v = evaluate(value)
    if isinstance(v, bool) or v is NOPE:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*\d{1,100}\s*", v):  # (int() refuses over 4300 digits)
        return int(v)
    return None


def as_number(value: Value | None) -> float | None:
    if value is None:
        return None
    v = evaluate(value)
    if isinstance(v, bool) or v is NOPE:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and _is_number_literal(v):
        return float(v)
    return None


def as_bool(value: Value | None) -> bool | None:
    if value is None:
        return None
    v = evaluate(value)
    if v is NOPE:
        return None
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0", ""):
            return False
        return None
    try:
        return bool(v)
    except Exception:  # pragma: no cover
        return None


# --------------------------------------------------------------------------- iteration


def iter_items(value: Value, limit: int) -> tuple[list[Value] | None, int | None]:
    """Per-iteration Values of ``for x in <value>`` and the iteration count.

    ``(items, count)``: items is None when the elements cannot be listed (or
    there are more than ``limit``); count is None when unknown.
    """
    if not value.known and _count_only(value) is None:
        return None, None
    items = _items(value, value.node, limit)
    if items is not None:
        if len(items) > limit:
            return None, len(items)
        return items, len(items)
    return None, _count_only(value)


def _count_only(value: Value) -> int | None:
    node = value.node
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        r = evaluate(node)
        return len(r) if isinstance(r, range) else None
    if isinstance(node, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in node.elts):
        return len(node.elts)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return len(node.keys)
    v = evaluate(node)
    if isinstance(v, (list, tuple, range, dict, str)):
        return len(v)
    return None


def _literal_text(x: Any) -> str | None:
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return repr(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return format_number(x)
    if isinstance(x, (list, tuple)):
        parts = [_literal_text(e) for e in x]
        if any(p is None for p in parts):
            return None
        if isinstance(x, list):
            return "[" + ", ".join(parts) + "]"  # type: ignore[arg-type]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"  # type: ignore[arg-type]
    return None


def _items(value: Value, node: ast.AST, limit: int) -> list[Value] | None:
    text = value.text
    pos = Positions(text)

    def seg(n: ast.AST) -> str:
        return text[slice(*pos.span(n))]

    if isinstance(node, (ast.List, ast.Tuple)):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return None
        return [finish(seg(e)) for e in node.elts]
    if isinstance(node, ast.Dict):
        if None in node.keys:
            return None
        return [finish(seg(k)) for k in node.keys]  # type: ignore[arg-type]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, times in ((node.left, node.right), (node.right, node.left)):
            n = evaluate(times)
            if isinstance(seq, (ast.List, ast.Tuple)) and type(n) is int:
                base = _items(value, seq, limit)
                if base is None or len(base) * max(n, 0) > limit:
                    return None
                return base * max(n, 0)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        got = _call_items(value, node, node.func.id, limit)
        if got is not None:
            return got
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and not node.args
        and not node.keywords
    ):
        items = mapping_items(node.func.value)
        if items is not None:
            attr = node.func.attr
            if attr == "keys":
                return [finish(_literal_text(k) or OPAQUE) for k, _ in items]
            if attr == "values":
                return [finish(seg(v)) for _, v in items]
            if attr == "items":
                return [finish(f"({_literal_text(k) or OPAQUE}, {seg(v)})") for k, v in items]
    v = evaluate(node)
    if isinstance(v, (list, tuple, range)):
        if len(v) > limit:
            return None
        texts = [_literal_text(x) for x in v]
        if any(t is None for t in texts):
            return None
        return [finish(t) for t in texts]  # type: ignore[arg-type]
    return None


def _call_items(value: Value, node: ast.Call, name: str, limit: int) -> list[Value] | None:
    args = node.args
    if any(isinstance(a, ast.Starred) for a in args):
        return None
    if name == "enumerate" and 1 <= len(args) <= 2:
        start_node: ast.expr | None = args[1] if len(args) == 2 else None
        for kw in node.keywords:
            if kw.arg != "start":
                return None
            start_node = kw.value
        got = _items(value, args[0], limit)
        start = 0 if start_node is None else evaluate(start_node)
        if got is None or type(start) is not int:
            return None
        return [finish(f"({start + i}, {v.text})") for i, v in enumerate(got)]
    if node.keywords:
        return None
    if name == "range":
        r = evaluate(node)
        if not isinstance(r, range) or len(r) > limit:
            return None
        return [finish(str(i)) for i in r]
    if name in ("list", "tuple", "iter") and len(args) == 1:
        return _items(value, args[0], limit)
    if name == "reversed" and len(args) == 1:
        got = _items(value, args[0], limit)
        return None if got is None else list(reversed(got))
    if name == "sorted" and len(args) == 1:
        got = _items(value, args[0], limit)
        if got is None:
            return None
        keys = [evaluate(v) for v in got]
        if any(k is NOPE for k in keys):
            return None
        try:
            order = sorted(range(len(got)), key=lambda i: keys[i])
        except TypeError:
            return None
        return [got[i] for i in order]
    if name == "zip" and args:
        cols = [_items(value, a, limit) for a in args]
        if any(c is None for c in cols):
            return None
        return [
            finish("(" + ", ".join(v.text for v in row) + ("," if len(row) == 1 else "") + ")")
            for row in zip(*cols)  # type: ignore[misc]
        ]
    return None


def element_names(
    node: ast.AST, target: ast.AST, count: int, listed: dict[str, ast.expr]
) -> list[list[tuple[str, ast.Name]]] | None:
    """For a ``for`` over a literal list or tuple, written in the statement or bound to a name at the
    notebook's top level (``listed``; a dict's ``.values()``/``.items()`` too), per iteration the pairs
    (loop variable, element name) where an element is a plain name (``for name, m in [("a", model_a),
    ...]``: ``m`` and ``model_a``); None for any other loop."""
    elements = _literal_elements(getattr(node, "iter", None), listed)
    if elements is None or len(elements.elts) != count:
        return None
    out = []
    for element in elements.elts:
        pairs: list[tuple[str, ast.Name]] = []
        if isinstance(target, ast.Name) and isinstance(element, ast.Name):
            pairs.append((target.id, element))
        elif isinstance(target, ast.Tuple) and isinstance(element, ast.Tuple) and len(target.elts) == len(element.elts):
            pairs.extend((t.id, e) for t, e in zip(target.elts, element.elts) if isinstance(t, ast.Name) and isinstance(e, ast.Name))
        out.append(pairs)
    return out


def _literal_elements(iterable: ast.AST | None, listed: dict[str, ast.expr]) -> ast.List | ast.Tuple | None:
    """The literal list or tuple a loop iterates: written there, bound to a name, or a bound dict's
    ``.values()`` (its values) or ``.items()`` (its (key, value) pairs)."""
    method = None
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) and not iterable.args:
        method, iterable = iterable.func.attr, iterable.func.value
    if isinstance(iterable, ast.Name):
        iterable = listed.get(iterable.id)
    if isinstance(iterable, ast.Dict) and method in ("values", "items") and None not in iterable.keys:
        pairs = zip(iterable.keys, iterable.values)
        return ast.List(elts=list(iterable.values) if method == "values" else [ast.Tuple(elts=[k, v]) for k, v in pairs])
    return iterable if method is None and isinstance(iterable, (ast.List, ast.Tuple)) else None


# --------------------------------------------------------------------------- augmented assignment


def combine(left: Value, op: ast.operator, right: Value) -> Value:
    """``left <op> right`` (for ``x += y``)."""
    if not (left.known and right.known):
        return OPAQUE_VALUE
    sym = _BINOP_SYMBOLS.get(type(op))
    if sym is None:
        return OPAQUE_VALUE
    ltext = left.text if isinstance(left.head, ATOMIC) else f"({left.text})"
    rtext = right.text if isinstance(right.head, ATOMIC) else f"({right.text})"
    return finish(f"{ltext} {sym} {rtext}", fold=False)  # both sides are folded, and an operator adds no site


_BINOP_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
