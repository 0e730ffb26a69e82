"""Check the output of ``audiometrics train ARCH... --smoke --out OUT`` (used by .ci/train-smoke).

Usage: python tests/train_check.py OUT ARCH...

For every ARCH: OUT/notebooks/<ARCH>.ipynb exists, ran to the end, and its
extraction gives one run of that model, not pretrained, with the six phases of
the study's schedule (learning-rate texts as written, one planned and one
recorded epoch each, an ``lwlrap`` value in [0, 1]); the CSV in OUT holds the
same rows.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

LEARNING_RATES = ["1e-1", "1e-2", "3e-3", "1e-3", "slice(1e-3, 3e-3)", "slice(1e-4, 1e-3)"]


def check(out: Path, archs: list[str]) -> None:
    from audiometrics.pipeline import DEFAULT_CSV_NAME, extract_notebook
    from audiometrics.train import output_name

    for arch in archs:
        path = out / "notebooks" / output_name(arch)
        assert path.is_file(), f"{path} missing"
        result = extract_notebook(path)
        assert not result.diagnostics, f"{path}: {[str(d) for d in result.diagnostics]}"
        assert len(result.runs) == 1, f"{path}: {len(result.runs)} runs"
        run = result.runs[0]
        assert run.model == arch, f"{path}: model {run.model!r}"
        assert run.pretrained is False, f"{path}: pretrained {run.pretrained!r}"
        lrs = [p.learning_rate for p in run.phases]
        assert lrs == LEARNING_RATES, f"{path}: learning rates {lrs}"
        for phase in run.phases:
            where = f"{path}: phase {phase.number}"
            assert phase.method == "fit_one_cycle", where
            assert phase.planned_epochs == 1 and phase.recorded_epochs == 1, f"{where}: {phase.planned_epochs} planned, {phase.recorded_epochs} recorded"
            assert not phase.incomplete, where
            for column in ("train_loss", "valid_loss", "accuracy_multi", "lwlrap", "time"):
                assert column in phase.columns, f"{where}: no {column} column in {phase.columns}"
            value = float(phase.rows[0][phase.columns.index("lwlrap")])
            assert math.isfinite(value) and 0.0 <= value <= 1.0, f"{where}: lwlrap {value}"
        print(f"{path.name}: {arch}, {len(run.phases)} phases, final lwlrap {value:.3f}")

    with open(out / DEFAULT_CSV_NAME, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for arch in archs:
        mine = [r for r in rows if r["model"] == arch]
        assert len(mine) == len(LEARNING_RATES), f"CSV: {len(mine)} rows for {arch}"
        assert [r["learning_rate"] for r in mine] == LEARNING_RATES, f"CSV learning rates for {arch}"
        assert [r["training_phase"] for r in mine] == [str(i) for i in range(1, 7)], f"CSV phases for {arch}"
        assert {r["pretrained"] for r in mine} == {"No"}, f"CSV pretrained for {arch}"
    print(f"{DEFAULT_CSV_NAME}: {len(rows)} rows")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    check(Path(sys.argv[1]), sys.argv[2:])
