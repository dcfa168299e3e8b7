"""Shared helpers for the benchmarks: SQAM loading, clipping, tables."""
import csv
import json
import os
import platform
import wave

import numpy as np

SQAM = ["a08_violin", "a16_clarinet", "a18_bassoon", "a25_harp", "a35_glockenspiel",
        "a41_celesta", "a42_accordion", "a58_guitar_sarasate", "a60_piano_schubert",
        "a66_wind_ensemble_stravinsky"]
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def read_sqam(folder, name):
    """An SQAM excerpt as the survey reads it: int16 / 32768, no normalisation."""
    with wave.open(os.path.join(folder, name + ".wav")) as f:
        if f.getsampwidth() != 2 or f.getnchannels() != 1:
            raise SystemExit(f"{name}: expected 16-bit mono")
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        return data.astype(np.float64) / 32768.0, f.getframerate()


def survey_table(csv_path):
    """{(method, excerpt, input_sdr): published delta SDR}"""
    out = {}
    with open(csv_path) as f:
        for r in csv.DictReader(f):
            out[(r["method"], r["excerpt"], int(r["input_sdr_db"]))] = float(r["delta_sdr_db"])
    return out


def machine():
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version()}


def write_results(name, payload, markdown):
    os.makedirs(RESULTS, exist_ok=True)
    base = os.path.join(RESULTS, name)
    with open(base + ".json.tmp", "w") as f:
        json.dump(payload, f, indent=1)
    os.replace(base + ".json.tmp", base + ".json")
    with open(base + ".md.tmp", "w") as f:
        f.write(markdown + "\n")
    os.replace(base + ".md.tmp", base + ".md")
    print(markdown)


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
