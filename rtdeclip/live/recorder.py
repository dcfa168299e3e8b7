"""What the live host keeps of its two streams: WAV files written off the
worker thread (``WavRecorder``, ``--record``), and a stretch kept in
memory (``MemoryRecorder``, the demo's SDR).  The worker only copies into
preallocated memory; neither waits on a disk or allocates per block."""
import os
import threading
import time

import numpy as np

from rtdeclip.files.sinks import AtomicWav
from rtdeclip.live.buffers import pow2_at_least

# seconds of both streams the WAV recorder's ring buffer holds before it
# drops blocks (the disk stalled that long)
RING_SECONDS = 4


def input_path(path):
    """Where ``--record out.wav`` puts the input: ``out.input.wav``."""
    root, ext = os.path.splitext(path)
    return f"{root}.input{ext or '.wav'}"


class WavRecorder:
    """The input and the output, each into its own WAV (``path`` gets what
    was played, ``input_path(path)`` what came in), written by a thread of
    its own from a lock-free ring buffer so the worker never waits on the
    disk.  ``close()`` commits what was recorded, also after the device
    went away."""

    def __init__(self, path, sample_rate, channels, block, rtmixer):
        self.wav_out = AtomicWav(path, sample_rate, channels, "float32")
        self.wav_in = AtomicWav(input_path(path), sample_rate, channels, "float32")
        self.ch = channels
        # one frame: the input's channels, then the output's (float32 each)
        self.rb = rtmixer.RingBuffer(8 * channels, pow2_at_least(sample_rate * RING_SECONDS))
        self.tmp = np.zeros((block, 2 * channels), np.float32)
        self.dropped = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="rtdeclip-recorder", daemon=True)
        self._thread.start()

    def push(self, inbuf, outbuf):
        self.tmp[:, :self.ch] = inbuf
        self.tmp[:, self.ch:] = outbuf
        if self.rb.write_available >= len(self.tmp):
            self.rb.write(self.tmp)
        else:  # the disk is too slow: drop rather than make the worker wait
            self.dropped += len(self.tmp)

    def _drain(self):
        while not self._done.is_set() or self.rb.read_available:
            n = self.rb.read_available
            if n == 0:
                time.sleep(0.05)
                continue
            data = np.frombuffer(self.rb.read(n), np.float32).reshape(n, -1)
            self.wav_in.write(data[:, :self.ch])
            self.wav_out.write(data[:, self.ch:])

    def close(self):
        self._done.set()
        self._thread.join(10)
        self.wav_out.commit()
        self.wav_in.commit()


class MemoryRecorder:
    """The first ``frames`` of both streams, in arrays allocated (and
    touched: np.full, not np.zeros, so the resident size does not grow
    while streaming) up front."""

    def __init__(self, frames, channels):
        self._in = np.full((frames, channels), 0.0, np.float32)
        self._out = np.full((frames, channels), 0.0, np.float32)
        self._n = 0

    def push(self, inbuf, outbuf):
        n = len(inbuf)
        if self._n + n <= len(self._in):
            self._in[self._n:self._n + n] = inbuf
            self._out[self._n:self._n + n] = outbuf
            self._n += n

    def recording(self):
        """(input, output) so far, float32 (frames, channels) copies."""
        return self._in[:self._n].copy(), self._out[:self._n].copy()
