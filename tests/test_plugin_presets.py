"""The plug-ins' preset table (csrc/presets.c, compiled into the extension
too) equals rtdeclip/core/params.py: the table itself, rate_budget,
rate_schedule and resolve() at every rate from 8 to 192 kHz.  A preset
added in Python without its C row fails here by name."""
import pytest

from rtdeclip._core import ffi, lib
from rtdeclip.core import params

RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000,
         176400, 192000, 7350, 37800, 50000, 100000, 150000]


def c_presets():
    out = {}
    for i in range(lib.rtd_preset_count()):
        p = lib.rtd_preset_get(i)
        out[ffi.string(p.name).decode()] = p
    return out


def test_same_presets_same_order():
    assert list(c_presets()) == list(params.PRESETS), \
        "csrc/presets.c must list the presets of params.PRESETS, in the same order"


@pytest.mark.parametrize("name", list(params.PRESETS))
def test_table_row(name):
    p, c = params.PRESETS[name], c_presets().get(name)
    assert c is not None, f"preset {name!r} is missing from csrc/presets.c"
    assert c.synthesis_div == (p.get("synthesis_div", 2) if p["window_shape"] == "lowdelay"
                               else 0)
    assert (c.window48, c.hop_div, c.redundancy, c.s, c.r, c.epsilon) == \
        (p["window48"], p["hop_div"], p["redundancy"], p["s"], p["r"], p["epsilon"])
    assert c.iterations48 == (p["iterations"] or 0)
    assert bool(c.warm_start) == p["warm_start"]
    assert c.budget_pool == p.get("budget_pool", 0)
    assert c.precision == params.PRECISIONS[p.get("precision", "double")]
    assert bool(c.past_final) == p.get("past_final", False)
    assert c.lookahead_hops == p.get("lookahead_hops", 0)
    assert (c.adapt_s, c.prior_weight) == (p.get("adapt_s", 0.0), p.get("prior_weight", 0.0))
    assert (c.second_solve, c.second_adapt_s) == (p.get("second_solve", 0),
                                                  p.get("second_adapt_s", 0.0))
    assert c.second_reliable == p.get("second_reliable", 0.0)
    assert c.hedge == p.get("hedge", 0)
    assert c.hedge_budget == p.get("hedge_budget", 1.0)
    assert c.heavy_width == p.get("heavy_width", 1.0)


@pytest.mark.parametrize("name", list(params.PRESETS))
@pytest.mark.parametrize("rate", RATES)
def test_resolve(name, rate):
    # the plug-ins, like the live host, run SPADE: highquality's social
    # solver (blocks of seconds) is offline only
    st = params.resolve(rate, name, algorithm="aspade")
    cfg = ffi.new("rtd_config *")
    lib.rtd_config_default(cfg)
    assert lib.rtd_preset_config(lib.rtd_preset_find(name.upper().encode()), rate, cfg) == 0
    assert (cfg.window, cfg.hop, cfg.redundancy, cfg.s, cfg.r, cfg.epsilon) == \
        (st.window, st.hop, st.redundancy, st.s, st.r, st.epsilon)
    assert cfg.algorithm == params.ALGORITHMS[st.algorithm]
    assert cfg.max_iterations == (st.iterations or 0)
    assert cfg.return_last == (st.iterations is not None)   # as Declipper sets it
    assert bool(cfg.warm_start) == st.warm_start
    assert cfg.budget_pool == st.budget_pool
    assert cfg.precision == params.PRECISIONS[st.precision]
    assert cfg.synthesis_length == (st.synthesis_length if st.window_shape == "lowdelay" else 0)
    assert bool(cfg.past_final) == st.past_final
    assert cfg.lookahead == st.lookahead
    assert (cfg.adapt_s, cfg.prior_weight) == (st.adapt_s, st.prior_weight)
    # as Declipper sets it: the second trajectory shares a budget
    assert cfg.second_solve == (st.second_solve if st.iterations is not None else 0)
    assert cfg.second_adapt_s == st.second_adapt_s
    assert cfg.second_reliable == st.second_reliable
    assert cfg.hedge == st.hedge
    assert cfg.hedge_budget == st.hedge_budget
    assert cfg.heavy_width == st.heavy_width


def test_rate_scaling_functions():
    for it48 in (1, 30, 60, 110, 333):
        for rate in RATES + [1000, 4000, 5999, 6000, 384000]:
            assert lib.rtd_rate_budget(it48, rate) == params.rate_budget(it48, rate)
    s, r = ffi.new("int *"), ffi.new("int *")
    for s48 in (1, 2, 5, 6, 9):
        for r48 in (1, 2, 3, 4, 6):
            for w48 in (1024, 2048, 4096):
                for w in (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384):
                    lib.rtd_rate_schedule(s48, r48, w, w48, s, r)
                    assert (s[0], r[0]) == params.rate_schedule(s48, r48, w, w48)


def test_realtime_presets_are_the_plugins_choices():
    """The plug-ins offer the presets with a budget, in table order; the
    LADSPA port name and the LV2 scale points spell them (checked against
    the plug-ins in test_plugins_meta.py)."""
    names = [ffi.string(lib.rtd_preset_get(lib.rtd_preset_realtime(k)).name).decode()
             for k in range(lib.rtd_preset_realtime_count())]
    assert names == [n for n, p in params.PRESETS.items() if p["iterations"] is not None]
    assert names[:2] == ["average", "fastest"]   # the plug-ins' ports offer these two
    # and the low-latency variants' preset port has the one value 2
    # (engine.c rtdp_control_table_lowlatency; rtdp_create checks it too)
    assert names[2] == "lowlatency"
    assert lib.rtd_preset_realtime(len(names)) == -1
    assert lib.rtd_preset_find(b"nonsense") == -1
