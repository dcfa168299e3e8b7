"""Where outputs go: their names, the guard that keeps inputs from being
overwritten, and one atomic temporary-file sink under every file rtdeclip
writes (WAV outputs, live recordings, the float32 scratch of the PCM path,
JSON reports).

    >>> output_path("/music/song.mp3")
    '/music/Declipped_song.wav'
    >>> with AtomicWav("out.wav", 44100, 2, "float32") as w:   # doctest: +SKIP
    ...     w.write(block)
    # renamed into place on success; removed on any error or interrupt

A sink is written under a hidden name in the target's folder (so the final
rename is atomic: same file system) and is either committed whole or
removed: no partial output is ever seen under the final name.
"""
import os
import struct
import tempfile

import numpy as np

from rtdeclip.errors import FileError, ParameterError

FORMATS = ("float32", "pcm16", "pcm24")
OUTPUT_PREFIX = "Declipped_"


# -- names -------------------------------------------------------------------------
def output_path(input, output=None, many=False):
    """Where the declipped ``input`` goes: ``output`` itself (a file name),
    ``Declipped_<name>.wav`` inside ``output`` when it is a folder, or beside
    the input when it is None.  With ``many`` inputs ``output`` must be a
    folder."""
    name = OUTPUT_PREFIX + os.path.splitext(os.path.basename(input))[0] + ".wav"
    if output is None:
        return os.path.join(os.path.dirname(os.path.abspath(input)), name)
    if os.path.isdir(output):
        return os.path.join(output, name)
    if many:
        raise ParameterError(f"{output}: with several inputs the output must be an existing folder")
    return output


def refuse_overwrite(output, *inputs):
    """FileError when ``output`` is (a link to) one of the ``inputs`` (None
    entries are skipped): an input is never overwritten."""
    if not os.path.exists(output):
        return
    for other in inputs:
        if other and os.path.exists(other) and os.path.samefile(output, other):
            raise FileError(f"{output}: refusing to overwrite an input")


def check_output(path, what="output"):
    """An output path, checked before any work: a WAV file (named .wav, or
    without extension) in an existing, writable folder, not a folder."""
    path = str(path)
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        if os.path.isdir(path):
            raise FileError(f"{path}: a folder, not a {what} file")
        raise FileError(f"{path}: {what} folder does not exist" if not os.path.exists(
            path.rstrip("/" + os.sep)) else f"{path}: not a folder (a file of that name exists)")
    ext = os.path.splitext(path)[1].lower()
    if ext not in ("", ".wav", ".wave"):
        raise ParameterError(f"{path}: the {what} is a WAV file; name it .wav, not {ext}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileError(f"{path}: {what} folder does not exist")
    if not os.access(folder, os.W_OK):
        raise FileError(f"{path}: cannot write in {folder}")
    return path


# -- the one temporary-file sink -----------------------------------------------------
class AtomicFile:
    """A file written under a hidden temporary name beside ``path``:
    ``commit()`` (or leaving a ``with`` block without error) syncs it and
    renames it into place as a normal 0644 file; ``abort()`` (or any error,
    Ctrl-C included) removes it.  Both are idempotent.  ``what`` names the
    file in error messages ("output", "report")."""

    def __init__(self, path, suffix, mode="wb", what="output"):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        if str(path).endswith(("/", os.sep)) or os.path.isdir(path):
            raise FileError(f"{path}: a folder, not a {what} file")
        if not os.path.isdir(folder):
            raise FileError(f"{path}: {what} folder does not exist")
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".rtdeclip-", suffix=suffix, dir=folder)
        except OSError as e:
            raise FileError(f"{path}: cannot write to {folder} ({e.strerror})") from None
        self.f = os.fdopen(fd, mode)

    def _before_commit(self):
        """Last writes before the file is closed (a header's final sizes)."""

    def commit(self):
        if self.f is None:
            return
        self._before_commit()
        self.f.flush()
        os.fsync(self.f.fileno())
        os.fchmod(self.f.fileno(), 0o644)  # mkstemp makes 0600; an output is a normal file
        self.f.close()
        self.f = None
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:   # e.g. a folder of that name appeared: no stray temporary
            os.unlink(self.tmp)
            raise FileError(f"{self.path}: cannot write ({e.strerror})") from None

    def abort(self):
        if self.f is None:
            return
        try:
            self.f.close()
        finally:
            self.f = None
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


