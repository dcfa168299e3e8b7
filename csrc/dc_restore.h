/* dc_restore.h -- an Opus encoder's DC reject undone (internal).
 *
 * libopus high-passes its input with a one-pole DC reject at 3 Hz
 * (opus_encoder.c, dc_reject: out = x - m, m += 6.3 * 3 / Fs * (x - m)).
 * Clipping gives a signal a slowly moving mean, the encoder takes it off,
 * and both rails move with it by up to a quarter of the clip level, so no
 * single level fits them.  The filter inverts exactly, m[i+1] = m[i] +
 * a * out[i], a = 18.9 / Fs at the rate the stream is seen at, from m = 0
 * at the encoder's first sample (the decoder trims the pre-skip).  The
 * same rule as rtdeclip/core/dc_restore.py, which files use; measured
 * there (docs/lossy.md, twenty-ninth session).
 *
 * Guard: m is a low-pass of the encoder's input and never passes its
 * peak; a stream whose m passes the peak seen so far was not DC-rejected
 * (ffmpeg's own Opus encoder keeps the DC, and m would ramp without end):
 * m is let go from there (decays with the encoder's time constant, no
 * step) and not followed again until the next reset.
 *
 * One multiply-add and two compares per sample; nothing allocates. */
#ifndef RTD_DC_RESTORE_H
#define RTD_DC_RESTORE_H

#include <math.h>

#define RTD_DC_OPUS_COEF 6.3     /* a = 6.3 * cutoff_Hz / Fs (libopus)  */
#define RTD_DC_GUARD_SHARE 1.0
#define RTD_DC_GUARD_FLOOR 1e-3

typedef struct {
    double a;       /* per-sample step, 0: off                              */
    double m;       /* what the encoder took off, before the next sample    */
    double peak;    /* largest |input| so far                               */
    int tripped;    /* the guard let m go                                   */
} dc_restore;

/* The per-sample step for a reject at cutoff_hz seen at sample_rate (0:
 * off, for a cutoff or rate that is not positive). */
static inline double dc_restore_coef(double cutoff_hz, double sample_rate)
{
    return cutoff_hz > 0.0 && sample_rate > 0.0 ? RTD_DC_OPUS_COEF * cutoff_hz / sample_rate : 0.0;
}

static inline void dc_restore_set(dc_restore *d, double a)
{
    d->a = a > 0.0 && isfinite(a) ? a : 0.0;
    d->m = d->peak = 0.0;
    d->tripped = 0;
}

static inline void dc_restore_reset(dc_restore *d) { dc_restore_set(d, d->a); }

/* The next sample with the DC reject undone (x itself when off). */
static inline double dc_restore_push(dc_restore *d, double x)
{
    if (d->a == 0.0) return x;
    double ax = fabs(x);
    if (ax > d->peak) d->peak = ax;
    double m = d->m;
    if (d->tripped) {
        d->m = m * (1.0 - d->a);
        return x + d->m;
    }
    double am = fabs(m);
    if (am > RTD_DC_GUARD_SHARE * d->peak && am > RTD_DC_GUARD_FLOOR) {
        d->tripped = 1;
        d->m = m * (1.0 - d->a);
        return x + d->m;
    }
    d->m = m + d->a * x;
    return x + m;
}

#endif
