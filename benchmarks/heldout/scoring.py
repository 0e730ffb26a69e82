"""Scoring of the held-out check: oracle rows against extracted CSV rows (see ``README.md`` here).

Pure functions, no I/O: ``benchmarks/heldout_check.py`` runs the extraction and prints;
``tests/test_heldout.py`` tests these on synthetic cases.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field

LOSS_COLUMNS = ("train_loss", "valid_loss")
#: Recorded by a framework but not a per-epoch metric the table is expected to carry.
IGNORED = {"learning_rate", "lr", "grad_norm", "epoch", "step", "v_num"}
#: CSV columns that never hold a metric value.
TEXT_COLUMNS = {"epoch", "learning_rate", "model", "pretrained", "time", "training_phase", "notebook", "run",
                "cell", "call", "planned_epochs", "interrupted", "framework", "step", "epoch_float"}
KERAS = {"keras", "tf_keras"}


def expected_column(framework: str, name: str) -> str | None:
    """The CSV column a framework's metric name is expected in (``None``: not scored).

    Parameters
    ----------
    framework : str
        The oracle run's framework (``transformers``, ``keras``, ``tf_keras``,
        ``pytorch_lightning``, ``plain``).
    name : str
        The metric name as the framework recorded it.

    Returns
    -------
    str or None
        ``train_loss``/``valid_loss`` for losses, the metric name without its
        validation prefix for validation metrics, ``train_<name>`` for
        training-side metrics; ``None`` for names not scored (learning rate,
        Lightning's per-step values).

    Examples
    --------
    >>> expected_column("keras", "loss"), expected_column("keras", "val_loss")
    ('train_loss', 'valid_loss')
    >>> expected_column("keras", "val_accuracy"), expected_column("keras", "accuracy")
    ('accuracy', 'train_accuracy')
    >>> expected_column("transformers", "eval_matthews_correlation")
    'matthews_correlation'
    >>> expected_column("pytorch_lightning", "train_loss_epoch"), expected_column("pytorch_lightning", "train_loss_step")
    ('train_loss', None)
    >>> expected_column("keras", "learning_rate") is None
    True
    >>> expected_column("pytorch_lightning", "lr-Adam") is None  # Lightning's LearningRateMonitor
    True
    """
    if name in IGNORED or name.startswith("lr-"):
        return None
    if framework == "pytorch_lightning":
        if name.endswith("_step"):
            return None
        name = name[: -len("_epoch")] if name.endswith("_epoch") else name
    if name in ("loss", "train_loss"):
        return "train_loss"
    for prefix in ("eval_", "val_", "valid_", "validation_"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return "valid_loss" if rest == "loss" else rest
    if name.startswith("train_"):
        return name
    return f"train_{name}" if framework in KERAS else name


def _decimals(text: str) -> int:
    """Digits after the point of a number as displayed, the exponent counted.

    >>> _decimals("0.5407"), _decimals("74.41"), _decimals("3"), _decimals("1.25e-05")
    (4, 2, 0, 7)
    """
    mantissa, _, exponent = text.lower().partition("e")
    places = len(mantissa.partition(".")[2])
    return places - int(exponent or 0)


def value_matches(text: str | None, value: float | str | None, *, percent: bool = False,
                  significant: int | None = None) -> bool:
    """Whether a displayed value is the recorded ``value`` rounded for display.

    The tolerance is half a unit of the last displayed digit (plus float32
    slack); with ``percent`` the text may also be the value times 100
    (``Train Acc: 74.41%``); with ``significant`` the display kept only that many
    significant digits and padded with zeros (Lightning's bar: ``1.0563`` → ``1.060``).

    Examples
    --------
    >>> value_matches("0.5407", 0.54068), value_matches("0.541", 0.5407), value_matches("0.5", 0.56)
    (True, True, False)
    >>> value_matches("74.41%", 0.74409, percent=True), value_matches("74.41", 0.74409)
    (True, False)
    >>> value_matches("No log", 0.3), value_matches("", 0.3), value_matches("nan", "nan")
    (False, False, True)
    >>> value_matches("1.060", 1.0563), value_matches("1.060", 1.0563, significant=3)
    (False, True)
    """
    if text is None or value is None:
        return False
    text = text.strip().rstrip("%").strip()
    if isinstance(value, str):  # nan / inf as recorded
        return text.lower() == value.lower()
    try:
        shown = float(text)
    except ValueError:
        return False
    if not math.isfinite(shown):
        return False
    tolerance = 0.5 * 10.0 ** -_decimals(text)
    if significant and shown:
        tolerance = max(tolerance, 0.5 * 10.0 ** (math.floor(math.log10(abs(shown))) - significant + 1))
    candidates = (value, value * 100) if percent else (value,)
    return any(abs(shown - v) <= tolerance * (1 + 1e-6) + 1e-6 * abs(v) + 1e-12 for v in candidates)


@dataclass
class OracleRow:
    """One oracle row: which run, its key (epoch or step) and the values to find."""

    run: int
    framework: str
    epoch: int | None
    step: int | None
    key: str
    values: dict[str, tuple[str, float | str]]  # framework name -> (expected column, value)


#: What the display counts epochs from, per framework (a plain loop's oracle says its own).
DISPLAY_BASE = {"transformers": 1, "keras": 1, "tf_keras": 1, "pytorch_lightning": 0, "plain": 1}
CONVENTIONS = ("displayed", "zero")


def oracle_rows(oracle: dict, convention: str = "zero") -> list[OracleRow]:
    """The scored rows of a notebook's oracle, in order.

    Not scored: ``No log`` values (``null``) and the names a run lists under ``not_printed``
    (recorded by the framework, not shown by the notebook's per-epoch output).

    ``convention``: the CSV's epochs counted from 0 (``zero``) or as the framework
    displays them (``displayed``: Keras ``Epoch 1/3`` is 1, Lightning ``Epoch 0:`` is 0).

    >>> oracle = {"runs": [{"framework": "keras", "key": "epoch", "rows": [
    ...     {"epoch": 0, "step": None, "values": {"loss": 0.5, "val_accuracy": 0.8, "learning_rate": 0.1}}]}]}
    >>> oracle_rows(oracle)[0].values
    {'loss': ('train_loss', 0.5), 'val_accuracy': ('accuracy', 0.8)}
    >>> oracle_rows(oracle)[0].epoch, oracle_rows(oracle, "displayed")[0].epoch
    (0, 1)
    >>> oracle["runs"][0]["not_printed"] = ["loss"]
    >>> oracle_rows(oracle)[0].values
    {'val_accuracy': ('accuracy', 0.8)}
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
    rows = []
    for number, run in enumerate(oracle.get("runs", []), start=1):
        base = run.get("epoch_display_base", DISPLAY_BASE.get(run["framework"], 0)) if convention == "displayed" else 0
        not_printed = set(run.get("not_printed", ()))
        for row in run["rows"]:
            values = {}
            for name, value in row["values"].items():
                column = expected_column(run["framework"], name)
                if column is not None and value is not None and name not in not_printed:
                    values[name] = (column, value)
            epoch = None if row.get("epoch") is None else row["epoch"] + base
            rows.append(OracleRow(number, run["framework"], epoch, row.get("step"), run.get("key", "epoch"), values))
    return rows


def display_rounding(framework: str) -> dict:
    """How a framework rounds what it displays (``value_matches`` options).

    >>> display_rounding("pytorch_lightning"), display_rounding("plain")
    ({'percent': False, 'significant': 3}, {'percent': True, 'significant': None})
    """
    return {"percent": framework == "plain", "significant": 3 if framework == "pytorch_lightning" else None}


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def row_match(oracle: OracleRow, row: dict[str, str]) -> tuple[bool, bool]:
    """``(found, strict)``: whether an extracted CSV row is this oracle row.

    Examples
    --------
    >>> o = OracleRow(1, "keras", 0, None, "epoch", {"loss": ("train_loss", 0.51234), "accuracy": ("train_accuracy", 0.75)})
    >>> row_match(o, {"epoch": "0", "train_loss": "0.5123", "train_accuracy": "0.7500"})
    (True, True)
    >>> row_match(o, {"epoch": "0", "train_loss": "0.5123", "acc": "0.7500"})
    (True, False)
    >>> row_match(o, {"epoch": "1", "train_loss": "0.5123", "train_accuracy": "0.7500"})
    (False, False)
    >>> row_match(o, {"epoch": "0", "valid_loss": "0.5123", "train_accuracy": "0.7500"})
    (False, False)
    """
    if oracle.key == "step" and _int(row.get("step")) is not None:
        if _int(row.get("step")) != oracle.step:
            return False, False
    elif oracle.epoch is not None and _int(row.get("epoch")) != oracle.epoch:
        return False, False
    display = display_rounding(oracle.framework)
    metric_texts = [text for column, text in row.items() if column not in TEXT_COLUMNS]
    strict = True
    for column, value in oracle.values.values():
        if column in LOSS_COLUMNS:
            if not value_matches(row.get(column), value, significant=display["significant"]):
                return False, False
            continue
        if not value_matches(row.get(column), value, **display):
            strict = False
            if not any(value_matches(text, value, **display) for text in metric_texts):
                return False, False
    return True, strict


@dataclass
class NotebookScore:
    """What the check found for one notebook."""

    notebook: str
    framework: str
    oracle_rows: int = 0
    extracted_rows: int = 0
    found: int = 0  # oracle rows found (recall numerator)
    found_strict: int = 0  # ... with every metric in its expected column
    matched_extracted: int = 0  # extracted rows that found an oracle row (precision numerator)
    diagnostics: list[str] = field(default_factory=list)
    failure: str | None = None  # a NotebookError, or the traceback's last line
    traceback: bool = False
    runs: int = 0
    model_agree: int = 0
    model_checked: int = 0
    calls_with_rows: int = 0  # oracle training calls that recorded rows
    calls_missed: int = 0  # ... of which no row was found
    found_other: int = 0  # oracle rows found with the other epoch convention (a hint, not a score)
    lr_agree: int = 0
    lr_checked: int = 0
    epochs_agree: int = 0
    epochs_checked: int = 0
    missing: list[str] = field(default_factory=list)  # oracle rows not found, described
    extra: list[str] = field(default_factory=list)  # extracted rows matching no oracle row
    disagree: list[str] = field(default_factory=list)  # secondary disagreements (model, rate, planned epochs)

    @property
    def silent(self) -> bool:
        """Training output but neither rows nor a warning (nor a reported failure)."""
        return self.oracle_rows > 0 and self.extracted_rows == 0 and not self.diagnostics and not self.failure

    @property
    def recall(self) -> float | None:
        return self.found / self.oracle_rows if self.oracle_rows else None

    @property
    def precision(self) -> float | None:
        return self.matched_extracted / self.extracted_rows if self.extracted_rows else None


def _describe(row: dict[str, str]) -> str:
    shown = {k: v for k, v in row.items() if k not in {"notebook", "cell", "call", "interrupted"} and v not in ("", None)}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _assign(expected: list[OracleRow], rows: list[dict[str, str]]) -> list[tuple[int | None, bool]]:
    """For each oracle row in order, the index of the extracted row it found (greedy, one each).

    A row of the same extracted run as the oracle run's previous match is preferred,
    so that two runs with equal values are not crossed.
    """
    used: set[int] = set()
    last_run: dict[int, str] = {}
    result: list[tuple[int | None, bool]] = []
    for item in expected:
        candidates = []
        for index, row in enumerate(rows):
            if index in used:
                continue
            found, strict = row_match(item, row)
            if found:
                candidates.append((row.get("run") != last_run.get(item.run), index, strict))
        if not candidates:
            result.append((None, False))
            continue
        _, index, strict = min(candidates)
        used.add(index)
        last_run[item.run] = rows[index].get("run", "")
        result.append((index, strict))
    return result


def _number(text: str | None) -> float | None:
    match = re.search(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", text or "")
    return float(match.group()) if match else None


_RATE_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.Pow: operator.pow}
_RATE_NOTE = re.compile(r"\s+\([A-Za-z][A-Za-z ]*\)\s*$")  # "1e-3 (default)", "1e-3 (learner)"


def _arithmetic(node: ast.AST) -> float | None:
    """A literal arithmetic expression's value (numbers, unary +/-, + - * / **), never evaluated as code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _arithmetic(node.operand)
        return None if value is None else (value if isinstance(node.op, ast.UAdd) else -value)
    if isinstance(node, ast.BinOp) and type(node.op) in _RATE_OPS:
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Pow) and abs(right) > 64):
            return None
        try:
            value = _RATE_OPS[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
        return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
    return None


def rate_value(text: str | None) -> float | None:
    """The learning rate a CSV ``learning_rate`` text stands for, compared with the oracle's rate.

    The whole text counts, as the loader's ``lr_max`` reads it: a number, a computed
    expression, a ``slice(...)`` or a list by its largest (upper) value; a trailing note
    such as ``(default)`` is dropped. Parsed with ``ast``, never evaluated; the scorer
    keeps its own reader rather than the package's, so that it measures it.

    >>> rate_value("1e-3"), rate_value("2e-3 (default)"), rate_value("1e-3 / 10")
    (0.001, 0.002, 0.0001)
    >>> rate_value("slice(1e-5, 1e-3)"), rate_value("slice(2e-3)"), rate_value("[1e-3, 1e-2]")
    (0.001, 0.002, 0.01)
    >>> rate_value(""), rate_value("lr"), rate_value(None), rate_value("1e-3 1e-2")
    (None, None, None, None)
    """
    text = _RATE_NOTE.sub("", (text or "").strip())
    if not text:
        return None
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice" and not node.keywords:
        parts = node.args
    elif isinstance(node, (ast.List, ast.Tuple)):
        parts = node.elts
    else:
        parts = [node]
    values = [_arithmetic(part) for part in parts]
    return max(values) if values and None not in values else None  # type: ignore[type-var]


def planned_for_call(run: dict) -> float | None:
    """The epochs an oracle training call was to run (compared with the CSV's ``planned_epochs``).

    The recorded ``epochs=`` / ``num_train_epochs`` / ``max_epochs``, except a Keras
    ``fit(initial_epoch=I, epochs=N)``, which runs N − I epochs (as the project README
    plans it): Keras's ``History.epoch`` starts at ``initial_epoch``, so the call's
    first recorded epoch is I. Lightning's ``max_epochs`` is a total in the same way: a
    ``fit`` on a Trainer already at epoch E (``trainer.fit_loop.max_epochs = 5`` after 3)
    runs ``max_epochs`` − E, and its first recorded epoch is E.

    >>> planned_for_call({"framework": "keras", "planned_epochs": 6, "rows": [{"epoch": 3}, {"epoch": 4}]})
    3.0
    >>> planned_for_call({"framework": "pytorch_lightning", "planned_epochs": 5, "rows": [{"epoch": 3}]})
    2.0
    >>> planned_for_call({"framework": "transformers", "planned_epochs": 4.0, "rows": [{"epoch": 2}]})
    4.0
    """
    planned = run.get("planned_epochs")
    if planned is None:
        return None
    totals = (*KERAS, "pytorch_lightning")
    start = run["rows"][0].get("epoch") if run.get("framework") in totals and run.get("rows") else None
    return float(planned) - (start or 0)


def _normal(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _secondary(score: NotebookScore, oracle: dict, expected: list[OracleRow], rows: list[dict[str, str]],
               assigned: list[tuple[int | None, bool]]) -> None:
    """Training calls missed entirely; model, learning-rate and planned-epochs agreement per call found.

    Each disagreement is described in ``score.disagree``; the rate is the whole text's
    (:func:`rate_value`), the planned epochs the call's own (:func:`planned_for_call`).
    """
    for number, run in enumerate(oracle.get("runs", []), start=1):
        matches = [rows[index] for item, (index, _) in zip(expected, assigned) if item.run == number and index is not None]
        if any(item.run == number for item in expected):
            score.calls_with_rows += 1
            score.calls_missed += not matches
        if not matches:
            continue
        row = matches[0]
        names = [_normal(name) for name in run.get("model", []) if _normal(name)]
        model = _normal(row.get("model"))
        score.model_checked += 1
        agree = bool(model) and any(model in name or name in model for name in names)
        score.model_agree += agree
        if not agree:
            recorded = " / ".join(str(name) for name in run.get("model", []) if name)
            score.disagree.append(f"run {number}: model {row.get('model') or '(empty)'} ≠ {recorded}")
        if run.get("learning_rate") is not None:
            shown = rate_value(row.get("learning_rate"))
            score.lr_checked += 1
            agree = shown is not None and math.isclose(shown, run["learning_rate"], rel_tol=1e-5)
            score.lr_agree += agree
            if not agree:
                score.disagree.append(f"run {number}: learning_rate {row.get('learning_rate') or '(empty)'} "
                                      f"≠ {run['learning_rate']:.6g}")
        planned = planned_for_call(run)
        if planned is not None:
            score.epochs_checked += 1
            agree = _number(row.get("planned_epochs")) == planned
            score.epochs_agree += agree
            if not agree:
                score.disagree.append(f"run {number}: planned_epochs {row.get('planned_epochs') or '(empty)'} "
                                      f"≠ {planned:g}")


def score_notebook(oracle: dict, rows: list[dict[str, str]], diagnostics: list[str] = (),
                   failure: str | None = None, traceback: bool = False, convention: str = "zero") -> NotebookScore:
    """Score one notebook's extraction against its oracle.

    Parameters
    ----------
    oracle : dict
        The notebook's oracle (``benchmarks/heldout/README.md``).
    rows : list of dict
        The extracted CSV rows (text values, source columns included).
    diagnostics : list of str
        The warnings the extraction gave.
    failure : str, optional
        The error reading the notebook, or the last line of a traceback.
    traceback : bool
        Whether the extraction died with a traceback.
    convention : {"zero", "displayed"}
        How the CSV counts epochs (see :func:`oracle_rows`); ``found_other`` is
        the number of rows found under the other convention.

    Returns
    -------
    NotebookScore

    Examples
    --------
    >>> oracle = {"notebook": "a.ipynb", "runs": [{"framework": "keras", "key": "epoch", "model": ["Sequential"],
    ...     "learning_rate": 0.001, "rows": [{"epoch": 0, "values": {"loss": 0.7}}, {"epoch": 1, "values": {"loss": 0.6}}]}]}
    >>> s = score_notebook(oracle, [{"epoch": "0", "train_loss": "0.7000", "run": "1"}])
    >>> s.recall, s.precision, s.silent
    (0.5, 1.0, False)
    >>> score_notebook(oracle, []).silent
    True
    """
    runs = oracle.get("runs", [])
    framework = runs[0]["framework"] if runs else "negative"
    score = NotebookScore(oracle.get("notebook", "?"), framework, diagnostics=list(diagnostics),
                          failure=failure, traceback=traceback, runs=len(runs))
    expected = oracle_rows(oracle, convention)
    other = oracle_rows(oracle, CONVENTIONS[1 - CONVENTIONS.index(convention)])
    score.found_other = sum(index is not None for index, _ in _assign(other, rows))
    score.oracle_rows, score.extracted_rows = len(expected), len(rows)
    assigned = _assign(expected, rows)
    for item, (index, strict) in zip(expected, assigned):
        if index is None:
            where = f"step {item.step}" if item.key == "step" else f"epoch {item.epoch}"
            values = ", ".join(f"{col}={val:.6g}" if isinstance(val, float) else f"{col}={val}"
                               for col, val in item.values.values())
            score.missing.append(f"run {item.run} {where}: {values}")
        else:
            score.found += 1
            score.found_strict += strict
    used = {index for index, _ in assigned if index is not None}
    score.matched_extracted = len(used)
    score.extra = [_describe(row) for index, row in enumerate(rows) if index not in used]
    _secondary(score, oracle, expected, rows, assigned)
    return score


def summarize(scores: list[NotebookScore]) -> dict:
    """Totals per framework and overall (recall, precision, silent notebooks, tracebacks, secondary figures).

    >>> a = NotebookScore("a", "keras", oracle_rows=4, extracted_rows=5, found=4, found_strict=3, matched_extracted=4)
    >>> summarize([a])["all"]["recall"], summarize([a])["all"]["precision"]
    (1.0, 0.8)
    """
    groups: dict[str, list[NotebookScore]] = {}
    for score in scores:
        groups.setdefault(score.framework, []).append(score)
    groups["all"] = list(scores)
    result = {}
    for name, members in groups.items():
        total = {key: sum(getattr(s, key) for s in members)
                 for key in ("oracle_rows", "extracted_rows", "found", "found_strict", "matched_extracted",
                             "model_agree", "model_checked", "lr_agree", "lr_checked", "runs",
                             "calls_with_rows", "calls_missed", "epochs_agree", "epochs_checked", "found_other")}
        total["notebooks"] = len(members)
        total["recall"] = total["found"] / total["oracle_rows"] if total["oracle_rows"] else None
        total["strict_recall"] = total["found_strict"] / total["oracle_rows"] if total["oracle_rows"] else None
        total["precision"] = (total["matched_extracted"] / total["extracted_rows"]) if total["extracted_rows"] else None
        total["silent"] = [s.notebook for s in members if s.silent]
        # Not silent by the letter, but is the warning about the training output? (--details shows it)
        total["warned_no_rows"] = [s.notebook for s in members
                                   if s.oracle_rows and not s.extracted_rows and s.diagnostics and not s.failure]
        total["tracebacks"] = [s.notebook for s in members if s.traceback]
        total["failed"] = [s.notebook for s in members if s.failure and not s.traceback]
        result[name] = total
    return result
