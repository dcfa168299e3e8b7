"""``rtdeclip serve --scheduler``: jobs run on a real Dask cluster (``dask
scheduler`` + two ``dask worker``s on 127.0.0.1, tests/dask_cluster.py),
with the same results and the same error lines as local jobs."""
import os
import re

import rtdeclip
from rtdeclip.files.audio_io import read_wav
from service_server import Server, assert_same_declipping, clipped_pair, create_token, post_job, request, wait_job


def test_jobs_run_on_the_cluster(dask_scheduler, tmp_path):
    data = tmp_path / "data"   # the same folder for server and workers (one machine)
    token = create_token(data, "cluster")
    clipped, original = clipped_pair(tmp_path, seconds=3, sr=22050, channels=2)
    wav, ref = open(clipped, "rb").read(), open(original, "rb").read()
    with Server(data, "--scheduler", dask_scheduler) as srv:
        ids = []
        for _ in range(4):
            status, body = post_job(srv, token, "-c clipped.wav -o original.wav -p Fastest",
                                    [("clipped.wav", wav), ("original.wav", ref)])
            assert status == 200, body
            ids.append(body["id"])
        status, bad = post_job(srv, token, "-c clipped.wav", [("clipped.wav", b"not audio" * 50)])
        assert status == 200
        for jid in ids:
            got = wait_job(srv, token, jid, timeout=180)
            assert got["status"] == "done", got
            assert {"Declipped_clipped.wav", "allgo.log", "report.json", "plot.png"} <= set(
                got[str(jid)])
        failed = wait_job(srv, token, bad["id"], timeout=180)
        srv.stop()
        log = open(srv.log).read()
    # the jobs ran on the cluster's workers (both of them), not in local processes
    where = re.findall(r"job (\d+) done \(dask worker (worker-\d)\)", log)
    assert {int(j) for j, _ in where} == set(ids), log[-3000:]
    assert {w for _, w in where} == {"worker-0", "worker-1"}, where
    # same samples as rtdeclip.declip_file here
    local = rtdeclip.declip_file(clipped, output=str(tmp_path / "local.wav"), reference=original,
                                 preset="Fastest")
    for jid in ids:
        y, sr = read_wav(os.path.join(data, "jobs", str(jid), "Declipped_clipped.wav"))
        assert_same_declipping(y, read_wav(str(tmp_path / "local.wav"))[0])
    assert local["sdr"]["mix"]["improvement_db"] > 1
    # a bad input: the one-line error, no partial files
    assert failed["status"] == "error"
    assert failed["error"].startswith("rtdeclip: error: clipped.wav: ")
    assert sorted(os.listdir(os.path.join(data, "jobs", str(bad["id"])))) == [
        "allgo.log", "clipped.wav"]
