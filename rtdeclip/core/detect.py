"""Estimating clip levels from a recording, per channel and per polarity.

A hard clipper piles every sample beyond its level onto the level itself,
so the histogram of a clipped signal has a spike at each rail, far above
the smooth tail a natural signal has there.  We look for that spike at the
positive and negative extremes separately, in two stages:

1. exact rail: many samples share the extreme value (within ``tolerance``
   relative, or half a quantisation step): plain digital clipping, also
   after a gain change or with a DC offset added afterwards.  The level is
   exact.
2. hump: the spike was smeared by noise or dither added after clipping, or
   by a lossy codec (MP3/AAC ring around the flat tops and overshoot them).
   On a fine histogram in dB near each extreme we look, at growing scales,
   for a window holding several times more samples than the equal band just
   below it.  The estimated level is the window's centre of mass; the level
   declared to the solver (``.thresholds``) lies lower, at the hump's lower
   edge, so the samples spread around the rail are all treated as clipped
   (the solver only asks them to stay above their observed values).  Two
   kinds: "noisy" (noise or dither: a narrow hump, declared at its lower
   edge) and "codec" (a lossy codec's ringing, wider and correlated with the
   signal: truly clipped samples dip well below the rail, so the level is
   declared ``codec_width`` dB below the centre, 0.25-4 dB, scaled by the
   hump's measured spread; told the decoder is Opus, nearer at moderate
   clipping: ``codec_family_width``).

A smooth amplitude distribution never passes the test: even a pure sine
(whose density grows towards its peak) holds at most 2.4 times the band
below in any window at its top.  A steady note's peaks can make a hump
(early in a stream, or in a short file); such humps sit well under the top
of the signal or on one polarity only, and are dropped (``_drop_notes``,
the same test as the stream's in csrc/smear.h).  Quantised input
(16/24-bit) is recognised so that gaps between the codes are not taken for
humps.

    >>> import numpy as np
    >>> x = np.clip(np.sin(np.arange(48000) / 7.0), -0.5, 0.5)[:, None]
    >>> chunks = lambda: (x[i:i + 4096] for i in range(0, len(x), 4096))
    >>> det = ClipDetector(channels=1)
    >>> for c in chunks(): det.scan_extremes(c)           # pass 1
    >>> for c in chunks(): det.scan_counts(c)             # pass 2
    >>> found = det.result()                              # levels per channel
    >>> counter = ClipCounter([f.thresholds for f in found])
    >>> for c in chunks(): counter.scan(c)                # any later pass
    >>> found = counter.fill(found)                       # counts and runs
    >>> found[0].positive, found[0].negative, found[0].clipped > 0
    (0.5, -0.5, True)
"""
from dataclasses import dataclass, field, replace
import numpy as np

from rtdeclip.errors import ParameterError
from rtdeclip.core import params
from rtdeclip.core.channels import rows

RANGE_DB = 20.0      # histogram span below each extreme
BIN_DB = 0.005       # histogram resolution
RATIO = 4.0          # hump mass / mass of the band below (a sine reaches 2.4)
RATIO_INSIDE = 1.6   # ... for a hump with bands on both sides (the density falls above it;
                     # 2.0 missed Opus rails at heavy clipping, issue 9)
MIN_MASS = 16        # samples a hump needs
MIN_FRACTION = 1e-4  # ... and this fraction of all samples
EDGE = 1.2           # the hump's lower edge: where its density is down to this x background
MAX_EDGE_DB = 1.5    # ... at most this far below the estimated level
HUMP_DB = 12.0       # a hump lies this close to the extreme (codecs overshoot by up to ~5 dB,
                     # Opus and MP3 128k by 9-10 dB on drum hits at input SDR 3: issue 9)
