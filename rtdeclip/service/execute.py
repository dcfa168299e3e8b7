"""One service job: ``rtdeclip file`` run on a job folder.

``run_job`` is a top-level function of plain arguments (a folder and a
dict) so that a Dask worker can run it on any machine that sees the same
``--data`` folder; locally the server runs it in a child process
(``python -m rtdeclip.service.execute FOLDER SPEC_JSON``), so a crash in a
job never takes the server down.

The job folder holds the uploads; the job adds ``Declipped_<name>.wav``,
``allgo.log``, ``report.json`` and ``plot.png``.  Each appears complete or
not at all (written to a hidden temporary and renamed); progress goes to
the hidden ``.progress`` file, which the server reads for the event stream.
"""
import json
import os
import sys
import time

OUTPUTS = ("allgo.log", "report.json", "plot.png")
PROGRESS = ".progress"


def output_name(clipped):
    return "Declipped_" + os.path.splitext(clipped)[0] + ".wav"


def _atomic_write(path, data):
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def clean(folder, spec):
    """Remove what an earlier (interrupted) run of this job left: outputs
    and hidden temporaries.  The uploads stay."""
    names = set(OUTPUTS) | {output_name(spec["clipped"])}
    for name in os.listdir(folder):
        if name in names or name.startswith("."):
            try:
                os.unlink(os.path.join(folder, name))
            except (IsADirectoryError, FileNotFoundError):
                pass


def _progress_writer(folder):
    path = os.path.join(folder, PROGRESS)
    last = [0.0]

    def progress(frac):
        now = time.monotonic()
        if now - last[0] < 0.25 and frac < 1:
            return
        last[0] = now
        try:
            _atomic_write(path, f"{frac:.4f}".encode())
        except OSError:
            pass   # progress is a nicety; never fail a job for it
    return progress


def run_job(folder, spec):
    """Declip ``spec["clipped"]`` in ``folder``; returns
    ``{"ok": bool, "error": one line or None, "files": [...], "seconds": s}``.
    On failure only allgo.log (holding the one-line error) is left beside
    the uploads."""
    from rtdeclip.errors import RtdeclipError
    from rtdeclip.files.pipeline import declip_file
    from rtdeclip.files.report import write_json
    t0 = time.time()
    folder = os.path.abspath(folder)
    clean(folder, spec)
    inp = os.path.join(folder, spec["clipped"])
    ref = os.path.join(folder, spec["original"]) if spec.get("original") else None
    out = os.path.join(folder, output_name(spec["clipped"]))
    try:
        try:
            _check_duration(inp, spec)
            report = declip_file(inp, output=out, reference=ref, preset=spec["preset"],
                                 algorithm=spec["algorithm"], threshold_dbfs=spec["threshold"],
                                 format=spec["format"], progress=_progress_writer(folder),
                                 source_rate=spec.get("source_rate", "auto"))
        except (RtdeclipError, OSError, MemoryError, ValueError, RuntimeError) as e:
            from rtdeclip.cli.file import _describe
            raise _JobFailed(_describe(inp, e)) from None
        # the report names server paths: keep only the names
        report["input"] = spec["clipped"]
        report["output"] = os.path.basename(out)
        if ref:
            report["reference"] = spec["original"]
        files = [os.path.basename(out)]
        write_json(os.path.join(folder, "report.json"), report)
        files.append("report.json")
        if _plot(report, inp, out, folder):
            files.append("plot.png")
        _atomic_write(os.path.join(folder, "allgo.log"),
                      ("\n".join(report["log"]) + "\n").encode())
        files.append("allgo.log")
        return {"ok": True, "error": None, "files": files, "seconds": time.time() - t0,
                "where": _where()}
    except _JobFailed as e:
        line = "rtdeclip: error: " + str(e).replace(folder + os.sep, "")
        clean(folder, spec)   # no partial outputs
        _atomic_write(os.path.join(folder, "allgo.log"), (line + "\n").encode())
        return {"ok": False, "error": line, "files": ["allgo.log"], "seconds": time.time() - t0,
                "where": _where()}
    except BaseException:
        clean(folder, spec)
        raise


def _where():
    """Which Dask worker (its name) or which process ran the job, for the server's log."""
    try:
        from distributed import get_worker
        return f"dask worker {get_worker().name}"
    except (ImportError, ValueError):
        return f"process {os.getpid()}"


class _JobFailed(Exception):
    pass


def _check_duration(inp, spec):
    limit = spec.get("max_duration_s")
    if not limit:
        return
    from rtdeclip.errors import FileError
    from rtdeclip.files.audio_io import AudioSource
    src = AudioSource(inp)
    frames = src.declared_frames
    if frames and src.sample_rate and frames / src.sample_rate > limit:
        raise FileError(f"{inp}: lasts {frames / src.sample_rate:.1f} s, longer than this "
                        f"server's limit of {limit:g} s")


def _plot(report, inp, out, folder):
    """The waveform plot, if matplotlib is installed (the page shows it)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from rtdeclip.files.plot import plot_report
    except ImportError:
        return False
    # plot_report reads the files named in the report, and writes atomically
    full = dict(report, input=inp, output=out)
    try:
        plot_report(full, os.path.join(folder, "plot.png"), name=report["input"])
        return True
    except Exception:   # a plot never fails the job
        return False


def _die_with_parent():
    """Linux: this child gets SIGKILL when the server dies, so a restarted
    server never races an orphan writing the same job folder."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def main(argv):
    folder, spec, parent = argv[0], json.loads(argv[1]), int(argv[2]) if len(argv) > 2 else 0
    _die_with_parent()
    if parent and os.getppid() != parent:   # the server died before prctl
        return 3
    result = run_job(folder, spec)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
