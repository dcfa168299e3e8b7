"""HighQuality against the survey's best method (social sparsity with PEW,
``SS_PEW``) on all 70 SQAM cases, and its CPU time against the survey's
A-SPADE in our C core, measured in the same run.

    python benchmarks/highquality.py ../shared/data/sqam ../shared/data/survey_dsdr.csv --jobs 2

Every case runs ``declip(..., preset="highquality")`` with the true clip
level (the survey's clipping).  A-SPADE at the survey's settings costs about
an hour of CPU for the 70 cases (results/survey.md), so it is timed in this
run on ``--aspade-cases`` (default: one excerpt per input SDR, cycling through
the excerpts) and the same cases' HighQuality time is set against it.
CPU time (time.process_time of the worker) throughout: the machine is
shared.  Cases are appended to results/highquality_cases.jsonl as they
finish, so an interrupted run resumes (delete the file to start afresh).

Other settings against the same cases: ``--social JSON`` (over the
preset's), ``--cases`` (a subset), ``--seconds`` (the first seconds of each
excerpt, for quick comparisons), ``--name`` (result files), e.g. the mean of
two solves on the A-SPADE cases:

    python benchmarks/highquality.py ../shared/data/sqam ../shared/data/survey_dsdr.csv \
        --jobs 1 --social '{"social_neigh2": [5, 7]}' --name highquality_two \
        --cases a08_violin:1,a25_harp:3,a42_accordion:5,a66_wind_ensemble_stravinsky:7,\
a18_bassoon:10,a41_celesta:15,a60_piano_schubert:20
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
from rtdeclip.core import params  # noqa: E402

SDRS = [1, 3, 5, 7, 10, 15, 20]


def run_case(job):
    folder, excerpt, sdr_in, method, seconds, social, precision = job
    x, sr = read_sqam(folder, excerpt)
    if seconds:  # quick comparisons between settings (not against the survey)
        x = x[:int(seconds * sr)]
    y, theta = rtdeclip.clip_to_sdr(x, sdr_in)
    if method == "highquality":
        kw = dict(preset="highquality", social=social, precision=precision)
    else:  # the survey's A-SPADE (benchmarks/survey.py)
        kw = dict(preset="highquality", algorithm="aspade", window=8192, hop=2048,
                  redundancy=2, s=1, r=2, epsilon=0.1, iterations=None)
    t0 = time.process_time()
    xr = rtdeclip.declip(y, sr, threshold=theta, jobs=1, **kw)
    dt = time.process_time() - t0
    return {"excerpt": excerpt, "input_sdr": sdr_in, "method": method,
            "delta_sdr": rtdeclip.sdr(x, xr) - rtdeclip.sdr(x, y), "cpu_seconds": dt,
            "samples": len(x)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam", help="folder with the SQAM wavs (../shared/data/sqam)")
    ap.add_argument("published", help="survey_dsdr.csv")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--excerpts", default=",".join(SQAM))
    ap.add_argument("--sdrs", default=",".join(map(str, SDRS)))
    ap.add_argument("--aspade-cases", default=None, metavar="EXCERPT:SDR,...",
                    help="cases on which A-SPADE is timed (default: one per input SDR)")
    ap.add_argument("--report-only", action="store_true",
                    help="write the tables from the cases done so far, run nothing")
    ap.add_argument("--seconds", type=float, default=0,
                    help="only the first SECONDS of each excerpt (quick comparisons of "
                         "settings; the survey's figures are for whole excerpts, so the "
                         "tables are written to results/highquality_short.* instead)")
    ap.add_argument("--social", default=None, metavar="JSON",
                    help='social settings over the preset\'s, e.g. \'{"social_neigh2": [5, 7]}\'')
    ap.add_argument("--precision", default=None, choices=["double", "single"],
                    help="the social solver's transforms (default: the preset's)")
    ap.add_argument("--cases", default=None, metavar="EXCERPT:SDR,...",
                    help="HighQuality on these cases only (default: every excerpt x input SDR)")
    ap.add_argument("--name", default=None,
                    help="name of the result files (default highquality, or highquality_short "
                         "with --seconds)")
    args = ap.parse_args()
    social = json.loads(args.social) if args.social else None
    pub = survey_table(args.published)
    excerpts, sdrs = args.excerpts.split(","), [int(s) for s in args.sdrs.split(",")]
    if args.aspade_cases:
        asp = [(e, int(s)) for e, s in (c.split(":") for c in args.aspade_cases.split(","))]
    else:
        asp = [(excerpts[(3 * i) % len(excerpts)], s) for i, s in enumerate(sdrs)]
    name = args.name or ("highquality_short" if args.seconds else "highquality")
    log = os.path.join(RESULTS, name + "_cases.jsonl")
    os.makedirs(RESULTS, exist_ok=True)
    settings = params.resolve(44100, "highquality", social=social, precision=args.precision)
    done = {}
    if os.path.exists(log):
        for line in open(log):
            r = json.loads(line)
            done[(r["excerpt"], r["input_sdr"], r["method"])] = r
    # each timed A-SPADE case runs next to the same case's HighQuality (so a
    # change of the shared machine's load hits both alike), the other
    # A-SPADE cases first, then excerpt by excerpt: an interrupted run has
    # whole rows
    cases = [(e, s) for e in excerpts for s in sdrs]
    if args.cases:
        cases = [(e, int(s)) for e, s in (c.split(":") for c in args.cases.split(","))]
    jobs = [(args.sqam, e, s, "aspade", args.seconds, None, None) for e, s in asp
            if (e, s) not in cases]
    for e, s in cases:
        if (e, s) in asp:
            jobs.append((args.sqam, e, s, "aspade", args.seconds, None, None))
        jobs.append((args.sqam, e, s, "highquality", args.seconds, social, args.precision))
    jobs = [j for j in jobs if (j[1], j[2], j[3]) not in done and not args.report_only]
    if jobs:  # FFTW wisdom, once
        rtdeclip.Declipper(44100, preset="highquality")
        rtdeclip.Declipper(44100, preset="highquality", algorithm="aspade")
    with Pool(args.jobs) as pool, open(log, "a") as f:
        for r in pool.imap_unordered(run_case, jobs):
            done[(r["excerpt"], r["input_sdr"], r["method"])] = r
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(f"{r['method']:11s} {r['excerpt']:30s} {r['input_sdr']:2d} dB  "
                  f"dSDR {r['delta_sdr']:7.3f}  (SS_PEW {pub[('SS_PEW', r['excerpt'], r['input_sdr'])]:6.2f})"
                  f"  {r['cpu_seconds']:6.1f} s", flush=True)

    hq = {(e, s): done[(e, s, "highquality")] for s in sdrs for e in excerpts
          if (e, s, "highquality") in done}
    rows = []
    for s in sdrs:
        cases = [hq[(e, s)] for e in excerpts if (e, s) in hq]
        if not cases:
            continue
        ours = np.mean([c["delta_sdr"] for c in cases])
        row = [s, len(cases), f"{ours:.2f}"]
        for m in ("SS_PEW", "aspade"):
            row.append(f"{np.mean([pub[(m, c['excerpt'], s)] for c in cases]):.2f}")
        row.append(f"{ours - float(row[3]):+.2f}")
        row.append(f"{np.mean([c['cpu_seconds'] for c in cases]):.1f}")
        rows.append(row)
    md = (f"HighQuality = `{settings.algorithm}` (window {settings.window}, hop {settings.hop}, "
          f"redundancy {settings.redundancy}, "
          f"{settings.iterations or settings.social_iterations} iterations per block, "
          f"lambda {settings.social_lambda}, {settings.social_levels} levels, "
          f"neighbourhood {settings.social_neigh}, precision {settings.precision}"
          + (f", mean with a second solve at {settings.social_neigh2}"
             if settings.social_neigh2 else "")
          + (f", each solve's output {1 - settings.social_tail_weight:g} x its last iterate + "
             f"{settings.social_tail_weight:g} x the mean of its last {settings.social_tail:g} "
             f"of iterations" if settings.social_tail else "") + ")\n\n")
    md += md_table(["input SDR (dB)", "cases", "HighQuality ΔSDR", "SS_PEW (survey)",
                    "A-SPADE (survey)", "HighQuality − SS_PEW", "CPU s per case"], rows)
    md += "\n\nPer excerpt (ΔSDR dB, HighQuality / SS_PEW):\n\n"
    prow = []
    for e in excerpts:
        prow.append([e] + [f"{hq[(e, s)]['delta_sdr']:.2f} / {pub[('SS_PEW', e, s)]:.2f}"
                           if (e, s) in hq else "-" for s in sdrs])
    md += md_table(["excerpt"] + [f"{s} dB" for s in sdrs], prow)
    total_hq = sum(c["cpu_seconds"] for c in hq.values())
    timing = {"highquality_total_cpu_s": total_hq, "cases": len(hq)}
    pairs = [(done[(e, s, "aspade")], hq[(e, s)]) for e, s in asp
             if (e, s, "aspade") in done and (e, s) in hq]
    if pairs:
        t_asp = sum(p[0]["cpu_seconds"] for p in pairs)
        t_hq = sum(p[1]["cpu_seconds"] for p in pairs)
        timing.update(aspade_cases=[f"{p[0]['excerpt']}:{p[0]['input_sdr']}" for p in pairs],
                      aspade_cpu_s=t_asp, highquality_same_cases_cpu_s=t_hq,
                      ratio=t_hq / t_asp)
        md += (f"\n\nCPU time: HighQuality {total_hq:.0f} s for {len(hq)} cases.  "
               f"Same run, on "
               + (f"all {len(pairs)} cases" if len(pairs) == len(hq) else
                  f"the {len(pairs)} cases {', '.join(timing['aspade_cases'])}")
               + f": survey A-SPADE {t_asp:.0f} s, HighQuality "
               f"{t_hq:.0f} s (ratio {t_hq / t_asp:.2f}); A-SPADE ΔSDR there "
               f"{np.mean([p[0]['delta_sdr'] for p in pairs]):.2f} dB against HighQuality "
               f"{np.mean([p[1]['delta_sdr'] for p in pairs]):.2f} dB.")
    payload = {"machine": machine(), "settings": settings.__dict__, "timing": timing,
               "cases": list(done.values())}
    if args.seconds:
        md = f"First {args.seconds:g} s of each excerpt (survey columns: whole excerpts)\n\n" + md
    payload["seconds"] = args.seconds
    write_results(name, payload, md)


if __name__ == "__main__":
    main()
