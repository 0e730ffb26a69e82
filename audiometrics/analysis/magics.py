"""Turn a notebook code cell into Python that :mod:`ast` can read.

IPython syntax is neutralised line by line, keeping line numbers: line magics
become ``pass`` (``%time``/``%timeit``/``%prun``/``%memit`` keep their
statement), shell escapes and help (``!ls``, ``obj?``) become ``pass``,
``x = !ls`` becomes an assignment of an unknown value. A cell magic on the first
line either marks the rest as Python (``%%time``, ``%%capture``, ...) or the
whole cell as not Python (``%%bash``, ``%%writefile``, ...). Then the cell is
parsed; a cell with syntax errors is salvaged statement by statement.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field

from audiometrics.analysis.values import OPAQUE

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "mprun"})
"""Cell magics whose body is Python run in the kernel."""

STATEMENT_LINE_MAGICS = frozenset({"time", "timeit", "prun", "memit", "debug"})
"""Line magics whose argument is a Python statement that runs."""

_MAGIC_OPTIONS = {
    "time": None,
    "timeit": re.compile(r"\s*(?:-[nrp]\s*\d+|-[oqc]|-t)(?=\s|$)"),
    "memit": re.compile(r"\s*(?:-[rt]\s*\d+|-[oqci])(?=\s|$)"),
    "prun": re.compile(r"\s*(?:-[slTD]\s*\S+|-[rq])(?=\s|$)"),
    "debug": re.compile(r"\s*(?:--breakpoint\s+\S+|-b\s*\S+)(?=\s|$)"),
}
_LINE_MAGIC = re.compile(r"%(\w+)(.*)$")
_ASSIGN_MAGIC = re.compile(r"([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*([!%].*)$")
_HELP = re.compile(r"(\?{1,2}[\w.*\[\]()]+|[\w.*\[\]()]+\?{1,2})")
_AUTOMAGIC = re.compile(r"(pip|conda|matplotlib|load_ext|reload_ext|autoreload|cd)\s+[\w\-./=]")
_BLOCK_CONTINUATIONS = ("else", "elif", "except", "finally")
_MAYBE_IPYTHON = re.compile(r"^\s*[%!]|=\s*[!%]|^\s*(?:pip|conda|matplotlib|load_ext|reload_ext|autoreload|cd)\s", re.M)
"""What any IPython syntax that :func:`_transform_line` rewrites but help needs somewhere in a cell: a
line starting with ``%`` or ``!``, ``= %``/``= !`` (an assigned magic) or an automagic word starting a
line (not a ``%`` or ``!`` inside an expression: ``"%d" % n``, ``a != b``). Help is a line that is
:data:`_HELP` (``obj?``, ``??f``) less its comment (:func:`_is_help`)."""


_AUTOMAGIC_WORDS = ("pip", "conda", "matplotlib", "load_ext", "reload_ext", "autoreload", "cd")
_ASSIGNED_MAGIC = re.compile(r"=\s*[!%]")
_LINE_START_IPYTHON = re.compile(r"\n\s*(?:[%%!]|(?:%s)\s)" % "|".join(_AUTOMAGIC_WORDS))
"""The parts of :data:`_MAYBE_IPYTHON` that start a line, searched in the text after a line break."""


def maybe_ipython(text: str) -> bool:
    """Whether :data:`_MAYBE_IPYTHON` matches ``text`` (lines split at ``\\n``) or a line of it is a help
    request (:func:`_is_help`), found with patterns anchored on a line break (much faster than the
    pattern itself, whose ``^`` is tried at every position). False: no line
    of the cell is one :func:`_transform_line` changes.

    >>> maybe_ipython("x = 1 % 2"), maybe_ipython("  !ls"), maybe_ipython("a = 1\\ncd .."), maybe_ipython("y =%time f()")
    (False, True, True, True)
    >>> maybe_ipython("url = 'https://x.org/?q=1'  # why?"), maybe_ipython("learn.fit?")
    (False, True)
    """
    if "=" in text and _ASSIGNED_MAGIC.search(text):
        return True
    if "?" in text and any(_is_help(line) for line in text.split("\n") if "?" in line):
        return True  # (a ``?`` in a string or comment is no help request: the line stays as written)
    return _LINE_START_IPYTHON.search("\n" + text) is not None


@dataclass
class PreparedCell:
    """A cell's Python text (None when the cell is not Python) and notes about it."""

    python: str | None
    warnings: list[str] = field(default_factory=list)
    cell_magic: str | None = None


