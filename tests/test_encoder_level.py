"""The level LAME takes off an MP3's input (files.encoder_level): read from
the header of files made the way users make them (the ffmpeg command line,
the lame command line), checked against the decoded level, and put back
by ``rtdeclip file`` on what it declips."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import rtdeclip
from rtdeclip.examples import music
from rtdeclip.files import encoder_level
from rtdeclip.files.audio_io import AudioSource
from audio_files import write_wav

SR = 44100
# how each file is made -> (mode, kb/s, scale) the header must tell, or None
FFMPEG = {"ffmpeg_cbr128": (["-c:a", "libmp3lame", "-b:a", "128k"], ("CBR", 128, 0.95)),
          "ffmpeg_cbr192": (["-c:a", "libmp3lame", "-b:a", "192k"], ("CBR", 192, 0.97)),
          "ffmpeg_cbr224": (["-c:a", "libmp3lame", "-b:a", "224k"], ("CBR", 224, 0.98)),
          "ffmpeg_cbr320": (["-c:a", "libmp3lame", "-b:a", "320k"], ("CBR", 320, 1.0)),
          "ffmpeg_16k_mono": (["-c:a", "libmp3lame", "-b:a", "64k"], ("CBR", 64, 0.95)),
          "ffmpeg_vbr": (["-c:a", "libmp3lame", "-q:a", "2"], None),
          "ffmpeg_no_tag": (["-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0"], None)}
LAME = {"lame_cbr128": (["-b", "128"], ("CBR", 128, 0.95)),
        "lame_abr128": (["--abr", "128"], ("ABR", 128, 0.95)),
        "lame_cbr256": (["-b", "256"], ("CBR", 256, 1.0)),
        "lame_vbr": (["-V", "2"], None)}


# sources other than 44.1 kHz stereo: (rate, channels)
SOURCE = {"ffmpeg_16k_mono": (16000, 1)}


def tone(sr=SR, seconds=2.0, channels=2):
    t = np.arange(int(sr * seconds)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1250 * t)
    return np.ascontiguousarray(np.repeat(x[:, None], channels, axis=1))


def make(tmp_path, name, x, sr=SR):
    src = write_wav(tmp_path / f"{name}.wav", x, sr)
    dst = str(tmp_path / f"{name}.mp3")
    if name.startswith("lame"):
        subprocess.run(["lame", "--quiet", *LAME[name][0], src, dst], check=True, timeout=60)
    else:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, *FFMPEG[name][0],
                        dst], check=True, timeout=60)
    return src, dst


def decoded_gain_db(src, dst):
    """The decoded file's level against its input's (least squares, the
    decoder trims the codec delay)."""
    a, b = AudioSource(src).read_all()[:, 0], AudioSource(dst).read_all()[:, 0]
    n = min(len(a), len(b))
    a, b = a[2048:n - 2048], b[2048:n - 2048]
    return 20 * np.log10(np.dot(a, b) / np.dot(a, a))


@pytest.mark.parametrize("name", list(FFMPEG) + list(LAME))
def test_the_header_tells_the_scale_the_decoded_level_shows(tmp_path, name):
    if name.startswith("lame") and shutil.which("lame") is None:
        pytest.fail("the lame command line is not installed (scripts/apt.d/lossy.txt)")
    expected = (FFMPEG.get(name) or LAME.get(name))[1]
    sr, channels = SOURCE.get(name, (SR, 2))
    src, dst = make(tmp_path, name, tone(sr, channels=channels), sr)
    e = AudioSource(dst).encoder_level
    if expected is None:
        assert e is None
    else:
        assert (e.mode, e.kbps, e.scale) == expected
        assert e.encoder.startswith("LAME3." if name.startswith("lame") else "Lavc")
    if name == "ffmpeg_no_tag":
        return   # scaled, but nothing says so (and no gapless header to align by)
    # the scale read is the one the encoder applied, to 0.01 dB
    told = 20 * np.log10(e.scale) if e is not None else 0.0
    assert abs(decoded_gain_db(src, dst) - told) < 0.01


def test_other_files_and_broken_headers_tell_nothing(tmp_path):
    src, dst = make(tmp_path, "ffmpeg_cbr128", tone())
    head = open(dst, "rb").read()
    start = encoder_level._skip_id3(head)
    assert encoder_level.parse(head[start:]).scale == 0.95
    # cut anywhere in the tag frame or in the frames after it: no scale, no error
    for cut in range(0, 1200, 7):
        e = encoder_level.parse(head[start:start + cut])
        assert e is None or e.scale == 0.95
    rng = np.random.default_rng(1)
    for _ in range(50):
        noisy = bytearray(head[start:start + 4096])
        for k in rng.integers(0, len(noisy), 20):
            noisy[k] = int(rng.integers(0, 256))
        encoder_level.parse(bytes(noisy))   # never raises
    assert encoder_level.parse(b"") is None
    assert AudioSource(src).encoder_level is None
    ogg = tmp_path / "t.ogg"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-c:a", "libvorbis",
                    str(ogg)], check=True, timeout=60)
    assert AudioSource(str(ogg)).encoder_level is None


def file_command(tmp_path, path, ref, tag, *extra):
    out, rep = tmp_path / f"o_{tag}.wav", tmp_path / f"r_{tag}.json"
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "file", path, "--output", str(out),
                        "--reference", ref, "--preset", "Fastest", "--report", str(rep), *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout, json.loads(rep.read_text()), AudioSource(str(out)).read_all()


def test_a_declipped_mp3_is_brought_back_to_the_level_encoded(tmp_path):
    clean = music(SR, 3.0, 2, seed=3)
    _, level = rtdeclip.clip_to_sdr(clean.ravel(), 20.0)   # light clipping: input SDR 20
    ref = write_wav(tmp_path / "clean.wav", clean, SR)
    _, path = make(tmp_path, "ffmpeg_cbr128", np.clip(clean, -level, level))
    said, rep, out = file_command(tmp_path, path, ref, "restored")
    said_k, rep_k, out_k = file_command(tmp_path, path, ref, "kept", "--keep-level")
    assert rep["clipping_found"] and rep_k["clipping_found"]
    assert rep["encoder_level"] == {"encoder": rep["encoder_level"]["encoder"], "mode": "CBR",
                                    "kbps": 128, "scale": 0.95}
    assert rep["level_restored_db"] == pytest.approx(-20 * np.log10(0.95))
    assert rep_k["level_restored"] == 1.0
    assert "the encoder scaled its input by 0.95 (-0.45 dB); the declipped output is brought " \
           "back to the level that was encoded (+0.45 dB" in said
    assert "scaled its input by 0.95 (-0.45 dB); kept (--keep-level)" in said_k
    # the same solve, raised by 1/0.95
    assert out.shape == out_k.shape
    assert np.allclose(out, out_k / 0.95, atol=1e-6)
    # and closer to the recording that was encoded
    gain = rep["sdr"]["mix"]["improvement_db"]
    assert gain > rep_k["sdr"]["mix"]["improvement_db"] + 1.0, (gain, rep_k["sdr"])
    # levels are reported as the file has them (its rails, 0.45 dB under the clip level)
    est = rep["thresholds"][0]["estimated_positive_dbfs"]
    assert abs(est - (20 * np.log10(level * 0.95))) < 0.1


def test_an_mp3_that_did_not_clip_keeps_its_level(tmp_path):
    quiet = 0.3 * music(SR, 2.0, 2, seed=5) / np.max(np.abs(music(SR, 2.0, 2, seed=5)))
    ref = write_wav(tmp_path / "clean.wav", quiet, SR)
    _, path = make(tmp_path, "ffmpeg_cbr128", quiet)
    said, rep, out = file_command(tmp_path, path, ref, "unclipped")
    assert not rep["clipping_found"] and rep["level_restored"] == 1.0
    assert "kept, as nothing was declipped" in said
    assert np.array_equal(out, AudioSource(path).read_all().astype(np.float32))
