"""A second JACK client that plays a signal into the host's input and
records the host's output, connected port to port (bit-exact)."""
import math
import os
import time

import numpy as np
import pytest

import rtdeclip

from rtdeclip.live import jackserver
from rtdeclip.live.stallwatch import StallWatch


def new_ports(before):
    return [p for p in jackserver.ports() if p not in before]


def wire(host_in, host_out, test_in, test_out):
    """Disconnect everything from system ports, then test_out -> host_in and
    host_out -> test_in, channel by channel."""
    sysports = [p for p in jackserver.ports() if p.startswith("system:")]
    for p in host_in + host_out + test_in + test_out:
        for s in sysports:
            jackserver.disconnect(p, s)
            jackserver.disconnect(s, p)
    for a, b in zip(test_out, host_in):
        jackserver.connect(a, b)
    for a, b in zip(host_out, test_in):
        jackserver.connect(a, b)


def play_through(host, signal, extra_seconds=1.0):
    """Start host, play `signal` (frames, channels) into it from a second
    client, return what came back (same channels) and the host's stats."""
    import rtmixer
    sr, ch = host.sample_rate, host.channels
    before = jackserver.ports()
    tester = rtmixer.MixerAndRecorder(channels=ch, samplerate=sr, blocksize=host.block)
    test_ports = new_ports(before)
    test_in = [p for p in test_ports if ":in_" in p]
    test_out = [p for p in test_ports if ":out_" in p]
    assert len(host.jack_inputs) == ch and len(host.jack_outputs) == ch
    wire(host.jack_inputs, host.jack_outputs, test_in, test_out)
    rec = np.zeros((len(signal) + int(extra_seconds * sr), ch), np.float32)
    play = np.ascontiguousarray(signal, dtype=np.float32)
    with StallWatch() as watch:
        t0 = time.monotonic()
        host.start()
        with tester:
            a = tester.record_buffer(rec, channels=ch)
            b = tester.play_buffer(play, channels=ch)
            tester.wait(a)
            tester.wait(b)
        stats = host.stop()
        t1 = time.monotonic()
    tester.close()
    # what the machine did meanwhile, seen from outside (for the tests'
    # excuses): stalls of at least a JACK period, (seconds, ms) -- a shorter
    # one leaves every client its period (the 3-5 ms stalls that come by
    # the dozen on a busy VM excused whole runs)
    stats = dict(stats, machine_stalls=watch.at_least(1000.0 * host.block / sr, t0, t1))
    return rec, stats


def lag_of(reference, recorded, max_lag):
    """Delay of `recorded` behind `reference` (first channel), by
    cross-correlation."""
    r = reference[:, 0].astype(np.float64)
    y = recorded[:, 0].astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(r) + len(y))))
    corr = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(r, n)), n)[:max_lag]
    return int(np.argmax(corr))


def settle(seconds=0.2):
    time.sleep(seconds)


