"""Whole-signal declipping: ``declip``.

Runs the block processor over the signal followed by enough silence to
flush it and drops the delay, so offline and streaming results are the same
samples.  With window 8192, hop 2048, redundancy 2, s=1, r=2, epsilon=0.1 and
the true clip level this is the survey's algorithm (Zaviska et al. 2021).
"""
from concurrent.futures import ThreadPoolExecutor
import os

import numpy as np

from rtdeclip.core import dc_restore as dc_undo, hedge, levels as clip_levels, named, params, \
    resample, sections as cuts
from rtdeclip.core.declipper import Declipper
from rtdeclip.core.detect import (codec_family, detect_clipping, exact_rail, for_preset,
                                  told_at_rate)
from rtdeclip.errors import ParameterError

CHUNK = 1 << 16  # samples per call into C: bounded temporary memory


def first_nonfinite(y):
    """Index (frame, channel) of the first NaN/Inf sample, or None."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return None
    flat = int(np.flatnonzero(bad.reshape(-1))[0])
    return divmod(flat, y.shape[1]) if y.ndim == 2 else (flat, 0)


def aligned(d, chunks):
    """Run the Declipper ``d`` over ``chunks`` (consecutive input blocks),
    then flush it: yields output blocks with the delay removed, so that
    together they line up sample for sample with the input.  A yielded
    block may be a view of a buffer the next step overwrites: use it before
    asking for the next.  The loop of ``declip`` and of the file pipeline.

    >>> import numpy as np, rtdeclip
    >>> d = rtdeclip.Declipper(8000, preset="fastest", threshold=0.5, plan="estimate")
    >>> x = np.clip(np.sin(np.arange(3000) / 5.0), -0.5, 0.5)
    >>> y = np.concatenate([b.copy() for b in aligned(d, np.array_split(x, 7))])
    >>> y.shape == x.shape and bool(np.abs(y).max() > 0.5)
    True
    """
    skip, out = d.latency_samples, None   # the first latency_samples out are the delay
    for chunk in chunks:
        if out is None or out.shape != chunk.shape:
            out = np.empty(chunk.shape)
        y = d.process(np.ascontiguousarray(chunk, dtype=np.float64), out=out)
        drop = min(skip, len(y))
        skip -= drop
        if len(y) > drop:
            yield y[drop:]
    y = d.flush()
    if len(y) > skip:
        yield y[skip:]


def _one_channel(x, sample_rate, sets, kwargs, found=None):
    """One channel with its levels, ``sets``: [(pos, neg)], or one pair per
    width of a smeared rail's hedge (``core.hedge``); ``found``: its
    ``ChannelClipping`` when a second pass follows the hedge (``core.named``)."""
    # resolved against the whole signal already: no stream tolerance
    def make(pair):
        return Declipper(sample_rate, channels=1, threshold=clip_levels.Resolved([pair]), **kwargs)
    d = make(sets[0]) if len(sets) == 1 else hedge.Hedged(make, sets)
    d = named.after_hedge(d, make, sets, None if found is None else [found])
    out = np.empty(len(x))
    pos = 0
    try:
        for y in aligned(d, (x[start:start + CHUNK] for start in range(0, len(x), CHUNK))):
            out[pos:pos + len(y)] = y
            pos += len(y)
    finally:
        if hasattr(d, "close"):
            d.close()
    return out, d.stats


def _levels(y2, sample_rate, threshold, channels, lossy=False, hedged=True, found=None,
            preset=None):
    """Per channel the solver's level sets [(pos, neg), ...]: detected over
    the whole signal ("auto"; a smeared rail gets one set per width of
    ``core.hedge`` when ``hedged``; ``found``: that detection, made
    already; as ``preset`` wants them, ``detect.for_preset``), or the
    given ones snapped to the peaks, with a warning where they look wrong
    (clip_levels.notes); and per channel what was detected (None for given
    levels)."""
    given = clip_levels.parse(threshold, channels)
    if given is None:
        if found is None:
            found = detect_clipping(y2, sample_rate, lossy=lossy)
        found = for_preset(found, preset)
        sets = hedge.level_sets(found) if hedged else [[f.thresholds for f in found]]
        # a channel whose rails are not smeared is solved once
        return [[s[c] for s in sets] if len({s[c] for s in sets}) > 1 else [sets[0][c]]
                for c in range(channels)], found
    peaks = clip_levels.peaks_of(y2)
    levels, _ = clip_levels.snap(given, peaks, clip_levels.quantisation_step(y2))
    clipped = [int(np.count_nonzero(y2[:, c] >= p) + np.count_nonzero(y2[:, c] <= q))
               for c, (p, q) in enumerate(levels)]
    clip_levels.warn(clip_levels.notes(given, peaks, clipped, len(y2),
                                       channels_named=channels > 1))
    return [[pair] for pair in levels], [None] * channels


def _spans(seen, rate, threshold, channels, lossy, sectioned):
    """[((start, stop), detection or None)] at the solver's rate: one span
    (detected in ``_levels``), or with "auto" levels and ``sectioned`` the
    recordings the file holds, each with its own detection
    (``core.sections``)."""
    whole = [((0, len(seen)), None)]
    if not sectioned or clip_levels.parse(threshold, channels) is not None:
        return whole
    finder = cuts.SectionFinder(rate, channels, codec=lossy if isinstance(lossy, str) else None)
    for start in range(0, len(seen), CHUNK):
        finder.scan(seen[start:start + CHUNK])
    parts = cuts.recordings(finder, lambda spans: [detect_clipping(seen[a:b], rate, lossy=lossy)
                                                   for a, b in spans])
    return whole if parts is None else parts


def declip(y, sample_rate, preset="highquality", threshold="auto", *, plan="estimate",
           jobs=None, return_stats=False, source_rate=None, lossy=False, hedge=True,
           second_pass=True, sections=True, dc_restore=None, **settings):
    """Declip a whole signal; same shape and dtype out, no delay.

    ``y``: float32/float64 array, (frames,) or (frames, channels).
    ``threshold``: "auto" (estimated per channel and polarity from the whole
    signal), a level theta (clipped where y >= theta or y <= -theta), a
    (pos > 0, neg < 0) pair, or a list of those per channel.  A given level
    snaps to the channel's peak when that lies within 0.01 dB (or the
    input's quantisation step) of it, so a level typed from a log finds its
    rail (:mod:`rtdeclip.core.levels`); one that leaves no sample, almost
    none, or most of the signal clipped raises a ``ClipLevelWarning``.
    With ``return_stats`` each channel's stats hold the levels used
    (``thresholds``).  The other solver
    arguments override the preset's (see :class:`rtdeclip.Declipper`).
    Channels are solved in parallel threads (``jobs``, default: number of
    cores); ``return_stats`` adds each channel's solver counters.
    ``source_rate``: the rate the signal had before it was brought to
    ``sample_rate`` by an integer factor of 2, 3, 4 or 6 (an Opus file from a
    16 kHz source decodes at 48 kHz): detection and the solver then run at
    that rate (a given ``threshold`` applies there) and only their repair is
    brought back (:mod:`rtdeclip.core.resample`), which gains several dB
    on such signals; "auto": when the spectrum is empty above such a rate
    of 8-24 kHz (``resample.BandLimit``, as ``rtdeclip file`` decides);
    None (default): at ``sample_rate``.
    ``lossy``: the signal was decoded from MP3, AAC, Vorbis, Opus...: the
    detector ("auto") then takes every hump at the top for a codec-smeared
    rail, as ``rtdeclip file`` does for such files (docs/lossy.md); True,
    or the codec family's name: "opus" declares Opus's wide rails nearer
    their centre at moderate clipping (``detect.codec_family_width``), as
    ``rtdeclip file`` does for an Opus file.
    ``hedge`` (default True): a smeared rail found by "auto" (codec or
    noisy: a lossy decoder, a resampler, dither) is declipped once per width
    of :mod:`rtdeclip.core.hedge` (five solves) and the mean returned;
    False: once, at the declared width.  Exact rails: one solve either way.
    ``second_pass`` (default True): after the hedge, a smeared rail is
    solved again on the clipped set the hedge's solution names (samples
    it lifts over the rail's centre; the others kept), five times, and the
    mean of that and the hedge returned (:mod:`rtdeclip.core.named`): about
    twice the CPU; not with ``source_rate`` or the social solver.
    ``dc_restore`` (default None: when ``lossy`` names Opus and the levels
    are "auto"): the Opus
    encoder's 3 Hz DC reject undone first (:mod:`rtdeclip.core.dc_restore`):
    clipping's slow mean, which the encoder took off and which moved both
    rails with it, put back (the lossy benchmark's speech through Opus at
    input SDR 7: 7.5 -> 22.5 dB; music at 7 dB +2.7 dB), in the output
    too; ``return_stats`` then says so per channel (``dc_restored``).
    True / False: always / never.
    ``sections`` (default True): with "auto" levels, a signal of several
    recordings clipped at different levels (an album in one file, a radio
    recording) is cut where its level changes and each part detected and
    solved on its own (:mod:`rtdeclip.core.sections`; ``return_stats``
    then lists them per channel as ``sections``); a single recording
    stays one part.

    >>> import numpy as np, rtdeclip
    >>> t = np.arange(8000) / 8000
    >>> clean = 0.8 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 331 * t)
    >>> clipped = np.clip(clean, -0.6, 0.6)
    >>> restored = rtdeclip.declip(clipped, 8000, preset="fastest", threshold=0.6)
    >>> bool(rtdeclip.sdr(clean, restored) > rtdeclip.sdr(clean, clipped))
    True
    """
    params.check_sample_rate(sample_rate)
    if not isinstance(y, np.ndarray):
        raise ParameterError(f"y must be a numpy array, got {type(y).__name__}")
    if y.dtype not in (np.float32, np.float64):
        raise ParameterError(f"y must be float32 or float64, got {y.dtype}")
    if y.ndim not in (1, 2) or y.shape[0] == 0 or (y.ndim == 2 and y.shape[1] == 0):
        raise ParameterError(f"y must be a non-empty (frames,) or (frames, channels) array, "
                             f"got shape {y.shape}")
    channels = 1 if y.ndim == 1 else y.shape[1]
    params.check_channels(channels)
    bad = first_nonfinite(y)
    if bad is not None:
        raise ParameterError(f"y has a non-finite sample ({y[bad if y.ndim == 2 else bad[0]]}) "
                             f"at frame {bad[0]}, channel {bad[1]}")
    # the settings are checked before the (long) detection, by the code
    # that checks them for the Declipper
    params.resolve(sample_rate, preset, **settings)
    params.check_plan(plan)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer))
                             or jobs < 1):
        raise ParameterError(f"jobs must be an integer >= 1 (None: one per core), got {jobs!r}")
    y2 = y.reshape(len(y), channels).astype(np.float64)
    if dc_restore is None:   # as rtdeclip file: an Opus input with auto levels
        dc_restore = isinstance(lossy, str) and codec_family(lossy) == "opus" and \
            clip_levels.parse(threshold, channels) is None
    tripped, y_in = None, y2
    if dc_restore:   # before anything looks at the rails (and before a source rate)
        y_dc, tripped = dc_undo.restored(y2, sample_rate)
        # a channel whose guard tripped was not DC-rejected: kept as it came
        y2 = np.where(tripped, y2, y_dc)
    if isinstance(source_rate, str) and source_rate == "auto":   # the spectrum tells
        band = resample.BandLimit(sample_rate)
        band.scan(y2)
        factor = band.factor()
        # an exact rail at this rate: it clipped here, after any resampling
        # (a resampler smears rails), as rtdeclip file decides
        if factor > 1 and exact_rail(detect_clipping(y2, sample_rate, lossy=lossy)):
            factor = 1
    else:
        factor = resample.check_source_rate(sample_rate, source_rate)
    # with a source rate, the levels are those of the signal at that rate
    # (what the solver sees inside the Declipper's chain, csrc/source_rate.c)
    seen = y2 if factor == 1 else resample.decimated(y2, factor)
    rate, lossy = sample_rate // factor, told_at_rate(lossy, factor)
    spans = _spans(seen, rate, threshold, channels, lossy, sections)
    kwargs = dict(settings, preset=preset, plan=plan,
                  source_rate=rate if factor > 1 else None)
    # a section is solved with this much of its neighbours around it, so
    # that its frames near the cut see what the whole signal's would
    sett = params.resolve(sample_rate, preset, **settings)
    context, grid = 2 * sett.window * factor, sett.hop * factor
    jobs = jobs or os.cpu_count() or 1
    out = np.empty_like(y2)
    per_span = []
    clipped = np.zeros(channels, dtype=bool)   # any finite level, in any span
    with ThreadPoolExecutor(max_workers=min(jobs, channels)) as pool:
        for k, ((a, b), found) in enumerate(spans):
            sets, found = _levels(seen[a:b], rate, threshold, channels, lossy=lossy,
                                  hedged=bool(hedge), found=found, preset=preset)
            clipped |= [bool(np.isfinite(s).any()) for s in sets]
            a, b = a * factor, len(y2) if k == len(spans) - 1 else b * factor
            lo, hi = cuts.fed_from(a, context, grid), min(len(y2), b + context)
            # (sets: per channel, the level pairs of its solves)
            fed = y2[lo:hi] if len(spans) == 1 else cuts.quiet_context(
                y2[lo:hi], a - lo, b - lo, [cuts.inclusive([[pair] for pair in s])[0]
                                            for s in sets])
            results = list(pool.map(lambda c: _one_channel(
                fed[:, c], sample_rate, sets[c], kwargs,
                found[c] if second_pass else None), range(channels)))
            for c, r in enumerate(results):
                out[a:b, c] = r[0][a - lo:b - lo]
            # the levels at the declared width (the middle set of a hedge)
            per_span.append(((a, b), [dict(r[1], thresholds=tuple(sets[c][len(sets[c]) // 2]))
                                      for c, r in enumerate(results)]))
    if dc_restore:   # a channel with nothing to declip leaves as it came (as files do)
        out[:, ~clipped] = y_in[:, ~clipped]
        # the others high-passed at 0.3 Hz: the integral's slow wander out
        out = dc_undo.highpassed(out, sample_rate, on=clipped & ~tripped)
    out = out.astype(y.dtype).reshape(y.shape)
    if return_stats:
        stats = _stats_of(per_span, sample_rate)
        for c, st in enumerate(stats):
            st["dc_restored"] = bool(dc_restore) and not tripped[c] and bool(clipped[c])
        return out, stats
    return out


def _stats_of(per_span, sample_rate):
    """Per channel stats of a signal solved in sections: counters summed
    (maxima kept), ``thresholds`` those of the section that clipped most,
    and with several sections ``sections``: [(start_s, stop_s,
    thresholds)]."""
    if len(per_span) == 1:
        return per_span[0][1]
    merged = []
    for c in range(len(per_span[0][1])):
        stats = [st[c] for _, st in per_span]
        one = cuts.summed([{k: v for k, v in s.items() if k != "thresholds"} for s in stats])
        one["thresholds"] = max(stats, key=lambda s: s["clipped_samples"])["thresholds"]
        one["sections"] = [(a / sample_rate, b / sample_rate, st[c]["thresholds"])
                           for (a, b), st in per_span]
        merged.append(one)
    return merged
