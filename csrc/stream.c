/* stream.c -- the block processor: ring buffers, frames, overlap-add.
 *
 * Data flow per channel:  input block -> frame buffer (last `window`
 * samples) -> [every hop] classify clipped samples -> analysis window ->
 * SPADE -> synthesis window -> overlap-add accumulator -> finished samples
 * -> output FIFO -> output block.  The FIFO starts with `latency` zeros,
 * which is what makes the delay constant for any block size. */
#include "rtdeclip.h"
#include "spade.h"
#include "threshold.h"
#include "smear.h"
#include "planner.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RTD_POOL_MAX 16 /* largest budget_pool factor                       */
#define RTD_POOL_CAP 8  /* a channel's credit is at most this many budgets  */

typedef struct {
    double *frame;    /* last `window` input samples, oldest first        */
    double *acc;      /* overlap-add accumulator, aligned with `frame`    */
    double *prev;     /* previous frame's solution (windowed), warm start */
    int prev_valid;
    double *fifo;     /* finished output samples                          */
    int fifo_rd, fifo_count;
    double pos, neg;  /* clip levels in use                               */
    double fixed_pos, fixed_neg;
    /* codec-smeared rails (rtd_set_smear): clipped samples bounded by the
     * level instead of their observed value, reliable ones within +-relax */
    int band, fixed_band;
    double relax, fixed_relax;
    clip_estimator est;
    smear_estimator sm;   /* codec-smeared rails (auto_threshold only)       */
    int method[2];        /* RTD_RAIL_* of the levels in use                 */
    double width[2];      /* dB from the estimated rail to the level in use  */
    long long credit; /* budget pool: iterations earlier frames left unused */
} channel;

struct rtd_state {
    rtd_config cfg;
    int w, a, latency, first; /* first: index of first non-zero synthesis weight */
    int fifo_cap, fill;       /* fill: samples into the current hop          */
    double *ana, *syn, *anasyn;
    double *yw, *x0, *xout;   /* frame scratch                               */
    int8_t *mask;
    int64_t *sm_scratch;      /* cumulative histogram, smear.h               */
    spade_solver sp;
    channel *ch;
    rtd_stats stats;
    double time_limit;        /* seconds per process call, 0 = none         */
    double call_deadline;     /* CLOCK_MONOTONIC end of this call, 0 = none */
    double frame_seconds;     /* running estimate of one frame's solve time  */
};

void rtd_config_default(rtd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->channels = 1;
    cfg->window = 8192;
    cfg->hop = 2048;
    cfg->redundancy = 2;
    cfg->algorithm = RTD_ASPADE;
    cfg->s = 1;
    cfg->r = 2;
    cfg->epsilon = 0.1;
    cfg->plan = RTD_PLAN_MEASURE;
}

const char *rtd_strerror(int e)
{
    switch (e) {
    case RTD_OK: return "no error";
    case RTD_ERR_CHANNELS: return "channels must be between 1 and 1024";
    case RTD_ERR_WINDOW: return "window must be a power of two from 16 to 65536";
    case RTD_ERR_HOP: return "hop must divide the window, between window/8 and window/2";
    case RTD_ERR_REDUNDANCY: return "redundancy must be 1, 2 or 4";
    case RTD_ERR_ALGORITHM: return "unknown algorithm";
    case RTD_ERR_SCHEDULE: return "s and r must be >= 1";
    case RTD_ERR_EPSILON: return "epsilon must be finite and >= 0";
    case RTD_ERR_WINDOW_SHAPE:
        return "windows must be finite and overlap-add to one (sum of analysis*synthesis over hops)";
    case RTD_ERR_NOMEM: return "out of memory";
    case RTD_ERR_PLAN: return "FFTW could not make a plan";
    case RTD_ERR_ITERATIONS: return "max_iterations must be >= 0";
    case RTD_ERR_POOL: return "budget_pool must be between 0 and 16";
    default: return "unknown error";
    }
}

