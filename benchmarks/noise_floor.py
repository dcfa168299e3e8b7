"""How far a preset's SQAM figure moves when nothing that matters changes.

A budgeted SPADE solve is a chaotic map: hard thresholding keeps the k
largest coefficients, and a rounding difference that swaps the k-th and
the (k+1)-th sends the iterates elsewhere; with a fixed budget the frame
then stops at another point.  This benchmark scales every SQAM excerpt by
1 + d for a few d of 1e-9 to 1e-7 (far below any audible or measurable
change of the input: the SDR of the scaled signal against the unscaled one
is above 140 dB) and reports, per precision, the mean ΔSDR of each run, the
spread of those means (max - min) and the largest swing of one excerpt.
A difference between two settings smaller than that spread is not a
difference the SQAM mean can show.

    python benchmarks/noise_floor.py ../shared/data/sqam --preset average
    python benchmarks/noise_floor.py ../shared/data/sqam --preset lowlatency --precisions single
"""
import argparse
import json
import os
import shlex
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SQAM, machine, md_table, read_sqam, write_results  # noqa: E402

import rtdeclip  # noqa: E402

SCALES = (0.0, 1e-9, -1e-9, 1e-7)


def case(job):
    folder, name, sdr_in, preset, precision, d, extra = job
    x, sr = read_sqam(folder, name)
    x = x * (1.0 + d)
    y, theta = rtdeclip.clip_to_sdr(x, sdr_in)
    # ESTIMATE plans: the same plan in every run, so only the input moves
    out = rtdeclip.declip(y, sr, preset=preset, threshold=theta, jobs=1, plan="estimate",
                          precision=precision, **json.loads(extra))
    return job[1:6], rtdeclip.sdr(x, out) - rtdeclip.sdr(x, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam", help="folder of the SQAM excerpts (../shared/data/sqam)")
    ap.add_argument("--preset", default="average")
    ap.add_argument("--precisions", default="single,double")
    ap.add_argument("--sdrs", default="3,10")
    ap.add_argument("--config", default="{}",
                    help="more Declipper keyword arguments, as JSON (e.g. '{\"iterations\": 90}')")
    ap.add_argument("--name", help="results file suffix (default: the preset)")
    ap.add_argument("--scales", default=",".join(map(repr, SCALES)),
                    help="the d of each run, comma-separated (default: 0,1e-9,-1e-9,1e-7)")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    precisions = a.precisions.split(",")
    sdrs = [float(s) for s in a.sdrs.split(",")]
    scales = [float(d) for d in a.scales.split(",")]
    jobs = [(a.sqam, n, s, a.preset, p, d, a.config) for p in precisions for s in sdrs for d in scales
            for n in SQAM]
    t0 = time.time()
    with Pool(a.jobs) as pool:
        res = dict(pool.map(case, jobs))
    rows, data = [], []
    for p in precisions:
        for s in sdrs:
            means = [float(np.mean([res[(n, s, a.preset, p, d)] for n in SQAM])) for d in scales]
            swing = {n: float(np.ptp([res[(n, s, a.preset, p, d)] for d in scales])) for n in SQAM}
            worst = max(swing, key=swing.get)
            rows.append([p, f"{s:g}", " / ".join(f"{m:.2f}" for m in means),
                         f"{np.mean(means):.2f}", f"{np.ptp(means):.2f}",
                         f"{worst} {swing[worst]:.2f}"])
            data.append({"precision": p, "input_sdr": s, "scales": scales, "means": means,
                         "spread": float(np.ptp(means)), "excerpt_swings": swing})
    head = (f"`python benchmarks/noise_floor.py {shlex.join(sys.argv[1:])}` (preset {a.preset}, "
            f"SQAM scaled by 1 + d, d in {scales}; {time.time() - t0:.0f} s wall)\n\n")
    md = head + md_table(["precision", "input SDR", "mean ΔSDR per d", "mean of the runs",
                          "spread of the means", "largest swing of one excerpt"], rows)
    write_results(f"noise_floor_{a.name or a.preset}", {"machine": machine(), "args": vars(a),
                                              "rows": data}, md)


if __name__ == "__main__":
    main()
