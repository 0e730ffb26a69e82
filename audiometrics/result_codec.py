"""A notebook's outcome as plain tuples, and back: the form the result cache stores.

A :class:`~audiometrics.model.NotebookResult` becomes nested tuples of its
fields in declaration order (its runs, their phases, its diagnostics and stated
parameters likewise), pickled with equal strings shared (a column name or an
epoch's time is stored once per notebook and read back as one object). The
payload names no class: the loader refuses any but the literal types a stated
parameter may hold, so an entry written by anything else is foreign (``None``),
never code. Reading it back builds each object straight from its stored fields,
without constructors: a warm re-run over thousands of notebooks is spent in
``pickle``'s C loop, not in Python.

Examples
--------
>>> from audiometrics.model import Diagnostic, NotebookResult, Phase, Run
>>> phase = Phase(1, "fit_one_cycle", 1, "1e-3", False, 2, ("epoch", "train_loss"), (("0", "0.5"),))
>>> result = NotebookResult("a.ipynb", (Run("a.ipynb", "resnet18", True, (phase,)),), (Diagnostic("a.ipynb", "note"),))
>>> load(dump(result)) == result
True
>>> load(b"not a payload") is None
True
"""

from __future__ import annotations

import io
import pickle
from dataclasses import fields
from typing import Any

from audiometrics.analysis.parameters import Parameter
from audiometrics.errors import NotebookError
from audiometrics.model import Diagnostic, NotebookResult, Phase, Run

__all__ = ["dump", "load"]

_RESULT, _ERROR = "result", "error"


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_RESULT_FIELDS, _RUN_FIELDS, _PHASE_FIELDS = _names(NotebookResult), _names(Run), _names(Phase)
_DIAGNOSTIC_FIELDS, _PARAMETER_FIELDS = _names(Diagnostic), _names(Parameter)
_PHASES_AT = _RUN_FIELDS.index("phases")
_new = object.__new__


class _Loader(pickle.Unpickler):
    """Unpickles builtins only: an entry naming any other class is foreign."""

    _ALLOWED = {("builtins", "frozenset"), ("builtins", "set"), ("builtins", "complex")}

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a literal type")


def dump(outcome: NotebookResult | NotebookError) -> bytes:
    """``outcome`` as a payload :func:`load` reads back equal."""
    if isinstance(outcome, NotebookError):
        return pickle.dumps((_ERROR, outcome.path, outcome.reason), protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.dumps(_shared((_RESULT, *_encode_result(outcome)), {}), protocol=pickle.HIGHEST_PROTOCOL)


def load(payload: bytes) -> NotebookResult | NotebookError | None:
    """The outcome :func:`dump` stored in ``payload``; ``None`` for a payload it did not write."""
    try:
        value = _Loader(io.BytesIO(payload)).load()
        if type(value) is not tuple or not value:
            return None
        if value[0] == _ERROR and len(value) == 3:
            return NotebookError(str(value[1]), str(value[2]))
        return _decode_result(value[1:]) if value[0] == _RESULT else None
    except Exception:  # noqa: BLE001 - corrupt or foreign: treated as absent
        return None


def _flat(obj: Any, names: tuple[str, ...]) -> tuple:
    return tuple([getattr(obj, name) for name in names])


def _encode_result(result: NotebookResult) -> tuple:
    values = dict(zip(_RESULT_FIELDS, _flat(result, _RESULT_FIELDS)))
    values["runs"] = tuple([_encode_run(run) for run in result.runs])
    values["diagnostics"] = tuple([_flat(d, _DIAGNOSTIC_FIELDS) for d in result.diagnostics])
    values["parameters"] = tuple([_flat(p, _PARAMETER_FIELDS) for p in result.parameters])
    return tuple(values.values())


def _encode_run(run: Run) -> tuple:
    values = list(_flat(run, _RUN_FIELDS))
    values[_PHASES_AT] = tuple([_flat(phase, _PHASE_FIELDS) for phase in run.phases])
    return tuple(values)


def _shared(value: Any, memo: dict[str, str]) -> Any:
    """``value`` with equal strings made one object (pickle then stores each once)."""
    kind = type(value)
    if kind is str:
        return memo.setdefault(value, value)
    if kind is tuple:
        return tuple([_shared(item, memo) for item in value])
    return value


def _build(cls: type, names: tuple[str, ...], values: tuple) -> Any:
    if len(values) != len(names):
        raise ValueError(f"{cls.__name__}: {len(values)} stored fields, {len(names)} expected")
    obj = _new(cls)
    obj.__dict__.update(zip(names, values))
    return obj


def _decode_result(values: tuple) -> NotebookResult:
    if len(values) != len(_RESULT_FIELDS):
        raise ValueError("a result of another shape")
    stored = dict(zip(_RESULT_FIELDS, values))
    stored["runs"] = tuple([_decode_run(run) for run in stored["runs"]])
    stored["diagnostics"] = tuple([_build(Diagnostic, _DIAGNOSTIC_FIELDS, d) for d in stored["diagnostics"]])
    stored["parameters"] = tuple([_build(Parameter, _PARAMETER_FIELDS, p) for p in stored["parameters"]])
    return _build(NotebookResult, _RESULT_FIELDS, tuple(stored.values()))


def _decode_run(values: tuple) -> Run:
    if len(values) != len(_RUN_FIELDS):
        raise ValueError("a run of another shape")
    phases = tuple([_build(Phase, _PHASE_FIELDS, phase) for phase in values[_PHASES_AT]])
    return _build(Run, _RUN_FIELDS, values[:_PHASES_AT] + (phases,) + values[_PHASES_AT + 1 :])
