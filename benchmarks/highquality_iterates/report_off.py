import os
import sys, json, pickle, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyse import D, SDRS, PEW, names
from evalz import dsdr
J = {n: i for i, n in enumerate(names)}
def row(lab, fn):
    r = {s: [] for s in SDRS}
    for k, c in D.items(): r[k[1]].append(dsdr(c, fn(c)))
    m = [np.mean(r[s]) for s in SDRS]
    return f"| {lab} | " + " | ".join(f"{x:.2f}" for x in m) + " | " + " ".join(f"{x - PEW[s]:+.2f}" for x, s in zip(m, SDRS)) + " |"
def mix(j, a, w2=0.5):
    return lambda c: (1 - w2) * ((1 - a) * c['v'][0, 0] + a * c['v'][0, j]) + w2 * ((1 - a) * c['v'][1, 0] + a * c['v'][1, j])
lab = {'last': 'last iterate (the preset before)', 't37': 'mean of the last 37 iterations (1 level)', 't75': 'last 75 (2 levels)',
       't150': 'last 150 (4 levels)', 't260': 'last 260 (f = 0.347, `social_tail`)', 'e20': 'exponential, 1/20 per iteration',
       'e60': 'exponential, 1/60', 'e150': 'exponential, 1/150'}
out = ["| variant (both solves, mean of the two) | 1 | 3 | 5 | 7 | 10 | 15 | 20 | − SS_PEW at 1 / 3 / 5 / 7 / 10 / 15 / 20 |", "|---|---|---|---|---|---|---|---|---|"]
for n in names: out.append(row(lab[n], mix(J[n], 1.0)))
for w2 in (0.3, 0.4, 0.45, 0.55, 0.6, 0.7): out.append(row(f"last iterate, second solve's weight {w2}", mix(0, 0.0, w2)))
for n in ('t150', 't260', 'e60', 'e150'):
    for a in (0.25, 0.3, 0.4, 0.5, 0.6, 0.75):
        out.append(row(f"(1 − a) last + a {n}, a = {a}", mix(J[n], a)))
for n, a, w2 in (('t260', 0.5, 0.45), ('t260', 0.4, 0.5), ('e150', 0.4, 0.5)):
    out.append(row(f"(1 − a) last + a {n}, a = {a}, second solve's weight {w2}", mix(J[n], a, w2)))
print("\n".join(out))
