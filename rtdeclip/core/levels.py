"""Clip levels given by hand: parsing, the tolerance rule, and what to say
about them.  The one place that decides what a given level means, for
``declip``, ``Declipper``, ``rtdeclip file|aspade --threshold`` and
``rtdeclip live --threshold``.

A level read off a log or a meter is rounded (the log prints 0.01 dB), so
typed back it can lie a hair above the rail it names, and then no sample
counts as clipped.  The rule:

* The tolerance of a level L is ``TOLERANCE_DB`` (0.01 dB, the display
  resolution) or the input's quantisation step, whichever is larger.
* Whole signal (``declip``, ``rtdeclip file``): the level **snaps to the
  polarity's peak** (where a hard clipper put its rail) when that peak lies
  within the tolerance of the given level, above or below; otherwise the
  given level is used as it is.  Samples at or beyond the level used count
  as clipped, so the true level typed to full precision changes nothing.
* Stream (``Declipper``, ``rtdeclip live``, the plug-ins): no look-ahead,
  so the level used is the given one **lowered by 0.01 dB** (a stream's
  quantisation is unknown, and an absolute step would swamp levels far
  below it): samples within 0.01 dB below it count as clipped too.
* ``(pos, neg)``: pos > 0 and neg < 0 (``threshold=(0.5, -0.4)``); a pair
  with other signs is refused with a ParameterError naming ``threshold``.  A
  single level theta means (theta, -theta).  In dBFS (the command line)
  both are levels <= 0: ``-3`` or ``-3,-3.5``.

The level used is reported (``Declipper.thresholds``, the file report and
log, the live host's start line and stats), and a given level that leaves no
sample, a negligible share, or most of the signal clipped is said out loud
(:func:`notes`).
"""
import math
import warnings

import numpy as np

from rtdeclip.errors import ParameterError

TOLERANCE_DB = 0.01          # the log's resolution
NEGLIGIBLE = 1e-5            # fewer clipped samples than this share: almost nothing
MOST = 0.5                   # more than this share clipped: the level is inside the signal


class ClipLevelWarning(UserWarning):
    """A given clip level that leaves nothing (or most of the signal) clipped."""


class Resolved(list):
    """Per-channel (pos, neg) levels already resolved against the whole
    signal: a Declipper given these uses them as they are (no stream
    tolerance).  Used by ``declip`` and the file pipeline."""


def _bad(t):
    return ParameterError(f"threshold must be 'auto', a level > 0 or a (pos > 0, neg < 0) pair, "
                      f"got {t!r}")


def parse(threshold, channels):
    """'auto', theta, (pos, neg), or a list of those per channel ->
    None (auto) or a list of (pos, neg) per channel.  +-inf marks a polarity
    that is not clipped."""
    if isinstance(threshold, Resolved):
        return [(float(p), float(q)) for p, q in threshold]
    if isinstance(threshold, str):
        if threshold.lower() == "auto":
            return None
        raise _bad(threshold)

    def one(t):
        if isinstance(t, (int, float, np.floating, np.integer)) and not isinstance(t, bool):
            t = float(t)
            if math.isnan(t) or t <= 0:
                raise ParameterError(f"threshold must be > 0, got {t}")
            return (t, -t)
        if isinstance(t, (tuple, list, np.ndarray)) and len(t) == 2 and \
                not any(isinstance(v, (bool, str)) for v in t):
            try:
                pos, neg = float(t[0]), float(t[1])
            except (TypeError, ValueError):
                raise _bad(t) from None
            if math.isnan(pos) or math.isnan(neg) or pos <= 0 or neg >= 0:
                raise ParameterError(f"threshold pair must be (pos > 0, neg < 0), e.g. (0.5, -0.5), "
                                 f"got {tuple(t)}")
            return (pos, neg)
        raise _bad(t)

    if isinstance(threshold, list):  # a list: one entry per channel
        if len(threshold) != channels:
            raise ParameterError(f"threshold list must have one entry per channel ({channels}), "
                             f"got {len(threshold)}")
        return [one(t) for t in threshold]
    return [one(threshold)] * channels


def parse_db(spec, channels, option="--threshold"):
    """The command line's 'auto', 'DBFS' or 'POS_DBFS,NEG_DBFS' (levels
    <= 0 dBFS) -> None or [(pos, neg)] per channel; ParameterError naming the
    option."""
    spec = str(spec).strip()
    if spec.lower() == "auto":
        return None
    try:
        parts = [float(p) for p in spec.split(",")]
    except ValueError:
        raise ParameterError(f"{option} must be auto, DBFS or POS_DBFS,NEG_DBFS, got {spec!r}") from None
    if len(parts) not in (1, 2) or any(not math.isfinite(p) or p > 0 for p in parts):
        raise ParameterError(f"{option} levels are dBFS values <= 0, got {spec!r}")
    return [(10 ** (parts[0] / 20), -10 ** (parts[-1] / 20))] * channels


