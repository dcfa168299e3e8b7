"""Decimation to a source's lower rate, and the test that finds that rate.

A signal that was resampled up by an integer factor (an Opus file from a
16 kHz source decodes at 48 kHz) is declipped better at its source's rate:
its spectrum stops at the source's Nyquist frequency, and a solver at the
higher rate spends its sparsity on a spectrum that is mostly empty (docs/
lossy.md, "Opus from a 16 kHz source").  The declipping itself runs in C
(``Declipper(rate, source_rate=...)``, csrc/source_rate.c):

    x (48 kHz) -> D -> y (16 kHz) -> declip -> o (16 kHz)
    out = x + U(o - y)

which keeps every sample the solver did not change bit for bit.  What
Python needs of it is D, to find the clip levels of what the solver will
see (``decimated``, the streaming ``Decimator`` for files in chunks), with
the C chain's own filter (``rtd_rate_filter``), centred (its delay
removed); and the spectrum test that tells a band-limited signal
(``BandLimit``).

    >>> import numpy as np
    >>> x = np.sin(np.arange(48000) * 2 * np.pi * 440 / 48000)[:, None]
    >>> d = Decimator(3, 1)
    >>> y = np.concatenate([d.push(x[:1000]), d.push(x[1000:]), d.flush(16000)])
    >>> y.shape
    (16000, 1)
"""
import numpy as np

from rtdeclip._core import ffi, lib
from rtdeclip.errors import ParameterError

# integer factors the chain handles (48 kHz over 24, 16, 12, 8 kHz)
FACTORS = (2, 3, 4, 6)


# the bandwidth test: power above 1.05 x the low rate's Nyquist frequency at
# most this share of the whole.  Measured (Welch, 4096 points): a 16 kHz
# source at 48 kHz through Opus -93 dB, through ffmpeg -ar 48000 -69 dB;
# signals clipped at their own rate -11 to -40 dB (the clipping's harmonics)
BAND_SHARE_DB = -60.0
BAND_EDGE = 1.05
# low rates the spectrum may choose: the sources of voice messages, calls
# and old recordings (8-24 kHz), where declipping there was measured to
# gain.  A hi-res file of band-limited music (192 kHz, nothing above 16
# kHz) clipped at its own rate passes the band test too, but there the
# lower rate gained or lost a dB or two by channel (the test signal of
# tests/test_files.py at 96/192 kHz): left at its rate
LOW_RATE_MIN, LOW_RATE_MAX = 8000, 24000


