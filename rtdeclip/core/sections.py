"""Where a recording's clip level changes: several recordings in one file.

An album ripped to one file, a radio recording, a DJ mix: each recording
was clipped (or not) at its own level, so one level per channel and
polarity (the loudest recording's) leaves the others untouched.  The
stream's estimator already follows such changes (``csrc/rail_watch.h``):
here it runs alone over the file, with its solver off (no iterations: a
fraction of a second per minute of audio), and the file is cut where its
rails switch, at the quietest 10 ms block the switch allows.  Each section
is then detected and declipped on its own (``core.offline``,
``files.pipeline``).  Neighbouring sections whose detected levels agree
are joined again (``join``), so a single recording gives one section and
the same result as before.

    >>> import numpy as np
    >>> sr = 8000
    >>> t = np.arange(5 * sr) / sr
    >>> x = 0.9 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 0.3 * t) ** 2
    >>> y = np.concatenate([np.clip(x, -0.3, 0.3), np.zeros(sr // 2), np.clip(x, -0.6, 0.6)])
    >>> finder = SectionFinder(sr, 1)
    >>> for i in range(0, len(y), 4096): finder.scan(y[i:i + 4096, None])
    >>> finder.sections()          # cut in the silence after the first 5 s
    [(0, 40000), (40000, 84000)]
"""
import numpy as np

from rtdeclip.core.channels import rows
from rtdeclip.core.declipper import Declipper

BLOCK_S = 0.01     # envelope resolution: a cut falls at the start of such a block
STEP = 2048        # the estimator is asked for switches this often (samples)
LOOKBACK_S = 6.5   # a switch is counted at most this long after the change
                   # (rail_watch.h: 5.5 s for a wide smeared rail, 0.2 s more to find it)
# A block this far over the next section's peak belongs to the section
# before, over the previous section's peak to the next.  The previous
# section's peak may come from a second or two only: a codec's overshoot
# in the next seconds passed it by 0.5 dB (Vorbis q4).
OLD_ONLY = 10 ** (0.5 / 20)
NEW_ONLY = 10 ** (2.0 / 20)
EARLY_S = 1.0      # a louder section starts at most this long before its first loud block
SILENCE = 0.01     # ... after a block this far (-40 dB) under its peak (a gap), if any
HARD_CUT_S = 0.2   # ... else at most this long before (tracks that meet without a gap)
MIN_HALF_S = 2.0   # split_mixed: each side of a split at least this long
MIN_STEP_DB = 1.0  # ... and its ceiling this much higher than the other's
REFINE_S = 1.5     # refined_cut: how far a split may move
OVER_PEAK = 10 ** (1.0 / 20)   # a block this far over one side's ceiling is the other's
JOIN_DB = 0.5      # sections whose levels agree within this are one recording
SHORT_S = 2.0      # a section this short with no rail of its own, no louder than
BLANK_PEAK_DB = 0.5  # this over its neighbour's peaks, is that neighbour's recording
ONE_CHANGE_S = 0.5  # switches this close together are one change (a channel after another)
PEAK_S = 1.0       # a section's peak is taken over at least this much of it


