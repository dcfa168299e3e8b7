"""detect_clipping: exact rails, noisy rails, DC offset, gain, asymmetry,
codec ringing, and no false alarm on clean signals."""
import numpy as np
import pytest

import rtdeclip
from rtdeclip.files.audio_io import AudioSource
from rtdeclip.core.detect import ClipCounter, ClipDetector
from rtdeclip.examples import music
from audio_files import encode

SR = 44100


def q16(v):
    return np.round(v * 32768) / 32768


def db(v):
    return 20 * np.log10(abs(v))


@pytest.fixture(scope="module")
def x():
    return music(SR, 4.0, 1, seed=2)


@pytest.mark.parametrize("theta", [0.7, 0.3, 0.05])
def test_exact_rails(x, theta):
    f = rtdeclip.detect_clipping(np.clip(x, -theta, theta), SR)[0]
    assert f.positive == theta and f.negative == -theta and f.method == ("exact", "exact")
    assert f.thresholds == (theta, -theta)
    assert f.clipped == np.count_nonzero(np.abs(x) >= theta) and f.longest_run > 1


def test_asymmetric_and_one_sided(x):
    f = rtdeclip.detect_clipping(np.clip(x, -0.2, 0.4), SR)[0]
    assert (f.positive, f.negative) == (0.4, -0.2)
    f = rtdeclip.detect_clipping(np.minimum(x, 0.4), SR)[0]
    assert f.positive == 0.4 and f.negative is None and f.thresholds[1] == -np.inf


def test_dc_offset_and_gain_change(x):
    y = np.clip(x, -0.3, 0.3)
    f = rtdeclip.detect_clipping(y + 0.05, SR)[0]
    assert abs(f.positive - 0.35) < 1e-12 and abs(f.negative + 0.25) < 1e-12
    assert abs(f.dc_offset - 0.05 - np.mean(y)) < 1e-9
    f = rtdeclip.detect_clipping(q16(0.5 * y), SR)[0]       # clipped, then turned down
    assert abs(db(f.positive) - db(0.15)) < 0.01 and abs(db(f.negative) - db(0.15)) < 0.01


@pytest.mark.parametrize("noise", ["tpdf16", "white-60"])
def test_noise_after_clipping(x, noise):
    rng = np.random.default_rng(1)
    y = np.clip(x, -0.3, 0.3)
    if noise == "tpdf16":
        y = q16(y + (rng.random(len(y)) - rng.random(len(y))) / 32768)
    else:
        y = y + 1e-3 * rng.standard_normal(len(y))
    f = rtdeclip.detect_clipping(y, SR)[0]
    assert abs(db(f.positive) - db(0.3)) < 0.1 and abs(db(f.negative) - db(0.3)) < 0.1
    # the solver's level sits below the noisy rail, so the samples spread
    # around it are treated as clipped
    pos, neg = f.thresholds
    assert pos <= f.positive and neg >= f.negative
    truly = np.abs(x) >= 0.3
    assert np.mean((y[truly] >= pos) | (y[truly] <= neg)) > 0.97


def test_noisy_rail_declipping_improves(x):
    rng = np.random.default_rng(2)
    y = np.clip(x, -0.3, 0.3) + 1e-3 * rng.standard_normal(len(x))
    r = rtdeclip.declip(y, SR, preset="fastest", plan="estimate")
    assert rtdeclip.sdr(x, r) > rtdeclip.sdr(x, y) + 3


@pytest.mark.parametrize("ext,codec", [("mp3", "libmp3lame"), ("m4a", "aac")])
def test_codec_ringing(tmp_path, x, ext, codec):
    y = np.clip(x, -0.3, 0.3)[:, None]
    d = AudioSource(encode(tmp_path / f"c.{ext}", y, SR, codec)).read_all()
    # the codec's own gain on the signal (LAME's output is ~0.45 dB lower)
    g = np.dot(d[:, 0], y[:, 0]) / np.dot(y[:, 0], y[:, 0])
    f = rtdeclip.detect_clipping(d, SR)[0]
    assert all(m in ("noisy", "codec") for m in f.method)
    assert abs(db(f.positive) - db(0.3 * g)) < 0.5 and abs(db(f.negative) - db(0.3 * g)) < 0.5
    assert np.max(d) > f.positive      # the overshoot lies above the estimated level


