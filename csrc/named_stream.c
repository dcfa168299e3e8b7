/* named_stream.c -- a stream's second pass over a smeared rail.
 *
 * After a codec the clipped set declared under a smeared rail holds false
 * members (reliable samples the codec's ringing lifted over the declared
 * level), and the solver raises them freely.  The first solve tells most
 * of them apart: where its solution stays under the rail's centre the
 * sample was most likely reliable.  Files solve a second time on the set
 * the first names (rtdeclip/core/named.py); rtd_named does the same for a
 * stream, one latency later:
 *
 *     o1 = first(x)                       (its own levels, estimator, hedge)
 *     named_j[t] = x[t-L1] beyond the declared level, and, on a smeared
 *                  rail, o1[t] over the rail's centre times 10^(share_j w / 20)
 *     o2_j = inner_j(x[t-L1], named_j)    (rtd_process_given_double)
 *     out[t] = (o1[t-L2] + mean_j o2_j[t]) / 2  on a channel with a smeared
 *              rail, with samples inside the declared levels as they came
 *              (x[t-L1-L2]); o1[t-L2] on any other channel.
 *
 * and a dip (a sample the codec pulled under the declared level inside a
 * run o1 lifts over the rail: FLANK below) is freed in every share and
 * leaves as mean_j o2_j alone; deciding it needs FLANK samples after it,
 * so everything after o1 runs FLANK samples later than written above.
 *
 * The inner solves are one rtd_state with channels x shares channels
 * (channel c's share j on channel c * shares + j), so its lanes solve them
 * in parallel and one iteration budget and time limit govern them.  Levels
 * and widths are the first state's, read at every multiple of SUB frames of
 * the stream (they move slowly) before the first state takes the next
 * ones, so the output does not depend on the block sizes.  Exact rails
 * name nothing (the inner frames are skipped): the output is the first
 * state's, delayed by L2, bit for bit.  Measured on the lossy benchmark's streams (docs/lossy.md,
 * twenty-sixth session).
 *
 * Real-time safety: rings and scratch are made in rtd_named_create;
 * process works in sub-blocks of SUB frames and calls the two states'
 * process, which allocate nothing either. */
#include "rtdeclip.h"
#include "dc_restore.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SUB = 512, METHOD_NOISY = 2, METHOD_CODEC = 3 };

/* A dip: a sample the codec pulled under the declared level inside a
 * clipped run.  Freed (clipped, bound at its value) where the first
 * solution rises over the rail's centre by DIP_DB within FLANK samples on
 * both sides and the sample is at least DIP_DEPTH of the declared level;
 * the output there is the second solution alone (the first pinned it).
 * Deciding needs FLANK samples after it: the inner state is fed FLANK
 * samples later (core/named.py: DIP_FLANK, DIP_DB, DIP_DEPTH). */
enum { FLANK = 8 };
#define DIP_DB 0.5
#define DIP_DEPTH 0.7

/* shares of the rail's width over its centre that name a sample, in the
 * order a smaller count takes them (files: all five, core/named.py) */
static const double SHARES[RTD_NAMED_MAX] = {0.0, 0.25, 0.125, 0.375, 0.5};

/* One channel's rails as the first state had them at the last multiple of SUB. */
typedef struct {
    double pos, neg;        /* declared levels (+-HUGE_VAL: none)        */
    double cpos, cneg;      /* the rails' centres                        */
    double kpos, kneg;      /* the rails' widths as factors               */
    int spos, sneg;         /* smeared: named from the first pass        */
} rails;

struct rtd_named {
    rtd_state *first, *inner;
    int ch, k, L1, L2;
    long long t;                 /* input frames received                     */
    double rise;                 /* 10^(DIP_DB / 20)                          */
    double *xd; int xmask;       /* ch x ring: the input (finite)             */
    double *fd; int fmask;       /* ch x ring: the first pass's output        */
    int8_t *dd;                  /* ch x ring (xmask): freed dips by input time */
    double *o1, *iin, *iout, *bin, *bout;
    int8_t *given;
    rails *at;                   /* ch: the rails in use (read_rails)          */
    dc_restore *dc;              /* ch: an Opus encoder's DC reject undone on the
                                    chain's input, before both states see it
                                    (rtd_named_set_dc_restore; off: a = 0)   */
    double *rin;                 /* SUB frames: the input so restored          */
};

static int pow2_at_least(int n)
{
    int p = 1;
    while (p < n) p <<= 1;
    return p;
}

