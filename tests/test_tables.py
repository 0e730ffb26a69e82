"""find_tables on real fastprogress output (fixtures made by tests/fixtures/tables/make_fixtures.py)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiometrics.tables import console, listing
from audiometrics.runs.align import align_notebook
from audiometrics.model import CellAnalysis, CodeCell, LearnerCreated, ProgressTable, TrainingCall
from audiometrics.pipeline import extract_notebook
from audiometrics.tables import find_tables
from audiometrics.tables.markup import body_rows, plain_rows, rows_one_by_one
from audiometrics.tables.rows import TIME, place_row
from audiometrics.tables.text import apply_backspaces, visible
from tests import nbfactory as nbf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tables"
REFERENCE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "notebooks"
    / "cnn-2d-basic-solution-powered-by-fast-ai.ipynb"
)
NAMES = ("epoch", "train_loss", "valid_loss", "lwlrap", "time")


def load(name: str) -> list[dict]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def rows_of(n: int, start: int = 0, t: str = "00:00") -> tuple[tuple[str, ...], ...]:
    """The rows make_fixtures.py's ``rows_of`` writes."""
    return tuple(
        (str(e + start), f"{0.6 / (e + 1):.6f}", f"{0.5 / (e + 1):.6f}", f"{0.1 + e / 100:.6f}", t) for e in range(n)
    )


def shape(tables: list[ProgressTable]) -> list[tuple]:
    return [(t.format, t.output_index, t.blank, t.interrupted, t.columns, len(t.rows)) for t in tables]


