"""Declip inside your own sounddevice callback: ``Declipper.process(indata,
out=outdata)`` takes whatever block size the audio API hands over and
allocates nothing per call.

    python examples/live_sounddevice.py                  # input -> declipped -> output, 10 s
    python examples/live_sounddevice.py --example        # a built-in clipped piece instead
                                                         # of the input; prints the SDR gained
    python examples/live_sounddevice.py --device 3 --seconds 60

On a machine without a sound card start a JACK dummy server first
(``jackd -d dummy -r 48000 -p 256 &``): PortAudio sees JACK only if it runs
before sounddevice is imported.
"""
import argparse

import numpy as np
import sounddevice as sd

import rtdeclip
from rtdeclip.examples import music

ap = argparse.ArgumentParser()
ap.add_argument("--device", default=None, help="index or name substring (default: default)")
ap.add_argument("--seconds", type=float, default=10.0)
ap.add_argument("--example", action="store_true", help="declip a built-in clipped piece")
args = ap.parse_args()
device = int(args.device) if args.device and args.device.isdigit() else args.device

sr, ch = 48000, 2
declipper = rtdeclip.Declipper(sr, channels=ch, preset="fastest")   # clip level learnt online
gain = 10 ** (-6 / 20)                    # room for the restored peaks
# everything the callback touches is allocated here, before streaming
clean = music(sr, seconds=args.seconds, channels=ch).astype(np.float32)
clipped = np.clip(clean, -0.3, 0.3)
played = np.zeros_like(clean)
scratch = np.zeros((16384, ch), np.float32)   # the example's "input" blocks
pos = [0]
flags = []


def callback(indata, outdata, frames, time, status):
    if status:
        flags.append(str(status))         # xruns: rare, so a list append is fine
    i = pos[0]
    n = min(frames, len(played) - i)
    if args.example:                      # pretend the piece is what came in
        indata = scratch[:frames]
        indata[:n] = clipped[i:i + n]
        indata[n:] = 0
    declipper.process(indata, out=outdata)
    outdata *= gain
    played[i:i + n] = outdata[:n]
    pos[0] = i + frames


with sd.Stream(device=device, samplerate=sr, channels=ch, dtype="float32", callback=callback):
    sd.sleep(int(args.seconds * 1000) + 200)

lag = declipper.latency_samples
print(f"latency of the declipper: {lag} samples ({1000 * declipper.latency:.1f} ms); "
      f"status flags: {len(flags)}; {declipper.stats}")
if args.example:
    # only what the stream played: a slow or stalled device may have run
    # fewer callbacks than the seconds asked for, and the rest is silence
    restored = played[lag:min(pos[0], len(played))] / gain
    n = len(restored)
    print(f"SDR clipped {np.mean(rtdeclip.sdr(clean[:n], clipped[:n])):.2f} dB -> declipped "
          f"{np.mean(rtdeclip.sdr(clean[:n], restored)):.2f} dB")
