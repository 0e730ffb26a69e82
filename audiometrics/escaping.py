"""Making notebook-derived text safe for each output format.

Every name, header, cell, call text, learning rate, path or message that comes
from a notebook is untrusted: it may hold markdown syntax, HTML, backticks,
newlines, control characters or lone surrogates. The helpers here render such a
value inertly for one output format:

:func:`md_text`
    inline markdown text: markdown specials backslash-escaped (``\\ ` * [ ] | ~ $``,
    ``_`` where it could start or end emphasis, ``#`` where it could start or end
    a heading), ``<`` and ``&`` as entities, block syntax at the start of the
    value (``#``, ``>``, ``-``, ``+``, ``=``, ``1.``) escaped, line breaks
    collapsed to one space, control characters removed. Safe in headings,
    list items, paragraphs and table cells.
:func:`md_code`
    a markdown code span whose fence is longer than any backtick run inside;
    line breaks collapsed, control characters removed (a blank span when
    nothing is left); ``cell=True`` escapes ``|`` for a table cell.
:func:`terminal_text`
    text for a terminal: ESC/CSI/OSC sequences and C0/C1 control characters
    removed (newlines kept unless ``newlines=False``), tabs become spaces.
:func:`plot_text`
    a matplotlib label: control characters removed, line breaks collapsed,
    ``$`` escaped so that it is never read as mathtext.
:func:`html_text`
    HTML text: ``& < > " '`` as entities, line breaks collapsed, control
    characters removed. Safe in element content and quoted attribute values.
:func:`script_json`
    a value as JSON that is safe inside an HTML ``<script>`` element: ``<``,
    ``>`` and ``&`` as ``\\u`` escapes (so neither ``</script>`` nor ``<!--``
    can appear), every non-ASCII character (U+2028/9 and lone surrogates
    included) escaped, non-finite numbers as ``null``.

:class:`Style`, with the instances :data:`PLAIN`, :data:`MARKDOWN` and :data:`HTML`, lets one
message builder produce both the terminal text and the markdown text of a
sentence: ``style(value)`` is an inline value, ``style.code(value)`` a code span.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

__all__ = [
    "md_text",
    "md_code",
    "terminal_text",
    "plot_text",
    "html_text",
    "script_json",
    "Style",
    "PLAIN",
    "MARKDOWN",
    "HTML",
]

# ESC sequences: CSI (ESC [ … final), OSC/DCS/SOS/PM/APC (… BEL or ESC \), two-character escapes.
ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
)
_LINE_BREAKS = re.compile(r"\s*(?:\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_ALWAYS = {"\\": "\\\\", "`": "\\`", "*": "\\*", "[": "\\[", "]": "\\]", "|": "\\|", "~": "\\~", "$": "\\$",
           "<": "&lt;", "&": "&amp;"}
_SPECIAL = re.compile(r"[\\`*\[\]|~$<&_#]")
# Block syntax a value could start at the beginning of a line: quote, list item, setext underline or
# thematic break, ordered list item ("*" and "_" are escaped everywhere).
_BLOCK_START = re.compile(r"^(?:>|[-+](?=\s|$)|[-=]+\s*$|\d{1,9}(?=[.)](?:\s|$)))")


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _clean(text: str) -> str:
    """Surrogates replaced, escape sequences and control characters dropped, tabs as spaces."""
    text = _SURROGATE.sub("\ufffd", text)
    text = ESCAPE_SEQUENCE.sub("", text)
    return _CONTROL.sub("", text.replace("\t", " "))


def _one_line(value: Any) -> str:
    text = _SURROGATE.sub("\ufffd", _as_text(value))
    return _clean(_LINE_BREAKS.sub(" ", text)).strip()


def _escape_special(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char, at = match.group(), match.start()
        if char in _ALWAYS:
            return _ALWAYS[char]
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        if char == "_":  # intraword underscores never open or close emphasis
            return "_" if before.isalnum() and after.isalnum() else "\\_"
        # "#": escaped where it could open a heading or close one (a run of # at the end after a space)
        if at == 0 or text[at:].strip("#").strip() == "" and (before.isspace() or before == "#"):
            return "\\#"
        return "#"

    return _SPECIAL.sub(replace, text)


def md_text(value: Any) -> str:
    """``value`` as inert inline markdown (see the module docstring).

    Examples
    --------
    >>> md_text("<!-- x")
    '&lt;!-- x'
    >>> md_text("# heading\\nnext")
    '\\\\# heading next'
    >>> md_text("[x](http://e)")
    '\\\\[x\\\\](http://e)'
    """
    text = _escape_special(_one_line(value))
    block = _BLOCK_START.match(text)
    if block:
        end = block.end()
        text = text[:end] + "\\" + text[end:] if block.group().isdigit() else "\\" + text
    return text


def md_code(value: Any, cell: bool = False) -> str:
    """``value`` as a markdown code span (a fence longer than any backtick run in it).

    Examples
    --------
    >>> md_code("learn.fit(1)")
    '`learn.fit(1)`'
    >>> md_code("a`b``c")
    '```a`b``c```'
    """
    text = _one_line(value)
    if not text:
        return "` `"  # an empty code span cannot be written; a blank one keeps the sentence's shape
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if cell else span


def terminal_text(value: Any, newlines: bool = True) -> str:
    """``value`` without escape sequences or control characters, for printing to a terminal."""
    text = _as_text(value)
    if not newlines:
        return _one_line(text)
    return "\n".join(_clean(line) for line in _SURROGATE.sub("\ufffd", text).replace("\r\n", "\n").split("\n"))


def plot_text(value: Any) -> str:
    """``value`` as a matplotlib label that is never parsed as mathtext."""
    return _one_line(value).replace("$", "\\$")


def html_text(value: Any) -> str:
    """``value`` as inert HTML text on one line (element content or a quoted attribute value).

    Examples
    --------
    >>> html_text("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    >>> html_text("a\\nb & c")
    'a b &amp; c'
    """
    return html.escape(_one_line(value), quote=True)


def _html_code(value: Any) -> str:
    return f"<code>{html_text(value)}</code>"


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def script_json(value: Any) -> str:
    """``value`` (dicts, lists, texts, numbers) as JSON to embed in an HTML ``<script>`` element.

    ``JSON.parse`` of the element's text gives the value back; no ``</script>``,
    ``<!--`` or line separator can appear in it.

    Examples
    --------
    >>> script_json({"name": "</script><!--", "x": float("nan")})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003c!--","x":null}'
    >>> script_json(["\\u2028"])
    '["\\\\u2028"]'
    """
    text = json.dumps(_finite(value), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return re.sub(r"[<>&]", lambda match: _SCRIPT_UNSAFE[match.group()], text)


@dataclass(frozen=True)
class Style:
    """How a message builder renders untrusted values: ``style(value)``, ``style.code(value)``."""

    text: Callable[[Any], str]
    code_span: Callable[[Any], str]

    def __call__(self, value: Any) -> str:
        return self.text(value)

    def code(self, value: Any) -> str:
        return self.code_span(value)


def _plain_code(value: Any) -> str:
    text = _as_text(value)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


#: Values as they are (terminal messages are cleaned when printed).
PLAIN = Style(_as_text, _plain_code)
#: Values escaped for markdown.
MARKDOWN = Style(md_text, md_code)
#: Values escaped for HTML text (a code span is a ``<code>`` element).
HTML = Style(html_text, _html_code)
