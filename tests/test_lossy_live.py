"""A monitored stream of decoded lossy audio (what a music player sends to a
loopback monitor) through the live host on the JACK dummy server: the
online estimator must find the codec-smeared rails and the output must be
declipped."""
import subprocess

import numpy as np

import rtdeclip
from rtdeclip.examples import music
from rtdeclip.files.audio_io import AudioSource
from audio_files import write_wav
from loopback import play_against_offline

SR, BLOCK = 48000, 256


def tail_sdr(clean, decoded, live, from_s):
    """SDR (mean over channels) of the decoded input and of what the host
    played (aligned), from `from_s` seconds on (the first seconds pass
    while the estimator learns the rails)."""
    tail = slice(int(from_s * SR), len(clean) - SR // 10)
    return (np.mean(rtdeclip.sdr(clean[tail], decoded[tail])),
            np.mean(rtdeclip.sdr(clean[tail], live[tail])))


def script_stream(played, **kw):
    """The host's own Declipper (A-SPADE, fastest, auto levels) streamed
    over what the host is fed, in a script: what the host must play where
    nothing went wrong."""
    d = rtdeclip.Declipper(SR, channels=played.shape[1], preset="fastest", threshold="auto",
                           algorithm="aspade", **kw)
    outs = [d.process(np.ascontiguousarray(played[i:i + 4096]))
            for i in range(0, len(played), 4096)]
    return np.concatenate(outs + [d.flush()])[d.latency_samples:][:len(played)]


def through_host(clean, decoded, **host_kw):
    """``decoded`` played through a live host (``fastest``, auto levels) on
    the JACK server, against the same Declipper in a script
    (``play_against_offline``: a stretch the machine's stalls damaged is
    excused, a run they damaged throughout is played again).  Live equals
    the script, up to the second of silence the host hears first; returns
    play_against_offline's dict (``live``: the host's output, aligned)."""
    from rtdeclip.live import LiveDeclipper
    played = decoded.astype(np.float32).astype(np.float64)
    r = play_against_offline(
        lambda: LiveDeclipper(channels=2, sample_rate=SR, blocksize=BLOCK, preset="fastest",
                              threshold="auto", gain_db=0.0, ceiling_db=None, **host_kw),
        clean, played, script_stream(played, **host_kw))
    assert r["left_out"] <= r["windows"] // 2, r["why"]
    assert abs(r["d_live"] - r["d_off"]) < 0.5, r["why"]
    return r


def mp3_of(tmp_path, clipped):
    """``clipped`` written as 16-bit WAV, encoded by the ffmpeg command line
    (MP3 192k) and decoded."""
    src = write_wav(tmp_path / "c.wav", clipped, SR)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-c:a", "libmp3lame",
                    "-b:a", "192k", str(tmp_path / "c.mp3")], check=True)
    decoded = AudioSource(str(tmp_path / "c.mp3")).read_all()
    assert len(decoded) == len(clipped)
    return decoded


def test_live_host_declips_a_decoded_mp3_stream(jack, tmp_path):
    clean = music(SR, seconds=6.0, channels=2)
    _, theta = rtdeclip.clip_to_sdr(clean[:, 0], 5.0)
    decoded = mp3_of(tmp_path, np.clip(clean, -theta, theta))
    r = through_host(clean, decoded)
    stats = r["stats"]
    assert all(r["method"] == ["codec", "codec"] for r in stats["rails"]), stats["rails"]
    assert all(0.25 <= w <= 4.0 for r in stats["rails"] for w in r["width_db"])
    before, after = tail_sdr(clean, decoded, r["live"], 3.0)   # the last three seconds
    assert after > before + 3, (before, after, r["why"])
    # not told the codec, it ran no second pass, and the stats say what
    # telling it would add (the monitor prints the note at the end)
    assert stats["second_pass"] == 0
    hints = [n for n in stats["threshold_notes"] if "--codec" in n]
    assert len(hints) == 1 and hints[0].startswith("info:"), stats["threshold_notes"]


