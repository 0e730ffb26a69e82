"""The epoch table's schema: its columns, its file name and how a learning rate is spelled in it.

Everything here is a constant or a pure function on text, imported by the
writer, the loader, the reports and the boundary checks alike.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CSV_NAME",
    "SCHEMA",
    "SOURCE_COLUMNS",
    "TYPED_SOURCE_COLUMNS",
    "NON_METRIC_COLUMNS",
    "ROW_COLUMNS",
    "DERIVED_COLUMNS",
    "REQUIRED_COLUMNS",
    "DEFAULT_LR_SUFFIX",
    "LEARNER_LR_SUFFIX",
    "learning_rate_text",
    "split_learning_rate",
]

#: The epoch CSV's file name in the output folder (``extract --out``).
DEFAULT_CSV_NAME = "training_metrics_extracted.csv"

#: The fixed columns of the CSV, in order. Other metric columns follow, sorted.
SCHEMA: tuple[str, ...] = (
    "accuracy_multi",
    "epoch",
    "learning_rate",
    "lwlrap",
    "model",
    "pretrained",
    "time",
    "train_loss",
    "training_phase",
    "valid_loss",
)

#: The columns ``--with-source`` adds after the metric columns, in order (see the README, "The CSV").
SOURCE_COLUMNS: tuple[str, ...] = ("notebook", "run", "cell", "call", "planned_epochs", "interrupted", "framework")

#: The source columns as the loader returns them: the CSV's ``run`` ordinal becomes ``run_ordinal``.
TYPED_SOURCE_COLUMNS: tuple[str, ...] = (
    "notebook", "run_ordinal", "cell", "call", "planned_epochs", "interrupted", "framework"
)

#: Columns some frameworks' rows carry that are not metric values: the ``step`` of a
#: HuggingFace step table, the fractional ``epoch_float`` of HF logs evaluated every N steps.
#: The loader types them (``step``: Int64, ``epoch_float``: float64) and keeps them after the schema's.
ROW_COLUMNS: tuple[str, ...] = ("epoch_float", "step")

#: Columns that are not metric values.
NON_METRIC_COLUMNS = frozenset(
    {"epoch", "learning_rate", "model", "pretrained", "time", "training_phase", *ROW_COLUMNS, *SOURCE_COLUMNS,
     *TYPED_SOURCE_COLUMNS}
)

#: Columns added by the loader.
DERIVED_COLUMNS: tuple[str, ...] = ("time_s", "global_epoch", "run", "lr_max")

#: Columns every epoch CSV has.
REQUIRED_COLUMNS: tuple[str, ...] = ("epoch", "training_phase")

#: Appended to a learning rate the source did not give, which is the library's default.
DEFAULT_LR_SUFFIX = " (default)"
#: Appended to a learning rate that is the learner's own (``Learner(..., lr=1e-2)``), not the call's.
LEARNER_LR_SUFFIX = " (learner)"


def learning_rate_text(learning_rate: str, is_default: bool, from_learner: bool = False) -> str:
    """The CSV's learning-rate text: ``"1e-3 (default)"``, ``"1e-2 (learner)"``, or the source text."""
    if not learning_rate:
        return learning_rate
    if is_default:
        return f"{learning_rate}{DEFAULT_LR_SUFFIX}"
    return f"{learning_rate}{LEARNER_LR_SUFFIX}" if from_learner else learning_rate


def split_learning_rate(text: str) -> tuple[str, bool, bool]:
    """Undo :func:`learning_rate_text`: ``(source text, is_default, from_learner)``."""
    if text.endswith(DEFAULT_LR_SUFFIX):
        return text[: -len(DEFAULT_LR_SUFFIX)], True, False
    if text.endswith(LEARNER_LR_SUFFIX):
        return text[: -len(LEARNER_LR_SUFFIX)], False, True
    return text, False, False
