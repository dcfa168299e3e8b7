"""What a perfect clipped set would buy after a codec: one channel of a
lossy cell solved with clipped sets that know more and more of the truth.

    python benchmarks/lossy_sets.py ../shared/data/sqam [--jobs 2] [--cells CLIP:SDR:CODEC,...]

After a codec the solver is given every sample beyond a declared level
below the smeared rail as clipped ("at least its observed value") and
pins every other sample (docs/lossy.md).  That set has *false* members
(reliable samples the ringing lifted above the declared level) and
*misses* (clipped samples the ringing pulled below it), and its lower
bounds are the observed values, which dip below the true level.  Which
of these costs the dB that the lossy cells lack against the uncoded ones?

Each cell (a clip of benchmarks/lossy.py at one input SDR through one
codec by the ffmpeg command line; channel 0) is solved by one plain
A-SPADE written here with box projections (2048-sample Hann frames, hop
512, redundancy 1, k grows by 2 per iteration, 60 iterations, last
iterate: small and fast, not a preset; its numbers compare with each
other, not with the presets'):

* ``uncoded``: the clip before the codec, its exact clipped set;
* ``declared``: the set rtdeclip declares (``detect_clipping(lossy=...)``
  as ``rtdeclip file`` calls it), bounds at the observed values;
* ``- false``: the same with its false members pinned (an oracle);
* ``+ misses``: the same with its misses added, bounds observed (oracle);
* ``true, obs``: the true set, bounds at the observed values (oracle);
* ``true, rail``: the true set, bounds at the true level: all the set and
  its bounds can buy; what is left is the codec's error on the reliable
  samples (oracle);
* ``true - misses, rail``: the true set without the declared set's misses
  (pinned at their observed values), bounds at the true level (oracle).

Also the shipped result on the same channel (``rtdeclip.declip``,
``fastest``, hedged) and the set's counts.  Results:
benchmarks/results/lossy_sets.{json,md}.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_results, md_table, machine  # noqa: E402
import lossy  # noqa: E402

# the lossy benchmark's three 44.1 kHz clips, every codec, the SDRs with a ratio target
CELLS = tuple(f"{c}:{s}:{k}" for c in ("violin", "music", "pop") for s in (3, 7, 10)
              for k in lossy.CODECS)
VARIANTS = ("uncoded", "declared", "- false", "+ misses", "true, obs", "true, rail",
            "true - misses, rail")
FRAME, HOP, ITERATIONS, STEP = 2048, 512, 60, 2
FREE = 1e9   # a bound that never binds (finite: frames are windowed by a Hann that reaches 0)


def aspade_box(lo, hi, y):
    """A-SPADE (redundancy 1) on one windowed frame, consistent with the
    box [lo, hi] per sample; the last projected iterate."""
    from rtdeclip.core.reference import frana, frsyn, hard_thresholding
    x = y.copy()
    z = frana(x, 1)
    u = np.zeros_like(z)
    for it in range(ITERATIONS):
        zb = hard_thresholding(z + u, STEP * (it + 1))
        x = np.clip(frsyn(zb - u, 1), lo, hi)
        z = frana(x, 1)
        u = u + z - zb
    return x


def solve(y, lo, hi):
    """Frames centred every HOP (circular over a zero-padded signal), Hann
    analysis, canonical dual, overlap-add (reference.declip's framing)."""
    n = len(y)
    total = int(np.ceil(n / HOP) * HOP + (np.ceil(FRAME / HOP) - 1) * HOP)
    yp, lp, hp = (np.concatenate([v, np.zeros(total - n)]) for v in (y, lo, hi))
    g = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)
    den = np.zeros(HOP)
    for j in range(FRAME):
        den[j % HOP] += g[j] ** 2
    gs = g / den[np.arange(FRAME) % HOP]
    out = np.zeros(total)
    for k in range(total // HOP):
        idx = (k * HOP + np.arange(-FRAME // 2, FRAME // 2)) % total
        out[idx] += aspade_box(lp[idx] * g, hp[idx] * g, yp[idx] * g) * gs
    return out[:n]


def bounds(y, clipped, floor):
    """Box per sample: pinned at y, or (clipped, +1 / -1) at least ``floor``
    away from zero on its side."""
    lo = np.where(clipped > 0, floor, np.where(clipped < 0, -FREE, y))
    hi = np.where(clipped < 0, floor, np.where(clipped > 0, FREE, y))
    return lo, hi


def cell(spec):
    import rtdeclip
    from rtdeclip.core.detect import detect_clipping
    from rtdeclip.core.metrics import clip_to_sdr
    name, sdr_in, codec = spec.split(":")
    sdr_in = int(sdr_in)
    found = [c for c in lossy.clips(ARGS_SQAM, ["a08_violin"], 3.0) if name in c[0]]
    if not found:
        raise SystemExit(f"{spec}: no clip named {name} (violin, pop, music, speech)")
    label, x, sr = found[0]
    _, theta = clip_to_sdr(x.ravel(), sdr_in)
    tmp = tempfile.mkdtemp()
    y = lossy.write_wav16(os.path.join(tmp, "c.wav"), np.clip(x, -theta, theta), sr)
    ext, opts = lossy.CODECS[codec]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", os.path.join(tmp, "c.wav")]
                   + opts + [os.path.join(tmp, "c" + ext)], check=True)
    d, dsr, _, told = lossy.decode(os.path.join(tmp, "c" + ext), with_source_rate=True)
    clean, unc = (x, y) if dsr == sr else (lossy.to_rate(x, sr, dsr), lossy.to_rate(y, sr, dsr))
    n = min(len(d), len(clean))
    clean, unc, d = clean[:n, 0], unc[:n, 0], d[:n, 0]
    f = detect_clipping(d[:, None], dsr, lossy=told)[0]
    pos = f.declared_positive if f.declared_positive is not None else np.inf
    neg = f.declared_negative if f.declared_negative is not None else -np.inf
    true = (np.sign(clean) * (np.abs(clean) >= theta)).astype(int)
    declared = np.where(d >= pos, 1, np.where(d <= neg, -1, 0))
    false, misses = (true == 0) & (declared != 0), (true != 0) & (declared == 0)
    rail = np.sign(clean) * theta
    before = lossy.sdr(clean, d)
    sets = {
        "uncoded": (unc, true, np.where(true != 0, rail, unc)),
        "declared": (d, declared, d),
        "- false": (d, np.where(false, 0, declared), d),
        "+ misses": (d, np.where(misses, true, declared), d),
        "true, obs": (d, true, d),
        "true, rail": (d, true, rail),
        "true - misses, rail": (d, np.where(misses, 0, true), rail),
    }
    row = {"cell": spec, "clip": label, "rate": dsr, "true_clipped": int(np.sum(true != 0)),
           "declared": int(np.sum(declared != 0)), "false": int(np.sum(false)),
           "misses": int(np.sum(misses)),
           "miss_depth_median": float(np.median(np.abs(d[misses]) / theta)) if misses.any()
           else None, "delta_sdr": {}}
    for v in VARIANTS:
        base, clipped, floor = sets[v]
        out = solve(base, *bounds(base, clipped, floor))
        ref_before = lossy.sdr(clean, unc) if v == "uncoded" else before
        row["delta_sdr"][v] = float(lossy.sdr(clean, out) - ref_before)
    shipped = rtdeclip.declip(d, dsr, preset="fastest", threshold="auto", lossy=told, jobs=1)
    row["shipped_fastest"] = float(lossy.sdr(clean, shipped) - before)
    print(f"  {spec}: done", flush=True)
    return row


ARGS_SQAM = None


def main():
    global ARGS_SQAM
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sqam", help="folder of the SQAM excerpts (../shared/data/sqam)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cells", default=",".join(CELLS),
                    help="CLIP:SDR:CODEC,... (clips: violin, pop, music, speech; codecs as "
                         "in lossy.py)")
    a = ap.parse_args()
    ARGS_SQAM = a.sqam
    with ProcessPoolExecutor(a.jobs) as ex:
        rows = list(ex.map(cell, a.cells.split(",")))
    table = [[r["cell"], r["true_clipped"], r["declared"], r["false"], r["misses"],
              "-" if r["miss_depth_median"] is None else f"{r['miss_depth_median']:.2f}",
              f"{r['shipped_fastest']:.2f}"]
             + [f"{r['delta_sdr'][v]:.2f}" for v in VARIANTS] for r in rows]
    md = ("ΔSDR (dB) of channel 0 per clipped set, plain A-SPADE "
          f"({FRAME}/{HOP}, {ITERATIONS} iterations); `python benchmarks/lossy_sets.py "
          f"{a.sqam}`; misses' depth: median |decoded| / true level\n\n"
          + md_table(["cell", "clipped", "declared", "false", "misses", "miss depth",
                      "shipped fastest"] + list(VARIANTS), table))
    write_results("lossy_sets", {"machine": machine(), "rows": rows}, md)


if __name__ == "__main__":
    main()
