#!/usr/bin/env bash
# Build the libFuzzer target on the plug-ins' LADSPA entry points (clang,
# ASan + UBSan) and run it for SECONDS (default 30).  Usage:
# fuzz/run_plugin.sh [SECONDS] [extra libFuzzer args].  Out of the tree
# (FUZZ_DIR, default a fresh temporary directory); a crash or failed
# property leaves FUZZ_DIR/crash-* and exits non-zero.  Last line:
# "fuzz: N runs in S s, exit E".
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-30}
shift || true
FUZZ_DIR=${FUZZ_DIR:-$(mktemp -d /tmp/rtd-fuzz-plugin.XXXXXX)}
mkdir -p "$FUZZ_DIR/corpus"
CC=${CC:-clang}
"$CC" -g -O1 -std=c99 -D_GNU_SOURCE -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DRTDP_PLAN=RTD_PLAN_ESTIMATE -Icsrc -Icsrc/plugins fuzz/fuzz_plugin.c csrc/plugins/ladspa.c csrc/plugins/engine.c \
    csrc/plugins/limiter.c csrc/*.c \
    -lfftw3_threads -lfftw3 -lfftw3f_threads -lfftw3f -lm -lpthread -o "$FUZZ_DIR/fuzz_plugin"
# seeds: each variant (mono / stereo x standard / low-latency / voice / lossy, bit 7
# of the first byte) and rate, a clipped tone, every control touched
python3 - "$FUZZ_DIR/corpus" <<'PY'
import os, struct, sys, math
d = sys.argv[1]
for head in list(range(20)) + [0x80 | h for h in range(16)]:
    b = bytearray([head])
    for k in range(8):
        b += bytes([2, k, k * 37 % 256, (k * 11) % 128])
    for n in (700, 1, 2000):
        b += bytes([0]) + struct.pack("<H", n)
        b += b"".join(struct.pack("<f", max(-0.33, min(0.3, 0.6 * math.sin(0.03 * i)))) for i in range(min(n, 800) * (1 + head % 2)))
    open(os.path.join(d, f"seed{head}"), "wb").write(bytes(b))
PY
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
RTDECLIP_WISDOM="$FUZZ_DIR/no-wisdom" \
"$FUZZ_DIR/fuzz_plugin" "$FUZZ_DIR/corpus" -max_total_time="$SECONDS_TO_RUN" \
    -max_len=40000 -timeout=60 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$FUZZ_DIR/" "$@" 2>"$FUZZ_DIR/log"
rc=$?
set -e
tail -n 40 "$FUZZ_DIR/log"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_DIR/log" | tail -1)
echo "fuzz: ${runs:-?} runs in ${SECONDS_TO_RUN} s, exit $rc, corpus $(ls "$FUZZ_DIR/corpus" | wc -l) files, dir $FUZZ_DIR"
exit $rc