def test_live_host_told_opus_reads_the_rails_as_a_script_does(jack, tmp_path):
    """A monitor told what it plays (``--codec opus``: LiveDeclipper(codec=
    "opus")) on a decoded Opus stream clipped at input SDR 10: the stats say
    so, the second pass runs, the rails get Opus's own width, as the same Declipper(codec="opus")
    stream run over the decoded file gets them (narrower than the plain
    stream's), and the output is declipped."""
    clean = music(SR, seconds=5.0, channels=2, seed=4)
    _, theta = rtdeclip.clip_to_sdr(clean.ravel(), 10.0)
    src = write_wav(tmp_path / "c.wav", np.clip(clean, -theta, theta), SR)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-c:a", "libopus",
                    "-b:a", "96k", str(tmp_path / "c.opus")], check=True)
    decoded = AudioSource(str(tmp_path / "c.opus")).read_all()

    def script_widths(codec):
        d = rtdeclip.Declipper(SR, 2, preset="fastest", codec=codec)
        for i in range(0, len(decoded), 4096):
            d.process(np.ascontiguousarray(decoded[i:i + 4096]))
        return [w for r in d.detection for w in r["width_db"]]
    plain, told = script_widths(None), script_widths("opus")
    assert max(plain) > 1.8 and max(told) < max(plain) - 0.2
    r = through_host(clean, decoded, codec="opus")
    stats = r["stats"]
    assert stats["codec"] == "opus"
    # told a lossy codec, the host runs the second pass (rtd_named) as the
    # script does: its latency in the host's, its solves counted
    assert stats["second_pass"] == 2 and stats["second_pass_frames"] > 0, stats
    assert not any("--codec" in n for n in stats["threshold_notes"])   # told: no hint
    assert all(r["method"] == ["codec", "codec"] for r in stats["rails"]), stats["rails"]
    live = [w for r in stats["rails"] for w in r["width_db"]]
    # the host saw a second of silence more than the script: the widths of
    # the same rails, within what that moves them
    assert np.allclose(live, told, atol=0.3), (live, told, plain)
    before, after = tail_sdr(clean, decoded, r["live"], 2.0)
    assert after > before + 3, (before, after, r["why"])


def test_live_host_follows_a_players_next_track(jack, tmp_path):
    """A player goes from a track clipped at 0.30 to a louder one clipped
    at 0.60 (one MP3 192k stream, as a monitored player plays it): the host
    starts its estimate afresh (stats ``rail_switches``) and declips the
    second track too.  Before csrc/rail_watch.h the first track's rail
    stood and the second track came out worse than it went in."""
    parts, gap = [], np.zeros((SR // 4, 2))
    for seed, level in ((3, 0.30), (5, 0.60)):
        x = music(SR, seconds=4.0, channels=2, seed=seed)
        x *= 0.95 / np.max(np.abs(x))
        parts.append((x, level))
    clean = np.concatenate([parts[0][0], gap, parts[1][0]])
    clipped = np.concatenate([np.clip(parts[0][0], -0.30, 0.30), gap,
                              np.clip(parts[1][0], -0.60, 0.60)])
    decoded = mp3_of(tmp_path, clipped)
    r = through_host(clean, decoded)
    assert r["stats"]["rail_switches"] >= 2, (r["stats"]["rail_switches"], r["why"])   # both channels
    second = len(parts[0][0]) + len(gap)
    before, after = tail_sdr(clean[second:], decoded[second:], r["live"][second:], 1.0)
    assert after > before + 1, (before, after, r["why"])


def test_the_codec_hint_says_what_telling_the_codec_adds(jack):
    """Left to the default (no second pass), telling the codec adds the
    pass; a host that runs it (``rtdeclip monitor``'s default) or was
    asked not to (``--second-pass off``) can still gain Opus's width and
    DC reject from ``--codec opus``; told the codec, or before any codec
    rail, nothing is said."""
    from rtdeclip.live import LiveDeclipper
    codec = [{"method": ["codec", "codec"], "width_db": [0.5, 0.5]}] * 2
    exact = [{"method": ["exact", "exact"], "width_db": [0.0, 0.0]}] * 2
    for kw, says in (({}, "second time"), ({"second_pass": 0}, "--codec opus"),
                     ({"second_pass": 2}, "--codec opus"), ({"codec": "mp3"}, None),
                     ({"codec": "opus"}, None),
                     ({"source_rate": 16000, "second_pass": 0}, None)):
        with LiveDeclipper(channels=2, sample_rate=SR, blocksize=BLOCK, preset="fastest",
                           threshold="auto", **kw) as h:
            assert h.codec_hint(exact) == [], kw
            hints = h.codec_hint(codec)
            assert len(hints) == (says is not None), (kw, hints)
            assert says is None or (says in hints[0] and hints[0].startswith("info:")), hints
