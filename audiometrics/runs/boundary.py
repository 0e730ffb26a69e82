"""The boundary where notebook-derived values enter a Run: validate, repair, and say so.

:func:`guard_result` is applied to each notebook's result right after alignment
(:func:`audiometrics.pipeline._extract`). Every text a notebook contributes to
the outputs (the file name, model names, learning-rate and call texts,
progress-table headers and cells) is checked:

* **Undecodable text** (lone surrogates: ``"\\ud800"`` in a JSON string, a
  non-UTF-8 file name decoded with ``surrogateescape``) cannot be written as
  UTF-8; each such character is replaced with U+FFFD, with a warning.
* **Control characters** (C0/C1 controls, DEL, and the bidirectional
  embedding/override/isolate marks that can make text read differently from
  what it is) are dropped from names, headers and cells (tab, newline and the
  other whitespace controls become a space), with a warning.
* **Progress-table columns that collide** with a column the CSV or the loader
  adds (``model``, ``notebook``, ``run``, ``cell``, ``global_epoch``, …) are
  renamed ``metric_<name>``; a header used twice in one table keeps its first
  column and the later ones become ``<name>_2``, ``<name>_3``; an empty header
  becomes ``unnamed_<k>`` (its 1-based position). Each rename is warned.

Repairs are per character and deterministic, so a path cleaned here and a path
cleaned by :func:`clean_text` elsewhere (the CSV's common parent) still match.
Warnings are :class:`~audiometrics.model.Diagnostic` lines naming the cell;
identical ones are given once per notebook with the number of places.

:func:`guard_sources` does the same for the code before it is analysed (only
undecodable text there: ``ast`` refuses it, and the rest of the code must stay
as written), and :func:`guard_error` for the path and reason of a file that
failed, so that its error line and the ``--errors`` CSV can be written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import replace

from audiometrics.errors import NotebookError
from audiometrics.escaping import ESCAPE_SEQUENCE
from audiometrics.model import CodeCell, Diagnostic, NotebookResult, Phase, Run

__all__ = ["clean_text", "text_problems", "guard_sources", "guard_result", "guard_error", "guard_columns", "reserved_columns"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE_CONTROL = re.compile("[\t\n\v\f\r\x1c-\x1f\x85]")
_OTHER_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")


@functools.lru_cache(maxsize=None)
def reserved_columns() -> frozenset[str]:
    """Names a progress-table column may not have: the columns the CSV and the loader add."""
    from audiometrics.epochs.schema import DERIVED_COLUMNS, SOURCE_COLUMNS, TYPED_SOURCE_COLUMNS

    return frozenset({"learning_rate", "model", "pretrained", "training_phase", *SOURCE_COLUMNS, *TYPED_SOURCE_COLUMNS, *DERIVED_COLUMNS})


def text_problems(text: str) -> list[str]:
    """What :func:`clean_text` repairs in ``text``, in words (empty when nothing)."""
    problems = []
    if _SURROGATE.search(text):
        problems.append("undecodable text (replaced with U+FFFD)")
    if _OTHER_CONTROL.search(text):
        problems.append("control characters (removed)")
    if _SPACE_CONTROL.search(text):
        problems.append("line breaks or tabs (made spaces)")
    return problems


def clean_text(text: str) -> str:
    """``text`` fit for every output: lone surrogates → U+FFFD, whitespace controls → space, other controls dropped."""
    if text.isascii() and text.isprintable():
        return text
    text = _SURROGATE.sub("\ufffd", text)
    text = ESCAPE_SEQUENCE.sub("", text)  # a whole terminal sequence goes, not only its ESC
    text = _SPACE_CONTROL.sub(" ", text)
    return _OTHER_CONTROL.sub("", text)


class _Notes:
    """Warnings collected for one notebook: identical messages kept once, with a count."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.found: dict[str, list] = {}

    def add(self, message: str, phase: Phase | None = None) -> None:
        entry = self.found.setdefault(message, [phase, 0])
        entry[1] += 1

    def diagnostics(self) -> list[Diagnostic]:
        out = []
        for message, (phase, times) in self.found.items():
            text = message if times == 1 else f"{message} ({times} places)"
            out.append(Diagnostic(self.path, text, phase.cell if phase else None, phase.count if phase else None))
        return out


