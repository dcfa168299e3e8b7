"""``rtdeclip file`` and ``rtdeclip aspade``: declipping files.

    rtdeclip file INPUT... [--output PATH|DIR] [--reference CLEAN] [--preset P]
                  [--algorithm A] [--threshold auto|DBFS|POS,NEG] [--report R.json]
                  [--plot P.png] [--format float32|pcm16|pcm24] [--jobs N] [--quiet]
    rtdeclip aspade -c clipped.wav [-o original.wav] [-p Fastest]    # the web service's syntax

Output defaults to ``Declipped_<input name>.wav`` beside the input.  An
input is never overwritten; outputs appear complete or not at all.
"""
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import filepipe
from .audio_io import FORMATS, AtomicWav
from .errors import UserError
from .params import ALGORITHMS, PRESETS


def register(sub):
    p = sub.add_parser("file", help="declip audio files into WAV",
                       description="Declip audio files (wav, flac, ogg, opus, mp3, m4a, mp4) into WAV.")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    _common(p)
    p.add_argument("--output", "-O", help="output file (one input) or folder")
    p.add_argument("--reference", help="clean original, for SDR before and after")
    p.set_defaults(func=run_file)

    q = sub.add_parser("aspade", help="the A-SPADE web service's syntax: -c clipped [-o original] [-p preset]")
    q.add_argument("-c", dest="clipped", required=True, help="clipped input")
    q.add_argument("-o", dest="original", help="clean original (reference)")
    q.add_argument("-p", dest="preset_", default="Average", help="HighQuality, Average or Fastest")
    q.add_argument("--output", "-O", help="output file or folder")
    _common(q, preset=False)
    q.set_defaults(func=run_aspade)


def _common(p, preset=True):
    if preset:
        p.add_argument("--preset", default="Average", help="HighQuality, Average or Fastest")
    p.add_argument("--algorithm", default="aspade", help="aspade, sspade or sspade-original")
    p.add_argument("--threshold", default="auto", help="auto, DBFS, or POS_DBFS,NEG_DBFS")
    p.add_argument("--report", help="write everything as JSON here")
    p.add_argument("--plot", help="write a PNG of the clipping and restoration here")
    p.add_argument("--format", default="float32", choices=FORMATS)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--quiet", action="store_true")


def run_aspade(args):
    args.inputs = [args.clipped]
    args.reference = args.original
    args.preset = args.preset_
    return run_file(args)


def _output_for(inp, output, many):
    name = "Declipped_" + os.path.splitext(os.path.basename(inp))[0] + ".wav"
    if output is None:
        return os.path.join(os.path.dirname(os.path.abspath(inp)), name)
    if os.path.isdir(output):
        return os.path.join(output, name)
    if many:
        raise UserError(f"{output}: with several inputs --output must be an existing folder")
    return output


def _validate(args):
    if args.preset.lower() not in PRESETS:
        raise UserError(f"unknown preset {args.preset!r}; use HighQuality, Average or Fastest")
    if args.algorithm.lower() not in ALGORITHMS:
        raise UserError(f"unknown algorithm {args.algorithm!r}; use {', '.join(ALGORITHMS)}")
    filepipe.parse_threshold_db(args.threshold, 1)
    if args.jobs < 1:
        raise UserError("--jobs must be >= 1")
    if args.reference and len(args.inputs) > 1:
        raise UserError("--reference goes with a single input")


class Progress:
    """A one-line progress bar with ETA on a terminal; nothing otherwise."""

    def __init__(self, name, enabled):
        self.name, self.enabled, self.t0, self.last = name, enabled, time.monotonic(), 0.0

    def __call__(self, frac):
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and frac < 1):
            return
        self.last = now
        eta = (now - self.t0) * (1 - frac) / frac if frac > 0 else 0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{self.name[:30]:30s} [{bar:30s}] {100 * frac:5.1f} % ETA {eta:5.0f} s")
        if frac >= 1:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _one(args, inp, many, show_progress):
    out = _output_for(inp, args.output, many)
    for other in [inp] + ([args.reference] if args.reference else []):
        if os.path.exists(out) and os.path.exists(other) and os.path.samefile(out, other):
            raise UserError(f"{out}: refusing to overwrite an input")
    job = filepipe.FileJob(inp, out, args.reference, args.preset, args.algorithm,
                           args.threshold, args.format,
                           Progress(os.path.basename(inp), show_progress))
    report = filepipe.run(job)
    report["log"] = job.log
    return report


def run_file(args):
    _validate(args)
    many = len(args.inputs) > 1
    show = sys.stderr.isatty() and not args.quiet and not many
    reports, failures = [], 0
    old_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ThreadPoolExecutor(max_workers=min(args.jobs, len(args.inputs))) as pool:
            futures = [(inp, pool.submit(_one, args, inp, many, show)) for inp in args.inputs]
            try:
                for inp, fut in futures:
                    while True:  # wake up for signals while waiting
                        try:
                            rep = fut.result(timeout=0.2)
                            break
                        except TimeoutError:
                            continue
                        except UserError as e:
                            rep = None
                            failures += 1
                            print(f"rtdeclip: error: {e}", file=sys.stderr)
                            break
                    if rep is None:
                        continue
                    reports.append(rep)
                    if not args.quiet:
                        print(f"== {inp} -> {rep['output']}")
                        for line in rep["log"]:
                            print("  " + line)
            except KeyboardInterrupt:
                filepipe.stop_event.set()  # every job removes its partial output
                raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
    if args.report and reports:
        _write_json(args.report, reports[0] if len(reports) == 1 else reports)
    if args.plot and reports:
        from .plot import plot_report
        plot_report(reports[0], args.plot)
    if failures:
        if many:
            print(f"rtdeclip: {failures} of {len(args.inputs)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _write_json(path, payload):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"{path}: report folder does not exist")
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        with open(tmp, "w") as f:
            json.dump(_finite(payload), f, indent=1, default=_json_default)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"{path}: cannot write report ({e.strerror})") from None


def _finite(o):
    """JSON has no infinities: unclipped levels and silent peaks become null."""
    if isinstance(o, float):
        return o if o == o and abs(o) != float("inf") else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _json_default(o):
    import numpy as np
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, float) and o != o:
        return None
    return str(o)


__all__ = ["register", "AtomicWav"]