DOMINANCE = 0.5      # and holds this share of all samples from its lower edge up
MAX_SCALE = 256      # widest half-window tried, in bins (1.3 dB)
# Codec-smeared rails (MP3/AAC/Vorbis/Opus): the declared level goes
# WIDTH_DB below the hump's centre, WIDTH_DB = max(EDGE_FACTOR x (centre -
# lower edge), SIGMA_FACTOR x the spread above the centre), within
# [MIN_WIDTH_DB, MAX_WIDTH_DB].  Fitted on SQAM violin and a synthetic stereo
# clip after MP3 128/320k, AAC 128k and Vorbis q4 at input SDR 3, 10 and 20
# dB (benchmarks/lossy.py --sweep): the best offsets below the centre were
# 2-3 dB at 3 dB input SDR, 0.3-1 dB at 10 and 0.3-0.7 dB at 20, tracking
# the codec's spread; the old lower edge (0.1-1.5 dB) was too close.
EDGE_FACTOR = 2.0
SIGMA_FACTOR = 7.0
MIN_WIDTH_DB = 0.25
MAX_WIDTH_DB = 4.0
# ... and widths above KNEE_DB are compressed by SLOPE (4 dB -> 2.95 dB):
# re-fitted over 121 cases (4 clips x input SDR 3/7/10/20 x all 8 codec
# variants of benchmarks/lossy.py with every polarity found, `fastest`, the
# declared level swept 0.25-5 dB below the detected centre): the best offsets were 2.5-3 dB at
# input SDR 3, 1.5-2 dB at 7-10 and 0.5-1 dB at 20, while the rule above
# gave up to 4; narrow humps (high-rate AAC/MP3 at 20 dB) keep their width.
KNEE_DB = 0.5
SLOPE = 0.7
# ... and at least FLOOR_PER_FRACTION x the fraction of all samples at or
# above the rail's centre, up to FLOOR_MAX_DB: a heavy clipping (input SDR
# 3, 15-20 % of the samples on a rail) wants 1.5-3 dB even when the codec's
# hump is narrow (MP3 320k on SQAM violin: 0.7 dB gave 5.0 dB of ΔSDR, 1.5
# dB 8.4).  Same fit: 62 of 91 cases at input SDR 3-10 reached 75 % of the
# uncoded ΔSDR at the interpolated width, against 60 without the floor and
# 55 with the former rule (66 with the best width per case).
FLOOR_PER_FRACTION = 10.0
FLOOR_MAX_DB = 2.5
# Opus, known from the container (files, ``declip(lossy="opus")``; a stream
# when told, ``Declipper(codec="opus")``, smear.h): Opus overshoots the rail
# far more than it dips under it, so its wide upper spread sends the rule to
# the 2.95 dB cap where music wants 1.25-1.75 dB.  While the heavier of a
# channel's codec rails holds under OPUS_FRACTION of the samples at or
# above its centre (input SDR 7 and up; at 3 dB, 14-22 %, the rule's width
# or wider is best), a rail wider than OPUS_MAX_DB is declared at the
# geometric mean of its width and OPUS_MAX_DB (``_codec_family``).
# Measured offline with the hedge (docs/lossy.md, tenth and eleventh
# sessions): on the lossy benchmark's Opus cells at input SDR 7-10 the best
# width was 1.25-1.75 dB in 22 of 24 (music at 7 dB with `fastest` 7.05 ->
# 9.34 dB at 1.25), and a cap at OPUS_MAX_DB (the tenth session's rule)
# gained on six SQAM excerpts the benchmark does not use (harp, piano,
# accordion, guitar, clarinet, wind ensemble); but on five more (bassoon,
# glockenspiel, celesta and two clips of our own, input SDR 3-20) it lost
# 0.18 dB on the mean with `fastest`, up to 6.6 dB on celesta at 7 dB (its
# best width 2.5-3, glockenspiel's 3): struck bells want the rule's width
# or wider.  The geometric mean keeps most of the gain where it helps and
# bounds the loss where it does not (worst 2.2 dB, glockenspiel at 3 dB;
# mean +0.01 dB on those five, +0.17 / +0.42 dB with `fastest` on the first
# six / the benchmark's clips at 7-20 dB).  Not through the source-rate chain (an Opus voice from a
# 16 kHz source, solved at 16 kHz: Opus codes it in its voice modes, and
# the speech-like clip at input SDR 3 lost 0.8 dB with `average` capped):
# there the detector is told only "lossy" (``told_at_rate``, used by
# offline.declip and the file pipeline's detect_levels).
OPUS_MAX_DB = 1.5
OPUS_FRACTION = 0.13
# a hump whose codec width would be below MIN_WIDTH_DB is noise or dither
# around a flat rail ("noisy": declared at its lower edge, as before); wider
# ones are a codec's ringing ("codec")
NOISY_SIGMA_DB = MIN_WIDTH_DB / SIGMA_FACTOR
# A steady note's peak makes a hump too (early in a stream, or a short
# file): a hump is no rail when (1) the samples at or above TOP_DB over its
# centre, on its polarity and on the other one unless that has its own rail
# up there, number more than TOP_FRACTION of its mass (a rail is the top of
# the signal; a codec's overshoot stays near it), or (2) it is as wide as a
# codec smear can be declared (spread above the centre >= WIDE_DB) but holds
# fewer than WIDE_MASS samples and the other polarity has no rail within
# AGREE_DB of it (clipping piles both polarities up at one level).  The
# same rule as smear_drop_notes in csrc/smear.h, where the numbers were
# measured (docs/lossy.md).
TOP_DB = 3.0
TOP_FRACTION = 0.6
WIDE_DB = 0.9
WIDE_MASS = 1000
AGREE_DB = 1.0
# A polarity with no hump of its own takes the other's codec rail when it
# reaches the declared level with at least 1/MIRROR_SHARE of the other's
# samples there, fewer than MIRROR_OVER of them TOP_DB over the centre (as
# smear_mirror in csrc/smear.h; docs/lossy.md, 2026-12-03 late)
MIRROR_SHARE = 16.0
MIRROR_OVER = 0.25
# quantisation grids recognised in the data (bits of a signed integer format)
GRIDS = (8, 16, 24)


