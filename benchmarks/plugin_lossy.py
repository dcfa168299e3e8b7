"""Clipped music shared as MP3, AAC or Opus through the plug-ins in ffmpeg:
the lossy variant (rtdeclip_stereo_lossy: the second pass over a codec's
smeared rail and a hedge of 2, as Declipper(codec="mp3")) against the
standard one (rtdeclip_stereo).

    python benchmarks/plugin_lossy.py [--seconds 4] [--seeds 4,5] [--sdrs 3,7,10]
                                      [--codecs mp3_128k,mp3_320k,aac_128k,opus_96k]

Synthetic stereo music (rtdeclip.examples.music, 44.1 kHz), clipped at
each input SDR on the 16-bit grid, 16-bit WAV, encoded by the ffmpeg
command line (benchmarks/lossy.py's codec options) and decoded by ffmpeg
to a float WAV (Opus at 48 kHz, the clean signal resampled for it).
Each decoded file goes through `ffmpeg -af ladspa=...:latency=1` with each
variant at its defaults (average, auto levels; for Opus the codec control
at 1 in both, its DC reject undone and its own width); ΔSDR against the
clean signal over the whole file (mean of the channels), and the CPU of
the ffmpeg run.  Results: benchmarks/results/plugin_lossy.{json,md}.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import machine, md_table, write_results  # noqa: E402
import lossy  # noqa: E402
from plugins import children_cpu  # noqa: E402  (benchmarks/plugins.py)

from rtdeclip import plugins  # noqa: E402
from rtdeclip.core.metrics import clip_to_sdr  # noqa: E402
from rtdeclip.examples import music  # noqa: E402

RATE = 44100
VARIANTS = ("stereo", "stereo_lossy")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def case(x, sdr_in, codec, tmp):
    _, theta = clip_to_sdr(x.ravel(), sdr_in)
    src = os.path.join(tmp, "in.wav")
    lossy.write_wav16(src, np.clip(x, -theta, theta), RATE)
    ext, opts = lossy.CODECS[codec]
    coded = os.path.join(tmp, "coded" + ext)
    ffmpeg("-i", src, *opts, coded)
    dec = os.path.join(tmp, "dec.wav")
    ffmpeg("-i", coded, "-c:a", "pcm_f32le", dec)
    d, rate = lossy.decode(dec)
    clean = x if rate == RATE else lossy.to_rate(x, RATE, rate)
    n = min(len(clean), len(d))
    before = float(np.mean(lossy.sdr(clean[:n], d[:n])))
    row = {"input_sdr": sdr_in, "codec": codec, "rate": rate, "sdr_before": before}
    controls = "controls=c9=1:" if codec.startswith("opus") else ""
    for v in VARIANTS:
        out = os.path.join(tmp, f"out_{v}.wav")
        c0 = children_cpu()
        ffmpeg("-i", dec, "-af", f"ladspa=file={plugins.ladspa_library()}:"
               f"plugin={plugins.LADSPA_LABELS[v]}:{controls}latency=1", "-c:a", "pcm_f32le", out)
        cpu = children_cpu() - c0
        y, _ = lossy.decode(out)
        m = min(n, len(y))
        row[v] = {"delta_sdr": float(np.mean(lossy.sdr(clean[:m], y[:m])
                                             - lossy.sdr(clean[:m], d[:m]))),
                  "ffmpeg_cpu_s": cpu}
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seeds", default="4,5")
    ap.add_argument("--sdrs", default="3,7,10")
    ap.add_argument("--codecs", default="mp3_128k,mp3_320k,aac_128k,opus_96k")
    a = ap.parse_args()
    codecs = [c for c in a.codecs.split(",") if c]
    unknown = [c for c in codecs if c not in lossy.CODECS]
    if unknown:
        ap.error(f"unknown codec {unknown[0]!r}: choose from {', '.join(lossy.CODECS)}")
    sdrs = [int(s) for s in a.sdrs.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in map(int, a.seeds.split(",")):
            x = music(RATE, a.seconds, 2, seed=seed)
            for s in sdrs:
                for codec in codecs:
                    r = case(x, s, codec, tmp)
                    r["seed"] = seed
                    rows.append(r)
                    print(f"  seed {seed} @ {s} dB {codec}: standard "
                          f"{r['stereo']['delta_sdr']:.2f}, lossy "
                          f"{r['stereo_lossy']['delta_sdr']:.2f}", flush=True)
    table = []
    for s in sdrs:
        for codec in codecs:
            sel = [r for r in rows if r["input_sdr"] == s and r["codec"] == codec]
            std = np.mean([r["stereo"]["delta_sdr"] for r in sel])
            los = np.mean([r["stereo_lossy"]["delta_sdr"] for r in sel])
            cpu = (sum(r["stereo_lossy"]["ffmpeg_cpu_s"] for r in sel)
                   / max(1e-9, sum(r["stereo"]["ffmpeg_cpu_s"] for r in sel)))
            better = sum(r["stereo_lossy"]["delta_sdr"] > r["stereo"]["delta_sdr"] for r in sel)
            table.append([s, codec, f"{std:.2f}", f"{los:.2f}", f"{los - std:+.2f}",
                          f"{better}/{len(sel)}", f"{cpu:.2f}"])
    diffs = [r["stereo_lossy"]["delta_sdr"] - r["stereo"]["delta_sdr"] for r in rows]
    md = ("### Clipped music shared lossy, through the plug-ins in ffmpeg "
          f"(mean ΔSDR dB over {len(a.seeds.split(','))} synthetic stereo clips of "
          f"{a.seconds:g} s)\n\n"
          + md_table(["input SDR", "codec", "rtdeclip_stereo", "rtdeclip_stereo_lossy",
                      "difference", "lossy better", "ffmpeg CPU lossy / standard"], table)
          + f"\n\nAll {len(rows)} files: lossy better in {sum(d > 0 for d in diffs)}, "
          f"{np.mean(diffs):+.2f} dB on the mean ({min(diffs):+.2f} … {max(diffs):+.2f}).  "
          f"Command: `python benchmarks/plugin_lossy.py --seconds {a.seconds:g} --seeds {a.seeds} "
          f"--sdrs {a.sdrs} --codecs {','.join(codecs)}`.\n")
    write_results("plugin_lossy", {"machine": machine(), "args": vars(a), "rows": rows}, md)


if __name__ == "__main__":
    main()
