"""Live host on the JACK dummy server: latency and xruns for each preset at
JACK periods 64, 128, 256, 512 on stereo 48 kHz, worker CPU share and
per-hop processing time, and the smallest period each preset sustains with
no xrun and no late frame.

    python benchmarks/live_latency.py [--seconds 300] [--periods 64,128,256,512]

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


def one_case(preset, period, seconds, src, sr=48000):
    import rtmixer
    from rtdeclip.live import LiveDeclipper
    host = LiveDeclipper(channels=2, sample_rate=sr, blocksize=period, preset=preset,
                         threshold="auto")
    before = jackserver.ports()
    player = rtmixer.Mixer(channels=2, samplerate=sr, blocksize=period)
    outs = [p for p in jackserver.ports() if p not in before and ":out_" in p]
    host.start()
    for p in host.jack_inputs:
        for s in jackserver.ports("system:capture"):
            jackserver.disconnect(s, p)
    for a, b in zip(outs, host.jack_inputs):
        jackserver.connect(a, b)
    with player:
        act = player.play_buffer(src[: int(seconds * sr)], channels=2)
        player.wait(act)
    s = host.stop()
    player.close()
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--periods", default="64,128,256,512")
    ap.add_argument("--presets", default="fastest,average")
    args = ap.parse_args()
    sr = 48000
    clean = music(sr, seconds=min(args.seconds, 30.0), channels=2)
    reps = int(np.ceil(args.seconds / 30.0))
    src = np.ascontiguousarray(np.tile(np.clip(clean, -0.3, 0.3), (reps, 1)), dtype=np.float32)
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
            for preset in presets:
                with StallWatch() as watch:
                    t0 = time.monotonic()
                    s = one_case(preset, period, args.seconds, src, sr)
                    t1 = time.monotonic()
                stalls = [ms for t, ms in watch.stalls if t0 + 1.0 <= t <= t1]
                lat = s["latency"]
                late = s["late_frames"]
                rows.append([preset, period, f"{lat['total']['ms']:.1f}",
                             f"{lat['device_input']['ms']:.1f} + {lat['algorithm']['ms']:.1f} + "
                             f"{lat['margin']['ms']:.1f} + {lat['limiter']['ms']:.1f} + "
                             f"{lat['device_output']['ms']:.1f}",
                             f"{s['input_overflows'] + s['output_underflows']} / "
                             f"{max(s['device_input_overflows'], s['device_output_underflows'])}",
                             late, s["budget_cuts"],
                             f"{100 * s['worker_cpu_share']:.0f} %",
                             f"{s['hop_ms']['median']:.2f} / {s['hop_ms']['p99']:.2f} / "
                             f"{s['hop_ms']['max']:.2f}",
                             f"{len(stalls)} / {max(stalls, default=0):.1f}"])
                data.append({"preset": preset, "period": period, "stats": s,
                             "machine_stalls_ms": stalls})
                print(" | ".join(map(str, rows[-1])), flush=True)
                if s["xruns"] == 0 and late == 0:
                    smallest[preset] = min(smallest.get(preset, 1 << 30), period)
        finally:
            sd._terminate()
            server.stop()
    load1 = os.getloadavg()
    md = (f"{args.seconds:.0f} s per case, stereo 48 kHz, JACK dummy driver, host block = JACK "
          f"period, a second client playing a clipped piece into the host; load average "
          f"{load0[0]:.1f} at start, {load1[0]:.1f} at the end ({os.cpu_count()} CPUs).\n\n" +
          md_table(["preset", "period", "total latency (ms)",
                    "device in + algorithm + margin + limiter + device out (ms)",
                    "xruns host / device",
                    "late frames", "budget cuts", "worker CPU", "per-hop ms median / p99 / max",
                    "machine stalls > 2 ms: count / worst ms"],
                   rows))
    md += ("\n\nMachine stalls: a watcher process at a real-time priority above the "
           "host's worker (rtdeclip.live.stallwatch) woke more than 2 ms late: the VM "
           "itself was not running.")
    md += "\n\nSmallest period with no xrun and no late frame: " + ", ".join(
        f"{p} {smallest.get(p, 'none')}" for p in presets)
    write_results("live_latency", {"machine": machine(), "seconds": args.seconds,
                                   "loadavg": [load0, load1], "cases": data}, md)


if __name__ == "__main__":
    main()
