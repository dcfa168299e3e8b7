"""Seed inputs for fuzz_process.c: a 40-byte header (see the target) and
clipped multi-sine samples, for a spread of configurations."""
import os
import struct
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
for i in range(24):
    h = bytearray(rng.integers(0, 256, 40, dtype=np.uint8).tobytes())
    h[9] &= ~0x10 & 0xFF            # keep the iteration budget on
    h[26] = 1 + i % 3               # "nice" thresholds
    h[27] = h[28] = 12              # level 0.6
    channels = 1 + h[0] % 3
    is_float = (h[9] >> 3) & 1
    n = int(rng.integers(200, 3000))
    t = np.arange(n)[:, None] / 8000.0
    x = sum(rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * rng.uniform(60, 2000) * t + rng.uniform(0, 6))
            for _ in range(3))
    x = np.clip(np.repeat(x, channels, axis=1), -0.6, 0.6)
    body = x.astype(np.float32 if is_float else np.float64).tobytes()
    with open(os.path.join(out, f"seed{i:02d}"), "wb") as f:
        f.write(bytes(h) + body)
