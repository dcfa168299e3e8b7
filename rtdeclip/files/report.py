"""What ``rtdeclip file`` tells its user: the A-SPADE web service's log, and
the same facts as JSON (``--report``).

    >>> report = filepipe.run(job)                          # doctest: +SKIP
    >>> print("\\n".join(service_log(report)))              # doctest: +SKIP
    User parameters: preset=Fastest algorithm=aspade threshold=auto format=float32
    Estimated clipping threshold for channel 1: -26.10 dB (positive samples) -26.09 dB (negative samples)
    ...
    Channel 1: New SDR 14.20 dB | Old SDR 3.01 dB | Improvement 11.19 dB
    Mix of all channels: New SDR 14.31 dB | Old SDR 3.02 dB | Improvement 11.29 dB
    >>> write_json("report.json", report)                   # doctest: +SKIP

The log follows the service's layout (user parameters, thresholds per
channel, progress, reconstructed samples per channel, SDR per channel and
for the mix); lines it does not have (solver levels of a noisy rail, the
gain for PCM output) are added where they belong.
"""
import json
import math

from rtdeclip.errors import FileError
from rtdeclip.files.sinks import AtomicFile


def level_db(v_db):
    """A level in dB for the log, or 'none' for an unclipped polarity."""
    return "none" if v_db is None else f"{v_db:.2f} dB"


def _fine_db(v_db):
    return "none" if v_db is None else f"{v_db:.4f} dB"


RAIL_WORDS = {"exact": "exact", "noisy": "noisy", "codec": "codec-smeared"}


def rail_words(t, side):
    """How one polarity's rail was found, with the smear width used."""
    m = t["detection"][side]
    if m is None:
        return "none"
    w = (t.get("smear_width_db") or [None, None])[side]
    rule = (t.get("rule_width_db") or [None, None])[side]
    return RAIL_WORDS.get(m, m) + ("" if m == "exact" or w is None else f", width {w:.2f} dB") \
        + ("" if rule is None or w is None else
           f" ({'Opus' if w < rule else 'the preset'}'s own; the rule's {rule:.2f})")


def clock(seconds):
    """m:ss.ss (h:mm:ss.ss from an hour) for a point in a file."""
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    return (f"{h}:{m:02d}:" if h else f"{m}:") + f"{s:05.2f}"


def section_lines(r):
    """A file of several recordings (``core.sections``): one line per
    section with its levels, per channel."""
    parts = r.get("sections")
    if not parts:
        return []
    lines = [f"Several recordings: {len(parts)} sections, each detected and declipped with "
             f"its own clip levels (--no-sections: one level for the whole file)"]
    for k, p in enumerate(parts, 1):
        if not any(t["detection"][0] or t["detection"][1] for t in p["thresholds"]):
            chans = "not clipped (left as it is)"   # e.g. a louder unclipped intro
        else:
            chans = "; ".join(f"channel {t['channel']} {level_db(t['estimated_positive_dbfs'])} / "
                              f"{level_db(t['estimated_negative_dbfs'])} "
                              f"({rail_words(t, 0)} / {rail_words(t, 1)})"
                              for t in p["thresholds"])
        lines.append(f"  section {k}, {clock(p['start_s'])}-{clock(p['end_s'])}: {chans}")
    return lines


def encoder_level_lines(r):
    """What the MP3 encoder took off the level, and whether it was put back
    (``pipeline.restored_level``)."""
    e = r.get("encoder_level")
    if not e or e["scale"] == 1.0:
        return []
    took = f"  MP3 from {e['encoder']}, {e['mode']} {e['kbps']} kb/s: the encoder scaled " \
           f"its input by {e['scale']:g} ({20 * math.log10(e['scale']):+.2f} dB); "
    if r.get("level_restored", 1.0) != 1.0:
        return [took + f"the declipped output is brought back to the level that was encoded "
                       f"({r['level_restored_db']:+.2f} dB; --keep-level: not)"]
    return [took + ("kept (--keep-level)" if r["clipping_found"] else
                    "kept, as nothing was declipped")]


def dc_restore_lines(r):
    """Whether the Opus encoder's DC reject was undone
    (``core.dc_restore``)."""
    done = r.get("dc_restored")
    if done is None:
        return []
    if any(done):
        which = "" if all(done) else " (channel " + ", ".join(
            str(c + 1) for c, k in enumerate(done) if k) + ")"
        return [f"  Opus: the slow mean the encoder's 3 Hz DC reject took off the clipped "
                f"signal, which moved both rails, is put back before declipping{which} "
                f"(--no-dc-restore: not)"]
    return ["  Opus: declipped as decoded" + ("" if r["clipping_found"] else
                                              " (nothing clipped)")]


