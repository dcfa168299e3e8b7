"""Minimal float32 WAV writing for live recordings, atomic: samples go to
a hidden temporary beside the target, ``commit()`` fixes the header and
renames it into place.  A recording cut short (device lost, Ctrl-C) is
committed with what it has, never left half-named.

    w = WavWriter("take.wav", 48000, channels=2)
    w.write(block)          # float32 (frames, channels)
    w.commit()

``read_wav`` reads such files back (tests, scripts).
"""
import os
import struct
import tempfile

import numpy as np

from ..errors import UserError


def _header(rate, channels, frames):
    data = frames * channels * 4
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 4, channels * 4, 32)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"fact" + struct.pack("<II", 4, frames) + b"data" + struct.pack("<I", data))
    return b"RIFF" + struct.pack("<I", len(body) + data) + body


class WavWriter:
    """IEEE-float WAV written through a temporary file."""

    def __init__(self, path, rate, channels):
        self.path, self.rate, self.channels = path, int(rate), int(channels)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UserError(f"{path}: folder does not exist")
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".rtdeclip-", suffix=".wav.part", dir=folder)
        except OSError as e:
            raise UserError(f"{path}: cannot write to {folder} ({e.strerror})") from None
        self.f = os.fdopen(fd, "wb")
        self.f.write(_header(self.rate, self.channels, 0))
        self.frames = 0

    def write(self, block):
        np.ascontiguousarray(block, dtype="<f4").tofile(self.f)
        self.frames += len(block)

    def commit(self):
        """Fix the header and rename into place (also for a short take)."""
        if self.f is None:
            return
        if self.frames * self.channels * 4 > 0xFFFFFFFF - 64:
            raise UserError(f"{self.path}: recording exceeds the 4 GB WAV limit")
        self.f.seek(0)
        self.f.write(_header(self.rate, self.channels, self.frames))
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        self.f = None
        os.replace(self.tmp, self.path)

    def abort(self):
        if self.f is not None:
            self.f.close()
            self.f = None
            os.unlink(self.tmp)


def read_wav(path):
    """(samples float32 (frames, channels), rate) of a float32 WAV written here."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file")
    pos, channels, rate = 12, None, None
    while pos + 8 <= len(raw):
        tag, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        if tag == b"fmt ":
            tagfmt, channels, rate = struct.unpack("<HHI", raw[pos + 8:pos + 16])
            if tagfmt != 3:
                raise ValueError(f"{path}: not a float32 WAV")
        elif tag == b"data":
            data = np.frombuffer(raw[pos + 8:pos + 8 + size], "<f4")
            return data.reshape(-1, channels), rate
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")
