/* limiter.c -- see limiter.h. */
#include "limiter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rtd_limiter {
    int C, L, W;
    double ceiling;       /* the gains in the queues were computed for it */
    /* running minimum of the needed gain over the last W samples: a queue
     * of (value, time) with increasing values, in rings of W entries */
    double *qv;
    long long *qt;
    int qhead, qlen;
    long long t;          /* samples seen */
    double *peaks;        /* last W peaks (for a ceiling change) */
    /* mean of the last L minima */
    double *m;
    int mpos;
    double msum;
    float *delay;         /* the last L-1 frames of audio */
    int dpos;
};

static int pow2_at_least(int n)
{
    int p = 1;
    while (p < n) p *= 2;
    return p;
}

rtd_limiter *rtdl_create(double sample_rate, int channels)
{
    rtd_limiter *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->C = channels < 1 ? 1 : channels;
    int L = (int)lround(1.5e-3 * sample_rate);
    l->L = L < 2 ? 2 : L;
    l->W = pow2_at_least(l->L + (int)lround(8e-3 * sample_rate));
    l->qv = malloc(sizeof(double) * l->W);
    l->qt = malloc(sizeof(long long) * l->W);
    l->peaks = malloc(sizeof(double) * l->W);
    l->m = malloc(sizeof(double) * l->L);
    l->delay = malloc(sizeof(float) * (size_t)(l->L - 1) * l->C);
    if (!l->qv || !l->qt || !l->peaks || !l->m || !l->delay) {
        rtdl_destroy(l);
        return NULL;
    }
    l->ceiling = 1.0;
    rtdl_reset(l);
    return l;
}

void rtdl_destroy(rtd_limiter *l)
{
    if (!l) return;
    free(l->qv);
    free(l->qt);
    free(l->peaks);
    free(l->m);
    free(l->delay);
    free(l);
}

void rtdl_reset(rtd_limiter *l)
{
    l->qhead = l->qlen = 0;
    l->t = 0;
    for (int i = 0; i < l->W; i++) l->peaks[i] = 0.0;
    for (int i = 0; i < l->L; i++) l->m[i] = 1.0;
    l->mpos = 0;
    l->msum = l->L;
    memset(l->delay, 0, sizeof(float) * (size_t)(l->L - 1) * l->C);
    l->dpos = 0;
}

int rtdl_latency(const rtd_limiter *l) { return l->L - 1; }

static double needed(double peak, double ceiling)
{
    return peak > ceiling ? ceiling / peak : 1.0;
}

/* push the needed gain of time t onto the running-minimum queue */
static void queue_push(rtd_limiter *l, double g)
{
    /* drop what leaves the window [t-W+1, t] first: at most W entries */
    while (l->qlen > 0 && l->qt[l->qhead] <= l->t - l->W) {
        l->qhead = (l->qhead + 1) % l->W;
        l->qlen--;
    }
    while (l->qlen > 0) {
        int last = (l->qhead + l->qlen - 1) % l->W;
        if (l->qv[last] < g) break;
        l->qlen--;
    }
    int at = (l->qhead + l->qlen) % l->W;
    l->qv[at] = g;
    l->qt[at] = l->t;
    l->qlen++;
}

/* a new ceiling: rebuild the queue and the mean from the stored peaks
 * (rare, off the per-sample path) */
static void rebuild(rtd_limiter *l, double ceiling)
{
    l->ceiling = ceiling;
    long long t_end = l->t;
    long long t0 = t_end - l->W;
    if (t0 < 0) t0 = 0;
    l->qhead = l->qlen = 0;
    for (long long t = t0; t < t_end; t++) {
        l->t = t;
        queue_push(l, needed(l->peaks[t % l->W], ceiling));
    }
    l->t = t_end;
    /* the mean over L: keep the old minima (they ramp into the new ones) */
}

void rtdl_process(rtd_limiter *l, float *x, int frames, int on, double ceiling)
{
    const int C = l->C, L = l->L;
    if (!(ceiling > 0.0) || !isfinite(ceiling)) ceiling = 1.0;
    if (ceiling != l->ceiling) rebuild(l, ceiling);
    for (int n = 0; n < frames; n++) {
        float *fr = x + (size_t)n * C;
        double peak = 0.0;
        for (int c = 0; c < C; c++) {
            double a = fabs((double)fr[c]);
            if (a > peak) peak = a;
        }
        l->peaks[l->t % l->W] = peak;
        queue_push(l, needed(peak, ceiling));
        l->t++;
        double mn = l->qv[l->qhead];
        l->msum += mn - l->m[l->mpos];
        l->m[l->mpos] = mn;
        if (++l->mpos == L) {
            /* exact sum once per L samples: no drift from rounding */
            double s = 0.0;
            for (int i = 0; i < L; i++) s += l->m[i];
            l->msum = s;
            l->mpos = 0;
        }
        double gain = l->msum / L;
        /* delay line: the slot at dpos holds the sample of L-1 frames ago */
        float *slot = l->delay + (size_t)l->dpos * C;
        for (int c = 0; c < C; c++) {
            float old = slot[c];
            slot[c] = fr[c];
            if (on) {
                double v = old * gain;
                if (v > ceiling) v = ceiling;
                if (v < -ceiling) v = -ceiling;
                fr[c] = (float)v;
            } else {
                fr[c] = old;
            }
        }
        if (++l->dpos == L - 1) l->dpos = 0;
    }
}
