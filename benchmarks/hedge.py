"""Smeared rails hedged over their width (rtdeclip.core.hedge) against one
solve at the declared width, offline and in a stream.

    python benchmarks/hedge.py ../shared/data/sqam

The clips of benchmarks/lossy.py (SQAM violin, speech-like, pop-like,
music; 3 s), clipped at input SDR 3, 7, 10 and 20 dB, then smeared the
ways users meet: resampled 44.1 -> 48 kHz by ffmpeg (a CD track in a
48 kHz video or sound server; the 16 kHz speech-like clip to 48 kHz),
white noise of 1e-4 added after clipping (dither, a gain change), and
two codecs through the ffmpeg command line (MP3 128k, AAC 128k).  Each
case is declipped by ``rtdeclip.declip(threshold="auto")`` (told the
input is lossy for the codecs, as ``rtdeclip file`` is) with ``hedge``
True and False, and hedged with the second pass over it (``second_pass``,
:mod:`rtdeclip.core.named`); ΔSDR against the clean signal (resampled alongside for
the 48 kHz cases) and the CPU time of both, measured in the same run.
The same smeared signals also go through a ``Declipper(threshold="auto")``
stream in blocks of 512 with ``hedge`` 0 and 5 (the stream hedge in the C
core, ``rtdeclip live --hedge 5``), online levels.
Cases whose rails are all exact have nothing to hedge and are counted
apart.  Results: benchmarks/results/hedge.{json,md}.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_results, md_table, machine  # noqa: E402
import lossy  # noqa: E402

SMEARS = ("resampled_48k", "noise_1e-4", "mp3_128k", "aac_128k")


def smeared(kind, y, sr, base, rng):
    """The clipped clip ``y`` smeared as ``kind``: (signal, rate, lossy)."""
    if kind == "noise_1e-4":
        return y + 1e-4 * rng.standard_normal(y.shape), sr, False
    if kind == "resampled_48k":
        lossy.write_wav16(base + ".wav", y, sr)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", base + ".wav", "-ar",
                        "48000", "-c:a", "pcm_f32le", base + "_48k.wav"], check=True)
        d, rate = lossy.decode(base + "_48k.wav")
        return d, rate, False
    ext, opts = lossy.CODECS[kind]
    lossy.write_wav16(base + ".wav", y, sr)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", base + ".wav"] + opts
                   + [base + ext], check=True)
    d, rate = lossy.decode(base + ext)
    return d, rate, True


def case(args):
    import rtdeclip
    from rtdeclip.core.metrics import clip_to_sdr
    name, x, sr, sdr_in, presets, tmp = args
    rng = np.random.default_rng(sdr_in)
    _, theta = clip_to_sdr(x.ravel(), sdr_in)
    y = np.round(np.clip(x, -theta, theta) * 32768) / 32768
    base = os.path.join(tmp, f"{abs(hash(name)) % 10**8}_{sdr_in}")
    rows = []
    for kind in SMEARS:
        d, rate, is_lossy = smeared(kind, y, sr, base, rng)
        clean = x if rate == sr else lossy.to_rate(x, sr, rate)
        n = min(len(clean), len(d))
        methods = [m for f in rtdeclip.detect_clipping(d, rate, lossy=is_lossy) for m in f.method]
        for preset in presets:
            row = {"clip": name, "input_sdr": sdr_in, "smear": kind, "preset": preset,
                   "methods": methods}
            for key, hedge, second in (("single", False, False), ("hedged", True, False),
                                       ("second_pass", True, True)):
                t0 = time.process_time()
                out = rtdeclip.declip(d, rate, preset=preset, lossy=is_lossy, hedge=hedge,
                                      second_pass=second, jobs=1)
                cpu = time.process_time() - t0
                row[key] = lossy.sdr(clean[:n], out[:n]) - lossy.sdr(clean[:n], d[:n])
                row[key + "_cpu_s"] = cpu
            for h in (0, 5):
                t0 = time.process_time()
                out, _, det = lossy.run_stream(d, rate, preset, hedge=h)
                cpu = time.process_time() - t0
                key = "stream_hedged" if h else "stream_single"
                row[key] = lossy.sdr(clean[:n], out[:n]) - lossy.sdr(clean[:n], d[:n])
                row[key + "_cpu_s"] = cpu
                if h:
                    row["stream_methods"] = [m for x in det for m in x["method"]]
            rows.append(row)
    print(f"  {name} @ {sdr_in} dB: done", flush=True)
    return rows


def summarise(rows):
    lines = []
    for mode, single, hedged, methods in (("offline", "single", "hedged", "methods"),
                                          ("offline, second pass over the hedge", "hedged",
                                           "second_pass", "methods"),
                                          ("stream, hedge 5", "stream_single", "stream_hedged",
                                           "stream_methods")):
        for preset in sorted({r["preset"] for r in rows}):
            table = []
            for kind in SMEARS:
                rs = [r for r in rows if r["preset"] == preset and r["smear"] == kind
                      and any(m in ("noisy", "codec") for m in r.get(methods, []))]
                if not rs:
                    continue
                gain = np.array([r[hedged] - r[single] for r in rs])
                cpu = sum(r[hedged + "_cpu_s"] for r in rs) / max(
                    1e-9, sum(r[single + "_cpu_s"] for r in rs))
                table.append([kind, f"{len(rs)}", f"{np.mean([r[single] for r in rs]):.2f}",
                              f"{np.mean([r[hedged] for r in rs]):.2f}", f"{gain.mean():+.2f}",
                              f"{gain.min():+.2f}", f"{gain.max():+.2f}",
                              f"{int((gain > 0).sum())}/{len(rs)}", f"{cpu:.1f}x"])
            exact = sum(1 for r in rows if r["preset"] == preset
                        and not any(m in ("noisy", "codec") for m in r.get(methods, [])))
            lines.append(f"#### {preset}, {mode} (mean ΔSDR dB over the cases with a smeared "
                         f"rail; {exact} cases with exact rails only left out)\n")
            a, b = (("hedged", "second pass") if hedged == "second_pass"
                    else ("single", "hedged"))
            lines.append(md_table(["smear", "cases", a, b, "gain", "min", "max",
                                   "cases gaining", f"CPU {b}/{a}"], table))
            lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    lossy.clip_arguments(ap)
    ap.add_argument("--sdrs", default="3,7,10,20")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="rtdeclip-hedge-") as tmp:
        tasks = [(n, x, sr, int(s), a.presets.split(","), tmp)
                 for n, x, sr in lossy.clips(a.sqam, a.excerpts.split(","), a.seconds)
                 for s in a.sdrs.split(",")]
        with ProcessPoolExecutor(a.jobs) as pool:
            rows = [r for rs in pool.map(case, tasks) for r in rs]
    head = (f"`python benchmarks/hedge.py {shlex.join(sys.argv[1:])}` ({time.time() - t0:.0f} s "
            f"wall on the shared machine; CPU times measured in the same run)\n\n")
    write_results("hedge", {"machine": machine(), "args": vars(a), "rows": rows},
                  head + summarise(rows))


if __name__ == "__main__":
    main()
