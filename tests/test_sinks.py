"""Sinks: the protocol, the registry and the CSV sink (the same bytes as the pipeline's CSV)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import audiometrics.sinks as sinks
import audiometrics.sinks.csv as csv_sink
from audiometrics.epochs.rows import notebook_root
from audiometrics.errors import NotebookError
from audiometrics.model import NotebookResult
from audiometrics.pipeline import extract_files, extract_paths_to_outputs, write_outputs
from audiometrics.sinks import Sink, create, feed, forward, names
from audiometrics.sinks.csv import CsvSink

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "notebooks" / "cnn-2d-basic-solution-powered-by-fast-ai.ipynb"
INPUTS = [pytest.param(EXAMPLES, id="examples")] + (
    [pytest.param([REFERENCE], id="reference"), pytest.param([*EXAMPLES, REFERENCE], id="all")] if REFERENCE.exists() else []
)


@pytest.mark.parametrize("module", [sinks, csv_sink])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("paths", INPUTS)
@pytest.mark.parametrize("with_source, raw_text", [(False, False), (True, False), (True, True)])
def test_csv_sink_writes_the_pipelines_bytes(tmp_path, paths, with_source, raw_text):
    paths = [str(p) for p in paths]
    assert paths, "no example notebooks"
    whole = write_outputs(extract_files(paths), tmp_path, csv_path=tmp_path / "whole.csv", with_source=with_source, raw_text=raw_text)
    spooled = tmp_path / "spooled.csv"  # the CLI's --no-report path, which streams through the sink
    extract_paths_to_outputs(paths, tmp_path / "out", csv_path=spooled, with_source=with_source, report=False, raw_csv_text=raw_text)
    seen = []
    with CsvSink(tmp_path / "sink.csv", root=notebook_root(paths), with_source=with_source, raw_text=raw_text) as sink:
        extract_files(paths, on_result=forward([sink], seen.append), keep_runs=False)
    assert len(seen) == len(paths)
    assert sink.close() == [tmp_path / "sink.csv"]
    expected = whole.read_bytes()
    assert expected.count(b"\n") > 10
    assert spooled.read_bytes() == expected
    assert (tmp_path / "sink.csv").read_bytes() == expected


def test_csv_sink_written_where_the_output_set_says(tmp_path):
    paths = [str(p) for p in EXAMPLES[:2]]
    sink = create("csv", root=notebook_root(paths))
    outcome = extract_files(paths, on_result=forward([sink]), keep_runs=False)
    assert not outcome.failures and sink.metrics and sink.row_count > 0
    staged = sink.write(tmp_path / "staged.csv")
    assert sink.close() == [staged]
    assert staged.read_text(encoding="utf-8").splitlines()[0].split(",") == sink.columns
    with pytest.raises(ValueError, match="closed"):
        sink.add(NotebookResult("x.ipynb"))


def test_a_failed_extraction_writes_nothing(tmp_path):
    target = tmp_path / "never.csv"
    with pytest.raises(RuntimeError), CsvSink(target, root="") as sink:
        feed_one = forward([sink])
        feed_one(NotebookResult("a.ipynb"))
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert sink.close() == []


def test_the_registry_and_the_protocol():
    assert "csv" in names()
    sink = create("csv")
    assert isinstance(sink, Sink)
    assert feed(sink, []) == []
    with pytest.raises(KeyError, match="known: .*csv"):
        create("no-such-sink")

    class Recorder:
        def __init__(self, *, tag: str) -> None:
            self.tag, self.added = tag, []

        def add(self, result: NotebookResult) -> None:
            self.added.append(result.path)

        def close(self) -> list[Path]:
            return [Path(self.tag)]

    sinks.register("recorder", Recorder)
    try:
        recorder = create("recorder", tag="out")
        items = [NotebookResult("a.ipynb"), NotebookError("b.ipynb", "broken"), NotebookResult("c.ipynb")]
        assert feed(recorder, items) == [Path("out")]
        assert recorder.added == ["a.ipynb", "c.ipynb"]  # failed files reach no sink
    finally:
        sinks._REGISTRY.pop("recorder")
