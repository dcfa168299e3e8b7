"""A JACK server with the dummy driver: a real sound card for machines that
have none (CI, servers, the README's demo).

    with JackDummy(rate=48000, period=256):
        import sounddevice        # PortAudio sees JACK only if jackd runs first
        ...

Loopback between JACK clients is bit-exact, so tests can compare samples.
"""
import os
import shutil
import subprocess
import time

from rtdeclip.errors import DeviceError


def _env(name=None):
    env = dict(os.environ, JACK_NO_START_SERVER="1")
    if name:
        env["JACK_DEFAULT_SERVER"] = name
    return env


def jack_running(name=None):
    """Whether a JACK server (the default one, or the one named) answers."""
    if not shutil.which("jack_lsp"):
        return False
    r = subprocess.run(["jack_lsp"], capture_output=True, text=True, timeout=10, env=_env(name))
    return r.returncode == 0 and "system:" in r.stdout


class JackDummy:
    """Starts ``jackd -d dummy`` unless a JACK server already runs; stops
    what it started.  Real-time scheduling (-R) is tried first, then not."""

    def __init__(self, rate=48000, period=256, channels=2, log=None, name=None):
        self.rate, self.period, self.channels, self.name = rate, period, channels, name
        self.proc = None
        self.log = log or os.devnull

    def start(self, timeout=10.0):
        if jack_running(self.name):
            return self
        if not shutil.which("jackd"):
            raise DeviceError("no sound card and no jackd: install jackd2 (scripts/install.sh)")
        for rt in (["-R"], ["-r"]):
            named = ["-n", self.name] if self.name else []
            cmd = ["jackd", *named, *rt, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period),
                   "-C", str(self.channels), "-P", str(self.channels)]
            self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                         start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if jack_running(self.name):
                    return self
                time.sleep(0.05)
            self.stop()
        raise DeviceError("the JACK dummy server did not start (see jackd's log)")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # wait until the server is really gone, so the next one can start
        for _ in range(100):
            if not jack_running(self.name):
                break
            time.sleep(0.05)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def ports(pattern=""):
    """Port names of the running server (JACK_DEFAULT_SERVER), matching."""
    r = subprocess.run(["jack_lsp", pattern] if pattern else ["jack_lsp"], capture_output=True,
                       text=True, timeout=10, env=_env())
    return [p.strip() for p in r.stdout.splitlines() if p.strip()]


def output_ports():
    """Ports other clients can be fed from (JACK's "output" flag)."""
    r = subprocess.run(["jack_lsp", "-p"], capture_output=True, text=True, timeout=10, env=_env())
    out, name = [], None
    for line in r.stdout.splitlines():
        if not line.startswith((" ", "\t")):
            name = line.strip()
        elif "properties:" in line and "output" in line and name:
            out.append(name)
    return out


def connect(src, dst):
    r = subprocess.run(["jack_connect", src, dst], capture_output=True, text=True, timeout=10,
                       env=_env())
    if r.returncode != 0 and "already" not in (r.stdout + r.stderr):
        raise DeviceError(f"cannot connect JACK port {src} to {dst}")


def disconnect(src, dst):
    subprocess.run(["jack_disconnect", src, dst], capture_output=True, timeout=10, env=_env())