def joined(value) -> str:
    return "".join(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------- legacy html (0.1.20 - 1.0.x)


def test_legacy_complete_two_fits_like_reference():
    outputs = load("html_1.0.3_two_fits")
    tables = find_tables(outputs)
    assert shape(tables) == [("html", 1, False, False, NAMES, 5), ("html", 3, False, False, NAMES, 10)]
    assert tables[0].rows[0] == ("0", "0.611317", "115578.328125", "0.101347", "00:01")
    assert tables[0].rows[1:] == rows_of(4, 1, "00:01")
    assert tables[1].rows == rows_of(10, 0, "00:01")


def test_legacy_markup_is_the_real_thing():
    html = joined(load("html_1.0.3_two_fits")[1]["data"]["text/html"])
    assert html.startswith('<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: left;">\n')
    assert html.endswith("  </tbody>\n</table>")
    style = joined(load("html_1.0.3_two_fits")[0]["data"]["text/html"])
    assert style.startswith("\n<style>\n") and ".progress-bar-interrupted" in style


def test_legacy_na_and_empty_cells():
    (t,) = find_tables(load("html_0.2.6_complete_na"))
    assert t.rows == (("0", "0.912345", "#na#", "#na#", "00:01"), ("1", "0.612345", "#na#", "#na#", "00:01"))
    (t,) = find_tables(load("html_0.1.21_complete_empty_cells"))
    assert [r[2:4] for r in t.rows] == [("", "")] * 3
    assert [r[0] for r in t.rows] == ["1", "2", "3"]  # fastai v1 <= 1.0.46 counted from 1: kept as shown


@pytest.mark.parametrize(
    "name, index, rows",
    [
        ("html_1.0.3_midrun", 1, rows_of(2)),
        (
            "html_0.2.6_midrun",
            0,
            (("0", "0.912345", "0.745678", "0.812500", "00:01"), ("1", "0.612345", "0.545678", "0.850000", "00:01")),
        ),
    ],
)
def test_legacy_wrapped_mid_run(name, index, rows):
    outputs = load(name)
    html = joined(outputs[index]["data"]["text/html"])
    assert "<progress value=" in html and "<table" in html and "</table><p>" in html
    (t,) = find_tables(outputs)
    assert (t.format, t.output_index, t.blank, t.interrupted) == ("html", index, False, False)
    assert t.rows == rows


@pytest.mark.parametrize("name, index", [("html_0.1.20_total_time", 0), ("html_1.0.3_total_time", 1)])
def test_legacy_total_time_prefix(name, index):
    outputs = load(name)
    assert joined(outputs[index]["data"]["text/html"]).startswith("Total time: 00:0")
    (t,) = find_tables(outputs)
    assert t.format == "html" and t.output_index == index and len(t.rows) in (2, 3)
    assert t.columns[0] == "epoch" and t.rows[0][0] in ("0", "1")


def test_interrupted_by_error_output_without_red_bar():
    outputs = load("html_1.0.3_interrupted")  # fastai v2: KeyboardInterrupt, display stays mid-run
    assert outputs[-1]["output_type"] == "error" and "progress-bar-interrupted'" not in json.dumps(outputs)
    (t,) = find_tables(outputs)
    assert t.interrupted and t.rows == rows_of(3)
    (t,) = find_tables(outputs[:-1])
    assert not t.interrupted


def test_interrupted_red_bar_with_and_without_error():
    outputs = load("html_1.0.3_interrupted_bar")  # an exception raised inside the data iterator
    assert "class='progress-bar-interrupted'" in joined(outputs[1]["data"]["text/html"])
    assert [t.interrupted for t in find_tables(outputs)] == [True]
    assert [t.interrupted for t in find_tables(outputs[:-1])] == [True]
    (t,) = find_tables(load("html_0.1.21_interrupted"))  # 0.1.x catches everything: red bar + error
    assert t.interrupted and t.rows == (("1", "0.912345", "0.745678", "0.812500", "00:01"),)


def test_interrupted_marks_only_last_table_before_error():
    two = load("html_1.0.3_two_fits")
    error = load("html_1.0.3_interrupted")[-1]
    tables = find_tables(two + [error])
    assert [t.interrupted for t in tables] == [False, True]
    tables = find_tables(two[:2] + [error] + two[2:])
    assert [t.interrupted for t in tables] == [True, False]


def test_header_only_table():
    (t,) = find_tables(load("html_1.0.3_header_only_interrupted"))
    assert (t.columns, t.rows, t.blank, t.interrupted) == (NAMES, (), False, True)
    (t,) = find_tables(load("html_0.2.6_lr_find_v1"))  # fastai v1 lr_find with fastprogress 0.2
    assert (t.columns, t.rows, t.blank, t.interrupted) == (("epoch", "train_loss", "valid_loss", "time"), (), False, False)


@pytest.mark.parametrize("name", ["html_1.0.3_lr_find", "html_1.0.3_get_preds"])
def test_blank_after_style(name):
    outputs = load(name)
    assert joined(outputs[1]["data"]["text/html"]) == ""
    assert find_tables(outputs) == [ProgressTable(None, (), "html", 1, blank=True)]


def test_blank_progress_bars_only():
    outputs = load("html_1.0.3_lr_find_midrun")
    assert "<table" not in joined(outputs[1]["data"]["text/html"])
    assert find_tables(outputs) == [ProgressTable(None, (), "html", 1, blank=True)]


def test_blank_cleared_display_without_style_v1_lr_find():
    # fastai v1 + fastprogress 0.1.21 lr_find: clean_on_interrupt empties the only display
    assert find_tables(load("html_0.1.21_lr_find_v1")) == [ProgressTable(None, (), "html", 0, blank=True)]


def test_style_output_alone_and_unrelated_empty_html_are_not_tables():
    style = load("html_1.0.3_lr_find")[0]
    assert find_tables([style]) == []
    assert find_tables([{"output_type": "display_data", "data": {"text/html": "", "text/plain": "x"}}]) == []


def test_odd_values_kept_as_text():
    (t,) = find_tables(load("html_1.0.3_odd_values"))
    assert t.rows == (
        ("0", "0.600000", "None", "nan", "00:01"),
        ("1", "inf", "n/a", "0.5", "00:01"),  # '0.5<b>': the tag is markup, '0.5' is what shows
        ("2", "-inf", "0.000000", "tensor(0.5000)", "00:01"),
    )


def test_row_length_mismatch_is_placed_or_truncated():
    html = joined(load("html_0.2.6_complete_na")[0]["data"]["text/html"])
    short = html.replace("      <td>#na#</td>\n      <td>00:01</td>\n", "", 1)
    long = html.replace("<td>00:01</td>", "<td>00:01</td><td>extra</td>", 1)
    (t,) = find_tables([{"output_type": "display_data", "data": {"text/html": short}}])
    assert t.rows[0] == ("0", "0.912345", "#na#", "", "")  # no time left: fastai v1 (#na#) fills from the left
    assert len(t.notes) == 1 and t.notes[0].startswith("1 row shorter than the header")
    (t,) = find_tables([{"output_type": "display_data", "data": {"text/html": long}}])
    assert t.rows[0] == ("0", "0.912345", "#na#", "#na#", "00:01")


# --------------------------------------------------------------------------- html-th (<= 0.1.19)


def test_th_table_complete():
    (t,) = find_tables(load("html_th_0.1.18_complete"))
    html = joined(load("html_th_0.1.18_complete")[0]["data"]["text/html"])
    assert html.startswith("Total time: 00:00 <p><table style='width:300px; margin-bottom:10px'>\n  <tr>\n    <th>epoch</th>")
    assert (t.format, t.columns) == ("html-th", ("epoch", "train_loss", "valid_loss", "accuracy"))
    assert t.rows == (
        ("1", "0.912345", "0.745678", "0.812500"),
        ("2", "0.612345", "0.545678", "0.850000"),
        ("3", "0.412345", "0.445678", "0.875000"),
    )
    (t,) = find_tables(load("html_th_0.1.19_complete"))
    assert t.format == "html-th" and t.columns[-1] == "error_rate" and len(t.rows) == 2


def test_th_table_drops_empty_cells_so_rows_are_padded():
    # 0.1.18 omits empty values from a row: the row is padded at its end
    (t,) = find_tables(load("html_th_0.1.18_missing_value"))
    assert t.rows == (("1", "0.912345", "0.812500", ""), ("2", "0.612345", "0.850000", ""))
    # the true row is 1, 0.912345, '', 0.812500: the reading may be wrong, so it is said
    (note,) = t.notes
    assert note.startswith("2 rows shorter than the header") and "fastprogress 0.1.x leaves empty values out" in note
    (t,) = find_tables(load("html_th_0.1.18_complete"))
    assert t.notes == ()


def test_th_table_mid_run_and_interrupted():
    (t,) = find_tables(load("html_th_0.1.18_midrun"))
    assert (t.format, t.interrupted, len(t.rows)) == ("html-th", False, 1)
    (t,) = find_tables(load("html_th_0.1.18_interrupted"))
    assert (t.format, t.interrupted, len(t.rows)) == ("html-th", True, 1)


# --------------------------------------------------------------------------- fasthtml (>= 1.1)


def test_fasthtml_counted_once_per_output():
    outputs = load("fasthtml_1.1_two_fits")
    bundle = outputs[1]["data"]
    assert set(bundle) == {"text/html", "text/markdown", "text/plain"}
    assert joined(bundle["text/html"]).startswith('<div><table class="fastprogress"><thead><tr><th>epoch</th>')
    assert joined(bundle["text/markdown"]).startswith("```html\n")
    tables = find_tables(outputs)
    assert shape(tables) == [("fasthtml", 1, False, False, NAMES, 3), ("fasthtml", 2, False, False, NAMES, 2)]
    assert tables[0].rows == rows_of(3) and tables[1].rows == rows_of(2, 0, "00:01")


@pytest.mark.parametrize("keep", ["text/markdown", "text/plain"])
def test_fasthtml_without_text_html_falls_back(keep):
    outputs = copy.deepcopy(load("fasthtml_1.1_two_fits"))[1:2]
    outputs[0]["data"] = {keep: outputs[0]["data"][keep]}
    (t,) = find_tables(outputs)
    assert (t.format, t.rows) == ("fasthtml", rows_of(3))


def test_fasthtml_blank_mid_run_and_interrupted():
    assert find_tables(load("fasthtml_1.1_lr_find")) == [ProgressTable(None, (), "fasthtml", 0, blank=True)]
    assert find_tables(load("fasthtml_1.1_lr_find_midrun")) == [ProgressTable(None, (), "fasthtml", 0, blank=True)]
    (t,) = find_tables(load("fasthtml_1.1_midrun"))
    assert (t.format, t.rows, t.interrupted) == ("fasthtml", rows_of(2), False)
    (t,) = find_tables(load("fasthtml_1.1_interrupted"))
    assert (t.format, t.rows, t.interrupted) == ("fasthtml", rows_of(1), True)


def test_fasthtml_escaped_values():
    (t,) = find_tables(load("fasthtml_1.1_odd_values"))
    assert t.rows == (("0", "0.600000", "None", "nan", "00:01"), ("1", "inf", "a<b & c", "#na#", "00:01"))


def test_fasthtml_interrupted_class():
    outputs = copy.deepcopy(load("fasthtml_1.1_midrun"))
    html = joined(outputs[0]["data"]["text/html"])
    outputs[0]["data"]["text/html"] = html.replace('value="1">', 'value="1" class="progress-bar-interrupted">')
    (t,) = find_tables(outputs)
    assert t.interrupted


# --------------------------------------------------------------------------- console


CONSOLE_1_0_3 = [
    ("0", "0.611317", "115578.328125", "0.101347", "00:01"),  # glued: '115578.3281250.101347'
    ("1", "0.385020", "#na#", "", "00:01"),  # missing value
    ("2", "0.291185", "0.119222", "1234567.1234567", "00:01"),  # glued with the time
]


def test_console_tables_long_and_missing_values():
    outputs = load("console_1.0.3")
    text = "".join(joined(o["text"]) for o in outputs)
    assert "115578.3281250.101347  00:01" in text and "\rEpoch 1/3 : |" in text
    tables = find_tables(outputs)
    assert [(t.format, t.columns, t.blank, t.interrupted) for t in tables] == [
        ("console", NAMES, False, False),
        ("console", ("epoch", "train_loss", "valid_loss", "accuracy_multi", "time"), False, False),
    ]
    assert tables[0].rows == tuple(CONSOLE_1_0_3)
    assert tables[1].rows == rows_of(2)
    assert 0 < tables[0].output_index < tables[1].output_index


def test_console_chunking_does_not_matter():
    outputs = load("console_1.0.3")
    text = "".join(joined(o["text"]) for o in outputs)
    expect = [(t.columns, t.rows) for t in find_tables(outputs)]
    one = [{"output_type": "stream", "name": "stdout", "text": text}]
    assert [(t.columns, t.rows) for t in find_tables(one)] == expect
    pieces = [{"output_type": "stream", "name": "stdout", "text": text[i : i + 7]} for i in range(0, len(text), 7)]
    assert [(t.columns, t.rows) for t in find_tables(pieces)] == expect


def test_console_as_frontends_save_it():
    # JupyterLab/classic merge stream chunks and resolve \r before saving
    text = "".join(joined(o["text"]) for o in load("console_1.0.3"))
    resolved = "\n".join(visible(line) for line in text.split("\n"))
    assert "\r" not in resolved
    tables = find_tables([{"output_type": "stream", "name": "stdout", "text": resolved.splitlines(True)}])
    assert tables[0].rows == tuple(CONSOLE_1_0_3)


def test_console_backspaces():
    text = "".join(joined(o["text"]) for o in load("console_1.1"))
    noisy = text.replace("0.500000", "0.599\b\b00000").replace("epoch ", "epx\boch ", 1)
    assert "\b" in noisy
    tables = find_tables([{"output_type": "stream", "name": "stdout", "text": noisy}])
    assert tables[0].rows == rows_of(3)


@pytest.mark.parametrize(
    "name, rows",
    [
        ("console_1.1", rows_of(3)),
        (
            "console_0.2.6_v1",
            (("0", "0.912345", "#na#", "", "00:01"), ("1", "0.612345", "0.545678", "0.850000", "00:01")),
        ),
    ],
)
def test_console_other_versions(name, rows):
    (t,) = find_tables(load(name))
    assert t.format == "console" and t.rows == rows and t.columns[0] == "epoch"


def test_console_interrupted():
    (t,) = find_tables(load("console_1.0.3_interrupted"))
    assert (t.format, t.rows, t.interrupted) == ("console", rows_of(1), True)


def test_console_ignores_other_prints_between_rows():
    text = "".join(joined(o["text"]) for o in load("console_1.1"))
    text = text.replace("\n█", "\nBetter model found at epoch 0 with valid_loss value: 0.5.\nTotal time: 00:01\n█")
    (t,) = find_tables([{"output_type": "stream", "name": "stdout", "text": text}])
    assert t.rows == rows_of(3)


# --------------------------------------------------------------------------- no_bar lists

LIST_ROWS = (
    (
        ("0", "0.5432102084159851", "0.40123456716537476", "0.8500000238418579", "00:00"),
        ("1", "0.31233999133110046", "0.29875999689102173", "0.8999999761581421", "00:00"),
        ("2", "0.20999999344348907", "nan", "None", "00:00"),
    ),
    (
        ("0", "0.20000000298023224", "0.1899999976158142", "0.9100000262260437", "00:00"),
        ("1", "0.18000000715255737", "inf", "0.9200000166893005", "00:00"),
    ),
)


@pytest.mark.parametrize("name, marker", [("list_fastcore_new_two_fits", "[0, 0.5432"), ("list_fastcore_1.0_two_fits", "(#5) [0,0.5432")])
def test_list_two_fits(name, marker):
    outputs = load(name)
    assert marker in "".join(joined(o["text"]) for o in outputs)
    tables = find_tables(outputs)
    assert [(t.format, t.columns, t.blank) for t in tables] == [("list", None, False)] * 2
    assert tuple(t.rows for t in tables) == LIST_ROWS


def test_list_lines_need_epoch_and_time():
    text = "[1, 2, 3]\n['a', '00:01']\n[0, 0.5, '00:01']\n[1, 0.4, \"00:02\"]\n[0, 0.3, '1:00:00']\n"
    tables = find_tables([{"output_type": "stream", "name": "stdout", "text": text}])
    assert [t.rows for t in tables] == [(("0", "0.5", "00:01"), ("1", "0.4", "00:02")), (("0", "0.3", "1:00:00"),)]


# --------------------------------------------------------------------------- not tables


def test_dataframes_are_not_tables():
    outputs = load("html_1.0.3_dataframes")
    assert all("epoch" in joined(o["data"]["text/html"]) for o in outputs)
    assert find_tables(outputs) == []


def test_other_outputs_are_ignored():
    outputs = [
        {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                                   "text/plain": "HBox(children=(FloatProgress(value=0.0, max=5.0), HTML(value='')))"}},
        {"output_type": "stream", "name": "stderr", "text": " 40%|████      | 2/5 [00:01<00:02,  1.99it/s]\r100%|██████████| 5/5 [00:02<00:00,  2.00it/s]\n"},
        {"output_type": "display_data", "data": {"text/html": "<table><tr><th>name</th></tr><tr><td>epoch</td></tr></table>"}},
        {"output_type": "display_data", "data": {"text/html": "<div><progress value='5' max='10' style='width:300px'></progress> [5/10, Epoch 1/2]</div>"}},
        {"output_type": "execute_result", "data": {"text/plain": "[0, 0.5, '00:01']"}, "execution_count": 3},
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}},
    ]
    assert find_tables(outputs) == []


