"""Source text utilities for :mod:`audiometrics.analysis.analyser`: positions, segments, normalisation."""

from __future__ import annotations

import ast
import functools
import io
import keyword
import re
import tokenize

MAX_TEXT = 20_000
"""Texts longer than this are not worth normalising token by token (× 4)."""

def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    return starts


class Positions:
    """Convert ast (line, utf-8 column) pairs to character offsets of ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = _line_starts(text) if len(self.lines) > 1 else [0]
        self.ascii = text.isascii()

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        if not self.ascii:
            col = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return self.starts[lineno - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )


@functools.lru_cache(maxsize=256)
def _positions(text: str) -> "Positions":
    return Positions(text)


def segment(text: str, node: ast.AST) -> str:
    """The source text of ``node`` inside ``text`` (positions as ast reports them).

    Like :func:`ast.get_source_segment`, but with the line index of ``text``
    cached, so that many segments of one cell cost one pass over it.
    """
    try:
        start, end = _positions(text).span(node)
    except (AttributeError, IndexError, TypeError):
        return ast.unparse(node)
    return text[start:end]


def splice(text: str, repls: list[tuple[int, int, str]]) -> str:
    out = []
    last = 0
    for start, end, new in sorted(repls):
        if start < last:  # overlapping: keep the first
            continue
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


_OPEN = "([{"
_CLOSE = ")]}"
_NEEDS_NORMALISING = re.compile(r"[\s,#\\]")
IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def normalise(text: str) -> str:
    """Whitespace-normalise Python source text without touching literals.

    Comments and line breaks go; runs of blanks become one space; no blank after
    an opening or before a closing bracket, none before a comma and one after;
    none around ``.`` or between a callee and its ``(``; none around ``=`` of a
    keyword argument. Everything else keeps the author's spacing.

    Three paths, all giving what the tokenize-based one gives: text already in
    normal form is returned as is; text without string literals, comments and
    backslashes is split into tokens with one regular expression; the rest goes
    through :mod:`tokenize`.
    """
    if len(text) > MAX_TEXT * 4:
        return re.sub(r"\s+", " ", text).strip()
    if not _NEEDS_NORMALISING.search(text) or _ALREADY_NORMAL.fullmatch(text):
        return text
    items = _simple_tokens(text)
    if items is None:
        items = _tokenize(text)
        if items is None:
            return re.sub(r"\s+", " ", text).strip()
    return _join(items)


# Text that normalisation leaves as it is: no blanks but one after each comma (and
# not before a closing bracket), no line breaks, comments or backslashes. Every
# rule of _join then puts back exactly the separator the text has.
_ALREADY_NORMAL = re.compile(r"(?:[^\s,#\\]|, (?=[^\s)\]}]))*")

# Tokens of simple text (no comments, backslashes, triple quotes; ASCII), with the
# patterns tokenize itself uses, in its order: numbers, operators, strings, names.
_SIMPLE_TEXT = re.compile(r"[\x20-\x7e\t\n]*")
_SIMPLE_TOKEN = re.compile(
    r"[ \t]*(?:(?P<number>%s)|(?P<op>%s)|(?P<string>%s)|(?P<name>[A-Za-z_0-9]+)|(?P<newline>\n)|(?P<end>\Z))"
    % (tokenize.Number, tokenize.Special, r"""(?:[rRbBuU]|[rR][bB]|[bB][rR])?(?:'[^'\n]*'|"[^"\n]*")""")
)
"""Strings among them: one line, no backslash, no f prefix (a name right before a quote is not simple)."""
_QUOTE = frozenset("'\"")

_NUMBER_SUFFIX = re.compile(r"[\w.'\"]")
_MAX_SIMPLE_DEPTH = 100
_Item = tuple[str, int, int, int]  # (string, token type, start offset, end offset)


