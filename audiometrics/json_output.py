"""Machine-readable output: the JSON documents of ``extract``/``report --format json`` and JSON-lines diagnostics.

The schemas are documented in ``docs/json.md``; every document has a
``schema`` member (``audiometrics.extract/1``, ``audiometrics.report/1``,
``audiometrics.diff/1``, ``audiometrics.export/1``) and every diagnostic line a
``level``. Numbers that are not finite are written as ``null`` (JSON has no NaN).

Examples
--------
>>> from audiometrics.model import Diagnostic, Phase, Run
>>> phase = Phase(1, "fit", 2, "1e-3", False, 3, ("epoch", "valid_loss"), (("0", "0.5"), ("1", "#na#")), call_text="learn.fit(2, 1e-3)")
>>> record = run_record(Run("/d/a.ipynb", "resnet18", True, (phase,), ordinal=1, framework="fastai"), "a.ipynb")
>>> record["phases"][0]["learning_rate"], record["phases"][0]["incomplete"], record["metrics"]["valid_loss"]
('1e-3', False, {'best': 0.5, 'best_epoch': 0, 'final': 0.5, 'final_epoch': 0})
>>> diagnostic_line(Diagnostic("a.ipynb", "no epochs recorded", 4, 13))
'{"level": "warning", "file": "a.ipynb", "cell": "In [13] (cell 5)", "message": "no epochs recorded"}'
>>> message_line("error", "b.ipynb: invalid JSON", file="b.ipynb")
'{"level": "error", "file": "b.ipynb", "message": "b.ipynb: invalid JSON"}'
"""

from __future__ import annotations

import json
import math
from typing import Any

from audiometrics.compare.summary import summarize_run
from audiometrics.epochs.schema import learning_rate_text
from audiometrics.model import Diagnostic, Run, cell_label

__all__ = ["ExtractRecords", "report_document", "EXTRACT_SCHEMA", "REPORT_SCHEMA", "EXPORT_SCHEMA", "run_record", "diagnostic_record", "diagnostic_line",
           "message_line", "dumps", "clean_numbers"]

EXTRACT_SCHEMA = "audiometrics.extract/1"
REPORT_SCHEMA = "audiometrics.report/1"
EXPORT_SCHEMA = "audiometrics.export/1"


def clean_numbers(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by ``None``, in nested dicts and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_numbers(v) for v in value]
    return value


def dumps(document: Any, *, indent: int | None = 2) -> str:
    """``document`` as strict JSON (non-finite numbers as ``null``, non-ASCII kept)."""
    return json.dumps(clean_numbers(document), ensure_ascii=False, indent=indent, allow_nan=False)


def run_record(run: Run, notebook: str) -> dict[str, Any]:
    """One run as JSON: identity, model, phases (with learning rate, planned and recorded epochs) and per metric its
    best and final values with their global epochs (best by the metric's direction, as ``diff`` takes it)."""
    summary = summarize_run(run, notebook)
    return {
        "notebook": notebook,
        "run": run.ordinal,
        "cell": cell_label(run.cell if run.cell is None or run.cell >= 0 else None, run.count),
        "framework": run.framework,
        "model": run.model,
        "pretrained": run.pretrained,
        "epochs": summary.epochs,
        "phases": [
            {
                "phase": phase.number,
                "method": phase.method,
                "call": phase.call_text,
                "cell": cell_label(phase.cell if phase.cell >= 0 else None, phase.count),
                "learning_rate": learning_rate_text(phase.learning_rate, phase.lr_is_default, phase.lr_from_learner),
                "planned_epochs": phase.planned_epochs,
                "recorded_epochs": phase.recorded_epochs,
                "interrupted": phase.interrupted,
                "incomplete": phase.incomplete,
            }
            for phase in run.phases
        ],
        "metrics": {
            name: {"best": m.best, "best_epoch": m.best_step, "final": m.final, "final_epoch": m.final_step}
            for name, m in summary.metrics.items()
        },
    }


def diagnostic_record(diagnostic: Diagnostic) -> dict[str, Any]:
    """A notebook's warning as JSON: ``level``, ``file``, ``cell`` (when pinned to one), ``message``."""
    record: dict[str, Any] = {"level": "warning", "file": diagnostic.path}
    if diagnostic.where:
        record["cell"] = diagnostic.where
    record["message"] = diagnostic.message
    return record


def diagnostic_line(diagnostic: Diagnostic) -> str:
    """:func:`diagnostic_record` as one JSON line."""
    return json.dumps(diagnostic_record(diagnostic))  # ASCII: no C1 control reaches a terminal


def message_line(level: str, message: str, **fields: Any) -> str:
    """Any other diagnostic as one JSON line: ``level`` (``warning``, ``error``, ``info``), ``fields``, ``message``."""
    return json.dumps(clean_numbers({"level": level, **fields, "message": message}))


class ExtractRecords:
    """Collects the run records of ``extract --format json`` as notebooks arrive (no rows are kept).

    ``paths`` are all the inputs: notebook names are relative to their common
    folder, as in the CSV's ``notebook`` column.
    """

    def __init__(self, paths: list[str]) -> None:
        from audiometrics.epochs.rows import notebook_root

        self.root = notebook_root(paths)
        self.runs: list[dict[str, Any]] = []

    def add(self, result: Any) -> None:
        """Record the runs of one :class:`~audiometrics.model.NotebookResult`."""
        from audiometrics.epochs.rows import notebook_name
        from audiometrics.sinks.series import numbered

        name = notebook_name(result.path, self.root)
        self.runs.extend(run_record(run, name) for run in numbered(result.runs))

    def document(self, outcome: Any, written: list[str], total: int) -> str:
        """The ``audiometrics.extract/1`` document (docs/json.md) for an :class:`~audiometrics.pipeline.Extraction`."""
        from audiometrics import __version__

        return dumps({
            "schema": EXTRACT_SCHEMA,
            "version": __version__,
            "notebooks": {"total": total, "read": len(outcome.results), "failed": len(outcome.failures)},
            "metric": outcome.metric,
            "written": written,
            "runs": self.runs,
            "warnings": [diagnostic_record(d) for d in outcome.diagnostics],
            "failures": [{"file": f.path, "reason": f.reason} for f in outcome.failures],
        })


def report_document(csv_path: str, result: Any) -> str:
    """The ``audiometrics.report/1`` document (docs/json.md) for the CSV at ``csv_path`` and the
    :class:`~audiometrics.report.render.ReportResult` written from it."""
    from audiometrics import __version__
    from audiometrics.epochs.csv_runs import runs_from_csv
    from audiometrics.sinks.series import numbered

    summary = result.summary
    metric = getattr(summary, "metric", None) if summary is not None else None
    return dumps({
        "schema": REPORT_SCHEMA,
        "version": __version__,
        "csv": csv_path,
        "metric": None if metric is None else {"name": metric.name, "lower_is_better": metric.lower_is_better},
        "written": [str(path) for path in result.paths],
        "runs": [run_record(run, run.notebook) for run in numbered(runs_from_csv(csv_path))],
        "warnings": [str(w) for w in result.warnings],
    })
