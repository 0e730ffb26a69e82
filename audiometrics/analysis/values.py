"""Static values for :mod:`audiometrics.analysis.analyser`: bindings, substitution, folding.

Nothing here executes notebook code. An expression is kept as its *source text*
(whitespace-normalised) so that literals keep the spelling the author used
(``1e-1`` stays ``1e-1``; :func:`ast.unparse` would print ``0.1``). Names bound
earlier in the notebook are substituted *textually*, and subscripts of literal
containers are folded (``LRS[1]`` → ``1e-2``). Whatever cannot be known
statically is replaced by :data:`OPAQUE`, a name no notebook uses, so a single
test (``OPAQUE`` occurs) tells a consumer that a value is unknown.

An expression written on one line in normal form is read on the cell's own tree
(:func:`make_value`: its names found there, their spans taken relative to its
column), a name or literal is its binding or itself, so neither is parsed again.
Substituted text is not re-parsed when that cannot change what it is: bound
values are valid expressions put in with brackets where needed, so the result is
valid and its top node keeps its kind (:attr:`Value.shape`); it is parsed the
first time a consumer reads :attr:`Value.node` (most values, such as a learner
substituted into every later expression that names it, never are).
"""

from __future__ import annotations

import ast
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any, Callable

from audiometrics.analysis.fold import (
    ATOMIC,
    fold_text,
    has_fold_site,
    is_container,
    may_have_fold_site,
    needs_parens,
)
from audiometrics.analysis.evaluate import NOPE
from audiometrics.analysis.walk import child_nodes, walk
from audiometrics.analysis.text import (
    IDENTIFIER,
    MAX_TEXT,
    Positions,
    normalise,
    parse_expr,
    segment,
    splice,
)

OPAQUE = "__audiometrics_opaque__"
"""The name that stands in for any statically unknown value inside a value's text (private to the
analysis: consumers ask :attr:`Value.known`, :func:`is_unknown`, :func:`holds_unknown` and
:func:`names_unknown`, and use :data:`OPAQUE_VALUE` for a wholly unknown value)."""


def is_unknown(node: ast.AST | None) -> bool:
    """Whether ``node`` is the unknown value itself (the whole of it, not a part).

    >>> is_unknown(OPAQUE_VALUE.node), is_unknown(ast.parse("x", mode="eval").body)
    (True, False)
    """
    return type(node) is ast.Name and node.id == OPAQUE  # type: ignore[attr-defined]


def holds_unknown(node: ast.AST) -> bool:
    """Whether any part of ``node`` is unknown.

    >>> holds_unknown(finish("f(1)").node), holds_unknown(OPAQUE_VALUE.node)
    (False, True)
    """
    return any(is_unknown(sub) for sub in walk(node))


def names_unknown(name: str | None) -> bool:
    """Whether a dotted name or callee read from a value (``fold.callee``) involves an unknown part."""
    return name is not None and OPAQUE in name




# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Value:
    """An expression as normalised source text with earlier bindings substituted.

    ``node`` is the text parsed in ``eval`` mode; its positions index ``text``.
    ``origin`` is the variable a bare-name expression came from (``learner``
    parameter bound to the argument ``learn`` → ``"learn"``).
    """

    text: str
    tree: ast.expr | None = field(compare=False, repr=False)
    """``text`` parsed, or None until :attr:`node` is first read (a substituted text
    nobody inspects is never re-parsed)."""
    origin: str | None = field(default=None, compare=False)
    shape: ast.expr | None = field(default=None, compare=False, repr=False)
    """While ``tree`` is None: a node of the same kind as ``text``'s top node (and, for
    a call, the same callee), positions aside (often the very node of the cell the text
    was read from): what substitution and folding ask."""

    @property
    def head(self) -> ast.expr:
        """The top node's kind without parsing: ``tree``, else ``shape``."""
        tree = self.tree
        return tree if tree is not None else self.shape  # type: ignore[return-value]

    @property
    def node(self) -> ast.expr:
        """``text`` parsed in ``eval`` mode (parsed on first use)."""
        tree = self.tree
        if tree is None:
            tree = parse_expr(self.text)
            if tree is None:  # pragma: no cover - a lazy text is valid by construction
                tree = _opaque_node()
            object.__setattr__(self, "tree", tree)
        return tree

    @property
    def known(self) -> bool:
        return OPAQUE not in self.text

    def sub(self, node: ast.AST) -> "Value":
        """The Value of a sub-expression of this one."""
        return finish(segment(self.text, node))


