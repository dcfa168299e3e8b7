"""Live declipping on a sound card (or the JACK dummy card)."""
from .host import LiveDeclipper
from .jackserver import JackDummy, jack_running

__all__ = ["LiveDeclipper", "JackDummy", "jack_running"]