int rtd_named_inner_iterations(int n, double hedge_budget)
{
    if (n <= 0) return 0;
    double k = nearbyint(n * hedge_budget);   /* half to even, as Python's round */
    return k < 1.0 ? 1 : (int)k;
}

int rtd_named_inner_config(const rtd_config *first, int shares, rtd_config *inner)
{
    if (shares < 1 || shares > RTD_NAMED_MAX) return RTD_ERR_HEDGE;
    if (first->channels * shares > RTD_CHANNELS_MAX) return RTD_ERR_CHANNELS;
    *inner = *first;
    inner->channels = first->channels * shares;
    inner->auto_threshold = 0;
    inner->hedge = 0;
    inner->hedge_budget = 1.0;
    inner->max_iterations = rtd_named_inner_iterations(first->max_iterations,
                                                       first->hedge_budget);
    /* the inner hops end half a hop after the first's: a block of up to
     * half a hop holds one state's solves, not both (the lossy plug-ins'
     * largest 256-frame run, docs/lossy.md, thirty-third session) */
    inner->grid_phase = (first->grid_phase + first->hop / 2) % first->hop;
    return RTD_OK;
}

rtd_named *rtd_named_create(rtd_state *first, rtd_state *inner, int channels, int shares,
                            int *error)
{
    int e = RTD_OK;
    rtd_named *ns = NULL;
    if (!first || !inner || channels < 1 || channels > RTD_CHANNELS_MAX) e = RTD_ERR_CHANNELS;
    else if (shares < 1 || shares > RTD_NAMED_MAX) e = RTD_ERR_HEDGE;
    else if (rtd_channels(first) != channels || rtd_channels(inner) != channels * shares)
        e = RTD_ERR_CHANNELS;
    if (e == RTD_OK && !(ns = calloc(1, sizeof *ns))) e = RTD_ERR_NOMEM;
    if (e == RTD_OK) {
        ns->first = first;
        ns->inner = inner;
        ns->ch = channels;
        ns->k = shares;
        ns->L1 = rtd_latency(first);
        ns->L2 = rtd_latency(inner);
        int xr = pow2_at_least(ns->L1 + ns->L2 + 2 * FLANK + SUB + 1);
        int fr = pow2_at_least(ns->L2 + 2 * FLANK + SUB + 1);
        size_t cs = (size_t)channels * SUB, ks = cs * (size_t)shares;
        ns->xmask = xr - 1;
        ns->fmask = fr - 1;
        ns->xd = calloc((size_t)channels * xr, sizeof(double));
        ns->fd = calloc((size_t)channels * fr, sizeof(double));
        ns->dd = calloc((size_t)channels * xr, sizeof(int8_t));
        ns->rise = pow(10.0, DIP_DB / 20.0);
        ns->o1 = calloc(cs, sizeof(double));
        ns->bin = calloc(cs, sizeof(double));
        ns->bout = calloc(cs, sizeof(double));
        ns->iin = calloc(ks, sizeof(double));
        ns->iout = calloc(ks, sizeof(double));
        ns->given = calloc(ks, sizeof(int8_t));
        ns->at = calloc((size_t)channels, sizeof(rails));
        ns->dc = calloc((size_t)channels, sizeof(dc_restore));
        ns->rin = calloc(cs, sizeof(double));
        if (!ns->xd || !ns->fd || !ns->dd || !ns->o1 || !ns->bin || !ns->bout || !ns->iin
            || !ns->iout || !ns->given || !ns->at || !ns->dc || !ns->rin)
            e = RTD_ERR_NOMEM;
    }
    if (e != RTD_OK) {
        rtd_named_destroy(ns);
        ns = NULL;
    }
    if (error) *error = e;
    return ns;
}

void rtd_named_destroy(rtd_named *ns)
{
    if (!ns) return;
    free(ns->xd);
    free(ns->fd);
    free(ns->dd);
    free(ns->o1);
    free(ns->bin);
    free(ns->bout);
    free(ns->iin);
    free(ns->iout);
    free(ns->given);
    free(ns->at);
    free(ns->dc);
    free(ns->rin);
    free(ns);
}

