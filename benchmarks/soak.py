"""Soak: the live host for a long run on the JACK dummy server (issue 5).

    python benchmarks/soak.py [--seconds 1800] [--preset average] [--period 256]

A second JACK client plays a clipped piece (a 20 s loop, every frame
clipped at the start) into the host's input and records the host's output,
port to port, through ring buffers kept full by a thread.  Every
``--interval`` seconds the process RSS, the host's counters and the
per-block times are sampled.  Reported:

- xruns: the host's own ring-buffer under/overflows (the host was late),
  the device flags PortAudio reports to the host and to the player (the
  JACK server itself was late: on a loaded machine this happens to every
  client alike); late blocks and frames cut by the time limit;
- memory: RSS after the warm-up (first 10 min: preallocated buffers are
  touched page by page) and its drift to the end;
- latency: measured, not configured -- the lag of the recorded output
  behind the played input by cross-correlation over 10 s at the start and
  10 s at the end, which must be the same sample count.

It runs its own named JACK server, so it can run beside the test suite.
Results go to benchmarks/results/soak.{json,md}; exit status 1 if any
criterion fails (an xrun, RSS drift >= 1 MB, a latency change).
"""
import argparse
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402

SERVER = f"rtdeclip-soak-{os.getpid()}"
MAX_LAG = 16384  # latency search range, samples
os.environ["JACK_DEFAULT_SERVER"] = SERVER  # before PortAudio starts

from rtdeclip.examples import music  # noqa: E402
from rtdeclip.live import jackserver  # noqa: E402
from rtdeclip.live.jackserver import JackDummy  # noqa: E402


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def lag_of(played, recorded, max_lag):
    """Delay of `recorded` behind the played stream, channel 0: `played`
    holds the max_lag samples before `recorded`'s first frame and its n
    frames; every candidate lag compares two full windows (normalised
    correlation), so a short lag gets no edge advantage."""
    from scipy.signal import correlate
    r = played[:, 0].astype(np.float64)
    y = recorded[:, 0].astype(np.float64)
    dots = correlate(r, y, mode="valid", method="fft")           # j = max_lag - lag
    energy = np.convolve(r * r, np.ones(len(y)), mode="valid")
    score = dots / np.sqrt(np.maximum(energy, 1e-30))
    return int(max_lag - np.argmax(score))


