/* social.c -- social-sparsity (PEW) declipper, streamed in blocks.
 * See social.h for the model and the streaming scheme. */
#include "social.h"
#include "threshold.h"
#include "smear.h"
#include "rail_watch.h"
#include "dc_restore.h"
#include "planner.h"

#include <fftw3.h>
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

/* One block's workspace: coefficients of every frame of the solve region. */
typedef struct {
    int span, nfr, xl;       /* samples solved, frames, synthesis buffers  */
    void *z, *u;             /* nfr * H complex: iterate, extrapolated point
                              * (float when so->single, else double)       */
    double *x, *x2;          /* xl each: synthesis D u / residual, next D u */
    double *acc;             /* xl: sum of the last iterations' D u (tail),
                              * then their mean with the final D z        */
    uint8_t *ynz;            /* nfr: observation nonzero under the frame    */
    uint8_t *unz;            /* nfr: u of the frame nonzero                 */
} workspace;

typedef struct {
    double *hist;            /* span samples: [block start - margin, ...)  */
    int8_t *mask;            /* span                                        */
    double *sol;             /* span: solution of the last block            */
    double *fifo;
    int fifo_rd, fifo_count;
    double pos, neg, fixed_pos, fixed_neg;
    clip_estimator est;
    smear_estimator sm;      /* codec-smeared rails (auto_threshold only)    */
    rail_watch rw;           /* a new track's rail (rail_watch.h)            */
    dc_restore dc;           /* an Opus encoder's DC reject undone (off: a = 0) */
    int method[2];           /* RTD_RAIL_* of the levels in use              */
    double width[2];         /* dB from the estimated rail to the level used */
} schannel;

struct social_state {
    rtd_config cfg;
    int w, a, M, H, B, O, span, iters, levels, npasses;
    double tail;             /* social_tail: fraction of the iterations averaged */
    double tail_weight;      /* social_tail_weight: the tail mean's weight   */
    double weight2;          /* the second solve's weight in the output      */
    int nf[2], nt[2];           /* PEW neighbourhood of each pass */
    double lam_max, lam_min;
    int fill, latency, fifo_cap;
    int codec;               /* RTD_CODEC_* (rtd_set_codec)                  */
    double sample_rate;      /* Hz, 0: unknown (rtd_set_sample_rate)         */
    double *g;               /* tight window, w                              */
    double *fin, *fout;      /* M each; fin keeps a zero tail                */
    fftw_complex *cbuf, *tmpc; /* H                                          */
    double *tmpe;            /* H                                            */
    fftw_complex *vring;     /* ring * H: gradient points of the neighbourhood */
    double *ering;           /* ring * H: their frequency-summed energies    */
    int ring;                /* frames in the rings: the largest nt          */
    uint8_t *dead;           /* ring: that slot's frame is dead (solve_one)  */
    double *erun;            /* H: running energy sum over the ring (solve_one) */
    fftw_plan fwd, inv;
    int single;              /* precision RTD_SINGLE: fftwf transforms       */
    float *finf, *foutf;     /* M each (single)                              */
    fftwf_complex *cbuff;    /* H (single)                                   */
    fftwf_plan fwdf, invf;
    workspace ws;
    schannel *ch;
    int64_t *sm_scratch;     /* RTD_SM_BINS + 1: cumulative histogram (smear.h) */
    rtd_stats stats;
};

/* ---------------------------------------------------------------- solver */

static void ws_free(workspace *ws)
{
    fftw_free(ws->z);
    fftw_free(ws->u);
    fftw_free(ws->x);
    fftw_free(ws->x2);
    fftw_free(ws->acc);
    free(ws->ynz);
    free(ws->unz);
    memset(ws, 0, sizeof *ws);
}

