"""An Opus encoder's DC reject undone before declipping (core/dc_restore.py,
csrc/dc_restore.h): libopus high-passes its input at 3 Hz, so the slow mean
clipping gives a signal is taken off and both rails move with it.  Files
made with the ffmpeg command line, decoded by rtdeclip's own decoder."""
import numpy as np
import pytest

import rtdeclip
from rtdeclip.core import dc_restore
from rtdeclip.core.metrics import clip_to_sdr
from rtdeclip.files.audio_io import AudioSource
from audio_files import write_wav
from test_lossy import ffmpeg, glottal_speech

SR = 16000


def libopus_dc_reject(x, rate, cutoff_hz=3.0):
    """libopus's dc_reject (opus_encoder.c, float build): out = x - m,
    m = coef * x + (1 - coef) * m, coef = 6.3 * cutoff / Fs."""
    coef = 6.3 * cutoff_hz / rate
    out, m = np.empty_like(x), 0.0
    for i, v in enumerate(x):
        out[i] = v - m
        m = coef * v + (1.0 - coef) * m
    return out


def sdr(ref, x):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - x) ** 2))


def test_the_inverse_undoes_libopus_dc_reject_whatever_the_blocks():
    rng = np.random.default_rng(2)
    x = np.clip(glottal_speech(48000, 1.0), -0.5, 0.3)   # asymmetric: a moving mean
    hp = libopus_dc_reject(x, 48000)
    assert np.max(np.abs(hp - x)) > 0.03                   # the encoder moved the rails
    back, tripped = dc_restore.restored(hp, 48000)
    assert not tripped[0]
    np.testing.assert_allclose(back, x, atol=1e-9)
    r = dc_restore.DcRestorer(1, 48000)
    cuts = np.cumsum(rng.integers(1, 3000, 40))
    pieces = [r.push(p.reshape(-1, 1)) for p in np.split(hp, cuts[cuts < len(hp)])]
    np.testing.assert_allclose(np.concatenate(pieces)[:, 0], back, atol=1e-12)


def test_a_signal_that_keeps_its_dc_trips_the_guard_and_is_let_go():
    t = np.arange(48000) / 48000
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05        # never DC-rejected
    y, tripped = dc_restore.restored(x, 48000)
    assert tripped[0]
    assert np.max(np.abs(y - x)) <= 0.3 + 0.05 + 1e-9   # m stopped at the peak
    assert abs(y[-1] - x[-1]) < 1e-3                     # ... and decayed away


@pytest.mark.parametrize("preset", ["fastest", "highquality"])   # SPADE, social
def test_the_stream_restores_as_the_file_path_does(preset):
    """C (rtd_set_dc_restore) against Python (core.dc_restore): nothing
    clipped, so the stream's output is its restored input high-passed at
    0.3 Hz (dc_restore_out, Highpass), delayed."""
    x = libopus_dc_reject(0.3 * glottal_speech(48000, 1.5), 48000)
    d = rtdeclip.Declipper(48000, preset=preset, codec="opus", second_pass=False)
    assert d.dc_restore
    out = np.concatenate([d.process(x[i:i + 700]) for i in range(0, len(x), 700)] + [d.flush()])
    want, _ = dc_restore.restored(x, 48000)
    want = dc_restore.highpassed(want, 48000)
    np.testing.assert_allclose(out[d.latency_samples:][:len(x)], want, atol=1e-9)
    assert d.stats["dc_restore_tripped"] == 0
    assert not rtdeclip.Declipper(48000, preset="fastest", codec="mp3").dc_restore


@pytest.fixture(scope="module")
def clipped_opus_voice(tmp_path_factory):
    """Speech at 16 kHz clipped to input SDR 7 dB through libopus 96k: the
    file decodes at 48 kHz; the clean reference resampled there by ffmpeg."""
    tmp = tmp_path_factory.mktemp("opus_voice")
    x = glottal_speech(SR, 3.0, microphone=True)
    _, theta = clip_to_sdr(x, 7.0)
    clean = write_wav(tmp / "clean.wav", x.reshape(-1, 1), SR)
    clip = write_wav(tmp / "clip.wav", np.clip(x, -theta, theta).reshape(-1, 1), SR)
    opus = ffmpeg(clip, tmp / "clip.opus", ["-c:a", "libopus", "-b:a", "96k"])
    ref = ffmpeg(clean, tmp / "clean48.wav", ["-ar", "48000"])
    return tmp, opus, ref


def test_a_clipped_opus_voice_file_gains_with_its_dc_put_back(clipped_opus_voice):
    tmp, opus, ref = clipped_opus_voice
    gains = {}
    for dc in (True, False):
        r = rtdeclip.declip_file(opus, str(tmp / f"out_{dc}.wav"), reference=ref,
                                 preset="fastest", dc_restore=dc)
        gains[dc] = r["sdr"]["mix"]["improvement_db"]
        assert r["dc_restored"] == ([True] if dc else None)
    # measured 23.2 against 17.8 (a voice as a microphone records it; the
    # glottal flow's own mean kept, 22.5 against 7.5 before the output's
    # high-pass)
    assert gains[True] > gains[False] + 2.0, gains
    log = "\n".join(rtdeclip.declip_file(opus, str(tmp / "again.wav"), preset="fastest")["log"])
    assert "3 Hz DC reject" in log


