"""Opus files from a 8-24 kHz source, declipped at the source's rate.

Opus always decodes at 48 kHz, but a voice message or a podcast is often
encoded from 16 kHz: the input sample rate of the Opus header
(``OpusHead``, filled in by ffmpeg and libopus from what the encoder was
given) says so.  The file pipeline then runs detection and the solver at
that rate on ``Downsampled(src, factor)`` and brings only the repair back
to 48 kHz (``core.resample.at_source_rate``).
"""
import struct

from rtdeclip.core.resample import Decimator, at_source_rate, factor_for, low_length  # noqa: F401


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


class Downsampled:
    """An AudioSource seen at its rate divided by ``factor`` (what detection
    and the solver get): ``chunks``, ``channels``, ``sample_rate``,
    ``codec``; ``frames_in`` counts the full-rate frames read by the last
    pass."""

    def __init__(self, src, factor):
        self.src, self.factor = src, factor
        self.channels, self.codec = src.channels, src.codec
        self.sample_rate = src.sample_rate // factor
        self.frames_in = 0

    def chunks(self, size):
        """Low-rate blocks of about ``size / factor`` frames,
        ``low_length(n, factor)`` in all for n input frames."""
        down, self.frames_in = Decimator(self.factor, self.channels), 0
        for x in self.src.chunks(size):
            self.frames_in += len(x)
            y = down.push(x)
            if len(y):
                yield y
        y = down.flush(low_length(self.frames_in, self.factor))
        if len(y):
            yield y
