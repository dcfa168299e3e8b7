/* smear.h -- online estimate of codec-smeared clip levels (internal).
 *
 * After MP3/AAC/Vorbis/Opus a clipped stream has no exact rail: the flat
 * tops ring, so the samples of a rail spread into a hump of the amplitude
 * histogram a fraction of a dB to a few dB wide.  The offline detector
 * (rtdeclip/core/detect.py) finds such humps on a fine histogram of the
 * whole file; this is the same test on a coarser histogram (0.05 dB bins)
 * filled as the stream goes, evaluated every RTD_SM_EVERY samples (a count
 * of samples, so the result does not depend on block sizes).  The level
 * declared to the solver lies `width` dB below the hump's centre, the width
 * measured from the hump as offline (codec_width in detect.py).
 *
 * Nothing allocates: the histograms live in the channel, the cumulative
 * sums in one scratch array per state. */
#ifndef RTD_SMEAR_H
#define RTD_SMEAR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "peak_runs.h"

#define RTD_SM_BIN_DB 0.05   /* histogram resolution                        */
#define RTD_SM_LOW_DB (-70.0)/* lowest level binned (dBFS)                  */
#define RTD_SM_BINS 1640     /* up to +12 dBFS                              */
#define RTD_SM_RANGE_DB 16.0 /* samples binned: within this of the extreme
                                (the test reaches 12 + 1.65 dB below it)  */
#define RTD_SM_EVERY 512    /* samples between evaluations (2048 before: a short
                               burst, speech at input SDR 20, passed before its
                               rail was found, docs/lossy.md)               */
#define RTD_SM_HUMP_BINS 240 /* a hump lies within 12 dB of the extreme (Opus
                                and MP3 128k overshoot by 9-10 dB on drum
                                hits at input SDR 3, issue 9)             */
#define RTD_SM_MAX_SCALE 16  /* widest half-window, bins (0.8 dB)           */
#define RTD_SM_MIN_MASS 64  /* samples a hump needs at 44.1 kHz and up (offline:
                               16; a stream is tested again and again, so a
                               fluke of a few samples must not pass: seen on
                               noise via MP3); below, as much time where no
                               hump of 64 qualifies (smear_set_rate) */
#define RTD_SM_HALVE (1 << 22) /* counts halve beyond this: old music fades */

/* detection methods reported per polarity */
enum { RTD_RAIL_NONE = 0, RTD_RAIL_EXACT = 1, RTD_RAIL_NOISY = 2, RTD_RAIL_CODEC = 3 };

typedef struct {
    int32_t hist[2][RTD_SM_BINS];
    int64_t total[2];   /* samples binned per polarity                     */
    int64_t n;          /* samples seen (for the minimum fraction)          */
    int top[2];         /* highest occupied bin, -1: none                   */
    double floor[2];    /* linear magnitude below which nothing is binned   */
    int since;          /* samples since the last evaluation                */
    int found[2];       /* RTD_RAIL_NOISY / CODEC when a hump was found     */
    double level[2];    /* declared level (magnitude)                       */
    double width[2];    /* dB from the hump's centre to the declared level  */
    double mass[2];     /* samples in the hump                              */
    double bins[2];     /* width of the hump's window, bins of RTD_SM_BIN_DB  */
    double spread[2];   /* dB above the hump's centre holding 68.3 % of the
                           samples there (sigma in detect.py's _locate)    */
    double norm[2];     /* samples seen, halved with that side's counts     */
    int mirrored[2];    /* the rail was taken from the other polarity       */
    /* the last codec rail found per polarity, held through evaluations
     * that miss it (smear_hold) */
    double held_level[2], held_width[2], held_mass[2], held_bins[2], held_spread[2];
    int hold_left[2];   /* evaluations the held rail may still stand in     */
    int seen[2];        /* consecutive evaluations that found its own hump  */
    peak_runs runs;     /* flat rippled tops or smooth peaks at the level  */
    int smooth[2];      /* smooth peaks there: no rail (smear_drop_smooth)  */
    int min_mass;       /* samples a hump needs at the stream's rate, 0:
                           RTD_SM_MIN_MASS (smear_set_rate)                */
} smear_estimator;

static inline void smear_reset(smear_estimator *e)
{
    const int ripple = e->runs.min_len;   /* set once for the stream's rate */
    const int min_mass = e->min_mass;
    memset(e, 0, sizeof *e);
    e->top[0] = e->top[1] = -1;
    e->runs.min_len = ripple;
    e->min_mass = min_mass;
}

static inline int smear_min_mass(const smear_estimator *e)
{
    return e->min_mass > 0 ? e->min_mass : RTD_SM_MIN_MASS;
}

static inline double smear_bin_db(int k) { return RTD_SM_LOW_DB + (k + 0.5) * RTD_SM_BIN_DB; }

/* Samples of one polarity at or above a level (dBFS), from the histogram. */
static inline int64_t smear_above(const smear_estimator *e, int side, double level_db)
{
    int k = (int)floor((level_db - RTD_SM_LOW_DB) / RTD_SM_BIN_DB);
    if (k < 0) k = 0;
    int64_t n = 0;
    for (int i = k; i <= e->top[side]; i++) n += e->hist[side][i];
    return n;
}

/* The densest window (centre bin, returned; -1: none) that holds at least
 * `need` samples and qualifies as a hump, over all scales; its half-width
 * in bins, mass and the samples just below it in *s, *mass, *below. */
