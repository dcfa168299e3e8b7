"""A real Dask cluster on 127.0.0.1 for the tests, started with Dask's own
commands (``dask scheduler``, ``dask worker``) as a user would.

    from dask_cluster import dask_scheduler   # in conftest.py: registers the fixture

    def test_something(dask_scheduler):       # "tcp://127.0.0.1:PORT", 2 workers connected
        ...

The fixture is session-scoped: one scheduler and two single-threaded
worker processes for the whole test session, stopped (SIGTERM, then
SIGKILL after a bounded wait) at the end.  ``DaskCluster`` does the same
as a context manager for a benchmark or a test that wants its own cluster
(e.g. with one worker).

The scheduler picks a free port itself (``--port 0``) and writes its
address to a scheduler file, so parallel test sessions never collide; it
listens on 127.0.0.1 only and runs no dashboard (no other port opened).
Workers run the same Python as the tests (the ``dask`` script beside
``sys.executable``), so they import the rtdeclip installed in that
environment.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

START_TIMEOUT = 60.0   # s: scheduler file + workers connected (2 busy shared cores)
STOP_TIMEOUT = 10.0    # s: after SIGTERM, before SIGKILL


def dask_command():
    """``dask`` of this Python environment (never another one on PATH)."""
    beside = os.path.join(os.path.dirname(sys.executable), "dask")
    if os.path.exists(beside):
        return [beside]
    return [sys.executable, "-m", "dask"]


class DaskCluster:
    """A scheduler and ``nworkers`` worker processes on 127.0.0.1.

    ``with DaskCluster(2) as address: ...`` -- ``address`` is
    "tcp://127.0.0.1:PORT" once all workers are connected."""

    def __init__(self, nworkers=2, nthreads=1, env=None, tls=None):
        """``tls``: (ca_file, cert_file, key_file) to run everything over
        Dask's TLS (the address is then tls://127.0.0.1:PORT)."""
        self.nworkers, self.nthreads = nworkers, nthreads
        self.tls = tls
        self.env = dict(os.environ, **(env or {}))
        self.procs = []
        self.address = None
        self.dir = None

    def _spawn(self, args, log_name):
        log = open(os.path.join(self.dir, log_name), "wb")
        # a new session: signals go to the process we started (and any child
        # it has), never to the test runner's group
        p = subprocess.Popen(dask_command() + args, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=self.env, cwd=self.dir,
                             start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="rtdeclip-dask-")
        sched_file = os.path.join(self.dir, "scheduler.json")
        deadline = time.monotonic() + START_TIMEOUT
        try:
            sched = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", sched_file]
                                + self._tls_args(scheduler=True), "scheduler.log")
            while not os.path.exists(sched_file):
                self._check_alive(sched, "scheduler", deadline)
                time.sleep(0.05)
            while True:   # written, maybe not completely yet
                try:
                    with open(sched_file) as f:
                        self.address = json.load(f)["address"]
                    break
                except (ValueError, KeyError):
                    self._check_alive(sched, "scheduler", deadline)
                    time.sleep(0.05)
            for i in range(self.nworkers):
                wdir = os.path.join(self.dir, f"worker-{i}")
                os.makedirs(wdir)
                self._spawn(["worker", self.address, "--host", "127.0.0.1",
                             "--nthreads", str(self.nthreads), "--no-nanny",
                             "--no-dashboard", "--name", f"worker-{i}",
                             "--local-directory", wdir, "--death-timeout", "30"]
                            + self._tls_args(), f"worker-{i}.log")
            self._wait_for_workers(deadline)
        except BaseException:
            self.stop()
            raise
        return self.address

    def _tls_args(self, scheduler=False):
        if not self.tls:
            return []
        ca, cert, key = self.tls
        return (["--protocol", "tls"] if scheduler else []) + \
            ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]

    def security(self):
        """The client's Security for this cluster (None without TLS)."""
        if not self.tls:
            return None
        from distributed.security import Security
        ca, cert, key = self.tls
        return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                        require_encryption=True)

    def _check_alive(self, p, what, deadline):
        if p.poll() is not None:
            raise RuntimeError(f"dask {what} exited with {p.returncode}: {self.logs()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"dask {what} did not start in {START_TIMEOUT:.0f} s: {self.logs()}")

    def _wait_for_workers(self, deadline):
        from distributed import Client
        with Client(self.address, timeout=max(1.0, deadline - time.monotonic()),
                    security=self.security(), set_as_default=False) as client:
            while len(client.scheduler_info(n_workers=-1)["workers"]) < self.nworkers:
                for p in self.procs:
                    self._check_alive(p, "worker", deadline)
                time.sleep(0.1)

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.dir or ".")) if self.dir else []:
            if name.endswith(".log"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f"--- {name}\n{f.read()[-2000:]}")
        return "\n".join(out)

    def stop(self):
        # workers first, so they do not spend their death-timeout looking
        # for a scheduler that went away
        for p in reversed(self.procs):
            _terminate(p)
        self.procs = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _terminate(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)   # its own group (start_new_session)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def dask_scheduler():
    """Address "tcp://127.0.0.1:PORT" of a scheduler with two workers
    connected (one thread each), for the whole test session."""
    with DaskCluster(nworkers=2) as address:
        yield address
