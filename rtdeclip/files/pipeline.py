"""One file through the whole chain, in bounded memory; ``run`` calls the
stages in order:

    open_reference / detect_levels: decode (pass 1: extremes) -> decode
        (pass 2: histograms near the rails) -> thresholds
    declip_to_sink: decode (pass 3) -> Declipper in chunks, delay removed
        (``core.offline.aligned``; clipped samples counted on the way) ->
        float32 WAV, or a float32 scratch file (``files.sinks``, atomic)
    (Opus from a 8-24 kHz source: detection and the solver run at the
    source's rate, ``files.source_rate``)
    write_pcm: [-> PCM with headroom gain]
    build_report: [-> SDR against a reference]

Streaming through ``Declipper`` gives the same samples as processing the
file in one piece (the block processor is block-size invariant), so memory
is a few chunks whatever the length.
"""
import copy
import threading
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from rtdeclip.files import sections as filesections, source_rate as srate
from rtdeclip.files.audio_io import AudioSource
from rtdeclip.files.sinks import (FORMATS, AtomicWav, Float32Scratch, check_output, output_path,
                                  refuse_overwrite)
from rtdeclip.core import levels as clip_levels
from rtdeclip.core.declipper import Declipper
from rtdeclip.core.offline import aligned
from rtdeclip.core.detect import (ClipCounter, ClipDetector, codec_family, exact_rail, for_preset,
                                  is_lossy, told_at_rate)
from rtdeclip.core import dc_restore as dc_undo, hedge, named, params, sections as cuts
from rtdeclip.errors import FileError, ParameterError

CHUNK = 1 << 16
REFERENCE_SLACK = 4096   # samples a reference may differ by (codec padding)
stop_event = threading.Event()   # set on Ctrl-C / SIGTERM: every job stops at its next chunk


@dataclass
class FileJob:
    input: str
    output: str
    reference: str | None = None
    preset: str = "average"
    algorithm: str | None = None  # None: the preset's (HighQuality: social)
    threshold: str = "auto"     # auto | DBFS | POS_DBFS,NEG_DBFS
    fmt: str = "float32"
    progress: object = None     # callable(fraction) or None
    source_rate: object = "auto"  # auto | off | Hz (files.source_rate.parse)
    hedge: bool = True          # smeared rails: hedged over the width (core.hedge)
    second_pass: bool = True    # ... then solved on the set the hedge names (core.named)
    sections: bool = True       # auto levels: a file of several recordings cut where its
                                # level changes, each part detected on its own (core.sections)
    restore_level: bool = True  # a declipped MP3 brought back to the level LAME took
                                # off its input (files.encoder_level)
    dc_restore: bool = True     # an Opus file's DC reject undone (core.dc_restore)


def db(v):
    return 20 * np.log10(v) if v and v > 0 else float("-inf")


def parse_threshold_db(spec, channels):
    """--threshold: 'auto', 'DBFS' or 'POS_DBFS,NEG_DBFS' -> None or levels
    (:func:`rtdeclip.core.levels.parse_db`); ParameterError when malformed."""
    return clip_levels.parse_db(spec, channels)


def _check(job):
    if stop_event.is_set():
        raise KeyboardInterrupt


# share of the progress bar for the two detection passes (decoding only);
# declipping takes the rest
DETECT_SHARE = 0.1