static inline int smear_densest(const int64_t *H, int K, double need, int *s_out,
                                 int64_t *mass_out, int64_t *below_out)
{
    /* the densest qualifying window over all scales (as detect.py's
     * _hump: a small overshoot cluster can qualify at a fine scale where
     * the rail's far denser hump only does at a coarser one) */
    int best = -1, s = 0;
    int64_t best_mass = 0, best_below = 0;
    double best_density = 0.0;
    for (int sc = 1; sc <= RTD_SM_MAX_SCALE; sc *= 2) {
        int kb = -1;
        int64_t kb_mass = 0, kb_below = 0;
        int kmin = K - RTD_SM_HUMP_BINS + sc;
        if (kmin < 3 * sc + 1) kmin = 3 * sc + 1;
        for (int k = kmin; k < K - sc; k++) {
            int64_t mass = H[k + sc + 1] - H[k - sc];
            int64_t below = H[k - sc] - H[k - 3 * sc - 1];
            int hiidx = k + 3 * sc + 2 < K ? k + 3 * sc + 2 : K;
            int64_t above = H[hiidx] - H[k + sc + 1];
            int inside = k + 3 * sc + 2 <= K;
            double b1 = below > 1 ? (double)below : 1.0, a1 = above > 1 ? (double)above : 1.0;
            double noise = 3.0 * sqrt(b1);
            int64_t rest = H[K] - H[k - sc];
            int ok = mass >= need && mass >= 0.5 * rest &&
                     (mass > 4.0 * b1 + noise ||
                      (inside && mass > 1.6 * b1 + noise && mass > 1.6 * a1));
            if (ok && mass > kb_mass) {
                kb = k;
                kb_mass = mass;
                kb_below = below;
            }
        }
        if (kb < 0) continue;
        double density = (double)kb_mass / (2 * sc + 1);
        if (best < 0 || density > best_density) {
            best = kb;
            best_mass = kb_mass;
            best_below = kb_below;
            best_density = density;
            s = sc;
        }
    }
    *s_out = s;
    *mass_out = best_mass;
    *below_out = best_below;
    return best;
}

/* One side's hump test on hist h with cumulative scratch H (RTD_SM_BINS+1);
 * same criteria as ClipDetector._hump / _locate / codec_width. */
static inline void smear_eval_side(smear_estimator *e, int side, int64_t *H)
{
    const int32_t *h = e->hist[side];
    const int K = e->top[side] + 1;
    e->found[side] = RTD_RAIL_NONE;
    e->mirrored[side] = 0;
    if (K <= 0) return;
    H[0] = 0;
    for (int i = 0; i < K; i++) H[i + 1] = H[i] + h[i];
    /* a hump of RTD_SM_MIN_MASS samples first, as at 44.1 kHz and up; only
     * where none qualifies, a lighter one of as much time at a lower rate
     * (smear_set_rate): a lower bar for all would let a lighter, denser
     * window win over the one that qualifies now (a voice at input SDR 3:
     * its first rail came 30 ms later and 2.4 dB was lost) */
    const double share = 1e-4 * (double)e->n;   /* long streams: a share of them */
    const double need = fmax(share, RTD_SM_MIN_MASS), light = fmax(share, smear_min_mass(e));
    int s = 0;
    int64_t best_mass = 0, best_below = 0;
    int best = smear_densest(H, K, need, &s, &best_mass, &best_below);
    if (best < 0 && light < need)
        best = smear_densest(H, K, light, &s, &best_mass, &best_below);
    if (best < 0) return;
    {
        /* centre of mass, spread above it, lower edge */
        double sw = 0.0, sm = 0.0;
        for (int i = best - s; i <= best + s; i++) {
            sw += h[i];
            sm += h[i] * smear_bin_db(i);
        }
        double centre = sm / sw;
        int c0 = (int)floor((centre - RTD_SM_LOW_DB) / RTD_SM_BIN_DB);
        if (c0 < 0) c0 = 0;
        if (c0 > K - 1) c0 = K - 1;
        int64_t up = H[K] - H[c0], acc = 0;
        int q = 0;
        while (c0 + q < K && (double)(acc + h[c0 + q]) < 0.683 * (double)up) acc += h[c0 + q++];
        double sigma = RTD_SM_BIN_DB * (q + 0.5);
        double background = (double)best_below / (2 * s + 1);
        int j = best;
        while (j > s && j > best - 8 * s) {
            double d = (double)(H[j + s + 1 < K ? j + s + 1 : K] - H[j - s]) / (2 * s + 1);
            if (!(d > 1.2 * background + 1e-12)) break;
            j--;
        }
        double edge = smear_bin_db(j) - RTD_SM_BIN_DB * s;
        double e4 = 4.0 * sigma < 1.5 ? 4.0 * sigma : 1.5;
        if (edge > centre - e4) edge = centre - e4;
        double dist = centre - edge;
        double width;
        int kind;
        if (sigma < 0.25 / 7.0) {
            kind = RTD_RAIL_NOISY;
            width = dist > 0.25 ? dist : 0.25; /* as detect.py: >= MIN_WIDTH_DB */
        } else {
            kind = RTD_RAIL_CODEC;
            width = 2.0 * dist > 7.0 * sigma ? 2.0 * dist : 7.0 * sigma;
            if (width < 0.25) width = 0.25;
            if (width > 4.0) width = 4.0;
            /* compressed above the knee, as codec_width in detect.py */
            if (width > 0.5) width = 0.5 + 0.7 * (width - 0.5);
            /* at least 10 x the fraction of samples at or above the centre,
             * up to 2.5 dB (FLOOR_PER_FRACTION, FLOOR_MAX_DB in detect.py) */
            double frac = e->norm[side] > 0.0 ?
                (double)smear_above(e, side, centre) / e->norm[side] : 0.0;
            double floor_db = 10.0 * frac < 2.5 ? 10.0 * frac : 2.5;
            if (width < floor_db) width = floor_db;
        }
        e->found[side] = kind;
        e->width[side] = width;
        e->level[side] = pow(10.0, (centre - width) / 20.0);
        e->mass[side] = (double)best_mass;
        e->spread[side] = sigma;
        e->bins[side] = 2 * s + 1;
        return;
    }
}

