"""Score audiometrics on the held-out corpus (issue 11): row recall and precision against the oracle.

Usage (from the repository root)::

    PYTHONPATH=. python3 benchmarks/heldout_check.py            # a table
    PYTHONPATH=. python3 benchmarks/heldout_check.py --json     # for machines

Every notebook of ``benchmarks/heldout/notebooks`` is extracted through the public
API (``audiometrics.extract_files``, the rows ``--with-source`` writes) in a
subprocess of its own, so a traceback costs that notebook alone and is counted.
Its rows are then compared with ``benchmarks/heldout/oracle/<name>.json``, what
the training framework itself recorded (see ``benchmarks/heldout/README.md`` for
the schema and the expected column names).

A row of the oracle is *found* when an extracted row of the same notebook, not
used by another oracle row, has the same epoch (or step, for step-keyed rows),
both losses in the ``train_loss``/``valid_loss`` columns, and every other
metric's value in some column; values match within the display rounding of the
extracted text. *Strict* recall also wants every other metric in the column the
README names. Precision is the share of extracted rows that found an oracle row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "heldout"
sys.path.insert(0, str(CORPUS))
from scoring import (  # noqa: E402  (re-exported: the scorer's API)
    NotebookScore, OracleRow, display_rounding, expected_column, oracle_rows, row_match, score_notebook,
    summarize, value_matches,
)

__all__ = ["NotebookScore", "OracleRow", "display_rounding", "expected_column", "oracle_rows", "row_match",
           "score_notebook", "summarize", "value_matches", "run_check", "self_check", "corpus_table", "main"]

#: Run in a fresh interpreter per notebook: the public API, then one JSON line on stdout.
WORKER = """
import json, sys
sys.path.insert(0, sys.argv[2])  # this checkout's audiometrics, whatever is installed
import inspect
from audiometrics import extract_files
no_cache = {"cache": False} if "cache" in inspect.signature(extract_files).parameters else {}  # measure the code
outcome = extract_files([sys.argv[1]], **no_cache)
print(json.dumps({"rows": outcome.rows(with_source=True),
                  "diagnostics": [str(d) for d in outcome.diagnostics],
                  "failures": [str(f) for f in outcome.failures]}))
