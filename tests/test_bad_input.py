"""Bad input, everywhere (issue 5): every public function rejects wrong
shapes, dtypes and parameter values with a ValueError naming the parameter;
NaN/Inf in a stream are replaced and counted and the stream recovers on the
next hop; offline, the error names the first bad sample."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import rtdeclip

SR = 8000
SMALL = dict(preset="fastest", window=256, plan="estimate")


def names(param, fn, *args, **kwargs):
    """fn(*args, **kwargs) raises ValueError whose message names `param`
    (as a word, so "s" is not found inside "samples")."""
    with pytest.raises(ValueError) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    assert re.search(rf"(?<![\w.]){re.escape(param)}(?!\w)", msg), \
        f"ValueError does not name {param!r}: {msg!r}"
    return msg


# -- Declipper(...) ----------------------------------------------------------

@pytest.mark.parametrize("param,value", [
    ("sample_rate", 0), ("sample_rate", -44100), ("sample_rate", float("nan")),
    ("sample_rate", float("inf")), ("sample_rate", "48000"), ("sample_rate", True),
    ("sample_rate", None),
    ("channels", 0), ("channels", 1025), ("channels", 1.5), ("channels", "2"), ("channels", True),
    ("preset", "bogus"), ("preset", 3), ("preset", None),
    ("algorithm", "spade"), ("algorithm", 0),  # None: the preset's
    ("threshold", "bogus"), ("threshold", 0), ("threshold", -0.5), ("threshold", float("nan")),
    ("threshold", (0.5,)), ("threshold", (0.0, -0.5)), ("threshold", (0.5, 0.0)),
    ("threshold", (0.5, float("nan"))), ("threshold", [0.5, 0.5, 0.5]), ("threshold", object()),
    ("threshold", True),
    ("window", 100), ("window", 8), ("window", 2 ** 17), ("window", 256.0), ("window", "1024"),
    ("window", 0), ("window", -256),
    ("hop", 0), ("hop", 100), ("hop", 256), ("hop", 16), ("hop", 64.5), ("hop", -64),
    ("redundancy", 3), ("redundancy", 0), ("redundancy", 8), ("redundancy", 2.0),
    ("iterations", 0), ("iterations", -1), ("iterations", 1.5), ("iterations", "10"),
    ("s", 0), ("s", -2), ("s", 1.5), ("r", 0), ("r", "1"),
    ("epsilon", -0.1), ("epsilon", float("nan")), ("epsilon", float("inf")), ("epsilon", "0.1"),
    ("window_shape", "triangle"), ("window_shape", 1),
    ("plan", "fast"), ("plan", None),
])
def test_declipper_rejects(param, value):
    kw = dict(SMALL, channels=1, threshold=0.5)
    kw[param] = value
    sr = kw.pop("sample_rate", SR)
    if param == "threshold":  # a per-channel list must match the channels
        kw["channels"] = 2
    names(param, rtdeclip.Declipper, sr, **kw)


def test_declipper_rejects_lowdelay_synthesis_length():
    names("synthesis_length", rtdeclip.Declipper, SR, window_shape="lowdelay", synthesis_length=8,
          **SMALL)
    names("synthesis_length", rtdeclip.Declipper, SR, window_shape="lowdelay", synthesis_length=4096,
          **SMALL)


@pytest.fixture
def stereo():
    return rtdeclip.Declipper(SR, channels=2, threshold=0.5, **SMALL)


@pytest.mark.parametrize("block", [
    [[0.0, 0.0]],                                  # not an array
    np.zeros((10, 2), dtype=np.int16),             # integer samples
    np.zeros((10, 2), dtype=np.complex128),
    np.zeros((10, 2), dtype=np.float16),
    np.zeros((10, 2), dtype=object),
    np.zeros((10, 3)),                             # wrong channel count
    np.zeros((10, 1)),
    np.zeros(10),                                  # 1-D for a stereo declipper
    np.zeros((10, 2, 1)),                          # 3-D
    np.zeros(()),                                  # 0-D
])
def test_process_rejects_block(stereo, block):
    names("block", stereo.process, block)


@pytest.mark.parametrize("out", [
    np.zeros((10, 2), dtype=np.float32),           # dtype differs from the block
    np.zeros((11, 2)),                             # shape differs
    np.zeros((2, 10)).T,                           # not C-contiguous
    [[0.0, 0.0]] * 10,                             # not an array
])
def test_process_rejects_out(stereo, out):
    names("out", stereo.process, np.zeros((10, 2)), out=out)


def test_rejected_calls_leave_the_stream_alone():
    """A rejected block must not advance the stream: output afterwards is
    the same as if the bad calls never happened."""
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(size=(3000, 2)) * 0.5, -0.5, 0.5)
    a = rtdeclip.Declipper(SR, channels=2, threshold=0.5, **SMALL)
    b = rtdeclip.Declipper(SR, channels=2, threshold=0.5, **SMALL)
    ya = [a.process(x[:1000])]
    for bad in (np.zeros((5, 3)), np.zeros((5, 2), dtype=np.int32)):
        with pytest.raises(ValueError):
            a.process(bad)
    with pytest.raises(ValueError):
        a.process(x[1000:], out=np.zeros((5, 2)))
    ya.append(a.process(x[1000:]))
    yb = b.process(x)
    assert np.array_equal(np.concatenate(ya), yb)


def test_flush_rejects_dtype(stereo):
    stereo.process(np.zeros((10, 2)))
    names("dtype", stereo.flush, np.int16)


@pytest.mark.parametrize("value", [-1, 1.5, "10", None, float("nan")])
def test_iterations_setter_rejects(stereo, value):
    def set_it():
        stereo.iterations = value
    names("iterations", set_it)
    # unchanged: the preset's budget, scaled from 48 to 8 kHz
    assert stereo.iterations == stereo.settings.iterations \
        == 6 * rtdeclip.core.params.PRESETS["fastest"]["iterations"]


def test_iterations_setter_accepts_zero(stereo):
    stereo.iterations = 0  # documented: clipped frames pass through unsolved
    assert stereo.iterations == 0


@pytest.mark.parametrize("value", [-0.001, float("nan"), float("inf"), "1", None])
def test_set_time_limit_rejects(stereo, value):
    names("seconds", stereo.set_time_limit, value)


@pytest.mark.parametrize("frame,mask", [
    (np.zeros(100), np.zeros(100, dtype=np.int8)),
    (np.zeros(256), np.zeros(255, dtype=np.int8)),
    (np.zeros((256, 1)), np.zeros(256, dtype=np.int8)),
])
def test_solve_frame_rejects_shape(frame, mask):
    d = rtdeclip.Declipper(SR, threshold=0.5, **SMALL)
    with pytest.raises(ValueError, match="frame"):
        d.solve_frame(frame, mask)


def test_solve_frame_rejects_bad_mask():
    d = rtdeclip.Declipper(SR, threshold=0.5, **SMALL)
    names("mask", d.solve_frame, np.zeros(256), np.full(256, 2))
    names("frame", d.solve_frame, np.full(256, np.nan), np.zeros(256))


# -- NaN / Inf in a live stream ----------------------------------------------

def music(n, channels=1, level=0.5, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / SR
    x = sum(rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * rng.uniform(80, 1500) * t + rng.uniform(0, 6))
            for _ in range(4))
    return np.clip(np.repeat(x, channels, axis=1), -level, level)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threshold", [0.5, "auto"])
def test_stream_nonfinite_replaced_counted_and_recovered(bad, dtype, threshold):
    """NaN/Inf samples are replaced by 0 and counted; they never reach the
    solver's state: once the frames that contain them have left, the output
    is bit-identical to a stream that had zeros there all along."""
    w = 256
    hop = w // 4
    x = music(6000, 2).astype(dtype)
    where = [(1000, 0), (1001, 0), (1500, 1), (3333, 0), (3333, 1)]
    dirty, clean = x.copy(), x.copy()
    for i, c in where:
        dirty[i, c] = bad
        clean[i, c] = 0.0
    kw = dict(SMALL, threshold=threshold, channels=2)
    d_dirty = rtdeclip.Declipper(SR, **kw)
    d_clean = rtdeclip.Declipper(SR, **kw)
    y_dirty = np.concatenate([d_dirty.process(dirty[i:i + 97]) for i in range(0, len(x), 97)])
    y_clean = d_clean.process(clean)
    assert np.all(np.isfinite(y_dirty))
    assert d_dirty.stats["nonfinite_samples"] == len(where)
    assert d_clean.stats["nonfinite_samples"] == 0
    assert np.array_equal(y_dirty, y_clean)
    # and the stream is healthy after them: from one window + latency past the
    # last bad sample on, the output is the clean stream's (here: identical
    # everywhere, which implies it), and restoring still happens
    lat = d_dirty.latency_samples
    tail = slice(3333 + w + lat, None)
    assert d_dirty.stats["frames_solved"] > 0
    assert np.array_equal(y_dirty[tail], y_clean[tail])
    assert hop > 0


def test_stream_all_nan_block_then_recovers():
    """A block of nothing but NaN (a dropped-out device) is silence to the
    declipper; the stream goes on and matches a fresh stream on the next
    window."""
    d = rtdeclip.Declipper(SR, threshold=0.5, **SMALL)
    ref = rtdeclip.Declipper(SR, threshold=0.5, **SMALL)
    x = music(4000)[:, 0]
    y1 = d.process(np.full(1024, np.nan))
    assert np.array_equal(y1, np.zeros(1024))
    assert d.stats["nonfinite_samples"] == 1024
    y = d.process(x)
    yr = ref.process(np.concatenate([np.zeros(1024), x]))[1024:]
    assert np.array_equal(y, yr)
    assert np.all(np.isfinite(y))


# -- declip(...) offline -----------------------------------------------------

@pytest.mark.parametrize("shape,where", [
    ((500,), (123,)), ((500, 2), (7, 1)), ((500, 3), (499, 2)), ((500, 2), (0, 0)),
])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_declip_names_first_bad_sample(shape, where, bad):
    y = music(shape[0], 1 if len(shape) == 1 else shape[1])
    y = y[:, 0] if len(shape) == 1 else y
    y = y.copy()
    y[where] = bad
    # a later bad sample must not be the one named
    later = (shape[0] - 1,) if len(shape) == 1 else (shape[0] - 1, shape[1] - 1)
    if later != where:
        y[later] = np.nan
    msg = names("y", rtdeclip.declip, y, SR, **SMALL)
    frame, channel = where[0], (where[1] if len(where) == 2 else 0)
    assert f"frame {frame}," in msg and f"channel {channel}" in msg, msg


@pytest.mark.parametrize("y", [
    [0.0, 0.1, 0.2],
    np.zeros(100, dtype=np.int32),
    np.zeros(100, dtype=np.complex64),
    np.zeros(0),
    np.zeros((0, 2)),
    np.zeros((100, 0)),
    np.zeros((10, 2, 2)),
    np.zeros(()),
    np.zeros((10, 1025)),
])
def test_declip_rejects_y(y):
    param = "channels" if isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[1] > 1024 else "y"
    names(param, rtdeclip.declip, y, SR, **SMALL)


@pytest.mark.parametrize("param,value", [
    ("sample_rate", 0), ("sample_rate", "x"), ("preset", "loud"), ("algorithm", "x"),
    ("threshold", 0), ("threshold", "x"), ("window", 1000), ("hop", 7), ("redundancy", 3),
    ("iterations", 0), ("s", 0), ("r", 0), ("epsilon", -1), ("window_shape", "x"),
    ("plan", "x"), ("jobs", 0), ("jobs", -1), ("jobs", 1.5), ("jobs", "2"),
])
def test_declip_rejects(param, value):
    kw = dict(SMALL)
    kw[param] = value
    sr = kw.pop("sample_rate", SR)
    names(param, rtdeclip.declip, music(600, 2), sr, **kw)


# -- metrics and detection ---------------------------------------------------

def test_sdr_rejects():
    names("reference", rtdeclip.sdr, np.zeros(5), np.zeros(6))
    names("reference", rtdeclip.sdr, np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    names("reference", rtdeclip.sdr, np.zeros(0), np.zeros(0))
    names("reference", rtdeclip.sdr, np.array(["a", "b"]), np.zeros(2))


def test_clip_to_sdr_rejects():
    x = music(1000)[:, 0]
    names("x", rtdeclip.clip_to_sdr, np.zeros(0), 10)
    names("x", rtdeclip.clip_to_sdr, np.zeros(100), 10)       # silence cannot be clipped
    names("x", rtdeclip.clip_to_sdr, np.array([np.nan, 1.0]), 10)
    names("target_sdr_db", rtdeclip.clip_to_sdr, x, float("nan"))
    names("target_sdr_db", rtdeclip.clip_to_sdr, x, "10")
    names("target_sdr_db", rtdeclip.clip_to_sdr, x, 500)      # unreachable


def test_detect_clipping_rejects():
    names("x", rtdeclip.detect_clipping, np.zeros((4, 2, 2)))
    names("x", rtdeclip.detect_clipping, np.array(["a", "b"]))
    names("x", rtdeclip.detect_clipping, np.array([np.nan, 1.0]))
    names("tolerance", rtdeclip.detect_clipping, np.zeros(10), tolerance=-1)


# -- issue 8, part 3: the live host and its commands -------------------------

@pytest.mark.parametrize("param,value", [
    ("gain_db", float("nan")), ("gain_db", 100), ("gain_db", "-6"), ("gain_db", True),
    ("ceiling_db", 6), ("ceiling_db", float("nan")),     # a gain where a ceiling was meant
    ("channels", 0), ("blocksize", 0), ("margin_blocks", 1),
    ("on_block", 5), ("record_seconds", -1), ("record_seconds", float("nan")),
    ("preset", "Fastes"), ("threshold", (0.5, 0.5)),
])
def test_live_host_rejects_before_opening_the_device(jack, param, value):
    from rtdeclip.live import LiveDeclipper
    # margin and ceiling name themselves without the _db/_blocks suffix
    names(param.replace("_blocks", "").replace("ceiling_db", "ceiling"), LiveDeclipper,
          **{param: value})


@pytest.mark.parametrize("record,word", [("adir", "folder"), ("take.mp3", ".wav"),
                                         ("nodir/take.wav", "folder does not exist")])
def test_live_host_rejects_a_bad_recording_path(jack, tmp_path, record, word):
    from rtdeclip.live import LiveDeclipper
    (tmp_path / "adir").mkdir()
    before = set(os.listdir(tmp_path))
    with pytest.raises(rtdeclip.errors.RtdeclipError, match=re.escape(word)):
        LiveDeclipper(record=str(tmp_path / record))
    assert set(os.listdir(tmp_path)) == before


def live_cli(tmp_path, *args):
    before = set(os.listdir(tmp_path))
    r = subprocess.run([sys.executable, "-m", "rtdeclip", *args], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path, env=dict(os.environ))
    return r, set(os.listdir(tmp_path)) - before


@pytest.mark.parametrize("args,words", [
    (["live", "--sample-rate", "44100"], ["44100 Hz", "48000 Hz"]),   # the server runs at 48 kHz
    (["live", "--channels", "64"], ["64 channels"]),
    (["live", "--input", "99"], ["99", "rtdeclip devices"]),
    (["live", "--output", "no such card"], ["no such card"]),
    (["live", "--record", "adir"], ["adir", "folder"]),
    (["live", "--record", "take.mp3"], [".wav"]),
    (["live", "--stats", "adir"], ["adir", "folder"]),
    (["live", "--gain", "100"], ["--gain"]),
    (["live", "--ceiling", "6"], ["--ceiling"]),
    (["live", "--preset", "highquality"], ["preset"]),
    (["live", "--threshold=-1,-1,-1"], ["--threshold"]),
    (["live", "--blocksize", "many"], ["--blocksize"]),
    (["monitor", "--preset", "Fastes"], ["preset"]),
    (["monitor", "--connect", "nobody"], ["nobody"]),
    (["devices", "--all"], ["--all"]),
])
def test_live_commands_fail_in_one_line_writing_nothing(jack, tmp_path, args, words):
    (tmp_path / "adir").mkdir()
    r, created = live_cli(tmp_path, *args, "--duration", "1") if args[0] != "devices" else \
        live_cli(tmp_path, *args)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtdeclip: error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not created, created
