"""A stream's second pass over a smeared rail: the chain ``rtd_named``
(csrc/named_stream.c) that a Declipper runs when told its stream is lossy.

Files solve a smeared rail a second time on the clipped set the first
solve names (:mod:`rtdeclip.core.named`): reliable samples the codec's
ringing lifted over the declared level are told apart where the first
solution stays under the rail's centre.  A stream can do the same one
latency later: ``rtd_named`` runs the Declipper's own state, then a second
state on the set its output names (shares 0 and 1/4 of the rail's width
over the centre by default), and outputs the mean of the two solutions on
a channel with a smeared rail; exact rails come out as without it, bit
for bit, only later.

Measured on the lossy benchmark's streams (docs/lossy.md, twenty-sixth
session): 136 -> 144 of 180 stream targets, +0.2 to +0.6 dB on the mean
per preset and input SDR.  It frees the dips as files do (core/named.py).
It doubles the latency and adds 8 samples (fastest and average: 2046 ->
4100 samples, 43 -> 85 ms at 48 kHz) and, while a smeared rail is
in use, about doubles the CPU, so it is on by default only where the
stream is known to be lossy: ``Declipper(codec="mp3")`` (any lossy codec
or decoder name), ``rtdeclip live|monitor --codec NAME``.

    >>> import numpy as np, rtdeclip
    >>> d = rtdeclip.Declipper(48000, preset="fastest", codec="mp3")
    >>> d.second_pass, d.latency_samples
    (2, 4100)
    >>> rtdeclip.Declipper(48000, preset="fastest").second_pass
    0
"""
from rtdeclip._core import ffi, lib
from rtdeclip.core import detect, params
from rtdeclip.errors import ParameterError

# second-pass solves per frame of a smeared rail when the stream is told it
# is lossy (shares 0 and 1/4 of the width; csrc/named_stream.c); highquality
# (the social solver, offline) has none.  lowlatency too since the thirty-
# third session: its lossy streams met 95 of 128 targets without it, 116
# with, for 21 ms of latency at 48 kHz instead of 11 (docs/lossy.md)
PRESET_SHARES = {"fastest": 2, "average": 2, "lowlatency": 2}


def stream_shares(asked, codec, preset, settings, fixed, factor):
    """The second pass's solves for a Declipper: ``asked`` (True: 2,
    False/0: none, 1-5) or, for None, the preset's (:data:`PRESET_SHARES`)
    (``preset``'s) when ``codec`` names a lossy codec; 0 wherever it cannot run (fixed
    levels, a source-rate chain, the social solver)."""
    possible = not fixed and factor == 1 and settings.algorithm != "social"
    if asked is None:
        lossy = isinstance(codec, str) and detect.is_lossy(codec)
        own = PRESET_SHARES.get(params._preset_key(preset), 0)
        return own if possible and lossy else 0
    if isinstance(asked, bool):
        asked = 2 if asked else 0
    if not isinstance(asked, int) or not 0 <= asked <= lib.RTD_NAMED_MAX:
        raise ParameterError(f"second_pass must be True, False or 0 to {lib.RTD_NAMED_MAX}, "
                             f"got {asked!r}")
    if asked and not possible:
        raise ParameterError("second_pass needs threshold='auto', the SPADE solver and no "
                             "source_rate")
    return asked


def inner_iterations(n, settings):
    """A second-pass solve's iterations per frame for the first's ``n``:
    the hedge's share of the budget (average 2/3: 0.05 dB less than the
    whole on the benchmark's streams, a third less CPU); the core's rule
    (``rtd_named_inner_iterations``), which the plug-ins use too."""
    return lib.rtd_named_inner_iterations(int(n), float(settings.hedge_budget))


def _error(code):
    """The exception for an error code of the C core."""
    message = ffi.string(lib.rtd_strerror(code)).decode()
    return MemoryError(message) if code == lib.RTD_ERR_NOMEM else ParameterError(message)


def stream_chain(first, cfg, shares):
    """(inner state, chain) after ``first``, made with ``cfg``'s settings
    on channels x shares channels, no levels of its own, no hedge
    (``rtd_named_inner_config``: the plug-ins make theirs the same way)."""
    inner_cfg = ffi.new("rtd_config *")
    code = lib.rtd_named_inner_config(cfg, shares, inner_cfg)
    if code == lib.RTD_ERR_CHANNELS:
        raise ParameterError(f"second_pass={shares} takes {cfg.channels * shares} channels, "
                             f"more than {lib.RTD_CHANNELS_MAX}")
    if code != lib.RTD_OK:
        raise _error(code)
    err = ffi.new("int *")
    inner = lib.rtd_create(inner_cfg, err)
    if inner == ffi.NULL:
        raise _error(err[0])
    inner = ffi.gc(inner, lib.rtd_destroy)
    chain = lib.rtd_named_create(first, inner, cfg.channels, shares, err)
    if chain == ffi.NULL:
        raise _error(err[0])
    return inner, ffi.gc(chain, lib.rtd_named_destroy)
