"""``rtdeclip live``, ``rtdeclip monitor``, ``rtdeclip devices``.

    rtdeclip live [--input DEV] [--output DEV] [--channels N] [--sample-rate SR]
                  [--blocksize N] [--preset LowLatency|Fastest|Average] [--threshold auto|DBFS|POS,NEG]
                  [--gain DB] [--ceiling DBFS|off] [--hedge N|auto] [--duration S] [--record FILE]
                  [--stats FILE]
    rtdeclip live --demo          # a built-in clipped example through the host to the output
    rtdeclip monitor [--bypass] [--connect JACKPORTS] [--record FILE] ...
    rtdeclip devices

Machines without a sound card get the JACK dummy driver, started here
before PortAudio is loaded (PortAudio sees JACK only if it runs first).
In ``monitor``, typing ``b`` + Enter (or ``kill -USR1 PID``) switches the
bypass on and off while it runs.
"""
import json
import os
import select
import signal
import sys
import time

import numpy as np

from rtdeclip.errors import DeviceError, FileError, ParameterError
from rtdeclip.live.host import BLOCK_MAX, BLOCK_MIN
from rtdeclip.live.events import summary as event_summary
from rtdeclip.files.pipeline import parse_threshold_db
from rtdeclip.files.report import write_json

PRESETS = ("lowlatency", "fastest", "average")


def register(sub):
    for name, helptext in (("live", "declip a live input to an output"),
                           ("monitor", "listen to a loopback/monitor source, declipped")):
        epilog = None if name == "live" else (
            "Sources: a JACK program (--connect CLIENT or PORT,PORT), a PulseAudio/PipeWire "
            "monitor (--input pulse with PULSE_SOURCE=<sink>.monitor in the environment; "
            "`pactl list short sources` names them), or any input device.  While running, "
            "type b + Enter (or send SIGUSR1) to switch the bypass.")
        p = sub.add_parser(name, help=helptext, epilog=epilog)
        p.add_argument("--input", help="input device (name substring or index; see `devices`)")
        p.add_argument("--output", help="output device (name substring or index)")
        p.add_argument("--channels", type=int, default=2)
        p.add_argument("--sample-rate", "--samplerate", dest="sample_rate", type=int,
                       default=48000, help="samples per second (default 48000)")
        p.add_argument("--blocksize", type=int, default=256, help="frames per device callback")
        p.add_argument("--preset", default="Average", help="LowLatency, Fastest or Average (default)")
        p.add_argument("--threshold", default="auto", help="auto, DBFS or POS_DBFS,NEG_DBFS")
        p.add_argument("--source-rate", type=int, default=None, metavar="HZ",
                       help="the rate the audio had before it reached this one (e.g. 16000 for "
                            "a voice call or message decoded at 48 kHz): declip at that rate, "
                            "which must divide --sample-rate by 2, 3, 4 or 6")
        p.add_argument("--codec", type=str.lower, default=None,
                       choices=["opus", "mp3", "aac", "vorbis", "unknown"],
                       help="the codec the audio was decoded from, when known (a web stream, a "
                            "player's file): opus gives its rails Opus's own width (narrower "
                            "at moderate clipping) and undoes its encoder's 3 Hz DC reject, "
                            "which moved the rails (start before the stream does: joined "
                            "midway, the encoder's state then stays as an offset; "
                            "docs/lossy.md); the others, or none, the width rule's")
        p.add_argument("--second-pass", default="auto", metavar="N|auto|off",
                       help="a smeared rail solved a second time, one latency later, on the "
                            "clipped set the first solution names (N solves, 1-5), averaged "
                            "with it, as files are: about twice the latency and, while a "
                            "smeared rail is in use, two to three times the CPU.  Default "
                            "auto: 2 when --codec names a lossy codec; in monitor 2 as well "
                            "without --codec (what programs play is mostly decoded lossy "
                            "audio); else off (docs/lossy.md)")
        p.add_argument("--hedge", default="auto", metavar="N|auto",
                       help="a smeared rail (a lossy codec's, a resampler's) hedged over its "
                            "width: N trajectories (2-5, 0 off) at 1, 1.25, 0.75, 1.6, 0.9 x "
                            "the width, averaged, each on its own core where there is one; up "
                            "to N times the CPU while a smeared rail is in use (average: each "
                            "solve on 2/3 of the budget).  Default auto: as many per channel "
                            "(2-5) as the processors give each its own core, else off; "
                            "fastest and average at least their own 2 (docs/lossy.md)")
        p.add_argument("--gain", type=float, default=None,
                       help="output gain in dB (default -6: room for restored peaks)")
        p.add_argument("--ceiling", default="-1",
                       help="look-ahead limiter ceiling in dBFS, or 'off' (default -1)")
        p.add_argument("--margin", type=int, default=None,
                       help="safety margin in blocks (default: one block + the hop)")
        p.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
        p.add_argument("--record", help="write what is played to FILE.wav and what came in "
                                        "to FILE.input.wav")
        p.add_argument("--stats", help="write the statistics as JSON here at exit")
        p.add_argument("--bypass", action="store_true",
                       help="start with the declipper bypassed (same delay, for A/B)")
        p.add_argument("--plain", action="store_true", help="plain status lines, no live view")
        p.add_argument("--quiet", action="store_true", help="no status while running")
        if name == "live":
            p.add_argument("--demo", action="store_true",
                           help="play a built-in clipped example through the host and report "
                                "the SDR gained, latency and xruns")
        else:
            p.add_argument("--connect", metavar="PORTS",
                           help="JACK output ports to monitor (comma-separated names, or a "
                                "client name: all its outputs)")
        p.set_defaults(func=run_live, mode=name)
    d = sub.add_parser("devices", help="list audio devices and host APIs")
    d.set_defaults(func=run_devices)