@dataclass
class ChannelClipping:
    """Clipping found on one channel (levels as linear sample values).

    ``positive``/``negative``: the estimated clip levels (None: that
    polarity is not clipped).  ``declared_positive``/``declared_negative``:
    the levels the solver gets, equal to the estimates for exact rails and
    at the lower edge of a noisy or codec-smeared rail.  ``method``: "exact",
    "noisy", "codec" or None per polarity; ``width_db`` the smear width
    declared per polarity; ``rule_width_db`` the width rule's where the
    codec family or the preset changed it (Opus, ``codec_family_width``;
    ``for_preset``), else None.  ``rail_share``: the larger share of the
    samples at or above the channel's codec rails (0 without one)."""
    positive: float | None
    negative: float | None
    clipped_high: int = 0
    clipped_low: int = 0
    samples: int = 0
    longest_run: int = 0
    histogram: dict = field(default_factory=dict)
    declared_positive: float | None = None
    declared_negative: float | None = None
    method: tuple = (None, None)
    dc_offset: float = 0.0
    width_db: tuple = (None, None)
    rule_width_db: tuple = (None, None)
    rail_share: float = 0.0

    def __post_init__(self):
        if self.declared_positive is None:
            self.declared_positive = self.positive
        if self.declared_negative is None:
            self.declared_negative = self.negative

    @property
    def clipped(self):
        return self.clipped_high + self.clipped_low

    @property
    def ratio(self):
        return self.clipped / self.samples if self.samples else 0.0

    @property
    def thresholds(self):
        """(pos, neg) for the declipper; +-inf for an unclipped polarity."""
        return (np.inf if self.declared_positive is None else self.declared_positive,
                -np.inf if self.declared_negative is None else self.declared_negative)

    def levels_db(self):
        """Estimated (positive, negative) levels in dBFS (None: not clipped)."""
        return tuple(None if v is None else 20 * np.log10(abs(v))
                     for v in (self.positive, self.negative))