class AtomicWav(AtomicFile):
    """A WAV output on the atomic sink.  Formats: float32 (IEEE float),
    pcm16, pcm24.  Samples are clipped to full scale only for PCM, after the
    caller's gain."""

    def __init__(self, path, sample_rate, channels, fmt="float32"):
        if fmt not in FORMATS:
            raise ParameterError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.sample_rate, self.channels, self.fmt = int(sample_rate), channels, fmt
        self.width = {"float32": 4, "pcm16": 2, "pcm24": 3}[fmt]
        super().__init__(path, ".wav.part")
        self.frames = 0
        self.f.write(self._header(0))

    def _header(self, frames):
        ch, width = self.channels, self.width
        data_bytes = frames * ch * width
        extensible = ch > 2 or self.fmt == "pcm24"
        tag = 3 if self.fmt == "float32" else 1
        fmt_body = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, ch, self.sample_rate,
                               self.sample_rate * ch * width, ch * width, 8 * width)
        if extensible:
            guid = struct.pack("<IHH8s", tag, 0x0000, 0x0010, b"\x80\x00\x00\xaa\x00\x38\x9b\x71")
            mask = (1 << ch) - 1 if ch <= 18 else 0
            fmt_body += struct.pack("<HHI", 22, 8 * width, mask) + guid
        chunks = b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
        if self.fmt == "float32":
            chunks += b"fact" + struct.pack("<II", 4, frames)
        riff_size = 4 + len(chunks) + 8 + data_bytes
        if riff_size > 0xFFFFFFFF:
            raise FileError(f"{self.path}: output over 4 GiB does not fit in a WAV file")
        return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + chunks + b"data" + \
            struct.pack("<I", data_bytes)

    def write(self, block, gain=1.0):
        if self.fmt == "float32" and gain == 1.0:
            # float32 straight through (live recordings, many small blocks)
            a = np.ascontiguousarray(block, dtype="<f4").reshape(-1, self.channels)
            a.tofile(self.f)
            self.frames += len(a)
            return
        a = np.asarray(block, dtype=np.float64).reshape(-1, self.channels)
        if gain != 1.0:
            a = a * gain
        if self.fmt == "float32":
            data = a.astype("<f4").tobytes()
        elif self.fmt == "pcm16":
            data = np.clip(np.round(a * 32768.0), -32768, 32767).astype("<i2").tobytes()
        else:
            v = np.clip(np.round(a * 8388608.0), -8388608, 8388607).astype("<i4")
            data = v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        self.f.write(data)
        self.frames += len(a)

    def _before_commit(self):
        self.f.seek(0)
        self.f.write(self._header(self.frames))


class Float32Scratch(AtomicFile):
    """Interleaved float32 samples on the atomic sink that are read back
    (``chunks``) instead of committed: the PCM path's first pass, which
    must see the restored peaks before it can choose a gain.  Leaving the
    ``with`` block keeps it for reading (removed on error); ``abort()``
    removes it."""

    def __init__(self, output, channels):
        super().__init__(output, ".f32.part")
        self.channels = channels

    def write(self, block):
        np.asarray(block, dtype="<f4").tofile(self.f)

    def chunks(self, size):
        # plain reads, not a memmap: mapped pages of a long file would count
        # as resident memory
        self.f.flush()
        with open(self.tmp, "rb") as f:
            while True:
                a = np.fromfile(f, dtype="<f4", count=size * self.channels)
                if not len(a):
                    return
                yield a.astype(np.float64).reshape(-1, self.channels)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        return False


def read_wav(path):
    """(samples float32 (frames, channels), rate) of a float32 WAV written
    by ``AtomicWav`` (tests and scripts; ``AudioSource`` reads anything)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise FileError(f"{path}: not a WAV file")
    pos, channels, rate = 12, None, None
    while pos + 8 <= len(raw):
        tag, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        if tag == b"fmt ":
            tagfmt, channels, rate = struct.unpack("<HHI", raw[pos + 8:pos + 16])
            if tagfmt == 0xFFFE:   # extensible: the format tag opens the GUID
                tagfmt = struct.unpack("<H", raw[pos + 32:pos + 34])[0]
            if tagfmt != 3:   # the call's mistake, not the file's: AudioSource reads it
                raise ParameterError(f"{path}: not a float32 WAV (read_wav reads only those)")
        elif tag == b"data":
            data = np.frombuffer(raw[pos + 8:pos + 8 + size], "<f4")
            return data.reshape(-1, channels), rate
        pos += 8 + size + (size & 1)
    raise FileError(f"{path}: no data chunk")
