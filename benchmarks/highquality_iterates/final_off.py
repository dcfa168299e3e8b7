import os
import sys, json, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyse import D, SDRS, PEW, names
from evalz import dsdr
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import SQAM, survey_table
pub = survey_table("/work/shared/data/survey_dsdr.csv")
J = {n: i for i, n in enumerate(names)}
def f(c, j, a): return 0.5 * ((1 - a) * c['v'][0, 0] + a * c['v'][0, j]) + 0.5 * ((1 - a) * c['v'][1, 0] + a * c['v'][1, j])
per = {k: dsdr(c, f(c, J['t260'], 0.5)) for k, c in D.items()}
last = {k: dsdr(c, f(c, 0, 0.0)) for k, c in D.items()}
json.dump({f"{e}:{s}": v for (e, s), v in per.items()}, open(os.environ.get("DUMP_OUT", ".") + "/offline_tailhalf.json", "w"))
print("| input SDR (dB) | midpoint (offline) | last iterate | SS_PEW | midpoint − SS_PEW | cases up / down vs last |")
for s in SDRS:
    ks = [(e, s) for e in SQAM]
    m = np.mean([per[k] for k in ks]); l = np.mean([last[k] for k in ks]); p = np.mean([pub[('SS_PEW', e, s)] for e in SQAM])
    up = sum(per[k] > last[k] for k in ks)
    print(f"| {s} | {m:.2f} | {l:.2f} | {p:.2f} | {m-p:+.2f} | {up} / {10-up} |")
d = np.array([per[k] - last[k] for k in D])
print("per case diff vs last: min %.2f max %.2f, up %d/70" % (d.min(), d.max(), (d > 0).sum()))
# leave-one-excerpt-out: choose (tail, a) on 9 excerpts by max of min margin over SDRs, evaluate held-out
grid = [(n, a) for n in ("t150", "t260", "e60", "e150") for a in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)]
vals = {g: {k: dsdr(c, f(c, J[g[0]], g[1])) for k, c in D.items()} for g in grid}
held = {}
for ex in SQAM:
    def score(g):
        return min(np.mean([vals[g][(e, s)] - pub[('SS_PEW', e, s)] for e in SQAM if e != ex]) for s in SDRS)
    best = max(grid, key=score)
    for s in SDRS: held[(ex, s)] = vals[best][(ex, s)]
    print("held out", ex, "chosen", best)
print("LOO:", " ".join(f"{np.mean([held[(e, s)] for e in SQAM]) - np.mean([pub[('SS_PEW', e, s)] for e in SQAM]):+.2f}" for s in SDRS))
print("| excerpt | " + " | ".join(f"{s} dB" for s in SDRS) + " |")
for e in SQAM:
    print(f"| {e} | " + " | ".join(f"{per[(e, s)]:.2f} / {pub[('SS_PEW', e, s)]:.2f}" for s in SDRS) + " |")
