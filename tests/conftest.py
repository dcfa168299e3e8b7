"""Test set-up.  A JACK server with the dummy driver is started before
anything loads PortAudio (PortAudio sees JACK only if it runs first) and
stopped at the end, after PortAudio has let go of it."""
import os
import sys

import pytest

# test helpers (audio_files.py, loopback.py) live beside the tests
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_server = None


def pytest_configure(config):
    global _server
    from rtdeclip.live.jackserver import JackDummy, jack_running
    if not jack_running():
        _server = JackDummy(rate=48000, period=256, log="/tmp/rtdeclip-test-jackd.log").start()


def pytest_unconfigure(config):
    if "sounddevice" in sys.modules:
        sys.modules["sounddevice"]._terminate()
    if _server is not None:
        _server.stop()


@pytest.fixture(scope="session")
def jack():
    from rtdeclip.live.jackserver import jack_running
    if not jack_running():
        pytest.fail("the JACK dummy server is not running")
    return True
