"""Presets: mean delta-SDR on SQAM at input SDR 3 and 10 dB for each preset
and algorithm, with algorithmic latency and real-time factor.

    python benchmarks/presets.py ../shared/data/sqam [--jobs 2] [--presets fastest,average]

Clip levels are the true ones (the survey's protocol), so this measures the
solver, not the detector.  The real-time factor here is CPU time over audio
time on these mono 44.1 kHz excerpts (unclipped frames skipped, as in use);
benchmarks/speed.py gives the worst case (every frame clipped, stereo 48 kHz).
"""
import argparse
import os
import sys
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SQAM, machine, md_table, write_results  # noqa: E402
from explore import evaluate  # noqa: E402

import rtdeclip  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--presets", default="fastest,average,highquality")
    ap.add_argument("--algorithms", default="aspade,sspade")
    ap.add_argument("--excerpts", default=",".join(SQAM))
    args = ap.parse_args()
    rows, data = [], []
    with Pool(args.jobs) as pool:
        for preset in args.presets.split(","):
            for alg in args.algorithms.split(","):
                res, lat = evaluate(args.sqam, {"preset": preset, "algorithm": alg}, pool=pool,
                                    excerpts=args.excerpts.split(","))
                st = rtdeclip.Declipper(44100, preset=preset, algorithm=alg, plan="estimate").settings
                cpu = max(c for _, c in res.values())
                win = (f"{st.window} (low-delay, {st.synthesis_length} synthesis"
                       + (f", lookahead {st.lookahead})" if st.lookahead else ")")
                       if st.window_shape == "lowdelay" else st.window)
                rows.append([preset, alg, win, st.iterations or "converge",
                             f"{res[3][0]:.2f}", f"{res[10][0]:.2f}",
                             f"{1000 * lat / 44100:.1f}", f"{1 / cpu:.1f}x"])
                data.append({"preset": preset, "algorithm": alg, "settings": st.__dict__,
                             "delta_sdr_3db": res[3][0], "delta_sdr_10db": res[10][0],
                             "latency_samples_44k1": lat, "cpu_per_audio_s": cpu})
                print(rows[-1], flush=True)
    md = md_table(["preset", "algorithm", "window", "iterations", "ΔSDR @3 dB", "ΔSDR @10 dB",
                   "latency (ms)", "real-time factor"], rows)
    md += ("\n\nSurvey offline A-SPADE for comparison: 13.88 dB @3 dB, 17.28 dB @10 dB "
           "(mean of the ten SQAM excerpts).")
    write_results("presets", {"machine": machine(), "rows": data}, md)


if __name__ == "__main__":
    main()
