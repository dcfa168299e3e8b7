#!/usr/bin/env bash
# Memory safety of the C core (issue 5):
#  1. builds the extension with AddressSanitizer + UndefinedBehaviorSanitizer
#     into a copy of the package OUTSIDE the working tree (SAN_DIR, default a
#     temporary directory: the in-place extension others test with is never
#     touched) and runs the whole test suite against it, with libasan
#     preloaded into the interpreter (leak detection off: CPython itself
#     keeps memory at exit) and any UBSan report fatal;
#  2. runs valgrind memcheck on a streaming C driver (fuzz/stream_driver.c)
#     linked directly with csrc/*.c: no invalid access, no leak after destroy.
# Usage: scripts/sanitize.sh [pytest args...]     (e.g. -x -k core)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SAN_DIR=${SAN_DIR:-$(mktemp -d /tmp/rtd-asan.XXXXXX)}
echo "== ASan+UBSan build in $SAN_DIR"
python3 scripts/build_copy.py "$SAN_DIR" --sanitize
# libstdc++ right after libasan, or ASan cannot intercept C++ exceptions
# thrown by other extensions (matplotlib's ft2font)
ASAN_LIB="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so.6)"
export PYTHONPATH="$SAN_DIR${PYTHONPATH:+:$PYTHONPATH}"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:verify_asan_link_order=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# -P: the working directory (with its plain in-place build) must not come first
LD_PRELOAD="$ASAN_LIB" python3 -P -c "
import rtdeclip, rtdeclip._core as c
assert rtdeclip.__file__.startswith('$SAN_DIR'), rtdeclip.__file__
print('testing', c.__file__)"
echo "== test suite against the sanitized build"
set +e
# The live tests that assert zero xruns in real time are deselected: the
# sanitized core (-O1, ASan) is several times slower (the overload test's
# 'no underflow' rests on the solver stopping within microseconds of its
# deadline, measured at full speed); everything else runs.
LD_PRELOAD="$ASAN_LIB" python3 -P -m pytest -q -p no:cacheprovider \
    --deselect tests/test_live.py::test_sixty_seconds_average_preset_without_xruns \
    --deselect tests/test_live.py::test_live_output_matches_offline_and_latency_is_as_reported \
    --deselect tests/test_live.py::test_overload_is_absorbed_without_underflow \
    "$@" 2>&1 | tee "$SAN_DIR/pytest.log"
rc_tests=${PIPESTATUS[0]}
set -e
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$SAN_DIR/pytest.log"; then
    echo "sanitizer report found in the test log"; rc_tests=1
fi
echo "== valgrind memcheck on a streaming run"
gcc -g -O1 -std=c99 -D_GNU_SOURCE -Icsrc fuzz/stream_driver.c csrc/stream.c csrc/spade.c \
    csrc/select.c csrc/planner.c csrc/windows.c csrc/workers.c csrc/social.c -lfftw3_threads -lfftw3 -lfftw3f_threads -lfftw3f -lm -lpthread -o "$SAN_DIR/stream_driver"
set +e
valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
    --error-exitcode=99 "$SAN_DIR/stream_driver" 1 2>&1 | tee "$SAN_DIR/valgrind.log" | tail -12
rc_vg=${PIPESTATUS[0]}
set -e
echo "sanitize: tests exit $rc_tests, valgrind exit $rc_vg ($SAN_DIR)"
[ "$rc_tests" = 0 ] && [ "$rc_vg" = 0 ]
