"""Machine stalls, seen from outside the process under test.

On a virtual machine the host may deschedule the whole guest for
milliseconds; to the live host that looks like its own lateness.  A watcher
process at a real-time priority above the host's worker sleeps 1 ms at a
time and records when it wakes more than 2 ms late::

    with StallWatch() as watch:
        t0 = time.monotonic(); run_something(); t1 = time.monotonic()
    print(watch.worst_ms(t0, t1))
"""
import os
import subprocess
import sys
import tempfile


class StallWatch:
    """A separate process at real-time priority (above the host's worker)
    that sleeps 1 ms at a time and records when it woke more than 2 ms late:
    times when the whole machine (a VM on a shared host) was unavailable.
    It stops when told to or when its parent dies.
    An idle machine wakes it within a fraction of a ms."""

    CODE = ("import os, sys, time\n"
            "try:\n os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))\n"
            "except OSError:\n pass\n"
            "parent = os.getppid()\n"
            "while not os.path.exists(sys.argv[1]) and os.getppid() == parent:\n"
            " t = time.monotonic(); time.sleep(0.001); late = time.monotonic() - t - 0.001\n"
            " if late > 0.002:\n  print(t, late * 1e3, flush=True)\n")

    def __enter__(self):
        self._dir = tempfile.mkdtemp(prefix="stallwatch-")
        self._flag = os.path.join(self._dir, "stop")
        self._p = subprocess.Popen([sys.executable, "-c", self.CODE, self._flag],
                                   stdout=subprocess.PIPE, text=True)
        self.stalls = []
        return self

    def __exit__(self, *exc):
        open(self._flag, "w").close()
        out, _ = self._p.communicate(timeout=10)
        os.unlink(self._flag)
        os.rmdir(self._dir)
        self.stalls = [tuple(map(float, line.split())) for line in out.split("\n") if line]

    def worst_ms(self, start, end):
        """The longest stall that began between monotonic times start and end."""
        return max([ms for t, ms in self.stalls if start <= t <= end], default=0.0)

    def at_least(self, ms, start, end):
        """The stalls of at least `ms` that began between monotonic times
        start and end, as (seconds after start, ms) pairs."""
        return [(round(t - start, 2), round(d, 1)) for t, d in self.stalls
                if start <= t <= end and d >= ms]
