"""Aligning tables with training calls, on hand-made analyses and tables."""

from __future__ import annotations

from audiometrics.align import align_notebook, expand_events
from audiometrics.model import (
    CellAnalysis,
    CodeCell,
    LearnerCreated,
    Loop,
    ProgressCall,
    ProgressTable,
    TrainingCall,
)

COLS = ("epoch", "train_loss", "valid_loss", "lwlrap", "time")


def table(n, *, blank=False, interrupted=False, columns=COLS, start=0):
    if blank:
        return ProgressTable(None, (), "html", 0, blank=True)
    rows = tuple((str(start + i), "0.5", "0.4", "0.3", "00:01") for i in range(n))
    return ProgressTable(columns, rows, "html", 0, interrupted=interrupted)


def learner(target="learn", model="resnet18", pretrained=False, metrics=("lwlrap",)):
    return LearnerCreated(1, target, "vision_learner", model, pretrained, metrics)


def fit(epochs, lr, learner="learn", method="fit_one_cycle", part=None):
    return TrainingCall(1, learner, method, epochs, lr, call_text=f"{learner}.{method}({epochs}, {lr})", part=part)


def run(cells):
    code = [CodeCell(i, i + 1, "", ()) for i in range(len(cells))]
    analyses = [CellAnalysis(tuple(events)) for events, _ in cells]
    tables = [list(t) for _, t in cells]
    return align_notebook("nb.ipynb", code, analyses, tables)


def test_two_fits_in_one_cell_are_two_phases_with_their_own_lr():
    runs, diags = run([([learner()], []), ([fit(5, "1e-1"), fit(10, "1e-2")], [table(5), table(10)])])
    assert len(runs) == 1
    phases = runs[0].phases
    assert [(p.number, p.learning_rate, p.recorded_epochs) for p in phases] == [(1, "1e-1", 5), (2, "1e-2", 10)]
    assert diags == []


def test_empty_first_table_keeps_its_phase_and_lr_does_not_leak():
    runs, diags = run([([learner()], []), ([fit(5, "1e-1"), fit(10, "1e-2")], [table(0), table(10)])])
    phases = runs[0].phases
    assert [(p.number, p.learning_rate, p.recorded_epochs) for p in phases] == [(1, "1e-1", 0), (2, "1e-2", 10)]
    assert any("no epochs recorded" in d.message for d in diags)


def test_blank_display_slot_counts_for_its_call():
    runs, _ = run([([learner()], []), ([fit(5, "1e-1"), fit(10, "1e-2")], [table(0, blank=True), table(10)])])
    assert [(p.learning_rate, p.recorded_epochs) for p in runs[0].phases] == [("1e-1", 0), ("1e-2", 10)]


def test_lr_find_blank_and_fit_in_one_cell():
    events = [ProgressCall(1, "learn", "lr_find"), fit(3, "1e-2")]
    runs, diags = run([([learner()], []), (events, [table(0, blank=True), table(3)])])
    assert [(p.learning_rate, p.recorded_epochs) for p in runs[0].phases] == [("1e-2", 3)]
    assert diags == []


def test_fastai_v1_lr_find_partial_table_is_dropped():
    events = [ProgressCall(1, "learn", "lr_find"), fit(3, "1e-2")]
    runs, _ = run([([learner()], []), (events, [table(1, interrupted=True), table(3)])])
    assert [(p.learning_rate, p.recorded_epochs, p.incomplete) for p in runs[0].phases] == [("1e-2", 3, False)]


def test_incomplete_and_interrupted():
    runs, diags = run([([learner(), fit(20, "3e-3")], [table(5)]), ([fit(4, "1e-3")], [table(2, interrupted=True)])])
    first, second = runs[0].phases
    assert first.incomplete and not first.interrupted
    assert second.incomplete and second.interrupted
    assert any("5 of 20 epochs recorded" in d.message for d in diags)
    assert any("interrupted" in d.message for d in diags)


def test_fine_tune_two_parts():
    events = [fit(1, "slice(2e-3)", method="fine_tune", part="frozen"), fit(3, "slice(1e-5, 1e-3)", method="fine_tune", part="unfrozen")]
    runs, _ = run([([learner()] + events, [table(1), table(3)])])
    assert [(p.number, p.learning_rate, p.recorded_epochs) for p in runs[0].phases] == [(1, "slice(2e-3)", 1), (2, "slice(1e-5, 1e-3)", 3)]


