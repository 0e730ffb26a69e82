"""Aligning tables with training calls, on hand-made analyses and tables."""

from __future__ import annotations

from audiometrics.runs.align import align_notebook, expand_events
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


# --------------------------------------------------------------------------- issue 9


def cells_of(*specs):
    """Cells from (count, events, tables) specs, one per document position; count None with no tables: never ran or cleared."""
    code = [CodeCell(i, count, "", (({"output_type": "stream"},) if tables else ())) for i, (count, _, tables) in enumerate(specs)]
    analyses = [CellAnalysis(tuple(events)) for _, events, _ in specs]
    return align_notebook("nb.ipynb", code, analyses, [list(t) for _, _, t in specs])


def messages(diags):
    return [str(d) for d in diags]


def unknown(target="learn", factory="get_learner"):
    return LearnerCreated(1, target, factory, None, None, None, known=False)


def test_unknown_factory_starts_a_run_with_empty_model_and_one_warning():
    runs, diags = run([([learner(), fit(2, "1e-2")], [table(2)]), ([unknown(), fit(3, "1e-3")], [table(3)])])
    assert [(r.model, r.pretrained, r.ordinal, [p.number for p in r.phases]) for r in runs] == [
        ("resnet18", False, 1, [1]),
        ("", None, 2, [1]),
    ]
    assert messages(diags) == [
        "nb.ipynb, In [2] (cell 2): run 2: learner from get_learner(...), not a known factory: model and pretrained left empty"
    ]


def test_a_name_never_bound_is_a_run_of_its_own_and_a_call_on_no_name_goes_to_the_current_learner():
    cells = [
        ([learner(), fit(2, "1e-2")], [table(2)]),
        ([fit(1, "1e-3", learner="learn1")], [table(1)]),
        ([fit(1, "1e-4", learner="learn1"), fit(1, "1e-5", learner="other")], [table(1), table(1)]),
        ([fit(4, "1e-6", learner=None)], [table(4)]),
    ]
    runs, diags = run(cells)
    assert [(r.model, [(p.number, p.learning_rate) for p in r.phases]) for r in runs] == [
        ("resnet18", [(1, "1e-2"), (2, "1e-6")]),
        ("", [(1, "1e-3"), (2, "1e-4")]),
        ("", [(1, "1e-5")]),
    ]
    assert messages(diags) == [
        "nb.ipynb, In [2] (cell 2): run 2: learn1.fit_one_cycle(1, 1e-3) trains a name never bound to a learner: a run of its own, model unknown",
        "nb.ipynb, In [3] (cell 3): run 3: other.fit_one_cycle(1, 1e-5) trains a name never bound to a learner: a run of its own, model unknown",
    ]


def test_lr_find_starts_no_run_and_no_phase():
    events = [learner(), ProgressCall(1, "learn", "lr_find"), fit(1, "1e-2"), ProgressCall(1, "learn", "lr_find"), fit(1, "1e-3")]
    runs, diags = run([(events, [table(0, blank=True), table(1), table(0, blank=True), table(1)])])
    assert [[(p.number, p.learning_rate) for p in r.phases] for r in runs] == [[(1, "1e-2"), (2, "1e-3")]]
    assert diags == []


def test_a_learner_created_in_a_loop_is_one_run_per_iteration_known_or_unknown_count():
    body = (learner(model=None), fit(2, "1e-2"))
    for count in (3, None):
        runs, diags = run([([Loop(1, body, count)], [table(2, start=10 * k) for k in range(3)])])
        assert [(r.ordinal, [(p.number, p.rows[0][0]) for p in r.phases]) for r in runs] == [
            (1, [(1, "0")]), (2, [(1, "10")]), (3, [(1, "20")])
        ]
        assert messages(diags) == ["nb.ipynb, In [1] (cell 1): runs 1–3: model name cannot be resolved statically: left empty"]


def test_an_unknown_count_loop_whose_tables_do_not_divide_gives_every_table_an_iteration():
    body = (learner(), fit(1, "1e-2"), fit(1, "1e-3"))
    runs, diags = run([([Loop(1, body, None)], [table(1)] * 5)])
    assert [[p.recorded_epochs for p in r.phases] for r in runs] == [[1, 1], [1, 1], [1, 0]]
    assert any("unknown length" in m for m in messages(diags))


def test_training_before_its_creation_cell_ran_is_that_cell_s_earlier_execution():
    # a creation cell re-run after training: In [2] trains, then In [3] re-creates
    code = [CodeCell(1, 2, "", ()), CodeCell(0, 3, "", ())]
    analyses = [CellAnalysis((fit(2, "1e-2"),)), CellAnalysis((learner(model="resnet34"),))]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [[table(2)], []])
    assert [(r.model, r.cell, r.count, r.phases[0].count) for r in runs] == [("resnet34", 0, None, 2)]
    (message,) = messages(diags)
    assert message.startswith("nb.ipynb, In [2] (cell 2): learn.fit_one_cycle(2, 1e-2) trains learn before In [3] (cell 1) creates it")