static int ws_alloc(const social_state *so, workspace *ws, int span)
{
    memset(ws, 0, sizeof *ws);
    const int a = so->a, w = so->w;
    ws->span = span;
    /* frames start at m*a - (w - a): every sample of [0, span) lies under
     * w / a frames */
    ws->nfr = (span - 1 + w - a) / a + 1;
    ws->xl = (ws->nfr - 1) * a + w;
    size_t nc = (size_t)ws->nfr * so->H;
    size_t cb = 2 * nc * (so->single ? sizeof(float) : sizeof(double));
    ws->z = fftw_malloc(cb);
    ws->u = fftw_malloc(cb);
    ws->x = fftw_alloc_real(ws->xl);
    ws->x2 = fftw_alloc_real(ws->xl);
    ws->acc = so->tail > 0.0 ? fftw_alloc_real(ws->xl) : NULL;
    ws->ynz = malloc(ws->nfr);
    ws->unz = malloc(3 * (size_t)ws->nfr);
    if (!ws->z || !ws->u || !ws->x || !ws->x2 || !ws->ynz || !ws->unz
        || (so->tail > 0.0 && !ws->acc)) {
        ws_free(ws);
        return RTD_ERR_NOMEM;
    }
    return RTD_OK;
}

/* X[frame m] += D_m cbuf (cbuf is destroyed).  Single precision: the
 * transforms in fftwf, everything else (iterates, sums, buffers) double */
static void inverse_add(social_state *so, double *X, int m)
{
    const int w = so->w;
    const double sc = 1.0 / sqrt((double)so->M);
    double *xm = X + (size_t)m * so->a;
    if (so->single) {
        for (int k = 0; k < so->H; k++) {
            so->cbuff[k][0] = (float)so->cbuf[k][0];
            so->cbuff[k][1] = (float)so->cbuf[k][1];
        }
        fftwf_execute_dft_c2r(so->invf, so->cbuff, so->foutf);
        for (int i = 0; i < w; i++)
            xm[i] += sc * so->g[i] * (double)so->foutf[i];
        return;
    }
    fftw_execute_dft_c2r(so->inv, so->cbuf, so->fout);
    for (int i = 0; i < w; i++)
        xm[i] += sc * so->g[i] * so->fout[i];
}

/* (unscaled) analysis of frame m of X into cbuf; zero: the frame is known
 * to be silent, its FFT is skipped */
static void analyse_frame(social_state *so, const double *X, int m, int zero)
{
    if (zero) {
        memset(so->cbuf, 0, sizeof(fftw_complex) * so->H);
        return;
    }
    const double *xm = X + (size_t)m * so->a;
    if (so->single) {
        for (int i = 0; i < so->w; i++)
            so->finf[i] = (float)(so->g[i] * xm[i]);
        fftwf_execute_dft_r2c(so->fwdf, so->finf, so->cbuff);
        for (int k = 0; k < so->H; k++) {
            so->cbuf[k][0] = so->cbuff[k][0];
            so->cbuf[k][1] = so->cbuff[k][1];
        }
        return;
    }
    for (int i = 0; i < so->w; i++)
        so->fin[i] = so->g[i] * xm[i];
    fftw_execute_dft_r2c(so->fwd, so->fin, so->cbuf);
}

/* the solver's loops (box_sum, social_solve.h) also in an AVX2 clone,
 * chosen at load time where the processor has it (as spade.c's kernels) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SOC_TARGET __attribute__((target_clones("avx2", "default")))
#else
#define SOC_TARGET
#endif
static inline uint64_t dbits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* e[k] = sum of t over bins k - hf .. k + hf (zero beyond the ends), and
 * acc[k] += e[k]: direct sums (vectorised, no running-sum rounding drift
 * along the spectrum), one pass for the usual 3 and 5 bins */
