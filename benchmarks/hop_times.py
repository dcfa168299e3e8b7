"""Time per hop of the block processor, with and without the budget pool:
what a live host has to absorb.

Stereo 48 kHz music clipped all along at input SDR 5 dB (the 60-second live
test's signal), in blocks of 256 (the live host's default); the wall time of
every process() call that completes a hop, as percentiles of the hop's
duration (10.7 ms at window 2048).  A pooled frame may run budget_pool times
the budget, so the pool shows in the tail, not in the mean.

    python benchmarks/hop_times.py [--seconds 20]
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

SR, BLOCK = 48000, 256


def hop_times(y, theta, **kw):
    d = rtdeclip.Declipper(SR, channels=2, threshold=theta, **kw)
    out = np.empty((BLOCK, 2))
    times = []
    done = 0
    for i in range(0, len(y) - BLOCK + 1, BLOCK):
        blk = np.ascontiguousarray(y[i:i + BLOCK])
        t0 = time.perf_counter()
        d.process(blk, out=out)
        dt = time.perf_counter() - t0
        n = d.stats["frames_solved"] + d.stats["frames_skipped"]
        if n > done:          # this call completed a hop
            times.append(dt)
            done = n
    return np.array(times), d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    clean = music(SR, seconds=6.0, channels=2)
    _, theta = rtdeclip.clip_to_sdr(clean[:, 0], 5.0)
    y = np.tile(np.clip(clean, -theta, theta), (int(np.ceil(args.seconds / 6.0)), 1))
    y = y[:int(args.seconds * SR)]
    rows, data = [], []
    for preset in ("fastest", "average"):
        for pool in (0, 2, 3):
            t, d = hop_times(y, theta, preset=preset, budget_pool=pool)
            hop_s = d.settings.hop / SR
            st = d.stats
            pct = {q: float(np.percentile(t, q)) for q in (50, 99, 99.9)}
            pct["max"] = float(t.max())
            rows.append([preset, pool, d.settings.iterations, st["max_frame_iterations"],
                         f"{st['iterations'] / max(1, st['frames_solved']):.1f}",
                         f"{st['pooled_iterations'] / max(1, st['iterations']) * 100:.1f} %"]
                        + [f"{1000 * v:.2f} ({100 * v / hop_s:.0f} %)" for v in pct.values()])
            data.append({"preset": preset, "budget_pool": pool, "iterations": d.settings.iterations,
                         "hop_s": hop_s, "stats": st, "hop_time_s": pct})
            print(rows[-1], flush=True)
    md = (f"Wall time of the process() calls that complete a hop, stereo {SR} Hz music clipped "
          f"at 5 dB all along, blocks of {BLOCK}, {args.seconds:g} s (ms, and % of the hop):\n\n"
          + md_table(["preset", "budget_pool", "budget", "max iterations", "iterations per frame",
                      "pooled", "median", "99 %", "99.9 %", "max"], rows))
    write_results("hop_times", {"machine": machine(), "seconds": args.seconds, "rows": data}, md)


if __name__ == "__main__":
    main()
