"""When the live host's troubles happened, not only how many: a fixed-size
log of (stream time, kind), written by the worker between blocks.

    log = EventLog(capacity=1024)
    log.add(12.34, "output_underflow")
    log.as_list()      # [[12.34, "output_underflow"]]; log.dropped: beyond capacity

Stream time is the input position in seconds (blocks taken by the worker
× block / sample rate): the same clock as a recording of the session, so
a user can find the spot.  The arrays are made once; a full log keeps its
first ``capacity`` entries and counts the rest (the counters in the
host's stats stay exact either way).
"""
import numpy as np

KINDS = ("output_underflow", "input_overflow", "late", "driver_xrun")


class EventLog:
    """Fixed-capacity log of host events; see the module docstring."""

    def __init__(self, capacity=1024):
        self.times = np.full(capacity, 0.0)
        self.kinds = np.full(capacity, 0, np.int8)
        self.n = 0
        self.dropped = 0

    def add(self, seconds, kind):
        """Log ``kind`` (one of KINDS) at stream time ``seconds``."""
        k = KINDS.index(kind)
        if self.n < len(self.times):
            self.times[self.n] = seconds
            self.kinds[self.n] = k
            self.n += 1
        else:
            self.dropped += 1

    def as_list(self):
        """[[seconds, kind], ...] in the order they happened (JSON-ready)."""
        return [[round(float(t), 3), KINDS[k]] for t, k in
                zip(self.times[:self.n], self.kinds[:self.n])]


def summary(events, most=5):
    """One line for people: 'output underflow at 12.34 s, late at 12.40 s,
    ... (+3 more)', or '' when nothing happened."""
    if not events:
        return ""
    text = ", ".join(f"{kind.replace('_', ' ')} at {t:.2f} s" for t, kind in events[:most])
    more = len(events) - most
    return text + (f" (+{more} more)" if more > 0 else "")
