"""The block API: any block sizes in, the same samples out, delayed by a
constant, exactly reported latency.

    python examples/stream_blocks.py
"""
import numpy as np

import rtdeclip
from rtdeclip.examples import music

sr = 48000
clean = music(sr, seconds=2.0, channels=2)
clipped = clean.clip(-0.3, 0.3)

d = rtdeclip.Declipper(sr, channels=2, preset="fastest")   # threshold="auto": learnt online
print(d, f"latency {1000 * d.latency:.1f} ms")
out, rng, i = [], np.random.default_rng(0), 0
while i < len(clipped):
    n = int(rng.integers(64, 1024))                        # whatever the audio API hands over
    out.append(d.process(clipped[i:i + n]))
    i += n
out.append(d.flush())
restored = np.concatenate(out)[d.latency_samples:][:len(clean)]
print("thresholds found:", [tuple(round(t, 3) for t in th) for th in d.thresholds])
print("SDR clipped", rtdeclip.sdr(clean, clipped).round(2), "-> restored",
      rtdeclip.sdr(clean, restored).round(2), "dB;", d.stats)
