#!/usr/bin/env bash
# The reliability part of the benchmark job (issue 5), not CI: about 50 min.
#   1. 10 minutes of libFuzzer on rtd_process_* (ASan + UBSan)
#   2. the whole test suite on an ASan + UBSan build, and valgrind memcheck
#   3. denormal inputs timed against normal ones
#   4. the 30-minute live soak on a JACK dummy server
# Results: the logs' last lines, benchmarks/results/{denormals,soak}.{json,md}.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
FUZZ_SECONDS=${FUZZ_SECONDS:-600} ; SOAK_SECONDS=${SOAK_SECONDS:-1800}
echo "== fuzz ${FUZZ_SECONDS} s"
bash fuzz/run.sh "$FUZZ_SECONDS" | tail -1 || rc=1
echo "== sanitizers"
bash scripts/sanitize.sh -q | tail -3 || rc=1
echo "== denormals"
python3 benchmarks/denormals.py || rc=1
echo "== soak ${SOAK_SECONDS} s"
python3 benchmarks/soak.py --seconds "$SOAK_SECONDS" | tail -16 || rc=1
exit $rc
