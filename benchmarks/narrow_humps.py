"""Narrow humps after a high-rate codec: which declared width is best, and
how the detector's two rules and the hedge compare with it, offline.

    python benchmarks/narrow_humps.py ../shared/data/sqam [--jobs 2]

A codec at a high bit rate (MP3 320k, AAC 256k) at moderate clipping
smears a rail into a hump so narrow (spread above its centre < 0.036 dB)
that without knowing the decoder the detector takes it for noise on a
flat rail ("noisy": declared at its lower edge, >= 0.25 dB down), while
told the input is lossy (``rtdeclip file`` on an MP3 is) it applies the
codec rule (2 x the edge distance, 7 x the spread, 10 x the clipped
fraction; typically 0.5-1.2 dB).  Which is right decides whether a
*stream* should be told its input is lossy (``Declipper`` has no such
switch; docs/lossy.md, seventh session).

Every SQAM excerpt (3 s) and five seeds of ``rtdeclip.examples.music``
(mono, 3 s), clipped at input SDR 7, 10 and 20 dB, through MP3 320k, AAC
256k, Vorbis q8 and MP3 128k by the ffmpeg command line.  Per case, with
`fastest`: one solve with the noisy rule (``lossy=False``), one with the
codec rule (``lossy=True``), the codec rule hedged (five widths, what
``rtdeclip file`` does), and one solve per fixed width of 0.25 ... 2 dB
below the detected centre (the per-case best of those is an oracle: it
knows the clean signal).  Results: benchmarks/results/narrow_humps.{json,md}.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_results, md_table, machine, read_sqam  # noqa: E402
import lossy  # noqa: E402

CODECS = ("mp3_320k", "aac_256k", "vorbis_q8", "mp3_128k")
SDRS = (7, 10, 20)
GRID = (0.25, 0.4, 0.6, 0.9, 1.3, 2.0)


def signals(folder):
    from rtdeclip.examples import music
    out = []
    for f in sorted(os.listdir(folder)):
        if f.endswith(".wav"):
            x, sr = read_sqam(folder, f[:-4])
            out.append((f[:-4], x[:3 * sr][:, None], sr))
    for seed in (1, 2, 4, 5, 6):
        out.append((f"music seed {seed}", music(44100, 3.0, 1, seed=seed)[:, None], 44100))
    return out


def case(args):
    """One signal at one input SDR, through every codec."""
    name, x, sr, sdr_in = args
    import rtdeclip
    from rtdeclip.core.levels import Resolved
    _, theta = rtdeclip.clip_to_sdr(x.ravel(), sdr_in)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lossy.write_wav16(os.path.join(tmp, "a.wav"), np.clip(x, -theta, theta), sr)
        for codec in CODECS:
            ext, opts = lossy.CODECS[codec]
            out = os.path.join(tmp, "b" + ext)
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i",
                            os.path.join(tmp, "a.wav")] + opts + [out], check=True)
            d, rate = lossy.decode(out)
            n = min(len(x), len(d))
            before = lossy.sdr(x[:n], d[:n])

            def gain(o):
                return float(lossy.sdr(x[:n], o[:n]) - before)

            noisy = rtdeclip.detect_clipping(d, rate, lossy=False)[0]
            codec_rule = rtdeclip.detect_clipping(d, rate, lossy=True)[0]
            if codec_rule.positive is None or codec_rule.negative is None:
                continue

            def solve(**kw):
                return gain(rtdeclip.declip(d, rate, preset="fastest", **kw))

            grid = [solve(threshold=Resolved([(codec_rule.positive * 10 ** (-w / 20),
                                               codec_rule.negative * 10 ** (-w / 20))]))
                    for w in GRID]
            rows.append({
                "signal": name, "input_sdr": sdr_in, "codec": codec,
                "method_unaware": list(noisy.method), "width_unaware": list(noisy.width_db),
                "width_lossy": list(codec_rule.width_db),
                "noisy_rule": solve(threshold="auto", lossy=False, hedge=False),
                "codec_rule": solve(threshold="auto", lossy=True, hedge=False),
                "codec_rule_hedged": solve(threshold="auto", lossy=True, hedge=True),
                "grid": grid})
    print(f"  {name} @ {sdr_in} dB: done", flush=True)
    return rows


def summarise(rows):
    groups = (("narrow (noisy on both polarities), input SDR 7-10",
               lambda r: r["method_unaware"] == ["noisy", "noisy"] and r["input_sdr"] < 20),
              ("narrow, input SDR 20",
               lambda r: r["method_unaware"] == ["noisy", "noisy"] and r["input_sdr"] == 20),
              ("codec on both polarities either way, input SDR 7-10",
               lambda r: r["method_unaware"] == ["codec", "codec"] and r["input_sdr"] < 20))
    table = []
    for label, sel in groups:
        s = [r for r in rows if sel(r)]
        if not s:
            continue
        m = {k: float(np.mean([r[k] for r in s]))
             for k in ("noisy_rule", "codec_rule", "codec_rule_hedged")}
        best = float(np.mean([max(r["grid"]) for r in s]))
        wins = sum(r["noisy_rule"] > r["codec_rule"] for r in s)
        table.append([label, len(s), f"{m['noisy_rule']:.2f}", f"{m['codec_rule']:.2f}",
                      f"{m['codec_rule_hedged']:.2f}", f"{best:.2f}", f"{wins}/{len(s)}"])
    return md_table(["cases", "n", "noisy rule (one solve)", "codec rule (one solve)",
                     "codec rule hedged", "best fixed width (oracle)", "noisy rule better"],
                    table)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sqam", help="folder of the SQAM excerpts (../shared/data/sqam)")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    tasks = [(n, x, sr, s) for n, x, sr in signals(a.sqam) for s in SDRS]
    with ProcessPoolExecutor(a.jobs) as ex:
        rows = [r for rs in ex.map(case, tasks) for r in rs]
    md = ("### Narrow humps after a high-rate codec (mean ΔSDR dB, `fastest`, offline)\n\n"
          f"{len({r['signal'] for r in rows})} signals x input SDR {SDRS} x {', '.join(CODECS)}; "
          f"{machine()['cores']} cores\n\n" + summarise(rows) + "\n")
    write_results("narrow_humps", {"machine": machine(), "grid_db": GRID, "rows": rows}, md)


if __name__ == "__main__":
    main()
