"""The live host: sound card -> lock-free ring buffer -> worker thread
(C declipper, GIL released) -> lock-free ring buffer -> sound card.

    with LiveDeclipper(channels=2, sample_rate=48000, preset="average") as host:
        print(host.latency)          # device in, algorithm, margin, limiter, device out
        time.sleep(10)
        print(host.stats)

The audio callback is python-rtmixer's, written in C: it only copies
between the device and the ring buffers, so it never waits on Python.  The
output ring buffer is pre-filled with ``margin`` samples of silence: one
block (a block's input arrives in the same callback that takes its output
slot) plus the processing window, max(block, hop), the time the worker has
for the block that completes a frame.  Latency is therefore constant:
device input + algorithm + margin + limiter + device output.

The pieces: the worker loop here (read a block, process it, write it, like
rtmixer's callback); the stream, its ring buffers, xruns and the recovery
after a dropout in ``device``; the overload policy in ``governor``
(deadline, budget, pass-through: ``late_frames`` counts frames cut or
passed); the meters in ``meters``; the recorders in ``recorder``.
"""
import os
import threading
import time
import warnings

import numpy as np

from rtdeclip.core import detect, levels as clip_levels, named_stream
from rtdeclip.core.declipper import Declipper
from rtdeclip.errors import ParameterError, RtdeclipError
from rtdeclip.live.device import DeviceLink
from rtdeclip.live.events import EventLog
from rtdeclip.live.governor import OverloadGovernor
from rtdeclip.live.limiter import Limiter
from rtdeclip.live.meters import BlockMeters
from rtdeclip.live.recorder import MemoryRecorder, WavRecorder, input_path  # noqa: F401

DEFAULT_GAIN_DB = {"lowlatency": -6.0, "fastest": -6.0, "average": -6.0, "highquality": -6.0}
DEFAULT_CEILING_DB = -1.0
BLOCK_MIN, BLOCK_MAX = 16, 8192   # frames per device callback
TIMES_KEPT, HOP_TIMES_KEPT = 1 << 16, 1 << 15   # per-block and per-hop timings, rings


GAIN_RANGE_DB = (-60.0, 24.0)


def _check_args(gain_db, on_block, record_seconds, record):
    """The host's own arguments, before a device is opened."""
    if record is not None:   # two WAV files: FILE and FILE.input.wav
        from rtdeclip.files.sinks import check_output
        check_output(record, "recording")
        check_output(input_path(record), "recording")
    lo, hi = GAIN_RANGE_DB
    if gain_db is not None and (isinstance(gain_db, bool) or not isinstance(
            gain_db, (int, float, np.number)) or not lo <= gain_db <= hi):
        raise ParameterError(f"gain_db must be between {lo:g} and {hi:g} dB (or None: -6), "
                             f"got {gain_db!r}")
    if on_block is not None and not callable(on_block):
        raise ParameterError(f"on_block must be a function (inblock, outblock) or None, "
                             f"got {type(on_block).__name__}")
    if isinstance(record_seconds, bool) or not isinstance(record_seconds, (int, float, np.number)) \
            or not 0 <= record_seconds <= 3600:
        raise ParameterError(f"record_seconds must be between 0 and 3600, got {record_seconds!r}")