def bare_loopback_lag(sr, ch, block):
    """Delay of the test client's own out -> in loopback: what the JACK
    graph adds, to be taken out of the measured host latency."""
    import rtmixer
    before = jackserver.ports()
    tester = rtmixer.MixerAndRecorder(channels=ch, samplerate=sr, blocksize=block)
    mine = new_ports(before)
    t_in = [p for p in mine if ":in_" in p]
    t_out = [p for p in mine if ":out_" in p]
    click = np.zeros((sr // 2, ch), np.float32)
    click[1000] = 1.0
    rec = np.zeros((sr, ch), np.float32)
    with tester:
        for a, b in zip(t_out, t_in):
            jackserver.connect(a, b)
        a = tester.record_buffer(rec, channels=ch)
        b = tester.play_buffer(click, channels=ch)
        tester.wait(a)
        tester.wait(b)
    tester.close()
    return int(np.argmax(np.abs(rec[:, 0]))) - 1000


def excused_underflows(host, watch, t0, t1):
    """How many output underflows machine stalls explain between monotonic
    times t0 and t1: the first block may be lost at start-up; beyond it, a
    stall of at least half the output margin (the VM stopped: the driver
    then runs its missed periods back to back, faster than any worker could
    refill the ring) excuses one underflow per period it lasted, plus one.
    Returns (allowed, stalls) with stalls as (seconds after t0, ms) for
    the assertion message.  A machine that never stalls allows just 1."""
    margin_ms = host.latency["margin"]["ms"]
    period_ms = 1000.0 * host.block / host.sample_rate
    stalls = watch.at_least(margin_ms / 2, t0, t1)
    return 1 + sum(1 + math.ceil(ms / period_ms) for _, ms in stalls), stalls


def reported_events(stats):
    """Everything that may change the host's output locally: what the host
    reported (its own ring xruns, frames cut at their deadline or passed
    through, the driver's xruns: JACK raises the input and output flag for
    one graph xrun, so the larger of the two counts) and the machine stalls
    that ``play_through`` saw from outside (a client late in the JACK
    graph loses a period in between, not always flagged)."""
    return (stats["output_underflows"] + stats["input_overflows"] + stats["late_frames"]
            + stats["passthrough_blocks"]
            + max(stats["device_input_overflows"], stats["device_output_underflows"])
            + len(stats.get("machine_stalls", ())))


def live_against_offline(clean, clipped, offline, live, stats, span=2048):
    """Mean ΔSDR (dB) of the live and of the offline output over the whole
    signal, and what was excused.  With nothing reported (see
    ``reported_events``) live must equal offline everywhere.  A machine
    that stalls makes the host report events, each of which may damage one
    stretch of the output (a hole in the input, a frame cut short, the
    silence of an underflow): then in the two windows of ``span`` samples
    per event where the live output departs most from the offline one,
    live is taken as offline (a stretch may straddle two windows).  The
    SDR is still over every sample, so what is compared does not shift to
    the easy passages.  A fault that is not local -- the output moved after
    an xrun -- damages every later window and still fails the comparison.
    Returns (d_live, d_off, windows excused, windows, the live output with
    the excused windows taken from offline)."""
    n = len(clean) // span
    dev = ((live[:n * span] - offline[:n * span]) ** 2).reshape(n, -1).sum(axis=1)
    out = min(n, 2 * reported_events(stats))
    patched = live.copy()
    for w in np.argsort(dev)[n - out:] if out else []:
        patched[w * span:(w + 1) * span] = offline[w * span:(w + 1) * span]

    def gain(y):
        return float(np.mean(rtdeclip.sdr(clean, y) - rtdeclip.sdr(clean, clipped)))
    return gain(patched), gain(offline), out, n, patched


def event_counts(stats):
    """What ``reported_events`` adds up, by kind (for assertion messages)."""
    keys = ("output_underflows", "input_overflows", "late_frames", "passthrough_blocks",
            "device_input_overflows", "device_output_underflows")
    return dict({k: stats[k] for k in keys}, machine_stalls=stats.get("machine_stalls"))


def moved(offline, recorded, lag, max_lag):
    """Whether the last third of ``recorded`` lies at another delay behind
    ``offline`` than ``lag`` (the whole recording's): something moved the
    output or the recording part-way (a JACK graph xrun can cost the
    recording client a period)."""
    a = 2 * len(offline) // 3
    tail = recorded[a:a + len(offline) - a + max_lag]
    return lag_of(offline[a:], tail, max_lag) != lag


def play_against_offline(make_host, clean, clipped, offline, tries=5):
    """Play ``clipped`` through a host from ``make_host()`` and compare its
    output with ``offline`` (``live_against_offline``).  A run whose
    reported events excuse more than half the output proves nothing
    (the machine was busy or stalled throughout): it is run again, at most
    ``tries`` times in all, and so is a run with reported events whose
    last third lies at another delay than the whole (``moved``: one event
    shifted the rest, which windows cannot excuse; with nothing reported
    such a shift fails the comparison); if every run was like that on a machine seen
    to be busy (load average above 3/4 of the CPUs, or stalls seen by the
    watcher), the test is skipped with the counts, otherwise it goes on
    to fail.  Returns a dict: d_live, d_off, left_out (windows excused),
    windows, runs, lag, host, stats, live (the host's output aligned on
    ``clean``, the excused windows taken from ``offline``), why (a string
    for assertion messages)."""
    busy_runs = 0
    for run in range(1, tries + 1):
        h = make_host()
        lat = h.latency["processing"]["samples"]
        rec, stats = play_through(h, clipped)
        load = os.getloadavg()[0]
        lag = lag_of(offline, rec, 4 * lat)
        live = rec[lag:lag + len(clean)].astype(np.float64)
        d_live, d_off, left_out, windows, patched = live_against_offline(
            clean, clipped, offline, live, stats)
        shifted = reported_events(stats) > 0 and moved(offline, rec, lag, 4 * lat)
        if left_out <= windows // 2 and not shifted:
            break
        busy_runs += load > 0.75 * os.cpu_count() or bool(stats["machine_stalls"]) or shifted
    why = dict(d_live=d_live, d_off=d_off, left_out=left_out, windows=windows, runs=run,
               load=round(load, 2), shifted=shifted, **event_counts(stats))
    why = ", ".join(f"{k}={v!r}" for k, v in why.items())   # a string: shown whole
    if (left_out > windows // 2 or shifted) and busy_runs == tries:
        pytest.skip(f"the machine was too busy to compare live with offline: {why}")
    return dict(d_live=d_live, d_off=d_off, left_out=left_out,
                windows=windows, runs=run, lag=lag, host=h, stats=stats, live=patched, why=why)