# -- the sound card, or the JACK dummy one -------------------------------------
def _no_sound_card():
    try:
        with open("/proc/asound/cards") as f:
            text = f.read()
        return "no soundcards" in text or not text.strip()
    except OSError:
        return not sys.platform.startswith(("darwin", "win"))


def ensure_audio():
    """A JACK dummy server when there is no sound card and no JACK yet;
    returns it (to stop at exit) or None."""
    from rtdeclip.live.jackserver import JackDummy, jack_running
    name = os.environ.get("JACK_DEFAULT_SERVER")
    if _no_sound_card() and not jack_running(name):
        return JackDummy(name=name).start()
    return None


def release_audio(server):
    """PortAudio must let go of JACK before the server goes away, or its
    exit handler aborts the interpreter."""
    if server is None:
        return
    if "sounddevice" in sys.modules:
        sys.modules["sounddevice"]._terminate()
    server.stop()


def _second_pass(value):
    """--second-pass: None for auto (the Declipper's default), 0 for off,
    else the number of solves."""
    text = str(value).lower()
    if text == "auto":
        return None
    if text == "off":
        return 0
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 5:
        raise ParameterError(f"--second-pass must be 1..5, auto or off, got {value!r}")
    return n


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
        print("host APIs: " + ", ".join(
            f"{a['name']}{' (default)' if i == sd.default.hostapi else ''}"
            for i, a in enumerate(apis)))
        din, dout = sd.default.device
        for i, dev in enumerate(sd.query_devices()):
            mark = ("<" if i == din else " ") + (">" if i == dout else " ")
            print(f"{mark}{i:3d}  {dev['name']:40s} {apis[dev['hostapi']]['name']:28s} "
                  f"in {dev['max_input_channels']:2d}  out {dev['max_output_channels']:2d}  "
                  f"{dev['default_samplerate']:.0f} Hz")
        print("< default input, > default output; give devices by index or name substring")
    finally:
        release_audio(server)
    return 0


# -- arguments -------------------------------------------------------------------
def _check(args):
    preset = args.preset.lower()
    if preset not in PRESETS:
        raise ParameterError(f"unknown preset {args.preset!r}; use LowLatency, Fastest or Average")
    if not 8000 <= args.sample_rate <= 192000:
        raise ParameterError(f"--sample-rate must be 8000..192000, got {args.sample_rate}")
    if not 1 <= args.channels <= 64:
        raise ParameterError(f"--channels must be 1..64, got {args.channels}")
    if not BLOCK_MIN <= args.blocksize <= BLOCK_MAX:
        raise ParameterError(f"--blocksize must be {BLOCK_MIN}..{BLOCK_MAX}, got {args.blocksize}")
    if args.source_rate is not None:
        from rtdeclip.core.resample import check_source_rate
        try:
            check_source_rate(args.sample_rate, args.source_rate)
        except ParameterError:
            raise ParameterError(f"--source-rate must be --sample-rate ({args.sample_rate}) "
                                 f"divided by 2, 3, 4 or 6, got {args.source_rate}") from None
    if str(args.hedge).lower() != "auto":
        try:
            args.hedge = int(args.hedge)
        except ValueError:
            raise ParameterError(f"--hedge must be 0, 2..5 or auto, got {args.hedge!r}") from None
    args.second_pass = _second_pass(getattr(args, "second_pass", "auto"))
    if args.gain is not None and not -60 <= args.gain <= 24:
        raise ParameterError(f"--gain must be -60..24 dB, got {args.gain}")
    if args.margin is not None and args.margin < 2:
        raise ParameterError(f"--margin must be at least 2 blocks, got {args.margin}")
    if args.duration is not None and not args.duration > 0:
        raise ParameterError(f"--duration must be > 0 seconds, got {args.duration}")
    if str(args.ceiling).lower() == "off":
        ceiling = None
    else:
        try:
            ceiling = float(args.ceiling)
        except ValueError:
            raise ParameterError(f"--ceiling must be a dBFS value or 'off', got {args.ceiling!r}") from None
        if not -60 <= ceiling <= 0:
            raise ParameterError(f"--ceiling must be -60..0 dBFS, got {args.ceiling}")
    for path in (args.record, args.stats):
        if path and os.path.isdir(path):
            raise FileError(f"{path}: a folder, not a file")
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise FileError(f"{path}: folder does not exist")
    if args.record:   # two WAV files: FILE and FILE.input.wav
        from rtdeclip.files.sinks import check_output
        from rtdeclip.live.host import input_path
        check_output(args.record, "recording")
        check_output(input_path(args.record), "recording")
    return preset, ceiling