static int validate(const rtd_config *c)
{
    if (c->channels < 1 || c->channels > 1024) return RTD_ERR_CHANNELS;
    if (c->window < 16 || c->window > 65536 || (c->window & (c->window - 1)))
        return RTD_ERR_WINDOW;
    if (c->hop < 1 || c->window % c->hop || c->hop * 8 < c->window || c->hop * 2 > c->window)
        return RTD_ERR_HOP;
    if (c->redundancy != 1 && c->redundancy != 2 && c->redundancy != 4) return RTD_ERR_REDUNDANCY;
    if (c->algorithm < RTD_ASPADE || c->algorithm > RTD_SSPADE_ORIGINAL) return RTD_ERR_ALGORITHM;
    if (c->s < 1 || c->r < 1) return RTD_ERR_SCHEDULE;
    if (!(c->epsilon >= 0.0) || !isfinite(c->epsilon)) return RTD_ERR_EPSILON;
    if (c->max_iterations < 0) return RTD_ERR_ITERATIONS;
    if (c->budget_pool < 0 || c->budget_pool > RTD_POOL_MAX) return RTD_ERR_POOL;
    return RTD_OK;
}

/* Periodic Hann with peak 1 (ltfat's 'hann' under the survey's
 * peak-normalisation), and its canonical dual for hop a: the dual divides by
 * the sum of squares of the window over all frames covering a sample. */
static int make_windows(rtd_state *st)
{
    const int w = st->w, a = st->a;
    for (int i = 0; i < w; i++) {
        st->ana[i] = st->cfg.analysis_window ? st->cfg.analysis_window[i]
                                             : 0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * i / w);
        if (!isfinite(st->ana[i])) return RTD_ERR_WINDOW_SHAPE;
    }
    if (st->cfg.synthesis_window) {
        for (int i = 0; i < w; i++) {
            st->syn[i] = st->cfg.synthesis_window[i];
            if (!isfinite(st->syn[i])) return RTD_ERR_WINDOW_SHAPE;
        }
    } else {
        for (int i = 0; i < a; i++) {
            double sum = 0.0;
            for (int j = i; j < w; j += a)
                sum += st->ana[j] * st->ana[j];
            if (!(sum > 0.0)) return RTD_ERR_WINDOW_SHAPE;
            for (int j = i; j < w; j += a)
                st->syn[j] = st->ana[j] / sum;
        }
    }
    /* perfect reconstruction of untouched frames */
    for (int i = 0; i < a; i++) {
        double sum = 0.0;
        for (int j = i; j < w; j += a)
            sum += st->ana[j] * st->syn[j];
        if (fabs(sum - 1.0) > 1e-9) return RTD_ERR_WINDOW_SHAPE;
    }
    for (int i = 0; i < w; i++)
        st->anasyn[i] = st->ana[i] * st->syn[i];
    st->first = 0;
    while (st->first < w - 1 && st->syn[st->first] == 0.0)
        st->first++;
    /* a sample is final once no later frame weighs it; see header */
    st->latency = w - 1 - st->first;
    return RTD_OK;
}

void rtd_destroy(rtd_state *st)
{
    if (!st) return;
    if (st->ch) {
        for (int c = 0; c < st->cfg.channels; c++) {
            fftw_free(st->ch[c].frame);
            fftw_free(st->ch[c].acc);
            fftw_free(st->ch[c].prev);
            fftw_free(st->ch[c].fifo);
        }
        free(st->ch);
    }
    fftw_free(st->ana);
    fftw_free(st->syn);
    fftw_free(st->anasyn);
    fftw_free(st->yw);
    fftw_free(st->x0);
    fftw_free(st->xout);
    fftw_free(st->mask);
    free(st->sm_scratch);
    rtd_planner_lock();
    spade_free(&st->sp);
    rtd_planner_unlock();
    free(st);
}

