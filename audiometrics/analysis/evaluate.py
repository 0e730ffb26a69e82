"""Evaluate literal-ish Python expressions from their :mod:`ast`, never executing code.

Used by :mod:`audiometrics.analysis.analyser` for epochs, flags, subscripts and
conditions. Only constants, containers, arithmetic, comparisons and a few pure
builtins are understood; everything else is :data:`NOPE`.

Every evaluation is bounded: it is charged one step per node and one per
element it builds, copies, sorts, compares or iterates (``sum(range(n))`` costs
``n``), and it may not build a sequence of more than :data:`MAX_ITEMS` elements,
a value heavier than :data:`MAX_WEIGHT` (nested elements counted), compute an
integer of more than :data:`MAX_INT_BITS` bits, or take more than
:data:`MAX_STEPS` steps; the evaluations of one cell (:func:`begin_cell` to
:func:`end_cell`) together may take :data:`CELL_STEPS`. What would exceed a
bound is never computed: the expression is :data:`NOPE` and is remembered, for
the analysis to warn about (:func:`end_cell`), so ``sum(range(10**12))``,
``0.5 in range(10**12)`` or ``10**10**10`` cost microseconds, not hours.

This is the one literal evaluator of the package: :func:`number` (a
learning-rate text's value, for the loader's ``lr_max``) and
:func:`is_number_expression` (which texts are learning rates) build on it.

Also here, for the analysis: :func:`small_ints` (a guard for arithmetic done
outside :func:`evaluate`) and :func:`escape_for_parser` (cell text that
Python's parser would refuse: lone surrogates, NUL).
"""

from __future__ import annotations

import ast
import math
import re
import threading
from typing import Any, Callable

__all__ = [
    "NOPE",
    "evaluate",
    "begin_cell",
    "end_cell",
    "costly",
    "small_ints",
    "escape_for_parser",
    "is_number_expression",
    "number",
    "NUMBER_OPS",
    "steps_taken",
    "MAX_ITEMS",
    "MAX_INT_BITS",
    "MAX_WEIGHT",
    "MAX_STEPS",
    "CELL_STEPS",
]

MAX_ITEMS = 100_000
"""Largest sequence (or string) :func:`evaluate` builds."""

MAX_INT_BITS = 4096
"""Largest integer, in bits, :func:`evaluate` computes or computes with."""

MAX_WEIGHT = 1_000_000
"""Largest value :func:`evaluate` builds, counting the elements of nested containers
(each time one appears) and a step per 16 characters of strings."""

MAX_STEPS = 2_000_000
"""Steps one :func:`evaluate` call may take."""

CELL_STEPS = 10_000_000
"""Steps all evaluations between two :func:`begin_cell` calls may take together."""

_MAX_DEPTH = 60
_MAX_RANGE = 2**62


class _Nope:
    def __repr__(self) -> str:  # pragma: no cover
        return "NOPE"


NOPE: Any = _Nope()
"""What :func:`evaluate` returns for an expression it cannot evaluate."""


class _Fail(Exception):
    """The expression is not one this evaluator understands."""


class _TooCostly(Exception):
    """Evaluating the expression would exceed a bound."""


class _State(threading.local):
    def __init__(self) -> None:
        self.total = 0  # steps taken by every evaluation in this thread
        self.cell = 0  # steps taken since begin_cell
        self.in_cell = False  # between begin_cell and end_cell: the cell budget applies
        self.costly: list[str] = []  # texts of expressions left unknown for their cost


_STATE = _State()


def begin_cell() -> None:
    """Start a cell: forget the costly expressions and steps so far; until :func:`end_cell`, evaluations share :data:`CELL_STEPS`."""
    _STATE.cell = 0
    _STATE.costly = []
    _STATE.in_cell = True


def end_cell() -> list[str]:
    """End the cell :func:`begin_cell` started; the texts of the expressions it left unknown for their cost."""
    _STATE.in_cell = False
    return costly()


def costly() -> list[str]:
    """Texts (shortened) of the expressions left unknown for their cost since :func:`begin_cell`."""
    return list(_STATE.costly)


