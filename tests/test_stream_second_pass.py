"""A lossy stream's second pass (``Declipper(codec=...)``, ``second_pass``;
``rtd_named`` in csrc/named_stream.c): a second solve, one latency later,
on the clipped set the first solution names, averaged with it, as files
do (core/named.py).  Exact rails must come out as without it, bit for bit,
only later; smeared ones as the cascade written out below, in any block
sizes; and a decoded MP3 must gain from it."""
import subprocess

import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import named, named_stream
from rtdeclip.errors import ParameterError
from rtdeclip.files import encoder_level
from streaming import run
# the hedge's tests' clip and its MP3 128k (clipped at 35 % of its peak, the
# ffmpeg command line)
from test_stream_hedge import clean, mp3  # noqa: F401

SR = 44100


def stream(y, blocks=None, **kw):
    """A stream in blocks of 512 (or ``blocks``), its output aligned."""
    kw.setdefault("preset", "fastest")
    d = rtdeclip.Declipper(SR, channels=y.shape[1], threshold="auto", plan="estimate", **kw)
    return run(d, y, blocks), d


def sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


@pytest.fixture(scope="module")
def mp3_scale():
    """The level LAME took off a 128k MP3 (files/encoder_level.py)."""
    return encoder_level.lame_scale(128)


@pytest.mark.parametrize("preset", ["fastest", "average"])
def test_on_where_the_stream_is_told_it_is_lossy(preset):
    plain = rtdeclip.Declipper(48000, preset=preset)
    assert plain.second_pass == 0
    for codec in ("mp3", "mp3float", "aac", "vorbis", "opus", "libopus"):
        d = rtdeclip.Declipper(48000, preset=preset, codec=codec)
        assert d.second_pass == 2
        # one latency more, and the samples a dip's right flank needs
        assert d.latency_samples == 2 * plain.latency_samples + named.DIP_FLANK
    for codec in ("pcm_s16le", "flac", None):
        assert rtdeclip.Declipper(48000, preset=preset, codec=codec).second_pass == 0
    # fixed levels and a source-rate chain cannot name a set: off, and asked
    # for, a one-line error
    assert rtdeclip.Declipper(48000, preset=preset, codec="mp3", threshold=0.5).second_pass == 0
    assert rtdeclip.Declipper(48000, preset=preset, codec="opus",
                              source_rate=16000).second_pass == 0
    with pytest.raises(ParameterError, match="second_pass needs threshold='auto'"):
        rtdeclip.Declipper(48000, preset=preset, threshold=0.5, second_pass=True)
    assert rtdeclip.Declipper(48000, preset=preset, codec="mp3", second_pass=False).second_pass == 0
    assert rtdeclip.Declipper(48000, preset=preset, second_pass=5).second_pass == 5
    with pytest.raises(ParameterError, match="second_pass must be"):
        rtdeclip.Declipper(48000, preset=preset, second_pass=6)


def test_lowlatency_told_a_codec_too_highquality_never():
    told = rtdeclip.Declipper(48000, preset="lowlatency", codec="mp3")
    plain = rtdeclip.Declipper(48000, preset="lowlatency", codec="mp3", second_pass=False)
    assert (told.second_pass, plain.second_pass) == (2, 0)
    # the price: twice the latency (plus the 8 samples that decide a dip)
    assert told.latency_samples == 2 * plain.latency_samples + named.DIP_FLANK
    assert rtdeclip.Declipper(48000, preset="lowlatency").second_pass == 0   # not told
    assert rtdeclip.Declipper(48000, preset="highquality", codec="mp3").second_pass == 0
    with pytest.raises(ParameterError, match="SPADE solver"):
        rtdeclip.Declipper(48000, preset="highquality", second_pass=2)


