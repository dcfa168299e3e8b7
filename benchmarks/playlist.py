"""Several recordings in one file: an album, a radio recording, a DJ mix.

Five tracks of music (rtdeclip.examples.music, stereo 44.1 kHz), each
clipped at its own level (0.30 / 0.60 / 0.15 / 0.70 / 0.35: louder, then
quieter, then louder...), joined with a gap of silence (an album) or none
(a DJ mix's hard cuts), written as 16-bit WAV and sent through the ffmpeg
command line.  Each file through ``rtdeclip.declip_file`` as users run
``rtdeclip file`` (sections, the default), with ``--no-sections`` (one
level per channel and polarity for the whole file, as before
core/sections.py), and streamed through a ``Declipper`` with auto levels;
each track also alone, as its own file.  ΔSDR per track against the clean
track (Opus: at 48 kHz, the clean track resampled).

    python benchmarks/playlist.py [--presets fastest,average] [--codecs ...]
                                  [--gaps 0.5,0] [--seconds 6] [--jobs 2]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lossy as L   # noqa: E402  (its codecs, decoder and resampler)
from common import machine, md_table, write_results   # noqa: E402

import rtdeclip   # noqa: E402
from rtdeclip.examples import music   # noqa: E402
from rtdeclip.files.pipeline import declip_file   # noqa: E402

SR = 44100
TRACKS = ((3, 0.30), (5, 0.60), (7, 0.15), (9, 0.70), (11, 0.35))   # (seed, clip level)


def encoded(folder, name, y, codec):
    """``y`` as a 16-bit WAV, through ffmpeg unless ``codec`` is "uncoded";
    the file's path."""
    wav = os.path.join(folder, name + ".wav")
    L.write_wav16(wav, y, SR)
    if codec == "uncoded":
        return wav
    ext, opts = L.CODECS[codec]
    out = os.path.join(folder, name + ext)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, *opts, out], check=True)
    return out


def declipped(path, preset, sections=True):
    out = path + (".sections" if sections else ".one") + ".wav"
    t = time.process_time()
    rep = declip_file(path, out, preset=preset, sections=sections)
    y, _ = L.decode(out)
    return y, rep, time.process_time() - t


def streamed(y, rate, preset, decoder):
    """A Declipper stream told the decoder's codec, as a script that read
    the header would (Opus's width rule; a lossy codec's second pass,
    core.named_stream)."""
    d = rtdeclip.Declipper(rate, channels=y.shape[1], preset=preset, threshold="auto",
                           codec=decoder)
    out = [d.process(np.ascontiguousarray(y[i:i + 512])) for i in range(0, len(y), 512)]
    return np.concatenate(out + [d.flush()])[d.latency_samples:]


def case(args):
    codec, preset, gap_s, seconds = args
    tracks = []
    for seed, level in TRACKS:
        x = music(SR, seconds, 2, seed=seed)
        tracks.append((x * (0.95 / np.abs(x).max()), level))
    gap = np.zeros((int(gap_s * SR), 2))
    joined = np.concatenate([p for x, lv in tracks for p in (np.clip(x, -lv, lv), gap)])
    with tempfile.TemporaryDirectory() as tmp:
        path = encoded(tmp, "album", joined, codec)
        y, rate = L.decode(path)
        res = {"codec": codec, "preset": preset, "gap_s": gap_s, "rate": rate}
        with_sec, rep, res["cpu_sections_s"] = declipped(path, preset)
        one, _, res["cpu_one_level_s"] = declipped(path, preset, sections=False)
        # as rtdeclip file does and a script that read the header would: an
        # MP3 that LAME scaled brought back to its level (files.encoder_level)
        stream = streamed(y, rate, preset, L.decoder_name(path)) / L.encoder_scale(path)
        res["sections"] = [(s["start_s"], s["end_s"]) for s in rep["sections"] or []]
        rows, pos = [], 0
        for k, (x, lv) in enumerate(tracks):
            clean = x if rate == SR else L.to_rate(x, SR, rate)
            n = len(clean)
            seg = slice(pos, pos + n)
            pos += n + int(round(len(gap) * rate / SR))
            alone_path = encoded(tmp, f"track{k}", np.clip(x, -lv, lv), codec)
            alone_y, _ = L.decode(alone_path)
            alone, _, _ = declipped(alone_path, preset)

            def gain(out, inp):
                return float(np.mean(L.sdr(clean, out[:n])) - np.mean(L.sdr(clean, inp[:n])))
            rows.append({"track": k + 1, "level": lv, "start_s": (seg.start / rate),
                         "sections": gain(with_sec[seg], y[seg]),
                         "one_level": gain(one[seg], y[seg]),
                         "stream": gain(stream[seg], y[seg]),
                         "alone": gain(alone, alone_y)})
        res["tracks"] = rows
    print(f"{codec:10s} {preset:8s} gap {gap_s}: " + " ".join(
        f"{r['sections']:6.2f}/{r['alone']:5.2f}" for r in rows), flush=True)
    return res


def report(results, args):
    rows = []
    for r in results:
        t = r["tracks"]
        met = sum(x["sections"] >= 0.8 * x["alone"] and x["sections"] >= 1.0 for x in t)
        rows.append([r["codec"], r["preset"], f"{r['gap_s']:g}",
                     " / ".join(f"{x['sections']:.2f}" for x in t),
                     " / ".join(f"{x['one_level']:.2f}" for x in t),
                     " / ".join(f"{x['stream']:.2f}" for x in t),
                     " / ".join(f"{x['alone']:.2f}" for x in t),
                     f"{met}/{len(t)}", len(r["sections"]) or 1,
                     f"{r['cpu_sections_s']:.1f} / {r['cpu_one_level_s']:.1f}"])
    head = ["codec", "preset", "gap (s)", "ΔSDR per track: sections (default)",
            "one level (--no-sections)", "stream", "each track alone",
            "tracks ≥ 0.8 × alone and ≥ 1 dB", "sections found",
            "CPU s: sections / one level"]
    levels = " / ".join(f"{lv:.2f}" for _, lv in TRACKS)
    return (f"### Several recordings in one file (`benchmarks/playlist.py`)\n\n"
            f"Five {args.seconds:g} s stereo tracks of music clipped at {levels}, joined with "
            f"the gap given, through the ffmpeg command line; `rtdeclip file` (in process: "
            f"`declip_file`) with and without sections, a `Declipper` stream with auto levels, "
            f"and each track alone as its own file.  ΔSDR (dB) per track against the clean "
            f"track.  Machine: {machine()}.\n\n" + md_table(head, rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", default="fastest,average")
    ap.add_argument("--codecs", default="uncoded,mp3_128k,aac_128k,vorbis_q4,opus_96k")
    ap.add_argument("--gaps", default="0.5,0", help="seconds of silence between tracks")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each track")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--name", default="playlist")
    args = ap.parse_args()
    cases = [(c, p, float(g), args.seconds) for p in args.presets.split(",")
             for g in args.gaps.split(",") for c in args.codecs.split(",")]
    t0 = time.perf_counter()
    with Pool(args.jobs) as pool:
        results = pool.map(case, cases, chunksize=1)
    write_results(args.name, {"machine": machine(), "args": vars(args), "results": results,
                              "wall_s": time.perf_counter() - t0}, report(results, args))


if __name__ == "__main__":
    main()
