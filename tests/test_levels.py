"""Clip levels typed by hand (issue 8, part 2): a level read off the log
(two decimals) finds the rail it names, offline, in a stream, through the
command line and live; a level nothing reaches, or one below most of the
signal, is said out loud; (pos, neg) pairs with the wrong signs are refused."""
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import levels
from rtdeclip.core.levels import ClipLevelWarning, Resolved
from rtdeclip.examples import music
from audio_files import write_wav

EXACT_DB = -21.3633          # the clip: the log prints -21.36


def clip_at(level_db, sr, seconds=2.0, channels=1):
    """Music clipped at exactly level_db (about 5 dB input SDR)."""
    clean = music(sr, seconds=seconds, channels=channels).reshape(-1, channels)
    _, theta = rtdeclip.clip_to_sdr(clean[:, 0], 5.0)
    target = 10 ** (level_db / 20)
    clean = clean * (target / theta)
    return clean, np.clip(clean, -target, target), target


def roundings(level_db):
    """Both two-decimal roundings of a level (the printed one and its
    neighbour), neither equal to the level itself."""
    lo, hi = math.floor(level_db * 100) / 100, math.ceil(level_db * 100) / 100
    assert lo < level_db < hi
    return lo, hi


def gain(clean, clipped, restored):
    return float(np.mean(rtdeclip.sdr(clean, restored) - rtdeclip.sdr(clean, clipped)))


@pytest.mark.parametrize("typed_db", roundings(EXACT_DB))
def test_typed_level_declips_like_the_exact_one_offline(typed_db):
    sr = 16000
    clean, clipped, theta = clip_at(EXACT_DB, sr)
    kw = dict(preset="fastest", plan="estimate")
    exact = rtdeclip.declip(clipped, sr, threshold=theta, **kw)
    typed, stats = rtdeclip.declip(clipped, sr, threshold=10 ** (typed_db / 20),
                                   return_stats=True, **kw)
    g_exact, g_typed = gain(clean, clipped, exact), gain(clean, clipped, typed)
    assert g_exact > 3
    assert abs(g_typed - g_exact) < 0.5, (typed_db, g_typed, g_exact)
    # it snapped to the rail: the level used is the exact one
    assert stats[0]["thresholds"] == (theta, -theta)


