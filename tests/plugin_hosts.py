"""Helpers for the plug-in tests: clipped 16-bit WAVs (every host converts
16-bit PCM to float exactly, so the plug-in sees the very samples the
Python reference sees), the Python Declipper stream on them, alignment
of a host's output against it, and a ctypes LADSPA host.

All plug-in paths come from the installed package (rtdeclip.plugins)."""
import ctypes
import shutil
import subprocess

import numpy as np

import rtdeclip
from rtdeclip import plugins
from rtdeclip.files.audio_io import AtomicWav, read_wav

TOL = 1e-4


def clipped_signal(rate, channels, seconds, clip=0.3, seed=1):
    """Two tones and noise clipped at +clip / -1.1 clip, on the 16-bit grid,
    float32; restored peaks stay below full scale (sox clips there)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = np.stack([0.45 * np.sin(2 * np.pi * 220 * t + c) + 0.25 * np.sin(2 * np.pi * 1375 * t + 2 * c)
                  + 0.03 * rng.standard_normal(n) for c in range(channels)], 1)
    x = np.clip(x, -1.1 * clip, clip)
    return (np.round(x * 32768) / 32768).astype(np.float32)


def write_pcm16(path, x, rate):
    with AtomicWav(str(path), rate, x.shape[1], fmt="pcm16") as w:
        w.write(x)


def read_float_wav(path):
    return read_wav(str(path))


def python_stream(x, rate, preset="average", threshold="auto", source_rate=None, hedge=0,
                  codec=None, dc_restore=None, second_pass=False):
    """Declipper(rate, channels, preset, threshold, source_rate, hedge, codec) on x then
    flushed: the stream delayed by the core latency, and that latency.
    Planned with FFTW_ESTIMATE, as the plug-in plans (deterministic: MEASURE
    plans are chosen by timing and round differently from process to
    process); by default without the second pass a lossy codec's name
    brings to a Declipper, which only the lossy variants run
    (``second_pass=None``: the Declipper's own choice; docs/plugins.md)."""
    d = rtdeclip.Declipper(rate, x.shape[1], preset=preset, threshold=threshold, plan="estimate",
                           source_rate=source_rate, hedge=hedge, codec=codec,
                           second_pass=second_pass, dc_restore=dc_restore)
    y = np.concatenate([d.process(np.ascontiguousarray(x)), d.flush(np.float32)])
    return y, d.latency_samples


def mp3_round_trip(x, rate, stem, bitrate="128k"):
    """x (float32 on the 16-bit grid) as a user's MP3 of it: written as a
    16-bit WAV, encoded with the ffmpeg command line (libmp3lame) and
    decoded back by ffmpeg onto the 16-bit grid; as many frames as x (the decoder
    trims LAME's delay and padding)."""
    wav, mp3, back = (f"{stem}.{e}" for e in ("src.wav", "mp3", "dec.wav"))
    write_pcm16(wav, x, rate)
    run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav, "-c:a", "libmp3lame",
         "-b:a", bitrate, mp3])
    run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mp3, "-c:a", "pcm_f32le", back])
    y, r = read_wav(back)
    y = np.clip(np.round(y * 32768), -32768, 32767) / 32768   # as a 16-bit decode would
    assert r == rate and y.shape[1] == x.shape[1], (r, y.shape)
    assert abs(len(y) - len(x)) <= 1152, (len(y), len(x))   # at most a frame's padding
    y = np.concatenate([y, np.zeros((max(len(x) - len(y), 0), y.shape[1]))])[:len(x)]
    return y.astype(np.float32)


def save_wisdom(path):
    """This process's FFTW wisdom (the plans the Python references used) to
    path, for the hosts (RTDECLIP_WISDOM): the plug-in then makes the same
    plans, so the same rounding.  (Declipper reads RTDECLIP_WISDOM once, at
    import, so setting it later would not reach the Python side.)"""
    from rtdeclip._core import lib
    assert lib.rtd_wisdom_save(str(path).encode())
    return str(path)


