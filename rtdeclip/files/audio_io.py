"""Decoding any audio file in chunks (PyAV); the WAV sinks are in
``rtdeclip.files.sinks`` (re-exported here for older imports).

    >>> src = AudioSource("song.mp3")                      # doctest: +SKIP
    >>> src.sample_rate, src.channels                      # doctest: +SKIP
    (44100, 2)
    >>> for chunk in src.chunks(65536): ...                # doctest: +SKIP

Decoding goes through ffmpeg's libraries, so codec delay and padding are
removed as the container describes them (MP3 gapless headers, MP4 edit
lists, Opus pre-skip).
"""
import os
import re
import struct

import numpy as np

from rtdeclip.core.dc_restore import DcRestorer
from rtdeclip.core.detect import codec_family
from rtdeclip.errors import FileError
from rtdeclip.files import encoder_level
from rtdeclip.files.source_rate import opus_input_rate
from rtdeclip.files.sinks import FORMATS, AtomicWav, read_wav  # noqa: F401 -- older imports

SUPPORTED = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".mp4", ".aac", ".aif", ".aiff")
# decoded samples past the declared length that are taken as encoder padding
PADDING_SLACK = 4096
# a stream this much shorter than declared is taken for truncated (a duration
# estimated from the bit rate may be off by a little)
TRUNCATED_SHARE = 0.01

# integer sample formats -> full scale
_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


def _av():
    import av  # imported late: only the file path needs it
    return av


class AudioSource:
    """The first audio stream of a file, decoded to float64 chunks.
    ``encoder_level``: for an MP3 that LAME scaled before encoding it, what
    it took off (``files.encoder_level.EncoderLevel``; a script that
    declips the decoded file multiplies by its ``restore``), else None.
    ``dc_restore``: None, or per channel whether ``chunks`` undoes the Opus
    encoder's DC reject (``core.dc_restore``; the pipeline sets it for an
    Opus file, ``restore_dc``)."""

    def __init__(self, path):
        self.path = path
        self.dc_restore = None
        if not os.path.exists(path):
            raise FileError(f"{path}: no such file")
        if os.path.isdir(path):
            raise FileError(f"{path}: is a directory, not an audio file")
        if os.path.getsize(path) == 0:
            raise FileError(f"{path}: empty file")
        av = _av()
        try:
            with av.open(path) as c:
                if not c.streams.audio:
                    raise FileError(f"{path}: no audio stream")
                s = c.streams.audio[0]
                if s.codec_context is None or s.codec_context.name is None:
                    raise FileError(f"{path}: unsupported audio codec")
                self.codec = s.codec_context.name
                self.sample_rate = int(s.codec_context.sample_rate or s.rate or 0)
                self.channels = int(s.codec_context.channels)
                self.declared_frames = _declared_frames(s, c, self.sample_rate)
                # the rate the encoder was given (Opus: OpusHead), else None
                self.source_rate = opus_input_rate(s.codec_context)
                if c.format.name == "wav":
                    # ffmpeg trusts the file size over a WAV header that
                    # promises more: the header tells a truncated file
                    self.declared_frames = _wav_header_frames(path) or self.declared_frames
                if "mp4" in c.format.name.split(","):
                    # an MP4 edit list is stored in milliseconds; the packets'
                    # own timestamps and durations give the exact end
                    self.declared_frames = _packet_end(c, s, self.sample_rate) \
                        or self.declared_frames
                self.sample_format = s.codec_context.format.name if s.codec_context.format else ""
                # what an MP3 encoder took off the level (LAME's CBR/ABR scale)
                self.encoder_level = encoder_level.read(path) \
                    if c.format.name == "mp3" and self.codec.startswith("mp3") else None
        except FileError:
            raise
        except Exception as e:  # av.error.* carry ffmpeg's reason
            raise FileError(f"{path}: not an audio file that can be read ({_reason(e)})") from None
        if not 1 <= self.channels <= 1024:
            raise FileError(f"{path}: unsupported channel count {self.channels}")
        if not 8000 <= self.sample_rate <= 192000:
            raise FileError(f"{path}: sample rate {self.sample_rate} Hz is outside 8 kHz to 192 kHz")

    @property
    def lsb(self):
        """Quantisation step of the stored samples (0 for float and lossy
        codecs): the clip detector's finest meaningful resolution."""
        if self.codec.startswith(("pcm_s16", "pcm_u8", "pcm_s24", "pcm_s32", "flac", "alac")):
            bits = {"u8": 8, "s16": 16, "s32": 32}.get(self.sample_format.rstrip("p"), 0)
            if self.codec.startswith("pcm_s24") or (self.codec in ("flac", "alac") and bits == 32):
                bits = 24  # 24-bit samples travel in 32-bit words
            return 2.0 ** (1 - bits) if bits else 0.0
        return 0.0

    def _frames(self):
        """Decoded frames, cut to the length the container declares: the
        decoder's own delay is already removed (MP3 gapless header, MP4 edit
        list, Opus pre-skip), the encoder's padding of the last frame is not.
        A declared length the stream overruns by more than padding can
        explain (a duration estimated from the bit rate) is ignored."""
        av = _av()
        declared, held, done = self.declared_frames, [], 0
        try:
            with av.open(self.path) as c:
                s = c.streams.audio[0]
                slack = PADDING_SLACK + 2 * (s.codec_context.frame_size or 0)
                for frame in c.decode(s):
                    a = self._to_float(frame)
                    if declared is None:
                        yield a
                        continue
                    keep = max(0, min(len(a), declared - done))
                    if keep:
                        yield a[:keep]
                    done += len(a)
                    if keep < len(a):
                        held.append(a[keep:])
                        if done - declared > slack:   # not padding: the declaration was wrong
                            yield from held
                            held, declared = [], None
            if declared is not None and done < declared - max(slack, TRUNCATED_SHARE * declared):
                raise FileError(
                    f"{self.path}: truncated: {done} of the {declared} samples the file declares "
                    f"({done / self.sample_rate:.2f} of {declared / self.sample_rate:.2f} s) decode")
        except FileError:
            raise
        except Exception as e:
            raise FileError(f"{self.path}: corrupt or truncated audio ({_reason(e)})") from None

    def _to_float(self, frame):
        a = frame.to_ndarray()
        name = frame.format.name
        planar = frame.format.is_planar
        base = name.rstrip("p")
        if planar:
            a = a.T                                   # (channels, n) -> (n, channels)
        else:
            a = a.reshape(-1, self.channels)          # interleaved
        if base in _SCALE:
            a = a.astype(np.float64)
            if base == "u8":
                a -= 128.0
            a /= _SCALE[base]
        else:
            a = a.astype(np.float64, copy=False)
        if a.shape[1] != self.channels:
            raise FileError(f"{self.path}: channel count changes inside the stream")
        return a

    def chunks(self, size, as_decoded=False):
        """Yield (frames, channels) float64 arrays of exactly `size` frames
        (the last one shorter); raises FileError when the stream is empty.
        With ``dc_restore`` set, its channels come with the Opus encoder's
        DC reject undone, unless ``as_decoded``."""
        mask = None if as_decoded or self.dc_restore is None else np.asarray(self.dc_restore)
        if mask is None or not mask.any():
            yield from self._chunks(size)
            return
        undo = DcRestorer(self.channels, self.sample_rate)
        for a in self._chunks(size):
            yield np.where(mask, undo.push(a), a)

    def restore_dc(self):
        """Sets ``dc_restore`` for an Opus file from one decoding pass: every
        channel whose guard holds (``core.dc_restore``: one that trips was
        not DC-rejected, ffmpeg's own Opus encoder).  Returns it (None for
        another codec)."""
        if codec_family(self.codec) != "opus":
            return None
        self.dc_restore = None
        undo = DcRestorer(self.channels, self.sample_rate)
        for a in self._chunks(1 << 16):
            undo.push(a)
        self.dc_restore = [not t for t in undo.tripped]
        return self.dc_restore

    def _chunks(self, size):
        buf, have, total = [], 0, 0
        for a in self._frames():
            buf.append(a)
            have += len(a)
            while have >= size:
                cat = np.concatenate(buf) if len(buf) > 1 else buf[0]
                yield cat[:size]
                total += size
                rest = cat[size:]
                buf, have = ([rest] if len(rest) else []), len(rest)
        if have:
            total += have
            yield np.concatenate(buf)
        if total == 0:
            raise FileError(f"{self.path}: no audio samples (zero-length stream)")

    def read_all(self):
        return np.concatenate(list(self.chunks(1 << 18)))


