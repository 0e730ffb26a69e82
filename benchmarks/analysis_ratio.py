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

    python benchmarks/analysis_ratio.py [--repeat 7] [--cpu] [--breakdown] [NOTEBOOK ...]

``--breakdown`` adds where the analysis's time goes, measured in one more run with each
part's functions wrapped by an exclusive timer (so as shares of that run, applied to the
best-of time): its own parse of the cells, re-parses of expression texts, the text work of
values kept as source text (normalising, splicing, segments, folding), the per-statement
syntax summaries, and the rest (interpreting: dispatch, scopes, calls, frameworks). The
last column is the ratio the analysis would have with re-parses and text work free: a bound
on what keeping values as trees instead of text can give.

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


def measure(path: Path, repeat: int, clock=time.perf_counter, parts: bool = False) -> dict[str, float]:
    """Cells, parse and analysis milliseconds, their ratio and the analysis's ``ast.parse`` calls
    (with ``parts``, the :func:`breakdown` too, in milliseconds of the best-of time)."""
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
    shares = breakdown(sources) if parts else {}
    return {
        "cells": len(sources),
        "nodes": sum(1 for tree in trees for _ in ast.walk(tree)),
        "parse_ms": parse_ms,
        "analysis_ms": analysis_ms,
        "ratio": analysis_ms / parse_ms if parse_ms else float("inf"),
        "parses": parses,
        "walk_ratio": walk_ms / parse_ms if parse_ms else float("inf"),
        "visit_ratio": visit_ms / parse_ms if parse_ms else float("inf"),
        **{f"{part} ms": analysis_ms * share for part, share in shares.items()},
        **({"without text work": analysis_ms * (1 - shares["re-parses"] - shares["text work"]) / parse_ms}
           if shares and parse_ms else {}),
    }


_TEXT_WORK = {
    "audiometrics.analysis.text": ("normalise", "splice", "segment"),
    "audiometrics.analysis.fold": ("fold_text", "may_have_fold_site", "has_fold_site"),
    "audiometrics.analysis.values": ("_in_place", "_fully_parenthesised"),
}
_SUMMARY_METHODS = ("statement", "summary", "_walk")  # (plain methods: what they call counts with them)
PARTS = ("own parse", "re-parses", "text work", "summaries", "rest")


def breakdown(sources: list[str], runs: int = 5) -> dict[str, float]:
    """Shares of the analysis's time spent in each of :data:`PARTS` (exclusive times, from the
    fastest of ``runs`` instrumented runs)."""
    import importlib

    from audiometrics.analysis import analyser, reach, text

    spent: dict[str, float] = {}
    stack: list[list] = []  # [part, exclusive seconds so far, resumed at]

    def timed(part, func):
        def wrapper(*args, **kwargs):
            now = time.perf_counter()
            if stack:
                stack[-1][1] += now - stack[-1][2]
            which = part(stack) if callable(part) else part
            stack.append([which, 0.0, now])
            try:
                return func(*args, **kwargs)
            finally:
                end = time.perf_counter()
                top = stack.pop()
                spent[top[0]] += top[1] + end - top[2]
                if stack:
                    stack[-1][2] = end
        return wrapper

    patched: list[tuple[object, str, object]] = []

    def patch(owner, name, part) -> None:
        original = getattr(owner, name)
        patched.append((owner, name, original))
        setattr(owner, name, timed(part, original))

    modules = [importlib.import_module(m) for m in sys.modules if m.startswith("audiometrics.")]
    try:
        patch(ast, "parse", lambda stack: "re-parses" if stack and stack[-1][0] == "re-parses" else "own parse")
        targets = [(text, "parse_expr", "re-parses")]
        for module_name, names in _TEXT_WORK.items():
            targets += [(importlib.import_module(module_name), name, "text work") for name in names]
        for home, name, part in targets:  # the function wherever it was imported to
            original = getattr(home, name)
            for module in modules:
                if getattr(module, name, None) is original:
                    patch(module, name, part)
        for name in _SUMMARY_METHODS:
            patch(reach.Syntax, name, "summaries")
        best: tuple[float, dict[str, float]] | None = None
        for _ in range(runs):
            spent = dict.fromkeys(PARTS, 0.0)
            start = time.perf_counter()
            analyser.analyse_cells(sources)
            total = time.perf_counter() - start
            if best is None or total < best[0]:
                best = (total, spent)
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    total, spent = best
    spent["rest"] = total - sum(spent.values())
    return {part: seconds / total for part, seconds in spent.items()}


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
    parser.add_argument("--breakdown", action="store_true",
                        help="where the analysis's time goes (one more, instrumented run)")
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    paths = args.notebooks or default_notebooks()
    if not args.json:
        print(f"{'notebook':<40}{'cells':>6}{'nodes':>7}{'parse ms':>10}{'analysis ms':>13}{'ratio':>7}{'parses':>8}"
              f"{'walk':>7}{'visit':>7}" + "".join(f"{part:>11}" for part in PARTS) * args.breakdown
              + f"{'w/o text':>9}" * args.breakdown)
    for path in paths:
        row = measure(path, args.repeat, clock, args.breakdown)
        if args.json:
            print(json.dumps({"notebook": path.name, **row}))
        else:
            print(f"{path.name[:39]:<40}{row['cells']:>6}{row['nodes']:>7}{row['parse_ms']:>10.2f}"
                  f"{row['analysis_ms']:>13.2f}{row['ratio']:>6.1f}x{row['parses']:>8}"
                  f"{row['walk_ratio']:>6.2f}x{row['visit_ratio']:>6.2f}x"
                  + ("".join(f"{row[part + ' ms']:>11.2f}" for part in PARTS)
                     + f"{row['without text work']:>8.1f}x" if args.breakdown else ""))


if __name__ == "__main__":
    main()
