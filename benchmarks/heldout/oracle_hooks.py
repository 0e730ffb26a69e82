"""Hidden oracle recorder for the held-out corpus (loaded as an IPython startup file).

``make_corpus.py`` starts each notebook's kernel with ``IPYTHONDIR`` pointing at a
temporary profile whose startup file executes this module, so the notebook itself
contains no trace of it (no cell, no output). It wraps the frameworks' training
entry points and keeps, per training call, what the *framework itself* recorded:

- HuggingFace ``Trainer.train``: a copy of ``trainer.state.log_history`` taken when
  ``train()`` returns (so a later ``trainer.evaluate()`` is not part of it);
- Keras ``Model.fit`` (Keras 3 and tf-keras 2): ``History.history`` and
  ``History.epoch``, also when ``fit`` raises (a crashed fit keeps the epochs it
  finished), and the optimizer's rate read *before* ``fit`` (the rate the call
  starts from; a rate callback changes it during the call);
- Lightning ``Trainer.fit``: a callback copying ``trainer.callback_metrics`` at the
  end of every training epoch (after that epoch's validation);
- plain loops: the notebook's own lists, handed over by a hidden last cell that
  ``make_corpus.py`` executes and then removes (``_heldout_plain_run``).

The oracle file (``HELDOUT_ORACLE``) is rewritten after every recorded run.
Which frameworks are wrapped is ``HELDOUT_HOOKS`` (comma separated: ``hf``,
``keras``, ``tfkeras``, ``lightning``); importing only those keeps start-up cheap.
"""

import json
import math
import os

_HELDOUT_RUNS = []
_HELDOUT_PATH = os.environ.get("HELDOUT_ORACLE")
_HELDOUT_VERSIONS = {}


def _heldout_num(value):
    """A JSON-safe float from a framework number (tensor, numpy scalar, float)."""
    try:
        if hasattr(value, "item"):
            value = value.item()
        value = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return value


def _heldout_save():
    if not _HELDOUT_PATH:
        return
    data = {"versions": _HELDOUT_VERSIONS, "runs": _HELDOUT_RUNS}
    tmp = _HELDOUT_PATH + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, _HELDOUT_PATH)


_HELDOUT_LEARNERS = []  # the trained objects, kept alive so that identities are never reused


def _heldout_add(run, learner=None):
    """Record one training call; ``learner`` (the model object) numbers runs and phases.

    Successive training calls on the same model object are phases of one learner
    (``learner``: 1-based in order of first training; ``phase``: 1-based within it).
    """
    if learner is None:
        learner = object()
    number = next((i for i, obj in enumerate(_HELDOUT_LEARNERS, 1) if obj is learner), None)
    if number is None:
        _HELDOUT_LEARNERS.append(learner)
        number = len(_HELDOUT_LEARNERS)
    run["learner"] = number
    run["phase"] = 1 + sum(1 for r in _HELDOUT_RUNS if r["learner"] == number)
    _HELDOUT_RUNS.append(run)
    _heldout_save()


# --------------------------------------------------------------------------- HF
def _heldout_hf_rows(history, eval_strategy):
    """Rows as the Trainer reports them: one per evaluation (or per loss log without evaluation)."""
    rows = []
    last_loss = None
    for entry in history:
        if "loss" in entry:
            last_loss = entry["loss"]
            if eval_strategy == "no":
                rows.append({"epoch": None, "epoch_float": entry.get("epoch"), "step": entry.get("step"),
                             "values": {"loss": _heldout_num(entry["loss"])}})
            continue
        if "eval_loss" in entry:
            values = {"loss": None if last_loss is None else _heldout_num(last_loss)}
            for key, value in entry.items():
                if key.startswith("eval_") and not key.endswith(("_runtime", "_per_second", "_preparation_time")):
                    values[key] = _heldout_num(value)
            epoch = entry.get("epoch")
            rows.append({
                "epoch": int(round(epoch)) - 1 if eval_strategy == "epoch" and epoch is not None else None,
                "epoch_float": epoch, "step": entry.get("step"), "values": values,
            })
    return rows


def _heldout_hook_hf():
    import transformers

    _HELDOUT_VERSIONS["transformers"] = transformers.__version__
    original = transformers.Trainer.train

    def train(self, *args, **kwargs):
        failure = None
        try:
            return original(self, *args, **kwargs)
        except BaseException as exc:
            failure = type(exc).__name__
            raise
        finally:
            strategy = getattr(self.args.eval_strategy, "value", str(self.args.eval_strategy))
            model = self.model
            config = getattr(model, "config", None)
            _heldout_add({
                "framework": "transformers",
                "model": [type(model).__name__, getattr(config, "model_type", None),
                          getattr(config, "_name_or_path", None) or None],
                "pretrained": False,
                "planned_epochs": _heldout_num(self.args.num_train_epochs),
                "learning_rate": _heldout_num(self.args.learning_rate),
                "key": "epoch" if strategy == "epoch" else "step",
                "display": "log dicts" if self.args.disable_tqdm else "notebook table",
                "crashed": failure,
                "rows": _heldout_hf_rows(self.state.log_history, strategy),
            }, model)

    transformers.Trainer.train = train


