"""The job runner: worker threads that take waiting jobs from the database
and run them, each in a child process (local) or on a Dask cluster
(``--scheduler``).

Nothing lives only in memory: a job's state is its database row and its
folder.  At start-up, jobs that were running when the server died go back
to the queue (their partial outputs are removed when they run again) and
half-finished uploads are dropped.  A purge thread deletes finished jobs
older than the configured age, with their files.
"""
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

from rtdeclip.service import execute

log = logging.getLogger("rtdeclip.service")


class Runner:
    def __init__(self, store, data, workers=1, client=None, limits=None):
        """``client``: a connected ``distributed.Client`` (jobs run on its
        cluster), or None (local child processes)."""
        self.store, self.data = store, os.path.abspath(data)
        self.workers, self.limits = workers, limits
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.threads = []
        self.children = {}     # job id -> Popen (local mode)
        self.client = client

    # folders
    def job_dir(self, jid):
        return os.path.join(self.data, "jobs", str(jid))

    def staging_dir(self):
        path = os.path.join(self.data, "uploads", uuid.uuid4().hex)
        os.makedirs(path)
        return path

    # life cycle
    def start(self):
        os.makedirs(os.path.join(self.data, "jobs"), exist_ok=True)
        self.recover()
        if self.client is not None and not self.workers:
            from rtdeclip.cluster.dask_runner import worker_threads
            self.workers = worker_threads(self.client)
        self.workers = max(1, self.workers or 1)
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"rtdeclip-job-{i}", daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self._purge_loop, name="rtdeclip-purge", daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self):
        """Stop taking jobs; running ones go back to the queue (they run
        again at the next start)."""
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        for p in list(self.children.values()):
            try:
                p.kill()
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=10)
        self.store.requeue_interrupted()
        if self.client is not None:
            self.client.close(timeout=10)

    def recover(self):
        again = self.store.requeue_interrupted()
        if again:
            log.warning("jobs interrupted by the last shutdown, queued again: %s", again)
        for jid in self.store.jobs_with_status("created"):
            # the server died between accepting the upload and queueing it
            if os.path.isdir(self.job_dir(jid)):
                self.store.set_status(jid, "waiting")
            else:
                self.store.delete_job(jid)
        shutil.rmtree(os.path.join(self.data, "uploads"), ignore_errors=True)

    def wake(self):
        with self.cond:
            self.cond.notify()

    # work
    def _loop(self):
        while not self.stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                with self.cond:
                    self.cond.wait(timeout=1.0)
                continue
            try:
                result = self._run(job)
            except Exception as e:   # the runner itself failed (lost cluster...): retry later
                if self.stopping.is_set():
                    return
                log.exception("job %s could not be run: %s", job["id"], e)
                self.store.set_status(job["id"], "waiting")
                time.sleep(2)
                continue
            if result is None:   # stopped while running: stays queued
                return
            self.store.set_status(job["id"], "done" if result["ok"] else "error",
                                  result.get("error"))
            log.info("job %s %s (%s)", job["id"], "done" if result["ok"] else result["error"],
                     result.get("where", "?"))

    def _run(self, job):
        folder = self.job_dir(job["id"])
        spec = dict(job["spec"])
        if self.limits:
            spec["max_duration_s"] = self.limits.max_duration_s
        if self.client is not None:
            return self._run_dask(job["id"], folder, spec)
        return self._run_local(job["id"], folder, spec)

    def _run_local(self, jid, folder, spec):
        p = subprocess.Popen([sys.executable, "-m", "rtdeclip.service.execute", folder,
                              json.dumps(spec), str(os.getpid())],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.children[jid] = p
        try:
            out, err = p.communicate()
        finally:
            self.children.pop(jid, None)
        if self.stopping.is_set():   # killed by stop(): leave the folder as uploaded
            execute.clean(folder, spec)
            return None
        lines = out.strip().splitlines()
        if p.returncode == 0 and lines:
            return json.loads(lines[-1])
        # the child died (signal, crash in C, out of memory): no partial files
        execute.clean(folder, spec)
        why = err.strip().splitlines()[-1] if err.strip() else f"exit status {p.returncode}"
        line = f"rtdeclip: error: {spec['clipped']}: the job failed ({why[:300]})"
        with open(os.path.join(folder, "allgo.log"), "w") as f:
            f.write(line + "\n")
        return {"ok": False, "error": line, "files": ["allgo.log"]}

    def _run_dask(self, jid, folder, spec):
        # a new key per attempt: a rerun after a restart is a new task
        fut = self.client.submit(execute.run_job, folder, spec, pure=False,
                                 key=f"rtdeclip-job-{jid}-{uuid.uuid4().hex[:8]}")
        while not fut.done():
            if self.stopping.is_set():
                fut.cancel()
                return None
            time.sleep(0.2)
        return fut.result()

    # purge
    def purge_once(self):
        if not self.limits or self.limits.purge_after_h <= 0:
            return []
        old = self.store.old_finished(time.time() - self.limits.purge_after_h * 3600)
        for jid in old:
            shutil.rmtree(self.job_dir(jid), ignore_errors=True)
            self.store.delete_job(jid)
        return old

    def _purge_loop(self):
        while not self.stopping.wait(timeout=min(600.0, max(1.0, self._purge_period()))):
            try:
                gone = self.purge_once()
                if gone:
                    log.info("purged jobs %s", gone)
            except Exception:
                log.exception("purge failed")

    def _purge_period(self):
        return (self.limits.purge_after_h * 3600 / 10) if self.limits else 600.0
