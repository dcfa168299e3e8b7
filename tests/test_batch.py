"""``rtdeclip batch`` (issue 11): a folder tree with good and bad files, in
local worker processes and on a real Dask cluster (``dask scheduler`` and
two ``dask worker`` on 127.0.0.1, see dask_cluster.py).  Outputs must be
the bytes ``rtdeclip file`` writes; a bad file is reported, the rest
done, the exit code 1; a second run skips finished outputs; an
interrupted run leaves no partial output and resumes."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import wave

import pytest

from audio_files import encode, signal as make_signal, write_wav
from rtdeclip.cli import main as rtdeclip_main

SR = 22050
GOOD = ["album/x.wav", "album/x.flac", "album/disc 2/y.mp3", "single.ogg", "deep/a/b/c/z.m4a"]
BAD = ["album/broken.wav", "empty.opus"]
# outputs as the tree is mirrored under --output (the folder keeps its name)
EXPECTED = {"album/x.wav": "tree/album/Declipped_x.wav.wav",     # stems clash: names kept
            "album/x.flac": "tree/album/Declipped_x.flac.wav",
            "album/disc 2/y.mp3": "tree/album/disc 2/Declipped_y.wav",
            "single.ogg": "tree/Declipped_single.wav",
            "deep/a/b/c/z.m4a": "tree/deep/a/b/c/Declipped_z.wav"}


def run_batch(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "rtdeclip", "batch", *map(str, args)],
                          cwd=str(cwd), capture_output=True, text=True, timeout=timeout)


def summary(out):
    with open(os.path.join(out, "rtdeclip-batch.json")) as f:
        return json.load(f)


def hidden_parts(folder):
    return [os.path.join(d, n) for d, _, files in os.walk(folder) for n in files
            if n.endswith(".part")]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """tree/ with five good files of five formats (nested, a stem shared by
    two), two bad ones and a text file that is not audio; and what
    ``rtdeclip file`` makes of each good one."""
    base = tmp_path_factory.mktemp("batch")
    root = base / "tree"
    _, clipped = make_signal(SR, 0.8, 2, level=0.25)
    _, mono = make_signal(SR, 0.8, 1, level=0.25)
    import av
    vorbis = "libvorbis" if "libvorbis" in av.codecs_available else "vorbis"
    codecs = {".flac": "flac", ".mp3": "mp3", ".ogg": vorbis, ".m4a": "aac"}
    for rel in GOOD:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        ext = p.suffix
        x = mono if ext == ".mp3" else clipped
        if ext == ".wav":
            write_wav(p, x, SR)
        else:
            encode(p, x, SR, codecs[ext])
    (root / "album/broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot really audio")
    (root / "empty.opus").write_bytes(b"")
    (root / "album/notes.txt").write_text("not audio, not an input")
    ref = base / "ref"
    ref.mkdir()
    reference = {}
    for i, rel in enumerate(GOOD):
        out = ref / f"{i}.wav"
        assert rtdeclip_main(["file", str(root / rel), "--output", str(out),
                              "--preset", "Fastest", "--quiet"]) == 0
        reference[rel] = out.read_bytes()
    return base, reference


def check_tree_result(base, out, r, reference):
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("rtdeclip: error:")]
    assert len(errors) == 2, r.stderr
    assert any("broken.wav" in e for e in errors) and any("empty.opus" in e and "empty file" in e
                                                         for e in errors)
    s = summary(out)
    assert s["counts"] == {"total": 7, "done": 5, "skipped": 0, "failed": 2, "pending": 0}
    by_input = {os.path.relpath(f["input"], base / "tree"): f for f in s["files"]}
    for rel, out_rel in EXPECTED.items():
        f = by_input[rel]
        assert f["status"] == "done" and f["output_rel"] == out_rel
        # the same engine: byte for byte what `rtdeclip file` writes
        assert (out / out_rel).read_bytes() == reference[rel], rel
        assert f["report"]["clipping_found"] is True
        assert f["cpu_s"] > 0
    for rel in BAD:
        assert by_input[rel]["status"] == "failed" and by_input[rel]["error"]
    assert "album/notes.txt" not in by_input
    written = sorted(os.path.relpath(os.path.join(d, n), out) for d, _, fs in os.walk(out)
                     for n in fs if n.startswith("Declipped_"))
    assert written == sorted(EXPECTED.values())
    assert hidden_parts(out) == []
    return s


def test_local_pool_tree(tree, tmp_path):
    base, reference = tree
    out = tmp_path / "out"
    r = run_batch(base / "tree", "--output", out, "--preset", "Fastest", "--jobs", "2",
                  cwd=tmp_path)
    s = check_tree_result(base, out, r, reference)
    assert s["mode"]["runner"] == "local" and not s["interrupted"]
    assert "5 done, 0 skipped (finished before), 2 failed of 7" in r.stderr
    # worker processes, not the CLI process, did the work
    assert len({f["worker"] for f in s["files"] if f["status"] == "done"}) >= 1

    # resume: nothing finished is redone (outputs untouched), the bad ones again reported
    mtimes = {p: os.stat(out / p).st_mtime_ns for p in EXPECTED.values()}
    r2 = run_batch(base / "tree", "--output", out, "--preset", "Fastest", cwd=tmp_path)
    assert r2.returncode == 1, r2.stderr
    s2 = summary(out)
    assert s2["run"] == 2
    assert s2["counts"] == {"total": 7, "done": 0, "skipped": 5, "failed": 2, "pending": 0}
    assert {p: os.stat(out / p).st_mtime_ns for p in EXPECTED.values()} == mtimes
    skipped = [f for f in s2["files"] if f["status"] == "skipped"]
    assert all(f["run"] == 1 and f["report"]["frames"] > 0 for f in skipped)

    # a missing output is made again, the others still skipped
    gone = EXPECTED["deep/a/b/c/z.m4a"]
    os.unlink(out / gone)
    r3 = run_batch(base / "tree", "--output", out, "--preset", "Fastest", cwd=tmp_path)
    s3 = summary(out)
    assert s3["counts"]["done"] == 1 and s3["counts"]["skipped"] == 4, r3.stderr
    assert (out / gone).read_bytes() == reference["deep/a/b/c/z.m4a"]
    assert {p: os.stat(out / p).st_mtime_ns for p in EXPECTED.values() if p != gone} == \
        {p: m for p, m in mtimes.items() if p != gone}

    # other options than the outputs were made with: refused in one line, nothing touched
    r4 = run_batch(base / "tree", "--output", out, "--preset", "HighQuality", cwd=tmp_path)
    assert r4.returncode == 1 and "Traceback" not in r4.stderr
    assert r4.stderr.strip().count("\n") == 0 and "preset=fastest" in r4.stderr
    assert summary(out)["run"] == 3

    # --redo: every file again
    r5 = run_batch(base / "tree", "--output", out, "--preset", "Fastest", "--redo", cwd=tmp_path)
    s5 = summary(out)
    assert s5["counts"]["done"] == 5 and s5["redo_from_run"] == 4, r5.stderr
    assert all(os.stat(out / p).st_mtime_ns != mtimes[p] for p in EXPECTED.values())
    # a --redo cut short (here: one file's record missing, as if never
    # reached) resumes: that output, made before the --redo, is made again
    s5["files"] = [f for f in s5["files"] if f["output_rel"] != EXPECTED["single.ogg"]]
    (out / "rtdeclip-batch.json").write_text(json.dumps(s5))
    before = {p: os.stat(out / p).st_mtime_ns for p in EXPECTED.values()}
    r6 = run_batch(base / "tree", "--output", out, "--preset", "Fastest", cwd=tmp_path)
    s6 = summary(out)
    assert s6["counts"]["done"] == 1 and s6["counts"]["skipped"] == 4, r6.stderr
    assert [p for p in EXPECTED.values() if os.stat(out / p).st_mtime_ns != before[p]] == \
        [EXPECTED["single.ogg"]]


def test_all_good_exit_zero_and_errors(tree, tmp_path):
    base, reference = tree
    out = tmp_path / "out"
    single = base / "tree" / "single.ogg"
    r = run_batch(single, base / "tree" / "album" / "x.flac", "--output", out,
                  "--preset", "Fastest", "--quiet", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (out / "Declipped_single.wav").read_bytes() == reference["single.ogg"]
    assert (out / "Declipped_x.wav").read_bytes() == reference["album/x.flac"]
    # no audio in a folder; an input folder inside the output; a bad scheduler address
    empty = tmp_path / "nothing"
    empty.mkdir()
    for args in ([empty, "--output", tmp_path / "o2"],
                 [out, "--output", tmp_path],
                 [single, "--output", tmp_path / "o3", "--scheduler", "http://127.0.0.1:1"],
                 [single, "--output", tmp_path / "o4", "--preset", "Slowest"]):
        r = run_batch(*args, cwd=tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("rtdeclip: error:") and r.stderr.count("\n") == 1, r.stderr


def test_dask_cluster_tree(tree, tmp_path, dask_scheduler):
    base, reference = tree
    out = tmp_path / "out"
    r = run_batch(base / "tree", "--output", out, "--preset", "Fastest",
                  "--scheduler", dask_scheduler, cwd=tmp_path)
    s = check_tree_result(base, out, r, reference)
    assert s["mode"]["runner"] == "dask" and s["mode"]["scheduler"] == dask_scheduler
    done = [f for f in s["files"] if f["status"] == "done"]
    assert {f["transfer"] for f in done} == {"path"}   # same machine: shared storage
    # both workers took files (two single-threaded workers, seven files)
    assert len({f["worker"] for f in s["files"] if "worker" in f}) == 2
    r2 = run_batch(base / "tree", "--output", out, "--preset", "Fastest",
                   "--scheduler", dask_scheduler, cwd=tmp_path)
    assert summary(out)["counts"]["skipped"] == 5, r2.stderr


def test_dask_bytes_transfer(tree, tmp_path, dask_scheduler):
    """Workers get the input bytes and send back the output's: the same bytes."""
    base, reference = tree
    out = tmp_path / "out"
    r = run_batch(base / "tree", "--output", out, "--preset", "Fastest",
                  "--scheduler", dask_scheduler, "--transfer", "bytes", cwd=tmp_path)
    s = check_tree_result(base, out, r, reference)
    assert {f["transfer"] for f in s["files"] if f["status"] == "done"} == {"bytes"}
    # a bad file's message names the client's path, not the worker's temporary
    assert all(os.path.exists(f["input"]) and f["error"].startswith(f["input"])
               for f in s["files"] if f["status"] == "failed")


