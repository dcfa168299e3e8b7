"""The live host: sound card -> lock-free ring buffer -> worker thread
(C declipper, GIL released) -> lock-free ring buffer -> sound card.

    with LiveDeclipper(channels=2, samplerate=48000, preset="average") as host:
        print(host.latency)          # split into device, algorithm and margin
        time.sleep(10)
        print(host.stats)

The audio callback is python-rtmixer's, written in C: it only copies
between the device and the ring buffers, so it never waits on Python.  The
output ring buffer is pre-filled with ``margin`` samples of silence, which
is the time the worker has to produce each block: latency is bounded and
constant.  When the worker falls behind it first lowers the iteration
budget, then passes audio through unsolved, and counts both.
"""
import threading
import time

import numpy as np

from ..declipper import Declipper
from ..errors import UserError

DEFAULT_GAIN_DB = {"fastest": -6.0, "average": -6.0, "highquality": -6.0}


def _pow2(n):
    p = 1
    while p < n:
        p *= 2
    return p


class RecordTap:
    """Input and output side by side into a WAV (2 x channels columns),
    written by its own thread from a lock-free ring buffer, so the worker
    never waits on the disk.  ``close()`` commits what was recorded, also
    after the device went away."""

    def __init__(self, path, sr, channels, block, rtmixer):
        from ..audio_io import AtomicWav
        self.wav = AtomicWav(path, sr, 2 * channels, "float32")
        self.rb = rtmixer.RingBuffer(8 * channels, _pow2(sr * 4))
        self.tmp = np.zeros((block, 2 * channels), np.float32)
        self.dropped = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="rtdeclip-recorder", daemon=True)
        self._thread.start()

    def push(self, inbuf, outbuf):
        ch = inbuf.shape[1]
        self.tmp[:, :ch] = inbuf
        self.tmp[:, ch:] = outbuf
        if self.rb.write_available >= len(self.tmp):
            self.rb.write(self.tmp)
        else:
            self.dropped += len(self.tmp)

    def _drain(self):
        while not self._done.is_set() or self.rb.read_available:
            n = self.rb.read_available
            if n == 0:
                time.sleep(0.05)
                continue
            data = np.frombuffer(self.rb.read(n), np.float32).reshape(n, -1)
            self.wav.write(data)

    def close(self):
        self._done.set()
        self._thread.join(10)
        self.wav.commit()


