"""Benchmark audiometrics' LWLRAP against scikit-learn, the competition's loop and argsort.

Run from the repository root::

    python benchmarks/lwlrap_bench.py [--sizes 5000 50000] [--classes 80] [--repeats 7] [--torch-threads 1]

For each size (random normal scores, 1-3 positive labels per row, fixed seed)
it prints the median wall time of:

* ``audiometrics.metrics.lwlrap``            this package (numpy);
* ``sklearn weighted LRAP``          ``label_ranking_average_precision_score(..., sample_weight=truth.sum(1))``;
* ``reference per-sample loop``      the competition's ``_one_sample_positive_class_precisions``
                                     loop, timed on a subset and scaled linearly when N is large;
* ``np.argsort (floor)``             a bare ``np.argsort(scores, axis=1)``;
* ``lwlrap_torch cpu`` / ``cuda``    :mod:`audiometrics.metrics.lwlrap_torch` when torch is importable
                                     (and CUDA available), on float32 tensors already on the device;

plus the ratios sklearn/ours and ours/argsort (those two are timed in
alternation, so machine noise hits both alike), and the agreement with sklearn.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from audiometrics.metrics.lwlrap import lwlrap  # noqa: E402


def make_data(n: int, c: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, c))
    truth = np.zeros((n, c), dtype=np.float64)  # 0/1 floats, like a one-hot CSV / fastai target
    k = rng.integers(1, 4, size=n)
    # choose k distinct classes per row without a Python loop: first k of a random permutation
    perm = np.argsort(rng.random((n, c)), axis=1)
    mask = np.arange(c)[None, :] < k[:, None]
    rows = np.repeat(np.arange(n), k)
    truth[rows, perm[mask]] = 1.0
    return truth, scores


def reference_loop(truth: np.ndarray, scores: np.ndarray) -> float:
    """The competition's reference implementation (per-sample loop; argsort tie-breaking)."""

    def one_sample(s, t):
        num_classes = s.shape[0]
        pos = np.flatnonzero(t > 0)
        if not len(pos):
            return pos, np.zeros(0)
        retrieved = np.argsort(s)[::-1]
        ranking = np.zeros(num_classes, dtype=int)
        ranking[retrieved] = range(num_classes)
        retrieved_true = np.zeros(num_classes, dtype=bool)
        retrieved_true[ranking[pos]] = True
        hits = np.cumsum(retrieved_true)
        return pos, hits[ranking[pos]] / (1 + ranking[pos].astype(float))

    n, c = scores.shape
    prec = np.zeros((n, c))
    for i in range(n):
        pos, p = one_sample(scores[i], truth[i])
        prec[i, pos] = p
    labels_per_class = np.sum(truth > 0, axis=0)
    weight = labels_per_class / float(np.sum(labels_per_class))
    per_class = np.sum(prec, axis=0) / np.maximum(1, labels_per_class)
    return float(np.sum(per_class * weight))


def median_time(fn, repeats: int, sync=None) -> float:
    fn()  # warm-up
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_median_times(fns, repeats: int) -> list[float]:
    """Median times of several functions timed in alternation (fairer on a noisy machine)."""
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:10.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads for the CPU runs")
    parser.add_argument("--loop-subset", type=int, default=5000, help="rows timed for the reference loop")
    args = parser.parse_args()

    try:
        from sklearn.metrics import label_ranking_average_precision_score
    except ImportError:  # pragma: no cover
        label_ranking_average_precision_score = None
    try:
        import torch

        from audiometrics.metrics.lwlrap_torch import lwlrap_torch
    except ImportError:
        torch = None
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    print(f"python {platform.python_version()}, numpy {np.__version__}", end="")
    if label_ranking_average_precision_score is not None:
        import sklearn

        print(f", scikit-learn {sklearn.__version__}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} (threads {torch.get_num_threads()})", end="")
        if torch.cuda.is_available():
            print(f", GPU {torch.cuda.get_device_name(0)}", end="")
    print(f"; cpu count {os.cpu_count()}; median of {args.repeats} repeats")

    for n in args.sizes:
        c = args.classes
        truth, scores = make_data(n, c)
        print(f"\nN={n} samples x {c} classes, {int(truth.sum())} positive labels")
        ours_value = lwlrap(truth, scores)
        t_ours, t_argsort = interleaved_median_times(
            [lambda: lwlrap(truth, scores), lambda: np.argsort(scores, axis=1)], args.repeats
        )
        print(f"  {'audiometrics.metrics.lwlrap':34s}{fmt(t_ours)}   value {ours_value:.12f}")

        if label_ranking_average_precision_score is not None:
            weights = truth.sum(axis=1)
            sk = lambda: label_ranking_average_precision_score(truth, scores, sample_weight=weights)  # noqa: E731
            sk_value = sk()
            t_sk = median_time(sk, max(1, min(args.repeats, 3)))
            print(f"  {'sklearn weighted LRAP':34s}{fmt(t_sk)}   |diff| {abs(sk_value - ours_value):.1e}")
        else:
            t_sk = None

        sub = min(n, args.loop_subset)
        t_loop = median_time(lambda: reference_loop(truth[:sub], scores[:sub]), 3) * (n / sub)
        scaled = f" (timed on {sub} rows, scaled x{n / sub:g})" if sub < n else ""
        print(f"  {'reference per-sample loop':34s}{fmt(t_loop)}{scaled}")
        print(f"  {'np.argsort(scores, axis=1) floor':34s}{fmt(t_argsort)}")

        if torch is not None:
            devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
            for dev in devices:
                t_t = torch.as_tensor(truth, dtype=torch.float32, device=dev)
                s_t = torch.as_tensor(scores, dtype=torch.float32, device=dev)
                sync = torch.cuda.synchronize if dev == "cuda" else None
                value = lwlrap_torch(t_t, s_t).item()
                ref32 = lwlrap(truth, s_t.cpu().numpy())
                t_torch = median_time(lambda: lwlrap_torch(t_t, s_t), args.repeats, sync)
                print(f"  {'lwlrap_torch ' + dev + ' (float32)':34s}{fmt(t_torch)}   |diff vs numpy float32| {abs(value - ref32):.1e}")
                t_arg = median_time(lambda: torch.argsort(s_t, dim=1), args.repeats, sync)
                print(f"  {'torch.argsort ' + dev + ' (float32) floor':34s}{fmt(t_arg)}")

        print("  ratios:", end="")
        if t_sk is not None:
            print(f" sklearn/ours = {t_sk / t_ours:.1f}x;", end="")
        print(f" ours/argsort = {t_ours / t_argsort:.2f}x; loop/ours = {t_loop / t_ours:.1f}x")


if __name__ == "__main__":
    main()
