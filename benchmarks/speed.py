"""Speed of the C core.

1. Cost of one frame-iteration against its two transforms alone (same
   plans, same run), against FFTW's r2c + c2r of the same size, and against
   the numpy reference, at windows 512 to 8192 (redundancy 2).  Target:
   C / FFT <= 1.5.
   Both precisions; "double / this" is the speed-up over double.
2. Real-time factor of each preset on the never-converging signal (stereo
   48 kHz, every frame clipped, no frame reaching epsilon), CPU time, with
   one and two threads.  Targets (one core): average >= 2x, fastest >= 8x,
   lowlatency >= 4x.
3. ``--hedge-only``: the stream hedge's cost on a smeared rail in every
   frame (results/speed_hedge.*).
4. ``--second-pass-only``: a lossy stream's second pass (streams told
   their codec, core/named_stream.py) on the same signal, against the
   stream not told (results/speed_second_pass.*).

    python benchmarks/speed.py
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip import examples  # noqa: E402
from rtdeclip.core import params, reference  # noqa: E402
from rtdeclip._core import ffi, lib  # noqa: E402


def clipped_frame(w, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(w)
    x = sum(rng.normal() * np.cos(2 * np.pi * rng.uniform(0, 0.05) * t + rng.uniform(0, 6))
            for _ in range(10))
    x /= np.abs(x).max()
    g = 0.5 - 0.5 * np.cos(2 * np.pi * t / w)
    mask = (x > 0.4).astype(np.int8) - (x < -0.4)
    return np.clip(x, -0.4, 0.4) * g, mask


def best_of(fn, repeat):
    """Least thread CPU time of `repeat` runs: CPU time is not inflated by
    other processes taking the core (the machine is shared), and the least
    of several is the least disturbed by cache pollution."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def best_of_pair(fa, fb, repeat):
    """best_of for two functions run alternately: the solver and its FFTs
    see the same conditions (the other core's load, the shared caches),
    so their ratio is steadier than with one series after the other."""
    ta = tb = np.inf
    for _ in range(repeat):
        t0 = time.thread_time()
        fa()
        t1 = time.thread_time()
        fb()
        t2 = time.thread_time()
        ta, tb = min(ta, t1 - t0), min(tb, t2 - t1)
    return ta, tb


