"""Peak resident memory of ``rtdeclip file`` against the file's length.

    python benchmarks/file_memory.py [--minutes 1,10,120] [--preset fastest] [--format float32]
                                     [--no-sections-too]

Writes clipped stereo 48 kHz 16-bit WAVs of each length (a synthetic 8 s
piece tiled, clipped at -12 dBFS, written in chunks), runs the command on
each in a subprocess and reads its peak RSS and CPU time from wait4()
(``--no-sections-too``: each file once more with ``--no-sections``, in the
same run, and the CPU ratio: what the search for several recordings
costs).  Bounded memory
means the peak does not grow with the length; the issue's target is under
300 MB for two hours.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402

from rtdeclip.files.audio_io import AtomicWav  # noqa: E402
from rtdeclip.examples import music  # noqa: E402

SR = 48000


def long_wav(path, minutes):
    piece = np.clip(music(SR, 8.0, 2, seed=7), -0.25, 0.25)
    n = int(minutes * 60 * SR)
    with AtomicWav(path, SR, 2, "pcm16") as w:
        for i in range(0, n, len(piece)):
            w.write(piece[:min(len(piece), n - i)])


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    err = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.strip()}")
    return (usage.ru_maxrss / 1024, time.perf_counter() - t0,   # kB -> MB
            usage.ru_utime + usage.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="1,10")
    ap.add_argument("--preset", default="fastest")
    ap.add_argument("--format", default="float32")
    ap.add_argument("--tmp", default=None, help="folder for the test files (needs ~1.5 GB per hour)")
    ap.add_argument("--no-sections-too", action="store_true",
                    help="run each file again with --no-sections and compare")
    args = ap.parse_args()
    rows, data = [], []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for minutes in [float(m) for m in args.minutes.split(",")]:
            inp = os.path.join(tmp, f"long_{minutes:g}min.wav")
            long_wav(inp, minutes)
            cmd = [sys.executable, "-m", "rtdeclip", "file", inp, "--quiet",
                   "--preset", args.preset, "--format", args.format,
                   "--output", os.path.join(tmp, "out.wav")]
            rss, secs, cpu = run(cmd)
            row = {"minutes": minutes, "peak_rss_mb": rss, "seconds": secs, "cpu_s": cpu}
            cells = [f"{minutes:g}", f"{rss:.0f}", f"{secs:.0f}", f"{cpu:.0f}",
                     f"{minutes * 60 / secs:.1f}x"]
            if args.no_sections_too:
                rss1, secs1, cpu1 = run(cmd + ["--no-sections"])
                row.update(no_sections={"peak_rss_mb": rss1, "seconds": secs1, "cpu_s": cpu1})
                cells += [f"{rss1:.0f}", f"{secs1:.0f}", f"{cpu1:.0f}", f"{cpu / cpu1:.2f}"]
            data.append(row)
            rows.append(cells)
            print(rows[-1], flush=True)
            os.unlink(inp)
    head = ["minutes (stereo 48 kHz)", "peak RSS (MB)", "wall time (s)", "CPU (s)", "speed"]
    if args.no_sections_too:
        head += ["--no-sections: peak RSS (MB)", "wall (s)", "CPU (s)", "CPU ratio"]
    md = md_table(head, rows)
    md += (f"\n\npreset {args.preset}, output {args.format}. Command: "
           f"python benchmarks/file_memory.py {shlex.join(sys.argv[1:])}")
    write_results("file_memory", {"machine": machine(), "args": vars(args), "rows": data}, md)


if __name__ == "__main__":
    main()
