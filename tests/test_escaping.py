"""Escaping by output format: markdown documents, terminal lines, plot labels, library warnings.

The markdown checks compare the *structure* of the documents rendered for runs
with hostile names, headers, learning rates, call texts and cells against the
structure rendered for the same runs with plain names: line by line, the block
kind (heading level, list item, quote, table row and its cell count, fence, HTML
block, setext underline, paragraph), the code spans, and the characters that
would start inline markup outside code spans.
"""

from __future__ import annotations

import functools
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from audiometrics.escaping import md_code, md_text, plot_text, terminal_text
from audiometrics.epochs.frame import frame_from_rows, phase_frame
from audiometrics.epochs.rows import rows_from_runs
from audiometrics.epochs.schema import NON_METRIC_COLUMNS
from audiometrics.epochs.values import lr_upper, time_to_seconds
from audiometrics.model import Phase as TrainingPhase
from audiometrics.model import Run
from audiometrics.report.render import OVERVIEW_NAME, SUMMARY_NAME, render_reports
from audiometrics.options import METRIC_FALLBACKS, metric_direction
from audiometrics.report.metric import ACCURACY_COLUMNS, architecture_family
from audiometrics.report.summarize import summarize
from tests import nbfactory

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- structure of a markdown document

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})")
_LIST = re.compile(r"^( *)(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _inline(line: str) -> tuple[int, str, int]:
    """(code spans, markup characters outside code spans, unescaped pipes of a table row) of one line."""
    spans, markup, pipes, at = 0, [], 0, 0
    while at < len(line):
        char = line[at]
        if char == "\\" and at + 1 < len(line) and line[at + 1] in _PUNCTUATION:
            at += 2
            continue
        if char == "`":
            run = len(line[at:]) - len(line[at:].lstrip("`"))
            close = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(line, at + run)
            if close is not None:
                spans += 1
                inside = line[at + run : close.start()]
                pipes += len(re.findall(r"(?<!\\)\|", inside)) if line.startswith("|") else 0  # tables split code spans
                at = close.end()
                continue
            markup.append("`" * run)
            at += run
            continue
        before = line[at - 1] if at else " "
        after = line[at + 1] if at + 1 < len(line) else " "
        if char == "|":
            pipes += line.startswith("|")
        elif char in "<[]*$~":
            markup.append(char)
        elif char == "_" and not (before.isalnum() and after.isalnum()):
            markup.append(char)
        at += 1
    return spans, "".join(markup), pipes


def _kind(line: str) -> tuple:
    if not line.strip():
        return ("blank",)
    heading = _HEADING.match(line)
    if heading:
        return ("heading", len(heading.group(1)))
    if _FENCE.match(line):
        return ("fence",)
    if _SETEXT.match(line):
        return ("setext",)
    if re.match(r"^ {0,3}<", line):
        return ("html",)
    if re.match(r"^ {0,3}>", line):
        return ("quote",)
    listed = _LIST.match(line)
    if listed:
        return ("item", len(listed.group(1)))
    if line.startswith("|"):
        return ("row",)
    if line.startswith("    "):
        return ("indented",)
    return ("paragraph",)


def structure(text: str) -> list[tuple]:
    """The document's line-by-line structure (see the module docstring)."""
    assert "\r" not in text
    return [(*_kind(line), *_inline(line)) for line in text.split("\n")]


# --------------------------------------------------------------------------- runs built directly

BASE_COLUMNS = ("epoch", "train_loss", "valid_loss", "lwlrap")


def _runs(names: tuple[str, str], header: str, lr: str, call: str, notebook: str, cell: str, time: str) -> list[Run]:
    """Two runs, one with an incomplete phase; ``cell`` fills the hostile metric column of some rows."""
    columns = (*BASE_COLUMNS, header, "time")

    def rows(count: int, start: float) -> tuple[tuple[str, ...], ...]:
        return tuple(
            (str(e), f"{0.9 - 0.05 * e:.6f}", f"{0.8 - 0.04 * e:.6f}", f"{start + 0.02 * e:.6f}",
             cell if e % 2 else f"{0.5 + 0.01 * e:.6f}", time if e == 1 else "00:05")
            for e in range(count)
        )

    return [
        Run(f"nbs/{notebook}.ipynb", names[0], False, (
            TrainingPhase(1, "fit_one_cycle", 4, lr, False, 2, columns, rows(4, 0.3), call),
            TrainingPhase(2, "fit_one_cycle", 5, "1e-4", False, 3, columns, rows(3, 0.4), call),
        ), cell=1),
        Run("nbs/other.ipynb", names[1], True, (
            TrainingPhase(1, "fine_tune", 3, lr, False, 4, columns, rows(3, 0.2), call),
        ), cell=1),
    ]


def _documents(runs: list[Run]) -> dict[str, str]:
    frame = frame_from_rows(rows_from_runs(runs, with_source=True), with_source=True)
    return render_reports(summarize(frame, phase_frame(runs)), csv_name="metrics.csv")


@functools.lru_cache(maxsize=1)
def _clean_documents() -> dict[str, str]:
    return _documents(_runs(**CLEAN))


CLEAN = dict(names=("model_a", "model_b"), header="mcol", lr="custom", call="learn.fit_one_cycle(4)",
             notebook="clean", cell="#na#", time="")

FRAGMENTS = [
    "<!--", "-->", "<!-- x", "# ", "## h", "\n\n# Injected\n\n", "\n", "\r\n", "`", "``", "```", "~~~", "*", "**", "_", "__",
    "[link](http://example.com)", "![i](x.png)", "<script>alert(1)</script>", "<b>", "|", "||", "\\", "\\|", "$", "$\\frac$",
    "&amp;", "&lt;", "&#60;", "\x1b[31m", "\x1b]0;title\x07", "\x1b]8;;http://e\x1b\\", "\x00", "\x07", "\x08", "\x7f", "\x85",
    "\x9b", "\u2028", "\t", "- ", "+ ", "1. ", "2) ", "> ", "===", "---", "    ", "=", "#", " #", "ü", "漢字", "🎉", "\u202e",
    "\ud800", ":", "@x", "{{ x }}", "{% raw %}",
]

hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), min_size=1, max_size=6).map("".join)