void rtd_named_reset(rtd_named *ns)
{
    memset(ns->at, 0, sizeof(rails) * ns->ch);
    memset(ns->xd, 0, sizeof(double) * ns->ch * (ns->xmask + 1));
    memset(ns->fd, 0, sizeof(double) * ns->ch * (ns->fmask + 1));
    memset(ns->dd, 0, sizeof(int8_t) * ns->ch * (ns->xmask + 1));
    for (int c = 0; c < ns->ch; c++) dc_restore_reset(&ns->dc[c]);
    ns->t = 0;
}

void rtd_named_set_dc_restore(rtd_named *ns, double cutoff_hz, double sample_rate)
{
    const double a = dc_restore_coef(cutoff_hz, sample_rate), pole = dc_restore_pole(sample_rate);
    for (int c = 0; c < ns->ch; c++) dc_restore_set(&ns->dc[c], a, pole);
}

int rtd_named_dc_restore_tripped(const rtd_named *ns)
{
    int n = 0;
    for (int c = 0; c < ns->ch; c++) n += ns->dc[c].tripped;
    return n;
}

int rtd_named_latency(const rtd_named *ns) { return ns->L1 + FLANK + ns->L2; }


static void read_rails(const rtd_named *ns, int c, rails *r)
{
    /* the first state's levels and widths (rtd_get_*: plain reads) */
    int mp, mn;
    double wp, wn;
    rtd_get_thresholds(ns->first, c, &r->pos, &r->neg);
    rtd_get_detection(ns->first, c, &mp, &mn, &wp, &wn);
    r->spos = (mp == METHOD_NOISY || mp == METHOD_CODEC) && isfinite(r->pos);
    r->sneg = (mn == METHOD_NOISY || mn == METHOD_CODEC) && isfinite(r->neg);
    r->kpos = pow(10.0, wp / 20.0);   /* the width as a factor, for the shares */
    r->kneg = pow(10.0, wn / 20.0);
    r->cpos = r->spos ? r->pos * r->kpos : r->pos;
    r->cneg = r->sneg ? r->neg * r->kneg : r->neg;
}

/* The input sample u from its ring (silence before the stream). */
static inline double x_at(const double *xr, int mask, long long u)
{
    return u >= 0 ? xr[u & mask] : 0.0;
}

/* +1 / -1: u is a positive / negative dip to free (see FLANK), else 0.
 * xr, fr: the channel's rings; o1 of input u is fr[u + L1]. */
static int dip_at(const rtd_named *ns, const rails *r, const double *xr, const double *fr,
                  long long u)
{
    const double x = x_at(xr, ns->xmask, u);
    for (int pol = 0; pol < 2; pol++) {
        const double s = pol ? -1.0 : 1.0;
        const double dec = pol ? -r->neg : r->pos, cen = pol ? -r->cneg : r->cpos;
        if (!(pol ? r->sneg : r->spos) || !(s * x < dec && s * x >= DIP_DEPTH * dec)) continue;
        int left = 0, right = 0;
        for (int g = 1; g <= FLANK && !(left && right); g++) {
            long long a = u - g, b = u + g;
            if (!left && a >= 0 && s * xr[a & ns->xmask] >= dec
                && s * fr[(a + ns->L1) & ns->fmask] >= ns->rise * cen) left = 1;
            if (!right && s * xr[b & ns->xmask] >= dec
                && s * fr[(b + ns->L1) & ns->fmask] >= ns->rise * cen) right = 1;
        }
        if (left && right) return pol ? -1 : 1;
    }
    return 0;
}