def small_ints(*values: int, bits: int = 64, what: str = "") -> bool:
    """Whether every value is an int of at most ``bits`` bits, to compute with outside :func:`evaluate`.

    When not, ``what`` (the expression that would be computed) is listed by :func:`costly`.
    """
    if all(isinstance(v, int) and v.bit_length() <= bits for v in values):
        return True
    if what and len(_STATE.costly) < 20:
        _STATE.costly.append(what)
    return False


_UNPARSABLE = re.compile("[\x00\ud800-\udfff]")


def escape_for_parser(text: str) -> str:
    """``text`` with each lone surrogate and NUL (valid in notebook JSON, refused by Python's parser) escaped.

    A surrogate becomes its ``\\uXXXX`` escape and NUL ``\\x00``: in a string
    literal the escape keeps the value (``'\\ud800'`` is that surrogate again), in
    a comment it is harmless, so the rest of the cell is still analysed.
    """
    if text.isascii() and "\x00" not in text:
        return text
    return _UNPARSABLE.sub(lambda m: "\\x00" if m.group() == "\x00" else f"\\u{ord(m.group()):04x}", text)


def steps_taken() -> int:
    """Steps taken by all evaluations in this thread so far (a measure of work, for tests)."""
    return _STATE.total


def evaluate(node: Any) -> Any:
    """Evaluate a literal-ish expression without executing code; NOPE if impossible.

    Supports constants, containers, arithmetic, comparisons, boolean logic,
    subscripts, conditional expressions and a few pure builtins (``slice``,
    ``int``, ``float``, ``len``, ``range``, ``min``, ...). Names are unknown.
    ``node`` is an :mod:`ast` node or a :class:`~audiometrics.analysis.values.Value`. An expression
    whose evaluation would exceed a bound (see the module docs) is NOPE and is
    listed by :func:`costly`.
    """
    text = getattr(node, "text", None)
    if node is not None and not isinstance(node, ast.AST):
        node = getattr(node, "node", None)  # an audiometrics.analysis.values.Value
    if node is None:
        return NOPE
    budget = _Budget()
    try:
        if _STATE.in_cell and _STATE.cell >= CELL_STEPS:
            raise _TooCostly
        got = _ev(node, 0, budget)
        if isinstance(got, range) and _length(got) > _MAX_RANGE:
            raise _TooCostly  # callers take len() of ranges
        return got
    except _TooCostly:
        _note_costly(node, text)
        return NOPE
    except (_Fail, ArithmeticError, TypeError, ValueError, KeyError, IndexError, RecursionError, MemoryError):
        return NOPE
    finally:
        _STATE.total += budget.steps
        _STATE.cell += budget.steps


def _note_costly(node: ast.AST, text: str | None) -> None:
    if len(_STATE.costly) >= 20:
        return
    if not isinstance(text, str):
        try:
            text = ast.unparse(node) if _small(node) else "<a very large expression>"
        except (ValueError, RecursionError):  # an int literal too long to print
            text = "<expression>"
    text = " ".join(text.split())
    _STATE.costly.append(text if len(text) <= 80 else text[:77] + "...")


def _small(node: ast.AST) -> bool:
    count = 0
    for _ in ast.walk(node):
        count += 1
        if count > 500:
            return False
    return True


class _Budget:
    """Steps one evaluation has taken; raises :class:`_TooCostly` past :data:`MAX_STEPS`."""

    __slots__ = ("steps", "weights")

    def __init__(self) -> None:
        self.steps = 0
        self.weights: dict[int, tuple[Any, int]] = {}  # id(container) -> (container, weight)

    def charge(self, n: int) -> None:
        steps = self.steps + n
        if steps > MAX_STEPS or (_STATE.in_cell and _STATE.cell + steps > CELL_STEPS):
            raise _TooCostly  # the steps refused are not counted: they were never taken
        self.steps = steps


