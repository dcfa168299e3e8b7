"""The hedge a live stream can afford on this machine's cores: what
``rtdeclip live|monitor --hedge auto`` (the default) runs.

A hedge (``Declipper(hedge=N)``) solves a smeared rail N times per frame,
each channel's trajectories spread over the stream's lanes (one thread
each, csrc/stream.c).  ``auto`` takes as many trajectories per channel as
the processors give each its own lane, so no lane solves more per hop than
an unhedged stream's does: the real-time margin per thread stays what the
preset has, and only otherwise idle cores do the extra work.  On the lossy
benchmark's streams (the four clips at 3-20 dB through all eight codecs,
``fastest`` and ``average``; 181 of 256 targets unhedged) hedge 3 met 206,
4 met 202, 5 met 209, and 2 only 187 with a cell 3.1 dB down (its second
width is only narrower): fewer than three per channel is no hedge.

Examples::

    >>> auto_hedge(channels=2, preset="average", threshold_auto=True, cpus=8)
    4
    >>> auto_hedge(channels=2, preset="average", threshold_auto=True, cpus=2)
    0
    >>> auto_hedge(channels=1, preset="fastest", threshold_auto=True, cpus=16)
    5
"""
import os

MIN_TRAJECTORIES = 3   # hedge 2 gained little and lost 3.1 dB on one cell
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
    up to 5, or 0 when fewer than 3 fit or when the levels are given (no
    smeared rail to hedge).  With ``lowlatency`` the lane of a channel's
    first trajectory also runs the preset's second solve, as unhedged: no
    lane solves more than an unhedged stream's.
    ``highquality`` (the social solver, no trajectories): 0."""
    if not threshold_auto or str(preset).lower() == "highquality":
        return 0
    n = min(MAX_TRAJECTORIES, (cpus or processors()) // max(1, int(channels)))
    return n if n >= MIN_TRAJECTORIES else 0


def describe(hedge, asked, channels, cpus=None):
    """One line for the console: the hedge in use and, with auto, why."""
    what = f"{hedge} trajectories over a smeared rail's width" if hedge else "off"
    if asked != "auto":
        return f"hedge: {what}"
    return (f"hedge: {what} (auto: {cpus or processors()} processors, {channels} channels; "
            f"{MIN_TRAJECTORIES} per channel need {MIN_TRAJECTORIES * channels})")
