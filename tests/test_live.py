"""The live host through a real PortAudio stream on the JACK dummy server,
fed and recorded by a second JACK client (bit-exact loopback)."""
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import rtdeclip
from rtdeclip.examples import music, never_converging
from loopback import (StallWatch, bare_loopback_lag, event_counts, excused_underflows,
                      play_against_offline, play_through)
from rtdeclip.live.host import input_path

SR, BLOCK = 48000, 256


def clipped_music(seconds, channels=2, sdr_db=5.0):
    clean = music(SR, seconds=seconds, channels=channels)
    _, theta = rtdeclip.clip_to_sdr(clean[:, 0], sdr_db)
    return clean, np.clip(clean, -theta, theta), theta


def host(**kw):
    from rtdeclip.live import LiveDeclipper
    kw.setdefault("channels", 2)
    kw.setdefault("sample_rate", SR)
    kw.setdefault("blocksize", BLOCK)
    kw.setdefault("gain_db", 0.0)
    kw.setdefault("ceiling_db", None)   # compare samples with offline: no limiter
    return LiveDeclipper(**kw)


def test_live_output_matches_offline_and_latency_is_as_reported(jack):
    clean, clipped, theta = clipped_music(6.0)
    graph = bare_loopback_lag(SR, 2, BLOCK)   # what the JACK graph itself adds
    offline = rtdeclip.declip(clipped.astype(np.float32).astype(np.float64), SR,
                              preset="fastest", threshold=theta)
    # equal everywhere when nothing was reported; a stalled machine's xruns
    # and late frames are the 60-second tests' business: here each may only
    # damage its own stretch of output, and an underflow must not move the
    # output (the host resyncs to its latency)
    r = play_against_offline(lambda: host(preset="fastest", threshold=theta),
                             clean, clipped, offline)
    lat = r["host"].latency["processing"]["samples"]
    why = r["why"]
    # where does the live output start? (the loopback adds whole JACK periods)
    assert abs((r["lag"] - graph) - lat) <= BLOCK, (r["lag"], graph, lat, why)
    assert r["stats"]["input_overflows"] == 0, why
    assert r["d_off"] > 5, why
    assert r["left_out"] <= r["windows"] // 2, why
    assert abs(r["d_live"] - r["d_off"]) < 0.5, why


def test_live_at_a_lower_source_rate_equals_the_declipper(jack):
    """A 16 kHz source in the 48 kHz stream (a voice call decoded at 48 kHz):
    the host with source_rate=16000 declips at 16 kHz (csrc/source_rate.c);
    what it played is what the same Declipper gives on what it received,
    bit for bit, and it gains.  (Which phase of the 16 kHz grid the stream
    starts on changes the figure: 9-17 dB here, see docs/lossy.md.)"""
    from rtdeclip.core import resample
    clean16 = music(16000, seconds=6.0, channels=2)
    _, theta = rtdeclip.clip_to_sdr(clean16[:, 0], 5.0)

    def to48(x):   # zero-stuffed and low-passed by the chain's own filter
        z = np.zeros((3 * len(x), x.shape[1]))
        z[::3] = x
        h = 3 * resample.lowpass(3)
        return np.stack([np.convolve(z[:, c], h, "same") for c in range(z.shape[1])], axis=1)

    clipped, clean = to48(np.clip(clean16, -theta, theta)), to48(clean16)
    seen = []

    def keep(inblock, outblock):   # the worker's blocks, before gain and limiter
        seen.append((inblock.copy(), outblock.copy()))

    for attempt in range(2):
        seen.clear()
        h = host(preset="average", threshold="auto", source_rate=16000, on_block=keep)
        assert h.declipper.source_rate == 16000 and h.declipper.stream_hop == 3 * 128
        rec, stats = play_through(h, clipped)
        received = np.concatenate([b[0] for b in seen])
        played = np.concatenate([b[1] for b in seen])
        d = rtdeclip.Declipper(SR, channels=2, preset="average", threshold="auto",
                               source_rate=16000, algorithm="aspade")
        again = np.concatenate([d.process(b[0]) for b in seen])
        # a frame cut at its deadline or a budget the governor lowered (a
        # stalled or busy VM) are the reasons the host may differ from the
        # replay, and they are reported
        cut = (stats["late_frames"] or stats["frames_cut"] or stats["passthrough_blocks"]
               or stats["budget_cuts"])
        replayed = np.array_equal(again, played)
        assert replayed or cut, ("differs from the replay with no frame cut",
                                 event_counts(stats), stats["budget_cuts"])
        heard = np.flatnonzero(np.abs(received).max(axis=1) > 0)
        start = int(heard[0]) if len(heard) else 0
        intact = np.array_equal(received[start:start + len(clipped)], clipped.astype(np.float32))
        if intact and replayed:
            break
        # only input lost and reported excuses a signal that did not arrive
        # whole: a period the JACK dummy driver dropped, or the backlog the
        # host drops after an output underflow to keep its latency
        # (device.py, _resync); play once more
        lost = (stats["input_overflows"] or stats["device_input_overflows"]
                or stats["output_underflows"])
        assert intact or lost, ("the signal arrived changed with no xrun reported",
                                event_counts(stats))
        if attempt == 1:
            pytest.skip(f"disturbed twice on a busy machine: {event_counts(stats)}")
    out = played[start + d.latency_samples:start + d.latency_samples + len(clean)]
    gain = rtdeclip.sdr(clean[:len(out)], out) - rtdeclip.sdr(clean[:len(out)], clipped[:len(out)])
    assert np.all(gain > 5.0), (gain, start % 3)


