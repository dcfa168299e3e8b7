"""The stateful block processor: ``Declipper``.

A thin wrapper of the C core's ``rtd_state``: numpy blocks in and out
without copies, the GIL released while C works.  Its docstring is where
the solver settings are described (once).
"""
import math
import os

import numpy as np

from rtdeclip.core import cores, dc_restore as dc_undo, detect, levels, named_stream, params, \
    resample
from rtdeclip._core import ffi, lib
from rtdeclip.errors import ParameterError

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
    """'auto', theta, a (pos, neg) pair, or a list with one of those per
    channel -> None (auto) or the levels the stream uses per channel:
    given levels lowered by their tolerance (the stream rule of
    :mod:`rtdeclip.core.levels`), ``levels.Resolved`` ones as they are."""
    fixed = levels.parse(threshold, channels)
    if fixed is None or isinstance(threshold, levels.Resolved):
        return fixed
    return levels.for_stream(fixed)


def _dc_restore_on(asked, codec, fixed):
    """Whether a Declipper undoes an Opus encoder's DC reject: ``asked``
    (True / False), or for None when ``codec`` names Opus (a source rate
    too: a voice gains most; the social solver too); never with fixed
    levels (ParameterError when asked for there)."""
    possible = not fixed
    if asked is None:
        return possible and detect.codec_family(codec) == "opus"
    if not isinstance(asked, bool):
        raise ParameterError(f"dc_restore must be True, False or None, got {asked!r}")
    if asked and not possible:
        raise ParameterError("dc_restore needs threshold='auto'")
    return asked


