"""Denormals cannot slow the solver (issue 5): CPU time of the C core on the
same clipped piece at normal scale, with a denormal noise floor added, at
float32-denormal scale (1e-40: normal in double, where the core computes)
and at double-denormal scale (1e-310), iterations forced (epsilon 0).

    python benchmarks/denormals.py [--seconds 4] [--preset average]

Why it holds: the core computes in double, so float32 denormals are normal
numbers there; a frame at double-denormal scale underflows to an exactly
zero termination value and stops after one iteration; a denormal floor under
a normal signal leaves the transforms' values normal.  No flush-to-zero mode
is needed (and none is set: it would change which samples are reliable).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip.examples import music  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--preset", default="average")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sr = 48000
    x = np.clip(music(sr, args.seconds, 2), -0.3, 0.3)
    rng = np.random.default_rng(0)
    cases = [("normal", x, 0.3),
             ("normal + denormal floor (1e-310 noise)", x + rng.normal(size=x.shape) * 1e-310, 0.3),
             ("float32-denormal scale (1e-40)", x * 1e-40, 0.3e-40),
             ("double-denormal scale (1e-310)", x * 1e-310, 0.3e-310)]
    rows, data = [], []
    for name, xi, th in cases:
        best, st = np.inf, None
        for _ in range(args.repeats):
            d = rtdeclip.Declipper(sr, channels=2, preset=args.preset, threshold=th, epsilon=0.0,
                                   plan="estimate")
            t0 = time.process_time()
            y = d.process(xi)
            el = time.process_time() - t0
            if el < best:
                best, st = el, d.stats
            assert np.all(np.isfinite(y))
        per_it = best / max(1, st["iterations"])
        rows.append([name, f"{1000 * best:.1f}", f"{best / args.seconds:.3f}", st["frames_solved"],
                     st["iterations"], f"{1e6 * per_it:.1f}"])
        data.append({"case": name, "cpu_s": best, "frames_solved": st["frames_solved"],
                     "iterations": st["iterations"], "us_per_iteration": 1e6 * per_it})
        print(rows[-1], flush=True)
    md = (f"Denormal inputs, preset {args.preset} with epsilon 0 (every frame runs its whole budget "
          f"unless the termination value is exactly 0), {args.seconds:.0f} s stereo 48 kHz, best of "
          f"{args.repeats}:\n\n" +
          md_table(["input", "CPU ms", "CPU s per s", "frames solved", "iterations", "us / iteration"],
                   rows))
    write_results("denormals", {"machine": machine(), "preset": args.preset, "cases": data}, md)


if __name__ == "__main__":
    main()
