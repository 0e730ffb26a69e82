"""Hostile notebooks: code that would run something, hang the static evaluator, or trip the reader.

Notebook code is read with ``ast`` only: no payload here may create its marker
file. The static evaluator is bounded (steps, sizes, integer bits), so one line
cannot hang extraction; the reader takes any valid JSON (long integers, lone
surrogates) without an internal error.
"""

from __future__ import annotations

import ast
import json
import os
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.analysis import evaluate as source_eval
from audiometrics.model import LearnerCreated, Loop, TrainingCall
from audiometrics.read.notebook import parse_notebook, read_notebook
from audiometrics.pipeline import extract_notebook
from audiometrics.analysis.analyser import analyse_cells
from audiometrics.analysis.evaluate import CELL_STEPS, NOPE, evaluate, steps_taken
from audiometrics.analysis.values import parse_expr
from tests import nbfactory as nbf

IMPORTS = "from fastai.vision.all import *"
COSTLY = "expression too costly to evaluate statically"


def fit_notebook(tmp_path: Path, source: str, *, epochs: int = 2, name: str = "nb.ipynb") -> Path:
    """A notebook: imports and the learner, then ``source`` with a progress table of ``epochs`` rows."""
    cells = [
        nbf.code_cell(f"{IMPORTS}\n{nbf.LEARNER}"),
        nbf.code_cell(source, nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(epochs))),
    ]
    return nbf.write(tmp_path / name, nbf.notebook(cells))


def training_calls(source: str) -> list[TrainingCall]:
    (cell,) = analyse_cells([source])
    return [e for e in cell.events if isinstance(e, TrainingCall)]


def value(text: str):
    return evaluate(parse_expr(text))


# --------------------------------------------------------------------------- bounded evaluation


@pytest.mark.parametrize(
    "source",
    [
        "learn.fit_one_cycle(sum(range(10**12)), 1e-2)",
        "if 0.5 in range(10**12):\n    pass\nlearn.fit_one_cycle(2, 1e-2)",
    ],
)
def test_the_lines_that_hung_extraction_for_hours_finish_with_one_warning(tmp_path, source):
    path = fit_notebook(tmp_path, source)
    started = time.process_time()
    result = extract_notebook(path)
    assert time.process_time() - started < 30  # (hours before the bound)
    costly = [str(d) for d in result.diagnostics if COSTLY in str(d)]
    assert len(costly) == 1
    assert "cell 2" in costly[0] and costly[0].endswith("; left unknown")
    (run,) = result.runs
    assert run.model == "resnet18" and run.phases[0].learning_rate == "1e-2"


def test_one_warning_per_cell_however_many_costly_expressions(tmp_path):
    source = "a = sum(range(10**12))\nb = 2**2**64\nif 0.5 in range(10**13):\n    pass\nlearn.fit_one_cycle(len('x' * 10**12), 1e-2)"
    (cell,) = analyse_cells([f"{IMPORTS}\n{nbf.LEARNER}\n{source}"])
    costly = [w for w in cell.warnings if COSTLY in w]
    # (``a`` and ``b`` are never read, so never evaluated; the condition is, then the epochs)
    assert costly == [f"{COSTLY}: 0.5 in range(10**13); left unknown"]
    (call,) = [e for e in cell.events if isinstance(e, TrainingCall)]
    assert call.epochs is None and call.learning_rate == "1e-2"


@pytest.mark.parametrize(
    "text",
    [
        "sum(range(10**12))",
        "0.5 in range(10**12)",
        "10**10**10",
        "2**2**64",
        "(10**4000) * (10**4000)",
        "'ab' * 10**12",
        "[0] * 10**9",
        "[[0] * 99999] * 99999",
        "list(range(10**12))",
        "sorted(range(10**12))",
        "max(range(10**12))",
        "tuple(range(10**12))",
        "round(5, -10**9)",
        "range(10**30)",
        "[*range(10**12)]",
        "[1, 2] == [1, 2] * 10**12",
    ],
)
def test_costly_expressions_are_unknown_and_listed(text):
    source_eval.begin_cell()
    before = steps_taken()
    assert value(text) is NOPE
    assert steps_taken() - before <= source_eval.MAX_STEPS
    assert source_eval.end_cell() == [ast.unparse(parse_expr(text))]


