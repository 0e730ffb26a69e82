"""TensorBoard event files, one folder per run, in the layout Keras writes (the sink ``"tensorboard"``).

For every run (named by :func:`~audiometrics.sinks.series.run_name`: notebook
path and run ordinal, escaped for the filesystem)::

    DIR/<notebook>.run<k>/                hparams of the run (hparams plugin: one session per run)
    DIR/<notebook>.run<k>/train/          epoch_loss (train_loss), training metrics, epoch_learning_rate
    DIR/<notebook>.run<k>/validation/     epoch_loss (valid_loss), the validation metrics (epoch_<metric>)

Tags are shared between ``train`` and ``validation`` (``epoch_loss`` in both,
:func:`~audiometrics.sinks.series.split_column`), so TensorBoard overlays the two
curves as it does for Keras. The step is the global epoch (phases of a run
continue), the wall time the cumulative epoch time (relative, see
:mod:`audiometrics.sinks.series`). ``epoch_learning_rate`` is the upper learning
rate of each epoch's phase where it is known statically, or the rate the table
printed (an ``lr`` column) when it has one.

Exports are **idempotent**: a run folder holds ``.audiometrics-fingerprint`` (a
hash of the run's content); a run whose fingerprint is unchanged is not written
again, a changed one is written to a staging folder beside it and swapped in
(its old event files are removed, never appended to). Folders of other names
under ``DIR`` are never touched.

The writer is tensorboardX (``pip install 'audiometrics[tensorboard]'``),
imported when the sink is created (never by ``import audiometrics``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from audiometrics.epochs.rows import notebook_name, notebook_root
from audiometrics.epochs.schema import learning_rate_text
from audiometrics.epochs.values import lr_upper
from audiometrics.model import NotebookResult, Run
from audiometrics.sinks.series import fingerprint, numbered, run_hparams, run_name, run_series, split_column

__all__ = ["TensorBoardSink", "to_tensorboard", "FINGERPRINT_FILE", "EXPORT_VERSION"]

#: The file in each run folder holding its fingerprint.
FINGERPRINT_FILE = ".audiometrics-fingerprint"
#: Bumped when what is written changes, so that older exports are rewritten.
EXPORT_VERSION = "tb1"


def _tensorboardx() -> Any:
    try:
        import tensorboardX
    except ImportError:
        from audiometrics.hints import install_hint

        raise ImportError(f"exporting to TensorBoard needs tensorboardX: {install_hint('tensorboard')}") from None
    return tensorboardX


class TensorBoardSink:
    """Writes every run it is given as TensorBoard event files under ``log_dir`` (see the module docstring).

    Parameters
    ----------
    log_dir : path
        The TensorBoard log folder (created when missing).
    root : str, optional
        The folder notebook paths are made relative to in run names and the
        ``notebook`` hparam (:func:`~audiometrics.epochs.rows.notebook_root` of all
        inputs; ``""``: paths as recorded; ``None``: base names).
    on_run : callable, optional
        Called with ``(name, status)`` per run, status one of the keys of :attr:`counts`.

    Attributes
    ----------
    counts : dict
        Runs ``written`` (new), ``updated`` (fingerprint changed), ``unchanged``, and ``skipped``
        (a folder of that name exists that audiometrics did not write: left alone, with a note).
    notes : list of str
        Things the user should hear (epochs without a readable time, say), one line each.
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, root: str | None = None,
                 on_run: Callable[[str, str], Any] | None = None) -> None:
        _tensorboardx()  # missing: fail before any notebook is read
        self.log_dir = Path(log_dir)
        self.root = root
        self.on_run = on_run
        self.counts = {"written": 0, "updated": 0, "unchanged": 0, "skipped": 0}
        self.notes: list[str] = []
        self._written: list[Path] = []
        self._names: set[str] = set()

    def add(self, result: NotebookResult) -> None:
        """Write (or keep, when unchanged) the event files of ``result``'s runs."""
        for run in numbered(result.runs):
            self.write_run(run)

    def close(self) -> list[Path]:
        """The run folders written or updated (unchanged ones are not listed)."""
        return list(self._written)

    def write_run(self, run: Run) -> Path:
        """Write one run's folder (unless its fingerprint is unchanged); returns the folder."""
        notebook = notebook_name(run.notebook, self.root)
        name = run_name(notebook, run.ordinal)
        if name in self._names:
            raise ValueError(f"two runs named {name!r} in one export ({notebook}, run {run.ordinal})")
        self._names.add(name)
        folder = self.log_dir / name
        mark = fingerprint(run, notebook, version=EXPORT_VERSION)
        try:
            old = (folder / FINGERPRINT_FILE).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            old = None
        if old == mark:
            self._count(name, "unchanged")
            return folder
        if old is None and os.path.lexists(folder):
            self.notes.append(f"{folder}: exists and was not written by audiometrics; run {run.ordinal} of {notebook} not exported")
            self._count(name, "skipped")
            return folder
        self.log_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name[:40]}.", suffix=".tmp", dir=self.log_dir))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a log folder is shared like any other
        try:
            self._write_events(staging, run, notebook)
            (staging / FINGERPRINT_FILE).write_text(mark + "\n", encoding="ascii")
            _swap(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._written.append(folder)
        self._count(name, "written" if old is None else "updated")
        return folder

    def _count(self, name: str, status: str) -> None:
        self.counts[status] += 1
        if self.on_run is not None:
            self.on_run(name, status)

    def _write_events(self, folder: Path, run: Run, notebook: str) -> None:
        series = run_series(run)
        self.notes.extend(f"{notebook}, run {run.ordinal}: {note}" for note in series.notes)
        rates = {p.number: lr_upper(learning_rate_text(p.learning_rate, p.lr_is_default, p.lr_from_learner)) for p in run.phases}
        sides = _tags(series.columns, self.notes, f"{notebook}, run {run.ordinal}")
        if any(tag == "epoch_learning_rate" for _, tag in sides.values()):
            rates = {}  # the table printed the rate itself: that curve, not the call's
        files = {side: _EventFile(folder / side) for side in ("train", "validation")}
        try:
            for point in series.points:
                for column, value in point.values.items():
                    side, tag = sides[column]
                    files[side].scalar(tag, value, point.step, point.wall_time)
                if rates.get(point.phase) is not None:
                    files["train"].scalar("epoch_learning_rate", rates[point.phase], point.step, point.wall_time)
        finally:
            for events in files.values():
                events.close()
        end = series.points[-1].wall_time if series.points else 0.0
        _write_hparams(folder, run_hparams(run, notebook), end)


class _EventFile:
    """One event file, written synchronously.

    tensorboardX's ``SummaryWriter`` registers an ``atexit`` hook per writer that
    keeps the writer alive until the interpreter exits (about 2 KB each: 20 MB
    for 2,000 runs), and runs a thread and a queue per writer; its
    ``EventsWriter`` has neither.
    """

    def __init__(self, folder: Path) -> None:
        from tensorboardX.event_file_writer import EventsWriter

        folder.mkdir(parents=True, exist_ok=True)
        self._writer = EventsWriter(os.fspath(folder / "events"))

    def scalar(self, tag: str, value: float, step: int, wall_time: float) -> None:
        from tensorboardX.summary import scalar

        self.summary(scalar(tag, value), wall_time, step)

    def summary(self, summary: Any, wall_time: float, step: int = 0) -> None:
        from tensorboardX.proto.event_pb2 import Event

        self._writer.write_event(Event(summary=summary, step=step, wall_time=wall_time))

    def close(self) -> None:
        self._writer.close()


def _tags(columns: Iterable[str], notes: list[str], where: str) -> dict[str, tuple[str, str]]:
    """Column -> (side, tag); a column whose shared tag another column took keeps its own name, with a note."""
    tags: dict[str, tuple[str, str]] = {}
    taken: dict[tuple[str, str], str] = {}
    for column in columns:
        side, tag = split_column(column)
        key = (side, f"epoch_{tag}")
        if key in taken:
            own, n = f"epoch_{column}", 1
            while (side, own) in taken:
                n += 1
                own = f"epoch_{column}_{n}"
            notes.append(f"{where}: columns {taken[key]} and {column} would share the {side} tag {key[1]}; "
                         f"{column} is written as {own}")
            key = (side, own)
        taken[key] = column
        tags[column] = key
    return tags


def _write_hparams(folder: Path, hparams: dict[str, Any], wall_time: float) -> None:
    """The run's session for the hparams plugin (start and end info; the plugin builds the experiment from all sessions)."""
    from tensorboardX.proto.api_pb2 import Status
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

    start = SessionStartInfo(start_time_secs=0.0)
    for key, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[key].number_value = float(value)
        else:
            start.hparams[key].string_value = str(value)
    end = SessionEndInfo(status=Status.Value("STATUS_SUCCESS"), end_time_secs=wall_time)

    def summary(tag: str, data: Any) -> Any:
        content = data.SerializeToString()
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams", content=content))
        return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])

    events = _EventFile(folder)
    try:
        events.summary(summary("_hparams_/session_start_info", HParamsPluginData(session_start_info=start)), 0.0)
        events.summary(summary("_hparams_/session_end_info", HParamsPluginData(session_end_info=end)), wall_time)
    finally:
        events.close()


def _swap(staging: Path, folder: Path) -> None:
    """Put ``staging`` where ``folder`` is: the old folder is renamed aside, the new one in, the old removed."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name[:40]}.", suffix=".old", dir=folder.parent))
    os.replace(folder, aside / "run")
    os.replace(staging, folder)
    shutil.rmtree(aside, ignore_errors=True)


def to_tensorboard(runs: Iterable[Run], log_dir: str | os.PathLike[str], *, root: str | None = None) -> list[Path]:
    """Write ``runs`` as TensorBoard event files under ``log_dir``; returns the run folders written or updated.

    ``root``: the folder run names are relative to (default: the common parent
    folder of the runs' notebooks). Runs with an unchanged fingerprint are kept
    as they are (see :class:`TensorBoardSink`).
    """
    runs = list(numbered(runs))
    if root is None:
        root = notebook_root(run.notebook for run in runs)
    sink = TensorBoardSink(log_dir, root=root)
    for run in runs:
        sink.write_run(run)
    return sink.close()
