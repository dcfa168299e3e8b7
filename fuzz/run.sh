#!/usr/bin/env bash
# Build the libFuzzer target on rtd_process_* (clang, ASan + UBSan) and run
# it for SECONDS (default 30).  Usage: fuzz/run.sh [SECONDS] [extra libFuzzer args]
#
# Builds out of the tree (FUZZ_DIR, default a fresh temporary directory), so
# it never disturbs the working copy.  A crash or failed property leaves
# the input in FUZZ_DIR/crash-* and exits non-zero.  The last line printed
# is "fuzz: N runs in S s, exit E".
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-30}
shift || true
FUZZ_DIR=${FUZZ_DIR:-$(mktemp -d /tmp/rtd-fuzz.XXXXXX)}
mkdir -p "$FUZZ_DIR/corpus"
CC=${CC:-clang}
"$CC" -g -O1 -std=c99 -D_GNU_SOURCE -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Icsrc fuzz/fuzz_process.c csrc/*.c \
    -lfftw3_threads -lfftw3 -lfftw3f_threads -lfftw3f -lm -lpthread -o "$FUZZ_DIR/fuzz_process"
# seeds: clipped sines in every configuration family, so the fuzzer starts
# from inputs that reach the solver
python3 fuzz/seeds.py "$FUZZ_DIR/corpus"
# and inputs that once failed (fuzz/regressions: each run checks them first)
cp fuzz/regressions/*.bin "$FUZZ_DIR/corpus/"
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$FUZZ_DIR/fuzz_process" "$FUZZ_DIR/corpus" -max_total_time="$SECONDS_TO_RUN" \
    -max_len=20000 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$FUZZ_DIR/" "$@" 2>"$FUZZ_DIR/log"
rc=$?
set -e
tail -n 40 "$FUZZ_DIR/log"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_DIR/log" | tail -1)
echo "fuzz: ${runs:-?} runs in ${SECONDS_TO_RUN} s, exit $rc, corpus $(ls "$FUZZ_DIR/corpus" | wc -l) files, dir $FUZZ_DIR"
exit $rc
