"""``rtdeclip batch``: many files, on this machine or a Dask cluster.

    rtdeclip batch INPUT... --output DIR [--preset P] [--algorithm A]
                   [--threshold T] [--format F] [--no-hedge] [--no-second-pass] [--no-sections]
                   [--keep-level] [--jobs N]
                   [--scheduler tcp://HOST:PORT [--transfer auto|path|bytes]]
                   [--summary FILE] [--redo] [--quiet]

Files and folders (walked recursively) in; ``DIR`` mirrors the input tree
(see rtdeclip.cluster.discover).  Run it again after an interruption and it
does only what is missing: a finished output is complete by construction
(written to a temporary and renamed), so it is skipped.  Exit code 0 when
every file is done, 1 when some failed (listed in the summary), 130 when
interrupted.
"""
import os
import signal
import sys

from rtdeclip.cluster import summary as summ
from rtdeclip.cluster.discover import AUDIO_EXTENSIONS, discover
from rtdeclip.cluster.outdir import OutputFolder
from rtdeclip.errors import FileError, ParameterError
from rtdeclip.files.audio_io import FORMATS
from rtdeclip.files.pipeline import check_options


def register(sub):
    p = sub.add_parser(
        "batch", help="declip many files and folders, locally or on a Dask cluster",
        description="Declip files and folders (recursively: "
                    + ", ".join(e[1:] for e in AUDIO_EXTENSIONS)
                    + ") into a folder that mirrors the inputs. Resumable: finished "
                      "outputs are skipped. A JSON summary lists every file.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files and folders")
    p.add_argument("--output", "-O", required=True, metavar="DIR",
                   help="output folder (created; folders given as inputs are mirrored in it)")
    p.add_argument("--preset", default="Average",
                   help="HighQuality, Average or Fastest (default Average)")
    p.add_argument("--algorithm", default="aspade", help="aspade, sspade or sspade-original")
    p.add_argument("--threshold", default="auto",
                   help="clip levels: auto, DBFS or POS_DBFS,NEG_DBFS (as rtdeclip file)")
    p.add_argument("--format", default="float32", choices=FORMATS, help="output sample format")
    p.add_argument("--no-hedge", dest="hedge", action="store_false",
                   help="smeared rails (lossy, resampled, dithered inputs) solved once at the "
                        "detected width, not at five widths averaged: five times faster")
    p.add_argument("--no-second-pass", dest="second_pass", action="store_false",
                   help="smeared rails not solved again on the set the hedge names (half "
                        "the CPU; as rtdeclip file)")
    p.add_argument("--no-sections", dest="sections", action="store_false",
                   help="one clip level per channel for a whole file of several recordings "
                        "(as rtdeclip file)")
    p.add_argument("--no-dc-restore", dest="dc_restore", action="store_false",
                   help="an Opus file declipped as decoded, its encoder's DC reject not "
                        "undone (as rtdeclip file)")
    p.add_argument("--keep-level", dest="restore_level", action="store_false",
                   help="a declipped MP3 keeps the file's level, not the one LAME scaled "
                        "away before encoding (as rtdeclip file)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: number of cores; "
                        "ignored with --scheduler)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this Dask scheduler (tcp://HOST:PORT or tls://HOST:PORT) "
                        "instead of local processes; needs rtdeclip[cluster]")
    p.add_argument("--transfer", default="auto", choices=("auto", "path", "bytes"),
                   help="with --scheduler: workers read/write by path (shared storage), "
                        "get the bytes sent, or auto: by path where they see it (default)")
    p.add_argument("--tls-ca-file", help="CA certificate for a tls:// scheduler")
    p.add_argument("--tls-cert", help="client certificate for a tls:// scheduler")
    p.add_argument("--tls-key", help="client key for a tls:// scheduler")
    p.add_argument("--summary", metavar="FILE.json",
                   help=f"summary file (default DIR/{summ.SUMMARY_NAME})")
    p.add_argument("--redo", action="store_true",
                   help="process every file again, even those with a finished output")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no closing line")
    p.set_defaults(func=run_batch)


def _validate(args):
    check_options(args.preset, args.algorithm, args.threshold, args.format)   # as rtdeclip file
    if args.jobs < 1:
        raise ParameterError("--jobs must be >= 1")
    out = os.path.realpath(args.output)
    if os.path.exists(out) and not os.path.isdir(out):
        raise FileError(f"{args.output}: --output must be a folder")
    for inp in args.inputs:
        real = os.path.realpath(inp)
        if os.path.isdir(real) and (out == real or real.startswith(out.rstrip(os.sep) + os.sep)):
            raise ParameterError(f"{inp}: an input folder cannot be (inside) the output folder")
    if args.summary and not os.path.isdir(os.path.dirname(os.path.abspath(args.summary))):
        raise FileError(f"{args.summary}: --summary folder does not exist")


