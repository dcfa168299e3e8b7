"""Clipped music shared as MP3, AAC or Opus through the plug-ins in ffmpeg:
the lossy variant (rtdeclip_stereo_lossy: the second pass over a codec's
smeared rail and a hedge of 2, as Declipper(codec="mp3")) against the
standard one (rtdeclip_stereo).

    python benchmarks/plugin_lossy.py [--seconds 4] [--seeds 4,5] [--sdrs 3,7,10]
                                      [--codecs mp3_128k,mp3_320k,aac_128k,opus_96k]
                                      [--sqam ../shared/data/sqam [--excerpts a,b,...]]

Synthetic stereo music (rtdeclip.examples.music, 44.1 kHz; with --sqam
the SQAM excerpts instead, mono, read as the survey reads them, through
the mono variants), clipped at
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
from common import machine, md_table, read_sqam, write_results  # noqa: E402
import lossy  # noqa: E402
from plugins import ffmpeg_ladspa, versus  # noqa: E402  (benchmarks/plugins.py)

from rtdeclip import plugins  # noqa: E402
from rtdeclip.core.metrics import clip_to_sdr  # noqa: E402
from rtdeclip.examples import music  # noqa: E402

RATE = 44100
VARIANTS = ("stereo", "stereo_lossy")   # the columns (mono clips: their mono twins)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def case(x, sdr_in, codec, tmp, rate=RATE):
    """x (frames, channels) at ``rate`` clipped at ``sdr_in``, through
    ``codec`` and both variants (mono clips: their mono twins): a row."""
    _, theta = clip_to_sdr(x.ravel(), sdr_in)
    src = os.path.join(tmp, "in.wav")
    lossy.write_wav16(src, np.clip(x, -theta, theta), rate)
    ext, opts = lossy.CODECS[codec]
    coded = os.path.join(tmp, "coded" + ext)
    ffmpeg("-i", src, *opts, coded)
    dec = os.path.join(tmp, "dec.wav")
    ffmpeg("-i", coded, "-c:a", "pcm_f32le", dec)
    d, dec_rate = lossy.decode(dec)          # Opus: 48 kHz
    clean = x if dec_rate == rate else lossy.to_rate(x, rate, dec_rate)
    n = min(len(clean), len(d))
    before = float(np.mean(lossy.sdr(clean[:n], d[:n])))
    row = {"input_sdr": sdr_in, "codec": codec, "rate": dec_rate, "sdr_before": before}
    controls = "controls=c9=1:" if codec.startswith("opus") else ""
    for v in VARIANTS:
        label = plugins.LADSPA_LABELS[v if x.shape[1] == 2 else v.replace("stereo", "mono")]
        row[v] = ffmpeg_ladspa(dec, label, os.path.join(tmp, f"out_{v}.wav"), clean[:n], d[:n],
                               controls)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seeds", default="4,5")
    ap.add_argument("--sdrs", default="3,7,10")
    ap.add_argument("--codecs", default="mp3_128k,mp3_320k,aac_128k,opus_96k")
    ap.add_argument("--sqam", default=None, metavar="DIR",
                    help="SQAM excerpts (../shared/data/sqam) instead of synthetic music")
    ap.add_argument("--excerpts", default=None,
                    help="with --sqam: comma-separated names (default: every .wav there)")
    ap.add_argument("--name", default="plugin_lossy", help="results: benchmarks/results/NAME.*")
    a = ap.parse_args()
    codecs = [c for c in a.codecs.split(",") if c]
    unknown = [c for c in codecs if c not in lossy.CODECS]
    if unknown:
        ap.error(f"unknown codec {unknown[0]!r}: choose from {', '.join(lossy.CODECS)}")
    sdrs = [int(s) for s in a.sdrs.split(",")]
    if a.sqam:
        if not os.path.isdir(a.sqam):
            ap.error(f"--sqam {a.sqam}: no such folder")
        names = (a.excerpts.split(",") if a.excerpts else
                 sorted(f[:-4] for f in os.listdir(a.sqam) if f.endswith(".wav")))
        missing = [n for n in names if not os.path.exists(os.path.join(a.sqam, n + ".wav"))]
        if missing:
            ap.error(f"no excerpt {missing[0]!r} in {a.sqam}")
        sources = []
        for name in names:
            x, sr = read_sqam(a.sqam, name)
            sources.append((name, x[:int(a.seconds * sr)][:, None], sr))
        what = f"{len(names)} SQAM excerpts (mono) of {a.seconds:g} s"
    else:
        sources = [(f"seed {seed}", music(RATE, a.seconds, 2, seed=seed), RATE)
                   for seed in map(int, a.seeds.split(","))]
        what = f"{len(sources)} synthetic stereo clips of {a.seconds:g} s"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip, x, sr in sources:
            for s in sdrs:
                for codec in codecs:
                    r = case(x, s, codec, tmp, sr)
                    r["clip"] = clip
                    rows.append(r)
                    print(f"  {clip} @ {s} dB {codec}: standard "
                          f"{r['stereo']['delta_sdr']:.2f}, lossy "
                          f"{r['stereo_lossy']['delta_sdr']:.2f}", flush=True)
    table = []
    for s in sdrs:
        for codec in codecs:
            sel = [r for r in rows if r["input_sdr"] == s and r["codec"] == codec]
            std, los, cpu, better = versus(sel, "stereo", "stereo_lossy")
            table.append([s, codec, f"{std:.2f}", f"{los:.2f}", f"{los - std:+.2f}",
                          f"{better}/{len(sel)}", f"{cpu:.2f}"])
    diffs = [r["stereo_lossy"]["delta_sdr"] - r["stereo"]["delta_sdr"] for r in rows]
    mono = all(x.shape[1] == 1 for _, x, _ in sources)   # the labels that ran
    shown = [plugins.LADSPA_LABELS[v.replace("stereo", "mono") if mono else v] for v in VARIANTS]
    md = ("### Clipped music shared lossy, through the plug-ins in ffmpeg "
          f"(mean ΔSDR dB over {what})\n\n"
          + md_table(["input SDR", "codec"] + shown
                     + ["difference", "lossy better", "ffmpeg CPU lossy / standard"], table)
          + f"\n\nAll {len(rows)} files: lossy better in {sum(d > 0 for d in diffs)}, "
          f"{np.mean(diffs):+.2f} dB on the mean ({min(diffs):+.2f} … {max(diffs):+.2f}).  "
          f"Command: `python benchmarks/plugin_lossy.py --seconds {a.seconds:g} "
          + (f"--sqam {a.sqam}" + (f" --excerpts {a.excerpts}" if a.excerpts else "")
             if a.sqam else f"--seeds {a.seeds}")
          + f" --sdrs {a.sdrs} --codecs {','.join(codecs)}"
          + ("" if a.name == "plugin_lossy" else f" --name {a.name}") + "`.\n")
    write_results(a.name, {"machine": machine(), "args": vars(a), "rows": rows}, md)


if __name__ == "__main__":
    main()
