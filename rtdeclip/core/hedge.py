"""Declipping hedged over a smeared rail's width: ``level_sets``,
``Hedged``.

After a lossy codec, a resampler or dither the rail is a hump, not a
value, and how far below its centre the clipped set should reach (the
smear width the detector declares, ``ChannelClipping.width_db``) is an
estimate: the best width chosen afterwards differs from case to case by
a factor of two either way, and no rule on the histogram finds it (docs/
lossy.md).  The solutions for neighbouring widths differ near the rails,
where each is wrong in its own way, so their mean is better than any one
of them on most cases.  Five solutions at 0.75, 0.9, 1, 1.25 and 1.6 times
the declared width, averaged, measured against the declared width alone
(docs/lossy.md, "Hedged over the width"):

* codec rails, the lossy benchmark (4 clips x 8 codec variants x input
  SDR 3-20 dB): +0.55 dB (fastest) and +0.28 dB (average) on the mean, 12
  more targets met, none fewer;
* noisy rails (benchmarks/hedge.py: 4 clips x input SDR 3-20 dB,
  resampled 44.1 -> 48 kHz after clipping, or with noise of 1e-4 added):
  +0.91 / +0.94 dB (fastest; 31 of 32 cases gaining), +0.20 / +0.28 dB
  (average); with the shifted grids below +1.13 / +1.26 dB (32 of 32) and
  +0.26 / +0.28 dB.

Each member also runs on its own frame grid, shifted by a fraction of
the hop (``spin_shifts``: 0, 1/5 ... 4/5 of it, the declared width's at
0): the members then differ in where their frames fall as well as in
their width, and the mean gains a little more at no cost (the lossy
benchmark's offline cells: ``fastest`` +0.08 dB, 107 of 128 up;
``average`` +0.03 dB, 91 of 128 up; "translation-invariant" averaging,
Coifman & Donoho 1995; docs/lossy.md, "Members on shifted frame grids").

It costs one solve per width, so here it is for files and arrays
(``rtdeclip file``, ``declip``), whose levels are detected on the whole
signal; a stream can ask for the same in the C core, on its online
levels (``Declipper(hedge=5)``, ``rtdeclip live --hedge 5``: csrc/stream.c,
``rtd_config.hedge``).  Exact rails (plain digital clipping) get one
solve, as before, bit for bit.

    >>> from rtdeclip.core.detect import ChannelClipping
    >>> f = ChannelClipping(0.5, -0.5, declared_positive=0.45, declared_negative=-0.45,
    ...                     method=("codec", "codec"), width_db=(0.915, 0.915))
    >>> [round(s[0][0], 3) for s in level_sets([f], (0.5, 1.0, 2.0))]
    [0.474, 0.45, 0.405]
"""
from concurrent.futures import ThreadPoolExecutor
import os
import time

import numpy as np

# multiples of the declared width, one solve each (measured in
# benchmarks/lossy.py; docs/lossy.md "Hedged over the width")
WIDTHS = (0.75, 0.9, 1.0, 1.25, 1.6)
SMEARED = ("noisy", "codec")


def spin_shifts(members, hop):
    """Samples of silence each member's stream starts with, so that its
    frames fall ``k / members`` of a ``hop`` later than the declared
    width's (the middle member, shift 0): k = 1, 2, ... for the members
    after it, then those before.

    >>> spin_shifts(5, 512)
    [307, 410, 0, 102, 205]
    """
    mid = members // 2
    return [round(((i - mid) % members) * hop / members) for i in range(members)]


def _smeared(found):
    return any(m in SMEARED for f in found for m in f.method)


def level_sets(found, widths=None):
    """The solver's levels [(pos, neg) per channel] once per width factor
    in ``widths`` (default WIDTHS) when a rail of ``found`` (``detect_clipping``'s result)
    is smeared (``noisy`` or ``codec``): each such rail declared that
    factor times its width below its centre; exact rails as declared.  One
    set when every rail is exact (or none is found)."""
    if not _smeared(found):
        return [[f.thresholds for f in found]]
    out = []
    widths = WIDTHS if widths is None else widths
    for k in widths:
        levels = []
        for f in found:
            pair = []
            for sign, centre, declared, method, width in zip(
                    (1, -1), (f.positive, f.negative), (f.declared_positive, f.declared_negative),
                    f.method, f.width_db):
                if centre is None:
                    pair.append(sign * np.inf)
                elif method not in SMEARED or not width or k == 1.0:
                    pair.append(declared)   # the declared level exactly
                else:
                    pair.append(centre * 10 ** (-k * width / 20))
            levels.append(tuple(pair))
        out.append(levels)
    return out


