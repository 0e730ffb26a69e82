"""Training frameworks: what a library's calls mean, behind one small registry.

The analysis (:mod:`audiometrics.analysis`) knows no training library. It asks the
:class:`Framework` a notebook uses (:func:`detect`) which calls build learners, which
methods train and how many table-printing phases each prints, with which epochs and
learning rate (the library defaults included), whether a model is pretrained, and
which metric columns it prints. Registered: fastai (v1 and v2, the default), the HuggingFace
``Trainer`` (:mod:`.huggingface`) and Keras (:mod:`.keras`).

How to add a framework
----------------------
1. Write ``audiometrics/frameworks/<name>.py`` with pure functions over
   :class:`~audiometrics.frameworks.base.Args` (a call's arguments as values):

   * ``detect(texts)`` — cheap: whether the notebook's cell texts use the library
     (``"from transformers import" in text``), no parsing;
   * ``detect_version(trees)`` and ``may_tell_version(text)`` (the cells worth
     parsing for the version) when versions matter (the defaults: none do);
   * ``learner_info(factory, args, version, classes)`` →
     :class:`~audiometrics.frameworks.base.LearnerInfo` (model, pretrained, metric
     names, the learner's own rate, whether the library default applies);
   * ``training_phases(method, args, version, learner_lr)`` → the
     :class:`~audiometrics.frameworks.base.PhaseSpec` list and problem stems
     (``fine_tune`` prints two tables; ``Trainer(...).train()`` reads epochs from the
     factory's ``TrainingArguments``, ``model.fit(epochs=N)`` after
     ``compile(optimizer=Adam(learning_rate=...))`` reads the rate from the learner:
     put such a rate in ``LearnerInfo.lr``, where fastai puts ``Learner(lr=...)``;
     with ``reads_classes``, a fifth argument: the notebook's own classes, for a
     rate the model's code sets, such as Lightning's ``configure_optimizers``);
   * ``trained_names(texts)`` — receivers of the training methods, read from text;
   * optionally ``model_bases`` (notebook subclasses of these build learners: Keras'
     ``class MyModel(keras.Model)``) and ``rate_methods``/``learner_rate``/``rate_paths``
     (calls and attributes that set a learner's rate for its later fits: Keras'
     ``model.compile(optimizer=...)``, ``K.set_value(model.optimizer.lr, ...)``),
     ``metrics_of`` (metric names a factory's arguments give; default none: the
     tables print theirs), ``scheduler_in``, ``is_training_fit`` and ``cell_notes``.
2. Build one :class:`Framework` from them at the end of the module and add one line
   below: ``register(<name>.FRAMEWORK)``. Registration order is detection order;
   fastai, the default, is asked last.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from audiometrics.analysis.values import Value
from audiometrics.frameworks.base import Args, LearnerInfo, PhaseSpec, is_epoch_loop

__all__ = ["Framework", "register", "unregister", "registered", "detect", "call_names", "progress_prefixes", "DEFAULT"]


def _never(*_args: object) -> bool:
    return False


def _no_version(_trees: Iterable[ast.AST]) -> int:
    return 0


def _no_metric_names(_args: Args, _version: int, _classes: frozenset[str]) -> tuple[str, ...]:
    return ()


def _no_scheduler(_args: Args) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Framework:
    """What one training library means to the analysis (see the module docstring)."""

    name: str
    learner_factories: frozenset[str]
    """Callee names that build a learner (also as methods of a module or class: ``Learner.create_unet``)."""
    training_methods: frozenset[str]
    """Learner methods that train and print a table per phase."""
    inference_methods: frozenset[str]
    """Learner methods that show a progress bar but print no table."""
    detect: Callable[[Sequence[str]], bool]
    may_tell_version: Callable[[str], bool] = _never
    """Whether a cell's text is worth parsing for the version (default: versions do not matter)."""
    detect_version: Callable[[Iterable[ast.AST]], int] = _no_version
    trained_names: Callable[[Iterable[str]], frozenset[str]]
    learner_info: Callable[[str, Args, int, frozenset[str]], LearnerInfo]
    metrics_of: Callable[[Args, int, frozenset[str]], "tuple[str, ...] | None"] = _no_metric_names
    """Metric column names a factory's arguments give (default: the tables print their own)."""
    scheduler_in: Callable[[Args], "str | None"] = _no_scheduler
    """The name of a callback among a call's arguments that sets the learning rate itself."""
    is_training_fit: Callable[[Args], bool] = _never
    """Whether a training method on a receiver not known as a learner is this library's (not scikit-learn's)."""
    training_phases: Callable[..., "tuple[list[PhaseSpec], list[str]]"]
    """``(method, args, version, learner_lr: LearnerLr | None[, classes])`` → phases and problem stems
    (``classes`` only with :attr:`reads_classes`)."""
    progress_prefixes: tuple[str, ...] = ()
    """Prefixes of methods that show progress on any receiver (fastai's ``lr_find*``)."""
    model_bases: frozenset[str] = frozenset()
    """Base classes whose subclasses defined in a notebook build learners (Keras' ``Model``): the class is a factory."""
    rate_methods: frozenset[str] = frozenset()
    """Methods that may set a learner's rate for its later fits (Keras' ``compile``, ``set_value``), read by :attr:`learner_rate`."""
    learner_rate: "Callable[[str, str | None, tuple[str | None, ...], Args], tuple[str, Value] | None] | None" = None
    """``(method, receiver, positional arguments as dotted names, args)`` → the learner (a dotted name) whose
    rate the call sets and the value it leaves (bound as ``<learner>.lr``, as ``learn.lr = ...`` is), or None."""
    rate_paths: tuple[str, ...] = ()
    setting_paths: tuple[str, ...] = ()
    """Attributes of a learner whose assignment changes what its later training calls do (HF's
    ``trainer.args.learning_rate``): handed to ``training_phases`` in ``LearnerLr.changed``."""
    """Attributes of a learner that hold its rate (Keras' ``optimizer.lr``): an assignment to one sets it."""
    cell_notes: "Callable[[str], tuple[str, ...]] | None" = None
    """Warnings about a cell's text that the analysis cannot follow (HF's ``args.learning_rate = ...``)."""
    rate_changes: "Callable[[Sequence[str]], str | None] | None" = None
    """Why the rate of tables recorded without a training call (``LearnerInfo.call_less``) may not be
    the one they trained with, from the notebook's cell texts (a plain loop's scheduler); None: nothing says so."""
    apply_methods: frozenset[str] = frozenset()
    """Methods of an optimizer that apply it to a learner's weights by hand (Keras' ``apply_gradients``),
    read by :attr:`applied_rate`."""
    applied_rate: "Callable[[ast.Call, Value | None], tuple[str, PhaseSpec] | None] | None" = None
    """``(the call as written, the optimizer's value)`` → the learner (a dotted name, as written) the
    optimizer trains and its rate, reported as a :class:`~audiometrics.model.RateApplied` event for the
    learner's call-less tables."""
    epoch_loop: "Callable[[ast.For | ast.AsyncFor], bool] | None" = is_epoch_loop
    """Whether a ``for`` loop runs over epochs: such a loop of known length is reported
    (:class:`~audiometrics.model.EpochLoop`) as the epochs planned for the tables its cell prints without
    a training call (a hand-written loop: plain PyTorch, a Keras ``GradientTape`` loop, an
    ``accelerate`` loop); ``None``: never."""
    model_builders: tuple[str, ...] = ()
    """Keyword arguments of a factory that hold a function the library calls to build the model (HF's
    ``Trainer(model_init=f)``): when the model itself is not given, the analysis calls a notebook function
    passed there and hands what it returns to :attr:`learner_info` as the ``model`` keyword."""
    reads_classes: bool = False
    """``training_phases`` takes a fifth argument, the notebook's own classes
    (:data:`~audiometrics.frameworks.base.Classes`): Lightning reads the module's ``configure_optimizers``."""

    def is_factory(self, name: str) -> bool:
        return name in self.learner_factories

    def shows_progress(self, name: str) -> bool:
        return name.startswith(self.progress_prefixes) if self.progress_prefixes else False

    @property
    def call_names(self) -> frozenset[str]:
        """Every callee name that can make an event of this framework."""
        return self.learner_factories | self.training_methods | self.inference_methods | self.rate_methods | self.apply_methods


