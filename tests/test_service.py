"""``rtdeclip serve`` through real HTTP on 127.0.0.1: the seed's curl
commands, the AllGo response shapes, auth, bad input, limits, purge, and a
SIGKILL in the middle of a job."""
import json
import os
import re
import sqlite3
import subprocess
import time

import numpy as np
import pytest

import rtdeclip
from rtdeclip.files.audio_io import read_wav
from service_server import (Server, assert_same_declipping, clipped_pair, create_token, get_json, multipart, post_job,
                            request, rtdeclip as run_cli, wait_job, write_wav, clipped_signal)

# the seed's page, verbatim but for the token and the host
SEED_POST = ("curl -H 'Authorization: Token token=<token>' -X POST -F job[webapp_id]=134 "
             "-F job[param]=\"-c clipped.wav -o original.wav -p Fastest\" -F job[queue]=standard "
             "-F files[0]=@clipped.wav -F files[1]=@original.wav http://HOST/api/v1/jobs")
SEED_GET = "curl -H 'Authorization: Token token=<token>' -X GET http://HOST/api/v1/jobs/<id>"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the module, with two users."""
    data = tmp_path_factory.mktemp("service") / "data"
    alice, bob = create_token(data, "alice"), create_token(data, "bob")
    with Server(data, "--workers", "2") as srv:
        yield srv, alice, bob


def _curl(cmd, token, host, cwd, jid=None):
    cmd = cmd.replace("<token>", token).replace("HOST", host)
    if jid is not None:
        cmd = cmd.replace("<id>", str(jid))
    r = subprocess.run(["bash", "-c", cmd + " --silent --show-error --max-time 60"], cwd=cwd,
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_seed_curl_commands(served, tmp_path):
    srv, token, _ = served
    clipped, original = clipped_pair(tmp_path)
    host = srv.url.split("://", 1)[1]
    created = _curl(SEED_POST, token, host, tmp_path)
    assert set(created) == {"avg_time", "id", "url"}
    jid = created["id"]
    assert isinstance(jid, int) and isinstance(created["avg_time"], int)
    assert created["url"] == f"{srv.url}/api/v1/jobs/{jid}"
    deadline = time.monotonic() + 120
    while True:
        got = _curl(SEED_GET, token, host, tmp_path, jid)
        if got["status"] in ("done", "error") or time.monotonic() > deadline:
            break
        assert got["status"] in ("created", "waiting", "running", "in progress")
        time.sleep(0.3)
    assert got["status"] == "done", got
    assert set(got) == {"id", "status", str(jid)}
    files = got[str(jid)]
    for name in ("Declipped_clipped.wav", "allgo.log", "report.json", "plot.png"):
        assert files[name] == f"{srv.url}/api/v1/jobs/{jid}/files/{name}"
    # download with curl as a script would; compare with rtdeclip.declip_file run here
    for name in ("Declipped_clipped.wav", "allgo.log", "report.json"):
        r = subprocess.run(["curl", "--silent", "--fail", "--max-time", "60", "-H",
                            f"Authorization: Token token={token}", "-o", f"got_{name}",
                            files[name]], cwd=tmp_path, timeout=90)
        assert r.returncode == 0
    local = rtdeclip.declip_file(str(clipped), output=str(tmp_path / "local.wav"),
                                 reference=str(original), preset="Fastest")
    served_wav, sr = read_wav(str(tmp_path / "got_Declipped_clipped.wav"))
    local_wav, _ = read_wav(str(tmp_path / "local.wav"))
    assert sr == 16000 and served_wav.shape == local_wav.shape
    assert_same_declipping(served_wav, local_wav)   # the same engine
    log = (tmp_path / "got_allgo.log").read_text().splitlines()
    # the same log but for the timing line and, to 0.1 dB, the SDR figures
    fixed = lambda lines: [ln for ln in lines  # noqa: E731
                           if not ln.startswith("Declipping:") and "SDR" not in ln]
    assert fixed(log) == fixed(local["log"]) and len(log) == len(local["log"])
    sdr = lambda lines: np.array([float(v) for ln in lines if "SDR" in ln  # noqa: E731
                                  for v in re.findall(r"(-?[\d.]+) dB", ln)])
    np.testing.assert_allclose(sdr(log), sdr(local["log"]), atol=0.1)
    assert len(sdr(log)) == 6   # new, old, improvement for channel 1 and the mix
    assert any(line.startswith("Channel 1: New SDR") for line in log)
    report = json.loads((tmp_path / "got_report.json").read_text())
    assert report["sdr"]["mix"]["improvement_db"] > 1.0
    assert report["input"] == "clipped.wav"   # no server paths leak


def test_auth_rules(served, tmp_path):
    srv, alice, bob = served
    clipped, original = clipped_pair(tmp_path)
    status, body = post_job(srv, alice, "-c clipped.wav -p Fastest",
                            [("clipped.wav", open(clipped, "rb").read())])
    assert status == 200, body
    jid = body["id"]
    wait_job(srv, alice, jid)
    job = f"{srv.url}/api/v1/jobs/{jid}"
    urls = [job, job + "/events", job + "/files/allgo.log", job + "/files/Declipped_clipped.wav"]
    for url in urls:
        for token in (None, "not-a-token", alice + "x"):
            status, headers, resp = request("GET", url, token)
            assert status == 401, (url, token, status)
            assert "token" in json.loads(resp)["error"]
        status, _, resp = request("GET", url, alice)
        assert status == 200, url
        status, _, resp = request("GET", url, bob)   # another user's job: as if absent
        assert status == 404 and json.loads(resp)["error"]
    # result types; an uploaded page is served as data, not as a page of the site
    status, headers, _ = request("GET", job + "/files/Declipped_clipped.wav", alice)
    assert headers["content-type"].startswith("audio/")
    status, headers, _ = request("GET", job + "/files/allgo.log", alice)
    assert headers["content-type"].startswith("text/plain")
    assert headers["x-content-type-options"] == "nosniff"
    status, page = post_job(srv, alice, "-c clipped.wav -p Fastest",
                            [("clipped.wav", open(clipped, "rb").read()),
                             ("x.html", b"<script>alert(1)</script>")])
    assert status == 200
    status, headers, _ = request("GET", f"{srv.url}/api/v1/jobs/{page['id']}/files/x.html", alice)
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    # a missing job or file, an id that is not a number
    for url in (f"{srv.url}/api/v1/jobs/999999", f"{srv.url}/api/v1/jobs/abc",
                f"{srv.url}/api/v1/jobs/%C2%B2",
                job + "/files/nothing.wav", job + "/files/.progress"):
        status, _, resp = request("GET", url, alice)
        assert status == 404 and json.loads(resp)["error"], url
    body, headers = multipart({"job[param]": "-c a.wav"}, {"files[0]": ("a.wav", b"x")})
    status, _, resp = request("POST", srv.url + "/api/v1/jobs", None, body, headers)
    assert status == 401
    # the token is stored hashed, never in clear
    db = open(os.path.join(srv.data, "rtdeclip.sqlite3"), "rb").read()
    assert alice.encode() not in db and bob.encode() not in db


def test_revoked_token(tmp_path):
    data = tmp_path / "data"
    tok = create_token(data, "carol")
    r = run_cli("serve", "--data", str(data), "--list-tokens")
    assert "carol\tactive" in r.stdout
    with Server(data) as srv:
        assert get_json(f"{srv.url}/api/v1/jobs/1", tok)[0] == 404
        assert run_cli("serve", "--data", str(data), "--revoke-token", "carol").returncode == 0
        assert get_json(f"{srv.url}/api/v1/jobs/1", tok)[0] == 401
    assert run_cli("serve", "--data", str(data), "--revoke-token", "nobody").returncode == 1


def test_bad_input_is_a_job_error_with_rtdeclips_message(served, tmp_path):
    srv, token, _ = served
    junk = b"RIFF\x10\x00\x00\x00WAVEfmt this is not audio at all" * 10
    status, body = post_job(srv, token, "-c clipped.wav -p Fastest", [("clipped.wav", junk)])
    assert status == 200, body
    got = wait_job(srv, token, body["id"])
    assert got["status"] == "error"
    # the line rtdeclip prints for the same file
    (tmp_path / "clipped.wav").write_bytes(junk)
    r = run_cli("aspade", "-c", "clipped.wav", "-p", "Fastest", cwd=tmp_path)
    expected = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and expected.startswith("rtdeclip: error: clipped.wav:")
    assert got["error"] == expected
    files = got[str(body["id"])]
    assert sorted(files) == ["allgo.log", "clipped.wav"]   # no partial results
    status, _, log = request("GET", files["allgo.log"], token)
    assert log.decode().strip() == expected
    folder = os.path.join(srv.data, "jobs", str(body["id"]))
    assert sorted(os.listdir(folder)) == ["allgo.log", "clipped.wav"]   # no hidden temporaries


def test_malformed_requests_get_4xx_json(served, tmp_path):
    srv, token, _ = served
    clipped, _ = clipped_pair(tmp_path)
    wav = open(clipped, "rb").read()
    cases = [
        ("-c clipped.wav -p Slowest", [("clipped.wav", wav)], {}, "preset"),
        ("-c other.wav", [("clipped.wav", wav)], {}, "other.wav"),
        ("-p Fastest", [("clipped.wav", wav)], {}, "-c"),
        ("-c clipped.wav --bogus", [("clipped.wav", wav)], {}, "bogus"),
        ("-c 'clipped.wav", [("clipped.wav", wav)], {}, "quotation"),
        ("-c clipped.wav --output /etc/x.wav", [("clipped.wav", wav)], {}, "--output"),
        ("-c clipped.wav --threshold=3", [("clipped.wav", wav)], {}, "threshold"),
        ("-c clipped.wav --source-rate fast", [("clipped.wav", wav)], {}, "source-rate"),
        ("-c clipped.wav", [], {}, "no file"),
        ("-c clipped.wav", [("clipped.wav", wav)], {"job[webapp_id]": "7"}, "webapp"),
        ("-c clipped.wav", [("clipped.wav", wav)], {"job[queue]": "fast"}, "queue"),
        ("-c ../x.wav", [("../x.wav", wav)], {}, "name"),
        ("-c .hidden.wav", [(".hidden.wav", wav)], {}, "name"),
        ("-c allgo.log", [("allgo.log", wav)], {}, "result file"),
    ]
    for param, files, fields, word in cases:
        status, body = post_job(srv, token, param, files, fields)
        assert 400 <= status < 500 and set(body) == {"error"}, (param, status, body)
        assert word in body["error"], (param, body)
    # not multipart, an empty body, a broken multipart body
    for body, ctype in ((b'{"a": 1}', "application/json"), (b"", "multipart/form-data"),
                        (b"--xx\r\nContent-Disposition: form-data\r\n\r\nabc",
                         "multipart/form-data; boundary=xx")):
        status, _, resp = request("POST", srv.url + "/api/v1/jobs", token, body,
                                  {"Content-Type": ctype})
        assert 400 <= status < 500 and "error" in json.loads(resp), (body, status, resp)
    status, _, resp = request("GET", f"{srv.url}/api/v1/jobs/1/events?offset=abc", token)
    assert status == 400 and "error" in json.loads(resp)
    status, _, resp = request("DELETE", f"{srv.url}/api/v1/jobs/1", token)
    assert status == 405 and "error" in json.loads(resp)
    # names and apps AllGo accepts
    for fields in ({"job[webapp_id]": "aspade"}, {"job[webapp_id]": "", "job[webapp_name]": "A-SPADE"},
                   {"job[webapp_id]": "", "job[webapp]": "aspade", "job[queue]": "interactive"}):
        status, body = post_job(srv, token, "-c clipped.wav -p Fastest", [("clipped.wav", wav)],
                                fields)
        assert status == 200, (fields, body)
        assert wait_job(srv, token, body["id"])["status"] == "done"


def test_events_stream(served, tmp_path):
    srv, token, _ = served
    clipped, original = clipped_pair(tmp_path, seconds=3)
    status, body = post_job(srv, token, "-c clipped.wav -o original.wav -p Average",
                            [("clipped.wav", open(clipped, "rb").read()),
                             ("original.wav", open(original, "rb").read())])
    jid = body["id"]
    status, _, raw = request("GET", f"{srv.url}/api/v1/jobs/{jid}/events", token, timeout=120)
    assert status == 200
    msgs = [json.loads(line) for line in raw.decode().splitlines()]
    statuses = [m["status"] for m in msgs if "status" in m]
    assert statuses[-1] == "done" and statuses == sorted(
        statuses, key=["created", "waiting", "running", "done"].index)
    assert msgs[-1] == {"eof": None} and {"logs": ""} in msgs
    log = "".join(m["logs"] for m in msgs if "logs" in m)
    _, _, served_log = request("GET", f"{srv.url}/api/v1/jobs/{jid}/files/allgo.log", token)
    assert log == served_log.decode() and "Improvement" in log
    # a byte offset resumes the log; -1 leaves it out
    _, _, raw = request("GET", f"{srv.url}/api/v1/jobs/{jid}/events?offset=10", token)
    msgs = [json.loads(line) for line in raw.decode().splitlines()]
    assert "".join(m["logs"] for m in msgs if "logs" in m) == log[10:]
    _, _, raw = request("GET", f"{srv.url}/api/v1/jobs/{jid}/events?offset=-1", token)
    msgs = [json.loads(line) for line in raw.decode().splitlines()]
    assert msgs == [{"status": "done"}, {"eof": None}]


def test_limits_and_purge(tmp_path):
    data = tmp_path / "data"
    tok = create_token(data, "dave")
    clipped, _ = clipped_pair(tmp_path, seconds=4, sr=44100, channels=2)
    wav = open(clipped, "rb").read()   # 1.4 MB, 4 s
    with Server(data, "--max-upload-mb", "2", "--max-duration", "5", "--max-queued", "1",
                "--purge-after-hours", str(3 / 3600)) as srv:
        big = np.zeros(2 * 1024 * 1024, np.uint8).tobytes()
        status, body = post_job(srv, tok, "-c big.wav", [("big.wav", big)])
        assert status == 413 and "2 MB" in body["error"], body
        # a chunked upload (no Content-Length) is cut at the limit too
        body, headers = multipart({"job[param]": "-c big.wav"}, {"files[0]": ("big.wav", big)})
        r = subprocess.run(["curl", "--silent", "--max-time", "60", "-H",
                            f"Authorization: Token token={tok}", "-H", "Transfer-Encoding: chunked",
                            "-H", f"Content-Type: {headers['Content-Type']}", "--data-binary",
                            "@-", srv.url + "/api/v1/jobs", "-w", "\n%{http_code}"],
                           input=body, capture_output=True, timeout=90)
        assert r.stdout.decode().splitlines()[-1] == "413", r.stdout
        long_clean, long_clipped = clipped_signal(6, 8000)
        write_wav(tmp_path / "long.wav", long_clipped, 8000)
        status, body = post_job(srv, tok, "-c long.wav", [("long.wav", open(tmp_path / "long.wav", "rb").read())])
        assert status == 413 and "limit of 5 s" in body["error"], body
        # one unfinished job per user: the second is refused while the first runs
        status, first = post_job(srv, tok, "-c clipped.wav -p Average", [("clipped.wav", wav)])
        assert status == 200, first
        status, body = post_job(srv, tok, "-c clipped.wav", [("clipped.wav", wav)])
        assert status == 429 and "unfinished" in body["error"], body
        assert wait_job(srv, tok, first["id"], timeout=180)["status"] == "done"
        status, again = post_job(srv, tok, "-c clipped.wav -p Fastest", [("clipped.wav", wav)])
        assert status == 200
        # nothing left behind by the refused uploads
        assert not os.listdir(os.path.join(data, "uploads"))
        # finished jobs are purged after 3 s (checked every second)
        wait_job(srv, tok, again["id"], timeout=120)
        deadline = time.monotonic() + 20
        while get_json(f"{srv.url}/api/v1/jobs/{first['id']}", tok)[0] != 404:
            assert time.monotonic() < deadline, "job not purged"
            time.sleep(0.5)
        assert not os.path.exists(os.path.join(data, "jobs", str(first["id"])))


def _children(pid):
    r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie is dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_loses_no_job(tmp_path):
    data = tmp_path / "data"
    tok = create_token(data, "erin")
    # long enough that the progress file (written at most every 0.25 s) is
    # seen mid-job: 5 s took Average under half a second here
    seconds = 20
    clipped, original = clipped_pair(tmp_path, seconds=seconds, sr=44100, channels=2)
    wav, ref = open(clipped, "rb").read(), open(original, "rb").read()
    srv = Server(data, "--workers", "1").start()
    try:
        status, done_first = post_job(srv, tok, "-c clipped.wav -p Fastest", [("clipped.wav", wav)])
        first = wait_job(srv, tok, done_first["id"])
        assert first["status"] == "done"
        out = os.path.join(data, "jobs", str(done_first["id"]), "Declipped_clipped.wav")
        before = (os.stat(out).st_mtime_ns, open(out, "rb").read())
        ids = []
        for _ in range(3):
            status, body = post_job(srv, tok, "-c clipped.wav -o original.wav -p Average",
                                    [("clipped.wav", wav), ("original.wav", ref)])
            assert status == 200
            ids.append(body["id"])
        # kill while the first of them is declipping (its progress file moves)
        progress = os.path.join(data, "jobs", str(ids[0]), ".progress")
        deadline = time.monotonic() + 120
        while True:
            try:
                if 0.15 < float(open(progress).read() or 0) < 0.9:
                    break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < deadline, "job never got going"
            time.sleep(0.02)
        kids = _children(srv.proc.pid)
        assert kids, "no job process"
        srv.kill9()
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in kids):   # the job dies with the server
            assert time.monotonic() < deadline, "job process outlived the server"
            time.sleep(0.1)
    finally:
        srv.stop()
    # killed mid-job: the database says running, and no result is visible
    with sqlite3.connect(os.path.join(data, "rtdeclip.sqlite3")) as db:
        states = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    assert states[ids[0]] == "running" and states[ids[1]] == states[ids[2]] == "waiting"
    assert not os.path.exists(os.path.join(data, "jobs", str(ids[0]), "Declipped_clipped.wav"))
    srv = Server(data, "--workers", "1").start()
    try:
        for jid in ids:
            got = wait_job(srv, tok, jid, timeout=300)
            assert got["status"] == "done", got
            assert {"Declipped_clipped.wav", "allgo.log", "report.json"} <= set(got[str(jid)])
            folder = os.path.join(data, "jobs", str(jid))
            assert not [n for n in os.listdir(folder) if n.startswith(".") and n != ".progress"]
            y, sr = read_wav(os.path.join(folder, "Declipped_clipped.wav"))
            assert y.shape == (seconds * 44100, 2)
        rep = json.load(open(os.path.join(data, "jobs", str(ids[0]), "report.json")))
        assert rep["sdr"]["mix"]["improvement_db"] > 1
        # the job finished before the kill kept its result untouched
        got = wait_job(srv, tok, done_first["id"])
        assert got["status"] == "done"
        assert (os.stat(out).st_mtime_ns, open(out, "rb").read()) == before
    finally:
        srv.stop()


def _peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_uploads_stream_to_disk(served, tmp_path):
    """A 64 MB upload does not pass through the server's memory: its peak
    resident size grows by far less than the upload."""
    srv, token, _ = served
    big = tmp_path / "big.wav"
    with open(big, "wb") as f:   # not audio: the job fails quickly, after the upload
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    # a small upload first: the server's first duration probe imports the decoder
    status, warm = post_job(srv, token, "-c small.wav", [("small.wav", b"x" * 4096)])
    assert status == 200
    before = _peak_rss_kib(srv.proc.pid)
    r = subprocess.run(["curl", "--silent", "--max-time", "120", "-H",
                        f"Authorization: Token token={token}", "-F", "job[param]=-c big.wav",
                        "-F", f"files[0]=@{big}", srv.url + "/api/v1/jobs"],
                       capture_output=True, text=True, timeout=150)
    body = json.loads(r.stdout)
    grown_mib = (_peak_rss_kib(srv.proc.pid) - before) / 1024
    print(f"peak RSS growth {grown_mib:.1f} MiB")
    assert set(body) == {"avg_time", "id", "url"}, body
    assert grown_mib < 16, f"server peak RSS grew by {grown_mib:.1f} MiB for a 64 MiB upload"
    got = wait_job(srv, token, body["id"])
    assert got["status"] == "error" and got["error"].startswith("rtdeclip: error: big.wav: ")
    stored = os.path.join(srv.data, "jobs", str(body["id"]), "big.wav")
    assert os.path.getsize(stored) == 64 << 20


def test_sigterm_puts_the_running_job_back(tmp_path):
    data = tmp_path / "data"
    tok = create_token(data, "fred")
    clipped, _ = clipped_pair(tmp_path, seconds=5, sr=44100, channels=2)
    srv = Server(data, "--workers", "1").start()
    try:
        status, body = post_job(srv, tok, "-c clipped.wav -p Average",
                                [("clipped.wav", open(clipped, "rb").read())])
        jid = body["id"]
        progress = os.path.join(data, "jobs", str(jid), ".progress")
        deadline = time.monotonic() + 120
        while not (os.path.exists(progress) and open(progress).read() not in ("", "0.0000")):
            assert time.monotonic() < deadline, "job never got going"
            time.sleep(0.02)
    finally:
        srv.stop()   # SIGTERM: a clean shutdown
    # uvicorn shuts down cleanly, then re-raises the signal (exit status -15)
    assert "Application shutdown complete" in open(srv.log).read()
    with sqlite3.connect(os.path.join(data, "rtdeclip.sqlite3")) as db:
        assert db.execute("SELECT status FROM jobs WHERE id=?", (jid,)).fetchone()[0] == "waiting"
    assert sorted(os.listdir(os.path.join(data, "jobs", str(jid)))) == ["clipped.wav"]
    with Server(data, "--workers", "1") as srv:
        assert wait_job(srv, tok, jid, timeout=300)["status"] == "done"
