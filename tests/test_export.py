"""Export to TensorBoard and MLflow: round trips read back by independent readers, idempotence, updates, the CLI.

The reader of event files is TensorBoard's own ``EventAccumulator`` (not the
writer, tensorboardX); MLflow runs are read with ``MlflowClient``. Expected
values come from the typed epoch table (:func:`audiometrics.extract`), not from
the exporters' series code.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from tests.nbfactory import cli_runner as CliRunner

from audiometrics import extract
from audiometrics.cli import main
from audiometrics.pipeline import extract_files
from audiometrics.read.inputs import collect_notebooks
from audiometrics.sinks.series import run_name

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "notebooks" / "cnn-2d-basic-solution-powered-by-fast-ai.ipynb"


def _needs(module: str, extra: str):
    try:
        __import__(module)
    except ImportError:
        return pytest.mark.skip(reason=f"{module} is not installed (pip install -e '.[{extra}]'; CI installs it with .[test])")
    return pytest.mark.skipif(False, reason="")


needs_tbx = _needs("tensorboardX", "tensorboard")
needs_reader = _needs("tensorboard", "test")
needs_mlflow = _needs("mlflow", "mlflow")


@pytest.fixture
def corpus(tmp_path) -> Path:
    """The examples and the reference notebook (when present) copied into one folder: names are relative to it."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in [*EXAMPLES, *([REFERENCE] if REFERENCE.exists() else [])]:
        shutil.copy(path, folder / path.name)
    return folder


def expected_curves(folder: Path) -> dict[tuple[str, int], pd.DataFrame]:
    """Per (notebook, run): the typed epoch rows, as the loader reads them (global_epoch, metrics, time_s)."""
    frame = extract([str(folder)])
    return {key: rows.reset_index(drop=True) for key, rows in frame.groupby(["notebook", "run_ordinal"], sort=False)}


METRICS = ("train_loss", "valid_loss", "accuracy_multi", "lwlrap")


def _tb_tag(column: str) -> tuple[str, str]:
    return {"train_loss": ("train", "epoch_loss"), "valid_loss": ("validation", "epoch_loss")}.get(column, ("validation", f"epoch_{column}"))


def _scalars(folder: Path, tag: str) -> list:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator.Scalars(tag) if tag in accumulator.Tags()["scalars"] else []


# --------------------------------------------------------------------------- TensorBoard


@needs_tbx
@needs_reader
def test_tensorboard_round_trip(corpus, tmp_path):
    from audiometrics import to_tensorboard

    logs = tmp_path / "logs"
    runs = extract_files(collect_notebooks([str(corpus)])).runs
    written = to_tensorboard(runs, logs)
    expected = expected_curves(corpus)
    assert len(written) == len(expected) == len(runs) >= 4
    assert sorted(p.name for p in logs.iterdir()) == sorted(run_name(nb, int(k)) for nb, k in expected)
    for (notebook, ordinal), rows in expected.items():
        folder = logs / run_name(notebook, int(ordinal))
        assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["train", "validation"]
        clock = rows["time_s"].fillna(0).cumsum()
        for column in METRICS:
            side, tag = _tb_tag(column)
            points = _scalars(folder / side, tag)
            present = rows[column].notna()
            assert [e.step for e in points] == rows.loc[present, "global_epoch"].tolist(), (notebook, column)
            assert [e.value for e in points] == pytest.approx(rows.loc[present, column].tolist(), rel=1e-6)  # float32
            assert [e.wall_time for e in points] == pytest.approx(clock[present].tolist())
        rates = _scalars(folder / "train", "epoch_learning_rate")
        assert [e.value for e in rates] == pytest.approx(rows["lr_max"].tolist(), rel=1e-6)