/* Humps that are a steady note's peak, not a rail (early in a stream a
 * note makes the same shape as a codec's ringing around a rail), dropped
 * after both polarities were evaluated and before smear_mirror:
 *
 * 1. A rail is the top of the signal: a hump is dropped when the samples at
 *    or above RTD_SM_TOP_DB over its centre, on its own polarity and on the
 *    other polarity unless that one has its own hump up there (an
 *    asymmetric clipper), number more than RTD_SM_TOP_FRAC of the hump's
 *    own samples.  A codec's overshoot stays near the rail.
 * 2. Clipping makes both polarities pile up at one level: a hump as wide as
 *    a codec smear can be declared (spread above the centre >=
 *    RTD_SM_WIDE_DB: its width is at the 2.95 dB cap) that holds fewer than
 *    RTD_SM_WIDE_MASS samples is dropped unless the other polarity's own
 *    hump lies within RTD_SM_VETO_DB of it.  A note's peaks spread over a
 *    dB or two above the densest level.
 *
 * Measured with a Python mirror of this file on 72 streams x 9 variants
 * (SQAM violin, harp, accordion, piano, the speech-like, pop-like and two
 * music clips of benchmarks/lossy.py, input SDR 3/7/10/20, uncoded and
 * the eight codecs) at every evaluation (docs/lossy.md, "Steady notes and
 * short bursts"): test 1: real rails held at most 0.39 x their mass 3 dB
 * over the centre (Opus at input SDR 3), a note 1.12 x; test 2: the wide
 * small humps of real rails (AAC 128k and Opus at input SDR 3-10) had the
 * other polarity's hump within 1 dB; 0.5 and 0.8 dB (tried first) dropped
 * Opus rails of the speech-like clip at input SDR 3-7 that lie 2 dB under
 * the true level.  Uncoded music(44100, 3, 2, seed) streams, seeds 1-24,
 * mono and stereo, input SDR 10 and 20: 7 of 96 took a note for a codec
 * rail before (up to 30.2 dB lost against offline), none now. */
#define RTD_SM_TOP_DB 3.0
#define RTD_SM_TOP_FRAC 0.6
#define RTD_SM_WIDE_DB 0.9
#define RTD_SM_WIDE_MASS 1000.0
#define RTD_SM_VETO_DB 1.0
static inline void smear_drop_notes(smear_estimator *e)
{
    int drop[2] = {0, 0};
    double centre[2];
    for (int side = 0; side < 2; side++)
        centre[side] = e->found[side] == RTD_RAIL_NONE ? 0.0 :
            20.0 * log10(e->level[side]) + e->width[side];
    for (int side = 0; side < 2; side++) {
        if (e->found[side] == RTD_RAIL_NONE) continue;
        int o = 1 - side;
        int other_hump = e->found[o] != RTD_RAIL_NONE;
        double lv = centre[side] + RTD_SM_TOP_DB;
        int64_t over = smear_above(e, side, lv);
        if (!(other_hump && centre[o] >= lv) && e->top[o] >= 0) over += smear_above(e, o, lv);
        drop[side] = (double)over > RTD_SM_TOP_FRAC * e->mass[side];
        if (e->spread[side] >= RTD_SM_WIDE_DB && e->mass[side] < RTD_SM_WIDE_MASS &&
            !(other_hump && fabs(centre[o] - centre[side]) <= RTD_SM_VETO_DB))
            drop[side] = 1;
    }
    for (int side = 0; side < 2; side++)
        if (drop[side]) e->found[side] = RTD_RAIL_NONE;
}

/* A polarity the hump test missed takes the other's codec-smeared rail
 * (clippers are nearly always symmetric, a codec can blur one side's hump
 * into the background) when
 *
 * 1. it reaches that rail's centre with at least a quarter of the other's
 *    samples there (as ClipDetector._mirror); or
 * 2. it reaches the other's *declared* level with at least RTD_SM_MIN_MASS
 *    samples and 1/RTD_SM_MIRROR_SHARE of the other's samples there, and
 *    fewer than RTD_SM_MIRROR_OVER of them lie RTD_SM_TOP_DB over the
 *    centre (an asymmetric waveform through a symmetric clipper: speech
 *    clipped at input SDR 7 dB, 118 clipped samples on the negative side
 *    against 964 on the positive one, smeared to 1 dB under the rail by
 *    Vorbis; a one-sided clipper's other side passes far over the rail with
 *    its natural peaks) (as ClipDetector._mirror); or
 * 3. in a stream only: it has not reached the declared level yet (fewer
 *    than RTD_SM_MIN_MASS samples there, none RTD_SM_TOP_DB over the
 *    centre).  No evidence yet, so the symmetric clipper is assumed: the
 *    first clipped burst of that polarity is then declipped as it comes
 *    instead of a frame late (the same speech through Vorbis q4/q8: its
 *    negative rail was found at sample 23040, after the burst at ~22000,
 *    and the stream lost 5.7 / 6.7 dB against offline).  Without samples
 *    at the level the mirrored rail changes nothing; as soon as the
 *    polarity passes RTD_SM_TOP_DB over the centre (a one-sided clipper)
 *    it is dropped at the next evaluation.  Offline the whole file is
 *    known, so this rule is not needed there. */
