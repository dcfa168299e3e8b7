"""Survey reproduction: A-SPADE and S-SPADE at the survey's settings on the
ten SQAM excerpts at 7 input SDRs, against the published delta-SDR.

    python benchmarks/survey.py ../shared/data/sqam ../shared/data/survey_dsdr.csv --jobs 2

Target: every case within 0.05 dB of the published value.  Cases are
written as they finish (results/survey_cases.jsonl), so an interrupted run
resumes where it stopped.  --reference-case EXCERPT:SDR also times the numpy
reference on one case, for the C/numpy ratio.
"""
import argparse
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, SQAM, machine, md_table, read_sqam, survey_table, write_results  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip.core import reference  # noqa: E402

SDRS = [1, 3, 5, 7, 10, 15, 20]
METHODS = {"aspade": "aspade", "sspade": "sspade_new"}


def run_case(job):
    folder, excerpt, sdr_in, algorithm = job
    x, sr = read_sqam(folder, excerpt)
    y, theta = rtdeclip.clip_to_sdr(x, sdr_in)
    t0 = time.perf_counter()
    xr, stats = rtdeclip.declip(y, sr, preset="highquality", algorithm=algorithm, threshold=theta,
                                window=8192, hop=2048, redundancy=2, s=1, r=2, epsilon=0.1,
                                iterations=None, jobs=1, return_stats=True)
    dt = time.perf_counter() - t0
    return {"excerpt": excerpt, "input_sdr": sdr_in, "algorithm": algorithm,
            "delta_sdr": rtdeclip.sdr(x, xr) - rtdeclip.sdr(x, y), "seconds": dt,
            "iterations": stats[0]["iterations"], "frames_solved": stats[0]["frames_solved"],
            "frames_skipped": stats[0]["frames_skipped"]}


def reference_case(folder, excerpt, sdr_in, algorithm):
    x, sr = read_sqam(folder, excerpt)
    y, theta = rtdeclip.clip_to_sdr(x, sdr_in)
    mask = (y >= theta).astype(np.int8) - (y <= -theta)
    t0 = time.perf_counter()
    xr = reference.declip(y, mask, algorithm=algorithm)
    return time.perf_counter() - t0, rtdeclip.sdr(x, xr) - rtdeclip.sdr(x, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam", help="folder with the SQAM wavs (../shared/data/sqam)")
    ap.add_argument("published", help="survey_dsdr.csv")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--algorithms", default="aspade,sspade")
    ap.add_argument("--excerpts", default=",".join(SQAM))
    ap.add_argument("--sdrs", default=",".join(map(str, SDRS)))
    ap.add_argument("--reference-case", default=None, metavar="EXCERPT:SDR",
                    help="also time the numpy reference on this case (slow)")
    args = ap.parse_args()
    pub = survey_table(args.published)
    log = os.path.join(RESULTS, "survey_cases.jsonl")
    os.makedirs(RESULTS, exist_ok=True)
    done = {}
    if os.path.exists(log):
        for line in open(log):
            r = json.loads(line)
            done[(r["excerpt"], r["input_sdr"], r["algorithm"])] = r
    jobs = [(args.sqam, e, s, a) for a in args.algorithms.split(",")
            for s in map(int, args.sdrs.split(",")) for e in args.excerpts.split(",")
            if (e, s, a) not in done]
    rtdeclip.Declipper(44100, window=8192, preset="highquality")  # FFTW wisdom, once
    with Pool(args.jobs) as pool, open(log, "a") as f:
        for r in pool.imap_unordered(run_case, jobs):
            done[(r["excerpt"], r["input_sdr"], r["algorithm"])] = r
            f.write(json.dumps(r) + "\n")
            f.flush()
            err = r["delta_sdr"] - pub[(METHODS[r["algorithm"]], r["excerpt"], r["input_sdr"])]
            print(f"{r['algorithm']:7s} {r['excerpt']:30s} {r['input_sdr']:2d} dB  "
                  f"dSDR {r['delta_sdr']:7.3f}  err {err:+.4f}  {r['seconds']:6.1f} s", flush=True)
    rows, worst, total = [], {}, {}
    for a in args.algorithms.split(","):
        for s in map(int, args.sdrs.split(",")):
            cases = [done[(e, s, a)] for e in args.excerpts.split(",") if (e, s, a) in done]
            errs = [c["delta_sdr"] - pub[(METHODS[a], c["excerpt"], s)] for c in cases]
            ours = np.mean([c["delta_sdr"] for c in cases])
            theirs = np.mean([pub[(METHODS[a], c["excerpt"], s)] for c in cases])
            secs = np.mean([c["seconds"] for c in cases])
            rows.append([a, s, f"{ours:.2f}", f"{theirs:.2f}", f"{max(map(abs, errs)):.4f}",
                         f"{secs:.1f}"])
            worst[a] = max(worst.get(a, 0), max(map(abs, errs)))
            total[a] = total.get(a, 0) + sum(c["seconds"] for c in cases)
    md = md_table(["algorithm", "input SDR (dB)", "mean ΔSDR ours", "mean ΔSDR survey",
                   "max abs error (dB)", "s per case"], rows)
    md += "\n\n" + ", ".join(f"{a}: worst case error {worst[a]:.4f} dB over "
                              f"{sum(1 for k in done if k[2] == a)} cases, "
                              f"{total[a]:.0f} s in all" for a in worst)
    payload = {"machine": machine(), "cases": list(done.values()), "worst_error": worst}
    if args.reference_case:
        e, s = args.reference_case.split(":")
        for a in args.algorithms.split(","):
            if (e, int(s), a) not in done:
                continue
            t_ref, d_ref = reference_case(args.sqam, e, int(s), a)
            c = done[(e, int(s), a)]
            ratio = t_ref / c["seconds"]
            payload.setdefault("reference", {})[a] = {"case": args.reference_case,
                                                      "numpy_seconds": t_ref,
                                                      "c_seconds": c["seconds"], "ratio": ratio,
                                                      "numpy_delta_sdr": d_ref}
            md += (f"\n\nnumpy reference on {e} at {s} dB ({a}): {t_ref:.1f} s vs C core "
                   f"{c['seconds']:.1f} s, {ratio:.1f}x faster; reference ΔSDR {d_ref:.4f} dB")
    write_results("survey", payload, md)


if __name__ == "__main__":
    main()
