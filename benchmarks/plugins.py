"""CPU per second of stereo 48 kHz audio, per real-time preset: the LADSPA
plug-in inside ffmpeg against the Python Declipper on the same signal.

Both run the same C core, so the ratio should be near 1.  ffmpeg's cost
per second is the difference between a long and a 1-second run of the same
command (it removes ffmpeg's start-up and the plug-in's instantiate, which
plans FFTs), divided by the difference in length; the child CPU time
(user + system) comes from getrusage.  The Python Declipper's is the
process CPU time (all threads) of process() + flush() on the whole signal,
created beforehand.  Each case is run REPEAT times; the least CPU is kept
(the least disturbed by other load on a shared machine).

    python benchmarks/plugins.py [--seconds 20] [--repeat 3]

Signal: rtdeclip.examples.music (synthetic, stereo), clipped to an input
SDR of 3 dB, 16-bit WAV.  Results in
benchmarks/results/plugins.{json,md}.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, md_table, write_results  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip import plugins  # noqa: E402
from rtdeclip.core.metrics import clip_to_sdr  # noqa: E402
from rtdeclip.examples import music  # noqa: E402
from rtdeclip.files.audio_io import AtomicWav  # noqa: E402

RATE = 48000
PRESETS = ["average", "fastest"]        # the plug-in's preset control: 0, 1


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ffmpeg_cpu(path, preset_index):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-af",
           f"ladspa=file={plugins.ladspa_library()}:plugin=rtdeclip_stereo:controls=c0={preset_index}",
           "-f", "null", "-"]
    t0 = children_cpu()
    subprocess.run(cmd, check=True)
    return children_cpu() - t0


def python_cpu(x, preset):
    d = rtdeclip.Declipper(RATE, 2, preset=preset, threshold="auto")
    t0 = time.process_time()
    d.process(x)
    d.flush()
    return time.process_time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("ffmpeg"):
        raise SystemExit("ffmpeg is not installed (scripts/apt.d/plugins.txt)")
    plugins.check_built()
    tmp = tempfile.mkdtemp(prefix="rtd-bench-plugins-")
    os.environ["RTDECLIP_WISDOM"] = os.path.join(tmp, "wisdom")   # same plans for both
    clean = music(RATE, seconds=args.seconds, channels=2, seed=3)
    pairs = [clip_to_sdr(clean[:, c], 3.0) for c in range(2)]
    clipped = np.stack([p[0] for p in pairs], 1)
    theta = [float(p[1]) for p in pairs]
    x = (np.round(np.asarray(clipped) * 32767) / 32768).astype(np.float32)
    paths = {}
    for name, n in (("long", len(x)), ("short", RATE)):
        paths[name] = os.path.join(tmp, f"{name}.wav")
        with AtomicWav(paths[name], RATE, 2, fmt="pcm16") as w:
            w.write(x[:n])
    rows, data = [], []
    for k, preset in enumerate(PRESETS):
        python_cpu(x[:RATE], preset)          # plans into the wisdom, warm caches
        ff, py = [], []
        for _ in range(args.repeat):
            ff.append((ffmpeg_cpu(paths["long"], k) - ffmpeg_cpu(paths["short"], k))
                      / (args.seconds - 1.0))
            py.append(python_cpu(x, preset) / args.seconds)
        f, p = min(ff), min(py)
        rows.append([preset, f"{1000 * f:.1f}", f"{1000 * p:.1f}", f"{f / p:.2f}",
                     f"{1 / f:.1f}x", f"{1 / p:.1f}x"])
        data.append(dict(preset=preset, ffmpeg_plugin_cpu_per_s=f, python_cpu_per_s=p,
                         ratio=f / p, ffmpeg_runs=ff, python_runs=py))
    md = ("CPU per second of stereo 48 kHz audio (synthetic music clipped to an input SDR of 3 dB): "
          "the LADSPA plug-in in ffmpeg against the Python Declipper, least of "
          f"{args.repeat} runs of {args.seconds:g} s.\n\n"
          + md_table(["preset", "ffmpeg + plug-in (ms CPU / s)", "Python Declipper (ms CPU / s)",
                      "ratio", "plug-in real-time factor", "Python real-time factor"], rows)
          + "\n\nThe plug-in plans its FFTs with FFTW_ESTIMATE (deterministic output), the Python "
          "Declipper with its default MEASURE (from wisdom)."
          + "\n\nCommand: `python benchmarks/plugins.py "
          f"--seconds {args.seconds:g} --repeat {args.repeat}`.")
    write_results("plugins", dict(machine=machine(), seconds=args.seconds, repeat=args.repeat,
                                  clip_levels=theta, results=data), md)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