def test_sixty_seconds_average_preset_without_xruns(jack):
    """The issue's bar, on an idle machine: no late frame at all.  On a
    machine busy with other work (load average above 3/4 of the CPUs), or
    one that stalled while streaming (a VM descheduled by its host: a
    watcher process at a higher real-time priority than the worker woke
    over 4 ms late), frames may still be cut at their deadline: then they
    must be rare and counted, and the output must still never run dry."""
    clean, clipped, theta = clipped_music(6.0)
    clipped = np.tile(clipped, (10, 1))          # clipped all along: the solver never rests
    h = host(preset="average", threshold="auto")
    load = os.getloadavg()[0]
    with StallWatch() as watch:
        t0 = time.monotonic()
        rec, stats = play_through(h, clipped, extra_seconds=0.5)
        t1 = time.monotonic()
    load = max(load, os.getloadavg()[0])
    stall = watch.worst_ms(t0 + 1.0, t1)         # the first second starts the streams
    allowed, stalls = excused_underflows(h, watch, t0 + 1.0, t1)
    # JACK's own xruns (its period came late: the server, not the worker)
    # are excused as in the CPU-hog test below; a fresh-clone CI saw 2
    # underflows against 1 allowed here once, with no stall the watcher caught
    driver = max(stats["device_input_overflows"], stats["device_output_underflows"])
    assert stats["output_underflows"] <= allowed + driver, (
        stats["output_underflows"], stalls, load, f"driver xruns {driver}", stats["events"][:8])
    assert stats["input_overflows"] == 0
    why = (stats["late_frames"], stats["passthrough_blocks"], stats["hop_ms"],
           stats["worker_realtime"], load, stall)
    if load > 0.75 * os.cpu_count() or stall > 4.0:
        # late frames count the passed-through ones too: the last resort
        # after a long stall, rare and counted
        assert stats["late_frames"] <= 0.01 * stats["frames_solved"], why
        if stats["late_frames"]:
            warnings.warn(f"{stats['late_frames']} late frames at load average {load:.1f}, "
                          f"machine stalled up to {stall:.1f} ms")
    else:
        assert stats["late_frames"] == 0 and stats["passthrough_blocks"] == 0, why
    assert stats["frames_solved"] > 0.5 * 60 * SR / 512


