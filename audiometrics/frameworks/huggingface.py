"""What the HuggingFace ``Trainer`` does with the arguments we read, and how its columns are named.

Pure functions over :class:`~audiometrics.analysis.values.Value` objects, after
transformers 4.x-5.x (``trainer.py``, ``training_args.py``, ``utils/notebook.py``)
and trl's ``SFTTrainer``-style subclasses:

* ``trainer = Trainer(model=..., args=TrainingArguments(...))`` builds a learner
  (:func:`learner_info`): the model name and pretrained flag come from the
  ``model`` expression (``AutoModel*.from_pretrained("bert-base-uncased")`` is
  pretrained, ``XxxForYyy(config)`` / ``from_config(...)`` is not), and the
  ``TrainingArguments`` call is kept as the learner's own value, which
  :func:`training_phases` reads epochs and learning rate from;
* ``trainer.train()`` is one phase (``model.train()`` of plain PyTorch, a mode
  switch on a receiver that is no trainer, is none); ``trainer.evaluate()`` and
  ``trainer.predict()`` show a progress bar but record no epoch;
* :func:`csv_column` maps the names HF prints (table headers, log-dict keys)
  to the CSV's columns; both table formats
  (:mod:`audiometrics.tables.hf_html`, :mod:`audiometrics.tables.hf_logs`) call it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from audiometrics.analysis.fold import callee as _callee
from audiometrics.analysis.convert import as_int, as_number, lr_text
from audiometrics.analysis.values import OPAQUE_VALUE, Value, names_unknown
from audiometrics.frameworks import Framework
from audiometrics.frameworks.base import MISSING, Args, LearnerInfo, LearnerLr, PhaseSpec

__all__ = ["FRAMEWORK", "csv_column", "learner_info", "training_phases", "model_of", "DEFAULT_LR", "DEFAULT_EPOCHS"]

# --------------------------------------------------------------------------- columns

_TABLE_NAMES = {
    "epoch": "epoch",
    "step": "step",
    "training loss": "train_loss",
    "validation loss": "valid_loss",
    "loss": "train_loss",
    "eval_loss": "valid_loss",
}
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def csv_column(name: str) -> str:
    """The CSV column of a name HF prints: a notebook-table header or a log-dict key.

    ``Epoch``/``Step`` → ``epoch``/``step``; ``Training Loss``/``loss`` →
    ``train_loss``; ``Validation Loss``/``eval_loss`` → ``valid_loss``; an
    evaluation key loses its ``eval_`` prefix (the table already shows metrics
    without it); any other name is lower-cased, with every run of characters
    other than letters and digits turned into one ``_``.

    Examples
    --------
    >>> csv_column("Matthews Correlation"), csv_column("eval_accuracy"), csv_column("Training Loss")
    ('matthews_correlation', 'accuracy', 'train_loss')
    >>> csv_column("eval_loss"), csv_column("Rewards/chosen"), csv_column("F1")
    ('valid_loss', 'rewards_chosen', 'f1')
    """
    text = name.strip()
    low = text.lower()
    if low in _TABLE_NAMES:
        return _TABLE_NAMES[low]
    if low.startswith("eval_") and len(low) > 5:
        low = low[5:]
    return _NOT_WORD.sub("_", low).strip("_") or "metric"


# --------------------------------------------------------------------------- names

LEARNER_FACTORIES = frozenset(
    {
        "Trainer",
        "Seq2SeqTrainer",
        # trl's trainers subclass Trainer and print the same tables
        "SFTTrainer",
        "DPOTrainer",
        "ORPOTrainer",
        "KTOTrainer",
        "CPOTrainer",
        "RewardTrainer",
        "GRPOTrainer",
    }
)
TRAINING_METHODS = frozenset({"train"})
INFERENCE_METHODS = frozenset({"evaluate", "predict"})

#: ``TrainingArguments.learning_rate`` default (transformers 3.x-5.x).
DEFAULT_LR = "5e-5"
#: ``TrainingArguments.num_train_epochs`` default.
DEFAULT_EPOCHS = 3
#: Argument classes whose defaults are :data:`DEFAULT_LR` / :data:`DEFAULT_EPOCHS`
#: (trl's configs have other learning-rate defaults, which changed between versions).
_ARGUMENT_CLASSES = frozenset({"TrainingArguments", "Seq2SeqTrainingArguments"})

_MODEL_CLASS = re.compile(r"\w*(For[A-Z]\w*|Model|LMHeadModel)")
_PEEL_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "bfloat16", "train", "eval", "requires_grad_"})
_WRAPPERS = frozenset({"get_peft_model", "prepare_model_for_kbit_training", "PeftModel"})

# --------------------------------------------------------------------------- models




def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value or None
    return None


def _first_arg(call: ast.Call, keyword: str) -> ast.AST | None:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return None


def _class_name(func: ast.AST) -> str | None:
    """``BertForSequenceClassification`` of ``transformers.BertForSequenceClassification``; None for ``Auto*``."""
    name = _callee(func)
    if name is None or name.startswith("Auto") or names_unknown(name):
        return None
    return name


def model_of(value: Value | None) -> tuple[str | None, bool | None]:
    """(model name, pretrained flag) of a ``Trainer``'s ``model`` argument.

    ``X.from_pretrained("name")`` → the checkpoint name (the class when the name is
    not a literal, unless it is an ``Auto*`` class), pretrained; ``X.from_config(c)``
    or ``XxxForYyy(config)`` → the class (or the checkpoint of an
    ``AutoConfig.from_pretrained("name")`` config), not pretrained; a string (trl's
    ``SFTTrainer(model="name")``) → that name, pretrained. ``.to(device)``, ``.cuda()``
    and peft wrappers are looked through.
    """
    if value is None or not value.known:
        return None, None
    node: ast.AST = value.node
    for _ in range(10):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _PEEL_METHODS:
            node = node.func.value
        elif isinstance(node, ast.Call) and _callee(node.func) in _WRAPPERS and node.args:
            node = node.args[0]
        else:
            break
    text = _string(node)
    if text is not None:
        return text, True
    if not isinstance(node, ast.Call):
        return None, None
    name = _callee(node.func)
    if name == "from_pretrained" and isinstance(node.func, ast.Attribute):
        checkpoint = _string(_first_arg(node, "pretrained_model_name_or_path"))
        return checkpoint or _class_name(node.func.value), True
    if name == "from_config" and isinstance(node.func, ast.Attribute):
        config = _first_arg(node, "config")
        return _config_name(config) or _class_name(node.func.value) or _config_model(config, node.func.value), False
    if name is not None and _MODEL_CLASS.fullmatch(name) and name[:1].isupper():
        return name, False
    if name is not None and name[:1].isupper() and not names_unknown(name):
        return name, None  # a model class of the notebook's own: its weights cannot be told
    return None, None


_UNIFORM_HEADS = frozenset({
    "", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering", "ForMultipleChoice", "ForMaskedLM",
})
"""What follows ``AutoModel`` in the Auto classes whose model class every family names alike
(``BertForSequenceClassification``, ``DistilBertModel``); a causal or seq2seq head is not
(``GPT2LMHeadModel``)."""
_GENERIC_CONFIGS = frozenset({"AutoConfig", "PretrainedConfig", "PreTrainedConfig"})


def _config_model(config: ast.AST | None, auto: ast.AST) -> str | None:
    """The model ``AutoModelForY.from_config(XConfig(...))`` builds: ``XForY`` (``XModel`` for
    ``AutoModel``) for the heads every family names alike, else the family ``X``; None when the
    config is not such a call.

    >>> tree = ast.parse("AutoModelForSequenceClassification.from_config(DistilBertConfig(dim=32))", mode="eval").body
    >>> _config_model(tree.args[0], tree.func.value)
    'DistilBertForSequenceClassification'
    >>> tree = ast.parse("AutoModelForCausalLM.from_config(GPT2Config())", mode="eval").body
    >>> _config_model(tree.args[0], tree.func.value)
    'GPT2'
    """
    name = _callee(config.func) if isinstance(config, ast.Call) else None
    if name is None or not name.endswith("Config") or name in _GENERIC_CONFIGS or names_unknown(name):
        return None
    family = name[: -len("Config")]
    if not family[:1].isupper():
        return None
    auto = _callee(auto) or ""
    prefix, _, head = auto.partition("AutoModel")
    if prefix in ("", "TF", "Flax") and auto.startswith(prefix + "AutoModel") and head in _UNIFORM_HEADS:
        return f"{prefix}{family}{head or 'Model'}"
    return family


def _config_name(node: ast.AST | None) -> str | None:
    """The checkpoint of ``AutoConfig.from_pretrained("name", ...)``, else None."""
    if isinstance(node, ast.Call) and _callee(node.func) == "from_pretrained":
        return _string(_first_arg(node, "pretrained_model_name_or_path"))
    return None


# --------------------------------------------------------------------------- learners


def learner_info(factory: str, args: Args, version: int = 0, classes: frozenset[str] = frozenset()) -> LearnerInfo:
    """Model, pretrained flag and training arguments of a ``Trainer(...)`` call.

    The training arguments (``args=TrainingArguments(...)``, positional 1) are
    kept as the learner's own value (``LearnerInfo.lr``): :func:`training_phases`
    reads epochs and learning rate from them. Without them the library's
    ``TrainingArguments()`` applies.
    """
    model = args.get(0, ("model",))
    name, pretrained = model_of(model) if isinstance(model, Value) else (None, None)
    training_args = args.get(1, ("args",))
    if training_args is MISSING or (isinstance(training_args, Value) and training_args.text == "None"):
        training_args = Value("TrainingArguments()", None)
    elif training_args is None:
        training_args = OPAQUE_VALUE
    return LearnerInfo(name, pretrained, None, training_args, True, _own_optimizer(args))


def _own_optimizer(args: Args) -> str | None:
    """``Trainer(..., optimizers=(AdamW(..., lr=1e-3), None))``: the rate is the optimizer's, not ``learning_rate``.

    Returned as the learner's "scheduler", so its phases' rate is left empty with a warning;
    ``optimizers=(None, scheduler)`` keeps the rate of the training arguments.
    """
    for keyword in ("optimizers", "optimizer_cls_and_kwargs"):
        value = args.keywords.get(keyword)
        if not isinstance(value, Value):
            continue
        node = value.node if value.known else None
        if isinstance(node, ast.Tuple) and node.elts and isinstance(node.elts[0], ast.Constant) and node.elts[0].value is None:
            continue
        if isinstance(node, ast.Constant) and node.value is None:
            continue
        return f"Trainer({keyword}=...)"
    return None


def metrics_of(args: Args, version: int = 0, classes: frozenset[str] = frozenset()) -> None:
    """HF tables and logs name their own columns: nothing to read from the code."""
    return None


def scheduler_in(args: Args) -> None:
    """The Trainer's scheduler follows ``learning_rate``: the rate shown is the one given."""
    return None