@pytest.mark.parametrize("preset", ["fastest", "average"])
def test_exact_rails_come_out_as_without_it_bit_for_bit(clean, preset):
    level = 0.35 * np.abs(clean).max()
    y = np.clip(clean, -level, level)
    plain, d1 = stream(y, preset=preset)
    told, d2 = stream(y, preset=preset, codec="mp3")
    assert d2.second_pass == 2 and d2.detection[0]["method"] == ("exact", "exact")
    np.testing.assert_array_equal(plain, told)
    assert d2.stats["second_pass_frames"] == 0          # nothing named: nothing solved
    assert d2.stats["iterations"] == d1.stats["iterations"]


def cascade(y, preset, shares=(0.0, 0.25)):
    """The second pass written out (the specification rtd_named follows):
    the first stream; every 512 samples its levels and widths as they were
    before them; the named
    sets of each share for the samples its output holds, decided FLANK
    samples later, with the dips (under the declared level, at least 0.7
    of it, with a declared sample whose first solution is 0.5 dB over the
    centre within FLANK on both sides) clipped; one solve per share on them
    (process_given); the mean of the first solution and the shares' mean on
    a smeared channel, a dip the shares' mean alone, other samples inside
    the declared levels as they came."""
    ch, block = y.shape[1], 512
    first = rtdeclip.Declipper(SR, channels=ch, preset=preset, codec="mp3", second_pass=False)
    budget = named_stream.inner_iterations(first.iterations, first.settings)
    inner = [rtdeclip.Declipper(SR, channels=ch, preset=preset, threshold=1.0, hedge=0,
                                iterations=budget) for _ in shares]
    l1, l2, f = first.latency_samples, inner[0].latency_samples, named.DIP_FLANK
    # the inner solves' frame grid lies half a hop ahead of the first's
    # (grid_phase): as a stream preceded by that many more silent samples
    phase = first.settings.hop // 2
    for d in inner:
        d.process_given(np.zeros((phase, ch)), np.zeros((phase, ch), dtype=np.int8))
    x = np.concatenate([y, np.zeros((l1 + l2 + f + block, ch))])
    xin_q, first_q, seen_q = np.zeros((l1, ch)), np.zeros((l2, ch)), np.zeros((l2, ch))
    dip_q = np.zeros((l2, ch), dtype=np.int8)
    freed = 0
    xs, os_ = np.zeros((0, ch)), np.zeros((0, ch))      # every input sample and its o1
    out = []
    for i in range(0, len(x) - block + 1, block):
        b = np.ascontiguousarray(x[i:i + block])
        # the rails as the first stream had them before this block
        declared = np.array(first.thresholds)
        width = np.array([[w or 0.0 for w in det["width_db"]] for det in first.detection])
        smeared = np.array([[m in ("noisy", "codec") for m in det["method"]]
                            for det in first.detection])
        centre = declared * 10 ** (width / 20)
        o1 = first.process(b)
        xin_q = np.concatenate([xin_q, b])
        xin, xin_q = xin_q[:block], xin_q[block:]
        xs, os_ = np.concatenate([xs, xin]), np.concatenate([os_, o1])
        # the samples decided now: f before the newest, f after each known
        u0 = len(xs) - block - f
        dip = np.zeros((block, ch), dtype=np.int8)
        for i in range(block):
            u = u0 + i
            for c in range(ch):
                for pol, sign in ((0, 1), (1, -1)):
                    dec, cen = sign * declared[c, pol], sign * centre[c, pol]
                    v = sign * xs[u, c] if u >= 0 else 0.0
                    if not smeared[c, pol] or not (0.7 * dec <= v < dec):
                        continue

                    def high(a):
                        return 0 <= a and sign * xs[a, c] >= dec and \
                            sign * os_[a, c] >= 10 ** (0.5 / 20) * cen
                    if any(high(u - g) for g in range(1, f + 1)) and \
                            any(high(u + g) for g in range(1, f + 1)):
                        dip[i, c] = sign
        xin = np.array([xs[u] if u >= 0 else np.zeros(ch) for u in range(u0, u0 + block)])
        o1 = np.array([os_[u] if u >= 0 else np.zeros(ch) for u in range(u0, u0 + block)])
        seconds = []
        for d, share in zip(inner, shares):
            k = 10 ** (share * width / 20)
            hi = (xin >= declared[:, 0]) & (~smeared[:, 0] | (o1 >= k[:, 0] * centre[:, 0]))
            lo = (xin <= declared[:, 1]) & (~smeared[:, 1] | (o1 <= k[:, 1] * centre[:, 1]))
            given = (hi.astype(np.int8) - lo.astype(np.int8)) * smeared.any(axis=1)
            given = np.where(dip != 0, dip, given)
            seconds.append(d.process_given(np.ascontiguousarray(xin), given.astype(np.int8)))
        freed += int(np.count_nonzero(dip))
        dip_q = np.concatenate([dip_q, dip])
        gone, dip_q = dip_q[:block], dip_q[block:]
        first_q = np.concatenate([first_q, o1])
        fo, first_q = first_q[:block], first_q[block:]
        seen_q = np.concatenate([seen_q, xin])
        seen, seen_q = seen_q[:block], seen_q[block:]
        mixed = fo.copy()
        on = smeared.any(axis=1)
        mixed[:, on] = 0.5 * (fo[:, on] + np.mean(seconds, axis=0)[:, on])
        mixed[gone != 0] = np.mean(seconds, axis=0)[gone != 0]
        keep = (seen < declared[:, 0]) & (seen > declared[:, 1]) & on & (gone == 0)
        mixed[keep] = seen[keep]
        out.append(mixed)
    return np.concatenate(out)[l1 + l2 + f:l1 + l2 + f + len(y)], freed