class SectionFinder:
    """Fed the signal in order (``scan``), gives the sections it falls into
    (``sections``): [(start, stop)] sample indices covering it, one per
    stretch of a constant clip level.  ``codec``: the decoder's family
    ("opus"), as the stream is told it (``Declipper(codec=)``).  Memory:
    the envelope, 2 float16 per channel per 10 ms (6 MB for two hours of
    stereo, 69 MB for a day's radio logger file; float16 holds a level
    to 0.005 dB, far finer than any margin here)."""

    def __init__(self, sample_rate, channels, codec=None):
        # one lane: with nothing to solve, waking a worker per hop cost
        # more than it shared (0.88 -> 0.65 s of CPU per minute of stereo)
        self._d = Declipper(sample_rate, channels=channels, preset="fastest", threshold="auto",
                            plan="estimate", codec=codec, threads=1,
                            # fed what its caller restored already (files, declip)
                            dc_restore=False)
        self._d.iterations = 0   # the estimator only: frames pass through unsolved
        self.block = max(1, int(round(sample_rate * BLOCK_S)))
        self.sample_rate = sample_rate
        self.channels = channels
        self.switches = []      # sample index by which a switch had been counted
        self.n = 0
        self._env = []          # per block: (channels, 2) of max and -min
        self._carry = np.zeros((0, channels))
        self._switched = 0

    def scan(self, chunk):
        """The next (frames, channels) samples."""
        chunk = np.asarray(chunk, dtype=np.float64).reshape(-1, self.channels)
        for i in range(0, len(chunk), STEP):
            part = np.ascontiguousarray(chunk[i:i + STEP])
            self._d.process(part)
            self.n += len(part)
            switched = self._d.stats["rail_switches"]
            if switched != self._switched:
                self._switched = switched
                self.switches.append(self.n)
        body = np.concatenate([self._carry, chunk]) if len(self._carry) else chunk
        whole = len(body) // self.block * self.block
        if whole:
            b = rows(body[:whole]).reshape(self.channels, -1, self.block)
            self._env.append(np.stack([b.max(axis=2).T, -b.min(axis=2).T], axis=2)
                             .astype(np.float16))
        self._carry = body[whole:].copy()

    def envelope(self):
        """(blocks, channels, 2): each 10 ms block's largest sample and
        largest negative one (as a positive number), the last partial
        block included (once asked, the signal is over: no more ``scan``)."""
        if len(self._carry):
            self._env.append(np.stack([self._carry.max(axis=0), -self._carry.min(axis=0)],
                                      axis=1)[None].astype(np.float16))
            self._carry = np.zeros((0, self.channels))
        if len(self._env) != 1:   # one array from here on (asked again: no copy)
            self._env = [np.concatenate(self._env) if self._env
                         else np.zeros((0, self.channels, 2), dtype=np.float16)]
        return self._env[0]

    def sections(self):
        """[(start, stop)]: the whole signal, cut once per switch of the
        estimator's rails (switches within ONE_CHANGE_S count once)."""
        env = self.envelope()
        loud = env.max(axis=(1, 2))
        blocks = len(env)
        marks = []
        for s in self.switches:   # switches close together are one change
            if not marks or s - marks[-1] > ONE_CHANGE_S * self.sample_rate:
                marks.append(s)
        cuts, prev = [], 0
        for k, s in enumerate(marks):
            nxt = marks[k + 1] // self.block if k + 1 < len(marks) else blocks
            cut = self._cut(env, loud, prev, s // self.block, nxt)
            if cut is not None and cut > prev:
                cuts.append(cut)
                prev = cut
        edges = [0] + [c * self.block for c in cuts] + [self.n]
        return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def _cut(self, env, loud, prev, at, nxt):
        """The block to cut at for a switch counted in block ``at``: within
        LOOKBACK_S before it, after the last block only the section before
        can hold (louder than the next section's peak) and before the
        first only the next can (louder than the previous one's), the
        quietest.  None when the window is empty.  Cutting late into a
        quieter section, or early into a quieter one before a louder,
        costs only gain there (the higher level declares less clipped);
        the other way it declares the louder one's peaks clipped."""
        # no section shorter than PEAK_S after a cut
        lo = max(prev + int(PEAK_S / BLOCK_S) if prev else 1, at - int(LOOKBACK_S / BLOCK_S))
        hi = min(at + 1, len(env))
        if hi <= lo:
            return None
        # the sections' peaks: the one before from its start (at least a
        # second of it), the next from the switch on
        before = env[prev:max(lo, prev + int(PEAK_S / BLOCK_S))].max(axis=0)
        after = env[hi:max(nxt, hi)].max(axis=0) if nxt > hi else None
        a, b = lo, hi
        if after is not None:   # per channel and polarity, where one section is louder
            win = env[lo:hi]
            old_only = ((win > after * OLD_ONLY) & (before > after * OLD_ONLY)).any(axis=(1, 2))
            new_only = ((win > before * NEW_ONLY) & (after > before * NEW_ONLY)).any(axis=(1, 2))
            if old_only.any():
                a = lo + int(np.flatnonzero(old_only)[-1]) + 1
            if new_only.any():
                b = lo + int(np.flatnonzero(new_only)[0])
                # a cut too early only leaves the end of the section before
                # unrepaired (its level is now the higher one), but not
                # into the quiet of its own music either: without a
                # silence before the louder one, just before it
                a = max(a, b - int(EARLY_S / BLOCK_S))
                if b > a and loud[a:b].min() > SILENCE * loud[b:hi].max(initial=0.0):
                    a = max(a, b - int(HARD_CUT_S / BLOCK_S))
            if b <= a:   # the constraints cross: at least keep the louder old one whole
                a, b = (a, hi) if a < hi else (lo, hi)
        return a + int(np.argmin(loud[a:b]))


def ceiling_step(env, lo, hi, blocks_per_s):
    """Where the ceiling of blocks [lo, hi) steps most: each second's
    loudest block (any channel or polarity), in dB; the split between two
    runs of seconds (each at least MIN_HALF_S) whose medians differ most.
    Returns (block, step in dB) or None.  The block is the quietest within
    half a second of the step (a gap between two tracks)."""
    secs = (hi - lo) // blocks_per_s
    half = int(MIN_HALF_S)
    if secs < 2 * half:
        return None
    top = env[lo:lo + secs * blocks_per_s].max(axis=(1, 2)).astype(np.float64)
    top = top.reshape(secs, blocks_per_s)
    ceil = 20 * np.log10(np.maximum(top.max(axis=1), 1e-9))
    # the split leaving the least squared spread on both sides (a median
    # difference alone is flat over a whole track's length around the step)
    ts = np.arange(half, secs - half + 1)
    s1, s2 = np.cumsum(ceil), np.cumsum(ceil ** 2)
    left = s2[ts - 1] - s1[ts - 1] ** 2 / ts
    right = (s2[-1] - s2[ts - 1]) - (s1[-1] - s1[ts - 1]) ** 2 / (secs - ts)
    t = int(ts[np.argmin(left + right)])
    steps = [abs(np.median(ceil[:t]) - np.median(ceil[t:]))]
    mid = lo + t * blocks_per_s
    a, b = max(lo + 1, mid - blocks_per_s // 2), min(hi - 1, mid + blocks_per_s // 2)
    loud = env[a:b].max(axis=(1, 2))
    return a + int(np.argmin(loud)), float(max(steps))


def refined_cut(env, lo, cut, hi):
    """A split of blocks [lo, hi) at ``cut`` (a block, within a second of
    where the ceiling steps) moved, within REFINE_S, after the last block
    only the left side can hold (over the right side's ceiling, its 99th
    percentile of block peaks per channel and polarity, by OVER_PEAK) and
    before the first only the right side can, to the quietest block
    between; where the two disagree, where it was."""
    r = int(REFINE_S / BLOCK_S)
    a, b = max(lo + 1, cut - r), min(hi - 1, cut + r)
    if b - a < 2 or a - lo < 2 or hi - b < 2:
        return cut
    left = np.percentile(env[lo:a], 99, axis=0)
    right = np.percentile(env[b:hi], 99, axis=0)
    win = env[a:b]
    left_only = ((win > right * OVER_PEAK) & (left > right * OVER_PEAK)).any(axis=(1, 2))
    right_only = ((win > left * OVER_PEAK) & (right > left * OVER_PEAK)).any(axis=(1, 2))
    s, e = a, b
    if left_only.any():
        s = a + int(np.flatnonzero(left_only)[-1]) + 1
    if right_only.any():
        e = a + int(np.flatnonzero(right_only)[0])
    if e <= s:
        return cut
    return s + int(np.argmin(env[s:e].max(axis=(1, 2))))


def split_mixed(parts, env, block, sample_rate, detect_all):
    """Sections that still hold two recordings (a change the estimator
    missed, or a cut it placed early: a quieter track through a codec
    waits up to 5.5 s, and a file may end before) split where their
    ceiling steps, when the two sides' detected levels differ; again on
    the halves, until none splits.  ``parts``: [((start, stop),
    detection)] (``join``'s); ``detect_all`` as for ``join``.  A louder
    recording declared at a quieter one's level is damaged (its peaks
    between the two levels declared clipped), so no section may keep two."""
    per_s = int(round(1 / BLOCK_S))
    done, todo = [], list(parts)
    while todo:
        tries = []
        for (a, b), found in todo:
            step = ceiling_step(env, a // block, b // block, per_s)
            if step is not None and step[1] >= MIN_STEP_DB:
                cut = refined_cut(env, a // block, step[0], b // block)
                tries.append(((a, b), found, cut * block))
            else:
                done.append(((a, b), found))
        if not tries:
            break
        halves = [h for (a, b), _, c in tries for h in ((a, c), (c, b))]
        found = detect_all(halves)
        todo = []
        for k, ((a, b), whole, c) in enumerate(tries):
            left, right = found[2 * k], found[2 * k + 1]
            if same_levels(left, right):
                done.append(((a, b), whole))
            else:
                todo += [((a, c), left), ((c, b), right)]
    return sorted(done, key=lambda p: p[0])


def inclusive(sets):
    """Per channel the lowest levels of a section's level sets (each a
    [(pos, neg)] per channel; a hedge's widest): [(pos, neg)], what its
    solvers may call clipped at most."""
    return [(min(p for p, _ in ch), max(q for _, q in ch)) for ch in zip(*sets)]


def quiet_context(x, a, b, levels, out=None):
    """A section's samples with their context, ``x`` (frames, channels):
    [0, a) before it, [b, len) after it.  Context samples this section's
    ``levels`` ([(pos, neg)] per channel) would call clipped belong to a
    louder recording, and solved as clipped here they would bend the
    frames that reach into the section: the context is silenced from the
    offending sample outwards (on each side, per channel), as if the
    section were preceded and followed by silence there."""
    y = np.array(x, dtype=np.float64, copy=True) if out is None else out
    for c, (p, q) in enumerate(levels):
        before = (y[:a, c] >= p) | (y[:a, c] <= q)
        if before.any():
            y[:int(np.flatnonzero(before)[-1]) + 1, c] = 0.0
        after = (y[b:, c] >= p) | (y[b:, c] <= q)
        if after.any():
            y[b + int(np.flatnonzero(after)[0]):, c] = 0.0
    return y


def fed_from(start, context, grid):
    """Where a section starting at ``start`` is fed from: ``context``
    samples earlier, on the whole signal's frame grid (a multiple of the
    stream's hop ``grid``), so that its frames are the whole signal's."""
    return max(0, (start - context) // grid * grid)


def recordings(finder, detect_all):
    """The recordings a signal holds, from its ``SectionFinder`` (fed the
    whole signal): [((start, stop), detection)] when there are several,
    None for one.  The estimator's cuts, neighbours that agree joined
    (``join``), sections that still hold two split (``split_mixed``) and
    joined again.  ``detect_all(spans)``: each span's detection."""
    spans = finder.sections()
    if len(spans) == 1:
        return None
    env = finder.envelope()
    short = int(SHORT_S * finder.sample_rate)

    def peaks(span):
        a, b = span[0] // finder.block, -(-span[1] // finder.block)
        return env[a:b].max(axis=0).astype(np.float64)

    def agree(f, g, span_f, span_g):
        return same_levels(f, g) or blank_part_of(f, g, span_f, span_g, peaks, short)

    parts = join(spans, detect_all, agree)
    if len(parts) == 1:
        return None
    parts = split_mixed(parts, env, finder.block, finder.sample_rate, detect_all)
    parts = join([span for span, _ in parts], detect_all, agree)
    return parts if len(parts) > 1 else None


def blank_part_of(f, g, span_f, span_g, peaks, short):
    """Either of two neighbouring sections is too short to find a rail of
    its own (under ``short`` samples, none found on any channel) and no
    louder than the other (its peaks, per channel and polarity, at most
    BLANK_PEAK_DB over the other's, which found one): a part of the same
    recording.  A recording's rail can be corrected within it (a stream's
    estimate of a rail mirrored from the other polarity, 2.6 dB low on
    speech through Opus, corrected when a burst reached the real one): the
    section before such a switch, 0.6 s, found nothing, and left alone it
    was not declipped (-4.3 dB on the file).  A louder recording, clipped
    or not, is never joined this way, nor one long enough to tell."""
    def rails(found):
        return any(c.positive is not None or c.negative is not None for c in found)

    for (blank, span_b), (other, span_o) in (((f, span_f), (g, span_g)),
                                             ((g, span_g), (f, span_f))):
        if (span_b[1] - span_b[0] < short and not rails(blank) and rails(other)
                and np.all(peaks(span_b) <= peaks(span_o) * 10 ** (BLANK_PEAK_DB / 20))):
            return True
    return False


def same_levels(f, g, tol_db=JOIN_DB):
    """Two sections' detections (per channel ``ChannelClipping``) find the
    same rails: both unclipped, or centres within ``tol_db``, per channel
    and polarity (not the declared levels: a smeared rail's width varies
    with what the section holds)."""
    for fc, gc in zip(f, g):
        for p, q in ((fc.positive, gc.positive), (fc.negative, gc.negative)):
            if (p is None) != (q is None):
                return False
            if p is not None and abs(20 * np.log10(abs(p) / abs(q))) > tol_db:
                return False
    return True


def join(spans, detect_all, agree=None):
    """Neighbouring sections whose detected levels agree (``same_levels``,
    or ``agree(f, g, span_f, span_g)``) joined and detected again as one,
    until no two agree.  ``detect_all(spans)`` gives each span's detection
    (per channel): a file pipeline detects them all in one pair of
    decoding passes.  Returns [((start, stop), detection)]."""
    if agree is None:
        agree = lambda f, g, *_: same_levels(f, g)   # noqa: E731
    found = detect_all(spans)
    while len(spans) > 1:
        groups = [[0]]
        for k in range(1, len(spans)):
            if agree(found[k - 1], found[k], spans[k - 1], spans[k]):
                groups[-1].append(k)
            else:
                groups.append([k])
        if len(groups) == len(spans):
            break
        spans = [(spans[g[0]][0], spans[g[-1]][1]) for g in groups]
        found = detect_all(spans)
    return list(zip(spans, found))


def summed(stats):
    """The solver stats (dicts) of several sections as one: counters added,
    maxima ("max_...") kept."""
    out = {}
    for key in dict.fromkeys(k for st in stats for k in st):   # a hedged one has more
        values = [st[key] for st in stats if key in st]
        out[key] = max(values) if key.startswith("max") else sum(values)
    return out