class _Unknown:
    """A name bound to something that cannot be known statically."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Alias:
    """``import timm as t`` / ``from x import a as b``: the name stands for ``text``."""

    text: str


@dataclass(frozen=True, eq=False)
class ClassEntry:
    """A class defined in the notebook (its name is meaningful, its attributes are not)."""

    name: str


@dataclass(frozen=True, eq=False)
class FunctionEntry:
    """A function defined in the notebook, kept so calls to it can be inlined."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    src: str
    scope: Any  # the scope the function was defined in
    defaults: dict = field(default_factory=dict)  # parameter name -> Value | UNKNOWN


Entry = Any  # Value | _Unknown | Alias | ClassEntry | FunctionEntry
Lookup = Callable[[str], Entry]


def _no_lookup(_name: str) -> Entry:
    return None


def _opaque_node() -> ast.expr:
    """What ``parse_expr(OPAQUE)`` gives (a fresh node), built without parsing."""
    node = ast.Name(id=OPAQUE, ctx=ast.Load())
    node.lineno = node.end_lineno = 1
    node.col_offset = 0
    node.end_col_offset = len(OPAQUE)
    return node


OPAQUE_VALUE = Value(OPAQUE, _opaque_node())


def finish(
    text: str,
    origin: str | None = None,
    tree: ast.expr | None = None,
    *,
    fold: bool = True,
    lazy: ast.expr | None = None,
) -> Value:
    """A Value from already-substituted text: fold literal subscripts, wrap tuples.

    ``tree`` is ``text`` already parsed, if the caller has it; ``fold=False``
    when the caller knows nothing in ``text`` folds. ``lazy`` (with
    ``fold=False``): the caller knows ``text`` is a valid expression, not a bare
    tuple, whose top node is like ``lazy`` (see :attr:`Value.shape`); it is then
    parsed only when its node is read.
    """
    if len(text) > MAX_TEXT:
        return Value(OPAQUE, _opaque_node(), origin)
    if lazy and not fold and tree is None:
        return Value(text, None, origin, lazy)
    folded = fold_text(text, tree) if fold else text
    node = tree if folded is text and tree is not None else parse_expr(folded)
    text = folded
    if node is None:
        return Value(OPAQUE, _opaque_node(), origin)
    if isinstance(node, ast.Tuple) and not _fully_parenthesised(text):
        text = f"({text})"
        node = parse_expr(text)
        if node is None:  # pragma: no cover - cannot happen for a valid tuple
            return Value(OPAQUE, _opaque_node(), origin)
    if len(text) > MAX_TEXT:
        return Value(OPAQUE, _opaque_node(), origin)
    return Value(text, node, origin)


def _fully_parenthesised(text: str) -> bool:
    if not (text.startswith("(") and text.endswith(")")):
        return False
    inner = parse_expr(text[1:-1]) if text[1:-1].strip() else ast.Tuple(elts=[])
    return isinstance(inner, ast.Tuple)


# --------------------------------------------------------------------------- substitution

def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attribute accesses on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _comp_targets(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for gen in getattr(node, "generators", ()):
        for sub in walk(gen.target):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names


def _replacement_for(entry: Entry, node: ast.AST, parent: ast.AST | None) -> str | None:
    """Text to put in place of a name/dotted name bound to ``entry`` (None: keep)."""
    if isinstance(entry, Value):
        if not entry.known:
            return OPAQUE
        if needs_parens(entry.head, node, parent):
            return f"({entry.text})"
        return entry.text
    if entry is UNKNOWN:
        return OPAQUE
    if isinstance(entry, Alias):
        return entry.text
    return None


_NAME, _CONSTANT, _LAMBDA, _KEYWORD, _ATTRIBUTE, _LOAD = ast.Name, ast.Constant, ast.Lambda, ast.keyword, ast.Attribute, ast.Load
_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp})


