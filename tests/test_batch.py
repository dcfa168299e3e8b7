"""``rtdeclip batch`` (issue 11): a folder tree with good and bad files, in
local worker processes and on a real Dask cluster (``dask scheduler`` and
two ``dask worker`` on 127.0.0.1, see dask_cluster.py).  Outputs must be
the bytes ``rtdeclip file`` writes; a bad file is reported, the rest
done, the exit code 1; a second run skips finished outputs; an
interrupted run leaves no partial output and resumes.

"The same bytes": the tree fixture runs ``rtdeclip file`` twice, in two
processes, and test_engine_reproducible demands they agree byte for byte
(the engine plans its FFTs with FFTW_ESTIMATE by default: with
FFTW_MEASURE, plans chosen per process differed in the last bits, which
the single-precision solver amplified to differences of up to 0.13);
every batch output must then equal them byte for byte."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from audio_files import encode, signal as make_signal, write_wav
from dask_cluster import DaskCluster
from on_terminal import run_on_terminal

SR = 22050
GOOD = ["album/x.wav", "album/x.flac", "album/disc 2/y.mp3", "single.ogg", "deep/a/b/c/z.m4a"]
BAD = ["album/broken.wav", "empty.opus"]
# outputs as the tree is mirrored under --output (the folder keeps its name)
EXPECTED = {"album/x.wav": "tree/album/Declipped_x.wav.wav",     # stems clash: names kept
            "album/x.flac": "tree/album/Declipped_x.flac.wav",
            "album/disc 2/y.mp3": "tree/album/disc 2/Declipped_y.wav",
            "single.ogg": "tree/Declipped_single.wav",
            "deep/a/b/c/z.m4a": "tree/deep/a/b/c/Declipped_z.wav"}


ENV = {}   # RTDECLIP_WISDOM for every process of this module (set by ``tree``)
RUNS = {}  # rel -> the two outputs of ``rtdeclip file`` in two processes (set by ``tree``)


def env():
    return dict(os.environ, **ENV)


def run_batch(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "rtdeclip", "batch", *map(str, args)],
                          cwd=str(cwd), capture_output=True, text=True, timeout=timeout,
                          env=env())


def same_output(got, want):
    """Our output against ``rtdeclip file``'s: the same bytes (the engine
    plans with FFTW_ESTIMATE, so every process computes alike)."""
    return got == want


def summary(out):
    with open(os.path.join(out, "rtdeclip-batch.json")) as f:
        return json.load(f)


def hidden_parts(folder):
    return [os.path.join(d, n) for d, _, files in os.walk(folder) for n in files
            if n.endswith(".part")]


def audio_parts(folder):
    """Temporaries of outputs being declipped (not the folder's marker or
    the summary, whose temporaries exist for an instant at the start: a
    signal then comes before any file was handed out)."""
    return [p for p in hidden_parts(folder) if p.endswith(".wav.part")]


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
    ENV["RTDECLIP_WISDOM"] = str(base / "fftw-wisdom")
    ref = base / "ref"
    ref.mkdir()
    reference = {}
    for i, rel in enumerate(GOOD):
        runs = []
        for k in range(2):           # two processes: is the engine reproducible?
            out = ref / f"{i}-{k}.wav"
            r = subprocess.run([sys.executable, "-m", "rtdeclip", "file", str(root / rel),
                                "--output", str(out), "--preset", "Fastest", "--quiet"],
                               cwd=str(base), capture_output=True, text=True, env=env(),
                               timeout=300)
            assert r.returncode == 0, r.stderr
            runs.append(out.read_bytes())
        reference[rel] = runs
    RUNS.update(reference)
    yield base, {rel: runs[0] for rel, runs in reference.items()}
    ENV.clear()
    RUNS.clear()


def test_engine_reproducible(tree):
    """``rtdeclip file`` twice, in two processes, on each input: the same
    bytes (what lets batch outputs be compared byte for byte below)."""
    differ = [rel for rel, (a, b) in RUNS.items() if a != b]
    assert not differ, f"rtdeclip file differs between two processes on {differ}"


@pytest.fixture(scope="module")
def cluster(tree):
    """A scheduler and two workers like the session's ``dask_scheduler``,
    started after ``tree``, with its environment."""
    with DaskCluster(nworkers=2, env=ENV) as address:
        yield address


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
        assert same_output((out / out_rel).read_bytes(), reference[rel]), rel
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
    assert same_output((out / gone).read_bytes(), reference["deep/a/b/c/z.m4a"])
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
    assert same_output((out / "Declipped_single.wav").read_bytes(), reference["single.ogg"])
    assert same_output((out / "Declipped_x.wav").read_bytes(), reference["album/x.flac"])
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


def test_dask_cluster_tree(tree, tmp_path, cluster):
    base, reference = tree
    out = tmp_path / "out"
    r = run_batch(base / "tree", "--output", out, "--preset", "Fastest",
                  "--scheduler", cluster, cwd=tmp_path)
    s = check_tree_result(base, out, r, reference)
    assert s["mode"]["runner"] == "dask" and s["mode"]["scheduler"] == cluster
    done = [f for f in s["files"] if f["status"] == "done"]
    assert {f["transfer"] for f in done} == {"path"}   # same machine: shared storage
    # both workers took files (two single-threaded workers, seven files)
    assert len({f["worker"] for f in s["files"] if "worker" in f}) == 2
    r2 = run_batch(base / "tree", "--output", out, "--preset", "Fastest",
                   "--scheduler", cluster, cwd=tmp_path)
    assert summary(out)["counts"]["skipped"] == 5, r2.stderr


def test_dask_bytes_transfer(tree, tmp_path, cluster):
    """Workers get the input bytes and send back the output's: the same bytes."""
    base, reference = tree
    out = tmp_path / "out"
    r = run_batch(base / "tree", "--output", out, "--preset", "Fastest",
                  "--scheduler", cluster, "--transfer", "bytes", cwd=tmp_path)
    s = check_tree_result(base, out, r, reference)
    assert {f["transfer"] for f in s["files"] if f["status"] == "done"} == {"bytes"}
    # a bad file's message names the client's path, not the worker's temporary
    assert all(os.path.exists(f["input"]) and f["error"].startswith(f["input"])
               for f in s["files"] if f["status"] == "failed")