def _plain_name(text: str) -> bool:
    return bool(md_text(text)) and architecture_family(text) == "other"


@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example renders both documents: no slow shrinking
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(name_a=hostile, name_b=hostile, header=hostile, lr=hostile, call=hostile, notebook=hostile, cell=hostile, time=hostile)
def test_hostile_values_keep_the_documents_structure(name_a, name_b, header, lr, call, notebook, cell, time) -> None:
    assume(_plain_name(name_a) and _plain_name(name_b) and name_a != name_b)
    assume(md_text(header) and metric_direction(header) is None and header not in (*NON_METRIC_COLUMNS, *METRIC_FALLBACKS))
    assume(header not in ACCURACY_COLUMNS and header not in BASE_COLUMNS and header not in ("time", "notebook", "run"))
    assume(header not in ("time_s", "global_epoch", "lr_max"))
    assume(lr.strip() and lr_upper(lr) is None and md_text(call))
    assume("/" not in notebook and md_text(notebook) and notebook not in (".", ".."))
    assume(_not_a_number(cell) and math.isnan(time_to_seconds(time)))
    clean = _clean_documents()
    dirty = _documents(_runs((name_a, name_b), header, lr, call, notebook, cell, time))
    for name in (SUMMARY_NAME, OVERVIEW_NAME):
        expected, produced = structure(clean[name]), structure(dirty[name])
        assert len(produced) == len(expected), name
        for number, (want, got) in enumerate(zip(expected, produced), start=1):
            assert got == want, f"{name} line {number}: {dirty[name].split(chr(10))[number - 1]!r}"
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", dirty[name])


def _not_a_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return True
    return False


def test_structure_sees_the_attacks() -> None:
    """The comparison catches what unescaped values did (so the property test can fail)."""
    assert structure("x\n\n# Injected")[2][0] == "heading"
    assert structure("a <!-- b")[0] != structure("a b")[0]
    assert structure("| a | b` |")[0] != structure("| a | b |")[0]
    assert structure("`a`b` c")[0] != structure("`ab` c")[0]
    assert structure("[l](http://x)")[0] != structure("l http://x")[0]


# --------------------------------------------------------------------------- the attacks named in the issue


def _attacked(**values) -> dict[str, str]:
    return _documents(_runs(**{**CLEAN, **values}))


def test_header_with_blank_lines_injects_no_heading() -> None:
    documents = _attacked(header="acc\n\n# Injected heading\n\nmore")
    for text in documents.values():
        assert not any(line.startswith("# Injected") for line in text.splitlines())
        assert "acc # Injected heading more" in text


