"""Write and execute the held-out corpus: ~30 small training notebooks and their oracles.

Usage (from the repository root)::

    python3 benchmarks/heldout/make_corpus.py            # every notebook
    python3 benchmarks/heldout/make_corpus.py hf_ keras_ # names starting with these

Each notebook is executed by nbclient in the Python of its kernel's environment
(``$ML_VENV``: torch, transformers, Keras 3 on the torch backend, Lightning;
``$TF_VENV``: TensorFlow with tf-keras, the Keras 2 line), in a scratch
working directory. The kernel starts with ``IPYTHONDIR`` pointing at a temporary
profile whose startup file runs ``oracle_hooks.py``: the training entry points
record what the framework itself kept (``log_history``, ``History``,
``callback_metrics``) into ``oracle/<name>.json``. Plain loops hand their lists to
the recorder from a hidden last cell that is executed and then removed, so every
saved notebook looks like a user's. No notebook downloads anything.

Spec keys (``specs_*.py``): ``name``, ``kernel``, ``hooks``, ``style``, ``cells`` (``%%md`` starts a
markdown cell), ``order`` (cells run out of order), ``oracle`` (the hidden last cell), and three
applied after execution, for what a saved notebook no longer shows:

- ``clear``: indexes of cells whose outputs are cleared (JupyterLab's "Clear Outputs": the
  execution count stays);
- ``drop_runs``: 1-based oracle runs removed (a cell executed again replaced their output);
  the oracle lists them under ``dropped_runs``;
- ``drop_rows``: ``{run: [0-based epochs]}`` rows removed from a run; the run lists them under
  ``dropped_rows``. A ``Trainer.train(resume_from_checkpoint=...)`` restores the checkpoint's
  ``log_history``, so the hook would claim the earlier epochs for the resumed call although its
  table does not show them: every resumed-Trainer notebook needs this. An entry ``{"step": s}``
  removes the row recorded at global step ``s`` instead, where two rows share an epoch (an HF
  table with a fractional ``num_train_epochs`` labels its partial last epoch's evaluation with
  the previous whole epoch and overwrites that row: ``hf_fractional_epochs_table``).
- ``not_printed``: metric names the framework recorded but the notebook's per-epoch output does
  not show (a Lightning ``callback_metrics`` entry the user's own print leaves out); every run
  lists those it has under ``not_printed``, the values stay, and the scorer does not look for them.

These are applied once, here, to the oracle as the hooks recorded it (``drop_unshown`` refuses an
oracle that already has ``dropped_runs``/``dropped_rows``): a driver importing this module must not
apply them again.

One more key concerns the kernel: ``pythonpath``, folders (relative to this one) put first on the
kernel's ``PYTHONPATH``, for a package its venv lacks without changing the venv (``pylib_tf``:
pandas for the tf kernel; README.md, "Kernel overlay").

Two keys came with the fourth batch (explore4's driver had them): ``lab: True`` saves the notebook
as JupyterLab does (as ``LAB_SAVED`` names do), and ``interrupt``: ``{position: seconds}`` sends
SIGINT to the kernel (what Jupyter's stop button does) that long after the cell at that 0-based
position of the execution order starts; ``{"of_previous": f}`` instead of seconds waits ``f`` times
the time the same cell took when it last ran (``plain_rerun_interrupted``: a training cell run
again and stopped by hand 2.5 of its 6 epochs in).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
ORACLE = HERE / "oracle"
VENVS = {"ml": Path(os.environ.get("HELDOUT_ML_VENV", "venvs/ml")),
         "tf": Path(os.environ.get("HELDOUT_TF_VENV", "venvs/tf"))}
KERNEL_ENV = {
    "ml": {"KERAS_BACKEND": "torch"},
    # Keras 2 era code (``from tensorflow import keras``) gets tf-keras, as it did then.
    "tf": {"TF_USE_LEGACY_KERAS": "1", "KERAS_BACKEND": "tensorflow"},
}
TIMEOUT_S = 600
#: Notebooks saved as JupyterLab saves them (consecutive outputs of a stream merged, ``\r`` and
#: backspace redraws applied); the others keep nbclient's raw outputs, as papermill-run and
#: Kaggle notebooks do.
LAB_SAVED = {"keras_functional_verbose2", "keras_early_stopping", "keras_kfold_loop", "tfkeras2_callbacks",
             "pl_tutorial_classifier", "pl_hidden_size_sweep", "hf_disable_tqdm_logs", "rasbt_llm_pretraining"}


def apply_redraws(text: str) -> str:
    """Text as a terminal (and JupyterLab) shows it: a backspace erases, ``\r`` restarts the line.

    >>> apply_redraws("1/6 [=>...]\\r6/6 [=====] - loss: 0.5\\n")
    '6/6 [=====] - loss: 0.5\\n'
    >>> apply_redraws("abc\\b\\bX\\r\\n")
    'aX\\n'
    """
    lines = []
    for line in text.split("\n"):
        shown = []
        for char in line:
            if char == "\b":
                if shown:
                    shown.pop()
            else:
                shown.append(char)
        line = "".join(shown).rstrip("\r")
        lines.append(line.rsplit("\r", 1)[-1])
    return "\n".join(lines)


def hide_hooks(nb) -> None:
    """Drop the recorder's own frames from saved tracebacks (a crashed fit passes through its wrapper)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [frame for frame in output.traceback if "oracle_hooks" not in frame]