@pytest.mark.parametrize("typed_db", roundings(EXACT_DB))
def test_typed_level_declips_like_the_exact_one_in_a_stream(typed_db):
    sr = 16000
    clean, clipped, theta = clip_at(EXACT_DB, sr, channels=2)

    def stream(threshold):
        d = rtdeclip.Declipper(sr, channels=2, preset="fastest", threshold=threshold,
                               plan="estimate")
        parts = [d.process(clipped[i:i + 256]) for i in range(0, len(clipped), 256)]
        out = np.concatenate(parts + [d.flush()])[d.latency_samples:]
        return out, d

    exact, _ = stream(Resolved([(theta, -theta)] * 2))     # the rail itself, as is
    typed, d = stream(10 ** (typed_db / 20))
    pos, neg = d.thresholds[0]
    assert pos <= theta and neg >= -theta          # the rail counts as clipped
    assert pos > 10 ** ((typed_db - 0.011) / 20)   # by no more than the tolerance
    assert d.stats["clipped_samples"] >= np.count_nonzero(np.abs(clipped) >= theta)
    g_exact, g_typed = gain(clean, clipped, exact), gain(clean, clipped, typed)
    assert g_exact > 3
    assert abs(g_typed - g_exact) < 0.5, (typed_db, g_typed, g_exact)


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rtdeclip", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_level_printed_by_the_log_typed_back_on_the_command_line(tmp_path):
    """The issue's scenario: the log prints the estimated level; typing it
    back (or its other two-decimal rounding) declips as well as auto."""
    sr = 44100
    clean, clipped, theta = clip_at(EXACT_DB, sr, seconds=1.5)
    inp = write_wav(tmp_path / "in.wav", clipped, sr)          # 16-bit: a quantised rail
    ref = write_wav(tmp_path / "clean.wav", clean, sr)
    r = cli("file", inp, "--reference", ref, "--preset", "fastest", "--report",
            tmp_path / "auto.json", "-O", tmp_path / "auto.wav")
    assert r.returncode == 0, r.stderr
    printed = r.stdout.split("Estimated clipping threshold for channel 1: ")[1].split(" dB")[0]
    auto = json.loads((tmp_path / "auto.json").read_text())
    rail_db = auto["thresholds"][0]["estimated_positive_dbfs"]
    assert printed == f"{rail_db:.2f}"
    other = f"{float(printed) + (0.01 if float(printed) < rail_db else -0.01):.2f}"
    for typed in (printed, other):
        rep_path = tmp_path / f"typed{typed}.json"
        r = cli("file", inp, "--reference", ref, "--preset", "fastest", f"--threshold={typed}",
                "--report", rep_path, "-O", tmp_path / f"typed{typed}.wav")
        assert r.returncode == 0, r.stderr
        rep = json.loads(rep_path.read_text())
        t = rep["thresholds"][0]
        assert t["given_positive_dbfs"] == pytest.approx(float(typed), abs=1e-9)
        assert t["positive_dbfs"] == pytest.approx(rail_db, abs=1e-9)    # the level used
        assert t["snapped_to_peak"] == [True, True]
        assert f"level used for channel 1: {rail_db:.4f} dB (positive)" in r.stdout
        assert abs(rep["sdr"]["mix"]["improvement_db"]
                   - auto["sdr"]["mix"]["improvement_db"]) < 0.5, typed
        assert rep["sdr"]["mix"]["improvement_db"] > 3
        assert rep["threshold_notes"] == []


def test_level_above_every_sample_is_reported(tmp_path):
    sr = 16000
    clean, clipped, theta = clip_at(EXACT_DB, sr, seconds=1.0)
    inp = write_wav(tmp_path / "in.wav", clipped, sr, fmt="float32")
    r = cli("file", inp, "--threshold", "-1", "--report", tmp_path / "r.json", "--preset",
            "fastest")
    assert r.returncode == 0, r.stderr
    msg = "no sample reaches the given level -1.00 dBFS (peak -21.36 dBFS): nothing to declip"
    assert msg in r.stdout
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["threshold_notes"] == [msg] and not rep["clipping_found"]
    assert rep["thresholds"][0]["clipped_high"] == 0
    # and from Python
    with pytest.warns(ClipLevelWarning, match=r"no sample reaches the given level -1\.00 dBFS "
                                              r"\(peak -21\.36 dBFS\): nothing to declip"):
        out = rtdeclip.declip(clipped, sr, threshold=10 ** (-1 / 20), preset="fastest",
                              plan="estimate")
    assert np.array_equal(out, clipped)


