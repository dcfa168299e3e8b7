"""Accuracy of ``detect_clipping`` on signals clipped at known levels.

    python benchmarks/detect_accuracy.py [../shared/data/sqam]

Signals: our synthetic music (44.1 kHz) and, when a SQAM folder is given,
four SQAM excerpts; each clipped at input SDR 3, 10 and 20 dB (the survey's
procedure), then:
  plain (float), 16-bit, 16-bit with TPDF dither, white noise at -60 dBFS,
  DC offset (+0.05 after clipping), DC offset before clipping (asymmetric
  rails), clipped then turned down 6 dB (16-bit), MP3 and AAC round trips.
Targets: |error| <= 0.1 dB without codec, <= 0.5 dB after MP3/AAC.

The codec rows compare with the level the clip had in the decoded signal:
a codec may change the overall gain (LAME's output here is ~0.45 dB lower),
measured by least squares on the whole signal; the raw error is reported
too.  A row counts as missed when no clipping was found.
"""
import argparse
import os
import shlex
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from common import machine, md_table, read_sqam, write_results  # noqa: E402
from audio_files import encode  # noqa: E402  (PyAV's real encoders)

import rtdeclip  # noqa: E402
from rtdeclip.files.audio_io import AudioSource  # noqa: E402
from rtdeclip.examples import music  # noqa: E402

SR = 44100
EXCERPTS = ["a08_violin", "a42_accordion", "a60_piano_schubert", "a25_harp"]


def q16(v):
    return np.round(v * 32768) / 32768


def variants(x, theta, rng, tmp):
    """(name, signal, true positive rail, true negative rail, codec gain?)"""
    y = np.clip(x, -theta, theta)
    yield "plain", y, theta, -theta
    yield "16-bit", q16(y), theta, -theta
    yield "16-bit + TPDF dither", q16(y + (rng.random(len(y)) - rng.random(len(y))) / 32768), theta, -theta
    yield "noise -60 dBFS", y + 1e-3 * rng.standard_normal(len(y)), theta, -theta
    yield "DC +0.05 after", y + 0.05, theta + 0.05, -theta + 0.05
    yield "DC +0.05 before", np.clip(x + 0.05, -theta, theta), theta, -theta
    yield "gain -6 dB, 16-bit", q16(0.5 * y), 0.5 * theta, -0.5 * theta
    for ext, codec in (("mp3", "libmp3lame"), ("m4a", "aac")):
        path = encode(os.path.join(tmp, f"c.{ext}"), y[:, None], SR, codec)
        d = AudioSource(path).read_all()[:, 0]
        m = min(len(d), len(y))        # MP3 may end a few samples off
        g = float(np.dot(d[:m], y[:m]) / np.dot(y[:m], y[:m]))
        yield f"{ext.upper()} round trip", d, theta * g, -theta * g, g


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sqam", nargs="?", help="SQAM folder (optional)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    signals = [("music", music(SR, 8.0, 1, seed=1))]
    if args.sqam:
        for name in EXCERPTS:
            x, sr = read_sqam(args.sqam, name)
            signals.append((name, x[:8 * sr]))
    data, worst = [], {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for sig_name, x in signals:
            for sdr_in in (3, 10, 20):
                _, theta = rtdeclip.clip_to_sdr(x, sdr_in)
                for v in variants(x, theta, rng, tmp):
                    name, y, pos, neg = v[:4]
                    gain = v[4] if len(v) > 4 else 1.0
                    f = rtdeclip.detect_clipping(y, SR)[0]
                    errs = []
                    for est, true in ((f.positive, pos), (f.negative, neg)):
                        errs.append(None if est is None else
                                    20 * np.log10(abs(est) / abs(true)))
                    raw = [None if e is None else e + 20 * np.log10(gain) for e in errs]
                    data.append({"signal": sig_name, "input_sdr": sdr_in, "variant": name,
                                 "true_dbfs": [20 * np.log10(abs(pos)), 20 * np.log10(abs(neg))],
                                 "error_db": errs, "raw_error_db": raw, "codec_gain": gain,
                                 "method": list(f.method)})
                    w = worst.setdefault(name, {"n": 0, "missed": 0, "max": 0.0, "sum": 0.0,
                                                "k": 0, "raw": 0.0, "found": {}})
                    for e, r in zip(errs, raw):
                        w["n"] += 1
                        got = w["found"].setdefault(sdr_in, [0, 0])
                        got[1] += 1
                        if e is None:
                            w["missed"] += 1
                        else:
                            got[0] += 1
                        if e is None:
                            pass
                        else:
                            w["max"] = max(w["max"], abs(e))
                            w["raw"] = max(w["raw"], abs(r))
                            w["sum"] += abs(e)
                            w["k"] += 1
    rows = []
    for name, w in worst.items():
        target = 0.5 if "round trip" in name else 0.1
        rows.append([name] + [f"{w['found'][k][0]}/{w['found'][k][1]}" for k in (3, 10, 20)] + [
                     f"{w['sum'] / max(w['k'], 1):.3f}", f"{w['max']:.3f}",
                     f"{w['raw']:.3f}" if "round trip" in name else "",
                     "yes" if w["max"] <= target else "NO", target])
    md = ("Clip level estimates (`detect_clipping`): rails found and their error in dB over "
          f"{len(signals)} signal(s) x input SDR 3/10/20 dB x both polarities:\n\n")
    md += md_table(["variant", "found @3 dB", "found @10 dB", "found @20 dB",
                    "mean abs. error (dB)", "max abs. error (dB)",
                    "max abs. error without codec-gain correction (dB)", "within target",
                    "target (dB)"], rows)
    md += (f"\n\nSignals: {', '.join(n for n, _ in signals)} (8 s each, 44.1 kHz). "
           f"Total time {time.perf_counter() - t0:.1f} s.\n"
           f"Command: python benchmarks/detect_accuracy.py {shlex.join(sys.argv[1:])}")
    write_results("detect_accuracy", {"machine": machine(), "rows": data}, md)


if __name__ == "__main__":
    main()
