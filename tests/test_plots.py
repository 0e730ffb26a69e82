"""The PNG plots: which are drawn, where, deterministically, without pyplot state."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from audiometrics.epochs.loader import load_metrics
from audiometrics.report.plots import _needs_log, plot_specs, write_plots
from audiometrics.report.summarize import summarize
from tests.test_report import FIXTURES, SEED_CSV, needs_seed

ALL = ["plots/metric_by_epoch.png", "plots/losses_by_epoch.png", "plots/best_final_metric.png"]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_writes_three_plots_with_relative_paths(tmp_path: Path) -> None:
    summary = summarize(load_metrics(FIXTURES / "study.csv"))
    written = write_plots(summary, tmp_path / "plots")
    assert written == ALL
    for relative in written:
        width, height = png_size(tmp_path / relative)
        assert 600 <= width <= 2400 and 300 <= height <= 2400


def test_accepts_a_frame(tmp_path: Path) -> None:
    written = write_plots(load_metrics(FIXTURES / "error_rate.csv"), tmp_path / "figures")
    assert written == [p.replace("plots/", "figures/") for p in ALL]


def test_png_bytes_are_deterministic(tmp_path: Path) -> None:
    summary = summarize(load_metrics(FIXTURES / "study.csv"))
    write_plots(summary, tmp_path / "a")
    write_plots(summary, tmp_path / "b")
    for name in ("metric_by_epoch.png", "losses_by_epoch.png", "best_final_metric.png"):
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes()
        assert b"Software" not in data


def test_plots_follow_the_data(tmp_path: Path) -> None:
    frame = load_metrics(FIXTURES / "accuracy.csv")
    summary = summarize(frame.assign(train_loss=float("nan"), valid_loss=float("nan")))
    assert [s.file for s in plot_specs(summary)] == ["metric_by_epoch.png", "best_final_metric.png"]
    empty = summarize(frame.iloc[0:0])
    assert plot_specs(empty) == []
    assert write_plots(empty, tmp_path / "plots") == []


def test_log_scale_only_where_a_spike_needs_it() -> None:
    summary = summarize(load_metrics(FIXTURES / "study.csv"))
    assert [_needs_log(run, summary) for run in summary.runs] == [False, False, True, False]


@needs_seed
def test_reference_study_plots(tmp_path: Path) -> None:
    summary = summarize(load_metrics(SEED_CSV))
    assert write_plots(summary, tmp_path / "plots") == ALL
    logs = {run.name: _needs_log(run, summary) for run in summary.runs}
    assert logs["mobilenetv4_conv_small"] and not logs["resnet18"]


def test_no_pyplot_import(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from audiometrics.epochs.loader import load_metrics\n"
        "from audiometrics.report.plots import write_plots\n"
        f"write_plots(load_metrics({str(FIXTURES / 'study.csv')!r}), {str(tmp_path / 'plots')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("runs", [1, 12])
def test_many_or_few_runs(tmp_path: Path, runs: int) -> None:
    frame = load_metrics(FIXTURES / "accuracy.csv")
    import pandas as pd

    parts = []
    for i in range(runs):
        part = frame.copy()
        part["model"] = f"model_{i:02d}"
        part["accuracy"] = part["accuracy"] + i * 0.001
        parts.append(part)
    combined = pd.concat(parts, ignore_index=True)[[c for c in frame.columns if c not in ("run", "global_epoch", "time_s", "lr_max")]]
    written = write_plots(combined.astype(str).replace({"nan": "", "<NA>": ""}), tmp_path / "plots")
    assert len(written) == 3


def _hostile_frame():
    import io

    header = "accuracy_multi,epoch,learning_rate,lwlrap,model,pretrained,time,train_loss,training_phase,valid_loss"
    lines = [header]
    for model in ("res$\\frac$net", "a$b$c \x1b[31m漢字🎉", "$x^2$"):
        lines += [f',{e},1e-3,0.{e + 1},"{model}",No,00:01,0.{9 - e},1,0.{8 - e}' for e in range(3)]
    return load_metrics(io.StringIO("\n".join(lines) + "\n"))


def test_names_are_never_mathtext_and_draw_without_warnings(tmp_path: Path) -> None:
    import warnings

    from audiometrics.report.plots import draw_plots

    summary = summarize(_hostile_frame())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        drawn = draw_plots(summary)
    assert drawn.failed == {} and drawn.warning() is None
    assert list(drawn.images) == [p.split("/")[1] for p in ALL]
    assert [str(w.message) for w in seen] == []


def test_a_plot_that_fails_is_not_referenced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audiometrics.report import plots
    from audiometrics.report.render import OVERVIEW_NAME, write_reports

    def broken(summary):
        raise ValueError("mathtext\nexploded")

    monkeypatch.setitem(plots._DRAW, "losses_by_epoch.png", broken)
    result = write_reports(load_metrics(FIXTURES / "study.csv"), tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in result.paths][2:] == [ALL[0], ALL[2], "report.html"]
    assert not (tmp_path / "plots" / "losses_by_epoch.png").exists()
    overview = (tmp_path / OVERVIEW_NAME).read_text()
    assert "losses_by_epoch.png" not in overview.split("## Data-quality warnings")[0]
    assert "](plots/losses_by_epoch.png)" not in overview
    assert "](plots/metric_by_epoch.png)" in overview
    said = [w for w in result.warnings if "plots not drawn" in w]
    assert said == ["plots not drawn, so the documents do not show them: losses_by_epoch.png (ValueError: mathtext exploded)"]


def test_no_log_scale_without_positive_losses() -> None:
    import io

    header = "accuracy_multi,epoch,learning_rate,lwlrap,model,pretrained,time,train_loss,training_phase,valid_loss"
    rows = [f",{e},1e-3,0.{e + 1},m,No,00:01,{v},1,{v}" for e, v in enumerate(["-0.5", "-0.1", "-9", "0"])]
    summary = summarize(load_metrics(io.StringIO("\n".join([header, *rows]) + "\n")))
    assert [_needs_log(run, summary) for run in summary.runs] == [False]