def test_more_rows_than_planned_are_kept_and_flagged():
    runs, diags = run([([learner(), fit(5, "1e-2")], [table(10)])])
    assert runs[0].phases[0].recorded_epochs == 10
    assert messages(diags) == [
        "nb.ipynb, In [1] (cell 1): phase 1 (learn.fit_one_cycle(5, 1e-2)): 10 epochs recorded for 5 planned "
        "(an output kept from an earlier version of the cell?): all rows kept"
    ]


def test_cells_that_never_ran_are_counted_once_and_a_cleared_cell_keeps_its_phase_number():
    runs, diags = cells_of(
        (1, [learner()], []),
        (2, [fit(1, "1e-1")], [table(1)]),
        (None, [fit(1, "1e-2")], []),  # cleared: it ran, its phase keeps its number
        (4, [fit(1, "3e-3")], [table(1)]),
        (None, [fit(1, "1e-3")], []),  # never ran
        (None, [], []),
        (None, [fit(1, "1e-4", method="fine_tune", part="frozen"), fit(2, "1e-5", method="fine_tune", part="unfrozen")], []),
    )
    assert [(p.number, p.learning_rate, p.recorded_epochs, p.count) for p in runs[0].phases] == [
        (1, "1e-1", 1, 2), (2, "1e-2", 0, None), (3, "3e-3", 1, 4)
    ]
    assert messages(diags) == [
        "nb.ipynb, cell 3: phase 2 (learn.fit_one_cycle(1, 1e-2)): no epochs recorded (no table saved)",
        "nb.ipynb: 2 training calls in cells that were never run: cells 5, 7",
    ]


def test_a_never_run_call_between_run_cells_still_counts_in_the_numbering():
    code = [CodeCell(0, 1, "", ()), CodeCell(1, None, "", ()), CodeCell(2, 2, "", ())]
    analyses = [CellAnalysis((learner(), fit(1, "a"))), CellAnalysis((fit(1, "b"),)), CellAnalysis((fit(1, "c"),))]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [[table(1)], [], [table(1)]], never_run={1})
    assert [(p.number, p.learning_rate) for p in runs[0].phases] == [(1, "a"), (3, "c")]
    assert messages(diags) == ["nb.ipynb: 1 training call in cells that were never run: cell 2"]


def test_training_calls_and_no_table_at_all_is_one_warning():
    runs, diags = run([([learner()], []), ([fit(2, "1e-2")], []), ([fit(3, "1e-3")], [])])
    assert [p.recorded_epochs for p in runs[0].phases] == [0, 0]
    assert messages(diags) == ["nb.ipynb: 2 training calls but no progress table in any output: no epochs recorded"]
    runs, diags = cells_of((None, [learner(), fit(2, "1e-2")], []), (None, [fit(3, "1e-3")], []))
    assert runs == []
    assert messages(diags) == [
        "nb.ipynb: 2 training calls in cells that were never run: cells 1, 2",
        "nb.ipynb: 2 training calls but no progress table in any output: no epochs recorded",
    ]


def test_the_same_diagnostic_for_many_phases_or_runs_is_one_line():
    runs, diags = run([([learner(), Loop(1, (fit(1, "1e-3", method="fit"),), 1000)], [table(1)] * 10)])
    assert len(runs[0].phases) == 1000
    assert messages(diags)[1:] == ["nb.ipynb, In [1] (cell 1): phases 11–1000 (learn.fit(1, 1e-3)): no epochs recorded (no table saved)"]
    body = (learner(), fit(3, "1e-3"))
    runs, diags = run([([Loop(1, body, 4)], [table(3), table(1), table(1), table(3)])])
    assert messages(diags) == ["nb.ipynb, In [1] (cell 1): runs 2–3, phase 1 (learn.fit_one_cycle(3, 1e-3)) incomplete: 1 of 3 epochs recorded"]


def test_runs_phases_and_diagnostics_carry_execution_counts():
    code = [CodeCell(2, 7, "", ()), CodeCell(4, 9, "", ())]
    analyses = [CellAnalysis((learner(),), ("a warning from the analysis",)), CellAnalysis((fit(20, "1e-2"),))]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [[], [table(5)]])
    assert [(r.cell, r.count, r.ordinal) for r in runs] == [(2, 7, 1)]
    assert [(p.cell, p.count) for p in runs[0].phases] == [(4, 9)]
    assert [(d.cell, d.count) for d in diags] == [(2, 7), (4, 9)]
    assert str(diags[1]) == "nb.ipynb, In [9] (cell 5): phase 1 (learn.fit_one_cycle(20, 1e-2)) incomplete: 5 of 20 epochs recorded"


