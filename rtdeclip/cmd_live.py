"""``rtdeclip live``, ``rtdeclip monitor``, ``rtdeclip devices``.

    rtdeclip live [--input DEV] [--output DEV] [--channels N] [--samplerate SR]
                  [--blocksize N] [--preset Fastest|Average] [--threshold auto|DBFS|POS,NEG]
                  [--gain DB] [--duration S] [--record FILE] [--stats FILE]
    rtdeclip live --demo      # a built-in clipped example through the declipper to the output
    rtdeclip monitor [--bypass] ...   # listen to a loopback/monitor source, declipped
    rtdeclip devices

Machines without a sound card get the JACK dummy driver, started here
before PortAudio is loaded (PortAudio sees JACK only if it runs first).
"""
import json
import os
import signal
import sys
import time

import numpy as np

from .errors import UserError


def register(sub):
    for name, helptext in (("live", "declip a live input to an output"),
                           ("monitor", "listen to a loopback/monitor source, declipped")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--input", help="input device (name substring or index)")
        p.add_argument("--output", help="output device (name substring or index)")
        p.add_argument("--channels", type=int, default=2)
        p.add_argument("--samplerate", type=int, default=48000)
        p.add_argument("--blocksize", type=int, default=256)
        p.add_argument("--preset", default="Average", help="Fastest or Average")
        p.add_argument("--threshold", default="auto", help="auto, DBFS or POS_DBFS,NEG_DBFS")
        p.add_argument("--gain", type=float, default=None, help="output gain in dB (default -6)")
        p.add_argument("--margin", type=int, default=2, help="safety margin in blocks (default 2)")
        p.add_argument("--duration", type=float, default=None, help="seconds, default until Ctrl-C")
        p.add_argument("--record", help="write input and output to this WAV (4 channels per pair)")
        p.add_argument("--stats", help="write the statistics as JSON here at exit")
        p.add_argument("--bypass", action="store_true", help="pass audio through undeclipped")
        p.add_argument("--quiet", action="store_true")
        if name == "live":
            p.add_argument("--demo", action="store_true",
                           help="play a built-in clipped example through the declipper")
        p.set_defaults(func=run_live, mode=name)
    d = sub.add_parser("devices", help="list audio devices and host APIs")
    d.set_defaults(func=run_devices)


def _no_sound_card():
    try:
        with open("/proc/asound/cards") as f:
            return "no soundcards" in f.read() or os.path.getsize("/proc/asound/cards") == 0
    except OSError:
        return True


def ensure_audio():
    """A JACK dummy server when there is no sound card and no JACK yet."""
    from .live.jackserver import JackDummy, jack_running
    if _no_sound_card() and not jack_running():
        return JackDummy().start()
    return None


def release_audio(server):
    """PortAudio must let go of JACK before the server goes away, or its
    exit handler aborts the interpreter."""
    if server is None:
        return
    if "sounddevice" in sys.modules:
        sys.modules["sounddevice"]._terminate()
    server.stop()


def _device(spec):
    if spec is None:
        return None
    try:
        return int(spec)
    except ValueError:
        return spec  # sounddevice matches name substrings


def run_devices(args):
    server = ensure_audio()
    try:
        import sounddevice as sd
        apis = sd.query_hostapis()
        for i, dev in enumerate(sd.query_devices()):
            print(f"{i:3d}  {dev['name']:40s} {apis[dev['hostapi']]['name']:28s} "
                  f"in {dev['max_input_channels']:2d}  out {dev['max_output_channels']:2d}  "
                  f"{dev['default_samplerate']:.0f} Hz")
    finally:
        release_audio(server)
    return 0


def run_live(args):
    if args.preset.lower() not in ("fastest", "average", "highquality"):
        raise UserError(f"unknown preset {args.preset!r}; use Fastest or Average")
    if args.samplerate < 8000 or args.samplerate > 192000:
        raise UserError(f"--samplerate must be 8000..192000, got {args.samplerate}")
    if not 1 <= args.channels <= 64:
        raise UserError(f"--channels must be 1..64, got {args.channels}")
    from .filepipe import parse_threshold_db
    levels = parse_threshold_db(args.threshold, args.channels)
    server = ensure_audio()
    from .live.host import LiveDeclipper
    source = clean = None
    demo = getattr(args, "demo", False)
    if demo:
        from .examples import music
        from .metrics import clip_to_sdr
        secs = args.duration or 6.0
        clean = music(args.samplerate, seconds=secs, channels=args.channels)
        if clean.ndim == 1:
            clean = clean[:, None]
        _, theta = clip_to_sdr(clean[:, 0], 5.0)
        source = np.clip(clean, -theta, theta)
        args.duration = secs + 1.0
    host = None
    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    old = [signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        host = LiveDeclipper(_device(args.input), _device(args.output), args.channels,
                             args.samplerate, args.blocksize, args.preset,
                             "auto" if levels is None else levels, args.gain, args.margin,
                             source=source, bypass=args.bypass, record=args.record,
                             record_seconds=(args.duration or 0) if demo else 0)
        lat = host.latency
        if not args.quiet:
            print("latency: " + ", ".join(f"{k.replace('_', ' ')} {v['samples']} samples "
                                          f"({v['ms']:.1f} ms)" for k, v in lat.items()), flush=True)
        host.start()
        t0, last = time.monotonic(), 0.0
        while not stop["flag"] and host.running:
            time.sleep(0.05)
            now = time.monotonic() - t0
            if args.duration is not None and now >= args.duration:
                break
            if not args.quiet and now - last >= 1.0:
                last = now
                _status(host, now)
        stats = host.stop()
    except UserError:
        raise
    finally:
        for s, h in zip((signal.SIGINT, signal.SIGTERM), old):
            signal.signal(s, h)
        if host is not None and host.device_lost:
            if host.tap is not None:
                host.tap.close()
            # PortAudio cannot shut down cleanly without its server: report,
            # keep the recording (saved above), and leave without teardown
            print(f"rtdeclip: error: {host.error} (recording so far kept)"
                  if args.record else f"rtdeclip: error: {host.error}", file=sys.stderr)
            if args.stats:
                from .cmd_file import _write_json
                _write_json(args.stats, host.stats)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        release_audio(server)
    if demo:
        _demo_report(host, clean, source, stats)
    if not args.quiet:
        print("stats: " + json.dumps({k: v for k, v in stats.items() if k not in ("latency",)}))
    if args.stats:
        from .cmd_file import _write_json
        _write_json(args.stats, stats)
    if stats.get("error"):
        print(f"rtdeclip: error: {stats['error']}", file=sys.stderr)
        return 1
    return 0


def _status(host, now):
    s = host.stats
    line = (f"[{now:6.1f} s] blocks {s['blocks']}  late {s['late_blocks']}  "
            f"underflows {s['output_underflows']}  overflows {s['input_overflows']}  "
            f"budget {s['iteration_budget']}  block p99 {s['block_ms']['p99']:.2f} ms  "
            f"cpu {100 * s['worker_cpu_share']:.0f} %  clipped {100 * s['clipped_ratio']:.2f} %")
    print(line, file=sys.stderr, flush=True)


def _demo_report(host, clean, source, stats):
    from .metrics import sdr
    _, y = host.recording()
    lag = host.declipper.latency_samples
    y = y[lag:lag + len(clean)] / host.gain
    n = min(len(y), len(clean))
    before, after = sdr(clean[:n], source[:n]), sdr(clean[:n], y[:n])
    print(f"demo: SDR {np.mean(before):.2f} dB clipped -> {np.mean(after):.2f} dB declipped live "
          f"(+{np.mean(after - before):.2f} dB); output underflows {stats['output_underflows']}, "
          f"late blocks {stats['late_blocks']}")