def substitute(
    text: str,
    lookup: Lookup,
    tree: ast.expr | None = None,
    exposed: list[ast.AST] | None = None,
    doubtful: list[ast.AST] | None = None,
    column: int | None = None,
) -> str:
    """Replace names in ``text`` by their bindings (see module doc).

    ``tree`` is ``text`` parsed, or (with ``column``) a node of a cell's tree
    whose source is ``text``, all on one line from column ``column`` of an ASCII
    line: its positions are then read relative to that column.

    Returns ``text`` itself (the same object) when nothing is replaced. Nodes replaced by a
    container or call value then subscripted or with an attribute taken (what
    :func:`~audiometrics.analysis.fold.fold_text` may fold) go to ``exposed``; nodes whose
    replacement may not leave valid Python (a folded f-string, a non-atomic value put in
    without brackets) to ``doubtful``.
    """
    if not IDENTIFIER.search(text):
        return text  # numbers and operators only
    if tree is None:
        tree = parse_expr(text)
    if tree is None:
        return OPAQUE
    found: list[tuple[ast.AST, str]] = []  # (node, replacement text)

    def visit(node: ast.AST, parent: ast.AST | None, local: frozenset[str]) -> None:
        kind = type(node)
        if kind is _NAME:
            if type(node.ctx) is not _LOAD or node.id in local:  # type: ignore[attr-defined]
                return
            entry = lookup(node.id)  # type: ignore[attr-defined]
            new = _replacement_for(entry, node, parent)
            if new is not None:
                found.append((node, new))
                _note_exposed(entry, node, parent)
            return
        if kind is _CONSTANT or kind is _LAMBDA:
            return
        if kind is _KEYWORD:
            visit(node.value, node, local)  # type: ignore[attr-defined]
            return
        if kind is _JOINED_STR:  # (a value put inside may clash with its quotes: see _fold_fstring)
            folded = _fold_fstring(node, lookup, local)
            if folded is not None:
                found.append((node, folded))
                if doubtful is not None:
                    doubtful.append(node)
            return
        if kind in _COMPREHENSIONS:
            local = local | _comp_targets(node)
        if kind is _ATTRIBUTE and type(node.ctx) is _LOAD:  # type: ignore[attr-defined]
            path = dotted(node)
            if path is not None and path.split(".", 1)[0] not in local:
                entry = lookup(path)
                new = _replacement_for(entry, node, parent)
                if new is not None:
                    found.append((node, new))
                    _note_exposed(entry, node, parent)
                    return
                root = lookup(path.split(".", 1)[0])
                if isinstance(root, ClassEntry):
                    # an attribute of a notebook class that is not a literal
                    found.append((node, OPAQUE))
                    return
        for child in child_nodes(node):
            visit(child, node, local)

    def _note_exposed(entry: Entry, node: ast.AST, parent: ast.AST | None) -> None:
        _note_replaced(entry, node, parent, tree, exposed, doubtful)

    visit(tree, None, frozenset())
    if not found:
        return text
    if column is not None:
        return splice(text, [(n.col_offset - column, n.end_col_offset - column, new) for n, new in found])  # type: ignore[attr-defined]
    pos = Positions(text)
    return splice(text, [(*pos.span(node), new) for node, new in found])


_JOINED_STR, _FORMATTED = ast.JoinedStr, ast.FormattedValue
_CONVERSIONS = {-1: None, 115: str, 114: repr, 97: ascii}
_SAFE_SPEC = re.compile(r"[<>^=]?[+\- ]?#?0?\d{0,2}[,_]?(?:\.\d{1,2})?[bcdeEfFgGnosxX%]?")
"""A format spec whose output stays small (widths and precisions of two digits at most)."""


def _fold_fstring(node: ast.JoinedStr, lookup: Lookup, local: frozenset[str]) -> str | None:
    """The text of the string literal an f-string gives when each of its fields is a literal or a
    name bound to a known string, number, bool or None (``f"bert-{task}"`` with ``task = "cola"``
    → ``'bert-cola'``); None for any other f-string, which :func:`substitute` leaves as written
    (its names unreplaced: a value put inside may clash with its quotes), so that the rest of the
    expression stays known.

    >>> tree = ast.parse('f"bert-{task}-{lr:.0e}"', mode="eval").body
    >>> bound = {"task": finish('"cola"'), "lr": finish("2e-5")}
    >>> _fold_fstring(tree, bound.get, frozenset())
    "'bert-cola-2e-05'"
    """
    parts: list[str] = []
    for part in node.values:
        if type(part) is _CONSTANT and isinstance(part.value, str):
            parts.append(part.value)
            continue
        if type(part) is not _FORMATTED:
            return None
        value = _constant_of(part.value, lookup, local)
        spec = _fold_fstring(part.format_spec, lookup, local) if part.format_spec is not None else "''"
        convert = _CONVERSIONS.get(part.conversion, _CONVERSIONS)
        if value is NOPE or spec is None or convert is _CONVERSIONS:
            return None
        spec = ast.literal_eval(spec)
        if not _SAFE_SPEC.fullmatch(spec):
            return None
        try:
            parts.append(format(convert(value) if convert is not None else value, spec))
        except (ValueError, TypeError):
            return None
    return repr("".join(parts))