def _levels_line(host):
    """The clip levels given and used (the stream tolerance lowers them)."""
    from rtdeclip.core.levels import TOLERANCE_DB
    from rtdeclip.live.meters import dbfs
    used = host.declipper.thresholds
    pairs = zip(host.given_levels, used)
    return "clip levels: " + "; ".join(
        f"channel {c + 1} given {dbfs(g[0]):.2f}/{dbfs(-g[1]):.2f} dBFS, used "
        f"{dbfs(u[0]):.4f}/{dbfs(-u[1]):.4f} dBFS" for c, (g, u) in enumerate(pairs)) + \
        f" (samples within {TOLERANCE_DB:g} dB below a given level count as clipped)"


# -- running ---------------------------------------------------------------------
def _demo_source(args):
    from rtdeclip.examples import music
    from rtdeclip.core.metrics import clip_to_sdr
    secs = args.duration or 6.0
    clean = music(args.sample_rate, seconds=secs, channels=args.channels)
    clean = clean.reshape(len(clean), -1)
    _, theta = clip_to_sdr(clean[:, 0], 5.0)
    return clean, np.clip(clean, -theta, theta), secs


def monitor_second_pass(args, levels):
    """``--second-pass auto`` in ``monitor``: on (2 solves) unless the
    stream cannot take it (given levels, --source-rate) or --codec already
    names a lossy codec (the Declipper's own default then).  What programs
    play is mostly decoded MP3, AAC, Vorbis or Opus, and a monitor cannot
    start the pass once it finds a codec's rails (the latency would
    change): not told, the lossy benchmark's streams gained +0.60 dB
    (fastest) / +0.45 (average) from it, 454 of 512 targets instead of
    441, and exact rails come out as without it, one latency later
    (docs/lossy.md, thirty-third session).  ``live`` (a microphone) keeps
    auto."""
    from rtdeclip.core import detect
    told = detect.is_lossy(getattr(args, "codec", None))
    if args.mode != "monitor" or args.second_pass is not None or told or levels != "auto" \
            or args.source_rate:
        return args.second_pass
    return 2


def _connect_sources(host, spec):
    """Feed the host's JACK inputs from the given output ports instead of
    the system capture ports."""
    from rtdeclip.live import jackserver
    if not host.jack_inputs:
        raise DeviceError("--connect needs the JACK host API (is jackd running?)")
    names = [p.strip() for p in spec.split(",") if p.strip()]
    outputs = [p for p in jackserver.output_ports() if p not in host.jack_outputs]
    sources = []
    for n in names:   # a port name, or a client name: all its outputs
        sources += [n] if n in outputs else [p for p in outputs if p.startswith(n.rstrip(":") + ":")]
    if not sources:
        raise DeviceError(f"--connect: no JACK port matches {spec!r} (see `jack_lsp`)")
    for p in host.jack_inputs:
        for s in jackserver.ports("system:capture"):
            jackserver.disconnect(s, p)
    for i, s in enumerate(sources):
        jackserver.connect(s, host.jack_inputs[i % len(host.jack_inputs)])