def _length(x: Any) -> int:
    """Number of elements of a sized value (a range's without overflow); 1 for a scalar."""
    if isinstance(x, range):
        if (x.step > 0 and x.start >= x.stop) or (x.step < 0 and x.start <= x.stop):
            return 0
        return (abs(x.stop - x.start) + abs(x.step) - 1) // abs(x.step)
    if isinstance(x, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(x)
    return 1


def _size_ok(x: Any, budget: _Budget) -> Any:
    """``x`` itself, when within the size bounds (the check is charged to ``budget``).

    The bounds: no sequence or string of more than :data:`MAX_ITEMS` elements or
    characters, no integer of more than :data:`MAX_INT_BITS` bits, and a weight of
    at most :data:`MAX_WEIGHT`, the elements of nested containers included each
    time a container appears (``[[0] * 99999] * 99999`` is too heavy: comparing or
    hashing it visits them all).
    """
    if _weight(x, budget) > MAX_WEIGHT:
        raise _TooCostly
    return x


_CONTAINERS = (list, tuple, set, frozenset, dict)


def _flat_weight(items: Any) -> int | None:
    """The weight of a container of only numbers or only strings, found at C speed; None for others."""
    kinds = set(map(type, items))
    if kinds <= {int, bool}:
        if items and max(map(int.bit_length, items)) > MAX_INT_BITS:
            raise _TooCostly
    elif kinds == {str}:
        if max(map(len, items)) > MAX_ITEMS:
            raise _TooCostly
        return 1 + len(items) + sum(map(len, items)) // 16
    elif not kinds <= {float, type(None)}:
        return None
    return 1 + len(items)


def _weight(x: Any, budget: _Budget) -> int:
    """The weight of ``x`` (see :func:`_size_ok`); each container is walked once per evaluation."""
    if isinstance(x, _CONTAINERS):
        seen = budget.weights.get(id(x))
        if seen is not None:
            return seen[1]
        if len(x) > MAX_ITEMS:
            raise _TooCostly
        budget.charge(len(x))
        items = (*x, *x.values()) if isinstance(x, dict) else x
        weight = _flat_weight(items)
        if weight is None:
            weight = 1
            for item in items:
                weight += 1 if item is None or isinstance(item, float) else _weight(item, budget)
                if weight > MAX_WEIGHT:
                    raise _TooCostly
        budget.weights[id(x)] = (x, weight)  # (x kept alive: its id stays its own)
        return weight
    if isinstance(x, int):
        if x.bit_length() > MAX_INT_BITS:
            raise _TooCostly
    elif isinstance(x, range):
        if any(b.bit_length() > MAX_INT_BITS for b in (x.start, x.stop, x.step)):
            raise _TooCostly
    elif isinstance(x, (str, bytes)):
        if len(x) > MAX_ITEMS:
            raise _TooCostly
        return 1 + len(x) // 16
    return 1


def _int_bits(x: Any) -> int:
    return x.bit_length() if isinstance(x, int) else 0


# --------------------------------------------------------------------------- nodes


def _ev(node: ast.AST, depth: int, budget: _Budget) -> Any:
    if depth > _MAX_DEPTH:
        raise _Fail
    budget.charge(1)
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise _Fail
    return handler(node, depth + 1, budget)


def _constant(node: ast.Constant, d: int, budget: _Budget) -> Any:
    return node.value


def _unary(node: ast.UnaryOp, d: int, budget: _Budget) -> Any:
    v = _ev(node.operand, d, budget)
    if isinstance(node.op, ast.Not):
        return not v
    if isinstance(v, str) or v is None:
        raise _Fail
    _size_ok(v, budget)
    if isinstance(node.op, ast.USub):
        return -v
    if isinstance(node.op, ast.UAdd):
        return +v
    if isinstance(node.op, ast.Invert) and isinstance(v, int):
        return ~v
    raise _Fail


_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
}

_SEQUENCES = (str, bytes, list, tuple)


