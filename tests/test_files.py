"""``rtdeclip file``: real decoders, real files, the command in a subprocess."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rtdeclip
from rtdeclip.files.audio_io import AudioSource
from audio_files import encode, signal, write_wav
from on_terminal import run_on_terminal


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rtdeclip", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


def test_wav_with_reference_report_and_service_log(tmp_path):
    clean, clipped = signal()
    inp = write_wav(tmp_path / "song.wav", clipped, 44100)
    ref = write_wav(tmp_path / "orig.wav", clean, 44100)
    r = cli("file", inp, "--reference", ref, "--preset", "Fastest",
            "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "Declipped_song.wav"
    assert out.exists() and "Estimated clipping threshold for channel 1: -10.46 dB" in r.stdout
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["sdr"]["mix"]["improvement_db"] > 5
    assert all(c["improvement_db"] > 5 for c in rep["sdr"]["channels"])
    assert rep["thresholds"][0]["clipped_high"] > 0 and rep["format"] == "float32"
    y = AudioSource(str(out)).read_all()
    assert y.shape == clipped.shape
    assert np.max(np.abs(y)) > 0.31           # peaks restored above the clip level, not re-clipped


def test_file_output_equals_processing_in_one_piece(tmp_path):
    clean, clipped = signal(seconds=3.0)
    x = np.round(clipped * 32768) / 32768
    inp = write_wav(tmp_path / "a.wav", x, 44100)
    r = cli("file", inp, "--preset", "fastest", "--quiet")
    assert r.returncode == 0, r.stderr
    y = AudioSource(str(tmp_path / "Declipped_a.wav")).read_all()
    levels = [c.thresholds for c in rtdeclip.detect_clipping(x)]
    whole = rtdeclip.declip(x, 44100, preset="fastest", threshold=levels)
    assert np.max(np.abs(y - whole.astype(np.float32))) == 0


@pytest.mark.parametrize("ext,codec,sr", [("flac", "flac", 44100), ("mp3", "libmp3lame", 44100),
                                          ("ogg", "libvorbis", 44100), ("opus", "libopus", 48000),
                                          ("m4a", "aac", 44100)])
def test_compressed_inputs(tmp_path, ext, codec, sr):
    clean, clipped = signal(sr)
    clipped = clipped[:-7]   # not a whole number of milliseconds (MP4 edit lists are in ms)
    import av
    if codec not in av.codecs_available:
        codec = {"libvorbis": "vorbis"}.get(codec, codec)
    inp = encode(tmp_path / f"in.{ext}", clipped, sr, codec)
    r = cli("file", inp, "--preset", "fastest", "--quiet")
    assert r.returncode == 0, r.stderr
    y = AudioSource(str(tmp_path / "Declipped_in.wav")).read_all()
    x = AudioSource(inp).read_all()
    assert y.shape == x.shape
    if codec != "vorbis":   # ffmpeg's own (experimental) Vorbis encoder does not mark its padding
        assert y.shape == clipped.shape   # the encoder's delay and padding removed: the original length


def test_no_clipping_is_copied_bit_exact(tmp_path):
    clean, _ = signal()
    inp = write_wav(tmp_path / "clean.wav", 0.5 * clean, 44100, fmt="float32")
    r = cli("file", inp, "--output", tmp_path / "o.wav")
    assert r.returncode == 0, r.stderr
    assert "No clipping found" in r.stdout
    a = AudioSource(inp).read_all()
    b = AudioSource(str(tmp_path / "o.wav")).read_all()
    assert np.array_equal(a, b)


def test_pcm_output_gets_headroom_gain(tmp_path):
    clean, _ = signal()
    x = np.clip(1.6 * clean, -0.98, 0.98)               # restored peaks go above full scale
    inp = write_wav(tmp_path / "loud.wav", x, 44100)
    r = cli("file", inp, "--format", "pcm16", "--preset", "fastest", "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["gain_applied"] < 1.0 and "Gain applied" in r.stdout
    y = AudioSource(str(tmp_path / "Declipped_loud.wav")).read_all()
    # the smallest gain: the restored peak lands on full scale, nothing beyond
    assert y.max() <= 32767 / 32768 and y.min() >= -1.0
    assert y.max() == 32767 / 32768 or y.min() == -1.0
    assert abs(rep["output_peak"] * rep["gain_applied"] - 1.0) < 1e-4
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".rtdeclip")]


@pytest.mark.parametrize("sr,channels", [(8000, 1), (96000, 6)])
def test_rates_and_channel_counts(tmp_path, sr, channels):
    clean, clipped = signal(sr, seconds=1.0, channels=channels)
    inp = write_wav(tmp_path / "x.wav", clipped, sr, fmt="pcm24")
    r = cli("file", inp, "--preset", "fastest", "--format", "pcm24", "--quiet")
    assert r.returncode == 0, r.stderr
    y = AudioSource(str(tmp_path / "Declipped_x.wav")).read_all()
    assert y.shape == clipped.shape


def test_pcm16_input_without_clipping_is_copied_unchanged(tmp_path):
    clean, _ = signal()
    x = np.round(clean * 32768).clip(-32768, 32767) / 32768   # uses full scale, -1.0 included
    x[100, 0] = -1.0
    inp = write_wav(tmp_path / "full.wav", x, 44100)
    r = cli("file", inp, "--format", "pcm16", "--quiet", "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "r.json").read_text())["gain_applied"] == 1.0
    assert np.array_equal(AudioSource(str(tmp_path / "Declipped_full.wav")).read_all(), x)


def test_service_syntax_and_plot(tmp_path):
    clean, clipped = signal(channels=1)
    inp = write_wav(tmp_path / "clipped.wav", clipped, 44100)
    ref = write_wav(tmp_path / "original.wav", clean, 44100)
    r = cli("aspade", "-c", inp, "-o", ref, "-p", "Fastest", "--plot", tmp_path / "p.png")
    assert r.returncode == 0, r.stderr
    assert "Improvement" in r.stdout and (tmp_path / "Declipped_clipped.wav").exists()
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_several_inputs_one_failing(tmp_path):
    clean, clipped = signal(seconds=1.0)
    a = write_wav(tmp_path / "a.wav", clipped, 44100)
    b = tmp_path / "b.wav"
    b.write_text("not audio")
    c = write_wav(tmp_path / "c.wav", clipped, 44100)
    out = tmp_path / "out"
    out.mkdir()
    r = cli("file", a, b, c, "--output", out, "--jobs", "2", "--preset", "fastest", "--quiet")
    assert r.returncode == 1
    assert sorted(os.listdir(out)) == ["Declipped_a.wav", "Declipped_c.wav"]
    assert "b.wav" in r.stderr and "Traceback" not in r.stderr


def test_threshold_in_dbfs(tmp_path):
    clean, clipped = signal()
    inp = write_wav(tmp_path / "s.wav", clipped, 44100)
    r = cli("file", inp, "--threshold=-10.5,-10.5", "--preset", "fastest")
    assert r.returncode == 0, r.stderr
    assert "-10.50 dB (positive samples) -10.50 dB (negative samples)" in r.stdout


def test_report_json_has_everything(tmp_path):
    clean, clipped = signal(seconds=1.0)
    inp = write_wav(tmp_path / "s.wav", clipped, 44100)
    ref = write_wav(tmp_path / "r.wav", clean, 44100)
    r = cli("file", inp, "--reference", ref, "--preset", "fastest", "--quiet",
            "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    for key in ("thresholds", "preset", "parameters", "iterations_per_frame", "timings", "sdr",
                "output_peak", "gain_applied", "solver", "log", "frames", "sample_rate"):
        assert key in rep, key
    t = rep["thresholds"][1]
    assert abs(t["estimated_positive_dbfs"] - 20 * np.log10(0.3)) < 0.01
    q = np.round(clipped[:, 1] * 32768) / 32768           # as stored in the 16-bit file
    assert t["clipped_high"] == int(np.sum(q >= q.max())) and t["longest_run"] > 1
    par = rep["parameters"]
    # fastest's budget at 48 kHz, scaled to 44.1 kHz
    assert par["iterations"] == round(rtdeclip.core.params.PRESETS["fastest"]["iterations"] * 48 / 44.1)
    assert par["iterations"] <= rep["iterations_per_frame"]["max"] \
        <= max(1, par["budget_pool"]) * par["iterations"]
    assert rep["timings"]["declip_s"] > 0 and rep["output_peak"] > 0.3
    assert rep["log"][0].startswith("User parameters")


def test_dithered_clipping_end_to_end(tmp_path):
    # clipped, then dithered to 16 bits: no two clipped samples are equal
    clean, clipped = signal(seconds=1.5)
    rng = np.random.default_rng(0)
    noisy = clipped + (rng.random(clipped.shape) - rng.random(clipped.shape)) * 2 / 32768
    inp = write_wav(tmp_path / "d.wav", noisy, 44100)
    ref = write_wav(tmp_path / "r.wav", clean, 44100)
    r = cli("file", inp, "--reference", ref, "--preset", "fastest", "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    assert "Estimated clipping threshold for channel 1: -10.4" in r.stdout
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["sdr"]["mix"]["improvement_db"] > 5


@pytest.mark.parametrize("fmt,sr", [("pcm24", 192000), ("float32", 8000), ("pcm16", 22050)])
def test_input_sample_formats_and_rates(tmp_path, fmt, sr):
    clean, clipped = signal(sr, seconds=0.5)
    inp = write_wav(tmp_path / "x.wav", clipped, sr, fmt=fmt)
    r = cli("file", inp, "--preset", "fastest", "--report", tmp_path / "r.json", "--quiet")
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["sample_rate"] == sr and rep["thresholds"][0]["detection"] == ["exact", "exact"]
    assert AudioSource(str(tmp_path / "Declipped_x.wav")).read_all().shape == clipped.shape


def test_progress_bar_only_on_a_terminal(tmp_path):
    _, clipped = signal(seconds=1.0)
    inp = write_wav(tmp_path / "s.wav", clipped, 44100)
    r = cli("file", inp, "--preset", "fastest", "--output", tmp_path / "a.wav")
    assert r.returncode == 0 and "ETA" not in r.stderr        # not a terminal
    rc, seen = run_on_terminal("file", inp, "--preset", "fastest",
                              "--output", str(tmp_path / "b.wav"))
    assert rc == 0
    assert b"ETA" in seen and b"100.0 %" in seen
    rc, seen = run_on_terminal("file", inp, "--preset", "fastest", "--quiet",
                              "--output", str(tmp_path / "c.wav"))
    assert rc == 0 and b"ETA" not in seen      # --quiet


def test_python_function(tmp_path):
    clean, clipped = signal(seconds=1.0)
    inp = write_wav(tmp_path / "s.wav", clipped, 44100)
    ref = write_wav(tmp_path / "r.wav", clean, 44100)
    seen = []
    rep = rtdeclip.declip_file(inp, reference=ref, preset="Fastest", format="pcm24",
                               progress=seen.append)
    assert rep["output"] == str(tmp_path / "Declipped_s.wav") and os.path.exists(rep["output"])
    assert rep["sdr"]["mix"]["improvement_db"] > 5 and seen[-1] == 1.0
    assert any(line.startswith("Mix of all channels") for line in rep["log"])
    with pytest.raises(rtdeclip.UserError, match="nope.wav"):
        rtdeclip.declip_file(str(tmp_path / "nope.wav"))
