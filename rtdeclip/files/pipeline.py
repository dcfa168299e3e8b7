"""One file through the whole chain, in bounded memory:

    decode (pass 1: extremes) -> decode (pass 2: histograms near the rails)
    -> thresholds -> decode (pass 3) -> Declipper in chunks (clipped samples
    counted on the way) -> float32 WAV (atomic)
    [-> PCM with headroom gain] [-> SDR against a reference]

Streaming through ``Declipper`` gives the same samples as processing the
file in one piece (the block processor is block-size invariant), so memory
is a few chunks whatever the length.
"""
import os
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np

from rtdeclip.files.audio_io import AtomicWav, AudioSource
from rtdeclip.core.declipper import Declipper
from rtdeclip.core.detect import ClipCounter, ClipDetector
from rtdeclip.errors import UserError

CHUNK = 1 << 16
REFERENCE_SLACK = 4096   # samples a reference may differ by (codec padding)
stop_event = threading.Event()   # set on Ctrl-C / SIGTERM: every job stops at its next chunk


@dataclass
class FileJob:
    input: str
    output: str
    reference: str | None = None
    preset: str = "average"
    algorithm: str = "aspade"
    threshold: str = "auto"     # auto | DBFS | POS_DBFS,NEG_DBFS
    fmt: str = "float32"
    progress: object = None     # callable(fraction) or None


def db(v):
    return 20 * np.log10(v) if v and v > 0 else float("-inf")


def parse_threshold_db(spec, channels):
    """--threshold: 'auto', 'DBFS' or 'POS_DBFS,NEG_DBFS' -> None or levels."""
    spec = str(spec).strip()
    if spec.lower() == "auto":
        return None
    try:
        parts = [float(p) for p in spec.split(",")]
    except ValueError:
        raise UserError(f"--threshold must be auto, DBFS or POS_DBFS,NEG_DBFS, got {spec!r}") from None
    if len(parts) not in (1, 2) or any(not np.isfinite(p) or p > 0 for p in parts):
        raise UserError(f"--threshold levels are dBFS values <= 0, got {spec!r}")
    pos = 10 ** (parts[0] / 20)
    neg = 10 ** (parts[-1] / 20)
    return [(pos, -neg)] * channels


class RawTemp:
    """Interleaved float32 samples in a hidden temporary beside the output,
    removed by ``remove()`` (and on any error inside its ``with`` block)."""

    def __init__(self, output, channels):
        folder = os.path.dirname(os.path.abspath(output))
        try:
            fd, self.path = tempfile.mkstemp(prefix=".rtdeclip-", suffix=".f32.part", dir=folder)
        except OSError as e:
            raise UserError(f"{output}: cannot write to {folder} ({e.strerror})") from None
        self.f = os.fdopen(fd, "wb")
        self.channels = channels

    def write(self, block):
        np.asarray(block, dtype="<f4").tofile(self.f)

    def chunks(self, size):
        # plain reads, not a memmap: mapped pages of a long file would count
        # as resident memory
        if not self.f.closed:
            self.f.flush()
        with open(self.path, "rb") as f:
            while True:
                a = np.fromfile(f, dtype="<f4", count=size * self.channels)
                if not len(a):
                    return
                yield a.astype(np.float64).reshape(-1, self.channels)

    def remove(self):
        if not self.f.closed:
            self.f.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.f.close()
        if exc_type is not None:
            self.remove()
        return False


def _check(job):
    if stop_event.is_set():
        raise KeyboardInterrupt


# share of the progress bar for the two detection passes (decoding only);
# declipping takes the rest
DETECT_SHARE = 0.1


