"""Test set-up.  A JACK server with the dummy driver, private to this test
session (its own server name, so parallel sessions and a user's own JACK
server are left alone), is started by the ``jack`` fixture for the tests that need audio (about
0.2 s, once) and stopped at the end, after PortAudio has let go of it.
PortAudio sees JACK only if it runs first: a sounddevice loaded earlier is
re-initialised.  Subprocesses find the server through JACK_DEFAULT_SERVER,
set here for the whole session."""
import os
import signal
import sys

import pytest

# A suite started in the background by a script (`cmd &`, as a CI runner
# may) inherits SIGINT ignored, and so would every process a test starts:
# Ctrl-C tests would then test nothing (a `rtdeclip batch` that ignores
# SIGINT runs to its end).  The tests act as a user at a terminal: a
# Python-level handler here becomes the default disposition in children.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# test helpers (audio_files.py, loopback.py) live beside the tests
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# a real Dask scheduler + 2 workers on 127.0.0.1 (session fixture ``dask_scheduler``)
from dask_cluster import dask_scheduler  # noqa: E402,F401

_server = None


def pytest_configure(config):
    os.environ.setdefault("JACK_DEFAULT_SERVER", f"rtdeclip-test-{os.getpid()}")


def pytest_unconfigure(config):
    if "sounddevice" in sys.modules:
        sys.modules["sounddevice"]._terminate()
    if _server is not None:
        _server.stop()


@pytest.fixture(scope="session")
def jack():
    """The session's JACK dummy server (48 kHz, period 256), running."""
    global _server
    from rtdeclip.live.jackserver import JackDummy, jack_running
    if _server is None:
        name = os.environ["JACK_DEFAULT_SERVER"]
        _server = JackDummy(rate=48000, period=256, name=name,
                            log=f"/tmp/rtdeclip-test-jackd-{os.getpid()}.log").start()
        if "sounddevice" in sys.modules:   # loaded before the server: rescan
            sd = sys.modules["sounddevice"]
            sd._terminate()
            sd._initialize()
    if not jack_running():
        pytest.fail("the JACK dummy server is not running")
    return _server
