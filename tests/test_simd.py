"""The cheaper single-precision iteration (issue 12, lever 1) computes what
the old one computed: the selection of hard thresholding against a sort
(ties included), and the float solver's AVX2 passes against its baseline
passes, output bit for bit (frames, streams, every algorithm, the ranking
prior).  Speed lives in benchmarks/speed.py."""
import numpy as np
import pytest

import rtdeclip
from rtdeclip._core import ffi, lib


def kth(v, k, single):
    v = np.ascontiguousarray(v, dtype=np.float64)
    above = ffi.new("int *")
    t = lib.rtd_testing_kth_largest(ffi.from_buffer("double[]", v), len(v), k, single, above)
    return t, above[0]


def by_sort(v, k, single):
    v = np.asarray(v, dtype=np.float32 if single else np.float64)
    t = np.sort(v)[::-1][k - 1]
    return float(t), int(np.count_nonzero(v > t))


def samples(rng, n, kind):
    if kind == "ties":          # few distinct values, zeros among them
        return rng.integers(0, 4, n).astype(float)
    if kind == "equal":
        return np.full(n, 0.375)
    if kind == "close":         # values one float ulp apart, many octaves
        return np.ldexp(1.0 + rng.integers(0, 3, n) * 2.0 ** -23, rng.integers(-30, 30, n))
    if kind == "spectrum":      # squared magnitudes: heavy tail, exact zeros
        x = rng.standard_normal(n) ** 2 * np.exp(rng.uniform(-12, 4, n))
        x[rng.random(n) < 0.1] = 0.0
        return x
    return rng.random(n)


@pytest.mark.parametrize("single", [1, 0])
@pytest.mark.parametrize("kind", ["uniform", "ties", "equal", "close", "spectrum"])
def test_selection_matches_a_sort(single, kind):
    rng = np.random.default_rng(7 + single)
    for n in (1, 2, 5, 23, 24, 25, 47, 48, 49, 100, 257, 1000, 4097, 16385):
        v = samples(rng, n, kind)
        ks = {1, n, max(1, n // 2), min(n, 48), min(n, 49), *rng.integers(1, n + 1, 6).tolist()}
        for k in sorted(ks):
            assert kth(v, k, single) == by_sort(v, k, single), (kind, n, k)


def test_selection_refuses_bad_arguments():
    t, above = kth(np.ones(4), 5, 1)
    assert np.isnan(t) and above == -1
    t, above = kth(np.ones(4), 0, 0)
    assert np.isnan(t) and above == -1


needs_avx2 = pytest.mark.skipif(not lib.rtd_testing_simd(-1),
                                reason="the processor has no AVX2: one set of passes only")


def frame(w, seed, level=0.4):
    rng = np.random.default_rng(seed)
    t = np.arange(w)
    x = sum(rng.normal() * np.cos(2 * np.pi * rng.uniform(0, 0.2) * t + rng.uniform(0, 6))
            for _ in range(10))
    x = x + 0.05 * rng.standard_normal(w)
    x /= np.abs(x).max()
    mask = (x > level).astype(np.int8) - (x < -level)
    return np.clip(x, -level, level) * (0.5 - 0.5 * np.cos(2 * np.pi * t / w)), mask


def with_simd(allowed, make):
    lib.rtd_testing_simd(allowed)
    try:
        return make()
    finally:
        lib.rtd_testing_simd(1)


@needs_avx2
@pytest.mark.parametrize("algorithm", ["aspade", "sspade", "sspade-original"])
def test_avx2_passes_give_the_baseline_frames(algorithm):
    for w, red, s, r in ((16, 1, 1, 1), (64, 4, 1, 1), (512, 2, 1, 1), (1024, 1, 3, 2),
                         (4096, 2, 6, 3)):
        y, m = frame(w, w + red)
        outs = []
        for allowed in (0, 1):
            d = with_simd(allowed, lambda: rtdeclip.Declipper(
                48000, window=w, redundancy=red, iterations=80, epsilon=0.0, s=s, r=r,
                algorithm=algorithm, threshold=0.4, plan="estimate", precision="single"))
            outs.append(d.solve_frame(y, m))
        assert np.array_equal(outs[0], outs[1]), (algorithm, w, red)
        assert not np.array_equal(outs[1], np.clip(y, -0.4, 0.4))   # it did solve


@needs_avx2
@pytest.mark.parametrize("preset", ["lowlatency", "fastest", "average"])
def test_avx2_passes_give_the_baseline_stream(preset):
    # a never-converging signal: every frame spends its budget; the
    # low-delay presets rank with the prior (prior_weight > 0)
    rng = np.random.default_rng(5)
    n = 24000
    t = np.arange(n)[:, None] / 48000
    x = sum(np.sin(2 * np.pi * rng.uniform(100, 3000, 2) * t + rng.uniform(0, 6, 2))
            for _ in range(4))
    x = x + 0.05 * np.std(x) * rng.standard_normal(x.shape)
    x /= np.abs(x).max()
    y = np.clip(x, -0.3, 0.3)
    outs = []
    for allowed in (0, 1):
        d = with_simd(allowed, lambda: rtdeclip.Declipper(
            48000, channels=2, preset=preset, threshold=0.3, plan="estimate",
            precision="single", threads=1))
        assert d.settings.precision == "single"
        outs.append(np.concatenate([d.process(y[i:i + 256]) for i in range(0, n, 256)]))
        assert d.stats["frames_solved"] > 0
    assert np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize("algorithm", ["aspade", "sspade", "sspade-original"])
def test_single_precision_frames_follow_double(algorithm):
    # the float kernel computes its real FFTs as half-length complex FFTs
    # and a pass (csrc/rfft_split.h), the double kernel with FFTW's r2c /
    # c2r: after 40 iterations from the same start the two solutions differ
    # only by float rounding at every window and redundancy (a wrong twiddle
    # or mirror index diverges by orders of magnitude)
    for w in (16, 32, 64, 256, 1024, 8192):
        for red in (1, 2, 4):
            y, m = frame(w, 3 * w + red)
            outs = [rtdeclip.Declipper(48000, window=w, redundancy=red, iterations=40,
                                       epsilon=0.0, algorithm=algorithm, threshold=0.4,
                                       plan="estimate", precision=p).solve_frame(y, m)
                    for p in ("double", "single")]
            assert np.abs(outs[0] - outs[1]).max() < 1e-4, (algorithm, w, red)
            assert not np.array_equal(outs[1], np.clip(y, -0.4, 0.4))   # it did solve