rtd_state *rtd_create(const rtd_config *cfg, int *error)
{
    int e = validate(cfg);
    rtd_state *st = NULL;
    if (e) goto fail;
    e = RTD_ERR_NOMEM;
    st = calloc(1, sizeof *st);
    if (!st) goto fail;
    st->cfg = *cfg;
    st->cfg.analysis_window = st->cfg.synthesis_window = NULL; /* not kept */
    st->w = cfg->window;
    st->a = cfg->hop;
    const int w = st->w, C = cfg->channels;
    st->ana = fftw_alloc_real(w);
    st->syn = fftw_alloc_real(w);
    st->anasyn = fftw_alloc_real(w);
    st->yw = fftw_alloc_real(w);
    st->x0 = fftw_alloc_real(w);
    st->xout = fftw_alloc_real(w);
    st->mask = fftw_malloc(w);
    st->ch = calloc(C, sizeof *st->ch);
    st->sm_scratch = malloc(sizeof(int64_t) * (RTD_SM_BINS + 1));
    if (!st->sm_scratch ||!st->ana || !st->syn || !st->anasyn || !st->yw || !st->x0 || !st->xout || !st->mask ||
        !st->ch)
        goto fail;
    st->cfg.analysis_window = cfg->analysis_window;
    st->cfg.synthesis_window = cfg->synthesis_window;
    e = make_windows(st);
    st->cfg.analysis_window = st->cfg.synthesis_window = NULL;
    if (e) goto fail;
    st->fifo_cap = st->latency + st->a + 1;
    e = RTD_ERR_NOMEM;
    for (int c = 0; c < C; c++) {
        channel *ch = &st->ch[c];
        ch->frame = fftw_alloc_real(w);
        ch->acc = fftw_alloc_real(w);
        ch->prev = fftw_alloc_real(w);
        ch->fifo = fftw_alloc_real(st->fifo_cap);
        if (!ch->frame || !ch->acc || !ch->prev || !ch->fifo) goto fail;
        ch->fixed_pos = HUGE_VAL;
        ch->fixed_neg = -HUGE_VAL;
    }
    rtd_planner_lock();
    e = spade_init(&st->sp, w, cfg->redundancy,
                   cfg->plan == RTD_PLAN_ESTIMATE ? FFTW_ESTIMATE : FFTW_MEASURE);
    rtd_planner_unlock();
    if (e) goto fail;
    st->sp.algorithm = cfg->algorithm;
    st->sp.s = cfg->s;
    st->sp.r = cfg->r;
    st->sp.epsilon = cfg->epsilon;
    st->sp.return_last = cfg->return_last;
    st->sp.max_iter = cfg->max_iterations > 0
                          ? cfg->max_iterations
                          : (int)ceil((double)(w * cfg->redundancy / 2 + 1) * cfg->r / cfg->s);
    rtd_reset(st);
    if (error) *error = RTD_OK;
    return st;
fail:
    rtd_destroy(st);
    if (error) *error = e;
    return NULL;
}

void rtd_reset(rtd_state *st)
{
    const int w = st->w;
    for (int c = 0; c < st->cfg.channels; c++) {
        channel *ch = &st->ch[c];
        memset(ch->frame, 0, sizeof(double) * w);
        memset(ch->acc, 0, sizeof(double) * w);
        memset(ch->prev, 0, sizeof(double) * w);
        memset(ch->fifo, 0, sizeof(double) * st->fifo_cap);
        ch->prev_valid = 0;
        ch->credit = 0;
        ch->fifo_rd = 0;
        /* The FIFO is primed so that sample j leaves at time j + latency:
         * the first frame pushes its samples of the silent prehistory too,
         * so a - 1 zeros are all that is missing. */
        ch->fifo_count = st->a - 1;
        clip_estimator_reset(&ch->est);
        smear_reset(&ch->sm);
        ch->method[0] = ch->method[1] = RTD_RAIL_NONE;
        ch->width[0] = ch->width[1] = 0.0;
        ch->pos = st->cfg.auto_threshold ? HUGE_VAL : ch->fixed_pos;
        ch->neg = st->cfg.auto_threshold ? -HUGE_VAL : ch->fixed_neg;
        ch->band = st->cfg.auto_threshold ? 0 : ch->fixed_band;
        ch->relax = st->cfg.auto_threshold ? 0.0 : ch->fixed_relax;
    }
    /* The stream is preceded by window - hop samples of silence, so the
     * first frame completes after one hop and every sample lies under the
     * same number of frames. */
    st->fill = 0;
    memset(&st->stats, 0, sizeof st->stats);
}

/* Warm start: the previous frame's solution, un-windowed where its window
 * is large enough to divide by safely, re-windowed for this frame. */