SOC_TARGET static void box_sum(const double *t, double *e, double *acc, int H, int hf)
{
    if (H <= 2 * hf + 1) {
        for (int k = 0; k < H; k++) {
            double s = 0.0;
            for (int j = k - hf; j <= k + hf; j++)
                if (j >= 0 && j < H) s += t[j];
            e[k] = s;
            acc[k] += s;
        }
        return;
    }
    if (hf == 1) {
        for (int k = 1; k < H - 1; k++) {
            double s = t[k - 1] + t[k] + t[k + 1];
            e[k] = s;
            acc[k] += s;
        }
    } else if (hf == 2) {
        for (int k = 2; k < H - 2; k++) {
            double s = t[k - 2] + t[k - 1] + t[k] + t[k + 1] + t[k + 2];
            e[k] = s;
            acc[k] += s;
        }
    } else {
        for (int k = hf; k < H - hf; k++) e[k] = t[k - hf];
        for (int j = 1; j < 2 * hf + 1; j++) {
            const double *tj = t + j - hf;
            for (int k = hf; k < H - hf; k++) e[k] += tj[k];
        }
        for (int k = hf; k < H - hf; k++) acc[k] += e[k];
    }
    for (int k = 0; k < hf; k++) {
        double s0 = 0.0, s1 = 0.0;
        for (int j = 0; j <= k + hf; j++) s0 += t[j];
        for (int j = H - 1 - k - hf; j < H; j++) s1 += t[j];
        e[k] = s0;
        e[H - 1 - k] = s1;
        acc[k] += s0;
        acc[H - 1 - k] += s1;
    }
}

#define SOC_COEF double
#define SOC_SOLVE solve_one_d
#include "social_solve.h"
#define SOC_COEF float
#define SOC_SOLVE solve_one_f
#include "social_solve.h"

/* returns 1 when ws->acc holds the tail's mean (social_tail) */
static int solve_one(social_state *so, workspace *ws, const double *y, const int8_t *mask,
                     int nf, int nt)
{
    return so->single ? solve_one_f(so, ws, y, mask, nf, nt)
                      : solve_one_d(so, ws, y, mask, nf, nt);
}

/* Solves one region: the mean of the solutions with each neighbourhood
 * (PEW with a different neighbourhood converges to a different consistent
 * signal; their errors are partly independent, so the mean is nearer the
 * truth than either: measured on SQAM, docs/highquality.md). */
static void solve(social_state *so, workspace *ws, const double *y, const int8_t *mask,
                  double *out)
{
    const int off = so->w - so->a, span = ws->span;
    const double ta = so->tail_weight;
    for (int p = 0; p < so->npasses; p++) {
        const int tail = solve_one(so, ws, y, mask, so->nf[p], so->nt[p]);
        /* the last iterate D z, or the tail mean, or between the two (the
         * mean of the last iterate and the tail's: their errors are partly
         * independent, as the two solves', docs/highquality.md) */
        const double *x = ws->x + off, *t = tail ? ws->acc + off : x;
        const double wp = so->npasses == 1 ? 1.0 : p ? so->weight2 : 1.0 - so->weight2;
        for (int i = 0; i < span; i++) {
            double v = ta == 1.0 ? t[i] : x[i] + ta * (t[i] - x[i]);
            out[i] = p ? out[i] + wp * v : wp * v;
        }
    }
}

/* -------------------------------------------------------------- streaming */

static int make_frame(social_state *so, unsigned flags)
{
    const int w = so->w, a = so->a;
    so->g = fftw_alloc_real(w);
    so->fin = fftw_alloc_real(so->M);
    so->fout = fftw_alloc_real(so->M);
    so->cbuf = fftw_alloc_complex(so->H);
    so->tmpc = fftw_alloc_complex(so->H);
    so->tmpe = fftw_alloc_real(so->H);
    if (!so->g || !so->fin || !so->fout || !so->cbuf || !so->tmpc || !so->tmpe)
        return RTD_ERR_NOMEM;
    /* periodic Hann scaled so that sum_m g^2(n - m a) = 1: a tight frame */
    for (int i = 0; i < w; i++)
        so->g[i] = 0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * i / w);
    for (int i = 0; i < a; i++) {
        double s = 0.0;
        for (int j = i; j < w; j += a) s += so->g[j] * so->g[j];
        double n = 1.0 / sqrt(s);
        for (int j = i; j < w; j += a) so->g[j] *= n;
    }
    memset(so->fin, 0, sizeof(double) * so->M);
    rtd_planner_lock();
    so->fwd = fftw_plan_dft_r2c_1d(so->M, so->fin, so->tmpc, flags);
    so->inv = fftw_plan_dft_c2r_1d(so->M, so->tmpc, so->fout, flags);
    rtd_planner_unlock();
    memset(so->fin, 0, sizeof(double) * so->M); /* MEASURE may scribble */
    if (!so->fwd || !so->inv) return RTD_ERR_PLAN;
    if (so->single) {
        so->finf = fftwf_alloc_real(so->M);
        so->foutf = fftwf_alloc_real(so->M);
        so->cbuff = fftwf_alloc_complex(so->H);
        if (!so->finf || !so->foutf || !so->cbuff) return RTD_ERR_NOMEM;
        rtd_planner_lock();
        so->fwdf = fftwf_plan_dft_r2c_1d(so->M, so->finf, so->cbuff, flags);
        so->invf = fftwf_plan_dft_c2r_1d(so->M, so->cbuff, so->foutf, flags);
        rtd_planner_unlock();
        memset(so->finf, 0, sizeof(float) * so->M);
        if (!so->fwdf || !so->invf) return RTD_ERR_PLAN;
    }
    return RTD_OK;
}

