#!/usr/bin/env bash
# One-shot GPU verification of audiometrics' torch LWLRAP and its fastai metric.
#
# Meant for a lent GPU machine (Python 3.12, torch with CUDA, no network): the wheels in
# .whl/ (fastai 2.8.12 and what it and nbformat need beyond that machine's image) are
# installed into $GPU_CHECK_SITE, then
#   1. the torch-metric and LWLRAP tests run (the cuda parameters must run, not skip),
#   2. benchmarks/lwlrap_bench.py runs (CPU rows plus the cuda row),
#   3. lwlrap_torch is timed on a large problem on the GPU, against numpy.
# Everything is also written to $OUT/gpu_check.log, and pytest's JUnit XML to $OUT/junit.xml.
# Exit status: non-zero when the install, a test, the CUDA checks or the benchmark failed
# (a failed step does not stop the later ones, except a failed install).
#
#   bash benchmarks/gpu_check.sh          # from the repository root (or anywhere)
#
# The wheel set used on 2026-11-26 (an H200 machine whose Python 3.12 had torch 2.11, timm, pandas,
# numpy, jinja2, matplotlib, click and scikit-learn, and no network): fastai 2.8.12,
# fastcore 2.2.41, fastprogress 1.0.5 (1.1 would pull fasthtml and a web stack), fastdownload 0.0.8,
# fasttransform 0.0.5, plum-dispatch 2.9.0, beartype 0.23.1, nbformat 5.11.1, fastjsonschema 2.22.3,
# jsonschema 4.26.0, jsonschema-specifications 2025.9.1, referencing 0.37.0, rpds-py 2026.9.1,
# jupyter_core 5.9.1, traitlets 5.16.1, platformdirs 4.14.8, beautifulsoup4 4.15.0, soupsieve 4.1.3
# (pip download --no-deps --only-binary=:all: --python-version 3.12 ... -d .whl NAME==VERSION).
# Without a .whl/ folder the packages already installed are used.
#
# Knobs (environment): OUT (default /tmp/gpu_check_out), GPU_CHECK_SITE (default /tmp/site),
# GPU_CHECK_WHEELS (default .whl), GPU_CHECK_SIZES (bench sizes, default "5000 50000"),
# GPU_CHECK_BIG_N (rows of the large timing, default 1000000), GPU_CHECK_REQUIRE_CUDA
# (default 1 where nvidia-smi exists: then no CUDA, or a skipped cuda test, is a failure).
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 2

