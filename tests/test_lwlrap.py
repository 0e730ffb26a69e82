"""Tests of audiometrics.metrics.lwlrap against scikit-learn and a slow reference."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from audiometrics.metrics.lwlrap import lwlrap, per_class_lwlrap
from tests import nbfactory as nbf

sklearn_metrics = pytest.importorskip("sklearn.metrics")

TOL = 1e-12


# --------------------------------------------------------------------------- references


def sklearn_lwlrap(truth, scores) -> float:
    truth = np.asarray(truth)
    return sklearn_metrics.label_ranking_average_precision_score(
        truth, np.asarray(scores), sample_weight=truth.sum(axis=1)
    )


def slow_precisions(truth, scores) -> np.ndarray:
    """(n_samples, n_classes) precision at each positive, straight from the definition."""
    truth = np.asarray(truth).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    out = np.zeros(truth.shape)
    for i in range(truth.shape[0]):
        for c in np.flatnonzero(truth[i]):
            at_least = scores[i] >= scores[i, c]
            rank = at_least.sum()
            hits = (at_least & truth[i]).sum()
            out[i, c] = hits / rank
    return out


def slow_lwlrap(truth, scores) -> float:
    truth = np.asarray(truth).astype(bool)
    if not truth.any():
        return 0.0
    return float(slow_precisions(truth, scores)[truth].mean())


def slow_per_class(truth, scores) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth).astype(bool)
    prec = slow_precisions(truth, scores)
    positives = truth.sum(axis=0)
    per_class = prec.sum(axis=0) / np.maximum(positives, 1)
    total = positives.sum()
    weights = positives / total if total else np.zeros(truth.shape[1])
    return per_class, weights


def random_problem(rng, n, c, ties=None, p=None):
    if p is None:
        k = rng.integers(1, min(3, c) + 1, size=n)
        truth = np.zeros((n, c), dtype=np.int64)
        for i in range(n):
            truth[i, rng.choice(c, size=k[i], replace=False)] = 1
    else:
        truth = (rng.random((n, c)) < p).astype(np.int64)
    scores = rng.normal(size=(n, c))
    if ties == "round1":
        scores = np.round(rng.random((n, c)), 1)
    elif ties == "int":
        scores = rng.integers(-2, 3, size=(n, c))
    elif ties == "constant":
        scores = np.full((n, c), 0.25)
    return truth, scores


SHAPES = [(1, 1), (1, 5), (5, 1), (3, 2), (17, 7), (100, 80), (500, 13), (64, 300)]


# --------------------------------------------------------------------------- vs sklearn


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ties", [None, "round1", "int", "constant"])
@pytest.mark.parametrize("density", [None, 0.05, 0.5, 0.95])
def test_matches_sklearn(shape, ties, density):
    rng = np.random.default_rng(zlib.crc32(repr((shape, ties, density)).encode()))
    truth, scores = random_problem(rng, *shape, ties=ties, p=density)
    if truth.sum() == 0:
        truth[0, 0] = 1
    assert abs(lwlrap(truth, scores) - sklearn_lwlrap(truth, scores)) < TOL
    assert abs(lwlrap(truth, scores) - slow_lwlrap(truth, scores)) < TOL


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ties", [None, "round1", "int"])
def test_per_class_matches_slow(shape, ties):
    rng = np.random.default_rng(7)
    truth, scores = random_problem(rng, *shape, ties=ties, p=0.3)
    if truth.sum() == 0:
        truth[-1, -1] = 1
    per_class, weights = per_class_lwlrap(truth, scores)
    ref_pc, ref_w = slow_per_class(truth, scores)
    np.testing.assert_allclose(per_class, ref_pc, rtol=0, atol=TOL)
    np.testing.assert_allclose(weights, ref_w, rtol=0, atol=TOL)
    assert abs(weights.sum() - 1.0) < TOL
    assert abs(np.sum(per_class * weights) - lwlrap(truth, scores)) < TOL
    assert per_class.dtype == np.float64 and weights.dtype == np.float64
    assert per_class.shape == weights.shape == (shape[1],)


def test_all_tie_rows():
    truth = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 1, 1]])
    scores = np.array([[0.5] * 4, [2.0] * 4, [-1.0] * 4])
    # row 0: each positive has rank 4, 2 hits; row 1: rank 4, 1 hit; row 2: all positive
    expected = (0.5 + 0.5 + 0.25 + 1 + 1 + 1 + 1) / 7
    assert abs(lwlrap(truth, scores) - expected) < TOL
    assert abs(lwlrap(truth, scores) - sklearn_lwlrap(truth, scores)) < TOL


def test_partial_ties_hand_computed():
    # scores 3 > 2 = 2 > 1; positives at the two tied labels and the lowest
    truth = [[0, 1, 1, 1]]
    scores = [[3, 2, 2, 1]]
    # tied labels: rank 3 (3, 2, 2 all >= 2), hits 2 -> 2/3 each; lowest: rank 4, hits 3
    expected = (2 / 3 + 2 / 3 + 3 / 4) / 3
    assert abs(lwlrap(truth, scores) - expected) < TOL
    assert abs(lwlrap(truth, scores) - sklearn_lwlrap(truth, scores)) < TOL


def test_samples_without_positives_do_not_contribute():
    rng = np.random.default_rng(3)
    truth, scores = random_problem(rng, 50, 10)
    base = lwlrap(truth, scores)
    extra_truth = np.vstack([truth, np.zeros((20, 10), dtype=int)])
    extra_scores = np.vstack([scores, rng.normal(size=(20, 10))])
    assert abs(lwlrap(extra_truth, extra_scores) - base) < TOL
    assert abs(lwlrap(extra_truth, extra_scores) - sklearn_lwlrap(extra_truth, extra_scores)) < TOL


def test_all_negative_is_zero_not_nan():
    truth = np.zeros((4, 3))
    scores = np.arange(12.0).reshape(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(sklearn_lwlrap(truth, scores))  # what sklearn does: 0/0
    assert lwlrap(truth, scores) == 0.0
    per_class, weights = per_class_lwlrap(truth, scores)
    assert per_class.tolist() == [0.0, 0.0, 0.0]
    assert weights.tolist() == [0.0, 0.0, 0.0]


def test_class_without_positives_scores_zero_weight_zero():
    truth = np.array([[1, 0, 0], [1, 0, 1]])
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    per_class, weights = per_class_lwlrap(truth, scores)
    assert per_class[1] == 0.0 and weights[1] == 0.0


def test_single_class_and_single_sample():
    assert lwlrap([[1], [0], [1]], [[0.3], [0.1], [-5.0]]) == 1.0
    assert abs(lwlrap([[1, 0, 1]], [[0.2, 0.9, 0.1]]) - sklearn_lwlrap([[1, 0, 1]], [[0.2, 0.9, 0.1]])) < TOL
    assert lwlrap([[1]], [[0.0]]) == 1.0
    per_class, weights = per_class_lwlrap([[True]], [[3]])
    assert per_class.tolist() == [1.0] and weights.tolist() == [1.0]


def test_perfect_and_worst_ranking():
    truth = np.eye(5, dtype=int)
    assert lwlrap(truth, np.eye(5)) == 1.0
    worst = lwlrap(truth, -np.eye(5))
    assert abs(worst - 1 / 5) < TOL


@pytest.mark.parametrize(
    "convert",
    [
        lambda t, s: (t.tolist(), s.tolist()),
        lambda t, s: (t.astype(bool), s),
        lambda t, s: (t.astype(np.float32), s.astype(np.float32)),
        lambda t, s: (t.astype(np.uint8), (s * 10).astype(np.int32)),
        lambda t, s: (t.astype(np.int8), s.astype(np.float16)),
        lambda t, s: (t, s > 0),
    ],
)
def test_input_types(convert):
    rng = np.random.default_rng(11)
    truth, scores = random_problem(rng, 40, 9)
    t, s = convert(truth, scores)
    expected = sklearn_lwlrap(np.asarray(t).astype(int), np.asarray(s).astype(np.float64))
    assert abs(lwlrap(t, s) - expected) < TOL
    assert isinstance(lwlrap(t, s), float)


def test_invariant_to_monotone_transform():
    rng = np.random.default_rng(5)
    truth, logits = random_problem(rng, 200, 20)
    probs = 1 / (1 + np.exp(-logits))
    assert abs(lwlrap(truth, logits) - lwlrap(truth, probs)) < TOL


def test_large_int_scores_are_not_rounded():
    big = 2**62
    truth = [[1, 0]]
    scores = np.array([[big, big + 1]], dtype=np.int64)  # equal as float64
    assert lwlrap(truth, scores) == 0.5


def test_does_not_modify_inputs():
    rng = np.random.default_rng(2)
    truth, scores = random_problem(rng, 30, 6)
    t0, s0 = truth.copy(), scores.copy()
    lwlrap(truth, scores)
    per_class_lwlrap(truth, scores)
    assert (truth == t0).all() and (scores == s0).all()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "truth, scores, match",
    [
        ([[1, 0]], [[0.1, 0.2, 0.3]], "different shapes"),
        ([[1, 0], [0, 1]], [[0.1, 0.2]], "different shapes"),
        ([1, 0, 1], [0.1, 0.2, 0.3], "2-dimensional"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), "2-dimensional"),
        (5, 0.3, "2-dimensional"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "empty"),
        (np.zeros((3, 0)), np.zeros((3, 0)), "empty"),
        ([[1, 2]], [[0.1, 0.2]], "binary"),
        ([[1, -1]], [[0.1, 0.2]], "binary"),
        ([[0.5, 1]], [[0.1, 0.2]], "binary"),
        ([[np.nan, 1]], [[0.1, 0.2]], "binary"),
        ([["a", "b"]], [[0.1, 0.2]], "binary"),
        ([[1, 0]], [[np.nan, 0.2]], "finite"),
        ([[1, 0]], [[np.inf, 0.2]], "finite"),
        ([[1, 0]], [[-np.inf, 0.2]], "finite"),
        ([[1, 0]], [["x", "y"]], "real numbers"),
        ([[1, 0]], [[1 + 1j, 0]], "real numbers"),
        ([[1, 0], [1]], [[0.1, 0.2], [0.3, 0.4]], "truth"),
    ],
)
def test_errors(truth, scores, match):
    with pytest.raises(ValueError, match=match):
        lwlrap(truth, scores)
    with pytest.raises(ValueError, match=match):
        per_class_lwlrap(truth, scores)


# --------------------------------------------------------------------------- property test


@st.composite
def problems(draw):
    n = draw(st.integers(1, 8))
    c = draw(st.integers(1, 8))
    truth = draw(hnp.arrays(np.bool_, (n, c)))
    # few distinct values -> many ties
    scores = draw(
        hnp.arrays(
            np.float64,
            (n, c),
            elements=st.one_of(
                st.sampled_from([-1.0, 0.0, 0.5, 1.0]),
                st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
            ),
        )
    )
    return truth, scores


@settings(max_examples=300, deadline=None)
@given(problems())
def test_property_vs_slow(problem):
    truth, scores = problem
    assert abs(lwlrap(truth, scores) - slow_lwlrap(truth, scores)) < TOL
    per_class, weights = per_class_lwlrap(truth, scores)
    ref_pc, ref_w = slow_per_class(truth, scores)
    np.testing.assert_allclose(per_class, ref_pc, rtol=0, atol=TOL)
    np.testing.assert_allclose(weights, ref_w, rtol=0, atol=TOL)
    if truth.any():
        assert abs(lwlrap(truth, scores) - sklearn_lwlrap(truth.astype(int), scores)) < TOL
    assert 0.0 <= lwlrap(truth, scores) <= 1.0


# --------------------------------------------------------------------------- imports


def test_import_does_not_pull_torch():
    code = (
        "import sys, audiometrics, audiometrics.metrics.score; "
        "from audiometrics import lwlrap, per_class_lwlrap; "
        "lwlrap([[1, 0]], [[0.2, 0.1]]); "
        "assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    )
    nbf.python_prints_ok(code)


@pytest.mark.parametrize(
    "first",
    ["import audiometrics.metrics.score", "from audiometrics import per_class_lwlrap", "import audiometrics.metrics.lwlrap", "pass"],
)
def test_package_lwlrap_callable_whatever_the_import_order(first):
    code = (
        f"{first}\n"
        "from audiometrics import lwlrap, per_class_lwlrap\n"
        "assert lwlrap([[1, 0]], [[0.1, 0.2]]) == 0.5\n"
        "assert per_class_lwlrap([[1, 0]], [[0.1, 0.2]])[0].tolist() == [0.5, 0.0]\n"
        "print('ok')"
    )
    nbf.python_prints_ok(code)