def _binop(node: ast.BinOp, d: int, budget: _Budget) -> Any:
    left = _size_ok(_ev(node.left, d, budget), budget)
    right = _size_ok(_ev(node.right, d, budget), budget)
    op = type(node.op)
    fn = _ARITH.get(op)
    if fn is None or (op is ast.Mod and isinstance(left, (str, bytes))):
        raise _Fail
    if op is ast.Pow:
        _check_pow(left, right)
    elif op is ast.Mult and isinstance(left, _SEQUENCES) != isinstance(right, _SEQUENCES):
        seq, times = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
        if isinstance(times, int) and len(seq) * max(times, 0) > MAX_ITEMS:
            raise _TooCostly
    elif op is ast.Mult and _int_bits(left) + _int_bits(right) > MAX_INT_BITS + 1:
        raise _TooCostly
    budget.charge(_length(left) + _length(right) + (_int_bits(left) + _int_bits(right)) // 64)
    return _size_ok(fn(left, right), budget)


def _check_pow(left: Any, right: Any) -> None:
    """Refuse ``left ** right`` unless both are numbers and an integer result stays small.

    (A float base or exponent is computed in constant time, or overflows.)
    """
    if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
        raise _Fail
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if right * math.log2(abs(left)) > MAX_INT_BITS:
            raise _TooCostly


def _boolop(node: ast.BoolOp, d: int, budget: _Budget) -> Any:
    stop_when = not isinstance(node.op, ast.And)  # `and` stops at a falsy value, `or` at a truthy one
    v: Any = not stop_when
    for value in node.values:
        v = _ev(value, d, budget)
        if bool(v) == stop_when:
            return v
    return v


_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}


def _compare(node: ast.Compare, d: int, budget: _Budget) -> Any:
    left = _ev(node.left, d, budget)
    for op, comp in zip(node.ops, node.comparators):
        right = _ev(comp, d, budget)
        if isinstance(op, (ast.In, ast.NotIn)):
            # membership of an int in a range is a computation; anything else a scan
            fast = isinstance(right, range) and type(left) is int or isinstance(right, (dict, set, frozenset))
            budget.charge(1 if fast else _length(right) + _length(left))
        else:
            budget.charge(min(_length(left), _length(right)))
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def _ifexp(node: ast.IfExp, d: int, budget: _Budget) -> Any:
    return _ev(node.body, d, budget) if _ev(node.test, d, budget) else _ev(node.orelse, d, budget)


def _sequence(node: ast.List | ast.Tuple | ast.Set, d: int, budget: _Budget) -> Any:
    items: list[Any] = []
    for elt in node.elts:
        if isinstance(elt, ast.Starred):
            part = _size_ok(_ev(elt.value, d, budget), budget)
            if _length(part) + len(items) > MAX_ITEMS:
                raise _TooCostly
            budget.charge(_length(part))
            items.extend(part)
        else:
            items.append(_ev(elt, d, budget))
    _size_ok(items, budget)
    if isinstance(node, ast.List):
        return items
    if isinstance(node, ast.Tuple):
        return tuple(items)
    return set(items)


def _dict(node: ast.Dict, d: int, budget: _Budget) -> Any:
    out: dict[Any, Any] = {}
    for k, v in zip(node.keys, node.values):
        if k is None:
            part = _ev(v, d, budget)
            budget.charge(_length(part))
            out.update(part)
        else:
            out[_ev(k, d, budget)] = _ev(v, d, budget)
    return _size_ok(out, budget)


def _subscript(node: ast.Subscript, d: int, budget: _Budget) -> Any:
    base = _ev(node.value, d, budget)
    if not isinstance(base, (list, tuple, dict, str, range)):
        raise _Fail
    got = base[_ev(node.slice, d, budget)]
    budget.charge(_length(got) if isinstance(got, (list, tuple, str)) else 1)
    return got


def _slice(node: ast.Slice, d: int, budget: _Budget) -> Any:
    return slice(
        _ev(node.lower, d, budget) if node.lower else None,
        _ev(node.upper, d, budget) if node.upper else None,
        _ev(node.step, d, budget) if node.step else None,
    )


# --------------------------------------------------------------------------- calls


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

#: Builtins that iterate over their (only) argument, or over their arguments.
_ITERATING = frozenset({"min", "max", "sum", "list", "tuple", "sorted"})


def _call(node: ast.Call, d: int, budget: _Budget) -> Any:
    if not isinstance(node.func, ast.Name):
        raise _Fail
    name = node.func.id
    if name == "dict":
        if node.args or any(kw.arg is None for kw in node.keywords):
            raise _Fail
        return {kw.arg: _ev(kw.value, d, budget) for kw in node.keywords}
    fn = _SAFE_CALLS.get(name)
    if fn is None or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise _Fail
    args = [_size_ok(_ev(a, d, budget), budget) for a in node.args]
    _check_call(name, args, budget)
    return _size_ok(fn(*args), budget)


