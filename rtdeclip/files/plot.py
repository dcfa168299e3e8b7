"""``--plot``: a picture of what was clipped and what was restored.

Top: the most clipped 30 ms of the first channel (input, output, clip
levels, clipped samples marked).  Bottom: the histogram of sample values,
whose spikes at the rails are what the detector found.  matplotlib is
imported only here, only when a plot is asked for.  Files are streamed:
only the pictured stretch is held in memory.
"""
import numpy as np

from rtdeclip.files.audio_io import AudioSource
from rtdeclip.files.sinks import AtomicFile
from rtdeclip.errors import RtdeclipError


def most_clipped(src, pos, neg, span, chunk=1 << 16):
    """Start of the span-long stretch of channel 1 with the most clipped
    samples, streaming the file (stretches across chunk borders are not
    considered: a picture does not need the very best one)."""
    best, best_start, at = -1, 0, 0
    for a in src.chunks(chunk):
        c = ((a[:, 0] >= pos) | (a[:, 0] <= neg)).astype(float)
        if len(c) >= span:
            density = np.convolve(c, np.ones(span), mode="valid")
            i = int(np.argmax(density))
            if density[i] > best:
                best, best_start = density[i], at + i
        at += len(a)
    return best_start


def excerpt(src, start, length, chunk=1 << 16):
    """Frames [start, start + length) of a file, decoding in chunks."""
    out, at = [], 0
    for a in src.chunks(chunk):
        lo, hi = max(start - at, 0), min(start + length - at, len(a))
        if hi > lo:
            out.append(a[lo:hi])
        at += len(a)
        if at >= start + length:
            break
    return np.concatenate(out) if out else np.zeros((0, src.channels))


def plot_report(report, path, seconds=0.03, name=None):
    """``name``: the input as the title shows it (default its path)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RtdeclipError("--plot needs matplotlib: pip install 'rtdeclip[plot]'") from None
    sr = report["sample_rate"]
    th = report["thresholds"][0]
    pos = th["positive"] if th["positive"] is not None else np.inf
    neg = th["negative"] if th["negative"] is not None else -np.inf
    span = max(16, int(seconds * sr))
    start = most_clipped(AudioSource(report["input"]), pos, neg, span)
    x = excerpt(AudioSource(report["input"]), start, span)[:, 0]
    # at the input's level: the PCM headroom gain and an MP3's restored level undone
    y = excerpt(AudioSource(report["output"]), start, span)[:, 0] / (
        report.get("gain_applied", 1.0) * report.get("level_restored", 1.0))
    clipped = (x >= pos) | (x <= neg)
    t = np.arange(start, start + len(x)) / sr * 1000
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 7))
    a1.plot(t, y, color="C0", lw=1.2, label="declipped")
    a1.plot(t, x, color="0.4", lw=1, label="input (clipped)")   # on top: visible at the rails
    idx = np.flatnonzero(clipped)
    a1.plot(t[idx], x[idx], "r.", ms=3, label="clipped samples")
    for lv in (pos, neg):
        if np.isfinite(lv):
            a1.axhline(lv, color="r", ls="--", lw=0.8)
    a1.set_xlabel("time (ms)")
    a1.set_title(f"{name or report['input']}: channel 1, most clipped {seconds * 1000:.0f} ms")
    a1.legend(loc="upper right", fontsize=8)
    for side, color in (("positive", "C1"), ("negative", "C2")):
        h = th["histogram"].get(side, {})
        if h.get("edges_dbfs"):
            e = np.asarray(h["edges_dbfs"])
            a2.bar((e[:-1] + e[1:]) / 2, h["counts"], width=np.diff(e), color=color,
                   alpha=0.6, label=f"{side} samples")
        est = th.get(f"estimated_{side}_dbfs")
        if est is not None:
            a2.axvline(est, color=color, ls="--", lw=0.8)
    a2.set_yscale("log")
    a2.set_xlabel("|sample value| (dBFS)")
    a2.set_ylabel("count")
    a2.legend(loc="upper left", fontsize=8)
    a2.set_title("near the rails: the spikes (or humps) are the clipped samples; dashed: estimated levels")
    fig.tight_layout()
    try:
        with AtomicFile(path, ".png.part", what="plot") as out:
            fig.savefig(out.f, dpi=100, format="png")
    finally:
        plt.close(fig)
