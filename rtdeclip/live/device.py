"""The live host's side of the sound card: one rtmixer stream, the two
lock-free ring buffers between it and the worker, and what keeps them
going (xruns counted, a lost device noticed, the latency kept after a
dropout).

rtmixer's callback, in C, only copies between the device and the ring
buffers: it never waits on Python.  The output ring is pre-filled with
``margin`` frames of silence, so the worker always has that much time for
a block.
"""
import time

import numpy as np

from rtdeclip.errors import DeviceError
from rtdeclip.live.buffers import float32_ring

DEVICE_STATS_SECONDS = 1.0        # how often the driver's xrun flags are fetched


def jack_ports():
    """The JACK server's ports (empty when no server runs)."""
    from rtdeclip.live import jackserver
    return jackserver.ports() if jackserver.jack_running() else []


def _open_error(e, output, sample_rate, channels):
    """PortAudio's reason, with what the device does support when it was
    the rate or the channel count."""
    text = str(e)
    try:
        import sounddevice as sd
        dev = sd.query_devices(output, "output")
        if "sample rate" in text.lower():
            return (f"cannot open the audio device {dev['name']!r} at {sample_rate:g} Hz: "
                    f"not supported (it runs at {dev['default_samplerate']:g} Hz)")
        if "channels" in text.lower():
            return (f"cannot open the audio device {dev['name']!r} with {channels} channels: "
                    f"it has {dev['max_output_channels']} outputs")
    except Exception:  # noqa: BLE001 -- the device may not be queryable at all
        pass
    if "querying device" in text or "device matching" in text:
        return f"cannot open the audio device: {text} (see `rtdeclip devices`)"
    return f"cannot open the audio device: {text}"


