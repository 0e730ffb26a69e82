"""Machine-readable output: ``extract``/``report --format json``, ``--log-format json`` and ``--csv -`` on stdout."""

from __future__ import annotations

import csv
import doctest
import io
import json
from pathlib import Path

import audiometrics.json_output as json_output
from audiometrics.cli import main
from tests import nbfactory as nbf

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "notebooks"
LEARNER = nbf.LEARNER


def test_docstring_examples():
    assert doctest.testmod(json_output).failed == 0


def warned_notebook(tmp_path: Path) -> Path:
    """A notebook whose second phase recorded 5 of 20 epochs (one warning) and whose name needs JSON escaping."""
    cells = [nbf.code_cell(LEARNER), nbf.code_cell("learn.fit_one_cycle(20, 3e-3)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(5)))]
    return nbf.write(tmp_path / 'quote "x".ipynb', nbf.notebook(cells))


def test_extract_format_json(tmp_path):
    path = warned_notebook(tmp_path)
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    result = nbf.cli_runner().invoke(main, ["extract", str(path), str(tmp_path / "broken.ipynb"), "--out", str(tmp_path / "o"),
                                            "--no-report", "--format", "json"])
    assert result.exit_code == 1  # one file failed
    document = json.loads(result.stdout)
    assert document["schema"] == "audiometrics.extract/1"
    assert document["notebooks"] == {"total": 2, "read": 1, "failed": 1}
    assert document["failures"][0]["file"].endswith("broken.ipynb") and "JSON" in document["failures"][0]["reason"]
    assert document["written"] == [str(tmp_path / "o" / "training_metrics_extracted.csv"), str(tmp_path / "o" / "runs.csv")]
    (run,) = document["runs"]
    assert (run["notebook"], run["run"], run["model"], run["pretrained"], run["epochs"]) == ('quote "x".ipynb', 1, "resnet18", False, 5)
    assert run["phases"][0] | {"call": None} == {"phase": 1, "method": "fit_one_cycle", "call": None, "cell": "In [2] (cell 2)",
                                                 "learning_rate": "3e-3", "planned_epochs": 20, "recorded_epochs": 5,
                                                 "interrupted": False, "incomplete": True}
    assert run["metrics"]["valid_loss"]["final_epoch"] == 4
    assert run["metrics"]["valid_loss"]["best"] == min(float(r[2]) for r in nbf.epoch_rows(5))
    assert document["warnings"][0]["cell"] == "In [2] (cell 2)" and "5 of 20 epochs" in document["warnings"][0]["message"]
    assert "{" not in result.stderr  # diagnostics stay text unless asked


def test_log_format_json_makes_every_diagnostic_a_json_line(tmp_path):
    path = warned_notebook(tmp_path)
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    result = nbf.cli_runner().invoke(main, ["extract", str(path), str(tmp_path / "broken.ipynb"), "--out", str(tmp_path / "o"),
                                            "--no-report", "--log-format", "json"])
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [r["level"] for r in records] == ["warning", "error"]
    assert records[0]["file"] == str(path) and records[0]["cell"] == "In [2] (cell 2)"
    assert records[1]["file"].endswith("broken.ipynb") and records[1]["reason"]
    assert "resnet18" in result.stdout  # the run lines are unchanged


def test_csv_to_stdout_streams_the_table_and_keeps_diagnostics_on_stderr(tmp_path):
    path = warned_notebook(tmp_path)
    result = nbf.cli_runner().invoke(main, ["extract", str(path), "--csv", "-", "--no-report", "--out", str(tmp_path / "o"),
                                            "--log-format", "json"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 5 and rows[0]["model"] == "resnet18"
    lines = result.stderr.splitlines()
    assert json.loads(lines[0])["level"] == "warning"
    assert any("resnet18" in line for line in lines[1:])  # the run lines moved to stderr


def test_format_json_and_csv_on_stdout_conflict(tmp_path):
    result = nbf.cli_runner().invoke(main, ["extract", str(warned_notebook(tmp_path)), "--csv", "-", "--format", "json"])
    assert result.exit_code == 2 and "choose one" in result.stderr


def test_report_format_json(tmp_path):
    out = tmp_path / "o"
    extracted = nbf.cli_runner().invoke(main, ["extract", str(EXAMPLES), "--out", str(out), "--no-report", "--with-source", "-q"])
    assert extracted.exit_code == 0
    csv_path = out / "training_metrics_extracted.csv"
    result = nbf.cli_runner().invoke(main, ["report", str(csv_path), "--out", str(tmp_path / "r"), "--no-plots", "--format", "json",
                                            "--log-format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "audiometrics.report/1" and document["metric"] == {"name": "lwlrap", "lower_is_better": False}
    assert [Path(p).name for p in document["written"]] == ["training_metrics_summary.md", "EXTRACTION_SUMMARY.md"]
    assert [(r["notebook"], r["run"]) for r in document["runs"]] == [(p.name, 1) for p in sorted(EXAMPLES.glob("*.ipynb"))]
    assert [p["learning_rate"] for p in document["runs"][0]["phases"]][:2] == ["1e-1", "1e-2"]
    assert all(json.loads(line)["level"] for line in result.stderr.splitlines())
