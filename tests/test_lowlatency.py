"""The lowlatency preset (issue 12): low-delay windows designed in C equal
rtdeclip.core.windows.lowdelay, the latency stays within 12 ms at every
common rate, and it declips."""
import numpy as np
import pytest

import rtdeclip
from rtdeclip.core.windows import lowdelay


@pytest.mark.parametrize("window,hop,ls,la", [(1024, 256, 512, 0), (4096, 512, 2048, 0),
                                              (4096, 512, 2048, 512), (2048, 256, 512, 0),
                                              (512, 64, 512, 0), (512, 64, 512, 192)])
def test_c_lowdelay_windows_equal_python(window, hop, ls, la):
    d = rtdeclip.Declipper(48000, window=window, hop=hop, window_shape="lowdelay",
                           synthesis_length=ls, lookahead=la, plan="estimate")
    ana, syn = d.windows()
    ref_ana, ref_syn = lowdelay(window, hop, ls, la)
    assert np.allclose(ana, ref_ana, rtol=0, atol=1e-14)
    assert np.allclose(syn, ref_syn, rtol=0, atol=1e-14)
    assert d.latency_samples == ls - 2   # the Hann product is zero at its first sample


@pytest.mark.parametrize("rate", [44100, 48000, 88200, 96000, 192000])
def test_lowlatency_latency_within_12_ms(rate):
    d = rtdeclip.Declipper(rate, channels=2, preset="lowlatency", plan="estimate")
    assert d.settings.window_shape == "lowdelay"
    assert d.latency <= 0.012, d.latency


def test_bad_synthesis_length_is_refused():
    with pytest.raises(ValueError, match="synthesis_length"):
        rtdeclip.Declipper(48000, window=1024, hop=256, window_shape="lowdelay",
                           synthesis_length=100, plan="estimate")


@pytest.mark.parametrize("la", [-1, 100, 256])
def test_bad_lookahead_is_refused(la):
    # 100: not a multiple of the hop; 256: leaves less than two hops
    with pytest.raises(ValueError, match="lookahead"):
        rtdeclip.Declipper(48000, window=1024, hop=256, window_shape="lowdelay",
                           synthesis_length=512, lookahead=la, plan="estimate")
    with pytest.raises(ValueError, match="lookahead"):
        rtdeclip.Declipper(48000, window=1024, hop=256, window_shape="hann", lookahead=256,
                           plan="estimate")


def test_lookahead_window_weighs_only_the_older_samples():
    ana, syn = lowdelay(4096, 512, 2048, 512)
    assert np.all(syn[-512:] == 0) and np.all(syn[:2048] == 0) and np.all(syn[2049:3584] > 0)
    prod = ana * syn
    ola = prod.reshape(8, 512).sum(axis=0)   # every sample under 8 frames
    assert np.allclose(ola, 1.0, atol=1e-12)


def test_lowlatency_declips_with_its_latency():
    sr = 48000
    t = np.arange(sr) / sr
    x = 0.6 * np.sin(2 * np.pi * 330 * t) + 0.3 * np.sin(2 * np.pi * 1210 * t + 1)
    y = np.clip(x, -0.5, 0.5)
    d = rtdeclip.Declipper(sr, preset="lowlatency", threshold=0.5, plan="estimate")
    out = np.concatenate([d.process(y[i:i + 256]) for i in range(0, sr, 256)] + [d.flush()])
    out = out[d.latency_samples:]
    assert len(out) == len(y)
    assert rtdeclip.sdr(x, out) > rtdeclip.sdr(x, y) + 5
