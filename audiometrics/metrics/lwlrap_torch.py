"""LWLRAP on torch tensors, and a fastai metric built on it.

Everything runs on the device the score tensor lives on; nothing is copied to
the host (validation, when asked for, syncs on two scalars).  Samples are
processed in chunks of rows, so the working memory is bounded by
``chunk_size * n_classes`` elements whatever the size of the validation set.

Results equal :func:`audiometrics.metrics.lwlrap.lwlrap` /
:func:`audiometrics.metrics.lwlrap.per_class_lwlrap` (and so scikit-learn's weighted
LRAP) including ties: a label's rank is the number of labels of the sample
scoring at least as high as it.

No activation is applied: LWLRAP depends on the ranking of each sample's scores
only, so raw logits and sigmoid probabilities give the same value.  (Beware
that ``sigmoid`` in float16/float32 can *create* ties by saturating to 1.0;
feeding logits is both cheaper and more faithful.)

The fastai metric :class:`LWLRAP` is created lazily on first access: if fastai is
importable it subclasses ``fastai.learner.Metric`` (so ``Learner(...,
metrics=[LWLRAP()])`` uses it as-is, in a column named ``lwlrap``); otherwise it
is a plain class with the same protocol (``reset`` / ``accumulate(learn)`` /
``value`` / ``name``).  Importing this module never imports fastai; accessing
``LWLRAP`` does (once).

This module imports torch; :mod:`audiometrics` and :mod:`audiometrics.metrics.lwlrap`
never import it.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = [
    "lwlrap_torch",
    "per_class_lwlrap_torch",
    "LWLRAP",
    "lwlrap_metric",
    "DEFAULT_CHUNK_ELEMENTS",
]

#: Default working-set size: rows per chunk = ``DEFAULT_CHUNK_ELEMENTS // n_classes``.
#: The kernel holds roughly 70 bytes per element, so about 70 MiB per chunk.
DEFAULT_CHUNK_ELEMENTS = 1 << 20


# --------------------------------------------------------------------------- helpers


def _acc_dtype(device: torch.device) -> torch.dtype:
    """Accumulation dtype: float64 everywhere except where it is unsupported."""
    return torch.float32 if device.type == "mps" else torch.float64


def _as_tensor(x: Any, name: str, device: torch.device | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach()
        return t if device is None else t.to(device)
    try:
        return torch.as_tensor(x, device=device)
    except Exception as exc:
        raise ValueError(f"{name} cannot be converted to a tensor: {exc}") from exc


def _prepare(
    truth: Any, scores: Any, validate: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check shapes/dtypes; return ``(truth_bool, scores, truth)`` on the scores' device."""
    s = _as_tensor(scores, "scores")
    t = _as_tensor(truth, "truth", device=s.device)
    for name, a in (("truth", t), ("scores", s)):
        if a.dim() != 2:
            raise ValueError(
                f"{name} must be 2-dimensional (n_samples, n_classes), "
                f"got a tensor with {a.dim()} dimension(s) and shape {tuple(a.shape)}"
            )
    if t.shape != s.shape:
        raise ValueError(
            f"truth and scores have different shapes: {tuple(t.shape)} != {tuple(s.shape)}"
        )
    if t.numel() == 0:
        raise ValueError(
            f"empty input: truth and scores have shape {tuple(t.shape)}; "
            "need at least one sample and one class"
        )
    if s.is_complex():
        raise ValueError(f"scores must be real numbers, got dtype {s.dtype}")
    if t.is_complex():
        raise ValueError(f"truth must be a binary indicator matrix, got dtype {t.dtype}")

    if t.dtype == torch.bool:
        tb = t
    else:
        tb = t == 1
        if validate and bool(((t != 0) & ~tb).any()):
            raise ValueError(
                "truth must be a binary indicator matrix (0/1 or bool); found other values"
            )

    if s.dtype in (torch.float16, torch.bfloat16):
        s = s.float()  # exact and order-preserving; half sort support varies by device
    elif s.dtype == torch.bool:
        s = s.to(torch.uint8)
    if validate and not bool(torch.isfinite(s).all()):
        raise ValueError("scores must be finite; found NaN or infinite values")
    return tb, s, t


