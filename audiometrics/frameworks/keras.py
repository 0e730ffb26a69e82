"""What Keras (2.x, tf.keras, tf-keras and Keras 3) does with the arguments we read.

A Keras learner is a model: ``Sequential([...])``, ``keras.Model(inputs, outputs)``,
an application (``keras.applications.ResNet50(weights="imagenet")``), a notebook
subclass of ``keras.Model`` (``MyModel()``, the class name its model name),
``load_model(...)`` or a transformers TF model (``TFAutoModel...from_pretrained("bert-base-cased")``,
trained with Keras' ``fit``).  ``model.compile(optimizer=...)`` sets the rate of the later
fits (the analysis binds the optimizer as the learner's rate, :func:`learner_rate`), as does
``K.set_value(model.optimizer.lr, 1e-5)`` or ``model.optimizer.learning_rate = 1e-5``;
``model.fit(x, y, epochs=N)`` is one phase of ``epochs - initial_epoch`` epochs,
none when ``verbose=0`` (it prints nothing).  Facts are taken from the Keras 3.15
and tf-keras 2.21 sources (``fit`` defaults ``epochs=1``, ``verbose="auto"``;
``compile`` defaults ``optimizer="rmsprop"``; every optimizer's default
``learning_rate`` is 0.001 except SGD's 0.01).

:func:`csv_column` maps Keras' log names to CSV column names (used by the
``keras`` table format, :mod:`audiometrics.tables.keras`).
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, Sequence

from audiometrics.analysis.convert import as_int, lr_text
from audiometrics.analysis.fold import callee as _callee
from audiometrics.analysis.values import OPAQUE_VALUE, Value, dotted, finish, holds_unknown
from audiometrics.analysis.walk import walk
from audiometrics.frameworks import Framework
from audiometrics.frameworks.base import MISSING, Args, LearnerInfo, LearnerLr, PhaseSpec

__all__ = ["csv_column", "FRAMEWORK"]

# --------------------------------------------------------------------------- columns

_RENAMED = {"loss": "train_loss", "val_loss": "valid_loss", "lr": "lr", "learning_rate": "lr"}


def csv_column(name: str) -> str:
    """The CSV column of a Keras log name.

    ``loss`` → ``train_loss``, ``val_loss`` → ``valid_loss``, ``val_<metric>`` →
    ``<metric>`` (the validation value is the metric, as in fastai's tables),
    any other training-side ``<metric>`` → ``train_<metric>``; the rate logged by
    ``ReduceLROnPlateau`` (``lr`` in Keras 2, ``learning_rate`` in Keras 3) → ``lr``.

    Examples
    --------
    >>> [csv_column(n) for n in ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate")]
    ['train_loss', 'valid_loss', 'train_accuracy', 'accuracy', 'lr']
    """
    if name in _RENAMED:
        return _RENAMED[name]
    if name.startswith("val_") and len(name) > 4:
        return name[4:]
    return "train_" + name


# --------------------------------------------------------------------------- learners

_APPLICATION = re.compile(
    r"(?:ResNet\d+(?:V2)?|ResNetRS\d+|VGG\d+|InceptionV3|InceptionResNetV2|Xception|MobileNet(?:V2|V3Small|V3Large)?"
    r"|DenseNet\d+|NASNet(?:Mobile|Large)|EfficientNet(?:B\d|V2B\d|V2[SML])|ConvNeXt(?:Tiny|Small|Base|Large|XLarge)"
    r"|RegNet[XY]\d{3})"
)
_MODEL_FACTORIES = frozenset({"Sequential", "Model", "load_model", "from_pretrained"})
LEARNER_FACTORIES = _MODEL_FACTORIES | frozenset(
    [f"ResNet{n}" for n in (50, 101, 152)]
    + [f"ResNet{n}V2" for n in (50, 101, 152)]
    + ["VGG16", "VGG19", "InceptionV3", "InceptionResNetV2", "Xception", "MobileNet", "MobileNetV2"]
    + ["MobileNetV3Small", "MobileNetV3Large", "DenseNet121", "DenseNet169", "DenseNet201", "NASNetMobile", "NASNetLarge"]
    + [f"EfficientNetB{n}" for n in range(8)]
    + [f"EfficientNetV2B{n}" for n in range(4)]
    + ["EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L"]
    + [f"ConvNeXt{s}" for s in ("Tiny", "Small", "Base", "Large", "XLarge")]
)
MODEL_BASES = frozenset({"Model"})
"""Base classes whose notebook subclasses build learners (``class MyModel(keras.Model)``)."""
TRAINING_METHODS = frozenset({"fit", "fit_generator"})
INFERENCE_METHODS = frozenset({"evaluate", "predict", "evaluate_generator", "predict_generator"})
RATE_METHODS = frozenset({"compile", "set_value", "assign"})
APPLY_METHODS = frozenset({"apply_gradients"})
_WEIGHTS = frozenset({"trainable_variables", "trainable_weights"})


_RANDOM_LAYER = re.compile(
    r"(?:Input(?:Layer)?|Dense|EinsumDense|Conv\dD(?:Transpose)?|SeparableConv\dD|DepthwiseConv\dD|ConvLSTM\dD"
    r"|(?:Global)?(?:Max|Average|Avg)Pool(?:ing)?\dD|Flatten|(?:Spatial|Alpha|Gaussian)?Dropout(?:\dD)?|GaussianNoise"
    r"|(?:Batch|Layer|Group|Unit)Normalization|Normalization|Activation|ReLU|LeakyReLU|PReLU|ELU|Softmax|Embedding"
    r"|LSTM|GRU|SimpleRNN|(?:LSTM|GRU|SimpleRNN)Cell|RNN|Bidirectional|TimeDistributed|Reshape|Permute|RepeatVector"
    r"|Concatenate|Add|Subtract|Multiply|Average|Maximum|Minimum|Dot|Lambda|Masking|Identity"
    r"|(?:ZeroPadding|Cropping|UpSampling)\dD|Rescaling|Resizing|CenterCrop|Random\w+|TextVectorization"
    r"|StringLookup|IntegerLookup|CategoryEncoding|Hashing|Discretization|(?:MultiHead|Additive)?Attention"
    r"|Sequential|Model|L1|L2|L1L2|\w*(?:Initializer|Normal|Uniform|Orthogonal|Zeros|Ones|Constant)|\w*Constraint|MaxNorm)"
)
"""Keras layers and helpers that build weights from scratch: a model made of them only is not pretrained."""
_HUB_LAYERS = frozenset({"KerasLayer"})
"""TensorFlow Hub layers: they load trained weights."""


def _application(node: ast.AST, value: Value) -> tuple[str, bool | None] | None:
    """The first ``keras.applications`` model built in ``node`` and whether it is pretrained."""
    for sub in walk(node):
        if isinstance(sub, ast.Call):
            name = _callee(sub.func)
            if name is not None and _APPLICATION.fullmatch(name):
                return name, _weights(sub, value)
    return None


_OP_ROOTS = frozenset({"tf", "K", "np", "keras", "layers", "backend", "ops", "math", "nn", "regularizers", "activations", "initializers"})
_OP_NAMES = frozenset({"concatenate", "add", "subtract", "multiply", "average", "maximum", "minimum", "dot", "l1", "l2", "l1_l2"})


def _is_op(func: ast.AST, name: str) -> bool:
    """A lower-case function of TensorFlow, Keras or NumPy (``tf.concat``, ``layers.add``): no weights loaded."""
    if not name[:1].islower():
        return False
    if isinstance(func, ast.Name):
        return name in _OP_NAMES
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id in _OP_ROOTS


def _from_scratch(node: ast.AST, classes: frozenset[str]) -> bool | None:
    """Whether a model built from ``node`` starts from random weights: False with a TF Hub layer, None
    when a call to something else than a Keras layer (or a layer class of the notebook) may load weights.

    >>> _from_scratch(ast.parse("[Dense(4), layers.Dropout(0.2), Dense(1, activation=tf.nn.relu)]").body[0].value, frozenset())
    True
    >>> _from_scratch(ast.parse("[hub.KerasLayer(url), Dense(1)]").body[0].value, frozenset())
    False
    >>> _from_scratch(ast.parse("[Backbone(), Dense(1)]").body[0].value, frozenset()) is None
    True
    """
    scratch: bool | None = True
    for sub in walk(node):
        if not isinstance(sub, ast.Call):
            continue
        name = _callee(sub.func)
        if name is None or name in classes or _RANDOM_LAYER.fullmatch(name) or _is_op(sub.func, name):
            continue  # a layer applied to a tensor (``Dense(2)(x)``), an op (``tf.concat``), a notebook layer
        if name in _HUB_LAYERS:
            return False
        scratch = None
    return scratch


def _weights(call: ast.Call, value: Value) -> bool | None:
    """``weights=`` of an application: ``"imagenet"`` (the default) or a file → True, ``None`` → False."""
    node = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "weights"), None)
    if node is None:
        return None if any(k.arg is None for k in call.keywords) else True
    if isinstance(node, ast.Constant):
        return node.value is not None if isinstance(node.value, (str, type(None))) else None
    return None


def learner_info(factory: str, args: Args, version: int, classes: frozenset[str] = frozenset()) -> LearnerInfo:
    """Model name and pretrained flag of a Keras model built by ``factory`` (the rate comes from ``compile``)."""
    model: str | None
    pretrained: bool | None
    if factory == "load_model":
        model, pretrained = None, None
    elif factory == "from_pretrained":  # a transformers TF model (``TFAutoModel...``): a Keras model
        name = args.get(0, ("pretrained_model_name_or_path",))
        node = name.node if isinstance(name, Value) and name.known else None
        text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
        model, pretrained = text or None, True
    elif factory == "Sequential" and not args.positional and "layers" not in args.keywords:
        model, pretrained = factory, None  # layers come later (``model.add(...)``, not read): pretrained unknown
    elif factory in ("Sequential", "Model"):
        found, hub, unknown = None, False, args.opaque
        for value in (*args.positional, *args.keywords.values()):
            if not value.known:
                unknown = True
                continue
            found = found or _application(value.node, value)
            verdict = _from_scratch(value.node, classes)
            hub, unknown = hub or verdict is False, unknown or verdict is None
        if found is not None:
            model, pretrained = found
        else:
            model, pretrained = _functional_name(factory, args), (True if hub else None if unknown else False)
    elif _APPLICATION.fullmatch(factory):
        weights = args.get(1, ("weights",))
        model = factory
        if weights is MISSING:
            pretrained = True  # weights="imagenet" by default
        elif isinstance(weights, Value) and isinstance(weights.node, ast.Constant):
            pretrained = weights.node.value is not None
        else:
            pretrained = None
    else:  # a subclass of keras.Model defined in the notebook
        model, pretrained = factory, None
    return LearnerInfo(model, pretrained, (), None, default_lr=False)


def _functional_name(factory: str, args: Args) -> str:
    """A ``keras.Model(inputs, outputs)`` is a ``Functional`` model (Keras's class for it), named by its
    ``name="..."`` when it has one; a ``Sequential`` is ``Sequential``."""
    if factory != "Model":
        return factory
    name = args.keywords.get("name")
    node = name.node if isinstance(name, Value) and name.known else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value.strip()
    return "Functional"


def metrics_of(args: Args, version: int, classes: frozenset[str] = frozenset()) -> tuple[str, ...] | None:
    """Keras tables always print their column names: nothing to name."""
    return ()


RATE_PATHS = ("optimizer.lr", "optimizer.learning_rate")


def learner_rate(
    method: str, receiver: str | None, paths: tuple[str | None, ...], args: Args
) -> tuple[str, Value] | None:
    """The model whose rate a call sets and what it leaves there.

    ``model.compile(...)``: its optimizer argument (``"rmsprop"`` when omitted);
    ``K.set_value(model.optimizer.lr, 1e-5)`` and ``model.optimizer.learning_rate.assign(1e-5)``: the
    number (read as a rate by :func:`training_phases`).
    """
    if method == "compile":
        if receiver is None:
            return None
        optimizer = args.get(0, ("optimizer",))
        if optimizer is MISSING:
            return receiver, finish("'rmsprop'")
        return receiver, optimizer if isinstance(optimizer, Value) else OPAQUE_VALUE
    target = paths[0] if method == "set_value" and paths else receiver if method == "assign" else None
    value = args.get(1 if method == "set_value" else 0, ("value",))
    for path in RATE_PATHS:
        if target is not None and target.endswith("." + path):
            return target[: -len(path) - 1], value if isinstance(value, Value) else OPAQUE_VALUE
    return None


def applied_rate(call: ast.Call, optimizer: Value | None) -> tuple[str, PhaseSpec] | None:
    """``optimizer.apply_gradients(zip(grads, model.trainable_variables))`` (a ``GradientTape`` loop): the
    model whose weights it names, and the optimizer's rate (as ``compile`` would give it).

    >>> from audiometrics.analysis.values import finish
    >>> call = ast.parse("opt.apply_gradients(zip(g, model.trainable_variables))").body[0].value
    >>> name, spec = applied_rate(call, finish("keras.optimizers.SGD(learning_rate=0.01)"))
    >>> name, spec.learning_rate, spec.lr_is_default
    ('model', '0.01', False)
    """
    weights = [
        node.value for arg in (*call.args, *(k.value for k in call.keywords))
        for node in ast.walk(arg) if isinstance(node, ast.Attribute) and node.attr in _WEIGHTS
    ]
    names = {dotted(node) for node in weights}
    if len(names) != 1 or None in names:
        return None  # no model's weights, or several models': not one learner's rate
    if optimizer is None or not optimizer.known:
        return names.pop(), PhaseSpec(None, "", lr_unknown="the optimizer it applies cannot be resolved statically")
    spec, problems = _optimizer_rate(optimizer)
    if problems and not spec.lr_unknown:
        spec = PhaseSpec(None, "", lr_unknown="the rate of the optimizer it applies cannot be resolved statically")
    return names.pop(), spec


# --------------------------------------------------------------------------- training

#: The default ``learning_rate`` of each optimizer (Keras >= 2.3 and Keras 3), by lower-cased name.
_DEFAULT_RATES = {
    "sgd": "1e-2",
    **{name: "1e-3" for name in ("adam", "adamw", "adamax", "nadam", "rmsprop", "adagrad", "adadelta", "ftrl", "lion")},
}
_SCHEDULER = re.compile(r"LearningRateScheduler|ReduceLROnPlateau|\w*(?:Cyclic|OneCycle)\w*|\w*Scheduler")


def _optimizer_rate(optimizer: Value | None) -> tuple[PhaseSpec, list[str]]:
    """The phase rate given by a compiled optimizer (epochs filled in by the caller)."""
    if optimizer is None:
        return PhaseSpec(None, _DEFAULT_RATES["rmsprop"], True), []
    node = optimizer.node if optimizer.known else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        rate = _DEFAULT_RATES.get(node.value.lower())
        if rate is None:
            return PhaseSpec(None, "", lr_unknown=f"the optimizer {node.value!r} is not one Keras names"), []
        return PhaseSpec(None, rate, True), []
    text = lr_text(optimizer) if node is not None and not isinstance(node, ast.Call) else None
    if text is not None:  # a rate set on the optimizer (``K.set_value(model.optimizer.lr, 1e-5)``)
        return PhaseSpec(None, text), []
    if isinstance(node, ast.Call):
        name = _callee(node.func) or ""
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in ("learning_rate", "lr")), None)
        if arg is None:
            if any(k.arg is None for k in node.keywords):
                return PhaseSpec(None, ""), ["learning rate"]
            rate = _DEFAULT_RATES.get(name.lower())
            if rate is None:
                return PhaseSpec(None, "", lr_unknown=f"the default rate of {name} is not known"), []
            return PhaseSpec(None, rate, True), []
        text = lr_text(optimizer.sub(arg))
        if text is None:
            if isinstance(arg, ast.Call) and not holds_unknown(arg):
                return PhaseSpec(None, "", lr_unknown=f"a schedule ({_callee(arg.func)}) sets it"), []
            return PhaseSpec(None, ""), ["learning rate"]
        return PhaseSpec(None, text, lr_if_ignored=_dropped_rate(node, arg, name)), []
    return PhaseSpec(None, ""), ["learning rate"]


def _dropped_rate(call: ast.Call, arg: ast.expr, name: str) -> str | None:
    """The rate an optimizer given its rate as ``lr=`` trains at where Keras drops that keyword: its default.

    tf.keras 2.11+ and tf-keras (the optimizers of ``keras.optimizers``) log "`lr` is deprecated" and
    keep their default; older Keras and the ``optimizers.legacy`` classes honour ``lr=`` (Keras 3 refuses
    it). Which one ran, only the notebook's output tells (:mod:`audiometrics.runs.align` reads it).

    >>> call = ast.parse("keras.optimizers.Adam(lr=0.005)", mode="eval").body
    >>> _dropped_rate(call, call.keywords[0].value, "Adam")
    '1e-3'
    >>> legacy = ast.parse("keras.optimizers.legacy.Adam(lr=0.005)", mode="eval").body
    >>> _dropped_rate(legacy, legacy.keywords[0].value, "Adam") is None
    True
    """
    given_as_lr = any(k.arg == "lr" and k.value is arg for k in call.keywords)
    if not given_as_lr or "legacy" in (dotted(call.func) or "").split("."):
        return None
    return _DEFAULT_RATES.get(name.lower())


def training_phases(
    method: str, args: Args, version: int, learner_lr: LearnerLr | None
) -> tuple[list[PhaseSpec], list[str]]:
    """The phase of ``model.fit(...)`` (none with ``verbose=0``) and problems as message stems."""
    problems: list[str] = []
    verbose = args.get(3 if method == "fit_generator" else 4, ("verbose",))
    if isinstance(verbose, Value) and as_int(verbose) == 0:
        return [], []  # prints nothing: no table expected
    generator = method == "fit_generator"  # fit_generator(generator, steps_per_epoch, epochs, verbose, ...)
    epochs = _count(args.get(2 if generator else 3, ("epochs", "nb_epoch")), 1, "number of epochs", problems)
    initial = _count(args.get(None if generator else 11, ("initial_epoch",)), 0, "initial epoch", problems)
    planned = None if epochs is None or initial is None else max(epochs - initial, 0)
    if learner_lr is None:
        spec = PhaseSpec(None, "", lr_unknown="the model it trains is not known")
    elif learner_lr.value is None:
        spec = PhaseSpec(None, "", lr_unknown=learner_lr.unknown) if learner_lr.unknown else _optimizer_rate(None)[0]
    else:
        spec, more = _optimizer_rate(learner_lr.value)
        problems.extend(more)
    return [
        PhaseSpec(planned, spec.learning_rate, spec.lr_is_default, lr_unknown=spec.lr_unknown, lr_if_ignored=spec.lr_if_ignored)
    ], problems


def _count(got: object, default: int, what: str, problems: list[str]) -> int | None:
    if got is MISSING:
        return default
    value = as_int(got) if isinstance(got, Value) else None
    if value is None:
        problems.append(what)
    return value


def scheduler_in(args: Args) -> str | None:
    """A callback among ``callbacks=`` that sets the rate itself (``LearningRateScheduler``) or lowers it
    (``ReduceLROnPlateau``, one of :data:`~audiometrics.frameworks.base.RATE_REDUCERS`), if any."""
    value = args.keywords.get("callbacks")
    if not isinstance(value, Value) or not value.known:
        return None
    for node in walk(value.node):
        name = _callee(node.func) if isinstance(node, ast.Call) else None
        if name is not None and _SCHEDULER.fullmatch(name):
            return name
    return None


_KERAS_FIT_KWS = frozenset(
    {"epochs", "nb_epoch", "validation_data", "validation_split", "batch_size", "steps_per_epoch", "initial_epoch"}
)


def is_training_fit(args: Args) -> bool:
    """Whether ``x.fit(...)`` on a receiver not known as a model is Keras' (scikit-learn's takes none of its keywords)."""
    return any(name in args.keywords for name in _KERAS_FIT_KWS)


_FIT_CALL = re.compile(r"\.(fit|fit_generator)\s*\(")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def trained_names(texts: Iterable[str]) -> frozenset[str]:
    """Receivers of ``.fit(`` calls that pass Keras' keywords (``epochs=``, ``validation_data=``, ...), from text.

    >>> sorted(trained_names(["model.fit(x, y, epochs=3)", "clf.fit(X, y)"]))
    ['model']
    """
    found: set[str] = set()
    for text in texts:
        for match in _FIT_CALL.finditer(text):
            window = text[match.end() : match.end() + 400]
            if not any(f"{kw}=" in window or f"{kw} =" in window for kw in _KERAS_FIT_KWS):
                continue
            start = match.start()
            while start > 0 and text[start - 1] in _NAME_CHARS:
                start -= 1
            name = text[start : match.start()].strip(".")
            if name and not name[0].isdigit():
                found.add(name)
    return frozenset(found)


def detect(texts: Sequence[str]) -> bool:
    """Whether the cells use Keras (``keras``, ``tf.keras``, ``tf_keras``, transformers' ``TFAutoModel...``) and not fastai.

    >>> detect(["import tensorflow as tf", "m = tf.keras.Sequential()"]), detect(["from fastai.vision.all import *", "import keras"])
    (True, False)
    """
    return any("keras" in text or "TFAutoModel" in text for text in texts) and not any("fastai" in text for text in texts)


FRAMEWORK = Framework(
    name="keras",
    learner_factories=LEARNER_FACTORIES,
    training_methods=TRAINING_METHODS,
    inference_methods=INFERENCE_METHODS,
    detect=detect,
    detect_version=lambda trees: 3,
    trained_names=trained_names,
    learner_info=learner_info,
    metrics_of=metrics_of,
    scheduler_in=scheduler_in,
    is_training_fit=is_training_fit,
    training_phases=training_phases,
    model_bases=MODEL_BASES,
    rate_methods=RATE_METHODS,
    learner_rate=learner_rate,
    apply_methods=APPLY_METHODS,
    applied_rate=applied_rate,
    rate_paths=RATE_PATHS,
)
"""Keras, registered in :mod:`audiometrics.frameworks`."""
