"""Presets and validation of every user-facing parameter.

A preset is a set of solver settings chosen by ``benchmarks/presets.py``
(SQAM, input SDR 3 and 10 dB); explicit arguments override it.  Window
lengths are given at 48 kHz and scaled to the nearest power of two at other
rates, so a preset keeps the same duration (and latency) at any rate; the
real-time presets' iteration budgets keep the same CPU per second of audio
(``rate_budget``) and their sparsity schedules the same fraction of the
spectrum (``rate_schedule``).
"""
from dataclasses import dataclass, replace
import math

from rtdeclip._core import lib
from rtdeclip.errors import ParameterError

# solver names -> rtd_algorithm values of rtdeclip.h
ALGORITHMS = {
    "aspade": lib.RTD_ASPADE,
    "sspade": lib.RTD_SSPADE,
    "sspade-original": lib.RTD_SSPADE_ORIGINAL,
    "social": lib.RTD_SOCIAL,
}
# algorithm "social" (csrc/social.h): block/margin 0 = 48 / 8 windows in C;
# lambda (max, min) in `levels` geometric steps; PEW neighbourhood (bins,
# frames); social_iterations: FISTA iterations per block when `iterations`
# is None
SOCIAL_DEFAULTS = dict(social_block=0, social_margin=0, social_lambda=(1e-1, 1e-4),
                       social_levels=20, social_neigh=(3, 7), social_iterations=500,
                       social_neigh2=None, social_tail=0.0, social_tail_weight=1.0,
                       social_weight2=0.5)
# FFTW planning rigour -> rtd_plan values
PLANS = {"measure": lib.RTD_PLAN_MEASURE, "estimate": lib.RTD_PLAN_ESTIMATE}
# arithmetic of the iteration -> rtd_precision values
PRECISIONS = {"double": lib.RTD_DOUBLE, "single": lib.RTD_SINGLE}
# limits of rtd_config, from rtdeclip.h (rtd_create checks the same ones)
CHANNELS_MAX = lib.RTD_CHANNELS_MAX
WINDOW_MIN, WINDOW_MAX = lib.RTD_WINDOW_MIN, lib.RTD_WINDOW_MAX
HOP_MIN_DIV, HOP_MAX_DIV = lib.RTD_HOP_MIN_DIV, lib.RTD_HOP_MAX_DIV
REDUNDANCY_MAX = lib.RTD_REDUNDANCY_MAX
POOL_MAX = lib.RTD_POOL_MAX
THREADS_MAX = lib.RTD_THREADS_MAX
HEDGE_MAX = lib.RTD_HEDGE_MAX
ITERATIONS_MAX = 10_000_000   # a budget beyond this is a typo, not a wish
WINDOW_SHAPES = ("hann", "lowdelay")


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
    budget_pool: int = 0     # 0/1 off; n >= 2: a frame may run n * iterations from
                             # what earlier frames left unused (see rtdeclip.h)
    precision: str = "double"  # the iteration's arithmetic: "double" or "single"
    past_final: bool = False   # samples that left the stream are reliable context
    lookahead: int = 0         # lowdelay only: newest samples solved but not output
    prior_weight: float = 0.0  # A-SPADE ranking prior from the previous frame
    adapt_s: float = 0.0       # k's step scaled by the frame's reliable fraction
    second_solve: int = 0      # >= 1: early-converged frames solved again on what is
                               # left of their allowance (at least this), outputs averaged
    second_adapt_s: float = 0.0  # the second solve's adapt_s
    second_reliable: float = 0.0  # ... only in frames at least this share reliable
    hedge: int = 0             # 2..5: a smeared rail hedged over its width in the stream
    hedge_budget: float = 1.0  # (0, 1]: each hedged solve's share of the frame's allowance
    heavy_width: float = 1.0   # a heavily clipped channel's codec rails this many times as
                               # deep (files: detect.for_preset; streams: rtd_config's)
    social_block: int = 0    # algorithm "social" only (csrc/social.h)
    social_margin: int = 0
    social_lambda: tuple = (1e-1, 1e-4)
    social_levels: int = 20
    social_neigh: tuple = (3, 7)
    social_iterations: int = 500
    social_neigh2: tuple = None   # a second solve, output the mean of the two
    social_tail: float = 0.0      # output the mean of the last fraction of iterations' signals
    social_tail_weight: float = 1.0  # output (1 - a) last iterate + a tail mean
    social_weight2: float = 0.5   # the second solve's weight in the output