void social_destroy(social_state *so)
{
    if (!so) return;
    if (so->ch) {
        for (int c = 0; c < so->cfg.channels; c++) {
            fftw_free(so->ch[c].hist);
            fftw_free(so->ch[c].mask);
            fftw_free(so->ch[c].sol);
            fftw_free(so->ch[c].fifo);
        }
        free(so->ch);
    }
    free(so->sm_scratch);
    ws_free(&so->ws);
    rtd_planner_lock();
    if (so->fwd) fftw_destroy_plan(so->fwd);
    if (so->inv) fftw_destroy_plan(so->inv);
    if (so->fwdf) fftwf_destroy_plan(so->fwdf);
    if (so->invf) fftwf_destroy_plan(so->invf);
    rtd_planner_unlock();
    fftw_free(so->g);
    fftw_free(so->fin);
    fftw_free(so->fout);
    fftwf_free(so->finf);
    fftwf_free(so->foutf);
    fftwf_free(so->cbuff);
    fftw_free(so->cbuf);
    fftw_free(so->tmpc);
    fftw_free(so->tmpe);
    fftw_free(so->vring);
    fftw_free(so->ering);
    free(so->dead);
    fftw_free(so->erun);
    free(so);
}

social_state *social_create(const rtd_config *cfg, int *error)
{
    int e = RTD_ERR_NOMEM;
    social_state *so = calloc(1, sizeof *so);
    if (!so) goto fail;
    so->cfg = *cfg;
    so->cfg.analysis_window = so->cfg.synthesis_window = NULL;
    so->w = cfg->window;
    so->a = cfg->hop;
    so->M = cfg->window * cfg->redundancy;
    so->H = so->M / 2 + 1;
    e = RTD_ERR_SOCIAL;
    so->B = cfg->social_block > 0 ? cfg->social_block : RTD_SOCIAL_BLOCK_WINDOWS * so->w;
    so->O = cfg->social_margin > 0 ? cfg->social_margin : RTD_SOCIAL_MARGIN_WINDOWS * so->w;
    if (so->B % so->a || so->O % so->a || so->B < so->w || so->B > (1 << 24) ||
        so->O > (1 << 24))
        goto fail;
    so->levels = cfg->social_levels > 0 ? cfg->social_levels : 1;
    so->tail = cfg->social_tail > 0.0 && cfg->social_tail < 1.0 ? cfg->social_tail : 0.0;
    so->tail_weight = cfg->social_tail_weight;
    if (so->tail > 0.0 && !(so->tail_weight > 0.0 && so->tail_weight <= 1.0)) goto fail;
    so->weight2 = cfg->social_weight2;
    so->iters = cfg->max_iterations > 0 ? cfg->max_iterations : RTD_SOCIAL_ITERATIONS;
    so->nf[0] = cfg->social_neigh_freq;
    so->nt[0] = cfg->social_neigh_time;
    so->nf[1] = cfg->social_neigh2_freq;
    so->nt[1] = cfg->social_neigh2_time;
    so->npasses = so->nf[1] || so->nt[1] ? 2 : 1;
    if (so->npasses > 1 && !(so->weight2 > 0.0 && so->weight2 < 1.0)) goto fail;
    for (int p = 0; p < so->npasses; p++)
        if (so->nf[p] < 1 || so->nt[p] < 1 || so->nt[p] > 127 || !(so->nf[p] & 1) ||
            !(so->nt[p] & 1))
            goto fail;
    so->lam_max = cfg->social_lambda_max;
    so->lam_min = cfg->social_lambda_min;
    if (!(so->lam_max > 0.0) || !(so->lam_min > 0.0) || !isfinite(so->lam_max) ||
        !isfinite(so->lam_min))
        goto fail;
    so->span = so->B + 2 * so->O;
    so->single = cfg->precision == RTD_SINGLE;
    e = make_frame(so, cfg->plan == RTD_PLAN_ESTIMATE ? FFTW_ESTIMATE : FFTW_MEASURE);
    if (e) goto fail;
    e = RTD_ERR_NOMEM;
    so->ring = so->nt[0];
    if (so->npasses > 1 && so->nt[1] > so->ring) so->ring = so->nt[1];
    so->vring = fftw_alloc_complex((size_t)so->ring * so->H);
    so->ering = fftw_alloc_real((size_t)so->ring * so->H);
    so->dead = malloc(so->ring);
    so->erun = fftw_alloc_real(so->H);
    if (!so->vring || !so->ering || !so->dead || !so->erun) goto fail;
    e = ws_alloc(so, &so->ws, so->span);
    if (e) goto fail;
    e = RTD_ERR_NOMEM;
    so->latency = so->B + so->O - 1;
    so->fifo_cap = so->latency + so->B + 1;
    so->ch = calloc(cfg->channels, sizeof *so->ch);
    so->sm_scratch = malloc(sizeof(int64_t) * (RTD_SM_BINS + 1));
    if (!so->ch || !so->sm_scratch) goto fail;
    for (int c = 0; c < cfg->channels; c++) {
        schannel *ch = &so->ch[c];
        ch->hist = fftw_alloc_real(so->span);
        ch->mask = fftw_malloc(so->span);
        ch->sol = fftw_alloc_real(so->span);
        ch->fifo = fftw_alloc_real(so->fifo_cap);
        if (!ch->hist || !ch->mask || !ch->sol || !ch->fifo) goto fail;
        ch->fixed_pos = HUGE_VAL;
        ch->fixed_neg = -HUGE_VAL;
    }
    social_reset(so);
    if (error) *error = RTD_OK;
    return so;
fail:
    social_destroy(so);
    if (error) *error = e;
    return NULL;
}