def run(job: FileJob):
    """Declip one file; returns the report dict (``report.service_log``
    turns it into the service's log).  Raises RtdeclipError (FileError
    naming the file, ParameterError).  The stages, in order: open the input
    (and reference), detect the clip levels, declip to a sink, PCM gain,
    build the report."""
    t_start = time.perf_counter()
    if job.algorithm is None:
        job.algorithm = params.resolve(48000, job.preset).algorithm
    progress = job.progress or (lambda frac: None)
    src = AudioSource(job.input)
    ref = open_reference(job, src)
    if job.dc_restore and parse_threshold_db(job.threshold, src.channels) is None:
        # every pass from here sees the rails the Opus encoder's DC reject
        # moved put back (one decoding pass to check its guard)
        src.restore_dc()
    # the detection passes take the first 2/3 of DETECT_SHARE, the search
    # for several recordings (auto levels) the rest
    found, n, (in_peaks, lsb), factor, how = detect_at_source_rate(
        job, src, lambda frac: progress(frac * 2 / 3))
    if ref is not None:   # before anything is written
        check_reference_length(job, ref, n, src.sample_rate)
    fixed = parse_threshold_db(job.threshold, src.channels)
    if fixed is not None:   # given levels snap to a peak within the tolerance
        levels, snapped = clip_levels.snap(fixed, in_peaks, lsb)
        clipping = any(pp >= p or pn >= -q for (p, q), (pp, pn) in zip(levels, in_peaks))
    else:   # as the preset wants them (a heavily clipped codec rail's width)
        found = for_preset(found, job.preset)
        levels = [solver_levels(c, src.codec) for c in found]
        snapped, clipping = [(False, False)] * src.channels, None
    # a smeared rail (codec, noisy): declipped once per width of the hedge,
    # the mean kept (core.hedge); given levels and exact rails: once
    sets = hedge.level_sets(found) if job.hedge and fixed is None else [levels]
    parts = find_sections(job, src, factor, n, lambda frac: progress(
        DETECT_SHARE * (2 + frac) / 3)) if fixed is None and job.sections else None
    if parts is not None:   # several recordings: each section's own levels
        parts = [(span, for_preset(f, job.preset)) for span, f in parts]
        parts = [Section(span, f, lv, hedge.level_sets(f) if job.hedge else [lv])
                 for span, f in parts for lv in [[solver_levels(c, src.codec) for c in f]]]
        parts[-1].span = (parts[-1].span[0], max(parts[-1].span[1], n // factor + 1))
        clipping = any(np.isfinite(lv).any() for p in parts for lv in p.levels)
    t_proc = time.perf_counter()
    # PCM needs the restored peaks before writing, so it goes through a raw
    # float32 scratch file first
    sink = None
    try:   # whatever happens, Ctrl-C included, no temporary stays
        sink = AtomicWav(job.output, src.sample_rate, src.channels, "float32") \
            if job.fmt == "float32" else Float32Scratch(job.output, src.channels)
        out = declip_to_sink(job, src, levels, n, sink, progress, clipping, factor, sets,
                             found if job.second_pass else None, parts)
        if parts is None:
            out.counter.fill(found)
        else:   # the report's channels: the section that clipped most, counts of all
            out.counter.fill([p.found for p in parts])
            main = max(parts, key=lambda p: sum(f.clipped for f in p.found))
            levels, found = main.levels, summed_counts(main.found, [p.found for p in parts])
            main = parts.index(main)
        notes = [] if fixed is None else clip_levels.notes(
            fixed, in_peaks, [f.clipped for f in found], n, channels_named=src.channels > 1)
        t_done = time.perf_counter()
        gain = 1.0 if job.fmt == "float32" else write_pcm(job, src, sink, out.peaks)
    finally:
        if sink is not None:
            sink.abort()   # the scratch, or an output not committed; a committed one stays
    progress(1.0)
    timings = {"detect_s": t_proc - t_start, "declip_s": t_done - t_proc,
               "total_s": time.perf_counter() - t_start}
    report = build_report(job, src, n, levels, found, fixed is not None, out, gain, timings,
                          given_levels=fixed, snapped=snapped, notes=notes, factor=factor)
    report["source_rate_from"] = how
    report["main_section"] = None if parts is None else main + 1
    report["sections"] = None if parts is None else [
        {"start_s": p.span[0] * factor / src.sample_rate,
         "end_s": min(n, p.span[1] * factor) / src.sample_rate,
         "thresholds": [channel_report(c, lv, f) for c, (lv, f) in enumerate(zip(p.levels, p.found))]}
        for p in parts]
    # with sections, only theirs were solved (the whole file's sets are not)
    hedged = any(len(p.sets) > 1 for p in parts) if parts else len(sets) > 1
    report["hedge_widths"] = list(hedge.WIDTHS) if hedged and out.clipping_found else None
    report["hedge_cpu_s"] = out.hedge_cpu_s
    report["second_pass_shares"] = list(named.SHARES) \
        if out.stats and "second_pass_members" in out.stats else None
    if ref is not None:
        report["sdr"] = reference_sdr(job, src, ref, n, gain)
    return report


def open_reference(job, src):
    """The clean reference, if any, checked against the input's format."""
    if not job.reference:
        return None
    ref = AudioSource(job.reference)
    sr = src.sample_rate
    if ref.sample_rate != sr:
        # refused, not resampled: an SDR against a resampled reference would
        # measure the resampler too (documented in docs/lossy.md)
        why = " (Opus always decodes at 48 kHz)" if src.codec in ("opus", "libopus") else ""
        raise FileError(f"{job.reference}: reference is at {ref.sample_rate} Hz but the input "
                        f"decodes at {sr} Hz{why}; resample the reference to {sr} Hz "
                        f"(e.g. ffmpeg -i REF -ar {sr} REF_{sr}.wav)")
    diffs = [f"{ref.channels} channel(s) (input {src.channels})"
             if ref.channels != src.channels else ""]
    if any(diffs):
        raise FileError(f"{job.reference}: reference does not match the input: "
                        + ", ".join(d for d in diffs if d))
    return ref


def check_reference_length(job, ref, n, sr):
    n_ref = sum(len(c) for c in ref.chunks(CHUNK))
    if abs(n_ref - n) > REFERENCE_SLACK:
        raise FileError(f"{job.reference}: reference lasts {n_ref} samples "
                        f"({n_ref / sr:.3f} s), input {n} ({n / sr:.3f} s): "
                        f"more than codec padding apart")


def detect_at_source_rate(job, src, progress):
    """detect_levels at the rate the solver will run at: the file's, or its
    source's lower one (``files.source_rate``: --source-rate, the Opus
    header, or a spectrum empty above the lower rate's Nyquist frequency,
    measured on the way in pass 1).  Returns detect_levels' results with n
    at the file's rate, the factor and how it was found (None: not
    lowered)."""
    factor, how = srate.known_factor(src, job.source_rate)
    band = srate.BandLimit(src.sample_rate) if factor is None else None
    if factor is None:
        factor = 1
    solved = srate.Downsampled(src, factor) if factor > 1 else src
    found, n, peaks = detect_levels(job, solved, progress, band)
    # an exact rail at the file's rate: it clipped at that rate, after any
    # resampling (a resampler smears rails), so the spectrum is no source's
    if band is not None and band.factor() > 1 and not exact_rail(found):   # again, lower
        factor, how = band.factor(), "spectrum"
        solved = srate.Downsampled(src, factor)
        found, _, peaks = detect_levels(job, solved, progress)
    if factor > 1:
        n = solved.frames_in
    return found, n, peaks, factor, how


def detect_levels(job, src, progress, band=None):
    """Passes 1 and 2: clip levels per channel and polarity (pass 1 also
    feeds ``band``, a BandLimit, when given).  Returns the detector's
    findings per channel, the number of frames, and (the peaks per channel,
    the quantisation step) that given levels snap to."""
    det = ClipDetector(src.channels, lossy=told_at_rate(detector_lossy(src.codec),
                                                         getattr(src, "factor", 1)))
    for chunk in src.chunks(CHUNK):
        _check(job)
        det.scan_extremes(chunk)
        if band is not None:
            band.scan(chunk)
    n = det.n
    progress(DETECT_SHARE / 2)
    done = 0
    for chunk in src.chunks(CHUNK):
        _check(job)
        det.scan_counts(chunk)
        done += len(chunk)
        progress(DETECT_SHARE / 2 * (1 + done / n))
    peaks = [(float(det.top[0, c]), float(det.top[1, c])) for c in range(src.channels)]
    return det.result(), n, (peaks, det.lsb)


@dataclass
class Section:
    """One recording of a file of several (``core.sections``)."""
    span: tuple               # (start, stop) at the solver's rate
    found: list               # its detection, per channel
    levels: list              # its solver levels, per channel
    sets: list                # its hedge's level sets ([levels]: not hedged)


def find_sections(job, src, factor, n, progress=lambda frac: None):
    """With auto levels: the recordings the file holds, [((start, stop),
    detection)] at the solver's rate, when there are several (None: one).
    One decoding pass for the stream's estimator (``core.sections``), two
    more per round of detection when it cuts (``core.sections.recordings``).
    ``progress`` is told the fraction of the estimator's pass done (``n``:
    the file's frames)."""
    solved = srate.Downsampled(src, factor) if factor > 1 else src
    lossy = told_at_rate(detector_lossy(src.codec), factor)
    finder = cuts.SectionFinder(src.sample_rate // factor, src.channels,
                                codec=lossy if isinstance(lossy, str) else None)
    for chunk in solved.chunks(CHUNK):
        _check(job)
        finder.scan(chunk)
        progress(min(1.0, finder.n * factor / max(n, 1)))
    return cuts.recordings(finder, lambda spans: filesections.detect_spans(
        lambda: solved.chunks(CHUNK), spans, src.channels, lossy, lambda: _check(job)))


def summed_counts(main, every):
    """``main``'s detection (per channel) with the clipped counts of all
    sections' (``every``) added up."""
    out = []
    for c, f in enumerate(main):
        f = copy.copy(f)
        parts = [s[c] for s in every]
        f.clipped_high = sum(p.clipped_high for p in parts)
        f.clipped_low = sum(p.clipped_low for p in parts)
        f.longest_run = max(p.longest_run for p in parts)
        f.samples = sum(p.samples for p in parts)
        out.append(f)
    return out


@dataclass
class Declipped:
    """What pass 3 leaves for the report."""
    counter: ClipCounter      # samples the solver treated as clipped
    peaks: np.ndarray         # largest positive sample, largest |negative| one
    stats: dict | None        # the solver's counters (None: copied through)
    clipping_found: bool
    hedge_cpu_s: float = 0.0  # CPU of the hedge's threads (not the caller's)
    level_restored: float = 1.0   # the factor the output was raised by (restored_level)


def restored_level(job, src):
    """The factor a declipped file is raised by: the inverse of the scale
    its MP3 encoder applied (LAME at a constant or average bit rate up to
    224 kb/s, ``files.encoder_level``), 1.0 otherwise or when the job keeps
    the file's level.  Without it the reliable samples keep the encoder's
    -0.45 dB and the output's SDR against the recording stays under 26 dB
    (lossy benchmark: +2.4 to +6 dB of ΔSDR at input SDR 10-20 through
    128 kb/s; about ±0.2 dB at 3-7 dB, where the solver's error dominates).
    A file left as it came in (nothing clipped) keeps its level."""
    e = src.encoder_level
    return e.restore if job.restore_level and e is not None else 1.0


def declip_to_sink(job, src, levels, n, sink, progress, clipping=None, factor=1, sets=None,
                   found=None, parts=None):
    """Pass 3: decode, declip (or copy through when no channel clips:
    ``clipping`` False, or None and every level infinite) and write to
    ``sink``, which is committed (a float32 WAV) or kept for the PCM pass
    (scratch) when the block ends without error.  ``levels`` are used as
    they are (resolved against the whole file).  ``factor`` > 1: the solver
    runs at the rate divided by it and only its repair is brought back to
    the file's rate (``Declipper(source_rate=...)``); ``levels`` are then
    those of the signal at that rate.  ``sets``: several sets of levels
    (a codec rail's hedge, ``core.hedge``): one Declipper each, the mean
    written; with ``found`` (the detector's channels) a second pass on the
    set the hedge names follows it (``core.named``; not through a source
    rate or the social solver).  ``parts``: the file's recordings
    (``Section``), each solved by its own solver with its levels, sets and
    detection instead (``files.sections``)."""
    if clipping is None:
        clipping = any(np.isfinite(p) or np.isfinite(q) for p, q in levels)
    counter = ClipCounter(levels) if parts is None else filesections.SpanCounter(
        [p.span for p in parts], [p.levels for p in parts])
    peaks = np.zeros(2)
    solvers, used = [], []   # the solvers open, and the stats / pool CPU of those done

    def done(d):
        used.append((d.stats, d.pool_cpu_seconds if isinstance(d, (hedge.Hedged, named.Named))
                     else 0.0))
        if isinstance(d, (hedge.Hedged, named.Named)):
            d.close()

    def decoded():   # the input, shown on the progress bar on the way
        done = 0
        # copied through (nothing clipped): as decoded, no DC put back
        for chunk in src.chunks(CHUNK, as_decoded=not clipping):
            _check(job)
            yield chunk
            done += len(chunk)
            progress(DETECT_SHARE + (1 - DETECT_SHARE) * done / n)

    def counted(blocks):   # the input, its clipped samples counted
        for block in blocks:
            counter.scan(block)
            yield block

    def counted_at_source_rate(blocks):   # counted as the solver sees them
        down = srate.Decimator(factor, src.channels)
        for block in blocks:
            counter.scan(down.push(block))
            yield block
        counter.scan(down.finish())

    with sink as w:   # from here on any error or interrupt removes the sink
        def make(lv):
            return Declipper(src.sample_rate, channels=src.channels, preset=job.preset,
                             algorithm=job.algorithm, threshold=clip_levels.Resolved(lv),
                             source_rate=src.sample_rate // factor if factor > 1 else None)

        def solver(levels, sets, found):   # one set of levels, or a hedge of several
            d = make(levels) if not sets or len(sets) == 1 else hedge.Hedged(make, sets)
            return named.after_hedge(d, make, sets, found)

        def inputs():
            return (counted if factor == 1 else counted_at_source_rate)(decoded())

        if not clipping:
            blocks = counted(decoded())
        elif parts is None:
            solvers.append(solver(levels, sets, found))
            blocks = aligned(solvers[0], inputs())
        else:
            # each recording its own solver, fed a window's worth of its
            # neighbours on both sides (the spans are at the solver's rate)
            sett = params.resolve(src.sample_rate // factor, job.preset, algorithm=job.algorithm)
            blocks = filesections.solved_in_sections(
                inputs(), [(p.span[0] * factor, p.span[1] * factor) for p in parts],
                2 * sett.window * factor, sett.hop * factor,
                lambda k: solver(parts[k].levels, parts[k].sets,
                                 parts[k].found if found is not None else None),
                levels=[cuts.inclusive(p.sets) for p in parts], on_done=done)
        restore = restored_level(job, src) if clipping else 1.0
        # a channel whose DC reject was undone: its output high-passed at
        # 0.3 Hz, the integral's slow wander out (core.dc_restore)
        lows = dc_undo.Highpass(src.channels, src.sample_rate, on=src.dc_restore) \
            if clipping and src.dc_restore is not None and any(src.dc_restore) else None
        try:
            for block in blocks:
                if lows is not None:
                    block = lows.push(block).astype(block.dtype, copy=False)
                if restore != 1.0:
                    block = block * restore
                w.write(block)
                np.maximum(peaks, [block.max(), -block.min()], out=peaks)
        finally:
            # a section's solver is closed by its generator (on_done) when
            # it ends, or here on an error or interrupt
            if hasattr(blocks, "close"):
                blocks.close()
            for d in solvers:
                done(d)
    return Declipped(counter, peaks, cuts.summed([st for st, _ in used]) if clipping else None,
                     clipping, sum(cpu for _, cpu in used), restore)


def write_pcm(job, src, scratch, peaks):
    """PCM output from the float32 scratch, with the smallest gain that
    keeps the restored peaks within the format (positive full scale is one
    step below 1.0): never clip silently.  Returns the gain."""
    step = 1.0 / 32768 if job.fmt == "pcm16" else 1.0 / 8388608
    gain = min(1.0, (1.0 - step) / peaks[0] if peaks[0] > 0 else 1.0,
               1.0 / peaks[1] if peaks[1] > 0 else 1.0)
    with AtomicWav(job.output, src.sample_rate, src.channels, job.fmt) as w:
        for chunk in scratch.chunks(CHUNK):
            _check(job)
            w.write(chunk, gain=gain)
    return gain


def build_report(job, src, n, levels, found, given, out, gain, timings, given_levels=None,
                 snapped=None, notes=(), factor=1):
    """The report dict (``report.service_log`` turns it into the log).
    ``given_levels``: the --threshold levels as typed (None: auto);
    ``snapped``: per channel, which polarity snapped to its peak;
    ``notes``: what to say about the given levels (core.levels.notes);
    ``factor``: the solver ran at the rate divided by it."""
    snapped = snapped or [(False, False)] * len(levels)
    sr = src.sample_rate
    peak = float(out.peaks.max())
    report = {"input": job.input, "output": job.output, "sample_rate": sr,
              "channels": src.channels, "frames": n, "duration_s": n / sr, "codec": src.codec,
              "lossy_codec": is_lossy(src.codec), "preset": job.preset,
              "algorithm": job.algorithm, "threshold_mode": job.threshold, "format": job.fmt,
              "thresholds_given": given,
              "threshold_tolerance_db": clip_levels.TOLERANCE_DB, "threshold_notes": list(notes),
              "thresholds": [channel_report(c, lv, f, None if given_levels is None
                                            else given_levels[c], sn)
                             for c, (lv, f, sn) in enumerate(zip(levels, found, snapped))],
              "clipping_found": out.clipping_found, "output_peak": peak,
              "output_peak_dbfs": db(peak), "gain_applied": gain, "gain_db": db(gain),
              "solver": out.stats, "timings": timings,
              "source_rate": sr // factor if factor > 1 else None, "solver_rate": sr // factor,
              "opus_input_rate": src.source_rate,
              "encoder_level": src.encoder_level and asdict(src.encoder_level),
              "level_restored": out.level_restored, "level_restored_db": db(out.level_restored),
              # per channel: the Opus encoder's DC reject undone (None: not Opus or off)
              "dc_restored": None if src.dc_restore is None else
              [bool(k) and bool(out.clipping_found) for k in src.dc_restore]}
    stats = out.stats
    if stats:
        sett = params.resolve(sr // factor, job.preset, algorithm=job.algorithm)
        report["parameters"] = sett.__dict__
        solved = max(1, stats["frames_solved"])
        report["iterations_per_frame"] = {"mean": stats["iterations"] / solved,
                                          "max": stats["max_frame_iterations"]}
        report["real_time_factor"] = (n / sr) / max(timings["declip_s"], 1e-9)
    return report




def detector_lossy(codec):
    """What the detector is told of a decoder (``ClipDetector(lossy=)``):
    "opus" for Opus (its rails get their own width rule,
    ``detect.codec_width``), True for another lossy codec, else False."""
    return codec_family(codec) or is_lossy(codec)


def solver_levels(found, codec):
    """The levels the solver gets for one channel: the detector's declared
    levels (``found.thresholds``).  A noisy rail goes to its lower edge; a
    codec-smeared one (every hump of a lossy input: the detector is told the
    codec) ``found.width_db`` below its centre, so the samples the codec's
    ringing pushed below the rail are in the clipped set.  (Before issue 9
    a codec's rails went to their centre: about neutral, -0.7 to +0.1 dB;
    see docs/lossy.md.)"""
    return found.thresholds


def channel_report(c, levels, f, given=None, snapped=(False, False)):
    """One channel's levels (solver's, given, estimated) and counts, for the
    report; ``positive``/``negative`` are the levels used."""
    p, q = levels
    est = f.levels_db()
    return {"channel": c + 1,
            "given_positive_dbfs": None if given is None else db(given[0]),
            "given_negative_dbfs": None if given is None else db(-given[1]),
            "snapped_to_peak": list(snapped),
            "positive": p if np.isfinite(p) else None,
            "negative": q if np.isfinite(q) else None,
            "positive_dbfs": db(p) if np.isfinite(p) else None,
            "negative_dbfs": db(-q) if np.isfinite(q) else None,
            "estimated_positive_dbfs": est[0], "estimated_negative_dbfs": est[1],
            "detection": list(f.method), "smear_width_db": list(f.width_db),
            "rule_width_db": list(f.rule_width_db),
            "dc_offset": f.dc_offset,
            "clipped_high": f.clipped_high, "clipped_low": f.clipped_low,
            "clipped_ratio": f.ratio, "longest_run": f.longest_run,
            "histogram": f.histogram}


def reference_sdr(job, src, ref, n, gain):
    """New/old SDR per channel and for the mix, streaming the three files."""
    ch = src.channels
    num = np.zeros(ch)
    err_new = np.zeros(ch)
    err_old = np.zeros(ch)
    mix = np.zeros(3)
    out_src = AudioSource(job.output)
    for r, y, x in zip(ref.chunks(CHUNK), src.chunks(CHUNK, as_decoded=True),
                       out_src.chunks(CHUNK)):
        m = min(len(r), len(y), len(x))
        r, y, x = r[:m], y[:m], x[:m] / gain
        num += (r ** 2).sum(axis=0)
        err_new += ((r - x) ** 2).sum(axis=0)
        err_old += ((r - y) ** 2).sum(axis=0)
        rm, ym, xm = r.mean(axis=1), y.mean(axis=1), x.mean(axis=1)
        mix += [(rm ** 2).sum(), ((rm - xm) ** 2).sum(), ((rm - ym) ** 2).sum()]
    with np.errstate(divide="ignore"):
        new = 10 * np.log10(num / err_new)
        old = 10 * np.log10(num / err_old)
        mix_new = 10 * np.log10(mix[0] / mix[1])
        mix_old = 10 * np.log10(mix[0] / mix[2])
    rows = []
    for c in range(ch):
        rows.append({"channel": c + 1, "new_db": float(new[c]), "old_db": float(old[c]),
                     "improvement_db": float(new[c] - old[c])})
    return {"channels": rows, "mix": {"new_db": float(mix_new), "old_db": float(mix_old),
                                      "improvement_db": float(mix_new - mix_old)}}


def check_options(preset="average", algorithm=None, threshold_dbfs="auto",
                  format="float32", source_rate="auto"):
    """The options of a file job, checked before any decoding (a bad one
    raises ParameterError at once, not after a long detection pass).  The
    solver settings go through the one validator, ``params.resolve``;
    they do not depend on the rate, so any rate does."""
    params.resolve(48000, preset, algorithm=algorithm)
    if format not in FORMATS:
        raise ParameterError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    parse_threshold_db(threshold_dbfs, 1)
    srate.parse(source_rate)


def declip_file(input, output=None, reference=None, preset="average", algorithm=None,
                threshold_dbfs="auto", format="float32", progress=None, threshold=None,
                source_rate="auto", hedge=True, second_pass=True, sections=True,
                restore_level=True, dc_restore=True):
    """Declip an audio file into a WAV file: the ``rtdeclip file`` command
    as a function.  Returns the report (dict; its "log" holds the service's
    log lines).  Raises :class:`~rtdeclip.errors.RtdeclipError` for bad
    input: FileError naming the file, ParameterError naming the option.

    >>> rep = rtdeclip.declip_file("song.mp3", preset="fastest")   # doctest: +SKIP
    >>> rep["output"], rep["thresholds"][0]["estimated_positive_dbfs"]  # doctest: +SKIP
    ('/music/Declipped_song.wav', -3.02)

    ``output``: a file or an existing folder (default: ``Declipped_<name>.wav``
    beside the input); ``threshold_dbfs``: "auto", "DBFS" or
    "POS_DBFS,NEG_DBFS" (levels in dBFS, unlike :class:`rtdeclip.Declipper`'s
    linear ``threshold``; the old name ``threshold`` is still accepted, with
    a DeprecationWarning); ``format``: float32 (default: restored peaks above
    full scale kept), pcm16 or pcm24 (the smallest gain that fits them,
    reported); ``progress``: called with the fraction done;
    ``source_rate``: "auto" (default: declip at the source's lower rate when
    an Opus header says it, or when the spectrum is empty above a rate 2, 3,
    4 or 6 times lower), "off", or the source's rate in Hz; ``hedge``
    (default True): smeared rails (a lossy codec's, a resampler's, dither)
    are declipped once per width of :mod:`rtdeclip.core.hedge` (five
    solves) and the mean kept; False: once, at the declared width (five
    times faster).  Exact rails: once either way.  ``second_pass`` (default
    True, with the hedge): the smeared rails solved again on the set the
    hedge names (:mod:`rtdeclip.core.named`), about twice the CPU.
    ``sections`` (default True, with "auto" levels): a file of several
    recordings clipped at different levels (an album, a radio recording)
    is cut where the level changes and each part detected and declipped on
    its own (:mod:`rtdeclip.core.sections`; the report's ``sections``);
    False: one level per channel and polarity for the whole file.
    ``restore_level`` (default True): a declipped MP3 that LAME scaled
    before encoding it (0.95 up to 160 kb/s, 0.97 at 192, 0.98 at 224, at
    a constant or average bit rate; the report's ``encoder_level``) is
    brought back to the level that was encoded (``level_restored_db``,
    +0.45 dB at 128 kb/s); False: the file's own level.  ``dc_restore``
    (default True, with "auto" levels): an Opus file's rails put back
    where the encoder's 3 Hz DC reject moved them, the slow mean it took
    off restored before detection (:mod:`rtdeclip.core.dc_restore`; the
    report's ``dc_restored``; speech through Opus at input SDR 7: +15 dB).
    A file with nothing clipped is copied as decoded either way."""
    from rtdeclip.files.report import service_log
    if threshold is not None:
        warnings.warn("declip_file(threshold=...) is now threshold_dbfs=...",
                      DeprecationWarning, stacklevel=2)
        threshold_dbfs = threshold
    check_options(preset, algorithm, threshold_dbfs, format, source_rate)
    output = check_output(output_path(input, output))
    refuse_overwrite(output, input, reference)
    report = run(FileJob(input, output, reference, preset, algorithm, threshold_dbfs, format,
                         progress, srate.parse(source_rate), bool(hedge), bool(second_pass),
                         bool(sections), bool(restore_level), bool(dc_restore)))
    report["log"] = service_log(report)
    return report