def test_html_comment_in_a_model_name_stays_text() -> None:
    documents = _attacked(names=("<!-- x", "model_b"))
    overview = documents[OVERVIEW_NAME]
    assert "<!--" not in overview.replace("`<!-- x`", "")
    assert "&lt;!-- x" in overview
    assert overview.rstrip().endswith(documents[OVERVIEW_NAME].rstrip().split("\n")[-1])  # nothing swallowed
    assert structure(overview) == structure(_attacked()[OVERVIEW_NAME])


def test_backticks_script_and_links_are_inert() -> None:
    documents = _attacked(names=("a`b``c", "<script>alert(1)</script>"), lr="[x](http://evil)", notebook="![p](http://e/p.png)")
    for text in documents.values():
        assert "<script>" not in text.replace("`<script>alert(1)</script>`", "")
        assert "](http://evil)" not in text.replace("`[x](http://evil)`", "")
        # the notebook path is shown relative to the inputs' parent (normalised), always in a code span
        assert "![p](" not in re.sub(r"`[^`]*!\[p\]\([^`]*`", "", text)
    assert "```a`b``c```" in documents[OVERVIEW_NAME]
    assert "&lt;script>alert(1)&lt;/script>" in documents[OVERVIEW_NAME]


def test_table_cells_stay_cells() -> None:
    documents = _attacked(names=("a|b", "c\n|d|"), time="0|1")
    for text in documents.values():
        for line in text.splitlines():
            if line.startswith("|"):
                assert "\n" not in line
    assert structure(documents[SUMMARY_NAME]) == structure(_attacked()[SUMMARY_NAME])


# --------------------------------------------------------------------------- the helpers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("resnet18", "resnet18"),
        ("efficientnet_b0 #2", "efficientnet_b0 #2"),
        ("# x", "\\# x"),
        ("x ##", "x \\#\\#"),
        ("_x_ a_b", "\\_x\\_ a_b"),
        ("<!-- x & y", "&lt;!-- x &amp; y"),
        ("[l](u)", "\\[l\\](u)"),
        ("a|b", "a\\|b"),
        ("res$\\frac$net", "res\\$\\\\frac\\$net"),
        ("1. x", "1\\. x"),
        ("0.5", "0.5"),
        ("- x", "\\- x"),
        ("---", "\\---"),
        ("> q", "\\> q"),
        ("a\n\n# b", "a # b"),
        ("\x1b[31mred\x1b[0m\x07", "red"),
        ("\ud800", "\ufffd"),
    ],
)
def test_md_text(value: str, expected: str) -> None:
    assert md_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e-3", "`1e-3`"),
        ("a`b", "``a`b``"),
        ("a``b`", "``` a``b` ```"),
        ("x\ny", "`x y`"),
        ("", "` `"),
        ("\x08", "` `"),
    ],
)
def test_md_code(value: str, expected: str) -> None:
    assert md_code(value) == expected


def test_md_code_in_a_table_cell_escapes_pipes() -> None:
    assert md_code("a|b", cell=True) == "`a\\|b`"


def test_terminal_text_strips_escape_sequences_and_controls() -> None:
    text = "a\x1b[2J\x1b]0;pwned\x07b\x1b]8;;http://e\x1b\\c\x9b31md\x00e\x85f\tg\nh\ud800"
    assert terminal_text(text) == "abcdef g\nh\ufffd"
    assert terminal_text("x\ny", newlines=False) == "x y"


def test_plot_text_is_never_mathtext() -> None:
    assert plot_text("res$\\frac$net") == "res\\$\\frac\\$net"
    assert plot_text("a\nb\x1b[1m") == "a b"


# --------------------------------------------------------------------------- the command line


def _notebook(path: Path, model: str, columns=nbfactory.COLUMNS, rows=None) -> Path:
    rows = rows if rows is not None else nbfactory.epoch_rows(3)
    cells = [
        nbfactory.code_cell("from fastai.vision.all import *"),
        nbfactory.code_cell(f"learn = vision_learner(dls, {model!r}, pretrained=False, metrics=lwlrap)"),
        nbfactory.code_cell(f"learn.fit_one_cycle({len(rows) or 1}, 1e-3)", nbfactory.legacy_fit_outputs(columns, rows)),
    ]
    return nbfactory.write(path, nbfactory.notebook(cells))