def test_dask_auto_falls_back_to_bytes(tree, tmp_path, dask_scheduler):
    """A worker that does not see the output folder (another machine's
    storage, here: a marker that does not match) answers 'unseen', and the
    client sends the bytes instead."""
    from rtdeclip.cluster import dask_runner
    base, reference = tree
    out = tmp_path / "out"
    out.mkdir()
    inp = str(base / "tree" / "single.ogg")
    st = os.stat(inp)
    spec = {"input": inp, "output": str(out / "Declipped_single.wav"), "size": st.st_size,
            "mtime_ns": st.st_mtime_ns, "marker_dir": str(out), "marker_token": "not-shared",
            "options": {"preset": "fastest", "algorithm": "aspade", "threshold": "auto",
                        "format": "float32"}}
    results = []
    client = dask_runner.connect(dask_scheduler)
    try:
        for transfer in ("path", "auto"):
            dask_runner.run_dask(client, [(transfer, spec)],
                                 lambda k, res: results.append((k, res)), transfer=transfer)
    finally:
        client.close()
    (k1, path_only), (k2, auto) = results
    assert path_only["status"] == "failed" and "not shared" in path_only["error"]
    assert auto["status"] == "done" and auto["transfer"] == "bytes"
    assert (out / "Declipped_single.wav").read_bytes() == reference["single.ogg"]


