"""The social-sparsity solver (algorithm "social", HighQuality's): it
declips, its output is consistent and finite, independent of the caller's
block sizes (exactly) and of its own processing blocks (to 1e-6), and it is
reached through declip, Declipper and the file pipeline."""
import os
import wave

import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import params

SR = 8000
# small frame so the tests are quick; the solver is the same at any size
SMALL = dict(window=512, hop=128, redundancy=2, iterations=200, plan="estimate")


def tonal(n=24000, seed=1):
    """A few partials under a slow swell: sparse in time-frequency."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in
            zip(rng.uniform(0.1, 0.4, 6), rng.uniform(100, 1500, 6), rng.uniform(0, 6, 6)))
    return x * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))


def test_social_improves_sdr_and_beats_aspade_on_a_synthetic_clip():
    x = tonal()
    y, theta = rtdeclip.clip_to_sdr(x, 5)
    soc = rtdeclip.declip(y, SR, algorithm="social", threshold=theta, **SMALL)
    asp = rtdeclip.declip(y, SR, preset="highquality", algorithm="aspade", threshold=theta,
                          window=512, hop=128, redundancy=2, plan="estimate")
    gain = rtdeclip.sdr(x, soc) - rtdeclip.sdr(x, y)
    assert gain > 15
    assert rtdeclip.sdr(x, soc) > rtdeclip.sdr(x, asp)


def test_output_is_consistent_and_finite():
    x = tonal(seed=2)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    y[5000] = np.nan  # replaced by 0 and counted, never propagated
    out, stats = rtdeclip.Declipper(SR, algorithm="social", threshold=theta, **SMALL), None
    d = out
    res = np.concatenate([d.process(y), d.flush()])[d.latency_samples:]
    stats = d.stats
    assert np.all(np.isfinite(res))
    assert stats["nonfinite_samples"] == 1
    y0 = np.nan_to_num(y)
    # the level used: a given level is lowered by 0.01 dB (typed-level rule)
    pos, neg = d.thresholds[0]
    assert theta * 10 ** (-0.011 / 20) <= pos <= theta and neg == -pos
    hi, lo = y0 >= pos, y0 <= neg
    rel = ~(hi | lo)
    assert np.array_equal(res[rel], y0[rel])          # reliable samples exact
    assert np.all(res[hi] >= pos) and np.all(res[lo] <= neg)
    assert np.mean(np.abs(res[hi | lo]) > theta * (1 + 1e-3)) > 0.5   # and restored
    assert stats["frames_solved"] >= 1 and stats["clipped_samples"] == int(np.sum(hi | lo))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_caller_block_sizes_do_not_matter(dtype):
    x = tonal(n=9000, seed=3)
    y, theta = rtdeclip.clip_to_sdr(x, 5)
    y = y.astype(dtype)
    soc = dict(social_block=1024, social_margin=512)
    outs = []
    for sizes in ([len(y)], [1, 127, 4096, 333], [2048]):
        d = rtdeclip.Declipper(SR, algorithm="social", threshold=theta, social=soc, **SMALL)
        parts, pos, i = [], 0, 0
        while pos < len(y):
            n = sizes[i % len(sizes)]
            parts.append(d.process(y[pos:pos + n]))
            pos += n
            i += 1
        parts.append(d.flush())
        outs.append(np.concatenate(parts))
    for o in outs[1:]:
        assert np.array_equal(o, outs[0])


@pytest.mark.parametrize("neigh2, tail, extra", [
    (None, 0.0, {}), ((5, 7), 0.0, {}), ((5, 7), 0.35, dict(social_tail_weight=1.0)),
    ((5, 7), 0.35, dict(social_tail_weight=0.5)), ((5, 7), 0.35, dict(social_weight2=0.3))])
def test_processing_blocks_change_the_output_by_less_than_1e6(neigh2, tail, extra):
    """The margin (default 8 windows) makes the blocks' seams invisible,
    with one solve, with the mean of two, with the mean of the last
    iterations, its midpoint with the last iterate (HighQuality's) and
    unequal weights of the two solves."""
    x = tonal(n=20000, seed=4)
    y, theta = rtdeclip.clip_to_sdr(x, 5)
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1)
    soc = dict(social_neigh2=neigh2, social_tail=tail, **extra)
    ref = rtdeclip.declip(y, SR, social=dict(social_block=65536, **soc), **kw)
    assert rtdeclip.sdr(x, ref) - rtdeclip.sdr(x, y) > 15
    for block in (2048, 5120):
        out = rtdeclip.declip(y, SR, social=dict(social_block=block, **soc), **kw)
        assert np.linalg.norm(out - ref) <= 1e-6 * np.linalg.norm(ref), block
    # and too small a margin shows (the test can fail)
    thin = rtdeclip.declip(y, SR, social=dict(social_block=2048, social_margin=512, **soc),
                           **kw)
    assert np.linalg.norm(thin - ref) > 1e-6 * np.linalg.norm(ref)


def test_single_precision_transforms_match_double():
    """precision="single": the social solver's FFTs in fftwf, iterates and
    sums in double: the output moves by far less than the restoration
    error, and the streaming guarantees hold as in double."""
    x = tonal(n=20000, seed=7)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1)
    dbl = rtdeclip.declip(y, SR, precision="double", **kw)
    sgl = rtdeclip.declip(y, SR, precision="single", **kw)
    assert not np.array_equal(dbl, sgl)          # the option reaches the solver
    err = np.linalg.norm(x - dbl)
    assert np.linalg.norm(sgl - dbl) < 1e-3 * err
    assert abs(rtdeclip.sdr(x, sgl) - rtdeclip.sdr(x, dbl)) < 0.01
    clipped = np.abs(y) >= theta
    assert np.array_equal(sgl[~clipped], y[~clipped])
    # processing blocks: within 1e-6 of one block, as in double
    one = rtdeclip.declip(y, SR, precision="single",
                          social=dict(social_block=65536), **kw)
    cut = rtdeclip.declip(y, SR, precision="single",
                          social=dict(social_block=2048), **kw)
    assert np.linalg.norm(cut - one) <= 1e-6 * np.linalg.norm(one)


def test_solver_skips_nothing_that_matters_in_silence():
    """Frames with no observation and no coefficient nearby are skipped
    (dead frames): a clip surrounded by long digital silence gives the
    same samples as the clip alone, to rounding."""
    x = tonal(n=6000, seed=8)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    # one processing block holds either signal: no seams, only silence differs
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1,
              social=dict(social_block=65536))
    alone = rtdeclip.declip(y, SR, **kw)
    pad = 512 * 40  # a multiple of the hop: the same frame grid
    padded = rtdeclip.declip(np.concatenate([np.zeros(pad), y, np.zeros(pad)]), SR, **kw)
    mid = padded[pad:pad + len(y)]
    assert np.all(padded[:pad] == 0) and np.all(padded[pad + len(y):] == 0)
    assert np.linalg.norm(mid - alone) <= 1e-9 * np.linalg.norm(alone)


def test_second_neighbourhood_gives_the_mean_of_the_two_solves():
    """social_neigh2: the output is the mean of the solves with either
    neighbourhood (made consistent after the mean)."""
    x = tonal(seed=6)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1)
    a = rtdeclip.declip(y, SR, social=dict(social_neigh=(3, 7), social_neigh2=None), **kw)
    c = rtdeclip.declip(y, SR, social=dict(social_neigh=(5, 7), social_neigh2=None), **kw)
    b = rtdeclip.declip(y, SR, social=dict(social_neigh=(3, 7), social_neigh2=(5, 7)), **kw)
    assert not np.array_equal(a, c)
    clipped = np.abs(y) >= theta
    assert np.array_equal(b[~clipped], y[~clipped])
    # where neither solve was held at the clip level, b is their mean
    free = clipped & (np.abs(a) > theta) & (np.abs(c) > theta)
    assert free.sum() > 0.5 * clipped.sum()
    assert np.allclose(b[free], (a[free] + c[free]) / 2, rtol=0, atol=1e-12)
    assert not np.allclose(b[free], a[free], rtol=0, atol=1e-6)


def test_tail_outputs_the_mean_of_the_last_iterations():
    """social_tail f: each solve outputs the mean of its signals over its
    last f of the iterations.  0 is the last iterate; the mean stays
    consistent, and it is the mean of the iterates: a tail over more of
    the path (including the early, over-sparse iterates) moves the output
    further from the last iterate than a short one."""
    x = tonal(seed=9)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1)
    def run(tail):
        return rtdeclip.declip(y, SR, social=dict(social_neigh2=None, social_tail=tail,
                                                  social_tail_weight=1.0), **kw)
    last = run(0.0)
    assert np.array_equal(last, run(0.002))  # 0.4 of 200 iterations rounds to none
    short, third = run(0.05), run(0.35)
    clipped = np.abs(y) >= theta
    for out in (short, third):
        assert np.all(np.isfinite(out))
        assert np.array_equal(out[~clipped], y[~clipped])
        assert np.all(out[clipped] * np.sign(y[clipped]) >= theta)
        assert rtdeclip.sdr(x, out) - rtdeclip.sdr(x, y) > 10
    d_short, d_third = np.linalg.norm(short - last), np.linalg.norm(third - last)
    assert 0 < d_short < d_third


def test_tail_weight_mixes_the_last_iterate_and_the_tail():
    """social_tail_weight a: each solve outputs (1 - a) its last iterate +
    a its tail mean; 1 is the tail mean, 0.5 (HighQuality's) the midpoint
    of the two where neither was held at the clip level."""
    x = tonal(seed=10)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1)
    def run(**soc):
        return rtdeclip.declip(y, SR, social=dict(social_neigh2=(5, 7), **soc), **kw)
    # (the declip default preset is HighQuality's: a = 0.5 unless given)
    last, tail = run(social_tail=0.0), run(social_tail=0.35, social_tail_weight=1.0)
    assert np.array_equal(run(social_tail=0.0, social_tail_weight=0.5), last)  # no tail: no mix
    half = run(social_tail=0.35, social_tail_weight=0.5)
    clipped = np.abs(y) >= theta
    assert np.array_equal(half[~clipped], y[~clipped])
    assert np.all(half[clipped] * np.sign(y[clipped]) >= theta)
    free = clipped & (np.abs(last) > theta) & (np.abs(tail) > theta)
    assert free.sum() > 0.5 * clipped.sum()
    assert np.allclose(half[free], (last[free] + tail[free]) / 2, rtol=0, atol=1e-12)
    assert not np.allclose(half[free], last[free], rtol=0, atol=1e-6)
    assert not np.allclose(half[free], tail[free], rtol=0, atol=1e-6)


def test_weight2_weighs_the_two_solves():
    """social_weight2 w: the output is (1 - w) first + w second where
    neither solve was held at the clip level."""
    x = tonal(seed=11)
    y, theta = rtdeclip.clip_to_sdr(x, 3)
    kw = dict(SMALL, algorithm="social", threshold=theta, jobs=1)
    a = rtdeclip.declip(y, SR, social=dict(social_neigh=(3, 7), social_neigh2=None), **kw)
    c = rtdeclip.declip(y, SR, social=dict(social_neigh=(5, 7), social_neigh2=None), **kw)
    half = rtdeclip.declip(y, SR, social=dict(social_neigh2=(5, 7)), **kw)
    assert np.array_equal(half, rtdeclip.declip(
        y, SR, social=dict(social_neigh2=(5, 7), social_weight2=0.5), **kw))
    b = rtdeclip.declip(y, SR, social=dict(social_neigh2=(5, 7), social_weight2=0.25), **kw)
    clipped = np.abs(y) >= theta
    free = clipped & (np.abs(a) > theta) & (np.abs(c) > theta)
    assert free.sum() > 0.5 * clipped.sum()
    assert np.allclose(b[free], 0.75 * a[free] + 0.25 * c[free], rtol=0, atol=1e-12)
    assert not np.allclose(b[free], half[free], rtol=0, atol=1e-6)


def test_highquality_is_social_through_declip_and_file(tmp_path):
    assert params.resolve(44100, "highquality").algorithm == "social"
    st = params.resolve(44100, "highquality")
    assert st.social_neigh2 == (5, 7) and st.precision == "single"
    # the midpoint of the last iterate and the mean of the last 34.7 % of
    # the iterates (the mean alone lost at 7-20 dB): docs/highquality.md
    assert st.social_tail == 0.347 and st.social_tail_weight == 0.5 and st.social_weight2 == 0.5
    # the preset's A-SPADE keeps double precision (the plug-ins' table)
    assert params.resolve(44100, "highquality", algorithm="aspade").precision == "double"
    assert rtdeclip.Declipper(SR, preset="highquality", plan="estimate").settings.algorithm \
        == "social"
    x = tonal(n=12000, seed=5)
    y, theta = rtdeclip.clip_to_sdr(x, 5)
    out = rtdeclip.declip(y, SR, preset="highquality", threshold=theta, plan="estimate")
    assert rtdeclip.sdr(x, out) > rtdeclip.sdr(x, y) + 10
    # the file pipeline: 16-bit WAV in, report says social
    pcm = np.round(y / np.max(np.abs(y)) * 32767).astype("<i2")
    src = os.path.join(tmp_path, "clipped.wav")
    with wave.open(src, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SR)
        f.writeframes(pcm.tobytes())
    rep = rtdeclip.declip_file(src, preset="HighQuality", format="pcm16")
    assert rep["algorithm"] == "social"
    with wave.open(rep["output"]) as f:
        assert f.getnframes() == len(y)


@pytest.mark.parametrize("bad, match", [
    (dict(social_block=100), "multiple of the hop"),
    (dict(social_neigh=(2, 7)), "odd"),
    (dict(social_neigh2=(3, 4)), "odd"),
    (dict(social_neigh2=5), "social_neigh2"),
    (dict(social_lambda=(0.1, 0)), "social_lambda"),
    (dict(social_levels=0), "social_levels"),
    (dict(social_tail=1.0), "social_tail"),
    (dict(social_tail=-0.1), "social_tail"),
    (dict(social_tail=True), "social_tail"),
    (dict(social_tail_weight=0.0), "social_tail_weight"),
    (dict(social_tail_weight=1.5), "social_tail_weight"),
    (dict(social_tail_weight=float("nan")), "social_tail_weight"),
    (dict(social_tail_weight=True), "social_tail_weight"),
    (dict(social_weight2=0.0), "social_weight2"),
    (dict(social_weight2=1.0), "social_weight2"),
    (dict(social_weight2=True), "social_weight2"),
    (dict(social_blocks=1), "unknown social"),
])
def test_social_settings_are_validated(bad, match):
    with pytest.raises(ValueError, match=match):
        rtdeclip.Declipper(SR, algorithm="social", social=bad, **SMALL)