@needs_tbx
@needs_reader
def test_tensorboard_hparams(corpus, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    from audiometrics import to_tensorboard

    runs = extract_files(collect_notebooks([str(corpus / "resnet18.ipynb")])).runs
    (folder,) = to_tensorboard(runs, tmp_path / "logs")
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    content = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    hparams = {key: value.string_value or value.number_value for key, value in start.hparams.items()}
    assert hparams["model"] == "resnet18" and hparams["pretrained"] == "No" and hparams["notebook"] == "resnet18.ipynb"
    assert hparams["phases"] == 6 and hparams["framework"] == "fastai"
    assert [hparams[f"phase{k}.learning_rate"] for k in range(1, 7)] == ["1e-1", "1e-2", "3e-3", "1e-3", "slice(1e-3, 3e-3)", "slice(1e-4, 1e-3)"]
    assert hparams["phase5.lr_max"] == pytest.approx(3e-3)


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def _change_final_value(notebook: Path) -> tuple[str, str]:
    """Change the last lwlrap value of ``notebook``'s last table (every representation of it); returns (old, new)."""
    runs = extract_files([str(notebook)]).runs
    last = runs[-1].phases[-1]
    old = last.rows[-1][last.columns.index("lwlrap")]
    new = f"{float(old) + 0.01:.6f}"
    text = notebook.read_text(encoding="utf-8")
    assert text.count(old) >= 1
    notebook.write_text(text.replace(old, new), encoding="utf-8")
    return old, new


@needs_tbx
def test_tensorboard_second_export_adds_nothing_and_a_change_replaces_one_run(corpus, tmp_path):
    logs = tmp_path / "logs"
    runner = CliRunner()
    first = runner.invoke(main, ["export", "--to", "tensorboard", str(logs), str(corpus), "-q", "--format", "json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["runs"]["written"] == len(list(logs.iterdir()))
    before = _tree(logs)
    again = runner.invoke(main, ["export", "--to", "tensorboard", str(logs), str(corpus), "--format", "json"])
    assert again.exit_code == 0
    assert json.loads(again.stdout)["runs"] == {"written": 0, "updated": 0, "unchanged": len(list(logs.iterdir())), "skipped": 0}
    assert _tree(logs) == before  # not a byte rewritten
    _change_final_value(corpus / "resnet18.ipynb")
    changed = runner.invoke(main, ["export", "--to", "tensorboard", str(logs), str(corpus), "--format", "json"])
    assert json.loads(changed.stdout)["runs"]["updated"] == 1
    after = _tree(logs)
    moved = {name.split("/")[0] for name in set(after) ^ set(before)} | {n.split("/")[0] for n in after if n in before and after[n] != before[n]}
    assert moved == {"resnet18.run1"}
    assert len([n for n in after if n.startswith("resnet18.run1/validation/events")]) == 1  # replaced, not appended
    assert not [p for p in logs.iterdir() if p.name.startswith(".")]  # no staging left


@needs_tbx
def test_tensorboard_leaves_folders_it_did_not_write(corpus, tmp_path):
    from audiometrics.sinks.tensorboard import TensorBoardSink

    logs = tmp_path / "logs"
    (logs / "resnet18.run1").mkdir(parents=True)
    (logs / "resnet18.run1" / "mine.txt").write_text("not ours")
    sink = TensorBoardSink(logs, root=str(corpus))
    for result in extract_files([str(corpus / "resnet18.ipynb")]).results:
        sink.add(result)
    assert sink.counts["skipped"] == 1 and "not written by audiometrics" in sink.notes[0]
    assert os.listdir(logs / "resnet18.run1") == ["mine.txt"]


def test_run_names_are_unique_readable_and_safe():
    names = [run_name(n, 1) for n in ("a/train.ipynb", "b/train.ipynb", "a+train.ipynb", "a%2Btrain.ipynb", "../x.ipynb", ".hidden.ipynb", "é x.ipynb")]
    assert names[:2] == ["a+train.run1", "b+train.run1"]
    assert len(set(names)) == len(names)
    assert all("/" not in n and not n.startswith(".") and n.isascii() for n in names)
    assert run_name("x" * 400 + ".ipynb", 2).endswith(".run2") and len(run_name("x" * 400 + ".ipynb", 2)) <= 150
    assert run_name("nb.ipynb", 1) != run_name("nb.run1.ipynb", 1)


def test_missing_writer_says_how_to_install(monkeypatch, tmp_path, corpus):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    result = CliRunner().invoke(main, ["export", "--to", "tensorboard", str(tmp_path / "logs"), str(corpus / "resnet18.ipynb")])
    assert result.exit_code == 1
    assert "needs tensorboardX" in result.output and "[tensorboard]" in result.output


def test_importing_audiometrics_imports_no_exporter_library():
    code = "import sys, audiometrics; audiometrics.to_tensorboard; audiometrics.to_mlflow; audiometrics.diff; " \
           "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorboardX', 'tensorboard', 'mlflow', 'sqlalchemy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- MLflow


def _histories(client, run_id: str) -> dict[str, list[tuple[int, int, float]]]:
    run = client.get_run(run_id)
    return {key: [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)] for key in run.data.metrics}


def _check_mlflow(uri: str, corpus: Path) -> list[str]:
    from mlflow import MlflowClient

    from audiometrics import to_mlflow

    runs = extract_files(collect_notebooks([str(corpus)])).runs
    ids = to_mlflow(runs, uri)
    client = MlflowClient(tracking_uri=uri)
    expected = expected_curves(corpus)
    assert len(ids) == len(set(ids)) == len(expected)
    for run_id, ((notebook, ordinal), rows) in zip(ids, expected.items()):
        run = client.get_run(run_id)
        tags, params = run.data.tags, run.data.params
        assert (tags["audiometrics.notebook"], tags["audiometrics.run"]) == (notebook, str(ordinal))
        assert tags["audiometrics.framework"] == "fastai" and tags["audiometrics.version"] and tags["audiometrics.fingerprint"]
        assert tags["audiometrics.cell"].startswith("In [")
        assert params["model"] == rows["model"][0] and params["pretrained"] == ("Yes" if rows["pretrained"][0] else "No")
        for number, phase in rows.groupby("training_phase"):
            assert params[f"phase{number}.learning_rate"] == phase["learning_rate"].iloc[0]
        clock = (rows["time_s"].fillna(0).cumsum() * 1000).round().astype(int)
        histories = _histories(client, run_id)
        for column in METRICS:
            present = rows[column].notna()
            got = sorted(histories.get(column, []))
            assert [(s, t) for s, t, _ in got] == list(zip(rows.loc[present, "global_epoch"], clock[present])), (notebook, column)
            assert [v for *_, v in got] == rows.loc[present, column].tolist()  # doubles: exact
        assert run.info.status == "FINISHED"
    return ids


def _store_counts(uri: str) -> tuple[int, int]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("audiometrics")
    active = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000)
    every = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000)
    return len(active), len(every)