def is_training_fit(args: Args) -> bool:
    """HF trainers have no ``fit``."""
    return False


# --------------------------------------------------------------------------- training


def _keyword(call: ast.Call, name: str) -> ast.AST | None | object:
    """The keyword ``name`` of ``call``: its node, MISSING when absent, None when a ``**x`` may hold it.

    ``**{"learning_rate": 1e-4}`` (a literal dict, or a name bound to one: its text is substituted) is read.
    """
    unknown = False
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
        if kw.arg is None:
            mapping = kw.value
            if isinstance(mapping, ast.Dict) and all(isinstance(k, ast.Constant) for k in mapping.keys):
                for key, value in zip(mapping.keys, mapping.values):
                    if key.value == name:  # type: ignore[union-attr]
                        return value
            elif isinstance(mapping, ast.Call) and _callee(mapping.func) == "dict" and not mapping.args:
                for inner in mapping.keywords:
                    if inner.arg == name:
                        return inner.value
                unknown = unknown or any(inner.arg is None for inner in mapping.keywords)
            else:
                unknown = True
    return None if unknown else MISSING


def _strategy(value: Value, call: ast.Call) -> str | None:
    """``eval_strategy`` (``evaluation_strategy`` before transformers 4.41) as text: "epoch", "steps", "no"; None unknown."""
    node = _keyword(call, "eval_strategy")
    if node is MISSING:
        node = _keyword(call, "evaluation_strategy")
    if node is MISSING:
        return "no"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lower()
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    return None


