"""Exact, vectorised label-weighted label-ranking average precision (LWLRAP).

LWLRAP is the metric of the Freesound Audio Tagging 2019 competition.  For every
*positive* (sample, class) pair it takes the precision of the sample's ranked
label list at that class's rank; LWLRAP is the mean of those precisions over
all positive pairs.  It equals scikit-learn's::

    label_ranking_average_precision_score(truth, scores, sample_weight=truth.sum(1))

including ties.  Ties follow scikit-learn's semantics: a label's *rank* is the
number of labels of the sample scoring **at least as high** as it, and the
number of *hits* is the number of positive labels scoring at least as high;
the precision is ``hits / rank``.  (The competition's reference code breaks ties
by ``argsort`` order instead, so it can differ from this module on tied scores.)

The implementation is pure numpy with no Python loop over samples: each row is
sorted once (``np.sort``) and every positive's rank is found by a branch-free
binary search vectorised over all positives; the hit count is obtained the
same way from the sorted positive scores of each row.  It needs about one
sort of the score matrix and a few linear passes, so it runs within a small
factor of a bare ``np.argsort(scores, axis=1)``.

This module depends on numpy only (never on torch); see
:mod:`audiometrics.metrics.lwlrap_torch` for the torch / fastai version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["lwlrap", "per_class_lwlrap"]


def _check_inputs(truth: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert inputs; return ``(truth_bool, scores)``."""
    try:
        t = np.asarray(truth)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"truth cannot be converted to an array: {exc}") from exc
    try:
        s = np.asarray(scores)
    except Exception as exc:
        raise ValueError(f"scores cannot be converted to an array: {exc}") from exc

    for name, a in (("truth", t), ("scores", s)):
        if a.ndim != 2:
            raise ValueError(
                f"{name} must be 2-dimensional (n_samples, n_classes), "
                f"got an array with {a.ndim} dimension(s) and shape {a.shape}"
            )
    if t.shape != s.shape:
        raise ValueError(
            f"truth and scores have different shapes: {t.shape} != {s.shape}"
        )
    if t.size == 0:
        raise ValueError(
            f"empty input: truth and scores have shape {t.shape}; "
            "need at least one sample and one class"
        )

    # --- truth: binary indicator matrix
    if t.dtype == np.bool_:
        tb = t
    elif t.dtype.kind in "iuf":
        tb = t == 1
        # every non-zero entry (NaN included) must be a 1
        if np.count_nonzero(t) != np.count_nonzero(tb):
            bad = t[(t != 0) & ~tb][:5]
            raise ValueError(
                "truth must be a binary indicator matrix (0/1 or bool); "
                f"found other values, e.g. {bad.tolist()}"
            )
    else:
        raise ValueError(
            f"truth must be a binary indicator matrix (0/1 or bool), got dtype {t.dtype}"
        )

    # --- scores: finite real numbers
    if s.dtype == np.bool_:
        s = s.view(np.uint8)
    elif s.dtype.kind == "f":
        if not np.isfinite(s).all():
            n_nan = int(np.isnan(s).sum())
            n_inf = int(np.isinf(s).sum())
            raise ValueError(
                f"scores must be finite; found {n_nan} NaN and {n_inf} infinite value(s)"
            )
    elif s.dtype.kind not in "iu":
        raise ValueError(f"scores must be real numbers, got dtype {s.dtype}")
    return tb, s


def _count_below(sorted_flat: np.ndarray, base: np.ndarray, n: int, x: np.ndarray) -> np.ndarray:
    """For each query, the number of elements ``< x`` in ``sorted_flat[base:base+n]``.

    Each segment is sorted ascending and all segments have the same length
    ``n >= 1``, so a branch-free lower-bound search runs in lock-step for all
    queries: ``ceil(log2(n))`` vectorised steps.
    """
    pos = base.copy()
    while n > 1:
        half = n // 2
        pos += half * (sorted_flat[pos + half] < x)
        n -= half
    pos += sorted_flat[pos] < x
    return pos - base


