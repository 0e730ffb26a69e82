"""Reading notebooks: versions, bad files; the order cells are taken in (runs.order)."""

from __future__ import annotations

import json

import pytest

from audiometrics.errors import NotebookError
from audiometrics.read.notebook import parse_notebook, read_notebook
from audiometrics.runs.order import cells_never_run, in_execution_order
from tests import nbfactory as nbf


def test_reads_v4_and_keeps_code_cells_with_document_indices(tmp_path):
    doc = nbf.notebook([nbf.markdown_cell("# title"), nbf.code_cell("x = 1"), nbf.code_cell("y = 2")])
    nb = read_notebook(nbf.write(tmp_path / "a.ipynb", doc))
    assert [c.index for c in nb.cells] == [1, 2]
    assert [c.source for c in nb.cells] == ["x = 1", "y = 2"]
    assert nb.order == "document"  # the reader keeps document order; alignment orders
    assert in_execution_order(nb).order == "execution"
    assert nb.notes == in_execution_order(nb).notes == ()


def test_the_reader_keeps_document_order_and_in_execution_order_orders():
    doc = nbf.notebook([nbf.code_cell("a", count=2), nbf.code_cell("b", count=1)], number_cells=False)
    nb = parse_notebook(json.dumps(doc), "x.ipynb")
    assert [c.source for c in nb.cells] == ["a", "b"] and nb.order == "document" and nb.notes == ()
    ordered = in_execution_order(nb)
    assert [c.source for c in ordered.cells] == ["b", "a"] and ordered.order == "execution"
    assert ordered.notes == ("cells taken in execution order, which differs from document order",)


@pytest.mark.parametrize("minor", [0, 1, 2, 3, 4, 5])
def test_all_v4_minors(minor):
    doc = nbf.notebook([nbf.code_cell("x = 1")])
    doc["nbformat_minor"] = minor
    assert parse_notebook(json.dumps(doc)).nbformat_minor == minor


def test_execution_order_used_and_reported_when_it_differs():
    doc = nbf.notebook(
        [nbf.code_cell("a", count=3), nbf.code_cell("b", count=1), nbf.code_cell("c", count=2)], number_cells=False
    )
    nb = in_execution_order(parse_notebook(json.dumps(doc), "x.ipynb"))
    assert [c.source for c in nb.cells] == ["b", "c", "a"]
    assert nb.order == "execution"
    assert any("execution order" in n for n in nb.notes)


def test_a_cell_that_ran_without_a_count_follows_the_cell_above_it_and_counts_order_the_rest():
    # issue 9, pattern 2: counts order the cells they can; the uncounted cell keeps its place
    cells = [
        nbf.code_cell("a", [nbf.stream_output("hi\n")], count=None),
        nbf.code_cell("b", count=5),
        nbf.code_cell("b2", [nbf.stream_output("hi\n")], count=None),
        nbf.code_cell("c", count=2),
    ]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(cells, number_cells=False)), "x.ipynb"))
    assert [c.source for c in nb.cells] == ["a", "c", "b", "b2"]
    assert nb.order == "execution"
    (note,) = nb.notes
    assert "2 cells that ran without an execution count (cell 1, cell 3)" in note


def test_mixed_counts_in_document_order_warn_once_for_cells_with_output():
    cells = [
        nbf.code_cell("a", count=1),
        nbf.code_cell("b", [nbf.stream_output("x\n")], count=None),
        nbf.code_cell("c", count=0),
        nbf.code_cell("d", [nbf.stream_output("x\n")], count=None),
        nbf.code_cell("e", count=5),
    ]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(cells, number_cells=False)), "x.ipynb"))
    assert [(c.source, c.execution_count) for c in nb.cells] == [("a", 1), ("b", None), ("c", None), ("d", None), ("e", 5)]
    assert nb.notes == ("2 cells that ran without an execution count (cell 2, cell 4) taken right after the cell above them",)
    cleared = [nbf.code_cell("a", count=1), nbf.code_cell("b", count=None), nbf.code_cell("c", count=3)]
    assert in_execution_order(parse_notebook(json.dumps(nbf.notebook(cleared, number_cells=False)))).notes == ()