def _check_call(name: str, args: list[Any], budget: _Budget) -> None:
    """Charge the work ``name(*args)`` does; refuse a call that is too costly or not pure."""
    first = args[0] if args else None
    if name in _ITERATING:
        n = _length(first) if len(args) == 1 or name in ("sum", "list", "tuple", "sorted") else len(args)
        if name in ("list", "tuple", "sorted") and n > MAX_ITEMS:
            raise _TooCostly
        budget.charge(n * (max(1, n.bit_length()) if name == "sorted" else 1))
    if name == "sum" and ((len(args) > 1 and not isinstance(args[1], (int, float))) or isinstance(first, (str, bytes))):
        raise _Fail  # sum(lists, []) copies quadratically; a sum over a string raises
    if name in ("int", "float") and isinstance(first, (str, bytes)) and len(first) > 100:
        raise _Fail
    if name == "str" and not isinstance(first, (str, int, float, bool)):
        raise _Fail
    if name == "round" and len(args) > 1 and isinstance(args[1], int) and abs(args[1]) > 400:
        raise _TooCostly  # round(x, -10**9) computes 10**(10**9)


_HANDLERS: dict[type, Callable[[Any, int, _Budget], Any]] = {
    ast.Constant: _constant,
    ast.UnaryOp: _unary,
    ast.BinOp: _binop,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.IfExp: _ifexp,
    ast.List: _sequence,
    ast.Tuple: _sequence,
    ast.Set: _sequence,
    ast.Dict: _dict,
    ast.Subscript: _subscript,
    ast.Slice: _slice,
    ast.Call: _call,
}


# --------------------------------------------------------------------------- numbers

NUMBER_OPS = frozenset({ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow})
"""The binary operators of :func:`is_number_expression` by default."""


def is_number_expression(node: ast.AST, ops: frozenset[type] = NUMBER_OPS, *, int_bits: int | None = None) -> bool:
    """Whether ``node`` is arithmetic over number literals only, checked from its syntax.

    Number literals are int and float constants (not ``True``), at most ``int_bits``
    bits for an int when given; operators are unary ``+``/``-`` and the binary
    operators in ``ops``. ``1e-3``, ``3e-3 / 10``, ``-2 ** -4`` qualify; ``lr``,
    ``'1e-3'`` and ``1e-3 if a else 2`` do not.
    """
    if isinstance(node, ast.Constant):
        value = node.value
        return type(value) in (int, float) and (int_bits is None or type(value) is float or value.bit_length() <= int_bits)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.UAdd, ast.USub)) and is_number_expression(node.operand, ops, int_bits=int_bits)
    if isinstance(node, ast.BinOp):
        return (
            type(node.op) in ops
            and is_number_expression(node.left, ops, int_bits=int_bits)
            and is_number_expression(node.right, ops, int_bits=int_bits)
        )
    return False


def number(
    node: ast.AST, ops: frozenset[type] = NUMBER_OPS, *, int_bits: int | None = None, max_exponent: float | None = None
) -> float | None:
    """The value, as a float, of arithmetic over number literals (:func:`is_number_expression`), else None.

    Computed by :func:`evaluate`, so within its bounds. With ``max_exponent``, a power
    whose exponent is larger in magnitude is None; so is a value no float holds.

    >>> number(ast.parse("1e-3 * 3", mode="eval").body)
    0.003
    >>> number(ast.parse("2 ** 100", mode="eval").body, max_exponent=64) is None
    True
    """
    if not is_number_expression(node, ops, int_bits=int_bits):
        return None
    if max_exponent is not None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Pow):
                exponent = evaluate(sub.right)
                if exponent is NOPE or abs(exponent) > max_exponent:
                    return None
    value = evaluate(node)
    if value is NOPE or isinstance(value, complex):
        return None
    try:
        return float(value)
    except OverflowError:
        return None