@pytest.mark.parametrize("preset", ["fastest", "average"])
def test_a_smeared_rail_is_the_cascade_written_out(mp3, preset):
    out, d = stream(mp3, preset=preset, codec="mp3")
    assert d.detection[0]["method"] == ("codec", "codec")
    assert d.stats["second_pass_frames"] > 0
    want, freed = cascade(mp3, preset)
    assert freed > 0            # dips were freed
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-12)


def phased_state(phase, window=1024, hop=256):
    """A fixed-level A-SPADE state of the C core with ``grid_phase``."""
    from rtdeclip._core import ffi, lib
    cfg = ffi.new("rtd_config *")
    lib.rtd_config_default(cfg)
    cfg.window, cfg.hop, cfg.max_iterations, cfg.return_last = window, hop, 20, 1
    cfg.plan, cfg.grid_phase = lib.RTD_PLAN_ESTIMATE, phase
    err = ffi.new("int *")
    st = lib.rtd_create(cfg, err)
    if st == ffi.NULL:
        return None, ffi.string(lib.rtd_strerror(err[0])).decode()
    st = ffi.gc(st, lib.rtd_destroy)
    lib.rtd_set_thresholds(st, 0, 0.5, -0.5)
    return st, None


def test_a_grid_phase_is_the_stream_after_that_much_more_silence():
    """``grid_phase`` (what staggers the chain's two states, so a small
    block holds one state's hop, not both): the same latency, and the
    output of a state with phase P is that of a plain state fed P zeros
    first, P samples later, bit for bit; its first hop ends P sooner."""
    from rtdeclip._core import ffi, lib
    rng = np.random.default_rng(5)
    x = np.clip(np.cumsum(rng.standard_normal(6000)) * 0.05, -0.5, 0.5)
    phase = 100
    plain, _ = phased_state(0)
    phased, _ = phased_state(phase)
    assert lib.rtd_latency(phased) == lib.rtd_latency(plain)

    def run_state(st, y):
        out = np.zeros_like(y)
        lib.rtd_process_double(st, ffi.from_buffer("double[]", y),
                               ffi.cast("double *", out.ctypes.data), len(y))
        return out

    def frames(st):
        s = ffi.new("rtd_stats *")
        lib.rtd_get_stats(st, s)
        return s.frames_solved + s.frames_skipped
    run_state(phased, np.zeros(256 - phase))        # one hop ends P sooner
    run_state(plain, np.zeros(256 - phase))
    assert (frames(phased), frames(plain)) == (1, 0)
    phased, _ = phased_state(phase)
    plain, _ = phased_state(0)
    a = run_state(phased, x)
    b = run_state(plain, np.concatenate([np.zeros(phase), x]))
    assert np.abs(a).max() > 0.5                    # it declipped
    np.testing.assert_array_equal(a, b[phase:])
    for bad in (-1, 256):
        st, message = phased_state(bad)
        assert st is None and "grid_phase" in message