def test_a_creation_in_a_cell_that_never_ran_explains_no_earlier_training():
    runs, diags = cells_of((1, [fit(2, "1e-2")], [table(2)]), (None, [learner(model="resnet34")], []))
    assert [(r.model, r.cell) for r in runs] == [("", None)]
    assert messages(diags) == [
        "nb.ipynb, In [1] (cell 1): learn.fit_one_cycle(2, 1e-2) trains a name never bound to a learner: a run of its own, model unknown"
    ]


def test_a_creation_cell_re_run_after_the_training_below_it_keeps_that_training():
    # document: C1 [1], F1 [2], C2 [5] (re-run after F2), F2 [4]: F2 trained C2's earlier execution
    code = [CodeCell(0, 1, "", ()), CodeCell(1, 2, "", ()), CodeCell(3, 4, "", ()), CodeCell(2, 5, "", ())]
    analyses = [
        CellAnalysis((learner(model="resnet18"),)),
        CellAnalysis((fit(1, "1e-2"),)),
        CellAnalysis((fit(2, "1e-3"),)),
        CellAnalysis((learner(model="resnet34"),)),
    ]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [[], [table(1)], [table(2)], []])
    assert [(r.model, r.cell, r.count, [p.learning_rate for p in r.phases]) for r in runs] == [
        ("resnet18", 0, 1, ["1e-2"]),
        ("resnet34", 2, None, ["1e-3"]),
    ]
    assert messages(diags) == [
        "nb.ipynb, In [4] (cell 4): run 2: learn.fit_one_cycle(2, 1e-3) trains learn before In [5] (cell 3) creates it "
        "(a creation cell re-run after training?): taken as the learner of an earlier run of that cell"
    ]
    # the same cells run in document order: no doubt, no warning
    code = [CodeCell(0, 1, "", ()), CodeCell(1, 2, "", ()), CodeCell(2, 3, "", ()), CodeCell(3, 4, "", ())]
    analyses[2], analyses[3] = analyses[3], analyses[2]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [[], [table(1)], [], [table(2)]])
    assert [(r.model, r.count) for r in runs] == [("resnet18", 1), ("resnet34", 3)] and diags == []


def test_training_right_after_its_creation_in_the_same_cell_is_never_a_re_run():
    # In [3] creates and trains; the creation cell above it was re-run later (In [5])
    code = [CodeCell(0, 5, "", ()), CodeCell(1, 3, "", ())]
    analyses = [CellAnalysis((learner(model="resnet34"),)), CellAnalysis((learner(model="resnet18"), fit(1, "1e-2")))]
    runs, diags = align_notebook("nb.ipynb", [code[1], code[0]], [analyses[1], analyses[0]], [[table(1)], []])
    assert [(r.model, r.count) for r in runs] == [("resnet18", 3)] and diags == []


def test_a_learner_bound_between_the_creation_above_and_the_training_is_the_one_trained():
    # document: C [9] (re-run), F [5], C' [4] below F but run right before it: F trained C'
    code = [CodeCell(2, 4, "", ()), CodeCell(1, 5, "", ()), CodeCell(0, 9, "", ())]
    analyses = [CellAnalysis((learner(model="resnet50"),)), CellAnalysis((fit(1, "1e-2"),)), CellAnalysis((learner(model="resnet34"),))]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [[], [table(1)], []])
    assert [(r.model, r.count) for r in runs] == [("resnet50", 4)] and diags == []


def test_the_same_message_in_many_cells_is_one_line_naming_them():
    cells = [([learner()], [])] + [([fit(1, "1e-2")], [table(1)]) for _ in range(5)]
    code = [CodeCell(i, i + 1, "", ()) for i in range(6)]
    analyses = [CellAnalysis(tuple(events), ("a note the analysis repeats",) if i else ()) for i, (events, _) in enumerate(cells)]
    runs, diags = align_notebook("nb.ipynb", code, analyses, [list(t) for _, t in cells])
    assert messages(diags) == [
        "nb.ipynb, In [2] (cell 2): a note the analysis repeats (also in 4 more cells: "
        "In [3] (cell 3), In [4] (cell 4), In [5] (cell 5), In [6] (cell 6))"
    ]
    runs, diags = align_notebook("nb.ipynb", code[:3], analyses[:3], [list(t) for _, t in cells[:3]])
    assert len(diags) == 2  # two cells: said in each