/* One sub-block of n <= SUB interleaved frames. */
static void sub_block(rtd_named *ns, const double *in, double *out, int n)
{
    const int C = ns->ch, K = ns->k, CK = C * K;
    const long long t0 = ns->t;
    /* the rails for this SUB stretch of the stream: the first state's after
     * the stretch before it (sub-blocks never cross a multiple of SUB), so
     * whatever the block sizes the same samples see the same rails */
    if (t0 % SUB == 0)
        for (int c = 0; c < C; c++) read_rails(ns, c, &ns->at[c]);
    if (ns->dc[0].a != 0.0) {   /* both states and the naming see it restored */
        for (int i = 0; i < n; i++)
            for (int c = 0; c < C; c++) {
                double v = in[(size_t)i * C + c];
                ns->rin[(size_t)i * C + c] = isfinite(v) ? dc_restore_push(&ns->dc[c], v) : v;
            }
        in = ns->rin;
    }
    rtd_process_double(ns->first, in, ns->o1, n);
    for (int c = 0; c < C; c++) {
        const rails r = ns->at[c];
        double *xr = ns->xd + (size_t)c * (ns->xmask + 1);
        double *fr = ns->fd + (size_t)c * (ns->fmask + 1);
        int8_t *dr = ns->dd + (size_t)c * (ns->xmask + 1);
        for (int i = 0; i < n; i++) {
            double v = in[(size_t)i * C + c];
            xr[(t0 + i) & ns->xmask] = isfinite(v) ? v : 0.0;
            fr[(t0 + i) & ns->fmask] = ns->o1[(size_t)i * C + c];
        }
        /* each share's factor over the centre: 10^(share w / 20) */
        double fp[RTD_NAMED_MAX], fn[RTD_NAMED_MAX];
        for (int j = 0; j < K; j++) {
            fp[j] = pow(r.kpos, SHARES[j]);
            fn[j] = pow(r.kneg, SHARES[j]);
        }
        /* the sample decided now: FLANK after the one o1 holds (L1 back) */
        for (int i = 0; i < n; i++) {
            long long u = t0 + i - ns->L1 - FLANK;
            double x = x_at(xr, ns->xmask, u);
            double o = fr[(t0 + i - FLANK) & ns->fmask];
            int hi = x >= r.pos, lo = x <= r.neg;
            int dip = (r.spos || r.sneg) ? dip_at(ns, &r, xr, fr, u) : 0;
            if (u >= 0) dr[u & ns->xmask] = (int8_t)dip;
            for (int j = 0; j < K; j++) {
                int h = hi && (!r.spos || o >= fp[j] * r.cpos);
                int l = lo && (!r.sneg || o <= fn[j] * r.cneg);
                size_t at = (size_t)i * CK + (size_t)c * K + j;
                ns->iin[at] = x;
                ns->given[at] = (r.spos || r.sneg) ? (int8_t)(dip ? dip : h - l) : 0;
            }
        }
    }
    rtd_process_given_double(ns->inner, ns->iin, ns->given, ns->iout, n);
    for (int c = 0; c < C; c++) {
        const rails r = ns->at[c];
        const double *xr = ns->xd + (size_t)c * (ns->xmask + 1);
        const double *fr = ns->fd + (size_t)c * (ns->fmask + 1);
        const int8_t *dr = ns->dd + (size_t)c * (ns->xmask + 1);
        for (int i = 0; i < n; i++) {
            long long tf = t0 + i - ns->L2 - FLANK, tx = tf - ns->L1;
            double first = tf >= 0 ? fr[tf & ns->fmask] : 0.0;
            double v = first;
            if (r.spos || r.sneg) {
                double seen = x_at(xr, ns->xmask, tx);
                double s = 0.0;
                for (int j = 0; j < K; j++) s += ns->iout[(size_t)i * CK + (size_t)c * K + j];
                if (tx >= 0 && dr[tx & ns->xmask])
                    v = s / K;  /* a freed dip: the first pinned it, the second lifts it */
                else if (seen < r.pos && seen > r.neg)
                    v = seen;   /* inside the declared levels: as it came */
                else
                    v = 0.5 * (first + s / K);
            }
            out[(size_t)i * C + c] = dc_restore_out(&ns->dc[c], v);   /* off: v */
        }
    }
    ns->t = t0 + n;
}

/* Frames up to the next multiple of SUB in the stream: the rails are read
 * at the same places whatever the block sizes, so the output is too. */
static int next_sub(const rtd_named *ns, int left)
{
    int to_edge = SUB - (int)(ns->t % SUB);
    return left < to_edge ? left : to_edge;
}

void rtd_named_process_double(rtd_named *ns, const double *in, double *out, int frames)
{
    for (int done = 0; done < frames;) {
        int n = next_sub(ns, frames - done);
        sub_block(ns, in + (size_t)done * ns->ch, out + (size_t)done * ns->ch, n);
        done += n;
    }
}

void rtd_named_process_float(rtd_named *ns, const float *in, float *out, int frames)
{
    const int C = ns->ch;
    for (int done = 0; done < frames;) {
        int n = next_sub(ns, frames - done);
        for (int i = 0; i < n * C; i++) ns->bin[i] = in[(size_t)done * C + i];
        sub_block(ns, ns->bin, ns->bout, n);
        for (int i = 0; i < n * C; i++) { /* saturate, as rtd_process_float does */
            double v = ns->bout[i];
            out[(size_t)done * C + i] = (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
        }
        done += n;
    }
}
