"""Score a Kaggle-format submission against ground truth with LWLRAP.

A *submission* is a CSV with an ``fname`` column and one score column per class
(the Freesound Audio Tagging 2019 format).  *Ground truth* comes in either of
two formats, detected from its columns:

``labels``
    Exactly two columns, ``fname`` and ``labels``, the labels being
    comma-separated class names (the competition's ``train_curated.csv``, e.g.
    ``"Bark,Walk_and_footsteps"``).  Every label must be one of the
    submission's class columns; a submission class that never occurs simply
    has no positives.
``onehot``
    ``fname`` plus one 0/1 column per class; the class columns must be exactly
    the submission's (in any order).

Rows are matched by ``fname`` (in any order); both files must list the same
file names, each once.  Any mismatch raises a ``ValueError`` naming what is
missing (long lists are cut, with a count of the rest).

:func:`score_frames` is the pure core (DataFrames in, :class:`ScoreResult`
out); :func:`score_files` reads the CSVs first. The command
``audiometrics score SUBMISSION.csv TRUTH.csv [--json]`` is
:mod:`audiometrics.cli.score`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from audiometrics.metrics.lwlrap import per_class_lwlrap

__all__ = [
    "ScoreResult",
    "score_frames",
    "score_files",
    "read_submission",
    "read_truth",
    "truth_format",
]

FNAME = "fname"
LABELS = "labels"
#: How many names an error message lists before saying "... and N more".
MAX_LISTED = 10


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one submission.

    Attributes
    ----------
    score : float
        Overall LWLRAP.
    per_class : pandas.DataFrame
        Columns ``class``, ``lwlrap``, ``weight``, ``positives``; worst class
        first (lowest ``lwlrap``; ties: more positives first, then by name).
        Classes without any positive in the truth have ``lwlrap`` NaN (the
        metric is undefined for them; they weigh nothing) and come last.
    n_samples, n_classes, n_positives : int
        Sizes of the scored problem.
    truth_format : str
        ``"labels"`` or ``"onehot"``.
    """

    score: float
    per_class: pd.DataFrame
    n_samples: int
    n_classes: int
    n_positives: int
    truth_format: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes ``None``)."""

        def clean(v: float) -> float | None:
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

        return {
            "lwlrap": clean(self.score),
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            "n_positives": self.n_positives,
            "truth_format": self.truth_format,
            "per_class": [
                {
                    "class": str(row["class"]),
                    "lwlrap": clean(float(row["lwlrap"])),
                    "weight": float(row["weight"]),
                    "positives": int(row["positives"]),
                }
                for _, row in self.per_class.iterrows()
            ],
        }


# --------------------------------------------------------------------------- helpers


def _listing(names: Iterable[Any], limit: int = MAX_LISTED) -> str:
    """``"a, b, c"`` or ``"a, b, ... and 7 more"``."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... and {len(names) - limit} more"
    return shown


def _require_same(truth_items: list[str], sub_items: list[str], headline: str, noun: str) -> None:
    """Raise a ValueError listing what each side lacks, unless both hold the same items."""
    missing_in_sub = _ordered_difference(truth_items, sub_items)
    missing_in_truth = _ordered_difference(sub_items, truth_items)
    if not (missing_in_sub or missing_in_truth):
        return
    parts = []
    if missing_in_sub:
        parts.append(f"{len(missing_in_sub)} truth {noun} missing from the submission: {_listing(missing_in_sub)}")
    if missing_in_truth:
        parts.append(f"{len(missing_in_truth)} submission {noun} missing from the truth: {_listing(missing_in_truth)}")
    raise ValueError(f"{headline}; " + "; ".join(parts))


def _ordered_difference(items: Iterable[Any], other: Iterable[Any]) -> list[Any]:
    other = set(other)
    return [x for x in items if x not in other]


def _check_fname(df: pd.DataFrame, what: str) -> None:
    if FNAME not in df.columns:
        raise ValueError(
            f"{what} has no {FNAME!r} column (columns: {_listing(df.columns)})"
        )
    dup = df[FNAME][df[FNAME].duplicated()].unique().tolist()
    if dup:
        raise ValueError(f"{what} lists {len(dup)} file name(s) more than once: {_listing(dup)}")
    missing = int(df[FNAME].isna().sum())
    if missing:
        raise ValueError(f"{what} has {missing} row(s) with an empty {FNAME!r}")
    dup_cols = df.columns[df.columns.duplicated()].unique().tolist()
    if dup_cols:
        raise ValueError(f"{what} has duplicated column(s): {_listing(dup_cols)}")


def _numeric_block(df: pd.DataFrame, columns: list[str], what: str) -> np.ndarray:
    block = df[columns]
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(block[c])]
    if bad:
        raise ValueError(f"{what} has non-numeric values in column(s): {_listing(bad)}")
    values = block.to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        cols = [c for c, ok in zip(columns, finite.all(axis=0)) if not ok]
        raise ValueError(
            f"{what} has {int((~finite).sum())} missing or non-finite value(s) "
            f"in column(s): {_listing(cols)}"
        )
    return values


def truth_format(truth: pd.DataFrame) -> str:
    """``"labels"`` for ``fname,labels`` truth, else ``"onehot"``."""
    cols = [str(c) for c in truth.columns]
    return "labels" if sorted(cols) == sorted([FNAME, LABELS]) else "onehot"


