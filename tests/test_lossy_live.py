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
from loopback import lag_of, play_through

SR, BLOCK = 48000, 256


def tail_sdr(clean, decoded, rec, lat, from_s):
    """SDR (mean over channels) of the decoded input and of what the host
    played, from `from_s` seconds on (the first seconds pass while the
    estimator learns the rails), aligned on the decoded input itself."""
    lag = lag_of(decoded, rec, 4 * lat + 8 * BLOCK)
    live = rec[lag:lag + len(clean)].astype(np.float64)
    tail = slice(int(from_s * SR), len(clean) - SR // 10)
    return (np.mean(rtdeclip.sdr(clean[tail], decoded[tail])),
            np.mean(rtdeclip.sdr(clean[tail], live[tail])))


def mp3_through_host(tmp_path, clipped, **host_kw):
    """``clipped`` written as 16-bit WAV, encoded by the ffmpeg command line
    (MP3 192k), decoded, and played through a live host (``fastest``, auto
    levels): (decoded, recording, host stats, the host's latency)."""
    from rtdeclip.live import LiveDeclipper
    src = write_wav(tmp_path / "c.wav", clipped, SR)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-c:a", "libmp3lame",
                    "-b:a", "192k", str(tmp_path / "c.mp3")], check=True)
    decoded = AudioSource(str(tmp_path / "c.mp3")).read_all()
    assert len(decoded) == len(clipped)
    h = LiveDeclipper(channels=2, sample_rate=SR, blocksize=BLOCK, preset="fastest",
                      threshold="auto", gain_db=0.0, ceiling_db=None, **host_kw)
    rec, stats = play_through(h, decoded)
    return decoded, rec, stats, h.latency["processing"]["samples"]


def test_live_host_declips_a_decoded_mp3_stream(jack, tmp_path):
    clean = music(SR, seconds=6.0, channels=2)
    _, theta = rtdeclip.clip_to_sdr(clean[:, 0], 5.0)
    decoded, rec, stats, lat = mp3_through_host(tmp_path, np.clip(clean, -theta, theta))
    assert all(r["method"] == ["codec", "codec"] for r in stats["rails"]), stats["rails"]
    assert all(0.25 <= w <= 4.0 for r in stats["rails"] for w in r["width_db"])
    before, after = tail_sdr(clean, decoded, rec, lat, 3.0)   # the last three seconds
    assert after > before + 3, (before, after, stats["late_frames"])


def test_live_host_told_opus_reads_the_rails_as_a_script_does(jack, tmp_path):
    """A monitor told what it plays (``--codec opus``: LiveDeclipper(codec=
    "opus")) on a decoded Opus stream clipped at input SDR 10: the stats say
    so, the rails get Opus's own width, as the same Declipper(codec="opus")
    stream run over the decoded file gets them (narrower than the plain
    stream's), and the output is declipped."""
    from rtdeclip.live import LiveDeclipper
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
    h = LiveDeclipper(channels=2, sample_rate=SR, blocksize=BLOCK, preset="fastest",
                      threshold="auto", gain_db=0.0, ceiling_db=None, codec="opus")
    lat = h.latency["processing"]["samples"]
    rec, stats = play_through(h, decoded)
    assert stats["codec"] == "opus"
    assert all(r["method"] == ["codec", "codec"] for r in stats["rails"]), stats["rails"]
    live = [w for r in stats["rails"] for w in r["width_db"]]
    # the host saw a second of silence more than the script: the widths of
    # the same rails, within what that moves them
    assert np.allclose(live, told, atol=0.3), (live, told, plain)
    before, after = tail_sdr(clean, decoded, rec, lat, 2.0)
    assert after > before + 3, (before, after, stats["late_frames"])


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
    decoded, rec, stats, lat = mp3_through_host(tmp_path, clipped)
    assert stats["rail_switches"] >= 2, stats["rail_switches"]   # both channels
    second = len(parts[0][0]) + len(gap)
    before, after = tail_sdr(clean[second:], decoded[second:], rec[second:], lat, 1.0)
    assert after > before + 1, (before, after, stats["late_frames"])
