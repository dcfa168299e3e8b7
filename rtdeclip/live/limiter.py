"""A look-ahead peak limiter for the live output: restored peaks rise above
the clip level and would clip again at the converter.

    lim = Limiter(48000, channels=2, ceiling_db=-1.0)
    lim.process(block)            # in place; delayed by lim.latency_samples

The gain for output sample n is the mean over the last L samples of the
minimum, over the last W >= L samples, of the gain each input sample needs
(ceiling / |x|, channels linked).  With the audio delayed by L-1 samples
every peak lies inside all L minima that are averaged for it, so the output
never exceeds the ceiling (a final clip catches float rounding), and the
gain ramps down over L samples before a peak and back up L samples after
the hold (W - L).  Everything is vectorised per block on preallocated
buffers: nothing is allocated per call.
"""
import numpy as np

from rtdeclip.errors import ParameterError
from rtdeclip.live.buffers import pow2_at_least


class Limiter:
    """Linked-channel brick-wall limiter with ``lookahead_ms`` of delay."""

    def __init__(self, sample_rate, channels, ceiling_db=-1.0, lookahead_ms=1.5, hold_ms=8.0,
                 max_block=8192):
        if not -60.0 <= ceiling_db <= 0.0:
            raise ParameterError(f"ceiling must be between -60 and 0 dBFS, got {ceiling_db}")
        self.ceiling = 10 ** (ceiling_db / 20)
        self.channels = channels
        self.L = L = max(2, int(round(lookahead_ms * 1e-3 * sample_rate)))
        # window of the running minimum: a power of two (doubling steps)
        self.W = W = pow2_at_least(L + int(round(hold_ms * 1e-3 * sample_rate)))
        self.latency_samples = L - 1
        self.max_block = max_block
        # each history buffer has a twin: the history moves from one to the
        # other (an overlapping in-place shift would make numpy copy)
        self._g = [np.ones(W - 1 + max_block) for _ in range(2)]   # needed gain, W-1 of history
        self.a = np.ones(W - 1 + max_block)            # scratch for the running minimum
        self.b = np.ones_like(self.a)
        self._m = [np.ones(L - 1 + max_block) for _ in range(2)]   # running minimum, L-1 of history
        self.c = np.zeros(L + max_block)               # its cumulative sum
        self._x = [np.zeros((L - 1 + max_block, channels), np.float32) for _ in range(2)]
        self._cur, self._n = 0, 0                      # which twin holds the history; its length
        self.peak = np.zeros(max_block)
        self.tmp = np.zeros(max_block)
        self.limited_samples = 0                       # output samples turned down
        self.min_gain = 1.0

    def process(self, block):
        """Limit ``block`` (frames, channels) float32 in place."""
        n = len(block)
        if n > self.max_block:
            raise ParameterError(f"block of {n} frames exceeds the limiter's {self.max_block}")
        L, W = self.L, self.W
        old, new, p = self._cur, 1 - self._cur, self._n
        self._cur, self._n = new, n
        a, b, c, peak = self.a, self.b, self.c, self.peak
        g, m, x = self._g[new], self._m[new], self._x[new]
        # needed gain of the new samples (1 where under the ceiling)
        np.abs(block[:, 0], out=peak[:n])
        for ch in range(1, self.channels):
            np.abs(block[:, ch], out=self.tmp[:n])
            np.maximum(peak[:n], self.tmp[:n], out=peak[:n])
        g[:W - 1] = self._g[old][p:p + W - 1]
        np.maximum(peak[:n], self.ceiling, out=peak[:n])
        np.divide(self.ceiling, peak[:n], out=g[W - 1:W - 1 + n])
        # running minimum over W samples by doubling: after step s, a[i] is
        # the minimum of g[i-2s+1 .. i]
        tot = W - 1 + n
        a[:tot] = g[:tot]
        s = 1
        while s < W:
            b[:s] = a[:s]
            np.minimum(a[s:tot], a[:tot - s], out=b[s:tot])
            a, b = b, a
            s *= 2
        m[:L - 1] = self._m[old][p:p + L - 1]
        m[L - 1:L - 1 + n] = a[W - 1:tot]
        # mean of the last L minima: cumulative sum of this call's window only
        c[0] = 0.0
        np.cumsum(m[:L - 1 + n], out=c[1:L + n])
        gain = peak[:n]                                # reuse: the gain per sample
        np.subtract(c[L:L + n], c[:n], out=gain)
        gain *= 1.0 / L
        # delay the audio by L-1 and apply
        x[:L - 1] = self._x[old][p:p + L - 1]
        x[L - 1:L - 1 + n] = block
        block[:] = x[:n]
        block *= gain[:, None]
        np.clip(block, -self.ceiling, self.ceiling, out=block)
        lowest = float(gain.min())
        if lowest < 0.9999:  # counted only when it acts: no temporaries otherwise
            self.limited_samples += int(np.count_nonzero(gain < 0.9999))
            self.min_gain = min(self.min_gain, lowest)
        return block

    def reset(self):
        for g, m, x in zip(self._g, self._m, self._x):
            g[:] = 1.0
            m[:] = 1.0
            x[:] = 0.0
        self._n = 0
