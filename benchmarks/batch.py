"""``rtdeclip batch`` throughput: files per minute in local worker processes
(1 and 2) and on a real Dask cluster on 127.0.0.1 (``dask scheduler`` +
1 or 2 ``dask worker``, one thread each, started with Dask's own commands),
plus a resume run (everything skipped) and the bytes transfer mode.

    python benchmarks/batch.py ../shared/data/sqam [--copies 2] [--preset Fastest]

Inputs: every SQAM excerpt clipped at half its peak, 16-bit WAV, ``copies``
times (each copy its own file).  Wall time gives files per minute; since
the machine has 2 cores shared with other work, CPU time of every process
involved (the CLI and its pool workers, or the Dask client, scheduler and
workers, read from /proc) is reported beside it, and files per CPU-minute
is the figure that does not depend on the load.  Results in
benchmarks/results/batch.{json,md}.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))   # the tests' cluster helper

from common import RESULTS, SQAM, machine, md_table, read_sqam, write_results  # noqa: E402
from dask_cluster import DaskCluster  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pids):
    """user+system CPU seconds of these processes so far (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        except OSError:
            pass
    return total


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def make_inputs(sqam, folder, copies):
    paths = []
    for c in range(copies):
        sub = os.path.join(folder, f"copy{c}")
        os.makedirs(sub)
        for name in SQAM:
            x, sr = read_sqam(sqam, name)
            level = 0.5 * np.max(np.abs(x))
            y = np.round(np.clip(x, -level, level) * 32767).astype("<i2")
            p = os.path.join(sub, name + ".wav")
            with wave.open(p, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sr)
                w.writeframes(y.tobytes())
            paths.append(p)
    return paths


def best_of(repeat, inputs_dir, out, preset, extra, other_pids=()):
    """``repeat`` fresh runs (output folder emptied before each); the one
    with the shortest wall time, with every wall time beside it."""
    runs = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        runs.append(run(inputs_dir, out, preset, extra, other_pids))
    best = min(runs, key=lambda r: r["wall_s"])
    best["wall_s_all"] = [round(r["wall_s"], 2) for r in runs]
    best["cpu_total_s_all"] = [round(r["cpu_total_s"], 2) for r in runs]
    return best


def run(inputs_dir, out, preset, extra, other_pids=()):
    cmd = [sys.executable, "-m", "rtdeclip", "batch", inputs_dir, "--output", out,
           "--preset", preset, "--quiet", *extra]
    c0, p0, load0 = children_cpu(), proc_cpu(other_pids), os.getloadavg()[0]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu_cli = children_cpu() - c0
    cpu_cluster = proc_cpu(other_pids) - p0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
    with open(os.path.join(out, "rtdeclip-batch.json")) as f:
        s = json.load(f)
    files = s["counts"]["done"] + s["counts"]["skipped"]
    cpu_total = cpu_cli + cpu_cluster
    return {"files": files, "done": s["counts"]["done"], "skipped": s["counts"]["skipped"],
            "wall_s": wall, "files_per_min": 60 * files / wall,
            "cpu_cli_s": cpu_cli, "cpu_cluster_s": cpu_cluster, "cpu_total_s": cpu_total,
            "worker_task_cpu_s": s["totals"]["worker_cpu_s"],
            "files_per_cpu_min": 60 * files / cpu_total if cpu_total else None,
            "audio_s": s["totals"]["audio_s"], "loadavg_1min_before": load0,
            "loadavg_1min_after": os.getloadavg()[0],
            "workers_used": len({f.get("worker") for f in s["files"] if f["status"] == "done"})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sqam", help="folder of the SQAM excerpts (shared/data/sqam)")
    ap.add_argument("--copies", type=int, default=2, help="copies of the 10 excerpts (default 2)")
    ap.add_argument("--preset", default="Fastest")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each configuration; the fastest is kept (the least disturbed "
                         "by other work on the machine), all wall times are listed")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite batch.md from the saved batch.json")
    args = ap.parse_args()
    if args.render:
        with open(os.path.join(RESULTS, "batch.json")) as f:
            payload = json.load(f)
        payload.setdefault("copies", args.copies)
        write_results("batch", payload, markdown(payload))
        return

    work = tempfile.mkdtemp(prefix="rtdeclip-bench-batch-")
    results = {}
    try:
        inputs_dir = os.path.join(work, "in")
        paths = make_inputs(args.sqam, inputs_dir, args.copies)

        def record(name, res):
            results[name] = res
            print(name, json.dumps(res), flush=True)

        for jobs in (1, 2):
            out = os.path.join(work, f"local{jobs}")
            record(f"local pool, --jobs {jobs}", best_of(args.repeat, inputs_dir, out,
                                                         args.preset, ["--jobs", str(jobs)]))
        record("local, resume (all skipped)", run(inputs_dir, os.path.join(work, "local2"),
                                                  args.preset, ["--jobs", "2"]))
        for nworkers in (1, 2):
            cluster = DaskCluster(nworkers=nworkers)
            address = cluster.start()
            try:
                pids = [p.pid for p in cluster.procs]   # scheduler and workers (no nannies)
                out = os.path.join(work, f"dask{nworkers}")
                record(f"Dask, {nworkers} worker(s), by path",
                       best_of(args.repeat, inputs_dir, out, args.preset,
                               ["--scheduler", address], pids))
                if nworkers == 2:
                    record("Dask, 2 workers, resume (all skipped)",
                           run(inputs_dir, out, args.preset, ["--scheduler", address], pids))
                    record("Dask, 2 workers, --transfer bytes",
                           best_of(args.repeat, inputs_dir, os.path.join(work, "dask2bytes"),
                                   args.preset,
                               ["--scheduler", address, "--transfer", "bytes"], pids))
            finally:
                cluster.stop()
        same = all(open(os.path.join(work, "local1", os.path.relpath(p, work)), "rb").read() ==
                   open(os.path.join(work, d, os.path.relpath(p, work)), "rb").read()
                   for d in ("local2", "dask1", "dask2", "dask2bytes")
                   for p in [_out_of(p) for p in paths])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    payload = {"machine": machine(), "preset": args.preset, "files": len(paths),
               "copies": args.copies, "repeat": args.repeat,
               "audio_s_total": results["local pool, --jobs 1"]["audio_s"],
               "outputs_identical_across_runs": same, "runs": results,
               "note": "2 cores shared with other sessions' work while measuring: wall-time "
                       "figures depend on that load (load average given); CPU figures do not"}
    write_results("batch", payload, markdown(payload))


def markdown(payload):
    runs = payload["runs"]
    rows = []
    for name, res in runs.items():
        rows.append([name, res["files"], res["done"], f"{res['wall_s']:.1f}",
                     f"{res['files_per_min']:.1f}", f"{res['cpu_total_s']:.1f}",
                     f"{res['worker_task_cpu_s']:.1f}",
                     f"{res['files_per_cpu_min']:.0f}" if res["files_per_cpu_min"] else "-",
                     res["workers_used"],
                     f"{res['loadavg_1min_before']:.1f} / {res['loadavg_1min_after']:.1f}"])
    l1, l2 = runs["local pool, --jobs 1"], runs["local pool, --jobs 2"]
    d1, d2 = runs["Dask, 1 worker(s), by path"], runs["Dask, 2 worker(s), by path"]
    cores = payload["machine"]["cores"]
    return "\n".join([
        f"# rtdeclip batch: files per minute ({payload['files']} files, "
        f"{payload['audio_s_total']:.0f} s of SQAM audio clipped at half peak, "
        f"preset {payload['preset']})",
        "",
        f"`python benchmarks/batch.py ../shared/data/sqam --copies {payload['copies']} "
        f"--preset {payload['preset']} --repeat {payload['repeat']}` (best of "
        f"{payload['repeat']} runs by wall time; every run's wall and CPU time in the JSON); "
        f"{cores} cores, **shared with other sessions' work while measuring** (1-minute "
        f"load average before / after each run in the last column: far above {cores}), so "
        f"the wall-time figures (files/min) are what this machine gave at that moment, "
        f"not what the design can do. CPU time (every process involved: the CLI and its "
        f"pool workers, or the Dask client, scheduler and workers, from /proc) does not "
        f"depend on the load, and files/CPU-min is the figure to compare.",
        "",
        md_table(["run", "files", "processed", "wall s", "files/min", "CPU s (all)",
                  "CPU s (in tasks)", "files/CPU-min", "workers", "load before / after"], rows),
        "",
        f"- Measured ratios (wall, so load-dependent): 2 vs 1 local processes "
        f"{l2['files_per_min'] / l1['files_per_min']:.2f}x files/min; 2 vs 1 Dask workers "
        f"{d2['files_per_min'] / d1['files_per_min']:.2f}x.",
        f"- CPU per file: {l1['cpu_total_s'] / l1['files']:.2f} s in the local pool, "
        f"{d1['cpu_total_s'] / d1['files']:.2f} s on Dask (1 worker), of which "
        f"{l1['worker_task_cpu_s'] / l1['files']:.2f} s is declipping itself: Dask costs "
        f"{d1['cpu_total_s'] / l1['cpu_total_s']:.2f}x the local pool's CPU on these short "
        f"files (client start-up and imports, scheduler, worker heartbeats: mostly fixed "
        f"costs, a smaller share for longer files or batches).",
        f"- Derived, not measured: with the {cores} cores to itself, the throughput would "
        f"be at most {cores} x files/CPU-min = ~{cores * l2['files_per_cpu_min']:.0f} "
        f"files/min locally and ~{cores * d2['files_per_cpu_min']:.0f} on a 2-worker "
        f"Dask cluster for files like these.",
        f"- Resume: every file skipped in {runs['local, resume (all skipped)']['wall_s']:.1f} s "
        f"(local) / {runs['Dask, 2 workers, resume (all skipped)']['wall_s']:.1f} s (Dask: "
        f"connecting and checking the workers); nothing re-read or rewritten.",
        f"- Outputs byte-identical across all runs (local 1 and 2, Dask 1 and 2, bytes "
        f"transfer): {payload['outputs_identical_across_runs']}.",
    ])


def _out_of(path):
    d, name = os.path.split(path)
    return os.path.join(d, "Declipped_" + os.path.splitext(name)[0] + ".wav")


if __name__ == "__main__":
    main()