def run(job: FileJob):
    """Declip one file; returns the report dict (``report.service_log``
    turns it into the service's log).  Raises UserError."""
    t_start = time.perf_counter()
    progress = job.progress or (lambda frac: None)
    src = AudioSource(job.input)
    ch, sr = src.channels, src.sample_rate
    ref = None
    if job.reference:
        ref = AudioSource(job.reference)
        if ref.sample_rate != sr:
            # refused, not resampled: an SDR against a resampled reference
            # would measure the resampler too (documented in docs/lossy.md)
            why = " (Opus always decodes at 48 kHz)" if src.codec in ("opus", "libopus") else ""
            raise UserError(f"{job.reference}: reference is at {ref.sample_rate} Hz but the input "
                            f"decodes at {sr} Hz{why}; resample the reference to {sr} Hz "
                            f"(e.g. ffmpeg -i REF -ar {sr} REF_{sr}.wav)")
        diffs = [f"{ref.channels} channel(s) (input {ch})" if ref.channels != ch else ""]
        if any(diffs):
            raise UserError(f"{job.reference}: reference does not match the input: "
                            + ", ".join(d for d in diffs if d))

    # passes 1 and 2: clip levels per channel and polarity
    det = ClipDetector(ch, lossy=is_lossy(src.codec))
    for chunk in src.chunks(CHUNK):
        _check(job)
        det.scan_extremes(chunk)
    n = det.n
    progress(DETECT_SHARE / 2)
    done = 0
    for chunk in src.chunks(CHUNK):
        _check(job)
        det.scan_counts(chunk)
        done += len(chunk)
        progress(DETECT_SHARE / 2 * (1 + done / n))
    found = det.result()
    if ref is not None:  # before anything is written
        n_ref = sum(len(c) for c in ref.chunks(CHUNK))
        if abs(n_ref - n) > REFERENCE_SLACK:
            raise UserError(f"{job.reference}: reference lasts {n_ref} samples "
                            f"({n_ref / sr:.3f} s), input {n} ({n / sr:.3f} s): "
                            f"more than codec padding apart")
    fixed = parse_threshold_db(job.threshold, ch)
    levels = fixed if fixed is not None else [solver_levels(c, src.codec) for c in found]
    clipped_any = any(np.isfinite(p) or np.isfinite(q) for p, q in levels)

    # pass 3: declip (or copy through), counting what the solver treats as clipped
    stats = None
    peaks = np.zeros(2)             # largest positive sample, largest |negative| one
    counter = ClipCounter(levels)
    t_proc = time.perf_counter()
    # PCM needs the restored peaks before writing, so it goes through a raw
    # float32 temporary first
    sink = AtomicWav(job.output, sr, ch, "float32") if job.fmt == "float32" else RawTemp(job.output, ch)

    def emit(w, block):
        if len(block):
            w.write(block)
            np.maximum(peaks, [block.max(), -block.min()], out=peaks)

    try:   # the PCM path's float temporary goes whatever happens, Ctrl-C included
        with sink as w:
            done = 0
            if not clipped_any:
                for chunk in src.chunks(CHUNK):
                    _check(job)
                    counter.scan(chunk)
                    emit(w, chunk)
                    done += len(chunk)
                    progress(DETECT_SHARE + (1 - DETECT_SHARE) * done / n)
            else:
                d = Declipper(sr, channels=ch, preset=job.preset, algorithm=job.algorithm,
                              threshold=levels)
                skip, out = d.latency_samples, None
                for chunk in src.chunks(CHUNK):
                    _check(job)
                    counter.scan(chunk)
                    if out is None or len(out) != len(chunk):
                        out = np.empty((len(chunk), ch))
                    y = d.process(np.ascontiguousarray(chunk), out=out)
                    drop = min(skip, len(y))   # the first latency_samples are the delay
                    skip -= drop
                    emit(w, y[drop:])
                    done += len(chunk)
                    progress(DETECT_SHARE + (1 - DETECT_SHARE) * done / n)
                y = d.flush()
                emit(w, y[min(skip, len(y)):])
                stats = d.stats
        counter.fill(found)
        t_done = time.perf_counter()

        # PCM: the smallest gain that keeps the restored peaks within the format
        # (positive full scale is one step below 1.0); never clip silently
        gain = 1.0
        if job.fmt != "float32":
            step = 1.0 / 32768 if job.fmt == "pcm16" else 1.0 / 8388608
            gain = min(1.0, (1.0 - step) / peaks[0] if peaks[0] > 0 else 1.0,
                       1.0 / peaks[1] if peaks[1] > 0 else 1.0)
            with AtomicWav(job.output, sr, ch, job.fmt) as w:
                for chunk in sink.chunks(CHUNK):
                    _check(job)
                    w.write(chunk, gain=gain)
    finally:
        if isinstance(sink, RawTemp):
            sink.remove()
    progress(1.0)

    peak = float(peaks.max())
    report = {"input": job.input, "output": job.output, "sample_rate": sr, "channels": ch,
              "frames": n, "duration_s": n / sr, "codec": src.codec,
              "lossy_codec": is_lossy(src.codec), "preset": job.preset,
              "algorithm": job.algorithm, "threshold_mode": job.threshold, "format": job.fmt,
              "thresholds_given": fixed is not None,
              "thresholds": [channel_report(c, lv, f) for c, (lv, f) in enumerate(zip(levels, found))],
              "clipping_found": bool(clipped_any), "output_peak": peak,
              "output_peak_dbfs": db(peak), "gain_applied": gain, "gain_db": db(gain),
              "solver": stats, "timings": {"detect_s": t_proc - t_start,
                                           "declip_s": t_done - t_proc,
                                           "total_s": time.perf_counter() - t_start}}
    if stats:
        sett = Declipper(sr, channels=1, preset=job.preset, algorithm=job.algorithm,
                         threshold=1.0, plan="estimate").settings
        report["parameters"] = sett.__dict__
        solved = max(1, stats["frames_solved"])
        report["iterations_per_frame"] = {"mean": stats["iterations"] / solved,
                                          "max": stats["max_frame_iterations"]}
        report["real_time_factor"] = (n / sr) / max(t_done - t_proc, 1e-9)
    if ref is not None:
        report["sdr"] = reference_sdr(job, src, ref, n, gain)
    return report


# decoders of lossy codecs: their ringing is not noise around a flat rail
LOSSY = ("mp3", "mp2", "aac", "vorbis", "opus", "libopus", "ac3", "eac3", "wma")


def is_lossy(codec):
    return any(codec.startswith(name) for name in LOSSY)