def test_repeated_counts_after_kernel_restart_fall_back_to_document_order():
    cells = [nbf.code_cell("a", count=1), nbf.code_cell("b", count=2), nbf.code_cell("c", count=1)]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(cells, number_cells=False)), "x.ipynb"))
    assert [c.source for c in nb.cells] == ["a", "b", "c"]
    assert any("restart" in n for n in nb.notes)


def test_a_repeated_count_is_said_even_in_document_order():
    cells = [nbf.code_cell("a", count=1), nbf.code_cell("b", count=1), nbf.code_cell("c", count=2)]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(cells, number_cells=False)), "x.ipynb"))
    assert [c.source for c in nb.cells] == ["a", "b", "c"]
    assert any("execution count 1 repeat" in n for n in nb.notes)


def test_cells_that_never_ran_come_last():
    cells = [
        nbf.code_cell("cleared above", count=None),
        nbf.code_cell("second", count=2),
        nbf.code_cell("cleared", count=None),
        nbf.code_cell("first", count=1),
        nbf.code_cell("never ran 2", count=None),
    ]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(cells, number_cells=False))))
    assert [c.source for c in nb.cells] == ["cleared above", "first", "second", "cleared", "never ran 2"]
    assert cells_never_run(nb.cells) == {4}


def test_stripped_counts_mean_every_cell_ran_unless_no_cell_has_an_output():
    # issue 9, pattern 2: nbdev strips counts; a learner cell prints nothing but ran
    stripped = [nbf.code_cell("learn = make()", count=None), nbf.code_cell("learn.fit(1)", [nbf.stream_output("x\n")], count=None), nbf.code_cell("tail", count=None)]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(stripped, number_cells=False))))
    assert [c.source for c in nb.cells] == ["learn = make()", "learn.fit(1)", "tail"]
    assert cells_never_run(nb.cells) == frozenset() and nb.notes == ()
    unexecuted = [nbf.code_cell("learn = make()", count=None), nbf.code_cell("learn.fit(1)", count=None)]
    nb = in_execution_order(parse_notebook(json.dumps(nbf.notebook(unexecuted, number_cells=False))))
    assert cells_never_run(nb.cells) == {0, 1}


def test_v3_notebook_is_converted(tmp_path):
    v3 = {
        "metadata": {"name": ""},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "collapsed": False,
                        "input": "learn.fit(1)",
                        "language": "python",
                        "metadata": {},
                        "outputs": [{"output_type": "stream", "stream": "stdout", "text": "hello\n"}],
                        "prompt_number": 1,
                    }
                ],
                "metadata": {},
            }
        ],
    }
    nb = parse_notebook(json.dumps(v3), "old.ipynb")
    assert nb.cells[0].source == "learn.fit(1)"
    assert nb.cells[0].execution_count == 1
    assert nb.cells[0].outputs[0]["output_type"] == "stream"
    assert any("converted" in n for n in nb.notes)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"cells": [', "truncated"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\xff\xfe\xfa not utf8", "UTF-8"),
        (b"[1, 2, 3]", "not a notebook"),
        (b'{"name": "package.json"}', "nbformat"),
        (b'{"nbformat": 5, "cells": []}', "unsupported nbformat version 5"),
        (b'{"nbformat": 2, "worksheets": []}', "unsupported nbformat version 2"),
        (b'{"nbformat": "4", "cells": []}', "not an integer"),
        (b'{"nbformat": 4, "nbformat_minor": 4}', "'cells'"),
        (b'{"nbformat": 4, "cells": [{"source": "x"}]}', "cell_type"),
        (b'{"nbformat": 4, "cells": [{"cell_type": "code", "outputs": 3}]}', "outputs"),
        (b'{"nbformat": 4, "cells": [1]}', "not an object"),
        (b'{"nbformat": 4, "cells": [] garbage', "invalid JSON"),
    ],
)
def test_bad_files_get_a_clear_reason_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad file.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookError) as info:
        read_notebook(path)
    assert str(path) in str(info.value)
    assert reason in info.value.reason
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(NotebookError, match="no such file"):
        read_notebook(tmp_path / "nope.ipynb")
    with pytest.raises(NotebookError, match="directory"):
        read_notebook(tmp_path)
