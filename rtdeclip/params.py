"""Presets and validation of every user-facing parameter.

A preset is a set of solver settings chosen by ``benchmarks/presets.py``
(SQAM, input SDR 3 and 10 dB); explicit arguments override it.  Window
lengths are given at 48 kHz and scaled to the nearest power of two at other
rates, so a preset keeps the same duration (and latency) at any rate.
"""
from dataclasses import dataclass, replace
import math

ALGORITHMS = {"aspade": 0, "sspade": 1, "sspade-original": 2}


@dataclass(frozen=True)
class Settings:
    """Everything the C core needs to know about one stream."""
    window: int
    hop: int
    redundancy: int
    algorithm: str
    s: int
    r: int
    epsilon: float
    iterations: int | None   # fixed budget per frame; None = converge
    warm_start: bool
    window_shape: str        # "hann" or "lowdelay"
    synthesis_length: int | None = None  # lowdelay only: support of the synthesis window


# Tuned on SQAM at input SDR 3 and 10 dB (benchmarks/explore.py, presets.py):
# - highquality: the survey's frame (8192, hop 2048, redundancy 2) run to
#   epsilon, but k grows every iteration (r=1): about half the survey's
#   iterations for slightly better delta-SDR (+0.1 dB on three excerpts).
# - average / fastest: the real-time budgets.  One iteration costs about
#   3.5-4 ms of CPU per second of stereo 48 kHz whatever the window, so
#   >= 2x and >= 8x real time with every frame clipped cap them near 130 and
#   35 iterations (benchmarks/speed.py); we keep ~20 % in reserve.  k += 2
#   per iteration beats the survey's schedule at such budgets, the last
#   iterate beats the best-objective one, and starting each frame from the
#   previous frame's solution adds ~0.25 dB at 3 dB.  At the fastest
#   budget a 2048 window with k += 4 beats 1024 with k += 2 by 0.3 / 1.8 dB
#   (3 / 10 dB input) for the same CPU; window=1024 halves the latency.
PRESETS = {
    "highquality": dict(window48=8192, hop_div=4, redundancy=2, s=1, r=1, epsilon=0.1,
                        iterations=None, warm_start=False, window_shape="hann"),
    "average": dict(window48=2048, hop_div=4, redundancy=2, s=2, r=1, epsilon=0.1,
                    iterations=110, warm_start=True, window_shape="hann"),
    "fastest": dict(window48=2048, hop_div=4, redundancy=2, s=4, r=1, epsilon=0.1,
                    iterations=30, warm_start=True, window_shape="hann"),
}


def _preset_key(preset):
    if not isinstance(preset, str) or preset.lower() not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)} (case-insensitive), "
                         f"got {preset!r}")
    return preset.lower()


def _check_int(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
            hasattr(value, "__index__")):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ValueError(f"{name} must be {rng}, got {value}")
    return value


def check_sample_rate(sample_rate):
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)) \
            or not math.isfinite(sample_rate) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number, got {sample_rate!r}")
    return sample_rate


def check_channels(channels):
    return _check_int("channels", channels, 1, 1024)


def resolve(sample_rate, preset="average", algorithm="aspade", window=None, hop=None,
            redundancy=None, iterations=None, s=None, r=None, epsilon=None,
            warm_start=None, window_shape=None, synthesis_length=None):
    """Merge a preset with explicit overrides into validated ``Settings``."""
    check_sample_rate(sample_rate)
    p = PRESETS[_preset_key(preset)]
    if not isinstance(algorithm, str) or algorithm.lower() not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if window is None:
        scaled = p["window48"] * sample_rate / 48000.0
        window = max(64, 2 ** int(round(math.log2(scaled))))
    window = _check_int("window", window, 16, 65536)
    if window & (window - 1):
        raise ValueError(f"window must be a power of two, got {window}")
    if hop is None:
        hop = window // p["hop_div"]
    hop = _check_int("hop", hop, 1)
    if window % hop or not (window // 8 <= hop <= window // 2):
        raise ValueError(f"hop must divide the window and lie between window/8 and window/2 "
                         f"(50 % to 87.5 % overlap), got hop={hop} for window={window}")
    redundancy = p["redundancy"] if redundancy is None else redundancy
    redundancy = _check_int("redundancy", redundancy, 1, 4)
    if redundancy == 3:
        raise ValueError("redundancy must be 1, 2 or 4, got 3")
    s = _check_int("s", p["s"] if s is None else s, 1)
    r = _check_int("r", p["r"] if r is None else r, 1)
    epsilon = p["epsilon"] if epsilon is None else epsilon
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) \
            or not math.isfinite(epsilon) or epsilon < 0:
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    if iterations is None:
        iterations = p["iterations"]
    if iterations is not None:
        iterations = _check_int("iterations", iterations, 1, 10_000_000)
    warm_start = p["warm_start"] if warm_start is None else bool(warm_start)
    window_shape = p["window_shape"] if window_shape is None else window_shape
    if window_shape not in ("hann", "lowdelay"):
        raise ValueError(f"window_shape must be 'hann' or 'lowdelay', got {window_shape!r}")
    if synthesis_length is None:
        synthesis_length = p.get("synthesis_length")
    if window_shape == "lowdelay":
        if synthesis_length is None:
            synthesis_length = window // 2
        synthesis_length = _check_int("synthesis_length", synthesis_length, 2 * hop, window)
    return Settings(window, hop, redundancy, algorithm.lower(), s, r, float(epsilon),
                    iterations, warm_start, window_shape, synthesis_length)


def survey(algorithm="aspade"):
    """The survey's settings (Zaviska et al. 2021) at any rate."""
    return Settings(8192, 2048, 2, algorithm, 1, 2, 0.1, None, False, "hann")


__all__ = ["PRESETS", "ALGORITHMS", "Settings", "resolve", "survey", "replace"]
