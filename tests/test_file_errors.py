"""Every bad input: one line on stderr, non-zero exit, no traceback, nothing written."""
import os
import signal as signal_module
import struct
import subprocess
import sys
import time
import wave

import pytest

from audio_files import encode, signal, write_wav


def run_in(tmp_path, *args):
    before = set(os.listdir(tmp_path))
    r = subprocess.run([sys.executable, "-m", "rtdeclip", *map(str, args)], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    return r, set(os.listdir(tmp_path)) - before


def assert_clean_failure(r, created, *words):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtdeclip: error:"), r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0]
    assert not created


def test_missing_file(tmp_path):
    assert_clean_failure(*run_in(tmp_path, "file", tmp_path / "nope.wav"), "nope.wav", "no such file")


def test_directory(tmp_path):
    (tmp_path / "d.wav").mkdir()
    r, created = run_in(tmp_path, "file", tmp_path / "d.wav")
    assert_clean_failure(r, created - {"d.wav"}, "directory")


def test_empty_file(tmp_path):
    (tmp_path / "e.wav").write_bytes(b"")
    r, created = run_in(tmp_path, "file", "e.wav")
    assert_clean_failure(r, created - {"e.wav"}, "empty")


def test_zero_length_audio(tmp_path):
    _, clipped = signal()
    write_wav(tmp_path / "z.wav", clipped[:0], 44100)
    r, created = run_in(tmp_path, "file", "z.wav")
    assert_clean_failure(r, created, "z.wav")


def test_text_file_named_wav(tmp_path):
    (tmp_path / "t.wav").write_text("hello, I am not a wave file\n" * 20)
    r, created = run_in(tmp_path, "file", "t.wav")
    assert_clean_failure(r, created, "t.wav", "not an audio file")
    assert "Errno" not in r.stderr


def test_random_bytes_named_mp3(tmp_path):
    (tmp_path / "j.mp3").write_bytes(bytes(range(256)) * 40)
    r, created = run_in(tmp_path, "file", "j.mp3")
    assert_clean_failure(r, created, "j.mp3")


@pytest.mark.parametrize("ext,codec", [("flac", "flac"), ("mp3", "libmp3lame"), ("wav", None)])
def test_truncated_file(tmp_path, ext, codec):
    _, clipped = signal(seconds=2.0)
    full = tmp_path / f"full.{ext}"
    p = write_wav(full, clipped, 44100) if codec is None else encode(full, clipped, 44100, codec)
    data = open(p, "rb").read()
    (tmp_path / f"cut.{ext}").write_bytes(data[: len(data) // 3])
    os.unlink(p)
    r, created = run_in(tmp_path, "file", f"cut.{ext}")
    assert_clean_failure(r, created, f"cut.{ext}", "truncated")


def test_corrupt_header(tmp_path):
    _, clipped = signal()
    p = write_wav(tmp_path / "c.wav", clipped, 44100)
    data = bytearray(open(p, "rb").read())
    data[20:36] = b"\xff" * 16          # garbage in the fmt chunk
    open(p, "wb").write(bytes(data))
    r, created = run_in(tmp_path, "file", "c.wav")
    assert_clean_failure(r, created, "c.wav")


def test_no_audio_stream(tmp_path):
    # a WAV header announcing an unknown codec tag (0x1234)
    fmt = struct.pack("<HHIIHH", 0x1234, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 4) + b"\0" * 4
    (tmp_path / "u.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    r, created = run_in(tmp_path, "file", "u.wav")
    assert_clean_failure(r, created, "u.wav", "unsupported")


def test_unwritable_output_folder(tmp_path):
    _, clipped = signal()
    write_wav(tmp_path / "s.wav", clipped, 44100)
    r, created = run_in(tmp_path, "file", "s.wav", "--output", "/proc/declipped.wav")
    assert_clean_failure(r, created, "cannot write")
    r, created = run_in(tmp_path, "file", "s.wav", "--output", tmp_path / "no" / "such" / "o.wav")
    assert_clean_failure(r, created, "folder does not exist")


def test_reference_of_another_length(tmp_path):
    clean, clipped = signal(seconds=2.0)
    write_wav(tmp_path / "s.wav", clipped, 44100)
    write_wav(tmp_path / "r.wav", clean[:44100], 44100)
    r, created = run_in(tmp_path, "file", "s.wav", "--reference", "r.wav")
    assert_clean_failure(r, created, "r.wav", "lasts")


def test_reference_of_another_rate(tmp_path):
    clean, clipped = signal(seconds=1.0)
    write_wav(tmp_path / "s.wav", clipped, 44100)
    write_wav(tmp_path / "r.wav", clean, 48000)
    r, created = run_in(tmp_path, "file", "s.wav", "--reference", "r.wav")
    assert_clean_failure(r, created, "48000")


def test_reference_with_other_channels(tmp_path):
    clean, clipped = signal(seconds=1.0)
    write_wav(tmp_path / "s.wav", clipped, 44100)
    write_wav(tmp_path / "r.wav", clean[:, :1], 44100)
    r, created = run_in(tmp_path, "file", "s.wav", "--reference", "r.wav")
    assert_clean_failure(r, created, "r.wav", "channel")


def test_reference_missing(tmp_path):
    _, clipped = signal(seconds=1.0)
    write_wav(tmp_path / "s.wav", clipped, 44100)
    r, created = run_in(tmp_path, "aspade", "-c", "s.wav", "-o", "gone.wav")
    assert_clean_failure(r, created, "gone.wav", "no such file")


def test_two_inputs_same_output_name(tmp_path):
    _, clipped = signal(seconds=1.0)
    write_wav(tmp_path / "a.wav", clipped, 44100)
    encode(tmp_path / "a.flac", clipped, 44100, "flac")
    r, created = run_in(tmp_path, "file", "a.wav", "a.flac")
    assert_clean_failure(r, created, "a.wav", "a.flac", "Declipped_a.wav")


def test_report_folder_missing_fails_before_processing(tmp_path):
    _, clipped = signal(seconds=1.0)
    write_wav(tmp_path / "s.wav", clipped, 44100)
    r, created = run_in(tmp_path, "file", "s.wav", "--report", "no/such/r.json")
    assert_clean_failure(r, created, "r.json", "folder does not exist")


def test_never_overwrites_the_input(tmp_path):
    _, clipped = signal()
    write_wav(tmp_path / "s.wav", clipped, 44100)
    before = (tmp_path / "s.wav").read_bytes()
    r, created = run_in(tmp_path, "file", "s.wav", "--output", "s.wav")
    assert_clean_failure(r, created, "overwrite")
    assert (tmp_path / "s.wav").read_bytes() == before


@pytest.mark.parametrize("args,word", [(["--preset", "Best"], "preset"),
                                       (["--algorithm", "x"], "algorithm"),
                                       (["--threshold", "loud"], "threshold"),
                                       (["--threshold", "3"], "threshold")])
def test_bad_options(tmp_path, args, word):
    _, clipped = signal()
    write_wav(tmp_path / "s.wav", clipped, 44100)
    r, created = run_in(tmp_path, "file", "s.wav", *args)
    assert_clean_failure(r, created, word)


def test_sample_rate_out_of_range(tmp_path):
    _, clipped = signal(seconds=0.5)
    write_wav(tmp_path / "low.wav", clipped, 4000)
    r, created = run_in(tmp_path, "file", "low.wav")
    assert_clean_failure(r, created, "low.wav", "4000 Hz")


def test_output_of_one_input_is_another_input(tmp_path):
    _, clipped = signal(seconds=0.5)
    write_wav(tmp_path / "a.wav", clipped, 44100)
    write_wav(tmp_path / "Declipped_a.wav", clipped, 44100)
    before = (tmp_path / "Declipped_a.wav").read_bytes()
    r, created = run_in(tmp_path, "file", "a.wav", "Declipped_a.wav")
    assert_clean_failure(r, created, "overwrite")
    assert (tmp_path / "Declipped_a.wav").read_bytes() == before


@pytest.mark.parametrize("sig", [signal_module.SIGINT, signal_module.SIGTERM])
def test_interrupt_in_pcm_path_leaves_nothing(tmp_path, sig):
    _, clipped = signal(seconds=20.0)
    write_wav(tmp_path / "long.wav", clipped, 44100)
    p = subprocess.Popen([sys.executable, "-m", "rtdeclip", "file", "long.wav", "--format", "pcm16",
                          "--preset", "fastest", "--quiet"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the float temporary of the PCM path exists (declipping under way)
    while p.poll() is None and not [f for f in os.listdir(tmp_path) if f.endswith(".f32.part")]:
        time.sleep(0.01)
    assert p.poll() is None, "finished before it could be interrupted"
    p.send_signal(sig)
    _, err = p.communicate(timeout=300)
    assert "Traceback" not in err
    if p.returncode == 0:
        # it finished between the check above and the signal (seen on a slow
        # sanitizer build): then the output must be complete
        assert sorted(os.listdir(tmp_path)) == ["Declipped_long.wav", "long.wav"]
        with wave.open(str(tmp_path / "Declipped_long.wav")) as w:
            assert w.getnframes() == len(clipped)
        return
    assert sorted(os.listdir(tmp_path)) == ["long.wav"]


# -- issue 8, part 3: every option of `file` and `aspade` as a user types it ----

@pytest.fixture
def one_wav(tmp_path):
    _, clipped = signal(seconds=0.5)
    write_wav(tmp_path / "s.wav", clipped, 44100)
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    return tmp_path


@pytest.mark.parametrize("args,words", [
    (["--preset", "Fastes"], ["preset", "Fastes"]),                    # a typo
    (["--algorithm", "a-spade"], ["algorithm"]),
    (["--jobs", "0"], ["--jobs"]), (["--jobs", "-2"], ["--jobs"]),
    (["--jobs", "two"], ["--jobs"]),                                   # argparse, one line too
    (["--format", "pcm8"], ["--format"]), (["--format", "mp3"], ["--format"]),
    (["--threshold=-3,-3,-3"], ["threshold"]), (["--threshold", "nan"], ["threshold"]),
    (["--threshold=-inf"], ["threshold"]), (["--threshold=+3"], ["threshold"]),
    (["--output", "afile/"], ["afile/", "not a folder"]),              # a file named as a folder
    (["--output", "afile/x.wav"], ["afile/x.wav", "folder does not exist"]),
    (["--output", "nodir/"], ["nodir/", "folder does not exist"]),
    (["--output", "out.mp3"], ["out.mp3", ".wav"]),                    # the output is WAV
    (["--report", "adir"], ["adir", "folder"]), (["--plot", "adir"], ["adir", "folder"]),
    (["--report", "afile/r.json"], ["r.json", "folder does not exist"]),
    (["--reference", "missing.wav"], ["missing.wav"]),
    (["--reference", "afile"], ["afile"]),                             # not audio
    (["--bogus"], ["--bogus"]),
])
def test_every_file_option_checked_before_work(one_wav, args, words):
    r, created = run_in(one_wav, "file", "s.wav", *args)
    assert_clean_failure(r, created, *words)


@pytest.mark.parametrize("args,words", [
    (["-c", "s.wav", "-p", "Fastes"], ["preset", "Fastes"]),
    (["-c", "s.wav", "-o", "missing.wav"], ["missing.wav"]),
    (["-c", "missing.wav"], ["missing.wav"]),
    (["-c", "s.wav", "--output", "afile/"], ["afile/"]),
    (["-c", "s.wav", "--jobs", "0"], ["--jobs"]),
    (["-p", "fastest"], ["-c"]),                                       # the input missing
])
def test_every_aspade_option_checked_before_work(one_wav, args, words):
    r, created = run_in(one_wav, "aspade", *args)
    assert_clean_failure(r, created, *words)


def test_output_folder_given_with_a_slash_is_used(one_wav):
    r, created = run_in(one_wav, "file", "s.wav", "--output", "adir/", "--preset", "fastest",
                        "--quiet")
    assert r.returncode == 0, r.stderr
    assert os.listdir(one_wav / "adir") == ["Declipped_s.wav"] and not created


@pytest.mark.parametrize("kw,error,words", [
    (dict(output="out.mp3"), "ParameterError", [".wav"]),
    (dict(output="afile/"), "FileError", ["not a folder"]),
    (dict(output="nodir/x.wav"), "FileError", ["folder does not exist"]),
    (dict(preset="Fastes"), "ParameterError", ["preset"]),
    (dict(format="wav"), "ParameterError", ["format"]),
    (dict(threshold_dbfs="-3,-3,-3"), "ParameterError", ["threshold"]),
    (dict(reference="missing.wav"), "FileError", ["missing.wav"]),
])
def test_declip_file_checks_before_work(one_wav, kw, error, words):
    import rtdeclip
    before = set(os.listdir(one_wav))
    cwd = os.getcwd()
    os.chdir(one_wav)
    try:
        with pytest.raises(getattr(rtdeclip.errors, error)) as e:
            rtdeclip.declip_file("s.wav", **kw)
    finally:
        os.chdir(cwd)
    for w in words:
        assert w in str(e.value)
    assert "\n" not in str(e.value)
    assert set(os.listdir(one_wav)) == before