# Tuned on SQAM at input SDR 3 and 10 dB (benchmarks/explore.py, presets.py)
# and, for fastest and average, also on the adeclip clip set (adeclip_compare.py:
# three SQAM excerpts, music 44.1 kHz stereo, speech-like 8 kHz mono):
# - highquality: the survey's frame (8192, hop 2048, redundancy 2) run to
#   epsilon, but k grows every iteration (r=1): about half the survey's
#   iterations for slightly better delta-SDR (+0.1 dB on three excerpts).
#   Since issue 13 highquality runs the social-sparsity solver (algorithm
#   "social", csrc/social.c) on the same frame: PEW shrinkage over 3 bins x
#   7 frames, lambda from 1e-1 to 1e-4 in 20 steps, 500 FISTA iterations
#   per block (benchmarks/highquality.py, docs/highquality.md).  Since its
#   third round the solver's FFTs are single precision (social_precision:
#   the same dSDR to 1e-3 dB) and the output is the mean of two solves, the
#   second over 5 bins x 7 frames (+0.3 dB on SQAM), which the faster solver
#   (one pass per iteration, silent frames skipped) pays for; the A-SPADE
#   settings above remain what algorithm="aspade" uses with this preset
#   (and what the live host runs: the social solver is offline only).
#   Each solve runs 750 iterations (500 before): on all 70 SQAM cases
#   12.08 / 14.93 / 16.55 / 17.56 / 18.95 / 21.20 / 22.35 dB against
#   11.65 / 14.97 / 16.55 / 17.59 / 18.67 / 21.12 / 22.35 at 500, within
#   0.10 dB of the survey's best method everywhere, at 0.93x the survey
#   A-SPADE's CPU on the benchmark's 7 timed cases (0.64x at 500).
#   Sixth round: each solve outputs the midpoint of its last iterate and
#   the mean of its last 34.7 % of iterates (social_tail 0.347,
#   social_tail_weight 0.5; either alone loses somewhere): 12.31 / 15.11 /
#   16.70 / 17.67 / 19.02 / 21.32 / 22.38 dB, at or above SS_PEW at all 7
#   input SDRs (+0.01 / +0.02 at 7 / 10 dB), 0.78x the A-SPADE CPU over
#   all 70 cases timed in one run (results/highquality_full70).
# - average / fastest: the real-time budgets, set at 48 kHz by CPU: >= 2x
#   and >= 8x real time on stereo 48 kHz with every frame clipped
#   (benchmarks/speed.py), with ~20 % in reserve.  At other rates the budget
#   keeps the CPU per second of audio (rate_budget: 6x at 8 kHz) and k keeps
#   the same fraction of the spectrum (rate_schedule); on SQAM resampled to
#   8 kHz the two together took the old fastest from 4.09 / 8.97 to
#   8.02 / 10.87 dB, and the speech-like clip from 1.18 / 7.83 to 4.01 /
#   21.44 dB, where the old frames all stopped at epsilon after ~14
#   iterations: k grew too fast for a 256 window, not too few iterations.
#   The last iterate beats the best-objective one, and starting each frame
#   from the previous frame's solution adds ~0.25 dB at 3 dB.
# - average: redundancy 2, k starts at 6 and grows by 6 every 3rd iteration:
#   9.93 / 13.65 dB against 9.53 / 13.67 for k += 2 per iteration from 2
#   (both at the 120 iterations of 44.1 kHz; the starting k is what helps
#   at 3 dB).  Redundancy 1 with the same CPU (220 iterations) gives 9.72 /
#   13.73.  No budget pool: +0.0 / +0.2 dB, but two pooled frames would
#   take 65-75 % of the hop at the tail (benchmarks/hop_times.py), too near
#   a live host's deadline.
# - fastest: redundancy 1 (an iteration costs about half of one at
#   redundancy 2) with 60 iterations instead of 30 at redundancy 2, for the
#   same CPU (benchmarks/speed.py: ~10x real time): 9.42 / 12.45 dB against
#   7.00 / 11.44 (SQAM); at this budget the iterations, not the spectral
#   resolution, are what limit it (at average's budget redundancy 2 wins).
#   At redundancy 1 A-SPADE and S-SPADE give the same output.  k starts at 6
#   and grows by 6 every 6th iteration: the starting k matters at 3 dB
#   (k0 = 1, 4, 6, 8 at one bin per iteration, 54 iterations: 8.45, 9.38,
#   9.23, 9.09 dB) and a steeper k costs at 3 dB what it gains at 10
#   (k += 2 per iteration: 7.59 / 11.74).  Budget pool 2 (a frame may run
#   twice the budget on what skipped and early-converged frames left):
#   +0.08 / +0.20 dB on SQAM, +0.08 dB on the adeclip set; the hop's tail
#   time goes from ~16 % to ~30 % of the hop (99.9th percentile,
#   benchmarks/hop_times.py), below what average takes without it.
# - precision (issue 12): fastest, average and lowlatency iterate in single
#   precision (fftwf): on SQAM within 0.02 dB of double at 10 dB (fastest
#   9.41 / 12.45 and 9.38 / 12.45 in two runs against 9.42 / 12.45;
#   average 9.95 / 13.71 and 9.93 / 13.70 against 9.93 / 13.65) for about
#   1.2-1.6x less CPU per iteration; on the never-converging stereo 48 kHz
#   signal (speed.py, one core) fastest ~9x against ~7-8x in double, average
#   ~2.4-2.9x against ~1.8-2.3x, and the 60 s live test beside a CPU hog
#   passed with average in single (twice) and failed in double (8
#   underflows).  A float run depends on the FFT algorithm chosen, so two
#   processes agree only with the same plans (the same wisdom, or
#   FFTW_ESTIMATE as the plug-ins use).  highquality stays double (the
#   survey reproduction is exact in double only).  average at 130
#   iterations gave 10.00 / 13.69 (+0.05 / -0.02 dB) for 18 % more CPU: the
#   budgets were kept.
# - lowlatency (issue 12): latency <= 12 ms from low-delay windows (a 1024
#   analysis window at 48 kHz reaching 21 ms into the past, a 512-sample
#   synthesis window: latency 510 samples, 10.6 ms at 48 kHz, 11.6 ms at
#   44.1), hop 256, redundancy 2, 70 iterations, k = 3, 6, ... every 2nd,
#   budget pool 2.  Measured on SQAM (explore.py) at ~equal latency: plain
#   Hann 512 (hop 128, 100 iterations) 7.32 / 10.23; low-delay 2048 with a
#   512 synthesis window 5.90 / 8.20 (redundancy 1, 60 it.) and 5.64 /
#   7.11 (redundancy 2, 35 it.); low-delay 1024/512 at hop 128: 7.88 /
#   9.89 (60 it.), 8.20 / 11.43 (100 it.) but only 1.6x real time; at hop
#   256 (this preset) 7.31 / 10.00 at 5.0x.  The quality target (8.0 /
#   11.0) is reached only at hop 128 with 100 iterations, beyond the CPU
#   target (4x on one core).
# - Context at the same latency (issue 12, docs/speed.md "Quality"):
#   average is now a low-delay pair, a 4096 analysis window (85 ms at 48
#   kHz, 64 ms of it in the past) with a 2048 synthesis window (latency 2046
#   samples, as the Hann 2048 before), hop 512, redundancy 1 (the same FFT
#   size as 2048 at redundancy 2: the same CPU), 100 iterations, and four
#   context options: past_final (the frame's past is the stream's final
#   output, given as reliable: +0.86 / +0.55 dB on this pair), adapt_s 0.4
#   (k's step up to 3x in lightly clipped frames: +0.14 / +0.49),
#   prior_weight 0.15 (ranking helped by the previous frame's spectrum:
#   +0.36 / -0.13 at 0.3) and a lookahead of one hop (the newest hop is
#   solved as context but output only by later frames: -0.07 / +0.65).
#   Before: 9.93 / 13.70 dB (Hann 2048, redundancy 2, 110 it.); the Hann
#   2048 frame run to convergence gives only 10.64 / 13.95, and this pair
#   with 300 iterations 10.91 / 15.58: the latency caps it, not the budget.
#   lowlatency keeps its windows and gains past_final, adapt_s 0.3 and
#   prior_weight 0.3 with 62 iterations instead of 70 for the same CPU.
# - A cheaper iteration (issue 12, lever 1; docs/speed.md): the float
#   passes in AVX2 and a radix selection made an iteration 1.25-1.5x
#   cheaper (the same output bit for bit; the presets' streams 25-50 %
#   faster), and the saving went into iterations while keeping about 20 %
#   above the one-core targets on the never-converging signal (load 3.6-4
#   on the 2 shared cores): average 100 -> 130 (2.3-2.8x against 2.5-2.9x
#   at 100 before; SQAM 10.73 / 15.51 -> 10.87 / 15.69; 150 gave 10.90 /
#   15.79 but 2.2-2.7x), lowlatency 62 -> 75 (4.8-5.5x against 4.1-4.4x
#   before; 8.11 / 10.19 -> 8.69 / 10.57; 80 gave 8.71 / 10.56 at
#   4.4-4.7x).
# - second trajectory (issue 12, 2026-12-03 evening round, docs/speed.md):
#   second_solve=20, second_adapt_s=0.6 on lowlatency keeps two
#   trajectories of solutions per channel (own past, warm start and prior),
#   solves the second on what early-converging frames leave of their
#   allowance and outputs the mean: SQAM 8.65 / 10.54 -> 8.71 / 11.06 dB
#   (9 of 10 excerpts better at 10 dB, none worse by more than 0.04 dB),
#   never-converging frames unchanged.  Not in the preset: the gain needs
#   the pool's extra iterations (second solves limited to the frame's base
#   budget: 8.66 / 10.65; to 1.5x it: 8.67 / 10.78; charged to the pool:
#   8.64 / 10.60), and spending them makes music dearer than the
#   never-converging signal (SQAM pairs at 3 dB, one thread: 4.0-4.4x
#   against 6.5-7.5x without, never-converging 4.4-4.5x in the same run),
#   below the ~20 % CPU margin kept over the 4x target.  On average (no
#   pool) it gives 10.99 / 15.58 against 10.99 / 15.55.
# - ... in lowlatency since 2026-12-04, with second_reliable 0.4 and
#   epsilon 0.07 (docs/speed.md, "lowlatency with a gated second
#   trajectory"): the second trajectory gains at 10 dB, not at 3 dB, so a
#   second solve runs only in frames at least 40 % reliable; on the mean
#   of four noise_floor.py runs (SQAM scaled by 1 + 1e-9 etc.) 8.70 /
#   10.49 -> 8.62 / 11.03 dB (8.64 / 11.00 over eight runs), at 0.99 / 0.94 budgets
#   per frame on SQAM at 3 / 10 dB (ungated: 1.19 / 0.96): music no
#   dearer than the never-converging signal (SQAM pairs at 3 dB 4.95-5.36x
#   on one core, never-converging 4.66-6.58x in the same run).  Gates 0.3 /
#   0.5 / 0.65: 11.06 / 10.94 / 10.80 dB at 10 dB for 1.07 / 0.91 / 0.83
#   budgets at 3 dB.  epsilon 0.07 alone: 8.60 / 10.68.
# - average since 2026-12-04 (second session): epsilon 0.1 -> 0.06 and 130
#   -> 150 iterations, chosen on the mean of twelve noise_floor.py runs
#   (docs/speed.md, "twelve noise-floor runs"): 10.91 / 15.59 -> 10.92 /
#   15.78 dB, every run at 10 dB >= 15.63 (before: 15.44-15.69, five of
#   twelve under the 15.6 target); epsilon 0.06 alone 10.88 / 15.70, more
#   iterations alone (165) 10.99 / 15.70, epsilon 0.05 10.82 / 15.75,
#   epsilon 0.06 with 165 iterations 10.94 / 15.82 (not taken: +0.04 dB
#   for 10 % more CPU).  3 dB stays where the latency caps it.
# - lowlatency since then: 75 -> 85 iterations and second_reliable 0.4 ->
#   0.3, same runs: 8.64 / 11.02 -> 8.89 / 11.13 (92 iterations with the
#   0.3 gate 8.98 / 11.12, 100 at 44.1 kHz with 0.4 8.96 / 11.07, the 0.3
#   gate alone 8.65 / 11.04, epsilon 0.06 8.63 / 10.97).
#   Both spend CPU the one-core margin had (this VM: average 3.5x, lowlatency
#   6.6x on the never-converging signal against 2x and 4x) and keep the
#   never-converging signal the worst case (benchmarks/music_rtf.py); the
#   margins left are in docs/speed.md.
PRESETS = {
    "highquality": dict(window48=8192, hop_div=4, redundancy=2, s=1, r=1, epsilon=0.1,
                        iterations=None, warm_start=False, window_shape="hann",
                        algorithm="social", social=dict(social_neigh2=(5, 7), social_iterations=750,
                                                         social_tail=0.347, social_tail_weight=0.5),
                        social_precision="single"),
    # average hedges a smeared rail 2 ways, each solve on two thirds of the
    # frame's budget where the pair's sets part (hedge_budget): 1.33x the
    # CPU on a lossy stream's worst case instead of 2x, and its lossy
    # streams meet 99 of 128 benchmark targets instead of 88 (100 at the
    # full budget; docs/lossy.md, sixteenth and seventeenth sessions).  A
    # hedge asked for (hedge=N, a plug-in's control) takes the same share
    # unless hedge_budget is given; exact rails are not hedged.
    # heavy_width: a channel whose heavier codec rail holds 13 % of its
    # samples (heavy clipping) has its codec rails declared 1.3 times their
    # width deep: files (detect.for_preset, twenty-fourth session) and
    # streams (csrc/smear.h, smear_heavy_width, twenty-fifth); Opus too
    # since the twenty-eighth (docs/lossy.md)
    "average": dict(window48=4096, hop_div=8, redundancy=1, s=6, r=3, epsilon=0.06,
                    iterations=150, warm_start=True, window_shape="lowdelay", synthesis_div=2,
                    lookahead_hops=1, past_final=True, adapt_s=0.4, prior_weight=0.15,
                    precision="single", hedge=2, hedge_budget=2 / 3, heavy_width=1.3),
    # fastest hedges a smeared rail (a lossy stream's) 2 ways: each solve
    # is cheap enough that a lane solving two still runs 12-13x real time
    # on the worst case (one core per channel; 6.6-7.9x with both channels
    # on one core; 2026-12-05 on a VM where unhedged fastest ran 14x), and
    # its lossy streams meet 102 of 128 benchmark targets
    # instead of 94 (docs/lossy.md, sixteenth session); exact rails are not
    # hedged, so plain clipping costs and sounds as before
    "fastest": dict(window48=2048, hop_div=4, redundancy=1, s=6, r=6, epsilon=0.1,
                    iterations=60, warm_start=True, window_shape="hann", budget_pool=2,
                    precision="single", hedge=2),
    # lowlatency has no hedge of its own: its pair needs the whole budget
    # (99 of 128 lossy stream targets against 89 unhedged, 82 at two
    # thirds of the budget each; seventeenth session), 1.9x the CPU on a
    # smeared rail, 3.0x real time on one core, under its 4x
    "lowlatency": dict(window48=1024, hop_div=4, redundancy=2, s=3, r=2, epsilon=0.07,
                       iterations=85, warm_start=True, window_shape="lowdelay", synthesis_div=2,
                       past_final=True, adapt_s=0.3, prior_weight=0.3, budget_pool=2,
                       second_solve=20, second_adapt_s=0.6, second_reliable=0.3,
                       precision="single"),
}


