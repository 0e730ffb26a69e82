"""Extraction speed against the JSON-loading floor and a naive extractor, measured in one run.

Builds a corpus of notebooks, by default (``--corpus synthetic``) shaped like the
reference study's (six training tables, lr_find displays, a DataFrame table, ~0.4 MB
of base64 PNG outputs, little code); ``--corpus real`` uses real-code notebooks (the
bundled examples, and the reference notebook when ``../shared`` is there) with the
same media added, ``--corpus mixed`` both. Then it prints, for the same files:

- ``json.load``: the floor (reading and parsing the JSON, nothing else);
- ``audiometrics``: the full extraction (read, find tables, analyse source, align, rows);
- ``naive``: ``nbformat.read`` + ``pandas.read_html`` on every HTML output.

Then, for many files (issue: parallel extraction):

- ``--jobs 1`` (in this process) and ``--jobs N`` (a process pool of one worker
  per CPU, its start-up included), run in turn, best of ``--repeat``, and the
  speed-up, next to the machine's own ceiling (how much faster N processes run
  a pure-Python loop than one: less than N on a shared or throttled machine);
- the Dask path: ``extract_files(paths, executor=client)`` on a ``LocalCluster``
  of one single-threaded worker process per CPU (its start-up excluded), when
  ``dask[distributed]`` is installed;
- with ``--memory``: the parent's peak RSS, in a fresh process each, for
  ``--memory-files`` (default 200 and 2000) files, streaming (``iter_extract``),
  collecting (``extract_files``) and through the CLI (``--no-report``), all with
  one worker per CPU.

Targets (issue #2): extraction within 1.5x of the floor; at least 5x faster than naive.
Targets (parallel): ``--jobs N`` at least 1.7x ``--jobs 1`` on 2 cores; parent
peak memory independent of the number of files.

    python benchmarks/extract_bench.py [--files 200] [--repeat 3] [--memory] [--no-dask] [--corpus real]
    python benchmarks/extract_bench.py --files 2000 --repeat 1 --memory
    python benchmarks/extract_bench.py --stages    # where the time goes, per notebook shape

Real code changes the picture: parsing a notebook's code with ``ast`` alone costs
3.5 to 15 times its ``json.load``, so on real-code notebooks the source analysis,
not reading, sets the speed (``--stages`` shows it).

The corpus is built fast: one notebook per shape is written, and
every other file is a byte-for-byte *copy* (not a hard link: each file has its
own pages in the page cache, as a real corpus would). Every method reads the
corpus once before timing (warm page cache).

The naive baseline needs lxml (``pip install lxml``); it is skipped without it.
"""

from __future__ import annotations

import argparse
import ast
import base64
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# worker processes started by Dask (spawned, not forked) must find the package too
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

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


SHAPES = 7
EXAMPLES = ROOT / "examples" / "notebooks"
REFERENCE = ROOT.parent / "shared" / "reference" / "notebooks"


def real_code_notebooks() -> list[Path]:
    """Executed notebooks with real code: the bundled examples (the companion notebook's
    smoke runs) and, when present beside the checkout, the reference study's notebook."""
    return sorted(EXAMPLES.glob("*.ipynb")) + sorted(REFERENCE.glob("*.ipynb"))