def _constant_of(node: ast.AST, lookup: Lookup, local: frozenset[str]) -> object:
    """The literal ``node`` is, or that the name or dotted name it is was bound to; NOPE otherwise."""
    if type(node) is _CONSTANT:
        entry_node: ast.AST = node
    else:
        path = dotted(node)
        if path is None or path.split(".", 1)[0] in local:
            return NOPE
        entry = lookup(path)
        if not (isinstance(entry, Value) and entry.known and type(entry.head) is _CONSTANT):
            return NOPE
        entry_node = entry.node
    value = entry_node.value  # type: ignore[attr-defined]
    return value if isinstance(value, (str, int, float, bool)) or value is None else NOPE


def _note_replaced(
    entry: Entry,
    node: ast.AST,
    parent: ast.AST | None,
    tree: ast.expr,
    exposed: list[ast.AST] | None,
    doubtful: list[ast.AST] | None,
) -> None:
    """Note a ``node`` of ``tree`` replaced by ``entry``'s text in ``exposed``/``doubtful`` (see :func:`substitute`)."""
    if doubtful is not None:
        if node is tree or isinstance(tree, ast.Call) and node is tree.func:
            doubtful.append(node)  # the top node's kind or callee changes
        elif isinstance(entry, Value) and entry.known and not isinstance(entry.head, ATOMIC):
            if not needs_parens(entry.head, node, parent):
                doubtful.append(node)
    if (
        exposed is not None
        and isinstance(parent, (ast.Subscript, ast.Attribute))
        and parent.value is node
        and isinstance(entry, Value)
        and is_container(entry.head)
    ):
        exposed.append(node)


def make_value(node: ast.AST, src: str, lookup: Lookup, origin: str | None = None) -> Value:
    """The Value of expression ``node`` of source ``src`` under ``lookup``'s bindings.

    An expression written on one line in normal form is not parsed again: its
    names are found on ``node`` itself, and its Value's own tree is parsed from
    the text only if a consumer reads :attr:`Value.node`.
    """
    seg = segment(src, node)
    leaf = _leaf_tree(node, seg)
    if leaf is None:
        if _in_place(node, seg):
            return _value_in_place(seg, node, lookup, origin)
    elif type(leaf) is ast.Constant:
        return Value(seg, leaf, origin)  # a number, True, False or None: nothing to substitute or fold
    else:
        entry = lookup(seg)  # a name: its binding, as substitution would put it in
        if isinstance(entry, Value):
            if entry.known:
                return Value(entry.text, entry.tree, origin, entry.shape)
            return Value(OPAQUE, _opaque_node(), origin)
        if entry is UNKNOWN:
            return Value(OPAQUE, _opaque_node(), origin)
        if not isinstance(entry, Alias):
            return Value(seg, leaf, origin)  # unbound, a module, a notebook function or class: itself
    return value_from_text(seg, lookup, origin, leaf)


def _in_place(node: ast.AST, seg: str) -> bool:
    """Whether ``node``'s own positions can index ``seg``: one ASCII line, already normal, not a tuple
    (which :func:`finish` may bracket) and spelled at the columns ast gives (``seg`` is that span)."""
    return (
        isinstance(node, _IN_PLACE)
        and seg.isascii()
        and getattr(node, "lineno", None) == getattr(node, "end_lineno", 0)
        and node.end_col_offset - node.col_offset == len(seg)  # type: ignore[attr-defined]
        and len(seg) <= MAX_TEXT
        and "\n" not in seg
        and not (('"' in seg or "'" in seg) and _FSTRING.search(seg))
        and normalise(seg) == seg
    )


_IN_PLACE = (
    ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.List, ast.Dict,
    ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.IfExp, ast.Lambda,
)
"""Kinds of expression whose source alone parses as one (not a tuple, which :func:`finish` may bracket,
a bare generator, ``yield``, ``*a``, ``x := 1``, a slice) and whose inner positions ast gives right."""
_FSTRING = re.compile(r"(?i)(?<![\w])(?:[rb]?f|f[rb]?)['\"]")
"""An f-string prefix: ast's positions inside f-strings differ between Python versions."""


