"""An Opus encoder's DC reject undone before declipping.

libopus high-passes its input before it codes it: in its "audio" and
"restricted-lowdelay" applications (ffmpeg's and opusenc's default) with
a one-pole DC reject at 3 Hz, ``out = x - m``, ``m += 6.3 * 3 / Fs * (x -
m)`` (opus_encoder.c, ``dc_reject``).  Clipping gives a signal a slowly
moving mean (speech clips harder on one side; the mean of a clipped
passage shifts with the music), and the encoder takes it off: both rails
then move with it, by up to a quarter of the clip level, and no single
level fits them (the benchmark's speech at input SDR 3: positive rail at
0.077, negative at 0.109, true level 0.093).  99.8 % of the codec's error
on that clip lies under 20 Hz, 55-68 % on music through Opus at input SDR
7-10 (docs/lossy.md, twenty-ninth session).

The filter inverts exactly: ``m[i+1] = m[i] + a * out[i]`` with ``a =
6.3 * 3 / Fs`` whatever rate the encoder ran at (the sum is an integral:
18.9 times the decoded signal's integral in seconds), from ``m = 0`` at
the stream's first sample (the decoder trims Opus's pre-skip, so its first
sample is the encoder's).  The restored signal ``out + m`` has the rails
flat again and carries the slow mean the encoder removed; what the codec
added integrates into a slow random walk (±0.006 over 3 minutes of music
at input SDR 7, under the 0.008-0.013 error it removes).

A stream that is not what this assumes (ffmpeg's own experimental Opus
encoder keeps the DC: m would ramp without end) trips a guard: ``m`` is a
low-passed copy of the encoder's input, so it never passes that input's
peak; once it passes the channel's decoded peak so far, it is let go
(decays with the encoder's own time constant, no step) and no longer
followed.  Until then (about a third of a second on a 0.05 DC) the
ramp is in the output.  VOIP-mode Opus (a steeper
60 Hz high-pass) keeps its lows out of reach; undoing the 3 Hz reject on
it moved nothing by more than 0.4 dB.

The declipped output of a restored channel is high-passed at 0.3 Hz
(:class:`Highpass`, one pole; csrc/dc_restore.h ``dc_restore_out`` in
streams): the integral also sums the codec's own error near DC, a random
walk that grows with the length of the signal (8 s of music through
Opus 160k at input SDR 20: 12.2 dB gained without the restore, 8.1 with
it, 14.1 with it and the high-pass), and a stream joined midway carries
the encoder's ``m`` at that moment as an offset.  No recording holds
anything audible at 0.3 Hz (docs/lossy.md, thirtieth session).

    >>> import numpy as np
    >>> a = coefficient(48000)
    >>> left = 0.02 * (1 - a) ** np.arange(48000)   # what the encoder left of a 0.02 DC
    >>> y, tripped = restored(left, 48000)
    >>> round(float(y[-1]), 6), bool(tripped[0])
    (0.02, False)
"""
import numpy as np

# libopus's dc_reject: coef = 6.3 * cutoff_Hz / Fs, cutoff 3 Hz
OPUS_CUTOFF_HZ = 3.0
OPUS_COEF = 6.3
# the declipped output of a restored channel: high-passed here (one pole)
OUTPUT_HIGHPASS_HZ = 0.3
# m beyond this share of the channel's decoded peak so far: not a DC
# reject undone (a low-pass of the encoder's input stays under its peak)
GUARD_SHARE = 1.0
GUARD_FLOOR = 1e-3


def coefficient(rate, cutoff_hz=OPUS_CUTOFF_HZ):
    """The per-sample step ``a`` of the inverse at ``rate`` Hz."""
    return OPUS_COEF * cutoff_hz / float(rate)


