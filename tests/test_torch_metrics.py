"""Tests of audiometrics.metrics.lwlrap_torch (skipped when torch is not installed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import audiometrics.metrics.lwlrap_torch as tm  # noqa: E402
from audiometrics.metrics.lwlrap import lwlrap, per_class_lwlrap  # noqa: E402
from audiometrics.metrics.lwlrap_torch import (  # noqa: E402
    lwlrap_metric,
    lwlrap_torch,
    per_class_lwlrap_torch,
)
from tests import nbfactory as nbf  # noqa: E402

TOL = 1e-12

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def problem(seed, n, c, ties=None, density=None):
    rng = np.random.default_rng(seed)
    if density is None:
        truth = np.zeros((n, c), dtype=bool)
        for i in range(n):
            truth[i, rng.choice(c, size=rng.integers(1, min(3, c) + 1), replace=False)] = True
    else:
        truth = rng.random((n, c)) < density
    scores = rng.normal(size=(n, c))
    if ties == "round1":
        scores = np.round(rng.random((n, c)), 1)
    elif ties == "int":
        scores = rng.integers(-2, 3, size=(n, c)).astype(np.float64)
    elif ties == "constant":
        scores = np.zeros((n, c))
    return truth, scores


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ties", [None, "round1", "int", "constant"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (9, 1), (37, 11), (300, 80)])
@pytest.mark.parametrize("chunk_size", [None, 1, 7, 64])
def test_matches_numpy(device, dtype, ties, shape, chunk_size):
    truth, scores = problem(sum(shape), *shape, ties=ties, density=0.2 if shape[1] > 3 else None)
    s = torch.as_tensor(scores, dtype=dtype, device=device)
    t = torch.as_tensor(truth, device=device)
    # numpy on exactly the same (possibly float32-rounded) numbers
    s_np = s.cpu().numpy()
    got = lwlrap_torch(t, s, chunk_size=chunk_size)
    assert got.device == s.device and got.dim() == 0
    assert abs(got.item() - lwlrap(truth, s_np)) < TOL
    per_class, weights = per_class_lwlrap_torch(t, s, chunk_size=chunk_size)
    ref_pc, ref_w = per_class_lwlrap(truth, s_np)
    assert per_class.device == s.device and weights.device == s.device
    np.testing.assert_allclose(per_class.cpu().numpy(), ref_pc, rtol=0, atol=TOL)
    np.testing.assert_allclose(weights.cpu().numpy(), ref_w, rtol=0, atol=TOL)


@pytest.mark.parametrize(
    "make",
    [
        lambda t, s: (t.astype(np.float32), s.astype(np.float16)),
        lambda t, s: (t.astype(np.int64), (s * 3).astype(np.int64)),
        lambda t, s: (t.astype(np.uint8), s > 0),
        lambda t, s: (t.tolist(), s.tolist()),
    ],
)
def test_input_dtypes(make):
    truth, scores = problem(4, 60, 12)
    t, s = make(truth, scores)
    t_t = t if isinstance(t, list) else torch.from_numpy(t)
    s_t = s if isinstance(s, list) else torch.from_numpy(s)
    assert abs(lwlrap_torch(t_t, s_t).item() - lwlrap(t, s)) < TOL


def test_all_negative_and_no_positive_rows():
    t = torch.zeros(5, 4)
    s = torch.rand(5, 4)
    assert lwlrap_torch(t, s).item() == 0.0
    per_class, weights = per_class_lwlrap_torch(t, s)
    assert per_class.tolist() == [0.0] * 4 and weights.tolist() == [0.0] * 4
    t[0, 1] = 1
    assert abs(lwlrap_torch(t, s).item() - lwlrap(t.numpy(), s.numpy())) < TOL


def test_chunking_bounds_kernel_rows(monkeypatch):
    truth, scores = problem(1, 1000, 20)
    seen = []
    real = tm._chunk_stats

    def spy(tb, s, acc):
        seen.append(s.shape[0])
        return real(tb, s, acc)

    monkeypatch.setattr(tm, "_chunk_stats", spy)
    ref = lwlrap(truth, scores)
    assert abs(lwlrap_torch(truth, scores, chunk_size=128).item() - ref) < TOL
    assert max(seen) <= 128 and sum(seen) == 1000 and len(seen) == 8

    # default: DEFAULT_CHUNK_ELEMENTS // n_classes rows per chunk
    seen.clear()
    monkeypatch.setattr(tm, "DEFAULT_CHUNK_ELEMENTS", 20 * 100)
    assert abs(lwlrap_torch(truth, scores).item() - ref) < TOL
    assert seen == [100] * 10


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_chunk_size(bad):
    with pytest.raises(ValueError, match="chunk_size"):
        lwlrap_torch([[1, 0]], [[0.1, 0.2]], chunk_size=bad)


@pytest.mark.parametrize(
    "truth, scores, match",
    [
        ([[1, 0]], [[0.1, 0.2, 0.3]], "different shapes"),
        ([1, 0], [0.1, 0.2], "2-dimensional"),
        (torch.zeros(0, 3), torch.zeros(0, 3), "empty"),
        ([[1, 2]], [[0.1, 0.2]], "binary"),
        ([[0.5, 1.0]], [[0.1, 0.2]], "binary"),
        ([[float("nan"), 1.0]], [[0.1, 0.2]], "binary"),
        ([[1, 0]], [[float("nan"), 0.2]], "finite"),
        ([[1, 0]], [[float("inf"), 0.2]], "finite"),
        ([[1, 0]], torch.tensor([[1 + 1j, 0]]), "real"),
    ],
)
def test_errors(truth, scores, match):
    with pytest.raises(ValueError, match=match):
        lwlrap_torch(truth, scores)


def test_truth_moved_to_scores_device():
    truth, scores = problem(8, 20, 5)
    got = lwlrap_torch(torch.from_numpy(truth), torch.from_numpy(scores))
    assert abs(got.item() - lwlrap(truth, scores)) < TOL


def test_no_grad_needed():
    truth, scores = problem(9, 10, 5)
    s = torch.tensor(scores, requires_grad=True)
    out = lwlrap_torch(torch.from_numpy(truth), s)
    assert not out.requires_grad


# --------------------------------------------------------------------------- metric


def fake_learn(pred, y):
    return SimpleNamespace(pred=pred, y=y)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_metric_batches_equal_one_shot(device, dtype):
    truth, scores = problem(12, 1003, 30, ties="round1")
    t = torch.as_tensor(truth, dtype=torch.float32, device=device)
    s = torch.as_tensor(scores, dtype=dtype, device=device)
    metric = lwlrap_metric(chunk_size=50)
    assert metric.name == "lwlrap"
    metric.reset()
    assert metric.value is None
    for start in range(0, 1003, 64):
        metric.accumulate(fake_learn(s[start : start + 64], t[start : start + 64]))
    value = metric.value
    assert value.device == s.device
    assert abs(value.item() - lwlrap_torch(t, s).item()) < TOL
    assert abs(value.item() - lwlrap(truth, s.cpu().numpy())) < TOL
    per_class, weights = metric.per_class()
    ref_pc, ref_w = per_class_lwlrap(truth, s.cpu().numpy())
    np.testing.assert_allclose(per_class.cpu().numpy(), ref_pc, rtol=0, atol=TOL)
    np.testing.assert_allclose(weights.cpu().numpy(), ref_w, rtol=0, atol=TOL)

    # reset starts a new epoch
    metric.reset()
    assert metric.value is None
    metric.accumulate(fake_learn(s[:10], t[:10]))
    assert abs(metric.value.item() - lwlrap(truth[:10], s[:10].cpu().numpy())) < TOL


def test_metric_logits_equal_probabilities():
    truth, scores = problem(13, 200, 10)
    t, s = torch.from_numpy(truth).float(), torch.from_numpy(scores)
    a, b = lwlrap_metric(), lwlrap_metric()
    a.update(s, t)
    b.update(torch.sigmoid(s), t)
    assert abs(a.value.item() - b.value.item()) < TOL


def test_metric_nonfinite_predictions_give_nan():
    metric = lwlrap_metric()
    metric.update(torch.tensor([[0.1, 0.9]]), torch.tensor([[0.0, 1.0]]))
    metric.update(torch.tensor([[float("nan"), 0.9]]), torch.tensor([[1.0, 0.0]]))
    assert torch.isnan(metric.value)


def test_metric_nonbinary_targets_raise_at_value():
    metric = lwlrap_metric()
    metric.update(torch.tensor([[0.1, 0.9]]), torch.tensor([[0.1, 0.9]]))  # smoothed labels
    with pytest.raises(ValueError, match="binary"):
        metric.value


def test_metric_class_count_change_raises():
    metric = lwlrap_metric()
    metric.update(torch.rand(3, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match="classes"):
        metric.update(torch.rand(3, 5), torch.ones(3, 5))


def test_metric_tuple_preds_and_custom_name():
    metric = lwlrap_metric(name="lwlrap_valid")
    assert metric.name == "lwlrap_valid"
    s, t = torch.rand(6, 3), (torch.rand(6, 3) > 0.5).float()
    metric.accumulate(fake_learn((s,), (t,)))
    assert abs(metric.value.item() - lwlrap(t.numpy(), s.numpy())) < TOL


def test_lwlrap_class_is_cached_and_picklable():
    import pickle

    cls = tm.LWLRAP
    assert cls is tm.LWLRAP
    m = cls()
    assert isinstance(m, cls) and type(lwlrap_metric()) is cls
    m.update(torch.rand(4, 3), torch.ones(4, 3))
    again = pickle.loads(pickle.dumps(m))
    assert abs(again.value.item() - m.value.item()) < TOL


def test_fastai_metric_subclass():
    learner = pytest.importorskip("fastai.learner")
    m = tm.LWLRAP()
    assert isinstance(m, learner.Metric)
    assert learner.mk_metric(m) is m  # fastai uses it as-is, not as an AvgMetric
    assert m.name == "lwlrap"


@pytest.mark.parametrize("device", DEVICES)
def test_fastai_learner_records_exact_lwlrap(device):
    """A real fastai Learner trained for one epoch on ``device``: the ``lwlrap`` it records
    for the validation set equals numpy's LWLRAP of that learner's own validation
    predictions (``get_preds``), as raw logits and as sigmoid probabilities alike."""
    pytest.importorskip("fastai")
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner
    from fastai.losses import BCEWithLogitsLossFlat
    from fastai.torch_core import set_seed
    from torch.utils.data import TensorDataset

    set_seed(20190415, reproducible=True)
    n_train, n_valid, n_features, n_classes = 256, 200, 16, 10
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n_train + n_valid, n_features, generator=g)
    w = torch.randn(n_features, n_classes, generator=g)
    noise = torch.randn(n_train + n_valid, n_classes, generator=g)
    y = (x @ w + 2 * noise > 2.0).float()  # multi-label 0/1 floats, ~0-4 positives per row
    train_ds = TensorDataset(x[:n_train], y[:n_train])
    valid_ds = TensorDataset(x[n_train:], y[n_train:])
    # bs 64: the 200 validation rows come in 4 batches (the last one short), so the
    # metric must accumulate across batches to match the one-shot value
    dls = DataLoaders.from_dsets(train_ds, valid_ds, bs=64, num_workers=0, device=device)
    metric = tm.LWLRAP()
    learn = Learner(
        dls, torch.nn.Linear(n_features, n_classes), loss_func=BCEWithLogitsLossFlat(), metrics=[metric]
    )
    with learn.no_logging():
        learn.fit(1, lr=3e-2)

    # everything really ran on `device`
    assert torch.device(learn.dls.device).type == device
    xb, yb = learn.dls.valid.one_batch()
    assert xb.device.type == device and yb.device.type == device
    assert all(p.device.type == device for p in learn.model.parameters())
    assert metric.value.device.type == device  # the metric accumulated on the device

    names = learn.recorder.metric_names[1:-1]  # drop 'epoch' and 'time'
    assert names == ["train_loss", "valid_loss", "lwlrap"]
    recorded = dict(zip(names, learn.recorder.values[-1]))["lwlrap"]

    logits, targs = learn.get_preds(act=lambda t: t)  # raw model outputs (what the metric saw)
    probs, targs2 = learn.get_preds()  # default: the loss's activation, sigmoid
    assert logits.shape == (n_valid, n_classes) and torch.equal(targs, y[n_train:])
    assert torch.equal(targs2, targs)
    assert torch.allclose(probs, torch.sigmoid(logits))
    truth = targs.numpy()
    expected = lwlrap(truth, logits.numpy())
    assert 0.0 < expected < 1.0
    assert abs(recorded - expected) < 1e-6
    # rank-based: the sigmoid probabilities give the same value (no saturation at this scale)
    assert abs(lwlrap(truth, probs.numpy()) - expected) < 1e-6
    # and learn.validate() reports it again: [valid_loss, lwlrap]
    with learn.no_logging():
        valid_loss, validated = learn.validate()
    assert abs(validated - expected) < 1e-6
    # the full set matters: the last batch alone scores differently
    assert abs(lwlrap(truth[192:], logits[192:].numpy()) - expected) > 1e-3


def test_import_does_not_pull_fastai():
    code = (
        "import sys, audiometrics.metrics.lwlrap_torch as tm; "
        "tm.lwlrap_torch([[1, 0]], [[0.2, 0.1]]); "
        "assert 'fastai' not in sys.modules; print('ok')"
    )
    nbf.python_prints_ok(code)


def test_large_int_scores_are_not_rounded():
    big = 2**62
    scores = torch.tensor([[big, big + 1]], dtype=torch.int64)  # equal as float64
    assert lwlrap_torch([[1, 0]], scores).item() == 0.5