class _Bar:
    """rich's progress bar on a terminal; nothing otherwise."""

    def __init__(self, total, enabled):
        self.progress = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self.progress = Progress(TextColumn("declipping"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("[red]{task.fields[failed]} failed"),
                                     TimeElapsedColumn(), TimeRemainingColumn(),
                                     console=Console(stderr=True))
            self.task = self.progress.add_task("files", total=total, failed=0)
            self.failed = 0
            self.progress.start()

    def advance(self, failed=False):
        if self.progress:
            self.failed += failed
            self.progress.update(self.task, advance=1, failed=self.failed)

    def print_error(self, line):
        if self.progress:
            self.progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def stop(self):
        if self.progress:
            self.progress.stop()
            self.progress = None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_batch(args):
    _validate(args)
    options = {"preset": args.preset.lower(), "algorithm": args.algorithm.lower(),
               "threshold": str(args.threshold), "format": args.format, "hedge": args.hedge,
               "second_pass": args.second_pass, "sections": args.sections,
               "restore_level": args.restore_level, "dc_restore": args.dc_restore}
    out_dir = os.path.abspath(args.output)
    client = None
    if args.scheduler:   # before touching anything: an unreachable cluster is a plain error
        from rtdeclip.cluster import dask_runner
        client = dask_runner.connect(args.scheduler,
                                     (args.tls_ca_file, args.tls_cert, args.tls_key))
    old_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with OutputFolder(out_dir) as folder:
            folder.remove_stale_temporaries()
            return _run(args, options, folder, client)
    finally:
        signal.signal(signal.SIGTERM, old_term)
        if client is not None:
            client.close()


def _run(args, options, folder, client):
    out_dir = folder.path
    path = os.path.abspath(args.summary or os.path.join(out_dir, summ.SUMMARY_NAME))
    previous = summ.load(path)
    if not args.redo:
        summ.Summary.check_options(previous, options, out_dir)
    mode = {"runner": "dask" if client else "local",
            "scheduler": args.scheduler, "transfer": args.transfer if client else "path",
            "jobs": None if client else args.jobs}
    summary = summ.Summary(path, out_dir, options, mode, previous, redo=args.redo)
    items = discover(args.inputs, out_dir)
    if not items:
        raise FileError("no audio files (" + ", ".join(AUDIO_EXTENSIONS) + ") in "
                        + " ".join(args.inputs))
    summary.total = len(items)
    bar = _Bar(len(items), sys.stderr.isatty() and not args.quiet)
    todo = {}
    for i, it in enumerate(items):
        if it.error:
            summary.add(it, "failed", error=it.error)
            bar.print_error(f"rtdeclip: error: {it.error}")
            bar.advance(failed=True)
        elif summary.finished_before(it):
            summary.add(it, "skipped")
            bar.advance()
        else:
            os.makedirs(os.path.dirname(it.output), exist_ok=True)
            todo[i] = {"input": it.input, "output": it.output, "size": it.size,
                       "mtime_ns": it.mtime_ns, "options": options,
                       "marker_dir": out_dir, "marker_token": folder.token}

    def on_result(i, result):
        it = items[i]
        keep = {k: result[k] for k in ("worker", "transfer", "cpu_s", "wall_s", "report")
                if k in result}
        if result.get("status") == "done":
            summary.add(it, "done", **keep)
            bar.advance()
        else:
            error = result.get("error") or f"{it.input}: failed"
            summary.add(it, "failed", error=error, **keep)
            bar.print_error(f"rtdeclip: error: {error}")
            bar.advance(failed=True)

    specs = list(todo.items())
    try:
        if client is not None:
            from rtdeclip.cluster import dask_runner
            other = dask_runner.check_workers(client)
            for addr, version in other.items():
                bar.print_error(f"rtdeclip: warning: worker {addr} runs rtdeclip {version}")
            dask_runner.run_dask(client, specs, on_result, transfer=args.transfer)
        else:
            from rtdeclip.cluster.local import run_local
            if specs:
                run_local(specs, min(args.jobs, len(specs)), on_result)
    except KeyboardInterrupt:
        bar.stop()
        summary.write(final=True, interrupted=True)
        c = summary.counts()
        print(f"rtdeclip: interrupted: {c['done']} done, {c['skipped']} skipped, "
              f"{c['failed']} failed, {summary.total - c['total']} not finished; run the same "
              f"command again to resume (summary {path})", file=sys.stderr)
        return 130
    finally:
        bar.stop()
    summary.write(final=True)
    c = summary.counts()
    if not args.quiet:
        print(f"rtdeclip batch: {c['done']} done, {c['skipped']} skipped (finished before), "
              f"{c['failed']} failed of {c['total']}; summary {path}", file=sys.stderr)
    return 1 if c["failed"] else 0