def test_no_false_alarm_on_clean_signals():
    rng = np.random.default_rng(3)
    t = np.arange(3 * SR) / SR
    clean = [music(SR, 3.0, 1, seed=s) for s in range(3)]
    clean += [0.5 * np.sin(2 * np.pi * f * t) for f in (50, 440, 997)]
    clean += [q16(0.5 * np.sin(2 * np.pi * 50 * t)), 0.1 * rng.standard_normal(len(t)),
              q16(music(SR, 3.0, 1, seed=1)), np.zeros(1000)]
    for sig in clean:
        f = rtdeclip.detect_clipping(sig, SR)[0]
        assert f.positive is None and f.negative is None and f.clipped == 0


def test_streaming_detector_equals_one_piece(x):
    y = np.stack([np.clip(x, -0.3, 0.5), np.clip(-x, -0.4, 0.2)], axis=1)
    whole = rtdeclip.detect_clipping(y, SR)
    det = ClipDetector(2)
    for i in range(0, len(y), 1000):
        det.scan_extremes(y[i:i + 1000])
    for i in range(0, len(y), 777):
        det.scan_counts(y[i:i + 777])
    found = det.result()
    counter = ClipCounter([f.thresholds for f in found])
    for i in range(0, len(y), 1234):
        counter.scan(y[i:i + 1234])
    counter.fill(found)
    for a, b in zip(whole, found):
        assert (a.positive, a.negative, a.clipped_high, a.clipped_low, a.longest_run) == \
            (b.positive, b.negative, b.clipped_high, b.clipped_low, b.longest_run)


def test_histogram_near_the_rails(x):
    f = rtdeclip.detect_clipping(np.clip(x, -0.3, 0.3), SR)[0]
    h = f.histogram["positive"]
    assert len(h["edges_dbfs"]) == len(h["counts"]) + 1
    top = int(np.argmax(h["counts"]))
    assert h["edges_dbfs"][top] - 1e-3 <= db(0.3) <= h["edges_dbfs"][top + 1] + 1e-3


def overshoot_cluster_signal(sr=44100, seconds=2.0, seed=4):
    """A codec-smeared rail at -12 dBFS (8000 samples spread by 0.25 dB)
    over an unclipped background, and a tight cluster of 40 samples 2 dB
    above it: the shape of SQAM violin through AAC 128k at input SDR 3,
    whose overshoot cluster was once taken for the rail."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    rail = 10 ** (-12 / 20)
    y = np.clip(rng.laplace(0, 0.04, n), -0.5 * rail, 0.5 * rail)
    idx = rng.permutation(n)
    hump, cluster = idx[:8000], idx[8000:8040]
    y[hump] = rng.choice([-1, 1], len(hump)) * rail * 10 ** (rng.normal(0, 0.25, len(hump)) / 20)
    y[cluster] = rail * 10 ** ((2.0 + rng.normal(0, 0.01, len(cluster))) / 20)
    return y[:, None], rail


def test_a_dense_rail_beats_a_sparse_overshoot_cluster_above_it():
    y, rail = overshoot_cluster_signal()
    f = rtdeclip.detect_clipping(y, 44100, lossy=True)[0]
    assert f.method == ("codec", "codec"), f.method
    for v in (f.positive, -f.negative):        # the rail's centre, not the cluster 2 dB up
        assert abs(20 * np.log10(v / rail)) < 0.3, 20 * np.log10(v / rail)
    d = rtdeclip.Declipper(44100, channels=1, preset="fastest", threshold="auto", plan="estimate")
    for i in range(0, len(y), 512):
        d.process(np.ascontiguousarray(y[i:i + 512]))
    (pos, _), det = d.thresholds[0], d.detection[0]
    assert abs(20 * np.log10(pos / rail) + det["width_db"][0]) < 0.3