class BandLimit:
    """Whether a signal is empty above a lower rate's Nyquist frequency:
    fed chunks (``scan``), ``factor()`` is the largest of FACTORS whose
    low rate (8-24 kHz) leaves at most BAND_SHARE_DB of the power
    above BAND_EDGE x its Nyquist frequency (1: none)."""

    N = 4096

    def __init__(self, rate):
        self.rate = rate
        self.power = np.zeros(self.N // 2 + 1)
        self.tail = None
        self.window = np.hanning(self.N)

    def scan(self, chunk):
        x = chunk if self.tail is None else np.concatenate([self.tail, chunk])
        hop, n = self.N // 2, self.N
        starts = range(0, len(x) - n + 1, hop)
        for i in starts:   # Welch: power summed over the channels and frames
            self.power += (np.abs(np.fft.rfft(x[i:i + n] * self.window[:, None], axis=0)) ** 2
                           ).sum(axis=1)
        done = (len(starts) * hop) if len(starts) else 0
        self.tail = x[done:]

    def share_db(self, factor):
        """Power above BAND_EDGE x the Nyquist frequency of rate / factor,
        in dB of the whole."""
        total = self.power.sum()
        if total <= 0:
            return 0.0
        f = np.arange(len(self.power)) * self.rate / self.N
        above = self.power[f > BAND_EDGE * 0.5 * self.rate / factor].sum()
        return float(10 * np.log10(max(above / total, 1e-30)))

    def factor(self):
        for f in sorted(FACTORS, reverse=True):
            if self.rate % f == 0 and LOW_RATE_MIN <= self.rate // f <= LOW_RATE_MAX \
                    and self.share_db(f) <= BAND_SHARE_DB:
                return f
        return 1


def factor_for(rate, source_rate):
    """The decimation factor to declip at ``source_rate`` (1: declip at
    ``rate`` itself): an integer ratio in FACTORS, else 1."""
    if not source_rate or source_rate >= rate or rate % source_rate:
        return 1
    f = int(rate // source_rate)
    return f if f in FACTORS else 1


def check_source_rate(rate, source_rate):
    """``declip(source_rate=...)``, ``Declipper(source_rate=...)``: the
    factor asked for (1 for None or the rate itself); ParameterError unless
    the rate is 2, 3, 4 or 6 times it."""
    if source_rate is None:
        return 1
    integer = isinstance(source_rate, (int, np.integer)) and not isinstance(source_rate, bool)
    if integer and source_rate == rate:
        return 1
    f = factor_for(rate, source_rate) if integer and source_rate > 0 else 1
    if f == 1:
        raise ParameterError(f"source_rate must be the sample rate ({rate} Hz) divided by "
                             f"{', '.join(map(str, FACTORS[:-1]))} or {FACTORS[-1]}, "
                             f"got {source_rate!r}")
    return f


def low_length(n, factor):
    """Low-rate samples of n input samples: every one whose filter window
    reaches the signal (the filter's tail after the last sample included,
    as a stream that goes on with silence has it: C's rtd_rate gives the
    same samples)."""
    return (n - 1 + reach(factor)) // factor + 1 if n else 0


def reach(factor):
    """Taps on each side of the chain's filter for ``factor`` (32 x factor,
    2 ms at 48 kHz: a pass band flat to 5e-4 dB up to 0.9 of the low
    Nyquist frequency, a stop band 82 dB down from 1.1 of it)."""
    return (lowpass_length(factor) - 1) // 2


def lowpass_length(factor):
    n = lib.rtd_rate_filter(factor, ffi.NULL, 0)
    if n < 0:
        raise ParameterError(f"no source-rate filter for factor {factor}")
    return n


def decimated(x, factor):
    """Whole-array D(x): the (frames, channels) array ``x`` at the rate
    divided by ``factor``, low_length(len(x), factor) samples (the filter's
    tail included): what the solver of a Declipper(source_rate=...) sees."""
    down = Decimator(factor, x.shape[1])
    return np.concatenate([down.push(x), down.finish()])


def lowpass(factor):
    """The symmetric FIR (odd length, unit DC gain) of the source-rate
    chain for ``factor``, as csrc/source_rate.c designs it (one design: the
    levels found here are those of what the C chain's solver sees)."""
    n = lowpass_length(factor)
    h = np.empty(n)
    lib.rtd_rate_filter(factor, ffi.cast("double *", ffi.from_buffer(h)), n)
    return h


class _CentredFIR:
    """Streaming FIR whose output is centred on its input (the filter's
    delay of ``half`` samples removed), zero outside the signal; the output
    is kept at every ``step``-th position.  ``push`` returns what is known,
    ``flush(n_out)`` the rest up to ``n_out`` outputs in all."""

    def __init__(self, h, step, channels):
        self.h, self.step = h, step
        self.half = (len(h) - 1) // 2
        # input so far, from absolute position `base`, with `half` zeros before it
        self.buf = np.zeros((self.half, channels))
        self.base = -self.half
        self.done = 0            # outputs produced

    def _run(self, limit):
        """Outputs whose window lies inside buf, up to `limit` in all."""
        n_taps = len(self.h)
        last_start = self.base + len(self.buf) - n_taps     # newest full window's start
        if last_start < self.done * self.step - self.half:
            return np.zeros((0, self.buf.shape[1]))
        count = min((last_start + self.half) // self.step + 1, limit) - self.done
        if count <= 0:
            return np.zeros((0, self.buf.shape[1]))
        first = self.done * self.step - self.half - self.base    # start of the first window in buf
        span = self.buf[first:first + (count - 1) * self.step + n_taps]
        out = np.empty((count, self.buf.shape[1]))
        for c in range(self.buf.shape[1]):
            # full windows only; h is symmetric, so correlation = convolution
            out[:, c] = np.convolve(span[:, c], self.h, mode="valid")[::self.step]
        self.done += count
        drop = self.done * self.step - self.half - self.base   # no later window reaches before this
        if drop > 0:
            self.buf = self.buf[drop:]
            self.base += drop
        return out

    def push(self, x, limit=None):
        """The outputs ``x`` completes (at most ``limit`` in all)."""
        self.buf = np.concatenate([self.buf, x]) if len(self.buf) else np.asarray(x, np.float64)
        return self._run(np.iinfo(np.int64).max if limit is None else limit)

    def flush(self, n_out):
        """The outputs left up to ``n_out`` in all (the signal ends here:
        zeros after it, as far as the filter's tail reaches)."""
        tail = np.zeros((2 * self.half + self.step, self.buf.shape[1]))
        self.buf = np.concatenate([self.buf, tail])
        return self._run(n_out)


class Decimator(_CentredFIR):
    """Low-pass and keep every ``factor``-th sample: y[m] ~ x[m * factor].
    ``push`` blocks, then ``finish()`` for the rest: low_length(frames
    pushed, factor) samples in all, as C's rtd_rate gives its solver."""

    def __init__(self, factor, channels):
        super().__init__(lowpass(factor), factor, channels)
        self.factor, self.frames_in = factor, 0

    def push(self, x, limit=None):
        self.frames_in += len(x)
        return super().push(x, limit)

    def finish(self):
        """The signal ends here: the samples left, the filter's tail included."""
        return self.flush(low_length(self.frames_in, self.factor))
