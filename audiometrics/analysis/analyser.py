"""Static analysis of notebook code cells: which learners are built and trained how.

:func:`analyse_cells` reads the code cells of one notebook, in execution order,
with :mod:`ast` only (notebook code is never executed) and reports, per cell, the
events that matter for extraction, in execution order:

* :class:`~audiometrics.model.LearnerCreated` for ``vision_learner``/``cnn_learner``/
  ``unet_learner``/``Learner``/``tabular_learner``/``text_classifier_learner``/
  ``language_model_learner``/``collab_learner``/``synth_learner`` (also
  module-qualified, or through ``partial``), fastai v1's ``create_cnn``/``ConvLearner``/
  ``Learner.create_unet``, walkwithfastai's ``timm_learner``, ``audio_learner`` and
  ``load_learner`` (model None); and, with ``known=False`` and no model, for any
  other call whose result is bound to a name the notebook trains
  (``learn = get_learner(dls, 'convnext_tiny')``; :func:`~audiometrics.frameworks.fastai.trained_names` reads those
  names from the text of all cells first), unless the call works on a learner
  (``learn = learn.load('stage-1')``, ``learn = to_fp16(learn)``). Every binding
  is its own event object, one per iteration of an unrolled loop;
* :class:`~audiometrics.model.TrainingCall` per table-printing phase of
  ``fit_one_cycle``/``fit``/``fit_flat_cos``/``fit_sgdr``/``fine_tune`` (two
  phases for ``fine_tune``);
* :class:`~audiometrics.model.ProgressCall` for displays without a table:
  ``lr_find*`` on any receiver; ``get_preds``/``tta``/``validate``/
  ``show_results`` on a receiver known to be a learner; a training call inside
  ``with learn.no_logging():`` (it shows bars but prints no table). Progress
  calls inside ``with learn.no_bar():`` show nothing and are left out;
* :class:`~audiometrics.model.Loop` for calls in a loop body that cannot be
  unrolled (unknown iterable, more than :data:`MAX_UNROLL` iterations, or a
  ``break``); loops over a static iterable are unrolled into plain events with
  the loop variable bound per iteration.

A fit given no learning rate gets what its learner gives it (fastai v2: the
learner's ``lr=`` or ``learn.lr = ...``, ``lr_from_learner``; the library default
only for a learner of a known factory that uses it), fastai v1's fits and
``fine_tune`` their own default; a learner from an unknown factory or
``load_learner``, or a scheduler callback (``cbs=ParamScheduler(...)``, on the call,
the factory or ``learn.add_cb``), leaves the rate empty with a warning that says why.

Values flow between cells: a name bound to a literal (``LR = 3e-3``; papermill's
injected parameters rebinding it later) is substituted as *text*, so learning
rates keep the author's spelling. Functions defined in the notebook are inlined
where they are called (events get the call-site line). For an ``if`` whose
condition cannot be decided statically, the ``if`` branch is assumed to run (or
the ``else`` branch when only it trains), with a warning; names the branches bind
differently become unknown afterwards. ``break``/``continue``/``return`` end
what they end when reached on a known path (a loop whose body can ``break`` is
reported as a Loop of unknown count). ``try`` bodies, ``finally`` and ``with``
bodies are followed; ``except`` handlers, class bodies and lambdas are not.

Work is skipped where it cannot change the result: code that can neither emit an
event nor change a binding that outlives it (a loop over files calling audio
helpers, a dropped ``show_batch()`` call) is not walked, as
:mod:`~audiometrics.analysis.reach` tells from its syntax (one
:class:`~audiometrics.analysis.reach.Summary` per statement, read in one walk for the
whole notebook, nested statements merged) and what its names are bound
to; an expression written on one line is valued on the cell's own tree, its text
parsed only where a consumer reads its tree; and a call of a notebook function that only computes a value is inlined when
that value is first read (a :class:`~audiometrics.analysis.scope.Deferred` binding,
computed before anything it reads is rebound), so a value nobody reads is never
computed.

How it is built: this module detects the notebook's framework
(:func:`audiometrics.frameworks.detect`: what its factories, training methods and
defaults mean) and its version, and runs one
:class:`~audiometrics.analysis.interpreter.Interpreter` over the cells. The
interpreter handles statements; its collaborators handle calls
(:class:`~audiometrics.analysis.calls.Calls`) and tell whether code can matter
(:class:`~audiometrics.analysis.relevance.Relevance`); all share one explicit
:class:`~audiometrics.analysis.state.State`.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Sequence

from audiometrics import frameworks
from audiometrics.model import CellAnalysis, LearnerCreated, Loop, SourceEvent, TrainingCall
from audiometrics.analysis.evaluate import escape_for_parser
from audiometrics.analysis.interpreter import MAX_UNROLL, Interpreter
from audiometrics.analysis.magics import ParsedCell, parse_cell
from audiometrics.analysis.state import State

__all__ = ["analyse_cells", "MAX_UNROLL"]


def analyse_cells(sources: Sequence[str]) -> list[CellAnalysis]:
    """One :class:`CellAnalysis` per code cell source, given in execution order.

    Never raises for any cell content: what cannot be read becomes a warning.
    """
    with warnings.catch_warnings():
        # ast.parse reports odd literals (``1_``, ``"\d"``) as warnings; they are not ours
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return _analyse(sources)


def _analyse(sources: Sequence[str]) -> list[CellAnalysis]:
    parsed = []
    # cells repeat (``learn.lr_find()``): each text is parsed once; the analysis only reads trees
    seen: dict[str, ParsedCell | None] = {}
    for src in sources:
        text = escape_for_parser(src) if isinstance(src, str) else ""
        if text not in seen:
            try:
                seen[text] = parse_cell(text)
            except Exception:  # pragma: no cover - defensive
                seen[text] = None
        parsed.append(seen[text])
    texts = list(seen)
    framework = frameworks.detect(texts)
    try:
        version = framework.detect_version(
            p.tree for p in seen.values() if p is not None and p.tree is not None and framework.may_tell_version(p.text)
        )
    except Exception:  # pragma: no cover - defensive
        version = 2
    state = State(framework, version, texts, framework.trained_names)
    analyser = Interpreter(state)
    results = []
    for p in parsed:
        if p is None:  # pragma: no cover - defensive
            results.append(CellAnalysis((), ("cell could not be read",)))
            continue
        analysis = analyser.cell(p)
        if framework.cell_notes is not None:
            notes = framework.cell_notes(p.text)
            if notes:
                analysis = dataclasses.replace(analysis, warnings=(*analysis.warnings, *notes))
        results.append(analysis)
    if state.unknown_learners:
        results = _drop_untrained(results)
    why = framework.rate_changes(texts) if framework.rate_changes is not None else None
    return _rates_unknown(results, why) if why else results


def _rates_unknown(results: list[CellAnalysis], why: str) -> list[CellAnalysis]:
    """Learners whose call-less tables take the rate they were built with (a loop's optimizer) get an
    unknown rate, ``why`` (the notebook schedules or sets it)."""

    def fix(events: Sequence[SourceEvent]) -> tuple[SourceEvent, ...]:
        out: list[SourceEvent] = []
        for event in events:
            if isinstance(event, LearnerCreated) and event.rate:
                event = dataclasses.replace(event, rate="", rate_is_default=False, rate_unknown=why)
            elif isinstance(event, Loop):
                event = dataclasses.replace(event, body=fix(event.body))
            out.append(event)
        return tuple(out)

    return [dataclasses.replace(result, events=fix(result.events)) for result in results]


def _drop_untrained(results: list[CellAnalysis]) -> list[CellAnalysis]:
    """Drop the learners made by unknown calls (``LearnerCreated.known`` False) whose name no
    training call of the notebook uses: a binding of ``learn_rate = get_lr()`` is no learner."""
    trained: set[str | None] = set()
    unknown = False

    def visit(events: Sequence[SourceEvent]) -> None:
        nonlocal unknown
        for event in events:
            if isinstance(event, TrainingCall):
                trained.add(event.learner)
            elif isinstance(event, Loop):
                visit(event.body)
            elif isinstance(event, LearnerCreated) and not event.known:
                unknown = True

    for result in results:
        visit(result.events)
    if not unknown:
        return results

    def keep(events: Sequence[SourceEvent]) -> tuple[SourceEvent, ...]:
        kept: list[SourceEvent] = []
        for event in events:
            if isinstance(event, LearnerCreated) and not event.known and event.target not in trained:
                continue
            if isinstance(event, Loop):
                body = keep(event.body)
                if not body:
                    continue
                if len(body) != len(event.body):
                    event = dataclasses.replace(event, body=body)
            kept.append(event)
        return tuple(kept)

    out = []
    for result in results:
        events = keep(result.events)
        out.append(result if len(events) == len(result.events) else dataclasses.replace(result, events=events))
    return out
