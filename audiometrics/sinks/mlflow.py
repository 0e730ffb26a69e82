"""MLflow runs, one per extracted run, written idempotently (the sink ``"mlflow"``).

Every run becomes one MLflow run in the experiment ``experiment`` (default
``audiometrics``), named like its TensorBoard folder
(:func:`~audiometrics.sinks.series.run_name`), with

* **params**: :func:`~audiometrics.sinks.series.run_hparams` (model, pretrained,
  framework, phases, and per phase its learning rate as written, ``lr_max``,
  method, planned and recorded epochs);
* **tags**: ``audiometrics.notebook`` (the path relative to the inputs' common
  folder), ``audiometrics.run`` (the ordinal), ``audiometrics.cell`` (the cell that
  created the learner), ``audiometrics.framework``, ``audiometrics.version``,
  ``audiometrics.key`` (a hash of notebook and ordinal: what a re-export looks
  runs up by), ``audiometrics.fingerprint`` (a hash of the run's content,
  :func:`~audiometrics.sinks.series.fingerprint`), ``mlflow.source.name``;
* **metrics**: one history per progress-table column (``train_loss``,
  ``valid_loss``, ``lwlrap``, …, the CSV's names), step = global epoch,
  timestamp = relative wall time in milliseconds (see
  :mod:`audiometrics.sinks.series`), logged with ``log_batch`` in batches of
  at most 1,000 values.

**Idempotent.** Before writing a notebook's runs the sink looks up the active
runs of that notebook (by ``audiometrics.key``, one query per notebook). A run
with the same fingerprint is left as it is; a run whose fingerprint changed is
**deleted** (MLflow's soft delete: it moves to the deleted runs, where
``mlflow gc`` can purge it) and written again as a new run, so its history is
replaced, never appended to; a run of that notebook whose ordinal no longer
exists is deleted too. The fingerprint tag is set last, so an export killed
half-way leaves a run without one, which the next export replaces.

The client is ``mlflow-skinny`` with SQLAlchemy and Alembic for the SQLite store
(``pip install 'audiometrics[mlflow]'``), imported when the sink is created.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

from audiometrics.epochs.rows import notebook_name, notebook_root
from audiometrics.model import NotebookResult, Run, cell_label
from audiometrics.sinks.series import fingerprint, numbered, run_hparams, run_name, run_series

__all__ = ["MlflowSink", "to_mlflow", "DEFAULT_URI", "DEFAULT_EXPERIMENT", "EXPORT_VERSION", "run_key"]

#: Where runs go when no tracking URI is given (MLflow ≥ 3 refuses to create new file stores).
DEFAULT_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "audiometrics"
#: Bumped when what is written changes, so that older exports are rewritten.
EXPORT_VERSION = "mlflow1"
#: MLflow's limits per ``log_batch`` call.
BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS = 1000, 100, 100
#: Longest param value kept (MLflow's limit is 6,000 characters); longer ones are cut, with a note.
MAX_PARAM = 6000

_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


def _mlflow() -> Any:
    try:
        import mlflow  # noqa: F401
        from mlflow import MlflowClient
    except ImportError:
        from audiometrics.hints import install_hint

        raise ImportError(f"exporting to MLflow needs mlflow-skinny: {install_hint('mlflow')}") from None
    return MlflowClient


def run_key(notebook: str) -> str:
    """The tag value a notebook's runs are looked up by: a hash (MLflow filter strings cannot quote every path)."""
    return hashlib.sha256(notebook.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def metric_key(column: str) -> str:
    """``column`` as an MLflow metric name (letters, digits, ``_ - . / space``; anything else becomes ``_``)."""
    return _KEY_CHARS.sub("_", column) or "_"


def _metric_keys(columns: Iterable[str], notes: list[str], where: str) -> dict[str, str]:
    """Column -> metric name; two columns that would get one name (``a:b``, ``a_b``) get two, with a note."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        key = base = metric_key(column)
        n = 1
        while key in taken:
            n += 1
            key = f"{base}_{n}"
        if key != column:
            notes.append(f"{where}: column {column!r} is logged as metric {key!r} (MLflow's allowed characters, one name per column)")
        taken.add(key)
        keys[column] = key
    return keys


class MlflowSink:
    """Writes every run it is given to an MLflow tracking store (see the module docstring).

    Parameters
    ----------
    tracking_uri : str
        ``sqlite:///mlflow.db`` (the default), ``http://127.0.0.1:5000`` (a server), ….
    experiment : str
        The experiment's name (created when missing).
    root : str, optional
        The folder notebook paths are made relative to (see
        :class:`~audiometrics.sinks.tensorboard.TensorBoardSink`).
    on_run : callable, optional
        Called with ``(name, status)`` per run (a key of :attr:`counts`).
    """

    def __init__(self, tracking_uri: str = DEFAULT_URI, *, experiment: str = DEFAULT_EXPERIMENT, root: str | None = None,
                 on_run: Callable[[str, str], Any] | None = None) -> None:
        client_class = _mlflow()
        self.tracking_uri = tracking_uri
        self.client = client_class(tracking_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None and found.lifecycle_stage != "active":
            raise ValueError(f"the MLflow experiment {experiment!r} is deleted; restore it or choose another name")
        self.experiment_id = found.experiment_id if found is not None else self.client.create_experiment(experiment)
        self.root = root
        self.on_run = on_run
        self.counts = {"written": 0, "updated": 0, "unchanged": 0, "deleted": 0}
        self.notes: list[str] = []
        self.run_ids: list[str] = []

    def add(self, result: NotebookResult) -> None:
        """Write ``result``'s runs (unchanged ones are kept; see the module docstring)."""
        runs = list(numbered(result.runs))
        notebook = notebook_name(result.path, self.root)
        existing = self._existing(notebook)
        for run in runs:
            self._write(run, notebook, existing.pop(str(run.ordinal), []))
        for stale in existing.values():  # ordinals the notebook no longer has
            for run_id, _ in stale:
                self.client.delete_run(run_id)
                self.counts["deleted"] += 1

    def close(self) -> list[Any]:
        """Nothing to flush (every run is written when added); returns no paths."""
        return []

    def _existing(self, notebook: str) -> dict[str, list[tuple[str, str]]]:
        """Active runs of ``notebook`` in the experiment: ordinal -> [(run id, fingerprint)]."""
        found: dict[str, list[tuple[str, str]]] = {}
        token = None
        while True:
            page = self.client.search_runs([self.experiment_id], filter_string=f"tags.`audiometrics.key` = '{run_key(notebook)}'",
                                           max_results=1000, page_token=token)
            for item in page:
                tags = item.data.tags
                found.setdefault(tags.get("audiometrics.run", ""), []).append((item.info.run_id, tags.get("audiometrics.fingerprint", "")))
            token = page.token
            if not token:
                return found

    def _write(self, run: Run, notebook: str, existing: list[tuple[str, str]]) -> None:
        name = run_name(notebook, run.ordinal)
        mark = fingerprint(run, notebook, version=EXPORT_VERSION)
        if len(existing) == 1 and existing[0][1] == mark:
            self.run_ids.append(existing[0][0])
            self._count(name, "unchanged")
            return
        for run_id, _ in existing:  # changed (or duplicated by a concurrent export): replaced
            self.client.delete_run(run_id)
        run_id = self._create(run, notebook, name)
        self.run_ids.append(run_id)
        self._count(name, "updated" if existing else "written")
        self.client.set_tag(run_id, "audiometrics.fingerprint", mark)  # last: a half-written run has none
        self.client.set_terminated(run_id, "FINISHED")

    def _create(self, run: Run, notebook: str, name: str) -> str:
        from mlflow.entities import Metric, Param

        from audiometrics import __version__

        tags = {
            "audiometrics.notebook": notebook,
            "audiometrics.run": str(run.ordinal),
            "audiometrics.cell": cell_label(run.cell, run.count),
            "audiometrics.framework": run.framework,
            "audiometrics.version": __version__,
            "audiometrics.key": run_key(notebook),
            "mlflow.source.name": notebook,
            "mlflow.source.type": "NOTEBOOK",
        }
        created = self.client.create_run(self.experiment_id, run_name=name, tags={k: v[:5000] for k, v in tags.items()})
        run_id = created.info.run_id
        params = []
        for key, value in run_hparams(run, notebook).items():
            text = str(value)
            if len(text) > MAX_PARAM:
                self.notes.append(f"{notebook}, run {run.ordinal}: param {key} cut to {MAX_PARAM} characters")
                text = text[:MAX_PARAM]
            params.append(Param(key, text))
        for start in range(0, len(params), BATCH_PARAMS):
            self.client.log_batch(run_id, params=params[start : start + BATCH_PARAMS])
        series = run_series(run)
        self.notes.extend(f"{notebook}, run {run.ordinal}: {note}" for note in series.notes)
        keys = _metric_keys(series.columns, self.notes, f"{notebook}, run {run.ordinal}")
        batch: list[Any] = []
        for point in series.points:
            stamp = int(round(point.wall_time * 1000))
            batch.extend(Metric(keys[column], value, stamp, point.step) for column, value in point.values.items())
            if len(batch) >= BATCH_METRICS:
                self.client.log_batch(run_id, metrics=batch[:BATCH_METRICS])
                batch = batch[BATCH_METRICS:]
        if batch:
            self.client.log_batch(run_id, metrics=batch)
        return run_id

    def _count(self, name: str, status: str) -> None:
        self.counts[status] += 1
        if self.on_run is not None:
            self.on_run(name, status)


def to_mlflow(runs: Iterable[Run], tracking_uri: str = DEFAULT_URI, *, experiment: str = DEFAULT_EXPERIMENT,
              root: str | None = None) -> list[str]:
    """Write ``runs`` to the MLflow store at ``tracking_uri``; returns the MLflow run id of each run, in order.

    Idempotent (see :class:`MlflowSink`): an unchanged run keeps its id, a changed
    one is replaced by a new run. ``root``: the folder notebook paths are relative
    to (default: the common parent folder of the runs' notebooks). Runs are grouped
    by notebook, each notebook's runs written together: give all the runs of a
    notebook, since a run of it in the store whose ordinal is not among them is
    deleted as stale.
    """
    runs = list(numbered(runs))
    if root is None:
        root = notebook_root(run.notebook for run in runs)
    sink = MlflowSink(tracking_uri, experiment=experiment, root=root)
    by_notebook: dict[str, list[Run]] = {}
    for run in runs:
        by_notebook.setdefault(run.notebook, []).append(run)
    for path, group in by_notebook.items():
        sink.add(NotebookResult(path, tuple(group)))
    sink.close()
    return sink.run_ids