static const double *warm_start(rtd_state *st, channel *ch)
{
    if (!st->cfg.warm_start || !ch->prev_valid) return NULL;
    const int w = st->w, a = st->a;
    for (int i = 0; i < w; i++) {
        int j = i + a;
        st->x0[i] = (j < w && st->ana[j] > 0.25) ? st->ana[i] * ch->prev[j] / st->ana[j] : st->yw[i];
    }
    return st->x0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Deadline of channel c's frame within this call.  The channels after it
 * are reserved what a frame has been taking (with 50 % slack), not an equal
 * share of the time left: a stall while one channel is solved (the thread
 * descheduled for a few ms) then eats into the slack of the whole call
 * instead of cutting that channel at a fraction of it.  Before any frame
 * was timed the time left is shared equally. */
static double channel_deadline(const rtd_state *st, int c, double now)
{
    if (st->call_deadline <= 0.0) return 0.0;
    int after = st->cfg.channels - 1 - c;
    double fair = now + (st->call_deadline - now) / (after + 1);
    if (st->frame_seconds <= 0.0) return fair;
    double reserved = st->call_deadline - 1.5 * after * st->frame_seconds;
    return reserved > fair ? reserved : fair;
}

/* Budget pool (cfg.budget_pool): what a frame may run, given the channel's
 * credit, and the credit after it ran `it` iterations (0 for a skipped
 * frame).  Integer arithmetic on per-frame counts only: the same frames give
 * the same iterations whatever the block sizes.  Cap and floor are applied
 * against the budget in force, which the live host may lower. */
static int pool_allowance(const rtd_state *st, const channel *ch, int budget)
{
    if (st->cfg.budget_pool < 2) return budget;
    long long extra = (long long)(st->cfg.budget_pool - 1) * budget;
    if (extra > ch->credit) extra = ch->credit;
    long long allow = budget + extra;
    return allow > 0x7fffffff ? 0x7fffffff : (int)allow;
}

static void pool_settle(rtd_state *st, channel *ch, int budget, int it, int cut)
{
    if (st->cfg.budget_pool < 2) return;
    if (it > budget) {
        ch->credit -= it - budget;
        st->stats.pooled_iterations += it - budget;
    } else if (!cut) {
        /* skipped (it = 0) or reached epsilon within the budget */
        ch->credit += budget - it;
    }
    long long cap = (long long)RTD_POOL_CAP * budget;
    if (ch->credit > cap) ch->credit = cap;
    if (ch->credit < 0) ch->credit = 0;
}

/* The consistent set of a smeared channel, windowed, into the solver's box:
 * a clipped sample only has to stay beyond the level (the band's bottom:
 * after a codec its observed value may lie below or above its true one), a
 * reliable one within +-relax of its observed value. */
static void smeared_box(rtd_state *st, const channel *ch)
{
    double *lo = st->sp.lo, *hi = st->sp.hi;
    for (int i = 0; i < st->w; i++) {
        double a = st->ana[i], y = ch->frame[i];
        int8_t m = st->mask[i];
        if (m > 0) {
            lo[i] = (ch->band ? ch->pos : y) * a;
            hi[i] = HUGE_VAL;
        } else if (m < 0) {
            lo[i] = -HUGE_VAL;
            hi[i] = (ch->band ? ch->neg : y) * a;
        } else {
            lo[i] = (y - ch->relax) * a;
            hi[i] = (y + ch->relax) * a;
        }
    }
}

/* One complete hop: solve the frame of every channel, overlap-add, and move
 * the samples no later frame touches into the FIFO. */
static void run_frame(rtd_state *st)
{
    const int w = st->w, a = st->a, first = st->first;
    const int budget = st->sp.max_iter;
    for (int c = 0; c < st->cfg.channels; c++) {
        channel *ch = &st->ch[c];
        int nclip = 0;
        for (int i = 0; i < w; i++) {
            double y = ch->frame[i];
            int8_t m = y >= ch->pos ? 1 : y <= ch->neg ? -1 : 0;
            st->mask[i] = m;
            nclip += m != 0;
        }
        /* samples entering this hop are counted once */
        for (int i = w - a; i < w; i++)
            st->stats.clipped_samples += st->mask[i] != 0;
        if (nclip == 0 || st->sp.max_iter == 0) {
            /* nothing to solve: the frame overlap-adds back to the input */
            for (int i = 0; i < w; i++)
                ch->acc[i] += st->anasyn[i] * ch->frame[i];
            st->stats.frames_skipped++;
            ch->prev_valid = 0;
            if (budget > 0) pool_settle(st, ch, budget, 0, 0);
        } else {
            for (int i = 0; i < w; i++)
                st->yw[i] = ch->frame[i] * st->ana[i];
            const double *x0 = warm_start(st, ch);
            const int boxed = ch->band || ch->relax > 0.0;
            if (boxed) smeared_box(st, ch);
            double t0 = st->call_deadline > 0.0 ? now_seconds() : 0.0;
            st->sp.deadline = channel_deadline(st, c, t0);
            /* k restarts at s even when warm: starting from the previous
             * frame's (larger) k lets the termination test pass before the
             * newest hop is repaired (measured: -2.5 dB on SQAM) */
            int k0 = st->cfg.s;
            int k_end, conv;
            st->sp.max_iter = pool_allowance(st, ch, budget);
            int it = boxed ? spade_solve_box(&st->sp, st->yw, x0, k0, st->xout, &k_end, &conv)
                           : spade_solve(&st->sp, st->yw, st->mask, x0, k0, st->xout, &k_end, &conv);
            st->sp.max_iter = budget;
            pool_settle(st, ch, budget, it, st->sp.cut);
            /* samples near DBL_MAX overflow the transforms: such a solution
             * is dropped (the frame passes through) and never warm-starts */
            int finite = 1;
            for (int i = 0; i < w; i++)
                finite &= isfinite(st->xout[i]) != 0;
            const double *sol = finite ? st->xout : st->yw;
            for (int i = 0; i < w; i++)
                ch->acc[i] += st->syn[i] * sol[i];
            memcpy(ch->prev, sol, sizeof(double) * w);
            ch->prev_valid = finite;
            st->stats.frames_solved++;
            st->stats.frames_converged += conv;
            st->stats.frames_cut += st->sp.cut;
            if (t0 > 0.0 && !st->sp.cut && it > 0) {
                /* uncut frames only: a cut frame's time is its deadline */
                double dt = now_seconds() - t0;
                st->frame_seconds = st->frame_seconds > 0.0 ?
                    0.875 * st->frame_seconds + 0.125 * dt : dt;
            }
            st->stats.iterations += it;
            if (it > st->stats.max_frame_iterations) st->stats.max_frame_iterations = it;
        }
        /* finished samples, made exactly consistent with the observation:
         * reliable ones are the input, clipped ones no nearer zero than it */
        int wr = (ch->fifo_rd + ch->fifo_count) % st->fifo_cap;
        for (int i = first; i < first + a; i++) {
            double y = ch->frame[i], v = ch->acc[i];
            int8_t m = st->mask[i];
            if (!isfinite(v)) v = y; /* overlap-add overflowed */
            if (ch->band || ch->relax > 0.0) {
                /* smeared model: the same box as the solver's */
                double lo = m > 0 ? (ch->band ? ch->pos : y) : m < 0 ? -HUGE_VAL : y - ch->relax;
                double hi = m < 0 ? (ch->band ? ch->neg : y) : m > 0 ? HUGE_VAL : y + ch->relax;
                ch->fifo[wr] = v < lo ? lo : v > hi ? hi : v;
            } else {
                ch->fifo[wr] = m == 0 ? y : m > 0 ? (v > y ? v : y) : (v < y ? v : y);
            }
            if (++wr == st->fifo_cap) wr = 0;
        }
        ch->fifo_count += a;
        memmove(ch->acc, ch->acc + a, sizeof(double) * (w - a));
        memset(ch->acc + w - a, 0, sizeof(double) * a);
        memmove(ch->frame, ch->frame + a, sizeof(double) * (w - a));
    }
}

/* Levels in use with auto_threshold: an exact rail (the signal keeps
 * returning to one extreme value) unless a smeared one was found whose hump
 * holds four times more samples than the exact estimator's returns (after a
 * codec decoded to 16 bits the extreme code may repeat a few times). */
static void auto_levels(channel *ch)
{
    double lv[2];
    clip_estimator_levels(&ch->est, &lv[0], &lv[1]);
    for (int side = 0; side < 2; side++) {
        int exact = ch->est.hits[side] >= RTD_MIN_HITS;
        int smeared = ch->sm.found[side] != RTD_RAIL_NONE &&
                      (!exact || 4.0 * ch->est.hits[side] < ch->sm.mass[side]);
        if (smeared) {
            lv[side] = side ? -ch->sm.level[side] : ch->sm.level[side];
            ch->method[side] = ch->sm.found[side];
            ch->width[side] = ch->sm.width[side];
        } else {
            ch->method[side] = exact ? RTD_RAIL_EXACT : RTD_RAIL_NONE;
            ch->width[side] = 0.0;
        }
    }
    ch->pos = lv[0];
    ch->neg = lv[1];
}

static void process(rtd_state *st, const void *in, void *out, int frames, int is_float)
{
    const int C = st->cfg.channels, w = st->w, a = st->a;
    if (st->time_limit > 0.0) {
        st->call_deadline = now_seconds() + st->time_limit;
    } else {
        st->call_deadline = 0.0;
    }
    int done = 0;
    while (done < frames) {
        int n = a - st->fill;
        if (n > frames - done) n = frames - done;
        for (int c = 0; c < C; c++) {
            channel *ch = &st->ch[c];
            double *dst = ch->frame + (w - a) + st->fill;
            for (int i = 0; i < n; i++) {
                size_t idx = (size_t)(done + i) * C + c;
                double y = is_float ? (double)((const float *)in)[idx] : ((const double *)in)[idx];
                if (!isfinite(y)) {
                    /* a live stream must not stop: replace, count, and keep
                     * the sample out of the clip estimate and the solver */
                    y = 0.0;
                    st->stats.nonfinite_samples++;
                } else if (st->cfg.auto_threshold) {
                    clip_estimator_push(&ch->est, y);
                    smear_push(&ch->sm, y, st->sm_scratch);
                }
                dst[i] = y;
            }
            if (st->cfg.auto_threshold) auto_levels(ch);
        }
        st->fill += n;
        if (st->fill == a) {
            run_frame(st);
            st->fill = 0;
        }
        for (int c = 0; c < C; c++) {
            channel *ch = &st->ch[c];
            for (int i = 0; i < n; i++) {
                size_t idx = (size_t)(done + i) * C + c;
                double v = ch->fifo[ch->fifo_rd];
                if (++ch->fifo_rd == st->fifo_cap) ch->fifo_rd = 0;
                if (is_float) /* saturate: a restored peak may exceed float range */
                    ((float *)out)[idx] = (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
                else
                    ((double *)out)[idx] = v;
            }
            ch->fifo_count -= n;
        }
        done += n;
    }
    st->stats.samples_in += frames;
}

void rtd_process_double(rtd_state *st, const double *in, double *out, int frames)
{
    process(st, in, out, frames, 0);
}

void rtd_process_float(rtd_state *st, const float *in, float *out, int frames)
{
    process(st, in, out, frames, 1);
}

int rtd_latency(const rtd_state *st) { return st->latency; }

void rtd_set_thresholds(rtd_state *st, int c, double pos, double neg)
{
    if (c < 0 || c >= st->cfg.channels) return;
    st->ch[c].fixed_pos = st->ch[c].pos = pos;
    st->ch[c].fixed_neg = st->ch[c].neg = neg;
}

void rtd_set_smear(rtd_state *st, int c, int band, double relax)
{
    if (c < 0 || c >= st->cfg.channels) return;
    st->ch[c].fixed_band = st->ch[c].band = band != 0;
    st->ch[c].fixed_relax = st->ch[c].relax = (relax > 0.0 && isfinite(relax)) ? relax : 0.0;
}

void rtd_get_smear(const rtd_state *st, int c, int *band, double *relax)
{
    if (c < 0 || c >= st->cfg.channels) return;
    *band = st->ch[c].band;
    *relax = st->ch[c].relax;
}

void rtd_get_detection(const rtd_state *st, int c, int *method_pos, int *method_neg,
                       double *width_pos, double *width_neg)
{
    if (c < 0 || c >= st->cfg.channels) return;
    *method_pos = st->ch[c].method[0];
    *method_neg = st->ch[c].method[1];
    *width_pos = st->ch[c].width[0];
    *width_neg = st->ch[c].width[1];
}

void rtd_get_thresholds(const rtd_state *st, int c, double *pos, double *neg)
{
    if (c < 0 || c >= st->cfg.channels) return;
    *pos = st->ch[c].pos;
    *neg = st->ch[c].neg;
}

void rtd_set_max_iterations(rtd_state *st, int n) { st->sp.max_iter = n < 0 ? 0 : n; }
int rtd_get_max_iterations(const rtd_state *st) { return st->sp.max_iter; }
void rtd_get_stats(const rtd_state *st, rtd_stats *s) { *s = st->stats; }

int rtd_solve_frame(rtd_state *st, const double *y, const int8_t *mask, double *x)
{
    int k_end, conv;
    return spade_solve(&st->sp, y, mask, NULL, st->cfg.s, x, &k_end, &conv);
}

void rtd_get_windows(const rtd_state *st, double *analysis, double *synthesis)
{
    memcpy(analysis, st->ana, sizeof(double) * st->w);
    memcpy(synthesis, st->syn, sizeof(double) * st->w);
}

void rtd_time_transforms(rtd_state *st, int n) { spade_time_transforms(&st->sp, n); }

void rtd_set_time_limit(rtd_state *st, double seconds)
{
    st->time_limit = (seconds > 0.0 && isfinite(seconds)) ? seconds : 0.0;
}
