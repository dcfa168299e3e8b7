"""The level an MP3 encoder took off its input, read from the file's header.

LAME (ffmpeg's libmp3lame is LAME) scales its input before a constant or
average bit rate encode: "ABR seems to have big problems with clipping,
especially at low bitrates, so we compensate for that here by using a
scale value depending on bitrate" (LAME's presets.c).  By 0.95 up to
160 kb/s, 0.97 at 192, 0.98 at 224, not from 256; VBR (``lame -V``,
ffmpeg's ``-q:a``) is not scaled.  Measured with LAME 3.100, sines and
music through ``ffmpeg -c:a libmp3lame -b:a 128k`` and ``lame -b 128``:
-0.446 dB to the last digit at 64-160k, -0.265 at 192k, -0.175 at 224k.

So a decoded 128 kb/s MP3 lies 0.45 dB under the recording that was
encoded, its clipped rails and every reliable sample with it.  A declipper
that keeps the reliable samples keeps that error: against the clean
recording the output's SDR cannot pass 26 dB.  The file pipeline restores
the level of what it declips (``FileJob.restore_level``).

What the header says, in the Xing/Info frame (the file's first frame):

- a LAME tag ("LAME3.90" and later): its VBR method; CBR (1, 8) at the
  bit rate of the audio frames, ABR (2, 9) at the tag's ABR bit rate
- ffmpeg's own tag ("Lavc..."; its muxer writes it whatever the encoder):
  "Info" is a constant bit rate, taken for libmp3lame, ffmpeg's MP3
  encoder (libshine, the other one, is rare); "Xing" (VBR, or ABR with
  ``-abr 1``, which the tag does not tell apart) is left alone
- anything else (no tag, another encoder): nothing is known, no scale.

A scale applied wrongly costs as much as one missed (a 320 kb/s file
raised by 1/0.95 loses 9 dB of SDR), so only these cases count.
"""
from dataclasses import dataclass

# LAME's abr_switch_map: (kbps, scale); the nearest row applies
LAME_SCALE = ((8, 0.95), (16, 0.95), (24, 0.95), (32, 0.95), (40, 0.95), (48, 0.95),
              (56, 0.95), (64, 0.95), (80, 0.95), (96, 0.95), (112, 0.95), (128, 0.95),
              (160, 0.95), (192, 0.97), (224, 0.98), (256, 1.0), (320, 1.0))
# Layer III bit rates (kb/s) by index: MPEG-1, MPEG-2 and 2.5
_KBPS = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 25: (11025, 12000, 8000)}
HEAD = 1 << 16   # bytes read after an ID3v2 tag: the tag frame and a few audio frames


@dataclass(frozen=True)
class EncoderLevel:
    """What the encoder did to the level: ``scale`` (< 1: the decoded file
    lies that much under its input), with who and how (for the report)."""
    encoder: str    # "LAME3.100", "Lavc59.37 (libmp3lame)"
    mode: str       # "CBR" | "ABR"
    kbps: int
    scale: float

    @property
    def restore(self):
        """The factor that brings the decoded level back to the input's."""
        return 1.0 / self.scale


def lame_scale(kbps):
    """LAME's input scale at a bit rate (its nearest row)."""
    return min(LAME_SCALE, key=lambda row: abs(row[0] - kbps))[1]


def _frame(b, i):
    """A Layer III frame header at ``b[i:]``: (kbps, length in bytes,
    offset of the Xing/Info tag in the frame), or None."""
    if i + 4 > len(b) or b[i] != 0xFF or (b[i + 1] & 0xE0) != 0xE0:
        return None
    version = {3: 1, 2: 2, 0: 25}.get((b[i + 1] >> 3) & 3)
    layer, bri, sri = (b[i + 1] >> 1) & 3, b[i + 2] >> 4, (b[i + 2] >> 2) & 3
    if version is None or layer != 1 or bri in (0, 15) or sri == 3:
        return None
    kbps = _KBPS[1 if version == 1 else 2][bri]
    rate = _RATES[version][sri]
    pad = (b[i + 2] >> 1) & 1
    length = (144 if version == 1 else 72) * kbps * 1000 // rate + pad
    mono = (b[i + 3] >> 6) == 3
    side = (17 if mono else 32) if version == 1 else (9 if mono else 17)
    crc = 0 if b[i + 1] & 1 else 2
    return kbps, length, 4 + crc + side


def _skip_id3(b):
    if len(b) >= 10 and b[:3] == b"ID3":
        size = (b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]
        return 10 + size + (10 if b[5] & 0x10 else 0)
    return 0


def _audio_kbps(b, i, count=3):
    """The bit rate of the ``count`` audio frames from ``b[i:]`` if they
    all share it (a constant bit rate), else None."""
    rates = set()
    for _ in range(count):
        f = _frame(b, i)
        if f is None:
            return None
        rates.add(f[0])
        i += f[1]
    return rates.pop() if len(rates) == 1 else None


def read(path):
    """The encoder's level change in an MP3 file (``EncoderLevel``), or
    None when the header tells none (or cannot be read)."""
    try:
        with open(path, "rb") as f:
            head = f.read(10)
            start = _skip_id3(head)
            f.seek(start)
            b = f.read(HEAD)
    except OSError:
        return None
    return parse(b)


def parse(b):
    """``read`` on the bytes after the ID3v2 tag."""
    i = next((k for k in range(min(len(b) - 4, 4096)) if _frame(b, k)), None)
    if i is None:
        return None
    kbps, length, at = _frame(b, i)
    tag = b[i + at:i + at + 4]
    if tag not in (b"Info", b"Xing") or i + at + 8 > len(b):
        return None
    flags = int.from_bytes(b[i + at + 4:i + at + 8], "big")
    o = i + at + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) \
        + 4 * bool(flags & 8)
    if o + 21 > len(b):
        return None
    name = b[o:o + 9].split(b"\0")[0].decode("latin-1").strip()
    audio = _audio_kbps(b, i + length)
    if name.startswith("LAME") and _lame_version(name) >= (3, 90):
        method = b[o + 9] & 0x0F
        if method in (1, 8) and audio:
            return EncoderLevel(name, "CBR", audio, lame_scale(audio))
        if method in (2, 9) and b[o + 20]:
            return EncoderLevel(name, "ABR", b[o + 20], lame_scale(b[o + 20]))
        return None
    if name.startswith("Lavc") and tag == b"Info" and audio:
        return EncoderLevel(name + " (libmp3lame)", "CBR", audio, lame_scale(audio))
    return None


def _lame_version(name):
    """(3, 100) from "LAME3.100", (3, 99) from "LAME3.99r"; (0, 0) if unknown."""
    digits = name[4:].split(".")
    try:
        return int(digits[0]), int("".join(c for c in digits[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)