class DeviceLink:
    """A duplex stream (``playback_only``: output only, for a built-in
    source) with an input ring (``read``) and an output ring (``write``).
    ``check()`` between blocks restarts what an xrun ended and raises
    DeviceError when the device went away.  Each xrun it counts also goes
    into ``events`` (an EventLog, if given) at the stream time the last
    ``check(at=...)`` gave."""

    def __init__(self, rtmixer, input, output, channels, sample_rate, block, margin,
                 playback_only=False, events=None):
        self.channels, self.block, self.margin = channels, block, margin
        self.sr = int(sample_rate)
        self.playback_only = playback_only
        before = jack_ports()
        try:
            if playback_only:
                self.stream = rtmixer.Mixer(device=output, channels=channels,
                                            samplerate=sample_rate, blocksize=block,
                                            latency="low")
            else:
                self.stream = rtmixer.MixerAndRecorder(
                    device=(input, output), channels=channels, samplerate=sample_rate,
                    blocksize=block, latency="low")
        except Exception as e:  # PortAudio's reason: no such device, bad rate...
            raise DeviceError(_open_error(e, output, sample_rate, channels)) from None
        # the stream's own JACK ports, when it runs on JACK (for wiring)
        mine = [p for p in jack_ports() if p not in before] if before else []
        self.jack_inputs = [p for p in mine if ":in_" in p]
        self.jack_outputs = [p for p in mine if ":out_" in p]
        ring = max(16 * block, 4 * margin, 8192)
        self.rb_in = float32_ring(rtmixer, channels, ring)
        self.rb_out = float32_ring(rtmixer, channels, ring)
        self.counts = dict(input_overflows=0, output_underflows=0, device_input_overflows=0,
                           device_output_underflows=0)
        self.events = events         # when each xrun happened (rtdeclip.live.events)
        self._at = 0.0               # stream seconds, from the worker's last check
        self.lost = False            # the device went away: PortAudio cannot stop it cleanly
        self._pad = np.zeros((margin, channels), np.float32)
        self._play = self._rec = None   # rtmixer actions: ring -> device, device -> ring
        self._fetch = None           # pending fetch of the driver's xrun flags
        self._streaming = False      # the device is running: watch its actions
        self._closed = False
        self._last_fetch = 0.0
        self._last_played = None     # device frames played at the last check
        self._progress = 0.0         # when the device was last seen advancing
        self._rec_done = 0           # input frames of finished record actions
        self._in_read = 0            # input frames taken from rb_in (processed or dropped)

    @property
    def latency_seconds(self):
        """(input, output) latency of the device as PortAudio reports it."""
        lat = self.stream.latency
        return lat if isinstance(lat, tuple) else (0.0, lat)

    # -- starting ----------------------------------------------------------------
    def prime(self):
        """The margin of silence and the ring-buffer actions, before the
        device starts."""
        self.rb_out.write(np.zeros((self.margin, self.channels), np.float32))
        self._play = self.stream.play_ringbuffer(self.rb_out)
        self._rec = None if self.playback_only else self.stream.record_ringbuffer(self.rb_in)

    def start(self):
        now = time.monotonic()
        self._last_fetch = self._progress = now
        self.stream.start()
        self._streaming = True

    # -- the worker's side ---------------------------------------------------------
    def read(self, inbuf):
        """The next input block into ``inbuf``; False when none is ready."""
        if self.rb_in.read_available < len(inbuf):
            return False
        self.rb_in.readinto(inbuf)
        self._in_read += len(inbuf)
        return True

    @property
    def queued(self):
        """Output frames queued before the device runs dry."""
        return self.rb_out.read_available

    def room(self, frames):
        """Whether a built-in source should make the next block: room in
        the output ring and less than the margin queued."""
        return self.rb_out.write_available >= frames and self.rb_out.read_available < self.margin

    def write(self, outbuf):
        self.rb_out.write(outbuf)

    # -- keeping it going ----------------------------------------------------------
    def check(self, stopping=False, at=None):
        """rtmixer ends a ring-buffer action when its buffer runs empty
        (output) or full (input): count the xrun and start it again.  The
        device's own xrun flags are fetched once a second.  A device that
        stops calling back for a second is gone.  ``at``: the stream time
        (seconds) to log xruns found now at."""
        if at is not None:
            self._at = at
        if not self._streaming:
            return
        now = time.monotonic()
        played = self._play.done_frames  # advanced by every device callback
        if played != self._last_played:
            self._last_played, self._progress = played, now
        elif now - self._progress > 1.0 + 4 * self.margin / self.sr:
            self.lost = True
            raise DeviceError("the audio device stopped (disconnected, or its server went away)")
        acts = self.stream.actions
        if self._rec is not None and self._rec not in acts and not stopping:
            self.counts["input_overflows"] += 1
            self._log("input_overflow")
            self._rec_done += self._rec.done_frames
            dropped = self.rb_in.read_available
            self.rb_in.advance_read_index(dropped)
            self._in_read += dropped
            self._rec = self.stream.record_ringbuffer(self.rb_in)
        if self._play not in acts and not stopping:
            self.counts["output_underflows"] += 1
            self._log("output_underflow")
            self._resync()
            self._play = self.stream.play_ringbuffer(self.rb_out)
        if self._fetch is not None and self._fetch not in acts:
            self._count_device(self._fetch.stats)
            self._fetch = None
        if self._fetch is None and now - self._last_fetch >= DEVICE_STATS_SECONDS:
            self._last_fetch = now
            self._fetch = self.stream.fetch_and_reset_stats()
        if not self.stream.active and not stopping:
            self.lost = True
            raise DeviceError("the audio device stopped (disconnected, or its server went away)")

    def _count_device(self, st):
        """The driver's own xrun flags (PortAudio status; JACK raises both
        flags for one graph xrun, and input flags on output-only streams)."""
        self.counts["device_output_underflows"] += st.output_underflows
        inputs = 0 if self.playback_only else st.input_overflows
        self.counts["device_input_overflows"] += inputs
        for _ in range(max(st.output_underflows, inputs)):   # one event raises both flags
            self._log("driver_xrun")

    def _log(self, kind):
        if self.events is not None:
            self.events.add(self._at, kind)

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

    # -- stopping ------------------------------------------------------------------
    def close(self):
        """Stop and close the stream (idempotent); not after the device was
        lost: a dead server can hang PortAudio's stop."""
        if self.lost or self._closed:
            return
        try:
            self.stream.stop()
            self._count_device(self.stream.stats)
            self.stream.close()
        except Exception:  # noqa: BLE001 -- the device may be gone already
            pass
        self._closed = True
