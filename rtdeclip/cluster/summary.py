"""The JSON summary of a batch (``OUT/rtdeclip-batch.json`` by default):
per file its status (done, skipped, failed), error, worker, times and the
main report figures; counts and totals on top.

It is rewritten atomically (temporary + rename) at most every
``interval`` seconds while the batch runs and once at its end, so a
reader never sees half a file and a killed batch leaves the last complete
one.  A later run reads it back: files finished before are listed as
"skipped" with the record of the run that made them, and the options must
match those the outputs were made with (or --redo).
"""
import datetime
import json
import os
import time

from rtdeclip.errors import ParameterError
from rtdeclip.files.report import write_json

# options older summaries do not name, as the outputs were made then
BEFORE_OPTIONS = {"second_pass": False, "sections": False, "restore_level": False,
                  "dc_restore": False}

FORMAT = 1
SUMMARY_NAME = "rtdeclip-batch.json"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def load(path):
    """The previous summary, or None (none yet, or unreadable: then the
    outputs on disk alone tell what is finished)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


class Summary:
    def __init__(self, path, out_dir, options, mode, previous=None, interval=2.0, redo=False):
        self.path, self.interval = path, interval
        self.previous = {f["output_rel"]: f for f in (previous or {}).get("files", [])
                         if isinstance(f, dict) and "output_rel" in f}
        self.run = int((previous or {}).get("run", 0)) + 1
        self.files = {}     # output_rel -> record
        self.total = 0      # items of this run (set by the caller)
        # --redo: outputs made before this run do not count as finished,
        # and this holds in later runs until each file has been redone (an
        # interrupted --redo resumes, it does not keep old outputs)
        self.redo_from = self.run if redo else (previous or {}).get("redo_from_run")
        self.head = {"format": FORMAT, "run": self.run, "output_dir": out_dir,
                     "redo_from_run": self.redo_from,
                     "options": options, "mode": mode, "started": _now(),
                     "finished": None, "interrupted": False}
        self.t0, self.last_write = time.perf_counter(), 0.0

    @staticmethod
    def check_options(previous, options, path):
        """Outputs made with other options must not be taken as finished."""
        # outputs made before the second pass (sections) existed were made without it
        made = dict(BEFORE_OPTIONS, **(previous or {}).get("options", {}))
        if previous and made != options:
            old = ", ".join(f"{k}={v}" for k, v in sorted(made.items()))
            raise ParameterError(f"{path}: the outputs there were made with {old}; "
                            f"use the same options, --redo, or another --output")

    def finished_before(self, item):
        """Is the existing output of ``item`` a finished one for this run?"""
        if not os.path.exists(item.output):
            return False
        if self.redo_from is None:
            return True   # atomic writes: an output that exists is complete
        prev = self.previous.get(item.rel)
        return bool(prev and prev.get("status") in ("done", "skipped")
                    and int(prev.get("run", 0)) >= self.redo_from)

    def add(self, item, status, **fields):
        rec = {"input": item.input, "output": item.output, "output_rel": item.rel,
               "status": status}
        rec.update(fields)
        if status == "done":
            rec["run"] = self.run
        if status == "skipped":
            prev = self.previous.get(item.rel)
            rec["reason"] = "finished output exists"
            if prev and prev.get("status") in ("done", "skipped"):
                # carry the figures of the run that made it
                for k in ("run", "worker", "report", "cpu_s", "wall_s"):
                    if k in prev:
                        rec[k] = prev[k]
        self.files[item.rel] = rec
        self.maybe_write()

    def counts(self):
        c = {"total": len(self.files), "done": 0, "skipped": 0, "failed": 0}
        for r in self.files.values():
            c[r["status"]] = c.get(r["status"], 0) + 1
        return c

    def payload(self):
        done = [r for r in self.files.values() if r["status"] == "done"]
        counts = self.counts()
        counts["pending"] = max(0, self.total - len(self.files))
        totals = {"wall_s": time.perf_counter() - self.t0,
                  "worker_cpu_s": sum(r.get("cpu_s", 0.0) for r in done),
                  "audio_s": sum((r.get("report") or {}).get("duration_s") or 0.0 for r in done)}
        return dict(self.head, counts=counts, totals=totals,
                    files=[self.files[k] for k in sorted(self.files)])

    def maybe_write(self):
        # a rewrite costs O(files): with many files, rewrite less often
        # (100,000 files: every 50 s), so it stays a small share of the run
        interval = max(self.interval, len(self.files) / 2000)
        if time.perf_counter() - self.last_write >= interval:
            self.write()

    def write(self, final=False, interrupted=False):
        if final:
            self.head["finished"] = _now()
            self.head["interrupted"] = interrupted
        write_json(self.path, self.payload())
        self.last_write = time.perf_counter()