def training_phases(
    method: str, args: Args, version: int = 0, default_lr: LearnerLr | None = None
) -> tuple[list[PhaseSpec], list[str]]:
    """The phase of ``trainer.train()`` and problems as message stems.

    ``default_lr`` carries the receiver's training arguments (see
    :func:`learner_info`); a receiver without (``model.train()``, a mode switch of
    plain PyTorch) trains nothing. Planned epochs are ``num_train_epochs``
    (default 3) when the table has one row per epoch (``eval_strategy="epoch"``)
    and ``max_steps`` is not set; a table of steps plans no epoch count, nor does a resumed
    run (``train(resume_from_checkpoint=...)``: the checkpoint's epoch is not in the code).

    Examples
    --------
    >>> spec, problems = training_phases("train", Args((), {}), 0, LearnerLr(Value("TrainingArguments()", None)))
    >>> spec[0].learning_rate, spec[0].lr_is_default, spec[0].epochs, problems
    ('5e-5', True, None, [])
    >>> training_phases("train", Args((), {}), 0, None)
    ([], [])
    """
    if method not in TRAINING_METHODS or default_lr is None:
        return [], []
    if default_lr.value is None:
        return [PhaseSpec(None, "", lr_unknown=default_lr.unknown)], []
    value = default_lr.value
    node = value.node if value.known else None
    if not isinstance(node, ast.Call):
        return [PhaseSpec(None, "")], ["learning rate", "number of epochs"]
    problems: list[str] = []
    changed = default_lr.changed or {}
    known_defaults = _callee(node.func) in _ARGUMENT_CLASSES
    lr_node = _keyword(node, "learning_rate")
    if "args.learning_rate" in changed:  # trainer.args.learning_rate = 1e-4 before this call
        text = lr_text(changed["args.learning_rate"])
        learning_rate, is_default = text or "", False
        if text is None:
            problems.append("learning rate")
    elif lr_node is MISSING and known_defaults:
        learning_rate, is_default = DEFAULT_LR, True
    else:
        text = lr_text(value.sub(lr_node)) if isinstance(lr_node, ast.AST) else None
        learning_rate, is_default = text or "", False
        if text is None:
            problems.append("learning rate")
    planned = None if _resumes(args) else _planned_epochs(value, node, problems, changed.get("args.num_train_epochs"))
    return [PhaseSpec(planned, learning_rate, is_default)], problems


