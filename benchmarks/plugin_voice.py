"""A clipped voice call through the plug-ins in ffmpeg: the voice variant
(rtdeclip_mono_voice, declipping at the 16 kHz source's rate) against the
standard one (rtdeclip_mono, at the 48 kHz the call is decoded at).

    python benchmarks/plugin_voice.py [--seconds 6] [--seeds 5,6,7]

A speech-like clip (benchmarks/adeclip_compare.speech_like: voiced
syllables and pauses, 16 kHz, mono, as a microphone records it: its
glottal flow's mean off, since 2026-12-07), clipped at input SDR 3, 7 and 10 dB,
16-bit WAV, reaches 48 kHz as calls do: through Opus at 24 and 32 kb/s
(ffmpeg libopus from the 16 kHz WAV, decoded by ffmpeg at 48 kHz: the
header says 16 kHz), or resampled by ffmpeg (`-ar 48000`, wideband
telephony bridged to a 48 kHz sound server).  Each decoded 48 kHz WAV goes
through `ffmpeg -af ladspa=...:latency=1` with each variant at its
defaults (average, auto levels), and on the Opus paths the voice variant
with its codec control at 1 (the encoder's DC reject undone); ΔSDR against the clean clip resampled to
48 kHz (scipy), over the whole clip, and the CPU of the ffmpeg run.
Results: benchmarks/results/plugin_voice.{json,md}.
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
from adeclip_compare import speech_like  # noqa: E402
import lossy  # noqa: E402
from plugins import ffmpeg_ladspa, versus  # noqa: E402  (benchmarks/plugins.py)

from rtdeclip import plugins  # noqa: E402
from rtdeclip.core.metrics import clip_to_sdr  # noqa: E402

PATHS = {"opus_24k": ["-c:a", "libopus", "-b:a", "24k"],
         "opus_32k": ["-c:a", "libopus", "-b:a", "32k"],
         "resampled": ["-ar", "48000", "-c:a", "pcm_f32le"]}
EXT = {"opus_24k": ".opus", "opus_32k": ".opus", "resampled": ".wav"}
# column: (plug-in variant, controls); "told": the codec control at 1
# (Opus: the encoder's DC reject undone), on the Opus paths only
VARIANTS = {"mono": ("mono", ""), "mono_voice": ("mono_voice", ""),
            "mono_voice_told": ("mono_voice", "controls=c9=1:")}


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def case(x, sdr_in, path, tmp):
    _, theta = clip_to_sdr(x.ravel(), sdr_in)
    src = os.path.join(tmp, "in.wav")
    lossy.write_wav16(src, np.clip(x, -theta, theta)[:, None], 16000)
    coded = os.path.join(tmp, "coded" + EXT[path])
    ffmpeg("-i", src, *PATHS[path], coded)
    dec = os.path.join(tmp, "dec.wav")
    ffmpeg("-i", coded, "-ar", "48000", "-c:a", "pcm_f32le", dec)
    d, rate = lossy.decode(dec)
    assert rate == 48000
    clean = lossy.to_rate(x[:, None], 16000, 48000)
    n = min(len(clean), len(d))
    before = lossy.sdr(clean[:n], d[:n])
    row = {"input_sdr": sdr_in, "path": path, "sdr_before": before}
    for v, (variant, controls) in VARIANTS.items():
        if v.endswith("_told") and not path.startswith("opus"):
            continue
        row[v] = ffmpeg_ladspa(dec, plugins.LADSPA_LABELS[variant],
                               os.path.join(tmp, f"out_{v}.wav"), clean[:n], d[:n], controls)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--seeds", default="5,6,7")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in map(int, a.seeds.split(",")):
            x = speech_like(16000, a.seconds, seed=seed, microphone=True)
            for s in (3, 7, 10):
                for path in PATHS:
                    r = case(x, s, path, tmp)
                    r["seed"] = seed
                    rows.append(r)
                    print(f"  seed {seed} @ {s} dB {path}: standard "
                          f"{r['mono']['delta_sdr']:.2f}, voice {r['mono_voice']['delta_sdr']:.2f}",
                          flush=True)
    table = []
    for s in (3, 7, 10):
        for path in PATHS:
            sel = [r for r in rows if r["input_sdr"] == s and r["path"] == path]
            std, voi, cpu, gain = versus(sel, "mono", "mono_voice")
            told = (f"{np.mean([r['mono_voice_told']['delta_sdr'] for r in sel]):.2f}"
                    if "mono_voice_told" in sel[0] else "")
            table.append([s, path, f"{std:.2f}", f"{voi:.2f}", f"{voi - std:+.2f}",
                          f"{gain}/{len(sel)}", f"{cpu:.2f}", told])
    md = ("### A clipped 16 kHz voice at 48 kHz through the plug-ins in ffmpeg "
          f"(mean ΔSDR dB over {len(a.seeds.split(','))} speech-like clips of {a.seconds:g} s)\n\n"
          + md_table(["input SDR", "path", "rtdeclip_mono", "rtdeclip_mono_voice", "difference",
                      "voice better", "ffmpeg CPU voice / standard",
                      "rtdeclip_mono_voice codec=1 (Opus)"], table) + "\n")
    write_results("plugin_voice", {"machine": machine(), "args": vars(a), "rows": rows}, md)


if __name__ == "__main__":
    main()
