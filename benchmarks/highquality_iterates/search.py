import os
import sys, itertools, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyse import D, SDRS, PEW, names, density
from evalz import dsdr
cases = sorted(D)
Ws = [int(w) for w in sys.argv[2].split(",")] if len(sys.argv) > 2 else [4096, 16384, 65536]
dens = {(k, W): density(D[k], W) for k in cases for W in Ws}
def evaluate(j, W, lo, hi, w2=0.5, jl=0):
    r = {s: [] for s in SDRS}
    for k in cases:
        c = D[k]; v = c['v']
        last = (1 - w2) * v[0, jl] + w2 * v[1, jl]
        t = (1 - w2) * v[0, j] + w2 * v[1, j]
        if W is None:
            a = lo
        else:
            a = np.clip((dens[(k, W)] - lo) / (hi - lo), 0, 1)
        r[k[1]].append(dsdr(c, last + a * (t - last)))
    return r
def summary(r):
    m = np.array([np.mean(r[s]) for s in SDRS]); d = m - np.array([PEW[s] for s in SDRS])
    return m, d
results = []
for j in range(1, len(names)):
    for a in (0.25, 0.5, 0.75, 1.0):
        r = evaluate(j, None, a, None); m, d = summary(r)
        results.append((f"{names[j]} const a={a}", m, d, r))
    for W in Ws:
        for lo in (0.0, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3):
            for dh in (0.01, 0.03, 0.1, 0.2):
                r = evaluate(j, W, lo, lo + dh); m, d = summary(r)
                results.append((f"{names[j]} W={W} lo={lo} hi={lo+dh:.2f}", m, d, r))
import pickle
pickle.dump(results, open(os.environ.get("DUMP_OUT", ".") + "/search.pkl", "wb"))
results.sort(key=lambda t: -min(t[2][:5]))
for lab, m, d, r in results[:25]:
    print(f"{lab:36s} " + " ".join(f"{x:6.2f}" for x in m) + " | " + " ".join(f"{x:+.2f}" for x in d), f"min {min(d):+.3f}")