class ClipDetector:
    """Clip levels found in two streaming passes over a signal, so a file of
    hours is never held in memory (see the module docstring)."""

    def __init__(self, channels, tolerance=1e-4, lsb=None, lossy=False):
        """``lossy``: the input is known to come from a lossy decoder (every
        hump is then a codec's smear, however narrow): True, or the codec
        family's name when it matters ("opus", see ``codec_family_width``)."""
        self.channels, self.tol, self._lsb = channels, tolerance, lsb
        self.lossy = bool(lossy)
        self.codec = lossy if isinstance(lossy, str) else None
        self.top = np.zeros((2, channels))        # [0] max positive, [1] max |negative|
        self.n = 0
        self.sum = np.zeros(channels)
        self.on_grid = {b: True for b in GRIDS}   # every sample a multiple of 2**(1-b)
        self._counting = False

    # -- pass 1 ---------------------------------------------------------
    def scan_extremes(self, chunk):
        a = np.asarray(chunk, dtype=np.float64).reshape(-1, self.channels)
        if not len(a):
            return
        t = rows(a)
        self.top[0] = np.maximum(self.top[0], t.max(axis=1))
        self.top[1] = np.maximum(self.top[1], -t.min(axis=1))
        self.sum += t.sum(axis=1)
        self.n += len(a)
        for b in GRIDS:
            if self.on_grid[b]:
                q = a * 2.0 ** (b - 1)
                self.on_grid[b] = bool(np.array_equal(q, np.round(q)))

    @property
    def lsb(self):
        """Quantisation step found in the data (0.0: none, e.g. float or lossy)."""
        if self._lsb is not None:
            return self._lsb
        for b in GRIDS:
            if self.on_grid[b]:
                return 2.0 ** (1 - b)
        return 0.0

    # -- pass 2 ---------------------------------------------------------
    def _start_counts(self):
        c = self.channels
        lsb = self.lsb
        self.width = np.maximum(self.tol * self.top, 0.5 * lsb)
        self.width = np.maximum(self.width, 1e-300)
        self.on_rail = np.zeros((2, c), dtype=np.int64)
        self.below = np.zeros((2, c), dtype=np.int64)
        self.level = np.full((2, c), np.inf)
        self.at_top = np.zeros((2, c), dtype=np.int64)
        self.nbins = int(round(RANGE_DB / BIN_DB))
        self.hist = np.zeros((2, c, self.nbins), dtype=np.int64)
        self.low = self.top * 10 ** (-RANGE_DB / 20)
        self._humps = {}   # (side, channel) -> (spread dB, mass) of the hump _rail found
        self._shares = {}  # (side, channel) -> (centre, share of samples at or above it) of a codec rail
        self._counting = True

    def scan_counts(self, chunk):
        if not self._counting:
            self._start_counts()
        a = np.asarray(chunk, dtype=np.float64).reshape(-1, self.channels)
        if not len(a):
            return
        t = rows(a)
        for side, v in ((0, t), (1, -t)):
            for c in range(self.channels):
                top = self.top[side, c]
                if top <= 0:
                    continue  # a rail is on its own side of zero
                col = v[c]
                near = col[col > self.low[side, c]]
                if not len(near):
                    continue
                w = self.width[side, c]
                hi = near >= top - w
                self.on_rail[side, c] += int(hi.sum())
                self.at_top[side, c] += int(np.count_nonzero(near == top))
                self.below[side, c] += int(((near >= top - 2 * w) & ~hi).sum())
                if hi.any():
                    self.level[side, c] = min(self.level[side, c], float(near[hi].min()))
                k = ((20 * np.log10(near / top) + RANGE_DB) / BIN_DB).astype(np.int64)
                np.clip(k, 0, self.nbins - 1, out=k)
                self.hist[side, c] += np.bincount(k, minlength=self.nbins)

    # -- decision -------------------------------------------------------
    def _bin_db(self, k):
        """dB (relative to the extreme) of the centre of bin k."""
        return (np.asarray(k) + 0.5) * BIN_DB - RANGE_DB

    def _rail(self, side, c):
        """(level, declared level, method, width dB) of one polarity, or Nones."""
        self._humps.pop((side, c), None)
        self._shares.pop((side, c), None)
        top = self.top[side, c]
        if top <= 0:
            return None, None, None, None
        n_on, n_below = int(self.on_rail[side, c]), int(self.below[side, c])
        if n_on >= 3 and n_on > RATIO * max(n_below, 1):
            # a plain clipper puts its samples exactly on the rail; within the
            # tolerance band (float noise) the lowest value is the level
            lv = float(top) if 2 * self.at_top[side, c] >= n_on else float(self.level[side, c])
            return lv, lv, "exact", 0.0
        hump = self._hump(self.hist[side, c], top)
        if hump is None:
            return None, None, None, None
        est_db, edge_db, sigma_db, mass = hump
        self._humps[side, c] = (sigma_db, mass)
        if sigma_db < NOISY_SIGMA_DB and not self.lossy:
            # noise or dither around a flat rail: its lower edge, at least
            # MIN_WIDTH_DB down (a resampler's ringing, 44.1 <-> 48 kHz
            # after clipping, also makes a narrow hump, and there the lower
            # edge, often < 0.1 dB away, left dipped clipped samples
            # reliable: music at input SDR 10, 12.6 -> 19.6 dB; white noise
            # 1e-4 after clipping loses 0-1.7 dB by it, see docs/lossy.md)
            width = max(est_db - edge_db, MIN_WIDTH_DB)
            return top * 10 ** (est_db / 20), top * 10 ** ((est_db - width) / 20), "noisy", width
        fraction = self._above(side, c, top * 10 ** (est_db / 20)) / max(self.n, 1)
        width = codec_width(est_db - edge_db, sigma_db, fraction)
        self._shares[side, c] = (top * 10 ** (est_db / 20), fraction)
        return top * 10 ** (est_db / 20), top * 10 ** ((est_db - width) / 20), "codec", width

    def _hump(self, h, top):
        """(centre dB, lower edge dB, spread dB) of the densest significant hump
        near the top of histogram h over all scales, or None.

        A window [k-s, k+s] within HUMP_DB of the extreme is a hump when it
        holds most samples from its lower edge up (a rail is the top of the
        signal, overshoot aside) and RATIO times the band of
        the same width below it (a sine's top never does), or, when there is
        room above it too, RATIO_INSIDE times both neighbouring bands: a
        codec's ringing spreads the rail into a bump with an overshoot tail
        above, over the background of the unclipped samples."""
        H = np.concatenate([[0], np.cumsum(h)])
        K = len(h)
        lsb = self.lsb
        need = max(MIN_MASS, MIN_FRACTION * self.n)
        top_bins = int(HUMP_DB / BIN_DB)
        best = None
        s = 1
        while s <= MAX_SCALE:
            ks = np.arange(3 * s + 1, K - s)
            if not len(ks):
                break
            mass = H[ks + s + 1] - H[ks - s]
            below = H[ks - s] - H[ks - 3 * s - 1]
            above = H[np.minimum(ks + 3 * s + 2, K)] - H[ks + s + 1]
            inside = ks + 3 * s + 2 <= K        # a full band fits above the window
            noise = 3 * np.sqrt(np.maximum(below, 1))
            # everything from the window's lower edge up to the extreme
            rest = H[K] - H[ks - s]
            ok = (mass >= need) & (mass >= DOMINANCE * rest) & (ks - s >= K - top_bins) & (
                (mass > RATIO * np.maximum(below, 1) + noise) |
                (inside & (mass > RATIO_INSIDE * np.maximum(below, 1) + noise)
                 & (mass > RATIO_INSIDE * np.maximum(above, 1))))
            if lsb:   # quantised data: the window must span a few codes at its level
                level = top * 10 ** (self._bin_db(ks) / 20)
                ok &= (2 * s + 1) * BIN_DB >= 20 * np.log10(1 + 3 * lsb / level)
            if ok.any():
                # the strongest qualifying window at this scale; across scales
                # the densest (samples per bin) wins: a small cluster of the
                # codec's overshoot above the rail can qualify at a fine scale
                # where the rail's own hump, many times denser, only does at
                # a coarser one (SQAM violin via AAC 128k: 20 samples 2 dB
                # above a rail of thousands); a rail found at a fine scale is
                # denser there than any wider window, so it keeps winning
                j = int(np.argmax(np.where(ok, mass, -1)))
                density = mass[j] / (2 * s + 1)
                if best is None or density > best[0]:
                    best = (density, int(ks[j]), s, int(below[j]))
            s *= 2
        if best is None:
            return None
        return self._locate(h, best[1], best[2], best[3]) + (best[0] * (2 * best[2] + 1),)

    def _locate(self, h, k, s, below):
        """Centre of mass of the hump around bin k, its lower edge (where
        the density, coming down from the hump, is down to EDGE times the
        background, the band below the window) and the spread of the rail
        above its centre (dB), all in dB relative to the extreme."""
        lo, hi = k - s, k + s + 1
        w = h[lo:hi].astype(float)
        centre = float(np.sum(self._bin_db(np.arange(lo, hi)) * w) / w.sum())
        background = below / (2 * s + 1)
        # the hump's lower flank, smoothed over the same scale
        dens = np.convolve(h.astype(float), np.ones(2 * s + 1) / (2 * s + 1), mode="same")
        j = k
        while j > 0 and dens[j] > EDGE * background + 1e-12 and j > k - 8 * s:
            j -= 1
        edge = float(self._bin_db(j)) - BIN_DB * s   # half a window further: the smoothing
        # the spread of the rail seen from above its centre, where no unclipped
        # samples blur it: samples of a rail with noise sigma reach 4 sigma below
        c0 = int(np.clip(np.floor((centre + RANGE_DB) / BIN_DB), 0, len(h) - 1))
        upper = np.cumsum(h[c0:])
        sigma = 0.0
        if upper[-1] > 0:
            sigma = BIN_DB * (int(np.searchsorted(upper, 0.683 * upper[-1])) + 0.5)
            edge = min(edge, centre - min(4 * sigma, MAX_EDGE_DB))
        return centre, min(edge, centre), sigma

    def result(self):
        if not self._counting:
            self._start_counts()
        out = []
        every = []
        for c in range(self.channels):
            rails = [list(self._rail(0, c)), list(self._rail(1, c))]
            self._drop_notes(c, rails)
            for side in (0, 1):
                if rails[side][2] is None and rails[1 - side][2] == "codec":
                    rails[side] = self._mirror(side, c, rails[1 - side]) or rails[side]
            every.append(rails)
        self._across_channels(every)
        shares = [self._rail_share(c, rails) for c, rails in enumerate(every)]
        rule = [self._codec_family(rails, share) if self.codec is not None else {}
                for rails, share in zip(every, shares)]
        for c, rails in enumerate(every):
            (pos, dpos, mpos, wpos), (neg, dneg, mneg, wneg) = rails
            out.append(ChannelClipping(
                pos, None if neg is None else -neg, samples=self.n,
                histogram=self._histogram(c),
                declared_positive=dpos, declared_negative=None if dneg is None else -dneg,
                method=(mpos, mneg), width_db=(wpos, wneg),
                rule_width_db=(rule[c].get(0), rule[c].get(1)), rail_share=shares[c],
                dc_offset=float(self.sum[c] / self.n) if self.n else 0.0))
        return out

    def _rail_share(self, c, rails):
        """How heavily channel c is clipped on its codec rails: the heavier
        one's share of the samples, at or above its centre (a channel
        clipped hard on one side is heavily clipped, whatever its other
        side's share: music through Opus 160k at input SDR 3, 21 % and 8 %
        of the samples on its two rails).  A rail's share is that of its own
        hump; a rail taken from the other polarity or channel (``_mirror``,
        ``_across_channels``) counts only when no rail of the channel has
        its own (its share at a borrowed level says little).  0 without a
        codec rail."""
        codec = [side for side in (0, 1) if rails[side][2] == "codec"]
        own = [self._shares[side, c][1] for side in codec
               if self._shares.get((side, c), (None,))[0] == rails[side][0]]
        return float(max(own) if own else max(
            (self._above(side, c, rails[side][0]) / max(self.n, 1) for side in codec),
            default=0.0))

    def _codec_family(self, rails, heavier):
        """A channel's codec rails re-declared for the decoder's codec
        family (``codec_family_width``), judged by the channel's
        ``_rail_share`` (``heavier``).  Returns {side: the rule's width}
        for the rails it changed."""
        codec = [side for side in (0, 1) if rails[side][2] == "codec"]
        changed = {}
        for side in codec:
            level, _, method, width = rails[side]
            narrower = codec_family_width(width, self.codec, heavier)
            if narrower != width:
                rails[side] = [level, level * 10 ** (-narrower / 20), method, narrower]
                changed[side] = width
        return changed

    def _drop_notes(self, c, rails):
        """Humps of channel c that are a note's peak, not a rail (TOP_DB,
        WIDE_DB above), set to no rail in place."""
        drop = [False, False]
        for side in (0, 1):
            if (side, c) not in self._humps or rails[side][2] not in ("noisy", "codec"):
                continue
            sigma, mass = self._humps[side, c]
            centre, other = rails[side][0], rails[1 - side][0]
            lv = centre * 10 ** (TOP_DB / 20)
            over = self._above(side, c, lv)
            if other is None or other < lv:
                over += self._above(1 - side, c, lv)
            drop[side] = over > TOP_FRACTION * mass or (
                sigma >= WIDE_DB and mass < WIDE_MASS and
                (other is None or abs(20 * np.log10(other / centre)) > AGREE_DB))
        for side in (0, 1):
            if drop[side]:
                rails[side] = [None, None, None, None]

    def _above(self, side, c, level):
        """Samples of one polarity at or above a magnitude (from the histogram)."""
        top = self.top[side, c]
        if top <= 0 or level > top:
            return 0
        k = int(np.clip((20 * np.log10(level / top) + RANGE_DB) / BIN_DB, 0, self.nbins - 1))
        return int(self.hist[side, c, k:].sum())

    def _mirror(self, side, c, other):
        """A codec-smeared rail the hump test missed on one polarity (a codec
        can blur one side's hump into the background: AAC/Opus at 3 dB input
        SDR), taken from the other polarity's: a clipper is nearly always
        symmetric.  Only when this side reaches the other's rail with at
        least a quarter of its share of samples there, so a one-sided
        clipping, whose other side has only its natural peaks, keeps none."""
        level, declared, _, width = other
        mine = self._above(side, c, level)
        theirs = self._above(1 - side, c, level)
        if theirs <= 0 or mine < MIN_MASS or 4 * mine < theirs:
            # ... or when it reaches the declared level with MIRROR_SHARE
            # of the other's samples there and few of them lie TOP_DB over
            # the centre: an asymmetric waveform (speech) through a
            # symmetric clipper, whose rarer side the codec smears under the
            # rail (smear_mirror rule 2 in csrc/smear.h)
            mine_d = self._above(side, c, declared)
            theirs_d = self._above(1 - side, c, declared)
            over = self._above(side, c, level * 10 ** (TOP_DB / 20))
            if not (mine_d >= MIN_MASS and MIRROR_SHARE * mine_d >= theirs_d
                    and over <= MIRROR_OVER * mine_d):
                return None
        return [level, declared, "codec", width]

    def _across_channels(self, every):
        """A channel whose rails the hump test missed on both polarities
        takes another channel's codec-smeared rail (the same test as
        ``_mirror``, across channels: a stereo master is clipped by one
        linked clipper; after Opus/MP3 at input SDR 3-7 one channel's hump
        can blur into the background while the other's is found)."""
        for c, rails in enumerate(every):
            if rails[0][2] is not None or rails[1][2] is not None:
                continue
            for side in (0, 1):
                for o, theirs in enumerate(every):
                    other = theirs[side] if theirs[side][2] == "codec" else None
                    if o == c or other is None:
                        continue
                    level = other[0]
                    mine, n_o = self._above(side, c, level), self._above(side, o, level)
                    if n_o > 0 and mine >= MIN_MASS and 4 * mine >= n_o:
                        rails[side] = [level, other[1], "codec", other[3]]
                        break

    def _histogram(self, c, bins=200):
        """Counts near each rail (top RANGE_DB dB, coarser bins) for reports and plots."""
        out = {}
        for side, name in ((0, "positive"), (1, "negative")):
            top = float(self.top[side, c])
            if top <= 0:
                out[name] = {"edges_dbfs": [], "counts": []}
                continue
            h = self.hist[side, c].reshape(bins, -1).sum(axis=1)
            edges = 20 * np.log10(top) - RANGE_DB + np.arange(bins + 1) * RANGE_DB / bins
            out[name] = {"edges_dbfs": [round(float(e), 4) for e in edges],
                         "counts": [int(v) for v in h]}
        return out


