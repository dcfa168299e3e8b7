"""Whole-signal declipping: ``declip``.

Runs the block processor over the signal followed by enough silence to
flush it and drops the delay, so offline and streaming results are the same
samples.  With window 8192, hop 2048, redundancy 2, s=1, r=2, epsilon=0.1 and
the true clip level this is the survey's algorithm (Zaviska et al. 2021).
"""
from concurrent.futures import ThreadPoolExecutor
import os

import numpy as np

from rtdeclip.core import params
from rtdeclip.core.declipper import Declipper, parse_smear, parse_threshold
from rtdeclip.core.detect import detect_clipping

CHUNK = 1 << 16  # samples per call into C: bounded temporary memory


def first_nonfinite(y):
    """Index (frame, channel) of the first NaN/Inf sample, or None."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return None
    flat = int(np.flatnonzero(bad.reshape(-1))[0])
    return divmod(flat, y.shape[1]) if y.ndim == 2 else (flat, 0)


def _one_channel(x, sample_rate, thresholds, kwargs, smear=None):
    d = Declipper(sample_rate, channels=1, threshold=thresholds, smear=smear, **kwargs)
    n, lat = len(x), d.latency_samples
    out = np.empty(n)
    pos = 0
    # the first `lat` output samples are the silent prehistory: skip them
    skip = lat
    for start in range(0, n + lat, CHUNK):
        block = np.zeros(min(CHUNK, n + lat - start))
        avail = max(0, min(n - start, len(block)))
        block[:avail] = x[start:start + avail]
        y = d.process(block)
        drop = min(skip, len(y))
        skip -= drop
        y = y[drop:]
        out[pos:pos + len(y)] = y
        pos += len(y)
    return out, d.stats


def declip(y, sample_rate, preset="highquality", algorithm="aspade", threshold="auto",
           window=None, hop=None, redundancy=None, iterations=None, s=None, r=None,
           epsilon=None, warm_start=None, window_shape=None, synthesis_length=None,
           budget_pool=None, jobs=None, plan="measure", return_stats=False, smear=None):
    """Declip a whole signal; same shape and dtype out, no delay.

    ``y``: float32/float64 array, (frames,) or (frames, channels).
    ``threshold``: "auto" (estimated per channel and polarity from the whole
    signal), a level theta (clipped where y >= theta or y <= -theta), a
    (pos, neg) tuple, or a list of those per channel.  The other solver
    arguments override the preset's (see :class:`rtdeclip.Declipper`).
    Channels are solved in parallel threads (``jobs``, default: number of
    cores).  ``smear`` (needs fixed thresholds): None (the exact model), or
    a (band, relax) pair or a list of them per channel, see
    :class:`rtdeclip.Declipper` (measured, not the default: docs/lossy.md).

    >>> import numpy as np, rtdeclip
    >>> t = np.arange(8000) / 8000
    >>> clean = 0.8 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 331 * t)
    >>> clipped = np.clip(clean, -0.6, 0.6)
    >>> restored = rtdeclip.declip(clipped, 8000, preset="fastest", threshold=0.6)
    >>> bool(rtdeclip.sdr(clean, restored) > rtdeclip.sdr(clean, clipped))
    True
    """
    params.check_sample_rate(sample_rate)
    if not isinstance(y, np.ndarray):
        raise ValueError(f"y must be a numpy array, got {type(y).__name__}")
    if y.dtype not in (np.float32, np.float64):
        raise ValueError(f"y must be float32 or float64, got {y.dtype}")
    if y.ndim not in (1, 2) or y.shape[0] == 0 or (y.ndim == 2 and y.shape[1] == 0):
        raise ValueError(f"y must be a non-empty (frames,) or (frames, channels) array, got shape {y.shape}")
    channels = 1 if y.ndim == 1 else y.shape[1]
    params.check_channels(channels)
    bad = first_nonfinite(y)
    if bad is not None:
        raise ValueError(f"y has a non-finite sample ({y[bad if y.ndim == 2 else bad[0]]}) "
                         f"at frame {bad[0]}, channel {bad[1]}")
    kwargs = dict(preset=preset, algorithm=algorithm, window=window, hop=hop,
                  redundancy=redundancy, iterations=iterations, s=s, r=r, epsilon=epsilon,
                  warm_start=warm_start, window_shape=window_shape,
                  synthesis_length=synthesis_length, budget_pool=budget_pool, plan=plan)
    params.resolve(sample_rate, **{k: v for k, v in kwargs.items() if k != "plan"})
    if plan not in ("measure", "estimate"):
        raise ValueError(f"plan must be 'measure' or 'estimate', got {plan!r}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer))
                             or jobs < 1):
        raise ValueError(f"jobs must be an integer >= 1 (None: one per core), got {jobs!r}")
    levels = parse_threshold(threshold, channels)
    y2 = y.reshape(len(y), channels).astype(np.float64)
    smears = parse_smear(smear, channels)
    if levels is None:
        levels = [c.thresholds for c in detect_clipping(y2, sample_rate)]
    smears = smears or [None] * channels
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=min(jobs, channels)) as pool:
        results = list(pool.map(lambda c: _one_channel(y2[:, c], sample_rate, levels[c], kwargs,
                                                     smears[c]),
                                range(channels)))
    out = np.stack([r[0] for r in results], axis=1).astype(y.dtype).reshape(y.shape)
    if return_stats:
        return out, [r[1] for r in results]
    return out