def _simple_tokens(text: str) -> list[_Item] | None:
    """Tokens of ``text`` as tokenize reads them, or None when the text is not simple.

    Simple: printable ASCII, tabs and line breaks only; no ``#``, backslash or
    triple quote, strings on one line without an f prefix; balanced brackets,
    nested at most :data:`_MAX_SIMPLE_DEPTH` deep; a line break outside brackets only before trailing blanks; no number
    glued to a name, a dot or a quote. Anything else (where tokenize would indent, fail,
    report an error token, or read differently from one Python version to the
    next) is left to :func:`_tokenize`.
    """
    if "#" in text or "\\" in text or "\'\'\'" in text or '"""' in text or not _SIMPLE_TEXT.fullmatch(text):
        return None  # (a string of one line is simple: one token, as tokenize reads it)
    items: list[_Item] = []
    depth = 0
    pos = 0
    while True:
        m = _SIMPLE_TOKEN.match(text, pos)
        if m is None:
            return None  # a character tokenize reports as an error token ($, ?, !, `)
        kind = m.lastgroup
        start, end = m.span(kind)
        pos = end
        if kind == "end":
            break
        if kind == "newline":
            if depth == 0:
                if text[end:].strip():
                    return None  # a new statement: tokenize would handle indentation
                break
            continue
        s = text[start:end]
        if kind == "number" and _NUMBER_SUFFIX.match(text, end):
            return None  # ``1if``, ``0x``, ``1..real``: tokenizers differ between Python versions
        if kind == "op":
            if s == "!":
                return None  # an operator only in Python 3.12+ (f-string conversions)
            if s in _OPEN:
                depth += 1
                if depth > _MAX_SIMPLE_DEPTH:
                    return None  # Python 3.12+'s tokenizer gives up at 200 levels
            elif s in _CLOSE:
                depth -= 1
                if depth < 0:
                    return None
            items.append((s, tokenize.OP, start, end))
        elif kind == "number":
            items.append((s, tokenize.NUMBER, start, end))
        elif kind == "string":
            items.append((s, tokenize.STRING, start, end))
        else:
            if text[end : end + 1] in _QUOTE:
                return None  # ``f'...'`` (an f-string: tokenize reads it differently by version), ``x'a'``
            items.append((s, tokenize.NAME, start, end))
    if depth != 0:
        return None  # tokenize fails on unclosed brackets
    return items


def _tokenize(text: str) -> list[_Item] | None:
    """Tokens of ``text`` by :mod:`tokenize` (f-strings as one string), or None on failure (an error
    token too: an unclosed quote, ``$``; no valid expression has one, and tokenizers of later Python
    versions raise there)."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    if any(tok.type == tokenize.ERRORTOKEN for tok in toks):
        return None
    pos = Positions(text)

    def off(rc: tuple[int, int]) -> int:
        # tokenize columns are character columns already
        return pos.starts[rc[0] - 1] + rc[1] if rc[0] - 1 < len(pos.starts) else len(text)

    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
    }
    fstart = getattr(tokenize, "FSTRING_START", None)
    fend = getattr(tokenize, "FSTRING_END", None)
    items: list[_Item] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.type in skip:
            i += 1
            continue
        if fstart is not None and tok.type == fstart:
            depth = 0
            j = i
            while j < len(toks):
                if toks[j].type == fstart:
                    depth += 1
                elif toks[j].type == fend:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            end_tok = toks[min(j, len(toks) - 1)]
            a, b = off(tok.start), off(end_tok.end)
            items.append((text[a:b], tokenize.STRING, a, b))
            i = j + 1
            continue
        items.append((tok.string, tok.type, off(tok.start), off(tok.end)))
        i += 1
    return items


def _join(items: list[_Item]) -> str:
    """The tokens joined with the separators :func:`normalise` documents."""
    out: list[str] = []
    stack: list[str] = []
    prev: _Item | None = None
    for item in items:
        s, typ, start, end = item
        if prev is not None:
            p, ptyp, _pstart, pend = prev
            gap = start != pend
            if typ == tokenize.OP and s == ",":
                sep = ""
            elif ptyp == tokenize.OP and p == ",":
                sep = "" if (typ == tokenize.OP and s in _CLOSE) else " "
            elif ptyp == tokenize.OP and p in _OPEN:
                sep = ""
            elif typ == tokenize.OP and s in _CLOSE:
                sep = ""
            elif typ == tokenize.OP and s in "([" and (
                (ptyp == tokenize.NAME and not keyword.iskeyword(p))
                or (ptyp == tokenize.OP and p in _CLOSE)
                or ptyp == tokenize.STRING
            ):
                sep = ""
            elif (typ == tokenize.OP and s == ".") or (ptyp == tokenize.OP and p == "."):
                sep = ""
            elif stack and stack[-1] == "(" and (
                (typ == tokenize.OP and s == "=") or (ptyp == tokenize.OP and p == "=")
            ):
                sep = ""
            else:
                sep = " " if gap else ""
            out.append(sep)
        out.append(s)
        if typ == tokenize.OP:
            if s in _OPEN:
                stack.append(s)
            elif s in _CLOSE and stack:
                stack.pop()
        prev = item
    return "".join(out)


def parse_expr(text: str) -> ast.expr | None:
    """``text`` parsed as one expression, or None."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree.body
