"""Test helpers for ``rtdeclip serve``: a real server in a child process on
127.0.0.1 (a free port), tokens made with the command line, clipped WAV
files, and a small HTTP client.  Every server is stopped by its test."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave

import numpy as np

START_TIMEOUT = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rtdeclip(*args, **kw):
    return subprocess.run([sys.executable, "-m", "rtdeclip", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def create_token(data, name):
    r = rtdeclip("serve", "--data", str(data), "--create-token", name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


class Server:
    """``rtdeclip serve --data DATA`` on 127.0.0.1:<free port>."""

    def __init__(self, data, *args, log=None):
        self.data, self.args = str(data), list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or os.path.join(self.data + ".server.log")
        self.proc = None

    def start(self):
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rtdeclip", "serve", "--data", self.data,
             "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            stdout=self._logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {open(self.log).read()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/openapi.json", timeout=2).read()
                return self
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def kill9(self):
        """SIGKILL the server, nothing else (its job children die with it)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._logf.close()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._logf.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def request(method, url, token=None, body=None, headers=None, timeout=30):
    """(status, headers, bytes) of one HTTP request."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Token token={token}"
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url, token=None):
    status, _, body = request("GET", url, token)
    return status, json.loads(body)


def multipart(fields, files):
    """A multipart/form-data body: fields {name: value}, files {name: (filename, bytes)}."""
    boundary = "rtdeclip-test-boundary-7f3a"
    out = []
    for k, v in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   .encode())
    for k, (fn, data) in files.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; '
                   f'filename="{fn}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                   + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def post_job(server, token, param, files, fields=None):
    f = {"job[webapp_id]": "134", "job[param]": param, "job[queue]": "standard"}
    f.update(fields or {})
    body, headers = multipart(f, {f"files[{i}]": (name, data)
                                  for i, (name, data) in enumerate(files)})
    status, _, resp = request("POST", server.url + "/api/v1/jobs", token, body, headers)
    return status, json.loads(resp)


def wait_job(server, token, jid, timeout=120, until=("done", "error")):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = get_json(f"{server.url}/api/v1/jobs/{jid}", token)
        assert status == 200, body
        if body["status"] in until:
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {jid} not finished after {timeout} s: {body}")


def clipped_signal(seconds=2.0, sr=16000, channels=1, level=0.5, seed=0):
    """(clean, clipped) float arrays: a few partials with a slow envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    chans = []
    for c in range(channels):
        f = rng.uniform(150, 900, 4)
        x = sum(rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 6))
                for fk in f)
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t + c)
        chans.append(x)
    clean = np.stack(chans, axis=1)
    clean *= 0.95 / np.abs(clean).max()
    return clean, np.clip(clean, -level, level)


def write_wav(path, x, sr=16000):
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    with wave.open(str(path), "wb") as f:
        f.setnchannels(x.shape[1])
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes((np.clip(x, -1, 1) * 32767).round().astype("<i2").tobytes())


def clipped_pair(folder, seconds=2.0, sr=16000, channels=1, names=("clipped.wav", "original.wav")):
    clean, clipped = clipped_signal(seconds, sr, channels)
    write_wav(os.path.join(folder, names[0]), clipped, sr)
    write_wav(os.path.join(folder, names[1]), clean, sr)
    return [os.path.join(folder, n) for n in names]


def assert_same_declipping(got, expected):
    """The same engine on the same input.  Not bit-identical across
    processes: FFTW may pick another plan in another process (FFTW_MEASURE),
    and the single-precision solver of the Fastest/Average presets lets
    rounding differences grow over iterations (seen: up to 0.009 on a few
    samples); the two must still agree to better than 40 dB."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape
    err = np.sum((got - expected) ** 2)
    agreement = 10 * np.log10(np.sum(expected ** 2) / err) if err > 0 else np.inf
    assert agreement > 40, f"outputs differ: agreement {agreement:.1f} dB"
