"""schemathesis against the OpenAPI schema served by a running server on
127.0.0.1: generated requests (valid and invalid, with a valid token) never
get a 5xx.  Bounded: few examples per operation and a time budget."""
import os
import re
import shutil
import subprocess
import sys

from service_server import Server, create_token


def _schemathesis():
    exe = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    return exe if os.path.exists(exe) else shutil.which("schemathesis")


def test_no_server_error_for_generated_requests(tmp_path):
    data = tmp_path / "data"
    token = create_token(data, "fuzz")
    exe = _schemathesis()
    assert exe, "schemathesis not installed (pip install 'rtdeclip[test]')"
    with Server(data, "--workers", "2", "--max-queued", "1000") as srv:
        r = subprocess.run(
            [exe, "run", srv.url + "/openapi.json", "-H", f"Authorization: Token token={token}",
             "--checks", "not_a_server_error", "--max-examples", "15", "--seed", "1",
             "--request-timeout", "20", "--max-time", "75", "--no-color"],
            capture_output=True, text=True, timeout=240, cwd=tmp_path)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out[-4000:]
        assert re.search(r"\d+ generated, \d+ passed", out), out[-2000:]
        log = open(srv.log).read()
    # it reached the API's logic: jobs were created, and nothing answered 5xx
    assert re.search(r'"POST /api/v1/jobs HTTP/1.1" 200', log)
    assert not re.search(r'HTTP/1.1" 5\d\d', log), log[-3000:]