class Declipper:
    """Streaming declipper: call it on consecutive blocks of one stream.

    Output blocks have the input's shape and dtype and are delayed by
    :attr:`latency_samples`; :meth:`flush` returns the samples still inside.
    Inside a sounddevice callback use ``d.process(indata, out=outdata)``:
    nothing is allocated per call.

    These parameters are the one description of the solver settings:
    :func:`rtdeclip.declip`, :func:`rtdeclip.declip_file`, the live host
    and the command line pass them through unchanged, and
    :func:`rtdeclip.core.params.resolve` validates them (a bad value raises
    :class:`rtdeclip.errors.ParameterError`, a ValueError naming it).

    Parameters
    ----------
    sample_rate : int or float
        Samples per second per channel (> 0).  The presets' windows, budgets
        and sparsity schedules are scaled to it.
    channels : int, default 1
        Interleaved channels per block, 1 to 1024; each is declipped on its
        own.
    preset : {"average", "fastest", "lowlatency", "highquality"}, default "average"
        Chooses window, redundancy, schedule, iteration budget and budget
        pool (case-insensitive); any setting given below overrides it.  The
        real-time presets' budget and schedule are scaled to the rate (same
        CPU per second of audio, k over the same fraction of the spectrum:
        :mod:`rtdeclip.core.params`).
    threshold : "auto", float, (float, float) or list, default "auto"
        Clip levels.  "auto" estimates them online, per channel and
        polarity (see :attr:`thresholds`); theta clips at y >= theta and
        y <= -theta; a (pos > 0, neg < 0) pair gives the two levels (other
        signs raise); a list gives one of those per channel.  Linear
        amplitudes, not dBFS.  A given level counts the samples within
        0.01 dB below it as clipped too, so a level
        typed from a log rounded to 0.01 dB still finds its rail
        (:mod:`rtdeclip.core.levels`); :attr:`thresholds` reports the levels
        used.  A stream solves once at the declared width of a smeared rail
        unless ``hedge`` is given; files and :func:`rtdeclip.declip` average
        five widths (:mod:`rtdeclip.core.hedge`).
    plan : {"estimate", "measure"}, default "estimate"
        FFTW planning rigour.  "estimate" picks the same FFT algorithms in
        every process, so the output is the same bit for bit from run to
        run, from one process to another, in a batch, the service and the
        plug-ins; "measure" times candidates (saved as wisdom in
        ``$RTDECLIP_WISDOM``, default ``~/.cache/rtdeclip/fftw-wisdom``) and
        may pick others per process, whose rounding the single-precision
        solver can amplify to differences of 1e-2 on a few samples.  Only
        "measure" reads the wisdom (in a process that made a "measure"
        plan, later "estimate" plans may use what it timed).  On the
        never-converging stereo 48 kHz signal both ran at the same speed
        (fastest 9.3-9.7x and 7.5-8.4x, average 2.5-2.8x, CPU time, one run).
    threads : int, optional
        The channels are solved in parallel on this many threads, 1 to 64:
        the caller's and ``threads - 1`` workers made here (at most one
        per channel; with ``hedge`` one per channel and trajectory, so a
        hedged mono stream uses idle cores too).  Default: one per channel
        (and trajectory, when ``hedge`` is given) up to the processors this
        process may run on (its CPU affinity); a preset's own hedge
        (2) runs on the channels' lanes.  The output does not
        depend on it, bit for bit.
    algorithm : {"aspade", "sspade", "sspade-original", "social"}, default: the preset's
        Analysis SPADE, synthesis SPADE "done properly", or synthesis SPADE
        as first published (Zaviska et al., ICASSP 2019), frame by frame;
        or social sparsity (PEW shrinkage, FISTA) on the whole signal's
        STFT, streamed in blocks of seconds (latency block + margin), the
        highquality preset's.  The preset's is "aspade" except for
        highquality.
    social : dict, optional
        Algorithm "social" only: social_block, social_margin (samples,
        multiples of the hop; default 48 and 8 windows), social_lambda
        (max, min), social_levels, social_neigh (bins, frames, odd),
        social_neigh2 (None, or a second neighbourhood: two solves, their
        mean is the output),
        social_iterations (per block, when ``iterations`` is not given),
        social_tail (0 <= f < 1: each solve outputs the mean of its
        signals over the last fraction f of its iterations; 0, the last
        iterate, docs/highquality.md), social_tail_weight (0 < a <= 1:
        each solve outputs (1 - a) its last iterate + a that mean;
        HighQuality: f 0.347, a 0.5), social_weight2 (the second solve's
        weight in the output, 0.5: the mean);
        see :data:`rtdeclip.core.params.SOCIAL_DEFAULTS`.
    window : int, optional
        Frame length, a power of two from 16 to 65536 (preset: 2048 or 8192
        at 48 kHz, scaled to the nearest power of two at other rates).
    hop : int, optional
        Frame advance; divides the window, window/8 <= hop <= window/2
        (preset: window/4).
    redundancy : {1, 2, 4}, optional
        DFT redundancy: each frame is zero-padded to redundancy x window.
    iterations : int, optional
        Iteration budget per frame, >= 1 (preset: a real-time budget scaled
        to the rate, or None for highquality: run until epsilon).  A budget
        returns the last projected iterate; without one, the best one.
    s, r : int, optional
        Sparsity schedule: k starts at s and grows by s every r-th
        iteration (>= 1 each).
    epsilon : float, optional
        Stop a frame when its termination value reaches epsilon (finite,
        >= 0; preset 0.1).
    warm_start : bool, optional
        Start each frame from the previous frame's solution on the overlap.
    window_shape : {"hann", "lowdelay"}, optional
        Periodic Hann with its canonical dual, or an asymmetric low-delay
        pair whose synthesis window is ``synthesis_length`` long (shorter
        latency).
    synthesis_length : int, optional
        Low-delay windows only: support of the synthesis window, from
        2 x hop to the window (default window/2).
    lookahead : int, optional
        Low-delay windows only: the synthesis window ends this many samples
        before the frame's end, so the newest samples are solved as context
        for the next frames but output only from frames that saw more of
        their future; same latency.  synthesis_length - lookahead must be a
        multiple of the hop, at least 2 x hop (default 0, or the preset's).
    budget_pool : int, optional
        0 or 1: off.  n >= 2 (up to 16): a frame may run up to n times the
        budget on the iterations that skipped and early-converged frames of
        its channel left unused; the total never exceeds budget x frames.
    past_final : bool, optional
        Samples of a frame that have already left the stream (the long
        past of low-delay windows) are given to the solver as reliable, at
        their output values: context, not unknowns solved again.  With
        Hann windows only a frame's first sample (weight 0) is final.
    adapt_s : float, optional
        k's step of each frame is s x clamp(reliable / adapt_s, 1, 3),
        reliable being the fraction of the frame's unknown samples that is
        not clipped: lightly clipped frames grow k faster (0: s always).
    prior_weight : float, optional
        A-SPADE: hard thresholding ranks each bin by its magnitude squared
        plus prior_weight times the previous frame's solution's, favouring
        bins that were active (0: plain SPADE).
    second_solve : int, optional
        With a budget, >= 1: each channel keeps a second trajectory of
        solutions (its own past, warm start and prior) and the output is
        the mean of the two.  When a frame's solve converges with at least
        this many iterations of its allowance left, the second trajectory's
        frame is solved on what is left (k's step from ``second_adapt_s``);
        otherwise, or if that solve does not converge, it takes the first
        one's solution.  Frames that never converge are unchanged, but
        music costs more CPU (docs/speed.md; 0: off).  lowlatency uses 20,
        second_adapt_s 0.6 and second_reliable 0.3: +0.5 dB at input SDR 10
        dB on SQAM for about the CPU of the never-converging worst case.
    second_adapt_s : float, optional
        The second solves' adapt_s (0: k's step s).
    second_reliable : float, optional
        0 to 1: a second solve runs only in frames whose unknown samples are
        at least this share reliable (not clipped), so densely clipped
        frames, where the second trajectory gains nothing, keep their CPU
        (0: every frame).
    hedge : int or "auto", optional
        With ``threshold="auto"``, 2 to 5: a smeared rail (``detection``
        says "codec" or "noisy": after MP3/AAC/Vorbis/Opus, a resampler or
        dither) is hedged over its width as files are: each channel keeps
        ``hedge`` trajectories of solutions whose clipped sets reach 1,
        1.25, 0.75, 1.6 and 0.9 times the measured width below the rail
        (the first ``hedge`` of these), and the output is their mean;
        samples inside the declared levels leave as they came.  Exact
        rails (plain digital clipping) give the same output, bit for bit,
        at the same cost; while a smeared rail is in use a frame costs up
        to ``hedge`` solves.  On the lossy benchmark's streams (docs/
        lossy.md) 5 gains +0.5 dB with fastest and +0.3 dB with average on
        the mean.  Default: the preset's own, 2 for fastest (its lossy
        streams met 102 of the benchmark's 128 targets instead of 94; a lane
        solving two of its frames still runs 12-13x real time on the worst
        case) and for average (on two thirds of its budget each, see
        ``hedge_budget``: 99 targets instead of 88 at 1.33x the CPU), 0
        (off) for lowlatency (its pair needs the whole budget) and
        highquality.  More trajectories pay where cores are idle: the
        solves of every channel and trajectory are spread over ``threads``
        lanes (on 2 cores a mono stream hedged 5 ways took 0.58-0.62x the
        wall time of one lane, the same output).  0: off.  "auto": what
        ``rtdeclip live --hedge auto`` runs, as many per channel as the
        processors this process may run on give each its own lane (2 to
        5), never fewer than the preset's own; 0 with given levels or the
        social solver (:mod:`rtdeclip.core.cores`; :attr:`settings` says
        what it chose).
        With ``lowlatency`` its second solve keeps its own trajectory: N - 1
        members are averaged in with it.
    hedge_budget : float, optional
        With ``hedge``, (0, 1]: in frames where the hedge really splits (a
        smeared rail), each of its solves may run this share of the
        frame's iterations, so a hedge of N costs about N x hedge_budget
        solves there; exact rails keep the whole budget.  On the lossy
        benchmark's ``average`` streams ``hedge=2, hedge_budget=2/3`` (1.33x
        the CPU on a smeared rail) met 99 of 128 targets against 88
        unhedged and 100 at the full budget (docs/lossy.md, sixteenth
        session).  Default: the preset's, 2/3 for average (for its own
        hedge and one asked for), 1 (the whole budget) for the others.
    source_rate : int, optional
        The rate the stream had before it was brought to ``sample_rate`` by
        an integer factor of 2, 3, 4 or 6: an Opus voice stream decodes at
        48 kHz from a 16 kHz source.  The solver then runs at that rate
        (the preset scaled to it) on the stream decimated in C, and only
        its repair comes back, interpolated, onto the delayed input
        (``rtd_rate`` in csrc/rtdeclip.h; the file path does the same,
        :mod:`rtdeclip.core.resample`): several dB better on such streams,
        4 ms more latency, less CPU.  :attr:`thresholds`, :attr:`stats`
        and :attr:`settings` are then the solver's, at ``source_rate``.
    codec : str, optional
        The codec the stream was decoded from, when the caller knows it (a
        script that read a file's container, a monitor told what it
        plays): "opus" (or "libopus") gives an Opus stream's codec rails
        Opus's own width, a rail wider than 1.5 dB declared at the
        geometric mean of its width and 1.5 dB under it while the channel
        is clipped moderately (under 11 % of its samples at or above the
        rail, back to the rule's width at 16 %; ``rtdeclip file`` does the
        same for an Opus file, ``detect.codec_family_width``); any other
        name, or None (default), the width rule's.
        Not through ``source_rate`` (a voice from a lower-rate source is
        coded in Opus's voice modes).  Settable between calls
        (:attr:`codec`).
    second_pass : bool or int, optional
        A smeared rail solved a second time, one latency later, on the
        clipped set the first solution names (the declared samples it lifts
        over the rail's centre by at least 0 and 1/4 of the rail's width,
        one solve each; up to 5 shares), and the output the mean of that
        and the first solution, as files do (:mod:`rtdeclip.core.named`;
        for streams :mod:`rtdeclip.core.named_stream`, ``rtd_named`` in
        csrc/rtdeclip.h).  Exact rails come out as without
        it, bit for bit.  It doubles the latency (fastest and average: 85
        ms at 48 kHz instead of 43, lowlatency 21 instead of 11) and, while
        a smeared rail is in use, about triples the CPU.  Default (None): 2
        with fastest, average and lowlatency when
        ``codec`` names a lossy codec ("mp3", "aac", "vorbis", "opus", a
        decoder's name), else off; True: 2; False or 0: off.  Needs auto
        levels, the SPADE solver and no ``source_rate``.  On the lossy
        benchmark's streams 144 of 180 targets against 136 (docs/lossy.md,
        twenty-sixth session).  Fixed at creation (:attr:`second_pass`).
    dc_restore : bool, optional
        The Opus encoder's 3 Hz DC reject undone on the input before
        anything reads it (``rtd_set_dc_restore``; files:
        :mod:`rtdeclip.core.dc_restore`): clipping's slow mean, which
        libopus takes off and which moves both rails with it, put back, in
        the output too, which is then high-passed at 0.3 Hz (the integral's
        slow wander of codec error out).  The stream should start at the
        encoder's first sample (a file played from its start); a monitor
        that joins a stream midway carries the encoder's state at that
        moment as an offset, which the high-pass takes off within seconds.
        Default (None): on when ``codec`` names Opus, with a ``source_rate``
        or the social solver too; needs auto levels.  A 16 kHz voice through
        Opus at input SDR 7, ``fastest`` with ``source_rate=16000``: 17.8 ->
        21.7 dB (docs/lossy.md, thirtieth session).  Fixed at creation
        (:attr:`dc_restore`).
    precision : {"double", "single"}, optional
        Arithmetic of the solver's iteration: "double" (the survey's, and
        highquality's A-SPADE) or "single" (float FFTs and passes, about
        1.6x faster; the real-time presets' choice, within 0.02 dB of double
        on SQAM).  The social solver (algorithm="social") takes only its
        FFTs to single precision (its iterates stay double); highquality
        runs it so (the same ΔSDR to 1e-3 dB on SQAM).

    Examples
    --------
    >>> import numpy as np, rtdeclip
    >>> d = rtdeclip.Declipper(48000, channels=2, preset="fastest", threshold=0.5)
    >>> block = np.clip(np.random.randn(256, 2), -0.5, 0.5)
    >>> d.process(block).shape        # delayed by d.latency_samples
    (256, 2)
    >>> d.settings.window, d.settings.hop, d.settings.iterations
    (2048, 512, 60)
    """

    def __init__(self, sample_rate, channels=1, preset="average", threshold="auto",
                 plan="estimate", threads=None, source_rate=None, codec=None,
                 second_pass=None, dc_restore=None, **settings):
        self.sample_rate = params.check_sample_rate(sample_rate)
        self.channels = params.check_channels(channels)
        factor = resample.check_source_rate(self.sample_rate, source_rate)
        self.source_rate = self.sample_rate // factor if factor > 1 else None
        fixed = parse_threshold(threshold, self.channels)
        if isinstance(settings.get("hedge"), str):
            if settings["hedge"].lower() != "auto":
                raise ParameterError(f"hedge must be 0, 2 to 5 or 'auto', got {settings['hedge']!r}")
            # as rtdeclip live --hedge auto: what idle cores hold (core/cores.py)
            settings["hedge"] = 0 if str(settings.get("algorithm")).lower() == "social" else \
                cores.auto_hedge(self.channels, preset, fixed is None)
        self.settings = sol = params.resolve(self.source_rate or sample_rate, preset, **settings)
        plan_value = params.check_plan(plan)
        threads_value = params.check_threads(threads)
        if threads is None and "hedge" not in settings and sol.hedge > 1 and fixed is None:
            # the preset's own hedge (fastest's, average's 2) rides on
            # the channels' lanes: a lane solving two fastest frames is
            # still cheaper than one average lane, average's pair shares
            # two thirds of its budget each, so it takes no cores a stream
            # without it would not (an asked-for hedge gets a lane per
            # trajectory)
            threads_value = min(self.channels, cores.processors())
        cfg = ffi.new("rtd_config *")
        lib.rtd_config_default(cfg)
        cfg.channels = self.channels
        cfg.window, cfg.hop, cfg.redundancy = sol.window, sol.hop, sol.redundancy
        cfg.algorithm = params.ALGORITHMS[sol.algorithm]
        cfg.s, cfg.r, cfg.epsilon = sol.s, sol.r, sol.epsilon
        cfg.max_iterations = sol.iterations or 0
        if sol.algorithm == "social":
            if sol.iterations is None:
                cfg.max_iterations = sol.social_iterations
            cfg.social_block, cfg.social_margin = sol.social_block, sol.social_margin
            cfg.social_levels = sol.social_levels
            cfg.social_lambda_max, cfg.social_lambda_min = sol.social_lambda
            cfg.social_neigh_freq, cfg.social_neigh_time = sol.social_neigh
            cfg.social_neigh2_freq, cfg.social_neigh2_time = sol.social_neigh2 or (0, 0)
            cfg.social_tail = sol.social_tail
            cfg.social_tail_weight = sol.social_tail_weight
            cfg.social_weight2 = sol.social_weight2
        cfg.return_last = sol.iterations is not None
        cfg.warm_start = sol.warm_start
        cfg.budget_pool = sol.budget_pool
        cfg.past_final = sol.past_final
        cfg.prior_weight = sol.prior_weight
        cfg.adapt_s = sol.adapt_s
        cfg.second_solve = sol.second_solve if sol.iterations is not None else 0
        cfg.second_adapt_s = sol.second_adapt_s
        cfg.second_reliable = sol.second_reliable
        cfg.hedge = sol.hedge
        cfg.hedge_budget = sol.hedge_budget
        cfg.heavy_width = sol.heavy_width
        cfg.precision = params.PRECISIONS[sol.precision]
        cfg.threads = threads_value
        cfg.auto_threshold = fixed is None
        cfg.plan = plan_value
        if sol.window_shape == "lowdelay":   # designed in C (windows.c), as windows.lowdelay
            cfg.synthesis_length = sol.synthesis_length
            cfg.lookahead = sol.lookahead
        if plan == "measure":
            # only a measured plan reads the wisdom: FFTW lets an estimated
            # plan use wisdom of any rigour, so loading it always made
            # "estimate" pick what an earlier "measure" run had timed, and
            # the output then depended on that cache (two runs of the lossy
            # benchmark differed by up to 0.4 dB after a test had saved one)
            _load_wisdom()
        err = ffi.new("int *")
        state = lib.rtd_create(cfg, err)
        if state == ffi.NULL:
            message = ffi.string(lib.rtd_strerror(err[0])).decode()
            if err[0] == lib.RTD_ERR_NOMEM:
                raise MemoryError(message)
            raise ParameterError(message)
        if plan == "measure":
            _save_wisdom()
        self._state = ffi.gc(state, lib.rtd_destroy)
        # the estimator's rules that need the band (csrc/smear.h): the
        # solver's rate, a source's lower one through a source-rate chain
        lib.rtd_set_sample_rate(self._state, float(self.source_rate or self.sample_rate))
        self._rate = None
        if factor > 1:   # the stream at its rate around the solver at the source's
            rate = lib.rtd_rate_create(self._state, self.channels, factor, err)
            if rate == ffi.NULL:
                raise MemoryError(ffi.string(lib.rtd_strerror(err[0])).decode())
            self._rate = ffi.gc(rate, lib.rtd_rate_destroy)
        self._second_pass = named_stream.stream_shares(second_pass, codec, preset, sol,
                                                        fixed is not None, factor)
        self._dc_restore = _dc_restore_on(dc_restore, codec, fixed is not None)
        self._inner = self._named = None
        if self._second_pass:   # the second pass over a smeared rail (rtd_named)
            self._inner, self._named = named_stream.stream_chain(self._state, cfg,
                                                                 self._second_pass)
        if self._dc_restore:   # on the chain's input, or the state's (at the solver's rate)
            if self._named:
                lib.rtd_named_set_dc_restore(self._named, dc_undo.OPUS_CUTOFF_HZ,
                                             float(self.sample_rate))
            else:
                lib.rtd_set_dc_restore(self._state, dc_undo.OPUS_CUTOFF_HZ,
                                       float(self.source_rate or self.sample_rate))
        # what process() calls, chosen once: the stream's own state, the
        # source-rate chain around it, or the second pass after it
        self._target, self._process_float, self._process_double = (
            (self._rate, lib.rtd_rate_process_float, lib.rtd_rate_process_double) if self._rate
            else (self._named, lib.rtd_named_process_float, lib.rtd_named_process_double)
            if self._named else (self._state, lib.rtd_process_float, lib.rtd_process_double))
        self._fixed = fixed
        if fixed is not None:
            for c, (pos, neg) in enumerate(fixed):
                lib.rtd_set_thresholds(self._state, c, pos, neg)
        self._hedge = sol.hedge if fixed is None and sol.hedge > 1 else 0
        self._codec = None
        self.codec = codec
        self._stats = ffi.new("rtd_stats *")
        self._last_ndim, self._last_dtype = 1 if self.channels == 1 else 2, np.float64
        self._given = False   # fed given sets (process_given) since the last reset
        self._th = ffi.new("double[2]")
        self._inner_stats = ffi.new("rtd_stats *")

    # -- the plugin interface ------------------------------------------------
    @property
    def latency_samples(self):
        """Constant delay of the output, in samples."""
        if self._named:
            return lib.rtd_named_latency(self._named)
        return lib.rtd_rate_latency(self._rate) if self._rate else lib.rtd_latency(self._state)

    @property
    def stream_hop(self):
        """The frame advance in samples of the stream (``settings.hop``,
        times the factor down to ``source_rate`` when given)."""
        return self.settings.hop * (round(self.sample_rate / self.source_rate)
                                    if self.source_rate else 1)

    @property
    def latency(self):
        """Constant delay of the output, in seconds."""
        return self.latency_samples / self.sample_rate

    def _check_block(self, block, name="block"):
        if not isinstance(block, np.ndarray):
            raise ParameterError(f"{name} must be a numpy array, got {type(block).__name__}")
        if block.dtype not in (np.float32, np.float64):
            raise ParameterError(f"{name} must be float32 or float64, got {block.dtype}")
        if block.ndim == 1:
            if self.channels != 1:
                raise ParameterError(f"{name} is 1-D but the declipper has {self.channels} channels; "
                                 f"pass shape (frames, {self.channels})")
        elif block.ndim != 2 or block.shape[1] != self.channels:
            raise ParameterError(f"{name} must have shape (frames, {self.channels}), got {block.shape}")
        if block.shape[0] > 2**31 - 1:
            raise ParameterError(f"{name} is too long for one call; split it")

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
                raise ParameterError("out must be a C-contiguous array of the block's shape and dtype")
        if not block.flags.c_contiguous:
            block = np.ascontiguousarray(block)
        n = block.shape[0]
        if n:
            if block.dtype == np.float32:
                self._process_float(self._target, ffi.from_buffer("float[]", block),
                                    ffi.from_buffer("float[]", out, require_writable=True), n)
            else:
                self._process_double(self._target, ffi.from_buffer("double[]", block),
                                     ffi.from_buffer("double[]", out, require_writable=True), n)
        return out

    __call__ = process

    def process_given(self, block, clipped, out=None):
        """Declip the next float64 block with the clipped set given per
        sample instead of found from the levels: ``clipped`` is an int8
        array of the block's shape, > 0 clipped high (the result stays at
        or above the sample), < 0 clipped low, 0 reliable (kept).  Once fed
        this way the Declipper uses only given sets (no levels, estimator
        or hedge) until :meth:`reset`; :meth:`flush` then pushes reliable
        silence.  The second pass of a smeared file (:mod:`rtdeclip.core.named`)
        is built on it.  Not with ``source_rate`` or the social solver.

        >>> import numpy as np, rtdeclip
        >>> x = np.clip(np.sin(np.arange(4000) / 6.0), -0.7, 0.7)
        >>> d = rtdeclip.Declipper(8000, preset="fastest", threshold=0.7)
        >>> mask = np.where(x >= 0.7, 1, np.where(x <= -0.7, -1, 0)).astype(np.int8)
        >>> y = d.process_given(x, mask)
        >>> bool(np.abs(y).max() > 0.7)
        True
        """
        if self._rate or self.settings.algorithm == "social":
            raise ParameterError("process_given needs the SPADE solver at the stream's own rate "
                                 "(no source_rate, no social solver)")
        self._check_block(block)
        block = np.ascontiguousarray(block, dtype=np.float64)
        clipped = np.ascontiguousarray(clipped, dtype=np.int8)
        if clipped.shape != block.shape:
            raise ParameterError(f"clipped must have the block's shape {block.shape}, "
                                 f"got {clipped.shape}")
        self._last_ndim, self._last_dtype = block.ndim, np.float64
        out = np.empty_like(block) if out is None else out
        self._given = True
        if len(block) and lib.rtd_process_given_double(
                self._state, ffi.from_buffer("double[]", block),
                ffi.from_buffer("int8_t[]", clipped),
                ffi.from_buffer("double[]", out, require_writable=True), len(block)):
            raise ParameterError("process_given: the social solver keeps its own clipped sets")
        return out

    def flush(self, dtype=None):
        """The last ``latency_samples`` frames still inside (pushing silence),
        shaped and typed like the blocks given to :meth:`process`."""
        one_d = self.channels == 1 and self._last_ndim == 1
        shape = (self.latency_samples,) if one_d else (self.latency_samples, self.channels)
        if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
            raise ParameterError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        if self._given:   # fed given sets: silence is reliable
            return self.process_given(np.zeros(shape), np.zeros(shape, np.int8)).astype(
                dtype or self._last_dtype)
        return self.process(np.zeros(shape, dtype=dtype or self._last_dtype))

    def reset(self):
        """Forget the stream: silence history, statistics, online thresholds."""
        lib.rtd_reset(self._state)
        self._given = False
        if self._rate:
            lib.rtd_rate_reset(self._rate)
        if self._named:
            lib.rtd_reset(self._inner)
            lib.rtd_named_reset(self._named)

    @property
    def threads(self):
        """Threads the channels are solved on (1: the caller's only)."""
        return lib.rtd_threads(self._state)

    def match_worker_scheduling(self):
        """Give the worker threads the calling thread's scheduling policy and
        priority (a live host calls it from its real-time thread).  True on
        success."""
        ok = lib.rtd_match_worker_scheduling(self._state) == 0
        if self._inner:   # the second pass's workers too
            ok = lib.rtd_match_worker_scheduling(self._inner) == 0 and ok
        return ok

    def worker_cpu_seconds(self):
        """CPU seconds used so far by each worker thread (benchmarks)."""
        own = [lib.rtd_worker_cpu_seconds(self._state, i) for i in range(1, self.threads)]
        if self._inner:   # the second pass's workers after the first's
            own += [lib.rtd_worker_cpu_seconds(self._inner, i)
                    for i in range(1, lib.rtd_threads(self._inner))]
        return own

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
        "codec" (a codec-smeared rail: MP3/AAC/Vorbis/Opus, declared width_db
        below its centre; see docs/lossy.md).  Fixed thresholds report None."""
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
    def iterations(self):
        """Current iteration budget per frame (the live host may lower it;
        with ``budget_pool`` n a frame may run up to n times it)."""
        return lib.rtd_get_max_iterations(self._state)

    @iterations.setter
    def iterations(self, n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ParameterError(f"iterations must be an integer >= 0 (0: pass through), got {n!r}")
        lib.rtd_set_max_iterations(self._state, int(min(n, 2**31 - 1)))
        if self._inner:   # the second pass follows (the live governor's cuts)
            lib.rtd_set_max_iterations(self._inner, named_stream.inner_iterations(
                int(min(n, 2**31 - 1)), self.settings))

    @property
    def hedge(self):
        """Trajectories of the hedge over a smeared rail's width in use (0:
        off).  Settable between calls, from 0 up to the ``hedge`` the
        Declipper was made with (a plug-in's "hedge" control does this):
        trajectories taken into use start as copies of the first, so the
        output goes on without a gap; those left out when it is turned
        down stop solving at once (their CPU is shed at the next call)
        while the output fades over one window to the mean of the rest."""
        return self._hedge

    @hedge.setter
    def hedge(self, n):
        made = self.settings.hedge if self._fixed is None else 0
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= max(made, 1):
            raise ParameterError(f"hedge can be set from 0 to {max(made, 1)} on this Declipper "
                                 f"(made with hedge={self.settings.hedge}"
                                 f"{'' if self._fixed is None else ' and fixed levels'}), got {n!r}")
        used = lib.rtd_set_hedge(self._state, int(n))
        self._hedge = used if used > 1 else 0

    @property
    def second_pass(self):
        """Solves of the second pass over a smeared rail (0: none), fixed
        when the Declipper was made (``second_pass``; by default 2 for
        fastest and average told a lossy ``codec``)."""
        return self._second_pass

    @property
    def dc_restore(self):
        """Whether the stream's input has an Opus encoder's DC reject undone
        (``dc_restore``; fixed at creation)."""
        return self._dc_restore

    @property
    def codec(self):
        """The codec family the stream's rails are read for ("opus"), or
        None.  Settable between calls with a codec or decoder name; a
        Declipper with ``source_rate`` keeps None (see ``codec``)."""
        return self._codec

    @codec.setter
    def codec(self, name):
        if name is not None and not isinstance(name, str):
            raise ParameterError(f"codec must be a codec name such as 'opus', or None, got {name!r}")
        family = None if self.source_rate else detect.codec_family(name)
        lib.rtd_set_codec(self._state, lib.RTD_CODEC_OPUS if family == "opus"
                          else lib.RTD_CODEC_UNKNOWN)
        self._codec = family

    @property
    def stats(self):
        """Counters since creation or reset() (the solver's: with
        ``source_rate``, samples and clipped samples at that rate;
        ``stream_samples_in`` counts the stream's).  ``rail_switches``:
        with auto levels, how often a channel's clip-level estimate
        started afresh because the stream passed its rail or found a lower
        one (a new track of a playlist; csrc/rail_watch.h)."""
        lib.rtd_get_stats(self._state, self._stats)
        s = self._stats
        second = self._second_pass_stats()
        return {"samples_in": s.samples_in, "frames_solved": s.frames_solved,
                "frames_skipped": s.frames_skipped, "frames_converged": s.frames_converged,
                "iterations": s.iterations, "max_frame_iterations": s.max_frame_iterations,
                "clipped_samples": s.clipped_samples,
                "nonfinite_samples": s.nonfinite_samples
                + (lib.rtd_rate_nonfinite(self._rate) if self._rate else 0),
                # the second pass's cuts too: a cut is a late frame (live governor)
                "frames_cut": s.frames_cut + second.get("second_pass_frames_cut", 0),
                "pooled_iterations": s.pooled_iterations,
                "hedge_solves": s.hedge_solves, "rail_switches": s.rail_switches,
                # channels whose DC-reject guard let go (not DC-rejected input)
                "dc_restore_tripped": 0 if not self._dc_restore else
                lib.rtd_named_dc_restore_tripped(self._named) if self._named
                else lib.rtd_dc_restore_tripped(self._state),
                # per channel, in samples of the stream: samples_in times the
                # factor down to source_rate (the solver's counts are at that rate)
                "stream_samples_in": s.samples_in * (self.stream_hop // self.settings.hop),
                **second}

    def _second_pass_stats(self):
        """The second pass's solves (rtd_named): its frames solved,
        iterations and frames cut, or nothing without one."""
        if not self._inner:
            return {}
        inner = self._inner_stats
        lib.rtd_get_stats(self._inner, inner)
        return {"second_pass_frames": inner.frames_solved,
                "second_pass_iterations": inner.iterations,
                "second_pass_frames_cut": inner.frames_cut}

    def set_time_limit(self, seconds):
        """Wall-clock limit per process() call (0: none).  Frames still
        iterating when it is reached return their last iterate at once
        (counted in stats["frames_cut"]): the live host's guarantee that the
        solver cannot make it late."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.number)) \
                or not math.isfinite(seconds) or seconds < 0:
            raise ParameterError(f"seconds must be a finite number >= 0, got {seconds!r}")
        if self._inner:   # two solves per call: half the time each
            lib.rtd_set_time_limit(self._state, float(seconds) / 2)
            lib.rtd_set_time_limit(self._inner, float(seconds) / 2)
        else:
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
            raise ParameterError(f"frame and mask must have shape ({self.settings.window},)")
        if not np.all(np.isfinite(y)):
            raise ParameterError("frame must be finite")
        if not np.all(np.isin(np.asarray(mask), (-1, 0, 1))):
            raise ParameterError("mask must hold -1 (clipped low), 0 (reliable) or +1 (clipped high)")
        x = np.empty_like(y)
        lib.rtd_solve_frame(self._state, ffi.from_buffer("double[]", y),
                            ffi.from_buffer("int8_t[]", m),
                            ffi.from_buffer("double[]", x, require_writable=True))
        return x

    def __repr__(self):
        s = self.settings
        src = f", source_rate={self.source_rate}" if self.source_rate else ""
        src += f", codec={self.codec!r}" if self.codec else ""
        src += f", second_pass={self.second_pass}" if self.second_pass else ""
        return (f"Declipper({self.sample_rate}, channels={self.channels}{src}, "
                f"algorithm={s.algorithm!r}, "
                f"window={s.window}, hop={s.hop}, redundancy={s.redundancy}, "
                f"iterations={s.iterations}, latency_samples={self.latency_samples})")