def codec_width(edge_db, sigma_db, fraction=0.0):
    """dB from a codec-smeared rail's centre down to the level declared to
    the solver, from the hump's lower edge distance and upper spread and
    the fraction of all samples at or above its centre."""
    raw = float(np.clip(max(EDGE_FACTOR * edge_db, SIGMA_FACTOR * sigma_db),
                        MIN_WIDTH_DB, MAX_WIDTH_DB))
    width = raw if raw <= KNEE_DB else KNEE_DB + SLOPE * (raw - KNEE_DB)
    return max(width, min(FLOOR_MAX_DB, FLOOR_PER_FRACTION * fraction))


def told_at_rate(lossy, factor):
    """What the detector is told of a decoder when it runs at 1/``factor``
    of the decoded rate (a source-rate chain): the codec family's name only
    at full band (Opus's width was measured there; a 16 kHz voice through
    Opus keeps the plain rule), else whether the decoder is lossy."""
    return lossy if isinstance(lossy, str) and factor == 1 else bool(lossy)


# decoders of lossy codecs: their ringing is not noise around a flat rail
LOSSY = ("mp3", "mp2", "aac", "vorbis", "opus", "libopus", "ac3", "eac3", "wma")


def is_lossy(codec):
    """Whether a codec or decoder name is a lossy codec's (any case)."""
    return any(str(codec).lower().startswith(name) for name in LOSSY)