void social_reset(social_state *so)
{
    for (int c = 0; c < so->cfg.channels; c++) {
        schannel *ch = &so->ch[c];
        memset(ch->hist, 0, sizeof(double) * so->span);
        memset(ch->fifo, 0, sizeof(double) * so->fifo_cap);
        ch->fifo_rd = 0;
        /* sample j leaves at time j + latency: the first block is complete
         * after B + O samples, before which latency - ... zeros are owed */
        ch->fifo_count = so->latency;
        clip_estimator_reset(&ch->est);
        smear_reset(&ch->sm);
        rail_watch_reset(&ch->rw);
        dc_restore_reset(&ch->dc);
        smear_set_rate(&ch->sm, so->sample_rate);
        smear_set_rate(&ch->rw.sm, so->sample_rate);
        ch->method[0] = ch->method[1] = RTD_RAIL_NONE;
        ch->width[0] = ch->width[1] = 0.0;
        ch->pos = so->cfg.auto_threshold ? HUGE_VAL : ch->fixed_pos;
        ch->neg = so->cfg.auto_threshold ? -HUGE_VAL : ch->fixed_neg;
    }
    /* the stream is preceded by `margin` samples of silence */
    so->fill = so->O;
    memset(&so->stats, 0, sizeof so->stats);
}

