"""rtdeclip presets against ffmpeg's ``adeclip`` filter (through PyAV, its
defaults) on SQAM at input SDR 3 and 10 dB, plus synthetic stereo 44.1 kHz
music and 8 kHz mono clips.

    python benchmarks/adeclip_compare.py ../shared/data/sqam [--presets fastest,average]
"""
import argparse
import os
import shlex
import sys
import time
from fractions import Fraction

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SQAM, machine, md_table, read_sqam, write_results  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip.examples import music  # noqa: E402


def adeclip(y, sr):
    """ffmpeg's adeclip with its defaults, on float planar audio."""
    import av
    ch = y.shape[1]
    layout = {1: "mono", 2: "stereo"}[ch]
    g = av.filter.Graph()
    src = g.add_abuffer(format="fltp", sample_rate=sr, layout=layout, time_base=f"1/{sr}")
    f = g.add("adeclip")
    sink = g.add("abuffersink")
    src.link_to(f)
    f.link_to(sink)
    g.configure()
    out = []
    block = 4096
    for i in range(0, len(y), block):
        fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(y[i:i + block].T, np.float32),
                                        format="fltp", layout=layout)
        fr.sample_rate = sr
        fr.pts = i
        fr.time_base = Fraction(1, sr)
        src.push(fr)
        out += _drain(sink)
    src.push(None)
    out += _drain(sink)
    res = np.concatenate(out, axis=1).T.astype(np.float64)
    return res[:len(y)]


def _drain(sink):
    import av
    got = []
    while True:
        try:
            got.append(sink.pull().to_ndarray())
        except (av.error.BlockingIOError, av.error.EOFError):
            return got


def cases(folder, excerpts, seconds=None):
    """SQAM excerpts (cut to `seconds` if given), then our own clips: music
    at 44.1 kHz stereo and a speech-like signal at 8 kHz mono."""
    for name in excerpts:
        x, sr = read_sqam(folder, name)
        yield name, (x if seconds is None else x[:int(seconds * sr)])[:, None], sr
    n = 8.0 if seconds is None else min(8.0, seconds)
    yield "music stereo 44.1k", music(44100, n, 2, seed=3), 44100
    yield "speech-like (formants) mono 8k", speech_like(8000, n)[:, None], 8000


