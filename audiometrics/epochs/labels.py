"""Run labels: which epoch rows form a run, and the name each run goes by.

The loader labels the rows of a CSV (:func:`run_labels`); the phase frame labels
the runs themselves (:func:`label_runs`), with the same names, so that the two
frames join on ``run``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = ["run_starts", "label_runs", "run_labels"]


def run_starts(frame: pd.DataFrame) -> pd.Series:
    """Where a run starts: at a new (notebook, run ordinal) when the CSV has them, else at a guess.

    The guess (CSVs without source columns): notebook, model or pretrained
    changes, or the phase number goes down.
    """
    if "run_ordinal" in frame.columns:
        keys = frame[[c for c in ("notebook", "run_ordinal") if c in frame.columns]].astype("string").fillna("")
        return (keys != keys.shift()).any(axis=1)
    keys = [c for c in ("notebook", "model", "pretrained") if c in frame.columns]
    key_frame = frame[keys].astype("string").fillna("")
    changed = (key_frame != key_frame.shift()).any(axis=1)
    phase = frame["training_phase"]
    return changed | (phase < phase.shift()).fillna(False).astype(bool)


def label_runs(firsts: Iterable[tuple[Any, Any, Any]]) -> list[str]:
    """One label per run from its (notebook, model, pretrained): ``nb: model (pretrained)``, repeats ``#2``, …"""
    labels: list[str] = []
    seen: dict[str, int] = {}
    for notebook, model, pretrained in firsts:
        base = str(model) if isinstance(model, str) and model else "unknown model"
        if pretrained is True:
            base += " (pretrained)"
        if isinstance(notebook, str) and notebook:
            base = f"{notebook}: {base}"
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base} #{seen[base]}")
    return labels


def run_labels(frame: pd.DataFrame) -> pd.Series:
    """One label per run (see :func:`run_starts` for what a run is, :func:`label_runs` for the label)."""
    if frame.empty:
        return pd.Series([], dtype="string", index=frame.index)
    starts = run_starts(frame)
    starts.iloc[0] = True
    number = starts.cumsum()
    heads = frame[starts]
    notebooks = heads["notebook"] if "notebook" in heads.columns else [None] * len(heads)
    labels = label_runs(zip(notebooks, heads["model"], heads["pretrained"].astype(object)))
    return number.map(dict(zip(number[starts], labels))).astype("string")