def test_images_are_never_read():
    class Guard(dict):
        def __getitem__(self, key):
            if key.startswith("image/"):
                raise AssertionError(f"read {key}")
            return super().__getitem__(key)

        def get(self, key, default=None):
            if key.startswith("image/"):
                raise AssertionError(f"read {key}")
            return super().get(key, default)

        def items(self):  # pragma: no cover - must not be called
            raise AssertionError("iterated the bundle")

        def values(self):  # pragma: no cover - must not be called
            raise AssertionError("iterated the bundle")

    outputs = copy.deepcopy(load("html_1.0.3_two_fits"))
    for o in outputs:
        o["data"] = Guard(o["data"], **{"image/png": "A" * 10})
    assert len(find_tables(outputs)) == 2


@pytest.mark.parametrize(
    "outputs",
    [
        None,
        42,
        "text",
        [None, 1, "x", [], {}],
        [{"output_type": "display_data"}],
        [{"output_type": "display_data", "data": None}],
        [{"output_type": "display_data", "data": {"text/html": 5}}],
        [{"output_type": "display_data", "data": {"text/html": ["<table>", None, 3, "<th>epoch</th>"]}}],
        [{"output_type": "display_data", "data": {"text/html": "<table><tr><th>epoch</th><th>x"}}],
        [{"output_type": "stream", "name": None, "text": None}],
        [{"output_type": "stream", "text": ["epoch     a\n", 5]}],
        [{"output_type": "error"}],
        [{"output_type": "stream", "name": "stdout", "text": "[0, '00:01', " + "[" * 5000 + "]\n"}],
        [{"output_type": "stream", "name": "stdout", "text": "epoch     train_loss\n" + "0" * 100000 + "\n"}],
        [{"output_type": "display_data", "data": {"text/html": "<tr>" * 20000 + "<th>epoch</th>" + "<td>" * 20000}}],
        # shapes that made a regex rescan the rest of the text from every position (quadratic):
        # they finish at once when each character is looked at a bounded number of times
        [{"output_type": "display_data", "data": {"text/html": "<table><tr><th>epoch</th><th>a</th></tr><tr>" + "<td>" * 50000 + "</td x"}}],
        [{"output_type": "display_data", "data": {"text/html": "<table><tr><th>epoch</th></tr><tr><td colspan=" + " " * 200000 + "x"}}],
        [{"output_type": "display_data", "data": {"text/html": "<table><tr><th>epoch</th></tr><tr><td>" + "<" * 200000 + "</td></tr>"}}],
        [{"output_type": "stream", "name": "stdout", "text": "[0, " + " " * 200000 + "(, '00:00']\n[0, a" + " " * 200000 + "(, '00:00']\n"}],
        [{"output_type": "stream", "name": "stdout", "text": "epoch     a\n" + "A" * 100000 + "\bC" + "\b\bD" * 30000 + "\n"}],
    ],
)
def test_never_raises_on_junk(outputs):
    result = find_tables(outputs)
    assert isinstance(result, list)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="<>/th epochd\r\n\b[]',0123:.#na", max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["output_type", "data", "text", "name", "text/html", "text/plain", "text/markdown"]),
        children, max_size=4),
    max_leaves=10,
)
_output = st.fixed_dictionaries(
    {"output_type": st.sampled_from(["stream", "display_data", "execute_result", "error", "update_display_data", "x"])},
    optional={"data": st.dictionaries(st.sampled_from(["text/html", "text/plain", "text/markdown", "image/png"]), _json),
              "text": _json, "name": st.sampled_from(["stdout", "stderr", None])},
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_output | _json, max_size=6))
def test_never_raises_fuzz(outputs):
    for table in find_tables(outputs):
        assert isinstance(table, ProgressTable)