def test_any_block_sizes_give_the_same_output(mp3):
    rng = np.random.default_rng(3)
    sizes = list(rng.integers(1, 1500, size=400))
    a, _ = stream(mp3, codec="mp3")
    b, _ = stream(mp3, codec="mp3", blocks=sizes)
    np.testing.assert_array_equal(a, b)
    # float blocks run the same chain (in double inside, as the state does)
    c, d = stream(mp3.astype(np.float32), codec="mp3")
    assert c.dtype == np.float32 and d.stats["second_pass_frames"] > 0
    assert sdr(a, c) > 20


@pytest.mark.parametrize("preset, gain_db", [("fastest", 0.3), ("average", 0.15),
                                             ("lowlatency", 0.8)])
def test_a_decoded_mp3_gains_from_it(clean, mp3, mp3_scale, preset, gain_db):
    """What it is for: on this MP3 (its level brought back as a script
    that read the header would: LAME took 5 % off) the second pass must
    add SDR over the same stream without it (+0.73 / +0.33 / +1.66 dB
    when written)."""
    plain, _ = stream(mp3, preset=preset, codec="mp3", second_pass=False)
    told, _ = stream(mp3, preset=preset, codec="mp3")
    before = sdr(clean, mp3 / mp3_scale)
    assert sdr(clean, plain / mp3_scale) > before + 10     # both declip
    assert sdr(clean, told / mp3_scale) > sdr(clean, plain / mp3_scale) + gain_db


def test_the_live_governors_levers_reach_it(mp3):
    """iterations and the time limit apply to both solves: a budget of 0
    passes the second pass's frames unsolved too, and reset forgets it."""
    d = rtdeclip.Declipper(SR, channels=2, preset="fastest", codec="mp3")
    d.iterations = 0
    for i in range(0, len(mp3), 512):
        d.process(np.ascontiguousarray(mp3[i:i + 512]))
    s = d.stats
    assert s["iterations"] == 0 and s["second_pass_iterations"] == 0
    d.reset()
    assert d.stats["second_pass_frames"] == 0
    d.iterations = 30
    d.set_time_limit(0.5)
    out, _ = stream(mp3, codec="mp3")
    got = run(d, mp3)
    assert d.stats["second_pass_frames"] > 0
    assert sdr(out, got) > 10      # a lower budget, close to the full one's output


def test_live_command_runs_it_when_told_a_lossy_codec(jack, tmp_path):
    """``rtdeclip live|monitor --codec mp3`` runs the second pass (its
    latency in the one printed, its solves in the stats); ``--second-pass
    off`` turns it off; a bad value is a one-line error."""
    import json
    import os
    import sys
    latency = {}
    for extra, want in ((["--codec", "mp3"], 2), (["--codec", "mp3", "--second-pass", "off"], 0),
                        ([], 0), (["--second-pass", "3"], 3)):
        stats = tmp_path / f"s{len(extra)}{want}.json"
        r = subprocess.run([sys.executable, "-m", "rtdeclip", "live", "--demo", "--duration", "1",
                            "--preset", "fastest", "--plain", "--stats", str(stats), *extra],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        s = json.loads(stats.read_text())
        assert s["second_pass"] == want, s
        assert ("second pass: " in r.stdout) == bool(want), r.stdout
        latency[want] = s["latency"]["algorithm"]["samples"]
    assert latency[2] == latency[3] == 2 * latency[0] + named.DIP_FLANK
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "live", "--second-pass", "some"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, JACK_DEFAULT_SERVER="none"))
    assert r.returncode == 1 and "--second-pass must be" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