#define RTD_SM_MIRROR_SHARE 16.0
#define RTD_SM_MIRROR_OVER 0.25
static inline void smear_mirror(smear_estimator *e)
{
    for (int side = 0; side < 2; side++) {
        int o = 1 - side;
        if (e->found[side] != RTD_RAIL_NONE || e->found[o] != RTD_RAIL_CODEC || e->smooth[side])
            continue;
        double centre = 20.0 * log10(e->level[o]) + e->width[o];
        int64_t mine = smear_above(e, side, centre), theirs = smear_above(e, o, centre);
        if (theirs <= 0 || mine < RTD_SM_MIN_MASS || 4 * mine < theirs) {
            double declared = 20.0 * log10(e->level[o]);
            int64_t md = smear_above(e, side, declared), td = smear_above(e, o, declared);
            int64_t over = smear_above(e, side, centre + RTD_SM_TOP_DB);
            int shared = md >= RTD_SM_MIN_MASS && RTD_SM_MIRROR_SHARE * (double)md >= (double)td &&
                         (double)over <= RTD_SM_MIRROR_OVER * (double)md;
            int unseen = md < RTD_SM_MIN_MASS && over == 0;
            if (!shared && !unseen) continue;
            mine = md;
        }
        e->found[side] = RTD_RAIL_CODEC;
        e->level[side] = e->level[o];
        e->width[side] = e->width[o];
        e->mass[side] = (double)mine;
        e->bins[side] = e->bins[o];
        e->spread[side] = e->spread[o];
        e->mirrored[side] = 1;
        return;
    }
}

/* A channel whose rails the hump test missed on both polarities takes
 * another channel's codec-smeared rail when it reaches that rail's centre
 * with at least a quarter of the other's samples there (as
 * ClipDetector._acrosscchannels: one linked clipper on a stereo master; a
 * codec can blur one channel's hump into the background).  Returns 1 and
 * the rail in *level / *width when it does. */
static inline int smear_adopt(const smear_estimator *mine, const smear_estimator *other,
                              int side, double *level, double *width)
{
    if (other->found[side] != RTD_RAIL_CODEC || mine->smooth[side]) return 0;
    double centre = 20.0 * log10(other->level[side]) + other->width[side];
    int64_t m = smear_above(mine, side, centre), t = smear_above(other, side, centre);
    if (t <= 0 || m < RTD_SM_MIN_MASS || 4 * m < t) return 0;
    *level = other->level[side];
    *width = other->width[side];
    return 1;
}

/* After every channel chose its own rails: a channel with no rail at all
 * takes another channel's codec-smeared one (smear_adopt), per polarity,
 * from the first channel that offers it.  The channels' estimators are
 * `stride` bytes apart from `first` (one field of an array of per-channel
 * structs); `me` is this channel's index; its levels and their method and
 * width are updated in place.  Shared by stream.c and social.c. */
static inline void smear_adopt_across(const smear_estimator *first, size_t stride, int channels,
                                      int me, double *pos, double *neg,
                                      int method[2], double width[2])
{
    if (method[0] != RTD_RAIL_NONE || method[1] != RTD_RAIL_NONE) return;
    const smear_estimator *mine =
        (const smear_estimator *)((const char *)first + (size_t)me * stride);
    for (int side = 0; side < 2; side++) {
        for (int o = 0; o < channels; o++) {
            const smear_estimator *other =
                (const smear_estimator *)((const char *)first + (size_t)o * stride);
            double level, w;
            if (o == me || !smear_adopt(mine, other, side, &level, &w)) continue;
            if (side) *neg = -level;
            else *pos = level;
            method[side] = RTD_RAIL_CODEC;
            width[side] = w;
            break;
        }
    }
}

/* A smeared (codec or noisy) rail of one channel is dropped while another
 * channel clips exactly below full scale at a level more than
 * RTD_SM_VETO_DB from that rail's centre.  An exact rail below full scale
 * means the stream was never through a codec (a codec would have smeared
 * it; after a decoder only the full-scale code repeats), so a hump elsewhere
 * is a steady note's peak, not a rail: early in a stream of uncoded stereo
 * music a single note 3 dB under the music's peaks gave such a false rail
 * for 2048 samples and cost the 3 s stream 10 dB.  Linked clippers put the
 * rails within the band and keep them.  The fields of channel c are
 * `stride` bytes after channel 0's (pos0 ... width0: one per-channel
 * struct array); run after the channels' own choices and adoptions. */