def _positive_precisions(
    tb: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Precision at every positive pair: ``(class_index, precision, n_classes)``."""
    n_samples, n_classes = s.shape
    flat = np.flatnonzero(tb)  # positives, row-major (sorted by row)
    if flat.size == 0:
        return flat, np.zeros(0), n_classes
    rows, cols = np.divmod(flat, n_classes)
    x = s.ravel()[flat]  # score of each positive

    # rank = #labels of the row scoring >= x = n_classes - #labels scoring < x
    sorted_scores = np.sort(s, axis=1).ravel()
    base = rows * n_classes
    rank = n_classes - _count_below(sorted_scores, base, n_classes, x)

    # hits = #positives of the row scoring >= x.  Put each row's positive scores
    # in a padded (n_samples, kmax) matrix, padding with a value no score is
    # below, sort it, and search it the same way.
    per_row = np.bincount(rows, minlength=n_samples)
    kmax = int(per_row.max())
    if kmax == 1:  # one positive per row: it is its own only hit
        hits = np.ones(flat.size, dtype=np.int64)
    else:
        if s.dtype.kind == "f":
            pad = np.inf
        else:
            pad = np.iinfo(s.dtype).max
        slot = np.arange(flat.size) - (np.cumsum(per_row) - per_row)[rows]
        pos_scores = np.full((n_samples, kmax), pad, dtype=s.dtype)
        pos_scores[rows, slot] = x
        pos_scores.sort(axis=1)
        base = rows * kmax
        hits = per_row[rows] - _count_below(pos_scores.ravel(), base, kmax, x)
    return cols, hits / rank, n_classes


def per_class_lwlrap(truth: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-class LWLRAP and per-class weights.

    Same contract as the competition's reference ``calculate_per_class_lwlrap``
    (but with scikit-learn's tie semantics, see the module docstring): the
    overall LWLRAP is ``np.sum(per_class * weights)``.

    Parameters
    ----------
    truth : array-like of shape (n_samples, n_classes)
        Binary indicator matrix of the true labels (bool, or numbers that are
        all 0 or 1).
    scores : array-like of shape (n_samples, n_classes)
        Finite real-valued scores; higher means more likely.  Any monotone
        transform (logits, probabilities, ranks) gives the same result.

    Returns
    -------
    per_class : ndarray of shape (n_classes,), dtype float64
        For each class, the mean precision over the samples where the class is
        positive.  A class with no positive sample gets ``0.0``.
    weights : ndarray of shape (n_classes,), dtype float64
        Each class's share of all positive labels; sums to 1.  If ``truth`` has
        no positive label at all, every weight is ``0.0`` (no NaN).

    Raises
    ------
    ValueError
        If the inputs are not 2-D, differ in shape, are empty, ``truth`` is not
        binary, or ``scores`` contains NaN / infinite / non-numeric values.

    See Also
    --------
    lwlrap : The overall score.

    Examples
    --------
    >>> import numpy as np
    >>> from audiometrics.metrics.lwlrap import per_class_lwlrap
    >>> truth = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1]])
    >>> scores = np.array([[0.75, 0.5, 1.0], [1.0, 0.2, 0.1], [0.9, 0.1, 0.3]])
    >>> per_class, weights = per_class_lwlrap(truth, scores)
    >>> per_class.round(4).tolist(), weights.tolist()
    ([0.75, 0.0, 0.6667], [0.5, 0.0, 0.5])
    >>> round(float(np.sum(per_class * weights)), 4)
    0.7083
    """
    tb, s = _check_inputs(truth, scores)
    cols, prec, n_classes = _positive_precisions(tb, s)
    positives = np.bincount(cols, minlength=n_classes)
    sums = np.bincount(cols, weights=prec, minlength=n_classes)
    per_class = sums / np.maximum(positives, 1)
    total = positives.sum()
    weights = positives / total if total else np.zeros(n_classes)
    return per_class.astype(np.float64), weights.astype(np.float64)


def lwlrap(truth: Any, scores: Any) -> float:
    """Label-weighted label-ranking average precision.

    The mean, over every positive (sample, class) pair, of the precision of the
    sample's labels ranked by score, at that class's rank.  Equal (to rounding)
    to ``sklearn.metrics.label_ranking_average_precision_score(truth, scores,
    sample_weight=truth.sum(1))``, ties included: a label's rank is the number
    of labels scoring at least as high as it.

    Parameters
    ----------
    truth : array-like of shape (n_samples, n_classes)
        Binary indicator matrix of the true labels (bool, or numbers that are
        all 0 or 1).  Samples without any positive label contribute nothing.
    scores : array-like of shape (n_samples, n_classes)
        Finite real-valued scores; higher means more likely.  The metric is
        rank-based, so logits and probabilities give the same value.

    Returns
    -------
    score : float
        LWLRAP in ``[0, 1]``.  If ``truth`` has no positive label at all the
        metric is undefined (scikit-learn returns NaN with a warning); this
        function returns ``0.0``, consistent with :func:`per_class_lwlrap`
        (all weights 0, so the weighted sum is 0).

    Raises
    ------
    ValueError
        If the inputs are not 2-D, differ in shape, are empty, ``truth`` is not
        binary, or ``scores`` contains NaN / infinite / non-numeric values.

    See Also
    --------
    per_class_lwlrap : Per-class breakdown and weights.
    audiometrics.metrics.lwlrap_torch.lwlrap_torch : Same metric on torch tensors.

    Examples
    --------
    >>> from audiometrics.metrics.lwlrap import lwlrap
    >>> truth = [[1, 0, 0], [0, 0, 1]]
    >>> scores = [[0.75, 0.5, 1.0], [1.0, 0.2, 0.1]]
    >>> round(lwlrap(truth, scores), 4)
    0.4167
    >>> lwlrap([[1, 0, 1]], [[0.5, 0.5, 0.5]])  # all tied: rank 3, 2 hits
    0.6666666666666666
    """
    tb, s = _check_inputs(truth, scores)
    _, prec, _ = _positive_precisions(tb, s)
    if prec.size == 0:
        return 0.0
    return float(prec.sum() / prec.size)
