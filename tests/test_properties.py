"""Property-based tests (hypothesis): random configurations and signals,
including the nasty ones.  Properties: no crash, finite output, reliable
samples kept exactly, restored samples on the far side of the observation,
block-size invariance."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtdeclip

SIGNALS = ["music", "silence", "constant", "square", "all_clipped", "denormal", "noise"]


def make_signal(kind, n, channels, rng):
    t = np.arange(n)[:, None] / 8000.0
    if kind == "music":
        x = sum(rng.uniform(0.1, 0.6) * np.sin(2 * np.pi * rng.uniform(50, 3000) * t + rng.uniform(0, 6))
                for _ in range(4))
    elif kind == "silence":
        x = np.zeros((n, 1))
    elif kind == "constant":
        x = np.full((n, 1), rng.uniform(-1, 1))
    elif kind == "square":
        x = np.sign(np.sin(2 * np.pi * 200 * t))
    elif kind == "all_clipped":
        x = np.where(np.sin(2 * np.pi * 100 * t) >= 0, 1.0, -1.0) * 5
    elif kind == "denormal":
        x = rng.normal(size=(n, 1)) * 1e-310
    else:
        x = rng.normal(size=(n, 1))
    return np.repeat(x, channels, axis=1) * (1 + 0.1 * np.arange(channels))


configs = st.fixed_dictionaries({
    "window": st.sampled_from([64, 128, 256, 512]),
    "hop_div": st.sampled_from([2, 4, 8]),
    "redundancy": st.sampled_from([1, 2, 4]),
    "algorithm": st.sampled_from(["aspade", "sspade", "sspade-original"]),
    "iterations": st.integers(1, 12),
    "s": st.integers(1, 3),
    "warm_start": st.booleans(),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs, kind=st.sampled_from(SIGNALS), channels=st.integers(1, 3),
       n=st.integers(1, 3000), threshold=st.one_of(
           st.just("auto"), st.floats(1e-6, 2.0), st.tuples(st.floats(1e-3, 1.5), st.floats(-1.5, -1e-3))),
       seed=st.integers(0, 2**31 - 1), sr=st.sampled_from([8000, 44100, 96000]))
def test_stream_properties(cfg, kind, channels, n, threshold, seed, sr):
    rng = np.random.default_rng(seed)
    x = make_signal(kind, n, channels, rng)
    hop = cfg["window"] // cfg["hop_div"]
    kw = dict(preset="fastest", window=cfg["window"], hop=hop, redundancy=cfg["redundancy"],
              algorithm=cfg["algorithm"], iterations=cfg["iterations"], s=cfg["s"],
              warm_start=cfg["warm_start"], threshold=threshold, plan="estimate")
    d = rtdeclip.Declipper(sr, channels=channels, **kw)
    whole = np.concatenate([d.process(x), d.flush()])
    assert np.all(np.isfinite(whole))
    lat = d.latency_samples
    y = whole[lat:lat + n]
    levels = d.thresholds
    for c, (pos, neg) in enumerate(levels):
        if threshold == "auto":
            continue  # online levels move while the stream is read
        hi, lo = x[:, c] >= pos, x[:, c] <= neg
        rel = ~(hi | lo)
        assert np.array_equal(y[rel, c], x[rel, c])
        assert np.all(y[hi, c] >= x[hi, c]) and np.all(y[lo, c] <= x[lo, c])
    # block-size invariance
    d2 = rtdeclip.Declipper(sr, channels=channels, **kw)
    parts, i = [], 0
    while i < n:
        m = int(rng.integers(0, 400))
        parts.append(d2.process(np.ascontiguousarray(x[i:i + m])))
        i += m
    parts.append(d2.flush())
    assert np.array_equal(np.concatenate(parts), whole)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(SIGNALS), n=st.integers(1, 2000), seed=st.integers(0, 1000))
def test_declip_properties(kind, n, seed):
    rng = np.random.default_rng(seed)
    x = make_signal(kind, n, 2, rng)
    y = rtdeclip.declip(x, 8000, preset="fastest", window=128, plan="estimate")
    assert y.shape == x.shape and np.all(np.isfinite(y))
    for c, info in enumerate(rtdeclip.detect_clipping(x)):
        pos, neg = info.thresholds
        rel = (x[:, c] < pos) & (x[:, c] > neg)
        assert np.array_equal(y[rel, c], x[rel, c])
