"""The first half second of a stream: music that opens on a held note,
not clipped or lightly clipped, through the ffmpeg command line's codecs,
streamed by a `Declipper(threshold="auto")` in blocks of 512.

    python benchmarks/stream_starts.py [--seeds 1-24] [--levels 0.80,0.95] [--jobs 2]

A stream knows nothing at its start.  A held note piles its peaks up at one
level in the first 50 ms, which the amplitude histogram cannot tell from a
codec-smeared rail; the ripple test (csrc/peak_runs.h) can, from the shape
of the runs above that level.  Each case: stereo `rtdeclip.examples.music`
(2 s, one seed), scaled to a 0.95 peak and clipped at `level` (0.95: not
clipped), written as 16-bit WAV, encoded and decoded.  Reported: ΔSDR
against the clean signal over the first 0.5 s and over the whole, and the
output's SDR against its own input (999: the same samples, as in
unclipped.py).  A case
"loses" when its first half second comes out more than 0.5 dB worse.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402
from lossy import CODECS, decode, sdr, to_rate, write_wav16  # noqa: E402
from unclipped import changed_db  # noqa: E402

SR, SECONDS = 44100, 2.0


def case(args):
    import rtdeclip
    from rtdeclip.examples import music
    seed, level, codec = args
    with tempfile.TemporaryDirectory() as tmp:
        x = music(SR, SECONDS, 2, seed=seed)
        x = x * (0.95 / np.max(np.abs(x)))
        wav = os.path.join(tmp, "in.wav")
        write_wav16(wav, np.clip(x, -level, level), SR)
        ext, opts = CODECS[codec]
        out = os.path.join(tmp, "out" + ext)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, *opts, out],
                       check=True)
        d, rate = decode(out)
    if rate != SR:
        x = to_rate(x, SR, rate)
    n = min(len(x), len(d))
    dec = rtdeclip.Declipper(rate, channels=2, preset="fastest", threshold="auto")
    outs = [dec.process(np.ascontiguousarray(d[i:i + 512])) for i in range(0, len(d), 512)]
    y = np.concatenate(outs + [dec.flush()])[dec.latency_samples:][:n]
    x, d = x[:n], d[:n]
    half = slice(0, rate // 2)
    return {"seed": seed, "level": level, "codec": codec,
            "first_half_delta_sdr": sdr(x[half], y[half]) - sdr(x[half], d[half]),
            "delta_sdr": sdr(x, y) - sdr(x, d), "output_vs_input_sdr": changed_db(d, y)}


def seeds(text):
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-24")
    ap.add_argument("--levels", default="0.80,0.95")
    ap.add_argument("--codecs", default="mp3_128k,aac_128k,vorbis_q4,opus_96k")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--name", default="stream_starts")
    a = ap.parse_args()
    jobs = [(s, float(lv), c) for s in seeds(a.seeds) for lv in a.levels.split(",")
            for c in a.codecs.split(",")]
    t0 = time.time()
    with ProcessPoolExecutor(a.jobs) as ex:
        rows = list(ex.map(case, jobs))
    lost = [r for r in rows if r["first_half_delta_sdr"] < -0.5]
    summary = []
    for c in a.codecs.split(","):
        for lv in a.levels.split(","):
            sel = [r for r in rows if r["codec"] == c and r["level"] == float(lv)]
            bad = [r for r in sel if r["first_half_delta_sdr"] < -0.5]
            summary.append([c, lv, f"{len(bad)}/{len(sel)}",
                            f"{min(r['first_half_delta_sdr'] for r in sel):.2f}",
                            f"{sum(r['delta_sdr'] for r in sel):.2f}"])
    md = [f"`python benchmarks/stream_starts.py --seeds {a.seeds} --levels {a.levels}` "
          f"(music seeds {a.seeds}, {SECONDS:g} s stereo, peak 0.95, clipped at {a.levels}; "
          f"`fastest`; {time.time() - t0:.0f} s wall)\n",
          "#### Streams whose first 0.5 s lose more than 0.5 dB\n",
          md_table(["codec", "clip level", "lose", "worst first-0.5 s ΔSDR (dB)",
                    "sum of whole-stream ΔSDR (dB)"], summary),
          f"\n{len(lost)} of {len(rows)} streams lose in their first half second.\n"]
    if lost:
        md.append(md_table(["seed", "clip level", "codec", "first 0.5 s ΔSDR", "whole ΔSDR",
                            "output vs input SDR"],
                           [[r["seed"], r["level"], r["codec"],
                             f"{r['first_half_delta_sdr']:.2f}", f"{r['delta_sdr']:.2f}",
                             f"{r['output_vs_input_sdr']:.1f}"]
                            for r in sorted(lost, key=lambda r: r["first_half_delta_sdr"])]))
    write_results(a.name, {"machine": machine(), "args": vars(a), "rows": rows}, "\n".join(md))


if __name__ == "__main__":
    main()
