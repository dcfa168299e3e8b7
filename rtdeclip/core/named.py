"""A second pass over a smeared rail, on the clipped set the first names:
``Named``.

After a codec the clipped set declared below a smeared rail (every sample
beyond the declared level, bounded by its observed value) holds *false*
members: reliable samples the codec's ringing lifted above the level.  The
solver may raise them freely, and that costs more than anything else on
most lossy cells: pinning them (an oracle) gains +0.8 / +2.0 / +0.4 dB on
the lossy benchmark's violin / music / pop-like clips
(``benchmarks/lossy_sets.py``, docs/lossy.md, twelfth session).

The first pass (the hedge, :mod:`rtdeclip.core.hedge`) tells them apart:
where its solution stays below the rail's centre the sample was most
likely reliable.  The second pass solves again with only the *named*
samples clipped (declared-set samples whose first solution rises over
the rail's centre by at least a share of the rail's smear width) and every
other one kept as it came, once per share of SHARES (where the set ends is
uncertain: five solves, averaged, as the hedge averages widths), and the
output is the mean of that and the first pass.  The width scales it: the
codec's error, and with it how far false members rise, grows with it
(shares 0..1/2 of the width; fixed 0..1 dB above the centre lost up to
10 dB at input SDR 20, where a 0.25 dB wide rail's clipped samples rise
0.1-1.7 dB).  On the lossy benchmark's offline cells (benchmarks/lossy.py,
128 per preset): +0.24 dB on the mean with ``fastest`` (93 up, worst
−0.56) and +0.13 dB with ``average`` (70 up, worst −1.22), 6 more targets
met; the hedge run twice on shifted frame grids, the same CPU, gains
+0.08 where this gains +0.41 (docs/lossy.md).  It also frees the *dips*
(``dips``): samples the codec pulled under the declared level inside a run
the first solution lifts over the rail, which the first pass had to pin.
Streams told their codec run the same in C (csrc/named_stream.c).

Quacks like the Declipper for ``core.offline.aligned`` (process, flush,
latency_samples, stats); memory stays a few blocks: the second pass runs
one latency behind the first, fed from FIFOs.
"""
from concurrent.futures import ThreadPoolExecutor
import os
import time

import numpy as np

from rtdeclip.core.hedge import SMEARED, Hedged

# a sample is named when the first pass lifts it over the rail's centre by
# at least this share of the rail's smear width (dB); one second-pass solve
# each (docs/lossy.md, twelfth session)
SHARES = (0.0, 0.125, 0.25, 0.375, 0.5)

# A *dip*: a sample the codec pulled under the declared level inside a
# clipped run (AAC's and MP3's ringing, 8 % deep at a 0.6 dB wide rail).
# Pinned there as reliable it costs more than its share: the solution must
# come down to it in the middle of a peak (music through AAC 256k at input
# SDR 10: 63 such samples, 5 dB with an oracle, benchmarks/lossy_sets.py).
# The second pass frees it (clipped, bound at its value) where the first
# solution rises over the rail's centre by DIP_DB within DIP_FLANK samples
# on both sides and the sample is at least DIP_DEPTH of the declared level
# (docs/lossy.md, twenty-seventh session).
DIP_FLANK, DIP_DB, DIP_DEPTH = 8, 0.5, 0.7


