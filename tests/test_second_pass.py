"""The second pass over smeared rails (rtdeclip.core.named): the clipped
set given per sample (Declipper.process_given, the C core's
rtd_process_given_double), and files and arrays solved again on the set
their hedge names."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import hedge, named
from rtdeclip.core.declipper import Declipper
from rtdeclip.core.levels import Resolved
from rtdeclip.core.offline import aligned
from rtdeclip.errors import ParameterError
from rtdeclip.examples import music
from rtdeclip.files.audio_io import AudioSource
from audio_files import write_wav

SR = 44100


@pytest.fixture(scope="module")
def clean():
    return music(SR, 2.0, 2, seed=3)


@pytest.fixture(scope="module")
def vorbis(clean, tmp_path_factory):
    """The clean clip clipped at input SDR 7, through Vorbis q4 with the
    ffmpeg command line, decoded by rtdeclip's decoder."""
    tmp = tmp_path_factory.mktemp("vorbis")
    _, theta = rtdeclip.clip_to_sdr(clean.ravel(), 7.0)
    src = write_wav(tmp / "c.wav", np.clip(clean, -theta, theta), SR)
    dst = str(tmp / "c.ogg")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-c:a", "libvorbis",
                    "-q:a", "4", dst], check=True)
    d = AudioSource(dst).read_all()
    assert len(d) == len(clean)
    return d, dst


def test_a_given_set_equal_to_the_levels_gives_the_same_samples(clean):
    """process_given with the set the levels would give is the plain stream
    bit for bit, whatever the blocks; after reset() the levels rule again."""
    level = 0.4 * np.abs(clean).max()
    y = np.clip(clean, -level, level)
    mask = (y >= level).astype(np.int8) - (y <= -level).astype(np.int8)

    def make():
        return Declipper(SR, channels=2, preset="fastest", plan="estimate",
                         threshold=Resolved([(level, -level)] * 2))   # no stream tolerance
    plain = np.concatenate([b.copy() for b in aligned(make(), np.array_split(y, 5))])
    d = make()
    lat = d.latency_samples
    parts = [d.process_given(a, m) for a, m in zip(np.array_split(y, 7), np.array_split(mask, 7))]
    given = np.concatenate(parts + [d.flush()])[lat:]
    np.testing.assert_array_equal(given, plain)
    assert np.abs(given).max() > level * 1.05   # it declipped
    d.reset()
    np.testing.assert_array_equal(np.concatenate([b.copy() for b in aligned(d, [y])]), plain)


def test_a_given_set_is_obeyed_sample_by_sample(clean):
    """Samples given as reliable leave as they came even above the levels;
    samples given as clipped end at or beyond their value."""
    level = 0.4 * np.abs(clean).max()
    y = np.clip(clean[:, :1], -level, level)
    mask = (y >= level).astype(np.int8) - (y <= -level).astype(np.int8)
    keep = np.flatnonzero(mask[:, 0] > 0)[::3]       # a third of the high ones: reliable
    mask[keep, 0] = 0
    d = Declipper(SR, channels=1, preset="fastest", plan="estimate",
                  threshold=Resolved([(level, -level)]))
    out = np.concatenate([d.process_given(y, mask), d.flush()])[d.latency_samples:]
    np.testing.assert_array_equal(out[mask == 0], y[mask == 0])
    assert np.all(out[mask > 0] >= y[mask > 0]) and np.all(out[mask < 0] <= y[mask < 0])
    assert np.any(out[mask > 0] > y[mask > 0] + 0.01)


def test_process_given_refuses_what_it_cannot_do():
    y = np.zeros((480, 1))
    with pytest.raises(ParameterError, match="shape"):
        Declipper(48000, preset="fastest", threshold=0.5).process_given(y, np.zeros(480, np.int8))
    with pytest.raises(ParameterError, match="source_rate"):
        Declipper(48000, preset="fastest", threshold=0.5, source_rate=16000).process_given(
            y, np.zeros((480, 1), np.int8))


