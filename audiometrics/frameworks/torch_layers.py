"""torch.nn's building blocks: a container of layers is a model of its own class, not of its first layer.

``nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1))`` is trained from
scratch and has no architecture name but its class's, as Keras's ``Sequential``
has: its model is ``Sequential``. A part that names a model
(``nn.Sequential(models.resnet18(weights="DEFAULT"), nn.Linear(512, 10))``) names
the container's model (``resnet18``, pretrained), as a backbone does; a part
that is neither a layer nor a known model (``*layers``, ``make_body()``) may carry
weights, so pretrained is unknown.

>>> import ast
>>> container_model(ast.parse("nn.Sequential(nn.Linear(2, 2), nn.ReLU())").body[0].value, lambda part: (None, None))
('Sequential', False)
>>> container_model(ast.parse("nn.Sequential(*layers)").body[0].value, lambda part: (None, None))
('Sequential', None)
"""

from __future__ import annotations

import ast
import re
from typing import Callable

from audiometrics.analysis.fold import callee

__all__ = ["CONTAINERS", "TORCHVISION_MODEL", "container_model", "is_layer"]

#: torchvision model constructors (and fastai's xresnets), by name: a call of one builds a model.
TORCHVISION_MODEL = re.compile(
    r"(resnet\d+|resnext\d+_\w+|wide_resnet\d+_\d+|densenet\d+|vgg\d+(_bn)?|alexnet|squeezenet1_[01]"
    r"|mobilenet_v2|mobilenet_v3_(small|large)|efficientnet_b\d|efficientnet_v2_[sml]"
    r"|convnext_(tiny|small|base|large)|regnet_[xy]_\w+|shufflenet_v2_x\d_\d|googlenet|inception_v3"
    r"|mnasnet\d_\d+|vit_[bhl]_\d+|swin_v?2?_?[tsb]|maxvit_t|xresnet\d+)"
)
#: Containers of modules, named by their class when no part names a model.
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})
_LAYER = re.compile(
    r"Linear|LazyLinear|Bilinear|Identity|Flatten|Unflatten|(?:Lazy)?Conv(?:Transpose)?[123]d"
    r"|(?:Adaptive)?(?:Max|Avg)Pool[123]d|LPPool[12]d|(?:Lazy)?BatchNorm[123]d|LayerNorm|GroupNorm|RMSNorm"
    r"|InstanceNorm[123]d|LocalResponseNorm|Dropout(?:[123]d)?|AlphaDropout|ReLU6?|LeakyReLU|PReLU|RReLU|C?ELU|SELU"
    r"|GELU|SiLU|Mish|Hardswish|Hardsigmoid|Hardtanh|Sigmoid|LogSigmoid|Tanh|Softplus|Softmax2?d?|LogSoftmax"
    r"|Embedding(?:Bag)?|RNN|LSTM|GRU|MultiheadAttention|Transformer(?:Encoder|Decoder)?(?:Layer)?"
    r"|Upsample(?:ingNearest2d|ingBilinear2d)?|PixelShuffle|(?:Zero|Constant|Reflection|Replication)Pad[123]d"
)


def is_layer(node: ast.AST) -> bool:
    """Whether ``node`` builds one of torch.nn's layers (``nn.Linear(8, 2)``, ``torch.nn.ReLU()``, ``ReLU()``)."""
    if not isinstance(node, ast.Call):
        return False
    name = callee(node.func)
    if name is None or _LAYER.fullmatch(name) is None:
        return False
    owner = node.func.value if isinstance(node.func, ast.Attribute) else None
    return owner is None or (isinstance(owner, (ast.Name, ast.Attribute)) and callee(owner) == "nn")


def container_model(
    call: ast.Call, model_of_part: Callable[[ast.AST], tuple[str | None, bool | None]]
) -> tuple[str | None, bool | None]:
    """(model, pretrained) of a container call: its first part that names a model, else its own class."""
    parts = [layer for part in (*call.args, *(keyword.value for keyword in call.keywords)) for layer in _named(part)]
    for part in parts:
        if not is_layer(part) and not _mapping(part):
            model, flag = model_of_part(part)
            if model is not None:
                return model, flag
    scratch = bool(parts) and all(is_layer(part) for part in parts)
    return callee(call.func), (False if scratch else None)


def _named(part: ast.AST) -> list[ast.AST]:
    """The modules of a part: ``OrderedDict([("fc", nn.Linear(8, 2)), ...])`` and ``{"fc": ...}`` hold their
    values; a list (``ModuleList([...])``) its items; any other part is itself."""
    if _mapping(part) and len(part.args) == 1:  # type: ignore[attr-defined]
        items = part.args[0]
        if isinstance(items, (ast.List, ast.Tuple)) and all(
            isinstance(item, ast.Tuple) and len(item.elts) == 2 for item in items.elts
        ):
            return [item.elts[1] for item in items.elts]  # type: ignore[attr-defined]
    if isinstance(part, ast.Dict) and all(key is not None for key in part.keys):
        return list(part.values)
    if isinstance(part, (ast.List, ast.Tuple)):
        return list(part.elts)
    return [part]


def _mapping(part: ast.AST) -> bool:
    return isinstance(part, ast.Call) and callee(part.func) in ("OrderedDict", "dict")
