"""A Declipper stream run over a whole signal in the tests: blocks of 512
(or the sizes given), the output aligned to the input."""
import numpy as np


def run(d, y, blocks=None):
    """``y`` through ``d`` in blocks of 512 or ``blocks`` (sizes; the
    signal ends where they run out), flushed, the latency cut off."""
    sizes = blocks or [512] * (len(y) // 512 + 1)
    outs, i = [], 0
    for n in sizes:
        if i >= len(y):
            break
        outs.append(d.process(np.ascontiguousarray(y[i:i + n])))
        i += n
    return np.concatenate(outs + [d.flush()])[d.latency_samples:][:len(y)]