def test_dask_auto_falls_back_to_bytes(tree, tmp_path, cluster):
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
    client = dask_runner.connect(cluster)
    try:
        for transfer in ("path", "auto"):
            dask_runner.run_dask(client, [(transfer, spec)],
                                 lambda k, res: results.append((k, res)), transfer=transfer)
    finally:
        client.close()
    (k1, path_only), (k2, auto) = results
    assert path_only["status"] == "failed" and "not shared" in path_only["error"]
    assert auto["status"] == "done" and auto["transfer"] == "bytes"
    assert same_output((out / "Declipped_single.wav").read_bytes(), reference["single.ogg"])


def long_inputs(folder, n, seconds):
    folder.mkdir()
    _, clipped = make_signal(44100, seconds, 2, level=0.25)
    return [write_wav(folder / f"f{i}.wav", clipped, 44100) for i in range(n)]


def complete_wav_frames(path):
    """Frames and channels of a WAV, decoded to the end (a partial file
    would decode short or fail)."""
    from rtdeclip.files.audio_io import AudioSource
    src = AudioSource(str(path))
    return sum(len(c) for c in src.chunks(1 << 16)), src.channels


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_interrupt_leaves_no_partial_output(tmp_path, how):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it),
    SIGTERM to the batch process, or SIGKILL to it, while files are being
    written: every output there is complete, no temporary is left (SIGKILL:
    the orphaned workers notice and stop the same way), every process is
    gone, and the next run finishes the rest without redoing the finished
    ones."""
    src = tmp_path / "in"
    # enough work that the signal lands mid-run: with 4 files of 4 s the
    # first temporary seen was at times the last file's, and Ctrl-C came
    # after the batch had finished its work (exit 0)
    seconds = 6.0
    inputs = long_inputs(src, 8, seconds)
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "rtdeclip", "batch", str(src), "--output",
                          str(out), "--preset", "Fastest", "--jobs", "2", "--quiet"],
                         cwd=str(tmp_path), env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not audio_parts(out):   # a file is being declipped
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
    n = int(44100 * seconds)
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


def batch_on_cluster(src, out, address, cwd):
    """`rtdeclip batch` on a Dask scheduler, started in the background with
    its output piped (the Dask failure tests stop parts of the cluster while
    it runs)."""
    return subprocess.Popen([sys.executable, "-m", "rtdeclip", "batch", str(src), "--output",
                             str(out), "--preset", "Average", "--scheduler", address, "--quiet"],
                            cwd=str(cwd), env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_dask_scheduler_lost(tmp_path):
    """The scheduler dies mid-batch (its own cluster here, not the shared
    one): the batch ends by itself with exit code 1, every file reported
    (cancelled or not started), one line each, no traceback, no partial
    output."""
    src = tmp_path / "in"
    long_inputs(src, 8, 2.0)
    out = tmp_path / "out"
    cluster = DaskCluster(nworkers=1)
    address = cluster.start()
    try:
        p = batch_on_cluster(src, out, address, tmp_path)
        deadline = time.monotonic() + 120
        while not audio_parts(out):   # a worker is writing a file
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        scheduler = cluster.procs[0]
        os.killpg(scheduler.pid, signal.SIGKILL)
        _, err = p.communicate(timeout=90)
    finally:
        cluster.stop()
    assert p.returncode == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(ln.startswith("rtdeclip: error:") for ln in lines), err
    s = summary(out)
    assert s["counts"]["total"] == 8 and s["counts"]["pending"] == 0
    assert s["counts"]["failed"] == len(lines) >= 1
    assert all("scheduler" in f["error"] for f in s["files"] if f["status"] == "failed")
    for name in os.listdir(out / "in"):
        if not name.startswith("."):
            assert complete_wav_frames(out / "in" / name) == (int(44100 * 2.0), 2)


def test_progress_bar_on_a_terminal(tree, tmp_path):
    """rich's bar on a terminal (files done of total, failures); none in a
    pipe (the other tests) or with --quiet."""
    base, _ = tree

    def on_terminal(*extra):
        rc, seen = run_on_terminal("batch", base / "tree", "--preset", "Fastest", *extra,
                                   cwd=str(tmp_path), env=env(), timeout=300)
        return rc, seen.decode(errors="replace")

    rc, seen = on_terminal("--output", str(tmp_path / "a"))
    assert rc == 1
    assert "declipping" in seen and "7/7" in seen and "2 failed" in seen, seen
    assert "broken.wav" in seen     # failures printed above the bar
    rc, seen = on_terminal("--output", str(tmp_path / "b"), "--quiet")
    assert rc == 1 and "declipping" not in seen and "broken.wav" in seen


def test_dask_worker_killed_mid_file(tmp_path):
    """A worker killed with SIGKILL while it writes a file: Dask runs its
    tasks again on the other worker and the batch ends with every file
    done and complete (the killed writer's hidden temporary is all that
    may be left, never under an output's name)."""
    src = tmp_path / "in"
    long_inputs(src, 6, 2.0)
    out = tmp_path / "out"
    cluster = DaskCluster(nworkers=2)
    address = cluster.start()
    try:
        p = batch_on_cluster(src, out, address, tmp_path)
        deadline = time.monotonic() + 120
        while not audio_parts(out):   # a worker is writing a file
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(cluster.procs[1].pid, signal.SIGKILL)   # worker-0
        _, err = p.communicate(timeout=240)
    finally:
        cluster.stop()
    assert p.returncode == 0, err
    s = summary(out)
    assert s["counts"]["done"] == 6
    assert len({f["worker"] for f in s["files"]}) >= 1
    for name in os.listdir(out / "in"):
        if not name.startswith("."):
            assert complete_wav_frames(out / "in" / name) == (int(44100 * 2.0), 2)
    assert len(os.listdir(out / "in")) - len(hidden_parts(out / "in")) == 6


def make_tls_files(folder):
    """A private CA and one certificate it signs (for 127.0.0.1), made with
    the openssl command line: Dask checks the peer's certificate against
    the CA on both sides."""
    folder.mkdir()
    ca_key, ca, key, csr, cert = (str(folder / n) for n in
                                  ("ca.key", "ca.pem", "node.key", "node.csr", "node.pem"))
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=rtdeclip test CA")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    ssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", str(ext))
    return ca, cert, key


def test_dask_over_tls(tree, tmp_path):
    """The documented way across machines: scheduler, workers and client all
    on Dask's TLS with certificates of one private CA.  Without the client
    files, a one-line error; with them, the same bytes as rtdeclip file."""
    base, reference = tree
    ca, cert, key = make_tls_files(tmp_path / "tls")
    cluster = DaskCluster(nworkers=1, tls=(ca, cert, key), env=ENV)
    address = cluster.start()
    try:
        assert address.startswith("tls://127.0.0.1:")
        single = base / "tree" / "single.ogg"
        r = run_batch(single, "--output", tmp_path / "o1", "--scheduler", address, cwd=tmp_path)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "--tls-ca-file" in r.stderr
        r = run_batch(single, "--output", tmp_path / "o2", "--preset", "Fastest",
                      "--scheduler", address, "--tls-ca-file", ca, "--tls-cert", cert,
                      "--tls-key", key, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert same_output((tmp_path / "o2" / "Declipped_single.wav").read_bytes(),
                           reference["single.ogg"])
    finally:
        cluster.stop()
