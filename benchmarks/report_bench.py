"""Report cost against extraction cost, at scale: the acceptance figures of the runs-table work.

Usage::

    python3 benchmarks/report_bench.py copies [--n 100]          # copies of the study notebook
    python3 benchmarks/report_bench.py small [--n 500 5000]      # small generated notebooks (tests/nbfactory.py)
    python3 benchmarks/report_bench.py small --in-process        # the report's stages timed in one process

Each case runs the command line twice in fresh processes, ``extract --no-report``
(the CSV only) and ``extract`` (CSV, runs.csv, documents, plots), and prints the
wall times, their ratio, the report's own time (the difference), the lines on
stderr and the overview's size. Nothing here needs a network; the reference
notebook is read from ``../shared/reference/notebooks`` (the ``copies`` case skips
without it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import nbfactory as nbf  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference" / "notebooks"
ARCHITECTURES = ("resnet18", "resnet34", "convnext_tiny", "efficientnet_b0", "vit_tiny_patch16_224", "deit_tiny_patch16_224")


def small_notebook(index: int) -> dict:
    """A small realistic notebook: a parameters cell, a learner, two fits with their tables (values vary by index)."""
    rng = random.Random(index)
    arch = ARCHITECTURES[index % len(ARCHITECTURES)]
    size = (64, 128)[index % 2]
    first, second = rng.randint(1, 4), rng.randint(2, 8)
    seed = 0.3 + rng.random()
    parameters = nbf.code_cell(f"IMG_SIZE = {size}\nBATCH_SIZE = 32\nSEED = {index}\nEPOCHS = [{first}, {second}]")
    parameters["metadata"]["tags"] = ["parameters"]
    learner = nbf.code_cell(f"learn = vision_learner(dls, {arch}, pretrained={index % 3 == 0}, metrics=lwlrap)")
    fits = nbf.code_cell(
        f"learn.fit_one_cycle({first}, 1e-2)\nlearn.fit_one_cycle({second}, slice(1e-4, 1e-3))",
        nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(first, seed=seed))
        + nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(second, start=0, seed=seed / 2)),
    )
    return nbf.notebook([parameters, learner, fits])


def _run(args: list[str]) -> tuple[float, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "audiometrics", *args], capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"audiometrics {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, [line for line in done.stderr.splitlines() if line.strip()]


def measure(folder: Path, label: str) -> dict:
    """Time the CSV-only and the full command on ``folder``; the figures as a dict."""
    out_csv, out_full = folder.parent / f"{label}-csv", folder.parent / f"{label}-full"
    csv_s, _ = _run(["extract", str(folder), "--out", str(out_csv), "--no-report", "-q"])
    full_s, stderr = _run(["extract", str(folder), "--out", str(out_full), "-q"])
    overview = out_full / "EXTRACTION_SUMMARY.md"
    runs = sum(1 for _ in (out_full / "runs.csv").open(encoding="utf-8")) - 1
    return {
        "case": label,
        "runs": runs,
        "csv_only_s": round(csv_s, 2),
        "full_s": round(full_s, 2),
        "ratio": round(full_s / csv_s, 2),
        "report_s": round(full_s - csv_s, 2),
        "stderr_lines": len(stderr),
        "overview_kb": round(overview.stat().st_size / 1024, 1),
        "summary_kb": round((out_full / "training_metrics_summary.md").stat().st_size / 1024, 1),
    }


def in_process(folder: Path, label: str) -> dict:
    """The report's own stages timed in this process (no process start, no parallel extraction to blur them)."""
    from audiometrics.epochs.frame import phase_frame
    from audiometrics.epochs.runs_table import runs_table
    from audiometrics.pipeline import extract_files
    from audiometrics.report import plots
    from audiometrics.report.render import render_reports
    from audiometrics.report.summarize import summarize

    paths = sorted(str(p) for p in folder.glob("*.ipynb"))
    start = time.perf_counter()
    outcome = extract_files(paths)
    extract_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = runs_table(outcome.results, root=outcome.root)
    frame, phases = outcome.frame(), phase_frame(outcome.runs, root=outcome.root)
    frames_s = time.perf_counter() - start
    start = time.perf_counter()
    summary = summarize(frame, phases, run_rows=rows)
    summarize_s = time.perf_counter() - start
    start = time.perf_counter()
    render_reports(summary)
    render_s = time.perf_counter() - start
    start = time.perf_counter()
    plots.draw_plots(summary)
    plots_s = time.perf_counter() - start
    report = frames_s + summarize_s + render_s + plots_s
    return {
        "case": label, "runs": len(summary.runs), "extract_s": round(extract_s, 2), "tables_s": round(frames_s, 2),
        "summarize_s": round(summarize_s, 2), "render_s": round(render_s, 2), "plots_s": round(plots_s, 2),
        "report_s": round(report, 2), "report_per_run_ms": round(1000 * (report - plots_s) / max(len(summary.runs), 1), 2),
    }


def copies(n: int, work: Path) -> dict | None:
    sources = sorted(REFERENCE.glob("*.ipynb"))
    if not sources:
        print(f"skipped: no reference notebook in {REFERENCE}")
        return None
    folder = work / f"copies{n}"
    folder.mkdir()
    for i in range(n):
        shutil.copyfile(sources[0], folder / f"study_{i:04d}.ipynb")
    return measure(folder, f"copies{n}")


def small(n: int, work: Path, inproc: bool = False) -> dict:
    folder = work / f"small{n}"
    folder.mkdir()
    for i in range(n):
        nbf.write(folder / f"nb_{i:05d}.ipynb", small_notebook(i))
    return in_process(folder, f"small{n}") if inproc else measure(folder, f"small{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=["copies", "small"])
    parser.add_argument("--n", type=int, nargs="+", default=None)
    parser.add_argument("--in-process", action="store_true", help="small: time the report's stages in this process")
    args = parser.parse_args()
    counts = args.n or ([100] if args.case == "copies" else [500, 5000])
    rows = []
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        for n in counts:
            figures = copies(n, Path(tmp)) if args.case == "copies" else small(n, Path(tmp), args.in_process)
            if figures is not None:
                rows.append(figures)
                print(json.dumps(figures), flush=True)
    if rows:
        keys = list(rows[0])
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
        for row in rows:
            print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