def service_log(r):
    """The log lines for one file's report dict (see ``filepipe.run``)."""
    lines = [f"User parameters: preset={r['preset']} algorithm={r['algorithm']} "
             f"threshold={r['threshold_mode']} format={r['format']}",
             f"Input: {r['channels']} channel(s), {r['sample_rate']} Hz, "
             f"{r['duration_s']:.2f} s ({r['codec']})"]
    lines += section_lines(r)
    for t in r["thresholds"]:
        c = t["channel"]
        if r["thresholds_given"]:
            lines.append(f"Clipping threshold for channel {c} (given): "
                         f"{level_db(t['given_positive_dbfs'])} (positive samples) "
                         f"{level_db(t['given_negative_dbfs'])} (negative samples)")
            # the level used, to more decimals than typed: it may have
            # snapped to the channel's peak (rtdeclip.core.levels)
            how = ("snapped to the channel's peak within the "
                   f"{r.get('threshold_tolerance_db', 0.01):g} dB tolerance"
                   if any(t.get("snapped_to_peak", ())) else "as given")
            lines.append(f"  level used for channel {c}: {_fine_db(t['positive_dbfs'])} (positive) "
                         f"{_fine_db(t['negative_dbfs'])} (negative), {how}")
            continue
        lines.append(f"Estimated clipping threshold for channel {c}"
                     + (f" (section {r['main_section']}, the most clipped)"
                        if r.get("sections") else "") + ": "
                     f"{level_db(t['estimated_positive_dbfs'])} (positive samples) "
                     f"{level_db(t['estimated_negative_dbfs'])} (negative samples)")
        lines.append(f"  rails in channel {c}: {rail_words(t, 0)} (positive), "
                     f"{rail_words(t, 1)} (negative)")
        if any(m in ("noisy", "codec") for m in t["detection"]):
            lines.append(f"  smeared rail in channel {c}: samples from "
                         f"{level_db(t['positive_dbfs'])} (positive) and "
                         f"{level_db(t['negative_dbfs'])} (negative) are treated as clipped")
    if r["lossy_codec"]:
        smeared = any("codec" in t["detection"] for t in r["thresholds"])
        lines.append(f"  lossy input ({r['codec']}): "
                     + ("the codec's ringing smears the rails; the clipped set reaches "
                        "below them by the measured smear width (information)" if smeared else
                        "information only"))
    lines += encoder_level_lines(r)
    lines += dc_restore_lines(r)
    if r.get("hedge_widths"):
        lines.append(f"  smeared rails hedged over their width: declipped "
                     f"{len(r['hedge_widths'])} times, at "
                     f"{', '.join(f'{k:g}' for k in r['hedge_widths'])} x the width, "
                     "and the mean kept (--no-hedge: once)")
    if r.get("second_pass_shares"):
        shares = r["second_pass_shares"]
        lines.append(f"  then solved again on the clipped set the hedge names (samples it "
                     f"lifts over a rail's centre by {min(shares):g} to {max(shares):g} of its "
                     f"width; the others kept), {len(shares)} times, and the mean of that and "
                     "the hedge kept (--no-second-pass: not)")
    if r.get("source_rate"):
        why = {"opus header": f"Opus from a {r['source_rate']} Hz source",
               "spectrum": f"nothing above {r['source_rate'] / 2000 * 1.05:.1f} kHz: a "
                           f"{r['source_rate']} Hz source",
               "given": f"source rate {r['source_rate']} Hz as given"}[r["source_rate_from"]]
        lines.append(f"  {why}: clip levels found and the signal declipped at "
                     f"{r['solver_rate']} Hz, the repair resampled to {r['sample_rate']} Hz "
                     f"(other samples unchanged; clipped-sample counts at {r['solver_rate']} Hz)")
    for note in r.get("threshold_notes", []):
        lines.append(note)
    if not r["clipping_found"]:
        lines.append("No clipping found: the input is copied through unchanged.")
    for t in r["thresholds"]:
        lines.append(f"Clipped samples in channel {t['channel']}: "
                     f"{t['clipped_high'] + t['clipped_low']} ({100 * t['clipped_ratio']:.2f} %: "
                     f"{t['clipped_high']} positive, {t['clipped_low']} negative), "
                     f"longest run {t['longest_run']}")
    tm = r["timings"]
    if r["clipping_found"]:
        ipf = r.get("iterations_per_frame", {})
        lines.append(f"Declipping: 100 % in {tm['declip_s']:.1f} s "
                     f"({r.get('real_time_factor', 0):.1f}x real time; iterations per frame "
                     f"mean {ipf.get('mean', 0):.1f}, max {ipf.get('max', 0)}); "
                     f"detection {tm['detect_s']:.1f} s")
        for t in r["thresholds"]:
            lines.append(f"Reconstructed samples in channel {t['channel']}: "
                         f"{t['clipped_high'] + t['clipped_low']}")
    if r["gain_applied"] < 1.0:
        lines.append(f"Gain applied for {r['format']} output: {r['gain_db']:.2f} dB "
                     f"(restored peak {r['output_peak_dbfs']:+.2f} dBFS)")
    elif r["format"] == "float32" and r["output_peak"] > 1.0:
        lines.append(f"Restored peak {r['output_peak_dbfs']:+.2f} dBFS: above full scale, "
                     f"kept in the float32 output")
    if "sdr" in r:
        for row in r["sdr"]["channels"]:
            lines.append(f"Channel {row['channel']}: New SDR {row['new_db']:.2f} dB | "
                         f"Old SDR {row['old_db']:.2f} dB | Improvement {row['improvement_db']:.2f} dB")
        m = r["sdr"]["mix"]
        lines.append(f"Mix of all channels: New SDR {m['new_db']:.2f} dB | "
                     f"Old SDR {m['old_db']:.2f} dB | Improvement {m['improvement_db']:.2f} dB")
    return lines


def write_json(path, payload):
    """Write payload as JSON on the atomic sink (complete or absent);
    infinities and NaN become null, numpy scalars plain numbers.  The one
    JSON writer: reports, ``rtdeclip live --stats``."""
    try:
        with AtomicFile(path, ".json.part", mode="w", what="report") as f:
            json.dump(finite(payload), f.f, indent=1, default=_json_default)
    except OSError as e:
        raise FileError(f"{path}: cannot write report ({e.strerror})") from None


def finite(o):
    """JSON has no infinities: unclipped levels and silent peaks become null."""
    if hasattr(o, "item") and not isinstance(o, (list, dict)):   # numpy scalars
        try:
            o = o.item()
        except (TypeError, ValueError):
            pass
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite(v) for v in o]
    return o


def _json_default(o):
    return str(o)
