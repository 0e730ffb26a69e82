"""End to end: notebook files → epoch rows, through every stage."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from audiometrics import extract
from audiometrics.pipeline import extract_files, extract_notebook
from audiometrics.epochs.csv_file import render_csv
from audiometrics.epochs.schema import SCHEMA
from tests import nbfactory as nbf

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"
REFERENCE_NOTEBOOK = SHARED / "notebooks" / "cnn-2d-basic-solution-powered-by-fast-ai.ipynb"
REFERENCE_CSV = SHARED / "expected" / "cnn-2d-basic-solution-powered-by-fast-ai.csv"

LEARNER = nbf.LEARNER


def fit_cell(source: str, *tables: int, columns=nbf.COLUMNS) -> dict:
    outputs = []
    for n in tables:
        outputs += nbf.legacy_fit_outputs(columns, nbf.epoch_rows(n))
    return nbf.code_cell(source, outputs)


def write_nb(tmp_path: Path, cells, name="nb.ipynb", **kwargs) -> Path:
    return nbf.write(tmp_path / name, nbf.notebook(cells, **kwargs))


def phases_of(path: Path):
    result = extract_notebook(path)
    return [[(p.number, p.learning_rate, p.planned_epochs, p.recorded_epochs) for p in run.phases] for run in result.runs], result


@pytest.mark.skipif(not REFERENCE_NOTEBOOK.exists(), reason="reference notebook not present")
def test_reference_notebook_matches_expected_csv():
    result = extract_notebook(REFERENCE_NOTEBOOK)
    rows = [r for r in csv.DictReader(io.StringIO(render_csv(_rows(result))))]
    with open(REFERENCE_CSV, newline="") as handle:
        expected = list(csv.DictReader(handle))
    assert len(rows) == len(expected) == 115
    assert rows == expected
    assert [p.learning_rate for p in result.runs[0].phases] == [
        "1e-1", "1e-2", "3e-3", "1e-3", "slice(1e-3, 3e-3)", "slice(1e-4, 1e-3)",
    ]
    assert len(result.runs) == 1  # the re-created, untrained learner makes no run


def _rows(result):
    from audiometrics.epochs.rows import rows_from_runs

    return rows_from_runs(result.runs)


def test_two_fits_in_one_cell(tmp_path):
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(5, 1e-1)\nlearn.fit_one_cycle(10, 1e-2)", 5, 10)])
    phases, _ = phases_of(path)
    assert phases == [[(1, "1e-1", 5, 5), (2, "1e-2", 10, 10)]]


def test_empty_table_then_full_table_in_one_cell(tmp_path):
    outputs = nbf.legacy_fit_outputs(nbf.COLUMNS, []) + nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(10))
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(5, 1e-1)\nlearn.fit_one_cycle(10, 1e-2)", outputs)])
    phases, result = phases_of(path)
    assert phases == [[(1, "1e-1", 5, 0), (2, "1e-2", 10, 10)]]
    assert {row["learning_rate"] for row in _rows(result)} == {"1e-2"}
    assert any("no epochs recorded" in d.message for d in result.diagnostics)


def test_incomplete_table(tmp_path):
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(20, 3e-3)", 5)])
    phases, result = phases_of(path)
    assert phases == [[(1, "3e-3", 20, 5)]]
    assert result.runs[0].phases[0].incomplete
    assert any("5 of 20 epochs recorded" in d.message for d in result.diagnostics)


def test_interrupted_fit_keeps_rows_and_marks_phase(tmp_path):
    outputs = nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(3)) + [nbf.error_output()]
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(10, 1e-2)", outputs)])
    phases, result = phases_of(path)
    assert phases == [[(1, "1e-2", 10, 3)]]
    assert result.runs[0].phases[0].interrupted


def test_fine_tune_writes_effective_learning_rates(tmp_path):
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("learn.fine_tune(3)", 1, 3)])
    phases, _ = phases_of(path)
    assert phases == [[(1, "slice(2e-3)", 1, 1), (2, "slice(1e-5, 1e-3)", 3, 3)]]


def test_fit_in_a_loop(tmp_path):
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("for lr in [1e-2, 1e-3]:\n    learn.fit_one_cycle(2, lr)", 2, 2)])
    phases, _ = phases_of(path)
    assert [p[:2] for p in phases[0]] == [(1, "1e-2"), (2, "1e-3")]


def test_loop_cell_printing_hundreds_of_tables(tmp_path):
    path = write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("for i in range(300):\n    learn.fit_one_cycle(1, 1e-3)", *[1] * 300)])
    phases, result = phases_of(path)
    assert len(phases[0]) == 300
    assert phases[0][-1] == (300, "1e-3", 1, 1)


def test_out_of_order_execution_counts(tmp_path):
    cells = [
        nbf.code_cell(LEARNER, count=1),
        fit_cell("learn.fit_one_cycle(2, 1e-2)", 2) | {"execution_count": 3},
        fit_cell("learn.fit_one_cycle(4, 1e-1)", 4) | {"execution_count": 2},
    ]
    path = write_nb(tmp_path, cells, number_cells=False)
    phases, result = phases_of(path)
    assert phases == [[(1, "1e-1", 4, 4), (2, "1e-2", 2, 2)]]
    assert any("execution order" in d.message for d in result.diagnostics)


def test_dataframe_and_lr_find_outputs_are_ignored(tmp_path):
    cells = [
        nbf.code_cell(LEARNER + "\nlearn.lr_find()", nbf.lr_find_outputs()),
        fit_cell("learn.fit_one_cycle(2, 1e-2)", 2),
        nbf.code_cell("df.head()", [nbf.dataframe_head_output()]),
    ]
    phases, result = phases_of(write_nb(tmp_path, cells))
    assert phases == [[(1, "1e-2", 2, 2)]]
    assert result.diagnostics == ()


def test_two_learners_and_missing_metric_column_across_runs(tmp_path):
    columns2 = ("epoch", "train_loss", "valid_loss", "accuracy_multi", "lwlrap", "time")
    rows2 = [(str(i), "0.5", "0.4", "0.98", "0.3", "00:02") for i in range(2)]
    cells = [
        nbf.code_cell(LEARNER),
        fit_cell("learn.fit_one_cycle(1, 1e-2)", 1),
        nbf.code_cell(
            "model = timm.create_model('deit_tiny_patch16_224', pretrained=True, num_classes=80)\n"
            "learn2 = Learner(dls, model, metrics=[accuracy_multi, lwlrap])\nlearn2.fit_one_cycle(2, 3e-3)",
            nbf.legacy_fit_outputs(columns2, rows2),
        ),
    ]
    path = write_nb(tmp_path, cells, name="two learners.ipynb")
    frame = extract(path)
    assert list(frame.columns[:10]) == list(SCHEMA)
    assert frame["model"].tolist() == ["resnet18", "deit_tiny_patch16_224", "deit_tiny_patch16_224"]
    assert frame["pretrained"].tolist() == [False, True, True]
    assert pd.isna(frame.loc[0, "accuracy_multi"]) and frame.loc[1, "accuracy_multi"] == 0.98
    assert frame["notebook"].unique().tolist() == ["two learners.ipynb"]
    assert frame["run"].nunique() == 2


def test_non_numeric_cells_are_kept_as_text_and_missing_in_the_loader(tmp_path):
    rows = [("0", "0.5", "#na#", "oops", "00:01"), ("1", "None", "", "nan", "00:01")]
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, rows))]
    path = write_nb(tmp_path, cells)
    result = extract_notebook(path)
    assert [r["lwlrap"] for r in _rows(result)] == ["oops", "nan"]
    frame = extract(path)
    assert frame["lwlrap"].isna().all() and frame["valid_loss"].isna().all()


def test_bad_files_reported_and_good_files_still_extracted(tmp_path):
    good = write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(2, 1e-2)", 2)], name="good one.ipynb")
    (tmp_path / "truncated.ipynb").write_text(good.read_text()[:500])
    (tmp_path / "package.ipynb").write_text(json.dumps({"name": "x", "version": "1"}))
    (tmp_path / "binary.ipynb").write_bytes(bytes(range(256)) * 10)
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [], "metadata": {}}]}
    (tmp_path / "old.ipynb").write_text(json.dumps(v3))
    paths = [tmp_path / n for n in ("truncated.ipynb", "package.ipynb", "good one.ipynb", "binary.ipynb", "old.ipynb")]
    outcome = extract_files(paths)
    assert [os.path.basename(r.path) for r in outcome.results] == ["good one.ipynb", "old.ipynb"]
    reasons = {os.path.basename(f.path): f.reason for f in outcome.failures}
    assert set(reasons) == {"truncated.ipynb", "package.ipynb", "binary.ipynb"}
    assert "truncated" in reasons["truncated.ipynb"]
    assert "nbformat" in reasons["package.ipynb"]
    assert "binary" in reasons["binary.ipynb"]
    assert len(outcome.rows()) == 2


def test_fifty_megabyte_notebook_of_base64_outputs(tmp_path):
    blob = base64.b64encode(os.urandom(1_000_000)).decode()
    images = [{"data": {"image/png": blob, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}] * 38
    cells = [nbf.code_cell("plot()", images), nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(3, 1e-2)", 3)]
    path = write_nb(tmp_path, cells, name="huge.ipynb")
    assert path.stat().st_size > 50_000_000
    phases, _ = phases_of(path)
    assert phases == [[(1, "1e-2", 3, 3)]]


def test_extract_accepts_directories_and_warns_on_bad_files(tmp_path):
    write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(2, 1e-2)", 2)], name="a.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_nb(tmp_path / ".ipynb_checkpoints", [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(2, 1e-2)", 2)], name="a-checkpoint.ipynb")
    (tmp_path / "b.ipynb").write_text("{")
    with pytest.warns(UserWarning, match="b.ipynb"):
        frame = extract(tmp_path)
    assert len(frame) == 2
    with pytest.raises(Exception, match="b.ipynb"):
        extract(tmp_path, on_error="raise")


def test_import_without_optional_dependencies():
    code = textwrap.dedent(
        """
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in {'torch', 'fastai', 'timm', 'papermill'}:
                    raise ImportError('blocked ' + name)
        sys.meta_path.insert(0, Block())
        import audiometrics
        from audiometrics import extract, load_metrics, lwlrap
        import audiometrics.cli.main
        print('ok')
        """
    )
    nbf.python_prints_ok(code)


def test_omitted_learning_rate_is_the_library_default_and_says_so(tmp_path):
    path = write_nb(tmp_path, [nbf.code_cell("from fastai.vision.all import *\n" + LEARNER), fit_cell("learn.fit_one_cycle(2)", 2)])
    result = extract_notebook(path)
    assert result.runs[0].phases[0].lr_is_default
    assert {row["learning_rate"] for row in _rows(result)} == {"1e-3 (default)"}
    assert extract(path)["lr_max"].tolist() == [0.001, 0.001]


def test_public_names_are_functions_whatever_the_import_order():
    code = (
        "import audiometrics.pipeline, audiometrics.epochs.loader, audiometrics.metrics.lwlrap\n"
        "from audiometrics import extract, extract_notebook, load_metrics, lwlrap\n"
        "assert all(callable(f) and not hasattr(f, '__path__') for f in (extract, extract_notebook, load_metrics, lwlrap))\n"
        "assert type(extract).__name__ == 'function'\n"
        "print('ok')"
    )
    nbf.python_prints_ok(code)


def test_notebook_error_survives_pickling():
    import pickle

    from audiometrics.errors import NotebookError

    error = pickle.loads(pickle.dumps(NotebookError("a b.ipynb", "truncated JSON")))
    assert (error.path, error.reason, str(error)) == ("a b.ipynb", "truncated JSON", "a b.ipynb: truncated JSON")


# --------------------------------------------------------------------------- issue 9: runs you can trust


def diagnostics_of(result):
    """The diagnostics as printed, without the file name."""
    return [f"{d.where}: {d.message}" if d.where else d.message for d in result.diagnostics]


def test_stripped_execution_counts_keep_the_silent_learner_cell(tmp_path):
    # pattern 2: nbdev/course repositories strip counts; the learner cell prints nothing
    cells = [
        nbf.markdown_cell("# train"),
        nbf.code_cell(LEARNER),
        fit_cell("learn.fit_one_cycle(2, 1e-2)", 2),
        fit_cell("learn.fit_one_cycle(3, 1e-3)", 3),
    ]
    path = write_nb(tmp_path, cells, number_cells=False)
    result = extract_notebook(path)
    assert [(r.model, r.pretrained, r.cell, r.count) for r in result.runs] == [("resnet18", False, 1, None)]
    assert [(p.number, p.learning_rate, p.recorded_epochs, p.count) for p in result.runs[0].phases] == [(1, "1e-2", 2, None), (2, "1e-3", 3, None)]
    assert result.diagnostics == ()


def test_mixed_counts_order_what_they_can_and_warn_once(tmp_path):
    cells = [
        nbf.code_cell(LEARNER, count=1),
        fit_cell("learn.fit_one_cycle(2, 1e-2)", 2) | {"execution_count": 4},
        fit_cell("learn.fit_one_cycle(1, 1e-1)", 1) | {"execution_count": 2},
        fit_cell("learn.fit_one_cycle(3, 1e-3)", 3),  # ran without a count, right after the cell above
    ]
    result = extract_notebook(write_nb(tmp_path, cells, number_cells=False))
    # In [2], then the uncounted cell below it, then In [4]
    assert [(p.number, p.learning_rate) for p in result.runs[0].phases] == [(1, "1e-1"), (2, "1e-3"), (3, "1e-2")]
    (note,) = result.diagnostics
    assert note.cell is None and "1 cell that ran without an execution count (cell 4)" in note.message


def test_a_fit_on_a_name_never_bound_is_its_own_run(tmp_path):
    # pattern 1: it used to fall silently into the latest run
    cells = [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(2, 1e-2)", 2), fit_cell("learn1.fit_one_cycle(1, 1e-3)", 1)]
    result = extract_notebook(write_nb(tmp_path, cells))
    assert [(r.model, r.ordinal, [p.number for p in r.phases]) for r in result.runs] == [("resnet18", 1, [1]), ("", 2, [1])]
    assert diagnostics_of(result) == [
        "In [3] (cell 3): run 2: learn1.fit_one_cycle(1, 1e-3) trains a name never bound to a learner: a run of its own, model unknown"
    ]


def test_a_learner_per_loop_iteration_is_a_run_per_iteration(tmp_path):
    # pattern 3, unknown count (the list is not known statically) and static count
    source = "for arch in archs:\n    learn = vision_learner(dls, arch, metrics=lwlrap)\n    learn.fit_one_cycle(2, 1e-2)"
    outputs = [o for k in range(3) for o in nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2, start=10 * k))]
    result = extract_notebook(write_nb(tmp_path, [nbf.code_cell(source, outputs)]))
    assert [(r.ordinal, [(p.number, p.rows[0][0]) for p in r.phases]) for r in result.runs] == [(1, [(1, "0")]), (2, [(1, "10")]), (3, [(1, "20")])]
    assert diagnostics_of(result) == ["In [1] (cell 1): runs 1–3: model name cannot be resolved statically: left empty"]
    source = "for arch in [resnet18, resnet34]:\n    learn = vision_learner(dls, arch, metrics=lwlrap)\n    learn.fit_one_cycle(2, 1e-2)"
    result = extract_notebook(write_nb(tmp_path, [nbf.code_cell(source, outputs[:4])]))
    assert [(r.model, [p.number for p in r.phases]) for r in result.runs] == [("resnet18", [1]), ("resnet34", [1])]


def test_a_creation_cell_re_run_after_training_keeps_its_learner_and_warns(tmp_path):
    cells = [nbf.code_cell(LEARNER, count=3), fit_cell("learn.fit_one_cycle(2, 1e-2)", 2) | {"execution_count": 2}]
    result = extract_notebook(write_nb(tmp_path, cells, number_cells=False))
    assert [(r.model, r.pretrained, r.cell) for r in result.runs] == [("resnet18", False, 0)]
    assert any("re-run after training" in d.message and d.count == 2 for d in result.diagnostics)


def test_more_rows_than_the_call_planned_are_flagged(tmp_path):
    # pattern 7: a stale output from an earlier version of the cell
    result = extract_notebook(write_nb(tmp_path, [nbf.code_cell(LEARNER), fit_cell("learn.fit_one_cycle(5, 1e-2)", 10)]))
    assert result.runs[0].phases[0].recorded_epochs == 10
    assert diagnostics_of(result) == [
        "In [2] (cell 2): phase 1 (learn.fit_one_cycle(5, 1e-2)): 10 epochs recorded for 5 planned "
        "(an output kept from an earlier version of the cell?): all rows kept"
    ]


def test_calls_in_cells_never_run_are_said_and_a_cleared_cell_keeps_the_numbering(tmp_path):
    # pattern 8
    cells = [
        nbf.code_cell(LEARNER, count=1),
        fit_cell("learn.fit_one_cycle(1, 1e-1)", 1) | {"execution_count": 2},
        nbf.code_cell("learn.fit_one_cycle(1, 1e-2)"),  # cleared
        fit_cell("learn.fit_one_cycle(1, 3e-3)", 1) | {"execution_count": 4},
        nbf.markdown_cell("## more"),
        nbf.code_cell("learn.fit_one_cycle(1, 1e-3)"),  # never ran
        nbf.code_cell("learn.save('x')"),
        nbf.code_cell("learn.fine_tune(2)"),  # never ran
    ]
    path = write_nb(tmp_path, cells, number_cells=False)
    result = extract_notebook(path)
    assert [(p.number, p.learning_rate, p.recorded_epochs) for p in result.runs[0].phases] == [(1, "1e-1", 1), (2, "1e-2", 0), (3, "3e-3", 1)]
    assert diagnostics_of(result) == [
        "cell 3: phase 2 (learn.fit_one_cycle(1, 1e-2)): no epochs recorded (no table saved)",
        "2 training calls in cells that were never run: cells 6, 8",
    ]


def test_an_unexecuted_notebook_warns_and_fails_with_strict(tmp_path):
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(5, 1e-2)"), nbf.code_cell("learn.fit_one_cycle(5, 1e-3)")]
    path = write_nb(tmp_path, cells, number_cells=False)
    result = extract_notebook(path)
    assert result.runs == ()
    assert diagnostics_of(result) == [
        "2 training calls in cells that were never run: cells 2, 3",
        "2 training calls but no progress table in any output: no epochs recorded",
    ]
    outcome = extract_files([path], strict=True)
    assert outcome.results == [] and "no progress table" in outcome.failures[0].reason


def test_a_loop_of_a_thousand_fits_gives_one_line_per_finding(tmp_path):
    # pattern 9
    cells = [nbf.code_cell(LEARNER), fit_cell("for i in range(1000):\n    learn.fit(1)", *[1] * 10)]
    result = extract_notebook(write_nb(tmp_path, cells))
    assert len(result.runs[0].phases) == 1000
    assert diagnostics_of(result) == [
        "In [2] (cell 2): 10 training tables for 1000 training phases (learn.fit(1)); matched in order",
        "In [2] (cell 2): phases 11–1000 (learn.fit(1)): no epochs recorded (no table saved)",
    ]


def test_cross_validation_folds_are_a_run_each_with_their_own_tables(tmp_path):
    # pattern 3: the fold count is not known statically; each fold re-creates the learner
    source = (
        "for fold, (tr, va) in enumerate(kf.split(df)):\n    dls = get_dls(tr, va)\n"
        "    learn = vision_learner(dls, resnet34, metrics=lwlrap)\n    learn.lr_find()\n    learn.fit_one_cycle(2, 1e-3)"
    )
    outputs = []
    for k in range(5):
        outputs += nbf.lr_find_outputs()[:2] + nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2, start=10 * k))
    result = extract_notebook(write_nb(tmp_path, [nbf.code_cell(source, outputs)]))
    assert [(r.model, r.ordinal, [(p.number, p.learning_rate, p.rows[0][0]) for p in r.phases]) for r in result.runs] == [
        ("resnet34", k + 1, [(1, "1e-3", str(10 * k))]) for k in range(5)
    ]
    assert result.diagnostics == ()
