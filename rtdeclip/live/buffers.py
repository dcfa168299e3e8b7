"""Ring-buffer sizes: PortAudio's (rtmixer's) ring buffers and the
limiter's running minimum both want a power of two."""


def pow2_at_least(n):
    """The smallest power of two >= n (1 for n <= 1).

    >>> [pow2_at_least(n) for n in (0, 1, 2, 3, 1000, 1024, 1025)]
    [1, 1, 2, 4, 1024, 1024, 2048]
    """
    return 1 << max(0, int(n) - 1).bit_length()


def float32_ring(rtmixer, channels, frames):
    """An rtmixer ring buffer of float32 frames of ``channels`` samples,
    holding at least ``frames`` of them."""
    return rtmixer.RingBuffer(4 * channels, pow2_at_least(frames))
