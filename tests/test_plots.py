"""The PNG plots: which are drawn, where, deterministically, without pyplot state."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from audiometrics.epochs.loader import load_metrics
from audiometrics.report.plots import MAX_LINES, MAX_PANELS, chosen_runs, length_buckets, plot_specs, robust_limits, write_plots
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


def test_a_spike_is_clipped_not_a_log_scale() -> None:
    low, high, clipped = robust_limits([0.9, 0.5, 0.45, 0.4, 0.38, 1330.0])
    assert clipped and 0.38 > low and 0.9 < high < 1.0
    assert robust_limits([1.5, 0.6, 0.55, 0.5, 0.45])[2] is False  # a normal descent keeps its start
    assert robust_limits([])[2] is False and robust_limits([-0.5, -9.0, 0.0])[2] is False


@needs_seed
def test_reference_study_plots(tmp_path: Path) -> None:
    summary = summarize(load_metrics(SEED_CSV))
    assert write_plots(summary, tmp_path / "plots") == ALL
    clipped = {run.name: robust_limits([v for c in ("train_loss", "valid_loss") for v in run.series[c] if v is not None])[2] for run in summary.runs}
    assert clipped["mobilenetv4_conv_small"] and not clipped["convit_tiny"]


def _copies(runs: int, lengths: tuple[int, ...] = (3,)):
    import pandas as pd

    frame = load_metrics(FIXTURES / "accuracy.csv")
    parts = []
    for i in range(runs):
        part = pd.concat([frame] * lengths[i % len(lengths)], ignore_index=True) if lengths[i % len(lengths)] > 1 else frame.copy()
        part["model"] = f"model_{i:03d}"
        part["accuracy"] = part["accuracy"] + i * 0.0001
        parts.append(part)
    combined = pd.concat(parts, ignore_index=True)[[c for c in frame.columns if c not in ("run", "global_epoch", "time_s", "lr_max")]]
    return combined.astype(str).replace({"nan": "", "<NA>": ""})


def test_plots_are_bounded_in_pixels_whatever_the_runs(tmp_path: Path) -> None:
    summary = summarize(_copies(120))
    assert len(chosen_runs(summary.runs, MAX_LINES)) == MAX_LINES
    assert write_plots(summary, tmp_path / "plots") == ALL
    for relative in ALL:
        width, height = png_size(tmp_path / relative)
        assert width <= 1800 and height <= 2400, (relative, width, height)
    best = [r.name for r in chosen_runs(summary.runs, MAX_PANELS)]
    assert summary.ranking[0].run in best  # the leader is always drawn


def test_short_runs_get_their_own_panel() -> None:
    summary = summarize(_copies(4, lengths=(1, 20)))
    buckets = length_buckets(summary.runs)
    assert [sorted({r.epochs for r in bucket}) for bucket in buckets] == [[summary.runs[0].epochs], [summary.runs[1].epochs]]


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


