import os
import sys, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evalz import load, dsdr
D = load(sys.argv[1])
SDRS = [1, 3, 5, 7, 10, 15, 20]
PEW = {1: 12.17, 3: 15.03, 5: 16.60, 7: 17.66, 10: 19.00, 15: 21.11, 20: 21.99}
names = ['last', 't37', 't75', 't150', 't260', 'e20', 'e60', 'e150']
def table(label, fn):
    r = {s: [] for s in SDRS}
    for (e, s), c in D.items():
        r[s].append(dsdr(c, fn(c)))
    means = {s: np.mean(v) for s, v in r.items() if v}
    ok = all(means[s] >= PEW[s] - 1e-9 for s in means)
    print(f"{label:28s} " + " ".join(f"{means.get(s, float('nan')):6.2f}" for s in SDRS)
          + "  | " + " ".join(f"{means[s]-PEW[s]:+.2f}" for s in SDRS if s in means) + ("  ALL" if ok else ""), flush=True)
    return means
if __name__ == "__main__":
    print(f"{'':28s} " + " ".join(f"{s:6d}" for s in SDRS), len(D), "cases")
    table("SS_PEW", lambda c: None) if False else None
    for j, n in enumerate(names):
        table(f"mean2 {n}", lambda c, j=j: 0.5 * (c['v'][0, j] + c['v'][1, j]))
    for w in (0.3, 0.4, 0.6, 0.7):
        table(f"w1={w} last", lambda c, w=w: (1 - w) * c['v'][0, 0] + w * c['v'][1, 0])
    table("p0 only last", lambda c: c['v'][0, 0])
    table("p1 only last", lambda c: c['v'][1, 0])

def density(c, W):
    """fraction of clipped samples in a centered window of W samples, at each clipped sample"""
    n = int(c['n']); m = np.zeros(n + 1); m[c['idx'] + 1] = 1; cs = np.cumsum(m)
    i = c['idx']; lo = np.clip(i - W // 2, 0, n); hi = np.clip(i + W // 2, 0, n)
    return (cs[hi] - cs[lo]) / W

def blend(c, j, W, d0, d1, dens_cache={}):
    key = (id(c), W)
    if key not in dens_cache:
        dens_cache[key] = density(c, W)
    d = dens_cache[key]
    a = np.clip((d - d0) / (d1 - d0), 0, 1) if d1 > d0 else (d >= d0).astype(float)
    last = 0.5 * (c['v'][0, 0] + c['v'][1, 0]); t = 0.5 * (c['v'][0, j] + c['v'][1, j])
    return last + a * (t - last)
