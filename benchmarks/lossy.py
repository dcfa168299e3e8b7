"""Declipping after a lossy codec (issue 9): MP3, AAC, Vorbis, Opus.

    python benchmarks/lossy.py ../shared/data/sqam

Clips (SQAM excerpts and our own: speech-like 16 kHz mono, dense pop-like
44.1 kHz stereo, music 44.1 kHz stereo), cut to --seconds, hard-clipped at
input SDR 3, 7, 10 and 20 dB, written as 16-bit WAV (the "uncoded" clip),
round-tripped through the ffmpeg command line (libmp3lame 128k/320k, aac
128k/256k .m4a, libvorbis q4/q8, libopus 96k/160k) and decoded by
rtdeclip's own decoder (rtdeclip.files.audio_io.AudioSource).  Each
variant is declipped with threshold="auto", offline (``rtdeclip.declip``
told what ``rtdeclip file`` tells it of the decoder, ``lossy=True`` or
``lossy="opus"``: the detector's levels, Opus's own width, a codec rail
hedged over its width; ``--no-codec-family``: ``lossy=True`` for every
codec, as before Opus's width) and as a stream (``Declipper.process`` in blocks of 512, online
estimator, the preset's own hedge: ``fastest`` 2, the others none;
``--stream-hedge N``: ``Declipper(hedge=N)``, a smeared rail hedged over
its width in the stream); ΔSDR is against the clean signal.

Alignment: the decoder trims the codec delay (gapless header, edit list,
pre-skip); every decoded clip is checked by cross-correlation against the
uncoded one (lag reported, must be 0).  Opus decodes at 48 kHz: there the
clean and the uncoded clipped signals are resampled to 48 kHz
(scipy.signal.resample_poly) for the SDR, which is what ``rtdeclip file``
would need a reference at 48 kHz for (it refuses a reference at another
rate, see docs/lossy.md).  An Opus file whose header declares a source
rate of 48 kHz / 2, 3, 4 or 6 (the 16 kHz speech-like clip) is declipped
offline at that rate as ``rtdeclip file`` does (``rtdeclip.core.resample``:
the repair brought back to 48 kHz), and streamed with
``Declipper(source_rate=...)`` (csrc/source_rate.c), as a script that read
the header would (a monitored stream must be told: ``--source-rate``).
An MP3 that LAME scaled before encoding (0.95 at 128 kb/s, 1.0 at 320;
``rtdeclip.files.encoder_level``) has both outputs brought back by the
inverse, as ``rtdeclip file`` does and a script that read the header
would (``--keep-level``: not); its rail's true level is then the clip
level times that scale.

highquality runs to convergence and is slow: it gets --hq-excerpts at
--hq-seconds only (default: a08_violin and the speech-like clip, 2 s, input
SDR 3 and 20).
Results: benchmarks/results/lossy.{json,md}.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import read_sqam, write_results, md_table, machine  # noqa: E402

CODECS = {
    "mp3_128k": (".mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
    "mp3_320k": (".mp3", ["-c:a", "libmp3lame", "-b:a", "320k"]),
    "aac_128k": (".m4a", ["-c:a", "aac", "-b:a", "128k"]),
    "aac_256k": (".m4a", ["-c:a", "aac", "-b:a", "256k"]),
    "vorbis_q4": (".ogg", ["-c:a", "libvorbis", "-q:a", "4"]),
    "vorbis_q8": (".ogg", ["-c:a", "libvorbis", "-q:a", "8"]),
    "opus_96k": (".opus", ["-c:a", "libopus", "-b:a", "96k"]),
    "opus_160k": (".opus", ["-c:a", "libopus", "-b:a", "160k"]),
}
SDRS = (3, 7, 10, 20)
STREAM_SECOND_PASS = True   # --no-stream-second-pass: streams without core.named_stream
STREAM_HEDGE = None   # --stream-hedge N: Declipper(hedge=N) for the stream cells (None: the preset's)
HEDGE = True   # --no-hedge: offline cells solved once (the workers are forked after main sets it)
SECOND_PASS = True   # --no-second-pass: offline cells hedged without the second pass
RESTORE_LEVEL = True   # --keep-level: MP3 outputs not brought back to LAME's input level
DC_RESTORE = True   # --no-dc-restore: Opus cells declipped as decoded (before the 29th session)
CODEC_FAMILY = True   # --no-codec-family: the detector told only lossy=True (no Opus width)
# stream cells told their decoder's codec, as a script that read the header
# ("told"); not told, as `rtdeclip live` without --codec ("untold"); not told
# but with the second pass, as `rtdeclip monitor` runs by default ("monitor")
STREAMS = "told"
PRESETS = ("fastest", "average", "lowlatency", "highquality")


def speech_like(sr, seconds, seed=5):
    """adeclip_compare's speech-like clip as a microphone records it: its
    glottal flow's mean taken off (a 50 Hz high-pass; since 2026-12-07,
    thirtieth session: the mean is a quarter of its RMS, which no
    recording keeps and which Opus's DC reject takes off).  Seed 5 is the
    benchmark's; others are held-out voices (``--voices``)."""
    from adeclip_compare import speech_like as s
    return s(sr, seconds, seed=seed, microphone=True)


