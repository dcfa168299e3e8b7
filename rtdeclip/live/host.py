"""The live host: sound card -> lock-free ring buffer -> worker thread
(C declipper, GIL released) -> lock-free ring buffer -> sound card.

    with LiveDeclipper(channels=2, samplerate=48000, preset="average") as host:
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

Overload: before each block the worker sets the solver's wall-clock limit
from the output still queued, so a frame that would be late is cut at its
deadline (``frames_cut``) instead of the device running dry; then the
iteration budget is halved (``budget_cuts``) and given back slowly; with
less than a quarter block queued the block passes through unsolved
(``passthrough_blocks``).  ``late_frames`` counts frames cut or passed.
"""
import os
import threading
import time

import numpy as np

from rtdeclip.core.declipper import Declipper
from rtdeclip.errors import UserError
from rtdeclip.live.limiter import Limiter
from rtdeclip.files.audio_io import AtomicWav

DEFAULT_GAIN_DB = {"fastest": -6.0, "average": -6.0, "highquality": -6.0}
DEFAULT_CEILING_DB = -1.0


def _pow2(n):
    p = 1
    while p < n:
        p *= 2
    return p


def input_path(path):
    """Where ``--record out.wav`` puts the input: ``out.input.wav``."""
    root, ext = os.path.splitext(path)
    return f"{root}.input{ext or '.wav'}"


class RecordTap:
    """The input and the output, each into its own WAV (``path`` gets what
    was played, ``input_path(path)`` what came in), written by a thread of
    its own from a lock-free ring buffer so the worker never waits on the
    disk.  ``close()`` commits what was recorded, also after the device
    went away."""

    def __init__(self, path, sr, channels, block, rtmixer):
        self.wav_out = AtomicWav(path, sr, channels, "float32")
        self.wav_in = AtomicWav(input_path(path), sr, channels, "float32")
        self.ch = channels
        self.rb = rtmixer.RingBuffer(8 * channels, _pow2(sr * 4))
        self.tmp = np.zeros((block, 2 * channels), np.float32)
        self.dropped = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="rtdeclip-recorder", daemon=True)
        self._thread.start()

    def push(self, inbuf, outbuf):
        self.tmp[:, :self.ch] = inbuf
        self.tmp[:, self.ch:] = outbuf
        if self.rb.write_available >= len(self.tmp):
            self.rb.write(self.tmp)
        else:  # the disk is too slow: drop rather than make the worker wait
            self.dropped += len(self.tmp)

    def _drain(self):
        while not self._done.is_set() or self.rb.read_available:
            n = self.rb.read_available
            if n == 0:
                time.sleep(0.05)
                continue
            data = np.frombuffer(self.rb.read(n), np.float32).reshape(n, -1)
            self.wav_in.write(data[:, :self.ch])
            self.wav_out.write(data[:, self.ch:])

    def close(self):
        self._done.set()
        self._thread.join(10)
        self.wav_out.commit()
        self.wav_in.commit()