def run_live(args):
    preset, ceiling = _check(args)
    levels = parse_threshold_db(args.threshold, args.channels) or "auto"
    from rtdeclip.core.cores import describe
    # "auto" goes to the Declipper, which resolves it (core/cores.py)
    asked = hedge = "auto" if str(args.hedge).lower() == "auto" else args.hedge
    demo = getattr(args, "demo", False)
    source = clean = None
    if demo:
        clean, source, secs = _demo_source(args)
        args.duration = secs + 0.5
    server = ensure_audio()
    from rtdeclip.live.host import LiveDeclipper
    from rtdeclip.live.meters import make_view
    host = view = None
    state = {"stop": False, "toggle": False}

    def on_signal(signum, frame):
        state["stop"] = True

    def on_usr1(signum, frame):
        state["toggle"] = True

    handled = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGUSR1] if hasattr(signal, "SIGUSR1") else [])
    old = {s: signal.getsignal(s) for s in handled}
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, on_usr1)
    try:
        host = LiveDeclipper(_device(args.input), _device(args.output), args.channels,
                             args.sample_rate, args.blocksize, preset, levels, args.gain,
                             ceiling, args.margin, source=source, bypass=args.bypass,
                             record=args.record, record_seconds=args.duration if demo else 0,
                             source_rate=args.source_rate, hedge=hedge,
                             codec=getattr(args, "codec", None),
                             second_pass=monitor_second_pass(args, levels))
        lat = host.latency
        if not args.quiet:
            print("latency: " + ", ".join(f"{k.replace('_', ' ')} {v['samples']} samples "
                                          f"({v['ms']:.1f} ms)" for k, v in lat.items()), flush=True)
            if host.given_levels is not None:
                print(_levels_line(host), flush=True)
            print(describe(host.declipper.hedge, asked, args.channels, preset=preset), flush=True)
            if host.declipper.second_pass:
                print(f"second pass: {host.declipper.second_pass} solves on the set the first "
                      f"names, over smeared rails (in the latency above; --second-pass off: "
                      f"none)", flush=True)
        host.start()
        if getattr(args, "connect", None):
            _connect_sources(host, args.connect)
        view = None if args.quiet else make_view(host, plain=args.plain or None)
        keys = args.mode == "monitor" and sys.stdin.isatty()
        t0 = time.monotonic()
        while not state["stop"] and host.running:
            time.sleep(0.05)
            now = time.monotonic() - t0
            if args.duration is not None and now >= args.duration:
                break
            if keys and select.select([sys.stdin], [], [], 0)[0]:
                state["toggle"] = sys.stdin.readline().strip().lower().startswith("b")
            if state["toggle"]:
                state["toggle"] = False
                host.bypass = not host.bypass
                if args.quiet or not view or view.__class__.__name__ == "PlainView":
                    print(f"bypass {'on' if host.bypass else 'off'}", file=sys.stderr, flush=True)
            if view is not None:
                view.update(now)
        if view is not None:
            view.close()
        stats = host.stop()
        stats["hedge_asked"] = asked   # "auto" or the number given (stats["hedge"]: in use)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if host is not None and host.device_lost:
            _device_lost_exit(host, args, view)
        release_audio(server)
    if demo:
        _demo_report(host, clean, source, stats)
    for note in stats.get("threshold_notes") or []:   # also with --quiet
        print(f"rtdeclip: {note}", file=sys.stderr, flush=True)
    if not args.quiet:
        if stats["events"] and not demo:     # the demo's report says it already
            print(f"events: {event_summary(stats['events'])}", flush=True)
        print("stats: " + json.dumps({k: v for k, v in stats.items() if k != "latency"}), flush=True)
    if args.stats:
        write_json(args.stats, stats)
    if stats.get("error"):
        print(f"rtdeclip: error: {stats['error']}", file=sys.stderr)
        return 1
    return 0


def _device_lost_exit(host, args, view):
    """PortAudio cannot shut down cleanly without its device or server:
    keep the recording, report in one line, leave without teardown."""
    try:
        if view is not None:
            view.close()
    except Exception:  # noqa: BLE001 -- the terminal view is not worth a traceback
        pass
    if host.tap is not None:
        host.tap.close()
        host.tap = None
    kept = " (recording so far kept)" if args.record else ""
    print(f"rtdeclip: error: {host.error}{kept}", file=sys.stderr)
    if args.stats:
        write_json(args.stats, host.stats)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _demo_report(host, clean, source, stats):
    from rtdeclip.core.metrics import sdr
    _, y = host.recording()
    lag = host.latency["processing"]["samples"] - host.margin   # algorithm + limiter
    y = y[lag:lag + len(clean)] / host.gain
    n = min(len(y), len(clean))
    before = float(np.mean(sdr(clean[:n], source[:n])))
    after = float(np.mean(sdr(clean[:n], y[:n])))
    lat = stats["latency"]
    host_x = stats["input_overflows"] + stats["output_underflows"]
    device_x = stats["xruns"] - host_x
    # where an xrun happened tells the user what to do: the host's ring
    # buffers (our worker was late: a slower preset or a larger period) or
    # the driver's own (the machine or the sound server missed a period)
    where = f" ({host_x} in rtdeclip, {device_x} in the audio driver)" if stats["xruns"] else ""
    print(f"demo: SDR {before:.2f} dB clipped -> {after:.2f} dB declipped live "
          f"(+{after - before:.2f} dB); latency {lat['total']['ms']:.1f} ms "
          f"({lat['total']['samples']} samples); xruns {stats['xruns']}{where}, "
          f"late frames {stats['late_frames']}")
    if stats["events"]:      # where in the stream: what to listen to
        print(f"demo: {event_summary(stats['events'])}")