def tolerance(level, step=0.0):
    """How far (linear) a sample may lie from a level and still be at it."""
    m = abs(level)
    return max(m * (1 - 10 ** (-TOLERANCE_DB / 20)), step)


def for_stream(levels, step=0.0):
    """The stream rule: each level lowered (in magnitude) by its tolerance
    (0.01 dB; ``step``: a known quantisation step, none by default)."""
    out = []
    for pos, neg in levels:
        p = pos - tolerance(pos, step) if math.isfinite(pos) else pos
        q = neg + tolerance(neg, step) if math.isfinite(neg) else neg
        out.append((p, q))
    return out


def snap(levels, peaks, step=0.0):
    """The whole-signal rule.  ``peaks``: per channel (largest positive
    sample, largest negative magnitude); ``step``: the input's quantisation
    (0: none known).  Returns (Resolved levels, per channel (bool, bool):
    which polarity snapped to its peak)."""
    used, snapped = Resolved(), []
    for (pos, neg), (ppos, pneg) in zip(levels, peaks):
        row, how = [], []
        for level, peak in ((pos, float(ppos)), (-neg, float(pneg))):
            near = math.isfinite(level) and peak > 0 and (
                abs(peak - level) <= step or
                abs(20 * math.log10(peak / level)) <= TOLERANCE_DB + 1e-12)
            row.append(peak if near else level)
            how.append(bool(near and peak != level))
        used.append((row[0], -row[1]))
        snapped.append(tuple(how))
    return used, snapped


def peaks_of(y2):
    """(largest positive sample, largest negative magnitude) per channel of
    a (frames, channels) array."""
    return [(max(0.0, float(y2[:, c].max())), max(0.0, float(-y2[:, c].min())))
            for c in range(y2.shape[1])]


def quantisation_step(y2):
    """The input's quantisation step, when it lies on an 8/16/24-bit grid
    (0.0 otherwise); the file pipeline gets it from its ClipDetector."""
    from rtdeclip.core.detect import ClipDetector
    det = ClipDetector(y2.shape[1])
    det.scan_extremes(y2)
    return det.lsb


def _db(v):
    return 20 * math.log10(v) if v > 0 else float("-inf")


def describe(given):
    """A given (pos, neg) pair in dBFS, as the messages print it."""
    p, q = _db(given[0]), _db(-given[1])
    return f"{p:.2f} dBFS" if round(p, 2) == round(q, 2) else f"{p:.2f}/{q:.2f} dBFS"


def inside(given, peak):
    """Whether a polarity's peak lies clearly (beyond the tolerance) above
    its given level: then the samples beyond it are signal, not a rail."""
    up = 10 ** (TOLERANCE_DB / 20)
    return peak[0] > given[0] * up or peak[1] > -given[1] * up


def notes(given, peaks, clipped, samples, channels_named=True):
    """What to tell the user about given levels: per channel, a level no
    sample (or a negligible share) reaches, or one below most of the
    signal (more than half the samples beyond it while the peak lies above
    it: a rail at the peak is heavy clipping, not a wrong level).  ``given``: [(pos, neg)] as given; ``peaks``: per channel
    (positive, negative magnitude); ``clipped``: samples at or beyond the
    levels used per channel; ``samples``: frames seen."""
    out = []
    for c, (g, pk, n) in enumerate(zip(given, peaks, clipped)):
        where = f"channel {c + 1}: " if channels_named else ""
        peak = f"peak {_db(max(pk)):.2f} dBFS" if max(pk) > 0 else "silent"
        share = n / samples if samples else 0.0
        if n == 0:
            out.append(f"{where}no sample reaches the given level {describe(g)} ({peak}): "
                       f"nothing to declip")
        elif share < NEGLIGIBLE:
            out.append(f"{where}only {n} sample(s) ({100 * share:.4f} %) reach the given level "
                       f"{describe(g)} ({peak}): almost nothing to declip")
        elif share > MOST and inside(g, pk):
            out.append(f"warning: {where}{100 * share:.1f} % of the samples lie at or beyond "
                       f"the given level {describe(g)} ({peak}): a level below most of the "
                       f"signal, not a clip level")
    return out


def warn(messages, stacklevel=3):
    for m in messages:
        warnings.warn(m, ClipLevelWarning, stacklevel=stacklevel)
