"""Real-time factor on music against the never-converging worst case, for
settings whose CPU depends on the signal (the budget pool, second_solve).

Stereo pairs of SQAM excerpts (44.1 kHz) clipped at input SDR 3 and 10 dB
(true levels), and the never-converging signal (stereo 48 kHz), each run
through `Declipper.process` in blocks of 256 on one thread; CPU time of
that thread.  Configurations alternate within each round (the machine is
shared: compare within a run).

    python benchmarks/music_rtf.py ../shared/data/sqam '{"preset":"lowlatency"}' \
        '{"preset":"lowlatency","second_solve":0}' --rounds 2
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SQAM, read_sqam  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip import examples  # noqa: E402

PAIRS = [(SQAM[2 * i], SQAM[2 * i + 1]) for i in range(len(SQAM) // 2)]


def signals(folder):
    """(name, stereo signal, rate, per-channel levels) of every case."""
    out = []
    for sdr_in in (3, 10):
        ys, levels = [], []
        for a, b in PAIRS:
            chans = []
            for n in (a, b):
                x, sr = read_sqam(folder, n)
                y, th = rtdeclip.clip_to_sdr(x, sdr_in)
                chans.append((y, th))
            m = min(len(c[0]) for c in chans)
            ys.append(np.stack([c[0][:m] for c in chans], axis=1))
            levels.append([(c[1], -c[1]) for c in chans])
        out.append((f"SQAM pairs @{sdr_in} dB", ys, sr, levels))
    y = examples.never_converging(48000, 6.0, 0)
    out.append(("never-converging 48 kHz", [y], 48000, [[(0.3, -0.3)] * 2]))
    return out


def rtf(ys, sr, levels, cfg):
    audio = cpu = 0.0
    for y, lv in zip(ys, levels):
        d = rtdeclip.Declipper(sr, channels=2, threshold=lv, threads=1, plan="estimate", **cfg)
        out = np.empty((256, 2))
        t0 = time.thread_time()
        for i in range(0, len(y) - 255, 256):
            d.process(np.ascontiguousarray(y[i:i + 256]), out=out)
        cpu += time.thread_time() - t0
        audio += len(y) / sr
    return audio / cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam")
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    cfgs = [json.loads(c) for c in args.configs]
    for name, ys, sr, levels in signals(args.sqam):
        for rnd in range(args.rounds):
            res = [rtf(ys, sr, levels, c) for c in cfgs]
            print(f"{name:26s} round {rnd + 1}: " +
                  "  ".join(f"{c}: {r:.2f}x" for c, r in zip(args.configs, res)), flush=True)


if __name__ == "__main__":
    main()
