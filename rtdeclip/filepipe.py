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
from dataclasses import dataclass, field

import numpy as np

from .audio_io import AtomicWav, AudioSource
from .declipper import Declipper
from .detect import ClipCounter, ClipDetector
from .errors import UserError

CHUNK = 1 << 16
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
    log: list = field(default_factory=list)


def db(v):
    return 20 * np.log10(v) if v and v > 0 else float("-inf")


def level_db(v):
    """A clip level for the log: '-26.10 dB', or 'none' for an unclipped polarity."""
    return f"{db(v):.2f} dB" if np.isfinite(v) else "none"


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
        data = np.memmap(self.path, dtype="<f4", mode="r").reshape(-1, self.channels)
        for i in range(0, len(data), size):
            yield np.asarray(data[i:i + size], dtype=np.float64)

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


def run(job: FileJob):
    """Declip one file; returns the report dict.  Raises UserError."""
    t_start = time.perf_counter()
    src = AudioSource(job.input)
    ch, sr = src.channels, src.sample_rate
    ref = None
    if job.reference:
        ref = AudioSource(job.reference)
        if ref.sample_rate != sr or ref.channels != ch:
            raise UserError(f"{job.reference}: reference has {ref.channels} channel(s) at "
                            f"{ref.sample_rate} Hz, input has {ch} at {sr} Hz")

    # passes 1 and 2: clip levels per channel and polarity
    det = ClipDetector(ch)
    for chunk in src.chunks(CHUNK):
        _check(job)
        det.scan_extremes(chunk)
    n = det.n
    for chunk in src.chunks(CHUNK):
        _check(job)
        det.scan_counts(chunk)
    found = det.result()
    if ref is not None:  # before anything is written
        n_ref = sum(len(c) for c in ref.chunks(CHUNK))
        if abs(n_ref - n) > 4096:
            raise UserError(f"{job.reference}: reference lasts {n_ref} samples, input {n} "
                            f"(more than codec padding apart)")
    fixed = parse_threshold_db(job.threshold, ch)
    levels = fixed if fixed is not None else [c.thresholds for c in found]
    job.log.append(f"User parameters: preset={job.preset} algorithm={job.algorithm} "
                   f"threshold={job.threshold} format={job.fmt}")
    for c, (info, (pos, neg)) in enumerate(zip(found, levels)):
        if fixed is None:
            est = info.thresholds if info.positive is None and info.negative is None else (
                np.inf if info.positive is None else info.positive,
                -np.inf if info.negative is None else info.negative)
            job.log.append(f"Estimated clipping threshold for channel {c + 1}: {level_db(est[0])} "
                           f"(positive samples) {level_db(-est[1])} (negative samples)")
            if (pos, neg) != est:   # a smeared rail: the solver gets its lower edge
                job.log.append(f"  noisy or codec-smeared rail in channel {c + 1}: samples from "
                               f"{level_db(pos)} (positive) and {level_db(-neg)} (negative) "
                               f"are treated as clipped")
        else:
            job.log.append(f"Clipping threshold for channel {c + 1} (given): {db(pos):.2f} dB "
                           f"(positive samples) {db(-neg):.2f} dB (negative samples)")
    clipped_any = any(np.isfinite(p) or np.isfinite(q) for p, q in levels)

    # pass 3: declip (or copy through) into a float32 temporary
    stats, peak = None, 0.0
    counter = ClipCounter(levels)   # what the solver treats as clipped, counted on the way
    t_proc = time.perf_counter()
    # PCM needs the restored peak before writing, so it goes through a raw
    # float32 temporary first
    sink = AtomicWav(job.output, sr, ch, "float32") if job.fmt == "float32" else RawTemp(job.output, ch)
    with sink as w:
        if not clipped_any:
            job.log.append("No clipping found: the input is copied through unchanged.")
            done = 0
            for chunk in src.chunks(CHUNK):
                _check(job)
                counter.scan(chunk)
                w.write(chunk)
                peak = max(peak, float(np.abs(chunk).max()))
                done += len(chunk)
                if job.progress:
                    job.progress(done / n)
        else:
            d = Declipper(sr, channels=ch, preset=job.preset, algorithm=job.algorithm,
                          threshold=levels)
            skip, done = d.latency_samples, 0
            out = None

            def emit(block):
                nonlocal skip, peak
                drop = min(skip, len(block))
                skip -= drop
                block = block[drop:]
                if len(block):
                    w.write(block)
                    peak = max(peak, float(np.abs(block).max()))

            for chunk in src.chunks(CHUNK):
                _check(job)
                counter.scan(chunk)
                if out is None or len(out) != len(chunk):
                    out = np.empty((len(chunk), ch))
                emit(d.process(np.ascontiguousarray(chunk), out=out))
                done += len(chunk)
                if job.progress:
                    job.progress(done / n)
            emit(d.flush())
            stats = d.stats
    counter.fill(found)
    for c, info in enumerate(found):
        job.log.append(f"Clipped samples in channel {c + 1}: {info.clipped} "
                       f"({100 * info.ratio:.2f} %: {info.clipped_high} positive, "
                       f"{info.clipped_low} negative), longest run {info.longest_run}")
    if stats:
        for c, info in enumerate(found):
            job.log.append(f"Reconstructed samples in channel {c + 1}: {info.clipped}")
    t_done = time.perf_counter()

    # PCM: the smallest gain that keeps the restored peaks under full scale
    gain = 1.0
    if job.fmt != "float32":
        full = 1.0 - (1.0 / 32768 if job.fmt == "pcm16" else 1.0 / 8388608)
        gain = min(1.0, full / peak) if peak > 0 else 1.0
        try:
            with AtomicWav(job.output, sr, ch, job.fmt) as w:
                for chunk in sink.chunks(CHUNK):
                    _check(job)
                    w.write(chunk, gain=gain)
        finally:
            sink.remove()
        if gain < 1.0:
            job.log.append(f"Gain applied for {job.fmt} output: {db(gain):.2f} dB "
                           f"(restored peak {db(peak):+.2f} dBFS)")

    report = {"input": job.input, "output": job.output, "sample_rate": sr, "channels": ch,
              "frames": n, "codec": src.codec, "preset": job.preset, "algorithm": job.algorithm,
              "threshold_mode": job.threshold, "format": job.fmt,
              "thresholds": [{"channel": c + 1, "positive": p if np.isfinite(p) else None,
                              "negative": q if np.isfinite(q) else None,
                              "positive_dbfs": db(p) if np.isfinite(p) else None,
                              "negative_dbfs": db(-q) if np.isfinite(q) else None,
                              "clipped_high": f.clipped_high, "clipped_low": f.clipped_low,
                              "clipped_ratio": f.ratio, "longest_run": f.longest_run,
                              "estimated_positive_dbfs": f.levels_db()[0],
                              "estimated_negative_dbfs": f.levels_db()[1],
                              "detection": list(f.method), "dc_offset": f.dc_offset,
                              "histogram": f.histogram}
                             for c, ((p, q), f) in enumerate(zip(levels, found))],
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
    if ref is not None:
        report["sdr"] = reference_sdr(job, src, ref, n, gain)
    return report


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
        job.log.append(f"Channel {c + 1}: New SDR {new[c]:.2f} dB | Old SDR {old[c]:.2f} dB | "
                       f"Improvement {new[c] - old[c]:.2f} dB")
        rows.append({"channel": c + 1, "new_db": float(new[c]), "old_db": float(old[c]),
                     "improvement_db": float(new[c] - old[c])})
    job.log.append(f"Mix of all channels: New SDR {mix_new:.2f} dB | Old SDR {mix_old:.2f} dB | "
                   f"Improvement {mix_new - mix_old:.2f} dB")
    return {"channels": rows, "mix": {"new_db": float(mix_new), "old_db": float(mix_old),
                                      "improvement_db": float(mix_new - mix_old)}}
