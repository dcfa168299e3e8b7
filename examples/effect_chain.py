"""A pedalboard-style effect chain around the declipper: each stage has
``process(block, out)``, the chain runs them on preallocated buffers, so it
can sit in any audio callback.  The declipper goes first (it must see the
clipped samples as they are), then gain and a limiter give the restored
peaks room.

    python examples/effect_chain.py

With Spotify's ``pedalboard`` installed, a stage can wrap any of its
plugins: ``lambda b, out: out.__setitem__(..., plugin(b.T, sr).T)``.
"""
import numpy as np

import rtdeclip
from rtdeclip.examples import music
from rtdeclip.live.limiter import Limiter


class Gain:
    def __init__(self, db):
        self.g = np.float32(10 ** (db / 20))

    def process(self, block, out):
        np.multiply(block, self.g, out=out)


class Declip:
    def __init__(self, sr, channels, **kw):
        self.d = rtdeclip.Declipper(sr, channels=channels, **kw)
        self.latency_samples = self.d.latency_samples

    def process(self, block, out):
        self.d.process(block, out=out)


class Limit:
    def __init__(self, sr, channels, ceiling_db=-1.0, max_block=4096):
        self.lim = Limiter(sr, channels, ceiling_db, max_block=max_block)
        self.latency_samples = self.lim.latency_samples

    def process(self, block, out):
        out[:] = block
        self.lim.process(out)


class Chain:
    """``Chain([stage, ...])(block)``: stages in order, two scratch buffers."""

    def __init__(self, stages, channels, max_block=4096):
        self.stages = stages
        self.buf = [np.zeros((max_block, channels), np.float32) for _ in range(2)]
        self.latency_samples = sum(getattr(s, "latency_samples", 0) for s in stages)

    def __call__(self, block, out):
        n, src = len(block), block
        for k, stage in enumerate(self.stages):
            dst = out if k == len(self.stages) - 1 else self.buf[k % 2][:n]
            stage.process(src, dst)
            src = dst
        return out


sr, ch = 48000, 2
clean = music(sr, seconds=4.0, channels=ch).astype(np.float32)
clipped = np.clip(clean, -0.4, 0.4)
chain = Chain([Declip(sr, ch, preset="fastest"), Gain(-3.0), Limit(sr, ch, -1.0)], ch)
out = np.zeros((len(clipped) + chain.latency_samples, ch), np.float32)
padded = np.concatenate([clipped, np.zeros((chain.latency_samples, ch), np.float32)])
for i in range(0, len(padded), 512):                    # any block size works
    chain(padded[i:i + 512], out[i:i + 512])
restored = out[chain.latency_samples:] / np.float32(10 ** (-3.0 / 20))
print(f"chain latency {chain.latency_samples} samples; peak out {np.abs(out).max():.3f} "
      f"(ceiling {10 ** (-1 / 20):.3f})")
print(f"SDR clipped {np.mean(rtdeclip.sdr(clean, clipped)):.2f} dB -> chain output "
      f"{np.mean(rtdeclip.sdr(clean, restored)):.2f} dB")