#define RTD_SM_FULL_SCALE 0.999
static inline void smear_veto_false_humps(int channels, size_t stride, double *pos0,
                                          double *neg0, int *method0, double *width0)
{
#define RTD_AT(T, p, c) ((T *)((char *)(p) + (size_t)(c) * stride))
    for (int side = 0; side < 2; side++) {
        for (int c = 0; c < channels; c++) {
            int *m = RTD_AT(int, method0, c);
            if (m[side] != RTD_RAIL_CODEC && m[side] != RTD_RAIL_NOISY) continue;
            double *lv = side ? RTD_AT(double, neg0, c) : RTD_AT(double, pos0, c);
            double *w = RTD_AT(double, width0, c);
            double centre = 20.0 * log10(fabs(*lv)) + w[side];
            int exact = 0, agree = 0;
            for (int o = 0; o < channels; o++) {
                if (o == c || RTD_AT(int, method0, o)[side] != RTD_RAIL_EXACT) continue;
                double e = fabs(side ? *RTD_AT(double, neg0, o) : *RTD_AT(double, pos0, o));
                if (!(e < RTD_SM_FULL_SCALE)) continue;
                exact = 1;
                agree |= fabs(20.0 * log10(e) - centre) <= RTD_SM_VETO_DB;
            }
            if (exact && !agree) {
                *lv = side ? -INFINITY : INFINITY;
                m[side] = RTD_RAIL_NONE;
                w[side] = 0.0;
            }
        }
    }
#undef RTD_AT
}

/* The codec family of the decoded stream, when the caller knows it
 * (rtd_set_codec): Opus overshoots a rail far more than it dips under it,
 * so the width rule (from the spread above the hump's centre) runs to its
 * cap where music wants 1.25-1.75 dB.  While the heavier of a channel's
 * codec rails holds under RTD_SM_OPUS_FRACTION_LO of the samples at or
 * above its centre, a codec rail wider than RTD_SM_OPUS_MAX_DB is declared
 * at the geometric mean of its width and MAX_DB below its centre (as
 * codec_family_width and ClipDetector._codec_family in detect.py, measured
 * there: docs/lossy.md, tenth and eleventh sessions); from there to
 * RTD_SM_OPUS_FRACTION_HI it goes linearly back to the rule's width.  The
 * file's step (13 %) made a ramp here: a stream's share moves as it goes,
 * and music at input SDR 7 hovering at 13 % flipped its width between 1.5
 * and 2.95 dB (with the former cap) from one evaluation to the next (the
 * lossy benchmark's Opus streams gain the same with either).
 * A rail's share is its own hump's; a rail taken from the other polarity
 * or channel counts only when no rail of the channel has its own.  Run
 * after the cross-channel steps; levels and widths updated in place. */
enum { RTD_SM_CODEC_UNKNOWN = 0, RTD_SM_CODEC_OPUS = 1 };   /* = RTD_CODEC_* */
#define RTD_SM_OPUS_MAX_DB 1.5
#define RTD_SM_OPUS_FRACTION_LO 0.11
#define RTD_SM_OPUS_FRACTION_HI 0.16
/* The heavier of a channel's codec rails: the share of the samples at or
 * above its centre (its own hump's; one taken from the other polarity or
 * channel only when no rail of the channel has its own); 0 without one. */
static inline double smear_heavier_share(const smear_estimator *e, double pos, double neg,
                                         const int method[2], const double width[2])
{
    double own = -1.0, borrowed = 0.0;
    for (int side = 0; side < 2; side++) {
        if (method[side] != RTD_RAIL_CODEC) continue;
        double lv = fabs(side ? neg : pos);
        double share = e->norm[side] > 0.0 ?
            (double)smear_above(e, side, 20.0 * log10(lv) + width[side]) / e->norm[side] : 0.0;
        int mine = e->found[side] == RTD_RAIL_CODEC && !e->mirrored[side] &&
                   fabs(e->level[side] - lv) <= 1e-9 * lv;
        if (mine) own = share > own ? share : own;
        else borrowed = share > borrowed ? share : borrowed;
    }
    return own >= 0.0 ? own : borrowed;
}

static inline void smear_codec_family(const smear_estimator *e, int family, double *pos,
                                      double *neg, const int method[2], double width[2])
{
    if (family != RTD_SM_CODEC_OPUS) return;
    double heavier = smear_heavier_share(e, *pos, *neg, method, width);
    if (!(heavier < RTD_SM_OPUS_FRACTION_HI)) return;
    /* from FRACTION_LO to FRACTION_HI the way back to the rule's width */
    double t = (heavier - RTD_SM_OPUS_FRACTION_LO) / (RTD_SM_OPUS_FRACTION_HI - RTD_SM_OPUS_FRACTION_LO);
    if (t < 0.0) t = 0.0;
    for (int side = 0; side < 2; side++) {
        if (method[side] != RTD_RAIL_CODEC || !(width[side] > RTD_SM_OPUS_MAX_DB)) continue;
        double *lv = side ? neg : pos;
        double centre = 20.0 * log10(fabs(*lv)) + width[side];
        double narrow = sqrt(width[side] * RTD_SM_OPUS_MAX_DB);
        double w = narrow + t * (width[side] - narrow);
        double v = pow(10.0, (centre - w) / 20.0);
        *lv = side ? -v : v;
        width[side] = w;
    }
}

