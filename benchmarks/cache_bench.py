"""Re-extraction with the result cache, the public ``extract()`` path, and start-up, against the floors.

Prints, for the same files, measured in this run:

- the floors: ``json.load`` of every file (floor 1) and ``json.load`` + ``ast.parse``
  of the code cells (floor 2);
- ``extract_files`` cold (empty cache: extraction plus hashing and storing) and warm
  (the same archive again: nothing re-read), as ratios of floor 1 and floor 2, and
  whether the warm rows equal the cold ones;
- one file changed (new bytes): how many files were really read on the next run;
- the ``extract`` command on the warm archive, as a process (start-up, writing the CSV and ``runs.csv``);
- the public ``extract()`` on each real-code notebook, no cache: its cost over floor 2;
- ``audiometrics --version`` / ``--help`` wall time next to a bare ``python -c pass``;
- ``--jobs 2`` against ``--jobs 1`` (no cache) on the real-code corpus.

Targets (issue: speed): warm ≤ 0.2× floor 1 on 2,000 notebooks, identical rows, a
touched notebook re-read alone; ``--version``/``--help`` under 0.2 s; ``--jobs 2``
≥ 1.7× ``--jobs 1`` on a quiet 2-core machine. Timings are the minimum of
``--repeat`` runs; the load average is printed so that a reader can tell how
quiet the machine was.

    python benchmarks/cache_bench.py [--files 2000] [--repeat 3] [--corpus mixed]
"""

from __future__ import annotations

import argparse
import ast
import gc
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

from extract_bench import build_corpus, real_code_notebooks  # noqa: E402


def best_of(repeat: int, function) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def code_texts(path: Path) -> list[str]:
    from audiometrics.analysis.evaluate import escape_for_parser
    from audiometrics.analysis.magics import parse_cell

    with open(path, "rb") as handle:
        document = json.load(handle)
    texts = []
    for cell in document.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            parsed = parse_cell(escape_for_parser(source))
            if parsed.tree is not None:
                texts.append(parsed.text)
    return texts


def fingerprint(rows: list[dict[str, str]]) -> str:
    """A digest of the rows: runs are compared without keeping every row alive while the next one is timed."""
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def floors(paths: list[Path]) -> tuple:
    texts = {p: code_texts(p) for p in paths}

    def floor1():
        for p in paths:
            with open(p, "rb") as handle:
                json.load(handle)

    def floor2():
        for p in paths:
            with open(p, "rb") as handle:
                json.load(handle)
            for text in texts[p]:
                ast.parse(text)

    return floor1, floor2


def archive(files: int, corpus: str, repeat: int) -> None:
    from audiometrics import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        paths = build_corpus(folder, files, corpus)
        for k, path in enumerate(paths):  # copies made unique (trailing white space), as an archive's files are
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(" " * (k + 1))
        names = [str(p) for p in paths]
        floor1, floor2 = floors(paths)
        f1, f2 = best_of(repeat, floor1), best_of(repeat, floor2)
        colds, rows_cold = [], None
        for k in range(repeat):  # each cold run starts from an empty cache folder
            start = time.perf_counter()
            rows_cold = fingerprint(pipeline.extract_files(names, cache=Path(tmp) / f"cold{k}").rows(with_source=True))
            colds.append(time.perf_counter() - start)
        cold = min(colds)
        nocache = best_of(1, lambda: pipeline.extract_files(names, cache=False))
        warm_dir = Path(tmp) / "cold0"
        rows_warm = []
        gc.collect()  # what earlier runs left is not counted against the warm one (a re-run is a fresh process)
        warm = best_of(repeat, lambda: pipeline.extract_files(names, cache=warm_dir))
        warm_rows = []
        for _ in range(repeat):
            start = time.perf_counter()
            rows = pipeline.extract_files(names, cache=warm_dir).rows(with_source=True)
            warm_rows.append(time.perf_counter() - start)
            rows_warm.append(fingerprint(rows))
            del rows
        warm_rows = min(warm_rows)
        same = all(r == rows_cold for r in rows_warm)
        target = paths[len(paths) // 2]
        target.write_text(target.read_text() + "\n")  # new bytes, same notebook
        from audiometrics.cache import ResultCache

        with ResultCache(warm_dir) as store:
            pipeline.extract_files(names, cache=store)
            reread = store.misses
        print(f"\n== archive: {files} notebooks ({corpus} corpus)")
        print(f"{'':28}{'seconds':>9}{'x floor 1':>11}{'x floor 2':>11}")
        for label, value in (
            ("floor 1: json.load", f1),
            ("floor 2: + ast.parse", f2),
            ("extract, no cache", nocache),
            ("extract, cold cache", cold),
            ("extract, warm cache", warm),
            ("  + the CSV's rows", warm_rows),
        ):
            print(f"{label:28}{value:9.3f}{value / f1:11.2f}{value / f2:11.2f}")
        print(f"warm rows identical to cold: {same}; after changing one file, files re-read: {reread}")
        command = best_of(repeat, lambda: cli_extract(folder, Path(tmp) / "out", warm_dir))
        print(f"the command, warm (`audiometrics extract FOLDER --no-report`, a process: start-up, CSV and runs.csv "
              f"written): {command:.3f} s, {command / f1:.2f}x floor 1")


def cli_extract(folder: Path, out: Path, cache: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "audiometrics", "extract", str(folder), "--out", str(out), "-q", "--no-report",
         "--cache-dir", str(cache)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def public_extract(repeat: int) -> None:
    from audiometrics import extract

    print("\n== public extract() per real-code notebook (no cache)")
    print(f"{'notebook':44}{'floor 2 ms':>11}{'extract ms':>11}{'ratio':>7}")
    for path in real_code_notebooks():
        _, floor2 = floors([path])
        f2 = best_of(repeat * 3, floor2)
        e = best_of(repeat * 3, lambda: extract(path, cache=False))
        print(f"{path.name[:43]:44}{f2 * 1000:11.1f}{e * 1000:11.1f}{e / f2:7.2f}")


def startup(repeat: int) -> None:
    def run(*args: str) -> float:
        return best_of(repeat * 3, lambda: subprocess.run([sys.executable, *args], capture_output=True, check=True))

    bare = run("-c", "pass")
    print("\n== start-up (wall seconds, best of %d)" % (repeat * 3))
    print(f"python -c pass              {bare:.3f}")
    for flag in ("--version", "--help"):
        print(f"audiometrics {flag:14} {run('-m', 'audiometrics', flag):.3f}")


def jobs(repeat: int) -> None:
    from audiometrics import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(p) for p in build_corpus(Path(tmp), 80, "real")]
        one = best_of(repeat, lambda: pipeline.extract_files(paths, jobs=1, cache=False))
        two = best_of(repeat, lambda: pipeline.extract_files(paths, jobs=2, cache=False))
    print(f"\n== --jobs on 80 real-code notebooks: jobs 1 {one:.2f} s, jobs 2 {two:.2f} s, speed-up {one / two:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", choices=("synthetic", "real", "mixed"), default="mixed")
    parser.add_argument("--skip", nargs="*", default=(), choices=("archive", "extract", "startup", "jobs"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if "archive" not in args.skip:
        archive(args.files, args.corpus, args.repeat)
    if "extract" not in args.skip:
        public_extract(args.repeat)
    if "startup" not in args.skip:
        startup(args.repeat)
    if "jobs" not in args.skip:
        jobs(args.repeat)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
