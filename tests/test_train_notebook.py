"""The companion training notebook and ``audiometrics train``, without torch/fastai/papermill."""

from __future__ import annotations

import ast
import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from audiometrics import train
from audiometrics.train import (
    DEFAULT_EPOCHS,
    PHASES,
    SMOKE_EPOCHS,
    describe_failure,
    notebook_parameters,
    notebook_path,
    output_name,
    parse_epochs,
    ran_training,
)
from audiometrics.cli import train as cli_train
from audiometrics.cli.train import train_command

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "fat2019_training.ipynb"
EXAMPLES = sorted(glob.glob(str(ROOT / "examples" / "notebooks" / "*.ipynb")))

PARAMETERS = {"ARCH", "PRETRAINED", "DATA_DIR", "EPOCHS", "BATCH_SIZE", "IMG_SIZE", "SEED", "SMOKE", "LIMIT"}
LEARNING_RATES = [lr for lr, _ in PHASES]


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(str(NOTEBOOK), as_version=nbformat.NO_CONVERT)


@pytest.fixture(scope="module")
def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


# --------------------------------------------------------------------------- the notebook


def test_notebook_is_valid_nbformat_v4(nb):
    assert nb.nbformat == 4
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"


def test_notebook_is_shipped_without_outputs(code_cells):
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells)


def test_notebook_path_finds_the_notebook():
    assert notebook_path().resolve().read_bytes() == NOTEBOOK.read_bytes()


def test_every_code_cell_parses(code_cells):
    for cell in code_cells:
        ast.parse(_source(cell))  # no IPython magics or shell escapes either


def test_parameters_cell(code_cells):
    tagged = [c for c in code_cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse(_source(tagged[0]))
    values = {}
    for stmt in tree.body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, ast.dump(stmt)
        values[stmt.targets[0].id] = ast.literal_eval(stmt.value)  # literals only
    assert set(values) == PARAMETERS
    assert values["EPOCHS"] == list(DEFAULT_EPOCHS) == [5, 10, 20, 20, 50, 10]
    assert values["ARCH"] == "resnet18" and values["PRETRAINED"] is False and values["SMOKE"] is False
    assert values["BATCH_SIZE"] == train.DEFAULT_BATCH_SIZE
    assert values["IMG_SIZE"] == train.DEFAULT_IMG_SIZE
    assert values["SEED"] == train.DEFAULT_SEED
    # the first code cell, so that papermill's injected cell comes before everything else
    assert code_cells[0] is tagged[0]


def test_parameters_are_documented(nb):
    intro = _source(nb.cells[0])
    for name in PARAMETERS:
        assert f"`{name}`" in intro, name


def test_no_exec_or_eval(code_cells):
    for cell in code_cells:
        for node in ast.walk(ast.parse(_source(cell))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"exec", "eval", "compile", "__import__"}, _source(cell)


def test_training_cells_use_literal_learning_rates(code_cells):
    calls = []
    for cell in code_cells:
        src = _source(cell)
        found = [
            node
            for node in ast.walk(ast.parse(src))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("fit")
        ]
        if found:
            assert len(found) == 1, f"one training call per cell: {src}"
            calls.append((src, found[0]))
    assert len(calls) == len(PHASES)
    for i, (src, call) in enumerate(calls):
        assert isinstance(call.func.value, ast.Name) and call.func.value.id == "learn"
        assert call.func.attr == "fit_one_cycle"
        assert not call.keywords and len(call.args) == 2
        epochs, lr = call.args
        assert ast.get_source_segment(src, epochs) == f"EPOCHS[{i}]"
        assert ast.get_source_segment(src, lr) == LEARNING_RATES[i]
        if isinstance(lr, ast.Call):  # slice(lo, hi) of number literals
            assert isinstance(lr.func, ast.Name) and lr.func.id == "slice"
            assert all(isinstance(a, ast.Constant) for a in lr.args)
        else:
            assert isinstance(lr, ast.Constant)
        assert src.strip() == f"learn.fit_one_cycle(EPOCHS[{i}], {LEARNING_RATES[i]})"


def test_model_and_learner_lines_are_static(code_cells):
    sources = [_source(c) for c in code_cells]
    (learner_cell,) = [s for s in sources if "Learner(" in s]
    tree = ast.parse(learner_cell)
    assigns = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    create = assigns["model"]
    assert ast.unparse(create.func) == "timm.create_model"
    assert isinstance(create.args[0], ast.Name) and create.args[0].id == "ARCH"
    keywords = {k.arg: k.value for k in create.keywords}
    assert isinstance(keywords["pretrained"], ast.Name) and keywords["pretrained"].id == "PRETRAINED"
    assert ast.unparse(keywords["in_chans"]) == "3"
    learner = assigns["learn"]
    assert ast.unparse(learner.func) == "Learner"
    assert [ast.unparse(a) for a in learner.args] == ["dls", "model"]
    keywords = {k.arg: ast.unparse(k.value) for k in learner.keywords}
    assert keywords["loss_func"] == "BCEWithLogitsLossFlat()"
    assert keywords["metrics"] == "[accuracy_multi, lwlrap]"
    assert ast.unparse(assigns["lwlrap"]) == "lwlrap_metric()"
    # show_batch stays off by default
    assert any("SHOW_BATCH = False" in s for s in sources)


def test_pretrained_check_comes_right_after_the_parameters(code_cells):
    check = _source(code_cells[1])
    assert "require_pretrained_weights(ARCH, size_kwargs)" in check and "RuntimeError" in check
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(check))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert "fastai" not in imported  # fails before fastai and any data work
    assert "size_kwargs = image_size_kwargs(ARCH, IMG_SIZE)" in check