/* Levels in use with auto_threshold, as the SPADE stream's (stream.c):
 * exact or codec-smeared rails (smear_choose), and a channel with no rail
 * at all takes another channel's codec-smeared one (smear_adopt), and a hump
 * another channel's exact rail contradicts is dropped (smear_veto_false_humps). */
static void auto_levels(social_state *so)
{
    for (int c = 0; c < so->cfg.channels; c++) {
        schannel *ch = &so->ch[c];
        double lv[2];
        clip_estimator_levels(&ch->est, &lv[0], &lv[1]);
        smear_choose(&ch->sm, ch->est.hits, RTD_MIN_HITS, lv, ch->method, ch->width);
        ch->pos = lv[0];
        ch->neg = lv[1];
    }
    for (int c = 0; c < so->cfg.channels; c++) {
        schannel *ch = &so->ch[c];
        smear_adopt_across(&so->ch[0].sm, sizeof(schannel), so->cfg.channels, c,
                           &ch->pos, &ch->neg, ch->method, ch->width);
    }
    smear_veto_false_humps(so->cfg.channels, sizeof(schannel), &so->ch[0].pos, &so->ch[0].neg,
                           so->ch[0].method, so->ch[0].width);
    for (int c = 0; c < so->cfg.channels; c++) {
        schannel *ch = &so->ch[c];
        smear_codec_family(&ch->sm, so->codec, &ch->pos, &ch->neg, ch->method, ch->width);
        rail_watch_levels(&ch->rw, ch->pos, ch->neg, ch->width, ch->method, &ch->sm);
    }
}

/* A complete block: solve every channel (if its core is clipped), push the
 * core to the FIFO, keep the last 2 * margin samples. */
static void run_block(social_state *so)
{
    const int B = so->B, O = so->O, span = so->span;
    if (so->cfg.auto_threshold) auto_levels(so);
    for (int c = 0; c < so->cfg.channels; c++) {
        schannel *ch = &so->ch[c];
        int ncore = 0;
        for (int i = 0; i < span; i++) {
            double y = ch->hist[i];
            int8_t m = y >= ch->pos ? 1 : y <= ch->neg ? -1 : 0;
            ch->mask[i] = m;
            if (i >= O && i < O + B) ncore += m != 0;
        }
        so->stats.clipped_samples += ncore;
        const double *sol = ch->hist;
        if (ncore > 0 && so->iters > 0) {
            solve(so, &so->ws, ch->hist, ch->mask, ch->sol);
            int finite = 1;
            for (int i = O; i < O + B; i++) finite &= isfinite(ch->sol[i]) != 0;
            if (finite) sol = ch->sol;
            so->stats.frames_solved++;
            so->stats.iterations += so->iters * so->npasses;
            if (so->iters > so->stats.max_frame_iterations)
                so->stats.max_frame_iterations = so->iters;
        } else {
            so->stats.frames_skipped++;
        }
        int wr = (ch->fifo_rd + ch->fifo_count) % so->fifo_cap;
        for (int i = O; i < O + B; i++) {
            double y = ch->hist[i], v = sol[i];
            int8_t m = ch->mask[i];
            ch->fifo[wr] = m == 0 ? y : m > 0 ? (v > y ? v : y) : (v < y ? v : y);
            if (++wr == so->fifo_cap) wr = 0;
        }
        ch->fifo_count += B;
        memmove(ch->hist, ch->hist + B, sizeof(double) * 2 * O);
    }
    so->fill = 2 * O;
}

