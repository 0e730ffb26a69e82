"""Golden-file tests of the markdown reports, the ``report`` command and the reference study.

The golden documents live in ``tests/fixtures/report/<case>/``. After an
intended change to the summaries or the templates, regenerate them with::

    UPDATE_GOLDEN=1 python -m pytest tests/test_report.py

and review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audiometrics.epochs.frame import frame_from_rows, phase_frame
from audiometrics.epochs.loader import load_metrics
from audiometrics.epochs.rows import rows_from_runs
from audiometrics.model import Phase, Run
from audiometrics.cli.report import report_command
from audiometrics.report.render import OVERVIEW_NAME, SUMMARY_NAME, render_reports, write_reports
from audiometrics.options import MetricError
from audiometrics.report.summarize import summarize

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "report"
SEED_CSV = Path(__file__).resolve().parents[2] / "shared" / "reference" / "seed-outputs" / "training_metrics_extracted.csv"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))

needs_seed = pytest.mark.skipif(not SEED_CSV.is_file(), reason="reference study data not present")


# --------------------------------------------------------------------------- inputs

EXTRACT_COLUMNS = ("epoch", "train_loss", "valid_loss", "lwlrap", "time")


def _rows(start: int, count: int, lwlrap: float, step: float, time: str = "00:05") -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            str(e),
            f"{0.09 - 0.003 * (start + e):.6f}",
            f"{0.08 - 0.002 * (start + e):.6f}",
            f"{lwlrap + step * e:.6f}",
            time,
        )
        for e in range(count)
    )


def extract_runs() -> list[Run]:
    """Runs as extraction yields them: an incomplete and an empty phase, a default and an unresolved
    learning rate, and a run that recorded nothing (interrupted)."""
    return [
        Run(
            "nbs/nb1.ipynb",
            "resnet18",
            False,
            (
                Phase(1, "fit_one_cycle", 5, "1e-1", False, 3, EXTRACT_COLUMNS, _rows(0, 5, 0.10, 0.04), "fit_one_cycle(5, 1e-1)"),
                Phase(2, "fit_one_cycle", 20, "3e-3", False, 3, EXTRACT_COLUMNS, _rows(5, 5, 0.30, 0.02), "fit_one_cycle(20, 3e-3)"),
                Phase(3, "fit_one_cycle", 3, "1e-3", False, 5, EXTRACT_COLUMNS, (), "fit_one_cycle(3, 1e-3)"),
            ),
            cell=2,
        ),
        Run(
            "nbs/nb2.ipynb",
            "resnet18",
            True,
            (
                Phase(1, "fine_tune", 1, "2e-3", True, 4, EXTRACT_COLUMNS, _rows(0, 1, 0.20, 0.0, "00:06"), "fine_tune(6)"),
                Phase(2, "fine_tune", 6, "", False, 4, EXTRACT_COLUMNS, _rows(1, 6, 0.25, 0.05, "00:06"), "fine_tune(6)"),
            ),
            cell=3,
        ),
        Run(
            "nbs/nb3.ipynb",
            "vit_tiny_patch16_224",
            False,
            (Phase(1, "fit", 10, "1e-3", False, 7, EXTRACT_COLUMNS, (), "fit(10, 1e-3)", interrupted=True),),
            cell=6,
        ),
    ]


def extract_inputs(*, with_source: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The epoch frame and the phase frame, as ``audiometrics extract`` passes them to ``write_reports``."""
    runs = extract_runs()
    frame = frame_from_rows(rows_from_runs(runs, with_source=with_source), with_source=with_source)
    return frame, phase_frame(runs)


CASES = {
    # name: (loader, kwargs for write_reports)
    "study": (lambda: (load_metrics(FIXTURES / "study.csv"), None), {"csv_name": "study.csv"}),
    "error_rate": (lambda: (load_metrics(FIXTURES / "error_rate.csv"), None), {"csv_name": "error_rate.csv"}),
    "accuracy": (lambda: (load_metrics(FIXTURES / "accuracy.csv"), None), {"csv_name": "accuracy.csv"}),
    "extract": (extract_inputs, {}),
}


# --------------------------------------------------------------------------- golden files


