"""Metric column names fastai prints for a learner's ``metrics=`` (v2.8 and v1 rules)."""

from __future__ import annotations

import ast
import re

from audiometrics.analysis.evaluate import NOPE, evaluate
from audiometrics.analysis.fold import callee as _callee
from audiometrics.analysis.values import Value, holds_unknown, is_unknown


def keyword_arg(call: ast.Call, name: str) -> ast.expr | None:
    """The value of keyword argument ``name`` of ``call``, or None."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def call_arg(call: ast.Call, index: int, name: str | None = None) -> ast.expr | None:
    """Argument ``name=`` or else positional ``index`` (not past a ``*args``), or None."""
    if name is not None:
        got = keyword_arg(call, name)
        if got is not None:
            return got
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return None


_SKM_FACTORIES = {
    # fastai v2 functions returning AccumMetric(skm.<func>): the column is func's name
    "APScoreBinary": "average_precision_score",
    "APScoreMulti": "average_precision_score",
    "BalancedAccuracy": "balanced_accuracy_score",
    "BrierScore": "brier_score_loss",
    "BrierScoreMulti": "brier_score_loss",
    "CohenKappa": "cohen_kappa_score",
    "F1Score": "f1_score",
    "F1ScoreMulti": "f1_score",
    "FBeta": "fbeta_score",
    "FBetaMulti": "fbeta_score",
    "HammingLoss": "hamming_loss",
    "HammingLossMulti": "hamming_loss",
    "Jaccard": "jaccard_score",
    "JaccardMulti": "jaccard_score",
    "MatthewsCorrCoef": "matthews_corrcoef",
    "MatthewsCorrCoefMulti": "matthews_corrcoef",
    "Precision": "precision_score",
    "PrecisionMulti": "precision_score",
    "Recall": "recall_score",
    "RecallMulti": "recall_score",
    "RocAuc": "roc_auc_score",
    "RocAucBinary": "roc_auc_score",
    "RocAucMulti": "roc_auc_score",
    "ExplainedVariance": "explained_variance_score",
    "R2Score": "r2_score",
    "PearsonCorrCoef": "pearsonr",
    "SpearmanCorrCoef": "spearmanr",
}
_V2_METRIC_OBJECTS = {
    # module-level metric instances whose name differs from the variable
    "rmse": "_rmse",
    "exp_rmspe": "_exp_rmspe",
    "perplexity": "perplexity",
}

_CAMEL1 = re.compile("(.)([A-Z][a-z]+)")
_CAMEL2 = re.compile("([a-z0-9])([A-Z])")


def camel2snake(name: str) -> str:
    """fastcore's ``camel2snake``: ``RocAuc`` → ``roc_auc``, ``F1ScoreMulti`` → ``f1_score_multi``."""
    return _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", name)).lower()


def class2attr(name: str, suffix: str = "Metric") -> str:
    """fastcore's ``class2attr``: the snake-case class name without ``suffix``."""
    return camel2snake(re.sub(rf"{suffix}$", "", name) or suffix.lower())


def metric_names(value: Value | None, version: int, classes: frozenset[str] = frozenset()) -> tuple[str, ...] | None:
    """The metric column names fastai prints for a ``metrics=`` value, None if unknown.

    ``value`` None means the argument was omitted (no metric columns).
    ``classes`` are names of classes defined in the notebook.
    """
    if value is None:
        return ()
    if not value.known:
        return None
    node = value.node
    if isinstance(node, ast.Constant) and node.value is None:
        return ()
    if isinstance(node, ast.Call) and _callee(node.func) == "L" and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    if isinstance(node, (ast.List, ast.Tuple)):
        elts = node.elts
    elif isinstance(node, ast.Call) and _callee(node.func) == "L":
        elts = node.args
    else:
        elts = [node]
    names = []
    for elt in elts:
        if isinstance(elt, ast.Starred):
            return None
        name = _metric_name(value, elt, version, classes, 0)
        if name is None:
            return None
        names.append(name)
    return tuple(names)


def _is_class_name(name: str, classes: frozenset[str]) -> bool:
    return name in classes or (name[:1].isupper() and name not in _SKM_FACTORIES)


def _instance_name(name: str, version: int) -> str:
    if version == 1:
        return camel2snake(name)
    return class2attr(name, "Metric")


def _metric_name(value: Value, node: ast.AST, version: int, classes: frozenset[str], depth: int) -> str | None:
    if depth > 10:
        return None
    if isinstance(node, ast.Lambda):
        return "<lambda>"
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = node.id if isinstance(node, ast.Name) else node.attr
        if holds_unknown(node):
            return None
        if version == 2 and name in _V2_METRIC_OBJECTS:
            return _V2_METRIC_OBJECTS[name]
        if _is_class_name(name, classes):
            # mk_metric instantiates a class passed uninstantiated
            return _instance_name(name, version)
        return name
    if not isinstance(node, ast.Call):
        return None
    callee = _callee(node.func)
    if callee is None or is_unknown(node.func):
        return None
    if callee == "partial" and node.args:
        # AvgMetric(partial(f, ...)).name == f.__name__
        return _function_name(node.args[0])
    # wrappers: (keyword/position of an explicit name, of the function or attribute)
    wrapper = _WRAPPERS.get(callee)
    if wrapper is not None:
        (name_kw, name_index), (func_kw, func_index) = wrapper
        given = _given_name(value, call_arg(node, name_index, name_kw) if name_kw else None)
        if given is not _UNSET:
            return given  # type: ignore[return-value]
        func = call_arg(node, func_index, func_kw)
        if callee == "LossMetric":  # LossMetric(attr, nm=None): the column is attr
            got = evaluate(value.sub(func)) if func is not None else NOPE
            return got if isinstance(got, str) else None
        return _function_name(func)
    if callee == "lwlrap_metric":  # audiometrics.metrics.lwlrap_torch.lwlrap_metric(chunk_size=None, name="lwlrap")
        given = _given_name(value, call_arg(node, 1, "name"))
        return "lwlrap" if given is _UNSET else given  # type: ignore[return-value]
    if callee == "mk_metric" and node.args:
        return _metric_name(value, node.args[0], version, classes, depth + 1)
    if version == 2 and callee in _SKM_FACTORIES:
        return _SKM_FACTORIES[callee]
    if _is_class_name(callee, classes) or callee in _SKM_FACTORIES:
        return _instance_name(callee, version)
    return None


_WRAPPERS = {
    "AccumMetric": (("name", 99), ("func", 0)),
    "skm_to_fastai": (("name", 99), ("func", 0)),
    "AvgMetric": ((None, 99), ("func", 0)),
    "ValueMetric": (("metric_name", 1), ("func", 0)),
    "LossMetric": (("nm", 1), ("attr", 0)),
}
_UNSET = object()


def _given_name(value: Value, node: ast.AST | None) -> object:
    """An explicit metric name argument: its string, None if unknowable, _UNSET if absent/None."""
    if node is None:
        return _UNSET
    got = evaluate(value.sub(node))
    if got is None or got == "":
        return _UNSET
    return got if isinstance(got, str) else None


def _function_name(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name):
        return None if is_unknown(node) else node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call) and _callee(node.func) == "partial" and node.args:
        return _function_name(node.args[0])
    if isinstance(node, ast.Lambda):
        return "<lambda>"
    return None
