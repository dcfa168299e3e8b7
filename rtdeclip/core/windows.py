"""Analysis/synthesis window pairs for the frame operator.

``hann``: the survey's periodic Hann (peak 1) with its canonical dual,
computed in C.  Latency: window - 2 samples.

``lowdelay``: a long analysis window that reaches far into the past and a
short synthesis window on the frame's last ``synthesis_length`` samples
(after Mauler & Martin, "A low delay, variable resolution, perfect
reconstruction spectral analysis-synthesis system", 2007).  SPADE sees
``window`` samples of context, but a sample is final as soon as the last
frame whose *synthesis* window covers it has been solved, so the latency is
about ``synthesis_length`` samples instead of ``window``.
"""
import numpy as np

from rtdeclip.errors import ParameterError


def hann(n):
    """Periodic Hann of n samples, peak 1 at n/2."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def lowdelay(window, hop, synthesis_length, lookahead=0):
    """(analysis, synthesis) of length ``window``; their product is a Hann
    window of ``synthesis_length - lookahead`` samples starting
    ``synthesis_length`` samples before the frame's end, scaled so that it
    overlap-adds to one at ``hop``.  The last ``lookahead`` samples of a
    frame are solved (context for the next frames) but not output by it."""
    w, a, ls, la = int(window), int(hop), int(synthesis_length), int(lookahead)
    if ls % (2 * a) and ls != w:
        raise ParameterError("synthesis_length must be a multiple of 2*hop")
    lp = ls - la
    if la < 0 or lp < 2 * a or lp % a:
        raise ParameterError("lookahead: synthesis_length - lookahead must be a multiple of "
                             "the hop, at least 2*hop")
    half = ls // 2
    rise = w - half                       # samples before the peak
    ana = np.empty(w)
    ana[:rise] = hann(2 * rise)[:rise]    # slow rise over the past
    ana[rise:] = hann(ls)[half:]          # fast fall over the future
    prod = np.zeros(w)
    prod[w - ls:w - la] = hann(lp) * (2.0 * a / lp)
    syn = np.zeros(w)
    nz = prod > 0
    syn[nz] = prod[nz] / ana[nz]
    return ana, syn
