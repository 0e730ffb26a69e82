"""Whether a model of a class the notebook defines starts from random weights, read from its ``__init__``.

``class Net(nn.Module)`` whose ``__init__`` builds torch.nn (or Keras) layers and
calls nothing else that could bring weights (builtins, tensor constructors,
initialisers, ``super().__init__()``, its own methods and the notebook's other
such classes) makes models trained from scratch: pretrained ``False``. A part
that names a pretrained model decides it (``models.resnet18(weights="DEFAULT")``,
``timm.create_model(name, pretrained=True)``, ``from_pretrained``: ``True``; with
``weights=None`` or timm's default: from scratch), and anything else
(``torch.load``, ``load_state_dict``, a helper the analysis does not know, a flag
that is not a literal) leaves the flag unknown (``None``). A module passed in
(``Classifier(backbone)``, the parameter kept as a part) is judged by the argument.

>>> import ast
>>> tree = ast.parse('''
... class Block(nn.Module):
...     def __init__(self, n):
...         super().__init__()
...         self.conv = nn.Conv2d(n, n, 3)
... class Net(nn.Module):
...     def __init__(self, n_classes=10):
...         super().__init__()
...         self.blocks = nn.Sequential(*[Block(16) for _ in range(3)])
...         self.head = nn.Linear(16, n_classes)
... class Tuned(nn.Module):
...     def __init__(self, backbone):
...         super().__init__()
...         self.backbone = backbone
... ''')
>>> classes = {node.name: node for node in tree.body}
>>> [instance_pretrained(ast.parse(code, mode="eval").body, classes) for code in (
...     "Net()", "Tuned(models.resnet18(weights='DEFAULT'))", "Tuned(Net())", "Tuned(get_backbone())")]
[False, True, False, None]
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping

from audiometrics.analysis.fold import callee
from audiometrics.frameworks.base import Args
from audiometrics.frameworks.torch_layers import CONTAINERS, TORCHVISION_MODEL, is_layer

__all__ = ["built_pretrained", "instance_pretrained"]

_BUILTINS = frozenset({
    "super", "range", "len", "list", "tuple", "dict", "set", "zip", "enumerate", "int", "float", "bool", "str",
    "min", "max", "sum", "abs", "round", "print", "isinstance", "getattr", "setattr", "hasattr", "sorted", "reversed",
    "map", "filter", "any", "all", "OrderedDict",
})
#: Calls on torch, its functional API, NumPy or math that make tensors or numbers, never weights of a model.
_TENSOR_ROOTS = frozenset({"torch", "F", "np", "numpy", "math", "init", "tf", "ops", "K"})
_NO_WEIGHTS = re.compile(r"[a-z_]\w*|Parameter|Buffer|\w*Loss")
#: Methods that add parts or set up what is there (``layers.append(...)``, ``self.apply(init)``).
_METHODS = frozenset({
    "append", "extend", "insert", "add_module", "register_buffer", "register_parameter", "apply", "items", "keys",
    "values", "format", "__init__", "view", "reshape", "size", "numel", "parameters", "modules", "children",
    "named_parameters", "named_modules", "to", "cuda", "cpu", "float", "half", "double", "train", "eval", "detach",
    "clone", "save_hyperparameters", "get", "update", "pop", "join", "split", "lower", "upper",
})
#: Objects that hold no weights of a model: losses, metrics (torchmetrics', by their class names).
_NO_MODEL = re.compile(r"\w*Loss|Accuracy|F1Score|F1|Precision|Recall|AUROC|AveragePrecision|MeanSquaredError"
                       r"|MeanAbsoluteError|ConfusionMatrix|MetricCollection|R2Score|MeanMetric|SumMetric")
_KERAS_LAYER = re.compile(
    r"Dense|Conv\dD(?:Transpose)?|SeparableConv\dD|DepthwiseConv\dD|(?:Global)?(?:Max|Average)Pooling\dD|Flatten"
    r"|Dropout|(?:Batch|Layer)Normalization|Activation|ReLU|LeakyReLU|Softmax|Embedding|LSTM|GRU|SimpleRNN"
    r"|Bidirectional|Reshape|Concatenate|Add|Lambda|MultiHeadAttention|Attention|InputLayer|Input"
)
#: Base classes of a model that bring no weights of their own (torch.nn's, Lightning's, Keras's).
_BASES = frozenset({"Module", "LightningModule", "Model", "Layer", "object"})
_LOADERS = frozenset({"load", "load_state_dict", "load_weights", "load_model", "load_learner", "from_checkpoint"})

Classes = Mapping[str, ast.ClassDef]


def instance_pretrained(call: ast.Call, classes: Classes) -> bool | None:
    """Whether the model ``call`` builds (``Net(...)`` of a notebook class in ``classes``) is pretrained:
    ``False`` when it starts from random weights, ``True`` when a part of it is a pretrained model, ``None``
    when that cannot be told (see the module docstring)."""
    name = callee(call.func)
    node = classes.get(name) if name is not None else None
    if node is None:
        return None
    return _Judge(classes).instance(node, call)


def built_pretrained(call: ast.Call, args: Args, model: str, classes: Classes) -> bool | None:
    """Whether a model of the notebook's class ``model``, built by ``call`` itself or in one of its
    arguments ``args`` (``SGD(Net().parameters(), ...)``), is pretrained (:func:`instance_pretrained`)."""
    built = call if callee(call.func) == model else None
    for value in () if built is not None else (*args.positional, *args.keywords.values()):
        if value.known:
            built = next((sub for sub in ast.walk(value.node) if isinstance(sub, ast.Call) and callee(sub.func) == model), None)
            if built is not None:
                break
    return None if built is None else instance_pretrained(built, classes)


class _Judge:
    """One verdict: ``False`` (scratch) < ``True`` (a pretrained part) < ``None`` (unknown), the worst kept."""

    def __init__(self, classes: Classes) -> None:
        self.classes = classes
        self.seen: set[str] = set()

    def instance(self, node: ast.ClassDef, call: ast.Call) -> bool | None:
        verdict = self.cls(node)
        init = _method(node, "__init__")
        if init is None or verdict is None:
            return verdict
        for argument in _module_arguments(init, call):
            verdict = _worse(verdict, self.part(argument))
        return verdict

    def cls(self, node: ast.ClassDef) -> bool | None:
        """The verdict of a class's own code (its bases, ``__init__`` and the methods it calls)."""
        if node.name in self.seen:
            return False  # (met again through its own code: nothing new)
        self.seen.add(node.name)
        verdict: bool | None = False
        for base in node.bases:
            name = callee(base) or ""
            base_class = self.classes.get(name)
            own = self.cls(base_class) if base_class is not None else False if name in _BASES else None
            verdict = _worse(verdict, own)  # (a library's model class as a base may bring its own weights)
        init = _method(node, "__init__")
        methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        todo, done = [init] if init is not None else [], set()
        while todo and verdict is not None:
            method = todo.pop()
            done.add(method.name)
            for sub in ast.walk(method):
                if isinstance(sub, ast.Call):
                    own = _own_method(sub)
                    if own is not None and own in methods:
                        if own not in done:
                            todo.append(methods[own])
                        continue
                    verdict = _worse(verdict, self.part(sub))
        return verdict

    def part(self, node: ast.AST) -> bool | None:
        """The verdict of one call (or argument) inside a model's code."""
        if not isinstance(node, ast.Call):
            return False if isinstance(node, (ast.Constant, ast.Starred, ast.ListComp, ast.List, ast.Tuple)) else None
        name = callee(node.func)
        if name is None:
            return None
        if name in self.classes:
            return self.cls(self.classes[name])
        if is_layer(node) or name in CONTAINERS or _is_keras_layer(node.func, name):
            return False
        if name in _LOADERS:
            return None
        if name == "from_pretrained":
            return True
        if name == "create_model":  # timm: pretrained=False by default
            return _flag(node, "pretrained", default=False)
        if TORCHVISION_MODEL.fullmatch(name):
            weights = _keyword(node, "weights")
            if weights is not None:
                return None if not isinstance(weights, ast.Constant) else weights.value is not None
            return _flag(node, "pretrained", default=False)
        if name in _BUILTINS or name in _METHODS or _is_tensor_call(node.func, name) or _NO_MODEL.fullmatch(name):
            return False
        if name.endswith("_") and not name.startswith("_"):
            return False  # an in-place tensor method (``self.fc.weight.data.normal_(0, 0.01)``): an initialisation
        return None


