"""The progress bar: drawn on a terminal for more than a handful of files, silent otherwise."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from audiometrics import progress as progress_module
from audiometrics.cli.main import main
from audiometrics.errors import NotebookError
from audiometrics.model import NotebookResult, Phase, Run
from audiometrics.progress import HANDFUL, Progress
from tests import nbfactory as nbf


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def result_with_rows(n: int) -> NotebookResult:
    phase = Phase(1, "fit_one_cycle", n, "1e-2", False, 1, ("epoch",), tuple((str(i),) for i in range(n)))
    return NotebookResult("x.ipynb", runs=(Run("x.ipynb", "resnet18", False, (phase,)),))


def test_silent_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    with Progress(100, stream=stream) as bar:
        for _ in range(100):
            bar.advance(rows=3)
    assert not bar.enabled
    assert stream.getvalue() == ""


def test_silent_for_a_handful_of_files_even_on_a_terminal():
    stream = Terminal()
    with Progress(HANDFUL, stream=stream) as bar:
        for _ in range(HANDFUL):
            bar.advance()
    assert stream.getvalue() == ""
    assert Progress(HANDFUL + 1, stream=Terminal()).enabled


def test_silent_when_disabled_on_a_terminal():
    stream = Terminal()
    with Progress(100, stream=stream, enabled=False) as bar:
        bar.advance()
    assert stream.getvalue() == ""


def test_counts_files_rows_and_failures_and_ends_the_line():
    stream, clock = Terminal(), Clock()
    bar = Progress(10, stream=stream, clock=clock)
    bar.update(result_with_rows(5))
    clock.now += 1
    bar.update(NotebookError("bad.ipynb", "truncated JSON"))
    clock.now += 1
    bar.update(result_with_rows(2))
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r") and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "3/10 files" in last and "7 rows" in last and "1 failed" in last
    assert "1.5 files/s" in last and "0:05 left" in last
    assert "30%" in last
    bar.close()  # closing twice draws nothing more
    assert stream.getvalue() == text


def test_redraws_at_most_every_refresh_interval():
    stream, clock = Terminal(), Clock()
    bar = Progress(1000, stream=stream, clock=clock)
    for _ in range(500):
        bar.advance()  # no time passes: one draw only
    assert stream.getvalue().count("\r") == 1
    clock.now += 2 * progress_module.REFRESH_S
    bar.advance()
    assert stream.getvalue().count("\r") == 2


def test_the_last_file_is_always_drawn():
    stream, clock = Terminal(), Clock()
    bar = Progress(6, stream=stream, clock=clock)
    for _ in range(6):
        bar.advance()
    assert "6/6 files" in stream.getvalue().split("\r")[-1]


def test_line_fits_narrow_terminals_and_shows_a_bar_in_wide_ones():
    clock = Clock()
    bar = Progress(2000, stream=Terminal(), clock=clock)
    bar.advance(files=1000, rows=115000, failed=12)
    clock.now += 10
    wide = bar.line(columns=120)
    assert "[###############" in wide and "50%" in wide and "100.0 files/s" in wide and "0:10 left" in wide
    assert len(wide) < 120
    narrow = bar.line(columns=40)
    assert len(narrow) <= 39 and "[" not in narrow


def test_shorter_redraws_blank_out_the_previous_line():
    stream, clock = Terminal(), Clock()
    bar = Progress(10, stream=stream, clock=clock)
    bar._width = 200
    bar.advance()
    assert stream.getvalue().endswith(" " * 50)


def good_notebook(path):
    cells = [
        nbf.code_cell("learn = vision_learner(dls, resnet18, pretrained=False, metrics=lwlrap)"),
        nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2))),
    ]
    return str(nbf.write(path, nbf.notebook(cells)))


def cli_runner():
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always separates stderr
        return CliRunner()


@pytest.fixture
def many(tmp_path):
    return [good_notebook(tmp_path / f"n{i}.ipynb") for i in range(HANDFUL + 3)]


def test_cli_draws_no_bar_when_stderr_is_not_a_terminal(many, tmp_path):
    result = cli_runner().invoke(main, ["extract", *many, "--out", str(tmp_path / "o"), "--no-report", "-j", "1"])
    assert result.exit_code == 0
    assert "\r" not in result.stderr


def test_cli_draws_the_bar_on_a_terminal_unless_quiet(many, tmp_path, monkeypatch):
    monkeypatch.setattr(progress_module, "_is_terminal", lambda stream: True)
    result = cli_runner().invoke(main, ["extract", *many, "--out", str(tmp_path / "o"), "--no-report", "-j", "1"])
    assert result.exit_code == 0
    assert "\rextracting 100%" in result.stderr and f"{len(many)}/{len(many)} files  {2 * len(many)} rows" in result.stderr
    quiet = cli_runner().invoke(main, ["extract", *many, "--out", str(tmp_path / "o"), "--no-report", "-j", "1", "--quiet"])
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


def test_done_line_says_how_far_a_stopped_run_got():
    bar = Progress(500, enabled=False)
    assert bar.done_line() == "after reading 0 of 500 files"
    bar.advance(36)
    bar.advance(failed=1)
    assert bar.done_line() == "after reading 37 of 500 files (1 failed)"
    bar.advance(463)
    assert bar.done_line() == "after reading all 500 files, while writing the outputs"
    one = Progress(1, enabled=False)
    one.advance()
    assert one.done_line() == "after reading the file, while writing the outputs"