def _declared_frames(stream, container, sample_rate):
    """Frames the container says the stream holds (None when it does not
    say): encoders pad the last frame, so decoding yields a little more."""
    dur = None
    if stream.duration and stream.time_base:
        dur = float(stream.duration * stream.time_base)
    elif container.duration:
        dur = container.duration / 1e6   # AV_TIME_BASE
    if not dur or dur <= 0:
        return None
    return int(round(dur * sample_rate))


def _wav_header_frames(path):
    """Frames the WAV header's data chunk announces, or None (no plain RIFF
    header, or a streaming placeholder size)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            align = None
            while True:
                hdr = f.read(8)
                if len(hdr) < 8:
                    return None
                cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
                if cid == b"fmt ":
                    body = f.read(size)
                    align = struct.unpack("<H", body[12:14])[0] if len(body) >= 14 else None
                    f.seek(size & 1, 1)
                elif cid == b"data":
                    if not align or size in (0, 0xFFFFFFFF):
                        return None
                    return size // align
                else:
                    f.seek(size + (size & 1), 1)
    except OSError:
        return None


def _packet_end(container, stream, sample_rate):
    """Frames up to the end of the last packet (timestamps from 0), or None."""
    end = None
    for p in container.demux(stream):
        if p.pts is not None and p.duration:
            e = p.pts + p.duration
            end = e if end is None else max(end, e)
    if end is None or not stream.time_base:
        return None
    return int(round(float((end - (stream.start_time or 0)) * stream.time_base) * sample_rate))


def _reason(e):
    """ffmpeg's reason without errno and file name: 'Invalid data found when
    processing input'."""
    msg = getattr(e, "strerror", None) or (str(e).strip().splitlines() or [""])[0]
    msg = re.sub(r"^\[Errno -?\d+\]\s*", "", msg or type(e).__name__)
    return msg[:200]


__all__ = ["AudioSource", "SUPPORTED", "FORMATS", "AtomicWav", "read_wav"]
