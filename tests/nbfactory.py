"""Build notebooks for tests, with outputs byte for byte as fastai/fastprogress saves them.

The legacy markup (fastprogress 1.0.x under fastai v2, as saved by Jupyter/Kaggle)
is copied from a real executed notebook of the reference study: the progress-bar
``<style>`` output, then the table output, both as lists of lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

PROGRESS_STYLE = (
    "\n<style>\n    /* Turns off some styling */\n    progress {\n"
    "        /* gets rid of default border in Firefox and Opera. */\n        border: none;\n"
    "        /* Needs to be in here for Safari polyfill so background images work as expected. */\n"
    "        background-size: auto;\n    }\n"
    "    progress:not([value]), progress:not([value])::-webkit-progress-bar {\n"
    "        background: repeating-linear-gradient(45deg, #7e7e7e, #7e7e7e 10px, #5c5c5c 10px, #5c5c5c 20px);\n"
    "    }\n    .progress-bar-interrupted, .progress-bar-interrupted::-webkit-progress-bar {\n"
    "        background: #F44336;\n    }\n</style>\n"
)

HTML_PLACEHOLDER = "<IPython.core.display.HTML object>"


def lines(text: str) -> list[str]:
    """Split text the way Jupyter stores multiline strings."""
    return text.splitlines(keepends=True)


def html_output(html: str) -> dict:
    return {
        "data": {"text/html": lines(html), "text/plain": [HTML_PLACEHOLDER]},
        "metadata": {},
        "output_type": "display_data",
    }


def legacy_table_html(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """fastprogress 1.0.x's epoch table (fastai v2 ≤ 2025), exactly as displayed."""
    out = ['<table border="1" class="dataframe">\n', "  <thead>\n", '    <tr style="text-align: left;">\n']
    out += [f"      <th>{c}</th>\n" for c in columns]
    out += ["    </tr>\n", "  </thead>\n", "  <tbody>\n"]
    for row in rows:
        out.append("    <tr>\n")
        out += [f"      <td>{v}</td>\n" for v in row]
        out.append("    </tr>\n")
    out += ["  </tbody>\n", "</table>"]
    return "".join(out)


def legacy_fit_outputs(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[dict]:
    """The two outputs one fit leaves: the progress style, then the final table."""
    return [html_output(PROGRESS_STYLE), html_output(legacy_table_html(columns, rows))]


def lr_find_outputs() -> list[dict]:
    """What fastai v2's lr_find leaves: the style, an emptied display, the suggestion."""
    return [
        html_output(PROGRESS_STYLE),
        html_output(""),
        {
            "data": {"text/plain": ["SuggestedLRs(valley=0.002511886414140463)"]},
            "execution_count": 1,
            "metadata": {},
            "output_type": "execute_result",
        },
    ]


def dataframe_head_output() -> dict:
    """A pandas ``df.head()`` HTML table: not a training table."""
    html = (
        "<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n\n"
        "    .dataframe tbody tr th {\n        vertical-align: top;\n    }\n\n    .dataframe thead th {\n"
        "        text-align: right;\n    }\n</style>\n"
        '<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n'
        "      <th></th>\n      <th>epoch</th>\n      <th>fname</th>\n    </tr>\n  </thead>\n  <tbody>\n"
        "    <tr>\n      <th>0</th>\n      <td>1</td>\n      <td>4260ebea.wav</td>\n    </tr>\n  </tbody>\n</table>\n</div>"
    )
    return {
        "data": {"text/html": lines(html), "text/plain": ["   epoch         fname\n0      1  4260ebea.wav"]},
        "execution_count": 1,
        "metadata": {},
        "output_type": "execute_result",
    }


def error_output(ename: str = "KeyboardInterrupt", evalue: str = "") -> dict:
    return {"ename": ename, "evalue": evalue, "output_type": "error", "traceback": [f"\x1b[0;31m{ename}\x1b[0m"]}


def stream_output(text: str, name: str = "stdout") -> dict:
    return {"name": name, "output_type": "stream", "text": lines(text)}


def code_cell(source: str, outputs: Sequence[dict] = (), count: int | None = None) -> dict:
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {},
        "outputs": list(outputs),
        "source": lines(source),
    }


def markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": lines(text)}


def notebook(cells: Sequence[dict], *, number_cells: bool = True) -> dict:
    """A v4.4 notebook; code cells without a count are numbered 1, 2, … in document order."""
    counter = 0
    out = []
    for cell in cells:
        cell = dict(cell)
        if cell["cell_type"] == "code" and number_cells and cell.get("execution_count") is None:
            counter += 1
            cell["execution_count"] = counter
        out.append(cell)
    return {
        "cells": out,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }


def write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


COLUMNS = ("epoch", "train_loss", "valid_loss", "lwlrap", "time")

#: The reference study's learner cell.
LEARNER = "learn = vision_learner(dls, resnet18, pretrained=False, metrics=lwlrap)"


def python_prints_ok(code: str) -> None:
    """Run ``code`` in a fresh interpreter from the repository root; it must exit 0 and print ``ok``."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok", done.stdout


def cli_runner():
    """A click test runner whose result keeps stderr apart from stdout, on every click 8."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always separates stderr
        return CliRunner()


def epoch_rows(n: int, start: int = 0, seed: float = 0.5) -> list[tuple[str, ...]]:
    """``n`` plausible epoch rows as fastai displays them (6 decimals, MM:SS)."""
    return [
        (str(start + i), f"{seed / (i + 1):.6f}", f"{seed / (i + 2):.6f}", f"{min(0.99, 0.1 + 0.05 * i):.6f}", "00:01")
        for i in range(n)
    ]
