"""The plug-in's controls and streaming behaviour, driven through its
LADSPA entry points from Python (ctypes): every rate from 8 to 192 kHz,
any block sizes, bypass, gain, limiter, fixed clip levels, preset choice,
meters, hostile control values, activate."""
import math

import numpy as np
import pytest

from plugin_hosts import LadspaInstance, clipped_signal, python_stream, TOL
from rtdeclip.core.levels import for_stream
from rtdeclip.core.params import PRESETS, rate_budget, resolve


@pytest.fixture(autouse=True)
def wisdom(tmp_path, monkeypatch):
    monkeypatch.setenv("RTDECLIP_WISDOM", str(tmp_path / "wisdom"))


def run_blocks(inst, x, sizes=None, rng=None):
    out, i = [], 0
    while i < len(x):
        n = len(x) - i if sizes is None else int(rng.integers(1, sizes + 1))
        out.append(inst.process(x[i:i + n]))
        i += n
    return np.concatenate(out)


def limiter_delay(rate):
    return max(2, round(1.5e-3 * rate)) - 1


@pytest.mark.parametrize("rate,channels", [(8000, 1), (11025, 2), (22050, 1), (44100, 2),
                                           (96000, 1), (192000, 2)])
def test_default_equals_python_at_every_rate(rate, channels):
    """Budgets and windows scale with the rate as in Python: same output."""
    x = clipped_signal(rate, channels, 0.4, seed=rate)
    ref, core = python_stream(x, rate)
    inst = LadspaInstance(rate, channels)
    y = inst.process(x)
    lat = inst.latency
    assert lat == core + limiter_delay(rate)
    n = len(x) - lat
    err = np.max(np.abs(y[lat:] - ref[core:core + n]))
    assert err <= TOL, f"{rate} Hz: {err}"
    assert np.max(np.abs(y)) > 1.1 * np.max(np.abs(x))     # declipped
    inst.close()


@pytest.mark.parametrize("rate,channels", [(8000, 2), (16000, 1), (44100, 1), (48000, 2),
                                           (96000, 2), (192000, 1)])
def test_lowlatency_variant_equals_python_lowlatency(rate, channels):
    """rtdeclip_{mono,stereo}_lowlatency: Declipper(preset="lowlatency")
    delayed by the limiter's look-ahead, and a quarter of the standard
    variant's latency (10.6 + 1.5 ms against 42.6 + 1.5 ms at 48 kHz)."""
    x = clipped_signal(rate, channels, 0.4, seed=rate + 1)
    ref, core = python_stream(x, rate, preset="lowlatency")
    inst = LadspaInstance(rate, channels, lowlatency=True)
    y = run_blocks(inst, x, sizes=700, rng=np.random.default_rng(rate))
    lat = inst.latency
    assert lat == core + limiter_delay(rate)
    standard = LadspaInstance(rate, channels)
    assert lat < standard.latency / 3
    standard.close()
    n = len(x) - lat
    err = np.max(np.abs(y[lat:] - ref[core:core + n]))
    assert err <= TOL, f"{rate} Hz: {err}"
    assert np.max(np.abs(y)) > 1.1 * np.max(np.abs(x))     # declipped
    # the preset control cannot leave lowlatency: 0 or 1 (out of its range
    # 2..2) are clamped, the output and the latency stay the same
    other = LadspaInstance(rate, channels, lowlatency=True)
    other.set(preset=0)
    assert np.array_equal(other.process(x), y) and other.latency == lat
    inst.close()
    other.close()