@dataclass
class _ScanState:
    delim: str | None = None  # open string delimiter
    depth: int = 0  # bracket depth
    continued: bool = False  # previous line ended with a backslash

    @property
    def at_statement_start(self) -> bool:
        return self.delim is None and self.depth == 0 and not self.continued


def _scan(line: str, state: _ScanState) -> _ScanState:
    """The tokenizer state after ``line`` (strings, brackets, continuation)."""
    delim, depth = state.delim, state.depth
    i, n = 0, len(line)
    comment = False
    while i < n:
        c = line[i]
        if delim is not None:
            if c == "\\":
                i += 2
                continue
            if line.startswith(delim, i):
                i += len(delim)
                delim = None
                continue
            i += 1
            continue
        if c == "#":
            comment = True
            break
        if c in "\"'":
            if line.startswith(c * 3, i):
                delim = c * 3
                i += 3
            else:
                delim = c
                i += 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        i += 1
    continued = False
    if delim is not None and len(delim) == 1:
        if not line.endswith("\\"):
            delim = None  # unterminated single-quoted string: the line ends it
    elif delim is None and not comment and line.endswith("\\"):
        continued = True
    return _ScanState(delim, depth, continued)


def statement_starts(lines: list[str]) -> list[bool]:
    """For each line, whether it begins a new logical line."""
    state = _ScanState()
    out = []
    for line in lines:
        out.append(state.at_statement_start)
        state = _scan(line, state)
    return out


def _strip_options(magic: str, rest: str) -> str:
    pattern = _MAGIC_OPTIONS.get(magic)
    if pattern is None:
        return rest.strip()
    while True:
        m = pattern.match(rest)
        if not m:
            return rest.strip()
        rest = rest[m.end() :]


def magic_statement(magic: str, rest: str) -> str | None:
    """The Python statement a statement line magic runs (``%time x()`` → ``x()``)."""
    if magic not in STATEMENT_LINE_MAGICS:
        return None
    stmt = _strip_options(magic, rest)
    return stmt or None