_REGISTRY: dict[str, Framework] = {}
_CALL_NAMES: frozenset[str] = frozenset()
_PROGRESS_PREFIXES: tuple[str, ...] = ()


def register(framework: Framework) -> Framework:
    """Add ``framework`` (its name replaces an earlier one of that name); detection asks in registration order."""
    _REGISTRY[framework.name] = framework
    _refresh()
    return framework


def unregister(name: str) -> None:
    """Remove the framework registered as ``name`` (for tests and plugins)."""
    _REGISTRY.pop(name, None)
    _refresh()


def _refresh() -> None:
    global _CALL_NAMES, _PROGRESS_PREFIXES
    _CALL_NAMES = frozenset().union(*(f.call_names for f in _REGISTRY.values()))
    _PROGRESS_PREFIXES = tuple(p for f in _REGISTRY.values() for p in f.progress_prefixes)


def registered() -> tuple[Framework, ...]:
    return tuple(_REGISTRY.values())


def detect(texts: Sequence[str]) -> Framework:
    """The framework the cell ``texts`` use: the first registered that claims them, else :data:`DEFAULT`."""
    for framework in _REGISTRY.values():
        if framework is not DEFAULT and framework.detect(texts):
            return framework
    return DEFAULT


def call_names() -> frozenset[str]:
    """The callee names of every registered framework (what syntax-only checks look for)."""
    return _CALL_NAMES


def progress_prefixes() -> tuple[str, ...]:
    """The progress-method prefixes of every registered framework (``lr_find``)."""
    return _PROGRESS_PREFIXES


from audiometrics.frameworks import fastai as _fastai  # noqa: E402  (registers after the types above exist)

DEFAULT: Framework = register(_fastai.FRAMEWORK)
"""fastai: the framework of a notebook no other registered one claims."""

from audiometrics.frameworks import huggingface as _huggingface  # noqa: E402

register(_huggingface.FRAMEWORK)

from audiometrics.frameworks import lightning as _lightning  # noqa: E402

register(_lightning.FRAMEWORK)

from audiometrics.frameworks import keras as _keras  # noqa: E402

register(_keras.FRAMEWORK)

from audiometrics.frameworks import loops as _loops  # noqa: E402

register(_loops.FRAMEWORK)
