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
JOIN_DB = 0.5      # sections whose levels agree within this are one recording
ONE_CHANGE_S = 0.5  # switches this close together are one change (a channel after another)
PEAK_S = 1.0       # a section's peak is taken over at least this much of it


class SectionFinder:
    """Fed the signal in order (``scan``), gives the sections it falls into
    (``sections``): [(start, stop)] sample indices covering it, one per
    stretch of a constant clip level.  ``codec``: the decoder's family
    ("opus"), as the stream is told it (``Declipper(codec=)``).  Memory:
    the envelope, 4 numbers per channel per 10 ms."""

    def __init__(self, sample_rate, channels, codec=None):
        self._d = Declipper(sample_rate, channels=channels, preset="fastest", threshold="auto",
                            plan="estimate", codec=codec)
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
            b = body[:whole].reshape(-1, self.block, self.channels)
            self._env.append(np.stack([b.max(axis=1), -b.min(axis=1)], axis=2))
        self._carry = body[whole:].copy()

    def envelope(self):
        """(blocks, channels, 2): each 10 ms block's largest sample and
        largest negative one (as a positive number), the last partial
        block included."""
        env = list(self._env)
        if len(self._carry):
            env.append(np.stack([self._carry.max(axis=0), -self._carry.min(axis=0)],
                                axis=1)[None])
        return np.concatenate(env) if env else np.zeros((0, self.channels, 2))

    def sections(self):
        """[(start, stop)]: the whole signal, cut once per switch of the
        estimator's rails (several switches within LOOKBACK_S count once)."""
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
                # into the quiet of its own music either
                a = max(a, b - int(EARLY_S / BLOCK_S))
            if b <= a:   # the constraints cross: at least keep the louder old one whole
                a, b = (a, hi) if a < hi else (lo, hi)
        return a + int(np.argmin(loud[a:b]))


def fed_from(start, context, grid):
    """Where a section starting at ``start`` is fed from: ``context``
    samples earlier, on the whole signal's frame grid (a multiple of the
    stream's hop ``grid``), so that its frames are the whole signal's."""
    return max(0, (start - context) // grid * grid)


def same_levels(f, g, tol_db=JOIN_DB):
    """Two sections' detections (per channel ``ChannelClipping``) declare
    the same levels: both unclipped, or within ``tol_db``, per channel and
    polarity."""
    for fc, gc in zip(f, g):
        for p, q in zip(fc.thresholds, gc.thresholds):
            if np.isfinite(p) != np.isfinite(q):
                return False
            if np.isfinite(p) and abs(20 * np.log10(abs(p) / abs(q))) > tol_db:
                return False
    return True


def join(spans, detect_all):
    """Neighbouring sections whose detected levels agree (``same_levels``)
    joined and detected again as one, until no two agree.
    ``detect_all(spans)`` gives each span's detection (per channel): a
    file pipeline detects them all in one pair of decoding passes.  Returns
    [((start, stop), detection)]."""
    found = detect_all(spans)
    while len(spans) > 1:
        groups = [[0]]
        for k in range(1, len(spans)):
            if same_levels(found[k - 1], found[k]):
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