def test_lowlatency_variant_controls():
    """The other controls work the same in the low-latency variant: bypass
    keeps the delay, fixed clip levels equal Python's fixed thresholds."""
    rate = 48000
    x = clipped_signal(rate, 2, 1.0)
    inst = LadspaInstance(rate, 2, lowlatency=True)
    lat = inst.latency
    inst.set(enabled=0)
    y = inst.process(x)
    assert np.array_equal(y[lat:], x[:-lat]) and not np.any(y[:lat])
    pos_db, neg_db = np.float32(20 * math.log10(0.2999)), np.float32(20 * math.log10(0.3299))
    pos, neg = 10 ** (float(pos_db) / 20), 10 ** (float(neg_db) / 20)
    ref, core = python_stream(x, rate, preset="lowlatency", threshold=(pos, -neg))
    fixed = LadspaInstance(rate, 2, lowlatency=True)
    fixed.set(clip_mode=1, clip_pos_db=pos_db, clip_neg_db=neg_db)
    y = fixed.process(x)
    assert np.max(np.abs(y[lat:] - ref[core:core + len(x) - lat])) <= TOL
    # the budget of lowlatency (its iterations at 48 kHz), not average's
    from rtdeclip.core.params import PRESETS
    assert 0 < fixed.meter()["iterations"] <= PRESETS["lowlatency"]["iterations"]


def blocks_equal_python(inst, x, rate, ref, core):
    """``inst`` on x in random blocks of up to 900 frames reports the
    Python stream's core latency plus the limiter's and gives its output
    ``ref`` there; (output, latency, frames compared)."""
    y = run_blocks(inst, x, sizes=900, rng=np.random.default_rng(rate))
    lat = inst.latency
    assert lat == core + limiter_delay(rate)
    n = len(x) - lat
    assert np.max(np.abs(y[lat:] - ref[core:core + n])) <= TOL
    return y, lat, n


def check_fixed_levels_and_bypass(x, rate, channels, lat, family, **python):
    """A variant (``family``: LadspaInstance's keywords) with fixed clip
    levels gives the Python fixed-level stream (``python``: its other
    arguments) at the variant's latency ``lat``; bypassed, the input
    delayed by it."""
    n = len(x) - lat
    pos_db, neg_db = np.float32(20 * math.log10(0.2999)), np.float32(20 * math.log10(0.3299))
    pos, neg = 10 ** (float(pos_db) / 20), 10 ** (float(neg_db) / 20)
    fref, fcore = python_stream(x, rate, threshold=(pos, -neg), **python)
    fixed = LadspaInstance(rate, channels, **family)
    fixed.set(clip_mode=1, clip_pos_db=pos_db, clip_neg_db=neg_db)
    y = fixed.process(x)
    assert np.max(np.abs(y[lat:] - fref[fcore:fcore + n])) <= TOL
    fixed.close()
    off = LadspaInstance(rate, channels, **family)
    off.set(enabled=0)
    y = off.process(x)
    assert np.array_equal(y[lat:], x[:-lat]) and not np.any(y[:lat])
    off.close()


@pytest.mark.parametrize("rate,channels", [(32000, 2), (48000, 1), (96000, 2)])
def test_voice_variant_equals_python_at_the_source_rate(rate, channels):
    """rtdeclip_{mono,stereo}_voice: Declipper(rate, source_rate=16000) (the
    solver at 16 kHz on the decimated stream, its repair interpolated back)
    delayed by the limiter's look-ahead, in any block sizes; the preset
    control switches to fastest at 16 kHz; fixed clip levels are the inner
    solver's; bypass keeps the delay."""
    x = clipped_signal(rate, channels, 0.6, seed=rate + 2)
    ref, core = python_stream(x, rate, source_rate=16000)
    inst = LadspaInstance(rate, channels, voice=True)
    y, lat, n = blocks_equal_python(inst, x, rate, ref, core)
    assert np.max(np.abs(y)) > 1.05 * np.max(np.abs(x))     # declipped
    # the iterations meter is the 16 kHz solver's: average's budget there
    assert 0 < inst.meter()["iterations"] <= resolve(16000, "average").iterations
    inst.close()
    fast_ref, fast_core = python_stream(x, rate, preset="fastest", source_rate=16000)
    fast = LadspaInstance(rate, channels, voice=True)
    fast.set(preset=1)
    y = fast.process(x)
    assert fast.latency == fast_core + limiter_delay(rate)
    assert np.max(np.abs(y[fast.latency:] - fast_ref[fast_core:fast_core + len(x) - fast.latency])) <= TOL
    fast.close()
    check_fixed_levels_and_bypass(x, rate, channels, lat, dict(voice=True), source_rate=16000)