def _value_in_place(seg: str, node: ast.expr, lookup: Lookup, origin: str | None) -> Value:
    """:func:`value_from_text` of ``seg`` for a ``node`` of which :func:`_in_place` holds."""
    exposed: list[ast.AST] = []
    doubtful: list[ast.AST] = []
    new = substitute(seg, lookup, node, exposed, doubtful, node.col_offset)  # type: ignore[attr-defined]
    fold = bool(exposed) or (may_have_fold_site(seg) and has_fold_site(node))
    if new is seg:
        if fold:
            return finish(seg, origin)  # (folding reads positions of the text's own tree)
        return Value(seg, None, origin, node)
    # as in value_from_text: a valid tree with valid values put in, bracketed where needed
    lazy = not doubtful
    return finish(new, origin, fold=fold, lazy=node if lazy else None)


_KEYWORD_CONSTANTS = {"True": True, "False": False, "None": None}
_INT_LITERAL = re.compile(tokenize.Intnumber)
_FLOAT_LITERAL = re.compile(tokenize.Floatnumber)
_IMAG_LITERAL = re.compile(tokenize.Imagnumber)


def _literal_number(seg: str) -> int | float | complex | None:
    """The value of ``seg`` when it is one number literal, else None."""
    try:
        if _INT_LITERAL.fullmatch(seg):
            return int(seg, 0)
        if _FLOAT_LITERAL.fullmatch(seg):
            return float(seg)
        if _IMAG_LITERAL.fullmatch(seg):
            return complex(seg)
    except ValueError:  # pragma: no cover - an int past Python's digit limit does not parse either
        pass
    return None


def _leaf_tree(node: ast.AST, seg: str) -> ast.expr | None:
    """What ``parse_expr(seg)`` gives, built without parsing, for a name or number ``node``.

    ``seg`` is the source of ``node``; that it spells the very name or number
    is checked, so the result does not rely on ast's positions. None for other
    nodes (the caller parses).
    """
    if not seg.isascii():
        return None
    if isinstance(node, ast.Name):
        if seg != node.id:
            return None
        leaf: ast.expr = ast.Name(id=seg, ctx=ast.Load())
    elif isinstance(node, ast.Constant):
        value = node.value
        if seg in _KEYWORD_CONSTANTS:
            same = value is _KEYWORD_CONSTANTS[seg]
        else:
            number = _literal_number(seg)
            same = type(value) in (int, float, complex) and type(number) is type(value) and number == value
        if not same:
            return None
        leaf = ast.Constant(value=value, kind=None)
    else:
        return None
    leaf.lineno = leaf.end_lineno = 1
    leaf.col_offset = 0
    leaf.end_col_offset = len(seg)
    return leaf


def value_from_text(
    seg: str, lookup: Lookup = _no_lookup, origin: str | None = None, tree: ast.expr | None = None
) -> Value:
    """The Value of expression text ``seg`` (``tree``: ``seg`` already parsed, if the caller has it)."""
    if len(seg) > MAX_TEXT:
        return Value(OPAQUE, _opaque_node(), origin)
    text = normalise(seg)
    if tree is None or text != seg:
        tree = parse_expr(text)
    if tree is None:
        return Value(OPAQUE, _opaque_node(), origin)
    exposed: list[ast.AST] = []
    doubtful: list[ast.AST] = []
    new = substitute(text, lookup, tree, exposed, doubtful)
    if new is text:
        return finish(text, origin, tree)
    if isinstance(tree, ast.Name):
        entry = lookup(tree.id)
        if isinstance(entry, Value) and new == entry.text:
            return Value(entry.text, entry.tree, origin, entry.shape)  # a name replaced by its (finished) value
    # values substituted in are folded already: only a site of ``text`` itself, or a
    # container value it subscripts, can fold
    fold = bool(exposed) or (may_have_fold_site(text) and has_fold_site(tree))
    # substituting valid expressions into a valid tree, bracketed where needed, gives a valid
    # tree of the same kind: unless it is a tuple (to wrap) it need not be parsed now
    lazy = not doubtful and not isinstance(tree, ast.Tuple)
    return finish(new, origin, fold=fold, lazy=tree if lazy else None)