@pytest.fixture
def no_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip drawing PNGs (tested in test_plots.py): empty files stand for them; the markdown still references them."""
    from audiometrics.report import plots
    monkeypatch.setattr(plots, "draw_plots", lambda summary: plots.Drawn({s.file: b"" for s in plots.plot_specs(summary)}))

    def fake(summary, target, *_):
        Path(target).mkdir(parents=True, exist_ok=True)
        return [(Path(target) / s.file).write_bytes(b"") and "" or f"{Path(target).name}/{s.file}" for s in plots.plot_specs(summary)]

    monkeypatch.setattr(plots, "write_plots", fake)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, tmp_path: Path, no_drawing: None) -> None:
    load, kwargs = CASES[case]
    frame, phases = load()
    result = write_reports(frame, tmp_path, phases=phases, **kwargs)
    golden = FIXTURES / case
    for name in (SUMMARY_NAME, OVERVIEW_NAME):
        produced = (tmp_path / name).read_text(encoding="utf-8")
        if UPDATE:
            golden.mkdir(parents=True, exist_ok=True)
            (golden / name).write_text(produced, encoding="utf-8", newline="")
        expected = (golden / name).read_text(encoding="utf-8")
        assert produced == expected, f"{case}/{name} differs from the golden file; regenerate with UPDATE_GOLDEN=1 if intended"
    assert [p.name for p in result.paths[:2]] == [SUMMARY_NAME, OVERVIEW_NAME]


@pytest.mark.parametrize("case", ["study", "extract"])
def test_same_input_gives_identical_bytes(case: str, tmp_path: Path) -> None:
    load, kwargs = CASES[case]
    frame, phases = load()
    first = write_reports(frame, tmp_path / "a", phases=phases, **kwargs)
    second = write_reports(frame, tmp_path / "b", phases=phases, **kwargs)
    assert len(first.paths) == len(second.paths)
    for a, b in zip(first.paths, second.paths):
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes(), a.name


def test_result_lists_documents_then_plots(tmp_path: Path) -> None:
    frame, phases = extract_inputs()
    result = write_reports(frame, tmp_path, phases=phases)
    names = [p.relative_to(tmp_path).as_posix() for p in result.paths]
    assert names == [
        SUMMARY_NAME,
        OVERVIEW_NAME,
        "plots/metric_by_epoch.png",
        "plots/losses_by_epoch.png",
        "plots/best_final_metric.png",
        "report.html",
    ]
    assert all(p.is_file() for p in result.paths)
    overview = (tmp_path / OVERVIEW_NAME).read_text()
    for name in names[2:-1]:
        assert f"]({name})" in overview


def test_no_plots(tmp_path: Path) -> None:
    frame, phases = extract_inputs()
    result = write_reports(frame, tmp_path, phases=phases, plots=False)
    assert [p.name for p in result.paths] == [SUMMARY_NAME, OVERVIEW_NAME]
    assert not (tmp_path / "plots").exists()
    assert "plots/" not in (tmp_path / OVERVIEW_NAME).read_text()


# --------------------------------------------------------------------------- content


def test_incomplete_and_empty_phases_are_stated_in_words(tmp_path: Path) -> None:
    frame, phases = extract_inputs()
    result = write_reports(frame, tmp_path, phases=phases, plots=False)
    summary = (tmp_path / SUMMARY_NAME).read_text()
    assert "fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded" in summary
    assert "fit_one_cycle(3, 1e-3): no epochs recorded (of 3 planned)" in summary
    assert "fit(10, 1e-3): no epochs recorded (of 10 planned) — the fit was interrupted" in summary
    assert any("5 of 20 epochs recorded" in w for w in result.warnings)
    overview = (tmp_path / OVERVIEW_NAME).read_text()
    assert "Phase 2: 5 of 20 epochs @ lr `3e-3` (incomplete)" in overview
    assert "Phase 3: 0 of 3 epochs @ lr `1e-3` (no epochs recorded)" in overview
    assert "`2e-3` (library default)" in overview


def test_phase_frame_matches_a_csv_without_notebook_column(tmp_path: Path) -> None:
    frame, phases = extract_inputs(with_source=False)
    summary = summarize(frame, phases)
    assert summary.has_phase_table
    assert [r.epochs for r in summary.runs] == [10, 7, 0]
    assert summary.runs[0].notebook == "nb1.ipynb"


def test_mismatched_phase_frame_is_ignored_with_a_warning() -> None:
    frame, phases = extract_inputs()
    summary = summarize(frame.iloc[:-1], phases)
    assert not summary.has_phase_table
    assert any(w.kind == "phase_mismatch" for w in summary.warnings)


def test_first_ten_epochs_then_ellipsis_then_final() -> None:
    frame = load_metrics(FIXTURES / "study.csv")
    text = render_reports(summarize(frame))[SUMMARY_NAME]
    section = text.split("### Phase 2", 1)[1].split("### Final metrics", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    epochs = [line.split("|")[1].strip() for line in table[1:]]
    assert epochs == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "...", "13"]


def test_pipe_in_a_value_does_not_break_tables() -> None:
    raw = pd.DataFrame(
        {
            "accuracy_multi": ["", "", ""],
            "epoch": ["0", "1", "0"],
            "learning_rate": ["1e-3|x", "1e-3|x", "1e-3"],
            "lwlrap": ["0.1", "0.2", "0.3"],
            "model": ["res|net", "res|net", "other"],
            "pretrained": ["No", "No", "Yes"],
            "time": ["", "", ""],
            "train_loss": ["0.5", "0.4", "0.5"],
            "training_phase": ["1", "1", "1"],
            "valid_loss": ["0.4", "0.3", "0.4"],
        }
    )
    documents = render_reports(summarize(raw))
    for text in documents.values():
        tables: list[list[str]] = []
        current: list[str] = []
        for line in text.splitlines() + [""]:
            if line.startswith("|"):
                current.append(line)
            elif current:
                tables.append(current)
                current = []
        assert tables
        for table in tables:
            widths = {len(line.replace("\\|", "").split("|")) for line in table}
            assert len(widths) == 1, table
    assert "res\\|net" in documents[OVERVIEW_NAME]


def test_template_override_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "EXTRACTION_SUMMARY.md.j2").write_text("Winner: {{ summary.ranking[0].run }} {{ summary.ranking[0].best | num }}\n")
    frame = load_metrics(FIXTURES / "study.csv")
    documents = render_reports(summarize(frame), tmp_path)
    assert documents[OVERVIEW_NAME] == "Winner: resnet34 (pretrained) 0.709280\n"
    assert documents[SUMMARY_NAME].startswith("# Training Metrics Summary")


def test_templates_are_strict(tmp_path: Path) -> None:
    import jinja2

    (tmp_path / "training_metrics_summary.md.j2").write_text("{{ summary.no_such_thing }}\n")
    with pytest.raises(jinja2.UndefinedError):
        render_reports(summarize(load_metrics(FIXTURES / "accuracy.csv")), tmp_path)


def test_empty_frame_renders(tmp_path: Path) -> None:
    frame = load_metrics(FIXTURES / "study.csv").iloc[0:0]
    result = write_reports(frame, tmp_path)
    assert [p.name for p in result.paths] == [SUMMARY_NAME, OVERVIEW_NAME, "report.html"]
    assert "No runs were found." in (tmp_path / OVERVIEW_NAME).read_text()
    assert "No training run was found" in (tmp_path / "report.html").read_text()


def test_unknown_metric(tmp_path: Path) -> None:
    with pytest.raises(MetricError, match="no_such_metric"):
        write_reports(load_metrics(FIXTURES / "study.csv"), tmp_path, metric="no_such_metric")


# --------------------------------------------------------------------------- command


def test_report_command(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(report_command, [str(FIXTURES / "study.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "warning: convit_tiny and vit_small_patch16_224 share 5 of convit_tiny's 8 epoch rows" in result.stderr
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines())
    written = result.stdout.splitlines()
    assert written[:2] == [str(tmp_path / SUMMARY_NAME), str(tmp_path / OVERVIEW_NAME)]
    assert (tmp_path / "plots" / "metric_by_epoch.png").is_file()
    assert "`study.csv`" in (tmp_path / OVERVIEW_NAME).read_text()


def test_report_command_options(tmp_path: Path, no_drawing: None) -> None:
    runner = CliRunner()
    result = runner.invoke(
        report_command,
        [str(FIXTURES / "study.csv"), "--out", str(tmp_path), "--metric", "valid_loss", "--no-plots"],
    )
    assert result.exit_code == 0, result.output
    overview = (tmp_path / OVERVIEW_NAME).read_text()
    assert "Main metric: **valid_loss** (lower is better)." in overview
    assert not (tmp_path / "plots").exists()
    result = runner.invoke(
        report_command, [str(FIXTURES / "study.csv"), "--out", str(tmp_path), "--metric", "nope", "--no-plots"]
    )
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_report_command_default_out_is_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(report_command, [str(FIXTURES / "accuracy.csv"), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / OVERVIEW_NAME).is_file()
    assert not (FIXTURES / OVERVIEW_NAME).exists()


def test_report_command_rejects_other_csv(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(report_command, [str(other), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not an audiometrics epoch CSV" in result.stderr


# --------------------------------------------------------------------------- the reference study


@needs_seed
def test_reference_study_overview(tmp_path: Path, no_drawing: None) -> None:
    result = CliRunner().invoke(report_command, [str(SEED_CSV), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    overview = (tmp_path / OVERVIEW_NAME).read_text()
    for figure in (
        "**Best lwlrap**: 0.722973",  # ResNet18
        "**Final lwlrap**: 0.711425",
        "**Best lwlrap**: 0.654780",  # MobileNetV4
        "**Final lwlrap**: 0.650506",
        "**Best accuracy_multi**: 0.989499",
        "**Best lwlrap**: 0.235876",  # DeiT pretrained
        "**Best lwlrap**: 0.259623",  # DeiT from scratch (and ConViT)
        "**Final lwlrap**: 0.253036",
    ):
        assert figure in overview, figure
    assert (
        "**Ranking by best lwlrap**: resnet18 > mobilenetv4_conv_small > deit_tiny_patch16_224 (from scratch) "
        "≈ convit_tiny > deit_tiny_patch16_224 (pretrained)" in overview
    )
    assert "lowered its final lwlrap by 6.8% (0.235876 vs 0.253036 from scratch)" in overview
    assert "lowered its best lwlrap by 9.1% (0.235876 vs 0.259623 from scratch)" in overview
    assert "| resnet18 | 0.080807 | 0.711425 | +0.631 |" in overview
    assert "| mobilenetv4_conv_small | 0.254828 | 0.650506 | +0.396 |" in overview
    assert "2.78× higher than the best vision transformer run" in overview
    duplicate = "convit_tiny and deit_tiny_patch16_224 (from scratch) share 60 of convit_tiny's 102 epoch rows"
    assert duplicate in overview
    assert duplicate in result.stderr
    assert "110.806099" in overview
    assert "`slice(1e-3, 3e-3` cannot be parsed (a closing parenthesis is missing)" in overview
    summary = (tmp_path / SUMMARY_NAME).read_text()
    assert duplicate in summary
    assert summary.count("\n## ") == 6  # warnings + five runs


def test_reused_templates_notice_an_override_added_or_changed(tmp_path: Path) -> None:
    summary = summarize(load_metrics(FIXTURES / "study.csv"))
    assert render_reports(summary, tmp_path)[OVERVIEW_NAME].startswith("# Training Metrics Extraction Summary")
    override = tmp_path / "EXTRACTION_SUMMARY.md.j2"
    override.write_text("first {{ summary.rows }}\n")
    assert render_reports(summary, tmp_path)[OVERVIEW_NAME] == "first 59\n"
    override.write_text("second {{ summary.rows }}\n")
    os.utime(override, ns=(override.stat().st_atime_ns, override.stat().st_mtime_ns + 1_000_000))
    assert render_reports(summary, tmp_path)[OVERVIEW_NAME] == "second 59\n"


def test_every_fact_kind_has_its_wording() -> None:
    """Each insight kind has title and text macros (bullet ones for the kinds with bullets), each recommendation record a macro, in _insights.md.j2."""
    from audiometrics.report import facts, insights
    from audiometrics.report.render import _environment

    module = _environment(None).get_template("_insights.md.j2").module
    kinds = [rule.__name__.lstrip("_") for rule in insights.RULES]
    for kind in kinds:
        assert hasattr(module, f"{kind}_title") and hasattr(module, f"{kind}_text"), kind
    with_bullets = {kind for kind in kinds if hasattr(module, f"{kind}_bullet")}
    assert with_bullets == {"families", "pretrained", "metric_disagreement", "schedule", "still_improving"}
    records = [c for c in vars(facts).values() if isinstance(c, type) and issubclass(c, facts.Recommendation) and c.kind]
    assert len(records) == 11
    for record in records:
        assert hasattr(module, f"recommend_{record.kind}"), record
