"""The hedge a stream can afford on this machine's cores: what
``rtdeclip live|monitor --hedge auto`` (the default) and
``Declipper(..., hedge="auto")`` run.

A hedge (``Declipper(hedge=N)``) solves a smeared rail N times per frame,
each channel's trajectories spread over the stream's lanes (one thread
each, csrc/stream.c).  ``auto`` takes as many trajectories per channel as
the processors give each its own lane, so no lane solves more per hop than
an unhedged stream's does: the real-time margin per thread stays what the
preset has, and only otherwise idle cores do the extra work.  On the lossy
benchmark's streams (the four clips at 3-20 dB through all eight codecs,
``fastest`` and ``average``; 181 of 256 targets unhedged) hedge 2 met 202
(+0.28 dB on the mean), 3 met 199 (+0.32), 4 met 209 (+0.39), 5 met 209
(+0.40); on 560 held-out cells (nine more SQAM excerpts, 3-20 dB) 2 gains
+0.26 dB and 3 +0.42 (docs/lossy.md, fifteenth session).  So two per
channel is a hedge: a 4-core machine hedges a stereo stream 2 ways, an
8-core one 4 ways.  ``fastest`` and ``average`` have their own hedge of 2
(``params.PRESETS``, what a ``Declipper`` runs by default), which
``auto`` never goes below: a lane solving two of ``fastest``'s frames
still runs 12-13x real time on the worst case, cheaper than one
``average`` lane, and ``average``'s pair shares two thirds of its budget
each (``hedge_budget``: 1.33x an unhedged lane); a hedge asked for takes
the preset's share too.  ``lowlatency`` has none of its own (its pair
needs the whole budget: 1.9x its CPU); its second solve keeps its own
trajectory beside the hedge, and a pair gained 10 of its 128 lossy
stream targets (seventeenth session, docs/lossy.md), so it hedges from
2 as the others.

Examples::

    >>> auto_hedge(channels=2, preset="average", threshold_auto=True, cpus=8)
    4
    >>> auto_hedge(channels=2, preset="average", threshold_auto=True, cpus=4)
    2
    >>> auto_hedge(channels=2, preset="average", threshold_auto=True, cpus=2)
    2
    >>> auto_hedge(channels=1, preset="fastest", threshold_auto=True, cpus=16)
    5
    >>> auto_hedge(channels=1, preset="lowlatency", threshold_auto=True, cpus=2)
    2
    >>> auto_hedge(channels=2, preset="fastest", threshold_auto=True, cpus=2)
    2
"""
import os

from rtdeclip.core.params import PRESETS

MIN_TRAJECTORIES = 2   # a pair (1 and 1.25 x the width) already gains +0.27 dB
MAX_TRAJECTORIES = 5   # RTD_HEDGE_MAX


def processors():
    """Processors this process may run on (its affinity where the system
    says, else all online)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_hedge(channels, preset, threshold_auto, cpus=None):
    """Trajectories per channel for ``--hedge auto``: processors // channels
    up to 5 (0 when fewer than 2 fit), never fewer than the preset's own
    (``own``: fastest and average 2), or 0 when
    the levels are given (no smeared rail to hedge) or with
    ``highquality`` (the social solver, no trajectories).  With
    ``lowlatency`` the lane of a channel's first trajectory also runs the
    preset's second solve."""
    name = str(preset).lower()
    if not threshold_auto or name == "highquality":
        return 0
    n = min(MAX_TRAJECTORIES, (cpus or processors()) // max(1, int(channels)))
    return max(n if n >= MIN_TRAJECTORIES else 0, own(name))


def own(preset):
    """The preset's own hedge (``params.PRESETS``: fastest and average 2,
    else 0): what ``auto`` gives it at least."""
    return PRESETS.get(str(preset).lower(), {}).get("hedge", 0)


def describe(hedge, asked, channels, cpus=None, preset=None):
    """One line for the console: the hedge in use and, with auto, why."""
    what = f"{hedge} trajectories over a smeared rail's width" if hedge else "off"
    if asked != "auto":
        return f"hedge: {what}"
    need = MIN_TRAJECTORIES * channels
    if not hedge:     # too few processors, or nothing to hedge (highquality, given levels)
        short = str(preset).lower() != "highquality" and (cpus or processors()) < need
        why = f"{MIN_TRAJECTORIES} per channel need {need}" if short else "nothing to hedge"
    else:
        why = f"{preset}'s own" if hedge == own(preset) else f"{hedge} per channel, a processor each"
    return f"hedge: {what} (auto: {cpus or processors()} processors, {channels} channels; {why})"
