"""The runs table (runs.csv, load_runs), stated parameters, comparison groups and the report at scale."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest

from audiometrics import load_runs
from audiometrics.analysis.parameters import is_data_parameter, notebook_parameters, smoke_reason
from audiometrics.epochs.frame import phase_frame
from audiometrics.epochs.runs_table import render_runs_csv, run_status, runs_table
from audiometrics.model import CodeCell, Phase, Run
from audiometrics.pipeline import extract_files, extract_notebook
from audiometrics.report.render import OVERVIEW_NAME, SUMMARY_NAME, render_reports
from audiometrics.report.summarize import summarize
from tests import nbfactory as nbf

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "notebooks"
REFERENCE = ROOT.parent / "shared" / "reference" / "notebooks" / "cnn-2d-basic-solution-powered-by-fast-ai.ipynb"
needs_reference = pytest.mark.skipif(not REFERENCE.is_file(), reason="reference notebook not present")


def tagged(source: str, *tags: str) -> dict:
    cell = nbf.code_cell(source)
    cell["metadata"]["tags"] = list(tags)
    return cell


def fit_cell(source: str, *tables: int, seed: float = 0.5, rows=None) -> dict:
    outputs = []
    for n in tables:
        outputs += nbf.legacy_fit_outputs(nbf.COLUMNS, rows if rows is not None else nbf.epoch_rows(n, seed=seed))
    return nbf.code_cell(source, outputs)


def notebook(tmp_path: Path, name: str, cells) -> Path:
    return nbf.write(tmp_path / name, nbf.notebook(cells))


def small(tmp_path: Path, name: str, *, params: str = "", arch: str = "resnet18", epochs=(3, 4), seed: float = 0.5, tags=("parameters",)) -> Path:
    cells = [tagged(params, *tags)] if params else []
    fits = "\n".join(f"learn.fit_one_cycle({n}, 1e-3)" for n in epochs)
    cells += [nbf.code_cell(f"learn = vision_learner(dls, {arch}, pretrained=False, metrics=lwlrap)"), fit_cell(fits, *epochs, seed=seed)]
    return notebook(tmp_path, name, cells)


def summary_of(paths, **kwargs):
    outcome = extract_files(paths)
    rows = runs_table(outcome.results, root=outcome.root)
    return summarize(outcome.frame(), phase_frame(outcome.runs, root=outcome.root), run_rows=rows, **kwargs), rows


# --------------------------------------------------------------------------- parameters


def test_tagged_cells_state_every_literal_and_the_injected_values_win(tmp_path: Path) -> None:
    path = notebook(
        tmp_path,
        "p.ipynb",
        [
            tagged('ARCH = "resnet18"\nSMOKE = False\nEPOCHS = [5, 10]\nout = compute()', "parameters"),
            tagged("# Parameters\nSMOKE = True\nEPOCHS = [1, 1]\n", "injected-parameters"),
            nbf.code_cell("bs = 64  # batch size\nIMG_SIZE = size_of(df)\nTrainer(fast_dev_run=True)\ndef f():\n    SEED = 1\n"),
        ],
    )
    stated = {p.name: p for p in extract_notebook(path).parameters}
    assert {n: p.value for n, p in stated.items()} == {"ARCH": "resnet18", "SMOKE": True, "EPOCHS": [1, 1], "bs": 64, "fast_dev_run": True}
    assert stated["SMOKE"].tagged and not stated["bs"].tagged and stated["bs"].text == "64"
    assert smoke_reason(stated.values()) == "SMOKE = True"


def test_keyword_parameters_given_two_values_and_signatures_state_none() -> None:
    cells = [
        CodeCell(0, 1, "class ToyData:\n    def __init__(self, n, seq_len=16,\n                 seed=0):\n        pass", ()),
        CodeCell(1, 2, "train(Net(), lr=1e-3, epochs=3)", ()),
        CodeCell(2, 3, "train(Net(), lr=1e-2, epochs=4)\nds = ToyData(96, seed=1)", ()),
    ]
    assert [(p.name, p.value, p.cell) for p in notebook_parameters(cells)] == [("seed", 1, 2)]  # epochs: 3 or 4?
    one_per_line = [CodeCell(0, 1, "args = Seq2SeqTrainingArguments(\n    'out',\n    num_train_epochs=3,\n    seed=7,\n)", ())]
    assert [(p.name, p.value) for p in notebook_parameters(one_per_line)] == [("num_train_epochs", 3), ("seed", 7)]


def test_parameters_are_literals_only_and_never_run() -> None:
    cells = [CodeCell(0, 1, "BATCH_SIZE = __import__('os').getpid()\nSEED = 10**100000\nLR = -1e-3\nIS_SMOKE_TEST = 1", ())]
    assert [(p.name, p.value) for p in notebook_parameters(cells)] == [("LR", -1e-3), ("IS_SMOKE_TEST", 1)]
    assert smoke_reason(notebook_parameters(cells)) == "IS_SMOKE_TEST = 1"
    assert [is_data_parameter(n) for n in ("IMG_SIZE", "sz", "N_MELS", "FOLD", "bs", "BATCH_SIZE", "LR", "EPOCHS")] == [
        True, True, True, True, False, False, False, False,
    ]


# --------------------------------------------------------------------------- the table


def _phase(number: int, planned: int | None, rows: int, interrupted: bool = False) -> Phase:
    table = tuple((str(i), f"{1 - i / 10:.6f}", f"{1.1 - i / 10:.6f}", f"{0.1 * (i + 1):.6f}", "00:02") for i in range(rows))
    return Phase(number, "fit_one_cycle", planned, "1e-3", False, 3, nbf.COLUMNS, table, interrupted=interrupted)


def test_statuses() -> None:
    def status(*phases: Phase) -> str:
        return run_status(Run("a.ipynb", "resnet18", False, phases))

    assert status(_phase(1, 3, 3), _phase(2, 2, 2)) == "complete"
    assert status(_phase(1, 3, 3), _phase(2, 4, 2)) == "interrupted"
    assert status(_phase(1, 3, 3, interrupted=True)) == "interrupted"
    assert status(_phase(1, 3, 3), _phase(2, 2, 0)) == "interrupted"
    assert status(_phase(1, 3, 5)) == "stale"
    assert status(_phase(1, 3, 0)) == "empty" and status() == "empty"


def test_best_final_and_epoch_of_the_best_across_phases() -> None:
    (row,) = runs_table([Run("/x/a.ipynb", "resnet18", False, (_phase(1, 3, 3), _phase(2, 2, 2)), ordinal=1)])
    assert (row.notebook, row.run, row.label, row.epochs_planned, row.epochs_recorded, row.total_time_s) == ("a.ipynb", 1, "a.ipynb: resnet18", 5, 5, 10.0)
    assert row.metrics["lwlrap"].best == pytest.approx(0.3) and row.metrics["lwlrap"].best_epoch == 2
    assert row.metrics["train_loss"].best == pytest.approx(0.8) and row.metrics["train_loss"].best_epoch == 2
    assert row.metrics["lwlrap"].final == pytest.approx(0.2)


def test_runs_csv_round_trips_typed_and_guarded(tmp_path: Path) -> None:
    path = small(tmp_path, "a.ipynb", params='ARCH = "=HYPERLINK(1)"\nEPOCHS = [3, 4]\nSMOKE = True')
    rows = runs_table(extract_files([path]).results)
    text = render_runs_csv(rows)
    assert "'=HYPERLINK" not in text.splitlines()[1].split(",")[0]  # the notebook name is not guarded
    frame = load_runs(io.StringIO(text))
    assert frame.loc[0, "parameters"] == {"ARCH": "=HYPERLINK(1)", "EPOCHS": [3, 4], "SMOKE": True}
    assert frame.loc[0, "smoke"] == "SMOKE = True" and frame.loc[0, "status"] == "complete"
    assert str(frame["epochs_recorded"].dtype) == "Int64" and str(frame["pretrained"].dtype) == "boolean"
    assert frame.loc[0, "best_lwlrap_epoch"] == 6 and frame.loc[0, "phases"] == 2  # the last epoch of phase 2
    with pytest.raises(ValueError, match="missing column"):
        load_runs(io.StringIO("a,b\n1,2\n"))


def test_extract_writes_runs_csv_beside_the_csv_and_report_reads_it(tmp_path: Path) -> None:
    from audiometrics.cli.main import main

    inputs = tmp_path / "in"
    inputs.mkdir()
    small(inputs, "a.ipynb", params="IMG_SIZE = 64\nSMOKE = True", seed=0.4)
    small(inputs, "b.ipynb", params="IMG_SIZE = 128", arch="resnet34", seed=0.6)
    small(inputs, "c.ipynb", params="IMG_SIZE = 128", arch="convnext_tiny", seed=0.7)
    runner = nbf.cli_runner()
    result = runner.invoke(main, ["extract", str(inputs), "--out", str(tmp_path / "out"), "--with-source", "-q"])
    assert result.exit_code == 0, result.output
    runs = load_runs(tmp_path / "out" / "runs.csv")
    assert list(runs["notebook"]) == ["a.ipynb", "b.ipynb", "c.ipynb"] and list(runs["smoke"].fillna("")) == ["SMOKE = True", "", ""]
    overview = (tmp_path / "out" / OVERVIEW_NAME).read_text()
    again = runner.invoke(main, ["report", str(tmp_path / "out" / "training_metrics_extracted.csv"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again" / OVERVIEW_NAME).read_text() == overview
    assert "### Group 2: 1 run, smoke runs" in overview and "`IMG_SIZE = 64`" in overview
    csv_only = runner.invoke(main, ["extract", str(inputs), "--out", str(tmp_path / "csv"), "--no-report", "-q"])
    assert csv_only.exit_code == 0 and load_runs(tmp_path / "csv" / "runs.csv").equals(runs)


# --------------------------------------------------------------------------- honest comparisons


def test_examples_recommend_no_winner() -> None:
    summary, _ = summary_of(sorted(EXAMPLES.glob("*.ipynb")))
    kinds = [r.kind for r in summary.recommendations]
    assert "smoke_runs" in kinds and not {"leader", "prefer_family", "pretrained"} & set(kinds)
    overview = render_reports(summary)[OVERVIEW_NAME]
    assert "No run is recommended: all 4 runs are smoke runs by their notebooks' own parameters (`SMOKE = True`)" in overview
    assert "Use " not in overview.split("## Recommendations")[1] and "Prefer " not in overview
    assert "**Ranking by best lwlrap** (smoke runs: not evidence about the models)" in overview


@needs_reference
def test_examples_and_the_reference_form_groups_and_say_why() -> None:
    summary, _ = summary_of([*sorted(EXAMPLES.glob("*.ipynb")), REFERENCE])
    assert [len(g.runs) for g in summary.groups] == [1, 4]  # full runs first, then the smoke group
    overview = render_reports(summary)[OVERVIEW_NAME]
    assert "**2 comparison groups**" in overview and "Apart from group 1 because of" in overview
    assert "DEBUG_MODE: not stated vs True" in overview and "IMG_SIZE: 64 vs not stated" in overview
    assert "Use " not in overview.split("## Recommendations")[1]


def test_groups_rank_within_and_state_budgets(tmp_path: Path) -> None:
    paths = [
        small(tmp_path, "a.ipynb", params="IMG_SIZE = 64", epochs=(2, 2), seed=0.4),
        small(tmp_path, "b.ipynb", params="IMG_SIZE = 64", arch="resnet34", epochs=(3, 5), seed=0.9),
        small(tmp_path, "c.ipynb", params="IMG_SIZE = 224", arch="vit_tiny_patch16_224", epochs=(3, 3), seed=0.3),
    ]
    summary, _ = summary_of(paths)
    assert [(g.number, g.runs) for g in summary.groups] == [(1, ["resnet34", "resnet18"]), (2, ["vit_tiny_patch16_224"])]
    assert [(e.group, e.rank, e.run) for e in summary.ranking] == [(1, 1, "resnet34"), (1, 2, "resnet18"), (2, 1, "vit_tiny_patch16_224")]
    (leader,) = [r for r in summary.recommendations if r.kind == "leader"]
    assert (leader.group, leader.leader_epochs, leader.second_epochs) == (1, 8, 4)
    overview = render_reports(summary)[OVERVIEW_NAME]
    assert "In group 1: use resnet34" in overview and "though it trained 8 epochs against 4" in overview


def test_main_metric_is_the_one_most_runs_recorded_and_the_others_are_listed(tmp_path: Path) -> None:
    columns = ("epoch", "train_loss", "valid_loss", "error_rate", "time")
    both = ("epoch", "train_loss", "valid_loss", "accuracy", "error_rate", "time")
    rows = [(str(i), "0.5", "0.4", f"0.{3 - i}", "00:01") for i in range(3)]
    rows_both = [(str(i), "0.5", "0.4", f"0.{7 + i}", f"0.{3 - i}", "00:01") for i in range(3)]
    a = notebook(tmp_path, "a.ipynb", [nbf.code_cell("learn = vision_learner(dls, resnet34, metrics=error_rate)"),
                                       nbf.code_cell("learn.fit_one_cycle(3)", nbf.legacy_fit_outputs(columns, rows))])
    b = notebook(tmp_path, "b.ipynb", [nbf.code_cell("learn = vision_learner(dls, convnext_tiny, metrics=[accuracy, error_rate])"),
                                       nbf.code_cell("learn.fit_one_cycle(3)", nbf.legacy_fit_outputs(both, rows_both))])
    c = notebook(tmp_path, "c.ipynb", [nbf.code_cell("learn = vision_learner(dls, resnet18, metrics=accuracy)"),
                                       nbf.code_cell("learn.fit_one_cycle(3)", nbf.legacy_fit_outputs(("epoch", "train_loss", "valid_loss", "accuracy", "time"), [r[:3] + r[3:4] + r[5:] for r in rows_both]))])
    summary, _ = summary_of([a, b])
    assert summary.metric.name == "error_rate" and summary.unscored == []
    from audiometrics.pipeline import extract_paths_to_outputs

    for report in (True, False):  # the run lines use the report's main metric, with or without the report
        outcome, _, _ = extract_paths_to_outputs([a, b], tmp_path / f"out{report}", report=report)
        assert outcome.metric == "error_rate"
    summary, _ = summary_of([a, b, c])  # accuracy and error_rate: two runs each, error_rate first by preference
    assert summary.metric.name in ("accuracy", "error_rate") and len(summary.unscored) == 1
    assert summary.unscored[0] in render_reports(summary)[OVERVIEW_NAME].split("**Not ranked**")[1]


def test_one_epoch_phases_never_move_the_metric_by_zero(tmp_path: Path) -> None:
    rows = nbf.epoch_rows(1)
    cells = [nbf.code_cell("learn = vision_learner(dls, resnet18, metrics=lwlrap)")]
    cells += [fit_cell(f"learn.fit_one_cycle(1, 1e-{i})", 1, rows=rows) for i in range(1, 4)]
    summary, _ = summary_of([notebook(tmp_path, "a.ipynb", cells)])
    overview = render_reports(summary)[OVERVIEW_NAME]
    assert "the most, +0.000" not in overview and "(+0.000)" not in overview and summary.insight("schedule") is None


def test_curve_flags(tmp_path: Path) -> None:
    def run(name: str, rows) -> Path:
        return notebook(tmp_path, name, [nbf.code_cell("learn = vision_learner(dls, resnet18, metrics=lwlrap)"),
                                         fit_cell(f"learn.fit_one_cycle({len(rows)}, 1e-3)", len(rows), rows=rows)])

    over = [(str(i), f"{1 - 0.1 * i:.6f}", f"{0.5 + (0.05 * i if i > 2 else -0.05 * i):.6f}", f"0.{i + 1}", "00:01") for i in range(8)]
    stuck = [(str(i), f"{1 - 0.1 * i:.6f}", f"{1 - 0.1 * i:.6f}", "0.250000", "00:01") for i in range(4)]
    broken = [(str(i), v, "0.5", f"0.{9 - i}", "00:01") for i, v in enumerate(["0.9", "0.5", "nan", "2.4"])]
    summary, _ = summary_of([run("over.ipynb", over), run("stuck.ipynb", stuck), run("broken.ipynb", broken)])
    kinds = {w.kind: w for w in summary.warnings}
    assert "overfitting" in kinds and "from epoch 3 of 8" in kinds["overfitting"].message
    assert "stuck_metric" in kinds and "lwlrap at 0.250000" in kinds["stuck_metric"].message
    assert "nonfinite_loss" in kinds and "train_loss in 1 epoch" in kinds["nonfinite_loss"].message
    assert "divergence" in kinds and "never_improves" in kinds


# --------------------------------------------------------------------------- scale


def test_copies_are_one_warning_and_the_check_is_linear(tmp_path: Path) -> None:
    source = small(tmp_path, "source.ipynb", params="IMG_SIZE = 64", epochs=(4, 6))
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(30):
        shutil.copyfile(source, folder / f"copy_{i:02d}.ipynb")
    summary, _ = summary_of(sorted(folder.glob("*.ipynb")))
    copies = [w for w in summary.warnings if w.kind == "duplicate_runs"]
    assert len(copies) == 1 and not [w for w in summary.warnings if w.kind == "duplicate_rows"]
    assert copies[0].message.startswith("30 runs are copies of each other, all 10 epoch rows value for value, time included: ")
    assert copies[0].message.count(".ipynb") == 3 and "and 27 more" in copies[0].message
    assert len(summary.warnings) == 1  # the copies' own findings are said once, for the first


def test_documents_are_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    paths = [small(folder, f"nb_{i:03d}.ipynb", arch=("resnet18", "resnet34", "convnext_tiny")[i % 3], seed=0.2 + i / 200, epochs=(2, 1 + i % 4)) for i in range(120)]
    start = time.perf_counter()
    summary, _ = summary_of(paths)
    documents = render_reports(summary)
    assert time.perf_counter() - start < 60
    assert "40 of 120 runs are described here" in documents[OVERVIEW_NAME]
    assert "40 of 120 runs are described here" in documents[SUMMARY_NAME]
    assert documents[OVERVIEW_NAME].count("\n### ") < 60 and len(documents[OVERVIEW_NAME]) < 100_000
    assert "… and 105 more runs of this group" in documents[OVERVIEW_NAME]
    assert " > … (110 more)\n" in documents[OVERVIEW_NAME]  # the ranking line too


def test_run_lines_come_before_the_report_and_the_progress_follows_it(tmp_path: Path) -> None:
    from audiometrics.pipeline import extract_paths_to_outputs
    from audiometrics.progress import Progress

    path = small(tmp_path, "a.ipynb")
    events: list[str] = []
    extract_paths_to_outputs(
        [path], tmp_path / "out", on_extracted=lambda outcome: events.append(f"read {len(outcome.runs)} run"), on_stage=events.append
    )
    assert events == [
        "read 1 run",
        "writing reports: summarizing 1 runs",
        "writing reports: drawing plots",
        "writing reports: rendering the documents",
    ]
    stream = io.StringIO()
    bar = Progress(10, stream=stream, enabled=True, clock=lambda: 0.0)
    bar.advance(10)
    bar.close()
    bar.stage("writing reports: drawing plots")
    assert bar.done_line() == "after reading all 10 files, while writing the outputs (writing reports: drawing plots)"
    bar.close()
    assert stream.getvalue().endswith("writing reports: drawing plots  (0:00)\n")