def _preset_key(preset):
    if not isinstance(preset, str) or preset.lower() not in PRESETS:
        raise ParameterError(f"preset must be one of {', '.join(PRESETS)} (case-insensitive), "
                             f"got {preset!r}")
    return preset.lower()


def _check_int(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
            hasattr(value, "__index__")):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ParameterError(f"{name} must be {rng}, got {value}")
    return value


def _check_choice(name, value, choices):
    """A case-insensitive name out of ``choices`` -> its lower-case form."""
    if not isinstance(value, str) or value.lower() not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}, "
                             f"got {value!r}")
    return value.lower()


def check_sample_rate(sample_rate):
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)) \
            or not math.isfinite(sample_rate) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive number, got {sample_rate!r}")
    return sample_rate


def check_channels(channels):
    return _check_int("channels", channels, 1, CHANNELS_MAX)


def check_threads(threads):
    """None (one per channel up to the processors) or 1..THREADS_MAX -> the
    rtd_config value (0 = automatic)."""
    if threads is None:
        return 0
    return _check_int("threads", threads, 1, THREADS_MAX)


def check_plan(plan):
    """'measure' or 'estimate' -> the rtd_plan value."""
    if not isinstance(plan, str) or plan not in PLANS:
        raise ParameterError(f"plan must be 'measure' or 'estimate', got {plan!r}")
    return PLANS[plan]