class LiveDeclipper:
    """Declip a live input to a live output (or a built-in signal to the
    output, with ``source=array``) until ``stop()``.

    ``on_block(inblock, outblock)`` runs on the worker thread for every
    block and may change ``outblock`` in place.  ``record`` collects the
    input and output (``recording()`` returns them)."""

    def __init__(self, input=None, output=None, channels=2, samplerate=48000, blocksize=256,
                 preset="average", threshold="auto", gain_db=None, margin_blocks=2,
                 on_block=None, source=None, record_seconds=0.0, bypass=False, record=None,
                 **solver):
        import rtmixer  # imported here: PortAudio must start after a JACK server
        self.sr, self.channels, self.block = int(samplerate), int(channels), int(blocksize)
        if self.block < 16 or self.block > 8192:
            raise UserError(f"--blocksize must be between 16 and 8192, got {blocksize}")
        self.declipper = Declipper(samplerate, channels=channels, preset=preset,
                                   threshold=threshold, **solver)
        self.budget = self.declipper.iterations
        self.margin = int(margin_blocks) * self.block
        # the solver can never make the worker late: a call that runs out of
        # time returns its frame's last iterate (counted as frames_cut)
        self.declipper.set_time_limit(0.5 * self.margin / self.sr)
        self.gain = 10 ** ((DEFAULT_GAIN_DB.get(preset.lower(), -6.0) if gain_db is None
                            else gain_db) / 20)
        self.on_block, self.bypass = on_block, bypass
        self.source = None if source is None else np.ascontiguousarray(source, dtype=np.float32)
        if self.source is not None and self.source.shape[1] != channels:
            raise UserError("the source signal must have one column per channel")
        try:
            if self.source is None:
                self.stream = rtmixer.MixerAndRecorder(
                    device=(input, output), channels=channels, samplerate=samplerate,
                    blocksize=blocksize, latency="low")
            else:
                self.stream = rtmixer.Mixer(device=output, channels=channels,
                                            samplerate=samplerate, blocksize=blocksize,
                                            latency="low")
        except Exception as e:  # PortAudio's reason: no device, bad rate...
            raise UserError(f"cannot open the audio device: {e}") from None
        size = _pow2(max(16 * self.block, 4 * self.margin, 8192))
        self.rb_in = rtmixer.RingBuffer(4 * channels, size)
        self.rb_out = rtmixer.RingBuffer(4 * channels, size)
        self._rtmixer = rtmixer
        self.tap = RecordTap(record, self.sr, channels, self.block, rtmixer) if record else None
        n_rec = int(record_seconds * self.sr)
        self._rec_in = np.zeros((n_rec, channels), np.float32)
        self._rec_out = np.zeros((n_rec, channels), np.float32)
        self._rec_n = 0
        self._stop = threading.Event()
        self._times = np.zeros(1 << 16)       # per-block processing time, ring
        self._ntimes = 0
        self.counts = dict(blocks=0, late_blocks=0, budget_cuts=0, passthrough_blocks=0,
                           input_overflows=0,
                           output_underflows=0, output_clipped_samples=0, restarts=0)
        self.error = None
        self.device_lost = False
        self._worker = None

    # -- latency ---------------------------------------------------------------
    @property
    def latency(self):
        """Latency split in samples and ms: device input, algorithm, safety
        margin, device output (the device terms as PortAudio reports them)."""
        lat = self.stream.latency
        lin, lout = (lat if isinstance(lat, tuple) else (0.0, lat))
        parts = {"device_input": int(round(lin * self.sr)) if self.source is None else 0,
                 "algorithm": self.declipper.latency_samples, "margin": self.margin,
                 "device_output": int(round(lout * self.sr))}
        parts["total"] = sum(parts.values())
        parts["processing"] = parts["algorithm"] + parts["margin"]
        return {k: {"samples": v, "ms": 1000.0 * v / self.sr} for k, v in parts.items()}

    # -- running ---------------------------------------------------------------
    def start(self):
        self.rb_out.write(np.zeros((self.margin, self.channels), np.float32))
        self._play = self.stream.play_ringbuffer(self.rb_out)
        self._rec = self.stream.record_ringbuffer(self.rb_in) if self.source is None else None
        self._worker = threading.Thread(target=self._run, name="rtdeclip-worker", daemon=True)
        self.stream.start()
        self._t0 = time.monotonic()
        self._worker.start()
        return self

    def _run(self):
        try:
            self._loop()
        except Exception as e:  # reported by stop(); the stream must not hang
            self.error = e
            # whatever stopped the worker, PortAudio may not be able to stop
            # the stream cleanly any more: treat the device as gone
            self.device_lost = True
            self._stop.set()

    def _loop(self):
        ch, block = self.channels, self.block
        inbuf = np.zeros((block, ch), np.float32)
        outbuf = np.zeros((block, ch), np.float32)
        src_pos = 0
        d, c = self.declipper, self.counts
        nap = block / self.sr / 4
        self._progress = time.monotonic()
        while not self._stop.is_set():
            if self.source is None:
                avail = self.rb_in.read_available
                if avail < block:
                    self._check_actions()
                    time.sleep(nap)
                    continue
                backlog = avail // block - 1
                self.rb_in.readinto(inbuf)
            else:
                # pace a built-in source by the room left in the output buffer
                if self.rb_out.write_available < block or \
                        self.rb_out.read_available >= self.margin + block:
                    self._check_actions()
                    time.sleep(nap)
                    continue
                backlog = 0
                n = min(block, len(self.source) - src_pos)
                if n <= 0:
                    inbuf[:] = 0
                else:
                    inbuf[:n] = self.source[src_pos:src_pos + n]
                    inbuf[n:] = 0
                src_pos += block
            self._adapt_budget(backlog)
            t0 = time.perf_counter()
            if self.bypass:
                # keep the declipper's delay so A/B switching does not jump
                d.iterations = 0
            d.process(inbuf, out=outbuf)
            self._times[self._ntimes % len(self._times)] = time.perf_counter() - t0
            self._ntimes += 1
            if self.on_block is not None:
                self.on_block(inbuf, outbuf)
            outbuf *= self.gain
            over = np.abs(outbuf) > 1.0
            if over.any():
                c["output_clipped_samples"] += int(over.sum())
                np.clip(outbuf, -1.0, 1.0, out=outbuf)
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
            self._check_actions()

    def _adapt_budget(self, backlog):
        """Behind by a block: halve the budget (budget_cuts); behind by the
        whole margin: pass through unsolved (passthrough_blocks).  On time
        again: give the budget back gradually."""
        d, c = self.declipper, self.counts
        if self.budget is None or self.bypass:
            return
        if backlog * self.block >= self.margin:
            d.iterations = 0
            c["passthrough_blocks"] += 1
        elif backlog >= 1:
            d.iterations = max(1, d.iterations // 2)
            c["budget_cuts"] += 1
        elif d.iterations < self.budget:
            d.iterations = min(self.budget, d.iterations + max(1, self.budget // 8))

    def _check_actions(self):
        """rtmixer ends a ring-buffer action when its buffer runs empty
        (output) or full (input): count the xrun and start it again.  A
        device that stops calling back for a second is gone."""
        now = time.monotonic()
        played = self._play.done_frames  # advanced by every device callback
        if played != getattr(self, "_last_played", None):
            self._last_played, self._progress = played, now
        elif now - self._progress > 1.0 + 4 * self.margin / self.sr:
            self.device_lost = True
            raise UserError("the audio device stopped (disconnected, or its server went away)")
        acts = self.stream.actions
        if self._play not in acts and not self._stop.is_set():
            self.counts["output_underflows"] += 1
            self.rb_out.write(np.zeros((self.margin, self.channels), np.float32))
            self._play = self.stream.play_ringbuffer(self.rb_out)
        if self._rec is not None and self._rec not in acts and not self._stop.is_set():
            self.counts["input_overflows"] += 1
            self.rb_in.advance_read_index(self.rb_in.read_available)
            self._rec = self.stream.record_ringbuffer(self.rb_in)
        if not self.stream.active and not self._stop.is_set():
            raise UserError("the audio device stopped (disconnected, or its server went away)")

    def stop(self):
        self._stop.set()
        if self._worker is not None:
            self._worker.join(5)
        if not self.device_lost:  # a dead server can hang PortAudio's stop
            try:
                self.stream.stop()
                self.stream.close()
            except Exception:  # noqa: BLE001 -- the device may be gone already
                pass
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
        t = self._times[:min(self._ntimes, len(self._times))]
        hop_t = t * 1000.0
        s = dict(self.counts)
        s.update(self.declipper.stats)
        s["seconds"] = time.monotonic() - getattr(self, "_t0", time.monotonic())
        s["iteration_budget"] = self.declipper.iterations
        s["block_ms"] = {"median": float(np.median(hop_t)) if len(t) else 0.0,
                         "p99": float(np.percentile(hop_t, 99)) if len(t) else 0.0,
                         "max": float(hop_t.max()) if len(t) else 0.0,
                         "period": 1000.0 * self.block / self.sr}
        s["worker_cpu_share"] = float(t.sum() / max(1e-9, s["seconds"])) if len(t) else 0.0
        s["clipped_ratio"] = s["clipped_samples"] / max(1, s["samples_in"] * self.channels)
        s["thresholds"] = [[float(p), float(q)] for p, q in self.declipper.thresholds]
        s["latency"] = self.latency
        s["error"] = None if self.error is None else str(self.error)
        return s

    def recording(self):
        """(input, output) recorded so far, float32 (frames, channels)."""
        return self._rec_in[:self._rec_n].copy(), self._rec_out[:self._rec_n].copy()