def dips(x, o1, declared, centre, named, flank=DIP_FLANK):
    """Per sample and channel of ``x`` (the input) and ``o1`` (the first
    solution of the same samples), +1 / -1 where a positive / negative dip
    is freed, else 0; ``declared``, ``centre``: (channels, 2) levels;
    ``named``: (channels, 2) polarities named from the first pass.  Only
    samples with ``flank`` samples on both sides are decided: the result
    has ``len(x) - 2 * flank`` rows, for ``x[flank:-flank]``."""
    n = len(x) - 2 * flank
    out = np.zeros((max(n, 0), x.shape[1]), dtype=np.int8)
    if n <= 0:
        return out
    rise = 10 ** (DIP_DB / 20)
    for pol, sign in ((0, 1), (1, -1)):
        on = named[:, pol] & np.isfinite(declared[:, pol])
        if not on.any():
            continue
        xs, os_ = sign * x[:, on], sign * o1[:, on]
        dec, cen = sign * declared[on, pol], sign * centre[on, pol]
        high = (xs >= dec) & (os_ >= rise * cen)
        mid = xs[flank:flank + n]
        dip = (mid < dec) & (mid >= DIP_DEPTH * dec)
        left = np.zeros_like(dip)
        right = np.zeros_like(dip)
        for g in range(1, flank + 1):
            left |= high[flank - g:flank - g + n]
            right |= high[flank + g:flank + g + n]
        out[:, on] += (sign * (dip & left & right)).astype(np.int8)
    return out


