"""30 seconds of libFuzzer on the plug-ins' LADSPA entry points
(fuzz/fuzz_plugin.c, ASan + UBSan): random variants, rates, block sizes
0..8192, out-of-range / NaN / Inf controls, NaN / Inf / denormal samples,
activate and in-place buffers; outputs and output controls finite, the
latency constant, the limiter's ceiling kept.  Longer runs:
RTDECLIP_FUZZ_SECONDS=600 or fuzz/run_plugin.sh 600."""
import os
import re
import subprocess

import pytest

from test_fuzz import _libfuzzer_available

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = int(os.environ.get("RTDECLIP_FUZZ_SECONDS", "30"))


def test_fuzz_plugin(tmp_path):
    why = _libfuzzer_available(tmp_path)
    if why:
        pytest.skip(why)
    if not os.path.exists("/usr/include/ladspa.h"):
        pytest.skip("ladspa.h not installed (Debian ladspa-sdk)")
    env = dict(os.environ, FUZZ_DIR=str(tmp_path / "fuzz"))
    env.pop("LD_PRELOAD", None)
    r = subprocess.run(["bash", os.path.join(ROOT, "fuzz", "run_plugin.sh"), str(SECONDS)],
                       capture_output=True, text=True, env=env, timeout=SECONDS + 400)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    m = re.search(r"fuzz: (\d+) runs", out)
    assert m, out[-3000:]
    print(m.group(0))
    assert int(m.group(1)) > 0
    assert "PROPERTY FAILED" not in out and "ERROR: AddressSanitizer" not in out