def solver_levels(found, codec):
    """The levels the solver gets for one channel: the detector's declared
    levels (``found.thresholds``).  A noisy rail goes to its lower edge; a
    codec-smeared one (every hump of a lossy input: the detector is told the
    codec) ``found.width_db`` below its centre, so the samples the codec's
    ringing pushed below the rail are in the clipped set.  (Before issue 9
    a codec's rails went to their centre: about neutral, -0.7 to +0.1 dB.)"""
    return found.thresholds


def channel_report(c, levels, f):
    """One channel's levels (solver's and estimated) and counts, for the report."""
    p, q = levels
    est = f.levels_db()
    return {"channel": c + 1, "positive": p if np.isfinite(p) else None,
            "negative": q if np.isfinite(q) else None,
            "positive_dbfs": db(p) if np.isfinite(p) else None,
            "negative_dbfs": db(-q) if np.isfinite(q) else None,
            "estimated_positive_dbfs": est[0], "estimated_negative_dbfs": est[1],
            "detection": list(f.method), "smear_width_db": list(f.width_db),
            "dc_offset": f.dc_offset,
            "clipped_high": f.clipped_high, "clipped_low": f.clipped_low,
            "clipped_ratio": f.ratio, "longest_run": f.longest_run,
            "histogram": f.histogram}


def reference_sdr(job, src, ref, n, gain):
    """New/old SDR per channel and for the mix, streaming the three files."""
    ch = src.channels
    num = np.zeros(ch)
    err_new = np.zeros(ch)
    err_old = np.zeros(ch)
    mix = np.zeros(3)
    out_src = AudioSource(job.output)
    for r, y, x in zip(ref.chunks(CHUNK), src.chunks(CHUNK), out_src.chunks(CHUNK)):
        m = min(len(r), len(y), len(x))
        r, y, x = r[:m], y[:m], x[:m] / gain
        num += (r ** 2).sum(axis=0)
        err_new += ((r - x) ** 2).sum(axis=0)
        err_old += ((r - y) ** 2).sum(axis=0)
        rm, ym, xm = r.mean(axis=1), y.mean(axis=1), x.mean(axis=1)
        mix += [(rm ** 2).sum(), ((rm - xm) ** 2).sum(), ((rm - ym) ** 2).sum()]
    with np.errstate(divide="ignore"):
        new = 10 * np.log10(num / err_new)
        old = 10 * np.log10(num / err_old)
        mix_new = 10 * np.log10(mix[0] / mix[1])
        mix_old = 10 * np.log10(mix[0] / mix[2])
    rows = []
    for c in range(ch):
        rows.append({"channel": c + 1, "new_db": float(new[c]), "old_db": float(old[c]),
                     "improvement_db": float(new[c] - old[c])})
    return {"channels": rows, "mix": {"new_db": float(mix_new), "old_db": float(mix_old),
                                      "improvement_db": float(mix_new - mix_old)}}


def declip_file(input, output=None, reference=None, preset="average", algorithm="aspade",
                threshold="auto", format="float32", progress=None):
    """Declip an audio file into a WAV file: the ``rtdeclip file`` command
    as a function.  Returns the report (dict; its "log" holds the service's
    log lines).  Raises ``UserError`` for bad input, naming the file.

    >>> rep = rtdeclip.declip_file("song.mp3", preset="fastest")   # doctest: +SKIP
    >>> rep["output"], rep["thresholds"][0]["estimated_positive_dbfs"]  # doctest: +SKIP
    ('/music/Declipped_song.wav', -3.02)

    ``output``: a file or an existing folder (default: ``Declipped_<name>.wav``
    beside the input); ``threshold``: "auto", "DBFS" or "POS_DBFS,NEG_DBFS";
    ``format``: float32 (default: restored peaks above full scale kept),
    pcm16 or pcm24 (the smallest gain that fits them, reported);
    ``progress``: called with the fraction done."""
    from rtdeclip.files.report import service_log
    from rtdeclip.core.params import ALGORITHMS, PRESETS
    from rtdeclip.files.audio_io import FORMATS
    if str(preset).lower() not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; use HighQuality, Average or Fastest")
    if str(algorithm).lower() not in ALGORITHMS:
        raise UserError(f"unknown algorithm {algorithm!r}; use {', '.join(ALGORITHMS)}")
    if format not in FORMATS:
        raise UserError(f"unknown output format {format!r}; use one of {', '.join(FORMATS)}")
    parse_threshold_db(threshold, 1)
    name = "Declipped_" + os.path.splitext(os.path.basename(input))[0] + ".wav"
    if output is None:
        output = os.path.join(os.path.dirname(os.path.abspath(input)), name)
    elif os.path.isdir(output):
        output = os.path.join(output, name)
    for other in (input, reference):
        if other and os.path.exists(output) and os.path.exists(other) \
                and os.path.samefile(output, other):
            raise UserError(f"{output}: refusing to overwrite an input")
    report = run(FileJob(input, output, reference, preset, algorithm, threshold, format, progress))
    report["log"] = service_log(report)
    return report