def _resumes(args: Args) -> bool:
    """Whether ``train(...)`` resumes from a checkpoint (``resume_from_checkpoint`` given, not None or False).

    >>> from audiometrics.analysis.values import finish
    >>> _resumes(Args((), {"resume_from_checkpoint": finish("True")})), _resumes(Args((finish("None"),), {}))
    (True, False)
    """
    given = args.get(0, ("resume_from_checkpoint",))
    if given is MISSING:
        return False
    node = given.node if isinstance(given, Value) and given.known else None
    return not (isinstance(node, ast.Constant) and node.value in (None, False))


def _planned_epochs(value: Value, node: ast.Call, problems: list[str], changed: Value | None = None) -> int | None:
    """Epochs of a run whose table has a row per epoch; None for step tables or ``max_steps`` runs.
    ``changed``: ``num_train_epochs`` as set on the trainer's arguments since (``trainer.args.num_train_epochs = 5``)."""
    if _strategy(value, node) != "epoch":
        return None
    steps = _keyword(node, "max_steps")
    if isinstance(steps, ast.AST):
        count = as_int(value.sub(steps))
        if count is None or count > 0:
            return None
    elif steps is None:
        return None
    epochs = _keyword(node, "num_train_epochs")
    if epochs is MISSING and changed is None:
        return DEFAULT_EPOCHS
    if changed is not None:
        number = as_number(changed)
    else:
        number = as_number(value.sub(epochs)) if isinstance(epochs, ast.AST) else None
    if number is None:
        problems.append("number of epochs")
        return None
    return int(number) if float(number).is_integer() and number >= 0 else None


# --------------------------------------------------------------------------- notebooks

