"""The stateful block processor: ``Declipper``.

A thin wrapper of the C core's ``rtd_state``: numpy blocks in and out
without copies, the GIL released while C works.

>>> import numpy as np, rtdeclip
>>> d = rtdeclip.Declipper(48000, channels=2, preset="fastest", threshold=0.5)
>>> block = np.clip(np.random.randn(256, 2), -0.5, 0.5)
>>> out = d.process(block)        # same shape, delayed by d.latency_samples
>>> out.shape
(256, 2)
"""
import math
import os

import numpy as np

from rtdeclip.core import params
from rtdeclip._core import ffi, lib
from rtdeclip.core.windows import lowdelay

_WISDOM = os.environ.get("RTDECLIP_WISDOM",
                         os.path.join(os.path.expanduser("~"), ".cache", "rtdeclip", "fftw-wisdom"))
_wisdom_loaded = False


def _load_wisdom():
    global _wisdom_loaded
    if not _wisdom_loaded:
        _wisdom_loaded = True
        if os.path.exists(_WISDOM):
            lib.rtd_wisdom_load(_WISDOM.encode())


def _save_wisdom():
    try:
        os.makedirs(os.path.dirname(_WISDOM), exist_ok=True)
        tmp = f"{_WISDOM}.{os.getpid()}.tmp"
        if lib.rtd_wisdom_save(tmp.encode()):
            os.replace(tmp, _WISDOM)
    except OSError:
        pass  # a cache only


def parse_threshold(threshold, channels):
    """'auto', theta, a (pos, neg) tuple, or a list with one of those per
    channel -> None (auto) or a list of (pos, neg) per channel."""
    if isinstance(threshold, str):
        if threshold.lower() == "auto":
            return None
        raise ValueError(f"threshold must be 'auto', a number or a (pos, neg) pair, got {threshold!r}")

    def one(t):
        if isinstance(t, (int, float, np.floating, np.integer)) and not isinstance(t, bool):
            t = float(t)
            if math.isnan(t) or t <= 0:
                raise ValueError(f"threshold must be > 0, got {t}")
            return (t, -t)
        if isinstance(t, (tuple, list, np.ndarray)) and len(t) == 2:
            pos, neg = float(t[0]), float(t[1])
            if math.isnan(pos) or math.isnan(neg) or pos <= 0 or neg == 0:
                raise ValueError(f"threshold pair must be (pos > 0, neg != 0), got {tuple(t)}")
            return (pos, -abs(neg))  # the negative level may be given as a magnitude
        raise ValueError(f"threshold must be 'auto', a number or a (pos, neg) pair, got {t!r}")

    if isinstance(threshold, list):  # a list: one entry per channel
        if len(threshold) != channels:
            raise ValueError(f"threshold list must have one entry per channel ({channels}), "
                             f"got {len(threshold)}")
        return [one(t) for t in threshold]
    return [one(threshold)] * channels


def parse_smear(smear, channels):
    """None (exact model), one (band, relax) pair, or a list of them per
    channel -> None or a list of (bool, float)."""
    if smear is None:
        return None

    def one(t):
        if not isinstance(t, (tuple, list)) or len(t) != 2:
            raise ValueError(f"smear must be a (band, relax) pair, got {t!r}")
        band, relax = bool(t[0]), float(t[1])
        if not math.isfinite(relax) or relax < 0:
            raise ValueError(f"smear relax must be a finite number >= 0, got {t[1]!r}")
        return band, relax

    if isinstance(smear, list) and smear and isinstance(smear[0], (tuple, list)):
        if len(smear) != channels:
            raise ValueError(f"smear list must have one entry per channel ({channels}), "
                             f"got {len(smear)}")
        return [one(t) for t in smear]
    return [one(smear)] * channels