class Hedged:
    """Several Declippers on the same stream, one per set of levels; their
    outputs' mean, except that every sample inside the middle set's levels
    (the declared ones) is the input's, bit for bit, as from one solve.
    Quacks like the Declipper for ``core.offline.aligned``
    (process, flush, latency_samples, stats, sample_rate, channels).

    ``make(levels)`` builds one Declipper for a set of levels (the same
    settings for all, hence the same latency).  The members run in
    ``threads`` threads (default: one per core; the C core releases the
    GIL), so a mono file uses every core too.  ``close()`` (or ``with``)
    stops them."""

    def __init__(self, make, sets, threads=None, spin=True):
        self.members = [make(levels) for levels in sets]
        first = self.members[0]
        self.sample_rate, self.channels = first.sample_rate, first.channels
        if any(m.latency_samples != first.latency_samples for m in self.members):
            raise ValueError("hedged declippers must share their latency")
        # each member on its own frame grid (``spin_shifts``): it starts
        # with that much silence, and its output waits in a FIFO for the
        # rest of the largest shift, which the whole adds to its latency
        self.shifts = spin_shifts(len(self.members), first.stream_hop) if spin \
            else [0] * len(self.members)
        self._spin = max(self.shifts)
        self._lead = list(self.shifts)    # silence still to feed each member
        self._wait = None                 # per member: output held back
        # the declared levels (the middle set): samples inside them are
        # reliable and leave as they came, as from one solve (the wider
        # members moved some of them); the input is delayed to meet its
        # output (the stream is preceded by silence, as in the core).  Not
        # with a source rate: the levels are then those of the decimated
        # signal and one solve's repair, interpolated back, reaches samples
        # inside them (the chain keeps the samples it did not repair)
        self._restore = first.source_rate is None
        keep = np.asarray(sets[len(sets) // 2], dtype=np.float64).reshape(-1, 2)
        self._pos, self._neg = keep[:, 0], keep[:, 1]
        self._fifo = np.zeros((self.latency_samples, self.channels))
        n = min(len(self.members), threads or os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="rtdeclip-hedge") if n > 1 else None
        self._bufs = None
        self._cpu = [0.0] * len(self.members)   # per member, in the pool's threads

    @property
    def pool_cpu_seconds(self):
        """CPU seconds the members used in the pool's threads (not the
        caller's: what a per-thread CPU count of the caller misses)."""
        return sum(self._cpu)

    def _run(self, i, block):
        c0 = time.thread_time()
        try:
            return self._step(i, block)
        finally:
            self._cpu[i] += time.thread_time() - c0

    def _step(self, i, block):
        """Member i on ``block``: its output for the same samples as the
        other members' (held back by the rest of the largest shift)."""
        if self._lead[i]:
            lead = np.zeros((self._lead[i],) + block.shape[1:], dtype=block.dtype)
            self._lead[i] = 0
            y = self.members[i].process(np.concatenate([lead, block]))
        else:
            y = self.members[i].process(block, out=self._bufs[i])
        if not self._spin:
            return y
        held = np.concatenate([self._wait[i], y])
        self._wait[i] = held[len(block):]
        return held[:len(block)]

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=False)

    @property
    def latency_samples(self):
        return self.members[0].latency_samples + self._spin

    @property
    def stats(self):
        """The counters of the member at the declared width (the middle
        one), with ``hedge_members`` and ``hedge_iterations`` (all
        members' iterations: the CPU the hedge cost)."""
        main = dict(self.members[len(self.members) // 2].stats)
        main["hedge_members"] = len(self.members)
        main["hedge_iterations"] = sum(m.stats["iterations"] for m in self.members)
        return main

    def _mean(self, outs, out, block):
        acc = outs[0].astype(np.float64)
        for o in outs[1:]:
            acc += o
        acc /= len(outs)
        if not self._restore:
            out[...] = acc
            return out
        n = len(acc)
        fifo = np.concatenate([self._fifo, block.reshape(n, -1)])
        delayed, self._fifo = fifo[:n], fifo[n:]
        acc2 = acc.reshape(n, -1)
        reliable = (delayed < self._pos) & (delayed > self._neg)
        acc2[reliable] = delayed[reliable]
        out[...] = acc
        return out

    def process(self, block, out=None):
        if out is None:
            out = np.empty_like(block, order="C")
        if self._bufs is None or self._bufs[0].shape != block.shape \
                or self._bufs[0].dtype != block.dtype:
            self._bufs = [np.empty_like(block, order="C") for _ in self.members]
        if self._wait is None:   # here, not in the members' threads
            self._wait = [np.zeros((self._spin - s,) + block.shape[1:]) for s in self.shifts]
        if self._pool is None:
            outs = [self._step(i, block) for i in range(len(self.members))]
        else:
            outs = list(self._pool.map(lambda i: self._run(i, block), range(len(self.members))))
        return self._mean(outs, out, block)

    __call__ = process

    def flush(self, dtype=None):
        outs = [m.flush(dtype) for m in self.members]
        if self._wait is not None and self._spin:
            outs = [np.concatenate([w.astype(o.dtype), o]) for w, o in zip(self._wait, outs)]
        return self._mean(outs, np.empty_like(outs[0]), np.zeros(outs[0].shape))