_TRAIN_CALL = re.compile(r"([A-Za-z_][\w.]*)\.train\s*\(")
_FACTORY_HINT = re.compile(r"\b(?:Seq2Seq|SFT|DPO|ORPO|KTO|CPO|Reward|GRPO)?Trainer\s*\(|TrainingArguments\s*\(")


def trained_names(texts: Iterable[str]) -> frozenset[str]:
    """Receivers of ``.train(`` whose name says they are trainers (``trainer.train()``, ``sft_trainer.train()``).

    ``model.train()`` is PyTorch's mode switch, so a name must contain ``trainer``.
    """
    found = set()
    for text in texts:
        if ".train" not in text:
            continue
        for match in _TRAIN_CALL.finditer(text):
            name = match.group(1)
            if "trainer" in name.lower():
                found.add(name)
    return frozenset(found)


def detect(texts: Sequence[str]) -> bool:
    """Whether the cells train with a HuggingFace ``Trainer`` (not a fastai or Lightning one).

    ``TrainingArguments(`` always counts; a bare ``Trainer(`` only in a notebook
    that mentions ``transformers`` or ``trl`` and neither fastai nor Lightning.
    """
    if not any("Trainer" in text for text in texts):
        return False
    joined = "\n".join(texts)
    if "TrainingArguments" in joined or "SFTConfig" in joined:
        return _FACTORY_HINT.search(joined) is not None
    if "fastai" in joined or "lightning" in joined:
        return False
    return ("transformers" in joined or "trl" in joined) and _FACTORY_HINT.search(joined) is not None


@dataclass(frozen=True)
class _TrainerFramework(Framework):
    """A :class:`Framework` whose factories include the notebook's own ``Trainer`` subclasses."""

    def is_factory(self, name: str) -> bool:
        """A known trainer, or a class named ``…Trainer`` (``class WeightedTrainer(Trainer)``, common in HF notebooks)."""
        return name in self.learner_factories or (len(name) > 7 and name.endswith("Trainer") and name[:1].isupper())


_LATE_SETTING = re.compile(r"([A-Za-z_][\w.]*)\.(learning_rate|num_train_epochs|max_steps)\s*=(?!=)")


def cell_notes(text: str) -> tuple[str, ...]:
    """A warning for each training argument changed after ``TrainingArguments(...)`` made it and not
    followed: the learning rate and epochs set on a trainer's own arguments are followed
    (``trainer.args.learning_rate = 1e-4``: :data:`FRAMEWORK`'s ``setting_paths``), not those set on
    the arguments object itself or ``max_steps``.

    >>> cell_notes("args.num_train_epochs = 5")
    ('args.num_train_epochs is set after the training arguments were made; the epochs read from TrainingArguments(...) may not be the ones this training used',)
    >>> cell_notes("trainer.args.learning_rate = lr"), cell_notes("TrainingArguments(learning_rate=1e-4)")
    ((), ())
    """
    if ".learning_rate" not in text and ".num_train_epochs" not in text and ".max_steps" not in text:
        return ()
    notes = []
    for match in _LATE_SETTING.finditer(text):
        if match.group(1).endswith(".args") and match.group(2) != "max_steps":
            continue  # trainer.args.learning_rate / num_train_epochs: followed
        what = "the learning rate" if match.group(2) == "learning_rate" else "the epochs"
        which = "the one" if match.group(2) == "learning_rate" else "the ones"
        notes.append(
            f"{match.group(0).split('=')[0].strip()} is set after the training arguments were made; {what} read from "
            f"TrainingArguments(...) may not be {which} this training used"
        )
    return tuple(dict.fromkeys(notes))


FRAMEWORK = _TrainerFramework(
    name="huggingface",
    model_builders=("model_init",),
    setting_paths=("args.learning_rate", "args.num_train_epochs"),
    learner_factories=LEARNER_FACTORIES,
    training_methods=TRAINING_METHODS,
    inference_methods=INFERENCE_METHODS,
    detect=detect,
    trained_names=trained_names,
    learner_info=learner_info,
    metrics_of=metrics_of,
    scheduler_in=scheduler_in,
    is_training_fit=is_training_fit,
    training_phases=training_phases,
    cell_notes=cell_notes,
)
"""The HuggingFace Trainer (and trl's trainers), registered in :mod:`audiometrics.frameworks`."""