# ------------------------------------------------------------------------ Keras
def _heldout_keras_lr(model):
    try:
        return _heldout_num(model.optimizer.learning_rate)
    except Exception:  # a model never compiled, a schedule
        return None


def _heldout_wrap_fit(model_class, framework, pretrained_names):
    original = model_class.fit

    def fit(self, *args, **kwargs):
        failure = None
        history = None
        # The rate the call starts from, read before fit: a rate callback (ReduceLROnPlateau,
        # LearningRateScheduler) changes the optimizer's rate during the call.
        learning_rate = _heldout_keras_lr(self)
        try:
            history = original(self, *args, **kwargs)
            return history
        except BaseException as exc:
            failure = type(exc).__name__
            raise
        finally:
            record = history if history is not None else getattr(self, "history", None)
            epochs = list(getattr(record, "epoch", []) or [])
            metrics = dict(getattr(record, "history", {}) or {})
            rows = [{"epoch": int(epoch), "step": None,
                     "values": {k: _heldout_num(v[i]) for k, v in metrics.items() if i < len(v)}}
                    for i, epoch in enumerate(epochs)]
            _heldout_add({
                "framework": framework,
                "model": [type(self).__name__, getattr(self, "name", None)],
                "pretrained": self.name in pretrained_names,
                "planned_epochs": kwargs.get("epochs", args[3] if len(args) > 3 else 1),
                "learning_rate": learning_rate,
                "key": "epoch",
                "verbose": kwargs.get("verbose", "auto"),
                "display": "keras progress",
                "crashed": failure,
                "rows": rows,
            }, self)

    model_class.fit = fit


def _heldout_hook_keras():
    import keras

    _HELDOUT_VERSIONS["keras"] = keras.__version__
    _HELDOUT_VERSIONS["keras_backend"] = keras.backend.backend()
    _heldout_wrap_fit(keras.Model, "keras", ())


def _heldout_hook_tfkeras():
    import tf_keras

    _HELDOUT_VERSIONS["tf_keras"] = tf_keras.__version__
    _heldout_wrap_fit(tf_keras.Model, "tf_keras", ())


# -------------------------------------------------------------------- Lightning
def _heldout_hook_lightning():
    import pytorch_lightning as pl

    _HELDOUT_VERSIONS["pytorch_lightning"] = pl.__version__

    class _HeldoutRecorder(pl.Callback):
        def __init__(self):
            self.rows = []
            self.learning_rate = None

        def on_train_start(self, trainer, pl_module):
            try:
                self.learning_rate = _heldout_num(trainer.optimizers[0].param_groups[0]["lr"])
            except Exception:
                self.learning_rate = None

        def on_train_epoch_end(self, trainer, pl_module):
            values = {k: _heldout_num(v) for k, v in trainer.callback_metrics.items()}
            self.rows.append({"epoch": int(trainer.current_epoch), "step": int(trainer.global_step),
                              "values": values})

    original = pl.Trainer.fit

    def fit(self, model, *args, **kwargs):
        recorder = _HeldoutRecorder()
        self.callbacks.append(recorder)
        failure = None
        try:
            return original(self, model, *args, **kwargs)
        except BaseException as exc:
            failure = type(exc).__name__
            raise
        finally:
            self.callbacks.remove(recorder)
            _heldout_add({
                "framework": "pytorch_lightning",
                "model": [type(model).__name__],
                "pretrained": False,
                "planned_epochs": self.max_epochs,
                "learning_rate": recorder.learning_rate,
                "key": "epoch",
                "display": "tqdm text bar",
                "crashed": failure,
                "rows": recorder.rows,
            }, model)

    pl.Trainer.fit = fit


# ---------------------------------------------------------------- plain loops
def _heldout_plain_run(model, learning_rate, planned_epochs, columns, key="epoch", steps=None, epochs=None,
                       style="", display_base=1):
    """Record a plain loop's run from the lists it kept: ``columns`` maps a metric name to its list.

    ``display_base``: what the loop's printing counts epochs from (``Epoch: 01`` 1, ``epoch: 0`` 0).
    """
    import torch

    _HELDOUT_VERSIONS["torch"] = torch.__version__
    length = max((len(v) for v in columns.values()), default=0)
    rows = []
    for i in range(length):
        rows.append({
            "epoch": int(epochs[i]) if epochs is not None else i,
            "step": int(steps[i]) if steps is not None else None,
            "values": {name: _heldout_num(values[i]) for name, values in columns.items() if i < len(values)},
        })
    _heldout_add({"framework": "plain", "model": [model], "pretrained": False,
                  "planned_epochs": planned_epochs, "learning_rate": _heldout_num(learning_rate),
                  "key": key, "display": style, "epoch_display_base": display_base, "rows": rows})


for _heldout_name in filter(None, os.environ.get("HELDOUT_HOOKS", "").split(",")):
    globals()["_heldout_hook_" + _heldout_name]()
_heldout_save()
