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


def _rail(values, tol):
    """Level of the rail among the largest values (all positive), or None.

    Samples within ``tol`` (relative) of the extreme form the candidate
    rail; it is a rail when it holds clearly more samples than the same
    width of the histogram just below it."""
    if values.size == 0:
        return None
    top = values.max()
    if top <= 0:
        return None
    width = max(tol * top, 1e-12)
    on_rail = np.count_nonzero(values >= top - width)
    below = np.count_nonzero((values >= top - 2 * width) & (values < top - width))
    if on_rail >= 3 and on_rail > 4 * max(below, 1):
        return float(values[values >= top - width].min())
    return None


def _longest_run(mask):
    if not mask.any():
        return 0
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int((ends - starts).max())


def detect_clipping(x, sample_rate=None, tolerance=1e-4):
    """Per-channel clip levels of x, shape (frames,) or (frames, channels).

    Returns a list of ``ChannelClipping``, one per channel.

    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> y = np.clip(np.sin(2 * np.pi * 440 * t), -0.5, 0.7)
    >>> c = detect_clipping(y, 48000)[0]
    >>> round(c.positive, 3), round(c.negative, 3)
    (0.7, -0.5)
    """
    a = np.asarray(x)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"x must be (frames,) or (frames, channels), got shape {a.shape}")
    out = []
    for c in range(a.shape[1]):
        v = np.asarray(a[:, c], dtype=np.float64)
        pos = _rail(v[v > 0], tolerance)
        neg = _rail(-v[v < 0], tolerance)
        neg = None if neg is None else -neg
        hi = v >= pos if pos is not None else np.zeros(v.shape, bool)
        lo = v <= neg if neg is not None else np.zeros(v.shape, bool)
        peak = float(np.max(np.abs(v))) if v.size else 0.0
        hist, edges = np.histogram(v, bins=64, range=(-peak, peak)) if peak > 0 else ([], [])
        out.append(ChannelClipping(pos, neg, int(hi.sum()), int(lo.sum()), int(v.size),
                                   _longest_run(hi | lo),
                                   {"counts": list(map(int, hist)),
                                    "edges": [float(e) for e in edges]}))
    return out
