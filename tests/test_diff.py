"""``audiometrics diff`` and :func:`audiometrics.diff`: runs matched by notebook and run, deltas, one-sided runs,
regressions, the JSON schema, and epoch CSVs read through the CSV → Runs adapter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.nbfactory import cli_runner as CliRunner

from audiometrics import diff
from audiometrics.cli import main
from audiometrics.compare.result import SCHEMA
from audiometrics.pipeline import extract_files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


@pytest.fixture
def before_after(tmp_path) -> tuple[Path, Path]:
    """Two copies of the examples; in ``after`` the final lwlrap of resnet18 is 0.05 lower."""
    before, after = tmp_path / "before", tmp_path / "after"
    for folder in (before, after):
        folder.mkdir()
        for path in EXAMPLES:
            shutil.copy(path, folder / path.name)
    return before, after


def _lower_final_lwlrap(notebook: Path, by: float = 0.05) -> tuple[float, float]:
    last = extract_files([str(notebook)]).runs[-1].phases[-1]
    old = last.rows[-1][last.columns.index("lwlrap")]
    new = f"{float(old) - by:.6f}"
    text = notebook.read_text(encoding="utf-8")
    notebook.write_text(text.replace(old, new), encoding="utf-8")
    return float(old), float(new)


def test_diff_of_extractions_that_differ_in_one_notebook_shows_exactly_that_change(before_after):
    before, after = before_after
    old, new = _lower_final_lwlrap(after / "resnet18.ipynb")
    result = diff(before, after)
    assert [(run.key, run.status) for run in result.runs] == [
        (("convit_tiny.ipynb", 1), "unchanged"),
        (("deit_tiny_patch16_224.ipynb", 1), "unchanged"),
        (("mobilenetv4_conv_small.ipynb", 1), "unchanged"),
        (("resnet18.ipynb", 1), "changed"),
    ]
    (changed,) = result.changed
    assert [name for name, m in changed.metrics.items() if m.changed] == ["lwlrap"]
    lwlrap = changed.metrics["lwlrap"]
    assert (lwlrap.a.final, lwlrap.b.final) == (old, new)
    assert lwlrap.final_delta == pytest.approx(new - old)
    assert result.warnings == []

    text = CliRunner().invoke(main, ["diff", str(before), str(after)])
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0] == "~ resnet18.ipynb run 1: resnet18, from scratch, 6 epochs"
    assert lines[1].startswith("    lwlrap: ") and f"final {old:.6g} -> {new:.6g} (-0.05)" in lines[1]
    assert lines[-1] == "1 changed, 3 unchanged, 0 only in A, 0 only in B"


def test_diff_json_follows_the_documented_schema(before_after):
    before, after = before_after
    old, new = _lower_final_lwlrap(after / "resnet18.ipynb")
    (after / "convit_tiny.ipynb").unlink()
    shutil.copy(EXAMPLES[0], after / "new_one.ipynb")
    out = CliRunner().invoke(main, ["diff", str(before), str(after), "--json"])
    assert out.exit_code == 0
    document = json.loads(out.stdout)
    assert document["schema"] == SCHEMA == "audiometrics.diff/1"
    assert document["counts"] == {"changed": 1, "unchanged": 2, "only_a": 1, "only_b": 1}
    assert document["a"] == {"source": str(before), "kind": "notebooks", "runs": 4}
    assert document["directions"]["lwlrap"] == "higher" and document["directions"]["valid_loss"] == "lower"
    runs = {(r["notebook"], r["run"]): r for r in document["runs"]}
    assert runs[("convit_tiny.ipynb", 1)]["status"] == "only_a" and runs[("convit_tiny.ipynb", 1)]["b"] is None
    assert runs[("new_one.ipynb", 1)]["status"] == "only_b" and runs[("new_one.ipynb", 1)]["metrics"] == {}
    changed = runs[("resnet18.ipynb", 1)]
    assert set(changed) == {"notebook", "run", "status", "a", "b", "metrics"}
    assert set(changed["a"]) == {"model", "pretrained", "phases", "epochs", "content"}
    final = changed["metrics"]["lwlrap"]["final"]
    assert (final["a"], final["b"]) == (old, new) and final["delta"] == pytest.approx(new - old)
    assert final["a_epoch"] == final["b_epoch"] == 5
    assert changed["metrics"]["valid_loss"]["changed"] is False


def test_fail_on_regression_exit_status(before_after):
    before, after = before_after
    _lower_final_lwlrap(after / "resnet18.ipynb")
    runner = CliRunner()
    worse = runner.invoke(main, ["diff", str(before), str(after), "--fail-on-regression", "lwlrap", "--on", "final"])
    assert worse.exit_code == 1
    assert "error: resnet18.ipynb run 1: lwlrap (final) regressed" in worse.stderr
    better = runner.invoke(main, ["diff", str(after), str(before), "--fail-on-regression", "LWLRAP", "--on", "final"])
    assert better.exit_code == 0  # higher is better: B improved
    unchanged_loss = runner.invoke(main, ["diff", str(before), str(after), "--fail-on-regression", "valid_loss"])
    assert unchanged_loss.exit_code == 0
    unknown = runner.invoke(main, ["diff", str(before), str(after), "--fail-on-regression", "f1"])
    assert unknown.exit_code == 2 and "not a metric column" in unknown.output
    as_json = runner.invoke(main, ["diff", str(before), str(after), "--json", "--fail-on-regression", "lwlrap", "--on", "final",
                                   "--log-format", "json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["regression"] == {"metric": "lwlrap", "value": "final", "runs": [{"notebook": "resnet18.ipynb", "run": 1}]}
    assert json.loads(as_json.stderr.splitlines()[-1])["level"] == "error"


def test_lower_is_better_metrics_regress_upwards():
    from audiometrics.model import Phase, Run

    def run(values):
        phase = Phase(1, "fit", 2, "1e-3", False, 0, ("epoch", "valid_loss", "error_rate"), tuple((str(i), *v) for i, v in enumerate(values)))
        return [Run("/x/a.ipynb", "resnet18", True, (phase,), ordinal=1)]

    result = diff(run([("0.5", "0.2"), ("0.4", "0.1")]), run([("0.5", "0.2"), ("0.45", "0.1")]))
    assert [r.key for r in result.regressions("valid_loss")] == [("a.ipynb", 1)]
    assert result.regressions("error_rate") == []
    assert result.runs[0].metrics["valid_loss"].a.best == 0.4  # best of a loss is its lowest


def test_epoch_csv_with_source_columns_matches_the_notebooks(before_after, tmp_path):
    before, after = before_after
    _lower_final_lwlrap(after / "resnet18.ipynb")
    csv = tmp_path / "before.csv"
    result = CliRunner().invoke(main, ["extract", str(before), "--csv", str(csv), "--with-source", "--no-report", "-q", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    same = diff(csv, before)
    assert [run.status for run in same.runs] == ["unchanged"] * 4 and same.warnings == []
    changed = diff(csv, after)
    assert [run.key for run in changed.changed] == [("resnet18.ipynb", 1)]
    assert changed.a_kind == "epoch-csv" and changed.b_kind == "notebooks"


def test_epoch_csv_without_source_columns_is_guessed_and_said(before_after, tmp_path):
    before, _ = before_after
    csv = tmp_path / "plain.csv"
    CliRunner().invoke(main, ["extract", str(before / "resnet18.ipynb"), "--csv", str(csv), "--no-report", "-q", "--out", str(tmp_path / "o")])
    result = diff(csv, csv)
    assert [run.status for run in result.runs] == ["unchanged"]
    assert any("no source columns" in w for w in result.warnings)


def test_runs_tables_are_compared_by_their_best_and_final_columns(before_after, tmp_path):
    before, after = before_after
    old, new = _lower_final_lwlrap(after / "resnet18.ipynb")
    runner = CliRunner()
    for name, folder in (("a", before), ("b", after)):
        done = runner.invoke(main, ["extract", str(folder), "--out", str(tmp_path / name), "--no-report", "-q"])
        assert done.exit_code == 0, done.output
    result = diff(tmp_path / "a" / "runs.csv", tmp_path / "b" / "runs.csv")
    assert result.a_kind == result.b_kind == "runs-table"
    assert [(run.key, run.status) for run in result.runs] == [
        (("convit_tiny.ipynb", 1), "unchanged"),
        (("deit_tiny_patch16_224.ipynb", 1), "unchanged"),
        (("mobilenetv4_conv_small.ipynb", 1), "unchanged"),
        (("resnet18.ipynb", 1), "changed"),
    ]
    lwlrap = result.changed[0].metrics["lwlrap"]
    assert (lwlrap.a.final, lwlrap.b.final) == (old, new)
    # the same comparison as from the notebooks themselves
    from_notebooks = diff(before, after).changed[0].metrics["lwlrap"]
    assert (from_notebooks.a.best, from_notebooks.b.best) == (lwlrap.a.best, lwlrap.b.best)


def test_missing_inputs_are_usage_errors(tmp_path):
    table = tmp_path / "runs.csv"
    table.write_text("notebook,run,model,epochs_recorded,best_lwlrap\na.ipynb,1,resnet18,3,0.5\n", encoding="utf-8")
    runner = CliRunner()
    missing = runner.invoke(main, ["diff", str(tmp_path / "nothing"), str(table)])
    assert missing.exit_code == 2 and "nothing: no such file or folder" in missing.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(main, ["diff", str(tmp_path / "empty"), str(table)])
    assert empty.exit_code == 2 and "no notebooks found" in empty.output


def test_a_change_between_best_and_final_still_marks_the_run_changed():
    from audiometrics.model import Phase, Run

    def run(middle):
        phase = Phase(1, "fit", 3, "1e-3", False, 0, ("epoch", "lwlrap"), (("0", "0.1"), ("1", middle), ("2", "0.9")))
        return [Run("/x/a.ipynb", "m", True, (phase,), ordinal=1)]

    result = diff(run("0.5"), run("0.6"))
    assert result.runs[0].status == "changed" and not any(m.changed for m in result.runs[0].metrics.values())
