"""The source analysis against ``ast.parse`` of the same cells (issue 10: target <= 2x).

For each notebook (default: the bundled examples and, when present beside the
checkout, the reference study's notebook) prints the code cells, the best-of
``--repeat`` milliseconds of ``ast.parse`` over every code cell's Python text,
of :func:`~audiometrics.analysis.analyser.analyse_cells` over the cells (the two
timed in turn), their ratio, and how many times the analysis calls ``ast.parse`` (counted by
monkeypatching it, in one extra untimed run): the cells themselves, and every
re-parse of an expression's text. The last two columns are floors for any analysis
written in Python, as ratios of ``ast.parse``: ``ast.walk`` meeting every node once
and doing nothing, and an ``ast.NodeVisitor`` dispatching once per node.

    python benchmarks/analysis_ratio.py [--repeat 7] [--cpu] [NOTEBOOK ...]

On a loaded machine wall times wander; ``--cpu`` reads the process's CPU time, and
``valgrind --tool=callgrind`` instruction counts (a run of N passes less a run of
one) are steadier still.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "examples" / "notebooks"
REFERENCE = ROOT.parent / "shared" / "reference" / "notebooks"


def default_notebooks() -> list[Path]:
    return sorted(EXAMPLES.glob("*.ipynb")) + sorted(REFERENCE.glob("*.ipynb"))


def code_sources(path: Path) -> list[str]:
    """The code cells' sources, in execution order, as the extraction reads them."""
    from audiometrics.read.notebook import _read_notebook

    notebook = _read_notebook(str(path), str(path), None, skim=True)
    return [cell.source for cell in notebook.cells]


def python_texts(sources: list[str]) -> list[str]:
    """The Python text of each cell (IPython magics stripped), as the analysis parses it."""
    from audiometrics.analysis.evaluate import escape_for_parser
    from audiometrics.analysis.magics import parse_cell

    texts = []
    for src in sources:
        parsed = parse_cell(escape_for_parser(src) if isinstance(src, str) else "")
        if parsed.tree is not None:
            texts.append(parsed.text)
    return texts


def best_ms(funcs, repeat: int, clock=time.perf_counter) -> list[float]:
    """Best-of-``repeat`` milliseconds of each of ``funcs``, run in turn (interleaved: a burst of load
    on a shared machine costs them alike)."""
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            start = clock()
            func()
            best[i] = min(best[i], (clock() - start) * 1000)
    return best


def count_parses(func) -> int:
    """How many times ``func()`` calls ``ast.parse``."""
    original = ast.parse
    calls = 0

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    ast.parse = counting
    try:
        func()
    finally:
        ast.parse = original
    return calls


def measure(path: Path, repeat: int, clock=time.perf_counter) -> dict[str, float]:
    """Cells, parse and analysis milliseconds, their ratio and the analysis's ``ast.parse`` calls."""
    from audiometrics.analysis.analyser import analyse_cells

    sources = code_sources(path)
    texts = python_texts(sources)

    def parse_all() -> None:
        for text in texts:
            try:
                ast.parse(text)
            except SyntaxError:
                pass

    trees = [tree for tree in map(_parsed, texts) if tree is not None]
    visitor = ast.NodeVisitor()

    def walk_all() -> None:  # the least a Python pass can do: meet every node once
        for tree in trees:
            for _node in ast.walk(tree):
                pass

    def visit_all() -> None:  # one dispatch per node, as an ast.NodeVisitor does it
        for tree in trees:
            visitor.visit(tree)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parse_ms, analysis_ms, walk_ms, visit_ms = best_ms(
            [parse_all, lambda: analyse_cells(sources), walk_all, visit_all], repeat, clock
        )
    parses = count_parses(lambda: analyse_cells(sources))
    return {
        "cells": len(sources),
        "nodes": sum(1 for tree in trees for _ in ast.walk(tree)),
        "parse_ms": parse_ms,
        "analysis_ms": analysis_ms,
        "ratio": analysis_ms / parse_ms if parse_ms else float("inf"),
        "parses": parses,
        "walk_ratio": walk_ms / parse_ms if parse_ms else float("inf"),
        "visit_ratio": visit_ms / parse_ms if parse_ms else float("inf"),
    }


def _parsed(text: str) -> ast.AST | None:
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="one JSON object per notebook")
    parser.add_argument("--cpu", action="store_true",
                        help="time with the process's CPU clock (less noisy on a machine others are using)")
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    paths = args.notebooks or default_notebooks()
    if not args.json:
        print(f"{'notebook':<40}{'cells':>6}{'nodes':>7}{'parse ms':>10}{'analysis ms':>13}{'ratio':>7}{'parses':>8}"
              f"{'walk':>7}{'visit':>7}")
    for path in paths:
        row = measure(path, args.repeat, clock)
        if args.json:
            print(json.dumps({"notebook": path.name, **row}))
        else:
            print(f"{path.name[:39]:<40}{row['cells']:>6}{row['nodes']:>7}{row['parse_ms']:>10.2f}"
                  f"{row['analysis_ms']:>13.2f}{row['ratio']:>6.1f}x{row['parses']:>8}"
                  f"{row['walk_ratio']:>6.2f}x{row['visit_ratio']:>6.2f}x")


if __name__ == "__main__":
    main()
