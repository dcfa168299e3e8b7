"""Pieces of the live host that need no audio device: the look-ahead
limiter, the WAV writer, argument checking."""
import os
import subprocess
import sys

import numpy as np
import pytest

from rtdeclip.live.limiter import Limiter
from rtdeclip.files.audio_io import AtomicWav, read_wav


def run_blocks(lim, x, rng):
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 700))
        out.append(lim.process(x[i:i + n].copy()))
        i += n
    return np.concatenate(out)


def test_limiter_holds_the_ceiling_with_any_blocks():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((48000, 2)) * 0.5).astype(np.float32)
    x[1000, 1] = 8.0
    lim = Limiter(48000, 2, ceiling_db=-1.0, max_block=700)
    y = run_blocks(lim, x, rng)
    assert np.abs(y).max() <= lim.ceiling * (1 + 1e-6)
    assert lim.limited_samples > 0 and lim.min_gain < 0.2


def test_limiter_is_an_exact_delay_away_from_peaks():
    rng = np.random.default_rng(1)
    t = np.arange(48000) / 48000
    x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2, 1).astype(np.float32)
    x[20000, 0] = 2.0
    lim = Limiter(48000, 2, ceiling_db=-1.0, max_block=700)
    y = run_blocks(lim, x, rng)
    d = lim.latency_samples
    err = np.abs(y[d:] - x[:-d]).max(axis=1)
    near = np.zeros(len(err), bool)
    near[20000 - lim.L:20000 + lim.W + lim.L] = True
    assert err[~near].max() == 0.0          # untouched: bit-exact, delayed
    assert y[20000 + d, 0] <= lim.ceiling * (1 + 1e-6)


def test_limiter_rejects_a_bad_ceiling():
    with pytest.raises(ValueError, match="ceiling"):
        Limiter(48000, 2, ceiling_db=3.0)


def test_wav_writer_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "take.wav"
    w = AtomicWav(str(path), 44100, 3)
    x = np.random.default_rng(2).standard_normal((1000, 3)).astype(np.float32)
    w.write(x[:300])
    w.write(x[300:])
    assert not path.exists()                # only the hidden temporary so far
    w.commit()
    y, rate = read_wav(str(path))
    assert rate == 44100 and np.array_equal(x, y)
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]
    w2 = AtomicWav(str(tmp_path / "gone.wav"), 44100, 1)
    w2.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]


@pytest.mark.parametrize("args,word", [
    (["--preset", "Best"], "preset"), (["--sample-rate", "100"], "sample-rate"),
    (["--samplerate", "100"], "sample-rate"),
    (["--channels", "0"], "channels"), (["--blocksize", "3"], "blocksize"),
    (["--ceiling", "loud"], "ceiling"), (["--ceiling", "2"], "ceiling"),
    (["--margin", "1"], "margin"), (["--threshold", "3"], "threshold"),
    (["--record", "/no/such/dir/x.wav"], "folder"), (["--duration", "-1"], "duration")])
def test_bad_arguments_are_one_line_errors(args, word):
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "live", *args], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, JACK_DEFAULT_SERVER="none"))
    assert r.returncode == 1
    assert r.stderr.startswith("rtdeclip: error:") and word in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_event_log_keeps_order_capacity_and_counts_the_rest():
    from rtdeclip.live.events import EventLog, summary
    log = EventLog(capacity=3)
    assert log.as_list() == [] and summary(log.as_list()) == ""
    for t, kind in ((0.5, "late"), (1.25, "output_underflow"), (2.0, "driver_xrun"),
                    (3.0, "input_overflow")):
        log.add(t, kind)
    assert log.as_list() == [[0.5, "late"], [1.25, "output_underflow"], [2.0, "driver_xrun"]]
    assert log.dropped == 1
    assert summary(log.as_list(), most=2) == "late at 0.50 s, output underflow at 1.25 s (+1 more)"
    with pytest.raises(ValueError):
        log.add(4.0, "no such kind")


def test_auto_hedge_gives_each_trajectory_a_core():
    """--hedge auto: processors // channels trajectories, 2 to 5, else off
    (fastest and average at least their own 2); off with given levels;
    lowlatency's second solve goes on besides."""
    from rtdeclip.core.cores import auto_hedge, describe
    table = {(2, 2): 0, (2, 3): 0, (2, 4): 2, (2, 6): 3, (2, 8): 4, (2, 10): 5, (2, 64): 5,
             (1, 1): 0, (1, 2): 2, (1, 3): 3, (1, 4): 4, (1, 5): 5, (6, 11): 0, (6, 12): 2}
    for (channels, cpus), n in table.items():
        # fastest and average: never fewer than their own 2 (a lane solving
        # two of fastest's frames is cheaper than one average lane; average
        # shares its budget between the pair)
        assert auto_hedge(channels, "Average", True, cpus=cpus) == max(n, 2), (channels, cpus)
        assert auto_hedge(channels, "fastest", True, cpus=cpus) == max(n, 2), (channels, cpus)
        # lowlatency (no hedge of its own): from a processor per channel
        # and trajectory, else off
        assert auto_hedge(channels, "lowlatency", True, cpus=cpus) == n
        # whatever it picks leaves no lane more than one solve per hop
        assert n * channels <= cpus
    assert auto_hedge(2, "average", False, cpus=64) == 0
    assert auto_hedge(2, "fastest", False, cpus=64) == 0     # given levels: nothing to hedge
    assert auto_hedge(1, "LowLatency", True, cpus=64) == 5
    assert auto_hedge(1, "HighQuality", True, cpus=64) == 0
    # the console line says what auto needed, per preset
    assert describe(2, "auto", 2, cpus=2, preset="average").endswith("average's own)")
    assert describe(4, "auto", 2, cpus=8, preset="average").endswith(
        "4 per channel, a processor each)")
    assert describe(2, "auto", 2, cpus=4, preset="lowlatency").endswith(
        "2 per channel, a processor each)")
    assert describe(3, "auto", 1, cpus=3, preset="lowlatency").endswith(
        "3 per channel, a processor each)")
    assert describe(0, "auto", 2, cpus=2, preset="highquality").endswith("nothing to hedge)")
    assert describe(0, "auto", 2, cpus=2, preset="lowlatency").endswith("2 per channel need 4)")
    assert describe(3, 3, 2) == "hedge: 3 trajectories over a smeared rail's width"
    assert describe(2, "auto", 2, cpus=2, preset="fastest").endswith("fastest's own)")
