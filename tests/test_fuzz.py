"""30 seconds of libFuzzer on the C core's process call (fuzz/fuzz_process.c,
built with ASan + UBSan): no crash, no sanitizer report, finite output,
reliable samples kept exactly, clipped ones on the far side of the
observation, block-size invariance, reset.  The benchmark job runs it for
10 minutes (RTDECLIP_FUZZ_SECONDS=600 or fuzz/run.sh 600)."""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = int(os.environ.get("RTDECLIP_FUZZ_SECONDS", "30"))


def _libfuzzer_available(tmp_path):
    if not shutil.which("clang"):
        return "clang is not installed (scripts/install.sh installs clang and libclang-rt-14-dev)"
    src = tmp_path / "probe.c"
    src.write_text("#include <stdint.h>\n#include <stddef.h>\n"
                   "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n")
    r = subprocess.run(["clang", "-fsanitize=fuzzer", str(src), "-o", str(tmp_path / "probe")],
                       capture_output=True, text=True)
    if r.returncode:
        return "clang has no libFuzzer runtime (install libclang-rt-14-dev): " + r.stderr[-300:]
    return None


def test_fuzz_process(tmp_path):
    why = _libfuzzer_available(tmp_path)
    if why:
        pytest.skip(why)
    env = dict(os.environ, FUZZ_DIR=str(tmp_path / "fuzz"))
    env.pop("LD_PRELOAD", None)  # under scripts/sanitize.sh: the fuzzer brings its own ASan
    r = subprocess.run(["bash", os.path.join(ROOT, "fuzz", "run.sh"), str(SECONDS)],
                       capture_output=True, text=True, env=env, timeout=SECONDS + 300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    m = re.search(r"fuzz: (\d+) runs", out)
    assert m, out[-3000:]
    print(m.group(0))
    assert int(m.group(1)) > 0
    assert "PROPERTY FAILED" not in out and "ERROR: AddressSanitizer" not in out