# --------------------------------------------------------------------------- pure functions


def test_notebook_parameters_defaults():
    assert notebook_parameters("resnet18") == {
        "ARCH": "resnet18",
        "PRETRAINED": False,
        "SMOKE": False,
        "EPOCHS": [5, 10, 20, 20, 50, 10],
        "BATCH_SIZE": 64,
        "IMG_SIZE": 128,
        "SEED": 42,
    }


def test_notebook_parameters_smoke():
    params = notebook_parameters("deit_tiny_patch16_224", smoke=True)
    assert params == {
        "ARCH": "deit_tiny_patch16_224",
        "PRETRAINED": False,
        "SMOKE": True,
        "EPOCHS": list(SMOKE_EPOCHS),
        "BATCH_SIZE": 32,
        "IMG_SIZE": 64,
        "SEED": 42,
    }
    assert type(params["EPOCHS"]) is list  # papermill writes lists as literals


def test_notebook_parameters_explicit(tmp_path):
    params = notebook_parameters(
        "convit_tiny",
        pretrained=True,
        data_dir=os.path.relpath(tmp_path),
        epochs=(1, 2, 3, 4, 5, 0),
        batch_size=16,
        img_size=224,
        seed=7,
        limit=100,
    )
    assert params == {
        "ARCH": "convit_tiny",
        "PRETRAINED": True,
        "SMOKE": False,
        "EPOCHS": [1, 2, 3, 4, 5, 0],
        "BATCH_SIZE": 16,
        "IMG_SIZE": 224,
        "SEED": 7,
        "DATA_DIR": str(tmp_path.resolve()),
        "LIMIT": 100,
    }
    # explicit values win over the smoke defaults
    assert notebook_parameters("resnet18", smoke=True, epochs=[2] * 6, img_size=96)["EPOCHS"] == [2] * 6
    assert notebook_parameters("resnet18", smoke=True, img_size=96)["IMG_SIZE"] == 96


def test_notebook_parameters_rejects_bad_input():
    with pytest.raises(ValueError):
        notebook_parameters("resnet18", epochs=[1, 2, 3])
    with pytest.raises(ValueError):
        notebook_parameters(" ")


@pytest.mark.parametrize(
    "text, expected",
    [("1", [1] * 6), ("0", [0] * 6), ("5,10,20,20,50,10", [5, 10, 20, 20, 50, 10]), (" 1, 2,3,4 ,5,6", [1, 2, 3, 4, 5, 6])],
)
def test_parse_epochs(text, expected):
    assert parse_epochs(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1,2", "1.5", "-1", "1,2,3,4,5,6,7"])
def test_parse_epochs_rejects(text):
    with pytest.raises(ValueError):
        parse_epochs(text)


def test_output_name():
    assert output_name("resnet18") == "resnet18.ipynb"
    assert output_name("convit_tiny", pretrained=True) == "convit_tiny-pretrained.ipynb"
    assert output_name("resnet18.a1_in1k") == "resnet18.a1_in1k.ipynb"
    assert output_name("hf-hub:timm/resnet18.a1_in1k") == "hf-hub_timm_resnet18.a1_in1k.ipynb"


def test_describe_failure():
    class FakePapermillError(Exception):
        ename = "RuntimeError"
        evalue = "Pretrained weights for convit_tiny are not cached\nmore"
        exec_count = 3

    assert describe_failure(FakePapermillError()) == "RuntimeError: Pretrained weights for convit_tiny are not cached (cell [3])"
    assert describe_failure(OSError("kernel died\ntrace")) == "OSError: kernel died"


def test_ran_training(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("learn = 1", execution_count=1),
            nbformat.v4.new_code_cell("learn.fit_one_cycle(EPOCHS[0], 1e-1)"),
        ]
    )
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, str(path))
    assert not ran_training(path)
    nb.cells[1].execution_count = 2
    nbformat.write(nb, str(path))
    assert ran_training(path)
    assert not ran_training(tmp_path / "missing.ipynb")


# --------------------------------------------------------------------------- the command