@needs_mlflow
def test_mlflow_round_trip_is_idempotent_and_updates_a_changed_notebook(corpus, tmp_path):
    from mlflow import MlflowClient

    from audiometrics import to_mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ids = _check_mlflow(uri, corpus)
    counts = _store_counts(uri)
    assert counts == (len(ids), len(ids))
    runs = extract_files(collect_notebooks([str(corpus)])).runs
    client = MlflowClient(tracking_uri=uri)
    history = {run_id: _histories(client, run_id) for run_id in ids}
    assert to_mlflow(runs, uri) == ids  # a second export adds nothing
    assert _store_counts(uri) == counts and {run_id: _histories(client, run_id) for run_id in ids} == history

    _change_final_value(corpus / "resnet18.ipynb")
    runs = extract_files(collect_notebooks([str(corpus)])).runs
    new_ids = to_mlflow(runs, uri)
    replaced = [i for i, (a, b) in enumerate(zip(ids, new_ids)) if a != b]
    assert [runs[i].notebook.endswith("resnet18.ipynb") for i in replaced] == [True]
    assert client.get_run(ids[replaced[0]]).info.lifecycle_stage == "deleted"
    assert _store_counts(uri) == (len(ids), len(ids) + 1)
    _check_mlflow(uri, corpus)  # the new run holds the changed values