def after_hedge(first, make, sets, found):
    """``first`` followed by the second pass where it can take one: a hedge
    over ``sets`` (``make(levels)`` builds its members) with the detector's
    channels ``found``, the SPADE solver at the signal's own rate; else
    ``first`` as it is (exact rails, given levels, a source rate, the social
    solver, or ``found`` None: asked for the hedge alone)."""
    if found is None or not isinstance(first, Hedged):
        return first
    member = first.members[0]
    if member.source_rate is not None or member.settings.algorithm == "social":
        return first
    return Named(first, lambda: make(sets[len(sets) // 2]), found)


class Named:
    """``first``: the first pass (a ``hedge.Hedged`` or a Declipper);
    ``make()``: a Declipper with the same settings (fed given sets);
    ``found``: the channels' ``ChannelClipping`` (centres and declared
    levels).  Channels with no smeared rail leave as the first pass gave
    them."""

    def __init__(self, first, make, found, shares=SHARES, threads=None):
        self.first = first
        self.members = [make() for _ in shares]
        self.sample_rate, self.channels = first.sample_rate, first.channels
        # per member, channel and polarity: the factor over the centre
        width = np.array([[w or 0.0 for w in f.width_db] for f in found])
        self._k = [10 ** (share * width / 20) for share in shares]
        inf = np.inf
        self._centre = np.array([[f.positive if f.positive is not None else inf,
                                  f.negative if f.negative is not None else -inf]
                                 for f in found])
        self._declared = np.array([[f.declared_positive if f.declared_positive is not None
                                    else inf, f.declared_negative
                                    if f.declared_negative is not None else -inf]
                                   for f in found])
        # per polarity: smeared (named from the first pass) or exact (its set)
        self._named = np.array([[f.method[0] in SMEARED, f.method[1] in SMEARED]
                                for f in found])
        self._smeared = self._named.any(axis=1)
        l1, l2, f = first.latency_samples, self.members[0].latency_samples, DIP_FLANK
        self._inputs = np.zeros((l1, self.channels))   # input waiting for the first pass
        # the last 2 * DIP_FLANK samples and their first solutions: a dip is
        # decided once DIP_FLANK samples after it are known
        self._around = np.zeros((2 * f, self.channels)), np.zeros((2 * f, self.channels))
        self._firsts = np.zeros((l2, self.channels))   # first pass waiting for the second
        self._later = np.zeros((l2, self.channels))    # input waiting for the second
        self._freed = np.zeros((l2, self.channels), dtype=np.int8)   # dips, the same
        n = min(len(self.members), threads or os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="rtdeclip-named") if n > 1 else None
        self._cpu = [0.0] * len(self.members)

    @property
    def latency_samples(self):
        return self.first.latency_samples + DIP_FLANK + self.members[0].latency_samples

    @property
    def pool_cpu_seconds(self):
        return sum(self._cpu) + getattr(self.first, "pool_cpu_seconds", 0.0)

    @property
    def stats(self):
        """The first pass's counters with ``second_pass_members`` and
        ``second_pass_iterations``."""
        s = dict(self.first.stats)
        s["second_pass_members"] = len(self.members)
        s["second_pass_iterations"] = sum(m.stats["iterations"] for m in self.members)
        return s

    def _given(self, x, o1, freed, k):
        """The set of one share (``k``: the factors over the centres):
        named where smeared, the levels' elsewhere, and the dips ``freed``."""
        hi = x >= self._declared[:, 0]
        lo = x <= self._declared[:, 1]
        hi &= ~self._named[:, 0] | (o1 >= k[:, 0] * self._centre[:, 0])
        lo &= ~self._named[:, 1] | (o1 <= k[:, 1] * self._centre[:, 1])
        # a channel with no smeared rail leaves as the first pass gave it:
        # nothing to solve here
        given = (hi.astype(np.int8) - lo.astype(np.int8)) * self._smeared.astype(np.int8)
        return np.where(freed != 0, freed, given).astype(np.int8)

    def _step(self, i, x, o1, freed):
        return self.members[i].process_given(x, self._given(x, o1, freed, self._k[i]))

    def _run(self, i, x, o1, freed):
        """_step in the pool, its CPU counted (the caller's own is not)."""
        c0 = time.thread_time()
        try:
            return self._step(i, x, o1, freed)
        finally:
            self._cpu[i] += time.thread_time() - c0

    @staticmethod
    def _fifo(queue, block):
        """Push ``block``, pop as many of the oldest: (popped, queue)."""
        q = np.concatenate([queue, block])
        return q[:len(block)], q[len(block):]

    def process(self, block, out=None):
        shape, dtype = block.shape, block.dtype
        self._last_ndim = block.ndim
        x = np.asarray(block, dtype=np.float64).reshape(len(block), self.channels)
        o1 = np.array(self.first.process(np.ascontiguousarray(block)), dtype=np.float64)
        o1 = o1.reshape(len(block), self.channels)
        xin, self._inputs = self._fifo(self._inputs, x)      # the samples o1 is of
        # DIP_FLANK samples later: the samples whose dips are decided now
        f, n = DIP_FLANK, len(block)
        xa = np.concatenate([self._around[0], xin])
        oa = np.concatenate([self._around[1], o1])
        self._around = xa[n:], oa[n:]
        freed = dips(xa, oa, self._declared, self._centre, self._named, f)
        xin, o1 = xa[f:f + n], oa[f:f + n]
        if self._pool is None:
            outs = [self._step(i, xin, o1, freed) for i in range(len(self.members))]
        else:
            outs = list(self._pool.map(lambda i: self._run(i, xin, o1, freed),
                                       range(len(self.members))))
        first, self._firsts = self._fifo(self._firsts, o1)
        seen, self._later = self._fifo(self._later, xin)
        gone, self._freed = self._fifo(self._freed, freed)
        mixed = first.copy()
        sm = self._smeared
        if sm.any():
            second = np.mean(outs, axis=0)
            mixed[:, sm] = 0.5 * (first[:, sm] + second[:, sm])
            # a freed dip: the first pass pinned it, the second alone lifts it
            mixed[gone != 0] = second[gone != 0]
            # inside the declared levels (but for the dips) the input leaves as it came
            keep = (seen < self._declared[:, 0]) & (seen > self._declared[:, 1]) & (gone == 0)
            mixed[keep] = seen[keep]
        result = mixed.reshape(shape).astype(dtype, copy=False)
        if out is not None:
            out[...] = result
            return out
        return result

    __call__ = process

    def flush(self, dtype=None):
        n = self.latency_samples
        shape = (n,) if getattr(self, "_last_ndim", 2) == 1 else (n, self.channels)
        return self.process(np.zeros(shape, dtype=dtype or np.float64))

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if hasattr(self.first, "close"):
            self.first.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
