"""``--plot``: a picture of what was clipped and what was restored.

Top: the most clipped stretch of the first channel (input, output, clip
levels, clipped samples marked).  Bottom: the histogram of sample values,
whose spikes at the rails are what the detector found.  matplotlib is
imported only here, only when a plot is asked for.
"""
import numpy as np

from .audio_io import AudioSource
from .errors import UserError


def plot_report(report, path, seconds=0.03):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'rtdeclip[plot]'") from None
    sr = report["sample_rate"]
    x = AudioSource(report["input"]).read_all()[:, 0]
    y = AudioSource(report["output"]).read_all()[:, 0] / report.get("gain_applied", 1.0)
    th = report["thresholds"][0]
    pos = th["positive"] if th["positive"] is not None else np.inf
    neg = th["negative"] if th["negative"] is not None else -np.inf
    clipped = (x >= pos) | (x <= neg)
    span = max(16, int(seconds * sr))
    if clipped.any():
        density = np.convolve(clipped.astype(float), np.ones(span), mode="valid")
        start = int(np.argmax(density))
    else:
        start = 0
    sl = slice(start, min(len(x), start + span))
    t = np.arange(sl.start, sl.stop) / sr * 1000
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 7))
    a1.plot(t, x[sl], color="0.5", lw=1, label="input (clipped)")
    a1.plot(t, y[sl], color="C0", lw=1.2, label="declipped")
    idx = np.flatnonzero(clipped[sl])
    a1.plot(t[idx], x[sl][idx], "r.", ms=3, label="clipped samples")
    for lv in (pos, neg):
        if np.isfinite(lv):
            a1.axhline(lv, color="r", ls="--", lw=0.8)
    a1.set_xlabel("time (ms)")
    a1.set_title(f"{report['input']}: channel 1, most clipped {seconds * 1000:.0f} ms")
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
    tmp = path + ".part.png"
    try:
        fig.savefig(tmp, dpi=100)
        import os
        os.replace(tmp, path)
    finally:
        plt.close(fig)