def test_loop_with_known_count_and_unknown_count():
    known = Loop(1, (fit(1, ""),), 3)
    runs, _ = run([([learner(), known], [table(1), table(1), table(1)])])
    assert [p.number for p in runs[0].phases] == [1, 2, 3]
    unknown = Loop(1, (fit(2, "1e-3"),), None)
    runs, diags = run([([learner(), unknown], [table(2)] * 300)])
    assert len(runs[0].phases) == 300 and runs[0].phases[-1].number == 300
    assert not any("unknown length" in d.message for d in diags)


def test_more_tables_than_calls_and_the_reverse_warn_and_never_shift_silently():
    runs, diags = run([([learner(), fit(5, "1e-1")], [table(5), table(5)])])
    assert [p.learning_rate for p in runs[0].phases] == ["1e-1", ""]
    assert any("2 training tables for 1 training phase" in d.message for d in diags)
    runs, diags = run([([learner(), fit(5, "1e-1"), fit(5, "1e-2")], [table(5)])])
    assert [(p.learning_rate, p.recorded_epochs) for p in runs[0].phases] == [("1e-1", 5), ("1e-2", 0)]
    assert any("1 training table for 2 training phases" in d.message for d in diags)


def test_two_learners_and_an_untrained_one():
    cells = [
        ([learner("learn", "resnet18"), fit(2, "1e-2")], [table(2)]),
        ([learner("learn2", "convit_tiny", True), fit(3, "1e-3", learner="learn2")], [table(3)]),
        ([fit(1, "1e-4", learner="learn")], [table(1)]),
        ([learner("learn", "resnet18")], []),
    ]
    runs, _ = run(cells)
    assert [(r.model, r.pretrained, len(r.phases)) for r in runs] == [("resnet18", False, 2), ("convit_tiny", True, 1)]
    assert [p.number for p in runs[0].phases] == [1, 2]


def test_header_only_table_without_call_is_ignored_and_rows_without_call_warn():
    runs, diags = run([([learner()], [table(0)])])
    assert runs == [] and diags == []
    runs, diags = run([([learner()], [table(2)])])
    assert len(runs) == 1 and runs[0].phases[0].learning_rate == ""
    assert any("no training call" in d.message for d in diags)


def test_no_bar_rows_take_names_from_metrics_or_say_so():
    rows = ProgressTable(None, (("0", "0.5", "0.4", "0.3", "0.9", "00:01"),), "list", 0)
    runs, diags = run([([learner(metrics=("accuracy_multi", "lwlrap")), fit(1, "1e-3")], [rows])])
    assert runs[0].phases[0].columns == ("epoch", "train_loss", "valid_loss", "accuracy_multi", "lwlrap", "time")
    assert diags == []
    runs, diags = run([([learner(metrics=None), fit(1, "1e-3")], [rows])])
    assert runs[0].phases[0].columns == ("epoch", "train_loss", "valid_loss", "metric_1", "metric_2", "time")
    assert any("metrics=" in d.message for d in diags)


def test_training_without_learner_creation_is_kept_with_unknown_model():
    runs, diags = run([([fit(2, "1e-3")], [table(2)])])
    assert runs[0].model == ""
    assert any("no learner creation" in d.message for d in diags)


def test_expand_events_nested():
    events = [Loop(1, (fit(1, "a"), Loop(2, (fit(1, "b"),), 2)), 2)]
    assert [e.learning_rate for e in expand_events(events)] == ["a", "b", "b", "a", "b", "b"]


def test_zero_epoch_call_printing_nothing_keeps_its_phase_number_silently():
    runs, diags = run([([learner()], []), ([fit(1, "1e-1")], [table(1)]), ([fit(0, "1e-2")], []), ([fit(2, "3e-3")], [table(2)])])
    assert [(p.number, p.learning_rate, p.recorded_epochs) for p in runs[0].phases] == [(1, "1e-1", 1), (2, "1e-2", 0), (3, "3e-3", 2)]
    assert diags == []
    runs, diags = run([([learner()], []), ([fit(0, "1e-2"), fit(2, "3e-3")], [table(0), table(2)])])
    assert [(p.learning_rate, p.recorded_epochs) for p in runs[0].phases] == [("1e-2", 0), ("3e-3", 2)]
    assert diags == []
