"""CPU per second of stereo 48 kHz audio, per real-time preset: the LADSPA
plug-in inside ffmpeg against the Python Declipper on the same signal.
average and fastest run in rtdeclip_stereo (preset control 0 / 1),
lowlatency in rtdeclip_stereo_lowlatency (its only preset), voice in
rtdeclip_stereo_voice (average at 16 kHz, against Declipper(...,
source_rate=16000)), lossy in rtdeclip_stereo_lossy (average with the
second pass and a hedge of 2, against Declipper(..., codec="mp3")) on the
same clipped music shared as a 128k MP3 (the ffmpeg command line): its
rails smeared, so the pass and the hedge solve in every clipped frame.

Both run the same C core, so the ratio should be near 1.  ffmpeg's cost
per second is the difference between a long and a 1-second run of the same
command (it removes ffmpeg's start-up and the plug-in's instantiate, which
plans FFTs), divided by the difference in length; the child CPU time
(user + system) comes from getrusage.  The Python Declipper's is the
process CPU time (all threads) of process() + flush() on the whole signal,
created beforehand.  Each case is run REPEAT times; the least CPU is kept
(the least disturbed by other load on a shared machine).

    python benchmarks/plugins.py [--seconds 20] [--repeat 3] [--presets average,fastest,lowlatency,voice,lossy]

Signal: rtdeclip.examples.music (synthetic, stereo), clipped to an input
SDR of 3 dB, 16-bit WAV.  Results in
benchmarks/results/plugins.{json,md}.

Second table, for live use (a low-latency microphone in PipeWire runs the
plug-in once per quantum): the thread CPU time of each run() call on
256-frame blocks (the quantum of examples/pipewire/rtdeclip-mic-lowlatency.conf),
driven through the LADSPA entry points from this process (ctypes, the
tests' host): median, 99.9th percentile and largest, against the 5.3 ms a
quantum lasts.  Only the run() call is timed (thread CPU time, so time
spent descheduled on the shared machine is not counted).
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import machine, md_table, write_results  # noqa: E402

import rtdeclip  # noqa: E402
from rtdeclip import plugins  # noqa: E402
from rtdeclip.core.metrics import clip_to_sdr  # noqa: E402
from rtdeclip.examples import music  # noqa: E402
from rtdeclip.files.audio_io import AtomicWav  # noqa: E402

RATE = 48000
# case -> (LADSPA label, ffmpeg controls, preset, source rate, codec): the
# standard variant's preset control 0 / 1, the low-latency variant with its
# defaults, the voice variant with its defaults (average at 16 kHz: on
# this full-band music it is only a CPU figure), the lossy variant with its
# defaults on the MP3 of the same signal (codec: the Declipper's)
CASES = {"average": ("rtdeclip_stereo", "c0=0", "average", None, None),
         "fastest": ("rtdeclip_stereo", "c0=1", "fastest", None, None),
         "lowlatency": ("rtdeclip_stereo_lowlatency", None, "lowlatency", None, None),
         "voice": ("rtdeclip_stereo_voice", None, "average", 16000, None),
         "lossy": ("rtdeclip_stereo_lossy", None, "average", None, "mp3")}


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ffmpeg_ladspa(src, label, out, clean, decoded, controls=""):
    """``src`` (the WAV of ``decoded``) through ``ffmpeg -af
    ladspa=...:latency=1`` with the LADSPA plug-in ``label`` (``controls``:
    "controls=c9=1:" or ""), to a float WAV ``out``, scored against
    ``clean``: {"delta_sdr": ΔSDR over the samples all three cover, mean of
    the channels; "ffmpeg_cpu_s": the run's CPU}.  For the plug-in
    benchmarks that score a variant (plugin_voice.py, plugin_lossy.py)."""
    import lossy   # benchmarks/lossy.py: its decoder and SDR
    c0 = children_cpu()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-af",
                    f"ladspa=file={plugins.ladspa_library()}:plugin={label}:{controls}latency=1",
                    "-c:a", "pcm_f32le", out], check=True)
    cpu = children_cpu() - c0
    y = lossy.decode(out)[0]
    m = min(len(clean), len(decoded), len(y))
    gain = lossy.sdr(clean[:m], y[:m]) - lossy.sdr(clean[:m], decoded[:m])
    return {"delta_sdr": float(np.mean(gain)), "ffmpeg_cpu_s": cpu}


def versus(rows, base, other):
    """Rows of ``ffmpeg_ladspa`` scores under keys ``base`` and ``other``:
    (mean ΔSDR of base, of other, other's CPU / base's, how many rows other
    gains more in)."""
    b = np.mean([r[base]["delta_sdr"] for r in rows])
    o = np.mean([r[other]["delta_sdr"] for r in rows])
    cpu = (sum(r[other]["ffmpeg_cpu_s"] for r in rows)
           / max(1e-9, sum(r[base]["ffmpeg_cpu_s"] for r in rows)))
    return b, o, cpu, sum(r[other]["delta_sdr"] > r[base]["delta_sdr"] for r in rows)


def ffmpeg_cpu(path, preset):
    label, controls = CASES[preset][:2]
    af = f"ladspa=file={plugins.ladspa_library()}:plugin={label}"
    if controls:
        af += f":controls={controls}"
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-af", af,
           "-f", "null", "-"]
    t0 = children_cpu()
    subprocess.run(cmd, check=True)
    return children_cpu() - t0


def declipper(case):
    _, _, preset, source_rate, codec = CASES[case]
    # hedge 0: the plug-ins' hedge control is 0 by default (the Declipper's
    # fastest hedges 2); the lossy variant's is 2, the Declipper's own
    return rtdeclip.Declipper(RATE, 2, preset=preset, threshold="auto", source_rate=source_rate,
                              codec=codec, **({} if codec else {"hedge": 0}))


def python_cpu(x, preset):
    d = declipper(preset)
    t0 = time.process_time()
    d.process(x)
    d.flush()
    return time.process_time() - t0


def quantum_cpu(x, preset, quantum):
    """Thread CPU seconds of each run() of `quantum` frames over x."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    import ctypes
    from plugin_hosts import LadspaInstance
    label, _, name, _, _ = CASES[preset]
    low, voice, lossy = (label.endswith(f) for f in ("_lowlatency", "_voice", "_lossy"))
    inst = LadspaInstance(RATE, 2, lowlatency=low, voice=voice, lossy=lossy)
    if not low:
        inst.set(preset=["average", "fastest"].index(name))
    planar_in = [np.ascontiguousarray(x[:, c]) for c in range(2)]
    planar_out = [np.empty(len(x), np.float32) for _ in range(2)]
    fp, size = ctypes.POINTER(ctypes.c_float), 4
    times = []
    for start in range(0, len(x) - quantum + 1, quantum):
        for c in range(2):
            inst.d.connect_port(inst.h, c, ctypes.cast(planar_in[c].ctypes.data + size * start, fp))
            inst.d.connect_port(inst.h, 2 + c,
                                ctypes.cast(planar_out[c].ctypes.data + size * start, fp))
        t0 = time.thread_time_ns()
        inst.d.run(inst.h, quantum)
        times.append(time.thread_time_ns() - t0)
    inst.close()
    return np.array(times) * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quantum", type=int, default=256, help="frames per run() in the second table")
    ap.add_argument("--presets", default=",".join(CASES),
                    help="comma-separated subset of " + ", ".join(CASES))
    args = ap.parse_args()
    presets = [p for p in args.presets.split(",") if p]
    unknown = [p for p in presets if p not in CASES]
    if unknown:
        raise SystemExit(f"unknown preset {unknown[0]!r}: choose from {', '.join(CASES)}")
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
    inputs = {None: x}
    if any(CASES[p][4] for p in presets):   # the same clip as a user's MP3 of it
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
        from plugin_hosts import mp3_round_trip
        inputs["mp3"] = mp3_round_trip(x, RATE, os.path.join(tmp, "song"))
    paths = {}
    for codec, signal in inputs.items():
        for name, n in (("long", len(signal)), ("short", RATE)):
            paths[codec, name] = os.path.join(tmp, f"{name}_{codec}.wav")
            with AtomicWav(paths[codec, name], RATE, 2, fmt="pcm16") as w:
                w.write(signal[:n])
    rows, data = [], []
    for preset in presets:
        codec = CASES[preset][4]
        xs = inputs[codec]
        python_cpu(xs[:RATE], preset)          # plans into the wisdom, warm caches
        latency = declipper(preset).latency_samples
        ff, py = [], []
        for _ in range(args.repeat):
            ff.append((ffmpeg_cpu(paths[codec, "long"], preset)
                       - ffmpeg_cpu(paths[codec, "short"], preset)) / (args.seconds - 1.0))
            py.append(python_cpu(xs, preset) / args.seconds)
        f, p = min(ff), min(py)
        rows.append([preset, CASES[preset][0], f"{1000 * latency / RATE:.1f}", f"{1000 * f:.1f}",
                     f"{1000 * p:.1f}", f"{f / p:.2f}", f"{1 / f:.1f}x", f"{1 / p:.1f}x"])
        data.append(dict(preset=preset, label=CASES[preset][0], core_latency_samples=latency,
                         ffmpeg_plugin_cpu_per_s=f, python_cpu_per_s=p,
                         ratio=f / p, ffmpeg_runs=ff, python_runs=py))
    qrows, qdata = [], []
    budget = args.quantum / RATE
    for preset in presets:
        xs = inputs[CASES[preset][4]]
        quantum_cpu(xs[:RATE], preset, args.quantum)         # warm caches and wisdom
        t = quantum_cpu(xs, preset, args.quantum)
        med, p999, worst = np.median(t), np.percentile(t, 99.9), np.max(t)
        qrows.append([preset, CASES[preset][0], f"{1000 * np.mean(t):.3f}", f"{1000 * med:.3f}",
                      f"{1000 * p999:.3f}",
                      f"{1000 * worst:.3f}", f"{100 * worst / budget:.0f} %"])
        qdata.append(dict(preset=preset, label=CASES[preset][0], quantum=args.quantum,
                          runs=len(t), median_s=med, p999_s=p999, max_s=worst,
                          mean_s=float(np.mean(t))))
    md = ("CPU per second of stereo 48 kHz audio (synthetic music clipped to an input SDR of 3 dB; "
          "lossy: its 128k MP3): "
          "the LADSPA plug-in in ffmpeg against the Python Declipper, least of "
          f"{args.repeat} runs of {args.seconds:g} s.\n\n"
          + md_table(["preset", "LADSPA label", "core latency (ms)", "ffmpeg + plug-in (ms CPU / s)",
                      "Python Declipper (ms CPU / s)", "ratio", "plug-in real-time factor",
                      "Python real-time factor"], rows)
          + "\n\nBoth plan their FFTs with FFTW_ESTIMATE (the plug-in always, for deterministic "
          "output; the Python Declipper by default).  The plug-ins' latency is the core's plus "
          "the limiter's 1.5 ms look-ahead."
          + f"\n\nCPU of one run() of {args.quantum} frames (stereo, {1000 * budget:.2f} ms of "
          f"audio, a PipeWire quantum), thread CPU time over {args.seconds:g} s "
          f"({len(x) // args.quantum} runs), one run of each:\n\n"
          + md_table(["preset", "LADSPA label", "mean (ms)", "median (ms)", "99.9th percentile (ms)",
                      "largest (ms)", "largest / quantum"], qrows)
          + "\n\nA run that completes no hop (average and fastest: every other one, hop 512), or "
          "whose frames hold no clipped sample (quiet passages of this signal), costs next to "
          "nothing, hence the medians; the largest run is what a quantum must hold."
          + "\n\nCommand: `python benchmarks/plugins.py "
          f"--seconds {args.seconds:g} --repeat {args.repeat}"
          + ("" if args.quantum == 256 else f" --quantum {args.quantum}")
          + ("" if presets == list(CASES) else f" --presets {','.join(presets)}") + "`.")
    write_results("plugins", dict(machine=machine(), seconds=args.seconds, repeat=args.repeat,
                                  clip_levels=theta, results=data, per_quantum=qdata), md)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
