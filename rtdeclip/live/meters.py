"""What the live host is doing: the worker's per-block meters
(``BlockMeters``) and, once a second, a rich live view on a
terminal (input level and clip meter per channel, output level, CPU load,
latency, xruns), plain one-line reports otherwise (pipes, logs, CI).

    view = make_view(host, file=sys.stderr)
    while running:
        view.update(seconds_since_start)
    view.close()

The meters are arrays the worker fills per block (``peak_in``,
``peak_out``, ``clip_count``); reading them here takes no lock: a meter
one block stale is fine.
"""
import math
import os
import sys
import time

import numpy as np

# the clip levels move slowly: the meters re-read them every this many blocks
LEVEL_REFRESH_BLOCKS = 32


class BlockMeters:
    """Per-channel peaks of the input and output and the count of input
    samples at the clip levels, updated by the worker for every block into
    arrays allocated here (nothing per block).  ``levels`` is a callable
    returning [(pos, neg), ...] per channel (the declipper's thresholds).

    >>> m = BlockMeters(2, 4, lambda: [(0.5, -0.5), (0.9, -0.9)])
    >>> x = np.array([[0.1, 0.2], [0.5, -0.9], [-0.6, 0.3], [0.0, 0.0]], np.float32)
    >>> m.update(x, 0.5 * x)
    >>> m.peak_in.tolist(), m.clip_count.tolist()
    ([0.6000000238418579, 0.8999999761581421], [2, 1])
    """

    def __init__(self, channels, block, levels):
        self.peak_in = np.zeros(channels)
        self.peak_out = np.zeros(channels)
        self.peak_max = np.zeros(channels)       # largest |input| since start
        self.clip_count = np.zeros(channels, np.int64)
        self._levels = levels
        self._abs = np.zeros((block, channels), np.float32)
        self._hits = np.zeros((block, channels), bool)
        self._nhits = np.zeros(channels, np.int64)
        self._th = np.zeros((2, channels), np.float32)
        self._th[0], self._th[1] = np.inf, -np.inf
        self._blocks = 0

    def update(self, inbuf, outbuf):
        absbuf, hits, nhits, th = self._abs, self._hits, self._nhits, self._th
        np.abs(inbuf, out=absbuf)
        np.maximum.reduce(absbuf, axis=0, out=self.peak_in)
        np.maximum(self.peak_max, self.peak_in, out=self.peak_max)
        np.abs(outbuf, out=absbuf)
        np.maximum.reduce(absbuf, axis=0, out=self.peak_out)
        if self._blocks % LEVEL_REFRESH_BLOCKS == 0:
            for k, (p, q) in enumerate(self._levels()):
                th[0, k], th[1, k] = p, q
        self._blocks += 1
        np.greater_equal(inbuf, th[0], out=hits)
        np.add.reduce(hits, axis=0, out=nhits)
        self.clip_count += nhits
        np.less_equal(inbuf, th[1], out=hits)
        np.add.reduce(hits, axis=0, out=nhits)
        self.clip_count += nhits


def dbfs(x):
    return 20 * math.log10(x) if x > 1e-10 else -200.0


class _Rates:
    """Per-interval differences of the host's counters."""

    def __init__(self, host):
        self.host = host
        self.t = time.monotonic()
        self.clips = host.clip_count.copy()
        # start from the counters as they are: a view made mid-stream must
        # not charge the stream's whole past to its first interval
        s = host.stats
        self.samples = s["stream_samples_in"]
        self.cpu = 0.0
        self.busy = s["worker_cpu_share"] * s["seconds"]
        self.peak_hold = np.zeros(host.channels)

    def step(self, stats):
        h, now = self.host, time.monotonic()
        dt = max(1e-3, now - self.t)
        clips = h.clip_count.copy()
        seen = stats["stream_samples_in"]
        frac = (clips - self.clips) / max(1, seen - self.samples)
        busy = stats["worker_cpu_share"] * stats["seconds"]
        # a share of the machine: never above its cores, even when the
        # interval is too short for the CPU clock's resolution
        self.cpu = min(max(0.0, (busy - self.busy) / dt), float(os.cpu_count() or 1))
        self.t, self.clips, self.samples, self.busy = now, clips, seen, busy
        self.peak_hold = np.maximum(self.peak_hold * 0.5, h.peak_in)
        return frac


def _latency_text(lat):
    return (f"{lat['total']['ms']:.1f} ms = in {lat['device_input']['ms']:.1f} + algorithm "
            f"{lat['algorithm']['ms']:.1f} + margin {lat['margin']['ms']:.1f} + limiter "
            f"{lat['limiter']['ms']:.1f} + out {lat['device_output']['ms']:.1f}")