def _chunk_stats(
    tb: torch.Tensor, s: torch.Tensor, acc: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class sum of precisions and positive counts of one chunk of rows.

    One sort per row, then the tie-group trick in sorted (ascending) order: a
    label's rank is ``n_classes - g`` and its hits ``P - (positives before g)``
    where ``g`` is the first position of its tie group and ``P`` the row's
    positive count.  Dense, shape-static ops only (no ``nonzero``), hence no
    device sync.
    """
    n_rows, n_classes = s.shape
    sorted_scores, order = torch.sort(s, dim=1)
    sorted_truth = tb.gather(1, order)
    group_start = torch.ones_like(sorted_truth)
    torch.ne(sorted_scores[:, 1:], sorted_scores[:, :-1], out=group_start[:, 1:])
    del sorted_scores
    positions = torch.arange(n_classes, device=s.device).expand(n_rows, n_classes)
    first = torch.where(group_start, positions, 0).cummax(dim=1).values
    del group_start
    # positives strictly before each position (exclusive cumsum), read at the group start
    before = sorted_truth.cumsum(dim=1) - sorted_truth.long()
    hits = sorted_truth.sum(dim=1, keepdim=True) - before.gather(1, first)
    del before
    prec = hits.to(acc) / (n_classes - first).to(acc)
    prec = torch.where(sorted_truth, prec, 0)
    # back to class order to sum per class
    by_class = torch.zeros(n_rows, n_classes, dtype=acc, device=s.device).scatter_(1, order, prec)
    return by_class.sum(dim=0), tb.sum(dim=0)


def _rows_per_chunk(chunk_size: int | None, n_classes: int) -> int:
    if chunk_size is None:
        return max(1, DEFAULT_CHUNK_ELEMENTS // n_classes)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    return chunk_size


def _accumulate_stats(
    tb: torch.Tensor, s: torch.Tensor, chunk_size: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    rows = _rows_per_chunk(chunk_size, s.shape[1])
    acc = _acc_dtype(s.device)
    sums = torch.zeros(s.shape[1], dtype=acc, device=s.device)
    counts = torch.zeros(s.shape[1], dtype=torch.int64, device=s.device)
    for start in range(0, s.shape[0], rows):
        csum, ccount = _chunk_stats(tb[start : start + rows], s[start : start + rows], acc)
        sums += csum
        counts += ccount
    return sums, counts


def _finalize(
    sums: torch.Tensor, counts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(overall, per_class, weights)`` from accumulated statistics, no sync."""
    total = counts.sum()
    denom = total.clamp(min=1).to(sums.dtype)
    overall = torch.where(total > 0, sums.sum() / denom, torch.zeros_like(denom))
    per_class = sums / counts.clamp(min=1).to(sums.dtype)
    weights = counts.to(sums.dtype) / denom  # all zero if there is no positive
    return overall, per_class, weights


# --------------------------------------------------------------------------- API


def per_class_lwlrap_torch(
    truth: Any,
    scores: Any,
    *,
    chunk_size: int | None = None,
    validate: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class LWLRAP and per-class weights, on the scores' device.

    Parameters
    ----------
    truth : Tensor or array-like of shape (n_samples, n_classes)
        Binary indicator matrix (bool, or numbers that are all 0 or 1).  Moved
        to ``scores.device`` if it lives elsewhere.
    scores : Tensor or array-like of shape (n_samples, n_classes)
        Real-valued scores (logits or probabilities: no activation is applied,
        the metric only uses each row's ranking).
    chunk_size : int or None, default=None
        Rows processed at a time.  ``None`` picks
        ``DEFAULT_CHUNK_ELEMENTS // n_classes`` rows (about 70 MiB working set).
    validate : bool, default=True
        Check that ``truth`` is binary and ``scores`` finite (two scalar device
        syncs).  Shape checks are always done.

    Returns
    -------
    per_class : Tensor of shape (n_classes,)
        Mean precision over each class's positives; ``0`` for a class without
        positives.  float64 (float32 on MPS), on ``scores.device``.
    weights : Tensor of shape (n_classes,)
        Each class's share of all positives (all ``0`` if there is none).

    Examples
    --------
    >>> import torch
    >>> from audiometrics.metrics.lwlrap_torch import per_class_lwlrap_torch
    >>> truth = torch.tensor([[1, 0, 0], [0, 0, 1], [1, 0, 1]])
    >>> scores = torch.tensor([[0.75, 0.5, 1.0], [1.0, 0.2, 0.1], [0.9, 0.1, 0.3]])
    >>> per_class, weights = per_class_lwlrap_torch(truth, scores)
    >>> [round(v, 4) for v in per_class.tolist()], weights.tolist()
    ([0.75, 0.0, 0.6667], [0.5, 0.0, 0.5])
    """
    tb, s, _ = _prepare(truth, scores, validate)
    sums, counts = _accumulate_stats(tb, s, chunk_size)
    _, per_class, weights = _finalize(sums, counts)
    return per_class, weights


def lwlrap_torch(
    truth: Any,
    scores: Any,
    *,
    chunk_size: int | None = None,
    validate: bool = True,
) -> torch.Tensor:
    """Label-weighted label-ranking average precision, on the scores' device.

    Same value as :func:`audiometrics.metrics.lwlrap.lwlrap` (scikit-learn's tie
    semantics; ``0.0`` when there is no positive label at all).

    Parameters
    ----------
    truth : Tensor or array-like of shape (n_samples, n_classes)
        Binary indicator matrix (bool, or numbers that are all 0 or 1).
    scores : Tensor or array-like of shape (n_samples, n_classes)
        Real-valued scores; logits and probabilities give the same result.
    chunk_size : int or None, default=None
        Rows processed at a time (bounds memory); see
        :func:`per_class_lwlrap_torch`.
    validate : bool, default=True
        Check binary truth / finite scores (two scalar device syncs).

    Returns
    -------
    score : Tensor
        0-dimensional float64 tensor (float32 on MPS) on ``scores.device``;
        call ``.item()`` for a Python float.

    Examples
    --------
    >>> import torch
    >>> from audiometrics.metrics.lwlrap_torch import lwlrap_torch
    >>> truth = torch.tensor([[1, 0, 0], [0, 0, 1]])
    >>> scores = torch.tensor([[0.75, 0.5, 1.0], [1.0, 0.2, 0.1]])
    >>> round(lwlrap_torch(truth, scores).item(), 4)
    0.4167
    """
    tb, s, _ = _prepare(truth, scores, validate)
    sums, counts = _accumulate_stats(tb, s, chunk_size)
    overall, _, _ = _finalize(sums, counts)
    return overall


# --------------------------------------------------------------------------- metric


class _LWLRAPImpl:
    """LWLRAP accumulated over batches; the logic behind :class:`LWLRAP`.

    Rather than storing every prediction, each batch is reduced right away (on
    its device) to per-class sums of precisions and positive counts.  LWLRAP is
    a mean over positive pairs whose precisions depend on their own row only,
    so these sufficient statistics give exactly the one-shot value while
    memory stays ``O(n_classes)`` over any validation set.  Nothing syncs with
    the host until :attr:`value` is read (fastai reads it once per epoch).

    Non-finite predictions (e.g. a diverged model) make :attr:`value` NaN;
    non-binary targets (e.g. smoothed labels) make it raise ``ValueError``.
    Under distributed data parallel each process sees only its own shard; the
    statistics are not all-reduced across processes.

    Parameters
    ----------
    chunk_size : int or None, default=None
        Rows per kernel call inside a batch (see :func:`lwlrap_torch`).
    name : str, default="lwlrap"
        Column name in fastai's table.
    """

    def __init__(self, chunk_size: int | None = None, name: str = "lwlrap") -> None:
        self.chunk_size = chunk_size
        self._name = name
        self.reset()

    # fastai protocol -----------------------------------------------------
    def reset(self) -> None:
        """Forget everything accumulated (fastai calls it before validation)."""
        self._sums: torch.Tensor | None = None
        self._counts: torch.Tensor | None = None
        self._nonfinite: torch.Tensor | None = None
        self._nonbinary: torch.Tensor | None = None

    def accumulate(self, learn: Any) -> None:
        """Add one batch: reads ``learn.pred`` and ``learn.y``."""
        self.update(learn.pred, learn.y)

    @property
    def value(self) -> torch.Tensor | None:
        """LWLRAP over everything accumulated (0-d tensor), or ``None`` if nothing was."""
        if self._sums is None:
            return None
        if bool(self._nonbinary):
            raise ValueError(
                "LWLRAP metric: targets must be binary (0/1) multi-label indicators"
            )
        overall, _, _ = _finalize(self._sums, self._counts)
        return torch.where(self._nonfinite, torch.full_like(overall, float("nan")), overall)

    @property
    def name(self) -> str:
        return self._name

    # plain-torch use -----------------------------------------------------
    def update(self, preds: Any, targets: Any) -> None:
        """Add a batch of predictions ``(batch, n_classes)`` and 0/1 targets."""
        if isinstance(preds, (tuple, list)) and preds and isinstance(preds[0], torch.Tensor):
            preds = preds[0]
        if isinstance(targets, (tuple, list)) and targets and isinstance(targets[0], torch.Tensor):
            targets = targets[0]
        tb, s, raw_t = _prepare(targets, preds, validate=False)
        nonbinary = None if raw_t.dtype == torch.bool else ((raw_t != 0) & ~tb).any()
        nonfinite = ~torch.isfinite(s).all()
        sums, counts = _accumulate_stats(tb, s, self.chunk_size)
        if self._sums is None:
            self._sums, self._counts = sums, counts
            self._nonfinite = nonfinite
            self._nonbinary = torch.zeros((), dtype=torch.bool, device=s.device)
        else:
            if sums.shape != self._sums.shape:
                raise ValueError(
                    f"batch has {sums.shape[0]} classes, earlier batches had {self._sums.shape[0]}"
                )
            self._sums = self._sums + sums
            self._counts = self._counts + counts
            self._nonfinite = self._nonfinite | nonfinite
        if nonbinary is not None:
            self._nonbinary = self._nonbinary | nonbinary

    def per_class(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(per_class, weights)`` over everything accumulated so far."""
        if self._sums is None:
            raise ValueError("no batch accumulated yet")
        _, per_class, weights = _finalize(self._sums, self._counts)
        return per_class, weights

    def __repr__(self) -> str:
        return f"{type(self).__name__}(chunk_size={self.chunk_size!r}, name={self._name!r})"


_LWLRAP_CLASS: type | None = None


def _make_lwlrap_class() -> type:
    global _LWLRAP_CLASS
    if _LWLRAP_CLASS is None:
        try:
            from fastai.learner import Metric as _FastaiMetric  # type: ignore[import-not-found]
        except ImportError:
            bases: tuple[type, ...] = (_LWLRAPImpl,)
        else:
            bases = (_LWLRAPImpl, _FastaiMetric)
        cls = type("LWLRAP", bases, {"__module__": __name__, "__doc__": _LWLRAPImpl.__doc__})
        cls.__qualname__ = "LWLRAP"
        _LWLRAP_CLASS = cls
    return _LWLRAP_CLASS


def lwlrap_metric(chunk_size: int | None = None, name: str = "lwlrap") -> Any:
    """A fresh :class:`LWLRAP` metric: ``Learner(..., metrics=[lwlrap_metric()])``."""
    return _make_lwlrap_class()(chunk_size=chunk_size, name=name)


def __getattr__(name: str) -> Any:
    if name == "LWLRAP":
        cls = _make_lwlrap_class()
        globals()["LWLRAP"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
