"""The parameters a notebook states without running it: papermill cells and literal hyperparameters.

Read with :mod:`ast` only (values through :func:`ast.literal_eval` of a parsed
literal, never ``eval``), in execution order, the last binding winning:

* every top-level literal assignment (``SMOKE = True``, ``EPOCHS = [1, 1]``) in a
  cell tagged ``parameters`` or ``injected-parameters`` (papermill's cells);
* elsewhere, top-level literal assignments whose name looks like a
  hyperparameter (:data:`HYPERPARAMETER`: batch size, image size, epochs, seed,
  learning rate, architecture, folds, smoke/debug flags, …), at the start of a
  line (not inside a function, a loop or an ``if``);
* literal keyword arguments of the same kind in any call (``bs=64``,
  ``Trainer(fast_dev_run=True)``, ``TrainingArguments(max_steps=10)``, one per line
  too), for names no assignment bound (a default in a ``def`` signature is no call's;
  a keyword given different values in different calls is not stated: which is the
  notebook's cannot be told).

A value must be a literal (numbers, strings, booleans, ``None``, and lists,
tuples, sets and dicts of them) written in at most :data:`MAX_VALUE_CHARS`
characters; anything else (``size = len(df)``) is not a stated parameter.

Smoke runs (:func:`smoke_reason`): a notebook is a smoke/debug run when it states
a flag named ``SMOKE``, ``SMOKE_TEST``, ``DRY_RUN``,
``FAST_DEV_RUN``, ``QUICK_RUN`` or ``TEST_RUN`` (any case, optionally ``IS_``-prefixed)
as ``True`` or a positive number, or ``max_steps`` between 1 and
:data:`TINY_MAX_STEPS`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DATA_PARAMETER",
    "HYPERPARAMETER",
    "KEYWORDS",
    "MAX_VALUE_CHARS",
    "PARAMETER_TAGS",
    "Parameter",
    "TINY_MAX_STEPS",
    "is_data_parameter",
    "notebook_parameters",
    "stated_parameters",
    "smoke_reason",
]

#: Cell tags of papermill's parameter cells: every literal assignment in them is a parameter.
PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})
#: Names (lower-cased) read as hyperparameters outside the papermill cells.
HYPERPARAMETER = re.compile(
    r"(?:.*_)?(?:batch_size|bs|size|sz|epochs?|seed|lr|learning_rate|max_lr|smoke(?:_test)?|debug(?:_mode)?|dry_run|"
    r"fast_dev_run|quick_run|test_run|max_steps|max_epochs|arch|architecture|model_name|pretrained|folds?|n_mels|"
    r"sample_rate|sr|duration|classes|wd|weight_decay|dropout|subset|limit_train_batches|num_train_epochs)"
)
#: Names (lower-cased) of parameters that change the data or the task: runs that differ in one are not compared.
DATA_PARAMETER = re.compile(
    r"(?:img|image|im|input|crop|train|debug_train|resize)?_?(?:size|sz|res|resolution)|"
    r"(?:n_|num_)?mels|sample_rate|sr|duration|data(?:_dir|_path|_root|set)?|dataset(?:_name)?|"
    r"(?:n_|num_)?classes|folds?|n_folds|num_folds|subset|task(?:_name)?|(?:n|num)_(?:samples|clips)|"
    r"(?:is_)?(?:smoke(?:_test)?|debug(?:_mode)?|dry_run|fast_dev_run|quick_run|test_run)"
)
#: Keyword arguments read as parameters (in any call), for names no assignment bound.
KEYWORDS = frozenset(
    {"bs", "batch_size", "per_device_train_batch_size", "seed", "fast_dev_run", "max_steps", "max_epochs",
     "num_train_epochs", "limit_train_batches", "n_epoch", "n_epochs", "epochs"}
)
#: A debug flag (``DEBUG_MODE = True``) is not one: it often trains a real schedule on a data subset;
#: it still splits groups (:data:`DATA_PARAMETER`), so a debug run is only compared with debug runs.
_SMOKE_FLAG = re.compile(r"(?:is_)?(?:smoke(?:_test)?|dry_run|fast_dev_run|quick_run|test_run)")
_NOT_DATA = re.compile(r".*batch_size|bs|.*_bs")
#: A literal written in more characters than this is not read.
MAX_VALUE_CHARS = 400
#: ``max_steps`` up to this many is a smoke run.
TINY_MAX_STEPS = 100

_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(.*)$", re.MULTILINE)
_KEYWORD = re.compile(r"[(,]\s*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)[ \t]*([^,()\n]*(?:\([^()\n]*\))?[^,()\n]*)")
_MAGIC = re.compile(r"^[ \t]*[%!?].*$", re.MULTILINE)
_SIGNATURE = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(", re.MULTILINE)


@dataclass(frozen=True)
class Parameter:
    """A stated parameter: its name, the literal value, and the source text of the value.

    ``tagged`` is true when it comes from a papermill ``parameters``/``injected-parameters`` cell.
    """

    name: str
    value: object
    text: str
    cell: int  # document index (0-based) of the cell that states it
    tagged: bool = False


def _literal(text: str) -> tuple[bool, object, str]:
    """``(True, value, source)`` when ``text`` is one literal expression (a trailing comment left out)."""
    text = text.strip()
    if not text or len(text) > MAX_VALUE_CHARS:
        return False, None, ""
    try:
        node = ast.parse(text, mode="eval").body
        return True, ast.literal_eval(node), " ".join((ast.get_source_segment(text, node) or text).split())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False, None, ""


def _tagged_assignments(source: str) -> list[tuple[str, str, object]]:
    try:
        tree = ast.parse(_MAGIC.sub("", source))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            continue
        ok, literal, text = _literal(ast.get_source_segment(source, value) or "")
        if ok:
            found.append((target, text, literal))
    return found


def _line_assignments(source: str) -> list[tuple[str, str, object]]:
    found = []
    for match in _ASSIGNMENT.finditer(source):
        name = match.group(1)
        if not HYPERPARAMETER.fullmatch(name.lower()):
            continue
        ok, value, text = _literal(match.group(2))
        if ok:
            found.append((name, text, value))
    return found


def _without_signatures(source: str) -> str:
    """``source`` with the parameter lists of its ``def`` statements blanked (their defaults are no arguments).

    >>> _without_signatures("def f(a, seed=0,\\n      size=(1, 2)):\\n    g(seed=1)").split("\\n")[-1]
    '    g(seed=1)'
    >>> "seed" in _without_signatures("def f(a, seed=0,\\n      size=(1, 2)):").replace("def f(", "")
    False
    """
    if "def" not in source:
        return source
    out = list(source)
    for match in _SIGNATURE.finditer(source):
        depth, end = 1, match.end()
        while end < len(source) and depth:
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        for i in range(match.end(), end - 1):
            if out[i] != "\n":
                out[i] = " "
    return "".join(out)


def _keywords(source: str) -> list[tuple[str, str, object]]:
    """The literal keyword arguments of calls in ``source`` named in :data:`KEYWORDS`: a ``name=`` after a
    comma outside any bracket is an assignment's target list (``a, b = f(seed=1), f(seed=2)``), skipped.

    >>> _keywords("train, valid = ToyGlue(96, seed=1), ToyGlue(32, seed=2)")
    [('seed', '1', 1), ('seed', '2', 2)]
    """
    found = []
    text = _without_signatures(source)
    pos = depth = 0
    match = _KEYWORD.search(text)
    while match is not None:
        depth += text.count("(", pos, match.start()) - text.count(")", pos, match.start())
        pos = match.start()
        if depth <= 0 and text[pos] == ",":
            match = _KEYWORD.search(text, pos + 1)  # (a target list: look again just after its comma)
            continue
        name = match.group(1)
        if name.lower() in KEYWORDS:
            ok, value, literal = _literal(match.group(2))
            if ok:
                found.append((name, literal, value))
        match = _KEYWORD.search(text, match.end())
    return found


def notebook_parameters(cells: Iterable[object], sources: Iterable[str] | None = None) -> tuple[Parameter, ...]:
    """The parameters stated by ``cells`` (:class:`~audiometrics.model.CodeCell`\\ s in execution order).

    ``sources`` replaces the cells' code (the pipeline passes the code it analyses).

    One :class:`Parameter` per name, in the order names first appear, holding the
    last binding (see the module docstring).

    Examples
    --------
    >>> from audiometrics.model import CodeCell
    >>> cells = [CodeCell(0, 1, 'EPOCHS = [5, 10]\\nSMOKE = False', (), ("parameters",)),
    ...          CodeCell(1, 2, '# Parameters\\nSMOKE = True', (), ("injected-parameters",)),
    ...          CodeCell(2, 3, 'bs = 64  # batch\\nsize = len(df)\\ndls = get(df, bs=32, seed=7)', ())]
    >>> [(p.name, p.value) for p in notebook_parameters(cells)]
    [('EPOCHS', [5, 10]), ('SMOKE', True), ('bs', 64), ('seed', 7)]
    """
    bound: dict[str, Parameter] = {}
    keywords: dict[str, Parameter] = {}
    conflicting: set[str] = set()
    cells = list(cells)
    texts = list(sources) if sources is not None else [getattr(cell, "source", "") or "" for cell in cells]
    for cell, source in zip(cells, texts):
        index = int(getattr(cell, "index", -1))
        tagged = bool(PARAMETER_TAGS.intersection(getattr(cell, "tags", ()) or ()))
        for name, text, value in _tagged_assignments(source) if tagged else _line_assignments(source):
            bound[name] = Parameter(name, value, text, index, tagged)
        for name, text, value in _keywords(source):
            if name in keywords and keywords[name].value != value:
                conflicting.add(name)
            keywords.setdefault(name, Parameter(name, value, text, index))
    return tuple([*bound.values(), *(p for name, p in keywords.items() if name not in bound and name not in conflicting)])


def stated_parameters(cells: Iterable[object], sources: Iterable[str], clean: Any = None) -> tuple[Parameter, ...]:
    """:func:`notebook_parameters` of ``cells`` read from ``sources``; never raises (a bug states nothing).

    ``clean`` (a text → text function) is applied to each value's source text.
    """
    try:
        found = notebook_parameters(cells, sources)
    except Exception:  # noqa: BLE001 - parameters are a courtesy: they must never cost the notebook
        return ()
    if clean is None:
        return found
    return tuple(Parameter(p.name, p.value, clean(p.text), p.cell, p.tagged) for p in found)


def smoke_reason(parameters: Iterable[Parameter]) -> str:
    """Why the parameters mark a smoke/debug run (``"SMOKE = True"``), or ``""`` (see the module docstring).

    Examples
    --------
    >>> smoke_reason([Parameter("SMOKE", True, "True", 1)])
    'SMOKE = True'
    >>> smoke_reason([Parameter("DEBUG", False, "False", 1), Parameter("max_steps", 10, "10", 2)])
    'max_steps = 10'
    >>> smoke_reason([Parameter("max_steps", 5000, "5000", 2)])
    ''
    """
    for p in parameters:
        name, value = p.name.lower(), p.value
        if isinstance(value, bool) or isinstance(value, (int, float)):
            if _SMOKE_FLAG.fullmatch(name) and value and value is not False:
                return f"{p.name} = {p.text}"
            if name == "max_steps" and not isinstance(value, bool) and 0 < value <= TINY_MAX_STEPS:
                return f"{p.name} = {p.text}"
    return ""


def is_data_parameter(name: str) -> bool:
    """Whether a parameter named ``name`` changes the data or the task (:data:`DATA_PARAMETER`).

    Examples
    --------
    >>> [is_data_parameter(n) for n in ("IMG_SIZE", "BATCH_SIZE", "DATA_DIR", "SEED", "SMOKE")]
    [True, False, True, False, True]
    """
    lowered = name.lower()
    return bool(DATA_PARAMETER.fullmatch(lowered)) and not _NOT_DATA.fullmatch(lowered)