def _compiles(code: str) -> bool:
    try:
        compile(code, "<cell>", "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError):
        return False
    return True


def _code_part(stripped: str) -> str:
    """The line without a trailing comment (rough, for help/automagic detection)."""
    return stripped.split("#", 1)[0].rstrip() if "#" in stripped and "'" not in stripped and '"' not in stripped else stripped.rstrip()


def _is_help(line: str) -> bool:
    """Whether ``line``, less a comment, reads as IPython help (``obj?``, ``??f``): what
    :func:`_transform_line` may turn into ``pass``."""
    return _HELP.fullmatch(_code_part(line.strip())) is not None


def _transform_line(line: str, lineno: int, warnings: list[str]) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if not stripped or stripped.startswith("#"):
        return line
    if stripped.startswith("%%"):
        warnings.append(f"line {lineno}: cell magic {stripped.split()[0]} is not on the first line; ignored")
        return indent + "pass"
    if stripped.startswith("%"):
        m = _LINE_MAGIC.match(stripped)
        if m:
            stmt = magic_statement(m.group(1), m.group(2))
            if stmt is not None:
                return indent + stmt
        return indent + "pass"
    if stripped.startswith("!"):
        return indent + "pass"
    m = _ASSIGN_MAGIC.match(stripped)
    if m:
        target, rhs = m.group(1), m.group(2)
        if rhs.startswith("%"):
            mm = _LINE_MAGIC.match(rhs)
            if mm:
                stmt = magic_statement(mm.group(1), mm.group(2))
                if stmt is not None and _compiles(f"_ = {stmt}"):
                    return f"{indent}{target} = {stmt}"
        return f"{indent}{target} = {OPAQUE}"
    code = _code_part(stripped)
    if _HELP.fullmatch(code) and not _compiles(code):
        return indent + "pass"
    if _AUTOMAGIC.match(code) and not _compiles(code):
        return indent + "pass"
    return line


def prepare_cell(source: str) -> PreparedCell:
    """Neutralise IPython syntax in ``source``, keeping its line numbers."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    warnings: list[str] = []
    cell_magic = None
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        m = re.match(r"%%(\S+)", lines[first].lstrip())
        name = m.group(1) if m else ""
        cell_magic = name
        if name not in PYTHON_CELL_MAGICS:
            return PreparedCell(None, [], name)
        lines[first] = ""
        if name == "capture":
            warnings.append(f"line {first + 1}: %%capture hides the cell's output, progress tables included")
    if first is not None and lines[first][:1] in (" ", "\t"):
        lines = textwrap.dedent("\n".join(lines)).split("\n")
    if not maybe_ipython(text):
        # no line _transform_line would change (nor a cell magic): skip the line scan
        return PreparedCell("\n".join(lines), warnings, cell_magic)

    out = []
    state = _ScanState()
    for number, line in enumerate(lines, start=1):
        if state.at_statement_start:
            line = _transform_line(line, number, warnings)
        out.append(line)
        state = _scan(line, state)
    return PreparedCell("\n".join(out), warnings, cell_magic)


# --------------------------------------------------------------------------- parsing


def _chunks(lines: list[str]) -> list[tuple[int, int]]:
    """Top-level statements as [start, end) line ranges (0-based)."""
    starts = statement_starts(lines)
    bounds = []
    for i, line in enumerate(lines):
        if not starts[i] or not line.strip() or line[:1] in (" ", "\t", "#"):
            continue
        word = re.match(r"[A-Za-z_]*", line).group(0)  # type: ignore[union-attr]
        if word in _BLOCK_CONTINUATIONS:
            continue
        if bounds and lines[bounds[-1]].startswith("@") and all(
            not ln.strip() or ln.lstrip().startswith(("@", "#")) for ln in lines[bounds[-1] : i]
        ):
            continue  # a decorated definition belongs with its decorators
        bounds.append(i)
    if not bounds or bounds[0] != 0:
        bounds.insert(0, 0)
    ends = bounds[1:] + [len(lines)]
    return list(zip(bounds, ends))


def _replacement(line: str, stage: int) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stage == 1:
        if _code_part(stripped).endswith(":"):
            return indent + "if True:"
        return indent + "pass"
    return ""


def _ranges(numbers: list[int]) -> str:
    numbers = sorted(set(numbers))
    parts = []
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        start = prev = n
    parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def _parse_chunk(lines: list[str], start: int, end: int, warnings: list[str]) -> list[ast.stmt]:
    work = lines[start:end]
    stage = [0] * len(work)
    first_error: str | None = None
    ignored: list[int] = []
    for _ in range(3 * len(work) + 3):
        try:
            tree = ast.parse("\n" * start + "\n".join(work))
        except (SyntaxError, ValueError) as exc:
            lineno = getattr(exc, "lineno", None)
            msg = getattr(exc, "msg", None) or str(exc)
            idx = (lineno or 0) - 1 - start
            if not 0 <= idx < len(work) or stage[idx] >= 2:
                break
            if first_error is None:
                first_error = f"line {start + idx + 1}: syntax error ({msg})"
            stage[idx] += 1
            work[idx] = _replacement(lines[start + idx], stage[idx])
            ignored.append(start + idx + 1)
            continue
        if ignored:
            warnings.append(f"{first_error}; ignored line(s) {_ranges(ignored)}")
        return list(tree.body)
    span = f"{start + 1}" if end - start == 1 else f"{start + 1}-{end}"
    reason = f" ({first_error.split(': ', 1)[1]})" if first_error else ""
    warnings.append(f"line {start + 1}: cannot parse line(s) {span}{reason}; skipped")
    return []


def parse_python(text: str) -> tuple[ast.Module, list[str]]:
    """Parse cell Python; salvage what parses when the whole cell does not."""
    try:
        return ast.parse(text), []
    except (SyntaxError, ValueError):
        pass
    except RecursionError:
        return ast.Module(body=[], type_ignores=[]), ["line 1: cell too deeply nested to parse; skipped"]
    lines = text.split("\n")
    warnings: list[str] = []
    body: list[ast.stmt] = []
    for start, end in _chunks(lines):
        try:
            body.extend(_parse_chunk(lines, start, end, warnings))
        except RecursionError:
            warnings.append(f"line {start + 1}: statement too deeply nested to parse; skipped")
    return ast.Module(body=body, type_ignores=[]), warnings


@dataclass
class ParsedCell:
    """A cell ready for analysis: its tree (None if not Python) and its Python text."""

    tree: ast.Module | None
    text: str
    warnings: list[str]
    cell_magic: str | None = None


def parse_cell(source: str) -> ParsedCell:
    prepared = prepare_cell(source)
    if prepared.python is None:
        return ParsedCell(None, "", prepared.warnings, prepared.cell_magic)
    tree, warnings = parse_python(prepared.python)
    return ParsedCell(tree, prepared.python, prepared.warnings + warnings, prepared.cell_magic)
