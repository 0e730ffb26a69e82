"""Recommendations: what to do next, read from the ranking, the insights and the warnings.

Each is one sentence with every notebook value escaped (markdown unless another
:class:`~audiometrics.escaping.Style` is asked for), in this order:
the run to use (or a tie to break), the architecture family to prefer,
pretrained weights, the metric to select by, runs to train longer, learning
rates to lower (one per spiking phase), runs sharing rows to check, phases to
finish, and notebooks to re-extract.
"""

from __future__ import annotations

from audiometrics.escaping import MARKDOWN, Style
from audiometrics.report.formatting import fmt, fmt_percent, fmt_ratio, join_words, or_unknown, plural
from audiometrics.report.insights import caveat, percent_change
from audiometrics.report.model import DataWarning, Insight, MetricInfo, PhaseSummary, RankEntry, RunSummary, Spike

__all__ = ["recommend"]


def _leader(s: Style, runs: list[RunSummary], info: MetricInfo, ranking: list[RankEntry], warnings: list[DataWarning]) -> list[str]:
    if len(ranking) < 2:
        return []
    leader, second = ranking[0], ranking[1]
    em = s(info.name)
    if fmt(second.best) == fmt(leader.best):
        return [f"{s(leader.run)} and {s(second.run)} tie on best {em} ({fmt(leader.best)}); compare them on another metric or more runs before choosing."]
    pct = percent_change(leader.best, second.best)
    return [
        f"Use {s(leader.run)}: its best {em} {fmt(leader.best)} is "
        f"{fmt(abs(leader.best - second.best))} ({fmt_percent(pct)}) "
        f"{'below' if info.lower_is_better else 'above'} the runner-up, {s(second.run)} ({fmt(second.best)})."
        + caveat([r for r in runs if r.name in (leader.run, second.run)], warnings, s)
    ]


def _family(info: MetricInfo, families: Insight | None) -> list[str]:
    if families is None:
        return []
    ordered = list(families.data["families"].items())
    top_family, top = ordered[0]
    others = [(f, families.data["ratios"].get(f)) for f, _ in ordered[1:]]
    parts = [
        f"{fmt_ratio(r)} {'lower' if info.lower_is_better else 'higher'} than the best {f}" if r is not None else f"ahead of the best {f}"
        for f, r in others
    ]
    return [f"Prefer {top_family} architectures for this task: the best {top_family} run ({fmt(top['best'])}) is " + ", ".join(parts) + "."]


def _pretrained(s: Style, info: MetricInfo, pretrained: Insight | None) -> list[str]:
    if pretrained is None:
        return []
    em = s(info.name)
    out: list[str] = []
    for model, data in pretrained.data.items():
        pct = data["best_percent"]
        if data["verdict"] == "hurt" and info.lower_is_better:
            out.append(f"Train {s(model)} from scratch: pretrained weights made its best {em} {fmt_percent(pct)} worse.")
        elif data["verdict"] == "hurt":
            final = f" and its final {em} by {fmt_percent(data['final_percent'])}" if data["final_percent"] is not None else ""
            out.append(f"Train {s(model)} from scratch: pretrained weights lowered its best {em} by {fmt_percent(pct)}{final}.")
        elif data["verdict"] == "helped":
            out.append(f"Use pretrained weights for {s(model)}: they improved its best {em} by {fmt_percent(pct)}.")
    return out


def _selection_metric(s: Style, info: MetricInfo, disagreement: Insight | None) -> list[str]:
    if disagreement is None:
        return []
    em = s(info.name)
    column = s(disagreement.data["column"])
    reason = []
    if disagreement.data["saturated"]:
        reason.append(f"{column} spans only {fmt(disagreement.data['accuracy_spread'])} across runs against {fmt(disagreement.data['metric_spread'])} for {em}")
    if disagreement.data["reversed_pairs"]:
        reason.append(f"{plural(disagreement.data['reversed_pairs'], 'pair')} of runs are ordered differently by the two")
    return [f"Select models and checkpoints by {em}, not {column}: " + "; ".join(reason) + "."]