@pytest.mark.parametrize("text", ["math.factorial(10**9)", "1 << 10**12", "10**9 >> 3", "__import__('os')", "pow(10, 10**10)"])
def test_what_is_not_understood_is_unknown_without_cost(text):
    source_eval.begin_cell()
    assert value(text) is NOPE
    assert source_eval.end_cell() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("range(5)", range(5)),
        ("list(range(5))", [0, 1, 2, 3, 4]),
        ("2*3", 6),
        ("1e-3*10", 0.01),
        ("2**10", 1024),
        ("sum(range(100))", 4950),
        ("3 in range(10)", True),
        ("[1, 2] * 3", [1, 2, 1, 2, 1, 2]),
        ("'ab' * 2", "abab"),
        ("max([3, 1, 2])", 3),
        ("sorted((3, 1, 2))", [1, 2, 3]),
        ("round(2.567, 2)", 2.57),
        ("[*range(3), 5]", [0, 1, 2, 5]),
        ("{'a': 1, **{'b': 2}}", {"a": 1, "b": 2}),
        ("(1, 2)[1]", 2),
        ("range(10)[2:5]", range(2, 5)),
        ("2**4096 > 0", NOPE),  # a 4097-bit integer is beyond the bound
        ("2**4095 > 0", True),
        ("int('12') + len('abc')", 15),
        ("5 if 2 > 1 else 6", 5),
        ("not [] and 3 or 4", 3),
    ],
)
def test_ordinary_expressions_keep_their_values(text, expected):
    got = value(text)
    assert got is expected if expected is NOPE else got == expected


def test_ordinary_code_is_analysed_as_before():
    source = textwrap.dedent(
        """
        for arch in [resnet18, resnet34]:
            learn = vision_learner(dls, arch)
            for i in range(2):
                learn.fit_one_cycle(2*3, 1e-3*10)
        """
    )
    (cell,) = analyse_cells([f"{IMPORTS}\n{source}"])
    assert [e.model for e in cell.events if isinstance(e, LearnerCreated)] == ["resnet18", "resnet34"]
    calls = [e for e in cell.events if isinstance(e, TrainingCall)]
    assert [(c.epochs, c.learning_rate) for c in calls] == [(6, "1e-2")] * 4
    assert not any(COSTLY in w for w in cell.warnings)


def test_a_loop_over_a_huge_range_is_a_loop_of_unknown_count():
    (cell,) = analyse_cells([f"{IMPORTS}\n{nbf.LEARNER}\nfor i in range(10**30):\n    learn.fit(1)"])
    (loop,) = [e for e in cell.events if isinstance(e, Loop)]
    assert loop.count is None


def test_fit_sgdr_with_huge_cycles_is_unknown_not_an_internal_error(tmp_path):
    path = fit_notebook(tmp_path, "learn.fit_sgdr(10**9, 10**1000, 1e-2, cycle_mult=2**4000)")
    result = extract_notebook(path)
    assert any(COSTLY in str(d) for d in result.diagnostics)
    assert not any("internal error" in str(d) for d in result.diagnostics)
    assert result.runs[0].phases[0].planned_epochs is None
    assert training_calls("learn.fit_sgdr(3, 1, 1e-2)")[0].epochs == 7  # 1 + 2 + 4


def test_an_epoch_count_of_5000_digits_in_a_string_is_unknown_not_an_internal_error():
    (cell,) = analyse_cells([f"{nbf.LEARNER}\nlearn.fit('{'9' * 5000}', 1e-3)\nlearn.fit('12', 1e-3)"])
    assert not any("internal error" in w for w in cell.warnings)
    assert [c.epochs for c in cell.events if isinstance(c, TrainingCall)] == [None, 12]


def test_many_costly_evaluations_in_one_cell_share_one_budget():
    loop = "for i in range(1000):\n    x = sum(range(999_000 + i))\n"
    before = steps_taken()
    started = time.process_time()
    analyse_cells([loop])
    assert steps_taken() - before <= CELL_STEPS
    assert time.process_time() - started < 60
    assert value("sum(range(999_999))") == 999_998 * 999_999 // 2  # outside a cell, each evaluation has its own budget


def test_a_learning_rate_of_a_huge_literal_does_not_break_the_loader():
    from audiometrics.epochs.values import lr_upper

    assert lr_upper("1" + "0" * 400) is None
    assert lr_upper("0x" + "f" * 5000) is None
    assert lr_upper("-" * 20000 + "1") is None
    assert lr_upper("1e-3*10") == pytest.approx(0.01)


_LEAVES = st.sampled_from(
    ["0", "1", "2", "3", "7", "64", "-1", "0.5", "1e-3", "10**12", "10**100", "2**64", "'ab'", "[1, 2]", "(3,)", "True", "None", "x", "{1: 2}"]
)


