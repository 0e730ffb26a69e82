"""`audiometrics --version` and `--help` import no heavy library; the lazy command table is true."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from audiometrics.cli.main import LAZY_COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "matplotlib", "jinja2", "bs4", "nbformat")


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_heavy_library(flag):
    code = (
        "import sys; from audiometrics.cli import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_import_audiometrics_imports_no_heavy_library():
    code = f"import sys, audiometrics; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_the_lazy_table_says_what_each_command_says(name):
    target, short_help = LAZY_COMMANDS[name]
    module, _, attribute = target.partition(":")
    command = getattr(import_module(module), attribute)
    assert command.name == name
    assert command.get_short_help_str(10**6) == short_help


def test_help_lists_every_command():
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--help"])
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted({"extract", *LAZY_COMMANDS})
