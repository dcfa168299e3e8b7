/* source_rate.c -- a stream declipped at its source's lower rate.
 *
 * An Opus voice stream decodes at 48 kHz but its source had 16 kHz: its
 * spectrum stops at 8 kHz, and a solver at 48 kHz spends its sparsity on a
 * spectrum that is two thirds empty.  rtd_rate runs an rtd_state made at
 * the source's rate on the stream decimated by `factor` and adds only the
 * repair, interpolated back, to the delayed input:
 *
 *     out[t] = x[t - D] + U(o - y)[t - D],   y = D(x),  o = inner(y)
 *
 * D (decimate) and U (interpolate, gain `factor`) share one symmetric
 * low-pass (Kaiser-windowed sinc, beta 8, 32 * factor taps each side, cut
 * at the low rate's Nyquist frequency): the same filter as
 * rtdeclip/core/resample.py, so a stream gives what the file path gives.
 * Where the inner solver keeps its input (away from clipping), o - y is 0
 * and the output is the input, delayed, bit for bit.
 *
 * Timing.  y[m] = sum_k h[k] x[mL + half - k] is known once x[mL + half]
 * has arrived; the inner stream returns o[m] with y[m - Li]'s repair; the
 * interpolated repair at j needs e up to floor((j + half) / L).  With
 * D = 2 half + L Li every output is known in the call that makes it.
 *
 * Real-time safety: rings and scratch are made in rtd_rate_create; process
 * works in sub-blocks of SUB frames on them and calls the inner state's
 * process, which allocates nothing either. */
#include "rtdeclip.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SUB = 512, HALF_PER_FACTOR = 32 };
#define KAISER_BETA 8.0

struct rtd_rate {
    rtd_state *inner;
    int ch, L, half, taps, Li, D;
    double *h;                 /* taps, symmetric, unit DC gain              */
    double *hist;              /* ch x 2 taps: decimator input, doubled ring */
    int hpos;
    long long t;               /* high-rate samples received                 */
    double *xd; int xmask;     /* ch x ring: input delayed by D              */
    double *yd; int ymask;     /* ch x ring: low-rate input awaiting its repair */
    double *er; int emask;     /* ch x ring: repair e[q], q = m - Li          */
    long long m;               /* low-rate samples made                      */
    double *lin, *lout;        /* SUB / L + 2 low-rate frames, interleaved   */
    double *bin, *bout;        /* SUB frames, interleaved (float calls)      */
    double *bdel;              /* SUB frames: the delayed input of the outputs */
    long long nonfinite;
};

static int pow2_at_least(int n)
{
    int p = 1;
    while (p < n) p <<= 1;
    return p;
}

/* zeroth-order modified Bessel function of the first kind (series) */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

static void design(double *h, int L, int half)
{
    const double pi = 3.14159265358979323846;
    int n = 2 * half + 1;
    double sum = 0, i0b = bessel_i0(KAISER_BETA);
    for (int i = 0; i < n; i++) {
        double t = (double)(i - half), r = t / half;
        double sinc = t == 0 ? 1.0 : sin(pi * t / L) / (pi * t / L);
        double kw = bessel_i0(KAISER_BETA * sqrt(fmax(0.0, 1.0 - r * r))) / i0b;
        h[i] = sinc * kw;
        sum += h[i];
    }
    for (int i = 0; i < n; i++) h[i] /= sum;
}

int rtd_rate_filter(int factor, double *h, int n)
{
    if (factor != 2 && factor != 3 && factor != 4 && factor != 6) return RTD_ERR_FACTOR;
    int taps = 2 * HALF_PER_FACTOR * factor + 1;
    if (h && n >= taps) design(h, factor, HALF_PER_FACTOR * factor);
    return taps;
}