"""


def extract_isolated(path: Path, timeout: float = 300.0) -> dict:
    """Extract one notebook in a subprocess: ``rows``, ``diagnostics``, ``failure``, ``traceback``."""
    try:
        done = subprocess.run([sys.executable, "-c", WORKER, str(path), str(HERE.parent)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return {"rows": [], "diagnostics": [], "failure": f"timed out after {timeout:.0f} s", "traceback": True}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or "Traceback (most recent call last)" in done.stderr or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"rows": [], "diagnostics": [], "failure": last, "traceback": True}
    data = json.loads(lines[-1])
    return {"rows": data["rows"], "diagnostics": data["diagnostics"],
            "failure": "; ".join(data["failures"]) or None, "traceback": False}


def run_check(corpus: Path = CORPUS, names: list[str] | None = None, convention: str = "displayed") -> list[NotebookScore]:
    """Extract and score every notebook of the corpus that has an oracle (epochs by ``convention``)."""
    scores = []
    for oracle_path in sorted((corpus / "oracle").glob("*.json")):
        if names and not oracle_path.stem.startswith(tuple(names)):
            continue
        oracle = json.loads(oracle_path.read_text(encoding="utf-8"))
        notebook = corpus / "notebooks" / f"{oracle_path.stem}.ipynb"
        extracted = extract_isolated(notebook)
        scores.append(score_notebook(oracle, extracted["rows"], extracted["diagnostics"],
                                     extracted["failure"], extracted["traceback"], convention))
    return scores


NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?%?")


def displayed_numbers(notebook: dict) -> list[str]:
    """Every number token a notebook's outputs show (stream text, plain text, HTML text).

    >>> nb = {"cells": [{"cell_type": "code", "outputs": [
    ...     {"output_type": "stream", "text": "Epoch 1/2 - loss: 0.5407 - acc: 74.41%"},
    ...     {"output_type": "display_data", "data": {"text/html": "<td>0.693147</td>"}}]}]}
    >>> displayed_numbers(nb)
    ['1', '2', '0.5407', '74.41%', '0.693147']
    """
    tokens = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")]
            data = output.get("data", {})
            texts += [data.get("text/plain", ""), re.sub(r"<[^>]*>", " ", "".join(data.get("text/html", "")))]
            for text in texts:
                tokens += NUMBER.findall("".join(text) if isinstance(text, list) else text)
    return tokens


def self_check(corpus: Path = CORPUS) -> list[str]:
    """Oracle values that no output of their notebook displays (an oracle the notebook cannot support).

    Every scored oracle value must appear, at its display rounding, among the
    numbers the notebook shows; otherwise the row could not be read by anyone
    and the corpus, not the parser, is wrong.
    """
    problems = []
    for oracle_path in sorted((corpus / "oracle").glob("*.json")):
        oracle = json.loads(oracle_path.read_text(encoding="utf-8"))
        notebook = json.loads((corpus / "notebooks" / oracle["notebook"]).read_text(encoding="utf-8"))
        shown = [token for token in displayed_numbers(notebook) if "." in token or "e" in token.lower()]
        for item in oracle_rows(oracle):
            for name, (_, value) in item.values.items():
                if not any(value_matches(token, value, **display_rounding(item.framework)) for token in shown):
                    problems.append(f"{oracle['notebook']}: run {item.run} epoch {item.epoch} step {item.step}: "
                                    f"{name}={value} is not displayed")
    return problems


def corpus_table(corpus: Path = CORPUS) -> str:
    """The corpus as a markdown table: notebook, style imitated, framework and version, runs, calls, rows."""
    lines = ["| notebook | style / source imitated | framework (version) | runs | calls | rows |", "|---|---|---|---|---|---|"]
    for oracle_path in sorted((corpus / "oracle").glob("*.json")):
        oracle = json.loads(oracle_path.read_text(encoding="utf-8"))
        runs = oracle.get("runs", [])
        versions = oracle.get("versions", {})
        frameworks = sorted({run["framework"] for run in runs}) or ["none (negative)"]
        shown = ", ".join(f"plain (torch {versions.get('torch', '?')})" if name == "plain" else f"{name} {versions.get(name, '')}".strip()
                          for name in frameworks)
        if "keras_backend" in versions and "keras" in frameworks:
            shown += f" ({versions['keras_backend']})"
        learners = len({run.get("learner", i) for i, run in enumerate(runs)})
        rows = sum(len(run["rows"]) for run in runs)
        style = oracle.get("style", "").replace("|", "\\|")
        lines.append(f"| {oracle_path.stem} | {style} | {shown} | {learners} | {len(runs)} | {rows} |")
    return "\n".join(lines)


def _ratio(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:5.1f}%" if denominator else "    –"


def format_table(scores: list[NotebookScore]) -> str:
    """The human report: one line per notebook, then per framework, then the silent and failed ones."""
    head = f"{'notebook':<34} {'framework':<18} {'oracle':>6} {'rows':>5} {'found':>5} {'recall':>7} {'strict':>7} {'prec.':>7} {'warn':>4}  status"
    lines = [head, "-" * len(head)]
    for s in scores:
        status = ("TRACEBACK: " + (s.failure or "")) if s.traceback else (
            f"failed: {s.failure}" if s.failure else "SILENT" if s.silent else "")
        lines.append(f"{s.notebook.removesuffix('.ipynb'):<34} {s.framework:<18} {s.oracle_rows:>6} {s.extracted_rows:>5} "
                     f"{s.found:>5} {_ratio(s.found, s.oracle_rows):>7} {_ratio(s.found_strict, s.oracle_rows):>7} "
                     f"{_ratio(s.matched_extracted, s.extracted_rows):>7} {len(s.diagnostics):>4}  {status}")
    lines += ["", f"{'framework':<18} {'nbs':>4} {'oracle':>6} {'rows':>5} {'recall':>7} {'strict':>7} {'prec.':>7} "
                  f"{'other':>7} "
                  f"{'silent':>6} {'trace':>5} {'missed':>9} {'model':>9} {'lr':>9} {'epochs':>9}"]
    for name, t in summarize(scores).items():
        lines.append(f"{name:<18} {t['notebooks']:>4} {t['oracle_rows']:>6} {t['extracted_rows']:>5} "
                     f"{_ratio(t['found'], t['oracle_rows']):>7} {_ratio(t['found_strict'], t['oracle_rows']):>7} "
                     f"{_ratio(t['matched_extracted'], t['extracted_rows']):>7} {_ratio(t['found_other'], t['oracle_rows']):>7} "
                     f"{len(t['silent']):>6} "
                     f"{len(t['tracebacks']):>5} {t['calls_missed']:>4}/{t['calls_with_rows']:<4} "
                     f"{t['model_agree']:>4}/{t['model_checked']:<4} "
                     f"{t['lr_agree']:>4}/{t['lr_checked']:<4} {t['epochs_agree']:>4}/{t['epochs_checked']:<4}")
    total = summarize(scores)["all"]
    for label, names in (("silent (training output, no rows, no warning)", total["silent"]),
                         ("no rows, warned (check the warning is about the training output: --details)",
                          total["warned_no_rows"]),
                         ("tracebacks", total["tracebacks"]), ("failed to read", total["failed"])):
        lines.append(f"{label}: {', '.join(names) if names else 'none'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: score the corpus, print the table (or JSON); exit 1 if a target of issue 11 is missed."""
    parser = argparse.ArgumentParser(description="Score audiometrics on the held-out corpus of issue 11.")
    parser.add_argument("names", nargs="*", help="only notebooks whose name starts with one of these")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder with notebooks/ and oracle/")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--details", action="store_true",
                        help="list missing and extra rows, model/rate/planned-epochs disagreements and warnings per notebook")
    parser.add_argument("--epochs", choices=("displayed", "zero"), default="displayed",
                        help="the CSV's epochs as the framework displays them (the README's rule, default) or from 0")
    parser.add_argument("--self-check", action="store_true",
                        help="only check the corpus: every oracle value is displayed by its notebook")
    parser.add_argument("--corpus-table", action="store_true", help="only print the corpus as a markdown table")
    args = parser.parse_args(argv)
    if args.corpus_table:
        print(corpus_table(args.corpus))
        return 0
    if args.self_check:
        problems = self_check(args.corpus)
        print("\n".join(problems) or "every oracle value is displayed by its notebook")
        return 1 if problems else 0
    scores = run_check(args.corpus, args.names, args.epochs)
    total = summarize(scores)["all"]
    if args.json:
        print(json.dumps({"notebooks": [asdict(s) for s in scores], "summary": summarize(scores)}, indent=1))
    else:
        print(format_table(scores))
        if args.details:
            for s in scores:
                for kind, items in (("missing", s.missing), ("extra", s.extra), ("disagrees", s.disagree),
                                    ("warning", s.diagnostics)):
                    for item in items:
                        print(f"  {s.notebook}: {kind}: {item}")
    met = ((total["recall"] or 0) >= 0.95 and (total["precision"] or 0) >= 0.95
           and not total["silent"] and not total["tracebacks"])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
