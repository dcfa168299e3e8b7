"""Iteration budgets: presets scaled to the sample rate, and the budget pool
(cfg.budget_pool: iterations that skipped and early-converged frames left
unused, spent on the frames that need them)."""
import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import params

SR = 16000


def bursts(n=12000, seed=2, channels=2):
    """Clipped tone bursts with quiet, unclipped gaps (frames skipped) in
    between, per channel at different places: (signal, theta)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    out = np.zeros((n, channels))
    for c in range(channels):
        x = sum(rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * rng.uniform(100, 2500) * t
                                                + rng.uniform(0, 6)) for _ in range(6))
        gate = np.zeros(n)
        pos = int(rng.integers(0, 800))
        while pos < n:
            length = int(rng.integers(300, 1500))
            gate[pos:pos + length] = 1.0
            pos += length + int(rng.integers(600, 2500))
        out[:, c] = x * np.where(gate > 0, 1.0, 0.1)
    theta = 0.35
    return np.clip(out, -theta, theta), theta


def run(y, theta, block=None, **kw):
    kw = dict(dict(preset="fastest", window=256, iterations=12, plan="estimate"), **kw)
    d = rtdeclip.Declipper(SR, channels=y.shape[1], threshold=theta, **kw)
    if block is None:
        out = np.concatenate([d.process(y), d.flush()])
    else:
        rng = np.random.default_rng(block)
        parts, i = [], 0
        while i < len(y):
            m = int(rng.integers(0, 300))
            parts.append(d.process(y[i:i + m]))
            i += m
        out = np.concatenate(parts + [d.flush()])
    return out, d.stats, d


@pytest.mark.parametrize("preset", ["fastest", "average"])
def test_preset_budget_keeps_cpu_per_second_constant_across_rates(preset):
    it48 = params.PRESETS[preset]["iterations"]
    expect = {48000: it48, 44100: round(it48 * 48000 / 44100), 8000: 6 * it48,
              16000: 3 * it48, 96000: round(it48 / 2)}
    for sr, it in expect.items():
        s = rtdeclip.Declipper(sr, preset=preset, plan="estimate").settings
        assert s.iterations == it, sr
        # iterations x samples per second (the cost of an iteration is
        # proportional to the window, frames per second to rate / window)
        assert abs(s.iterations * sr / (it48 * 48000) - 1) < 0.02
    # capped at 8x for very low rates; explicit budgets are not scaled
    assert rtdeclip.Declipper(2000, preset=preset, plan="estimate").settings.iterations == 8 * it48
    assert rtdeclip.Declipper(8000, preset=preset, iterations=7, plan="estimate").settings.iterations == 7
    assert rtdeclip.Declipper(8000, preset="highquality", plan="estimate").settings.iterations is None


def test_preset_schedule_scales_k_with_the_window():
    """k starts at s and grows by s every r iterations; the budgeted presets
    scale k with the window, so it covers the same fraction of the spectrum
    at every rate.  Measured on SQAM resampled to 8 kHz (fastest of 2026-11
    before this change, s=4, r=1): 8.02 / 10.87 dB with the scaled schedule
    and budget against 4.09 / 8.97 with the 48 kHz ones."""
    for preset in ("fastest", "average"):
        p = params.PRESETS[preset]
        for sr in (8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000, 192000):
            st = rtdeclip.Declipper(sr, preset=preset, plan="estimate").settings
            q = st.window / p["window48"]
            assert st.s == max(1, round(p["s"] * q)), (preset, sr)
            slope, want = st.s / st.r, p["s"] / p["r"] * q
            assert abs(slope / want - 1) < 0.25, (preset, sr, st.s, st.r)
    assert params.rate_schedule(4, 1, 256, 2048) == (1, 2)
    assert params.rate_schedule(6, 6, 256, 2048) == (1, 8)
    assert params.rate_schedule(6, 6, 4096, 2048) == (12, 6)
    assert params.rate_schedule(6, 6, 2048, 2048) == (6, 6)
    # explicit s or r: taken as given (the other from the preset)
    p = params.PRESETS["fastest"]
    s = rtdeclip.Declipper(8000, preset="fastest", s=3, plan="estimate").settings
    assert (s.s, s.r) == (3, p["r"])
    s = rtdeclip.Declipper(8000, preset="fastest", r=5, plan="estimate").settings
    assert (s.s, s.r) == (p["s"], 5)
    # highquality runs to epsilon: neither scaled
    s = rtdeclip.Declipper(8000, preset="highquality", plan="estimate").settings
    assert (s.s, s.r, s.iterations) == (1, 1, None)


@pytest.mark.parametrize("value", [-1, 17, 1.5, "2", True])
def test_budget_pool_is_validated(value):
    with pytest.raises(ValueError, match="budget_pool"):
        rtdeclip.Declipper(SR, preset="fastest", budget_pool=value, plan="estimate")
    with pytest.raises(ValueError, match="budget_pool"):
        rtdeclip.declip(np.zeros(100), SR, preset="fastest", budget_pool=value, plan="estimate")


def test_pool_off_is_the_plain_budget():
    y, theta = bursts()
    base, st0, _ = run(y, theta, budget_pool=0)
    one, st1, _ = run(y, theta, budget_pool=1)
    assert np.array_equal(base, one) and st0 == st1
    assert st0["pooled_iterations"] == 0 and st0["max_frame_iterations"] <= 12
    assert st0["iterations"] <= 12 * st0["frames_solved"]


@pytest.mark.parametrize("pool", [2, 3])
def test_pool_spends_only_what_was_left(pool):
    y, theta = bursts()
    base, st0, _ = run(y, theta, budget_pool=0)
    out, st, _ = run(y, theta, budget_pool=pool)
    budget = 12
    assert st["pooled_iterations"] > 0
    assert budget < st["max_frame_iterations"] <= pool * budget
    # never more than the budget of every frame, skipped ones included ...
    assert st["iterations"] <= budget * (st["frames_solved"] + st["frames_skipped"])
    # ... and the frames beyond the budget were paid from the credit
    assert st["iterations"] - st["pooled_iterations"] <= budget * st["frames_solved"]
    assert not np.array_equal(out, base)
    # still consistent with the observation
    d = rtdeclip.Declipper(SR, channels=2, preset="fastest", window=256, threshold=theta,
                           plan="estimate")
    lat = d.latency_samples
    o = out[lat:lat + len(y)]
    # reliable: inside the levels the stream uses (theta less its tolerance)
    pos, neg = d.thresholds[0]
    rel = (y < pos) & (y > neg)
    assert np.array_equal(o[rel], y[rel])


def test_pool_does_not_change_the_worst_case():
    """Every frame clipped and none converging (epsilon 0): no credit is
    ever made, so the output and iterations are those without the pool."""
    t = np.arange(6000)[:, None] / SR
    y = np.clip(np.sin(2 * np.pi * 330 * t + np.arange(2)) + 0.5 * np.sin(2 * np.pi * 1210 * t),
                -0.5, 0.5)
    kw = dict(preset="fastest", window=256, iterations=12, threshold=0.5, epsilon=0.0,
              plan="estimate")
    d0 = rtdeclip.Declipper(SR, channels=2, budget_pool=0, **kw)
    d3 = rtdeclip.Declipper(SR, channels=2, budget_pool=3, **kw)
    a, b = d0.process(y), d3.process(y)
    assert np.array_equal(a, b)
    assert d3.stats["pooled_iterations"] == 0
    assert d3.stats["iterations"] == 12 * d3.stats["frames_solved"]


@pytest.mark.parametrize("seed", [1, 2])
def test_pool_is_block_size_invariant_and_reset(seed):
    y, theta = bursts(seed=seed)
    whole, st, d = run(y, theta, budget_pool=3)
    parts, st_p, _ = run(y, theta, block=seed + 10, budget_pool=3)
    assert np.max(np.abs(parts - whole)) <= 1e-9 and st_p["iterations"] == st["iterations"]
    d.reset()   # the credit goes with the rest of the stream's history
    again = np.concatenate([d.process(y), d.flush()])
    assert np.array_equal(again, whole) and d.stats == st


def test_pool_follows_a_lowered_budget():
    """The live host lowers the budget under load: a frame then runs at most
    pool x the new budget, whatever credit the old one made."""
    y, theta = bursts(n=16000)
    d = rtdeclip.Declipper(SR, channels=2, preset="fastest", window=256, iterations=40,
                           budget_pool=3, threshold=theta, plan="estimate")
    d.process(y[:8000])
    assert d.stats["max_frame_iterations"] > 40
    d.iterations = 4
    before = d.stats["iterations"]
    frames_before = d.stats["frames_solved"] + d.stats["frames_skipped"]
    d.process(y[8000:])
    s = d.stats
    frames = s["frames_solved"] + s["frames_skipped"] - frames_before
    # the first frame may still spend 2 new budgets of the old credit, which
    # is then clamped to 8 new budgets
    assert s["iterations"] - before <= 4 * frames + 2 * 4 + 8 * 4
