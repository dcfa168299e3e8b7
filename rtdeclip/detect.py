"""Estimating clip levels from a recording, per channel and per polarity.

A hard clipper piles every sample beyond its level onto the level itself,
so the histogram of a clipped signal has a spike at each rail, far above
the smooth tail a natural signal has there.  We look for that spike at the
positive and negative extremes separately.
"""
from dataclasses import dataclass, field
import numpy as np


@dataclass
class ChannelClipping:
    """Clipping found on one channel (levels as linear sample values)."""
    positive: float | None        # clip level, None when not clipped
    negative: float | None        # negative number, None when not clipped
    clipped_high: int = 0
    clipped_low: int = 0
    samples: int = 0
    longest_run: int = 0
    histogram: dict = field(default_factory=dict)

    @property
    def clipped(self):
        return self.clipped_high + self.clipped_low

    @property
    def ratio(self):
        return self.clipped / self.samples if self.samples else 0.0

    @property
    def thresholds(self):
        """(pos, neg) for the declipper; +-inf for an unclipped polarity."""
        return (np.inf if self.positive is None else self.positive,
                -np.inf if self.negative is None else self.negative)


class ClipDetector:
    """Clip levels found in two streaming passes over a signal, so a file of
    hours is never held in memory:

        det = ClipDetector(channels)
        for chunk in source: det.scan_extremes(chunk)   # pass 1: the extremes
        for chunk in source: det.scan_counts(chunk)     # pass 2: the rails
        levels = det.result()

    A polarity is clipped when the samples within ``tolerance`` (relative)
    of its extreme number at least 3 and more than 4 times those in the band
    of the same width just below: a flat spike at the rail, not the smooth
    tail of a natural signal."""

    def __init__(self, channels, tolerance=1e-4, bins=64):
        self.channels, self.tol, self.bins = channels, tolerance, bins
        self.top = np.zeros((2, channels))        # [0] max positive, [1] max |negative|
        self.n = 0
        self._counted = False

    def scan_extremes(self, chunk):
        a = np.asarray(chunk, dtype=np.float64).reshape(-1, self.channels)
        if len(a):
            self.top[0] = np.maximum(self.top[0], a.max(axis=0))
            self.top[1] = np.maximum(self.top[1], -a.min(axis=0))
            self.n += len(a)

    def _start_counts(self):
        c = self.channels
        self.width = np.maximum(self.tol * self.top, 1e-12)
        self.on_rail = np.zeros((2, c), dtype=np.int64)
        self.below = np.zeros((2, c), dtype=np.int64)
        self.level = np.full((2, c), np.inf)
        self.run = np.zeros(c, dtype=np.int64)
        self.longest = np.zeros(c, dtype=np.int64)
        peak = np.maximum(self.top[0], self.top[1])
        self.edges = [np.linspace(-p, p, self.bins + 1) if p > 0 else None for p in peak]
        self.hist = np.zeros((c, self.bins), dtype=np.int64)
        self._counted = True

    def scan_counts(self, chunk):
        if not self._counted:
            self._start_counts()
        a = np.asarray(chunk, dtype=np.float64).reshape(-1, self.channels)
        for side, v in ((0, a), (1, -a)):
            top = self.top[side]
            # a rail is on its own side of zero, however small the signal
            hi = (v >= top - self.width[side]) & (top > 0) & (v > 0)
            self.on_rail[side] += hi.sum(axis=0)
            self.below[side] += ((v >= top - 2 * self.width[side]) & ~hi & (top > 0) & (v > 0)).sum(axis=0)
            masked = np.where(hi, v, np.inf)
            if len(a):
                self.level[side] = np.minimum(self.level[side], masked.min(axis=0))
        on = (a >= self.top[0] - self.width[0]) & (self.top[0] > 0) & (a > 0) | \
             (-a >= self.top[1] - self.width[1]) & (self.top[1] > 0) & (a < 0)
        for c in range(self.channels):
            self.longest[c] = max(self.longest[c], _runs(on[:, c], self.run, c))
            if self.edges[c] is not None:
                self.hist[c] += np.histogram(a[:, c], bins=self.edges[c])[0]

    def result(self):
        if not self._counted:
            self._start_counts()
        out = []
        for c in range(self.channels):
            lv = []
            for side in (0, 1):
                n_on, n_below = int(self.on_rail[side, c]), int(self.below[side, c])
                clipped = self.top[side, c] > 0 and n_on >= 3 and n_on > 4 * max(n_below, 1)
                lv.append((float(self.level[side, c]), n_on) if clipped else (None, 0))
            (pos, n_hi), (neg, n_lo) = lv
            out.append(ChannelClipping(
                pos, None if neg is None else -neg, n_hi, n_lo, self.n,
                int(self.longest[c]) if (pos is not None or neg is not None) else 0,
                {"counts": [int(v) for v in self.hist[c]],
                 "edges": [] if self.edges[c] is None else [float(e) for e in self.edges[c]]}))
        return out


def _runs(mask, carry, c):
    """Longest run of True in mask, continuing the run carried in carry[c]."""
    if not mask.any():
        carry[c] = 0
        return 0
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    lengths = ends - starts
    if starts[0] == 0:
        lengths[0] += carry[c]
    carry[c] = lengths[-1] if ends[-1] == len(mask) else 0
    return int(lengths.max())


def detect_clipping(x, sample_rate=None, tolerance=1e-4):
    """Per-channel clip levels of x, shape (frames,) or (frames, channels).

    Returns a list of ``ChannelClipping`` (levels, counts, ratio, longest
    clipped run, histogram over [-peak, peak]), one per channel.

    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> y = np.clip(np.sin(2 * np.pi * 440 * t), -0.5, 0.7)
    >>> c = detect_clipping(y, 48000)[0]
    >>> round(c.positive, 3), round(c.negative, 3)
    (0.7, -0.5)
    """
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"x must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"x must be (frames,) or (frames, channels), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x has a non-finite sample (NaN/Inf)")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.number)) \
            or not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be a number between 0 and 1, got {tolerance!r}")
    det = ClipDetector(a.shape[1], tolerance)
    det.scan_extremes(a)
    det.scan_counts(a)
    return det.result()