def _grow(children):
    two = st.tuples(children, children)
    three = st.tuples(children, children, children)
    ops = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<<", "and", "or", "==", "<", "in", "not in"])
    return st.one_of(
        st.tuples(children, ops, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["range", "sum", "list", "len", "sorted", "max", "min", "tuple", "str", "int", "abs", "-"]), children).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        two.map(lambda t: f"[{t[0]}, *{t[1]}]"),
        two.map(lambda t: f"[{t[0]}] * {t[1]}"),
        two.map(lambda t: f"range({t[0]}, {t[1]})"),
        two.map(lambda t: f"{t[0]} in range({t[1]})"),
        st.tuples(st.sampled_from(["sum", "list", "sorted", "max", "len", "tuple"]), children).map(lambda t: f"{t[0]}(range({t[1]}))"),
        two.map(lambda t: f"round({t[0]}, {t[1]})"),
        two.map(lambda t: f"{t[0]}[{t[1]}]"),
        two.map(lambda t: f"[i * {t[1]} for i in {t[0]}]"),
        three.map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        three.map(lambda t: f"{t[0]}[{t[1]}:{t[2]}]"),
    )


expressions = st.recursive(_LEAVES, _grow, max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_any_nested_expression_is_analysed_in_a_bounded_number_of_steps(expression):
    cell = "\n".join(
        [
            nbf.LEARNER,
            f"learn.fit_one_cycle({expression}, 1e-2)",
            f"if {expression}:\n    learn.fit(1)",
            f"for i in {expression}:\n    learn.fit(1)",
            f"n = {expression}\nlearn.fit(n, lr=n)",
            f"while {expression}:\n    learn.fit(2)\n    break",
        ]
    )
    before = steps_taken()
    started = time.process_time()
    (analysis,) = analyse_cells([cell])
    assert steps_taken() - before <= CELL_STEPS  # every evaluation of a cell shares one budget
    assert time.process_time() - started < 30  # (a backstop: steps are what is bounded)
    assert any(isinstance(e, LearnerCreated) for e in analysis.events)
    assert not any("internal error" in w for w in analysis.warnings)


# --------------------------------------------------------------------------- reading odd JSON


def _document_text(cells) -> str:
    return json.dumps(nbf.notebook(cells))  # ensure_ascii: a lone surrogate stays a \\udXXX escape


def test_a_5000_digit_integer_anywhere_in_the_json_is_read(tmp_path):
    cells = [nbf.code_cell(f"{IMPORTS}\n{nbf.LEARNER}"), nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2)))]
    text = _document_text(cells)
    huge = "9" * 5000
    text = text.replace('"nbformat_minor": 4', f'"nbformat_minor": 4, "huge": {huge}, "negative": -{huge}', 1)
    text = text.replace('"metadata": {}', f'"metadata": {{"n": {huge}}}', 1)
    path = tmp_path / "long.ipynb"
    path.write_text(text)
    notebook = read_notebook(path)
    assert len(notebook.cells) == 2
    result = extract_notebook(path)
    assert len(result.runs) == 1 and len(result.runs[0].phases[0].rows) == 2
    assert not any("internal error" in str(d) for d in result.diagnostics)
    document = text.replace('"nbformat": 4', f'"nbformat": 4, "x": [{huge}, 12]', 1)
    assert parse_notebook(document).nbformat == 4


def test_long_integers_are_kept_as_numbers():
    from audiometrics.read.jsonload import load_json as _load_json

    got = _load_json(b'{"a": ' + b"1" * 5000 + b', "b": 12, "c": -' + b"2" * 400 + b"}", "x")
    assert got["a"] == float("1" * 5000) and got["b"] == 12 and got["c"] == -int("2" * 400)
    assert type(got["b"]) is int and type(got["c"]) is int


def test_invalid_json_with_a_long_integer_still_names_the_problem():
    from audiometrics.errors import NotebookError

    with pytest.raises(NotebookError, match="invalid JSON"):
        parse_notebook('{"nbformat": 4, "a": ' + "1" * 5000 + ', "cells": [1 2], "x": 0}')


def test_lone_surrogates_and_odd_bytes_in_sources_and_outputs_are_read_and_analysed(tmp_path):
    learner = "learn = vision_learner(dls, '\ud800')  # \udfff\x00"
    fit = "learn.fit_one_cycle(2, 1e-2)\nname = 'res$\\frac$net\x1b[31m\udc80'"
    outputs = nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2)) + [
        nbf.stream_output("\ud800 progress \x00\x1b]0;title\x07"),
        {"output_type": "display_data", "data": {"text/plain": ["\udc80"], "text/html": "<b>\ud800</b>"}, "metadata": {}},
    ]
    cells = [nbf.code_cell(f"{IMPORTS}\n{learner}"), nbf.code_cell(fit, outputs), nbf.markdown_cell("\ud800")]
    path = tmp_path / "odd.ipynb"
    path.write_text(_document_text(cells), encoding="ascii")
    result = extract_notebook(path)
    assert not any("internal error" in str(d) or "cannot parse" in str(d) for d in result.diagnostics)
    (run,) = result.runs
    assert run.model == "\ufffd"  # read as written, then replaced (and said) at the Run boundary
    assert any("U+FFFD" in str(d) or "undecodable" in str(d) or "surrogate" in str(d) for d in result.diagnostics)
    assert run.phases[0].learning_rate == "1e-2" and len(run.phases[0].rows) == 2