def rate_budget(iterations48, sample_rate):
    """A preset's iteration budget (set at 48 kHz) at another rate, for the
    same CPU time per second of audio.  One iteration costs about the same
    per sample at any window (benchmarks/speed.py: 17-21 ns per sample from
    256 to 4096), the window and hop scale with the rate, so the cost per
    second of an iteration is proportional to the rate: 8 kHz affords 6x
    the iterations, 44.1 kHz 1.09x, 96 kHz half.  At most 8x (below 6 kHz
    small windows cost more per sample); at least 1."""
    return max(1, int(round(iterations48 * min(8.0, 48000.0 / sample_rate))))


def rate_schedule(s48, r48, window, window48):
    """A budgeted preset's sparsity schedule (k starts at s and grows by s
    every r iterations) at a window other than the one it was tuned at
    (window48): k scaled by window / window48, the same fraction of the
    spectrum at every iteration.  A larger window multiplies s; a smaller
    one divides s (at least 1) and stretches r to keep the slope: at 8 kHz
    (window 256) fastest's k = 5, 10, ... every 4th iteration at 2048
    becomes k = 1, 2, ... every 6th."""
    if window >= window48:
        return s48 * (window // window48), r48
    q = window / window48
    s = max(1, int(s48 * q + 0.5))
    return s, max(1, int(r48 * s / (s48 * q) + 0.5))


def resolve(sample_rate, preset="average", *, algorithm=None, window=None, hop=None,
            redundancy=None, iterations=None, s=None, r=None, epsilon=None,
            warm_start=None, window_shape=None, synthesis_length=None, budget_pool=None,
            precision=None, social=None, past_final=None, prior_weight=None,
            adapt_s=None, lookahead=None, second_solve=None, second_adapt_s=None,
            second_reliable=None, hedge=None, hedge_budget=None):
    """Merge a preset with explicit overrides into validated ``Settings``.

    The keyword arguments are the solver settings, documented once on
    :class:`rtdeclip.Declipper`; every entry point passes them here, so a
    bad value raises the same :class:`~rtdeclip.errors.ParameterError`
    (a ValueError naming the parameter) wherever it comes from.  A budgeted
    preset's iterations are scaled to the sample rate (:func:`rate_budget`)
    unless ``iterations`` is given, and its s, r to the window
    (:func:`rate_schedule`) unless s or r is given.

    >>> st = resolve(48000, "fastest", window=1024)
    >>> st.window, st.hop, st.redundancy, st.iterations
    (1024, 256, 1, 60)
    >>> resolve(48000, hop=100)     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    rtdeclip.errors.ParameterError: hop must divide the window ... got hop=100 for window=4096
    """
    check_sample_rate(sample_rate)
    p = PRESETS[_preset_key(preset)]
    if algorithm is None:   # the preset's (highquality: social sparsity)
        algorithm = p.get("algorithm", "aspade")
    algorithm = _check_choice("algorithm", algorithm, ALGORITHMS)
    if window is None:
        scaled = p["window48"] * sample_rate / 48000.0
        window = max(64, 2 ** int(round(math.log2(scaled))))
    window = _check_int("window", window, WINDOW_MIN, WINDOW_MAX)
    if window & (window - 1):
        raise ParameterError(f"window must be a power of two, got {window}")
    if hop is None:
        hop = window // p["hop_div"]
    hop = _check_int("hop", hop, 1)
    if window % hop or not (window // HOP_MIN_DIV <= hop <= window // HOP_MAX_DIV):
        raise ParameterError(
            f"hop must divide the window and lie between window/{HOP_MIN_DIV} and "
            f"window/{HOP_MAX_DIV} (50 % to 87.5 % overlap), got hop={hop} for window={window}")
    redundancy = p["redundancy"] if redundancy is None else redundancy
    redundancy = _check_int("redundancy", redundancy, 1, REDUNDANCY_MAX)
    if redundancy & (redundancy - 1):
        allowed = ", ".join(str(1 << i) for i in range(REDUNDANCY_MAX.bit_length()))
        raise ParameterError(f"redundancy must be a power of two ({allowed}), got {redundancy}")
    if s is None and r is None and p["iterations"] is not None:
        s, r = rate_schedule(p["s"], p["r"], window, p["window48"])
    s = _check_int("s", p["s"] if s is None else s, 1)
    r = _check_int("r", p["r"] if r is None else r, 1)
    epsilon = p["epsilon"] if epsilon is None else epsilon
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) \
            or not math.isfinite(epsilon) or epsilon < 0:
        raise ParameterError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    if iterations is None and p["iterations"] is not None:
        iterations = rate_budget(p["iterations"], sample_rate)
    if iterations is not None:
        iterations = _check_int("iterations", iterations, 1, ITERATIONS_MAX)
    warm_start = p["warm_start"] if warm_start is None else bool(warm_start)
    window_shape = p["window_shape"] if window_shape is None else window_shape
    if window_shape not in WINDOW_SHAPES:
        raise ParameterError(f"window_shape must be 'hann' or 'lowdelay', got {window_shape!r}")
    if window_shape == "lowdelay":
        if synthesis_length is None:   # a preset's scales with the window
            synthesis_length = window // p.get("synthesis_div", 2)
        synthesis_length = _check_int("synthesis_length", synthesis_length, 2 * hop, window)
        if lookahead is None:   # a preset's is a number of hops, as far as it fits
            lookahead = min(p.get("lookahead_hops", 0) * hop, synthesis_length - 2 * hop)
        lookahead = _check_int("lookahead", lookahead, 0, synthesis_length - 2 * hop)
        if (synthesis_length - lookahead) % hop:
            raise ParameterError(f"lookahead must leave a multiple of the hop ({hop}) of the "
                                 f"synthesis length ({synthesis_length}), got {lookahead}")
    elif lookahead:
        raise ParameterError("lookahead needs window_shape='lowdelay'")
    else:
        lookahead = 0
    budget_pool = p.get("budget_pool", 0) if budget_pool is None else budget_pool
    budget_pool = _check_int("budget_pool", budget_pool, 0, POOL_MAX)
    if precision is None:   # the social solver's may differ (highquality: fftwf)
        precision = p.get("social_precision" if algorithm == "social" else "precision",
                          p.get("precision", "double"))
    precision = _check_choice("precision", precision, PRECISIONS)
    past_final = p.get("past_final", False) if past_final is None else bool(past_final)
    prior_weight = p.get("prior_weight", 0.0) if prior_weight is None else prior_weight
    if isinstance(prior_weight, bool) or not isinstance(prior_weight, (int, float)) \
            or not math.isfinite(prior_weight) or prior_weight < 0:
        raise ParameterError(f"prior_weight must be a finite number >= 0, got {prior_weight!r}")
    adapt_s = p.get("adapt_s", 0.0) if adapt_s is None else adapt_s
    if isinstance(adapt_s, bool) or not isinstance(adapt_s, (int, float)) \
            or not math.isfinite(adapt_s) or adapt_s < 0:
        raise ParameterError(f"adapt_s must be a finite number >= 0, got {adapt_s!r}")
    second_solve = p.get("second_solve", 0) if second_solve is None else second_solve
    second_solve = _check_int("second_solve", second_solve, 0, ITERATIONS_MAX)
    second_adapt_s = p.get("second_adapt_s", 0.0) if second_adapt_s is None else second_adapt_s
    if isinstance(second_adapt_s, bool) or not isinstance(second_adapt_s, (int, float)) \
            or not math.isfinite(second_adapt_s) or second_adapt_s < 0:
        raise ParameterError(f"second_adapt_s must be a finite number >= 0, got {second_adapt_s!r}")
    second_reliable = p.get("second_reliable", 0.0) if second_reliable is None else second_reliable
    if isinstance(second_reliable, bool) or not isinstance(second_reliable, (int, float)) \
            or not 0.0 <= second_reliable <= 1.0:
        raise ParameterError(f"second_reliable must be a number from 0 to 1, got {second_reliable!r}")
    if hedge is None:   # the preset's (fastest: 2), for its frame solver only
        hedge = p.get("hedge", 0) if algorithm != "social" else 0
    hedge = _check_int("hedge", hedge, 0, HEDGE_MAX)
    if hedge > 1 and algorithm == "social":
        raise ParameterError("hedge needs a frame solver (aspade, sspade, sspade-original); "
                             "the social solver has no trajectories")
    hedge_budget = p.get("hedge_budget", 1.0) if hedge_budget is None else hedge_budget
    if isinstance(hedge_budget, bool) or not isinstance(hedge_budget, (int, float)) \
            or not 0.0 < hedge_budget <= 1.0:
        raise ParameterError(f"hedge_budget must be a number above 0 and at most 1, "
                             f"got {hedge_budget!r}")
    if social is not None and not isinstance(social, dict):
        raise ParameterError(f"social must be a dict of social_* settings, got {social!r}")
    soc = check_social({**SOCIAL_DEFAULTS, **p.get("social", {}), **(social or {})}, hop)
    return Settings(window, hop, redundancy, algorithm, s, r, float(epsilon),
                    iterations, warm_start, window_shape, synthesis_length, budget_pool,
                    precision, past_final=past_final, prior_weight=float(prior_weight),
                    adapt_s=float(adapt_s), lookahead=lookahead, second_solve=second_solve,
                    second_adapt_s=float(second_adapt_s), second_reliable=float(second_reliable),
                    hedge=hedge, hedge_budget=float(hedge_budget),
                    heavy_width=float(p.get("heavy_width", 1.0)), **soc)


def check_social(soc, hop):
    """The social solver's settings (a dict of SOCIAL_DEFAULTS' keys)."""
    unknown = set(soc) - set(SOCIAL_DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown social setting(s) {', '.join(sorted(unknown))}; "
                             f"use {', '.join(SOCIAL_DEFAULTS)}")
    out = {}
    for key in ("social_block", "social_margin"):
        v = _check_int(key, soc[key], 0, 1 << 24)
        if v % hop:
            raise ParameterError(f"{key} must be a multiple of the hop ({hop}), got {v}")
        out[key] = v
    out["social_levels"] = _check_int("social_levels", soc["social_levels"], 1, 10000)
    out["social_iterations"] = _check_int("social_iterations", soc["social_iterations"], 1,
                                          ITERATIONS_MAX)
    tail = soc["social_tail"]
    if isinstance(tail, bool) or not isinstance(tail, (int, float)) or not 0 <= tail < 1:
        raise ParameterError(f"social_tail must be a fraction of the iterations, 0 <= f < 1, "
                             f"got {tail!r}")
    out["social_tail"] = float(tail)
    ta = soc["social_tail_weight"]
    if isinstance(ta, bool) or not isinstance(ta, (int, float)) or not 0 < ta <= 1:
        raise ParameterError(f"social_tail_weight must be a weight, 0 < a <= 1, got {ta!r}")
    out["social_tail_weight"] = float(ta)
    w2 = soc["social_weight2"]
    if isinstance(w2, bool) or not isinstance(w2, (int, float)) or not 0 < w2 < 1:
        raise ParameterError(f"social_weight2 must be a weight, 0 < w < 1, got {w2!r}")
    out["social_weight2"] = float(w2)
    try:
        lam = tuple(float(v) for v in soc["social_lambda"])
    except (TypeError, ValueError):
        lam = ()
    if len(lam) != 2 or not all(math.isfinite(v) and v > 0 for v in lam):
        raise ParameterError(f"social_lambda must be two numbers > 0 (max, min), "
                             f"got {soc['social_lambda']!r}")
    out["social_lambda"] = lam
    for key in ("social_neigh", "social_neigh2"):
        if key == "social_neigh2" and soc[key] is None:
            out[key] = None
            continue
        nb = tuple(soc[key]) if isinstance(soc[key], (tuple, list)) else ()
        if len(nb) != 2:
            raise ParameterError(f"{key} must be (bins, frames), got {soc[key]!r}")
        nb = tuple(_check_int(key, v, 1, 99) for v in nb)
        if not all(v % 2 for v in nb):
            raise ParameterError(f"{key} sizes must be odd, got {nb}")
        out[key] = nb
    return out


def survey(algorithm="aspade"):
    """The survey's settings (Zaviska et al. 2021) at any rate."""
    return Settings(8192, 2048, 2, algorithm, 1, 2, 0.1, None, False, "hann")


__all__ = ["PRESETS", "ALGORITHMS", "PLANS", "PRECISIONS", "check_threads", "Settings", "resolve", "rate_budget",
           "rate_schedule", "survey", "replace", "check_plan", "check_social", "SOCIAL_DEFAULTS"]