def codec_family(name):
    """The family of a decoder or codec name that has its own width rule:
    "opus" for "opus" / "libopus" (any case), else None (``None`` too)."""
    return "opus" if name and str(name).lower().startswith(("opus", "libopus")) else None


def codec_family_width(width, codec, heavier):
    """A codec rail's width once the decoder's codec family is known: an
    Opus rail wider than OPUS_MAX_DB is declared at the geometric mean of
    its width and OPUS_MAX_DB while ``heavier`` (the larger share of
    samples at or above its channel's codec rails) is under OPUS_FRACTION."""
    if codec == "opus" and heavier < OPUS_FRACTION and width > OPUS_MAX_DB:
        return float(np.sqrt(width * OPUS_MAX_DB))
    return width


# A preset's own scale on a heavily clipped channel's codec rails: the
# width rule above was fitted with `fastest` (a 2048-sample window at 48
# kHz); `average` (4096 samples, 150 iterations) gains with a clipped set
# 1.3 times as deep on a channel with at least HEAVY_SHARE of its samples
# on a codec rail (input SDR 3; 7 dB and lighter hold 2-12 %).  `average`
# files, hedged with the second pass, docs/lossy.md (twenty-fourth
# session): the lossy benchmark's 18 cells it changes (input SDR 3, MP3,
# AAC, Vorbis) +0.35 dB on the mean (13 up, worst -0.37; 413 -> 415
# targets), six held-out SQAM excerpts +0.51 (19 of 36 up, worst -0.35,
# celesta through Vorbis q4 +4.75); at 7-10 dB a deeper set gained
# nothing (violin -0.2 to -0.5).  Opus too since the twenty-eighth
# session (its own rule, codec_family_width, gives way to the rule's width
# at this share, so the scale comes on top of that): it had been left out
# as neutral (-0.04 / +0.06 dB in the twenty-fourth session's sweep, before
# the second pass and its dips), but with them the lossy benchmark's
# `average` Opus cells at input SDR 3 gained (music +0.7 / +0.8 dB offline,
# +2.2 / +1.6 as streams; docs/lossy.md).
# The presets' scales live in params.PRESETS (heavy_width), which the C
# stream takes too (rtd_config.heavy_width, csrc/smear.h: smear_heavy_width).
HEAVY_SHARE = OPUS_FRACTION
PRESET_WIDTH = {name: p["heavy_width"] for name, p in params.PRESETS.items()
                if p.get("heavy_width", 1.0) != 1.0}


