"""Per-channel views of interleaved audio.

Decoders give (frames, channels) arrays, one frame per row.  numpy reduces
a column of such an array (``a.max(axis=0)``) an order of magnitude slower
than a contiguous row: on 65536 stereo frames 2.3 ms against 0.15 ms for
the copy and the row's max together.  The per-chunk scans of a file (the
detector's, the clip counter's, the section finder's envelope) ran most of
their time there, so they take the channels as rows first.

    >>> import numpy as np
    >>> rows(np.array([[1.0, -1.0], [2.0, -2.0]])).max(axis=1)
    array([ 2., -1.])
"""
import numpy as np


def rows(a):
    """(frames, channels) -> a C-contiguous (channels, frames) copy."""
    return np.ascontiguousarray(np.asarray(a).T)
