"""The processing path makes no heap allocation and takes no lock.

A small C driver linked with the core defines malloc, free and friends and
pthread_mutex_lock for the whole process (FFTW included) and counts the
calls made while processing runs (create and destroy may allocate)."""
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_process_allocates_nothing_and_locks_nothing(tmp_path):
    csrc = os.path.join(ROOT, "csrc")
    exe = tmp_path / "rt_driver"
    build = subprocess.run(
        ["gcc", "-std=c99", "-D_GNU_SOURCE", "-O2", f"-I{csrc}",
         os.path.join(ROOT, "tests", "native", "rt_driver.c"),
         *sorted(glob.glob(os.path.join(csrc, "*.c"))),  # every core unit
         "-rdynamic", "-lfftw3_threads", "-lfftw3", "-lfftw3f_threads", "-lfftw3f", "-lm", "-lpthread", "-ldl", "-o", str(exe)],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # under scripts/sanitize.sh: the driver replaces malloc itself
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("allocations 0 frees 0 locks 0") == 4   # worker threads included
    assert "nonfinite outputs 0" in r.stdout


def test_denormal_scale_frames_cost_one_iteration():
    """Why denormals cannot slow the solver (timed in
    benchmarks/denormals.py): a frame at double-denormal scale underflows to
    an exactly zero termination value and stops after one iteration, even
    with epsilon 0 (no other stop); float32 denormals are normal doubles
    inside the core.  Without flush-to-zero the reliable samples stay exact."""
    import numpy as np
    import rtdeclip
    t = np.arange(24000) / 48000
    x = np.clip(np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 331 * t)], 1), -0.5, 0.5)
    d = rtdeclip.Declipper(48000, channels=2, preset="average", threshold=0.5e-310, epsilon=0.0,
                           plan="estimate")
    tiny = x * 1e-310
    y = np.concatenate([d.process(tiny), d.flush()])[d.latency_samples:]
    s = d.stats
    assert s["frames_solved"] > 0
    assert s["iterations"] == s["frames_solved"]          # one iteration each
    pos, neg = d.thresholds[0]     # 0.5e-310 less the stream tolerance (core.levels)
    rel = (tiny < pos) & (tiny > neg)
    assert np.array_equal(y[rel], tiny[rel])               # no flush-to-zero
    assert np.all(np.isfinite(y))