def lab_saved(nb) -> None:
    """Merge consecutive outputs of the same stream and apply their redraws, as JupyterLab saves them."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.get("outputs", []):
            if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = apply_redraws(output.text)
        cell.outputs = merged


def drop_unshown(data: dict, spec: dict) -> dict:
    """The oracle without the runs (``drop_runs``) and rows (``drop_rows``) the saved notebook does not show.

    Run numbers are those of the recorded oracle (1-based, before any run is dropped). Applied
    once, to the oracle as recorded: an oracle that already lists ``dropped_runs`` or
    ``dropped_rows``, a run number past the recorded runs or an epoch the run does not have
    is refused, so that nothing is dropped twice (explore2's driver did so once).

    >>> data = {"runs": [{"rows": [{"epoch": 0}, {"epoch": 1}]}, {"rows": [{"epoch": 0}, {"epoch": 2}]}]}
    >>> out = drop_unshown(data, {"drop_rows": {2: [0]}, "drop_runs": [1]})
    >>> out["runs"], out["dropped_runs"]
    ([{'rows': [{'epoch': 2}], 'dropped_rows': [0]}], [1])
    >>> drop_unshown(data, {}) == data
    True
    >>> drop_unshown(out, {"drop_runs": [1]})
    Traceback (most recent call last):
    ValueError: the oracle already lists dropped runs or rows: drop_runs/drop_rows are applied once
    >>> drop_unshown(data, {"drop_rows": {1: [5]}})
    Traceback (most recent call last):
    ValueError: drop_rows: run 1 has no epoch 5
    >>> two = {"runs": [{"rows": [{"epoch": 1, "step": 12}, {"epoch": 1, "step": 15}]}]}
    >>> drop_unshown(two, {"drop_rows": {1: [{"step": 12}]}})["runs"]
    [{'rows': [{'epoch': 1, 'step': 15}], 'dropped_rows': [{'step': 12}]}]
    >>> drop_unshown(two, {"drop_rows": {1: [{"step": 6}]}})
    Traceback (most recent call last):
    ValueError: drop_rows: run 1 has no step 6
    """
    if not spec.get("drop_rows") and not spec.get("drop_runs"):
        return data
    runs = [dict(run) for run in data.get("runs", [])]
    if "dropped_runs" in data or any("dropped_rows" in run for run in runs):
        raise ValueError("the oracle already lists dropped runs or rows: drop_runs/drop_rows are applied once")
    for number in [*(spec.get("drop_rows") or {}), *(spec.get("drop_runs") or [])]:
        if not 1 <= int(number) <= len(runs):
            raise ValueError(f"run {number} is not among the {len(runs)} recorded runs")
    for number, epochs in (spec.get("drop_rows") or {}).items():
        run = runs[int(number) - 1]
        steps = {entry["step"] for entry in epochs if isinstance(entry, dict)}
        whole = {entry for entry in epochs if not isinstance(entry, dict)}
        missing = sorted(whole - {row["epoch"] for row in run["rows"]})
        if missing:
            raise ValueError(f"drop_rows: run {number} has no epoch {', '.join(map(str, missing))}")
        missing = sorted(steps - {row.get("step") for row in run["rows"]})
        if missing:
            raise ValueError(f"drop_rows: run {number} has no step {', '.join(map(str, missing))}")
        run["rows"] = [row for row in run["rows"] if row["epoch"] not in whole and row.get("step") not in steps]
        run["dropped_rows"] = list(epochs)
    data = {**data, "runs": runs}
    if spec.get("drop_runs"):
        data["runs"] = [run for i, run in enumerate(runs, 1) if i not in spec["drop_runs"]]
        data["dropped_runs"] = list(spec["drop_runs"])
    return data


def mark_not_printed(data: dict, spec: dict) -> dict:
    """The oracle with each run's ``not_printed`` names (``not_printed``: recorded, not shown per epoch).

    >>> data = {"runs": [{"rows": [{"values": {"train_loss": 0.6, "val_loss": 0.7}}]}]}
    >>> mark_not_printed(data, {"not_printed": ["train_loss", "lr-Adam"]})["runs"][0]["not_printed"]
    ['train_loss']
    """
    names = spec.get("not_printed")
    if not names:
        return data
    runs = []
    for run in data.get("runs", []):
        recorded = {name for row in run["rows"] for name in row["values"]}
        runs.append({**run, "not_printed": [name for name in names if name in recorded]})
    return {**data, "runs": runs}


def all_specs() -> list[dict]:
    """Every notebook spec, in corpus order."""
    sys.path.insert(0, str(HERE))
    try:
        from specs_hf import HF
        from specs_keras import KERAS
        from specs_loops import LOOPS
    finally:
        sys.path.pop(0)
    return [*HF, *KERAS, *LOOPS]


def build_notebook(spec: dict):
    """The unexecuted notebook of a spec (the hidden oracle cell last, when it has one)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for source in spec["cells"]:
        if source.startswith("%%md\n"):
            nb.cells.append(nbformat.v4.new_markdown_cell(source[5:]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source))
    if spec.get("oracle"):
        nb.cells.append(nbformat.v4.new_code_cell(spec["oracle"]))
    return nb


def execution_order(cells: int, order: list[int] | None, oracle: bool) -> list[int]:
    """The indexes of a notebook's cells in the order they are executed.

    ``cells`` is the number of the spec's cells; the hidden oracle cell, when there is one, is
    index ``cells`` and **always runs last**. ``order`` (indexes into the spec's cells) imitates
    cells run out of order or again (an index may repeat); the spec's cells after the highest
    index it names then run in document order. (The order's length is not the cells': before,
    a cell run twice made ``order`` longer and cut the oracle cell off without a word.)

    >>> execution_order(4, None, oracle=True)
    [0, 1, 2, 3, 4]
    >>> execution_order(4, [0, 1, 2, 3, 3], oracle=True)
    [0, 1, 2, 3, 3, 4]
    >>> execution_order(6, [0, 1, 2, 5, 4, 3], oracle=True)
    [0, 1, 2, 5, 4, 3, 6]
    >>> execution_order(5, [0, 2, 1], oracle=False)
    [0, 2, 1, 3, 4]
    >>> execution_order(4, [0, 1, 4], oracle=True)
    Traceback (most recent call last):
    ValueError: order names cell 4, past the spec's 4 cells (the oracle cell runs last by itself)
    """
    indexes = list(range(cells))
    if order is not None:
        for index in order:
            if not 0 <= index < cells:
                raise ValueError(f"order names cell {index}, past the spec's {cells} cells "
                                 "(the oracle cell runs last by itself)")
        indexes = [*order, *range(max(order, default=-1) + 1, cells)]
    return [*indexes, cells] if oracle else indexes


def run_cells(client, nb, order: list[int] | None, cwd: str, oracle: bool = False,
              interrupt: dict | None = None) -> None:
    """Execute the notebook's cells as :func:`execution_order` orders them (the oracle cell last).

    A spec's ``order`` imitates cells run out of order: the saved notebook keeps
    document order, and the execution counts tell the order they ran in. With
    ``oracle``, the notebook's last cell is the hidden oracle cell. ``interrupt``
    (``{position: seconds or {"of_previous": f}}``) sends SIGINT to the kernel, as
    Jupyter's stop button does, while the cell at that position of the order runs.
    """
    import signal
    import threading

    indexes = execution_order(len(nb.cells) - oracle, order, oracle)
    if oracle:
        assert indexes[-1] == len(nb.cells) - 1 and indexes.count(indexes[-1]) == 1
    interrupt = interrupt or {}
    took: dict[int, float] = {}
    with client.setup_kernel(cwd=cwd):
        reply = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = reply["content"]["language_info"]
        for position, index in enumerate(indexes):
            timer = None
            if position in interrupt:
                delay = interrupt[position]
                if isinstance(delay, dict):
                    delay = took[index] * delay["of_previous"]
                timer = threading.Timer(delay, os.kill, (client.km.provisioner.process.pid, signal.SIGINT))
                timer.start()
            start = time.perf_counter()
            client.execute_cell(nb.cells[index], index)
            took[index] = time.perf_counter() - start
            if timer:
                timer.cancel()


def execute_one(name: str) -> None:
    """Execute one notebook in this interpreter's kernel (called in the kernel's venv)."""
    import nbformat
    from nbclient import NotebookClient

    spec = next(s for s in all_specs() if s["name"] == name)
    nb = build_notebook(spec)
    oracle_path = ORACLE / f"{name}.json"
    oracle_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="heldout-") as scratch:
        startup = Path(scratch, "ipython", "profile_default", "startup")
        startup.mkdir(parents=True)
        (startup / "00-heldout.py").write_text(
            f"exec(compile(open({str(HERE / 'oracle_hooks.py')!r}).read(), 'oracle_hooks', 'exec'))\n"
        )
        work = Path(scratch, "work")
        work.mkdir()
        env = {**os.environ, **KERNEL_ENV[spec["kernel"]], "IPYTHONDIR": str(Path(scratch, "ipython")),
               "HELDOUT_ORACLE": str(oracle_path), "HELDOUT_HOOKS": spec["hooks"],
               "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONHASHSEED": "0"}
        overlay = [str(HERE / folder) for folder in spec.get("pythonpath", ())]
        if overlay:
            env["PYTHONPATH"] = os.pathsep.join([*overlay, *filter(None, [os.environ.get("PYTHONPATH")])])
        client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", allow_errors=True,
                                record_timing=False, resources={"metadata": {"path": str(work)}})
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)  # the kernel inherits the client's environment
        try:
            run_cells(client, nb, spec.get("order"), cwd=str(work), oracle=bool(spec.get("oracle")),
                      interrupt=spec.get("interrupt"))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    if spec.get("oracle"):
        nb.cells.pop()  # the hidden oracle cell: executed, never saved
    hide_hooks(nb)
    for index in spec.get("clear", ()):
        nb.cells[index].outputs = []
    if name in LAB_SAVED or spec.get("lab"):
        lab_saved(nb)
    for cell in nb.cells:
        cell.metadata = {}
        cell.pop("id", None)
    nb.nbformat_minor = 4  # no cell ids: the notebooks stay small and diff-stable
    NOTEBOOKS.mkdir(exist_ok=True)
    nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")
    data = json.loads(oracle_path.read_text()) if oracle_path.exists() else {"versions": {}, "runs": []}
    data = mark_not_printed(drop_unshown(data, spec), spec)
    data = {"notebook": f"{name}.ipynb", "style": spec["style"], "kernel": spec["kernel"], **data}
    oracle_path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose name starts with one of these")
    parser.add_argument("--execute-one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute_one:
        execute_one(args.execute_one)
        return 0
    ORACLE.mkdir(exist_ok=True)
    failed = []
    for spec in all_specs():
        if args.prefixes and not spec["name"].startswith(tuple(args.prefixes)):
            continue
        python = VENVS[spec["kernel"]] / "bin" / "python"
        absent = [folder for folder in spec.get("pythonpath", ()) if not (HERE / folder).is_dir()]
        if absent:
            print(f"{spec['name']:<34} FAILED (no kernel overlay {', '.join(absent)}: README.md, \"Kernel overlay\")",
                  flush=True)
            failed.append(spec["name"])
            continue
        start = time.perf_counter()
        done = subprocess.run([str(python), str(Path(__file__).resolve()), "--execute-one", spec["name"]],
                              capture_output=True, text=True)
        took = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else f"FAILED ({done.stderr.strip().splitlines()[-1:]})"
        print(f"{spec['name']:<34} {took:6.1f}s  {status}", flush=True)
        if done.returncode:
            failed.append(spec["name"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