def with_media(document: dict, seed: int) -> dict:
    """``document`` with the synthetic notebook's ~0.4 MB of PNG outputs added (a copy)."""
    rng = random.Random(seed)
    document = json.loads(json.dumps(document))
    size = len(json.dumps(document))
    blobs = []
    while size < 480_000:
        blob = _png_blob(min(120_000, max(1_000, (480_000 - size) * 3 // 4)), rng)
        size += len(blob)
        blobs.append(blob)
    images = [{"data": {"image/png": b, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}
              for b in blobs]
    document["cells"].append(nbf.code_cell("show_examples()", images))
    return document


def shape_documents(corpus: str) -> list[tuple[str, dict]]:
    """(name, document) per shape of the corpus: ``synthetic`` (the reference study's shape
    with little code), ``real`` (real-code notebooks, media added to real size), or both."""
    documents = []
    if corpus in ("synthetic", "mixed"):
        documents += [(f"synthetic-{i}", realistic_notebook(i)) for i in range(SHAPES)]
    if corpus in ("real", "mixed"):
        real = real_code_notebooks()
        if not real:
            raise SystemExit(f"no real-code notebooks found in {EXAMPLES}")
        documents += [(f"{p.stem}+media", with_media(json.loads(p.read_text(encoding="utf-8")), i)) for i, p in enumerate(real)]
    return documents


def build_corpus(directory: Path, files: int, corpus: str = "synthetic", *, named: bool = False) -> list[Path]:
    """``files`` notebooks: one written per shape, the rest copied from those (real copies, not links)."""
    shapes = shape_documents(corpus)
    paths = []
    for i in range(files):
        path = directory / (f"{shapes[i][0]}.ipynb" if named and i < len(shapes) else f"notebook-{i:05d}.ipynb")
        if i < len(shapes):
            path.write_text(json.dumps(shapes[i][1], indent=1))
        else:
            shutil.copyfile(paths[i % len(shapes)], path)
        paths.append(path)
    return paths


def stage_costs(path: Path, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` milliseconds of each extraction stage on one notebook, and json.load's."""
    from audiometrics.runs.align import align_notebook
    from audiometrics.read.notebook import _read_notebook
    from audiometrics.analysis.analyser import analyse_cells
    from audiometrics.tables import find_tables
    from audiometrics.analysis.evaluate import escape_for_parser
    from audiometrics.analysis.magics import parse_cell

    name = str(path)
    notebook = _read_notebook(name, name, None, skim=True)
    sources = [cell.source for cell in notebook.cells]
    analyses = analyse_cells(sources)
    tables = [find_tables(cell.outputs) for cell in notebook.cells]
    texts = [p.text for p in map(parse_cell, map(escape_for_parser, sources)) if p.tree is not None]

    def parse_cells():
        for text in texts:
            ast.parse(text)

    def load():
        with open(path, "rb") as handle:
            json.load(handle)

    stages = {
        "json.load": load,
        "ast.parse": parse_cells,
        "read": lambda: _read_notebook(name, name, None, skim=True),
        "source": lambda: analyse_cells(sources),
        "tables": lambda: [find_tables(cell.outputs) for cell in notebook.cells],
        "align": lambda: align_notebook(name, notebook.cells, analyses, tables),
    }
    best = {key: float("inf") for key in stages}
    for _ in range(repeat):
        for key, func in stages.items():
            start = time.perf_counter()
            func()
            best[key] = min(best[key], (time.perf_counter() - start) * 1000)
    return best


def print_stage_costs(paths: list[Path], repeat: int) -> None:
    """Where the time goes, per notebook shape: each stage in ms and as a multiple of json.load."""
    print("per notebook (ms, best of %d; x = multiple of json.load; source/parse: the analysis as a multiple of"
          " ast.parse of the same cells, issue 10's target <= 2x)" % repeat)
    print(f"{'notebook':<34}{'KB':>6}{'cells':>6}{'json.load':>10}{'read':>13}{'source':>13}{'tables':>13}{'align':>13}"
          f"{'total':>8}{'source/parse':>14}")
    for path in paths:
        cost = stage_costs(path, repeat)
        floor_ms = cost["json.load"]
        cells = sum(1 for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c.get("cell_type") == "code")
        parts = "".join(f"{cost[k]:>7.2f}{cost[k] / floor_ms:>5.1f}x " for k in ("read", "source", "tables", "align"))
        total = sum(cost[k] for k in ("read", "source", "tables", "align")) / floor_ms
        ratio = cost["source"] / cost["ast.parse"] if cost["ast.parse"] else float("inf")
        print(f"{path.name[:33]:<34}{path.stat().st_size // 1024:>6}{cells:>6}{floor_ms:>10.2f}{parts}{total:>7.1f}x"
              f"{ratio:>13.1f}x")


def time_it(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_alternated(funcs, repeat: int) -> list[float]:
    """The best time of each of ``funcs``, run in turn ``repeat`` times (ABAB...)."""
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def floor(paths):
    for path in paths:
        with open(path, "rb") as handle:
            json.load(handle)


def ours(paths):
    from audiometrics.pipeline import extract_files

    outcome = extract_files(paths)
    assert not outcome.failures
    return outcome


def parallel(paths, jobs):
    from audiometrics.pipeline import extract_files

    outcome = extract_files(paths, jobs=jobs)
    assert not outcome.failures
    return outcome


def on_dask(paths, client):
    from audiometrics.pipeline import extract_files

    outcome = extract_files(paths, executor=client)
    assert not outcome.failures
    return outcome


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_ceiling(jobs: int, seconds: float = 0.5) -> float:
    """How much faster ``jobs`` processes run a pure-Python loop than one (a shared or throttled
    machine gives less than ``jobs``): the most any parallel extraction can reach here."""
    from concurrent.futures import ProcessPoolExecutor

    n = 1_000_000
    start = time.perf_counter()
    _burn(n)
    n = max(1, int(n * seconds / (time.perf_counter() - start)))
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_burn, [1] * jobs))  # start the workers
        start = time.perf_counter()
        list(pool.map(_burn, [n] * (2 * jobs)))
        parallel = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(2 * jobs):
        _burn(n)
    return (time.perf_counter() - start) / parallel


def start_dask(workers: int):
    """A LocalCluster of ``workers`` single-threaded worker processes, and its client; None without dask."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return None, None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


MEASURE_PARENT = """
import resource, subprocess, sys, glob
mode, folder, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
paths = sorted(glob.glob(folder + "/*.ipynb"))[: int(sys.argv[4])]
if mode == "stream":
    from audiometrics.pipeline import iter_extract
    rows = sum(sum(len(p.rows) for r in x.runs for p in r.phases) for x in iter_extract(paths, jobs=jobs))
elif mode == "collect":
    from audiometrics.pipeline import extract_files
    rows = len(extract_files(paths, jobs=jobs).rows())
else:
    from audiometrics.cli.main import main
    sys.argv = ["audiometrics", "extract", *paths, "--out", sys.argv[5], "--no-report", "-q", "--jobs", str(jobs)]
    try:
        main()
    except SystemExit as stop:
        assert not stop.code, stop.code
    rows = -1
try:  # this process's own high-water mark (ru_maxrss would start at the forking parent's RSS)
    kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except OSError:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rows, kb)
"""


def parent_peak_mb(mode: str, folder: Path, jobs: int, files: int, out: Path) -> tuple[int, float]:
    """(rows, the parent's peak RSS in MB) of one extraction of the first ``files`` files, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_PARENT, mode, str(folder), str(jobs), str(files), str(out)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    rows, kb = done.stdout.split()
    return int(rows), int(kb) / 1024


def naive(paths):
    import warnings

    import nbformat
    import pandas as pd

    tables = 0
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's MissingIDFieldWarning, once per file
            nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html")
                if not html:
                    continue
                try:
                    tables += len(pd.read_html(io.StringIO(html), flavor="lxml"))
                except ValueError:
                    pass
    return tables


def _row(name: str, seconds: float | None, files: int, size_mb: float, t_floor: float, note: str = "") -> None:
    if seconds is None:
        print(f"{name:<28}{note:>38}")
        return
    print(f"{name:<28}{seconds:>10.3f}{files / seconds:>10.1f}{size_mb / seconds:>9.1f}{seconds / t_floor:>9.2f}{note}")


def main() -> None:
    from audiometrics.parallel import default_jobs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="workers of the parallel runs (default: one per CPU)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster run")
    parser.add_argument("--memory", action="store_true", help="measure the parent's peak RSS for --memory-files files")
    parser.add_argument("--memory-files", default="200,2000", help="file counts of the memory runs (default 200,2000)")
    parser.add_argument("--corpus", choices=("synthetic", "real", "mixed"), default="synthetic",
                        help="synthetic: the reference study's shape with little code (default); real: the bundled "
                             "real-code notebooks (and the reference notebook when present) with media added; mixed: both")
    parser.add_argument("--stages", action="store_true", help="only print the per-notebook stage costs of every shape")
    args = parser.parse_args()
    if args.stages:
        with tempfile.TemporaryDirectory() as tmp:
            shapes = build_corpus(Path(tmp), len(shape_documents("mixed")), "mixed", named=True)
            print_stage_costs(shapes + real_code_notebooks(), max(args.repeat, 5))
        return
    memory_counts = sorted({int(n) for n in args.memory_files.split(",")}) if args.memory else []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        start = time.perf_counter()
        paths = build_corpus(folder, max([args.files, *memory_counts]), args.corpus)
        built = time.perf_counter() - start
        all_paths, paths = paths, paths[: args.files]
        size_mb = sum(os.path.getsize(p) for p in paths) / 1e6
        rows = sum(p.recorded_epochs for r in ours(paths[:1]).runs for p in r.phases)
        print(f"corpus ({args.corpus}): {len(paths)} notebooks, {size_mb:.1f} MB ({size_mb / len(paths):.2f} MB each),"
              f" {rows} epoch rows in the first (built in {built:.1f} s, {len(all_paths)} files)")
        print(f"machine: {default_jobs()} CPUs; parallel runs use --jobs {args.jobs}")
        floor(all_paths)  # warm the page cache
        t_floor = time_it(lambda: floor(paths), args.repeat)
        t_ours = time_it(lambda: ours(paths), args.repeat)
        try:
            import lxml  # noqa: F401

            t_naive = time_it(lambda: naive(paths), 1)
        except ImportError:
            t_naive = None
        print(f"{'method':<28}{'seconds':>10}{'files/s':>10}{'MB/s':>9}{'x floor':>9}")
        for name, seconds in (("json.load (floor)", t_floor), ("audiometrics extract", t_ours), ("nbformat + read_html", t_naive)):
            _row(name, seconds, len(paths), size_mb, t_floor, "" if seconds is not None else "skipped (pip install lxml)")
        print(f"extraction / floor: {t_ours / t_floor:.2f}x (target <= 1.5x)")
        if t_naive is not None:
            print(f"naive / extraction: {t_naive / t_ours:.1f}x faster (target >= 5x)")

        print()
        print(f"parallel extraction of {len(paths)} files ({size_mb:.0f} MB)")
        print(f"{'method':<28}{'seconds':>10}{'files/s':>10}{'MB/s':>9}{'x floor':>9}{'speed-up':>10}")
        # alternated, best of --repeat: on a shared machine other load comes and goes
        t_one, t_many = time_alternated([lambda: parallel(paths, 1), lambda: parallel(paths, args.jobs)], args.repeat)
        _row("--jobs 1", t_one, len(paths), size_mb, t_floor, f"{1.0:>10.2f}")
        _row(f"--jobs {args.jobs} (process pool)", t_many, len(paths), size_mb, t_floor, f"{t_one / t_many:>10.2f}")
        t_dask = None
        if not args.no_dask:
            cluster, client = start_dask(args.jobs)
            if client is None:
                _row("dask LocalCluster", None, 0, 0, 1, "skipped (pip install 'dask[distributed]')")
            else:
                try:
                    on_dask(paths[: 4 * args.jobs], client)  # workers import audiometrics once
                    t_dask = time_it(lambda: on_dask(paths, client), args.repeat)
                finally:
                    client.close()
                    cluster.close()
                _row(f"dask LocalCluster ({args.jobs}x1)", t_dask, len(paths), size_mb, t_floor, f"{t_one / t_dask:>10.2f}")
        ceiling = machine_ceiling(args.jobs)
        print(f"speed-up --jobs {args.jobs} / --jobs 1: {t_one / t_many:.2f}x (target >= 1.7x on 2 cores)")
        print(f"machine ceiling: {args.jobs} processes run a pure-Python loop {ceiling:.2f}x faster than one here;"
              f" extraction reaches {t_one / t_many / ceiling:.0%} of it")

        if memory_counts:
            print()
            print(f"parent peak RSS (MB), --jobs {args.jobs}, fresh process each")
            print(f"{'files':>7}{'stream':>10}{'collect':>10}{'CLI':>10}{'rows':>10}")
            for count in memory_counts:
                peaks = []
                rows_seen = 0
                for mode in ("stream", "collect", "cli"):
                    found, peak = parent_peak_mb(mode, folder, args.jobs, count, Path(tmp) / "out")
                    peaks.append(peak)
                    rows_seen = max(rows_seen, found)
                print(f"{count:>7}" + "".join(f"{p:>10.0f}" for p in peaks) + f"{rows_seen:>10}")


if __name__ == "__main__":
    main()
