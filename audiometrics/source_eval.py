"""Evaluate literal-ish Python expressions from their :mod:`ast`, never executing code.

Used by :mod:`audiometrics.source` for epochs, flags, subscripts and
conditions. Only constants, containers, arithmetic, comparisons and a few pure
builtins are understood; everything else is :data:`NOPE`.
"""

from __future__ import annotations

import ast
import math
from typing import Any, Callable

MAX_ITEMS = 100_000
"""Largest sequence :func:`evaluate` builds."""




class _Nope:
    def __repr__(self) -> str:  # pragma: no cover
        return "NOPE"


NOPE: Any = _Nope()
"""What :func:`evaluate` returns for an expression it cannot evaluate."""


class _Fail(Exception):
    pass


def evaluate(node: Any) -> Any:
    """Evaluate a literal-ish expression without executing code; NOPE if impossible.

    Supports constants, containers, arithmetic, comparisons, boolean logic,
    subscripts, conditional expressions and a few pure builtins (``slice``,
    ``int``, ``float``, ``len``, ``range``, ``min``, ...). Names are unknown.
    """
    if node is not None and not isinstance(node, ast.AST):
        node = getattr(node, "node", None)  # a source_values.Value
    if node is None:
        return NOPE
    try:
        return _ev(node, 0)
    except (_Fail, ArithmeticError, TypeError, ValueError, KeyError, IndexError, RecursionError, MemoryError):
        return NOPE


def _size_ok(x: Any) -> Any:
    if isinstance(x, (str, bytes, list, tuple, dict, set, frozenset)) and len(x) > MAX_ITEMS:
        raise _Fail
    return x


_SAFE_CALLS: dict[str, Callable[..., Any]] = {
    "slice": slice,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "len": len,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sum": sum,
    "list": list,
    "tuple": tuple,
    "sorted": sorted,
    "range": range,
}


def _ev(node: ast.AST, depth: int) -> Any:
    if depth > 60:
        raise _Fail
    d = depth + 1
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = _ev(node.operand, d)
        if isinstance(node.op, ast.Not):
            return not v
        if isinstance(v, str) or v is None:
            raise _Fail
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return +v
        if isinstance(node.op, ast.Invert) and isinstance(v, int):
            return ~v
        raise _Fail
    if isinstance(node, ast.BinOp):
        left = _ev(node.left, d)
        right = _ev(node.right, d)
        op = node.op
        if isinstance(op, ast.Pow):
            if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
                raise _Fail
            if abs(right) > 1000 or (
                isinstance(left, int) and isinstance(right, int) and right > 0
                and right * math.log2(abs(left) + 1) > 4096
            ):
                raise _Fail
            return left**right
        if isinstance(op, ast.Mult):
            if isinstance(left, (str, list, tuple)) and isinstance(right, int):
                if len(left) * max(right, 0) > MAX_ITEMS:
                    raise _Fail
            if isinstance(right, (str, list, tuple)) and isinstance(left, int):
                if len(right) * max(left, 0) > MAX_ITEMS:
                    raise _Fail
            return _size_ok(left * right)
        if isinstance(op, ast.Mod) and isinstance(left, str):
            raise _Fail
        fn = {
            ast.Add: lambda a, b: a + b,
            ast.Sub: lambda a, b: a - b,
            ast.Div: lambda a, b: a / b,
            ast.FloorDiv: lambda a, b: a // b,
            ast.Mod: lambda a, b: a % b,
        }.get(type(op))
        if fn is None:
            raise _Fail
        return _size_ok(fn(left, right))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            v: Any = True
            for value in node.values:
                v = _ev(value, d)
                if not v:
                    return v
            return v
        v = False
        for value in node.values:
            v = _ev(value, d)
            if v:
                return v
        return v
    if isinstance(node, ast.Compare):
        left = _ev(node.left, d)
        for op, comp in zip(node.ops, node.comparators):
            right = _ev(comp, d)
            if isinstance(op, ast.Eq):
                ok = left == right
            elif isinstance(op, ast.NotEq):
                ok = left != right
            elif isinstance(op, ast.Lt):
                ok = left < right
            elif isinstance(op, ast.LtE):
                ok = left <= right
            elif isinstance(op, ast.Gt):
                ok = left > right
            elif isinstance(op, ast.GtE):
                ok = left >= right
            elif isinstance(op, ast.In):
                ok = left in right
            elif isinstance(op, ast.NotIn):
                ok = left not in right
            elif isinstance(op, ast.Is):
                ok = left is right
            elif isinstance(op, ast.IsNot):
                ok = left is not right
            else:  # pragma: no cover
                raise _Fail
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _ev(node.body, d) if _ev(node.test, d) else _ev(node.orelse, d)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items: list[Any] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                items.extend(_ev(elt.value, d))
            else:
                items.append(_ev(elt, d))
            _size_ok(items)
        if isinstance(node, ast.List):
            return items
        if isinstance(node, ast.Tuple):
            return tuple(items)
        return set(items)
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                out.update(_ev(v, d))
            else:
                out[_ev(k, d)] = _ev(v, d)
        return out
    if isinstance(node, ast.Subscript):
        base = _ev(node.value, d)
        if not isinstance(base, (list, tuple, dict, str, range)):
            raise _Fail
        return base[_ev(node.slice, d)]
    if isinstance(node, ast.Slice):
        return slice(
            _ev(node.lower, d) if node.lower else None,
            _ev(node.upper, d) if node.upper else None,
            _ev(node.step, d) if node.step else None,
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name == "dict":
            if node.args or any(kw.arg is None for kw in node.keywords):
                raise _Fail
            return {kw.arg: _ev(kw.value, d) for kw in node.keywords}
        fn = _SAFE_CALLS.get(name)
        if fn is None or node.keywords:
            raise _Fail
        args = [_ev(a, d) for a in node.args if not isinstance(a, ast.Starred)]
        if len(args) != len(node.args):
            raise _Fail
        if name in ("list", "tuple", "sorted") and args and isinstance(args[0], range):
            if len(args[0]) > MAX_ITEMS:
                raise _Fail
        if name in ("int", "float") and args and isinstance(args[0], str) and len(args[0]) > 100:
            raise _Fail
        if name == "str" and args and not isinstance(args[0], (str, int, float, bool)):
            raise _Fail
        return _size_ok(fn(*args))
    raise _Fail