def test_level_below_most_of_the_signal_is_a_warning_naming_the_share(tmp_path):
    sr = 16000
    clean, clipped, theta = clip_at(EXACT_DB, sr, seconds=1.0)
    low = theta / 30
    share = np.mean(np.abs(clipped) >= low)
    assert share > 0.5
    with pytest.warns(ClipLevelWarning, match=rf"{100 * share:.1f} % of the samples"):
        rtdeclip.declip(clipped, sr, threshold=low, preset="fastest", plan="estimate")
    inp = write_wav(tmp_path / "in.wav", clipped, sr, fmt="float32")
    r = cli("file", inp, f"--threshold={20 * np.log10(low):.2f}", "--preset", "fastest",
            "--quiet", "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    notes = json.loads((tmp_path / "r.json").read_text())["threshold_notes"]
    assert len(notes) == 1 and notes[0].startswith("warning: ") and "% of the samples" in notes[0]


def test_a_few_clipped_samples_are_almost_nothing():
    x = 0.1 * np.sin(np.arange(200000) / 7.0)
    x[1000] = 0.5
    with pytest.warns(ClipLevelWarning, match=r"only 1 sample\(s\) .* almost nothing to declip"):
        rtdeclip.declip(x, 16000, threshold=0.5, preset="fastest", plan="estimate")


def test_exact_level_changes_nothing_and_gives_no_warning():
    """The survey's case: the true level is used as is (no tolerance offline)."""
    sr = 16000
    clean, clipped, theta = clip_at(-6.0, sr, seconds=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClipLevelWarning)
        _, stats = rtdeclip.declip(clipped, sr, threshold=theta, preset="fastest",
                                   plan="estimate", return_stats=True)
    assert stats[0]["thresholds"] == (theta, -theta)


def test_snap_follows_the_quantisation_step():
    # 16-bit rail at code 33 (-59.94 dBFS); typed -60.00 is 0.06 dB off, but
    # within one step
    step = 2.0 ** -15
    rail = 33 * step
    used, snapped = levels.snap([(1e-3, -1e-3)], [(rail, rail)], step)
    assert used[0] == (rail, -rail) and snapped[0] == (True, True)
    used, snapped = levels.snap([(1e-3, -1e-3)], [(rail, rail)], 0.0)   # float: too far
    assert used[0] == (1e-3, -1e-3) and snapped[0] == (False, False)


@pytest.mark.parametrize("pair", [(0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, "x"),
                                  (True, -0.5)])
def test_pairs_with_wrong_signs_are_refused_everywhere(pair):
    with pytest.raises(ValueError, match="threshold"):
        rtdeclip.Declipper(16000, threshold=pair, plan="estimate")
    with pytest.raises(ValueError, match="threshold"):
        rtdeclip.declip(np.zeros(64), 16000, threshold=pair)
    with pytest.raises(ValueError, match="threshold"):
        rtdeclip.declip(np.zeros((64, 2)), 16000, threshold=[pair, (0.5, -0.5)])


def test_live_cli_reports_a_level_nothing_reaches(jack, tmp_path):
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "live", "--demo", "--duration", "2",
                        "--preset", "fastest", "--threshold", "-0.5", "--plain",
                        "--stats", str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "clip levels: channel 1 given -0.50/-0.50 dBFS, used -0.5100/-0.5100 dBFS" in r.stdout
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["thresholds_given"] is not None
    assert len(stats["threshold_notes"]) == 2
    for c, note in enumerate(stats["threshold_notes"]):
        assert note.startswith(f"channel {c + 1}: no sample reaches the given level -0.50 dBFS "
                               f"(peak ") and note.endswith("dBFS): nothing to declip")
        assert note in r.stderr     # the plain view and the last words


@pytest.mark.parametrize("typed_db", roundings(EXACT_DB))
def test_typed_level_declips_like_the_exact_one_live(jack, typed_db):
    from loopback import play_against_offline
    from rtdeclip.live import LiveDeclipper
    sr = 48000
    clean, clipped, theta = clip_at(EXACT_DB, sr, seconds=3.0, channels=2)
    offline = rtdeclip.declip(clipped.astype(np.float32).astype(np.float64), sr,
                              preset="fastest", threshold=theta)
    # equal everywhere unless the host reported xruns or late frames (a
    # stalled machine): each of those may only damage its own stretch
    r = play_against_offline(
        lambda: LiveDeclipper(channels=2, sample_rate=sr, blocksize=256, preset="fastest",
                              threshold=10 ** (typed_db / 20), gain_db=0.0, ceiling_db=None),
        clean, clipped, offline)
    why = f"typed_db={typed_db}, {r['why']}"
    assert r["d_off"] > 3, why
    assert r["left_out"] <= r["windows"] // 2, why
    assert abs(r["d_live"] - r["d_off"]) < 0.5, why
    assert r["stats"]["threshold_notes"] == []
