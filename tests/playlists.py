"""Playlists for the tests: tracks of music each clipped at its own level,
as a user's file would hold them (16-bit WAV, or through the ffmpeg command
line to MP3)."""
import subprocess

import numpy as np

import rtdeclip
from rtdeclip.examples import music
from rtdeclip.files.audio_io import AudioSource
from audio_files import write_wav

SR = 44100
TRACKS = ((3, 0.30), (5, 0.60), (7, 0.15))   # (seed, clip level): louder, then quieter
GAP = SR // 4


def tracks(seconds=4.0):
    out = []
    for seed, level in TRACKS:
        x = music(SR, seconds=seconds, channels=2, seed=seed)
        out.append((x * (0.95 / np.max(np.abs(x))), level))
    return out


def playlist(tr, gap=GAP):
    """The tracks clipped at their levels, one after the other with ``gap``
    samples of silence after each."""
    silence = np.zeros((gap, 2))
    return np.concatenate([p for x, level in tr for p in (np.clip(x, -level, level), silence)])


def encoded(path, x, codec):
    """``x`` as a user's file: 16-bit WAV, or that WAV through the ffmpeg
    command line to MP3 128k (``codec`` "mp3"), Vorbis q4 ("vorbis") or
    Opus 96k ("opus", which decodes at 48 kHz); returns its path."""
    wav = write_wav(str(path) + ".wav", x, SR)
    if codec is None:
        return wav
    ext, args = {"mp3": (".mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
                 "vorbis": (".ogg", ["-c:a", "libvorbis", "-q:a", "4"]),
                 "opus": (".opus", ["-c:a", "libopus", "-b:a", "96k"])}[codec]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav] + args
                   + [str(path) + ext], check=True)
    return str(path) + ext


def decoded(path, x, codec):
    """``x`` as a user's file would give it (``encoded``), decoded by
    rtdeclip's decoder."""
    return AudioSource(encoded(path, x, codec)).read_all()


def gain(clean, y, out):
    return float(np.mean(rtdeclip.sdr(clean, out)) - np.mean(rtdeclip.sdr(clean, y)))
