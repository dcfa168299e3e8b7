"""Reference SPADE in numpy, written for clarity: the test oracle.

A line-by-line port of the survey toolbox (declipping2020_codes:
spade_segmentation.m, aspade.m, sspade_new.m, hard_thresholding.m,
proj_time.m), with the original S-SPADE (Zaviska et al. 2019, Alg. 2)
beside them.  Full complex spectra, a full sort for hard thresholding: slow
on purpose, so that the C core is checked against something independent.
"""
import numpy as np

try:  # pyfftw's numpy interface, with plans cached between calls
    import pyfftw.interfaces.numpy_fft as _fft
    import pyfftw.interfaces.cache
    pyfftw.interfaces.cache.enable()
except ImportError:  # pragma: no cover
    _fft = np.fft


def frana(x, redundancy):
    """Analysis: unitary DFT of x zero-padded to redundancy*len(x)."""
    return _fft.fft(np.concatenate([x, np.zeros(len(x) * (redundancy - 1))]), norm="ortho")


def frsyn(z, redundancy):
    """Synthesis: inverse unitary DFT truncated to the frame, kept real."""
    return np.real(_fft.ifft(z, norm="ortho"))[: len(z) // redundancy]


def hard_thresholding(a, k):
    """Keep the k largest of the half spectrum (DC compared at half its
    magnitude), mirror their conjugates."""
    n = len(a)
    half = a[: n // 2 + 1].copy()
    half[0] = half[0] / 2
    if k < len(half):
        order = np.argsort(-np.abs(half), kind="stable")
        s = np.zeros_like(half)
        s[order[:k]] = half[order[:k]]
    else:
        s = half
    s[0] = s[0] * 2
    tail = np.conj(s[1:][::-1]) if n % 2 else np.conj(s[1:-1][::-1])
    return np.concatenate([s, tail])


def proj_time(x, mask, y):
    """Projection onto the signals consistent with the clipped frame y."""
    p = x.copy()
    p[mask == 0] = y[mask == 0]
    hi, lo = mask > 0, mask < 0
    p[hi] = np.maximum(x[hi], y[hi])
    p[lo] = np.minimum(x[lo], y[lo])
    return p


def _schedule(cnt, k, s, r):
    return k + s if cnt % r == 0 else k


def aspade(y, mask, redundancy=2, s=1, r=2, epsilon=0.1, maxit=None, return_last=False):
    """A-SPADE on one windowed frame; returns (x, iterations)."""
    maxit = _maxit(len(y), redundancy, s, r) if maxit is None else maxit
    x_hat = y.copy()
    z_est = frana(x_hat, redundancy)
    u = np.zeros_like(z_est)
    k, cnt, best_obj, rec, it = s, 1, np.inf, x_hat, 0
    while cnt <= maxit:
        it += 1
        z_bar = hard_thresholding(z_est + u, k)
        obj = np.linalg.norm(z_est - z_bar)
        if obj <= best_obj:
            rec, best_obj = x_hat, obj
        if obj <= epsilon:
            break
        x_hat = proj_time(frsyn(z_bar - u, redundancy), mask, y)
        z_est = frana(x_hat, redundancy)
        u = u + z_est - z_bar
        cnt += 1
        k = _schedule(cnt, k, s, r)
    return (x_hat if return_last else rec), it


def sspade(y, mask, redundancy=2, s=1, r=2, epsilon=0.1, maxit=None, return_last=False):
    """S-SPADE done properly (ICASSP 2019, Alg. 3); returns (x, iterations)."""
    maxit = _maxit(len(y), redundancy, s, r) if maxit is None else maxit
    x_hat = y.copy()
    u = np.zeros_like(y)
    k, cnt, best_obj, rec, it = s, 1, np.inf, x_hat, 0
    while cnt <= maxit:
        it += 1
        z_bar = hard_thresholding(frana(x_hat - u, redundancy), k)
        dz = frsyn(z_bar, redundancy)
        obj = np.linalg.norm(dz - x_hat)
        if obj <= best_obj:
            rec, best_obj = x_hat, obj
        if obj <= epsilon:
            break
        x_hat = proj_time(dz + u, mask, y)
        u = u + dz - x_hat
        cnt += 1
        k = _schedule(cnt, k, s, r)
    return (x_hat if return_last else rec), it


def sspade_original(y, mask, redundancy=2, s=1, r=2, epsilon=0.1, maxit=None,
                    return_last=False):
    """Original S-SPADE (ICASSP 2019, Alg. 2): ADMM in the coefficients, the
    constraint projection z + D*(P(Dz) - Dz) of a Parseval frame."""
    maxit = _maxit(len(y), redundancy, s, r) if maxit is None else maxit
    z_hat = frana(y, redundancy)
    u = np.zeros_like(z_hat)
    k, cnt, best_obj, rec, last, it = s, 1, np.inf, y.copy(), y.copy(), 0
    while cnt <= maxit:
        it += 1
        z_bar = hard_thresholding(z_hat + u, k)
        v = z_bar - u
        dv = frsyn(v, redundancy)
        last = proj_time(dv, mask, y)
        z_hat = v + frana(last - dv, redundancy)
        obj = np.linalg.norm(z_hat - z_bar)
        if obj <= best_obj:
            rec, best_obj = last, obj
        if obj <= epsilon:
            break
        u = u + z_hat - z_bar
        cnt += 1
        k = _schedule(cnt, k, s, r)
    return (last if return_last else rec), it


SOLVERS = {"aspade": aspade, "sspade": sspade, "sspade-original": sspade_original}


def _maxit(w, redundancy, s, r):
    return int(np.ceil((w * redundancy // 2 + 1) * r / s))


def declip(y, mask, window=8192, hop=2048, redundancy=2, algorithm="aspade", s=1, r=2,
           epsilon=0.1, maxit=None, return_last=False):
    """spade_segmentation.m: Hann frames centred every hop (circularly over
    a zero-padded signal), canonical dual, overlap-add.  y is 1-D, mask is
    +1/-1/0 per sample.  Returns the restored signal (same length)."""
    y = np.asarray(y, dtype=np.float64)
    ls, w, a = len(y), window, hop
    L = int(np.ceil(ls / a) * a + (np.ceil(w / a) - 1) * a)
    yp = np.concatenate([y, np.zeros(L - ls)])
    mp = np.concatenate([np.asarray(mask, dtype=np.int8), np.zeros(L - ls, dtype=np.int8)])
    g = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(w) / w)  # natural order, peak at w/2
    dual_den = np.zeros(a)
    for j in range(w):
        dual_den[j % a] += g[j] ** 2
    gsyn = g / dual_den[np.arange(w) % a]
    solver = SOLVERS[algorithm]
    out = np.zeros(L)
    for n in range(L // a):
        idx = (n * a + np.arange(-w // 2, w // 2)) % L
        block, m = yp[idx] * g, mp[idx]
        rec, _ = solver(block, m, redundancy, s, r, epsilon, maxit, return_last)
        out[idx] += rec * gsyn
    return out[:ls]