def _extract(tmp_path: Path, *notebooks: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    command = [sys.executable, "-W", "default", "-m", "audiometrics", "extract", *map(str, notebooks),
               "--out", str(tmp_path / "out"), "--jobs", "1", *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_terminal_lines_carry_no_control_characters(tmp_path: Path) -> None:
    model = "res\x1b]0;pwned\x07net\x1b[31m"
    done = _extract(tmp_path, _notebook(tmp_path / "esc.ipynb", model))
    assert done.returncode == 0, done.stderr
    assert "resnet" in done.stdout
    for stream in (done.stdout, done.stderr):
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", stream), stream


def test_a_mathtext_model_name_is_plotted(tmp_path: Path) -> None:
    notebooks = [_notebook(tmp_path / "a.ipynb", "res$\\frac$net"), _notebook(tmp_path / "b.ipynb", "convit_tiny")]
    errors = tmp_path / "errors.csv"
    done = _extract(tmp_path, *notebooks, extra=("--errors", str(errors)))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "plots").iterdir()) == [
        "best_final_metric.png", "losses_by_epoch.png", "metric_by_epoch.png"]
    assert errors.is_file()
    assert "Traceback" not in done.stderr


def _own_lines_only(stderr: str) -> None:
    for line in stderr.splitlines():
        assert line.startswith("warning: ") or not line.strip(), f"not an audiometrics line: {line!r}\n{stderr}"


def test_library_warnings_stay_off_stderr(tmp_path: Path) -> None:
    wide = ("epoch", "train_loss", "valid_loss", *[f"m{i:03d}" for i in range(130)], "time")
    notebooks = [
        _notebook(tmp_path / "all_nan.ipynb", "resnet18", rows=[(str(e), "0.5", "0.4", "#na#", "00:01") for e in range(3)]),
        _notebook(tmp_path / "nan_losses.ipynb", "resnet34", rows=[(str(e), "nan", "nan", "nan", "") for e in range(3)]),
        _notebook(tmp_path / "one_epoch.ipynb", "convit_tiny", rows=[("0", "0.5", "0.4", "0.3", "00:01")]),
        _notebook(tmp_path / "inf.ipynb", "vit_tiny_patch16_224", rows=[(str(e), "inf", "inf", "0.3", "00:01") for e in range(4)]),
        _notebook(tmp_path / "spike.ipynb", "resnet50",
                  rows=[(str(e), v, "0.4", "0.3", "00:01") for e, v in enumerate(["0.5", "0.4", "90", "inf", "-1"])]),
        _notebook(tmp_path / "huge.ipynb", "resnet152",
                  rows=[(str(e), v, v, v, "00:01") for e, v in enumerate(["1e308", "-1e308", "1.7e308", "5e-324"])]),
        _notebook(tmp_path / "wide.ipynb", "resnet101", columns=wide, rows=[(str(e), "0.5", "0.4", *["0.3"] * 130, "00:01") for e in range(2)]),
    ]
    done = _extract(tmp_path, *notebooks)
    assert done.returncode == 0, done.stderr
    _own_lines_only(done.stderr)
    csv = tmp_path / "out" / "training_metrics_extracted.csv"
    report = subprocess.run(
        [sys.executable, "-W", "default", "-m", "audiometrics", "report", str(csv), "--out", str(tmp_path / "again")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert report.returncode == 0, report.stderr
    _own_lines_only(report.stderr)


def test_the_csv_writer_keeps_dictwriters_rules_and_neutralises_only_formulas():
    import csv
    import io

    from audiometrics.epochs.csv_file import _write_rows

    rows = [{"a": "=1+1", "b": "-0.5"}, {"a": None, "b": "@x"}, {"b": "plain"}]
    buffer = io.StringIO()
    _write_rows(buffer, ["a", "b"], rows, raw_text=False)
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["a", "b"], ["'=1+1", "-0.5"], ["", "'@x"], ["", "plain"]]
    with pytest.raises(ValueError, match="not in fieldnames"):
        _write_rows(io.StringIO(), ["a"], [{"a": "1", "extra": "2"}], raw_text=False)


@given(st.lists(st.dictionaries(st.sampled_from(["loss", "acc", "model", "cell", "run", "f1"]),
                                st.sampled_from(["0.5", "nan", "", "#na#", "74%", "x", "-inf", "1e-3"]), max_size=5), max_size=6))
@settings(max_examples=200, deadline=None)
def test_available_metrics_are_the_columns_with_a_finite_number_outside_the_schemas_own(rows):
    from audiometrics.epochs.values import parse_number
    from audiometrics.options import available_metrics

    expected = sorted({k for row in rows for k, v in row.items() if parse_number(v) is not None} - NON_METRIC_COLUMNS)
    assert available_metrics(rows) == expected
