"""rtdeclip: real-time and offline audio declipping with SPADE.

    >>> import rtdeclip
    >>> x_hat = rtdeclip.declip(y, 44100, preset="highquality")      # doctest: +SKIP
    >>> d = rtdeclip.Declipper(48000, channels=2, preset="average")    # doctest: +SKIP
    >>> out = d.process(block)                                         # doctest: +SKIP

Data flow: decode -> detect (``detect_clipping``) -> frames -> solver (C
core) -> overlap-add -> sink.
"""
from rtdeclip.core.declipper import Declipper
from rtdeclip.core.detect import detect_clipping
from rtdeclip.errors import FileError, ParameterError, RtdeclipError, UserError
from rtdeclip.files.pipeline import declip_file
from rtdeclip.core.metrics import clip_to_sdr, sdr
from rtdeclip.core.offline import declip
from rtdeclip.core.params import PRESETS


def __getattr__(name):
    # the live host loads PortAudio, which must start after a JACK server:
    # import it only when asked for
    if name == "LiveDeclipper":
        from rtdeclip.live.host import LiveDeclipper
        return LiveDeclipper
    raise AttributeError(name)


def get_include():
    """Folder of the public C header ``rtdeclip.h`` (installed with the
    package; in a source tree, ``csrc/``)."""
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    inside = os.path.join(here, "include")
    return inside if os.path.exists(os.path.join(inside, "rtdeclip.h")) else \
        os.path.join(os.path.dirname(here), "csrc")


__version__ = "0.1.0"
__all__ = ["Declipper", "LiveDeclipper", "declip", "declip_file", "sdr", "clip_to_sdr",
           "detect_clipping", "RtdeclipError", "ParameterError", "FileError", "UserError",
           "PRESETS", "get_include"]
