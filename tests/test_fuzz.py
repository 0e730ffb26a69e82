"""Property-based hardening: random and mutated notebooks, HTML, console text and source code.

The contract checked here:

- :func:`read_notebook`, :func:`parse_notebook` and :func:`extract_notebook` raise
  nothing but :class:`~audiometrics.errors.NotebookError`, whatever the bytes;
- :func:`find_tables` and :func:`analyse_cells` never raise;
- well-formed progress tables (real fastprogress markup from ``tests/nbfactory.py``
  and the recorded fixtures) are still found, with the same rows, when buried
  in random noise.

Example counts are kept moderate (see ``FUZZ``) so that the suite stays fast;
``AUDIOMETRICS_FUZZ_EXAMPLES=5000 python3 -m pytest tests/test_fuzz.py`` hunts longer.
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.errors import NotebookError
from audiometrics.pipeline import extract_notebook
from audiometrics.model import CellAnalysis, ProgressTable
from audiometrics.read.notebook import parse_notebook, read_notebook
from audiometrics.analysis.analyser import analyse_cells
from audiometrics.tables import find_tables
from tests import nbfactory as nbf

#: Examples per fuzz test (the slower whole-notebook tests run 40% of it).
EXAMPLES = int(os.environ.get("AUDIOMETRICS_FUZZ_EXAMPLES", "100"))
_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_CHECKS)
FEW = settings(max_examples=max(10, EXAMPLES * 2 // 5), deadline=None, suppress_health_check=_CHECKS)

TABLE_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tables"
LEARNER = nbf.LEARNER


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def extract_bytes(directory: Path, data: bytes):
    """The whole pipeline on a file holding ``data``: a result, or the NotebookError it raised."""
    path = directory / "fuzz.ipynb"
    path.write_bytes(data)
    try:
        return extract_notebook(path)
    except NotebookError as error:
        assert error.path == str(path) and error.reason
        return error


def parse_or_error(data: bytes | str):
    try:
        return parse_notebook(data, "fuzz.ipynb")
    except NotebookError as error:
        assert error.path == "fuzz.ipynb" and error.reason
        return error


# --------------------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20,
)

HTML_TOKENS = [
    "<table", ">", "<table border=\"1\" class=\"dataframe\">", "<table class=\"fastprogress\">",
    "<table style='width:300px; margin-bottom:10px'>", "<tr", "<tr>", "</tr>", "<th>", "</th>", "<td>", "</td>",
    "<thead>", "</thead>", "<tbody>", "</tbody>", "</table>", "epoch", "epoch</th>", "epoch</TH>", "train_loss",
    "<progress value='3' class='' max='10' style='width:300px; height:20px; vertical-align: middle;'></progress>",
    '<progress max="10" value="3">', "class='progress-bar-interrupted'", 'class="progress-bar-interrupted"',
    'class="fastprogress"', "<div>", "</div>", "<style>", "progress", "</style>", "<p>", "Total time: 00:05 <p>",
    "&amp;", "&#", "&lt;", "0.123456", "00:01", "#na#", "nan", " ", "\n", "\t", "<", "'", '"', "=", "/",
    'style="text-align: right;"', "<th></th>", "<td", "<th", "</td", "</th",
    'colspan="2"', "rowspan='3'", '<td rowspan="2">', "<td colspan=2>", "<TD ROWSPAN=99999>", "span=",
]
STREAM_TOKENS = [
    "epoch", "epoch     train_loss  valid_loss  lwlrap    time    \n", "  ", "train_loss", "\r", "\b", "\x1b[2K",
    "\x1b[", "\x1b[0;31m", "\n", "0", "1", "12", "0.5", "0.611317", "00:01", "1:02:03", "[", "]", "(#5) ", "'", '"',
    ",", "Epoch 1/3 :", "|", "\u2588", "-", "%", "#na#", "nan", "None", "inf", " ", "\t", "(", ")", "{", "}", "\\",
    "[0, 0.5, 0.4, 0.9, '00:01']\n", "(#5) [0,0.5,0.4,0.9,'00:01']\n",
    "(00:57)", "Total time: 01:10\n", "epoch  train loss  valid loss  accuracy\n",
    "1      1.182160    0.314141    0.100812    (00:57)\n", "[0, 12.395771, '00:00']\n", "0         00:00     \n",
]
MIMES = ["text/html", "text/plain", "text/markdown", "image/png", "application/json", "application/vnd.jupyter.widget-view+json"]


def soup(tokens: list[str], max_size: int = 40):
    return st.lists(st.one_of(st.sampled_from(tokens), st.text(max_size=5)), max_size=max_size).map("".join)


multiline = lambda text: st.one_of(st.just(text), st.just(nbf.lines(text)))  # noqa: E731

html_texts = soup(HTML_TOKENS)
stream_texts = soup(STREAM_TOKENS)

outputs_strategy = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"output_type": st.sampled_from(["display_data", "execute_result", "update_display_data"]),
             "data": st.dictionaries(st.sampled_from(MIMES), st.one_of(html_texts.flatmap(multiline), json_values), max_size=3),
             "metadata": st.just({})}
        ),
        st.fixed_dictionaries(
            {"output_type": st.just("stream"), "name": st.sampled_from(["stdout", "stderr", 3, None]),
             "text": st.one_of(stream_texts.flatmap(multiline), json_values)}
        ),
        st.fixed_dictionaries({"output_type": st.just("error"), "ename": st.text(max_size=5), "traceback": json_values}),
        st.dictionaries(st.sampled_from(["output_type", "data", "text", "name"]), json_values, max_size=4),
        json_values,
    ),
    max_size=8,
)

# A small grammar of Python a notebook cell may hold: fastai calls, loops, functions, magics.
_NAMES = st.sampled_from(["learn", "learn2", "lr", "lrs", "n", "epochs", "i", "x", "model", "dls", "f", "cfg", "EPOCHS", "LR"])
_ATOMS = st.one_of(
    st.integers(-3, 300).map(str),
    st.sampled_from([
        "1e-3", "3e-3", "0.1", "1e10", "-0", "1_000", "0x10", "2**3", "1/0", "10**100", "None", "True", "False",
        "'s'", "slice(1e-4, 1e-3)", "resnet18", "lwlrap", "range(3)", "[accuracy_multi, lwlrap]", "...",
        "'resnet34'", "timm.create_model('deit_tiny_patch16_224', pretrained=True)", "f'{x}'", "*args", "**kw",
    ]),
    _NAMES,
)
_EXPRS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "**", "%", "and", "or", "<", "=="]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ",)"),
        st.tuples(
            st.sampled_from(["slice", "range", "len", "int", "float", "min", "max", "list", "sum", "f", "np.linspace", "getattr", "dict", "zip", "enumerate"]),
            st.lists(inner, max_size=3),
        ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, inner).map(lambda t: f"[{t[0]} for i in {t[1]}]"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        inner.map(lambda e: f"(lambda: {e})"),
        inner.map(lambda e: f"-{e}"),
    ),
    max_leaves=6,
)
_RECEIVERS = st.sampled_from(["learn", "learn2", "self.learn", "learners[0]", "get_learner()", "l", "x"])
_METHODS = st.sampled_from(["fit_one_cycle", "fit", "fine_tune", "fit_flat_cos", "fit_sgdr", "lr_find", "to_fp16", "save", "load", "unfreeze", "no_bar"])
_KEYWORDS = st.sampled_from(["lr_max", "lr", "n_epoch", "epochs", "freeze_epochs", "base_lr", "cbs", "wd", "n_cycles", "cycle_len", "pct_start"])
_CALLS = st.tuples(_RECEIVERS, _METHODS, st.lists(_EXPRS, max_size=3), st.lists(st.tuples(_KEYWORDS, _EXPRS), max_size=2)).map(
    lambda t: f"{t[0]}.{t[1]}({', '.join([*t[2], *(f'{k}={v}' for k, v in t[3])])})"
)
_LEARNERS = st.tuples(
    _NAMES,
    st.sampled_from(["vision_learner", "cnn_learner", "Learner", "tabular_learner", "unet_learner", "create_cnn"]),
    st.lists(_EXPRS, max_size=2),
    st.lists(st.tuples(st.sampled_from(["pretrained", "metrics", "arch", "model", "loss_func"]), _EXPRS), max_size=3),
).map(lambda t: f"{t[0]} = {t[1]}({', '.join(['dls', *t[2], *(f'{k}={v}' for k, v in t[3])])})")
_SIMPLE = st.one_of(
    _CALLS,
    _LEARNERS,
    st.tuples(_NAMES, _EXPRS).map(lambda t: f"{t[0]} = {t[1]}"),
    st.tuples(_NAMES, _EXPRS).map(lambda t: f"{t[0]} += {t[1]}"),
    st.tuples(_NAMES, _NAMES, _EXPRS).map(lambda t: f"{t[0]}, {t[1]} = {t[2]}"),
    st.sampled_from(["pass", "break", "continue", "return learn", "del learn", "global lr", "import fastai", "from fastai.vision.all import *", "yield lr"]),
    _EXPRS,
)


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines] or ["    pass"]


_STATEMENTS = st.recursive(
    _SIMPLE.map(lambda s: [s]),
    lambda block: st.one_of(
        st.tuples(_NAMES, _EXPRS, block).map(lambda t: [f"for {t[0]} in {t[1]}:", *_indent(t[2])]),
        st.tuples(_EXPRS, block).map(lambda t: [f"while {t[0]}:", *_indent(t[1])]),
        st.tuples(_EXPRS, block, block).map(lambda t: [f"if {t[0]}:", *_indent(t[1]), "else:", *_indent(t[2])]),
        st.tuples(_NAMES, block).map(lambda t: [f"def {t[0]}(learn, lr=1e-3, *args, **kw):", *_indent(t[1])]),
        st.tuples(block, block).map(lambda t: ["try:", *_indent(t[0]), "except Exception:", *_indent(t[1])]),
        st.tuples(_EXPRS, block).map(lambda t: [f"with {t[0]} as ctx:", *_indent(t[1])]),
        st.tuples(_NAMES, block).map(lambda t: [f"class {t[0].title()}:", *_indent(t[1])]),
        st.tuples(block, block).map(lambda t: [*t[0], *t[1]]),
    ),
    max_leaves=8,
)
_MAGICS = st.sampled_from(["", "%%time\n", "%time ", "!pip install fastai\n", "%matplotlib inline\n", "%%capture\n", "%load_ext autoreload\n"])
cell_sources = st.one_of(
    st.tuples(_MAGICS, _STATEMENTS).map(lambda t: t[0] + "\n".join(t[1])),
    soup(["learn", ".", "fit_one_cycle", "(", ")", "for", " in ", "range", ":", "\n", "    ", "%%time", "!", "1e-3", ",", "=", "'", '"', "\\", "#", "lambda", "slice", "*", "[", "]"]),
    st.text(max_size=60),
)


# --------------------------------------------------------------------------- reading


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_notebook_error(data):
    parse_or_error(data)


@FUZZ
@given(json_values)
def test_random_json_raises_only_notebook_error(value):
    parse_or_error(json.dumps(value))


notebook_documents = st.fixed_dictionaries(
    {
        "nbformat": st.one_of(st.sampled_from([4, 4, 4, 3, 5, 2]), json_values),
        "nbformat_minor": st.one_of(st.integers(0, 5), json_values),
        "metadata": json_values,
        "cells": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries(
                        {"cell_type": st.sampled_from(["code", "markdown", "raw"]), "source": st.one_of(cell_sources, json_values),
                         "outputs": st.one_of(outputs_strategy, json_values), "execution_count": st.one_of(st.integers(-2, 5), json_values),
                         "metadata": st.just({})}
                    ),
                    json_values,
                ),
                max_size=5,
            ),
            json_values,
        ),
        "worksheets": json_values,
    }
)


@FUZZ
@given(notebook_documents)
def test_notebook_shaped_json_raises_only_notebook_error(scratch, document):
    data = json.dumps(document).encode()
    parsed = parse_or_error(data)
    outcome = extract_bytes(scratch, data)
    assert isinstance(parsed, NotebookError) == isinstance(outcome, NotebookError)


def sample_notebook(seed: int) -> dict:
    """A small real notebook: a learner, two fits with legacy tables, an lr_find, a DataFrame, a stream."""
    rng = random.Random(seed)
    n1, n2 = rng.randint(1, 4), rng.randint(1, 4)
    return nbf.notebook(
        [
            nbf.markdown_cell("# Training ☕"),
            nbf.code_cell(LEARNER + "\nlearn.lr_find()", nbf.lr_find_outputs()),
            nbf.code_cell(f"learn.fit_one_cycle({n1}, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(n1))),
            nbf.code_cell("df.head()", [nbf.dataframe_head_output(), nbf.stream_output("done\n")]),
            nbf.code_cell(f"for lr in [1e-3]:\n    learn.fit_one_cycle({n2}, lr)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(n2))),
        ]
    )


MUTATIONS = st.lists(
    st.tuples(st.sampled_from(["truncate", "delete", "insert", "replace", "duplicate"]), st.floats(0, 1), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    min_size=1,
    max_size=4,
)


def mutate(data: bytes, steps) -> bytes:
    for op, a, b, payload in steps:
        i = int(a * len(data))
        j = min(len(data), i + 1 + int(b * 64))
        if op == "truncate":
            data = data[:i]
        elif op == "delete":
            data = data[:i] + data[j:]
        elif op == "insert":
            data = data[:i] + payload + data[i:]
        elif op == "replace":
            data = data[:i] + payload[:1] + data[i + 1 :]
        else:
            data = data[:j] + data[i:j] + data[j:]
    return data


@FUZZ
@given(st.integers(0, 3), st.booleans(), MUTATIONS)
def test_byte_mutated_notebooks_raise_only_notebook_error(scratch, seed, indent, steps):
    original = json.dumps(sample_notebook(seed), indent=1 if indent else None, ensure_ascii=False).encode()
    extract_bytes(scratch, mutate(original, steps))


def paths_in(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_in(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_in(item, (*prefix, index))


@FUZZ
@given(st.integers(0, 3), st.data())
def test_structurally_mutated_notebooks_raise_only_notebook_error(scratch, seed, data):
    document = sample_notebook(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in paths_in(document) if p]
        path = data.draw(st.sampled_from(paths))
        replacement = data.draw(st.one_of(json_values, html_texts, stream_texts, cell_sources))
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = replacement
    extract_bytes(scratch, json.dumps(document).encode())


def test_pathological_files(scratch):
    cases = [
        b"",
        b" \n\t",
        b"\xef\xbb\xbf",
        b"[" * 100_000,
        b'{"nbformat": 4, "cells": ' + b"[" * 50_000,
        b'{"nbformat": 4, "nbformat_minor": 4, "cells": [' + b"[" * 900 + b"]" * 900 + b"]}",
        b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": "' + b"(" * 5000 + b'", "outputs": []}]}',
        json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "x = " + "+".join(["1"] * 20000), "outputs": [], "execution_count": 1}]}).encode(),
        json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "learn.fit_one_cycle(" + "[" * 300 + "]" * 300 + ")", "outputs": [], "execution_count": 1}]}).encode(),
        json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "\n".join("    " * i + "if x:" for i in range(120)) + "\n" + "    " * 120 + "learn.fit(1)", "outputs": [], "execution_count": 1}]}).encode(),
        json.dumps({"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": 5, "outputs": "x"}]}]}).encode(),
        json.dumps({"nbformat": 3, "worksheets": "nope"}).encode(),
        json.dumps({"nbformat": 4.0, "cells": []}).encode(),
        json.dumps({"nbformat": True, "cells": []}).encode(),
        b'{"nbformat": 4, "cells": [], "x": 1e999999}',
        b'{"nbformat": 4, "cells": [], "x": "\\ud800"}',
        b'{"nbformat": 4, "cells": [], "x": NaN}',
        b'{"nbformat": 4, "cells": []}\x00',
        b"\xff\xfe{\x00}\x00",
        "{\"nbformat\": 4, \"cells\": [], \"x\": \"caf\u00e9\"}".encode("latin-1"),
    ]
    for data in cases:
        extract_bytes(scratch, data)


def test_read_notebook_on_odd_paths(tmp_path):
    for path in (tmp_path, tmp_path / "missing.ipynb"):
        with pytest.raises(NotebookError):
            read_notebook(path)


# --------------------------------------------------------------------------- find_tables


@FUZZ
@given(outputs_strategy)
def test_find_tables_never_raises(outputs):
    tables = find_tables(outputs)
    assert isinstance(tables, list) and all(isinstance(t, ProgressTable) for t in tables)


@FUZZ
@given(st.lists(st.one_of(html_texts, stream_texts, st.text(max_size=200)), max_size=6), st.booleans())
def test_find_tables_on_random_text_never_raises(texts, as_lines):
    outputs = []
    for index, text in enumerate(texts):
        value = nbf.lines(text) if as_lines else text
        if index % 2:
            outputs.append({"output_type": "stream", "name": "stdout", "text": value})
        else:
            outputs.append({"output_type": "display_data", "data": {"text/html": value, "text/plain": [nbf.HTML_PLACEHOLDER]}, "metadata": {}})
    find_tables(outputs)


def table_key(tables):
    return [(t.format, t.columns, t.rows, t.interrupted, t.blank) for t in tables]


# Noise that a fastprogress table can sit next to: text without markup, innocent tags.
_INNOCENT_TEXT = st.text(st.characters(blacklist_characters="<>\r\b\x1b", blacklist_categories=("Cs",)), max_size=40)
_INNOCENT_TAGS = st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<br/>", "<b>note</b>", "<span class='x'>", "</span>", "<pre>x = 1</pre>", "<img src='a.png'/>", "<!-- comment -->"])
html_noise = st.lists(st.one_of(_INNOCENT_TEXT, _INNOCENT_TAGS), max_size=6).map("".join)
line_noise = st.lists(_INNOCENT_TEXT.map(lambda t: "log: " + t.replace("\n", " ") + "\n"), min_size=1, max_size=3).map("".join)

FIXTURE_NAMES = sorted(p.stem for p in TABLE_FIXTURES.glob("*.json"))


def noisy(outputs: list[dict], data) -> list[dict]:
    """``outputs`` with noise around every HTML table and noise lines between whole stream lines."""
    result: list[dict] = []
    stream_text = ""
    for output in copy.deepcopy(outputs):
        bundle = output.get("data") if isinstance(output, dict) else None
        if isinstance(bundle, dict) and "<table" in "".join(nbf.lines("".join(bundle.get("text/html", "")))):
            html = bundle["text/html"]
            before, after = data.draw(html_noise), data.draw(html_noise)
            bundle["text/html"] = [before, *html, after] if isinstance(html, list) else before + html + after
        if output.get("output_type") == "stream":
            if stream_text.endswith("\n") and data.draw(st.booleans()):
                result.append(nbf.stream_output(data.draw(line_noise), output.get("name", "stdout")))
            text = output.get("text")
            stream_text += "".join(text) if isinstance(text, list) else str(text)
        result.append(output)
    if data.draw(st.booleans()):
        result.insert(0, nbf.stream_output(data.draw(line_noise)))
    if data.draw(st.booleans()):
        result.append(nbf.stream_output(data.draw(line_noise)))
    return result


@FUZZ
@given(st.sampled_from(FIXTURE_NAMES), st.data())
def test_recorded_tables_are_found_in_noise(name, data):
    outputs = json.loads((TABLE_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    expected = table_key(find_tables(outputs))
    assert table_key(find_tables(noisy(outputs, data))) == expected


_VALUES = st.one_of(
    st.floats(0, 10, allow_nan=False).map(lambda v: f"{v:.6f}"),
    st.sampled_from(["#na#", "nan", "inf", "", "None"]),
)
_METRIC_NAMES = st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True).filter(lambda n: n not in {"epoch", "time"})


@st.composite
def epoch_tables(draw):
    metrics = draw(st.lists(_METRIC_NAMES, min_size=1, max_size=4, unique=True))
    columns = ("epoch", *metrics, "time")
    count = draw(st.integers(1, 12))
    rows = [(str(e), *(draw(_VALUES) for _ in metrics), f"{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}") for e in range(count)]
    return columns, rows


@FUZZ
@given(st.lists(epoch_tables(), min_size=1, max_size=3), st.data())
def test_generated_tables_are_found_in_noise(tables, data):
    outputs: list[dict] = []
    for columns, rows in tables:
        outputs.extend(nbf.legacy_fit_outputs(columns, rows))
    found = find_tables(noisy(outputs, data))
    assert [(t.columns, t.rows) for t in found if not t.blank] == [(tuple(c), tuple(r)) for c, r in tables]


# --------------------------------------------------------------------------- short rows, early v1, spans

_SAFE = st.one_of(st.floats(0, 10, allow_nan=False).map(lambda v: f"{v:.6f}"), st.sampled_from(["nan", "inf", "None"]))
_TIMES = st.tuples(st.integers(0, 59), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


@st.composite
def cancelled_tables(draw):
    """fastai v2 tables (epoch, train_loss, valid_loss, metrics, time) where some epochs had
    training and/or validation cancelled: (columns, rows as logged, rows as they should be read)."""
    metrics = draw(st.lists(_METRIC_NAMES.filter(lambda n: not n.startswith("train")), min_size=1, max_size=3, unique=True))
    columns = ("epoch", "train_loss", "valid_loss", *metrics, "time")
    logged, expected = [], []
    for epoch in range(draw(st.integers(1, 8))):
        train = [draw(_SAFE)]
        valid = [draw(_SAFE) for _ in range(1 + len(metrics))]
        keep_train, keep_valid = draw(st.sampled_from([(True, True), (True, True), (False, True), (True, False), (False, False)]))
        time = draw(_TIMES)
        logged.append((str(epoch), *(train if keep_train else []), *(valid if keep_valid else []), time))
        expected.append((str(epoch), *(train if keep_train else [""]), *(valid if keep_valid else [""] * len(valid)), time))
    return columns, logged, expected


@FUZZ
@given(st.lists(cancelled_tables(), min_size=1, max_size=3), st.data())
def test_cancelled_rows_are_placed_by_meaning_in_noise(tables, data):
    outputs: list[dict] = []
    for columns, logged, _ in tables:
        outputs.extend(nbf.legacy_fit_outputs(columns, logged))
    found = [t for t in find_tables(noisy(outputs, data)) if not t.blank]
    assert [(t.columns, t.rows) for t in found] == [(c, tuple(e)) for c, _, e in tables]
    for t, (columns, logged, _) in zip(found, tables):
        short = sum(len(r) < len(columns) for r in logged)
        assert [n.split(" ")[0] for n in t.notes] == ([str(short)] if short else [])


def _console_table(columns, rows) -> str:
    """fastprogress 1.0.3 ConsoleMasterBar: padded header, then per epoch a bar, its blanking, the row."""
    names = [n + " " * (8 - len(n)) if len(n) < 8 else n for n in columns]
    text = "  ".join(names) + "\n"
    for k, row in enumerate(rows):
        prefix = f"\rEpoch {k + 1}/{len(rows)} :"
        bar = f"{prefix} |{'█' * 10}| 100.00% [4/4 00:00<00:00]"
        text += bar + "\r" + prefix + " " * (len(bar) - len(prefix)) + "\r"  # on_iter_end blanks the bar
        text += "".join(t + " " * (2 + len(n) - len(t)) for t, n in zip(row, names)) + "\n"
    return text


@FUZZ
@given(cancelled_tables(), st.data())
def test_cancelled_console_rows_are_placed_by_meaning_in_noise(table, data):
    columns, logged, expected = table
    outputs = [nbf.stream_output(_console_table(columns, logged))]
    (found,) = find_tables(noisy(outputs, data))
    assert (found.columns, found.rows) == (columns, tuple(expected))


@FUZZ
@given(st.lists(_METRIC_NAMES, min_size=1, max_size=3, unique=True), st.lists(st.lists(_SAFE, min_size=2, max_size=6), min_size=1, max_size=6), st.data())
def test_early_v1_reports_are_found_in_noise(metrics, values, data):
    # fastai 1.0.x Recorder (names and values padded to the name, joined by two spaces) printed by
    # fastprogress <= 0.1.15 NBMasterBar.on_iter_end with each write's elapsed time in brackets
    names = ["epoch", "train_loss", "valid_loss", *metrics]
    lines = ["  ".join(names)]
    rows = []
    for epoch, vals in enumerate(values, start=1):
        stats = [str(epoch), *vals[: len(names) - 1]]
        lines.append("  ".join(t + " " * (len(n) - len(t)) for t, n in zip(stats, names)))
        rows.append(stats)
    width = max(len(line) for line in lines)
    time = data.draw(_TIMES)
    report = "Total time: 00:09\n" + lines[0] + " " * (width - len(lines[0])) + "\n"
    report += "".join(line + " " * (width - len(line)) + f"  ({time})\n" for line in lines[1:]) + "\n"
    (found,) = find_tables(noisy([nbf.stream_output(report)], data))
    assert found.columns == (*names, "time")
    assert found.rows == tuple((*r, *[""] * (len(names) - len(r)), time) for r in rows)


@FUZZ
@given(st.lists(epoch_tables(), min_size=1, max_size=2), st.data())
def test_rowspans_read_as_displayed_and_colspans_never_shift(tables, data):
    outputs, expected = [], []
    for columns, rows in tables:
        rows = [list(r) for r in rows]
        markup_rows = [[f"<td>{v}</td>" for v in r] for r in rows]
        kept = list(range(len(rows)))
        for k in range(len(rows) - 1):
            col = data.draw(st.integers(0, len(columns) - 1))
            if data.draw(st.booleans()) and markup_rows[k + 1][col] is not None and markup_rows[k][col] is not None:
                rows[k + 1][col] = rows[k][col]  # a rowspan shows the value in the row below too
                markup_rows[k][col] = f'<td rowspan="2">{rows[k][col]}</td>'
                markup_rows[k + 1][col] = None
        if len(columns) > 2 and data.draw(st.booleans()):
            k = data.draw(st.integers(0, len(rows) - 1))
            if None not in markup_rows[k] and "rowspan" not in "".join(markup_rows[k]):
                markup_rows[k][1:3] = [f"<td colspan='2'>{rows[k][1]}</td>"]
                kept.remove(k)
        body = "".join("<tr>" + "".join(c for c in r if c is not None) + "</tr>" for r in markup_rows)
        header = "".join(f"<th>{c}</th>" for c in columns)
        html = f'<table border="1" class="dataframe"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'
        outputs.append(nbf.html_output(html))
        expected.append((tuple(columns), tuple(tuple(rows[k]) for k in kept)))
    found = find_tables(noisy(outputs, data))
    assert [(t.columns, t.rows) for t in found] == expected


noise_cells = st.one_of(
    st.builds(lambda text: nbf.markdown_cell(text), st.text(max_size=40)),
    st.builds(lambda text: nbf.code_cell("print(x)", [nbf.stream_output(text)]), line_noise),
    st.just(nbf.code_cell("df.head()", [nbf.dataframe_head_output()])),
    st.builds(lambda html: nbf.code_cell("display(HTML(s))", [nbf.html_output(html)]), html_noise),
    st.builds(
        lambda blob: nbf.code_cell("plot()", [{"data": {"image/png": blob, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}]),
        st.binary(max_size=64).map(lambda b: __import__("base64").b64encode(b).decode()),
    ),
    st.builds(lambda src: nbf.code_cell(src), st.sampled_from(["x = 1", "import numpy as np", "# learn.fit_one_cycle(5) commented out", "s = 'learn.fit(3)'"])),
)


@FEW
@given(st.lists(st.tuples(epoch_tables(), st.lists(noise_cells, max_size=2)), min_size=1, max_size=3), st.lists(noise_cells, max_size=3), st.data())
def test_whole_notebooks_with_noise_cells_keep_every_row(scratch, fits, prelude, data):
    cells = [*prelude, nbf.code_cell(LEARNER)]
    for (columns, rows), noise in fits:
        outputs = nbf.legacy_fit_outputs(columns, rows)
        if data.draw(st.booleans()):
            outputs = [nbf.stream_output(data.draw(line_noise)), *outputs]
        cells.append(nbf.code_cell(f"learn.fit_one_cycle({len(rows)}, 1e-3)", outputs))
        cells.extend(noise)
    result = extract_bytes(scratch, json.dumps(nbf.notebook(cells), indent=1, ensure_ascii=False).encode())
    assert not isinstance(result, NotebookError)
    (run,) = result.runs
    assert [(p.columns, p.rows) for p in run.phases] == [(tuple(c), tuple(r)) for (c, r), _ in fits]


# --------------------------------------------------------------------------- analyse_cells


@FUZZ
@given(st.lists(cell_sources, max_size=5))
def test_analyse_cells_never_raises(sources):
    analyses = analyse_cells(sources)
    assert len(analyses) == len(sources)
    assert all(isinstance(a, CellAnalysis) for a in analyses)


@FUZZ
@given(st.lists(st.one_of(cell_sources, json_values), max_size=4))
def test_analyse_cells_tolerates_non_strings(sources):
    assert len(analyse_cells(sources)) == len(sources)


@FEW
@given(st.lists(cell_sources, min_size=1, max_size=4), outputs_strategy)
def test_whole_pipeline_on_random_cells(scratch, sources, outputs):
    cells = [nbf.code_cell(src, outputs if i == len(sources) - 1 else ()) for i, src in enumerate(sources)]
    result = extract_bytes(scratch, json.dumps(nbf.notebook(cells)).encode())
    assert not isinstance(result, NotebookError)
