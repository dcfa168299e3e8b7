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
 * The output: high-passed at 0.3 Hz (one pole) while restoring, and on
 * after the guard let m go (a stream cannot take back what it played, and
 * dropping the filter then would step; a file keeps such a channel as
 * decoded, core/dc_restore.py).  The
 * integral sums the codec's error near DC too, a random walk that grows
 * with the stream (8 s of music through Opus 160k at input SDR 20: 12.2 dB
 * gained without the restore, 8.1 with it, 14.1 with it and the
 * high-pass), and a stream joined midway carries the encoder's m at that
 * moment as an offset; a recording holds nothing at 0.3 Hz that anyone
 * hears (docs/lossy.md, thirtieth session).
 *
 * One multiply-add and two compares per sample in, one multiply-add per
 * sample out; nothing allocates. */
#ifndef RTD_DC_RESTORE_H
#define RTD_DC_RESTORE_H

#include <math.h>

#define RTD_DC_OPUS_COEF 6.3     /* a = 6.3 * cutoff_Hz / Fs (libopus)  */
#define RTD_DC_GUARD_SHARE 1.0
#define RTD_DC_GUARD_FLOOR 1e-3
#define RTD_DC_OUT_HP_HZ 0.3     /* the output's high-pass while restoring */

typedef struct {
    double a;       /* per-sample step, 0: off                              */
    double m;       /* what the encoder took off, before the next sample    */
    double peak;    /* largest |input| so far                               */
    int tripped;    /* the guard let m go                                   */
    double pole;    /* the output high-pass's pole                          */
    double hx, hy;  /* its last input and output                            */
} dc_restore;

/* The per-sample step for a reject at cutoff_hz seen at sample_rate (0:
 * off, for a cutoff or rate that is not positive). */
static inline double dc_restore_coef(double cutoff_hz, double sample_rate)
{
    return cutoff_hz > 0.0 && sample_rate > 0.0 ? RTD_DC_OPUS_COEF * cutoff_hz / sample_rate : 0.0;
}

/* The output high-pass's pole at sample_rate (0: none). */
static inline double dc_restore_pole(double sample_rate)
{
    return sample_rate > 0.0 ? exp(-2.0 * M_PI * RTD_DC_OUT_HP_HZ / sample_rate) : 0.0;
}

/* On with step a (dc_restore_coef) and the output high-pass's pole
 * (dc_restore_pole), both at the rate the stream is seen at; a = 0: off. */
static inline void dc_restore_set(dc_restore *d, double a, double pole)
{
    d->a = a > 0.0 && isfinite(a) ? a : 0.0;
    d->pole = pole > 0.0 && pole < 1.0 ? pole : 0.0;
    d->m = d->peak = d->hx = d->hy = 0.0;
    d->tripped = 0;
}

static inline void dc_restore_reset(dc_restore *d) { dc_restore_set(d, d->a, d->pole); }

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

/* The next output sample high-passed (v itself when off):
 * y = v - v[-1] + pole * y[-1]. */
static inline double dc_restore_out(dc_restore *d, double v)
{
    if (d->a == 0.0) return v;
    double y = v - d->hx + d->pole * d->hy;
    d->hx = v;
    d->hy = y;
    return y;
}

#endif