OUT=${OUT:-/tmp/gpu_check_out}
SITE=${GPU_CHECK_SITE:-/tmp/site}
WHEELS=${GPU_CHECK_WHEELS:-.whl}
SIZES=${GPU_CHECK_SIZES:-5000 50000}
BIG_N=${GPU_CHECK_BIG_N:-1000000}
if [ -z "${GPU_CHECK_REQUIRE_CUDA:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1; then GPU_CHECK_REQUIRE_CUDA=1; else GPU_CHECK_REQUIRE_CUDA=0; fi
fi
export GPU_CHECK_REQUIRE_CUDA BIG_N OUT
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"

stamp() { echo; echo "== $(date +%T) $*"; }

{
  status=0
  t0=$SECONDS

  if [ -d "$WHEELS" ]; then
    stamp "install wheels from $WHEELS into $SITE"
    ls "$WHEELS"/*.whl || exit 3
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$SITE" "$WHEELS"/*.whl || exit 3
    export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  else
    stamp "no $WHEELS folder: using the packages installed here"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  fi

  stamp "machine"
  if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L; else echo "no nvidia-smi"; fi
  python3 - <<'EOF' || status=1
import os, platform, sys
import numpy, torch
import fastai, fastcore, fastprogress
print(f"python {platform.python_version()} at {sys.executable}")
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), numpy {numpy.__version__}")
print(f"fastai {fastai.__version__} from {os.path.dirname(fastai.__file__)}, "
      f"fastcore {fastcore.__version__}, fastprogress {fastprogress.__version__}")
ok = torch.cuda.is_available()
print("cuda available:", ok, "|", torch.cuda.get_device_name(0) if ok else "-")
if os.environ["GPU_CHECK_REQUIRE_CUDA"] == "1" and not ok:
    sys.exit("FAIL: nvidia-smi is there but torch sees no CUDA device")
EOF

  stamp "pytest tests/test_torch_metrics.py tests/test_lwlrap.py"
  timeout 180 python3 -m pytest -q -p no:cacheprovider -rs --durations=5 --junitxml="$OUT/junit.xml" \
    tests/test_torch_metrics.py tests/test_lwlrap.py
  rc=$?
  echo "pytest exit status: $rc"
  [ "$rc" -eq 0 ] || status=1
  python3 - <<'EOF' || status=1
import os, sys, xml.etree.ElementTree as ET
path = os.path.join(os.environ["OUT"], "junit.xml")
cases = ET.parse(path).getroot().iter("testcase")
def state(c):
    for tag in ("failure", "error", "skipped"):
        if c.find(tag) is not None:
            return tag
    return "passed"
counts, fastai = {}, {}
for c in cases:
    name = c.get("name", "")
    if name.startswith("test_fastai_learner_records_exact_lwlrap"):
        fastai[name] = state(c)
    if "cuda" in name:
        counts[state(c)] = counts.get(state(c), 0) + 1
print("cuda-parametrized tests:", counts or "none collected")
print("fastai Learner + LWLRAP test:", fastai or "not collected")
bad = []
if fastai.get("test_fastai_learner_records_exact_lwlrap[cpu]") != "passed":
    bad.append("the fastai Learner test did not pass on cpu (is fastai importable?)")
if os.environ["GPU_CHECK_REQUIRE_CUDA"] == "1":
    if not counts or set(counts) != {"passed"}:
        bad.append("every cuda test must run and pass on this machine")
    if fastai.get("test_fastai_learner_records_exact_lwlrap[cuda]") != "passed":
        bad.append("the fastai Learner test did not pass on cuda")
if bad:
    sys.exit("FAIL: " + "; ".join(bad))
EOF

  stamp "benchmarks/lwlrap_bench.py --sizes $SIZES"
  # shellcheck disable=SC2086  # word splitting of SIZES is intended
  timeout 150 python3 benchmarks/lwlrap_bench.py --sizes $SIZES || { echo "bench failed"; status=1; }

  stamp "lwlrap_torch on a large problem ($BIG_N x 80)"
  timeout 90 python3 - <<'EOF' || { echo "large timing failed"; status=1; }
import os, statistics, time
import numpy as np, torch
from audiometrics.metrics.lwlrap import lwlrap
from audiometrics.metrics.lwlrap_torch import lwlrap_torch
dev = "cuda" if torch.cuda.is_available() else "cpu"
n, c = int(os.environ["BIG_N"]), 80
rng = np.random.default_rng(1)
scores = rng.standard_normal((n, c), dtype=np.float32)
truth = rng.random((n, c)) < 2 / c
s, t = torch.from_numpy(scores).to(dev), torch.from_numpy(truth).to(dev)
sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
value = lwlrap_torch(t, s).item()  # warm-up
if dev == "cuda":
    torch.cuda.reset_peak_memory_stats()
times = []
for _ in range(7):
    sync(); t1 = time.perf_counter(); lwlrap_torch(t, s); sync()
    times.append(time.perf_counter() - t1)
peak = torch.cuda.max_memory_allocated() - s.nbytes - t.nbytes if dev == "cuda" else 0
t1 = time.perf_counter(); ref = lwlrap(truth, scores); t_np = time.perf_counter() - t1
print(f"  lwlrap_torch {dev}: median {statistics.median(times) * 1e3:.2f} ms over 7 "
      f"(min {min(times) * 1e3:.2f}); numpy once: {t_np * 1e3:.1f} ms; "
      f"|diff| {abs(value - ref):.1e}; value {value:.12f}"
      + (f"; peak working memory {peak / 2**20:.0f} MiB beyond the inputs" if dev == "cuda" else ""))
assert abs(value - ref) < 1e-9, (value, ref)
EOF

  stamp "done in $((SECONDS - t0)) s, exit status $status"
  exit "$status"
} 2>&1 | tee "$OUT/gpu_check.log"