void social_process(social_state *so, const void *in, void *out, int frames, int is_float)
{
    const int C = so->cfg.channels;
    int done = 0;
    while (done < frames) {
        int n = so->span - so->fill;
        if (n > frames - done) n = frames - done;
        for (int c = 0; c < C; c++) {
            schannel *ch = &so->ch[c];
            double *dst = ch->hist + so->fill;
            for (int i = 0; i < n; i++) {
                size_t idx = (size_t)(done + i) * C + c;
                double y = is_float ? (double)((const float *)in)[idx] : ((const double *)in)[idx];
                if (!isfinite(y)) {
                    y = 0.0;
                    so->stats.nonfinite_samples++;
                } else {
                    /* before anything reads the rails, as stream.c does */
                    y = dc_restore_push(&ch->dc, y);
                    if (so->cfg.auto_threshold) {
                        clip_estimator_push(&ch->est, y);
                        smear_push(&ch->sm, y, so->sm_scratch);
                        rail_watch_push(&ch->rw, &ch->est, &ch->sm, y, so->sm_scratch);
                    }
                }
                dst[i] = y;
            }
        }
        if (so->cfg.auto_threshold)
            rail_watch_together((char *)&so->ch[0].rw, sizeof(schannel), C,
                                offsetof(schannel, est) - offsetof(schannel, rw),
                                offsetof(schannel, sm) - offsetof(schannel, rw));
        so->fill += n;
        if (so->fill == so->span) run_block(so);
        for (int c = 0; c < C; c++) {
            schannel *ch = &so->ch[c];
            for (int i = 0; i < n; i++) {
                size_t idx = (size_t)(done + i) * C + c;
                double v = dc_restore_out(&ch->dc, ch->fifo[ch->fifo_rd]);
                if (++ch->fifo_rd == so->fifo_cap) ch->fifo_rd = 0;
                if (is_float)
                    ((float *)out)[idx] = (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
                else
                    ((double *)out)[idx] = v;
            }
            ch->fifo_count -= n;
        }
        done += n;
    }
    so->stats.samples_in += frames;
}

int social_latency(const social_state *so) { return so->latency; }

void social_set_thresholds(social_state *so, int c, double pos, double neg)
{
    if (c < 0 || c >= so->cfg.channels) return;
    so->ch[c].fixed_pos = so->ch[c].pos = pos;
    so->ch[c].fixed_neg = so->ch[c].neg = neg;
}

void social_get_thresholds(const social_state *so, int c, double *pos, double *neg)
{
    if (c < 0 || c >= so->cfg.channels) return;
    *pos = so->ch[c].pos;
    *neg = so->ch[c].neg;
}

void social_get_detection(const social_state *so, int c, int *method_pos, int *method_neg,
                          double *width_pos, double *width_neg)
{
    if (c < 0 || c >= so->cfg.channels) return;
    *method_pos = so->ch[c].method[0];
    *method_neg = so->ch[c].method[1];
    *width_pos = so->ch[c].width[0];
    *width_neg = so->ch[c].width[1];
}

void social_get_stats(const social_state *so, rtd_stats *s)
{
    *s = so->stats;
    for (int c = 0; c < so->cfg.channels; c++) s->rail_switches += so->ch[c].rw.switches;
}
void social_set_codec(social_state *so, int family) { so->codec = family; }

void social_set_dc_restore(social_state *so, double a, double pole)
{
    for (int c = 0; c < so->cfg.channels; c++) dc_restore_set(&so->ch[c].dc, a, pole);
}

int social_dc_restore_tripped(const social_state *so)
{
    int n = 0;
    for (int c = 0; c < so->cfg.channels; c++) n += so->ch[c].dc.tripped;
    return n;
}

void social_set_sample_rate(social_state *so, double rate)
{
    so->sample_rate = rate;
    for (int c = 0; c < so->cfg.channels; c++) {
        smear_set_rate(&so->ch[c].sm, rate);
        smear_set_rate(&so->ch[c].rw.sm, rate);
    }
}
void social_set_max_iterations(social_state *so, int n) { so->iters = n < 0 ? 0 : n; }
int social_get_max_iterations(const social_state *so) { return so->iters; }

int social_declip_block(social_state *so, const double *y, const int8_t *mask, int n, double *x)
{
    workspace ws;
    if (n < 1 || ws_alloc(so, &ws, n)) return RTD_ERR_NOMEM;
    int iters = so->iters;
    if (iters > 0) solve(so, &ws, y, mask, x);
    else memcpy(x, y, sizeof(double) * n);
    ws_free(&ws);
    return iters;
}