/* A preset's depth on heavy clipping (rtd_config.heavy_width; files:
 * detect.for_preset and PRESET_WIDTH, measured there, docs/lossy.md,
 * twenty-fourth session).  The width rule was fitted with fastest; average
 * gains with a clipped set `scale` times as deep once the heavier of a
 * channel's codec rails holds 13 % of its samples (input SDR 3; 7 dB and
 * lighter hold 2-12 %).  A stream's share moves as it goes, so, as in
 * smear_codec_family, the scale comes in linearly, from RTD_SM_HEAVY_LO to
 * _HI around the files' step, rather than at once.  A stream told it is
 * Opus too (twenty-eighth session; left out before as neutral in files):
 * its own narrower width gives way to the rule's over the same shares
 * (smear_codec_family), and on that the scale comes, as for any codec
 * (the benchmark's music through Opus at input SDR 3, `average` streams:
 * +2.2 / +1.6 dB).  Run after smear_codec_family. */
#define RTD_SM_HEAVY_LO 0.12
#define RTD_SM_HEAVY_HI 0.14
static inline void smear_heavy_width(const smear_estimator *e, double scale,
                                     double *pos, double *neg, const int method[2],
                                     double width[2])
{
    if (!(scale > 1.0)) return;
    double heavier = smear_heavier_share(e, *pos, *neg, method, width);
    if (!(heavier > RTD_SM_HEAVY_LO)) return;
    double t = (heavier - RTD_SM_HEAVY_LO) / (RTD_SM_HEAVY_HI - RTD_SM_HEAVY_LO);
    double k = 1.0 + (t < 1.0 ? t : 1.0) * (scale - 1.0);
    for (int side = 0; side < 2; side++) {
        if (method[side] != RTD_RAIL_CODEC || !(width[side] > 0.0)) continue;
        double *lv = side ? neg : pos;
        double centre = 20.0 * log10(fabs(*lv)) + width[side];
        double v = pow(10.0, (centre - width[side] * k) / 20.0);
        *lv = side ? -v : v;
        width[side] *= k;
    }
}

/* Levels in use with auto_threshold, shared by the SPADE stream (stream.c)
 * and the social solver (social.c): an exact rail (the signal keeps
 * returning to one extreme value: `hits` returns, `lv` its level) unless a
 * smeared one was found whose hump holds four times more samples than the
 * exact estimator's returns (after a codec decoded to 16 bits the extreme
 * code may repeat a few times). */
#define RTD_SM_SURE_HITS 16
#define RTD_SM_PILE 2.0
static inline void smear_choose(const smear_estimator *sm, const int hits[2], int min_hits,
                                double lv[2], int method[2], double width[2])
{
    const double lv_in[2] = {lv[0], lv[1]};
    for (int side = 0; side < 2; side++) {
        int exact = hits[side] >= min_hits;
        int smeared = sm->found[side] != RTD_RAIL_NONE &&
                      (!exact || 4.0 * hits[side] < sm->mass[side]);
        if (smeared && hits[side] >= RTD_SM_SURE_HITS && fabs(lv[side]) < RTD_SM_FULL_SCALE &&
            hits[side] >= RTD_SM_PILE * sm->mass[side] / sm->bins[side])
            /* ... but a pile-up at one sample value, below full scale and
             * RTD_SM_PILE times the hump's mean count per bin, is a real
             * clipper's rail, never a codec's (a codec spreads the rail;
             * decoded and rounded to 16 bits, its extreme code repeated at
             * most 0.6 x the hump's mean count per bin in the streams
             * measured for smear_drop_notes).  The hump is then a note
             * under the rail or the music just below it: uncoded stereo
             * music(44100, 3, 2, seed) at input SDR 20, seed 9: a note
             * 3 dB under channel 1's own rail (71 hits, 14 per bin) lost
             * 17.8 dB; seed 19 (evaluated every 512 samples): a hump 0.5 dB
             * under channel 0's rail (142 hits, 21 per bin) lost 1.7 dB. */
            smeared = 0;
        if (smeared) {
            lv[side] = side ? -sm->level[side] : sm->level[side];
            method[side] = sm->found[side];
            width[side] = sm->width[side];
        } else {
            method[side] = exact ? RTD_RAIL_EXACT : RTD_RAIL_NONE;
            width[side] = 0.0;
        }
    }
    /* a rail mirrored from a polarity whose own hump lost to an exact rail
     * there is no codec rail either (that hump was a note or the music
     * under a real clipper's rail: uncoded stereo music(44100, 3, 2,
     * seed=14) at input SDR 20 reported one, with the same output) */
    for (int side = 0; side < 2; side++) {
        if (!sm->mirrored[side] || method[side] != RTD_RAIL_CODEC ||
            method[1 - side] != RTD_RAIL_EXACT)
            continue;
        lv[side] = lv_in[side];
        method[side] = hits[side] >= min_hits ? RTD_RAIL_EXACT : RTD_RAIL_NONE;
        width[side] = 0.0;
    }
}