class Declipper:
    """Streaming declipper: call it on consecutive blocks of one stream.

    Parameters mirror :func:`rtdeclip.declip`; ``preset`` chooses window,
    redundancy, schedule, iteration budget and budget pool, any explicit
    argument overrides it; the real-time presets' budget and schedule are
    scaled to the rate (same CPU per second of audio, k over the same
    fraction of the spectrum: :mod:`rtdeclip.core.params`).  ``budget_pool`` n >= 2 lets a frame run up to n times
    the budget on the iterations that skipped and early-converged frames of
    its channel left unused (0 or 1: off); the total never exceeds budget x
    frames.  ``threshold="auto"`` estimates the clip levels online
    (per channel and polarity; see :attr:`thresholds`), codec-smeared rails
    (MP3/AAC/Vorbis/Opus) included (see :attr:`detection`).  ``smear``
    (fixed thresholds only): None, or (band, relax) per channel or for all:
    band True bounds a clipped sample by the level instead of its observed
    value, relax > 0 lets a reliable sample move +-relax (both measured on
    codec input and found no better than the default, docs/lossy.md).

    Output blocks have the input's shape and dtype and are delayed by
    :attr:`latency_samples`; :meth:`flush` returns the samples still inside.
    Inside a sounddevice callback use ``d.process(indata, out=outdata)``:
    nothing is allocated per call.
    """

    def __init__(self, sample_rate, channels=1, preset="average", algorithm="aspade",
                 threshold="auto", window=None, hop=None, redundancy=None, iterations=None,
                 s=None, r=None, epsilon=None, warm_start=None, window_shape=None,
                 synthesis_length=None, budget_pool=None, plan="measure", smear=None):
        self.sample_rate = params.check_sample_rate(sample_rate)
        self.channels = params.check_channels(channels)
        self.settings = st = params.resolve(
            sample_rate, preset, algorithm, window, hop, redundancy, iterations, s, r, epsilon,
            warm_start, window_shape, synthesis_length, budget_pool)
        if plan not in ("measure", "estimate"):
            raise ValueError(f"plan must be 'measure' or 'estimate', got {plan!r}")
        fixed = parse_threshold(threshold, self.channels)
        cfg = ffi.new("rtd_config *")
        lib.rtd_config_default(cfg)
        cfg.channels = self.channels
        cfg.window, cfg.hop, cfg.redundancy = st.window, st.hop, st.redundancy
        cfg.algorithm = params.ALGORITHMS[st.algorithm]
        cfg.s, cfg.r, cfg.epsilon = st.s, st.r, st.epsilon
        cfg.max_iterations = st.iterations or 0
        cfg.return_last = st.iterations is not None
        cfg.warm_start = st.warm_start
        cfg.budget_pool = st.budget_pool
        cfg.auto_threshold = fixed is None
        cfg.plan = lib.RTD_PLAN_MEASURE if plan == "measure" else lib.RTD_PLAN_ESTIMATE
        keep = []
        if st.window_shape == "lowdelay":
            ana, syn = lowdelay(st.window, st.hop, st.synthesis_length)
            keep = [np.ascontiguousarray(ana), np.ascontiguousarray(syn)]
            cfg.analysis_window = ffi.cast("double *", ffi.from_buffer(keep[0]))
            cfg.synthesis_window = ffi.cast("double *", ffi.from_buffer(keep[1]))
        _load_wisdom()
        err = ffi.new("int *")
        state = lib.rtd_create(cfg, err)
        if state == ffi.NULL:
            raise ValueError(ffi.string(lib.rtd_strerror(err[0])).decode())
        if plan == "measure":
            _save_wisdom()
        self._state = ffi.gc(state, lib.rtd_destroy)
        self._fixed = fixed
        if fixed is not None:
            for c, (pos, neg) in enumerate(fixed):
                lib.rtd_set_thresholds(self._state, c, pos, neg)
        self._smear = parse_smear(smear, self.channels)
        if self._smear is not None:
            if fixed is None:
                raise ValueError("smear needs fixed thresholds (with threshold='auto' the "
                                 "online estimator chooses the model itself)")
            for c, (band, relax) in enumerate(self._smear):
                lib.rtd_set_smear(self._state, c, int(band), float(relax))
        self._stats = ffi.new("rtd_stats *")
        self._last_ndim, self._last_dtype = 1 if self.channels == 1 else 2, np.float64
        self._th = ffi.new("double[2]")

    # -- the plugin interface ------------------------------------------------
    @property
    def latency_samples(self):
        """Constant delay of the output, in samples."""
        return lib.rtd_latency(self._state)

    @property
    def latency(self):
        """Constant delay of the output, in seconds."""
        return self.latency_samples / self.sample_rate

    def _check_block(self, block, name="block"):
        if not isinstance(block, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(block).__name__}")
        if block.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name} must be float32 or float64, got {block.dtype}")
        if block.ndim == 1:
            if self.channels != 1:
                raise ValueError(f"{name} is 1-D but the declipper has {self.channels} channels; "
                                 f"pass shape (frames, {self.channels})")
        elif block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"{name} must have shape (frames, {self.channels}), got {block.shape}")
        if block.shape[0] > 2**31 - 1:
            raise ValueError(f"{name} is too long for one call; split it")

    def process(self, block, out=None):
        """Declip the next block; returns an array of the same shape and
        dtype (``out`` if given), delayed by :attr:`latency_samples`.
        NaN/Inf samples are replaced by 0 and counted in :attr:`stats`."""
        self._check_block(block)
        self._last_ndim, self._last_dtype = block.ndim, block.dtype
        if out is None:
            out = np.empty_like(block, order="C")
        else:
            self._check_block(out, "out")
            if out.shape != block.shape or out.dtype != block.dtype or not out.flags.c_contiguous:
                raise ValueError("out must be a C-contiguous array of the block's shape and dtype")
        if not block.flags.c_contiguous:
            block = np.ascontiguousarray(block)
        n = block.shape[0]
        if n:
            if block.dtype == np.float32:
                lib.rtd_process_float(self._state, ffi.from_buffer("float[]", block),
                                      ffi.from_buffer("float[]", out, require_writable=True), n)
            else:
                lib.rtd_process_double(self._state, ffi.from_buffer("double[]", block),
                                       ffi.from_buffer("double[]", out, require_writable=True), n)
        return out

    __call__ = process

    def flush(self, dtype=None):
        """The last ``latency_samples`` frames still inside (pushing silence),
        shaped and typed like the blocks given to :meth:`process`."""
        one_d = self.channels == 1 and self._last_ndim == 1
        shape = (self.latency_samples,) if one_d else (self.latency_samples, self.channels)
        if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        return self.process(np.zeros(shape, dtype=dtype or self._last_dtype))

    def reset(self):
        """Forget the stream: silence history, statistics, online thresholds."""
        lib.rtd_reset(self._state)

    # -- what it is doing ----------------------------------------------------
    @property
    def thresholds(self):
        """Clip levels in use per channel, [(pos, neg), ...]; +-inf where no
        clipping was found (yet)."""
        out = []
        for c in range(self.channels):
            lib.rtd_get_thresholds(self._state, c, self._th, self._th + 1)
            out.append((self._th[0], self._th[1]))
        return out

    RAIL_METHODS = (None, "exact", "noisy", "codec")

    @property
    def detection(self):
        """How the levels in use were found, per channel: {"method": (pos,
        neg), "width_db": (pos, neg)}; methods None, "exact", "noisy" or
        "codec" (a codec-smeared rail, declared width_db below its centre).
        Fixed thresholds report None."""
        mp, mn = ffi.new("int *"), ffi.new("int *")
        wp, wn = ffi.new("double *"), ffi.new("double *")
        out = []
        for c in range(self.channels):
            lib.rtd_get_detection(self._state, c, mp, mn, wp, wn)
            m = (self.RAIL_METHODS[mp[0]], self.RAIL_METHODS[mn[0]])
            out.append({"method": m,
                        "width_db": tuple(None if k is None else float(w)
                                          for k, w in zip(m, (wp[0], wn[0])))})
        return out

    @property
    def smear(self):
        """Clipped-set model per channel, [(band, relax), ...]: band True when
        clipped samples are bounded by the level (a codec-smeared rail), relax
        the box half-width of reliable samples (0: exact)."""
        b, r = ffi.new("int *"), ffi.new("double *")
        out = []
        for c in range(self.channels):
            lib.rtd_get_smear(self._state, c, b, r)
            out.append((bool(b[0]), float(r[0])))
        return out

    @property
    def iterations(self):
        """Current iteration budget per frame (the live host may lower it;
        with ``budget_pool`` n a frame may run up to n times it)."""
        return lib.rtd_get_max_iterations(self._state)

    @iterations.setter
    def iterations(self, n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"iterations must be an integer >= 0 (0: pass through), got {n!r}")
        lib.rtd_set_max_iterations(self._state, int(min(n, 2**31 - 1)))

    @property
    def stats(self):
        """Counters since creation or reset()."""
        lib.rtd_get_stats(self._state, self._stats)
        s = self._stats
        return {"samples_in": s.samples_in, "frames_solved": s.frames_solved,
                "frames_skipped": s.frames_skipped, "frames_converged": s.frames_converged,
                "iterations": s.iterations, "max_frame_iterations": s.max_frame_iterations,
                "clipped_samples": s.clipped_samples, "nonfinite_samples": s.nonfinite_samples,
                "frames_cut": s.frames_cut, "pooled_iterations": s.pooled_iterations}

    def set_time_limit(self, seconds):
        """Wall-clock limit per process() call (0: none).  Frames still
        iterating when it is reached return their last iterate at once
        (counted in stats["frames_cut"]): the live host's guarantee that the
        solver cannot make it late."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.number)) \
                or not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        lib.rtd_set_time_limit(self._state, float(seconds))

    def windows(self):
        """(analysis, synthesis) windows in use."""
        a = np.empty(self.settings.window)
        b = np.empty(self.settings.window)
        lib.rtd_get_windows(self._state, ffi.from_buffer("double[]", a, require_writable=True),
                            ffi.from_buffer("double[]", b, require_writable=True))
        return a, b

    def solve_frame(self, frame, mask):
        """Run the solver on one windowed frame (tests and benchmarks)."""
        y = np.ascontiguousarray(frame, dtype=np.float64)
        m = np.ascontiguousarray(mask, dtype=np.int8)
        if y.shape != (self.settings.window,) or m.shape != y.shape:
            raise ValueError(f"frame and mask must have shape ({self.settings.window},)")
        if not np.all(np.isfinite(y)):
            raise ValueError("frame must be finite")
        if not np.all(np.isin(np.asarray(mask), (-1, 0, 1))):
            raise ValueError("mask must hold -1 (clipped low), 0 (reliable) or +1 (clipped high)")
        x = np.empty_like(y)
        lib.rtd_solve_frame(self._state, ffi.from_buffer("double[]", y),
                            ffi.from_buffer("int8_t[]", m),
                            ffi.from_buffer("double[]", x, require_writable=True))
        return x

    def __repr__(self):
        s = self.settings
        return (f"Declipper({self.sample_rate}, channels={self.channels}, algorithm={s.algorithm!r}, "
                f"window={s.window}, hop={s.hop}, redundancy={s.redundancy}, "
                f"iterations={s.iterations}, latency_samples={self.latency_samples})")