def test_sixty_seconds_average_never_converging_beside_a_cpu_hog(jack):
    """Issue 12's live bar: 60 s at period 256 with `average` on the signal
    that never converges, while a second process keeps one core busy: no
    underflow after the first block, late frames <= 0.1 %."""
    clipped = never_converging(SR, 60.0)     # the speed benchmark's worst case
    h = host(preset="average", threshold="auto")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert hog.poll() is None                  # the hog is running
        with StallWatch() as watch:
            t0 = time.monotonic()
            rec, stats = play_through(h, clipped, extra_seconds=0.5)
            t1 = time.monotonic()
    finally:
        hog.kill()
        hog.wait()
    allowed, stalls = excused_underflows(h, watch, t0 + 1.0, t1)
    # JACK's own xruns (its period came late: the server, not the worker),
    # excused as in test_overload_is_absorbed_without_underflow; a
    # fresh-clone CI once saw 2 underflows against 1 allowed here with no
    # stall the watcher caught
    driver = max(stats["device_input_overflows"], stats["device_output_underflows"])
    why = (stats["late_frames"], stats["frames_solved"], stats["passthrough_blocks"],
           stats["hop_ms"], stats["worker_realtime"], os.getloadavg(), stalls,
           f"driver xruns {driver}", stats["events"][:8])
    # no underflow after the first block, unless the machine itself stopped
    assert stats["output_underflows"] <= allowed + driver, why
    assert stats["input_overflows"] == 0, why
    assert stats["frames_solved"] > 0.9 * 60 * SR / 512 * 2, why
    # late frames <= 0.1 %, plus those of the hops a machine stall of at
    # least half a hop overlapped (the VM stopped, not the worker)
    hop_ms = stats["hop_ms"]["hop"]
    stalled = sum(1 + math.ceil(ms / hop_ms) for _, ms in watch.at_least(hop_ms / 2, t0, t1))
    assert stats["late_frames"] <= 0.001 * stats["frames_solved"] + 2 * stalled, why
    assert np.max(np.abs(rec)) > 0.3               # restored peaks came out


def test_overload_is_absorbed_without_underflow(jack):
    clean, clipped, theta = clipped_music(4.0)
    # a budget far beyond real time, and frames that never converge
    h = host(preset="average", threshold=theta, iterations=100000, epsilon=1e-9)
    with StallWatch() as watch:
        t0 = time.monotonic()
        rec, stats = play_through(h, clipped)
        t1 = time.monotonic()
    # the deadline keeps the ring fed: an underflow only where the machine
    # itself stopped, as the rule of every live test counts it (one at
    # start-up, one per period of a stall, one per driver xrun: JACK's own
    # report that its period came late).  Without the deadline a frame
    # would run its 100000 iterations (seconds, against a 10.7 ms hop) and
    # nearly every block would underflow; a fresh-clone CI once saw one
    # underflow here with no stall the watcher caught (stricter, this test
    # had allowed none at start-up)
    allowed, stalls = excused_underflows(h, watch, t0, t1)
    # the driver's own xruns only: stats["xruns"] counts the host's
    # underflows too, which would excuse every underflow by itself
    driver = max(stats["device_input_overflows"], stats["device_output_underflows"])
    assert stats["output_underflows"] <= allowed + driver, (
        f"{stats['output_underflows']} underflows, stalls {stalls}, driver xruns "
        f"{driver}, events {stats['events'][:8]}")
    assert stats["input_overflows"] == 0
    assert stats["late_frames"] > 0               # cut at their deadline, and counted
    # ... and said when: one "late" event per block that cut or passed
    # frames, in stream order, inside the stream, and every ring xrun too
    kinds = [k for _, k in stats["events"]]
    times = [t for t, _ in stats["events"]]
    assert 0 < kinds.count("late") <= stats["late_frames"], stats["events"][:10]
    assert kinds.count("output_underflow") == stats["output_underflows"]
    # (the log rounds to the millisecond: an event at the stream's very end,
    # 243200 samples = 5.0667 s, reads 5.067, which a fresh-clone CI run met)
    assert times == sorted(times) and 0 <= times[0]
    assert times[-1] <= stats["samples_in"] / SR + 0.0005, (times[-1], stats["samples_in"])
    assert stats["budget_cuts"] > 0                # and the budget was lowered


def test_on_block_sees_and_alters_audio(jack):
    clean, clipped, theta = clipped_music(2.0)
    seen = []

    def on_block(inblock, outblock):
        seen.append(float(np.abs(inblock).max()))
        outblock *= 0.5

    h = host(preset="fastest", threshold=theta, on_block=on_block)
    rec, stats = play_through(h, clipped)
    assert len(seen) >= stats["blocks"] - 1 and max(seen) > 0
    assert np.abs(rec).max() <= 0.5 * 1.6