rtd_rate *rtd_rate_create(rtd_state *inner, int channels, int factor, int *error)
{
    int e = RTD_OK;
    rtd_rate *rs = NULL;
    if (!inner || channels < 1 || channels > RTD_CHANNELS_MAX) e = RTD_ERR_CHANNELS;
    else if (factor != 2 && factor != 3 && factor != 4 && factor != 6) e = RTD_ERR_FACTOR;
    if (e == RTD_OK && !(rs = calloc(1, sizeof *rs))) e = RTD_ERR_NOMEM;
    if (e == RTD_OK) {
        rs->inner = inner;
        rs->ch = channels;
        rs->L = factor;
        rs->half = HALF_PER_FACTOR * factor;
        rs->taps = 2 * rs->half + 1;
        rs->Li = rtd_latency(inner);
        rs->D = 2 * rs->half + factor * rs->Li;
        int xr = pow2_at_least(rs->D + SUB + 1);
        int low = SUB / factor + 2;
        int yr = pow2_at_least(rs->Li + low + 1);
        int er = pow2_at_least(rs->taps / factor + 2 + low);
        rs->xmask = xr - 1;
        rs->ymask = yr - 1;
        rs->emask = er - 1;
        rs->h = calloc((size_t)rs->taps, sizeof(double));
        rs->hist = calloc((size_t)channels * 2 * rs->taps, sizeof(double));
        rs->xd = calloc((size_t)channels * xr, sizeof(double));
        rs->yd = calloc((size_t)channels * yr, sizeof(double));
        rs->er = calloc((size_t)channels * er, sizeof(double));
        rs->lin = calloc((size_t)channels * low, sizeof(double));
        rs->lout = calloc((size_t)channels * low, sizeof(double));
        rs->bin = calloc((size_t)channels * SUB, sizeof(double));
        rs->bout = calloc((size_t)channels * SUB, sizeof(double));
        rs->bdel = calloc((size_t)channels * SUB, sizeof(double));
        if (!rs->h || !rs->hist || !rs->xd || !rs->yd || !rs->er || !rs->lin || !rs->lout
            || !rs->bin || !rs->bout || !rs->bdel)
            e = RTD_ERR_NOMEM;
        else
            design(rs->h, factor, rs->half);
    }
    if (e != RTD_OK) {
        rtd_rate_destroy(rs);
        rs = NULL;
    }
    if (error) *error = e;
    return rs;
}

void rtd_rate_destroy(rtd_rate *rs)
{
    if (!rs) return;
    free(rs->h);
    free(rs->hist);
    free(rs->xd);
    free(rs->yd);
    free(rs->er);
    free(rs->lin);
    free(rs->lout);
    free(rs->bin);
    free(rs->bout);
    free(rs->bdel);
    free(rs);
}

void rtd_rate_reset(rtd_rate *rs)
{
    int c = rs->ch;
    memset(rs->hist, 0, sizeof(double) * c * 2 * rs->taps);
    memset(rs->xd, 0, sizeof(double) * c * (rs->xmask + 1));
    memset(rs->yd, 0, sizeof(double) * c * (rs->ymask + 1));
    memset(rs->er, 0, sizeof(double) * c * (rs->emask + 1));
    rs->hpos = 0;
    rs->t = rs->m = 0;
    rs->nonfinite = 0;
}

int rtd_rate_latency(const rtd_rate *rs) { return rs->D; }

long long rtd_rate_nonfinite(const rtd_rate *rs) { return rs->nonfinite; }