def _clean(text: str, what: str, notes: _Notes, phase: Phase | None = None) -> str:
    problems = text_problems(text)
    if not problems:
        return text
    cleaned = clean_text(text)
    notes.add(f"{what} {cleaned!r} held {' and '.join(problems)}", phase)
    return cleaned


def guard_columns(columns: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """Column names safe for the CSV, and one message per rename (see the module docstring)."""
    reserved = reserved_columns()
    original = list(columns)
    out: list[str] = []
    messages: list[str] = []
    for position, name in enumerate(original, start=1):
        new = name
        if not name.strip():
            new = f"unnamed_{position}"
            why = "it has no name"
        elif name in reserved:
            new = f"metric_{name}"
            why = "the CSV or the loader has a column of that name"
        else:
            why = "the table has two columns of that name"
        base, k = new, 1
        while new in out or (new != name and (new in original or new in reserved)):
            k += 1
            new = f"{base}_{k}"
        if new != name:
            messages.append(f"progress-table column {name!r} renamed {new!r}: {why}")
        out.append(new)
    return tuple(out), messages


def _guard_phase(phase: Phase, notes: _Notes) -> Phase:
    columns = tuple(_clean(c, "progress-table column", notes, phase) for c in phase.columns)
    columns, renames = guard_columns(columns)
    for message in renames:
        notes.add(message, phase)
    rows = phase.rows
    if any(not (v.isascii() and v.isprintable()) and text_problems(v) for row in rows for v in row):
        rows = tuple(tuple(clean_text(v) for v in row) for row in rows)
        found = sorted({p for row in phase.rows for v in row for p in text_problems(v)})
        notes.add(f"progress-table values held {' and '.join(found)}", phase)
    return replace(
        phase,
        columns=columns,
        rows=rows,
        method=_clean(phase.method, "training method", notes, phase),
        learning_rate=_clean(phase.learning_rate, "learning rate", notes, phase),
        call_text=_clean(phase.call_text, "training call", notes, phase),
    )


def _guard_run(run: Run, notes: _Notes) -> Run:
    model = _clean(run.model, "model name", notes, run.phases[0] if run.phases else None)
    return replace(run, notebook=clean_text(run.notebook), model=model, phases=tuple(_guard_phase(p, notes) for p in run.phases))


def guard_result(result: NotebookResult) -> NotebookResult:
    """``result`` with every notebook-derived text validated (see the module docstring), warnings added."""
    path = clean_text(result.path)
    notes = _Notes(path)
    if path != result.path:
        notes.add(f"the file name held {' and '.join(text_problems(result.path))}: shown as {path!r}")
    runs = tuple(_guard_run(run, notes) for run in result.runs)
    diagnostics = tuple(replace(d, path=clean_text(d.path), message=clean_text(d.message)) for d in result.diagnostics)
    return NotebookResult(path=path, runs=runs, diagnostics=diagnostics + tuple(notes.diagnostics()))


def guard_sources(path: str, cells: Iterable[CodeCell]) -> tuple[list[str], list[Diagnostic]]:
    """The cells' code ready for analysis: lone surrogates (which ``ast`` refuses) → U+FFFD, warned per cell.

    Nothing else is changed: code keeps its tabs and newlines, and control
    characters in the names it yields are dealt with by :func:`guard_result`.
    """
    sources: list[str] = []
    notes: list[Diagnostic] = []
    for cell in cells:
        source = cell.source
        if _SURROGATE.search(source):
            source = _SURROGATE.sub("\ufffd", source)
            notes.append(Diagnostic(path, "the code held undecodable text: replaced with U+FFFD", cell.index, cell.execution_count))
        sources.append(source)
    return sources, notes


def guard_error(item: NotebookResult | NotebookError) -> NotebookResult | NotebookError:
    """A per-file error whose path and reason every output can hold (results pass unchanged)."""
    if isinstance(item, NotebookError) and (text_problems(item.path) or text_problems(item.reason)):
        return NotebookError(clean_text(item.path), clean_text(item.reason))
    return item