def test_the_second_pass_is_the_mean_of_the_hedge_and_the_named_solves(vorbis):
    """declip on a decoded Vorbis file: the hedge's output averaged with
    five solves on the sets it names (declared-set samples its solution
    lifts over the rail's centre by 0-1/2 of its width; the rest kept) and
    the dips (under the declared level, at least 0.7 of it, with a named
    sample 0.5 dB over the centre within 8 samples on both sides), each fed
    one hedge latency and 8 samples late as inside the pipeline; a dip the
    solves' mean alone, other samples inside the declared levels untouched;
    cut into any blocks, the same."""
    d, _ = vorbis
    d = d[:SR]
    found = rtdeclip.detect_clipping(d, SR, lossy=True)
    assert all(m == "codec" for f in found for m in f.method)
    first = rtdeclip.declip(d, SR, preset="fastest", lossy=True, second_pass=False)
    both = rtdeclip.declip(d, SR, preset="fastest", lossy=True)
    sets = hedge.level_sets(found)
    l1 = hedge.Hedged(lambda lv: Declipper(SR, channels=2, preset="fastest",
                                           threshold=Resolved(lv)), sets).latency_samples
    seconds = []
    width = np.array([f.width_db for f in found])
    f8 = named.DIP_FLANK
    cp, cn = np.array([[f.positive, f.negative] for f in found]).T
    dp, dn = np.array([[f.declared_positive, f.declared_negative] for f in found]).T
    dips = np.zeros(d.shape, dtype=np.int8)
    for sign, dec, cen in ((1, dp, cp), (-1, dn, cn)):
        high = np.pad((sign * d >= sign * dec) & (sign * first >= 10 ** (0.5 / 20) * sign * cen),
                      ((f8, f8), (0, 0)))
        win = np.lib.stride_tricks.sliding_window_view(high, f8, axis=0)
        left, right = win[:len(d)].any(axis=-1), win[f8 + 1:].any(axis=-1)
        dip = (sign * d < sign * dec) & (sign * d >= 0.7 * sign * dec) & left & right
        dips[dip] = sign
    assert np.count_nonzero(dips) > 0
    for share in named.SHARES:
        kp, kn = (10 ** (share * width / 20)).T
        mask = ((d >= dp) & (first >= kp * cp)).astype(np.int8) - \
            ((d <= dn) & (first <= kn * cn)).astype(np.int8)
        assert 0 < np.count_nonzero(mask) < np.count_nonzero((d >= dp) | (d <= dn))
        mask = np.where(dips != 0, dips, mask)
        s = Declipper(SR, channels=2, preset="fastest", threshold=Resolved(sets[2]))
        l2 = s.latency_samples
        pad = np.zeros((l1 + f8, 2))
        out = s.process_given(np.concatenate([pad, d, np.zeros((l2, 2))]),
                              np.concatenate([pad, mask, np.zeros((l2, 2))]).astype(np.int8))
        seconds.append(out[l1 + f8 + l2:l1 + f8 + l2 + len(d)])
    expect = 0.5 * (first + np.mean(seconds, axis=0))
    expect[dips != 0] = np.mean(seconds, axis=0)[dips != 0]
    inside = (d < dp) & (d > dn) & (dips == 0)
    np.testing.assert_array_equal(both[inside], d[inside])
    np.testing.assert_allclose(both[~inside], expect[~inside], rtol=0, atol=1e-12)
    assert not np.allclose(both, first, atol=1e-3)
    # the pipeline's wrapper on blocks of any size gives the same samples
    def run(cuts):
        def make(lv):
            return Declipper(SR, channels=2, preset="fastest", threshold=Resolved(lv))
        with named.Named(hedge.Hedged(make, sets), lambda: make(sets[2]), found) as n:
            return np.concatenate([b.copy() for b in aligned(n, np.array_split(d, cuts))])
    np.testing.assert_allclose(run(1), both, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(run(13), run(1))


def test_the_second_pass_gains_on_a_lossy_file_and_the_file_command_says_so(clean, vorbis,
                                                                             tmp_path):
    """rtdeclip file on the Vorbis file: with the second pass (default) the
    SDR against the clean signal rises over the hedge alone
    (--no-second-pass), the log and the report say which ran, and the
    output keeps the input's length."""
    _, path = vorbis
    ref = write_wav(tmp_path / "clean.wav", clean, SR)

    def run(*extra):
        out, rep = tmp_path / f"o{len(extra)}.wav", tmp_path / f"r{len(extra)}.json"
        r = subprocess.run([sys.executable, "-m", "rtdeclip", "file", path, "--output", str(out),
                            "--preset", "Fastest", "--reference", ref, "--report", str(rep),
                            *extra], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stdout, json.loads(rep.read_text()), AudioSource(str(out)).read_all()
    log2, rep2, out2 = run()
    log1, rep1, out1 = run("--no-second-pass")
    assert "then solved again on the clipped set the hedge names" in log2
    assert "solved again" not in log1
    assert rep2["second_pass_shares"] == list(named.SHARES)
    assert rep1["second_pass_shares"] is None
    assert rep2["solver"]["second_pass_members"] == len(named.SHARES)
    assert rep2["solver"]["second_pass_iterations"] > 0
    assert len(out2) == len(out1) == len(clean)
    gain2, gain1 = (rtdeclip.sdr(clean, o).mean() for o in (out2, out1))
    assert gain2 > gain1 + 0.2, (gain1, gain2)


def test_exact_rails_are_solved_once_with_or_without_the_second_pass(clean):
    """Uncoded clipping (exact rails) never reaches the second pass: the
    same samples either way, and so for given levels."""
    level = 0.4 * np.abs(clean).max()
    y = np.clip(clean[:SR // 2], -level, level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for th in ("auto", level):
            np.testing.assert_array_equal(
                rtdeclip.declip(y, SR, preset="fastest", threshold=th, lossy=True),
                rtdeclip.declip(y, SR, preset="fastest", threshold=th, lossy=True,
                                second_pass=False))


def test_a_batch_folder_made_before_the_second_pass_resumes_only_without_it():
    """An output folder whose summary predates the option (outputs made
    without the second pass) is resumed by --no-second-pass and refused,
    in one line naming how they were made, by the default."""
    from rtdeclip.cluster.summary import Summary
    old = {"options": {"preset": "fastest", "algorithm": "aspade", "threshold": "auto",
                       "format": "float32", "hedge": True}}
    now = dict(old["options"], second_pass=False, sections=False, restore_level=False,
               dc_restore=False)
    Summary.check_options(old, now, "out")
    with pytest.raises(ParameterError, match="second_pass=False") as e:
        Summary.check_options(old, dict(now, second_pass=True), "out")
    assert "\n" not in str(e.value)
    # ... and made before sections (core.sections) existed: without them
    with pytest.raises(ParameterError, match="sections=False"):
        Summary.check_options(old, dict(now, sections=True), "out")
    # ... and before MP3s were brought back to their level: --keep-level
    with pytest.raises(ParameterError, match="restore_level=False"):
        Summary.check_options(old, dict(now, restore_level=True), "out")
    # ... and before an Opus file's DC reject was undone: --no-dc-restore
    with pytest.raises(ParameterError, match="dc_restore=False"):
        Summary.check_options(old, dict(now, dc_restore=True), "out")