def test_import_and_help_without_papermill():
    code = textwrap.dedent(
        """
        import sys
        for name in ("papermill", "fastai", "timm", "torch", "torchvision"):
            sys.modules[name] = None  # any import of them fails
        import audiometrics.train, audiometrics.cli.train
        from click.testing import CliRunner
        result = CliRunner().invoke(audiometrics.cli.train.train_command, ["--help"])
        assert result.exit_code == 0, result.output
        assert "--smoke" in result.output and "--pretrained" in result.output
        from audiometrics.cli.main import main
        if "train" in main.commands:
            result = CliRunner().invoke(main, ["train", "--help"])
            assert result.exit_code == 0, result.output
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_missing_extra_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "papermill", None)
    result = CliRunner().invoke(train_command, ["resnet18", "--smoke", "--out", str(tmp_path)])
    assert result.exit_code == 1
    from audiometrics.hints import install_hint

    assert install_hint("train") in result.output  # from a checkout: pip install -e '<checkout>[train]'
    assert "papermill" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["resnet18"], "--smoke"),
        (["resnet18", "--smoke", "--data", "."], "drop --data"),
        (["resnet18", "--smoke", "--epochs", "1,2"], "six comma-separated"),
        (["resnet18", "--smoke", "--batch-size", "0"], "at least 1"),
        ([], "Missing argument"),
    ],
)
def test_usage_errors(args, message):
    result = CliRunner().invoke(train_command, args)
    assert result.exit_code == 2
    assert message.replace("six", "6") in result.output or message in result.output


def test_runs_every_architecture_and_reports_failures(monkeypatch, tmp_path):
    calls = []

    def fake_run(source, target, parameters, *, kernel_name=None, progress=True, cwd=None):
        calls.append((Path(source).name, Path(target), parameters, Path(cwd)))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("learn.fit_one_cycle(EPOCHS[0], 1e-1)")])
        if parameters["ARCH"] == "convit_tiny":
            nbformat.write(nb, str(target))  # failed before training: nothing ran
            err = RuntimeError("papermill")
            err.ename, err.evalue, err.exec_count = "RuntimeError", "Pretrained weights for convit_tiny are not cached", 2
            raise err
        nb.cells[0].execution_count = 1
        nbformat.write(nb, str(target))

    extracted = []
    monkeypatch.setattr(train, "missing_training_modules", lambda modules=(): [])
    monkeypatch.setattr(train, "run_notebook", fake_run)
    monkeypatch.setattr(train, "kernel_warning", lambda kernel_name: None)
    monkeypatch.setattr(cli_train, "_extract", lambda paths, out, quiet: extracted.append((paths, out)) or True)
    result = CliRunner().invoke(
        train_command, ["resnet18", "convit_tiny", "deit_tiny_patch16_224", "--pretrained", "--smoke", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert [c[2]["ARCH"] for c in calls] == ["resnet18", "convit_tiny", "deit_tiny_patch16_224"]
    assert all(c[0] == "fat2019_training.ipynb" and c[3] == tmp_path for c in calls)
    assert all(c[2]["PRETRAINED"] is True and c[2]["SMOKE"] is True for c in calls)
    assert [c[1] for c in calls] == [
        tmp_path / "notebooks" / "resnet18-pretrained.ipynb",
        tmp_path / "notebooks" / "convit_tiny-pretrained.ipynb",
        tmp_path / "notebooks" / "deit_tiny_patch16_224-pretrained.ipynb",
    ]
    assert "convit_tiny (pretrained) failed" in result.output
    assert "Pretrained weights for convit_tiny are not cached" in result.output
    assert "2 of 3 runs finished; failed: convit_tiny" in result.output
    # the run that never trained is not extracted; the others are, into OUT
    assert extracted == [([calls[0][1], calls[2][1]], tmp_path)]


# --------------------------------------------------------------------------- examples


def _extract_module():
    try:
        from audiometrics.pipeline import extract_notebook
    except ImportError as exc:  # pragma: no cover - depends on the checkout's state
        pytest.skip(f"audiometrics.pipeline is not importable: {exc}")
    return extract_notebook


def test_examples_exist_and_are_small():
    names = {Path(p).stem for p in EXAMPLES}
    assert names == {"resnet18", "mobilenetv4_conv_small", "deit_tiny_patch16_224", "convit_tiny"}
    for path in EXAMPLES:
        assert os.path.getsize(path) < 200_000
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                assert "image/png" not in output.get("data", {})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).stem)
def test_examples_extract(path):
    extract_notebook = _extract_module()
    result = extract_notebook(path)
    assert len(result.runs) == 1, result.diagnostics
    run = result.runs[0]
    assert run.model == Path(path).stem
    assert run.pretrained is False
    assert [p.learning_rate for p in run.phases] == LEARNING_RATES
    assert [p.planned_epochs for p in run.phases] == list(SMOKE_EPOCHS)
    assert [p.method for p in run.phases] == ["fit_one_cycle"] * 6
    for phase in run.phases:
        assert phase.recorded_epochs == 1 and not phase.incomplete
        assert "lwlrap" in phase.columns and "accuracy_multi" in phase.columns
