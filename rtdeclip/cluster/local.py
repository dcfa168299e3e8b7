"""Files on this machine: a pool of worker processes (one file each at a
time; the C core is single-threaded per file).

At most ``jobs`` files are handed out at once, so the files a crashed
worker process took down with it are known: they are tried again in a
fresh pool, and one that takes a worker down twice is reported as failed.
Ctrl-C or SIGTERM: each worker gets SIGTERM, which stops its file at the
next chunk (the pipeline's stop_event), and its temporary output is removed.  If the batch process
itself is killed (SIGKILL), each worker notices its parent gone within
half a second and stops the same way (an orphan would otherwise wait on
its task queue forever).  Only a worker killed with SIGKILL leaves a
hidden temporary, removed by a later run (outdir.py).
"""
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from rtdeclip.cluster import task

MAX_CRASHES = 2
ORPHAN_CHECK_S = 0.5
_busy = False
_stop = False   # SIGTERM seen: finish unwinding, then exit (take no new file)


def _worker_init():
    # Ctrl-C at a terminal reaches the whole process group: the parent
    # decides, and tells each worker with SIGTERM
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os.kill(os.getpid(), signal.SIGTERM)   # handled in the main thread, below


def _on_term(signum, frame):
    global _stop
    _stop = True
    if _busy:
        # the pipeline's own stop: it raises KeyboardInterrupt at its next
        # chunk, inside the block that removes the temporary.  (Raising here
        # could land between the temporary's creation and that block, and
        # leave it behind.)
        from rtdeclip.files.pipeline import stop_event
        stop_event.set()
        return
    os._exit(130)                 # idle: nothing to clean up


def _process(spec):
    global _busy
    if _stop:
        os._exit(130)
    _busy = True
    try:
        return task.process(spec)
    finally:
        _busy = False
        if _stop:   # stopping: no result to give, no further file to take
            os._exit(130)


def run_local(specs, jobs, on_result):
    """Run ``specs`` (list of (key, spec)); ``on_result(key, result)`` in
    this thread as each finishes."""
    queue = list(reversed(specs))   # pop() from the end keeps the order
    crashes = {}
    ctx = multiprocessing.get_context("spawn")   # no fork of a threaded parent
    while queue:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init)
        running = {}
        broken = False
        try:
            while queue or running:
                while queue and len(running) < jobs and not broken:
                    key, spec = queue.pop()
                    try:
                        running[pool.submit(_process, spec)] = (key, spec)
                    except BrokenProcessPool:
                        queue.append((key, spec))
                        broken = True
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key, spec = running.pop(fut)
                    try:
                        on_result(key, fut.result())
                    except BrokenProcessPool:
                        broken = True
                        crashes[key] = crashes.get(key, 0) + 1
                        if crashes[key] >= MAX_CRASHES:
                            on_result(key, {"status": "failed", "error":
                                            f"{spec['input']}: the worker process died while "
                                            f"declipping it ({crashes[key]} times)"})
                        else:
                            queue.append((key, spec))
        except BaseException:
            _stop_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool):
    """SIGTERM to each worker process (interrupts the file it is on)."""
    for p in list(getattr(pool, "_processes", {}).values()):
        try:
            p.terminate()
        except (OSError, ValueError):
            pass
    for p in list(getattr(pool, "_processes", {}).values()):
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