# --------------------------------------------------------------------------- many tables, speed


def test_three_hundred_tables_in_order():
    style, table = load("html_1.0.3_two_fits")[:2]
    html = joined(table["data"]["text/html"])
    outputs = []
    for k in range(300):
        marked = copy.deepcopy(table)
        marked["data"]["text/html"] = html.replace("0.611317", f"{k:.6f}")
        outputs += [style, marked]
    start = time.perf_counter()
    tables = find_tables(outputs)
    elapsed = time.perf_counter() - start
    assert len(tables) == 300
    assert [t.rows[0][1] for t in tables] == [f"{k:.6f}" for k in range(300)]
    assert [t.output_index for t in tables] == list(range(1, 600, 2))
    assert elapsed < 5  # about 10 ms here; generous for slow CI


def test_three_hundred_list_tables():
    text = "".join(f"[0, 0.{k}, '00:01']\n[1, 0.{k}, '00:01']\n" for k in range(300))
    tables = find_tables([{"output_type": "stream", "name": "stdout", "text": text}])
    assert len(tables) == 300 and [t.rows[0][1] for t in tables] == [f"0.{k}" for k in range(300)]


# --------------------------------------------------------------------------- reference notebook


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference notebook not present")
def test_reference_notebook_conformance():
    nb = json.loads(REFERENCE.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    (fit,) = [c for c in cells if "learn.fit_one_cycle(5, 1e-1)" in "".join(c["source"])]
    tables = find_tables(fit["outputs"])
    assert [(t.format, t.columns, len(t.rows), t.blank, t.interrupted) for t in tables] == [
        ("html", NAMES, 5, False, False),
        ("html", NAMES, 10, False, False),
    ]
    assert tables[0].rows[0] == ("0", "0.611317", "115578.328125", "0.101347", "00:01")
    (lr_find, *_) = [c for c in cells if "".join(c["source"]).strip() == "learn.lr_find()"]
    assert find_tables(lr_find["outputs"]) == [ProgressTable(None, (), "html", 1, blank=True)]
    total = sum(len(find_tables(c.get("outputs", []))) for c in cells)
    assert total == 12  # 6 epoch tables, 4 lr_find blanks, 2 blank get_preds bars


def test_huge_epoch_numbers_do_not_break_the_stream():
    text = "[" + "9" * 5000 + ", 0.5, '00:01']\n[0, 0.5, '00:01']\n"
    (t,) = find_tables([{"output_type": "stream", "name": "stdout", "text": text}])
    assert t.rows == (("0", "0.5", "00:01"),)


# --------------------------------------------------------------------------- row parsing fast path


def test_plain_rows_read_fastprogress_bodies_in_one_pass():
    # the body of fastprogress 1.0.x's table, from its second <tr> on
    rows = "".join("<tr>\n" + "".join(f"      <td>{v}</td>\n" for v in row) + "    </tr>\n    " for row in rows_of(3))
    assert plain_rows(rows + "</tbody>\n", 5) == rows_of(3)


_VALUES = st.sampled_from(["0", "0.500000", "00:01", "#na#", "", " 1 ", "a b", "&lt;", "<b>x</b>", "\xa0x", "x\n"])
_GAPS = st.sampled_from(["", "\n", "\n      ", " ", "\t", "x", "<br>", "\u2003"])
_TR = st.sampled_from(["<tr>", "<tr>", "<tr style='a'>", "<TR>", "<tr x='<td>'>", "<track>", "<tr\n>"])
_TD = st.sampled_from([("<td>", "</td>")] * 4 + [("<TD>", "</TD>"), ("<th>", "</th>"), ("<td class='c'>", "</td>"),
                                                  ("<td>", ""), ("<td>", "</td >")])
_TRAILER = st.sampled_from(["", "</tbody>\n", "  </tbody>\n", "<tfoot><td>9</td></tfoot>", "<td>x</td>", "</TBODY>", "<Td>z"])


@st.composite
def table_bodies(draw):
    width = draw(st.integers(1, 5))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        n = draw(st.sampled_from([width] * 4 + [0, width - 1, width + 1]))
        cells = "".join(draw(_GAPS) + td[0] + draw(_VALUES) + td[1] for td in draw(st.lists(_TD, min_size=n, max_size=n)))
        end = draw(st.sampled_from(["</tr>", "</tr>", "</tr>", "", "</TR>"]))
        rows.append(draw(_TR) + cells + draw(_GAPS) + end + draw(_GAPS))
    return "".join(rows) + draw(_TRAILER), width


@settings(max_examples=500, deadline=None)
@given(table_bodies())
def test_plain_rows_agree_with_the_row_by_row_parse(case):
    body, width = case
    fast = plain_rows(body, width)
    if fast is not None:
        assert fast == rows_one_by_one(body, width)
    assert body_rows(body, width) == rows_one_by_one(body, width)


@pytest.mark.parametrize(
    "body",
    [
        "<tr><td>1</td><td>2</td></tr><tr><td>3</td></tr>",  # a short row (placed later, by meaning)
        "<tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td><td>5</td></tr>",  # a long one cut
        "<tr><td> 1 </td><td>2</td></tr>",  # values trimmed
        "<tr><td>&lt;1</td><td><b>2</b></td></tr>",  # entities, inner tags
        "<tr><td>1</td><td>2</td></tr><TD>3</TD>",  # a cell after the last row
        "<tr><td>1</td><td>2</td></tr>x<tr><td>3</td><td>4</td></tr>",  # text between rows
        "<tr><td>1<td>2</tr>",  # closing tags left out
    ],
)
def test_irregular_bodies_take_the_row_by_row_parse(body):
    assert plain_rows(body, 2) is None
    assert body_rows(body, 2) == rows_one_by_one(body, 2)


# --------------------------------------------------------------------------- short rows (issue 9, pattern 4)

COLS = ("epoch", "train_loss", "valid_loss", "accuracy", "time")


def html_table(columns, rows) -> list[dict]:
    return nbf.legacy_fit_outputs(columns, rows)


def test_short_rows_are_placed_by_meaning_as_fastai_logs_them():
    # fastai v2 Recorder: epoch, train values unless training was cancelled, valid values
    # unless validation was cancelled, then the time (fastai/learner.py, _train_mets/_valid_mets)
    rows = [("0", "00:00"), ("1", "0.500000", "00:01"), ("2", "0.400000", "0.900000", "00:01"),
            ("3", "0.300000", "0.200000", "0.950000", "00:02")]
    (t,) = find_tables(html_table(COLS, rows))
    assert t.rows == (
        ("0", "", "", "", "00:00"),  # both cancelled (ShortEpochCallback())
        ("1", "0.500000", "", "", "00:01"),  # validation cancelled: the lone value is the training loss
        ("2", "", "0.400000", "0.900000", "00:01"),  # training cancelled: valid_loss and the metric
        ("3", "0.300000", "0.200000", "0.950000", "00:02"),
    )
    (note,) = t.notes
    assert note.startswith("3 rows shorter than the header (") and note.endswith("values placed by meaning")
    assert "training cancelled" in note and "validation cancelled" in note


def test_a_lone_loss_without_metrics_is_the_validation_loss_and_said_so():
    (t,) = find_tables(html_table(("epoch", "train_loss", "valid_loss", "time"), [("0", "12.395771", "00:00")]))
    assert t.rows == (("0", "", "12.395771", "00:00"),)
    (note,) = t.notes
    assert "taken as valid_loss" in note and "training loss if validation was cancelled" in note


def test_a_time_never_lands_in_a_loss_or_metric_column():
    for row in [("0", "00:00"), ("0", "0:01:02"), ("0", "00:03", "00:04")]:
        placed, why = place_row(row, COLS)
        assert placed[-1] == row[-1] and not any(TIME.match(v) for v in placed[1:-1]), (row, placed)
        assert why is not None
    assert place_row(("0", "0.5", "0.4", "0.3", "00:01"), COLS) == (("0", "0.5", "0.4", "0.3", "00:01"), None)


def test_fastai_v1_short_rows_fill_from_the_left():
    # fastai v1 always logs the training loss; without validation it writes #na# and drops the metrics
    (t,) = find_tables(html_table(COLS, [("0", "0.912345", "#na#", "00:01")]))
    assert t.rows == (("0", "0.912345", "#na#", "", "00:01"),)
    assert "fastai v1" in t.notes[0]


def test_train_metrics_layout_uses_the_train_prefix():
    cols = ("epoch", "train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "valid_f1", "time")
    (t,) = find_tables(html_table(cols, [("0", "0.5", "0.6", "00:01"), ("1", "0.4", "0.3", "0.2", "00:01")]))
    assert t.rows == (("0", "0.5", "0.6", "", "", "", "00:01"), ("1", "", "", "0.4", "0.3", "0.2", "00:01"))


def console_line(values, names) -> str:
    """fastprogress 1.0.3 ConsoleMasterBar.write(line, table=True): values zipped with the padded names."""
    padded = [n + " " * (8 - len(n)) if len(n) < 8 else n for n in names]
    return "".join(t + " " * (2 + len(n) - len(t)) for t, n in zip(values, padded))


def test_console_short_rows_are_placed_by_meaning():
    names = list(COLS)
    text = "  ".join(n + " " * (8 - len(n)) if len(n) < 8 else n for n in names) + "\n"
    for values in [("0", "00:00"), ("1", "0.400000", "0.900000", "00:01"), ("2", "0.3", "0.2", "0.1", "00:02")]:
        bar = "\rEpoch 1/3 : |----| 0.00% [0/4 00:00<00:00]"
        text += bar + "\r" + "\rEpoch 1/3 :" + " " * (len(bar) - 12) + "\r" + console_line(values, names) + "\n"
    (t,) = find_tables([nbf.stream_output(text)])
    assert t.rows == (("0", "", "", "", "00:00"), ("1", "", "0.400000", "0.900000", "00:01"), ("2", "0.3", "0.2", "0.1", "00:02"))
    assert t.notes and t.notes[0].startswith("2 rows shorter")
    (t,) = find_tables(load("console_0.2.6_v1"))  # '' values in a full row are not a short row
    assert t.notes == ()
    # without the blanking line, a short row over a longer bar: Jupyter shows the text after
    # the last \r, a terminal keeps the bar's end; the row is read as Jupyter shows it
    unblanked = text.replace("\rEpoch 1/3 :" + " " * (len("\rEpoch 1/3 : |----| 0.00% [0/4 00:00<00:00]") - 12) + "\r", "\r")
    assert unblanked != text
    (t,) = find_tables([nbf.stream_output(unblanked)])
    assert t.rows[0] == ("0", "", "", "", "00:00")


def align_one(table, metrics):
    learner = LearnerCreated(1, "learn", "vision_learner", "resnet18", False, metrics)
    call = TrainingCall(1, "learn", "fit", len(table.rows), "1e-3", call_text="learn.fit(1)")
    cells = [CodeCell(0, 1, "", ())]
    return align_notebook("nb.ipynb", cells, [CellAnalysis((learner, call))], [[table]])


def test_no_bar_short_rows_take_their_width_from_metrics():
    rows = (("0", "12.395771", "00:00"), ("1", "0.4", "0.3", "00:01"), ("2", "00:00"), ("3", "0.5", "0.4", "0.3", "00:01"))
    table = ProgressTable(None, rows, "list", 0)
    runs, diags = align_one(table, ("accuracy",))
    (phase,) = runs[0].phases
    assert phase.columns == ("epoch", "train_loss", "valid_loss", "accuracy", "time")
    assert phase.rows == (
        ("0", "12.395771", "", "", "00:00"),  # one metric: a lone loss can only be the training loss
        ("1", "", "0.4", "0.3", "00:01"),
        ("2", "", "", "", "00:00"),
        ("3", "0.5", "0.4", "0.3", "00:01"),
    )
    assert [d.message for d in diags if "shorter than the header" in d.message] == [
        d.message for d in diags if d.message.startswith("3 rows shorter than the header")
    ] and len(diags) == 1
    runs, diags = align_one(ProgressTable(None, (("0", "12.395771", "00:00"),), "list", 0), None)
    assert runs[0].phases[0].rows == (("0", "", "12.395771", "00:00"),)
    assert runs[0].phases[0].columns == ("epoch", "train_loss", "valid_loss", "time")
    assert any("taken as valid_loss" in d.message and "metrics=" in d.message for d in diags)


def test_no_bar_rows_all_narrower_than_metrics_say_are_a_metrics_mismatch():
    # metrics= names two metrics but no row holds them: the metrics were misread more likely
    # than every epoch cancelled its training: generic names, values kept in order, a warning
    rows = (("0", "0.5", "0.4", "0.3", "00:01"), ("1", "0.4", "0.3", "0.2", "00:01"))
    runs, diags = align_one(ProgressTable(None, rows, "list", 0), ("accuracy", "f1"))
    (phase,) = runs[0].phases
    assert phase.columns == ("epoch", "train_loss", "valid_loss", "metric_1", "time") and phase.rows == rows
    assert any("metrics= names 2 metrics but the rows hold 1" in d.message for d in diags)
    runs, diags = align_one(ProgressTable(None, (("0", "00:00"),), "list", 0), ("accuracy", "f1"))
    assert runs[0].phases[0].columns == ("epoch", "train_loss", "valid_loss", "accuracy", "f1", "time")


def test_table_notes_become_diagnostics_of_their_cell():
    table = ProgressTable(COLS, (("0", "", "", "", "00:00"),), "html", 0, notes=("1 row shorter than the header (x)",))
    runs, diags = align_one(table, ("accuracy",))
    assert [(d.message, d.cell) for d in diags] == [("1 row shorter than the header (x)", 0)]


# --------------------------------------------------------------------------- early fastai v1 (issue 9, pattern 5)


def test_early_fastai_v1_bracketed_times_are_read():
    outputs = load("console_v1_0.1.15_brackets")
    text = joined(outputs[0]["text"])
    assert text.startswith("Total time: 00:0") and "0.100812       (00:0" in text
    (t,) = find_tables(outputs)
    assert (t.format, t.columns, t.notes) == ("console", ("epoch", "train_loss", "valid_loss", "error_rate", "time"), ())
    assert [r[:4] for r in t.rows] == [
        ("1", "1.182160", "0.314141", "0.100812"),
        ("2", "115578.328125", "0.262418", "0.084574"),  # wider than its column: no glue in this layout
        ("3", "0.325641", "0.231400", "11.500000"),
    ]
    assert all(TIME.match(r[4]) for r in t.rows)


def test_earliest_fastai_v1_names_with_spaces_become_the_usual_columns():
    outputs = load("console_v1_0.1.10_brackets")  # fastai 1.0.0-1.0.13: 'train loss', 'valid loss'
    assert "epoch  train loss  valid loss  accuracy\n" in joined(outputs[1]["text"])
    (t,) = find_tables(outputs)
    assert t.columns == ("epoch", "train_loss", "valid_loss", "accuracy", "time")
    assert [r[:4] for r in t.rows] == [("1", "1.182160", "0.314141", "0.899188"), ("2", "0.498787", "0.262418", "0.915426")]
    assert t.output_index == 1


def test_early_fastai_v1_short_row_and_two_fits():
    (t,) = find_tables(load("console_v1_0.1.15_two_fits"))  # clear_output() leaves the last fit only
    assert [r[:4] for r in t.rows] == [("1", "0.280000", "0.220000", "0.070000")]
    text = "Total time: 00:02\nepoch  train_loss  valid_loss  error_rate\n1      0.280000    (00:01)\n"
    (t,) = find_tables([nbf.stream_output(text)])
    assert t.rows == (("1", "0.280000", "", "", "00:01"),)  # v1 always logs the training loss first
    assert "fastai v1" in t.notes[0]


def test_early_fastai_v1_table_goes_through_the_pipeline(tmp_path):
    cells = [nbf.code_cell(nbf.LEARNER.replace("lwlrap", "error_rate"), count=1),
             nbf.code_cell("learn.fit_one_cycle(3, 1e-2)", load("console_v1_0.1.15_brackets"), count=2)]
    result = extract_notebook(nbf.write(tmp_path / "v1.ipynb", nbf.notebook(cells)))
    (run,) = result.runs
    (phase,) = run.phases
    assert phase.recorded_epochs == 3 and phase.columns[-1] == "time"
    assert not any("empty" in d.message for d in result.diagnostics)


# --------------------------------------------------------------------------- spans (issue 14)


def span_table(body_rows: list[str]) -> list[dict]:
    header = "".join(f"<th>{c}</th>" for c in COLS)
    html = f'<table border="1" class="dataframe"><thead><tr>{header}</tr></thead><tbody>{"".join(body_rows)}</tbody></table>'
    return [nbf.html_output(html)]


def test_rowspan_values_repeat_down_their_column():
    (t,) = find_tables(span_table([
        '<tr><td>0</td><td>0.5</td><td>0.4</td><td rowspan="2">0.9</td><td>00:01</td></tr>',
        "<tr><td>1</td><td>0.3</td><td>0.2</td><td>00:01</td></tr>",
        "<tr><td>2</td><td>0.1</td><td>0.1</td><td>0.8</td><td>00:01</td></tr>",
    ]))
    assert t.rows == (("0", "0.5", "0.4", "0.9", "00:01"), ("1", "0.3", "0.2", "0.9", "00:01"), ("2", "0.1", "0.1", "0.8", "00:01"))
    assert t.notes == ("1 row takes values from a rowspan cell above, repeated down its column as displayed",)


def test_colspan_rows_are_left_out_and_said():
    (t,) = find_tables(span_table([
        "<tr><td>0</td><td COLSPAN='2'>0.5</td><td>0.9</td><td>00:01</td></tr>",
        "<tr><td>1</td><td>0.3</td><td>0.2</td><td>0.9</td><td>00:01</td></tr>",
    ]))
    assert t.rows == (("1", "0.3", "0.2", "0.9", "00:01"),)
    assert "1 row with a cell spanning several columns left out" in t.notes[0]
    html = joined(span_table([])[0]["data"]["text/html"]).replace("<th>valid_loss</th><th>accuracy</th>", '<th colspan="2">valid</th>')
    html = html.replace("</tbody>", "<tr><td>0</td><td>0.5</td><td>0.4</td><td>0.9</td><td>00:01</td></tr></tbody>")
    (t,) = find_tables([nbf.html_output(html)])
    assert t.rows == () and "the header has cells spanning" in t.notes[0]


def test_span_one_is_no_span():
    (t,) = find_tables(span_table(['<tr><td colspan="1">0</td><td rowspan=1>0.5</td><td>0.4</td><td>0.9</td><td>00:01</td></tr>']))
    assert t.rows == (("0", "0.5", "0.4", "0.9", "00:01"),) and t.notes == ()


# --------------------------------------------------------------------------- bounded work (issue 14)


class _CountingPattern:
    """A compiled regex that counts its ``match`` calls."""

    def __init__(self, pattern):
        self.pattern, self.calls = pattern, 0

    def match(self, *args):
        self.calls += 1
        return self.pattern.match(*args)


def test_glued_console_rows_cost_at_most_their_length(monkeypatch):
    # every split of a digit run into values of >= 10 characters fits the layout: the old
    # exhaustive search made 2,000 regex calls per 260-character line (~9 s/MB)
    counter = _CountingPattern(console._TYPICAL)
    monkeypatch.setattr(console, "_TYPICAL", counter)
    header = "epoch     " + "  ".join(f"m{i:<8}" for i in range(12)) + "\n"
    rows = "".join("0" + " " * 9 + "1" * k + "\n" for k in range(10, 250)) * 4
    find_tables([nbf.stream_output(header + rows)])
    assert counter.calls <= len(rows) // 2
    counter.calls = 0
    find_tables(load("console_1.0.3"))  # real rows still get the full search (glued values resolved)
    assert 0 < counter.calls < 200


def test_stream_memory_stays_below_the_text_size():
    import tracemalloc

    bar = "\rEpoch 1/3 : |" + "█" * 40 + "| 100.00% [4/4 00:00<00:00]"
    text = "epoch     train_loss  valid_loss  time    \n" + (bar * 8 + "\n") * 20000  # ~6 MB, one table
    output = nbf.stream_output(text)
    del text
    size = sum(len(line) for line in output["text"])
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        (t,) = find_tables([output])
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert t.rows == ()
    assert peak < size // 4  # the old join + split held the text two to three times over


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "bc", "\b", "\b\b", "é", "xyz"]), max_size=30).map("".join))
def test_backspaces_erase_like_a_terminal(line):
    shown: list[str] = []
    for ch in line:
        if ch == "\b":
            if shown:
                shown.pop()
        else:
            shown.append(ch)
    assert apply_backspaces(line) == "".join(shown)


def _split_list_reference(body: str):
    """The character-by-character splitter the regex fast path replaced (kept as the oracle)."""
    items, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
        i += 1
    if quote or depth:
        return None
    items.append(body[start:])
    out = []
    for item in items:
        item = item.strip()
        if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
            item = item[1:-1]
        out.append(item)
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["0", "0.5", " ", "  ", "\t", ",", ", ", "'00:01'", '"a"', "'a,b'", "None", "[", "]",
                                 "(", ")", "{1: 2}", "'", "\\", "'\\''", "tensor(0.5)", "a b", "x\ny"]), max_size=14).map("".join))
def test_list_splitting_agrees_with_the_character_walk(body):
    assert listing._split_list(body) == _split_list_reference(body)
