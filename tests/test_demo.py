"""The README's offline example command."""
import subprocess
import sys


def test_demo_prints_the_sdr_gained_for_each_preset():
    r = subprocess.run([sys.executable, "-m", "rtdeclip", "demo", "--input-sdr", "10",
                        "--seconds", "1"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    gains = [float(line.split("(+")[1].split("dB")[0]) for line in r.stdout.splitlines()
             if "(+" in line]
    assert len(gains) == 3 and all(g > 1.0 for g in gains)


def test_no_command_prints_help_and_fails():
    r = subprocess.run([sys.executable, "-m", "rtdeclip"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stdout