def test_voice_variant_codec_control_undoes_the_opus_dc_reject():
    """The voice variants' codec control at 1: the Opus encoder's DC reject
    undone at the 16 kHz rate and nothing else (no Opus width), as
    Declipper(rate, source_rate=16000, codec="opus") does; which is not
    the stream with the control at 0."""
    rate = 48000
    x = clipped_signal(rate, 1, 0.8, seed=9)
    coef, m, y = 6.3 * 3.0 / rate, 0.0, np.empty_like(x)
    for i, v in enumerate(x[:, 0].astype(np.float64)):   # libopus's dc_reject
        y[i, 0] = v - m
        m = coef * v + (1.0 - coef) * m
    y = (np.round(y * 32768) / 32768).astype(np.float32)
    ref, core = python_stream(y, rate, source_rate=16000, codec="opus")
    plain, _ = python_stream(y, rate, source_rate=16000)
    assert np.abs(ref - plain).max() > 1e-3
    inst = LadspaInstance(rate, 1, voice=True)
    inst.set(codec=1)
    z = run_blocks(inst, y, sizes=700, rng=np.random.default_rng(3))
    lat = inst.latency
    assert np.max(np.abs(z[lat:] - ref[core:core + len(y) - lat])) <= TOL
    inst.close()


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 80000, 88200])
def test_voice_variant_refuses_rates_not_2_3_4_6_times_16k(rate):
    """The rate chain divides by 2, 3, 4 or 6: at any other host rate the
    voice variant does not instantiate (the host says so), rather than
    declip at a wrong rate."""
    with pytest.raises(RuntimeError, match="instantiate failed"):
        LadspaInstance(rate, 1, voice=True)


def test_block_sizes_do_not_matter():
    rate = 48000
    x = clipped_signal(rate, 2, 1.0)
    a = LadspaInstance(rate, 2)
    whole = a.process(x)
    b = LadspaInstance(rate, 2)
    parts = run_blocks(b, x, sizes=8192, rng=np.random.default_rng(3))
    c = LadspaInstance(rate, 2)
    small = run_blocks(c, x[:20000], sizes=7, rng=np.random.default_rng(4))
    assert np.array_equal(whole, parts)
    assert np.array_equal(whole[:20000], small)


@pytest.mark.parametrize("family", [{}, {"lossy": True}])
def test_activate_resets(family):
    """activate() brings every state back to silence: the lossy variant's
    second pass too (its chain's rings and inner state), on a smeared rail
    where the pass solves."""
    x = clipped_signal(48000, 1, 0.5)
    if family:
        x = smeared(x, 7)
    inst = LadspaInstance(48000, 1, **family)
    first = inst.process(x)
    inst.activate()
    again = inst.process(x)
    assert np.array_equal(first, again)