/* One sub-block of n <= SUB interleaved frames. */
static void sub_block(rtd_rate *rs, const double *in, double *out, int n)
{
    const int C = rs->ch, L = rs->L, half = rs->half, taps = rs->taps;
    const double *h = rs->h;
    const long long t0 = rs->t, m0 = rs->m;
    int nlow = 0;
    /* 1. the input into the delay line and the decimator; every L-th
     * sample (at mL + half) makes y[m] */
    for (int i = 0; i < n; i++) {
        long long t = t0 + i;
        int pos = rs->hpos;
        for (int c = 0; c < C; c++) {
            double v = in[(size_t)i * C + c];
            if (!isfinite(v)) {
                v = 0.0;
                rs->nonfinite++;
            }
            double *hs = rs->hist + (size_t)c * 2 * taps;
            hs[pos] = hs[pos + taps] = v;
            rs->xd[(size_t)c * (rs->xmask + 1) + (t & rs->xmask)] = v;
        }
        rs->hpos = pos + 1 == taps ? 0 : pos + 1;
        if (t >= half && (t - half) % L == 0) {
            for (int c = 0; c < C; c++) {
                /* the last `taps` samples, oldest first, start after pos */
                const double *win = rs->hist + (size_t)c * 2 * taps + pos + 1;
                double acc = 0;
                for (int k = 0; k < taps; k++) acc += h[k] * win[k];
                if (!isfinite(acc)) acc = 0.0;   /* samples near DBL_MAX overflow */
                rs->lin[(size_t)nlow * C + c] = acc;
                rs->yd[(size_t)c * (rs->ymask + 1) + ((m0 + nlow) & rs->ymask)] = acc;
            }
            nlow++;
        }
    }
    rs->t = t0 + n;
    /* 2. the solver at the low rate; 3. the repair e[q] = o[m] - y[q],
     * q = m - Li (before the stream: 0) */
    if (nlow) {
        rtd_process_double(rs->inner, rs->lin, rs->lout, nlow);
        for (int j = 0; j < nlow; j++) {
            long long q = m0 + j - rs->Li;
            for (int c = 0; c < C; c++) {
                double ev = 0.0;
                if (q >= 0)
                    ev = rs->lout[(size_t)j * C + c]
                         - rs->yd[(size_t)c * (rs->ymask + 1) + (q & rs->ymask)];
                if (!isfinite(ev)) ev = 0.0;
                rs->er[(size_t)c * (rs->emask + 1) + ((m0 + j - rs->Li) & rs->emask)] = ev;
            }
        }
        rs->m = m0 + nlow;
    }
    /* 4. out[t] = x[j] + c[j], j = t - D: c[j] = L sum_p h[r + pL] e[qh - p],
     * s = j + half, qh = floor(s / L), r = s - qh L; e known up to
     * (m - 1) - Li >= qh (see the timing note at the top) */
    for (int i = 0; i < n; i++) {
        long long j = t0 + i - rs->D;
        if (j < -half) {   /* nothing of the stream reaches here yet */
            for (int c = 0; c < C; c++) out[(size_t)i * C + c] = rs->bdel[(size_t)i * C + c] = 0.0;
            continue;
        }
        long long s = j + half;
        long long qh = s / L;
        int r = (int)(s - qh * L);
        for (int c = 0; c < C; c++) {
            const double *ec = rs->er + (size_t)c * (rs->emask + 1);
            double acc = 0;
            long long q = qh;
            for (int k = r; k < taps; k += L, q--)
                if (q >= -rs->Li) acc += h[k] * ec[q & rs->emask];
            double x = j >= 0 ? rs->xd[(size_t)c * (rs->xmask + 1) + (j & rs->xmask)] : 0.0;
            double v = x + L * acc;
            out[(size_t)i * C + c] = isfinite(v) ? v : x;   /* x is finite */
            rs->bdel[(size_t)i * C + c] = x;
        }
    }
}

void rtd_rate_process_double(rtd_rate *rs, const double *in, double *out, int frames)
{
    for (int done = 0; done < frames;) {
        int n = frames - done < SUB ? frames - done : SUB;
        sub_block(rs, in + (size_t)done * rs->ch, out + (size_t)done * rs->ch, n);
        done += n;
    }
}

void rtd_rate_process_float(rtd_rate *rs, const float *in, float *out, int frames)
{
    const int C = rs->ch;
    for (int done = 0; done < frames;) {
        int n = frames - done < SUB ? frames - done : SUB;
        for (int i = 0; i < n * C; i++) rs->bin[i] = in[(size_t)done * C + i];
        sub_block(rs, rs->bin, rs->bout, n);
        for (int i = 0; i < n * C; i++) {
            /* a repair beyond float's range: the delayed input instead */
            float v = (float)rs->bout[i];
            out[(size_t)done * C + i] = isfinite(v) ? v : (float)rs->bdel[i];
        }
        done += n;
    }
}