def iteration_costs(windows, iters, algorithm, precisions=("double", "single"), repeat=9):
    rows, data = [], []
    base = {}
    for precision in precisions:
        for w in windows:
            d = rtdeclip.Declipper(48000, window=w, redundancy=2, iterations=iters, epsilon=0.0,
                                   algorithm=algorithm, threshold=0.4, plan="measure",
                                   precision=precision)
            y, mask = clipped_frame(w)
            # the C call alone (Declipper.solve_frame validates its input in
            # numpy first, which at small windows costs a tenth of the run)
            yb, mb = ffi.from_buffer("double[]", y), ffi.from_buffer("int8_t[]", mask)
            xb = ffi.new("double[]", w)
            t_c, t_fft = best_of_pair(lambda: lib.rtd_solve_frame(d._state, yb, mb, xb),
                                      lambda: lib.rtd_time_transforms(d._state, iters, 0), repeat)
            # FFTW's own r2c + c2r of the same size: what "its two FFTs"
            # were before the float kernel computed them as half-length
            # complex FFTs (csrc/rfft_split.h); the same in double.  The
            # float solver plans them for each call, so the call returns
            # the thread CPU time of the transforms alone.
            t_real = min(lib.rtd_time_transforms(d._state, iters, 1) for _ in range(repeat))
            assert t_real > 0, "FFTW's real transforms could not be planned"
            t_c, t_fft, t_real = t_c / iters, t_fft / iters, t_real / iters
            base.setdefault(w, t_c)
            n_ref = max(5, iters // 10)
            solver = reference.SOLVERS[algorithm]
            t_ref = best_of(lambda: solver(y, mask, 2, 1, 2, 0.0, n_ref, True), 3) / n_ref
            rows.append([precision, w, f"{t_c * 1e3:.4f}", f"{t_fft * 1e3:.4f}",
                         f"{t_c / t_fft:.2f}", f"{t_real * 1e3:.4f}", f"{t_c / t_real:.2f}",
                         f"{base[w] / t_c:.2f}",
                         f"{t_ref * 1e3:.3f}", f"{t_ref / t_c:.1f}"])
            data.append({"precision": precision, "window": w, "c_ms": t_c * 1e3,
                         "fft_pair_ms": t_fft * 1e3, "c_over_fft": t_c / t_fft,
                         "fftw_real_pair_ms": t_real * 1e3, "c_over_fftw_real": t_c / t_real,
                         "double_over_this": base[w] / t_c,
                         "numpy_ms": t_ref * 1e3, "numpy_over_c": t_ref / t_c})
            print(rows[-1], flush=True)
    return rows, data


def never_converging(seconds, sr=48000, seed=0):
    """The CPU worst case (rtdeclip.examples.never_converging) and its
    clip level."""
    return examples.never_converging(sr, seconds, seed), 0.3


def smeared_worst_case(seconds, sr=48000):
    """The worst case with white noise of 1e-3 added after the clipping: the
    online estimator finds a smeared rail on both channels and every frame
    is clipped (the hedge's and the second pass's dearest signal)."""
    y, _ = never_converging(seconds, sr)
    return y + 1e-3 * np.random.default_rng(0).standard_normal(y.shape)


def rtf_case(y, sr, seconds, preset, threads, threshold=0.3, **kw):
    """Real-time factors of one preset on `y`, blocks of 256: one core =
    audio time over the CPU time of the stream's threads summed (the
    caller's and its workers'; the process total also counts threads that
    are not the stream's, such as numpy's BLAS pool, and is kept in the
    JSON); per thread = audio time over the busiest thread's CPU time (the
    caller's or a worker's), what a stream gets when each thread has a
    core of its own."""
    d = rtdeclip.Declipper(sr, channels=y.shape[1], preset=preset, threshold=threshold,
                           threads=threads, **kw)
    block = 256
    out = np.empty((block, y.shape[1]))
    t0 = time.perf_counter()
    c0 = time.process_time()
    m0 = time.thread_time()
    w0 = d.worker_cpu_seconds()
    for i in range(0, len(y) - block + 1, block):
        d.process(y[i:i + block], out=out)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    caller = time.thread_time() - m0
    workers = [b - a for a, b in zip(w0, d.worker_cpu_seconds())]
    st = d.stats
    solved = max(1, st["frames_solved"])
    return {"preset": preset, "threads": d.threads, "window": d.settings.window,
            "iterations": d.settings.iterations, "precision": d.settings.precision,
            "latency_ms": 1000 * d.latency, "cpu_s": cpu, "caller_cpu_s": caller,
            "worker_cpu_s": workers, "wall_s": wall,
            "rtf_one_core": seconds / (caller + sum(workers)),
            "rtf_per_thread": seconds / max([caller] + workers),
            "frames_skipped_ratio": st["frames_skipped"] / max(1, st["frames_skipped"] + solved),
            "frames_converged_ratio": st["frames_converged"] / solved,
            "mean_iterations": st["iterations"] / solved,
            "hedge": d.settings.hedge, "hedge_budget": d.settings.hedge_budget,
            "hedge_solves": st["hedge_solves"],
            "rails": [x["method"] for x in d.detection]}


def preset_rtf(seconds, presets, extra=None):
    sr = 48000
    y, _ = never_converging(seconds, sr)
    rows, data = [], []
    for preset in presets:
        for threads in (1, 2):
            r = rtf_case(y, sr, seconds, preset, threads, **(extra or {}))
            rows.append([preset, r["precision"], r["window"], r["iterations"] or "converge",
                         f"{r['latency_ms']:.1f}", f"{100 * r['frames_converged_ratio']:.1f} %",
                         f"{r['mean_iterations']:.0f}", threads,
                         f"{1000 * seconds / r['rtf_one_core'] / seconds:.0f}",
                         f"{r['rtf_one_core']:.1f}x",
                         f"{r['rtf_per_thread']:.1f}x"])
            data.append(r)
            print(rows[-1], flush=True)
    return rows, data


def hedge_rtf(seconds, presets, hedges=(0, 2, 3, 5)):
    """The stream hedge's cost (Declipper(hedge=N)) where it is dearest:
    the never-converging signal with white noise of 1e-3 added after the
    clipping, so the online estimator finds a smeared rail on both
    channels and every frame runs N solves; one thread.  Each hedge at the
    preset's share of the budget (hedge_budget: average 2/3); a preset
    whose share is below 1 also runs hedge 2 at the whole budget."""
    sr = 48000
    y = smeared_worst_case(seconds, sr)
    rows, data = [], []
    for preset in presets:
        base = None
        share = params.PRESETS[preset].get("hedge_budget", 1.0)
        for h, budget in [(h, None) for h in hedges] + ([(2, 1.0)] if share < 1 else []):
            kw = {} if budget is None else {"hedge_budget": budget}
            r = rtf_case(y, sr, seconds, preset, 1, threshold="auto", hedge=h, **kw)
            base = base or r["rtf_one_core"]
            rows.append([preset, h or "off", f"{r['hedge_budget']:.2f}" if h else "",
                         "/".join(sorted({m for x in r["rails"] for m in x if m})),
                         f"{r['mean_iterations']:.0f}",
                         f"{1000 / r['rtf_one_core']:.0f}", f"{r['rtf_one_core']:.1f}x",
                         f"{base / r['rtf_one_core']:.2f}"])
            data.append(r)
            print(rows[-1], flush=True)
    return rows, data


def hedge_lanes(seconds, presets, hedge=5):
    """The hedged stream's solves spread over lanes (threads): every
    channel x trajectory is a unit of work, so a mono stream hedged 5 ways
    can use 5 cores.  Per thread: audio time over the busiest thread's CPU
    time (what the stream gets with a core per thread), against one lane in
    the same run; the output is the same bit for bit (tests/test_threads.py)."""
    sr = 48000
    y = smeared_worst_case(seconds, sr)
    rows, data = [], []
    for preset in presets:
        for channels, lanes in ((1, (1, 2, 5)), (2, (1, 2, 4, 10))):
            base = None
            for threads in lanes:
                r = rtf_case(np.ascontiguousarray(y[:, :channels]), sr, seconds, preset, threads,
                             threshold="auto", hedge=hedge)
                base = base or r["rtf_per_thread"]
                rows.append([preset, channels, r["threads"], f"{1000 / r['rtf_one_core']:.0f}",
                             f"{r['rtf_one_core']:.1f}x", f"{r['rtf_per_thread']:.1f}x",
                             f"{r['rtf_per_thread'] / base:.2f}"])
                data.append(dict(r, channels=channels))
                print(rows[-1], flush=True)
    return rows, data


def hedge_default(seconds, presets):
    """What a script gets by default on the same signal: the preset's own
    hedge (fastest 2, average 2 at 2/3 of its budget each, lowlatency
    none) on the Declipper's own lanes (one
    per channel up to the processors), stereo."""
    sr = 48000
    y = smeared_worst_case(seconds, sr)
    rows, data = [], []
    for preset in presets:
        r = rtf_case(y, sr, seconds, preset, None, threshold="auto")
        rows.append([preset, r["hedge"] or "off", r["threads"],
                     f"{1000 / r['rtf_one_core']:.0f}", f"{r['rtf_one_core']:.1f}x",
                     f"{r['rtf_per_thread']:.1f}x"])
        data.append(r)
        print(rows[-1], flush=True)
    return rows, data


def second_pass_rtf(seconds, presets):
    """A lossy stream's second pass (``Declipper(codec="mp3")``, rtd_named)
    where it is dearest: the signal of hedge_rtf (a smeared rail on both
    channels, every frame clipped), stereo, by default (the preset's hedge
    and lanes), not told the codec (no second pass) and told it, alternating
    in the same run; the last column is CPU against the untold stream."""
    sr = 48000
    y = smeared_worst_case(seconds, sr)
    rows, data = [], []
    for preset in presets:
        base = None
        for codec in (None, "mp3"):
            r = rtf_case(y, sr, seconds, preset, None, threshold="auto", codec=codec)
            d = rtdeclip.Declipper(sr, 2, preset=preset, codec=codec)
            r["second_pass"] = d.second_pass
            base = base or r["rtf_one_core"]
            rows.append([preset, codec or "none", d.second_pass or "off", r["threads"],
                         f"{r['latency_ms']:.1f}", f"{1000 / r['rtf_one_core']:.0f}",
                         f"{r['rtf_one_core']:.1f}x", f"{r['rtf_per_thread']:.1f}x",
                         f"{base / r['rtf_one_core']:.2f}"])
            data.append(r)
            print(rows[-1], flush=True)
    return rows, data


def second_pass_table(seconds, rows):
    return ("A lossy stream's second pass (`Declipper(codec=\"mp3\")`, `rtdeclip "
            "live|monitor --codec mp3`: 2 more solves on the set the first names, one "
            "latency later) where it is dearest: the never-converging signal with white "
            "noise of 1e-3 after the clipping (a smeared rail on both channels, every frame "
            f"clipped), stereo, threshold auto, {seconds:g} s in blocks of 256, the preset's "
            "hedge and the Declipper's own lanes; the last column is CPU against the stream "
            "not told its codec in the same run:\n\n" +
            md_table(["preset", "codec told", "second pass", "lanes", "latency ms",
                      "CPU ms per s", "RTF one core", "RTF per thread", "CPU x"], rows))


def default_table(seconds, rows):
    return ("By default (`Declipper(sr, 2, preset=P, threshold=\"auto\")`: the preset's own "
            "hedge, the Declipper's own lanes, as many as the processors hold), the same "
            f"signal, stereo, {seconds:g} s in blocks of 256:\n\n" +
            md_table(["preset", "hedge", "lanes", "CPU ms per s", "RTF one core",
                      "RTF per thread"], rows))


def lanes_table(seconds, rows):
    return ("The hedged stream (hedge 5, the signal above, mono and stereo) on more lanes "
            "than channels: its solves (channel x trajectory) are spread over the lanes. "
            "CPU time summed over the stream's threads (CPU ms per s, RTF one core) and of the "
            "busiest thread (RTF per thread: the real-time factor with a core per thread); "
            "the last column is RTF per thread against one lane in the same run "
            f"({seconds:g} s, blocks of 256; on a machine with fewer cores than lanes the "
            "threads take turns, so only the CPU columns mean anything there):\n\n" +
            md_table(["preset", "channels", "lanes", "CPU ms per s", "RTF one core",
                      "RTF per thread", "per thread x"], rows))


def hedge_table(seconds, rows):
    return ("The stream hedge over a smeared rail's width (`Declipper(hedge=N)`, "
            "`rtdeclip live --hedge N`) where it is dearest: the never-converging signal with "
            "white noise of 1e-3 added after the clipping (a smeared rail on both channels, "
            f"every frame clipped), threshold auto, one thread, {seconds:g} s in blocks of "
            "256, CPU time; the last column is the CPU against no hedge in the same run:\n\n" +
            md_table(["preset", "hedge", "share", "rails found", "iterations per frame",
                      "CPU ms per s", "RTF one core", "CPU x"], rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0, help="audio for the RTF test")
    ap.add_argument("--algorithm", default="aspade")
    ap.add_argument("--presets", default="lowlatency,fastest,average",
                    help="add highquality for the offline preset (slow: ~1x real time)")
    ap.add_argument("--presets-only", action="store_true")
    ap.add_argument("--hedge-only", action="store_true",
                    help="only the stream hedge's table, into results/speed_hedge.*")
    ap.add_argument("--second-pass-only", action="store_true",
                    help="only the lossy stream's second pass table, into "
                         "results/speed_second_pass.*")
    args = ap.parse_args()
    if args.second_pass_only:
        rows, data = second_pass_rtf(args.seconds, ["fastest", "average"])
        write_results("speed_second_pass", {"machine": machine(), "second_pass": data},
                      second_pass_table(args.seconds, rows))
        return
    if args.hedge_only:
        rows3, data3 = hedge_rtf(args.seconds, ["fastest", "average", "lowlatency"])
        rows5, data5 = hedge_default(args.seconds, ["fastest", "average", "lowlatency"])
        rows4, data4 = hedge_lanes(args.seconds, ["fastest", "average", "lowlatency"])
        write_results("speed_hedge", {"machine": machine(), "hedge": data3, "default": data5,
                                      "lanes": data4},
                      hedge_table(args.seconds, rows3) + "\n\n" + default_table(args.seconds, rows5)
                      + "\n\n" + lanes_table(args.seconds, rows4))
        return
    rows, data = ([], []) if args.presets_only else iteration_costs(
        [512, 1024, 2048, 4096, 8192], args.iterations, args.algorithm)
    md = (f"Cost of one frame-iteration ({args.algorithm}, redundancy 2, {args.iterations} "
          "iterations of one frame), thread CPU time, least of 9 runs, the solver's and its "
          "two FFTs' runs alternating.  \"Its 2 FFTs\": the transforms the iteration runs "
          "(single precision: half-length complex FFTs and a pass, csrc/rfft_split.h); "
          "\"FFTW r2c + c2r\": FFTW's real transforms of the same size:\n\n" +
          md_table(["precision", "window", "C core (ms)", "its 2 FFTs (ms)", "C / its FFTs",
                    "FFTW r2c + c2r (ms)", "C / FFTW r2c + c2r", "double / this", "numpy reference (ms)", "numpy / C"], rows))
    rows2, data2 = preset_rtf(args.seconds, args.presets.split(","))
    md += ("\n\nReal-time factor on the never-converging signal (4 partials + white noise "
           "26 dB down, clipped at 30 % of its peak, stereo 48 kHz, every frame clipped), "
           f"{args.seconds:g} s in blocks of 256, CPU time.  One core: audio time over the "
           "CPU time of the stream's threads summed; per thread: audio time over the busiest thread's CPU time "
           "(the real-time factor with one core per thread):\n\n" +
           md_table(["preset", "precision", "window", "iterations", "latency (ms)",
                     "frames converged", "mean iterations", "threads", "CPU ms per s",
                     "RTF one core", "RTF per thread"], rows2))
    rows3, data3 = hedge_rtf(args.seconds, [p for p in args.presets.split(",")
                                            if p in ("fastest", "average", "lowlatency")])
    md += "\n\n" + hedge_table(args.seconds, rows3)
    write_results("speed", {"machine": machine(), "iterations": data, "presets": data2,
                            "hedge": data3}, md)


if __name__ == "__main__":
    main()