def test_a_mathtext_model_name_flows_through_analysis(tmp_path):
    path = fit_notebook(tmp_path, "learn.fit_one_cycle(2, 1e-2)")
    document = json.loads(path.read_text())
    document["cells"][0]["source"] = [f"{IMPORTS}\n", 'learn = vision_learner(dls, "res$\\\\frac$net")']
    path.write_text(json.dumps(document))
    result = extract_notebook(path)
    assert result.runs[0].model == "res$\\frac$net"
    assert not any("internal error" in str(d) for d in result.diagnostics)


def test_escaping_for_the_parser_keeps_string_values():
    from audiometrics.analysis.evaluate import escape_for_parser

    text = "x = 'a\x00\ud800b'  # \udfff"
    escaped = escape_for_parser(text)
    assert escaped.isascii()
    assert ast.literal_eval(ast.parse(escaped).body[0].value) == "a\x00\ud800b"
    assert escape_for_parser("plain") == "plain" and escape_for_parser("é ok") == "é ok"


# --------------------------------------------------------------------------- never execute


def _payloads(marker: str, script: str) -> list[str]:
    m = repr(marker)
    return [
        f"@(lambda f: open({m}, 'w'))\ndef g():\n    learn.fit(1)\ng()",  # decorator
        f"def h(x=open({m}, 'w')):\n    learn.fit(1)\nh()",  # default argument
        f"s = f\"{{open({m}, 'w')}}\"\nlearn.fit(len(s))",  # f-string
        f"class A:\n    open({m}, 'w')\n    learn.fit(1)",  # class body
        f"__import__('os').system('touch ' + {m})",
        f"exec(\"open({m}, 'w')\")",
        f"eval(\"open({m}, 'w')\")",
        f"exec(compile(\"open({m}, 'w')\", 'x', 'exec'))",
        f"%run {script}",
        f"!touch {marker}",
        f"%%bash\ntouch {marker}",
        f"%%writefile {marker}\nwritten",
        f"%system touch {marker}",
        f"x = !touch {marker}",
        f"get_ipython().system('touch {marker}')",
        f"get_ipython().run_cell(\"open({m}, 'w')\")",
        f"get_ipython().run_line_magic('system', 'touch {marker}')",
        f"import os\nos.system('touch {marker}')",
        f"import subprocess\nsubprocess.run(['touch', {m}])",
        f"(lambda: open({m}, 'w'))()\n[open({m}, 'w') for _ in range(3)]",
        f"learn = vision_learner(dls, open({m}, 'w'))\nlearn.fit(int(__import__('os').system('touch {marker}')))",
        f"class M(type):\n    def __new__(*a):\n        open({m}, 'w')\nclass B(metaclass=M):\n    pass\nimport pickle\npickle.loads(b'cos\\nsystem\\n(Vtouch {marker}\\ntR.')",
    ]


def test_hostile_payloads_run_nothing(tmp_path):
    marker = str(tmp_path / "MARKER")
    script = tmp_path / "payload.py"
    script.write_text(f"open({marker!r}, 'w')\n")
    payloads = _payloads(marker, str(script))
    assert len(payloads) >= 21
    for number, payload in enumerate(payloads):
        path = fit_notebook(tmp_path, f"{payload}\nlearn.fit_one_cycle(2, 1e-2)", name=f"payload{number}.ipynb")
        result = extract_notebook(path)
        assert not os.path.exists(marker), payload
        assert len(result.runs) == 1, payload
        assert not any("internal error" in str(d) for d in result.diagnostics), payload


def test_the_payload_script_would_create_the_marker(tmp_path):
    """(The check above can fail: running the payload script does create the marker.)"""
    marker = tmp_path / "MARKER"
    script = tmp_path / "payload.py"
    script.write_text(f"open({str(marker)!r}, 'w')\n")
    exec(compile(script.read_text(), str(script), "exec"), {})  # the test's own code, not a notebook's
    assert marker.exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_notebook_saved_as_utf16_or_utf32_with_a_byte_order_mark_is_read(tmp_path, encoding):
    path = fit_notebook(tmp_path, "learn.fit_one_cycle(2, 1e-2)  # é")
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    result = extract_notebook(path)
    assert len(result.runs) == 1 and result.runs[0].phases[0].learning_rate == "1e-2"


def test_nul_bytes_without_a_byte_order_mark_are_still_a_binary_file():
    from audiometrics.errors import NotebookError

    with pytest.raises(NotebookError, match="binary file"):
        parse_notebook(b'{"nbformat": 4\x00\x00}')
    with pytest.raises(NotebookError, match="not UTF-8 text"):
        parse_notebook(b"\xff\xfe" + b"\x00\xd8")