def test_bypass_same_delay_and_seamless():
    rate = 48000
    x = clipped_signal(rate, 2, 1.0)
    inst = LadspaInstance(rate, 2)
    lat = inst.latency
    inst.set(enabled=0)
    y = inst.process(x)
    assert np.array_equal(y[lat:], x[:-lat])      # dry, exactly, same delay
    assert not np.any(y[:lat])
    # back on mid-stream: after the 10 ms fade, the declipped stream as if
    # bypass had never been pressed (the core kept running)
    ref = LadspaInstance(rate, 2).process(x)
    inst2 = LadspaInstance(rate, 2)
    h = len(x) // 2
    a = inst2.process(x[:h // 2])
    inst2.set(enabled=0)
    b = inst2.process(x[h // 2:h])
    inst2.set(enabled=1)
    c = inst2.process(x[h:])
    y2 = np.concatenate([a, b, c])
    fade = int(0.01 * rate) + 1
    assert np.array_equal(y2[:h // 2], ref[:h // 2])
    assert np.array_equal(y2[h // 2 + fade:h], np.concatenate([np.zeros((lat, 2)), x])[h // 2 + fade:h])
    assert np.array_equal(y2[h + fade:], ref[h + fade:])
    # the fades move by at most one step per sample
    assert np.max(np.abs(np.diff(y2[h // 2 - 5:h // 2 + fade + 5], axis=0))) < 0.2


def test_gain_and_limiter():
    rate = 48000
    x = clipped_signal(rate, 2, 1.0)
    ref = LadspaInstance(rate, 2).process(x)
    g = LadspaInstance(rate, 2)
    g.set(gain_db=-6.0)
    y = g.process(x)
    assert np.allclose(y, ref * 10 ** (-6 / 20), atol=1e-6)
    lim = LadspaInstance(rate, 2)
    lim.set(gain_db=12.0, limiter=1, ceiling_db=-3.0)
    y = lim.process(x)
    ceiling = 10 ** (-3 / 20)
    assert np.max(np.abs(y)) <= ceiling * (1 + 1e-6)
    assert np.max(np.abs(y)) > 0.95 * ceiling                # it is loud, not silenced
    # the limiter only turns down where needed: quiet stretches keep the gain
    q = LadspaInstance(rate, 2)
    q.set(limiter=1, ceiling_db=0.0)
    assert np.array_equal(q.process(x), ref)                 # nothing reaches 0 dBFS here


def test_fixed_clip_levels_equal_python_fixed_thresholds():
    rate = 48000
    x = clipped_signal(rate, 2, 1.0)                          # clipped at 0.3 / -0.33
    pos_db, neg_db = np.float32(20 * math.log10(0.2999)), np.float32(20 * math.log10(0.3299))
    pos, neg = 10 ** (float(pos_db) / 20), 10 ** (float(neg_db) / 20)
    ref, core = python_stream(x, rate, threshold=(pos, -neg))
    inst = LadspaInstance(rate, 2)
    inst.set(clip_mode=1, clip_pos_db=pos_db, clip_neg_db=neg_db)
    y = inst.process(x)
    lat = inst.latency
    assert np.max(np.abs(y[lat:] - ref[core:core + len(x) - lat])) <= TOL
    m = inst.meter()
    # the levels in use: the given ones less the stream tolerance, as in
    # Python (rtdeclip.core.levels)
    (upos, uneg), = for_stream([(pos, -neg)])
    assert m["levels"][0] == pytest.approx((20 * math.log10(upos), 20 * math.log10(-uneg)),
                                           abs=1e-4)
    assert 0.009 < pos_db - m["levels"][0][0] < 0.011


def test_fastest_preset_equals_python_fastest():
    rate = 44100
    x = clipped_signal(rate, 1, 1.0)
    ref, core = python_stream(x, rate, preset="fastest")
    inst = LadspaInstance(rate, 1)
    inst.set(preset=1)
    y = inst.process(x)
    lat = inst.latency
    assert np.max(np.abs(y[lat:] - ref[core:core + len(x) - lat])) <= TOL


@pytest.mark.parametrize("family", [{}, {"lossy": True}])
def test_preset_switch_mid_stream_is_gapless(family):
    """The new preset's state is primed alongside the old one, then takes
    over: no silence, no jump, meters follow the new budget; the lossy
    variant's states with their second pass too."""
    rate = 48000
    x = clipped_signal(rate, 2, 2.0)
    inst = LadspaInstance(rate, 2, **family)
    a = inst.process(x[:48000])
    it_average = inst.meter()["iterations"]
    inst.set(preset=1, clip_mode=0)
    b = run_blocks(inst, x[48000:], sizes=512, rng=np.random.default_rng(5))
    y = np.concatenate([a, b])
    lat = inst.latency
    dry = np.concatenate([np.zeros((lat, 2), np.float32), x])[:len(x)]
    # declipped everywhere: where the input is clipped the output goes past it
    clipped = np.abs(dry) >= 0.299
    assert np.mean(np.abs(y[clipped]) > np.abs(dry[clipped]) + 1e-3) > 0.5
    # no click at the switch: no step larger than either preset makes on its own
    steps = [np.max(np.abs(np.diff(LadspaInstance(rate, 2, **family).process(x) if k == 0 else
                                   _with(LadspaInstance(rate, 2, **family), preset=1).process(x),
                                   axis=0)))
             for k in (0, 1)]
    assert np.max(np.abs(np.diff(y, axis=0))) <= 1.2 * max(steps)
    it_fastest = inst.meter()["iterations"]
    assert 0 < it_fastest and it_average > 0 and it_fastest != it_average


def _with(inst, **controls):
    inst.set(**controls)
    return inst


def test_meters():
    rate = 48000
    x = clipped_signal(rate, 2, 1.0)
    inst = LadspaInstance(rate, 2)
    inst.process(x)
    m = inst.meter()
    for pos, neg in m["levels"]:
        assert pos == pytest.approx(20 * math.log10(0.3), abs=0.01)
        assert neg == pytest.approx(20 * math.log10(0.33), abs=0.01)
    true_ratio = np.mean(np.abs(x[-12000:]) >= 0.299)
    assert m["clipped_ratio"] == pytest.approx(true_ratio, abs=0.05)
    # the mean iterations per solved frame: some, and never beyond the
    # default preset's budget at this rate (the plug-in's table is params.py's)
    budget = rate_budget(PRESETS["average"]["iterations"], rate)
    assert 0 < m["iterations"] <= budget, (m["iterations"], budget)


def test_hostile_controls_and_samples():
    rate = 48000
    x = clipped_signal(rate, 2, 0.5).copy()
    x[100:110] = np.nan
    x[200] = np.inf
    x[300:400] = 1e-40
    x[500] = 1e30
    x[600], x[601] = 3e38, -3e38      # finite, but +24 dB of gain would overflow a float
    inst = LadspaInstance(rate, 2)
    for ctl in [dict(preset=float("nan")), dict(preset=7, clip_mode=-3), dict(gain_db=1e9),
                dict(ceiling_db=float("-inf"), limiter=1), dict(clip_mode=1, clip_pos_db=float("nan"),
                                                               clip_neg_db=500), dict(enabled=0.3)]:
        inst.set(**ctl)
        y = inst.process(x)
        assert np.all(np.isfinite(y)), ctl


def smeared(x, seed):
    """x with noise after the clipper (a smeared rail: what the second pass
    and the hedge act on), back on the 16-bit grid."""
    noise = 2e-3 * np.random.default_rng(seed).standard_normal(x.shape)
    return (np.round((x + noise) * 32768) / 32768).astype(np.float32)


@pytest.mark.parametrize("rate,channels", [(22050, 2), (44100, 1), (48000, 2)])
def test_lossy_variant_equals_python_told_a_lossy_codec(rate, channels):
    """rtdeclip_{mono,stereo}_lossy: Declipper(rate, preset, threshold="auto",
    codec="mp3") (its second pass over a smeared rail and its hedge of 2)
    delayed by the limiter's look-ahead, in any block sizes; twice the
    standard core latency plus 8 samples; the second pass acted (not the
    standard variant's output, even hedged); the preset control gives
    fastest's chain, the codec control Opus's (codec="opus"), fixed levels
    the plain fixed-level stream (no smeared rail to name); bypass keeps
    the delay."""
    from plugin_hosts import python_reference
    x = smeared(clipped_signal(rate, channels, 0.8, seed=rate + 3), rate)
    ref, core = python_reference(x, rate, "stereo_lossy")
    standard, std_core = python_stream(x, rate, hedge=2)
    assert core == 2 * std_core + 8
    inst = LadspaInstance(rate, channels, lossy=True)
    y, lat, n = blocks_equal_python(inst, x, rate, ref, core)
    assert np.max(np.abs(y[lat:] - standard[std_core:std_core + n])) > 1e-3   # the pass acted
    assert np.max(np.abs(y)) > 1.05 * np.max(np.abs(x))     # declipped
    inst.close()
    for controls, kw in (({"preset": 1}, {"preset": "fastest"}), ({"codec": 1}, {"codec": "opus"})):
        r, c = python_reference(x, rate, "stereo_lossy", **kw)
        other = LadspaInstance(rate, channels, lossy=True)
        other.set(**controls)
        z = other.process(x)
        assert other.latency == c + limiter_delay(rate) == lat
        assert np.max(np.abs(z[lat:] - r[c:c + n])) <= TOL, controls
        assert np.max(np.abs(z - y)) > 1e-4, controls      # the control acted
        other.close()
    # the fixed-level state (the standard one's) padded to the auto state's latency
    check_fixed_levels_and_bypass(x, rate, channels, lat, dict(lossy=True))