class LiveDeclipper:
    """Declip a live input to a live output until ``stop()``.

    ``input``/``output``: device index or name substring (None: default).
    ``on_block(inblock, outblock)`` runs on the worker thread for every
    block and may change ``outblock`` in place (before gain and limiter).
    ``gain_db`` (default -6 dB) and ``ceiling_db`` (look-ahead limiter,
    default -1 dBFS, None to switch off) keep restored peaks under full
    scale.  ``record`` writes both streams to WAV files; ``bypass`` keeps
    the delay but leaves the audio undeclipped (A/B).  ``source=array``
    plays a signal from memory instead of a live input (the demo).
    ``margin_blocks`` overrides the automatic safety margin.  Other keyword
    arguments go to :class:`rtdeclip.Declipper`.
    """

    def __init__(self, input=None, output=None, channels=2, samplerate=48000, blocksize=256,
                 preset="average", threshold="auto", gain_db=None, ceiling_db=DEFAULT_CEILING_DB,
                 margin_blocks=None, on_block=None, source=None, record_seconds=0.0,
                 bypass=False, record=None, **solver):
        import rtmixer  # imported here: PortAudio must start after a JACK server
        self.sr, self.channels, self.block = int(samplerate), int(channels), int(blocksize)
        if self.block < 16 or self.block > 8192:
            raise UserError(f"blocksize must be between 16 and 8192, got {blocksize}")
        try:
            self.declipper = Declipper(samplerate, channels=channels, preset=preset,
                                       threshold=threshold, **solver)
        except ValueError as e:
            raise UserError(str(e)) from None
        self.preset = preset
        self.budget = self.declipper.iterations
        hop = self.declipper.settings.hop
        # processing window: the block completing a frame carries a whole
        # hop of work (or a block of it, with blocks longer than the hop)
        self.window = max(self.block, hop)
        if margin_blocks is None:
            self.margin = self.block + self.window
        else:
            self.margin = int(margin_blocks) * self.block
            if self.margin <= self.block:
                raise UserError("margin must be at least 2 blocks")
        self.gain = 10 ** ((DEFAULT_GAIN_DB.get(str(preset).lower(), -6.0) if gain_db is None
                            else gain_db) / 20)
        try:
            self.limiter = None if ceiling_db is None else Limiter(self.sr, channels, ceiling_db,
                                                                   max_block=self.block)
        except ValueError as e:
            raise UserError(str(e)) from None
        self.on_block, self.bypass = on_block, bypass
        self.source = None if source is None else np.ascontiguousarray(source, dtype=np.float32)
        if self.source is not None and (self.source.ndim != 2 or self.source.shape[1] != channels):
            raise UserError("the source signal must have one column per channel")
        before = self._jack_ports()
        try:
            if self.source is None:
                self.stream = rtmixer.MixerAndRecorder(
                    device=(input, output), channels=channels, samplerate=samplerate,
                    blocksize=blocksize, latency="low")
            else:
                self.stream = rtmixer.Mixer(device=output, channels=channels,
                                            samplerate=samplerate, blocksize=blocksize,
                                            latency="low")
        except Exception as e:  # PortAudio's reason: no such device, bad rate...
            raise UserError(f"cannot open the audio device: {e}") from None
        # the stream's own JACK ports, when it runs on JACK (for wiring)
        mine = [p for p in self._jack_ports() if p not in before] if before else []
        self.jack_inputs = [p for p in mine if ":in_" in p]
        self.jack_outputs = [p for p in mine if ":out_" in p]
        size = _pow2(max(16 * self.block, 4 * self.margin, 8192))
        self.rb_in = rtmixer.RingBuffer(4 * channels, size)
        self.rb_out = rtmixer.RingBuffer(4 * channels, size)
        self.tap = RecordTap(record, self.sr, channels, self.block, rtmixer) if record else None
        n_rec = int(record_seconds * self.sr)
        self._rec_in = np.full((n_rec, channels), 0.0, np.float32)
        self._rec_out = np.full((n_rec, channels), 0.0, np.float32)
        self._rec_n = 0
        self._stop = threading.Event()
        # np.full, not np.zeros: every page is touched now, so the resident
        # size does not grow while streaming (calloc maps pages lazily)
        self._times = np.full(1 << 16, 0.0)   # per-block processing time, ring
        self._ntimes = 0
        self._hop_times = np.full(1 << 15, 0.0)   # per-hop time of the calls completing hops
        self._nhops = 0
        self._hop = hop
        self.counts = dict(blocks=0, late_frames=0, budget_cuts=0, passthrough_blocks=0,
                           passthrough_frames=0, late_blocks=0, input_overflows=0,
                           output_underflows=0, device_input_overflows=0,
                           device_output_underflows=0, limited_samples=0,
                           output_clipped_samples=0)
        # meters, written by the worker, read by the view
        self.peak_in = np.zeros(channels)
        self.peak_out = np.zeros(channels)
        self.clip_count = np.zeros(channels, np.int64)
        self.error = None
        self.device_lost = False
        self.realtime = False
        self._worker = None
        self._rec_done = 0       # input frames of finished record actions
        self._in_read = 0        # input frames taken from rb_in (processed or dropped)
        self._pad = np.zeros((self.margin, channels), np.float32)

    @staticmethod
    def _jack_ports():
        from rtdeclip.live import jackserver
        return jackserver.ports() if jackserver.jack_running() else []

    # -- latency ---------------------------------------------------------------
    @property
    def latency(self):
        """Latency split in samples and ms: device input, algorithm, safety
        margin, limiter, device output (device terms as PortAudio reports
        them); ``processing`` is what the host adds between its ports."""
        lat = self.stream.latency
        lin, lout = (lat if isinstance(lat, tuple) else (0.0, lat))
        parts = {"device_input": int(round(lin * self.sr)) if self.source is None else 0,
                 "algorithm": self.declipper.latency_samples, "margin": self.margin,
                 "limiter": self.limiter.latency_samples if self.limiter else 0,
                 "device_output": int(round(lout * self.sr))}
        parts["total"] = sum(parts.values())
        parts["processing"] = parts["algorithm"] + parts["margin"] + parts["limiter"]
        return {k: {"samples": v, "ms": 1000.0 * v / self.sr} for k, v in parts.items()}

    # -- running ---------------------------------------------------------------
    def start(self):
        self.rb_out.write(np.zeros((self.margin, self.channels), np.float32))
        self._play = self.stream.play_ringbuffer(self.rb_out)
        self._rec = self.stream.record_ringbuffer(self.rb_in) if self.source is None else None
        self._worker = threading.Thread(target=self._run, name="rtdeclip-worker", daemon=True)
        self._t0 = time.monotonic()
        self._last_fetch = self._t0
        self._started = threading.Event()
        self._worker.start()         # running (real-time) before the first callback
        self._started.wait(5)
        self.stream.start()
        self._streaming = True
        return self

    def _run(self):
        # real-time scheduling for the worker where allowed (root, rtprio
        # limits): other processes then cannot delay a block
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
            self.realtime = True
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
        ch, block = self.channels, self.block
        inbuf = np.zeros((block, ch), np.float32)
        outbuf = np.zeros((block, ch), np.float32)
        absbuf = np.zeros((block, ch), np.float32)
        hits = np.zeros((block, ch), bool)
        nhits = np.zeros(ch, np.int64)
        th = np.zeros((2, ch), np.float32)
        th[0], th[1] = np.inf, -np.inf
        src_pos = 0
        d, c = self.declipper, self.counts
        nap = block / self.sr / 4
        self._progress = time.monotonic()
        while not self._stop.is_set():
            if self.source is None:
                if self.rb_in.read_available < block:
                    self._check_actions()
                    time.sleep(nap)
                    continue
                self.rb_in.readinto(inbuf)
                self._in_read += block
            else:
                # pace a built-in source by the room left in the output buffer
                if self.rb_out.write_available < block or \
                        self.rb_out.read_available >= self.margin:
                    self._check_actions()
                    time.sleep(nap)
                    continue
                n = min(block, len(self.source) - src_pos)
                if n <= 0:
                    inbuf[:] = 0
                else:
                    inbuf[:n] = self.source[src_pos:src_pos + n]
                    inbuf[n:] = 0
                src_pos += block
            queued = self.rb_out.read_available   # output left before the device runs dry
            passed = self._adapt_budget(queued)
            if passed:
                skipped0 = d.stats["frames_skipped"]
            t0 = time.perf_counter()
            d.process(inbuf, out=outbuf)
            dt = time.perf_counter() - t0
            self._times[self._ntimes % len(self._times)] = dt
            # hops this call completed (the frame grid's phase is constant)
            n0 = self._ntimes * block
            hops = (n0 + block) // self._hop - n0 // self._hop
            self._ntimes += 1
            self._last_hops = hops
            if hops:
                self._hop_times[self._nhops % len(self._hop_times)] = dt / hops
                self._nhops += 1
            if passed:
                c["passthrough_frames"] += d.stats["frames_skipped"] - skipped0
            if self.on_block is not None:
                self.on_block(inbuf, outbuf)
            outbuf *= self.gain
            if self.limiter is not None:
                self.limiter.process(outbuf)
            else:   # no limiter: full scale is a hard clip, counted
                np.abs(outbuf, out=absbuf)
                if absbuf.max() > 1.0:
                    c["output_clipped_samples"] += int(np.count_nonzero(absbuf > 1.0))
                    np.clip(outbuf, -1.0, 1.0, out=outbuf)
            self._meter(inbuf, outbuf, absbuf, hits, nhits, th)
            if self._rec_n + block <= len(self._rec_in):
                self._rec_in[self._rec_n:self._rec_n + block] = inbuf
                self._rec_out[self._rec_n:self._rec_n + block] = outbuf
                self._rec_n += block
            if self.tap is not None:
                self.tap.push(inbuf, outbuf)
            if self.source is None and self.rb_out.read_available < block // 2:
                # delivered with less than half a block still queued: the
                # device nearly ran dry waiting for this block
                c["late_blocks"] += 1
            self.rb_out.write(outbuf)
            c["blocks"] += 1
            self._cpu = time.thread_time()   # the worker's own CPU time
            self._check_actions()

    def _meter(self, inbuf, outbuf, absbuf, hits, nhits, th):
        """Peaks per channel and input samples at the clip levels (all into
        preallocated arrays)."""
        np.abs(inbuf, out=absbuf)
        np.maximum.reduce(absbuf, axis=0, out=self.peak_in)
        np.abs(outbuf, out=absbuf)
        np.maximum.reduce(absbuf, axis=0, out=self.peak_out)
        if self.counts["blocks"] % 32 == 0:  # the levels move slowly
            for k, (p, q) in enumerate(self.declipper.thresholds):
                th[0, k], th[1, k] = p, q
        np.greater_equal(inbuf, th[0], out=hits)
        np.add.reduce(hits, axis=0, out=nhits)
        self.clip_count += nhits
        np.less_equal(inbuf, th[1], out=hits)
        np.add.reduce(hits, axis=0, out=nhits)
        self.clip_count += nhits

    def _adapt_budget(self, queued):
        """Set this block's deadline from the output still queued (frames
        running into it are cut: late frames), halve the budget after a cut,
        pass through when almost nothing is queued, give the budget back
        slowly when on time.  Returns whether this block passes through."""
        d, c = self.declipper, self.counts
        if self.bypass:
            d.iterations = 0   # keeps the declipper's delay, so A/B does not jump
            return False
        # The device runs dry at the first callback after the queued output
        # is played: queued/sr from now, plus the rest of the current period
        # (the worker wakes at most a quarter period after a callback, so at
        # least 3/4 of it; half is counted).  85 % of that goes to the
        # solver, the rest to Python around the call.
        # Capped at the hop while frames are being cut: a worker that spends
        # whole deadlines hop after hop would run 100 % busy and underflow
        # on the next jitter; at most 85 % of the hop keeps it sustainable
        # while the budget comes down.  After an uncut hop one hop may
        # borrow beyond its length (a stall, a frame costlier than most).
        cut = d.stats["frames_cut"]
        if cut > self._cut_before:
            self._borrow = False
        elif self._last_hops:
            self._borrow = True
        left = (max(0, queued) + self.block / 2) / self.sr
        if not self._borrow:
            left = min(left, self.window / self.sr)
        d.set_time_limit(max(1e-4, 0.85 * left))
        if d.iterations == 0:   # after a pass-through or bypass
            d.iterations = max(1, getattr(self, "_saved_budget", self.budget))
        if cut > self._cut_before:
            if d.iterations > 1:
                d.iterations = max(1, d.iterations // 2)
                c["budget_cuts"] += 1
        elif queued >= self.window // 2 and d.iterations < self.budget:
            d.iterations = min(self.budget, d.iterations + max(1, d.iterations // 4))
        self._cut_before = cut
        if queued < self.block // 4:
            self._saved_budget = d.iterations
            d.iterations = 0
            c["passthrough_blocks"] += 1
            return True
        return False

    def _check_actions(self):
        """rtmixer ends a ring-buffer action when its buffer runs empty
        (output) or full (input): count the xrun and start it again.  The
        device's own xrun flags are fetched once a second.  A device that
        stops calling back for a second is gone."""
        if not self._streaming:
            return
        now = time.monotonic()
        played = self._play.done_frames  # advanced by every device callback
        if played != getattr(self, "_last_played", None):
            self._last_played, self._progress = played, now
        elif now - self._progress > 1.0 + 4 * self.margin / self.sr:
            self.device_lost = True
            raise UserError("the audio device stopped (disconnected, or its server went away)")
        acts = self.stream.actions
        if self._rec is not None and self._rec not in acts and not self._stop.is_set():
            self.counts["input_overflows"] += 1
            self._rec_done += self._rec.done_frames
            dropped = self.rb_in.read_available
            self.rb_in.advance_read_index(dropped)
            self._in_read += dropped
            self._rec = self.stream.record_ringbuffer(self.rb_in)
        if self._play not in acts and not self._stop.is_set():
            self.counts["output_underflows"] += 1
            self._resync()
            self._play = self.stream.play_ringbuffer(self.rb_out)
        fetch = getattr(self, "_fetch", None)
        if fetch is not None and fetch not in acts:
            self._count_device(fetch.stats)
            self._fetch = None
        if self._fetch is None and now - self._last_fetch >= 1.0:
            self._last_fetch = now
            self._fetch = self.stream.fetch_and_reset_stats()
        if not self.stream.active and not self._stop.is_set():
            self.device_lost = True
            raise UserError("the audio device stopped (disconnected, or its server went away)")

    def _count_device(self, st):
        """The driver's own xrun flags (PortAudio status; JACK raises both
        flags for one graph xrun, and input flags on output-only streams)."""
        self.counts["device_output_underflows"] += st.output_underflows
        if self.source is None:
            self.counts["device_input_overflows"] += st.input_overflows

    def _resync(self):
        """After an output underflow: the device played silence for a while,
        so the queued output is late.  Drop it and queue exactly what puts
        the next output sample at its place, input index + margin, by
        padding silence after skipping the input backlog: the latency stays
        constant."""
        self.rb_out.advance_read_index(self.rb_out.read_available)  # no reader now
        if self._rec is None:    # a built-in source: no input clock to keep
            self.rb_out.write(np.zeros((self.margin, self.channels), np.float32))
            return
        # The input waiting to be processed is dropped too (the output of
        # that stretch is lost already): its outputs would be due before the
        # worker could make them, and each would underflow again.  Then the
        # queue is refilled to the whole margin, at the same latency.
        skip = self.rb_in.read_available
        self.rb_in.advance_read_index(skip)
        self._in_read += skip
        played_to = self._rec_done + self._rec.done_frames   # device frames so far
        pad = self._in_read + self.margin - played_to
        if pad > 0:
            self._pad[:] = 0
            while pad > 0:
                pad -= self.rb_out.write(self._pad[:min(pad, len(self._pad))])

    _fetch = None
    _cut_before = 0
    _borrow = True       # the last hop was not cut: the next may run past its length
    _last_hops = 0       # hops the last process() call completed
    _streaming = False

    def stop(self):
        """Stop streaming (idempotent); returns the final :attr:`stats`."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(5)
        if not self.device_lost and not getattr(self, "_closed", False):
            try:  # a dead server can hang PortAudio's stop: not then
                self.stream.stop()
                self._count_device(self.stream.stats)
                self.stream.close()
            except Exception:  # noqa: BLE001 -- the device may be gone already
                pass
            self._closed = True
        if self.tap is not None:
            self.tap.close()
            self.tap = None
        if self.error is not None and not isinstance(self.error, UserError):
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
        s.update(self.declipper.stats)
        s["late_frames"] = s["frames_cut"] + s["passthrough_frames"]
        # the host's own (ring buffers) and the driver's (one event may
        # raise both its flags: counted once)
        s["xruns"] = (s["input_overflows"] + s["output_underflows"]
                      + max(s["device_input_overflows"], s["device_output_underflows"]))
        if self.limiter is not None:
            s["limited_samples"] = self.limiter.limited_samples
        s["seconds"] = time.monotonic() - getattr(self, "_t0", time.monotonic())
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
        s["worker_cpu_share"] = getattr(self, "_cpu", 0.0) / max(1e-9, s["seconds"])
        s["worker_busy_share"] = float(t.sum() / max(1e-9, s["seconds"])) if len(t) else 0.0
        s["clipped_ratio"] = s["clipped_samples"] / max(1, s["samples_in"] * self.channels)
        s["thresholds"] = [[float(p), float(q)] for p, q in self.declipper.thresholds]
        # how each rail was found (exact / noisy / codec-smeared) and the
        # smear width used: a decoded lossy stream has no exact rail
        s["rails"] = [{"method": list(d["method"]), "width_db": list(d["width_db"])}
                      for d in self.declipper.detection]
        s["latency"] = self.latency
        s["error"] = None if self.error is None else str(self.error)
        return s

    def recording(self):
        """(input, output) kept in memory so far (``record_seconds``),
        float32 (frames, channels)."""
        return self._rec_in[:self._rec_n].copy(), self._rec_out[:self._rec_n].copy()
