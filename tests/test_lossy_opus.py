"""Heavily clipped stereo after Opus (issue 9, the weak variants): humps far
below the codec's overshoot, and a channel whose hump the test misses.
Files made with the ffmpeg command line, decoded by rtdeclip's decoder."""
import subprocess

import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import detect
from rtdeclip.core.metrics import clip_to_sdr
from rtdeclip.examples import music
from rtdeclip.files.audio_io import AudioSource
from audio_files import write_wav

SR = 44100


def opus(tmp_path, y, bitrate):
    src = write_wav(tmp_path / f"in_{bitrate}.wav", y, SR)
    dst = tmp_path / f"out_{bitrate}.opus"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src),
                    "-c:a", "libopus", "-b:a", bitrate, str(dst)], check=True)
    s = AudioSource(str(dst))
    return s.read_all(), s.sample_rate


def to_48k(folder, x):
    """The clean signal at Opus's 48 kHz, resampled by the ffmpeg command
    line (float WAV both ways; numpy only in the tests: scipy is not a
    dependency)."""
    src = write_wav(folder / "clean44.wav", x, SR, "float32")
    dst = folder / "clean48.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-ar", "48000",
                    "-c:a", "pcm_f32le", str(dst)], check=True)
    return AudioSource(str(dst)).read_all()


def stream(y, sr):
    d = rtdeclip.Declipper(sr, channels=y.shape[1], preset="fastest", threshold="auto",
                           plan="estimate")
    outs = [d.process(np.ascontiguousarray(y[i:i + 512])) for i in range(0, len(y), 512)]
    return np.concatenate(outs + [d.flush()])[d.latency_samples:], d