class Player(threading.Thread):
    """Keeps the tester's play ring buffer full with the loop and drains its
    record ring buffer, keeping a window at the start and the latest one."""

    def __init__(self, loop, rb_play, rb_rec, sr, window_s=10.0, start_s=5.0):
        super().__init__(daemon=True, name="soak-player")
        self.loop, self.rb_play, self.rb_rec, self.sr = loop, rb_play, rb_rec, sr
        self.played = 0            # frames written into the play ring buffer
        self.recorded = 0          # frames read from the record ring buffer
        self.win = int(window_s * sr)
        self.first_at = int(start_s * sr)
        # np.full touches every page now, so filling them later is not growth
        self.first = np.full((self.win, loop.shape[1]), 0.0, np.float32)
        self.last = np.full((self.win, loop.shape[1]), 0.0, np.float32)   # ring
        self.stop_event = threading.Event()
        self.scratch = np.full((1 << 14, loop.shape[1]), 0.0, np.float32)

    def fill(self):
        n_loop = len(self.loop)
        while self.rb_play.write_available >= 1024:
            pos = self.played % n_loop
            n = min(self.rb_play.write_available, n_loop - pos, 1 << 14)
            self.rb_play.write(self.loop[pos:pos + n])
            self.played += n

    def drain(self):
        while self.rb_rec.read_available:
            n = min(self.rb_rec.read_available, len(self.scratch))
            buf = self.scratch[:n]
            self.rb_rec.readinto(buf)
            start = self.recorded
            # window at the start
            a, b = max(start, self.first_at), min(start + n, self.first_at + self.win)
            if a < b:
                self.first[a - self.first_at:b - self.first_at] = buf[a - start:b - start]
            # latest window (ring indexed by absolute frame)
            idx = (start + np.arange(n)) % self.win
            self.last[idx] = buf
            self.recorded += n

    def run(self):
        while not self.stop_event.is_set():
            self.fill()
            self.drain()
            time.sleep(0.005)

    def played_window(self, start, n=None, before=0):
        """Played frames start - before .. start + n (the loop repeats)."""
        n_loop = len(self.loop)
        return self.loop[(start - before + np.arange(before + (n or self.win))) % n_loop]

    def last_window(self, seconds=None):
        """(first absolute frame, samples) of the latest recorded window."""
        n = self.win if seconds is None else int(seconds * self.sr)
        start = self.recorded - n
        idx = (start + np.arange(n)) % self.win
        return start, self.last[idx].copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1800.0)
    ap.add_argument("--preset", default="average")
    ap.add_argument("--period", type=int, default=256)
    ap.add_argument("--interval", type=float, default=10.0)
    # the host's per-block timing ring (65536 blocks) is touched page by page
    # for its first 65536 blocks (350 s at period 256): warm-up covers it
    ap.add_argument("--warmup", type=float, default=600.0)
    args = ap.parse_args()
    sr, ch = 48000, 2
    clean = music(sr, seconds=20.0, channels=ch)
    loop = np.ascontiguousarray(np.clip(clean, -0.3, 0.3), dtype=np.float32)
    server = JackDummy(rate=sr, period=args.period, name=SERVER,
                       log=f"/tmp/{SERVER}.log").start()
    try:
        import rtmixer
        from rtdeclip.live import LiveDeclipper
        host = LiveDeclipper(channels=ch, sample_rate=sr, blocksize=args.period,
                             preset=args.preset, threshold="auto")
        before = jackserver.ports()
        tester = rtmixer.MixerAndRecorder(channels=ch, samplerate=sr, blocksize=args.period)
        mine = [p for p in jackserver.ports() if p not in before]
        t_in = [p for p in mine if ":in_" in p]
        t_out = [p for p in mine if ":out_" in p]
        sysports = [p for p in jackserver.ports() if p.startswith("system:")]
        for p in host.jack_inputs + host.jack_outputs + t_in + t_out:
            for s in sysports:
                jackserver.disconnect(p, s)
                jackserver.disconnect(s, p)
        for a, b in zip(t_out, host.jack_inputs):
            jackserver.connect(a, b)
        for a, b in zip(host.jack_outputs, t_in):
            jackserver.connect(a, b)
        size = 1 << 17
        rb_play = rtmixer.RingBuffer(4 * ch, size)
        rb_rec = rtmixer.RingBuffer(4 * ch, size)
        player = Player(loop, rb_play, rb_rec, sr)
        player.fill()
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing
        lags = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
        lags.submit(int, 0).result()     # started before streaming
        from rtdeclip.live.stallwatch import StallWatch
        watch = StallWatch().__enter__()
        host.start()
        play_action = tester.play_ringbuffer(rb_play)
        rec_action = tester.record_ringbuffer(rb_rec)
        tester.start()
        player.start()
        t0 = time.monotonic()
        samples = []
        first_lag = None
        next_t = t0
        while True:
            next_t += args.interval
            time.sleep(max(0.0, next_t - time.monotonic()))
            el = time.monotonic() - t0
            s = host.stats
            # latency now: the lag of the last 2 s recorded behind what was played
            start, last = player.last_window(2.0)
            # in another process: the correlation holds this process's GIL
            # for tens of ms at a time (measured 24 ms), long enough to starve
            # the host's worker thread and underflow its output
            lag = lags.submit(lag_of, player.played_window(start, len(last), MAX_LAG), last,
                              MAX_LAG).result()
            row = {"t": round(el, 1), "rss_kib": rss_kib(), "xruns": s["xruns"],
                   "host_underflows": s["output_underflows"], "lag": lag,
                   "late_blocks": s["late_blocks"], "frames_cut": s["frames_cut"],
                   "budget": s["iteration_budget"], "block_ms_max": s["block_ms"]["max"],
                   "worker_cpu_share": s["worker_cpu_share"],
                   "latency_total": s["latency"]["total"]["samples"],
                   "recorded": player.recorded}
            samples.append(row)
            print(row, flush=True)
            if el >= args.seconds:
                break
        player.stop_event.set()
        player.join(2)
        # measured after the run, so the FFTs' memory does not show in the RSS
        if player.recorded >= player.first_at + player.win:
            first_lag = lags.submit(lag_of, player.played_window(player.first_at, None, MAX_LAG),
                                    player.first, MAX_LAG).result()
        start, last = player.last_window()
        last_lag = lags.submit(lag_of, player.played_window(start, None, MAX_LAG), last,
                               MAX_LAG).result()
        final = host.stop()
        lags.shutdown()
        watch.__exit__(None, None, None)
        stalls = [ms for t, ms in watch.stalls if t >= t0 + 1.0]
        tester.cancel(play_action)
        tester.cancel(rec_action)
        tester.stop()
        tester_stats = tester.stats
        tester.close()
    finally:
        import sounddevice as sd
        sd._terminate()
        server.stop()
    lag_changes = []
    for r in samples:
        if not lag_changes or r["lag"] != lag_changes[-1][1]:
            lag_changes.append((r["t"], r["lag"]))
    warm = [r for r in samples if r["t"] >= args.warmup] or samples
    rss0, rss1 = warm[0]["rss_kib"], samples[-1]["rss_kib"]
    rss_max = max(r["rss_kib"] for r in warm)
    player_xruns = {k: int(getattr(tester_stats, k)) for k in
                    ("input_underflows", "input_overflows", "output_underflows",
                     "output_overflows", "blocks")}
    result = {
        "machine": machine(), "seconds": args.seconds, "preset": args.preset,
        "period": args.period, "samplerate": sr, "channels": ch,
        "load_average": os.getloadavg(),
        "host": {k: final[k] for k in ("xruns", "output_underflows", "input_overflows",
                                        "device_output_underflows", "device_input_overflows",
                                        "late_blocks", "late_frames", "frames_cut", "budget_cuts",
                                        "passthrough_blocks", "blocks", "frames_solved",
                                        "iterations_per_frame", "worker_cpu_share",
                                        "block_ms", "worker_realtime")},
        "player": player_xruns,
        "rss_kib": {"after_warmup": rss0, "end": rss1, "max_after_warmup": rss_max,
                    "drift": rss1 - rss0},
        "latency_samples": {"configured": final["latency"]["processing"]["samples"],
                            "measured_start": first_lag, "measured_end": last_lag,
                            "changes": lag_changes},
        "machine_stalls_ms": stalls,
        "samples": samples,
    }
    ok = {
        "zero host underflows": final["output_underflows"] == 0 and final["input_overflows"] == 0,
        "zero server xruns": final["device_output_underflows"] == 0
        and final["device_input_overflows"] == 0
        and all(v == 0 for k, v in player_xruns.items() if k != "blocks"),
        "RSS drift < 1 MB": abs(rss1 - rss0) < 1024 and rss_max - rss0 < 1024,
        "latency unchanged": first_lag is not None and first_lag == last_lag
        and len(lag_changes) == 1,
    }
    result["criteria"] = ok
    md = (f"{args.seconds / 60:.0f} min live soak, preset {args.preset}, JACK dummy driver, period "
          f"{args.period}, stereo {sr} Hz, threshold auto, clipped input on every frame:\n\n" +
          md_table(["measure", "value"], [
              ["host ring buffers: output underflows / input overflows (the host late)",
               f"{final['output_underflows']} / {final['input_overflows']}"],
              ["host device xruns (PortAudio flags: the JACK server late)",
               f"{final['device_output_underflows']} / {final['device_input_overflows']}"],
              ["player under/overflows", ", ".join(f"{k} {v}" for k, v in player_xruns.items())],
              ["late blocks / frames cut / budget cuts",
               f"{final['late_blocks']} / {final['frames_cut']} / {final['budget_cuts']}"],
              ["blocks", final["blocks"]],
              ["machine stalls > 2 ms (a higher-priority watcher woke late): count / worst",
               f"{len(stalls)} / {max(stalls, default=0):.1f} ms"],
              ["worker CPU share", f"{100 * final['worker_cpu_share']:.0f} %"],
              ["block ms median / p99 / max",
               f"{final['block_ms']['median']:.2f} / {final['block_ms']['p99']:.2f} / "
               f"{final['block_ms']['max']:.2f}"],
              ["RSS after warm-up -> end (max)", f"{rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB "
                                                 f"({rss_max / 1024:.1f}), drift {rss1 - rss0} KiB"],
              ["latency measured start / end (samples)", f"{first_lag} / {last_lag}"],
              ["latency measured every interval: distinct values (samples)",
               ", ".join(f"{v} (from {t:.0f} s)" for t, v in lag_changes)],
              ["latency configured (host processing)", final["latency"]["processing"]["samples"]],
          ]) + "\n\n" + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in ok.items()))
    write_results("soak", result, md)
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