def _train_longer(s: Style, info: MetricInfo, late: Insight | None) -> list[str]:
    if late is None:
        return []
    names = late.data["runs"]
    return [
        f"Train {join_words([s(name) for name in names])} longer: "
        + ("its" if len(names) == 1 else "each one's")
        + f" best {s(info.name)} came at the last recorded epoch."
    ]


def _lower_lr(s: Style, spikes: list[Spike]) -> list[str]:
    out: list[str] = []
    seen: set[tuple[str, int | None]] = set()
    for spike in spikes:
        key = (spike.run, spike.start.phase)
        if key in seen:
            continue
        seen.add(key)
        lr = f" ({s.code(spike.learning_rate)})" if spike.learning_rate else ""
        out.append(
            f"Lower the learning rate{lr} of {s(spike.run)} phase {or_unknown(spike.start.phase)}: {s(spike.column)} jumped from "
            f"{fmt(spike.baseline)} to {fmt(spike.peak.value)}; a divergence like this wastes epochs and can hide a better model."
        )
    return out


def _check_duplicates(s: Style, warnings: list[DataWarning]) -> list[str]:
    return [
        f"Check {s(w.runs[0])} and {s(w.runs[1])} before relying on either: they share "
        f"{w.data['shared']} of {w.data['rows']} epoch rows value for value."
        for w in warnings
        if w.kind == "duplicate_rows"
    ]


def _unfinished_phase(s: Style, run: RunSummary, phase: PhaseSummary) -> str:
    if phase.planned_epochs is not None:
        recorded = f"{phase.recorded_epochs} of {phase.planned_epochs} epochs recorded"
    else:
        recorded = f"{plural(phase.recorded_epochs, 'epoch')} recorded"
    return f"{s(run.name)} phase {or_unknown(phase.number)}: {recorded}" + (", interrupted" if phase.interrupted else "")


def _finish_phases(s: Style, runs: list[RunSummary]) -> list[str]:
    unfinished = [(r, p) for r in runs for p in r.phases if p.incomplete or p.empty]
    if not unfinished:
        return []
    listed = "; ".join(_unfinished_phase(s, r, p) for r, p in unfinished)
    return [f"Re-run or finish the incomplete phases before comparing their runs: {listed}."]


def _re_extract(s: Style, runs: list[RunSummary], warnings: list[DataWarning]) -> list[str]:
    restarted = {w.runs[0] for w in warnings if w.kind == "epoch_restart"}
    if not restarted:
        return []
    names = sorted(restarted, key=[r.name for r in runs].index)
    return [
        "Re-extract the notebooks with `audiometrics extract`: "
        + join_words([s(name) for name in names])
        + (" has a phase" if len(restarted) == 1 else " have phases")
        + " whose epoch numbering restarts, so the phases and learning rates recorded for them are probably wrong."
    ]


def recommend(
    runs: list[RunSummary],
    info: MetricInfo | None,
    ranking: list[RankEntry],
    insights: list[Insight],
    warnings: list[DataWarning],
    spikes: list[Spike],
    style: Style = MARKDOWN,
) -> list[str]:
    """The recommendations, in the order of the module docstring; notebook values escaped with ``style``."""
    s = style
    out: list[str] = []
    if info is not None and ranking:
        kinds = {i.kind: i for i in insights}
        out += _leader(s, runs, info, ranking, warnings)
        out += _family(info, kinds.get("families"))
        out += _pretrained(s, info, kinds.get("pretrained"))
        out += _selection_metric(s, info, kinds.get("metric_disagreement"))
        out += _train_longer(s, info, kinds.get("still_improving"))
    return out + _lower_lr(s, spikes) + _check_duplicates(s, warnings) + _finish_phases(s, runs) + _re_extract(s, runs, warnings)
