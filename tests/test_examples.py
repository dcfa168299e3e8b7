"""The scripts in examples/ run and do what they say."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.mark.parametrize("script", ["offline_declip.py", "stream_blocks.py"])
def test_example_runs(script):
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "SDR" in r.stdout