DRIVER = r'''
import ctypes, sys
import numpy as np
import rtdeclip
rng = np.random.default_rng(11)
n = 48000
t = np.arange(n)[:, None] / 48000
x = np.clip(np.sin(2 * np.pi * 220 * t + np.arange(2)) + 0.4 * np.sin(2 * np.pi * 1333 * t), -0.6, 0.6)
x[::9973] = np.nan
x[5::7919] = 1e-310
x[7::6007] = -np.inf
states = []
for alg in ("aspade", "sspade", "sspade-original"):
    for threshold in (0.6, "auto", [(0.6, -0.5), (0.55, -0.6)]):
        for dtype in (np.float64, np.float32):
            # one lane and two (a worker thread: its hand-off is counted apart)
            d = rtdeclip.Declipper(48000, channels=2, preset="fastest", algorithm=alg,
                                   threshold=threshold, plan="estimate",
                                   threads=1 if dtype is np.float64 else 2,
                                   precision="double" if alg == "aspade" else "single")
            states.append((d, dtype))
# low-delay windows, another window, hop and redundancy
states.append((rtdeclip.Declipper(48000, channels=2, preset="average", window_shape="lowdelay",
                                  threshold=0.6, plan="estimate"), np.float64))
states.append((rtdeclip.Declipper(48000, channels=2, window=512, hop=64, redundancy=4,
                                  preset="fastest", threshold=0.6, plan="estimate"), np.float32))
# lowlatency with two trajectories per channel (second_solve), on two lanes
states.append((rtdeclip.Declipper(48000, channels=2, preset="lowlatency", threshold=0.6,
                                  plan="estimate", threads=2, second_solve=20,
                                  second_adapt_s=0.6), np.float32))
# a 16 kHz source in a 48 kHz stream: decimation, the solver at 16 kHz, the
# repair interpolated back (rtd_rate, csrc/source_rate.c)
for dtype in (np.float64, np.float32):
    states.append((rtdeclip.Declipper(48000, channels=2, preset="fastest", threshold="auto",
                                      plan="estimate", source_rate=16000,
                                      threads=2 if dtype is np.float32 else 1), dtype))
# a smeared rail (noise after clipping) hedged over its width: five
# trajectories per channel, their masks and the mean (cfg.hedge)
states.append((rtdeclip.Declipper(48000, channels=2, preset="fastest", threshold="auto",
                                  plan="estimate", threads=2, hedge=5), np.float32))
# ... and lowlatency's, whose second solve takes the frames a hedge leaves
states.append((rtdeclip.Declipper(48000, channels=2, preset="lowlatency", threshold="auto",
                                  plan="estimate", threads=2, hedge=3), np.float32))
# ... and a stream told it is lossy: the second pass on the set its first
# names, one latency later (rtd_named, csrc/named_stream.c), in both types
for dtype in (np.float64, np.float32):
    states.append((rtdeclip.Declipper(48000, channels=2, preset="fastest", threshold="auto",
                                      plan="estimate", threads=1, codec="mp3"), dtype))
HEDGED = set(range(len(states) - 4, len(states)))
NAMED = {len(states) - 2, len(states) - 1}
x_smeared = x + 1e-3 * np.random.default_rng(5).standard_normal(x.shape)
hedge_solves = named_frames = 0
lib = ctypes.CDLL(None)
counts = (ctypes.c_long * 5)()
lib.rtd_shim_counts(counts)
before = list(counts)
solved = hops2 = 0
for k, (d, dtype) in enumerate(states):
    # a hedged state's hop is three passes of the lanes (masks, the solves
    # of every channel x trajectory, the finish), a worker's wait each
    passes = 3 if d.hedge else 1     # (at most: a hop of exact rails is one pass)
    xi = (x_smeared if k in HEDGED else x).astype(dtype)
    out = np.empty((700, 2), dtype)
    if k % 3 == 1:
        d.set_time_limit(0.0005)
    i = 0
    while i < n:
        m = int(rng.integers(1, 700))
        blk = np.ascontiguousarray(xi[i:i + m])
        d.process(blk, out=out[:len(blk)])
        i += m
    hedge_solves += d.stats["hedge_solves"]
    if k in NAMED:
        named_frames += d.stats["second_pass_frames"]
    d.iterations = 3          # the live host changes the budget between calls
    solved += d.stats["frames_solved"]
    if d.threads == 2:
        hops2 += passes * (d.stats["frames_solved"] + d.stats["frames_skipped"]) // 2
    d.reset()
    d.process(np.ascontiguousarray(xi[:4096]), out=np.empty((4096, 2), dtype))
    if d.threads == 2:
        hops2 += passes * (d.stats["frames_solved"] + d.stats["frames_skipped"]) // 2
lib.rtd_shim_counts(counts)
calls, allocs, frees, locks, waits = (a - b for a, b in zip(counts, before))
print(f"calls {calls} allocations {allocs} frees {frees} locks {locks} frames_solved {solved}")
print(f"semaphore waits {waits} threaded hops {hops2}")
print(f"hedge solves {hedge_solves}")
print(f"second pass frames {named_frames}")
lib.rtd_shim_selftest()
lib.rtd_shim_counts(counts)
print("selftest", counts[1] - before[1] - allocs, counts[2] - before[2] - frees,
      counts[3] - before[3] - locks)
'''


def test_extension_process_allocates_nothing_and_locks_nothing(tmp_path):
    """The same proof on the extension users get (its own build flags),
    driven from Python: an LD_PRELOAD shim wraps rtd_process_* and counts
    heap calls and locks made inside them by the calling thread."""
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        import pytest
        pytest.skip("ASan replaces the allocator the shim counts; runs on the normal build")
    shim = tmp_path / "alloc_shim.so"
    build = subprocess.run(["gcc", "-shared", "-fPIC", "-O2",
                            os.path.join(ROOT, "tests", "native", "alloc_shim.c"),
                            "-ldl", "-lpthread", "-o", str(shim)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    import rtdeclip._core
    env = dict(os.environ, LD_PRELOAD=str(shim), RTD_SHIM_LIB=rtdeclip._core.__file__)
    r = subprocess.run([sys.executable, "-c", DRIVER], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    import re
    m = re.search(r"calls (\d+) allocations (\d+) frees (\d+) locks (\d+) frames_solved (\d+)",
                  r.stdout)
    assert m, r.stdout + r.stderr
    calls, allocs, frees, locks, solved = map(int, m.groups())
    assert calls > 1000 and solved > 1000      # the shim really wrapped the calls
    assert (allocs, frees, locks) == (0, 0, 0), r.stdout
    assert "selftest 1 1 1" in r.stdout, r.stdout   # the counters do count
    # worker threads: at most one semaphore wait per pass of the lanes (two
    # lanes; a hop is one pass, three with a hedge), and
    # some (the threaded states really handed hops to a worker)
    m = re.search(r"semaphore waits (\d+) threaded hops (\d+)", r.stdout)
    waits, hops2 = map(int, m.groups())
    assert 0 < waits <= hops2, r.stdout
    # the hedged state really ran its other trajectories
    assert int(re.search(r"hedge solves (\d+)", r.stdout).group(1)) > 0, r.stdout
    # ... and the lossy streams' second pass solved frames of its own
    assert int(re.search(r"second pass frames (\d+)", r.stdout).group(1)) > 0, r.stdout