def for_preset(found, preset):
    """``found`` (``detect_clipping``'s result) as the solver of ``preset``
    should get it: a heavily clipped channel's codec rails (``rail_share``
    at least HEAVY_SHARE) declared PRESET_WIDTH times their width below
    their centre for a preset listed there, whatever the codec (Opus's own
    narrower width stops at that share).  The others as they are (the same
    objects).

    >>> f = ChannelClipping(0.5, -0.5, declared_positive=0.45, declared_negative=-0.45,
    ...                     method=("codec", "codec"), width_db=(0.915, 0.915), rail_share=0.2)
    >>> g = for_preset([f], "Average")[0]
    >>> round(g.width_db[0], 3), round(g.declared_positive, 3), g.rule_width_db
    (1.19, 0.436, (0.915, 0.915))
    >>> for_preset([f], "fastest")[0] is f
    True
    """
    scale = PRESET_WIDTH.get(str(preset).lower())
    if scale is None:
        return found
    out = []
    for f in found:
        if f.rail_share < HEAVY_SHARE or "codec" not in f.method:
            out.append(f)
            continue
        widths, declared, rule = [], [], []
        for centre, level, method, width, was in zip(
                (f.positive, f.negative), (f.declared_positive, f.declared_negative),
                f.method, f.width_db, f.rule_width_db):
            if method != "codec" or centre is None or not width:
                widths.append(width)
                declared.append(level)
                rule.append(was)
                continue
            widths.append(width * scale)
            declared.append(centre * 10 ** (-width * scale / 20))
            rule.append(width if was is None else was)
        out.append(replace(f, width_db=tuple(widths), declared_positive=declared[0],
                           declared_negative=declared[1], rule_width_db=tuple(rule)))
    return out


