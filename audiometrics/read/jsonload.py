"""The JSON layer: notebook text parsed, with error messages that say what is wrong.

Truncated files are told from invalid ones; an integer too long for
:func:`int` is read as a float (parsing goes on); with the ``drop_media`` hook,
the values of non-text mime types (``application/pdf``, widget state, ...) are
dropped as soon as the parser has built their bundle.
"""

from __future__ import annotations

import json
from typing import Any

from audiometrics.errors import NotebookError
from audiometrics.read.content import check_bytes, decode

__all__ = ["load_json", "drop_media"]

#: Mime types whose values are kept by ``drop_media``: the only ones extraction reads.
_TEXT_MIMES = frozenset({"text/html", "text/plain", "text/markdown"})


def drop_media(obj: dict) -> dict:
    """``object_hook``: empty the values of non-text mime types as soon as their bundle is built."""
    for key in [k for k in obj if "/" in k and k not in _TEXT_MIMES]:
        obj[key] = ""
    return obj


def load_json(data: bytes | str, path: str, hook=None) -> Any:
    """The JSON value of ``data`` (bytes decoded first); :class:`NotebookError` saying why it cannot be parsed."""
    if isinstance(data, (bytes, bytearray)):
        check_bytes(data, path)
        text = decode(data, path)
    else:
        text = data
        if not text or text.isspace():
            raise NotebookError(path, "empty file")
    del data
    try:
        try:
            return json.loads(text, object_hook=hook)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer too long for int(): parse again, reading long ones as floats
            return json.loads(text, object_hook=hook, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        end = _content_end(text)
        runs_to_end = exc.msg.startswith("Unterminated string") and "\n" not in text[exc.pos : end]
        if exc.pos >= end - 1 or runs_to_end:
            reason = f"truncated JSON: the file ends before the document does (line {exc.lineno})"
        else:
            reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise NotebookError(path, reason) from None
    except RecursionError:
        raise NotebookError(path, "invalid JSON: nested too deeply") from None


#: Longest integer literal read as an ``int`` when a document holds a longer one
#: (Python's limit on int-string conversion, which bounds its quadratic cost).
_MAX_INT_DIGITS = 4300


def _json_int(literal: str) -> int | float:
    """An integer literal of the JSON text: an int, or a float when too long for :func:`int`.

    JSON numbers are doubles to most readers; a float keeps the magnitude (or is
    ``inf``), read in linear time. Extraction reads no such number.
    """
    if len(literal.lstrip("-")) <= _MAX_INT_DIGITS:
        return int(literal)
    return float(literal)


def _content_end(text: str) -> int:
    """``len(text.rstrip())`` without copying the text."""
    end = len(text)
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end