def long_inputs(folder, n, seconds):
    folder.mkdir()
    _, clipped = make_signal(44100, seconds, 2, level=0.25)
    return [write_wav(folder / f"f{i}.wav", clipped, 44100) for i in range(n)]


def complete_wav_frames(path):
    with wave.open(str(path), "rb") as w:   # float32 WAV: wave reads the header only
        return w.getnframes(), w.getnchannels()


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_interrupt_leaves_no_partial_output(tmp_path, how):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it),
    SIGTERM to the batch process, or SIGKILL to it, while files are being
    written: every output there is complete, no temporary is left (SIGKILL:
    the orphaned workers notice and stop the same way), every process is
    gone, and the next run finishes the rest without redoing the finished
    ones."""
    src = tmp_path / "in"
    inputs = long_inputs(src, 4, 4.0)
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "rtdeclip", "batch", str(src), "--output",
                          str(out), "--preset", "Fastest", "--jobs", "2", "--quiet"],
                         cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not hidden_parts(out):   # a file is being written
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        if how == "ctrl-c":
            os.killpg(p.pid, signal.SIGINT)
        else:
            p.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        # it stops at once (workers interrupt their file), not after the file
        _, err = p.communicate(timeout=20)
        if how == "sigkill":
            assert p.returncode == -signal.SIGKILL
        else:
            assert p.returncode == 130, err
            assert b"interrupted" in err and b"Traceback" not in err
            assert summary(out)["interrupted"] is True
        # the worker processes are gone too (SIGKILL: once they finish their file)
        while time.monotonic() < deadline:
            try:
                os.killpg(p.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("worker processes still running")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    folder = out / "in"
    assert hidden_parts(out) == []
    finished = sorted(os.listdir(folder)) if folder.exists() else []
    assert len(finished) < len(inputs)          # it was interrupted before the end
    n = int(44100 * 4.0)
    for name in finished:
        assert complete_wav_frames(folder / name) == (n, 2)
        assert os.path.getsize(folder / name) == complete_wav_size(n, 2)
    mtimes = {name: os.stat(folder / name).st_mtime_ns for name in finished}
    r = run_batch(src, "--output", out, "--preset", "Fastest", "--jobs", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = summary(out)
    assert s["counts"]["skipped"] == len(finished)
    assert s["counts"]["done"] == len(inputs) - len(finished)
    assert {name: os.stat(folder / name).st_mtime_ns for name in finished} == mtimes


def complete_wav_size(frames, channels):
    # our float32 WAV: RIFF/WAVE + fmt (16 bytes) + fact (4) + data
    return 12 + 8 + 16 + 8 + 4 + 8 + frames * channels * 4


def test_discover_names_never_collide(tmp_path):
    """Two folders of the same name from different places would mirror onto
    the same outputs: the second's files are failed items, never written
    over the first's; the output folder inside an input folder is not
    walked."""
    from rtdeclip.cluster.discover import discover
    for parent in ("a", "b"):
        d = tmp_path / parent / "music"
        d.mkdir(parents=True)
        (d / "s.wav").write_bytes(b"x")
        (d / "S.WAV").write_bytes(b"x")    # other case: its own output
    out = tmp_path / "a" / "music" / "out"
    out.mkdir()
    (out / "Declipped_s.wav").write_bytes(b"x")
    items = discover([tmp_path / "a" / "music", tmp_path / "b" / "music"], out)
    assert len(items) == 4
    ok = [it for it in items if not it.error]
    assert sorted(it.rel for it in ok) == ["music/Declipped_S.wav", "music/Declipped_s.wav"]
    assert all("/a/" in it.input for it in ok)
    assert all("already the output of" in it.error for it in items if it.error)
    assert len({it.output for it in items}) == 2   # the failed ones would have collided
