"""Test audio written in code: WAV through our writer, compressed formats
through PyAV's real encoders."""
from fractions import Fraction

import numpy as np

from rtdeclip.files.audio_io import AtomicWav
from rtdeclip.examples import music


def signal(sr=44100, seconds=1.5, channels=2, level=0.3):
    clean = music(sr, seconds, channels)
    if channels == 1:
        clean = clean[:, None]
    return clean, np.clip(clean, -level, level)


def write_wav(path, x, sr, fmt="pcm16"):
    with AtomicWav(str(path), sr, x.shape[1], fmt) as w:
        w.write(x)
    return str(path)


def encode(path, x, sr, codec):
    import av
    layout = {1: "mono", 2: "stereo"}[x.shape[1]]
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=sr, options={"strict": "experimental"})
        s.layout = layout
        fmt = s.codec_context.codec.audio_formats[0].name
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T.astype(np.float32)),
                                           format="fltp", layout=layout)
        frame.sample_rate = sr
        # timestamps from 0 let the encoder mark its priming samples (MP4
        # edit list, Ogg pre-skip) as real-world files have them
        frame.pts, frame.time_base = 0, Fraction(1, sr)
        for f in av.AudioResampler(format=fmt, layout=layout, rate=sr).resample(frame):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return str(path)