class LiveDeclipper:
    """Declip a live input to a live output until ``stop()``.

    ``input``/``output``: device index or name substring (None: default).
    ``on_block(inblock, outblock)`` runs on the worker thread for every
    block and may change ``outblock`` in place (before gain and limiter).
    ``gain_db`` (default -6 dB) and ``ceiling_db`` (look-ahead limiter,
    default -1 dBFS, None to switch off) keep restored peaks under full
    scale.  ``record`` writes both streams to WAV files; ``bypass`` keeps
    the delay but leaves the audio undeclipped (A/B).  ``source=array``
    plays a signal from memory instead of a live input (the demo), and
    ``record_seconds`` of both streams are kept in memory (:meth:`recording`).
    ``margin_blocks`` overrides the automatic safety margin.  Other keyword
    arguments are :class:`rtdeclip.Declipper`'s solver settings, passed to
    it unchanged (``samplerate`` is the old name of ``sample_rate``).
    Bad arguments raise :class:`~rtdeclip.errors.ParameterError`, a device
    that cannot be opened :class:`~rtdeclip.errors.DeviceError`.
    """

    def __init__(self, input=None, output=None, channels=2, sample_rate=None, blocksize=256,
                 preset="average", threshold="auto", gain_db=None, ceiling_db=DEFAULT_CEILING_DB,
                 margin_blocks=None, on_block=None, source=None, record_seconds=0.0,
                 bypass=False, record=None, **solver):
        if "samplerate" in solver:
            warnings.warn("LiveDeclipper(samplerate=...) is now sample_rate=...",
                          DeprecationWarning, stacklevel=2)
            old = solver.pop("samplerate")
            sample_rate = old if sample_rate is None else sample_rate
        sample_rate = 48000 if sample_rate is None else sample_rate
        if isinstance(blocksize, bool) or not isinstance(blocksize, (int, np.integer)) \
                or not BLOCK_MIN <= blocksize <= BLOCK_MAX:
            raise ParameterError(f"blocksize must be between {BLOCK_MIN} and {BLOCK_MAX}, "
                                 f"got {blocksize!r}")
        self.block = block = int(blocksize)
        # -- the processing chain: declipper, gain, limiter ----------------------------
        # the social solver works on blocks of seconds (offline only): live,
        # HighQuality stays A-SPADE unless an algorithm is asked for
        solver.setdefault("algorithm", "aspade")
        self.declipper = Declipper(sample_rate, channels=channels, preset=preset,
                                   threshold=threshold, **solver)
        self.sample_rate, self.channels = self.declipper.sample_rate, self.declipper.channels
        self.sr = sr = int(self.sample_rate)
        self.preset = preset
        # given levels (None: auto); the declipper uses them lowered by the
        # stream tolerance (rtdeclip.core.levels), its .thresholds say so
        self.given_levels = clip_levels.parse(threshold, self.channels)
        # codec_hint, decided once: with auto levels and no codec told, what
        # telling it would add: the second pass ("pass": left to a default
        # that runs none, in a preset and chain that take one), else Opus's
        # own width and DC reject undone ("opus": the pass runs, as in
        # rtdeclip monitor, or was turned off); and whether a codec rail has
        # been seen since
        d = self.declipper
        self._hint_codec = None
        if self.given_levels is None and not detect.is_lossy(solver.get("codec")):
            takes_pass = bool(named_stream.stream_shares(
                None, "mp3", preset, d.settings, False,
                round(d.sample_rate / d.source_rate) if d.source_rate else 1))
            if solver.get("second_pass") is None and not d.second_pass and takes_pass:
                self._hint_codec = "pass"
            elif not d.source_rate:   # a source-rate chain reads no codec family
                self._hint_codec = "opus"
        self._saw_codec = False
        self.budget = self.declipper.iterations
        # a hop of the stream (with source_rate the solver's hop is at the lower rate)
        self._hop = hop = self.declipper.stream_hop
        # processing window: the block completing a frame carries a whole
        # hop of work (or a block of it, with blocks longer than the hop)
        self.window = max(block, hop)
        if margin_blocks is None:
            self.margin = block + self.window
        else:
            self.margin = int(margin_blocks) * block
            if self.margin <= block:
                raise ParameterError("margin must be at least 2 blocks")
        _check_args(gain_db, on_block, record_seconds, record)
        self.gain = 10 ** ((DEFAULT_GAIN_DB.get(str(preset).lower(), -6.0) if gain_db is None
                            else gain_db) / 20)
        self.limiter = None if ceiling_db is None else Limiter(sr, self.channels, ceiling_db,
                                                               max_block=block)
        self.on_block, self.bypass = on_block, bypass
        self.source = None if source is None else np.ascontiguousarray(source, dtype=np.float32)
        if self.source is not None and (self.source.ndim != 2
                                        or self.source.shape[1] != self.channels):
            raise ParameterError("the source signal must have one column per channel")
        # -- the device and the ring buffers between it and the worker -----------------
        import rtmixer  # imported here: PortAudio must start after a JACK server
        # when each xrun and late block happened (stream seconds), for stats
        self.events = EventLog()
        self.link = DeviceLink(rtmixer, input, output, self.channels, self.sample_rate, block,
                               self.margin, playback_only=self.source is not None,
                               events=self.events)
        self.jack_inputs, self.jack_outputs = self.link.jack_inputs, self.link.jack_outputs
        # -- the pieces -----------------------------------------------------------------
        self.governor = OverloadGovernor(self.budget, block, self.window, sr,
                                         hedge=self.declipper.hedge)
        self._hedge = self.declipper.hedge
        self.meters = BlockMeters(self.channels, block, lambda: self.declipper.thresholds)
        # read by the views without a lock (a meter one block stale is fine)
        self.peak_in, self.peak_out = self.meters.peak_in, self.meters.peak_out
        self.clip_count = self.meters.clip_count
        self.tap = WavRecorder(record, sr, self.channels, block, rtmixer) if record else None
        self.memory = MemoryRecorder(int(record_seconds * sr), self.channels)
        # -- the worker's buffers (nothing is allocated per block) ----------------------
        self._inbuf = np.zeros((block, self.channels), np.float32)
        self._outbuf = np.zeros((block, self.channels), np.float32)
        self._absbuf = np.zeros((block, self.channels), np.float32)
        # np.full, not np.zeros: every page is touched now, so the resident
        # size does not grow while streaming (calloc maps pages lazily)
        self._times = np.full(TIMES_KEPT, 0.0)        # per-block processing time, ring
        self._ntimes = 0
        self._hop_times = np.full(HOP_TIMES_KEPT, 0.0)   # per-hop time of calls completing hops
        self._nhops = 0
        self._last_hops = 0          # hops the last process() call completed
        self._src_pos = 0            # next frame of a built-in source
        self._iterations = self.budget   # the budget last given to the declipper
        # -- counters and state ---------------------------------------------------------
        # the host's own (the device's xruns are the link's)
        self.counts = dict(blocks=0, late_frames=0, budget_cuts=0, passthrough_blocks=0,
                           passthrough_frames=0, late_blocks=0, limited_samples=0,
                           output_clipped_samples=0)
        self._frames_cut = 0         # the declipper's count after the last block
        self._hedge_solves = 0       # the same, of the hedge's solves
        self.error = None            # what stopped the worker, reported by stop()
        self.realtime = False        # the worker got SCHED_FIFO
        self._stop = threading.Event()
        self._started = threading.Event()
        self._worker = None
        self._t0 = None              # monotonic start
        self._cpu = 0.0              # the worker thread's CPU time so far

    @property
    def stream(self):
        """The rtmixer stream."""
        return self.link.stream

    @property
    def device_lost(self):
        """The device went away while streaming (see ``error``)."""
        return self.link.lost

    # -- latency ---------------------------------------------------------------
    @property
    def latency(self):
        """Latency split in samples and ms: device input, algorithm, safety
        margin, limiter, device output (device terms as PortAudio reports
        them); ``processing`` is what the host adds between its ports."""
        lin, lout = self.link.latency_seconds
        parts = {"device_input": int(round(lin * self.sr)) if self.source is None else 0,
                 "algorithm": self.declipper.latency_samples, "margin": self.margin,
                 "limiter": self.limiter.latency_samples if self.limiter else 0,
                 "device_output": int(round(lout * self.sr))}
        parts["total"] = sum(parts.values())
        parts["processing"] = parts["algorithm"] + parts["margin"] + parts["limiter"]
        return {k: {"samples": v, "ms": 1000.0 * v / self.sr} for k, v in parts.items()}

    # -- running ---------------------------------------------------------------
    def start(self):
        self.link.prime()
        self._worker = threading.Thread(target=self._run, name="rtdeclip-worker", daemon=True)
        self._t0 = time.monotonic()
        self._worker.start()         # running (real-time) before the first callback
        self._started.wait(5)
        self.link.start()
        return self

    def _run(self):
        # real-time scheduling for the worker where allowed (root, rtprio
        # limits): other processes then cannot delay a block
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
            self.realtime = True
            # the declipper's worker threads (one per further channel, or per
            # channel and trajectory with a hedge)
            # solve beside this one: same priority
            self.declipper.match_worker_scheduling()
        except (OSError, AttributeError):
            self.realtime = False
        self._started.set()
        try:
            self._loop()
        except Exception as e:  # reported by stop(); the stream must not hang
            # a lost device was flagged where it was found (PortAudio cannot
            # stop such a stream cleanly); an error of the worker's own, e.g.
            # in on_block, leaves the device fine: stop() closes it
            self.error = e
            self._stop.set()

    def _loop(self):
        """The worker: like rtmixer's callback, read a block, process it,
        write it; between blocks, watch the device."""
        inbuf, outbuf = self._inbuf, self._outbuf
        nap = self.block / self.sr / 4
        while not self._stop.is_set():
            if not self._read(inbuf):
                self._check_link()
                time.sleep(nap)
                continue
            self._process(inbuf, outbuf)
            self.meters.update(inbuf, outbuf)
            self.memory.push(inbuf, outbuf)
            if self.tap is not None:
                self.tap.push(inbuf, outbuf)
            self._write(outbuf)
            self._check_link()

    def _check_link(self):
        """The link's between-blocks check; xruns it finds are logged at
        the input position reached."""
        self.link.check(self._stop.is_set(), at=self.counts["blocks"] * self.block / self.sr)

    def _read(self, inbuf):
        """The next input block into ``inbuf``; False when none is ready."""
        block = self.block
        if self.source is None:
            return self.link.read(inbuf)
        # pace a built-in source by the room left in the output buffer
        if not self.link.room(block):
            return False
        n = min(block, len(self.source) - self._src_pos)
        if n <= 0:
            inbuf[:] = 0
        else:
            inbuf[:n] = self.source[self._src_pos:self._src_pos + n]
            inbuf[n:] = 0
        self._src_pos += block
        return True

    def _process(self, inbuf, outbuf):
        """Declip ``inbuf`` into ``outbuf`` within the governor's limits,
        then the user's on_block, gain and limiter."""
        d, c = self.declipper, self.counts
        passed = self._govern(queued=self.link.queued)
        if passed:
            skipped0 = d.stats["frames_skipped"]
        t0 = time.perf_counter()
        d.process(inbuf, out=outbuf)
        self._time_call(time.perf_counter() - t0)
        if passed:
            c["passthrough_frames"] += d.stats["frames_skipped"] - skipped0
        # one read of the counters per block: the next block's governor uses it too
        st = d.stats
        cut0, self._frames_cut = self._frames_cut, st["frames_cut"]
        self._hedge_solves = st["hedge_solves"]   # did the hedge cost anything (governor)
        if passed or self._frames_cut > cut0:   # frames cut or passed: late
            self.events.add(c["blocks"] * self.block / self.sr, "late")
        if self.on_block is not None:
            self.on_block(inbuf, outbuf)
        outbuf *= self.gain
        if self.limiter is not None:
            self.limiter.process(outbuf)
        else:   # no limiter: full scale is a hard clip, counted
            np.abs(outbuf, out=self._absbuf)
            if self._absbuf.max() > 1.0:
                c["output_clipped_samples"] += int(np.count_nonzero(self._absbuf > 1.0))
                np.clip(outbuf, -1.0, 1.0, out=outbuf)

    def _govern(self, queued):
        """Hand the governor what the worker sees (output still queued,
        frames cut so far, hops of the last call) and apply its decision to
        the declipper.  Returns whether this block passes through."""
        d, g = self.declipper, self.governor
        passed = g.update(queued, self._frames_cut, self._last_hops, self.bypass,
                          hedge_solves=self._hedge_solves)
        if g.time_limit is not None:
            d.set_time_limit(g.time_limit)
        if g.iterations != self._iterations:
            d.iterations = self._iterations = g.iterations
        if g.hedge != self._hedge:   # rtd_set_hedge: copies only, no allocation
            d.hedge = self._hedge = g.hedge
        return passed

    def _time_call(self, dt):
        """Per-block and per-hop timings (the frame grid's phase is
        constant, so the hops a call completed follow from its index)."""
        block = self.block
        self._times[self._ntimes % len(self._times)] = dt
        n0 = self._ntimes * block
        hops = (n0 + block) // self._hop - n0 // self._hop
        self._ntimes += 1
        self._last_hops = hops
        if hops:
            self._hop_times[self._nhops % len(self._hop_times)] = dt / hops
            self._nhops += 1

    def _write(self, outbuf):
        c = self.counts
        if self.source is None and self.link.queued < self.block // 2:
            # delivered with less than half a block still queued: the
            # device nearly ran dry waiting for this block
            c["late_blocks"] += 1
        self.link.write(outbuf)
        c["blocks"] += 1
        self._cpu = time.thread_time()   # the worker's own CPU time

    def stop(self):
        """Stop streaming (idempotent); returns the final :attr:`stats`."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(5)
        self.link.close()
        if self.tap is not None:
            self.tap.close()
            self.tap = None
        if self.error is not None and not isinstance(self.error, RtdeclipError):
            raise self.error
        return self.stats

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def running(self):
        return not self._stop.is_set()

    # -- reporting -------------------------------------------------------------
    @property
    def stats(self):
        """Counters and timings so far (any time, also after stop())."""
        t = self._times[:min(self._ntimes, len(self._times))]
        ms = t * 1000.0
        s = dict(self.counts)
        s.update(self.link.counts)
        s["budget_cuts"] = self.governor.budget_cuts
        s["hedge_drops"] = self.governor.hedge_drops
        s["passthrough_blocks"] = self.governor.passthrough_blocks
        s.update(self.declipper.stats)
        s["late_frames"] = s["frames_cut"] + s["passthrough_frames"]
        # the host's own (ring buffers) and the driver's (one event may
        # raise both its flags: counted once)
        s["xruns"] = (s["input_overflows"] + s["output_underflows"]
                      + max(s["device_input_overflows"], s["device_output_underflows"]))
        if self.limiter is not None:
            s["limited_samples"] = self.limiter.limited_samples
        now = time.monotonic()
        s["seconds"] = now - (self._t0 if self._t0 is not None else now)
        s["iteration_budget"] = self.declipper.iterations
        s["iteration_budget_preset"] = self.budget
        s["iterations_per_frame"] = s["iterations"] / max(1, s["frames_solved"])
        # one call per block; the hop's work falls in the block completing it
        s["block_ms"] = {"median": float(np.median(ms)) if len(t) else 0.0,
                         "p99": float(np.percentile(ms, 99)) if len(t) else 0.0,
                         "max": float(ms.max()) if len(t) else 0.0,
                         "period": 1000.0 * self.block / self.sr}
        h = self._hop_times[:min(self._nhops, len(self._hop_times))] * 1000.0
        s["hop_ms"] = {"median": float(np.median(h)) if len(h) else 0.0,
                       "p99": float(np.percentile(h, 99)) if len(h) else 0.0,
                       "max": float(h.max()) if len(h) else 0.0,
                       "hop": 1000.0 * self._hop / self.sr}
        s["worker_realtime"] = self.realtime
        # CPU time of the worker thread / wall time; busy: time inside the
        # declipper (includes preemption by other threads)
        s["worker_cpu_share"] = self._cpu / max(1e-9, s["seconds"])
        s["worker_busy_share"] = float(t.sum() / max(1e-9, s["seconds"])) if len(t) else 0.0
        s["clipped_ratio"] = s["clipped_samples"] / max(1, s["samples_in"] * self.channels)
        s["thresholds"] = [[float(p), float(q)] for p, q in self.declipper.thresholds]
        s["thresholds_given"] = None if self.given_levels is None else \
            [[float(p), float(q)] for p, q in self.given_levels]
        # how each rail was found (exact / noisy / codec-smeared) and the
        # smear width used: a decoded lossy stream has no exact rail
        s["rails"] = [{"method": list(d["method"]), "width_db": list(d["width_db"])}
                      for d in self.declipper.detection]
        s["threshold_notes"] = self.level_notes() + self.codec_hint(s["rails"])
        # trajectories hedging a smeared rail (--hedge; 0 off) and the
        # frames they solved (hedge_solves, from the declipper's counters)
        s["hedge"] = self.declipper.hedge
        # a lossy stream's second pass (--second-pass; 0 off) and its solves
        # (second_pass_frames / _iterations, from the declipper's counters)
        s["second_pass"] = self.declipper.second_pass
        # threads solving the stream (the caller's worker and its pool's):
        # one per channel, or per channel and trajectory with a hedge
        s["lanes"] = self.declipper.threads
        # the codec family the rails were read for (--codec opus), or None
        s["codec"] = self.declipper.codec
        # when: [[stream seconds, kind], ...] (the first 1024; the counters
        # above are exact beyond them)
        s["events"] = self.events.as_list()
        s["events_dropped"] = self.events.dropped
        s["latency"] = self.latency
        s["error"] = None if self.error is None else str(self.error)
        return s

    def level_notes(self, min_seconds=1.0):
        """Given levels that no input sample (or a negligible share, or
        most of them) reached so far, said in words
        (:func:`rtdeclip.core.levels.notes`); nothing before ``min_seconds``
        of input or with threshold="auto"."""
        seen = self.counts["blocks"] * self.block
        if self.given_levels is None or seen < min_seconds * self.sr:
            return []
        return clip_levels.notes(self.given_levels, [(p, p) for p in self.meters.peak_max],
                                 [int(n) for n in self.clip_count], seen,
                                 channels_named=self.channels > 1)

    def codec_hint(self, rails):
        """A stream whose ``rails`` (stats' "rails") the estimator read as a
        codec's (a decoded MP3, AAC, Vorbis or Opus) while the host was not
        told the codec: say, as information, in the live view and at the end,
        what telling it adds (docs/lossy.md): the second pass, where none
        runs (it cannot start mid-stream: it changes the latency), else
        Opus's own width and its DC reject undone, which only the codec's
        name brings (+2.0 dB on the mean of the lossy benchmark's Opus
        streams against the same streams untold with the pass).  []
        otherwise."""
        if not self._hint_codec:
            return []
        # sticky: a rail read as noisy for a while later does not take the
        # note back (the live view prints a note again when the list changes)
        self._saw_codec = self._saw_codec or any("codec" in r["method"] for r in rails)
        if not self._saw_codec:
            return []
        if self._hint_codec == "opus":
            return ["info: the rails are a lossy codec's (the audio was decoded from MP3, AAC, "
                    "Vorbis or Opus); if it is Opus (most web video and streams), --codec opus "
                    "gives them Opus's own width and undoes its encoder's DC reject: +2.0 dB on "
                    "the mean of the lossy benchmark's Opus streams"]
        return ["info: the rails are a lossy codec's (the audio was decoded from MP3, AAC, "
                "Vorbis or Opus); told the codec (--codec mp3, or opus, ...) a stream solves "
                "them a second time on the set the first solution names: +0.2-0.6 dB on the "
                "mean of the lossy benchmark's streams, for twice the latency"]

    def recording(self):
        """(input, output) kept in memory so far (``record_seconds``),
        float32 (frames, channels)."""
        return self.memory.recording()