def pop_like(seconds=3.0, seed=11):
    """Dense pop-like stereo (as benchmarks/lossy.py): music plus a kick, a
    snare of filtered noise and a hi-hat on a 120 bpm grid, mixed loud.
    Its drum hits make Opus overshoot the clip level by 9-10 dB at input SDR 3."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = music(SR, seconds, 2, seed=seed)[:n]
    t = np.arange(int(0.25 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    beat = int(0.5 * SR)
    drums = np.zeros(n)
    for i, p in enumerate(range(0, n, beat // 2)):
        seg = kick if i % 2 == 0 else np.convolve(rng.standard_normal(len(t)), [1, -0.5])[:len(t)] \
            * np.exp(-t * (25 if i % 4 == 1 else 60)) * (0.6 if i % 4 == 1 else 0.2)
        m = min(len(seg), n - p)
        drums[p:p + m] += seg[:m]
    x = x / np.max(np.abs(x)) + 0.7 * drums[:, None] * np.array([1.0, 0.9])
    return 0.95 * x / np.max(np.abs(x))


def gain(clean, y, out):
    n = min(len(clean), len(out))
    c, y, out = (np.ravel(a[:n]) for a in (clean, y, out))
    return rtdeclip.sdr(c, out) - rtdeclip.sdr(c, y)


def test_hump_far_below_the_codecs_overshoot(tmp_path):
    x = pop_like()
    _, theta = clip_to_sdr(x.ravel(), 3)
    d, sr = opus(tmp_path, np.clip(x, -theta, theta), "96k")
    found = rtdeclip.detect_clipping(d, sr, lossy=True)
    for f in found:
        assert f.method == ("codec", "codec")
        for est in (f.positive, -f.negative):
            assert abs(20 * np.log10(est / theta)) < 1.0
    # the decoded peaks overshoot the rail by more than 8 dB on some channel
    assert max(20 * np.log10(np.max(np.abs(d[:, c])) / theta) for c in range(2)) > 8
    clean = to_48k(tmp_path, x)
    off = rtdeclip.declip(d, sr, preset="fastest", threshold=[f.thresholds for f in found],
                          plan="estimate")
    assert gain(clean, d, off) > 3
    on, dec = stream(d, sr)
    assert all(r["method"] == ("codec", "codec") for r in dec.detection)
    assert gain(clean, d, on) > 3


def test_hump_range_is_what_finds_it(tmp_path, monkeypatch):
    """The same file with the former 8 dB range finds nothing on a channel."""
    x = pop_like()
    _, theta = clip_to_sdr(x.ravel(), 3)
    d, sr = opus(tmp_path, np.clip(x, -theta, theta), "96k")
    monkeypatch.setattr(detect, "HUMP_DB", 8.0)
    det = detect.ClipDetector(2, lossy=True)
    det.scan_extremes(d)
    det.scan_counts(d)
    assert any(det._rail(side, c)[2] is None for c in range(2) for side in range(2))


def test_channel_without_a_hump_takes_the_other_channels_rail(tmp_path, monkeypatch):
    """A channel whose hump test found nothing on either polarity takes the
    other channel's codec rail.  This clip through Opus 160k missed both of
    one channel's humps on the machines the test was written on; libopus's
    output depends on the CPU it runs on, and on others the hump is found
    (a search over 40 clips, seeds and rates found no such case on one of
    them), so there the miss is made by hand on that channel, on the same
    real decoded file."""
    x = music(SR, 3.0, 2, seed=3)
    _, theta = clip_to_sdr(x.ravel(), 7)
    d, sr = opus(tmp_path, np.clip(x, -theta, theta), "160k")
    det = detect.ClipDetector(2, lossy=True)
    det.scan_extremes(d)
    det.scan_counts(d)
    own = [(det._rail(0, c)[2], det._rail(1, c)[2]) for c in range(2)]
    assert ("codec", "codec") in own
    if (None, None) not in own:   # the hump test's miss, made by hand
        missed = 1 - own.index(("codec", "codec"))
        real = detect.ClipDetector._rail
        monkeypatch.setattr(detect.ClipDetector, "_rail", lambda self, side, c:
                            (None, None, None, None) if c == missed else real(self, side, c))
        own[missed] = (None, None)
    found = rtdeclip.detect_clipping(d, sr, lossy=True)
    for f in found:
        assert f.method == ("codec", "codec")
        assert abs(20 * np.log10(f.positive / theta)) < 1.0
        assert abs(20 * np.log10(-f.negative / theta)) < 1.0
    clean = to_48k(tmp_path, x)
    off = rtdeclip.declip(d, sr, preset="fastest", threshold=[f.thresholds for f in found],
                          plan="estimate")
    c = own.index((None, None))
    assert gain(clean[:, c], d[:, c], off[:, c]) > 3


@pytest.mark.parametrize("sdr_in", [3, 10])
def test_unclipped_channel_does_not_take_a_rail(tmp_path, sdr_in):
    """One channel clipped, the other a quiet unclipped signal: the quiet one
    never reaches the rail, so it keeps none (offline and in a stream)."""
    x = music(SR, 3.0, 2, seed=4)
    _, theta = clip_to_sdr(x[:, 0], sdr_in)
    y = np.stack([np.clip(x[:, 0], -theta, theta), 0.5 * theta * x[:, 1] / np.max(np.abs(x[:, 1]))],
                 axis=1)
    d, sr = opus(tmp_path, y, "96k")
    found = rtdeclip.detect_clipping(d, sr, lossy=True)
    assert found[0].method == ("codec", "codec") and found[1].method == (None, None)
    _, dec = stream(d, sr)
    assert dec.detection[1]["method"] == (None, None)


def test_highquality_stream_finds_codec_rails(tmp_path):
    """The social solver behind `highquality` streams with the same
    estimator: codec-smeared rails found and reported (reading them used to
    crash: the detection lived in the SPADE stream only), and a gain."""
    x = music(SR, 1.5, 1, seed=4).reshape(-1, 1)
    level = 0.35 * np.max(np.abs(x))
    d, sr = opus(tmp_path, np.clip(x, -level, level), "96k")
    dec = rtdeclip.Declipper(sr, channels=1, preset="highquality", threshold="auto",
                             plan="estimate")
    outs = [dec.process(np.ascontiguousarray(d[i:i + 4096])) for i in range(0, len(d), 4096)]
    out = np.concatenate(outs + [dec.flush()])[dec.latency_samples:]
    det = dec.detection[0]
    assert det["method"] == ("codec", "codec")
    assert all(0.25 <= w <= 4.0 for w in det["width_db"])
    assert gain(to_48k(tmp_path, x), d, out) > 3


def test_resampled_after_clipping(tmp_path):
    """A clipped 44.1 kHz clip resampled to 48 kHz by ffmpeg (as a monitor
    stream or a video soundtrack is): the resampler's ringing makes a narrow
    hump, declared at least 0.25 dB below its centre (its lower edge, < 0.1
    dB away, left dipped clipped samples reliable: 12.6 dB offline before)."""
    x = music(SR, 3.0, 2, seed=3)
    _, theta = clip_to_sdr(x.ravel(), 10)
    src = write_wav(tmp_path / "c.wav", np.clip(x, -theta, theta), SR)
    dst = tmp_path / "c48.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-ar", "48000",
                    "-c:a", "pcm_f32le", str(dst)], check=True)
    d = AudioSource(str(dst)).read_all()
    clean = to_48k(tmp_path, x)
    found = rtdeclip.detect_clipping(d, 48000)
    assert all(m in ("noisy", "codec") for f in found for m in f.method)
    assert all(w >= 0.25 for f in found for w in f.width_db)
    off = rtdeclip.declip(d, 48000, preset="fastest", threshold=[f.thresholds for f in found],
                          plan="estimate")
    assert gain(clean, d, off) > 15
    on, _ = stream(d, 48000)
    assert gain(clean, d, on) > 15
