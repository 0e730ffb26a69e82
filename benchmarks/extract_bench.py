"""Extraction speed against the JSON-loading floor and a naive extractor, measured in one run.

Builds a corpus of notebooks shaped like the reference study's (six training
tables, lr_find displays, a DataFrame table, ~0.4 MB of base64 PNG outputs),
then prints, for the same files:

- ``json.load``: the floor (reading and parsing the JSON, nothing else);
- ``audiometrics``: the full extraction (read, find tables, analyse source, align, rows);
- ``naive``: ``nbformat.read`` + ``pandas.read_html`` on every HTML output.

Targets (issue #2): extraction within 1.5x of the floor; at least 5x faster than naive.

    python benchmarks/extract_bench.py [--files 200] [--repeat 3]

The naive baseline needs lxml (``pip install lxml``); it is skipped without it.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import nbfactory as nbf  # noqa: E402


def _png_blob(size: int, rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(size)).decode("ascii")


def realistic_notebook(seed: int = 0) -> dict:
    """A notebook the size and shape of a real Kaggle fastai notebook."""
    rng = random.Random(seed)
    cells = [
        nbf.code_cell("import numpy as np\nimport pandas as pd\nfrom fastai.vision.all import *", [nbf.stream_output("ok\n")]),
        nbf.code_cell("LR = 3e-3\nEPOCHS = [5, 10, 20, 20, 50, 10]"),
        nbf.code_cell("dls.show_batch(max_n=3)", [
            {"data": {"image/png": _png_blob(120_000, rng), "text/plain": ["<Figure size 900x300 with 3 Axes>"]},
             "metadata": {}, "output_type": "display_data"}]),
        nbf.code_cell("learn = vision_learner(dls, resnet18, pretrained=False, metrics=lwlrap)\nlearn.lr_find()",
                      [*nbf.lr_find_outputs(), {"data": {"image/png": _png_blob(30_000, rng), "text/plain": ["<Figure>"]},
                                                "metadata": {}, "output_type": "display_data"}]),
        nbf.code_cell(
            "learn.fit_one_cycle(5, 1e-1)\nlearn.fit_one_cycle(10, 1e-2)",
            [*nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(5)), *nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(10))],
        ),
    ]
    for epochs, lr in ((20, "3e-3"), (20, "1e-3"), (50, "slice(1e-3, 3e-3)"), (10, "slice(1e-4, 1e-3)")):
        cells.append(nbf.code_cell("learn.lr_find()", [*nbf.lr_find_outputs(), {
            "data": {"image/png": _png_blob(37_000, rng), "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}]))
        cells.append(nbf.code_cell(f"learn.fit_one_cycle({epochs}, {lr})", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(epochs))))
    cells.append(nbf.code_cell("test_df.head()", [nbf.dataframe_head_output()]))
    cells.append(nbf.code_cell("visualize_first_layer(learn)", [
        {"data": {"image/png": _png_blob(38_000, rng), "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}]))
    return nbf.notebook(cells)


def build_corpus(directory: Path, files: int) -> list[Path]:
    paths = []
    for i in range(files):
        path = directory / f"notebook-{i:05d}.ipynb"
        path.write_text(json.dumps(realistic_notebook(i % 7), indent=1))
        paths.append(path)
    return paths


def time_it(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(paths):
    for path in paths:
        with open(path, "rb") as handle:
            json.load(handle)


def ours(paths):
    from audiometrics.extract import extract_files

    outcome = extract_files(paths)
    assert not outcome.failures
    return outcome


def naive(paths):
    import nbformat
    import pandas as pd

    tables = 0
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html")
                if not html:
                    continue
                try:
                    tables += len(pd.read_html(io.StringIO(html)))
                except ValueError:
                    pass
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_corpus(Path(tmp), args.files)
        size_mb = sum(os.path.getsize(p) for p in paths) / 1e6
        rows = sum(p.recorded_epochs for r in ours(paths[:1]).runs for p in r.phases)
        print(f"corpus: {len(paths)} notebooks, {size_mb:.1f} MB ({size_mb / len(paths):.2f} MB each), {rows} epoch rows each")
        floor(paths)  # warm the page cache
        t_floor = time_it(lambda: floor(paths), args.repeat)
        t_ours = time_it(lambda: ours(paths), args.repeat)
        try:
            import lxml  # noqa: F401

            t_naive = time_it(lambda: naive(paths), 1)
        except ImportError:
            t_naive = None
        print(f"{'method':<28}{'seconds':>10}{'files/s':>10}{'MB/s':>9}{'x floor':>9}")
        for name, seconds in (("json.load (floor)", t_floor), ("audiometrics extract", t_ours), ("nbformat + read_html", t_naive)):
            if seconds is None:
                print(f"{name:<28}{'skipped (pip install lxml)':>38}")
                continue
            print(f"{name:<28}{seconds:>10.3f}{len(paths) / seconds:>10.1f}{size_mb / seconds:>9.1f}{seconds / t_floor:>9.2f}")
        print(f"extraction / floor: {t_ours / t_floor:.2f}x (target <= 1.5x)")
        if t_naive is not None:
            print(f"naive / extraction: {t_naive / t_ours:.1f}x faster (target >= 5x)")


if __name__ == "__main__":
    main()
