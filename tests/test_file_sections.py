"""A file of several recordings: an album ripped to one file, a radio
recording, a DJ mix.  Each track was clipped at a level of its own; one
level per channel and polarity (the loudest track's, as before
core.sections) left the quieter tracks unrepaired: on this playlist
through ``rtdeclip file`` they gained 0.00 dB uncoded and about 1 dB
through MP3, against 7-11 dB each alone.  The file is now cut where the
level changes and each section detected and solved on its own."""
import json
import subprocess
import sys

import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import levels as clip_levels, params
from rtdeclip.core.declipper import Declipper
from rtdeclip.core.offline import aligned
from rtdeclip.examples import music
from rtdeclip.files.audio_io import AudioSource
from rtdeclip.files.sections import solved_in_sections
from playlists import GAP, SR, decoded, encoded, gain, playlist, tracks


def rtdeclip_file(*args):
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "file", *map(str, args)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("codec,share", [(None, 0.8), ("mp3", 0.6)])
def test_rtdeclip_file_declips_each_recording_at_its_own_level(tmp_path, codec, share):
    tr = tracks()
    path = encoded(tmp_path / "album", playlist(tr), codec)
    y = AudioSource(path).read_all()
    out_path, rep_path = tmp_path / "out.wav", tmp_path / "rep.json"
    r = rtdeclip_file(path, "-O", out_path, "--preset", "Fastest", "--report", rep_path)
    out = AudioSource(str(out_path)).read_all()
    assert out.shape == y.shape
    rep = json.loads(rep_path.read_text())
    assert len(rep["sections"]) == len(tr)
    assert "Several recordings: 3 sections" in r.stdout + r.stderr
    one_level = tmp_path / "one.wav"
    rtdeclip_file(path, "-O", one_level, "--preset", "Fastest", "--no-sections")
    one = AudioSource(str(one_level)).read_all()
    pos = 0
    for k, (x, level) in enumerate(tr):
        seg = slice(pos, pos + len(x))
        if k:   # each cut lies in the silence before its track
            assert pos - GAP <= rep["sections"][k]["start_s"] * SR <= pos, k
        pos += len(x) + GAP
        alone_y = decoded(tmp_path / f"track{k}", np.clip(x, -level, level), codec)
        alone = rtdeclip.declip(alone_y, SR, preset="fastest", lossy=codec is not None)
        g = gain(x, y[seg], out[seg])
        g_alone = gain(x, alone_y[:len(x)], alone[:len(x)])
        assert g >= 1.0 and g >= share * g_alone, (k, g, g_alone)
        if k == 2:   # the quietest track, after a louder one: nothing without sections
            assert gain(x, y[seg], one[seg]) < 0.5 * g


def test_tracks_without_gaps_are_cut_where_they_meet():
    """A DJ mix's hard cuts: no silence to find, the cut follows the
    first block only the louder track can hold and the last only the
    earlier louder one can."""
    tr = tracks()
    y = playlist(tr, gap=0)
    out, stats = rtdeclip.declip(y, SR, preset="fastest", return_stats=True)
    starts = np.cumsum([0] + [len(x) for x, _ in tr])
    cuts = [a * SR for a, _, _ in stats[0]["sections"]]
    assert len(cuts) == len(tr)
    assert np.all(np.abs(np.array(cuts) - starts[:-1]) <= 0.02 * SR), cuts
    for k, (x, level) in enumerate(tr):
        seg = slice(starts[k], starts[k + 1])
        alone = np.clip(x, -level, level)
        g_alone = gain(x, alone, rtdeclip.declip(alone, SR, preset="fastest"))
        assert gain(x, y[seg], out[seg]) >= 0.8 * g_alone, k


@pytest.mark.parametrize("codec", [None, "mp3"])
def test_one_recording_stays_one_section(tmp_path, codec):
    """Ten seconds of one clipped recording, loud and soft passages: one
    section, the same samples as with sections off."""
    x = music(SR, seconds=10.0, channels=2, seed=11)
    x *= np.linspace(0.4, 1.0, len(x))[:, None]   # a crescendo
    _, theta = rtdeclip.clip_to_sdr(x.ravel(), 7.0)
    y = decoded(tmp_path / "one", np.clip(x, -theta, theta), codec)
    out, stats = rtdeclip.declip(y, SR, preset="fastest", lossy=codec is not None,
                                 return_stats=True)
    assert "sections" not in stats[0]
    np.testing.assert_array_equal(out, rtdeclip.declip(y, SR, preset="fastest",
                                                       lossy=codec is not None, sections=False))