class DcRestorer:
    """The DC reject undone block by block: ``push(x)`` returns ``x + m``
    (a new float64 array), ``m`` carried across calls, per channel.
    ``tripped``: per channel, whether the guard let ``m`` go."""

    def __init__(self, channels, rate, cutoff_hz=OPUS_CUTOFF_HZ):
        self.a = coefficient(rate, cutoff_hz)
        self.m = np.zeros(channels)
        self.peak = np.zeros(channels)
        self.tripped = np.zeros(channels, dtype=bool)

    def push(self, x):
        x = np.asarray(x, dtype=np.float64)
        x2 = x.reshape(len(x), -1)
        if not len(x2):
            return x2.reshape(x.shape).copy()
        # m before each sample: m0 + a * (sum of the samples before it)
        m = self.m + self.a * (np.cumsum(x2, axis=0) - x2)
        peak = np.maximum(self.peak, np.maximum.accumulate(np.abs(x2), axis=0))
        for c in range(x2.shape[1]):
            if self.tripped[c]:
                m[:, c] = self.m[c] * (1.0 - self.a) ** np.arange(1, len(x2) + 1)
                continue
            over = np.flatnonzero((np.abs(m[:, c]) > GUARD_SHARE * peak[:, c])
                                  & (np.abs(m[:, c]) > GUARD_FLOOR))
            if len(over):   # from there on let go: decays, no step
                t = over[0]
                m[t:, c] = m[t, c] * (1.0 - self.a) ** np.arange(1, len(x2) - t + 1)
                self.tripped[c] = True
        # (as csrc/dc_restore.h: after a trip m holds the last value added)
        self.m = np.where(self.tripped, m[-1], m[-1] + self.a * x2[-1])
        self.peak = peak[-1]
        return (x2 + m).reshape(x.shape)


def restored(y, rate, cutoff_hz=OPUS_CUTOFF_HZ):
    """``y`` (frames[, channels]) with the DC reject undone from its first
    sample; (the restored array, per channel whether the guard tripped)."""
    r = DcRestorer(1 if np.ndim(y) == 1 else np.shape(y)[1], rate, cutoff_hz)
    return r.push(y), r.tripped.copy()


class Highpass:
    """The output of a restored channel high-passed at ``OUTPUT_HIGHPASS_HZ``
    block by block, as csrc/dc_restore.h's ``dc_restore_out`` does per
    sample (``y = x - x[-1] + pole * y[-1]``, from rest): ``push(x)``
    returns a new float64 array of x's shape; the channels ``on`` marks
    False are passed through as they are."""

    SPAN = 8192   # pole ** -SPAN stays small: the closed form below is exact

    def __init__(self, channels, rate, on=None):
        self.pole = float(np.exp(-2.0 * np.pi * OUTPUT_HIGHPASS_HZ / float(rate)))
        n = int(channels)
        self.on = np.ones(n, dtype=bool) if on is None else np.asarray(on, dtype=bool)
        self.hx = np.zeros(n)
        self.hy = np.zeros(n)

    def push(self, x):
        x = np.asarray(x, dtype=np.float64)
        x2 = x.reshape(len(x), -1)
        out = x2.copy()
        on = np.flatnonzero(self.on)
        for a in range(0, len(x2), self.SPAN):
            seg = x2[a:a + self.SPAN, on]
            if not len(seg):
                break
            d = np.diff(seg, axis=0, prepend=self.hx[on][None, :])
            k = np.arange(1, len(seg) + 1)[:, None]
            # y[n] = pole^(n+1) (y[-1] + sum_{j<=n} pole^-(j+1) d[j])
            y = self.pole ** k * (self.hy[on] + np.cumsum(self.pole ** -k * d, axis=0))
            out[a:a + len(seg), on] = y
            self.hx[on] = seg[-1]
            self.hy[on] = y[-1]
        return out.reshape(x.shape)


def highpassed(y, rate, on=None):
    """``y`` (frames[, channels]) high-passed as a restored channel's output
    is (:class:`Highpass`), the channels ``on`` (default all)."""
    h = Highpass(1 if np.ndim(y) == 1 else np.shape(y)[1], rate, on)
    return h.push(y)
