"""Which fastai a notebook uses, from its imports and the names it uses: 0 (0.6/0.7), 1 or 2.

A version decides what fastai's calls mean (``fit``'s arguments, default rates,
``cnn_learner``'s pretrained default); :func:`may_tell_version` says which cells
are worth parsing for it, :func:`detect_version` reads them.
"""

from __future__ import annotations

import ast
import re
from typing import Iterable

from audiometrics.analysis.walk import _fields

__all__ = ["detect_version", "may_tell_version"]


_V1_STAR_MODULES = {"fastai", "fastai.vision", "fastai.text", "fastai.tabular", "fastai.collab"}
_V1_MODULE_PREFIXES = ("fastai.basic_train", "fastai.basic_data", "fastai.train", "fastai.callbacks", "fastai.datasets")
_V2_MODULE_PREFIXES = (
    "fastai.learner",
    "fastai.callback.",
    "fastai.data.",
    "fastai.optimizer",
    "fastai.vision.augment",
    "fastai.vision.data",
    "fastai.interpret",
)
_V0_MODULES = frozenset({
    "fastai.conv_learner", "fastai.transforms", "fastai.transforms_pil", "fastai.dataset", "fastai.sgdr",
    "fastai.column_data", "fastai.structured", "fastai.nlp", "fastai.lm_rnn", "fastai.rnn_reg", "fastai.rnn_train",
    "fastai.plots", "fastai.torch_imports", "fastai.model", "fastai.swa", "fastai.lsuv_initializer",
    "fastai.layer_optimizer", "fastai.adaptive_softmax", "fastai.set_spawn",
})
"""Modules only fastai 0.6/0.7 has (checked against the 0.7.0 wheel; not ``fastai.text``, ``fastai.core``,
``fastai.imports``, ``fastai.learner`` or ``fastai.metrics``, which later versions have too)."""
_V0_NAMES = {"ImageClassifierData", "tfms_from_model", "ColumnarModelData", "LanguageModelData"}
_V2_NAMES = {"vision_learner", "DataBlock", "DataLoaders", "ImageDataLoaders", "TabularDataLoaders"}
_V1_NAMES = {"DataBunch", "ImageDataBunch", "TextDataBunch", "TabularDataBunch", "ImageList", "create_cnn"}
_VERSION_HINT = re.compile("|".join(map(re.escape, ["fastai", *sorted(_V0_NAMES | _V1_NAMES | _V2_NAMES)])))


_IMPORTS = (ast.Import, ast.ImportFrom)


def may_tell_version(text: str) -> bool:
    """Whether a cell of Python ``text`` can hold anything :func:`detect_version` looks at.

    An import tells only when it names a ``fastai``/``fastai2`` module or one of
    the marker names, and names need their own spelling; non-ASCII text may spell
    identifiers that Python folds to ASCII ones, so it always counts.
    """
    return not text.isascii() or _VERSION_HINT.search(text) is not None


def detect_version(trees: Iterable[ast.AST]) -> int:
    """0, 1 or 2: which fastai a notebook uses, judged from its imports (2 when unsure).

    ``fastai.*.all``/``fastai2``/v2-only modules or names → 2; star imports of
    ``fastai``/``fastai.vision``/... without ``.all``, or v1-only modules and
    names (``ImageDataBunch``, ``create_cnn``) → 1; modules and names only fastai
    0.6/0.7 has (``fastai.conv_learner``, ``fastai.transforms``,
    ``ImageClassifierData``) → 0. Version 2 markers win, then version 1's.

    >>> detect_version([ast.parse("from fastai.conv_learner import *")]), detect_version([ast.parse("from fastai.vision import *")])
    (0, 1)
    """
    trees = list(trees)
    for tree in trees:  # a version 2 import at a cell's top level, the usual marker, decides without a walk
        for node in tree.body if isinstance(tree, ast.Module) else ():
            if type(node) in _IMPORTS and _import_version(node) == 2:  # type: ignore[arg-type]
                return 2
    v1 = v0 = False
    for tree in trees:
        stack = list(reversed(tree.body)) if isinstance(tree, ast.Module) else [tree]
        while stack:  # depth first, a cell's statements in order (imports come first: the walk can stop there)
            node = stack.pop()
            kind = type(node)
            if kind is ast.Name:
                if node.id in _V2_NAMES:  # type: ignore[attr-defined]
                    return 2  # version 2 markers win: nothing else can change the answer
                v1 = v1 or node.id in _V1_NAMES  # type: ignore[attr-defined]
                v0 = v0 or node.id in _V0_NAMES  # type: ignore[attr-defined]
                continue
            if kind is ast.Constant:
                continue
            if kind is ast.Import or kind is ast.ImportFrom:
                found = _import_version(node)  # type: ignore[arg-type]
                if found == 2:
                    return 2
                v1 = v1 or found == 1
                v0 = v0 or found == 0
                continue  # (an import holds nothing but its aliases)
            for field in _fields(kind):  # (what child_nodes gives, without building its list)
                value = getattr(node, field, None)
                if isinstance(value, ast.AST):
                    stack.append(value)
                elif value.__class__ is list:
                    stack.extend([item for item in value if isinstance(item, ast.AST)])
    return 1 if v1 else 0 if v0 else 2


def _import_version(node: ast.Import | ast.ImportFrom) -> int | None:
    """2 when an import names version 2 (its modules or, from an absolute module, its names), else 1
    when it names version 1, else 0 when it names fastai 0.6/0.7, else None."""
    modules: list[tuple[str, bool]] = []
    v1 = v0 = False
    if isinstance(node, ast.ImportFrom):
        if not node.module or node.level:
            return None
        modules.append((node.module, any(a.name == "*" for a in node.names)))
        for alias in node.names:
            if alias.name in _V2_NAMES:
                return 2
            v1 = v1 or alias.name in _V1_NAMES
            v0 = v0 or alias.name in _V0_NAMES
    else:
        modules.extend((a.name, False) for a in node.names)
    for mod, star in modules:
        parts = mod.split(".")
        if parts[0] == "fastai2" or (parts[0] == "fastai" and "all" in parts[1:]):
            return 2
        if parts[0] == "fastai":
            if any(mod == p.rstrip(".") or mod.startswith(p) for p in _V2_MODULE_PREFIXES):
                return 2
            if star and mod in _V1_STAR_MODULES:
                v1 = True
            elif any(mod == p or mod.startswith(p + ".") for p in _V1_MODULE_PREFIXES):
                v1 = True
            v0 = v0 or mod in _V0_MODULES
    return 1 if v1 else 0 if v0 else None