/* A polarity's own codec rail, once found at RTD_SM_HOLD_AFTER evaluations
 * running (after the note tests), stands through the evaluations that miss
 * it for up to RTD_SM_HOLD of them (1.4 s at 48 kHz, 4 s at 16 kHz), unless
 * the signal has since passed RTD_SM_TOP_DB over its centre on that
 * polarity with more than RTD_SM_TOP_FRAC of its mass (as smear_drop_notes'
 * test 1: then it was a note, or the clipper went away).  Early in a
 * stream the hump test is marginal: a few hundred samples decide it, and a
 * pause or a quieter stretch tips it either way.  Without the hold, the
 * rail of the benchmark's speech through Opus 96k at input SDR 3
 * (declipped at 16 kHz) came and went: found at 0.14 s, lost 0.27-1.03 s,
 * back from 1.16 s, and the stream gained 8.7 dB where the same Declipper
 * told the offline levels gained 12.0 (at input SDR 7: lost three times,
 * 1.9 against 7.6 dB); with it 11.4 and 7.6.  An absent hump is no evidence
 * that the clipper left.  A rail mirrored from the other polarity is not
 * held: smear_mirror (after this) derives it again from the other's rail,
 * held or not, with its conditions checked.  A hump found only once is
 * not held either: stereo music through AAC 256k at input SDR 20 had a
 * note's hump at 0.165 (the rail at 0.509) for one evaluation, and holding
 * it cost 4 dB. */
#define RTD_SM_HOLD 128
#define RTD_SM_HOLD_AFTER 2
static inline void smear_hold(smear_estimator *e)
{
    for (int side = 0; side < 2; side++) {
        if (e->found[side] == RTD_RAIL_CODEC) {   /* its own hump (mirroring comes after) */
            /* a hump found once may be a note's (counted up to the bar only) */
            if (e->seen[side] < RTD_SM_HOLD_AFTER) e->seen[side]++;
            if (e->seen[side] < RTD_SM_HOLD_AFTER) continue;
            e->held_level[side] = e->level[side];
            e->held_width[side] = e->width[side];
            e->held_mass[side] = e->mass[side];
            e->held_bins[side] = e->bins[side];
            e->held_spread[side] = e->spread[side];
            e->hold_left[side] = RTD_SM_HOLD;
            continue;
        }
        e->seen[side] = 0;
        if (e->found[side] != RTD_RAIL_NONE || e->hold_left[side] <= 0) {
            e->hold_left[side] = 0;
            continue;
        }
        double centre = 20.0 * log10(e->held_level[side]) + e->held_width[side];
        int64_t over = smear_above(e, side, centre + RTD_SM_TOP_DB);
        if ((double)over > RTD_SM_TOP_FRAC * e->held_mass[side]) {
            e->hold_left[side] = 0;
            continue;
        }
        e->hold_left[side]--;
        e->found[side] = RTD_RAIL_CODEC;
        e->level[side] = e->held_level[side];
        e->width[side] = e->held_width[side];
        e->mass[side] = e->held_mass[side];
        e->bins[side] = e->held_bins[side];
        e->spread[side] = e->held_spread[side];
    }
}

/* Rails whose tops are smooth peaks, not flat rippled ones, dropped
 * (peak_runs.h).  Runs are counted at each rail's centre (at a known rate
 * of 32 kHz and up, smear_set_rate), a new centre over the samples that
 * made its hump (peak_runs_watch); once RTD_SM_RIPPLE_RUNS of a polarity
 * were counted there, a channel with a polarity whose runs hold fewer than
 * RTD_SM_RIPPLE_MIN local maxima each keeps no smeared rail and takes none
 * from another channel (`smooth`).  Only a polarity that holds a rail at
 * this test decides: a count left at an old hump's centre (a note early in
 * the stream, 1.2 dB under the real rail) kept a light clip through AAC
 * from its rail for the whole track once it was counted at once.
 *
 * The hump test alone took a look-ahead limiter's pile-up under its
 * ceiling, or a bassoon's first note, for a codec's rail: streams of music
 * that was never clipped were "declipped" for 1-10 s (output 26-47 dB SDR
 * from its input, 27 of 297 streams of `python benchmarks/unclipped.py`;
 * with the test 22 change, by 44-60 dB SDR, their smeared rails standing
 * 0.02-0.10 s but in four (0.55-2.5 s); docs/lossy.md, twenty-first
 * session).  Four runs decide, not eight: a rail held (smear_hold) while
 * the signal seldom reached its centre again had counted 2 and 7 runs
 * after 2 s.
 *
 * Measured on whole files (runs of 8 samples and more): clipped then coded
 * (violin, speech-like, pop-like, music; MP3, AAC, Vorbis, Opus; input
 * SDR 3-20) 1.55-5.2 maxima per run at the centre, at least 2 but for music
 * at 20 dB; not clipped, 5 dB under the top of a limited master (where the
 * false rails' centres lay) 1.00-1.28.  At the declared level the two
 * overlapped (1.29 against 1.46: deep under a waveform's peak its partials
 * make several maxima).  Either polarity decides for both: a false rail
 * declared 12 dB down on one side held 1.56 there, its other side 1.0.
 * Not kept: using a rail only once its runs were counted (a deep false
 * rail stood 30 ms before that and cost a 4 s stream 25 dB SDR): struck
 * bells' clipped tops are shorter than 8 samples, their rails were never
 * confirmed, and 30 s streams of them lost up to 9.6 dB.  Counting the
 * samples that made the hump decides such a rail at once instead, and
 * leaves the bells' rails alone (too few runs: as before). */
#define RTD_SM_RIPPLE_RUNS 4.0
#define RTD_SM_RIPPLE_MIN 1.4
#define RTD_SM_RIPPLE_RESTART 1.2589   /* 2 dB: another rail, counted afresh */