class ClipCounter:
    """Samples at or beyond given levels (what the solver treats as clipped),
    per channel and polarity, and the longest clipped run, over chunks."""

    def __init__(self, thresholds):
        self.levels = np.asarray(thresholds, dtype=np.float64).reshape(-1, 2)
        c = len(self.levels)
        self.high = np.zeros(c, dtype=np.int64)
        self.low = np.zeros(c, dtype=np.int64)
        self.longest = np.zeros(c, dtype=np.int64)
        self.run = np.zeros(c, dtype=np.int64)
        self.n = 0

    def scan(self, chunk):
        a = np.asarray(chunk, dtype=np.float64).reshape(-1, len(self.levels))
        t = rows(a)
        hi = t >= self.levels[:, :1]
        lo = t <= self.levels[:, 1:]
        self.high += np.count_nonzero(hi, axis=1)
        self.low += np.count_nonzero(lo, axis=1)
        on = hi | lo
        for c in range(len(self.levels)):
            self.longest[c] = max(self.longest[c], _runs(on[c], self.run, c))
        self.n += len(a)

    def fill(self, found):
        """Put the counts into a list of ChannelClipping; returns it."""
        for c, info in enumerate(found):
            info.clipped_high, info.clipped_low = int(self.high[c]), int(self.low[c])
            info.longest_run, info.samples = int(self.longest[c]), self.n
        return found


def _runs(mask, carry, c):
    """Longest run of True in mask, continuing the run carried in carry[c]."""
    if not mask.any():
        carry[c] = 0
        return 0
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    lengths = ends - starts
    if starts[0] == 0:
        lengths[0] += carry[c]
    carry[c] = lengths[-1] if ends[-1] == len(mask) else 0
    return int(lengths.max())


def exact_rail(found):
    """Does any channel (``ChannelClipping``) have a polarity clipped on an
    exact rail?  Such a signal clipped at its own rate, after any
    resampling (a resampler smears rails)."""
    return any(m == "exact" for f in found for m in f.method)


def detect_clipping(x, sample_rate=None, tolerance=1e-4, lossy=False):
    """Per-channel clip levels of x, shape (frames,) or (frames, channels).

    ``lossy``: the signal is known to be decoded from a lossy codec (then
    every smeared rail is taken for a codec's, see ``ChannelClipping``):
    True, or the codec family ("opus": a narrower width at moderate
    clipping, ``codec_family_width``; other names act as True).

    Returns a list of ``ChannelClipping``, one per channel: estimated levels
    (``positive``, ``negative``; None when not clipped), the levels for the
    solver (``thresholds``), counts of samples at or beyond them, ratio,
    longest clipped run, DC offset and a histogram near the rails.

    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> y = np.clip(np.sin(2 * np.pi * 440 * t), -0.5, 0.7)
    >>> c = detect_clipping(y, 48000)[0]
    >>> round(c.positive, 3), round(c.negative, 3)
    (0.7, -0.5)
    >>> detect_clipping(0.5 * np.sin(2 * np.pi * 440 * t))[0].positive is None
    True
    """
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ParameterError(f"x must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ParameterError(f"x must be (frames,) or (frames, channels), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ParameterError("x has a non-finite sample (NaN/Inf)")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.number)) \
            or not 0 < tolerance < 1:
        raise ParameterError(f"tolerance must be a number between 0 and 1, got {tolerance!r}")
    det = ClipDetector(a.shape[1], tolerance, lsb=1.0 if a.dtype.kind in "biu" else None,
                       lossy=lossy)
    step = 1 << 18   # bounded temporaries on long signals
    for i in range(0, len(a), step):
        det.scan_extremes(a[i:i + step])
    for i in range(0, len(a), step):
        det.scan_counts(a[i:i + step])
    found = det.result()
    counter = ClipCounter([f.thresholds for f in found])
    for i in range(0, len(a), step):
        counter.scan(a[i:i + step])
    return counter.fill(found)