def applied_delay(y, ref_aligned, search):
    """The delay d (|d| <= search) at which y[d + k] best matches
    ref_aligned[k] (the declipped input with no delay), and the largest
    difference there over the samples both cover."""
    best = None
    for d in range(-search, search + 1):
        a0, b0 = max(d, 0), max(-d, 0)
        m = min(len(y) - a0, len(ref_aligned) - b0)
        if m <= 0:
            continue
        seg = slice(0, min(m, 4096))   # cheap first pass on a clipped stretch
        e = np.max(np.abs(y[a0:a0 + m][seg] - ref_aligned[b0:b0 + m][seg]))
        if best is None or e < best[1]:
            best = (d, e)
    d = best[0]
    a0, b0 = max(d, 0), max(-d, 0)
    m = min(len(y) - a0, len(ref_aligned) - b0)
    return d, float(np.max(np.abs(y[a0:a0 + m] - ref_aligned[b0:b0 + m]))), m


def need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        import pytest
        pytest.skip(f"{', '.join(missing)} not installed (scripts/apt.d/plugins.txt)")


def run(cmd, env=None, timeout=300):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


# ---- a ctypes LADSPA host ---------------------------------------------------

class _PortRangeHint(ctypes.Structure):
    _fields_ = [("HintDescriptor", ctypes.c_int), ("LowerBound", ctypes.c_float),
                ("UpperBound", ctypes.c_float)]


class _Descriptor(ctypes.Structure):
    pass


_Descriptor._fields_ = [
    ("UniqueID", ctypes.c_ulong), ("Label", ctypes.c_char_p), ("Properties", ctypes.c_int),
    ("Name", ctypes.c_char_p), ("Maker", ctypes.c_char_p), ("Copyright", ctypes.c_char_p),
    ("PortCount", ctypes.c_ulong), ("PortDescriptors", ctypes.POINTER(ctypes.c_int)),
    ("PortNames", ctypes.POINTER(ctypes.c_char_p)),
    ("PortRangeHints", ctypes.POINTER(_PortRangeHint)), ("ImplementationData", ctypes.c_void_p),
    ("instantiate", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(_Descriptor), ctypes.c_ulong)),
    ("connect_port", ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_ulong,
                                      ctypes.POINTER(ctypes.c_float))),
    ("activate", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ("run", ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_ulong)),
    ("run_adding", ctypes.c_void_p), ("set_run_adding_gain", ctypes.c_void_p),
    ("deactivate", ctypes.c_void_p),
    ("cleanup", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
]

# in port order; "hedge" and "codec" (added later) come after the meters
CONTROLS = ["preset", "clip_mode", "clip_pos_db", "clip_neg_db", "gain_db", "limiter",
            "ceiling_db", "enabled", "hedge", "codec"]
DEFAULTS = dict(preset=0, clip_mode=0, clip_pos_db=0, clip_neg_db=0, gain_db=0, limiter=0,
                ceiling_db=0, enabled=1, hedge=0, codec=0)
LOSSY_HEDGE = 2   # the lossy variants' hedge default (a Declipper's own)


LOWLATENCY_PRESET = 2   # the low-latency variants' one preset value


def descriptor_index(channels, lowlatency=False, voice=False, lossy=False):
    """ladspa_descriptor's index: 0 mono, 1 stereo, 2 / 3 their low-latency
    twins, 4 / 5 their voice twins, 6 / 7 their lossy twins
    (plugins.LADSPA_LABELS' order)."""
    return (channels - 1) + (2 if lowlatency else 4 if voice else 6 if lossy else 0)


def variant_of(name):
    """(channels, {"lowlatency": .., "voice": .., "lossy": ..}) of a
    variant name ("stereo_voice"): LadspaInstance's arguments."""
    return (1 if name.startswith("mono") else 2,
            {f: name.endswith("_" + f) for f in ("lowlatency", "voice", "lossy")})