def test_a_clipped_opus_voice_stream_gains_with_its_dc_put_back(clipped_opus_voice):
    tmp, opus, ref = clipped_opus_voice
    y = AudioSource(opus).read_all()
    clean = AudioSource(ref).read_all()
    gains = {}
    for dc in (None, False):
        d = rtdeclip.Declipper(48000, preset="fastest", source_rate=16000, codec="libopus",
                               dc_restore=dc)
        outs = [d.process(np.ascontiguousarray(y[i:i + 512])) for i in range(0, len(y), 512)]
        out = np.concatenate(outs + [d.flush()])[d.latency_samples:][:len(y)]
        n = min(len(out), len(clean))
        gains[dc] = sdr(clean[:n], out[:n]) - sdr(clean[:n], y[:n])
    assert gains[None] > gains[False] + 2.0, gains       # measured 21.7 against 17.8


def test_an_opus_file_that_kept_its_dc_is_declipped_as_decoded(tmp_path):
    """ffmpeg's own (experimental) Opus encoder has no DC reject: the guard
    trips on the first pass and the file comes out as without restoring."""
    t = np.arange(3 * 48000) / 48000
    x = 0.6 * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.7 * t)) + 0.08
    src = write_wav(tmp_path / "dc.wav", np.clip(x, -0.5, 0.5).reshape(-1, 1), 48000)
    opus = ffmpeg(src, tmp_path / "dc.opus", ["-c:a", "opus", "-strict", "-2", "-b:a", "96k"])
    outs = {}
    for dc in (True, False):
        r = rtdeclip.declip_file(opus, str(tmp_path / f"o_{dc}.wav"), preset="fastest",
                                 dc_restore=dc)
        outs[dc] = AudioSource(r["output"]).read_all()
    assert r["clipping_found"]
    np.testing.assert_array_equal(outs[True], outs[False])


def test_an_unclipped_opus_file_is_copied_as_decoded(tmp_path):
    x = 0.2 * glottal_speech(48000, 2.0)
    src = write_wav(tmp_path / "quiet.wav", x.reshape(-1, 1), 48000)
    opus = ffmpeg(src, tmp_path / "quiet.opus", ["-c:a", "libopus", "-b:a", "96k"])
    r = rtdeclip.declip_file(opus, str(tmp_path / "q.wav"), preset="fastest")
    assert not r["clipping_found"]
    assert r["dc_restored"] == [False]
    np.testing.assert_array_equal(AudioSource(r["output"]).read_all().astype(np.float32),
                                  AudioSource(opus).read_all().astype(np.float32))


def test_declip_told_opus_restores_only_channels_that_clip():
    """``declip(lossy="opus")``: a channel that clips is solved with its DC
    reject undone (``dc_restored``), one with nothing to declip leaves as
    it came, to the last bit."""
    x = glottal_speech(48000, 2.0)
    y = np.column_stack([libopus_dc_reject(0.3 * x, 48000),
                         libopus_dc_reject(np.clip(x, -0.4, 0.25), 48000)])
    out, stats = rtdeclip.declip(y, 48000, preset="fastest", lossy="opus", return_stats=True)
    assert [s["dc_restored"] for s in stats] == [False, True]
    np.testing.assert_array_equal(out[:, 0], y[:, 0])
    plain = rtdeclip.declip(y, 48000, preset="fastest", lossy="opus", dc_restore=False)
    assert np.max(np.abs(out[:, 1] - plain[:, 1])) > 0.01


def test_the_voice_plug_in_told_opus_gains_in_ffmpeg(clipped_opus_voice):
    """rtdeclip_mono_voice's codec control (c9) at 1 in ffmpeg's ladspa
    filter, fed the Opus file by ffmpeg's own decoder: the encoder's DC
    reject undone at 16 kHz, as Declipper(source_rate=16000, codec="opus")
    does, gains far more than the control at 0."""
    import shutil
    import subprocess
    from rtdeclip import plugins
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg not installed")
    tmp, opus, ref = clipped_opus_voice
    clean = AudioSource(ref).read_all()[:, 0]
    y = AudioSource(opus).read_all()[:, 0]
    gains = {}
    for codec in (1, 0):
        out = tmp / f"ff_voice_c9_{codec}.wav"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", opus, "-af",
                        f"ladspa=file={plugins.ladspa_library()}:plugin=rtdeclip_mono_voice:"
                        f"controls=c9={codec}:latency=1", "-c:a", "pcm_f32le", str(out)],
                       check=True, timeout=300)
        z = AudioSource(str(out)).read_all()[:, 0]
        n = min(len(z), len(clean), len(y))
        gains[codec] = sdr(clean[:n], z[:n]) - sdr(clean[:n], y[:n])
    assert gains[1] > gains[0] + 2.0, gains             # measured 21.1 against 17.4
