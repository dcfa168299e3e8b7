"""``rtdeclip file`` and ``rtdeclip aspade``: declipping files.

    rtdeclip file INPUT... [--output PATH|DIR] [--reference CLEAN] [--preset P]
                  [--algorithm A] [--threshold auto|DBFS|POS,NEG] [--report R.json]
                  [--plot P.png] [--format float32|pcm16|pcm24] [--jobs N] [--quiet]
    rtdeclip aspade -c clipped.wav [-o original.wav] [-p Fastest]    # the web service's syntax

Output defaults to ``Declipped_<input name>.wav`` beside the input.  An
input is never overwritten; outputs appear complete or not at all.
"""
import argparse
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from rtdeclip.files import pipeline as filepipe
from rtdeclip.files.sinks import FORMATS, AtomicWav, check_output, output_path, refuse_overwrite
from rtdeclip.errors import FileError, ParameterError, RtdeclipError
from rtdeclip.files.report import write_json


def register(sub):
    p = sub.add_parser("file", help="declip audio files into WAV",
                       description="Declip audio files (wav, flac, ogg, opus, mp3, m4a, mp4) into WAV.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="audio files: wav, flac, ogg (Vorbis/Opus), mp3, m4a, mp4; 8-192 kHz, any channels")
    _common(p)
    p.add_argument("--output", "-O", help="output file (one input) or folder")
    p.add_argument("--reference", help="clean original, for SDR before and after")
    p.set_defaults(func=run_file)

    q = sub.add_parser("aspade", help="the A-SPADE web service's syntax: -c clipped [-o original] [-p preset]")
    aspade_arguments(q)
    q.set_defaults(func=run_aspade)


def aspade_arguments(q):
    """The arguments of ``rtdeclip aspade``; ``rtdeclip serve`` parses a
    job's ``job[param]`` with the same ones (``aspade_parser``)."""
    q.add_argument("-c", dest="clipped", required=True, help="clipped input")
    q.add_argument("-o", dest="original", help="clean original (reference)")
    q.add_argument("-p", dest="preset_", default="Average", metavar="PRESET",
                   help="HighQuality, Average or Fastest (default Average)")
    q.add_argument("--output", "-O", help="output file or folder")
    _common(q, preset=False)


class _RaisingParser(argparse.ArgumentParser):
    """Parse errors as ParameterError (one line) instead of printing usage and exiting."""

    def error(self, message):
        raise ParameterError(message)

    def exit(self, status=0, message=None):   # -h / --help
        raise ParameterError(message.strip() if message else "no job run (help asked)")


def aspade_parser():
    """A standalone parser for ``rtdeclip aspade``'s arguments that raises
    ``ParameterError`` on bad ones (the service's job[param])."""
    q = _RaisingParser(prog="rtdeclip aspade", add_help=False)
    aspade_arguments(q)
    return q


def _common(p, preset=True):
    if preset:
        p.add_argument("--preset", default="Average",
                       help="HighQuality, Average or Fastest (default Average)")
    p.add_argument("--algorithm", default=None,
                   help="aspade, sspade, sspade-original or social (default: the preset's: "
                        "social for HighQuality, aspade otherwise)")
    p.add_argument("--threshold", default="auto",
                   help="clip levels: auto (estimated per channel and polarity), DBFS (e.g. -3), "
                        "or POS_DBFS,NEG_DBFS (write --threshold=-3,-3.5)")
    p.add_argument("--source-rate", default="auto", metavar="auto|off|HZ",
                   help="declip at the source's lower rate: auto (default: when an Opus header "
                        "says it, or nothing is above a rate of 8-24 kHz 2, 3, 4 or 6 times "
                        "lower), off, or the rate in Hz")
    p.add_argument("--no-hedge", dest="hedge", action="store_false",
                   help="smeared rails (after MP3, AAC, Vorbis, Opus, a resampler or "
                        "dither) are declipped once at the detected width rather than at "
                        "five widths averaged: five times faster, about 0.3-0.6 dB less on lossy "
                        "input and 1.1-1.3 dB on resampled or dithered rails (docs/lossy.md)")
    p.add_argument("--no-second-pass", dest="second_pass", action="store_false",
                   help="smeared rails are not solved again on the clipped set the hedge's "
                        "solution names (half the CPU; docs/lossy.md)")
    p.add_argument("--no-sections", dest="sections", action="store_false",
                   help="one clip level per channel and polarity for the whole file, even "
                        "when it holds several recordings clipped at different levels (an "
                        "album, a radio recording): by default it is cut where the level "
                        "changes and each part detected on its own (docs/lossy.md)")
    p.add_argument("--no-dc-restore", dest="dc_restore", action="store_false",
                   help="an Opus file is declipped as decoded: by default the slow mean its "
                        "encoder's 3 Hz DC reject took off a clipped signal (moving both "
                        "rails with it) is put back first (+2 to +15 dB on clipped Opus; "
                        "docs/lossy.md)")
    p.add_argument("--keep-level", dest="restore_level", action="store_false",
                   help="an MP3 that LAME scaled before encoding (0.95 up to 160 kb/s, 0.97 "
                        "at 192, 0.98 at 224, constant or average bit rate) keeps the file's "
                        "level: by default the declipped output is brought back to the level "
                        "that was encoded (+0.45 dB at 128 kb/s; docs/lossy.md)")
    p.add_argument("--report", metavar="REPORT.json",
                   help="write everything as JSON (several inputs: a list)")
    p.add_argument("--plot", metavar="PLOT.png",
                   help="PNG of the most clipped stretch and the histogram near the rails "
                        "(first input; needs matplotlib)")
    p.add_argument("--format", default="float32", choices=FORMATS,
                   help="float32 (default: restored peaks above 0 dBFS kept) or PCM "
                        "(the smallest gain that fits them, reported)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="inputs processed in parallel (default: number of cores)")
    p.add_argument("--quiet", action="store_true", help="no log, no progress bar")


def run_aspade(args):
    args.inputs = [args.clipped]
    args.reference = args.original
    args.preset = args.preset_
    return run_file(args)


def _validate(args):
    filepipe.check_options(args.preset, args.algorithm, args.threshold, args.format,
                           args.source_rate)
    if args.jobs < 1:
        raise ParameterError("--jobs must be >= 1")
    if args.reference and len(args.inputs) > 1:
        raise ParameterError("--reference goes with a single input")
    for opt in ("report", "plot"):   # fail now, not after hours of processing
        path = getattr(args, opt)
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if os.path.isdir(path):
                raise FileError(f"{path}: --{opt} is a folder, not a file")
            if not os.path.isdir(folder):
                raise FileError(f"{path}: --{opt} folder does not exist")
            if not os.access(folder, os.W_OK):
                raise FileError(f"{path}: cannot write --{opt} in {folder}")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise RtdeclipError("--plot needs matplotlib: pip install 'rtdeclip[plot]'") from None
    many = len(args.inputs) > 1
    seen = {}
    sources = [i for i in args.inputs + [args.reference] if i and os.path.exists(i)]
    for inp in args.inputs:   # two inputs must not write the same output
        out = os.path.abspath(check_output(output_path(inp, args.output, many)))
        refuse_overwrite(out, *sources)   # nor any input be overwritten
        if out in seen:
            raise ParameterError(f"{inp} and {seen[out]} would both be written to {out}; "
                                 f"rename one or give --output")
        seen[out] = inp


class Progress:
    """One progress line with ETA on a terminal (several files: their
    average); nothing otherwise.  Jobs call it from their threads with
    their own name and fraction done."""

    def __init__(self, names, enabled):
        self.done = {n: 0.0 for n in names}
        self.enabled, self.t0, self.last = enabled, time.monotonic(), 0.0
        self.lock = threading.Lock()

    def for_job(self, name):
        return lambda frac: self.update(name, frac)

    def update(self, name, frac):
        if not self.enabled:
            return
        with self.lock:
            self.done[name] = frac
            now = time.monotonic()
            total = sum(self.done.values()) / len(self.done)
            if now - self.last < 0.2 and total < 1:
                return
            self.last = now
            eta = (now - self.t0) * (1 - total) / total if total > 0 else 0
            bar = "#" * int(30 * total)
            label = next(iter(self.done)) if len(self.done) == 1 else \
                f"{sum(v >= 1 for v in self.done.values())}/{len(self.done)} files"
            sys.stderr.write(f"\r{label[:30]:30s} [{bar:30s}] {100 * total:5.1f} % "
                             f"ETA {eta:5.0f} s")
            if total >= 1:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _one(args, inp, many, progress):
    return filepipe.declip_file(inp, args.output, args.reference, args.preset, args.algorithm,
                                args.threshold, args.format,
                                progress.for_job(_progress_name(inp, many)),
                                source_rate=args.source_rate, hedge=args.hedge,
                                second_pass=args.second_pass, sections=args.sections,
                                restore_level=args.restore_level,
                                dc_restore=args.dc_restore)


def run_file(args):
    _validate(args)
    many = len(args.inputs) > 1
    progress = Progress([os.path.basename(i) if not many else i for i in args.inputs],
                        sys.stderr.isatty() and not args.quiet)
    reports, failures = [], 0
    old_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ThreadPoolExecutor(max_workers=min(args.jobs, len(args.inputs))) as pool:
            futures = [(inp, pool.submit(_one, args, inp, many, progress)) for inp in args.inputs]
            try:
                for inp, fut in futures:
                    while True:  # wake up for signals while waiting
                        try:
                            rep = fut.result(timeout=0.2)
                            break
                        except TimeoutError:
                            continue
                        except (RtdeclipError, OSError, MemoryError, ValueError, RuntimeError) as e:
                            # one line per failed input; the others go on
                            rep = None
                            failures += 1
                            print(f"rtdeclip: error: {_describe(inp, e)}", file=sys.stderr)
                            progress.update(_progress_name(inp, many), 1.0)
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
        write_json(args.report, reports[0] if len(reports) == 1 else reports)
    if args.plot and reports:
        from rtdeclip.files.plot import plot_report
        plot_report(reports[0], args.plot)
    if failures:
        if many:
            print(f"rtdeclip: {failures} of {len(args.inputs)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _progress_name(inp, many):
    return inp if many else os.path.basename(inp)


def _describe(inp, e):
    """One line for a failed input: rtdeclip's own errors name the file already."""
    if isinstance(e, RtdeclipError):
        return str(e)
    if isinstance(e, OSError):
        where = e.filename or inp
        return f"{where}: {e.strerror or e}"
    if isinstance(e, MemoryError):
        return f"{inp}: out of memory"
    return f"{inp}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


__all__ = ["register", "AtomicWav"]
