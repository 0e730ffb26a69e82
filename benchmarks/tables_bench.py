"""Speed and memory of ``find_tables`` on large and hostile text outputs (issue 14).

Every shape is one notebook cell whose outputs are a stream of ``--mb`` megabytes,
saved as Jupyter saves it (a list of lines).  For each shape it prints the time
``find_tables`` takes per MB and its ratio against ``json.loads`` of the same
outputs (the floor every notebook pays), best of ``--repeat``:

``ascii``        real fastprogress console output (console_1.0.3 fixture, bars and tables) with ``#`` bars
``non-ascii``    the same with its ``█`` bars and a line of accented/CJK text per epoch
``html``         the legacy HTML table fixture repeated (for comparison: issue 14 quotes ~0.25 s/MB)
``glued``        a console header, then rows of digit runs that fit the glued-values layout many ways
``backspaces``   one long line that a run of ``\\b`` trims repeatedly
``returns``      lines of many ``\\r``-separated redraws, each longer than the next
``lists``        no_bar-looking lines with many quoted items and brackets

With ``--memory MB`` it also reports ``tracemalloc``'s peak while ``find_tables``
reads one ASCII stream output of that size (on top of the input), as a multiple
of the text size.

    python benchmarks/tables_bench.py [--mb 4] [--repeat 3] [--memory 100] [--shapes ascii,glued]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from audiometrics.tables import find_tables  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "tables"
MB = 1 << 20


def _fixture_text(name: str) -> str:
    outputs = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return "".join("".join(o["text"]) if isinstance(o["text"], list) else o["text"] for o in outputs if "text" in o)


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // max(1, len(unit)))


def shape_text(shape: str, size: int) -> str:
    """The stream text of one shape, about ``size`` characters."""
    if shape == "ascii":
        return _repeat(_fixture_text("console_1.0.3").replace("█", "#"), size)
    if shape == "non-ascii":
        unit = _fixture_text("console_1.0.3").replace("\n0 ", "\nÉpoque terminée — 训练 ✓\n0 ")
        return _repeat(unit, size)
    if shape == "glued":
        header = "epoch     " + "  ".join(f"m{i:<8}" for i in range(12)) + "\n"
        row = "0" + " " * 9 + "1" * 250 + "\n"  # every split of the run into >= 10-character values fits
        return header + _repeat(row, size)
    if shape == "backspaces":
        return "epoch     a\n" + "A" * (size // 2) + "\bC" + "\b\bD" * (size // 6) + "\n"
    if shape == "returns":
        line = "\r".join("x" * k for k in range(400, 0, -1)) + "\n"
        return "epoch     a\n" + _repeat(line, size)
    if shape == "lists":
        line = "[0, " + ", ".join("'a[b(c'" for _ in range(300)) + ", '00:01']\n"
        return _repeat(line, size)
    raise ValueError(shape)


def outputs_for(shape: str, size: int) -> list[dict]:
    if shape == "html":
        style, table = json.loads((FIXTURES / "html_1.0.3_two_fits.json").read_text(encoding="utf-8"))[:2]
        count = max(1, size // len(json.dumps(table)))
        return [style] + [table] * count
    return [{"output_type": "stream", "name": "stdout", "text": shape_text(shape, size).splitlines(True)}]


def best_of(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def speed(shapes: list[str], mb: float, repeat: int) -> None:
    print(f"{'shape':<12} {'MB':>6} {'find_tables s/MB':>17} {'json.loads s/MB':>16} {'ratio':>7} {'tables':>7}")
    for shape in shapes:
        outputs = outputs_for(shape, int(mb * MB))
        raw = json.dumps(outputs, ensure_ascii=False)
        size = len(raw.encode("utf-8")) / MB
        floor = best_of(repeat, lambda: json.loads(raw))
        found: list = []
        cost = best_of(repeat, lambda: found.__setitem__(slice(None), find_tables(outputs)))
        print(f"{shape:<12} {size:6.1f} {cost / size:17.3f} {floor / size:16.4f} {cost / floor:7.1f} {len(found):7d}")


def memory(mb: float) -> None:
    """Peak traced memory of find_tables on an ASCII stream of ``mb`` MB, as a multiple of the text."""
    bar = "\rEpoch 1/3 : |" + "#" * 40 + "| 100.00% [4/4 00:00<00:00]"
    for label, text in (
        ("console log (many tables)", shape_text("ascii", int(mb * MB))),
        ("progress redraws (one table)", "epoch     train_loss  valid_loss  time    \n"
         + _repeat(bar * 8 + "\n", int(mb * MB))),
    ):
        outputs = [{"output_type": "stream", "name": "stdout", "text": text.splitlines(True)}]
        del text
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        tables = find_tables(outputs)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        size = sum(len(line) for line in outputs[0]["text"]) / MB
        print(f"memory, {label}: {size:.0f} MB of text -> peak {peak / MB:.1f} MB above the input "
              f"({peak / MB / size:.2f}x the text), {len(tables)} tables, {elapsed:.1f} s under tracemalloc")
        del outputs, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="size of each shape's output (default 4)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", type=float, default=0.0, help="also measure peak memory on an output of this many MB")
    parser.add_argument("--shapes", default="ascii,non-ascii,html,glued,backspaces,returns,lists")
    args = parser.parse_args()
    speed([s for s in args.shapes.split(",") if s], args.mb, args.repeat)
    if args.memory:
        memory(args.memory)


if __name__ == "__main__":
    main()
