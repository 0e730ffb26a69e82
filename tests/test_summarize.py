"""The summarize layer: metric choice, families, rankings, insights and data-quality warnings."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from audiometrics.epochs.loader import load_metrics
from audiometrics.options import MetricError, metric_direction
from audiometrics.report.formatting import fmt, fmt_duration
from audiometrics.report.metric import architecture_family, choose_metric
from audiometrics.report.render import OVERVIEW_NAME, SUMMARY_NAME, render_reports
from audiometrics.report.summarize import summarize
from tests.test_report import FIXTURES, SEED_CSV, extract_inputs, needs_seed

HEADER = "accuracy_multi,epoch,learning_rate,lwlrap,model,pretrained,time,train_loss,training_phase,valid_loss"


def frame_of(text: str) -> pd.DataFrame:
    return load_metrics(io.StringIO(text))


def kinds(summary) -> list[str]:
    return [w.kind for w in summary.warnings]


# --------------------------------------------------------------------------- metric


def test_default_metric_is_lwlrap_when_present() -> None:
    info = choose_metric(load_metrics(FIXTURES / "study.csv"))
    assert (info.name, info.lower_is_better, info.chosen, info.direction) == ("lwlrap", False, "default", "known")


@pytest.mark.parametrize(
    ("fixture", "name", "lower"),
    [("error_rate.csv", "error_rate", True), ("accuracy.csv", "accuracy", False)],
)
def test_fallback_metrics(fixture: str, name: str, lower: bool) -> None:
    info = choose_metric(load_metrics(FIXTURES / fixture))
    assert (info.name, info.lower_is_better) == (name, lower)


def test_fallback_order_prefers_accuracy_multi_then_error_rate_then_valid_loss() -> None:
    text = HEADER + ",error_rate\n0.9,0,1e-3,,m,No,00:01,0.5,1,0.4,0.2\n"
    assert choose_metric(frame_of(text)).name == "accuracy_multi"
    text = HEADER + ",error_rate\n,0,1e-3,,m,No,00:01,0.5,1,0.4,0.2\n"
    assert choose_metric(frame_of(text)).name == "error_rate"
    text = HEADER + "\n,0,1e-3,,m,No,00:01,0.5,1,0.4\n"
    assert choose_metric(frame_of(text)).name == "valid_loss"
    text = HEADER + "\n,0,1e-3,,m,No,00:01,,1,\n"
    assert choose_metric(frame_of(text)) is None


def test_named_metric_and_direction() -> None:
    frame = load_metrics(FIXTURES / "study.csv")
    assert choose_metric(frame, "valid_loss").lower_is_better is True
    assert choose_metric(frame, "lwlrap", lower_is_better=True).lower_is_better is True
    with pytest.raises(MetricError, match="available: accuracy_multi, lwlrap, train_loss, valid_loss"):
        choose_metric(frame, "error_rate")


@pytest.mark.parametrize(
    ("name", "lower"),
    [
        ("valid_loss", True),
        ("error_rate", True),
        ("mse", True),
        ("rmse", True),
        ("accuracy", False),
        ("accuracy_multi", False),
        ("lwlrap", False),
        ("f1_score", False),
        ("fbeta", False),
        ("roc_auc_score", False),
        ("dice", False),
        ("mystery", None),
    ],
)
def test_metric_direction(name: str, lower: bool | None) -> None:
    assert metric_direction(name) is lower


def test_unknown_direction_is_assumed_higher_and_said() -> None:
    text = HEADER + ",mystery\n,0,1e-3,,m,No,00:01,0.5,1,0.4,3\n,1,1e-3,,m,No,00:01,0.4,1,0.3,5\n"
    summary = summarize(frame_of(text), metric="mystery")
    assert summary.metric.direction == "assumed" and not summary.metric.lower_is_better
    assert "The direction of `mystery` is not known" in render_reports(summary)[OVERVIEW_NAME]
    assert summary.runs[0].best.value == 5


def test_lower_is_better_ranking() -> None:
    summary = summarize(load_metrics(FIXTURES / "error_rate.csv"))
    assert [e.run for e in summary.ranking] == ["efficientnet_b0 (pretrained)", "resnet18"]
    assert summary.runs[0].best.value == min(v for v in summary.runs[0].series["error_rate"] if v is not None)
    assert summary.runs[0].improvement < 0
    assert "\n\nBoth runs improved error_rate from the first" in render_reports(summary)[OVERVIEW_NAME]


# --------------------------------------------------------------------------- families


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("resnet18", "CNN"),
        ("models.resnet34", "CNN"),
        ("xresnet50", "CNN"),
        ("mobilenetv4_conv_small", "CNN"),
        ("tf_efficientnet_b0", "CNN"),
        ("convnext_tiny", "CNN"),
        ("densenet121", "CNN"),
        ("deit_tiny_patch16_224", "vision transformer"),
        ("convit_tiny", "vision transformer"),
        ("vit_base_patch16_224.augreg_in21k", "vision transformer"),
        ("timm/swin_tiny_patch4_window7_224", "vision transformer"),
        ("mixer_b16_224", "MLP-mixer"),
        ("my_custom_model", "other"),
        ("", "other"),
    ],
)
def test_architecture_family(model: str, family: str) -> None:
    assert architecture_family(model) == family


# --------------------------------------------------------------------------- the study fixture


@pytest.fixture(scope="module")
def study():
    return summarize(load_metrics(FIXTURES / "study.csv"))


def test_runs_and_names(study) -> None:
    assert [r.name for r in study.runs] == [
        "resnet34 (from scratch)",
        "resnet34 (pretrained)",
        "vit_small_patch16_224",
        "convit_tiny",
    ]
    assert [r.notebook for r in study.runs][:1] == ["a_resnet34_scratch.ipynb"]
    assert [r.epochs for r in study.runs] == [20, 20, 11, 8]
    assert [len(r.phases) for r in study.runs] == [2, 2, 2, 2]
    assert study.runs[0].phases[1].elided and len(study.runs[0].phases[1].rows) == 11


def test_ranking_and_tie_handling(study) -> None:
    assert [(e.rank, e.run) for e in study.ranking] == [
        (1, "resnet34 (pretrained)"),
        (2, "resnet34 (from scratch)"),
        (3, "vit_small_patch16_224"),
        (3, "convit_tiny"),
    ]
    assert study.ranking[2].tied and study.ranking[3].tied
    assert "vit_small_patch16_224 ≈ convit_tiny\n" in render_reports(study)[OVERVIEW_NAME]


def test_duplicate_rows_are_flagged(study) -> None:
    (warning,) = [w for w in study.warnings if w.kind == "duplicate_rows"]
    assert warning.runs == ["convit_tiny", "vit_small_patch16_224"]
    assert warning.data == {"shared": 5, "rows": 8, "other_rows": 11}
    assert "share 5 of convit_tiny's 8 epoch rows" in warning.message


def test_spike_is_flagged(study) -> None:
    (spike,) = study.spikes
    assert (spike.run, spike.column, spike.peak.value, spike.epochs) == ("vit_small_patch16_224", "valid_loss", 3.204511, 2)
    assert spike.recovered is not None and spike.recovered.epoch == 5
    assert [(r.run, r.phase, r.learning_rate) for r in study.recommendations if r.kind == "lower_lr"] == [("vit_small_patch16_224", 1, "1e-1")]
    assert "Lower the learning rate (`1e-1`) of vit_small_patch16_224 phase 1" in render_reports(study)[OVERVIEW_NAME]


def test_missing_metric_is_flagged(study) -> None:
    messages = [w.message for w in study.warnings if w.kind == "missing_metric"]
    assert messages == ["accuracy_multi is recorded for 3 of 4 runs; missing for convit_tiny, so comparisons on accuracy_multi leave it out"]


def test_pretrained_insight(study) -> None:
    data = study.insight("pretrained").data["resnet34"]
    assert data["verdict"] == "helped"
    assert round(data["best_percent"], 1) == 14.5


def test_metric_disagreement(study) -> None:
    insight = study.insight("metric_disagreement")
    assert insight.data["reversed_pairs"] == 2
    assert insight.data["saturated"]
    assert insight.bullets[0].win == "vit_small_patch16_224"
    assert "- vit_small_patch16_224 has the higher accuracy_multi" in render_reports(study)[OVERVIEW_NAME]


def test_families_ratio(study) -> None:
    data = study.insight("families").data
    assert list(data["families"]) == ["CNN", "vision transformer"]
    assert data["ratios"]["vision transformer"] == pytest.approx(0.709280 / 0.311264)


def test_efficiency(study) -> None:
    run = study.runs[0]
    assert run.total_time_s == 159.0 and run.time_per_epoch_s == pytest.approx(7.95)
    assert study.insight("efficiency").facts.fastest.run == "resnet34 (from scratch)"
    assert "resnet34 (from scratch) is the fastest per epoch" in render_reports(study)[OVERVIEW_NAME]


# --------------------------------------------------------------------------- warnings in other shapes


def test_phase_table_warnings_and_statuses() -> None:
    frame, phases = extract_inputs()
    summary = summarize(frame, phases)
    assert kinds(summary) == ["incomplete_phase", "empty_phase", "empty_phase", "missing_lr"]
    first = summary.runs[0]
    assert [p.status for p in first.phases] == [
        "fit_one_cycle(5, 1e-1): 5 of 5 epochs recorded",
        "fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded",
        "fit_one_cycle(3, 1e-3): no epochs recorded (of 3 planned) — its saved table is empty",
    ]
    assert [p.incomplete for p in first.phases] == [False, True, True]
    assert summary.runs[1].phases[0].lr_status == "default"
    assert summary.runs[1].phases[1].lr_status == "missing"
    assert summary.runs[2].epochs == 0 and summary.runs[2].best is None
    assert summary.has_phase_table and "CSV does not record" not in render_reports(summary)[SUMMARY_NAME]


def test_epoch_restart_inside_a_phase() -> None:
    text = HEADER + "\n" + "".join(f",{e},1e-1,0.{e + 1},m,No,00:01,0.5,1,0.4\n" for e in [0, 1, 2, 0, 1])
    summary = summarize(frame_of(text))
    (warning,) = [w for w in summary.warnings if w.kind == "epoch_restart"]
    assert "restarts (0–2, then 0–1)" in warning.message and "2 training calls" in warning.message
    assert summary.runs[0].phases[0].notes == [warning]


def test_divergence_that_never_recovers() -> None:
    losses = ["0.05", "0.04", "0.9", "2.0"]
    text = HEADER + "\n" + "".join(f",{e},1e-1,0.{e + 1},m,No,00:01,0.5,1,{v}\n" for e, v in enumerate(losses))
    (spike,) = summarize(frame_of(text)).spikes
    assert spike.baseline == 0.04 and spike.peak.value == 2.0 and spike.recovered is None


def test_gradual_rise_is_not_a_spike() -> None:
    losses = ["0.05", "0.1", "0.2", "0.4", "0.8", "1.6"]
    text = HEADER + "\n" + "".join(f",{e},1e-1,0.{e + 1},m,No,00:01,0.5,1,{v}\n" for e, v in enumerate(losses))
    assert summarize(frame_of(text)).spikes == []


def test_missing_and_malformed_learning_rates() -> None:
    text = HEADER + "\n,0,,0.1,m,No,00:01,0.5,1,0.4\n,0,\"slice(1e-3, 3e-3\",0.2,m,No,00:01,0.5,2,0.4\n"
    summary = summarize(frame_of(text))
    messages = {w.kind: w.message for w in summary.warnings}
    assert messages["missing_lr"] == "m: the learning rate of phase 1 could not be resolved (empty learning_rate)"
    assert messages["malformed_lr"].startswith("learning rate `slice(1e-3, 3e-3` cannot be parsed (a closing parenthesis is missing)")


def test_partially_missing_metric() -> None:
    summary = summarize(load_metrics(FIXTURES / "error_rate.csv"))
    assert "valid_loss is missing in 1 of 6 epoch rows of efficientnet_b0 (pretrained) (phase 1)" in [str(w) for w in summary.warnings]


def test_raw_text_frame_is_typed_first() -> None:
    raw = pd.read_csv(FIXTURES / "accuracy.csv", dtype=str, keep_default_na=False)
    summary = summarize(raw)
    assert summary.metric.name == "accuracy" and summary.runs[0].best.value == 0.78


def test_summary_is_deterministic() -> None:
    frame = load_metrics(FIXTURES / "study.csv")
    assert repr(summarize(frame)) == repr(summarize(frame.copy()))


def test_formatting() -> None:
    assert fmt(0.722973) == "0.722973"
    assert fmt(None) == "n/a"
    assert fmt(float("nan")) == "n/a"
    assert fmt(110.806099) == "110.806099"
    assert fmt(1.5e-7) == "1.5e-07"
    assert fmt_duration(6.79) == "6.8 s"
    assert fmt_duration(781) == "13 min 1 s"
    assert fmt_duration(6660) == "1 h 51 min"


# --------------------------------------------------------------------------- the reference study


@needs_seed
def test_reference_study_numbers() -> None:
    summary = summarize(load_metrics(SEED_CSV))
    runs = {r.name: r for r in summary.runs}
    resnet = runs["resnet18"]
    mobile = runs["mobilenetv4_conv_small"]
    deit_pre = runs["deit_tiny_patch16_224 (pretrained)"]
    deit = runs["deit_tiny_patch16_224 (from scratch)"]
    assert (resnet.best.value, resnet.final.value) == (0.722973, 0.711425)
    assert (mobile.best.value, mobile.final.value, mobile.accuracy_best.value) == (0.654780, 0.650506, 0.989499)
    assert deit_pre.best.value == 0.235876
    assert (deit.best.value, deit.final.value) == (0.259623, 0.253036)
    assert [e.run for e in summary.ranking] == [
        "resnet18",
        "mobilenetv4_conv_small",
        "deit_tiny_patch16_224 (from scratch)",
        "convit_tiny",
        "deit_tiny_patch16_224 (pretrained)",
    ]
    assert summary.ranking[2].rank == summary.ranking[3].rank == 3
    pretrained = summary.insight("pretrained").data["deit_tiny_patch16_224"]
    assert round(pretrained["final_percent"]) == -7
    assert round(pretrained["best_percent"]) == -9
    assert round(resnet.improvement, 3) == 0.631
    assert round(mobile.improvement, 3) == 0.396
    (duplicate,) = [w for w in summary.warnings if w.kind == "duplicate_rows"]
    assert duplicate.data == {"shared": 60, "rows": 102, "other_rows": 115}
    assert set(duplicate.runs) == {"convit_tiny", "deit_tiny_patch16_224 (from scratch)"}
    (spike,) = summary.spikes
    assert (spike.run, spike.peak.value) == ("mobilenetv4_conv_small", 110.806099)
    assert sum(w.kind == "malformed_lr" for w in summary.warnings) == 2
    assert [r.family for r in summary.runs] == ["CNN", "CNN", "vision transformer", "vision transformer", "vision transformer"]
    assert resnet.phases[3].lr_status == "malformed" and resnet.phases[3].lr_max is None
    assert sum(w.kind == "epoch_restart" for w in summary.warnings) == 3


def test_phase_frame_in_another_order_joins_on_labels() -> None:
    frame, phases = extract_inputs()
    reordered = pd.concat([phases.iloc[3:5], phases.iloc[0:3], phases.iloc[5:]], ignore_index=True)
    summary = summarize(frame, reordered)
    assert summary.has_phase_table
    assert [r.name for r in summary.runs] == ["resnet18 (pretrained)", "resnet18 (from scratch)", "vit_tiny_patch16_224"]
    assert summary.runs[1].phases[1].status == "fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded"


def test_receiver_is_left_out_of_phase_status() -> None:
    from audiometrics.report.runs import phase_status as _phase_status

    assert _phase_status("fit_one_cycle", "learn.fit_one_cycle(20, 3e-3)", 20, 5, False, "3e-3") == (
        "fit_one_cycle(20, 3e-3): 5 of 20 epochs recorded"
    )
    assert _phase_status("fit", None, None, 0, True, "") == "fit(…): no epochs recorded — the fit was interrupted"


def test_warnings_are_worded_again_in_any_style(study) -> None:
    from audiometrics.escaping import MARKDOWN, PLAIN, Style

    shouted = Style(lambda value: str(value).upper(), lambda value: f"<code>{value}</code>")
    assert study.warnings
    for warning in study.warnings:
        assert warning.text(PLAIN) == warning.message and warning.text(MARKDOWN) == warning.markdown
        assert warning.text(shouted) != warning.message or not any(c.islower() for c in warning.message)


def test_insights_and_recommendations_are_facts_worded_by_the_templates(study) -> None:
    """No markup in the facts; a second Jinja environment with other filters words them its own way."""
    import dataclasses

    from audiometrics.report import render

    def values(record):
        if dataclasses.is_dataclass(record):
            for item in dataclasses.astuple(record):
                yield from values(item)
        elif isinstance(record, (list, tuple)):
            for item in record:
                yield from values(item)
        else:
            yield record

    records = [i.facts for i in study.insights] + [b for i in study.insights for b in i.bullets] + study.recommendations
    assert {type(r).__name__ for r in study.recommendations} >= {"Leader", "LowerLearningRate", "CheckDuplicates"}
    assert not any(isinstance(v, str) and "`" in v for r in records for v in values(r))
    base = render._environment(None)
    shouted = base.overlay()
    shouted.filters = {**base.filters, "md": lambda value: str(value).upper(), "code": lambda value, cell=False: f"<code>{value}</code>"}
    quiet = render_reports(study)[OVERVIEW_NAME]
    loud = shouted.get_template("EXTRACTION_SUMMARY.md.j2").render(
        summary=study, csv_name="x.csv", plots=[], summary_name=SUMMARY_NAME, overview_name=OVERVIEW_NAME
    )
    assert "Lower the learning rate (<code>1e-1</code>) of VIT_SMALL_PATCH16_224 phase 1" in loud
    assert "1. Use RESNET34 (PRETRAINED): its best LWLRAP 0.709280 is 0.090000 (14.5%) above" in loud
    assert "1. Use resnet34 (pretrained): its best lwlrap 0.709280" in quiet