def _worse(a: bool | None, b: bool | None) -> bool | None:
    if a is None or b is None:
        return None
    return a or b


def _method(node: ast.ClassDef, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    return next((m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name == name), None)


def _own_method(call: ast.Call) -> str | None:
    """``self.make_layer(...)`` → ``"make_layer"``."""
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        return func.attr
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _flag(call: ast.Call, name: str, *, default: bool) -> bool | None:
    """A literal boolean keyword (``pretrained=True``); ``default`` when absent; None when not a literal."""
    node = _keyword(call, name)
    if node is None:
        return None if any(k.arg is None for k in call.keywords) else default
    return bool(node.value) if isinstance(node, ast.Constant) else None


def _is_keras_layer(func: ast.AST, name: str) -> bool:
    if not _KERAS_LAYER.fullmatch(name):
        return False
    owner = callee(func.value) if isinstance(func, ast.Attribute) else None
    return owner is None or owner in ("layers", "keras", "nn")


def _is_tensor_call(func: ast.AST, name: str) -> bool:
    """``torch.zeros(...)``, ``nn.init.kaiming_normal_(...)``, ``F.relu(...)``, ``math.sqrt(...)``."""
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id in _TENSOR_ROOTS | {"nn"} and bool(_NO_WEIGHTS.fullmatch(name))


def _module_arguments(init: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> list[ast.AST]:
    """The arguments (or defaults) of ``call`` given to parameters ``init`` keeps as parts or calls: a module
    passed in (``self.backbone = backbone``, ``nn.Sequential(backbone, head)``, ``backbone(x)``)."""
    params = [a.arg for a in (*init.args.posonlyargs, *init.args.args)][1:]  # (not self)
    keeps = _kept_parameters(init, set(params) | {a.arg for a in init.args.kwonlyargs})
    given: dict[str, ast.AST] = dict(zip(params, call.args))
    given.update({k.arg: k.value for k in call.keywords if k.arg is not None})
    defaults = dict(zip(params[len(params) - len(init.args.defaults):], init.args.defaults))
    defaults.update({a.arg: d for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults) if d is not None})
    out = [given.get(name, defaults.get(name)) for name in keeps]
    return [node if node is not None else ast.Constant(None) for node in out]


def _kept_parameters(init: ast.AST, params: set[str]) -> list[str]:
    kept: list[str] = []
    for sub in ast.walk(init):
        names: list[ast.AST] = []
        if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Name):
            names = [sub.value]
        elif isinstance(sub, ast.Call):
            names = [sub.func] + ([*sub.args] if callee(sub.func) in CONTAINERS else [])
        for node in names:
            if isinstance(node, ast.Name) and node.id in params and node.id not in kept:
                kept.append(node.id)
    return kept
