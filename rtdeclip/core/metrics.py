"""Signal-to-distortion ratio, as the declipping survey defines it."""
import numpy as np

from rtdeclip.errors import ParameterError


def _real(a, name):
    """a as a float64 array, or a ValueError naming it."""
    try:
        a = np.asarray(a)
        if a.dtype.kind not in "biuf":
            raise TypeError
        return a.astype(np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be an array of real numbers") from None


def sdr(reference, estimate):
    """SDR(u, v) = 20*log10(||u|| / ||u - v||) in dB.

    1-D input gives a float; 2-D input (frames, channels) gives one value per
    channel.  An exact estimate gives +inf.

    >>> import numpy as np
    >>> round(float(sdr(np.array([1.0, 0.0]), np.array([0.9, 0.0]))), 3)
    20.0
    """
    u, v = _real(reference, "reference"), _real(estimate, "estimate")
    if u.shape != v.shape:
        raise ParameterError(f"reference and estimate differ in shape: {u.shape} vs {v.shape}")
    if u.ndim not in (1, 2) or u.shape[0] == 0:
        raise ParameterError(f"reference must be a non-empty (frames,) or (frames, channels) array, "
                         f"got shape {u.shape}")
    num = np.linalg.norm(u, axis=0)
    den = np.linalg.norm(u - v, axis=0)
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(num / den)
    return float(out) if u.ndim == 1 else out


def clip_to_sdr(x, target_sdr_db):
    """Symmetric hard clipping at the threshold giving the wanted SDR.

    The survey's procedure: a root search for theta on (eps, 0.99*max|x|)
    such that SDR(x, clip(x, theta)) equals the target.  Returns
    (clipped, theta)."""
    x = _real(x, "x")
    if x.size == 0 or not np.all(np.isfinite(x)) or not np.any(x):
        raise ParameterError("x must be a non-empty, finite, not silent signal")
    if isinstance(target_sdr_db, bool) or not isinstance(target_sdr_db, (int, float, np.number)) \
            or not np.isfinite(target_sdr_db):
        raise ParameterError(f"target_sdr_db must be a finite number, got {target_sdr_db!r}")
    lo, hi = np.finfo(float).eps, 0.99 * np.max(np.abs(x))

    def gap(theta):
        return sdr(x, np.clip(x, -theta, theta)) - target_sdr_db

    # SDR grows with theta: bisect until the interval cannot shrink
    if gap(lo) > 0 or gap(hi) < 0:
        raise ParameterError(f"no clipping threshold gives an SDR of {target_sdr_db} dB "
                         f"(target_sdr_db out of reach for this x)")
    while True:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if gap(mid) < 0:
            lo = mid
        else:
            hi = mid
    theta = lo if abs(gap(lo)) <= abs(gap(hi)) else hi
    return np.clip(x, -theta, theta), theta
