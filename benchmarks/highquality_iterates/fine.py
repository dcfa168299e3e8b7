import os
import sys, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyse import D, SDRS, PEW, names
from evalz import dsdr
cases = sorted(D)
def ev(fn):
    r = {s: [] for s in SDRS}; per = {}
    for k in cases:
        c = D[k]; val = dsdr(c, fn(c)); r[k[1]].append(val); per[k] = val
    m = np.array([np.mean(r[s]) for s in SDRS]); d = m - np.array([PEW[s] for s in SDRS])
    return m, d, per
base = ev(lambda c: 0.5 * (c['v'][0, 0] + c['v'][1, 0]))
def show(lab, fn):
    m, d, per = ev(fn)
    up = sum(per[k] > base[2][k] + 1e-9 for k in cases)
    print(f"{lab:34s} " + " ".join(f"{x:6.2f}" for x in m) + " | " + " ".join(f"{x:+.2f}" for x in d),
          f"min {min(d):+.3f} up {up}/70", flush=True)
    return m, d, per
J = {n: i for i, n in enumerate(names)}
for n in ("t150", "t260", "e60", "e150"):
    j = J[n]
    for a in (0.3, 0.4, 0.5, 0.6):
        for w2 in (0.45, 0.5):
            show(f"{n} a={a} w2={w2}", lambda c, j=j, a=a, w2=w2:
                 (1 - w2) * ((1 - a) * c['v'][0, 0] + a * c['v'][0, j]) + w2 * ((1 - a) * c['v'][1, 0] + a * c['v'][1, j]))
