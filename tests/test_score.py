"""Tests of audiometrics.metrics.score (submission scoring) and audiometrics.cli.score (the `score` command)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from audiometrics.metrics.lwlrap import lwlrap, per_class_lwlrap
from audiometrics.cli.score import score_command
from audiometrics.metrics.score import (
    ScoreResult,
    score_files,
    score_frames,
    truth_format,
)

TOL = 1e-12
CLASSES = ["Accelerating_and_revving_and_vroom", "Bark", "Walk_and_footsteps", "Zipper_(clothing)"]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 40
    fnames = [f"{i:08x}.wav" for i in range(n)]
    truth = np.zeros((n, len(CLASSES)), dtype=int)
    for i in range(n):
        truth[i, rng.choice(len(CLASSES), size=rng.integers(1, 3), replace=False)] = 1
    truth[:, 3] = 0  # a class that never occurs
    scores = np.round(rng.random((n, len(CLASSES))), 2)
    return fnames, truth, scores


def labels_frame(fnames, truth):
    labels = [",".join(c for c, on in zip(CLASSES, row) if on) for row in truth]
    return pd.DataFrame({"fname": fnames, "labels": labels})


def onehot_frame(fnames, truth, order=None):
    df = pd.DataFrame(truth, columns=CLASSES)
    df.insert(0, "fname", fnames)
    return df[["fname"] + (order or CLASSES)]


def submission_frame(fnames, scores):
    df = pd.DataFrame(scores, columns=CLASSES)
    df.insert(0, "fname", fnames)
    return df


# --------------------------------------------------------------------------- core


def test_labels_and_onehot_give_the_same_score(data):
    fnames, truth, scores = data
    sub = submission_frame(fnames, scores)
    expected = lwlrap(truth, scores)
    a = score_frames(sub, labels_frame(fnames, truth))
    b = score_frames(sub, onehot_frame(fnames, truth, order=CLASSES[::-1]))
    assert a.truth_format == "labels" and b.truth_format == "onehot"
    assert abs(a.score - expected) < TOL and abs(b.score - expected) < TOL
    pd.testing.assert_frame_equal(a.per_class, b.per_class)
    assert a.n_samples == 40 and a.n_classes == 4 and a.n_positives == int(truth.sum())


def test_rows_and_columns_are_aligned_by_name(data):
    fnames, truth, scores = data
    sub = submission_frame(fnames, scores)
    shuffled = sub.sample(frac=1.0, random_state=1)[["fname"] + CLASSES[::-1]]
    truth_df = labels_frame(fnames, truth).iloc[::-1]
    assert abs(score_frames(shuffled, truth_df).score - lwlrap(truth, scores)) < TOL


def test_per_class_table_worst_first(data):
    fnames, truth, scores = data
    result = score_frames(submission_frame(fnames, scores), labels_frame(fnames, truth))
    table = result.per_class
    assert list(table.columns) == ["class", "lwlrap", "weight", "positives"]
    ref_pc, ref_w = per_class_lwlrap(truth, scores)
    by_class = table.set_index("class")
    for j, c in enumerate(CLASSES[:3]):
        assert abs(by_class.loc[c, "lwlrap"] - ref_pc[j]) < TOL
        assert abs(by_class.loc[c, "weight"] - ref_w[j]) < TOL
        assert by_class.loc[c, "positives"] == truth[:, j].sum()
    # the class without positives: NaN, weight 0, last
    assert table.iloc[-1]["class"] == "Zipper_(clothing)"
    assert math.isnan(table.iloc[-1]["lwlrap"]) and table.iloc[-1]["weight"] == 0
    scored = table["lwlrap"].dropna().to_numpy()
    assert (np.diff(scored) >= 0).all()
    assert abs(table["weight"].sum() - 1) < TOL
    assert abs(np.nansum(table["lwlrap"] * table["weight"]) - result.score) < TOL


def test_ties_in_per_class_order_more_positives_first():
    sub = pd.DataFrame({"fname": ["a", "b", "c"], "X": [1, 1, 1], "Y": [0, 0, 0], "Z": [0, 0, 0]})
    truth = pd.DataFrame({"fname": ["a", "b", "c"], "labels": ["X", "X,Z", "Y"]})
    table = score_frames(sub, truth).per_class
    # Y: rank 3 (scores 1, 0, 0 are all >= 0), 1 hit -> 1/3; Z: rank 3, 2 hits -> 2/3; X: 1
    assert table["class"].tolist() == ["Y", "Z", "X"]
    np.testing.assert_allclose(table["lwlrap"], [1 / 3, 2 / 3, 1.0], rtol=0, atol=TOL)
    tied = score_frames(
        pd.DataFrame({"fname": ["a", "b"], "X": [1, 1], "Y": [1, 1]}),
        pd.DataFrame({"fname": ["a", "b"], "labels": ["X", "X,Y"]}),
    ).per_class
    assert tied["class"].tolist() == ["X", "Y"]  # both 1.0: X has more positives


def test_labels_with_spaces_and_empty_rows():
    sub = pd.DataFrame({"fname": ["a", "b", "c"], "Bark": [0.9, 0.1, 0.5], "Walk": [0.2, 0.8, 0.5]})
    truth = pd.DataFrame({"fname": ["a", "b", "c"], "labels": ["Bark , Walk", "Walk", ""]})
    result = score_frames(sub, truth)
    expected = lwlrap([[1, 1], [0, 1], [0, 0]], sub[["Bark", "Walk"]].to_numpy())
    assert abs(result.score - expected) < TOL
    assert result.n_positives == 3


def test_truth_format_detection():
    assert truth_format(pd.DataFrame(columns=["fname", "labels"])) == "labels"
    assert truth_format(pd.DataFrame(columns=["labels", "fname"])) == "labels"
    assert truth_format(pd.DataFrame(columns=["fname", "Bark"])) == "onehot"
    assert truth_format(pd.DataFrame(columns=["fname", "labels", "Bark"])) == "onehot"


# --------------------------------------------------------------------------- errors


def test_missing_fnames_are_listed(data):
    fnames, truth, scores = data
    sub = submission_frame(fnames[:-2], scores[:-2])
    with pytest.raises(ValueError) as err:
        score_frames(sub, labels_frame(fnames, truth))
    msg = str(err.value)
    assert "2 truth file name(s) missing from the submission" in msg
    assert fnames[-1] in msg and fnames[-2] in msg

    extra = submission_frame(fnames + ["zzz.wav"], np.vstack([scores, scores[:1]]))
    with pytest.raises(ValueError, match=r"1 submission file name\(s\) missing from the truth: zzz.wav"):
        score_frames(extra, labels_frame(fnames, truth))


def test_long_missing_lists_are_capped(data):
    fnames, truth, scores = data
    sub = submission_frame(fnames[:5], scores[:5])
    with pytest.raises(ValueError) as err:
        score_frames(sub, labels_frame(fnames, truth))
    msg = str(err.value)
    assert "35 truth file name(s) missing" in msg
    assert "... and 25 more" in msg
    assert fnames[-1] not in msg


def test_class_mismatch_onehot(data):
    fnames, truth, scores = data
    sub = submission_frame(fnames, scores).drop(columns=["Bark"]).assign(Cat=0.5)
    with pytest.raises(ValueError) as err:
        score_frames(sub, onehot_frame(fnames, truth))
    msg = str(err.value)
    assert "1 truth class(es) missing from the submission: Bark" in msg
    assert "1 submission class(es) missing from the truth: Cat" in msg


def test_unknown_labels(data):
    fnames, truth, scores = data
    truth_df = labels_frame(fnames, truth)
    truth_df.loc[0, "labels"] = "Bark,Meow"
    truth_df.loc[1, "labels"] = "Meow"
    with pytest.raises(ValueError, match=r"1 label\(s\) that are not submission columns: Meow \(2x\)"):
        score_frames(submission_frame(fnames, scores), truth_df)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda s, t: (s.drop(columns="fname"), t), "submission has no 'fname' column"),
        (lambda s, t: (s, t.rename(columns={"fname": "file"})), "truth has no 'fname' column"),
        (lambda s, t: (pd.concat([s, s.iloc[:1]]), t), "submission lists 1 file name"),
        (lambda s, t: (s, pd.concat([t, t.iloc[:2]])), "truth lists 2 file name"),
        (lambda s, t: (s.assign(Bark="high"), t), "non-numeric values in column\\(s\\): Bark"),
        (lambda s, t: (s.assign(Bark=np.nan), t), "40 missing or non-finite value\\(s\\) in column\\(s\\): Bark"),
        (lambda s, t: (s[["fname"]], t), "no class columns"),
    ],
)
def test_other_errors(data, mutate, match):
    fnames, truth, scores = data
    sub, truth_df = mutate(submission_frame(fnames, scores), labels_frame(fnames, truth))
    with pytest.raises(ValueError, match=match):
        score_frames(sub, truth_df)


def test_onehot_must_be_binary(data):
    fnames, truth, scores = data
    truth_df = onehot_frame(fnames, truth).astype({"Bark": float})
    truth_df.loc[3, "Bark"] = 0.5
    with pytest.raises(ValueError, match="only 0/1.*Bark"):
        score_frames(submission_frame(fnames, scores), truth_df)


# --------------------------------------------------------------------------- files and CLI


@pytest.fixture
def files(tmp_path, data):
    fnames, truth, scores = data
    sub = tmp_path / "submission.csv"
    submission_frame(fnames, scores).to_csv(sub, index=False)
    labels = tmp_path / "train_curated.csv"
    labels_frame(fnames, truth).to_csv(labels, index=False)
    onehot = tmp_path / "truth_onehot.csv"
    onehot_frame(fnames, truth).to_csv(onehot, index=False)
    return sub, labels, onehot


def test_csv_labels_are_quoted_like_kaggle(files):
    _, labels, _ = files
    text = labels.read_text()
    assert '"' in text  # multi-label rows are quoted, e.g. "Bark,Walk_and_footsteps"


@pytest.mark.parametrize("which", [1, 2])
def test_score_files(files, data, which):
    fnames, truth, scores = data
    result = score_files(str(files[0]), str(files[which]))
    assert isinstance(result, ScoreResult)
    assert abs(result.score - lwlrap(truth, scores)) < TOL


def test_label_named_like_na_is_not_lost(tmp_path):
    (tmp_path / "s.csv").write_text("fname,NA,None\na.wav,0.9,0.1\nb.wav,0.2,0.7\n")
    (tmp_path / "t.csv").write_text('fname,labels\na.wav,NA\nb.wav,"None,NA"\n')
    result = score_files(str(tmp_path / "s.csv"), str(tmp_path / "t.csv"))
    assert result.n_positives == 3
    assert abs(result.score - lwlrap([[1, 0], [1, 1]], [[0.9, 0.1], [0.2, 0.7]])) < TOL


def test_cli_text(files, data):
    fnames, truth, scores = data
    out = CliRunner().invoke(score_command, [str(files[0]), str(files[1])])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith(f"lwlrap: {lwlrap(truth, scores):.6f}")
    assert "40 samples" in lines[0] and "4 classes" in lines[0]
    header = lines[2].split()
    assert header == ["class", "lwlrap", "weight", "positives"]
    body = [line.split() for line in lines[3:]]
    assert [row[0] for row in body][-1] == "Zipper_(clothing)"
    assert body[-1][1] == "-"
    values = [float(row[1]) for row in body[:-1]]
    assert values == sorted(values)


def test_cli_json(files, data):
    fnames, truth, scores = data
    out = CliRunner().invoke(score_command, [str(files[0]), str(files[2]), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert abs(payload["lwlrap"] - lwlrap(truth, scores)) < TOL
    assert payload["truth_format"] == "onehot"
    assert payload["n_samples"] == 40 and payload["n_classes"] == 4
    rows = payload["per_class"]
    assert [r["class"] for r in rows][-1] == "Zipper_(clothing)"
    assert rows[-1]["lwlrap"] is None and rows[-1]["weight"] == 0.0 and rows[-1]["positives"] == 0
    assert set(rows[0]) == {"class", "lwlrap", "weight", "positives"}
    lw = [r["lwlrap"] for r in rows[:-1]]
    assert lw == sorted(lw)


def test_cli_error_is_clean(tmp_path, files, data):
    fnames, truth, scores = data
    bad = tmp_path / "bad.csv"
    submission_frame(fnames[:-1], scores[:-1]).to_csv(bad, index=False)
    out = CliRunner().invoke(score_command, [str(bad), str(files[1])])
    assert out.exit_code == 1
    assert "Error: file names differ" in out.output
    assert fnames[-1] in out.output
    assert "Traceback" not in out.output


def test_cli_missing_file(tmp_path, files):
    out = CliRunner().invoke(score_command, [str(tmp_path / "nope.csv"), str(files[1])])
    assert out.exit_code == 2
    assert "does not exist" in out.output


def test_cli_empty_file(tmp_path, files):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = CliRunner().invoke(score_command, [str(empty), str(files[1])])
    assert out.exit_code == 1
    assert "cannot be read as CSV" in out.output