@needs_mlflow
def test_mlflow_cli_default_store_and_json_summary(corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--to", "mlflow", str(corpus / "resnet18.ipynb"), "--format", "json", "--log-format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["destination"] == "sqlite:///mlflow.db" and (tmp_path / "mlflow.db").exists()
    assert json.loads(result.stdout)["runs"]["written"] == 1
    assert all(json.loads(line)["level"] for line in result.stderr.splitlines())  # only our JSON lines: MLflow's INFO is quiet
    again = runner.invoke(main, ["export", "--to", "mlflow", "sqlite:///mlflow.db", str(corpus / "resnet18.ipynb")])
    assert again.exit_code == 0 and "(1 unchanged)" in again.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs_mlflow
def test_mlflow_round_trip_through_a_real_server(corpus, tmp_path):
    mlflow_cli = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or shutil.which("mlflow")
    if mlflow_cli is None:
        pytest.skip("the mlflow command is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [mlflow_cli, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--default-artifact-root", str(tmp_path / "artifacts")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        uri = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # the server's first start creates its tables: ~40 s on a loaded machine
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        if server.poll() is not None or time.monotonic() >= deadline:
            os.killpg(server.pid, 15)
            output = server.communicate(timeout=30)[0] or ""
            pytest.skip(f"mlflow server did not start (pip install -e '.[test]' installs what it needs): {output.strip().splitlines()[-1:]}")
        ids = _check_mlflow(uri, corpus)
        assert _check_mlflow(uri, corpus) == ids  # idempotent through the REST API too
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


def test_mlflow_missing_client_says_how_to_install(monkeypatch, tmp_path, corpus):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    result = CliRunner().invoke(main, ["export", "--to", "mlflow", f"sqlite:///{tmp_path}/x.db", str(corpus / "resnet18.ipynb")])
    assert result.exit_code == 1 and "needs mlflow-skinny" in result.output and "[mlflow]" in result.output


def test_export_usage_errors(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["export", "--to", "tensorboard", str(tmp_path)]).exit_code == 2  # no notebooks
    assert runner.invoke(main, ["export", "--to", "wandb", str(tmp_path), "x.ipynb"]).exit_code == 2
    empty = runner.invoke(main, ["export", "--to", "tensorboard", str(tmp_path / "logs"), str(tmp_path)])
    assert empty.exit_code == 2 and "no notebooks found" in empty.output


@needs_tbx
@needs_reader
def test_tensorboard_tags_never_merge_two_columns(tmp_path):
    from audiometrics.model import Phase, Run
    from audiometrics.sinks.tensorboard import TensorBoardSink

    columns = ("epoch", "train_loss", "training_loss", "valid_acc", "acc", "lr", "step", "time")
    rows = (("0", "0.9", "0.8", "0.5", "0.6", "0.01", "100", "00:02"), ("1", "0.7", "0.6", "0.7", "0.8", "0.001", "200", "00:03"))
    run = Run("/x/nb.ipynb", "m", None, (Phase(1, "fit", 2, "1e-3", False, 0, columns, rows),), ordinal=1, framework="loop")
    sink = TensorBoardSink(tmp_path, root="/x")
    folder = sink.write_run(run)
    assert len(sink.notes) == 2 and "acc is written as epoch_acc_2" in sink.notes[1]
    assert [e.value for e in _scalars(folder / "train", "epoch_loss")] == pytest.approx([0.9, 0.7])
    assert [e.value for e in _scalars(folder / "train", "epoch_training_loss")] == pytest.approx([0.8, 0.6])
    assert [e.value for e in _scalars(folder / "validation", "epoch_acc")] == pytest.approx([0.5, 0.7])
    assert [e.value for e in _scalars(folder / "validation", "epoch_acc_2")] == pytest.approx([0.6, 0.8])  # said, not merged
    assert _scalars(folder / "validation", "epoch_step") == [] and _scalars(folder / "validation", "epoch_lr") == []
    assert [e.value for e in _scalars(folder / "train", "epoch_learning_rate")] == pytest.approx([0.01, 0.001])  # the printed rate
    assert [e.wall_time for e in _scalars(folder / "train", "epoch_loss")] == [2.0, 5.0]


@needs_tbx
def test_a_destination_that_cannot_be_written_is_one_line(corpus, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    logs = tmp_path / "file" / "logs"
    result = CliRunner().invoke(main, ["export", "--to", "tensorboard", str(logs), str(corpus / "resnet18.ipynb"), "-j", "1"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: cannot write {logs} (exporting {corpus / 'resnet18.ipynb'}): Not a directory"
    assert "Traceback" not in result.output


def test_mlflow_metric_names_are_valid_and_one_per_column():
    from audiometrics.sinks.mlflow import _metric_keys

    notes: list[str] = []
    keys = _metric_keys(["valid_loss", "a:b", "a_b", "top-5 acc/x"], notes, "nb.ipynb, run 1")
    assert keys == {"valid_loss": "valid_loss", "a:b": "a_b", "a_b": "a_b_2", "top-5 acc/x": "top-5 acc/x"}
    assert len(notes) == 2 and "'a_b' is logged as metric 'a_b_2'" in notes[1]
