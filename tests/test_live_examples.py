"""The live examples run against the session's JACK dummy server and do
what they say."""
import importlib.util
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def run(script, *args, timeout=120):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_sounddevice_callback_example(jack):
    r = run("live_sounddevice.py", "--example", "--seconds", "3")
    assert r.returncode == 0, r.stderr
    before, after = (float(x.split(" dB")[0]) for x in r.stdout.split("SDR clipped ")[1].split("-> declipped "))
    assert after > before + 3, r.stdout


@pytest.mark.skipif(importlib.util.find_spec("jack") is None, reason="JACK-Client not installed")
def test_jack_client_example(jack):
    r = run("jack_client.py", "--seconds", "2", "--connect", "system:capture_1,system:capture_2")
    assert r.returncode == 0, r.stderr
    assert "declipper latency" in r.stdout and "xruns" in r.stdout


def test_effect_chain_example():
    r = run("effect_chain.py")
    assert r.returncode == 0, r.stderr
    peak = float(r.stdout.split("peak out ")[1].split()[0])
    assert peak <= 0.892
    before, after = (float(x.split(" dB")[0]) for x in r.stdout.split("SDR clipped ")[1].split("-> chain output "))
    assert after > before + 3
