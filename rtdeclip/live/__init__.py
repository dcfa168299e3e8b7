"""Live declipping on a sound card (or the JACK dummy card)."""
from rtdeclip.live.host import LiveDeclipper
from rtdeclip.live.jackserver import JackDummy, jack_running

__all__ = ["LiveDeclipper", "JackDummy", "jack_running"]
