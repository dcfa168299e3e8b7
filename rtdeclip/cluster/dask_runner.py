"""Files on an existing Dask distributed cluster (``--scheduler``).

The client (this process) keeps at most ``window`` files in flight,
whatever the batch's size, so neither its memory nor the scheduler's
task table grows with the number of files.  Each task is one file:

* ``transfer="path"``: workers read and write by path (shared storage);
  a worker that does not see the file or the output folder fails it.
* ``transfer="auto"`` (default): by path where the worker sees it, else
  the client sends the input's bytes (scattered to a worker, not carried
  in the task graph) and writes the returned output bytes itself.
* ``transfer="bytes"``: always the bytes (workers need no shared storage).

Bytes go between the client and a worker directly (scatter and gather
with ``direct=True``), never through the scheduler, which only sees
tasks of a few hundred bytes and their small results.

A worker that dies mid-file: Dask runs the task again elsewhere, up to
its ``allowed-failures`` (then KilledWorker, reported as failed).  Ctrl-C
cancels what has not started; a file already running on a worker runs to
its end (its output is complete or absent, never partial).
"""
import hashlib
import logging
import os

from rtdeclip.cluster import task
from rtdeclip.cluster.outdir import write_bytes_atomic
from rtdeclip.errors import ParameterError, RtdeclipError

CONNECT_TIMEOUT_S = 30
WORKER_WAIT_S = 60


def connect(address, tls=None):
    """A Client for ``address`` (tcp:// or tls://); RtdeclipError if missing
    or unreachable.  ``tls``: (ca, cert, key) file paths for tls://."""
    try:
        from distributed import Client
        from distributed.security import Security
    except ImportError:
        raise RtdeclipError("--scheduler needs Dask: pip install 'rtdeclip[cluster]'") from None
    # Dask logs its own reconnect attempts with tracebacks on stderr; the
    # batch reports every failure itself, one line per file (set after the
    # import: Dask's logging config sets these levels when it loads)
    for name in ["distributed"] + [n for n in logging.root.manager.loggerDict
                                   if n.startswith("distributed.")]:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if not address.startswith(("tcp://", "tls://")):
        raise ParameterError(f"--scheduler {address!r}: give tcp://HOST:PORT or tls://HOST:PORT")
    security = None
    if address.startswith("tls://"):
        if not tls or not all(tls):
            raise ParameterError("a tls:// scheduler needs --tls-ca-file, --tls-cert and --tls-key")
        security = Security(tls_ca_file=tls[0], tls_client_cert=tls[1], tls_client_key=tls[2],
                            require_encryption=True)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, security=security,
                        set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise RtdeclipError(f"cannot reach the Dask scheduler at {address} "
                        f"within {CONNECT_TIMEOUT_S} s ({type(e).__name__})") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (TimeoutError, OSError):
        client.close()
        raise RtdeclipError(f"the Dask scheduler at {address} has no worker "
                        f"(waited {WORKER_WAIT_S} s)") from None
    return client


def worker_threads(client):
    info = client.scheduler_info(n_workers=-1)["workers"]
    return sum(w.get("nthreads", 1) for w in info.values()) or 1


def check_workers(client):
    """Every worker must import rtdeclip (the same version as here)."""
    import rtdeclip
    here = getattr(rtdeclip, "__version__", "?")
    try:
        infos = client.run(task.worker_info)
    except Exception as e:   # a worker without rtdeclip cannot unpickle the call
        raise RtdeclipError(f"a Dask worker cannot run rtdeclip ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}); install rtdeclip "
                        f"on every worker") from None
    other = {a: i["version"] for a, i in infos.items() if i["version"] != here}
    return other   # caller warns: outputs may differ between versions


def _key(spec, attempt):
    h = hashlib.sha1(spec["output"].encode()).hexdigest()[:16]
    return f"rtdeclip-{attempt}-{h}"


def run_dask(client, specs, on_result, transfer="auto", window=None):
    """Run ``specs`` (list of (key, spec)) on the cluster; ``on_result(key,
    result)`` here, in this thread, as each finishes."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:   # older distributed
        from distributed import KilledWorker
    window = window or max(4, 2 * worker_threads(client))
    queue = [(k, s, transfer == "bytes") for k, s in reversed(specs)]
    futures = {}
    ac = as_completed(loop=client.loop)

    def submit(key, spec, send):
        if send:
            with open(spec["input"], "rb") as f:
                # straight to a worker, not through the scheduler: it stays
                # out of the data path (the client must reach the workers)
                data = client.scatter(f.read(), hash=False, direct=True)
            fut = client.submit(task.process, spec, data, key=_key(spec, "b"), pure=False)
        else:
            fut = client.submit(task.process, spec, key=_key(spec, "p"), pure=False)
        futures[fut] = (key, spec, send)
        ac.add(fut)

    try:
        while queue or futures:
            while queue and len(futures) < window:
                key, spec, send = queue.pop()
                if client.status != "running":   # scheduler lost: nothing more will run
                    on_result(key, {"status": "failed", "error": f"{spec['input']}: not "
                                    f"started, the Dask scheduler was lost; run again"})
                    continue
                try:
                    submit(key, spec, send)
                except OSError as e:   # the client cannot read it to send it
                    on_result(key, {"status": "failed",
                                    "error": f"{spec['input']}: {e.strerror or e}"})
            if not futures:
                continue
            fut = next(ac)
            key, spec, send = futures.pop(fut)
            try:
                # output bytes, if any, come straight from the worker too
                result = client.gather(fut, direct=True)
            except KilledWorker:
                result = {"status": "failed", "error": f"{spec['input']}: Dask workers died "
                          f"while declipping it (KilledWorker)"}
            except FutureCancelledError:
                result = {"status": "failed", "error": f"{spec['input']}: cancelled on the "
                          f"cluster (scheduler lost or restarted?); run again to retry"}
            except Exception as e:   # e.g. the worker could not unpickle the task
                first = str(e).splitlines()[0] if str(e) else ""
                result = {"status": "failed", "error": f"{spec['input']}: {type(e).__name__}: {first}"}
            finally:
                fut.release()
            if result.get("status") == "unseen":
                if transfer == "auto":
                    queue.append((key, spec, True))
                    continue
                result["status"] = "failed"
                result["error"] += " (shared storage needed with --transfer path)"
            if result.get("status") == "done" and "data" in result:
                try:
                    os.makedirs(os.path.dirname(spec["output"]), exist_ok=True)
                    write_bytes_atomic(spec["output"], result.pop("data"))
                except OSError as e:
                    result = dict(result, status="failed",
                                  error=f"{spec['output']}: {e.strerror or e}")
            result.pop("data", None)
            on_result(key, result)
    except BaseException:
        client.cancel(list(futures))
        raise
