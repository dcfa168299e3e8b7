"""Files whose source had a lower rate, declipped at that rate.

Opus always decodes at 48 kHz, but a voice message or a podcast is often
encoded from 16 kHz: the input sample rate of the Opus header
(``OpusHead``, filled in by ffmpeg and libopus from what the encoder was
given) says so.  Any other file that was brought up from a lower rate
after it clipped (a voice message saved as a 48 kHz WAV, a 8 kHz call
recording at 48 kHz) shows it in its spectrum: nothing above the low
rate's Nyquist frequency (``core.resample.BandLimit``).  The file pipeline then runs
detection at that rate on ``Downsampled(src, factor)`` and declips with a
``Declipper(rate, source_rate=...)``, whose chain in C runs the solver at
that rate and brings only the repair back (csrc/source_rate.c).
"""
import struct

from rtdeclip.core.resample import (BandLimit, Decimator,  # noqa: F401
                                    check_source_rate, factor_for)
from rtdeclip.errors import ParameterError

def opus_input_rate(codec_context):
    """The source's sample rate an Opus stream declares (OpusHead bytes
    12-15, little endian), or None when it is not an Opus stream or the
    header does not say."""
    if codec_context is None or codec_context.name not in ("opus", "libopus"):
        return None
    head = bytes(codec_context.extradata or b"")
    if len(head) < 16 or head[:8] != b"OpusHead":
        return None
    rate = struct.unpack("<I", head[12:16])[0]
    return rate or None


def parse(spec):
    """--source-rate: "auto" (the Opus header, else the spectrum), "off", or
    a rate in Hz; returns "auto", "off" or an int.  ParameterError when
    malformed."""
    if spec is None:
        return "auto"
    if isinstance(spec, str) and spec.strip().lower() in ("auto", "off"):
        return spec.strip().lower()
    try:
        rate = int(spec)
    except (TypeError, ValueError):
        rate = None
    if rate is None or isinstance(spec, bool) or rate <= 0 or (isinstance(spec, float)
                                                               and spec != rate):
        raise ParameterError(f"source_rate (--source-rate) must be auto, off or a rate in Hz, "
                             f"got {spec!r}")
    return rate


def known_factor(src, spec):
    """The factor that needs no measuring: (factor, how), or (None, None)
    when the spectrum must tell (``spec`` "auto" and no Opus header rate).
    ParameterError for a given rate the file's rate is not 2, 3, 4 or 6
    times."""
    if spec == "off":
        return 1, None
    if spec != "auto":
        try:
            return check_source_rate(src.sample_rate, spec), "given"
        except ParameterError:
            raise ParameterError(f"--source-rate {spec}: the input decodes at "
                                 f"{src.sample_rate} Hz, which is not 2, 3, 4 or 6 times it"
                                 ) from None
    f = factor_for(src.sample_rate, src.source_rate)
    return (f, "opus header") if f > 1 else (None, None)


class Downsampled:
    """An AudioSource seen at its rate divided by ``factor`` (what detection
    and the solver get): ``chunks``, ``channels``, ``sample_rate``,
    ``codec``; ``frames_in`` counts the full-rate frames read by the last
    pass."""

    def __init__(self, src, factor):
        self.src, self.factor = src, factor
        self.channels, self.codec = src.channels, src.codec
        self.sample_rate = src.sample_rate // factor
        self._down = None

    @property
    def frames_in(self):
        return self._down.frames_in if self._down is not None else 0

    def chunks(self, size):
        """Low-rate blocks of about ``size / factor`` frames,
        ``rtdeclip.core.resample.low_length(n, factor)`` in all for n input
        frames."""
        down = self._down = Decimator(self.factor, self.channels)
        for x in self.src.chunks(size):
            y = down.push(x)
            if len(y):
                yield y
        y = down.finish()
        if len(y):
            yield y