def pop_like(sr, seconds, seed=11):
    """Dense pop-like stereo: the example music plus a kick, a snare of
    filtered noise and a hi-hat on a 120 bpm grid, mixed loud."""
    from scipy.signal import lfilter
    from rtdeclip.examples import music
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = music(sr, seconds, 2, seed=seed)[:n]
    t = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    beat = int(0.5 * sr)
    drums = np.zeros(n)
    for i, p in enumerate(range(0, n, beat // 2)):
        seg = kick if i % 2 == 0 else lfilter([1, -0.5], [1], rng.standard_normal(len(t))) \
            * np.exp(-t * (25 if i % 4 == 1 else 60)) * (0.6 if i % 4 == 1 else 0.2)
        m = min(len(seg), n - p)
        drums[p:p + m] += seg[:m]
    x = x / np.max(np.abs(x)) + 0.7 * drums[:, None] * np.array([1.0, 0.9])
    return 0.95 * x / np.max(np.abs(x))


def clips(folder, excerpts, seconds, own=True, voices=(), voice_rate=16000):
    from rtdeclip.examples import music
    out = [(f"speech-like {voice_rate / 1000:g}k mono, seed {v}",
            speech_like(voice_rate, seconds, v)[:, None], voice_rate)
           for v in voices]   # --voices: held out
    for name in excerpts:
        x, sr = read_sqam(folder, name)
        out.append((name, x[:int(seconds * sr)][:, None], sr))
    if not own:   # --no-own-clips: the SQAM excerpts alone (held-out runs)
        return out
    out.append(("speech-like 16k mono", speech_like(16000, seconds)[:, None], 16000))
    out.append(("pop-like 44.1k stereo", pop_like(44100, seconds), 44100))
    out.append(("music 44.1k stereo", music(44100, seconds, 2, seed=3), 44100))
    return out


def write_wav16(path, y, sr):
    q = np.clip(np.round(y * 32768), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as f:
        f.setnchannels(y.shape[1])
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes(q.tobytes())
    return q.astype(np.float64) / 32768


def decode(path, with_source_rate=False):
    """The decoded file and its rate (and the rate of its source, when the
    file says: Opus's OpusHead, and what ``rtdeclip file`` tells the
    detector of its decoder: ``pipeline.detector_lossy``)."""
    from rtdeclip.files.audio_io import AudioSource
    from rtdeclip.files.pipeline import detector_lossy
    s = AudioSource(path)
    out = np.concatenate(list(s.chunks(1 << 16))), s.sample_rate
    return out + (s.source_rate, detector_lossy(s.codec)) if with_source_rate else out


def decoder_name(path):
    """The decoder's codec name, as a script that opened the file gets it
    (``AudioSource.codec``; ``Declipper(codec=...)``)."""
    from rtdeclip.files.audio_io import AudioSource
    return AudioSource(path).codec


def encoder_scale(path):
    """The scale an MP3 encoder applied to its input (LAME up to 224 kb/s,
    ``files.encoder_level``), 1.0 otherwise: ``rtdeclip file`` brings a
    declipped file back by its inverse (``pipeline.restored_level``)."""
    from rtdeclip.files.audio_io import AudioSource
    e = AudioSource(path).encoder_level
    return 1.0 if e is None else e.scale


def lag(a, b, max_lag=4096):
    """Lag of b against a (samples) by FFT cross-correlation of channel 0."""
    from scipy.signal import correlate
    n = min(len(a), len(b))
    c = correlate(b[:n, 0], a[:n, 0], mode="full", method="fft")
    mid = n - 1
    win = c[mid - max_lag:mid + max_lag + 1]
    return int(np.argmax(win)) - max_lag


def to_rate(x, sr, target):
    from scipy.signal import resample_poly
    from math import gcd
    g = gcd(sr, target)
    return resample_poly(x, target // g, sr // g, axis=0)


def resample_factor(rate, source_rate):
    from rtdeclip.core.resample import factor_for
    return factor_for(rate, source_rate)


def sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


def codec_cutoff(decoded, uncoded, sr, below_db=20.0, above_hz=8000.0):
    """The codec's low-pass (Hz): the lowest frequency over ``above_hz``
    from which the decoded clip's spectrum stays ``below_db`` under the
    uncoded one's (smoothed over ~20 Hz); sr / 2 when it never does (MP3
    320k, Vorbis q8 keep the whole band)."""
    n = min(len(decoded), len(uncoded))
    def power(a):
        p = np.abs(np.fft.rfft(a[:n], axis=0)) ** 2
        return p.sum(axis=1) if p.ndim == 2 else p
    f = np.fft.rfftfreq(n, 1 / sr)
    k = max(1, int(round(20.0 * n / sr)))
    smooth = np.ones(k) / k
    ratio = np.convolve(power(decoded), smooth, "same") + 1e-30
    ratio /= np.convolve(power(uncoded), smooth, "same") + 1e-30
    low = 10 * np.log10(ratio) < -below_db
    from_here = np.flip(np.cumprod(np.flip(low))).astype(bool) & (f > above_hz)
    return float(f[np.argmax(from_here)]) if from_here.any() else sr / 2


def above_band(e, sr, cutoff):
    """The part of ``e`` (samples x channels) at or above ``cutoff`` Hz."""
    spec = np.fft.rfft(e, axis=0)
    spec[np.fft.rfftfreq(len(e), 1 / sr) < cutoff] = 0
    return np.fft.irfft(spec, len(e), axis=0)


def run_offline(y, sr, preset, lossy, source_rate=None):
    """As ``rtdeclip file`` does: levels detected per channel (told whether
    the decoder is lossy), then declipped (a lossy input's codec rails
    hedged over their width, ``core.hedge``); an Opus file from a lower-rate
    source at that rate (levels found on the decimated signal, declipped by
    ``declip(source_rate=...)``, the C chain the file pipeline runs)."""
    import rtdeclip
    from rtdeclip.core import resample
    from rtdeclip.core.detect import detect_clipping, told_at_rate
    factor = resample.factor_for(sr, source_rate)
    seen = y if factor == 1 else resample.decimated(y, factor)
    # for the report, told what rtdeclip file tells it
    found = detect_clipping(seen, sr // factor, lossy=told_at_rate(lossy, factor))
    # as rtdeclip file: a lossy input's codec rails hedged over the width
    out = rtdeclip.declip(y, sr, preset=preset, threshold="auto", lossy=lossy, jobs=1,
                          source_rate=sr // factor if factor > 1 else None, hedge=HEDGE,
                          second_pass=SECOND_PASS, dc_restore=None if DC_RESTORE else False)
    est = [20 * np.log10(abs(v)) for f in found for v in (f.positive, f.negative) if v is not None]
    det = [{"method": list(f.method), "width_db": list(f.width_db)} for f in found]
    return out, est, det


def run_stream(y, sr, preset, source_rate=None, hedge=None, codec=None):
    """A Declipper stream in blocks of 512, online levels; an Opus file's
    source rate (when 48 kHz is 2-6 times it) and the decoder's codec
    given as a script that read the header would (``Declipper(source_rate=...,
    codec=...)``: Opus's width rule, and a lossy codec's second pass,
    ``core.named_stream``; neither through a source rate); ``hedge``: its
    hedge (default --stream-hedge's)."""
    import rtdeclip
    if not resample_factor(sr, source_rate) > 1:
        source_rate = None
    hedge = STREAM_HEDGE if hedge is None else hedge
    second = {} if STREAM_SECOND_PASS else {"second_pass": False}
    if STREAMS != "told":   # --untold-streams, --monitor-streams: the CLI's own rule
        from argparse import Namespace
        from rtdeclip.cli.live import monitor_second_pass
        codec = None
        asked = monitor_second_pass(Namespace(mode="monitor" if STREAMS == "monitor" else "live",
                                              second_pass=None, codec=None,
                                              source_rate=source_rate), "auto")
        second = {} if asked is None else {"second_pass": asked}
    d = rtdeclip.Declipper(sr, channels=y.shape[1], preset=preset, threshold="auto",
                           source_rate=source_rate, codec=codec,
                           dc_restore=None if DC_RESTORE else False, **second,
                           **({} if hedge is None or preset == "highquality" else {"hedge": hedge}))
    outs = [d.process(np.ascontiguousarray(y[i:i + 512])) for i in range(0, len(y), 512)]
    out = np.concatenate(outs + [d.flush()])[d.latency_samples:]
    est = []
    for (p, q), det in zip(d.thresholds, d.detection):
        for v, w in zip((p, -q), det["width_db"]):
            if np.isfinite(v):
                est.append(20 * np.log10(v) + (w or 0.0))   # back to the rail's centre
    return out, est, [{"method": list(x["method"]), "width_db": list(x["width_db"])}
                      for x in d.detection]


def case(args):
    """One clip at one input SDR: every codec x preset x mode."""
    name, x, sr, sdr_in, presets, tmp = args
    from rtdeclip.core.metrics import clip_to_sdr
    _, theta = clip_to_sdr(x.ravel(), sdr_in)
    base = os.path.join(tmp, f"{abs(hash(name)) % 10**8}_{sdr_in}")
    y = write_wav16(base + ".wav", np.clip(x, -theta, theta), sr)
    true_db = 20 * np.log10(theta)
    variants = [("uncoded", y, sr, 0, None, False, 1.0, None)]
    for codec, (ext, opts) in CODECS.items():
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", base + ".wav"] + opts
                       + [base + "_" + codec + ext], check=True)
        d, dsr, src_rate, told = decode(base + "_" + codec + ext, with_source_rate=True)
        ref_y = y if dsr == sr else to_rate(y, sr, dsr)
        variants.append((codec, d, dsr, lag(ref_y, d), src_rate, told,
                         encoder_scale(base + "_" + codec + ext) if RESTORE_LEVEL else 1.0,
                         decoder_name(base + "_" + codec + ext)))
    rows = []
    uncoded_out = {}   # (preset, mode): the uncoded clip's output (reach_lp_db)
    for codec, d, dsr, lg, src_rate, told, scale, decoder in variants:
        clean = x if dsr == sr else to_rate(x, sr, dsr)
        n = min(len(clean), len(d))
        # the codec's own error on the clipped clip, e = decoded - uncoded:
        # a declipper that restores the clipped samples perfectly and keeps
        # the others reaches at most SDR(clean, clean + e), so ΔSDR is
        # capped at that minus the input's SDR (the "ceiling")
        y_r = (y if dsr == sr else to_rate(y, sr, dsr))[:n]
        # an MP3 that LAME scaled: its declipped output is brought back by
        # 1/scale (rtdeclip file; a script that read the header would), so
        # the codec's error that a declipper keeps is that of the restored
        # decoded clip
        d_r = d[:n] / scale
        if DC_RESTORE and codec.startswith("opus"):
            # an Opus clip's DC reject undone (core.dc_restore): the codec's
            # error a declipper keeps is that of the restored clip
            from rtdeclip.core.dc_restore import restored
            d_dc, tripped = restored(d[:n], dsr)
            d_r = np.where(tripped, d[:n], d_dc) / scale
        ceiling = None if codec == "uncoded" else \
            sdr(clean[:n], clean[:n] + d_r - y_r) - sdr(clean[:n], d[:n])
        # the codec's error on the truly reliable samples only (where the
        # clean signal stays inside the clip level): what is left of it once
        # the clipped samples are restored; with the declipper's own error on
        # the uncoded clip it gives the "reach" (summarise, reach_db)
        reliable = np.abs(clean[:n]) < theta
        err_reliable = None if codec == "uncoded" else \
            sdr(clean[:n], clean[:n] + np.where(reliable, d_r - y_r, 0.0))
        # the codec's low-pass took the clean signal's band above its
        # cut-off from the clipped samples too: a declipper restores them
        # from the band the decoded clip keeps, so that band's energy on
        # the truly clipped samples is lost to any declipper that does not
        # invent a band the codec removed (bandwidth extension); relative
        # to the clean signal's energy, in dB, as codec_error_reliable_db
        # (reach_lp_db)
        power = np.sum(clean[:n] ** 2)
        cutoff = None if codec == "uncoded" else codec_cutoff(d_r, y_r, dsr)
        def lost_above(e):
            return float(10 * np.log10(power / max(
                np.sum((above_band(e, dsr, cutoff) * ~reliable) ** 2), 1e-30)))
        clean_above = None if cutoff is None else lost_above(clean[:n])
        if codec != "uncoded" and dsr == sr and len(d) != len(y):
            raise SystemExit(f"{name} {codec}: decoded {len(d)} samples, input {len(y)}")
        for preset in presets:
            for mode in ("offline", "stream"):
                t0 = time.process_time()
                if mode == "offline":
                    out, est, det = run_offline(d, dsr, preset,
                                                told if CODEC_FAMILY else bool(told), src_rate)
                else:
                    out, est, det = run_stream(d, dsr, preset, src_rate,
                                               codec=decoder if CODEC_FAMILY else None)
                cpu = time.process_time() - t0
                out = out / scale
                if codec == "uncoded":
                    uncoded_out[(preset, mode)] = out
                    uncoded_above = None
                else:   # the uncoded clip's declipper error in that band, same samples
                    u = uncoded_out[(preset, mode)]
                    u = (u if dsr == sr else to_rate(u, sr, dsr))[:n]
                    uncoded_above = lost_above(clean[:n] - u)
                before = sdr(clean[:n], d[:n])
                db_scale = 20 * np.log10(scale)
                after = sdr(clean[:n], out[:n])
                rows.append({"clip": name, "input_sdr": sdr_in, "codec": codec, "rate": dsr,
                             "lag": lg, "preset": preset, "mode": mode,
                             "sdr_before": before, "delta_sdr": after - before,
                             # the rail's true place in the decoded clip:
                             # the clip level times the encoder's scale
                             "true_level_db": true_db, "estimated_db": est,
                             "encoder_scale": scale,
                             "level_error_db": (float(np.mean([abs(e - true_db - db_scale)
                                                               for e in est]))
                                                if est else None),
                             "detection": det, "cpu_s": cpu,
                             "ceiling_db": None if ceiling is None else float(ceiling),
                             "codec_error_reliable_db": None if err_reliable is None
                             else float(err_reliable),
                             "codec_cutoff_hz": cutoff,
                             "clean_above_cutoff_clipped_db": clean_above,
                             "uncoded_error_above_cutoff_clipped_db": uncoded_above,
                             "resampled_reference": dsr != sr,
                             "solver_rate": dsr // resample_factor(dsr, src_rate)})
    for f in os.listdir(tmp):
        if f.startswith(os.path.basename(base)):
            os.remove(os.path.join(tmp, f))
    print(f"  {name} @ {sdr_in} dB: done", flush=True)
    return rows


def summarise(rows):
    lines = []
    cod = ["uncoded"] + list(CODECS)
    targets = {"cells": 0, "met": 0, "fails": []}
    for preset in PRESETS:
        for mode in ("offline", "stream"):
            sel = [r for r in rows if r["preset"] == preset and r["mode"] == mode]
            if not sel:
                continue
            clipsn = sorted({r["clip"] for r in sel})
            lines.append(f"\n#### {preset}, {mode} (mean ΔSDR dB over {len(clipsn)} clips; "
                         f"in brackets: % of uncoded)\n")
            table = []
            for s in SDRS:
                if not any(r["input_sdr"] == s for r in sel):
                    continue
                row = [s]
                unc = np.mean([r["delta_sdr"] for r in sel if r["input_sdr"] == s
                               and r["codec"] == "uncoded"])
                for c in cod:
                    v = [r["delta_sdr"] for r in sel if r["input_sdr"] == s and r["codec"] == c]
                    if not v:
                        row.append("")
                        continue
                    m = float(np.mean(v))
                    row.append(f"{m:.2f}" if c == "uncoded" else f"{m:.2f} ({100 * m / unc:.0f})")
                    if c != "uncoded":
                        for r in sel:
                            if r["input_sdr"] != s or r["codec"] != c:
                                continue
                            u = [q["delta_sdr"] for q in sel if q["clip"] == r["clip"]
                                 and q["input_sdr"] == s and q["codec"] == "uncoded"][0]
                            ok = r["delta_sdr"] >= 0 if s == 20 else r["delta_sdr"] >= 0.75 * u
                            targets["cells"] += 1
                            targets["met"] += int(bool(ok))
                            if not ok:
                                targets["fails"].append(
                                    f"{preset}/{mode} {r['clip']} {c} @{s}: "
                                    f"{r['delta_sdr']:.2f} vs uncoded {u:.2f}")
                table.append(row)
            lines.append(md_table(["input SDR"] + cod, table))
    # level estimates, of the first preset the run has (fastest by default)
    ran = [p for p in PRESETS if any(r["preset"] == p for r in rows)]
    first = ran[0] if ran else "fastest"
    lv = []
    for c in cod:
        for mode in ("offline", "stream"):
            e = [r["level_error_db"] for r in rows if r["codec"] == c and r["mode"] == mode
                 and r["preset"] == first and r["level_error_db"] is not None]
            missed = sum(1 for r in rows if r["codec"] == c and r["mode"] == mode
                         and r["preset"] == first
                         and len(r["estimated_db"]) < 2 * (2 if "stereo" in r["clip"] else 1))
            tot = sum(1 for r in rows if r["codec"] == c and r["mode"] == mode
                      and r["preset"] == first)
            if tot:
                lv.append([c, mode, f"{np.mean(e):.2f}" if e else "", f"{np.max(e):.2f}" if e else "",
                           f"{missed}/{tot}"])
    lines.append(f"\n#### Estimated rail (centre) against the true clip level, {first} runs\n")
    lines.append(md_table(["variant", "mode", "mean abs error (dB)", "max (dB)",
                           "cases with a polarity not found"], lv))
    lines.append(ceiling_tables(rows))
    lags = sorted({r["lag"] for r in rows})
    lines.append(f"\nAlignment: cross-correlation lags of decoded against uncoded clips: {lags}.")
    lines.append(f"\nTargets (>= 75 % of uncoded at 3/7/10 dB, >= 0 dB at 20 dB, per clip, "
                 f"codec, preset and mode): {targets['met']}/{targets['cells']} met.")
    return "\n".join(lines), targets


def reach_db(r, u, lost=0.0):
    """What a declipper as good on this variant as on the uncoded clip (row
    ``u``, same clip, preset and mode) would reach if the codec's error on
    the truly reliable samples stays: its error on the uncoded clip plus
    that codec error (energies relative to the clean signal's, so rows at
    another rate compare), plus ``lost`` (more error no declipper removes,
    same units; ``reach_lp_db``), against the decoded input's.  An
    estimate, not a bound (the errors are taken as uncorrelated), but a
    stricter one than the ceiling, which assumes a perfect declipper.  None
    for rows without the codec error (older runs)."""
    if r.get("codec_error_reliable_db") is None:
        return None
    e_dec = 10 ** (-(u["sdr_before"] + u["delta_sdr"]) / 10)
    e_codec = 10 ** (-r["codec_error_reliable_db"] / 10)
    return 10 * np.log10(10 ** (-r["sdr_before"] / 10) / (e_dec + e_codec + lost))


def reach_lp_db(r, u):
    """``reach_db`` with the codec's low-pass counted: the clean signal's
    band above the codec's cut-off on the truly clipped samples is lost to
    a declipper that restores them from the band the decoded clip keeps
    (what the uncoded clip's declipper already missed there is in its
    error, so only the rest is added).  An estimate as ``reach_db`` is;
    None for rows without the band's energies (runs before 2026-12-06,
    twenty-fourth session)."""
    if r.get("clean_above_cutoff_clipped_db") is None:
        return None
    return reach_db(r, u, max(0.0, 10 ** (-r["clean_above_cutoff_clipped_db"] / 10)
                              - 10 ** (-r["uncoded_error_above_cutoff_clipped_db"] / 10)))


def ceiling_tables(rows):
    """The codec's own error caps what any declipper that keeps the reliable
    samples can reach (row "ceiling_db"): its mean per variant, and the
    targets counted against 75 % of min(uncoded ΔSDR, ceiling) beside the
    plain ones, per preset, mode and input SDR."""
    lines = ["\n#### Codec ceiling: the most ΔSDR a perfect declipper keeping the reliable "
             "samples could reach (mean over clips, dB)\n"]
    cod = [c for c in CODECS if any(r["codec"] == c for r in rows)]
    sdrs = sorted({r["input_sdr"] for r in rows})
    first = rows[0]["preset"], rows[0]["mode"]
    table = []
    for s in sdrs:
        row = [s]
        for c in cod:
            v = [r["ceiling_db"] for r in rows if r["codec"] == c and r["input_sdr"] == s
                 and (r["preset"], r["mode"]) == first and r.get("ceiling_db") is not None]
            row.append(f"{np.mean(v):.1f}" if v else "")
        table.append(row)
    lines.append(md_table(["input SDR"] + cod, table))
    unc_rows = {(r["clip"], r["input_sdr"], r["preset"], r["mode"]): r
                for r in rows if r["codec"] == "uncoded"}
    unc = {k: r["delta_sdr"] for k, r in unc_rows.items()}
    with_reach = all(r.get("codec_error_reliable_db") is not None
                     for r in rows if r["codec"] != "uncoded")
    lines.append("\n#### Targets met per preset, mode and input SDR (each clip × lossy variant; "
                 "≥ 75 % of uncoded at 3/7/10 dB, ≥ 0 dB at 20 dB; in brackets: against 75 % "
                 "of min(uncoded, ceiling)" + (" / of min(uncoded, reach)" if with_reach else "")
                 + ")\n")
    keys = sorted({(r["preset"], r["mode"]) for r in rows}, key=lambda k: (PRESETS.index(k[0]), k[1]))
    table = []
    for s in sdrs:
        row = [s]
        for k in keys:
            sel = [r for r in rows if (r["preset"], r["mode"]) == k and r["input_sdr"] == s
                   and r["codec"] != "uncoded"]
            if not sel:
                row.append("")
                continue
            u = [unc[(r["clip"], s, k[0], k[1])] for r in sel]
            if s == 20:
                ok = [r["delta_sdr"] >= 0 for r in sel]
                row.append(f"{sum(ok)}/{len(sel)} (min {min(r['delta_sdr'] for r in sel):.3f})")
            else:
                ok = [r["delta_sdr"] >= 0.75 * x for r, x in zip(sel, u)]
                okc = [r["delta_sdr"] >= 0.75 * min(x, r["ceiling_db"]) for r, x in zip(sel, u)]
                if with_reach:
                    okr = [r["delta_sdr"] >= 0.75 * min(x, reach_db(r, unc_rows[(r["clip"], s) + k]))
                           for r, x in zip(sel, u)]
                    row.append(f"{sum(ok)}/{len(sel)} ({sum(okc)} / {sum(okr)})")
                else:
                    row.append(f"{sum(ok)}/{len(sel)} ({sum(okc)})")
        table.append(row)
    lines.append(md_table(["input SDR"] + [f"{p} {m}" for p, m in keys], table))
    if with_reach:
        lines.append(beyond_table(rows, unc_rows, keys))
    return "\n".join(lines)


def bound_db(r):
    """The most ΔSDR any declipper that restores the truly clipped samples
    perfectly and keeps the others as decoded can reach: only the codec's
    error on the truly reliable samples is left (looser than the ceiling,
    which leaves the codec's error on the clipped samples too)."""
    return r["codec_error_reliable_db"] - r["sdr_before"]


def beyond_table(rows, unc_rows, keys):
    """Per preset, mode and input SDR 3-10 dB: the cells whose ``bound_db``
    lies under 75 % of the uncoded gain (no declipper keeping the decoded
    reliable samples can meet the target there), and the codec variants
    whose mean over the clips is out of reach in the same way (the target
    read per variant, as the mean tables above show it); after "+", the
    further cells that miss and whose ``reach_lp_db`` lies under it too (an
    estimate: a declipper as good as on the uncoded clip, given the codec's
    error on the reliable samples and its low-pass on the clipped ones,
    would still miss them)."""
    unc = {k: r["delta_sdr"] for k, r in unc_rows.items()}
    with_lp = any(r.get("clean_above_cutoff_clipped_db") is not None for r in rows)
    lines = ["\n#### Out of reach: cells (and variant means) where even a perfect restoration of "
             "the clipped samples, the decoded reliable samples kept, stays under 75 % of "
             "uncoded (`bound_db`)" + ("; after +, the further misses beyond `reach_lp_db`, "
                                       "an estimate" if with_lp else "") + "\n"]
    table = []
    for s in sorted({r["input_sdr"] for r in rows if r["input_sdr"] != 20}):
        row = [s]
        for k in keys:
            sel = [r for r in rows if (r["preset"], r["mode"]) == k and r["input_sdr"] == s
                   and r["codec"] != "uncoded"]
            cells = [r for r in sel if bound_db(r) < 0.75 * unc[(r["clip"], s, k[0], k[1])]]
            means = []
            for c in CODECS:
                v = [r for r in sel if r["codec"] == c]
                if v and np.mean([bound_db(r) for r in v]) < 0.75 * np.mean(
                        [unc[(r["clip"], s, k[0], k[1])] for r in v]):
                    means.append(c)
            lp = ""
            if with_lp:   # misses within bound_db but beyond reach_lp_db
                beyond = [r for r in sel if r not in cells and r["delta_sdr"] < (
                    t := 0.75 * unc[(r["clip"], s, k[0], k[1])]) and
                    (q := reach_lp_db(r, unc_rows[(r["clip"], s) + k])) is not None and q < t]
                lp = f" + {len(beyond)}"
            row.append(f"{len(cells)}{lp}/{len(sel)}" + (f" ({', '.join(means)})" if means else ""))
        table.append(row)
    lines.append(md_table(["input SDR"] + [f"{p} {m}" for p, m in keys], table))
    return "\n".join(lines)


def render(path):
    """Re-render a results JSON's markdown beside it (same name, same header)."""
    with open(path) as f:
        payload = json.load(f)
    md, targets = summarise(payload["rows"])
    head = payload.get("header", "")
    name = os.path.splitext(os.path.basename(path))[0]
    write_results(name, payload, head + md + "\n\nTarget misses:\n\n"
                  + "\n".join("- " + f for f in targets["fails"]))


def clip_arguments(ap):
    """The clips and presets both lossy.py and hedge.py run."""
    ap.add_argument("sqam", help="folder of the SQAM excerpts (../shared/data/sqam)")
    ap.add_argument("--excerpts", default="a08_violin")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--presets", default="fastest,average")


def seed_list(text):
    """--voices: comma-separated integer seeds (argparse's one-line error otherwise)."""
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}")


def seed_text(seeds):
    return ",".join(map(str, seeds))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    clip_arguments(ap)
    ap.add_argument("--no-own-clips", dest="own_clips", action="store_false",
                    help="the SQAM excerpts alone, without the speech-like, pop-like and music "
                         "clips (held-out runs)")
    ap.add_argument("--voices", default=[], type=seed_list, metavar="SEEDS",
                    help="held-out voices: the speech-like clip with these seeds (comma-separated), "
                         "before the other clips (e.g. --voices 8,9,10 --excerpts '' --no-own-clips)")
    ap.add_argument("--voice-rate", type=int, default=16000, metavar="HZ",
                    help="the rate the --voices are recorded at (8000: narrowband telephony)")
    ap.add_argument("--hq-excerpts", default="a08_violin",
                    help="highquality runs on these SQAM excerpts and the speech-like clip")
    ap.add_argument("--hq-seconds", type=float, default=2.0)
    ap.add_argument("--hq-sdrs", default="3,20")
    ap.add_argument("--sdrs", default=",".join(map(str, SDRS)))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--codecs", default=",".join(CODECS),
                    help="lossy variants to run (default: all eight)")
    ap.add_argument("--scale", type=float, default=0.0,
                    help="every clean clip times 1 + SCALE (e.g. 1e-3, 0.009 dB): a change "
                         "that matters to nobody but moves the last bits everywhere, so a few "
                         "runs show how far the counts move by chance")
    ap.add_argument("--name", default="lossy", help="results file name (benchmarks/results/NAME.*)")
    ap.add_argument("--no-hedge", dest="hedge", action="store_false",
                    help="offline cells declipped once at the declared width, as before the "
                         "hedge (rtdeclip file --no-hedge)")
    ap.add_argument("--no-second-pass", dest="second_pass", action="store_false",
                    help="offline cells hedged without the second pass on the set the hedge "
                         "names (rtdeclip file --no-second-pass)")
    ap.add_argument("--stream-hedge", type=int, default=None, metavar="N",
                    help="stream cells through Declipper(hedge=N): a smeared rail hedged over "
                         "its width in the stream (rtdeclip live --hedge N); default: the "
                         "preset's (fastest 2, the others 0), as a script gets it")
    ap.add_argument("--no-stream-second-pass", dest="stream_second_pass", action="store_false",
                    help="stream cells told their codec without the second pass that comes "
                         "with it (Declipper(second_pass=False); before the twenty-sixth "
                         "session)")
    told = ap.add_mutually_exclusive_group()
    told.add_argument("--untold-streams", dest="streams", action="store_const", const="untold",
                      default="told", help="stream cells not told their codec, as `rtdeclip "
                      "live` without --codec runs them: no second pass, no Opus width or DC "
                      "restore")
    told.add_argument("--monitor-streams", dest="streams", action="store_const",
                      const="monitor", help="stream cells not told their codec but with the "
                      "second pass, as `rtdeclip monitor` runs them by default (thirty-third "
                      "session)")
    ap.add_argument("--keep-level", dest="restore_level", action="store_false",
                    help="MP3 outputs keep the decoded level, not brought back to the level "
                         "LAME scaled its input from (rtdeclip file --keep-level; before the "
                         "twenty-fifth session)")
    ap.add_argument("--no-dc-restore", dest="dc_restore", action="store_false",
                    help="Opus cells declipped as decoded, the encoder's DC reject not undone "
                         "(rtdeclip file --no-dc-restore; before the twenty-ninth session)")
    ap.add_argument("--no-codec-family", dest="codec_family", action="store_false",
                    help="offline cells told only that the decoder is lossy, not its codec "
                         "(no Opus width: the detector before 2026-12-05, tenth session)")
    a = ap.parse_args()
    global HEDGE, SECOND_PASS, STREAM_HEDGE, CODEC_FAMILY, RESTORE_LEVEL, STREAM_SECOND_PASS, \
        DC_RESTORE, STREAMS
    DC_RESTORE, STREAMS = a.dc_restore, a.streams
    HEDGE, SECOND_PASS, STREAM_HEDGE = a.hedge, a.second_pass, a.stream_hedge
    STREAM_SECOND_PASS = a.stream_second_pass
    CODEC_FAMILY, RESTORE_LEVEL = a.codec_family, a.restore_level
    presets = [p for p in a.presets.split(",") if p]
    for c in [c for c in CODECS if c not in a.codecs.split(",")]:
        del CODECS[c]
    sdrs = [int(s) for s in a.sdrs.split(",")]
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="rtdeclip-lossy-") as tmp:
        tasks = [(n, x * (1.0 + a.scale), sr, s, presets, tmp) for n, x, sr in
                 clips(a.sqam, [e for e in a.excerpts.split(",") if e], a.seconds, a.own_clips,
                       a.voices, a.voice_rate)
                 for s in sdrs]
        if a.hq_excerpts:
            hq = [c for c in clips(a.sqam, a.hq_excerpts.split(","), a.hq_seconds)
                  if c[0] in a.hq_excerpts.split(",") or c[0].startswith("speech")]
            tasks += [(n + f" ({a.hq_seconds:g} s)", x * (1.0 + a.scale), sr, int(s), ["highquality"], tmp)
                      for n, x, sr in hq for s in a.hq_sdrs.split(",")]
        with ProcessPoolExecutor(a.jobs) as pool:
            rows = [r for rs in pool.map(case, tasks) for r in rs]
    md, targets = summarise(rows)
    hq = (f"highquality: {a.hq_excerpts} and the speech-like clip, {a.hq_seconds:g} s, "
          f"input SDR {a.hq_sdrs}" if a.hq_excerpts else "no highquality runs")
    head = (f"`python benchmarks/lossy.py {shlex.join(sys.argv[1:])}` (SQAM excerpts "
            f"{a.excerpts}{' and the three own clips' if a.own_clips else ''}"
            f"{f', speech-like voices (seeds {seed_text(a.voices)}, {a.voice_rate} Hz)' if a.voices else ''}, "
            f"{a.seconds:g} s, presets {a.presets}; "
            f"{hq}; {time.time() - t0:.0f} s wall on the shared machine)\n")
    rows = json.loads(json.dumps(rows, default=lambda o: o.item()))
    write_results(a.name, {"machine": machine(), "args": vars(a), "rows": rows,
                            "targets": targets, "header": head}, head + md + "\n\nTarget misses:\n\n"
                  + "\n".join("- " + f for f in targets["fails"]))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        render(sys.argv[2])
    else:
        main()
