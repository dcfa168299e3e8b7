"""Real-time safety of the plug-ins inside a host: tests/native/
plugin_rt_host.c loads the installed LADSPA library and LV2 binary, counts
every heap call and lock in the process while run() and activate() work
(blocks of 1..8192 frames changing every call, every control changed,
NaN/Inf/denormal input, four rates) and fails on any.  All sixteen plug-ins:
mono / stereo, standard / low-latency / voice (its rate chain too) / lossy
(its second pass too), LADSPA / LV2."""
import os
import re
import subprocess

import pytest

from rtdeclip import plugins

HERE = os.path.dirname(os.path.abspath(__file__))


def test_run_allocates_nothing_and_locks_nothing(tmp_path):
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("ASan replaces the allocator the host counts; runs on the normal build")
    exe = tmp_path / "plugin_rt_host"
    build = subprocess.run(["gcc", "-std=c99", "-O2", os.path.join(HERE, "native", "plugin_rt_host.c"),
                            "-rdynamic", "-ldl", "-lpthread", "-lm", "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, RTDECLIP_WISDOM=str(tmp_path / "wisdom"))
    env.pop("LD_PRELOAD", None)
    r = subprocess.run([str(exe), plugins.ladspa_library(),
                        os.path.join(plugins.lv2_bundle(), "rtdeclip.so"), "5"],
                       capture_output=True, text=True, env=env, timeout=600)
    print(r.stdout)
    lines = re.findall(r"(\w+ \w+ \d+): blocks (\d+) frames (\d+) allocations (\d+) frees (\d+) "
                       r"locks (\d+) nonfinite (\d+) latency ([\d.]+)", r.stdout)
    assert len(lines) == 16, r.stdout + r.stderr
    latency = {}
    for what, blocks, frames, allocs, frees, locks, bad, lat in lines:
        assert int(blocks) > 20 and int(frames) > 80000, what
        assert (int(allocs), int(frees), int(locks)) == (0, 0, 0), what
        assert int(bad) == 0 and float(lat) > 0, what
        latency[what] = float(lat)
    # each low-latency variant ran at its standard twin's rate, with about
    # a quarter of its latency (window 1024 vs 2048, low-delay synthesis)
    for what, lat in latency.items():
        if "_lowlatency" in what:
            assert lat < latency[what.replace("_lowlatency", "")] / 3, (what, latency)
    assert "selftest 1 1 1" in r.stdout            # the counters do count
    made = re.findall(r"instantiate allocations (\d+) locks (\d+)", r.stdout)
    assert len(made) == 16 and all(int(a) > 10 and int(l) > 0 for a, l in made), r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
