"""The main metric of a summary and the architecture family of a run.

Main metric
    ``metric=`` names it; otherwise it is the metric recorded by the most runs,
    losses left out unless no other column has a value; among columns recorded by
    as many runs, :func:`audiometrics.options.default_metric` chooses (the first of
    :data:`audiometrics.options.METRIC_FALLBACKS`, then any other metric column
    alphabetically, then ``train_loss``). Runs without it are listed, not ranked. Its direction comes from
    ``lower_is_better=`` or from the name (:func:`audiometrics.options.metric_direction`);
    an unknown name is taken as higher is better and the summary says so.

Architecture families (:data:`ARCHITECTURE_FAMILIES`)
    An architecture name (``resnet18``, ``timm/deit_tiny_patch16_224``,
    ``models.resnet34``, ``vit_base_patch16_224.augreg_in21k``) is lower-cased,
    split on ``/`` and ``.``, a ``tf_``/``legacy_``/``timm_`` prefix dropped,
    and each part (last first) is matched against the name prefixes below; the
    first family with a matching prefix wins, and a name that matches none is
    ``"other"``. Hybrids with attention blocks (ConViT, CoAtNet, MaxViT,
    MobileViT, LeViT) count as vision transformers; ConvNeXt, RegNet and the
    EfficientNet/MobileNet families are CNNs.
"""

from __future__ import annotations

import re

import pandas as pd

from audiometrics.epochs.schema import DERIVED_COLUMNS, NON_METRIC_COLUMNS
from audiometrics.options import MetricError, default_metric, metric_direction
from audiometrics.report.model import MetricInfo

__all__ = [
    "ACCURACY_COLUMNS",
    "ARCHITECTURE_FAMILIES",
    "accuracy_column",
    "architecture_family",
    "choose_metric",
    "metric_columns",
    "most_recorded",
]

#: Accuracy columns compared with the main metric, in order of preference.
ACCURACY_COLUMNS: tuple[str, ...] = ("accuracy_multi", "accuracy")

#: Architecture families and the name prefixes that belong to them (see the module docstring).
ARCHITECTURE_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "vision transformer",
        (
            "vit", "deit", "convit", "swin", "beit", "cait", "pit_", "tnt_", "levit", "crossvit",
            "twins", "xcit", "eva", "mvit", "coat", "volo", "visformer", "maxvit", "mobilevit",
            "efficientformer", "efficientvit", "fastvit", "nest_", "gcvit", "davit", "hiera",
            "flexivit", "samvit", "tiny_vit", "pvt", "cvt", "t2t", "dino", "clip", "siglip",
        ),
    ),
    (
        "CNN",
        (
            "resnet", "resnext", "xresnet", "xresnext", "xse_res", "wide_resnet", "wrn", "seresnet",
            "seresnext", "senet", "res2net", "res2next", "resnest", "regnet", "densenet", "vgg",
            "alexnet", "squeezenet", "mobilenet", "mnasnet", "shufflenet", "efficientnet", "mixnet",
            "ghostnet", "inception", "xception", "googlenet", "dpn", "dla", "hrnet", "cspnet",
            "cspresnet", "cspresnext", "cspdarknet", "darknet", "convnext", "nfnet", "dm_nfnet",
            "eca_nfnet", "nf_res", "rexnet", "hardcorenas", "lcnet", "tinynet", "fbnet", "repvgg",
            "vovnet", "ese_vovnet", "selecsls", "tresnet", "gernet", "bat_resnext", "ecaresnet",
            "skresnet", "skresnext", "gluon_", "ig_resnext", "ssl_res", "swsl_res", "spnasnet",
            "semnasnet", "fastvit_", "repghost", "efficientnetv2", "resnetv2", "resnetrs", "bit_",
            "timm_resnet", "simple_cnn", "cnn", "lenet", "unet",
        ),
    ),
    ("MLP-mixer", ("mixer", "gmixer", "resmlp", "gmlp", "cyclemlp", "mlp_mixer")),
)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The metric columns of an epoch frame (neither identifying nor derived columns)."""
    return [c for c in frame.columns if c not in NON_METRIC_COLUMNS and c not in DERIVED_COLUMNS]


def choose_metric(frame: pd.DataFrame, metric: str | None = None, lower_is_better: bool | None = None) -> MetricInfo | None:
    """The main metric for ``frame`` (see the module docstring); ``None`` when no column has a value.

    Raises :class:`~audiometrics.options.MetricError` when ``metric`` is not a metric column.
    """
    columns = metric_columns(frame)
    if metric is not None:
        if metric not in columns:
            available = ", ".join(c for c in columns if frame[c].notna().any()) or "none"
            raise MetricError(f"metric {metric!r} is not a metric column of the epoch table (available: {available})")
        chosen = "given"
    else:
        metric = most_recorded(frame, columns)
        if metric is None:
            return None
        chosen = "default"
    if lower_is_better is not None:
        return MetricInfo(metric, bool(lower_is_better), chosen, "given")
    known = metric_direction(metric)
    return MetricInfo(metric, bool(known), chosen, "known" if known is not None else "assumed")


def most_recorded(frame: pd.DataFrame, columns: list[str]) -> str | None:
    """The metric column recorded by the most runs (losses only when nothing else is); ties by :func:`default_metric`.

    Examples
    --------
    >>> frame = pd.DataFrame({"run": ["a", "a", "b"], "train_loss": [1.0, 0.9, 1.0],
    ...                       "accuracy": [0.5, 0.6, None], "error_rate": [0.5, 0.4, 0.3]})
    >>> most_recorded(frame, ["train_loss", "accuracy", "error_rate"])
    'error_rate'
    """
    with_values = [c for c in columns if frame[c].notna().any()]
    if not with_values:
        return None
    counts = frame.groupby("run", sort=False)[with_values].count().gt(0).sum()
    others = [c for c in with_values if "loss" not in c.lower()]
    pool = others or with_values
    most = max(int(counts[c]) for c in pool)
    return default_metric(c for c in pool if int(counts[c]) == most)


def accuracy_column(columns: list[str], info: MetricInfo | None) -> str | None:
    """The accuracy column compared with the main metric: the first of :data:`ACCURACY_COLUMNS` that is not it."""
    return next((c for c in ACCURACY_COLUMNS if c in columns and (info is None or c != info.name)), None)


def architecture_family(model: str) -> str:
    """``"CNN"``, ``"vision transformer"``, ``"MLP-mixer"`` or ``"other"`` for an architecture name."""
    parts = [p for p in re.split(r"[/.:]", (model or "").strip().lower()) if p]
    for part in reversed(parts):
        part = re.sub(r"^(tf_|legacy_|timm_|torchvision_|tv_)", "", part)
        for family, prefixes in ARCHITECTURE_FAMILIES:
            if any(part.startswith(prefix) for prefix in prefixes):
                return family
    return "other"