def test_cli_demo_and_clean_interrupt(jack, tmp_path):
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "live", "--demo", "--duration", "2",
                        "--preset", "fastest", "--quiet", "--stats", str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "declipped live" in r.stdout and (tmp_path / "s.json").exists()
    gain = float(r.stdout.split("(+")[1].split(" dB")[0])
    assert gain > 3
    p = subprocess.Popen([sys.executable, "-m", "rtdeclip", "live", "--preset", "fastest",
                          "--record", str(tmp_path / "rec.wav")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "stats:" in out and "Traceback" not in err
    assert (tmp_path / "rec.wav").stat().st_size > 44
    assert (tmp_path / "rec.input.wav").stat().st_size > 44


def test_context_manager_and_stop_twice(jack):
    with host(preset="fastest", source=np.zeros((4800, 2))) as h:
        time.sleep(0.5)
        assert h.stats["blocks"] > 0 and h.running
    first = h.stop()                    # already stopped by the with block: harmless
    assert not h.running and first["output_underflows"] == 0
    lat = h.latency
    assert lat["total"]["samples"] == sum(lat[k]["samples"] for k in (
        "device_input", "algorithm", "margin", "limiter", "device_output"))


def test_monitor_bypass_records_both_streams(jack, tmp_path):
    """monitor --connect takes a program's JACK outputs; with --bypass what
    it plays is what it heard, delayed by the reported processing latency
    (without the margin, which is outside the recording) and scaled by the
    gain: both recordings show it."""
    import rtmixer
    from rtdeclip.live import jackserver
    from rtdeclip.files.audio_io import read_wav
    clean, clipped, theta = clipped_music(8.0)
    before = jackserver.ports()
    player = rtmixer.Mixer(channels=2, samplerate=SR, blocksize=BLOCK)
    outs = [p for p in jackserver.ports() if p not in before and ":out_" in p]
    rec = tmp_path / "mon.wav"
    with player:
        player.play_buffer(np.ascontiguousarray(clipped, dtype=np.float32), channels=2)
        r = subprocess.run([sys.executable, "-m", "rtdeclip", "monitor", "--bypass", "--connect",
                            ",".join(outs), "--record", str(rec), "--duration", "4",
                            "--gain", "-6", "--preset", "fastest", "--plain"],
                           capture_output=True, text=True, timeout=120)
    player.close()
    assert r.returncode == 0, r.stderr
    assert "latency:" in r.stdout and "stats:" in r.stdout
    heard, _ = read_wav(input_path(str(rec)))
    played, _ = read_wav(str(rec))
    assert len(heard) == len(played) > 3 * SR and np.abs(heard).max() > 0.5 * theta
    lat = r.stdout.split("processing ")[1].split(" samples")[0]
    margin = r.stdout.split("margin ")[1].split(" samples")[0]
    d = int(lat) - int(margin)
    g = np.float32(10 ** (-6 / 20))
    assert np.abs(played[d:] - heard[:-d] * g).max() < 1e-6


def monitor_run(*args, mode="monitor"):
    """``rtdeclip monitor`` (or ``mode``) for a second on the dummy card's
    silence: (processing latency in samples, the stats JSON, stdout)."""
    import json
    r = subprocess.run([sys.executable, "-m", "rtdeclip", mode, "--duration", "1",
                        "--preset", "fastest", "--plain", *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lat = int(r.stdout.split("processing ")[1].split(" samples")[0])
    stats = json.loads(r.stdout.split("stats: ")[1].splitlines()[0])
    return lat, stats, r.stdout


def test_monitor_runs_the_second_pass_unless_told_otherwise(jack):
    """What a monitor hears is mostly decoded lossy audio, and it cannot
    start the second pass once it finds a codec's rails: ``monitor`` runs
    it by default (``live`` does not); ``--second-pass off`` or given
    levels leave it out, and the latency says what it costs."""
    first = rtdeclip.Declipper(SR, channels=2, preset="fastest").latency_samples
    on, stats_on, out = monitor_run()
    assert stats_on["second_pass"] == 2 and "second pass: 2 solves" in out
    off, stats_off, _ = monitor_run("--second-pass", "off")
    assert stats_off["second_pass"] == 0
    assert on - off == first + 8          # the second state's latency and a dip's 8
    _, stats_given, _ = monitor_run("--threshold", "-6")
    assert stats_given["second_pass"] == 0
    live, stats_live, _ = monitor_run(mode="live")        # a microphone: not lossy
    assert stats_live["second_pass"] == 0 and live == off


def test_bad_live_arguments(jack):
    for args, word in ((["--preset", "Best"], "preset"), (["--sample-rate", "100"], "sample-rate"),
                       (["--output", "no such device"], "device"),
                       (["--source-rate", "44100"], "source-rate")):
        r = subprocess.run([sys.executable, "-m", "rtdeclip", "live", "--duration", "1", *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert r.stderr.strip().startswith("rtdeclip: error:") and word in r.stderr
        assert "Traceback" not in r.stderr


def test_server_killed_mid_stream_keeps_the_recording(tmp_path):
    """A second, named JACK server, so killing it leaves the others alone."""
    from rtdeclip.live.jackserver import JackDummy
    name = f"rtdeclip-kill-{os.getpid()}"
    server = JackDummy(name=name).start()
    env = dict(os.environ, JACK_DEFAULT_SERVER=name)
    rec = tmp_path / "rec.wav"
    p = subprocess.Popen([sys.executable, "-m", "rtdeclip", "live", "--preset", "fastest",
                          "--record", str(rec), "--quiet"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(3)
    # SIGTERM: the server goes away for its clients as if killed, but tidies
    # its shared-memory registry (SIGKILLed servers leave stale entries
    # and jackd refuses to start once there are too many)
    server.proc.terminate()
    out, err = p.communicate(timeout=60)
    server.proc.wait()
    assert p.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "audio device stopped" in lines[0] and "kept" in lines[0]
    from rtdeclip.files.audio_io import read_wav
    from rtdeclip.live.host import input_path
    played, _ = read_wav(str(rec))
    heard, _ = read_wav(input_path(str(rec)))
    assert played.shape[1] == 2 and len(played) > 48000   # over a second of both streams
    assert len(heard) == len(played)


def test_devices_lists_the_jack_card(jack):
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "devices"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "JACK Audio Connection Kit" in r.stdout and "host APIs:" in r.stdout


def test_an_error_in_on_block_stops_cleanly_and_is_raised(jack):
    def broken(inblock, outblock):
        raise RuntimeError("broken on_block")

    h = host(preset="fastest", source=np.zeros((48000, 2)), on_block=broken).start()
    time.sleep(0.5)
    assert not h.running
    with pytest.raises(RuntimeError, match="broken on_block"):
        h.stop()
    assert h.stream.closed and not h.device_lost


def test_views_show_levels_clipping_latency_and_xruns(jack):
    import io
    from rtdeclip.live.meters import PlainView, RichView, make_view
    clean, clipped, theta = clipped_music(2.0)
    with host(preset="fastest", source=clipped) as h:
        time.sleep(1.0)
        plain, rich = io.StringIO(), io.StringIO()
        assert isinstance(make_view(h, file=plain), PlainView)     # not a terminal
        v = PlainView(h, plain)
        before = h.stats["xruns"]
        v.update(1.0)
        after = h.stats["xruns"]
        r = RichView(h, rich)
        r.update(1.0)
        r.close()
    line = plain.getvalue()
    assert "in dBFS" in line and "clipped" in line, line
    # the view shows the host's own count (a machine stall may make it nonzero)
    shown = int(re.search(r"xruns (\d+)", line).group(1))
    assert before <= shown <= after, (before, shown, after, line)
    cpu = int(re.search(r"cpu +(\d+) %", line).group(1))
    assert 0 <= cpu <= 100 * os.cpu_count(), line   # a share of the machine, not of a short interval
    panel = rich.getvalue()
    assert "latency" in panel and "xruns" in panel and "clip" in panel, panel
