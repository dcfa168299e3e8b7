import numpy as np, glob, os, sys
def load(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.npz"))):
        z = np.load(f)
        e, s = os.path.basename(f)[:-4].rsplit("_", 1)
        out[(e, int(s))] = {k: z[k] for k in z.files}
    return out
def dsdr(c, est):
    """est: values at clipped samples (before consistency)"""
    m, y, x = c["m"], c["y"], c["x"]
    v = np.where(m > 0, np.maximum(est, y), np.minimum(est, y))
    err = np.sum((x - v) ** 2)
    return 10 * np.log10(c["err0"] / err)
