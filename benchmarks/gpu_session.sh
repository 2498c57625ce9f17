#!/usr/bin/env bash
# The full-profile suite and the CUDA-only tests on a GPU machine without internet, in one
# command that fits a 10-minute run (issue 20). The machine needs Python 3.12 with PyTorch and
# the common scientific packages (the image of the project's lent GPU machine); what else the
# suite needs travels as wheels. Beforehand, on a machine with the package index:
#     python benchmarks/gpu_wheels.py          # fills .whl/ (about 40 MiB)
# then, on the GPU machine, in a copy of the repository with .whl/ beside it:
#     bash benchmarks/gpu_session.sh
# What it leaves in $OUT (default _build/gpu_session), five files: full.json (the suite's
# summary, rewritten after every job, so a run cut short keeps what finished), suite.log,
# cuda_tests.log, gpu.txt (nvidia-smi and torch's view of the device) and suite.tar.gz (the
# executed notebooks, the benchmarks' results and every job's log). SUITE_LIMIT_S (default 420)
# caps the suite (its jobs are stopped with it) so that the tests and the archive still fit.
# PROFILE, DEVICE, JOBS and ONLY (job names) change the suite's run, e.g. for a rehearsal on a CPU.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-_build/gpu_session}
WHEELS=${WHEELS:-.whl}
SITE=${SITE:-/tmp/f2p_site}
SUITE_LIMIT_S=${SUITE_LIMIT_S:-420}
PYTHON=${PYTHON:-python3}
PROFILE=${PROFILE:-full} DEVICE=${DEVICE:-cuda} JOBS=${JOBS:-4}
mkdir -p "$OUT"

ls "$WHEELS"/*.whl >/dev/null 2>&1 || { echo "no wheels in $WHEELS: run python benchmarks/gpu_wheels.py first"; exit 2; }
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" "$WHEELS"/*.whl || exit 2
# the carried wheels and the course's sources, ahead of the image's own packages
export PYTHONPATH="$PWD/src:$SITE" PATH="$SITE/bin:$PATH" PYTHONUNBUFFERED=1

{ nvidia-smi || true
  "$PYTHON" -c "import torch, f2p; print('torch', torch.__version__, 'cuda', torch.version.cuda,
    torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device', 'f2p', f2p.__version__)"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

RUN="$PROFILE-${DEVICE%%:*}"
# timeout stops the suite's whole process group (its jobs); kernels follow their dead parents
timeout -k 15 "$SUITE_LIMIT_S" "$PYTHON" benchmarks/suite.py --profile "$PROFILE" \
  --device "$DEVICE" --jobs "$JOBS" ${ONLY:+--only $ONLY} --out "_build/suite/$RUN" \
  --summary "$OUT/$PROFILE.json" 2>&1 | tee "$OUT/suite.log"
suite_status=${PIPESTATUS[0]}
if [ "$suite_status" = 124 ]; then
  echo "the suite passed its ${SUITE_LIMIT_S} s limit: $OUT/$PROFILE.json holds the jobs that finished" \
    | tee -a "$OUT/suite.log"
fi

"$PYTHON" -m pytest -q -p no:cacheprovider -m "not site" -k "gpu or cuda" \
  tests/test_llm.py tests/test_device_guard.py 2>&1 | tee "$OUT/cuda_tests.log"
tests_status=${PIPESTATUS[0]}

tar czf "$OUT/suite.tar.gz" -C _build/suite "$RUN"
ls -l "$OUT"
echo "suite exit $suite_status, CUDA tests exit $tests_status"
[ "$suite_status" = 0 ] && [ "$tests_status" = 0 ]