def speech_like(sr, seconds, seed=5, microphone=False):
    """Voiced syllables: a glottal pulse train (100-180 Hz, gliding),
    smoothed like a glottal flow, through three moving formant resonators,
    with pauses between syllables; peak 0.95.  The flow has a mean (0.02,
    a quarter of the clip's RMS, 40 % of it under 20 Hz) that no recording
    keeps: ``microphone`` True takes it off as a microphone and a
    converter do (a 2nd-order Butterworth high-pass at 50 Hz) before the
    peak is set (the lossy benchmark's clip since 2026-12-07; an Opus
    encoder takes such a mean off and rtdeclip's output high-pass would
    too, so the clip's own mean would be scored as an error)."""
    from scipy.signal import lfilter  # benchmark-only dependency
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        syl = int(rng.uniform(0.12, 0.3) * sr)
        f0 = rng.uniform(100, 180) * np.linspace(1.0, rng.uniform(0.8, 1.2), syl)
        pulses = np.diff(np.floor(np.cumsum(f0 / sr)), prepend=0.0)
        glottal = lfilter([1.0], [1, -1.8, 0.81], pulses)          # double pole at 0.9
        seg = np.zeros(syl)
        for fc, bw, gain in ((rng.uniform(300, 800), 80, 1.0), (rng.uniform(900, 2200), 120, 0.5),
                             (rng.uniform(2300, 3400), 200, 0.25)):
            fc = min(fc, 0.45 * sr)
            r = np.exp(-np.pi * bw / sr)
            seg += gain * (1 - r) * lfilter([1.0], [1, -2 * r * np.cos(2 * np.pi * fc / sr), r * r],
                                            glottal)
        seg *= np.hanning(syl)
        end = min(n, pos + syl)
        out[pos:end] += seg[:end - pos]
        pos = end + int(rng.uniform(0.02, 0.15) * sr)
    if microphone:
        from scipy.signal import butter, sosfilt
        out = sosfilt(butter(2, 50.0, "high", fs=sr, output="sos"), out)
    return 0.95 * out / np.max(np.abs(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam")
    ap.add_argument("--presets", default="fastest,average,highquality")
    ap.add_argument("--excerpts", default=",".join(SQAM),
                    help="SQAM excerpts to use (adeclip needs minutes per excerpt at 3 dB)")
    ap.add_argument("--seconds", type=float, help="cut every clip to this length (adeclip is slow)")
    ap.add_argument("--name", default="adeclip", help="results file name under benchmarks/results")
    ap.add_argument("--reuse-adeclip", metavar="RESULTS_JSON",
                    help="take adeclip's numbers from an earlier run on the same clips "
                         "(its times are then not from this run)")
    args = ap.parse_args()
    presets = args.presets.split(",")
    earlier = {}
    if args.reuse_adeclip:
        import json
        with open(args.reuse_adeclip) as f:
            earlier = {(r["clip"], r["input_sdr"]): r["adeclip"] for r in json.load(f)["rows"]}
    rows, data, sums = [], [], {}
    for name, x, sr in cases(args.sqam, [e for e in args.excerpts.split(",") if e], args.seconds):
        for sdr_in in (3, 10):
            y, theta = rtdeclip.clip_to_sdr(x[:, 0], sdr_in)
            y = np.clip(x, -theta, theta)
            before = np.mean(rtdeclip.sdr(x, y))
            if (name, sdr_in) in earlier:
                row = {"clip": name, "input_sdr": sdr_in, "adeclip": earlier[(name, sdr_in)]}
                t_a = row["adeclip"]["s"]
            else:
                t0 = time.perf_counter()
                a = adeclip(y, sr)
                t_a = time.perf_counter() - t0
                row = {"clip": name, "input_sdr": sdr_in,
                       "adeclip": {"dsdr": float(np.mean(rtdeclip.sdr(x, a)) - before), "s": t_a}}
            for p in presets:
                t0 = time.perf_counter()
                r = rtdeclip.declip(y, sr, preset=p, jobs=1)   # clip levels detected
                t_p = time.perf_counter() - t0
                row[p] = {"dsdr": float(np.mean(rtdeclip.sdr(x, r)) - before), "s": t_p}
            data.append(row)
            cells = [name, sdr_in, f"{row['adeclip']['dsdr']:.2f} ({t_a:.2f} s)"]
            cells += [f"{row[p]['dsdr']:.2f} ({row[p]['s']:.2f} s)" for p in presets]
            rows.append(cells)
            print(cells, flush=True)
            for k in ["adeclip"] + presets:
                sums.setdefault(k, []).append((row[k]["dsdr"], row[k]["s"]))
    mean = ["mean", ""] + [f"{np.mean([d for d, _ in sums[k]]):.2f} ({np.sum([s for _, s in sums[k]]):.1f} s in all)"
                           for k in ["adeclip"] + presets]
    rows.append(mean)
    md = md_table(["clip", "input SDR (dB)", "adeclip ΔSDR (time)"] +
                  [f"{p} ΔSDR (time)" for p in presets], rows)
    wins = {p: sum(r[p]["dsdr"] > r["adeclip"]["dsdr"] for r in data) for p in presets}
    md += "\n\nClips where the preset beats adeclip: " + ", ".join(
        f"{p} {wins[p]}/{len(data)}" for p in presets)
    margins = {p: np.mean([r[p]["dsdr"] - r["adeclip"]["dsdr"] for r in data]) for p in presets}
    md += "; mean ΔSDR margin over adeclip: " + ", ".join(
        f"{p} {margins[p]:+.2f} dB" for p in presets)
    if "fastest" in presets:
        ta, tf = np.sum([s for _, s in sums["adeclip"]]), np.sum([s for _, s in sums["fastest"]])
        md += f"; fastest is {ta / tf:.1f}x the speed of adeclip"
        if earlier:
            md += " (adeclip times from the earlier run)"
    md += f"\n\nCommand: python benchmarks/adeclip_compare.py {shlex.join(sys.argv[1:])}"
    write_results(args.name, {"machine": machine(), "args": vars(args), "rows": data}, md)


if __name__ == "__main__":
    main()
