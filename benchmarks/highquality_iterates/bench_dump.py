"""scratch: run highquality on SQAM cases, dump per-pass variant outputs at clipped samples"""
import json, os, sys, time
from multiprocessing import Pool
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import SQAM, read_sqam
import rtdeclip
from rtdeclip._core import ffi, lib

NV = 8
def run(job):
    folder, e, s, out, social, seconds = job
    fn = os.path.join(out, f"{e}_{s}.npz")
    if os.path.exists(fn):
        return None
    x, sr = read_sqam(folder, e)
    if seconds:
        x = x[:int(seconds * sr)]
    y, theta = rtdeclip.clip_to_sdr(x, s)
    lib.rtd_testing_social_dump_reset()
    t0 = time.process_time()
    xr = rtdeclip.declip(y, sr, threshold=theta, jobs=1, preset="highquality", social=social)
    dt = time.process_time() - t0
    n = lib.rtd_testing_social_dump(ffi.NULL, 0)
    buf = np.empty(n)
    lib.rtd_testing_social_dump(ffi.cast("double *", buf.ctypes.data), n)
    B = n // (2 * NV)
    # layout [block][pass][variant][B]
    nb = n // (2 * NV * 393216)
    d = buf.reshape(nb, 2, NV, 393216).transpose(1, 2, 0, 3).reshape(2, NV, -1)[:, :, :len(x)]
    m = np.where(y >= theta, 1, np.where(y <= -theta, -1, 0))
    idx = np.nonzero(m)[0]
    np.savez(fn, idx=idx, x=x[idx], y=y[idx], m=m[idx], v=d[:, :, idx], ex2=np.sum(x**2),
             err0=np.sum((x - y)**2), n=len(x), dsdr=rtdeclip.sdr(x, xr) - rtdeclip.sdr(x, y), cpu=dt)
    return e, s, rtdeclip.sdr(x, xr) - rtdeclip.sdr(x, y), dt

if __name__ == "__main__":
    folder, out = sys.argv[1], sys.argv[2]
    social = json.loads(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    sdrs = [int(v) for v in (sys.argv[5] if len(sys.argv) > 5 else "1,3,5,7,10,15,20").split(",")]
    os.makedirs(out, exist_ok=True)
    jobs = [(folder, e, s, out, social, seconds) for e in SQAM for s in sdrs]
    rtdeclip.Declipper(44100, preset="highquality")
    with Pool(2) as p:
        for r in p.imap_unordered(run, jobs):
            if r: print(*r, flush=True)
