"""Sinks: where extracted runs go, one notebook at a time.

Extraction yields one :class:`~audiometrics.model.NotebookResult` per notebook,
in input order (:func:`audiometrics.pipeline.extract_files`, ``on_result``). A
*sink* consumes those results as they arrive and writes them somewhere: the
epoch CSV (:class:`~audiometrics.sinks.csv.CsvSink`, registered as ``"csv"``)
today; TensorBoard event files or an MLflow run next. A sink never sees the
notebooks, only :class:`~audiometrics.model.Run` values, so every sink writes
the same runs.

The protocol is two methods (:class:`Sink`)::

    sink.add(result)      # once per notebook read, in input order
    paths = sink.close()  # once, at the end: finish writing, free resources

and sinks are found by name (:func:`create`, :func:`names`), so that a command
line option or a configuration file can name them.

How to add a sink
-----------------
1. Write ``audiometrics/sinks/<name>.py`` with a class that has ``add`` and
   ``close`` (no base class needed: :class:`Sink` is a :class:`typing.Protocol`).
   Take options as keyword arguments of ``__init__``. Import heavy or optional
   libraries (``torch.utils.tensorboard``, ``mlflow``) inside the methods, and
   raise :class:`ImportError` with :func:`audiometrics.hints.install_hint` when
   they are missing, so that ``import audiometrics.sinks`` stays cheap::

       class TensorBoardSink:
           def __init__(self, *, log_dir: Path) -> None:
               self.log_dir, self.written = Path(log_dir), []

           def add(self, result: NotebookResult) -> None:
               for run in result.runs:       # one event file per run
                   ...                       # phase.columns / phase.rows: the values as displayed;
                                             # audiometrics.epochs.values.parse_number reads them

           def close(self) -> list[Path]:
               return self.written

2. Register it at the bottom of this module: ``register("tensorboard",
   "audiometrics.sinks.tensorboard:TensorBoardSink")`` (a lazy reference: the
   module is imported only when the sink is created).
3. Test it with :func:`feed`: results in, files out (see ``tests/test_sinks.py``).

A sink must not change what other sinks receive (results are frozen values)
and should hold no more than one notebook's rows in memory where it can:
extraction runs over thousands of notebooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from audiometrics.errors import NotebookError
from audiometrics.model import NotebookResult

__all__ = ["Sink", "register", "create", "names", "feed", "forward"]


@runtime_checkable
class Sink(Protocol):
    """Consumes extracted notebooks one at a time (see the module docstring)."""

    def add(self, result: NotebookResult) -> None:
        """Take one notebook's runs (called once per notebook read, in input order)."""

    def close(self) -> list[Path]:
        """Finish: write what is left and free resources; returns the paths written."""


#: Sink name -> ``"module:Class"`` (imported on first use) or a factory.
_REGISTRY: dict[str, str | Callable[..., Sink]] = {}


def register(name: str, factory: str | Callable[..., Sink]) -> None:
    """Make ``factory`` (a callable, or ``"module:attribute"`` imported lazily) the sink called ``name``."""
    _REGISTRY[name] = factory


def names() -> list[str]:
    """The registered sink names, sorted."""
    return sorted(_REGISTRY)


def create(name: str, **options: Any) -> Sink:
    """A new sink ``name`` made with ``options``; :class:`KeyError` naming the known sinks for another name.

    Examples
    --------
    >>> from audiometrics.sinks import create, names
    >>> "csv" in names()
    True
    >>> sink = create("csv", with_source=True)
    >>> sink.close()
    []
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no sink called {name!r} (known: {', '.join(names())})") from None
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(import_module(module), attribute)
    return factory(**options)


def forward(
    sinks: Iterable[Sink], on_result: Callable[[NotebookResult | NotebookError], Any] | None = None
) -> Callable[[NotebookResult | NotebookError], None]:
    """An ``on_result`` callback for :func:`~audiometrics.pipeline.extract_files` that feeds ``sinks``.

    Each :class:`~audiometrics.model.NotebookResult` goes to every sink (in
    order); failed files (:class:`~audiometrics.errors.NotebookError`) go to
    none. ``on_result`` (a progress bar, say) is called after the sinks with
    every item.
    """
    targets = list(sinks)

    def deliver(item: NotebookResult | NotebookError) -> None:
        if isinstance(item, NotebookResult):
            for sink in targets:
                sink.add(item)
        if on_result is not None:
            on_result(item)

    return deliver


def feed(sink: Sink, results: Iterable[NotebookResult | NotebookError]) -> list[Path]:
    """Give ``results`` to ``sink`` and close it; returns what :meth:`Sink.close` returns."""
    deliver = forward([sink])
    try:
        for item in results:
            deliver(item)
    finally:
        written = sink.close()
    return written


register("csv", "audiometrics.sinks.csv:CsvSink")
register("tensorboard", "audiometrics.sinks.tensorboard:TensorBoardSink")
register("mlflow", "audiometrics.sinks.mlflow:MlflowSink")