def _split_labels(cell: Any) -> list[str]:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    return [part.strip() for part in str(cell).split(",") if part.strip()]


def _truth_matrix(truth: pd.DataFrame, classes: list[str]) -> tuple[np.ndarray, str]:
    """0/1 matrix aligned with ``classes`` (rows in ``truth`` order), and the format."""
    fmt = truth_format(truth)
    if fmt == "labels":
        index = {c: j for j, c in enumerate(classes)}
        matrix = np.zeros((len(truth), len(classes)), dtype=bool)
        unknown: dict[str, int] = {}
        for i, cell in enumerate(truth[LABELS].tolist()):
            for label in _split_labels(cell):
                j = index.get(label)
                if j is None:
                    unknown[label] = unknown.get(label, 0) + 1
                else:
                    matrix[i, j] = True
        if unknown:
            listed = [f"{name} ({n}x)" for name, n in sorted(unknown.items())]
            raise ValueError(
                f"truth uses {len(unknown)} label(s) that are not submission columns: "
                f"{_listing(listed)}"
            )
        return matrix, fmt

    truth_classes = [str(c) for c in truth.columns if c != FNAME]
    _require_same(truth_classes, classes, "class columns differ", "class(es)")
    values = _numeric_block(truth.rename(columns=str), classes, "truth")
    if not np.isin(values, (0.0, 1.0)).all():
        bad = [c for c, ok in zip(classes, np.isin(values, (0.0, 1.0)).all(axis=0)) if not ok]
        raise ValueError(f"one-hot truth must hold only 0/1; other values in column(s): {_listing(bad)}")
    return values == 1.0, fmt


# --------------------------------------------------------------------------- core


def score_frames(submission: pd.DataFrame, truth: pd.DataFrame) -> ScoreResult:
    """Score a submission DataFrame against a truth DataFrame.

    Parameters
    ----------
    submission : pandas.DataFrame
        ``fname`` plus one numeric column per class (scores, any scale).
    truth : pandas.DataFrame
        Either ``fname,labels`` (comma-separated class names) or ``fname`` plus
        one 0/1 column per class.

    Returns
    -------
    result : ScoreResult
        Overall LWLRAP and the per-class table, worst class first.

    Raises
    ------
    ValueError
        On missing ``fname`` column, duplicated or mismatched file names,
        mismatched class columns, unknown labels, or non-numeric / non-finite
        scores; the message lists what is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> sub = pd.DataFrame({"fname": ["a.wav", "b.wav"], "Bark": [0.9, 0.2], "Walk": [0.1, 0.8]})
    >>> truth = pd.DataFrame({"fname": ["b.wav", "a.wav"], "labels": ["Walk", "Bark,Walk"]})
    >>> result = score_frames(sub, truth)
    >>> round(result.score, 4)
    1.0
    >>> result.per_class["class"].tolist()
    ['Walk', 'Bark']
    """
    _check_fname(submission, "submission")
    _check_fname(truth, "truth")
    submission = submission.rename(columns=str)
    classes = [c for c in submission.columns if c != FNAME]
    if not classes:
        raise ValueError("submission has no class columns besides 'fname'")

    sub_names = submission[FNAME].astype(str).tolist()
    truth_names = truth[FNAME].astype(str).tolist()
    _require_same(truth_names, sub_names, "file names differ", "file name(s)")

    matrix, fmt = _truth_matrix(truth, classes)
    scores = _numeric_block(submission, classes, "submission")
    row_of = {name: i for i, name in enumerate(sub_names)}
    scores = scores[[row_of[name] for name in truth_names]]

    per_class, weights = per_class_lwlrap(matrix, scores)
    positives = matrix.sum(axis=0)
    overall = float(np.sum(per_class * weights))
    table = pd.DataFrame(
        {
            "class": classes,
            "lwlrap": np.where(positives > 0, per_class, np.nan),
            "weight": weights,
            "positives": positives.astype(np.int64),
        }
    )
    table["_neg_pos"] = -table["positives"]
    table = (
        table.sort_values(["lwlrap", "_neg_pos", "class"], na_position="last", kind="mergesort")
        .drop(columns="_neg_pos")
        .reset_index(drop=True)
    )
    return ScoreResult(
        score=overall,
        per_class=table,
        n_samples=len(truth_names),
        n_classes=len(classes),
        n_positives=int(positives.sum()),
        truth_format=fmt,
    )


def _read_csv(path: str, what: str, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8-sig", dtype={FNAME: str}, **kwargs)
    except FileNotFoundError:
        raise ValueError(f"{what} file not found: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} file {path} cannot be read as CSV: {exc}") from exc


def read_submission(path: str) -> pd.DataFrame:
    """Read a submission CSV (``fname`` read as text)."""
    return _read_csv(path, "submission")


def read_truth(path: str) -> pd.DataFrame:
    """Read a truth CSV in either format (label text is kept verbatim, no NA parsing)."""
    header = _read_csv(path, "truth", nrows=0)
    if truth_format(header) == "labels":
        return _read_csv(path, "truth", keep_default_na=False)
    return _read_csv(path, "truth")


def score_files(submission_path: str, truth_path: str) -> ScoreResult:
    """Read both CSVs and :func:`score_frames` them."""
    return score_frames(read_submission(submission_path), read_truth(truth_path))
