"""What runs for one file, in a local worker process or on a Dask worker.

``process(spec)`` never raises for a bad file: it returns a result dict
with ``status`` "done" or "failed" (and the one-line message ``rtdeclip
file`` would print), so one bad file never stops the rest.  Two ways in:

* by path (shared storage): the worker opens ``spec["input"]`` and writes
  ``spec["output"]`` itself, atomically, as ``rtdeclip file`` does.  Before
  that it checks that it sees the same input (size and mtime as the client
  saw them) and the same output folder (the batch's marker); if not it
  answers status "unseen" and the client may send the bytes instead.
* by bytes: ``data`` holds the input file; the worker declips it in a
  private temporary folder and returns the output's bytes, which the client
  writes in place.  Only the input and output bytes and the small result
  travel; the worker's disk holds them only while the task runs.
"""
import os
import shutil
import socket
import tempfile
import time

from rtdeclip.errors import RtdeclipError

# report fields kept in the batch summary (the full report is per-file
# detail; these are what a person scans a summary for)
SUMMARY_FIELDS = ("sample_rate", "channels", "frames", "duration_s", "codec", "clipping_found",
                  "output_peak_dbfs", "gain_db", "real_time_factor", "iterations_per_frame")


def worker_info():
    """Where this runs and which rtdeclip: the client checks workers with it."""
    import rtdeclip
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "version": getattr(rtdeclip, "__version__", "?")}


def process(spec, data=None):
    """Declip one file.  spec: input, output, size, mtime_ns, options
    (preset, algorithm, threshold, format, hedge), marker_dir, marker_token.
    ``data``: the input's bytes (bytes mode) or None (path mode)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    extra_cpu = 0.0   # CPU of threads the job started (a smeared rail's hedge)
    result = {"input": spec["input"], "output": spec["output"],
              "worker": f"{socket.gethostname()}:{os.getpid()}",
              "transfer": "path" if data is None else "bytes"}
    try:
        if data is None:
            why = _unseen(spec)
            if why:
                result.update(status="unseen", error=why)
                return result
            report = _declip(spec["input"], spec["output"], spec["options"])
        else:
            report, out_bytes = _declip_bytes(spec, data)
            result["data"] = out_bytes
        extra_cpu = report.get("hedge_cpu_s") or 0.0
        result["status"] = "done"
        result["report"] = {k: report.get(k) for k in SUMMARY_FIELDS if k in report}
        result["log"] = report.get("log", [])
    except RtdeclipError as e:
        result.update(status="failed", error=str(e))
    except MemoryError:
        result.update(status="failed", error=f"{spec['input']}: out of memory")
    except OSError as e:
        result.update(status="failed", error=f"{e.filename or spec['input']}: {e.strerror or e}")
    except (ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else ""
        result.update(status="failed", error=f"{spec['input']}: {type(e).__name__}: {first}")
    result["wall_s"] = time.perf_counter() - t0
    # this thread's CPU time: right in a process pool and in a Dask worker
    # thread alike (the C core runs in the calling thread), plus that of
    # the hedge's threads when it ran
    result["cpu_s"] = time.thread_time() - c0 + extra_cpu
    return result


def _declip(inp, out, options):
    from rtdeclip.files.pipeline import declip_file
    return declip_file(inp, out, preset=options["preset"], algorithm=options["algorithm"],
                       threshold_dbfs=options["threshold"], format=options["format"],
                       hedge=options.get("hedge", True),
                       second_pass=options.get("second_pass", True),
                       sections=options.get("sections", True),
                       restore_level=options.get("restore_level", True),
                       dc_restore=options.get("dc_restore", True))


def _unseen(spec):
    """Why this worker cannot work by path on this file ('' when it can)."""
    inp = spec["input"]
    try:
        st = os.stat(inp)
    except OSError:
        return f"{inp}: not visible on worker {socket.gethostname()}"
    if (st.st_size, st.st_mtime_ns) != (spec["size"], spec["mtime_ns"]):
        return f"{inp}: differs on worker {socket.gethostname()} (size or time)"
    from rtdeclip.cluster.outdir import sees_marker
    if not sees_marker(spec["marker_dir"], spec["marker_token"]):
        return f"{spec['marker_dir']}: output folder not shared with worker {socket.gethostname()}"
    os.makedirs(os.path.dirname(spec["output"]), exist_ok=True)
    return ""


def _declip_bytes(spec, data):
    """Declip ``data`` under the input's own name in a private temporary
    folder (so messages and the log read as for the real file)."""
    tmp = tempfile.mkdtemp(prefix="rtdeclip-task-")
    try:
        name = os.path.basename(spec["input"])
        inp = os.path.join(tmp, name)
        out = os.path.join(tmp, "out", os.path.basename(spec["output"]))
        os.mkdir(os.path.dirname(out))
        with open(inp, "wb") as f:
            f.write(data)
        try:
            report = _declip(inp, out, spec["options"])
        except RtdeclipError as e:   # name the client's file, not our temporary
            raise type(e)(str(e).replace(inp, spec["input"])) from None
        with open(out, "rb") as f:
            return report, f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