@pytest.mark.parametrize("preset", ["fastest", "average"])
def test_a_cut_between_equal_levels_changes_no_sample(preset):
    """Sections solved apart, each fed its context on the whole signal's
    frame grid, give the whole solve's samples: the cut itself costs
    nothing, wherever it falls."""
    x = music(SR, seconds=6.0, channels=2, seed=4)
    y = np.clip(x / np.abs(x).max() * 0.95, -0.4, 0.4)

    def solver(k=None):
        return Declipper(SR, channels=2, preset=preset,
                         threshold=clip_levels.Resolved([(0.4, -0.4)] * 2))

    def blocks():
        return (y[i:i + 4096] for i in range(0, len(y), 4096))

    whole = np.concatenate([b.copy() for b in aligned(solver(), blocks())])
    s = params.resolve(SR, preset)
    cuts = [0, len(y) // 3 + 123, len(y) // 2 + 1, len(y)]
    parts = np.concatenate(list(solved_in_sections(
        blocks(), list(zip(cuts[:-1], cuts[1:])), 2 * s.window, s.hop, solver)))
    np.testing.assert_array_equal(parts, whole)


def test_a_section_holding_two_recordings_is_split_where_its_ceiling_steps():
    """The estimator can miss a change (a quieter track through a codec
    waits up to 5.5 s, and the file may end first): a section holding a
    track clipped at 0.70 and one at 0.35 would declare the louder one's
    peaks between the two levels clipped (-15.9 dB through Vorbis q4).
    ``split_mixed`` finds the step in its loudness ceiling and splits it
    there when the two sides' rails differ."""
    from rtdeclip.core import sections
    from rtdeclip.core.detect import detect_clipping
    tr = [(x, lv) for (x, _), lv in zip(tracks(6.0), (0.70, 0.35))]
    y = playlist(tr, gap=0)
    finder = sections.SectionFinder(SR, 2)
    finder.scan(y)

    def detect_all(spans):
        return [detect_clipping(y[a:b], SR) for a, b in spans]
    whole = detect_all([(0, len(y))])[0]
    parts = sections.split_mixed([((0, len(y)), whole)], finder.envelope(), finder.block,
                                 SR, detect_all)
    assert len(parts) == 2
    assert abs(parts[1][0][0] - len(tr[0][0])) <= 0.03 * SR, parts[1][0]
    assert [round(f.positive, 3) for f in parts[0][1]] == [0.7, 0.7]
    assert [round(f.positive, 3) for f in parts[1][1]] == [0.35, 0.35]


def test_a_louder_neighbours_context_is_silenced():
    """Context samples a section's levels would call clipped belong to a
    louder recording: silenced from the offending sample outwards."""
    from rtdeclip.core.sections import quiet_context
    x = np.array([[0.9, 0.1], [0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.1, 0.1], [-0.6, 0.1],
                  [0.2, 0.2]])
    y = quiet_context(x, 2, 4, [(0.5, -0.5), (0.5, -0.5)])
    np.testing.assert_array_equal(y[:, 0], [0, 0.1, 0.2, 0.3, 0.1, 0, 0])
    np.testing.assert_array_equal(y[:, 1], x[:, 1])


def test_progress_goes_on_while_sections_are_sought(tmp_path):
    """The search for recordings is a decoding pass of its own: the
    progress a service or the bar shows keeps rising through it."""
    path = encoded(tmp_path / "album", playlist(tracks(3.0)), None)
    seen = []
    rep = rtdeclip.declip_file(path, str(tmp_path / "out.wav"), preset="Fastest",
                               progress=seen.append)
    assert len(rep["sections"]) == 3
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert any(0.067 < f < 0.1 for f in seen), seen[:20]


def test_a_clipped_recording_after_a_louder_unclipped_one_is_its_own_section():
    """A file whose first recording is louder and not clipped: the whole
    file's detector never saw the second one's exact rail (its samples
    never reached the first one's peak) and took them for a codec's hump
    3 dB wide: 3.5 dB of gain where the recording alone gains 19.8, and
    the first recording's peaks declared clipped.  The stream's estimator
    now switches to the second recording's rail (rail_watch.h, bare), so
    the file is cut there; the first section, with no rail, is left as it
    was."""
    loud = music(SR, seconds=8.0, channels=2, seed=11)
    loud *= 0.95 / np.max(np.abs(loud))
    x = music(SR, seconds=6.0, channels=2, seed=12)
    x *= 0.95 / np.max(np.abs(x))
    clipped = np.clip(x, -0.5, 0.5)
    y = np.concatenate([loud, clipped])
    out = rtdeclip.declip(y, SR, preset="fastest")
    alone = rtdeclip.declip(clipped, SR, preset="fastest")
    n = len(loud)
    g = gain(x, clipped, out[n:])
    g_alone = gain(x, clipped, alone)
    assert g >= 0.8 * g_alone and g > 10.0, (g, g_alone)
    assert np.array_equal(out[:n - SR // 2], loud[:n - SR // 2])


def test_the_log_says_a_section_was_not_clipped(tmp_path):
    """``rtdeclip file`` on such a file: the unclipped section is named as
    such, and no hedge is reported (the exact rail's section is not hedged;
    the whole file's detection, which found a wide codec hump, is not used)."""
    loud = music(SR, seconds=8.0, channels=2, seed=11)
    loud *= 0.95 / np.max(np.abs(loud))
    x = music(SR, seconds=6.0, channels=2, seed=12)
    x *= 0.95 / np.max(np.abs(x))
    path = encoded(tmp_path / "intro", np.concatenate([loud, np.clip(x, -0.5, 0.5)]), None)
    rep_path = tmp_path / "rep.json"
    r = rtdeclip_file(path, "-O", tmp_path / "out.wav", "--preset", "Fastest",
                      "--report", rep_path)
    log = r.stdout + r.stderr
    assert "Several recordings: 2 sections" in log
    assert "section 1, 0:00.00-0:0" in log and "not clipped (left as it is)" in log
    assert "hedged over their width" not in log
    rep = json.loads(rep_path.read_text())
    assert rep["hedge_widths"] is None
    assert [t["detection"] for t in rep["sections"][1]["thresholds"]] == [["exact", "exact"]] * 2


@pytest.mark.parametrize("blank_s,blank_peak,joined", [
    (0.6, 0.30, True),     # the start of the clipped recording, before its rail was right
    (0.6, 0.40, False),    # a louder recording (2.5 dB over), however short
    (3.0, 0.30, False),    # long enough to find a rail of its own: not clipped
])
def test_a_short_section_with_no_rail_of_its_own_is_part_of_its_neighbour(blank_s, blank_peak,
                                                                          joined):
    """The stream's estimate of a rail can be corrected within one
    recording (a rail mirrored from the other polarity, 2.6 dB low on
    speech through Opus, until a burst reached the real one): the file was
    cut there, the 0.6 s before found no rail on its own and was not
    declipped (-4.3 dB on the file).  Such a section joins its neighbour
    unless it is louder or long enough to tell (core.sections)."""
    from rtdeclip.core.detect import ChannelClipping
    from rtdeclip.core.sections import SHORT_S, blank_part_of
    sr = 16000
    blank = [ChannelClipping(None, None)]
    clipped = [ChannelClipping(0.29, -0.29, method=("codec", "codec"), width_db=(2.0, 2.0))]
    spans = [(0, int(blank_s * sr)), (int(blank_s * sr), int(blank_s * sr) + 3 * sr)]
    peaks = {spans[0]: np.array([[blank_peak, blank_peak]]), spans[1]: np.array([[0.31, 0.30]])}
    args = (lambda s: peaks[s], int(SHORT_S * sr))
    assert blank_part_of(blank, clipped, spans[0], spans[1], *args) is joined
    assert blank_part_of(clipped, blank, spans[1], spans[0], *args) is joined
    # two sections without a rail are left as they are (nothing to join)
    assert not blank_part_of(blank, blank, spans[0], spans[1], *args)
