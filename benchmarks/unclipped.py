"""What rtdeclip does to audio that was NOT clipped: natural recordings and
look-ahead-limited ("mastered") ones, uncoded and through the ffmpeg command
line's codecs, as a file (`rtdeclip file`) and as a stream
(`Declipper(threshold="auto")`).

    python benchmarks/unclipped.py ../shared/data/sqam [--gains 0,6,12] [--jobs 2] [--rate 16000]

Most audio people own is not clipped; much of it is mastered through a
brick-wall limiter that piles the peaks up under a ceiling, which in an
amplitude histogram looks much like a clipped rail, smeared or not.  A
declipper must leave such audio as it came.  Each case reports the SDR of
rtdeclip's output against its own input (999: the same samples), the
seconds a stream held a rail, and the rails the file's detector reported.

The limiter (`limit` below): gain = a causal mean over the look-ahead of the
minimum over twice the look-ahead ahead of the gain each sample needs
(ceiling / |x|, channels linked), then an exponential release; so no sample
passes the ceiling, the gain falls over the look-ahead before a peak and
recovers with the release, as a mastering limiter's does.  Ceiling
-0.3 dBFS, look-ahead 5 ms, release 80 ms; `--gains` is the drive into it
(0: no limiter, the clip scaled to a 0.95 peak).

`--rate R` resamples every clip to R Hz first and adds the benchmark's
speech-like clip recorded at R: a stream's estimator at a voice rate (16
kHz: a hump needs fewer samples there, and the ripple test is off below 32
kHz; Opus still decodes at 48 kHz).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SQAM, machine, md_table, read_sqam, write_results  # noqa: E402
from lossy import CODECS, decode, pop_like, speech_like, to_rate, write_wav16  # noqa: E402

CEILING_DB, LOOK_MS, RELEASE_MS = -0.3, 5.0, 80.0
SAME = 999.0   # "SDR" of an output equal to its input


def limit(x, sr, drive_db, ceiling_db=CEILING_DB, look_ms=LOOK_MS, release_ms=RELEASE_MS):
    """x (frames, channels) driven by drive_db into a linked look-ahead limiter."""
    from scipy.ndimage import minimum_filter1d
    x = x * 10 ** (drive_db / 20)
    c = 10 ** (ceiling_db / 20)
    need = np.minimum(1.0, c / np.maximum(np.max(np.abs(x), axis=1), 1e-12))
    L = max(1, int(look_ms * 1e-3 * sr))
    ahead = minimum_filter1d(need, size=2 * L, origin=-L, mode="nearest")   # min over [n, n+2L)
    cs = np.concatenate([[0.0], np.cumsum(ahead)])
    n = np.arange(len(ahead))
    lo = np.maximum(n - L + 1, 0)
    smooth = np.minimum((cs[n + 1] - cs[lo]) / (n + 1 - lo), need)        # mean over (n-L, n]
    beta = 1 - np.exp(-1 / (release_ms * 1e-3 * sr))
    g = np.empty_like(smooth)
    prev = 1.0
    for i, a in enumerate(smooth):       # release: recover towards 1, never above what is needed
        prev = min(a, prev + (1 - prev) * beta)
        g[i] = prev
    return np.clip(x * g[:, None], -c, c)


def clips(folder, excerpts, seconds, rate=None):
    from rtdeclip.examples import music
    out = [("pop-like 44.1k stereo", pop_like(44100, seconds), 44100),
           ("music 44.1k stereo", music(44100, seconds, 2, seed=3), 44100),
           ("music (seed 7) 44.1k stereo", music(44100, seconds, 2, seed=7), 44100)]
    for name in excerpts:
        x, sr = read_sqam(folder, name)
        out.append((name, x[:int(seconds * sr)][:, None], sr))
    if rate is None:
        return out
    return [(f"{n} at {rate / 1000:g}k", to_rate(x, sr, rate), rate) for n, x, sr in out] + \
        [(f"speech-like {rate / 1000:g}k mono", speech_like(rate, seconds)[:, None], rate)]


def changed_db(ref, out):
    """SDR of out against ref (SAME when the samples are equal to 1e-6)."""
    n = min(len(ref), len(out))
    d = np.sum((ref[:n] - out[:n]) ** 2)
    if not np.any(np.abs(ref[:n] - out[:n]) > 1e-6):
        return SAME
    return float(10 * np.log10(np.sum(ref[:n] ** 2) / d))


def case(args):
    """One clip at one drive through one codec: file and stream."""
    name, x, sr, drive, codec, preset, tmp = args
    import rtdeclip
    base = os.path.join(tmp, f"{abs(hash((name, drive, codec))) % 10**10}")
    x = 0.5 * x / np.max(np.abs(x))
    y = limit(x, sr, drive) if drive > 0 else 1.9 * x
    write_wav16(base + ".wav", y, sr)
    path = base + ".wav"
    if codec != "uncoded":
        ext, opts = CODECS[codec]
        path = base + ext
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", base + ".wav", *opts, path],
                       check=True)
    dec, rate = decode(path)
    # the stream: blocks of 512, as a script or `rtdeclip monitor` feeds it
    d = rtdeclip.Declipper(rate, channels=dec.shape[1], preset=preset, threshold="auto")
    outs, held = [], 0
    for i in range(0, len(dec), 512):
        outs.append(d.process(np.ascontiguousarray(dec[i:i + 512], dtype=np.float32)))
        if any(np.isfinite(v) for p in d.thresholds for v in p):
            held += min(512, len(dec) - i)
    streamed = np.concatenate(outs + [d.flush()])[d.latency_samples:][:len(dec)]
    # the file: the command line users run
    out_path = base + "_out.wav"
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "file", path, "--output", out_path,
                        "--preset", preset, "--report", out_path + ".json", "--quiet"],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"rtdeclip file failed on {name} {codec}: {r.stderr.strip()}")
    with open(out_path + ".json") as f:
        report = json.load(f)
    rails = sorted({m for t in report["thresholds"] for m in (t.get("detection") or []) if m})
    # an MP3 that LAME scaled and that was declipped comes out at the level
    # that was encoded (pipeline.restored_level): a reported change of
    # level, not of the music, so it is divided out here and counted apart
    raised = report.get("level_restored", 1.0)
    filed = decode(out_path)[0] / raised
    return dict(clip=name, drive_db=drive, codec=codec, preset=preset, rate=rate,
                seconds=len(dec) / rate, peak_dbfs=float(20 * np.log10(np.max(np.abs(dec)))),
                stream_db=changed_db(dec, streamed), stream_held_s=held / rate,
                stream_clipped_samples=int(d.stats["clipped_samples"]),
                file_db=changed_db(dec, filed), file_rails=rails,
                file_level_restored_db=float(20 * np.log10(raised)))


def summarise(rows):
    drives = sorted({r["drive_db"] for r in rows})
    codecs = list(dict.fromkeys(r["codec"] for r in rows))
    lines = []
    for mode, key in (("file", "file_db"), ("stream", "stream_db")):
        lines.append(f"#### {mode}: cases changed (output against input under 60 dB SDR) / cases; "
                     "in brackets the worst SDR (dB)\n")
        table = []
        for dr in drives:
            row = [f"{dr:g}" if dr else "0 (no limiter)"]
            for c in codecs:
                sel = [r[key] for r in rows if r["drive_db"] == dr and r["codec"] == c]
                bad = [v for v in sel if v < 60]
                row.append(f"{len(bad)}/{len(sel)}" + (f" ({min(bad):.1f})" if bad else ""))
            table.append(row)
        lines.append(md_table(["limiter drive (dB)"] + codecs, table))
        lines.append("")
    held = sum(r["stream_held_s"] for r in rows)
    total = sum(r["seconds"] for r in rows)
    raised = [r for r in rows if r.get("file_level_restored_db", 0.0) > 0]
    lines.append(f"Files of these brought back to the level their MP3 encoder took off "
                 f"(a false rail declipped, the level restored; divided out above): "
                 f"{len(raised)} of {len(rows)}"
                 + (" (" + ", ".join(f"{r['clip']} {r['drive_db']:g} dB {r['codec']} "
                                     f"{r['file_level_restored_db']:+.2f} dB" for r in raised) + ")"
                    if raised else "") + ".\n")
    lines.append(f"Streams held a rail for {held:.1f} of {total:.0f} s; the cases changed:\n")
    lines.append(md_table(["clip", "drive", "codec", "file (dB)", "file rails", "stream (dB)",
                           "stream held (s)"],
                          [[r["clip"], f"{r['drive_db']:g}", r["codec"], f"{r['file_db']:.1f}",
                            ",".join(r["file_rails"]) or "-", f"{r['stream_db']:.1f}",
                            f"{r['stream_held_s']:.2f}"]
                           for r in rows if r["file_db"] < 60 or r["stream_db"] < 60]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam", help="folder of the SQAM excerpts (../shared/data/sqam)")
    ap.add_argument("--excerpts", default=",".join(e for e in SQAM if e not in
                                                   ("a58_guitar_sarasate",
                                                    "a66_wind_ensemble_stravinsky")))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--gains", default="0,6,12", help="limiter drives in dB (0: no limiter)")
    ap.add_argument("--codecs", default="uncoded," + ",".join(CODECS))
    ap.add_argument("--preset", default="fastest")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rate", type=int, default=None,
                    help="resample every clip to this rate first, and add the speech-like clip")
    ap.add_argument("--name", default="unclipped")
    a = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="rtdeclip-unclipped-") as tmp:
        tasks = [(n, x, sr, float(g), c, a.preset, tmp)
                 for n, x, sr in clips(a.sqam, [e for e in a.excerpts.split(",") if e], a.seconds,
                                       a.rate)
                 for g in a.gains.split(",") for c in a.codecs.split(",")]
        with ProcessPoolExecutor(a.jobs) as pool:
            rows = list(pool.map(case, tasks))
    head = (f"`python benchmarks/unclipped.py {shlex.join(sys.argv[1:])}` (three own clips and "
            f"SQAM {a.excerpts}{f', at {a.rate} Hz, and the speech-like clip' if a.rate else ''}, "
            f"{a.seconds:g} s, not clipped; limiter ceiling {CEILING_DB} dBFS, "
            f"look-ahead {LOOK_MS:g} ms, release {RELEASE_MS:g} ms; preset {a.preset}; "
            f"{time.time() - t0:.0f} s wall)\n\n")
    write_results(a.name, {"machine": machine(), "args": vars(a), "rows": rows, "header": head},
                  head + summarise(rows))


if __name__ == "__main__":
    main()
