"""Quality of solver settings on SQAM (input SDR 3 and 10 dB), for tuning
the presets.  Each config is a JSON dict of Declipper keyword arguments.

    python benchmarks/explore.py ../shared/data/sqam '{"window": 2048, "iterations": 60}' ...
"""
import argparse
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SQAM, read_sqam  # noqa: E402

import rtdeclip  # noqa: E402


def case(job):
    folder, name, sdr_in, cfg = job
    x, sr = read_sqam(folder, name)
    y, theta = rtdeclip.clip_to_sdr(x, sdr_in)
    kw = dict(preset="average", threshold=theta, jobs=1, plan="measure")
    kw.update(cfg)
    t0 = time.process_time()
    out, stats = rtdeclip.declip(y, sr, return_stats=True, **kw)
    cpu = time.process_time() - t0
    return sdr_in, rtdeclip.sdr(x, out) - rtdeclip.sdr(x, y), cpu / (len(x) / sr), stats[0]


def evaluate(folder, cfg, sdrs=(3, 10), pool=None, excerpts=SQAM):
    jobs = [(folder, n, s, cfg) for s in sdrs for n in excerpts]
    res = pool.map(case, jobs) if pool else list(map(case, jobs))
    out = {}
    for s in sdrs:
        rows = [r for r in res if r[0] == s]
        out[s] = (float(np.mean([r[1] for r in rows])), float(np.mean([r[2] for r in rows])))
    d = rtdeclip.Declipper(44100, **{k: v for k, v in cfg.items() if k != "jobs"},
                           threshold=0.5, plan="estimate")
    return out, d.latency_samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sqam")
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--excerpts", default=",".join(SQAM))
    args = ap.parse_args()
    with Pool(args.jobs) as pool:
        for c in args.configs:
            cfg = json.loads(c)
            res, lat = evaluate(args.sqam, cfg, pool=pool, excerpts=args.excerpts.split(","))
            print(f"{c:90s} lat {lat:5d}  " + "  ".join(
                f"{s}dB: {d:6.2f} dB cpu/s {cpu:5.3f}" for s, (d, cpu) in res.items()), flush=True)


if __name__ == "__main__":
    main()
