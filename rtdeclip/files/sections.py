"""A file of several recordings through the file pipeline, in bounded memory.

``core.sections`` finds where the clip level changes (fed in pass 1,
alongside the detector's extremes); here each section is detected in its
own pair of decoding passes (``detect_spans``) and solved by its own
solver in pass 3 (``solved_in_sections``), which reads the decoded input
once, keeping only what the next section's context needs (``Tape``).
"""
import numpy as np

from rtdeclip.core.detect import ClipCounter, ClipDetector
from rtdeclip.core.offline import aligned
from rtdeclip.core.sections import fed_from, quiet_context


def detect_spans(chunks, spans, channels, lossy, check=lambda: None):
    """Each span's detection (per channel ``ChannelClipping``), from two
    passes over ``chunks()`` (a callable giving the decoded blocks in
    order)."""
    dets = [ClipDetector(channels, lossy=lossy) for _ in spans]
    for step in ("scan_extremes", "scan_counts"):
        for k, part in _routed(chunks(), spans, check):
            getattr(dets[k], step)(part)
    return [det.result() for det in dets]


def _routed(blocks, spans, check):
    """(span index, part of a block) for each part of the blocks that
    falls in a span, in order."""
    pos = 0
    for block in blocks:
        check()
        end = pos + len(block)
        for k, (a, b) in enumerate(spans):
            lo, hi = max(a, pos), min(b, end)
            if hi > lo:
                yield k, block[lo - pos:hi - pos]
        pos = end


class SpanCounter:
    """``ClipCounter`` per span (each with its levels), fed the whole
    signal in order; ``fill`` puts each span's counts into its detection."""

    def __init__(self, spans, levels):
        self.spans = spans
        self.counters = [ClipCounter(lv) for lv in levels]
        self.pos = 0

    def scan(self, block):
        shifted = [(a - self.pos, b - self.pos) for a, b in self.spans]
        for k, part in _routed([block], shifted, lambda: None):
            self.counters[k].scan(part)
        self.pos += len(block)

    def fill(self, found):
        for counter, f in zip(self.counters, found):
            counter.fill(f)
        return found


class Tape:
    """The decoded blocks, readable again from a point not long behind:
    ``read(lo, hi, keep_from)`` yields [lo, hi) (or up to the end) and
    forgets what lies before ``keep_from`` as it goes."""

    def __init__(self, blocks):
        self._blocks = iter(blocks)
        self._kept = []      # [(start, array)], in order
        self._end = 0        # samples taken from the decoder
        self._done = False

    def read(self, lo, hi, keep_from):
        pos = lo
        while pos < hi:
            part = self._at(pos, hi)
            if part is None:
                return
            self._kept = [(s, a) for s, a in self._kept if s + len(a) > min(keep_from, pos)]
            yield part
            pos += len(part)

    def _at(self, pos, hi):
        while pos >= self._end and not self._done:
            block = next(self._blocks, None)
            if block is None:
                self._done = True
            else:
                self._kept.append((self._end, block))
                self._end += len(block)
        for s, a in self._kept:
            if s <= pos < s + len(a):
                return a[pos - s:min(len(a), hi - s)]
        return None


def _fed(tape, lo, a, b, hi, keep_from, levels):
    """A section's input: [lo, a) and [b, hi) its context, silenced from
    where another recording's samples pass its ``levels`` outwards
    (``core.sections.quiet_context``), [a, b) as decoded."""
    def held(start, stop, keep):   # a context (two windows at most), as one new array
        parts = list(tape.read(start, stop, keep))
        return np.concatenate(parts) if parts else None

    before = held(lo, a, lo)
    if before is not None:
        yield quiet_context(before, len(before), len(before), levels, out=before)
    yield from tape.read(a, b, keep_from)
    after = held(b, hi, keep_from)
    if after is not None:
        yield quiet_context(after, 0, 0, levels, out=after)


def solved_in_sections(blocks, spans, context, grid, solver_for, levels=None,
                       on_done=lambda d: None):
    """Output blocks, in order, of the input ``blocks`` solved section by
    section: span k's solver (``solver_for(k)``) is fed [a - context, b +
    context) (its start on the frame grid, ``core.sections.fed_from``) and
    its output kept on [a, b), so frames near a cut see what they would in
    the whole signal; with ``levels`` (per span, the inclusive [(pos,
    neg)] per channel, ``core.sections.inclusive``) the context is
    silenced where a louder neighbour passes them.  ``on_done(d)`` is
    called with each solver when its section is written (its stats; it
    closes it)."""
    tape = Tape(blocks)
    for k, (a, b) in enumerate(spans):
        lo = fed_from(a, context, grid)
        nxt = fed_from(spans[k + 1][0], context, grid) if k + 1 < len(spans) else b
        d = solver_for(k)
        feed = tape.read(lo, b + context, keep_from=nxt) if levels is None else \
            _fed(tape, lo, a, b, b + context, nxt, levels[k])
        try:
            pos = lo
            for y in aligned(d, feed):
                s, e = max(pos, a), min(pos + len(y), b)
                if e > s:
                    yield np.array(y[s - pos:e - pos])
                pos += len(y)
                if pos >= b:
                    break
        finally:
            on_done(d)