/* The test needs the codec's ripple in band: it runs at RTD_SM_RIPPLE_RATE
 * and up (a flat top rings at the codec's 15-20 kHz cut-off), not at an
 * unknown rate (0).  At a 16 kHz source's rate the band stops at 8 kHz:
 * speech clipped and coded by Opus held 1.2-1.7 maxima per run there (3.3-4.9
 * at 48 kHz), and the test cost a 30 s stream of it 1.3 dB. */
#define RTD_SM_RIPPLE_RATE 32000.0
/* RTD_SM_MIN_MASS holds at 44.1 kHz and up (1.45 ms of samples); below, a
 * hump may also pass on as much time, min_mass samples, where none of
 * RTD_SM_MIN_MASS qualifies (smear_eval_side).  At 16 kHz 64 samples are 4
 * ms: a voice clipped at input SDR 7-20 found its first rail an evaluation
 * (32 ms) after its first clipped syllable and lost it.  With 24 samples
 * at 16 kHz the speech clip's lossy streams gain +3.1 / +4.4 / +13.8 dB
 * more on the mean at input SDR 7 / 10 / 20 (-0.05 at 3), the voice
 * plug-ins +0.3 to +4.3 dB at 7-10.  The cost: unclipped music at 16 kHz,
 * whose held notes now pass for a rail in 34 more of the 324 streams of
 * `benchmarks/unclipped.py --rate 16000`, 31 of them for 30-60 ms (34-57
 * dB SDR from their input), three limited masters for 3.2-3.4 s (27-57
 * dB); unclipped speech in none.  docs/lossy.md, thirty-first
 * session. */
#define RTD_SM_MASS_RATE 44100.0
/* ... but never fewer samples than at 16 kHz (24): a hump of a few samples
 * is a fluke whatever the rate.  At 8 kHz 12 samples let held notes of
 * unclipped music pass for a rail in 113 more of 324 streams, up to 10 s
 * at 21-58 dB SDR from their input; 24 in 42 (the voices at 8 kHz: 340 ->
 * 396 of 512 targets with 12, 392 with 24). */
#define RTD_SM_MASS_LOW 16000.0
static inline void smear_set_rate(smear_estimator *e, double rate)
{
    e->runs.min_len = rate >= RTD_SM_RIPPLE_RATE ? RTD_PR_MIN_LEN : 0;
    const double r = fmin(fmax(rate, RTD_SM_MASS_LOW), RTD_SM_MASS_RATE);
    e->min_mass = rate > 0 ? (int)ceil(RTD_SM_MIN_MASS * r / RTD_SM_MASS_RATE) : RTD_SM_MIN_MASS;
}

static inline void smear_drop_smooth(smear_estimator *e)
{
    for (int side = 0; side < 2; side++)
        if (e->found[side] != RTD_RAIL_NONE)   /* at the rail's centre */
            peak_runs_watch(&e->runs, side, e->level[side] * pow(10.0, e->width[side] / 20.0),
                            RTD_SM_RIPPLE_RESTART);
    int smooth = 0;
    for (int side = 0; side < 2; side++)
        smooth |= e->found[side] != RTD_RAIL_NONE &&
                  peak_runs_smooth(&e->runs, side, RTD_SM_RIPPLE_RUNS, RTD_SM_RIPPLE_MIN);
    for (int side = 0; side < 2; side++) {
        e->smooth[side] = smooth;
        if (!smooth) continue;
        e->found[side] = RTD_RAIL_NONE;
        e->hold_left[side] = 0;
        e->seen[side] = 0;
    }
}

static inline void smear_push(smear_estimator *e, double y, int64_t *scratch)
{
    int side = y < 0.0;
    double m = side ? -y : y;
    e->n++;
    peak_runs_push(&e->runs, y);
    e->norm[0] += 1.0;
    e->norm[1] += 1.0;
    if (m >= e->floor[side] && m > 0.0) {
        int k = (int)floor((20.0 * log10(m) - RTD_SM_LOW_DB) / RTD_SM_BIN_DB);
        if (k >= 0) {
            if (k >= RTD_SM_BINS) k = RTD_SM_BINS - 1;
            if (k > e->top[side]) {
                /* bins below the new floor stop counting: clear them, or
                 * their old counts would make the density seem to rise
                 * towards the top (a false hump) */
                int kf = k - (int)(RTD_SM_RANGE_DB / RTD_SM_BIN_DB);
                for (int i = 0; i < kf && i <= e->top[side]; i++) {
                    e->total[side] -= e->hist[side][i];
                    e->hist[side][i] = 0;
                }
                e->top[side] = k;
                e->floor[side] = pow(10.0, (smear_bin_db(kf) - 0.5 * RTD_SM_BIN_DB) / 20.0);
            }
            if (++e->total[side] > RTD_SM_HALVE) {
                for (int i = 0; i < RTD_SM_BINS; i++) e->hist[side][i] /= 2;
                e->total[side] /= 2;
                e->norm[side] *= 0.5;
            }
            e->hist[side][k]++;
        }
    }
    if (++e->since >= RTD_SM_EVERY) {
        e->since = 0;
        smear_eval_side(e, 0, scratch);
        smear_eval_side(e, 1, scratch);
        smear_drop_notes(e);
        smear_hold(e);
        smear_drop_smooth(e);
        smear_mirror(e);
    }
}

#endif