class PlainView:
    """One line per interval on a file (stderr by default)."""

    def __init__(self, host, file=None, interval=1.0):
        self.host, self.file, self.interval = host, file or sys.stderr, interval
        self.rates = _Rates(host)
        self.last = -1e9

    def update(self, now):
        if now - self.last < self.interval:
            return
        self.last = now
        s = self.host.stats
        frac = self.rates.step(s)
        levels = " ".join(f"{dbfs(p):6.1f}" for p in self.host.peak_in)
        clips = " ".join(f"{100 * f:4.1f}%" for f in frac)
        print(f"[{now:7.1f} s] in dBFS {levels}  clipped {clips}  cpu {100 * self.rates.cpu:3.0f} %  "
              f"budget {s['iteration_budget']}/{s['iteration_budget_preset']}  "
              f"xruns {s['xruns']}  late frames {s['late_frames']}  "
              f"hop p99 {s['hop_ms']['p99']:.2f}/{s['hop_ms']['hop']:.1f} ms", file=self.file, flush=True)
        # a given clip level nothing (or most of the signal) reaches: said
        # once, and again when the message changes
        notes = s.get("threshold_notes") or []
        if notes != getattr(self, "_notes", []):
            self._notes = notes
            for n in notes:
                print(f"[{now:7.1f} s] {n}", file=self.file, flush=True)

    def close(self):
        pass


class RichView:
    """A live panel redrawn in place (rich)."""

    def __init__(self, host, file=None, title="rtdeclip live"):
        from rich.console import Console
        from rich.live import Live
        self.host, self.title = host, title
        self.rates = _Rates(host)
        self.console = Console(file=file or sys.stderr)
        self.live = Live(self._render(0.0), console=self.console, refresh_per_second=4,
                         transient=False)
        self.live.start()
        self.last = -1e9

    @staticmethod
    def _bar(db, width=30, lo=-60.0):
        n = int(round(width * min(1.0, max(0.0, (db - lo) / -lo))))
        return "█" * n + "·" * (width - n)

    def _render(self, now):
        from rich.table import Table
        h = self.host
        s = h.stats
        frac = self.rates.step(s)
        t = Table(title=f"{self.title}  {now:6.1f} s", expand=False, show_edge=False)
        t.add_column("ch")
        t.add_column("input", no_wrap=True)
        t.add_column("dBFS", justify="right")
        t.add_column("clipped", justify="right")
        t.add_column("clip level", justify="right")
        t.add_column("output dBFS", justify="right")
        for c in range(h.channels):
            db = dbfs(float(self.rates.peak_hold[c]))
            f = float(frac[c])
            style = "red" if f > 0.001 else "green"
            pos, neg = s["thresholds"][c]
            level = "none" if not math.isfinite(pos) else f"{dbfs(pos):.1f}/{dbfs(-neg):.1f}"
            t.add_row(str(c + 1), f"[{style}]{self._bar(db)}[/]", f"{db:6.1f}",
                      f"[{style}]{100 * f:5.2f} %[/]", level, f"{dbfs(float(h.peak_out[c])):6.1f}")
        xr = "red" if s["xruns"] else "green"
        late = "yellow" if s["late_frames"] else "green"
        t.caption = (f"latency {_latency_text(s['latency'])}\n"
                     f"cpu {100 * self.rates.cpu:3.0f} %   budget {s['iteration_budget']}/"
                     f"{s['iteration_budget_preset']}   [{xr}]xruns {s['xruns']}[/]   "
                     f"[{late}]late frames {s['late_frames']}[/]   hop p99 "
                     f"{s['hop_ms']['p99']:.2f}/{s['hop_ms']['hop']:.1f} ms   "
                     f"limited {s['limited_samples']}"
                     + ("   [bold]BYPASS[/]" if h.bypass else "")
                     + "".join(f"\n[yellow]{n}[/]" for n in s.get("threshold_notes") or []))
        return t

    def update(self, now):
        if now - self.last < 0.25:
            return
        self.last = now
        self.live.update(self._render(now))

    def close(self):
        self.live.stop()


def make_view(host, file=None, plain=None):
    """RichView on a terminal (when rich is installed), PlainView otherwise."""
    file = file or sys.stderr
    if plain is None:
        plain = not (hasattr(file, "isatty") and file.isatty())
    if not plain:
        try:
            return RichView(host, file)
        except ImportError:
            pass
    return PlainView(host, file)