def python_reference(x, rate, variant, preset=None, **kw):
    """python_stream as ``variant`` runs it with default controls (its
    preset, source rate; a lossy variant: codec "mp3", the second pass and
    the hedge a Declipper told it takes)."""
    lossy = plugins.CODEC[variant] is not None
    kw = dict(dict(codec=plugins.CODEC[variant], second_pass=None, hedge=LOSSY_HEDGE)
              if lossy else {}, **kw)
    return python_stream(x, rate, preset=preset or plugins.DEFAULT_PRESET[variant],
                         source_rate=plugins.SOURCE_RATE[variant], **kw)


class LadspaInstance:
    """One instance of rtdeclip_mono / rtdeclip_stereo (or, lowlatency=True,
    rtdeclip_{mono,stereo}_lowlatency; voice=True, rtdeclip_{mono,stereo}_voice;
    lossy=True, rtdeclip_{mono,stereo}_lossy),
    driven from Python: ``process(block)`` runs it on (frames, channels)
    float32 blocks, with every control at its default unless ``set``.
    ``instantiate`` returning NULL raises RuntimeError."""

    def __init__(self, rate, channels, library=None, lowlatency=False, voice=False, lossy=False):
        self.lib = ctypes.CDLL(library or plugins.ladspa_library())
        fn = self.lib.ladspa_descriptor
        fn.restype = ctypes.POINTER(_Descriptor)
        fn.argtypes = [ctypes.c_ulong]
        self.d = fn(descriptor_index(channels, lowlatency, voice, lossy)).contents
        self.C = channels
        self.h = self.d.instantiate(ctypes.byref(self.d), rate)
        if not self.h:
            raise RuntimeError(f"instantiate failed at {rate} Hz")
        defaults = dict(DEFAULTS, preset=LOWLATENCY_PRESET if lowlatency else 0,
                        hedge=LOSSY_HEDGE if lossy else 0)
        self.ctl = (ctypes.c_float * len(CONTROLS))(*[defaults[k] for k in CONTROLS])
        self.meters = (ctypes.c_float * 7)()
        for i in range(8):
            self.d.connect_port(self.h, 2 * channels + i, ctypes.cast(
                ctypes.byref(self.ctl, 4 * i), ctypes.POINTER(ctypes.c_float)))
        for i in range(1 + 2 * channels + 2):
            self.d.connect_port(self.h, 2 * channels + 8 + i, ctypes.cast(
                ctypes.byref(self.meters, 4 * i), ctypes.POINTER(ctypes.c_float)))
        for i in (8, 9):   # hedge, codec
            self.d.connect_port(self.h, 2 * channels + i + 1 + 2 * channels + 2, ctypes.cast(
                ctypes.byref(self.ctl, 4 * i), ctypes.POINTER(ctypes.c_float)))
        self.d.activate(self.h)

    def set(self, **controls):
        for k, v in controls.items():
            self.ctl[CONTROLS.index(k)] = v

    def meter(self):
        m = list(self.meters)
        C = self.C
        return {"latency": m[0], "levels": [(m[1 + 2 * c], m[2 + 2 * c]) for c in range(C)],
                "clipped_ratio": m[1 + 2 * C], "iterations": m[2 + 2 * C]}

    def process(self, block):
        n = len(block)
        ins = [np.ascontiguousarray(block[:, c], dtype=np.float32) for c in range(self.C)]
        outs = [np.empty(n, np.float32) for _ in range(self.C)]
        fp = ctypes.POINTER(ctypes.c_float)
        for c in range(self.C):
            self.d.connect_port(self.h, c, ins[c].ctypes.data_as(fp))
            self.d.connect_port(self.h, self.C + c, outs[c].ctypes.data_as(fp))
        self.d.run(self.h, n)
        return np.stack(outs, 1)

    def activate(self):
        self.d.activate(self.h)

    @property
    def latency(self):
        self.process(np.zeros((0, self.C), np.float32))   # run(0) writes the port only
        return int(self.meters[0])

    def close(self):
        if self.h:
            self.d.cleanup(self.h)
            self.h = None
