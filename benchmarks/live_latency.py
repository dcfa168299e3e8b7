"""Live host on the JACK dummy server: latency and xruns for each preset at
JACK periods 64, 128, 256, 512 on stereo 48 kHz, worker CPU share and
per-hop processing time, and the smallest period each preset sustains with
no xrun and no late frame.

    python benchmarks/live_latency.py [--seconds 300] [--periods 64,128,256,512]
    python benchmarks/live_latency.py --seconds 60 --periods 256 --presets average \
        --signal never-converging --hog --name live_hog     # issue 12's bar
    python benchmarks/live_latency.py --seconds 60 --periods 256 --channels 1 \
        --noise 1e-3 --hedge 5 --threads 1,2 --name live_hedge_lanes  # the hedge on lanes

The issue asks for 5 minutes per case; --seconds sets it.  Each case is a
real duplex stream: a second JACK client plays a clipped piece (looped;
about a quarter of the samples clipped, so the solver always works) into the
host's input ports and the host plays to the dummy card.  Device latencies
are PortAudio's report; the host block size is the JACK period.  The
benchmark runs its own named JACK server, so other JACK servers are left
alone.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402

# before anything loads PortAudio: the server this process will use
os.environ["JACK_DEFAULT_SERVER"] = f"rtdeclip-bench-{os.getpid()}"

from rtdeclip.examples import music  # noqa: E402
from rtdeclip.live import jackserver  # noqa: E402
from rtdeclip.live.jackserver import JackDummy  # noqa: E402
from rtdeclip.live.stallwatch import StallWatch  # noqa: E402


def one_case(preset, period, seconds, src, sr=48000, **solver):
    import rtmixer
    from rtdeclip.live import LiveDeclipper
    channels = src.shape[1]
    host = LiveDeclipper(channels=channels, sample_rate=sr, blocksize=period, preset=preset,
                         threshold="auto", **solver)
    before = jackserver.ports()
    player = rtmixer.Mixer(channels=channels, samplerate=sr, blocksize=period)
    outs = [p for p in jackserver.ports() if p not in before and ":out_" in p]
    host.start()
    for p in host.jack_inputs:
        for s in jackserver.ports("system:capture"):
            jackserver.disconnect(s, p)
    for a, b in zip(outs, host.jack_inputs):
        jackserver.connect(a, b)
    with player:
        act = player.play_buffer(src[: int(seconds * sr)], channels=channels)
        player.wait(act)
    s = host.stop()
    player.close()
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--periods", default="64,128,256,512")
    ap.add_argument("--presets", default="fastest,average")
    ap.add_argument("--signal", choices=("music", "never-converging"), default="music",
                    help="never-converging: speed.py's CPU worst case (every frame spends "
                         "its whole budget)")
    ap.add_argument("--hog", action="store_true",
                    help="run a second process that keeps one core busy")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--noise", type=float, default=0.0,
                    help="white noise of this RMS added after the clipping: a smeared rail, "
                         "what the hedge works on")
    ap.add_argument("--hedge", default=None,
                    help="Declipper(hedge=N|'auto') in the host (default: the preset's own, "
                         "fastest 2, the others 0)")
    ap.add_argument("--threads", default="",
                    help="comma-separated lane counts to run each case with (default: the "
                         "Declipper's own, one per unit of work up to the processors)")
    ap.add_argument("--name", default="live_latency", help="results file name")
    args = ap.parse_args()
    sr = 48000
    if args.signal == "never-converging":
        from speed import never_converging
        src = np.ascontiguousarray(never_converging(args.seconds, sr)[0], dtype=np.float32)
    else:
        clean = music(sr, seconds=min(args.seconds, 30.0), channels=2)
        reps = int(np.ceil(args.seconds / 30.0))
        src = np.ascontiguousarray(np.tile(np.clip(clean, -0.3, 0.3), (reps, 1)),
                                   dtype=np.float32)
    src = src[:, :args.channels] if args.channels <= src.shape[1] else np.repeat(
        src[:, :1], args.channels, axis=1)
    if args.noise:
        src = src + np.float32(args.noise) * np.random.default_rng(0).standard_normal(
            src.shape).astype(np.float32)
    src = np.ascontiguousarray(src, dtype=np.float32)
    threads = [int(t) for t in args.threads.split(",") if t] or [None]
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.hog else None
    rows, data, smallest = [], [], {}
    presets = args.presets.split(",")
    load0 = os.getloadavg()
    sd = None
    for period in map(int, args.periods.split(",")):
        server = JackDummy(rate=sr, period=period, name=os.environ["JACK_DEFAULT_SERVER"]).start()
        if "sounddevice" in sys.modules:
            sd._initialize()   # PortAudio rescans: it finds this period's server
        else:
            import sounddevice as sd   # noqa: F811 -- initialises PortAudio on JACK
        try:
            for preset, nthreads in [(p, t) for p in presets for t in threads]:
                with StallWatch() as watch:
                    t0 = time.monotonic()
                    hedge = {} if args.hedge is None else {
                        "hedge": args.hedge if args.hedge == "auto" else int(args.hedge)}
                    s = one_case(preset, period, args.seconds, src, sr, threads=nthreads, **hedge)
                    t1 = time.monotonic()
                stalls = [ms for t, ms in watch.stalls if t0 + 1.0 <= t <= t1]
                lat = s["latency"]
                late = s["late_frames"]
                rows.append([preset, period, s["lanes"], s["hedge"], s["hedge_solves"],
                             s["hedge_drops"], f"{lat['total']['ms']:.1f}",
                             f"{lat['device_input']['ms']:.1f} + {lat['algorithm']['ms']:.1f} + "
                             f"{lat['margin']['ms']:.1f} + {lat['limiter']['ms']:.1f} + "
                             f"{lat['device_output']['ms']:.1f}",
                             f"{s['input_overflows'] + s['output_underflows']} / "
                             f"{max(s['device_input_overflows'], s['device_output_underflows'])}",
                             f"{late} / {s['frames_solved']}", s["budget_cuts"],
                             f"{100 * s['worker_cpu_share']:.0f} %",
                             f"{s['hop_ms']['median']:.2f} / {s['hop_ms']['p99']:.2f} / "
                             f"{s['hop_ms']['max']:.2f}",
                             f"{len(stalls)} / {max(stalls, default=0):.1f}"])
                data.append({"preset": preset, "period": period, "threads": nthreads, "stats": s,
                             "machine_stalls_ms": stalls})
                print(" | ".join(map(str, rows[-1])), flush=True)
                if s["xruns"] == 0 and late == 0:
                    smallest[preset] = min(smallest.get(preset, 1 << 30), period)
        finally:
            sd._terminate()
            server.stop()
    if hog is not None:
        hog.kill()
        hog.wait()
    load1 = os.getloadavg()
    md = (f"{args.seconds:.0f} s per case, {args.channels} channel(s) at 48 kHz, JACK dummy "
          f"driver, host block = JACK period, a second client playing {args.signal} audio into "
          f"the host{f', white noise {args.noise:g} after the clipping' if args.noise else ''}"
          f"{', a CPU hog process beside it' if args.hog else ''}; load average "
          f"{load0[0]:.1f} at start, {load1[0]:.1f} at the end ({os.cpu_count()} CPUs).\n\n" +
          md_table(["preset", "period", "lanes", "hedge", "hedge solves", "hedge drops",
                    "total latency (ms)",
                    "device in + algorithm + margin + limiter + device out (ms)",
                    "xruns host / device",
                    "late frames / frames solved", "budget cuts", "worker CPU", "per-hop ms median / p99 / max",
                    "machine stalls > 2 ms: count / worst ms"],
                   rows))
    md += ("\n\nMachine stalls: a watcher process at a real-time priority above the "
           "host's worker (rtdeclip.live.stallwatch) woke more than 2 ms late: the VM "
           "itself was not running.")
    md += "\n\nSmallest period with no xrun and no late frame: " + ", ".join(
        f"{p} {smallest.get(p, 'none')}" for p in presets)
    write_results(args.name, {"machine": machine(), "seconds": args.seconds,
                              "signal": args.signal, "hog": args.hog,
                              "loadavg": [load0, load1], "cases": data}, md)


if __name__ == "__main__":
    main()
