/* stream.c -- the block processor: ring buffers, frames, overlap-add.
 *
 * Data flow per channel:  input block -> frame buffer (last `window`
 * samples) -> [every hop] classify clipped samples -> analysis window ->
 * SPADE -> synthesis window -> overlap-add accumulator -> finished samples
 * -> output FIFO -> output block.  The FIFO starts with `latency` zeros,
 * which is what makes the delay constant for any block size. */
#include "rtdeclip.h"
#include "rtdeclip_testing.h"
#include "budget_pool.h"
#include "clock.h"
#include "spade.h"
#include "threshold.h"
#include "smear.h"
#include "dc_restore.h"
#include "rail_watch.h"
#include "windows.h"
#include "workers.h"
#include "social.h"

#include <fftw3.h>
#include <float.h>
#include <sched.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Trajectories a channel may keep: a hedge's members and second_solve's. */
#define RTD_TRACKS_MAX (RTD_HEDGE_MAX + 1)

/* One trajectory of solutions of a channel: what a frame's solve starts
 * from and overlap-adds into.  A channel has one, two with second_solve,
 * or `hedge` (each with its own past, warm start and prior, so their
 * errors drift apart; the output is their mean).  With both, trajectory 1
 * is always the second solve, and the hedge's other members are
 * trajectories 2..hedge (width index t - 1), solved in the hops of a
 * smeared rail and copies of trajectory 0 in the others. */
typedef struct {
    double *acc;      /* overlap-add accumulator, aligned with `frame`    */
    double *prev;     /* previous frame's solution (windowed), warm start */
    double *done;     /* past_final: this trajectory's finished samples,
                         aligned with `frame` (valid before st->first)     */
    int prev_valid;
    float *prior[2];  /* prior_weight: the last solution's spectrum (prior[0]) and
                         the next one's (prior[1]), swapped after each solve */
} track;

/* A channel's hop between its steps (hop_prepare, hop_solve, hop_finish):
 * the trajectories' masks and what their solves did. */
typedef struct {
    int8_t *masks[RTD_TRACKS_MAX];  /* trajectory t's clip mask (into st->masks) */
    int nclips[RTD_TRACKS_MAX];     /* clipped samples in each mask             */
    int same[RTD_TRACKS_MAX];       /* hedge: mask equal to trajectory 0's      */
    int copy[RTD_TRACKS_MAX];       /* takes trajectory 0's solution (finish)   */
    spade_result res[RTD_TRACKS_MAX]; /* each solve's result (zero: not run)    */
    int solve;                     /* anything to solve this hop               */
    int hedge;                     /* this hop's hedge members solve (a smeared
                                      rail; else they copy trajectory 0).  With
                                      second_solve trajectory 1 is not one    */
    int allowance;                 /* iterations a solve may run (budget pool) */
    int hedge_allowance;           /* a solve's iterations in a frame the hedge
                                      splits (cfg.hedge_budget x allowance;
                                      the allowance in any other frame)       */
    int known;                     /* past_final: samples before it are done   */
} hop_step;

typedef struct {
    double *frame;    /* last `window` input samples, oldest first        */
    int8_t *given;    /* rtd_process_given_double: the caller's clipped set
                         of those samples (+1, -1, 0), aligned with `frame` */
    track tr[RTD_TRACKS_MAX]; /* tr[1] with second_solve; a hedge's members
                                 tr[1..hedge), or with second_solve tr[0] and
                                 tr[2..hedge] */
    double *fifo;     /* finished output samples                          */
    int fifo_rd, fifo_count;
    double pos, neg;  /* clip levels in use                               */
    double fixed_pos, fixed_neg;
    clip_estimator est;
    smear_estimator sm;   /* codec-smeared rails (auto_threshold only)       */
    rail_watch rw;        /* a new track's rail (rail_watch.h)               */
    dc_restore dc;        /* an Opus encoder's DC reject undone (off: a = 0) */
    int method[2];        /* RTD_RAIL_* of the levels in use                 */
    double width[2];      /* dB from the estimated rail to the level in use  */
    long long credit; /* budget pool: iterations earlier frames left unused */
    hop_step hs;      /* this hop's masks and solves                       */
} channel;

/* What a pass of the lanes does (run_frame). */
enum { STEP_WHOLE, STEP_PREPARE, STEP_SOLVE, STEP_FINISH };

/* What one thread needs to solve its channels' frames: a solver with its
 * own plans, frame scratch, and counters (summed by rtd_get_stats).
 * Channel c is solved on lane c % lanes. */
typedef struct {
    spade_solver *sp;
    double *yw, *x0, *xout;   /* frame scratch                               */
    int8_t *mask;             /* per channel: which samples are clipped      */
    rtd_stats stats;          /* frames, iterations, clipped samples, cuts   */
    double frame_seconds;     /* running estimate of one frame's solve time  */
    char pad[64];             /* keeps lanes' hot counters off a shared line */
} lane;

struct rtd_state {
    rtd_config cfg;
    int w, hop, latency, first; /* first: index of first non-zero synthesis weight */
    int fifo_cap, fill;       /* fill: samples into the current hop          */
    int budget;               /* iterations per frame (rtd_set_max_iterations) */
    double *ana, *syn, *anasyn;
    channel *ch;
    int8_t *masks;            /* tracks x channels x window: each frame's clip
                                 masks (one per trajectory with hedge)       */
    int64_t *sm_scratch;      /* cumulative histogram, smear.h               */
    int tracks;               /* hedge, 2 with second_solve, else 1 (both:
                                 hedge + 1)                                 */
    int made;                 /* trajectories made in create                */
    int second;               /* second_solve in use (a budget to share)     */
    int hedge_on;             /* the hedge asked for (rtd_set_hedge >= 2)     */
    int hedge_made;           /* cfg.hedge's trajectories made in create, or 0
                                 (how many run: tracks, rtd_set_hedge)       */
    int keep;                 /* trajectories averaged into the output: tracks,
                                 or fewer while a fade to fewer runs         */
    int fade_len, fade_done;  /* rtd_set_hedge to fewer trajectories: the
                                 output moves from the mean of all `tracks`
                                 to the mean of the first `keep` over
                                 fade_len samples (0: no fade); hops done    */
    int lanes;
    int step;                 /* STEP_*: what the lanes' pass does           */
    lane *lane;
    rtd_workers *pool;        /* NULL with one lane                          */
    int64_t samples_in, nonfinite_samples;
    double time_limit;        /* seconds per process call, 0 = none         */
    int codec;                /* RTD_CODEC_* (rtd_set_codec)                 */
    double sample_rate;       /* Hz, 0: unknown (rtd_set_sample_rate)        */
    double call_deadline;     /* CLOCK_MONOTONIC end of this call, 0 = none */
    int use_given;            /* fed by rtd_process_given_double: its sets, not the levels */
    social_state *soc;        /* RTD_SOCIAL: everything is done there (social.c) */
};

/* Bytes of a trajectory's prior spectrum (prior_weight). */
static size_t prior_bytes(const rtd_config *cfg)
{
    return sizeof(float) * (size_t)(cfg->window * cfg->redundancy / 2 + 1);
}

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
    cfg->precision = RTD_DOUBLE;
    cfg->threads = 1;
    cfg->hedge_budget = 1.0;
    cfg->heavy_width = 1.0;
    cfg->social_levels = 20;
    cfg->social_tail = 0.0;
    cfg->social_tail_weight = 1.0;
    cfg->social_weight2 = 0.5;
    cfg->social_neigh_freq = 3;
    cfg->social_neigh_time = 7;
    cfg->social_lambda_max = 1e-1;
    cfg->social_lambda_min = 1e-4;
}

const char *rtd_strerror(int e)
{
    switch (e) {
    case RTD_OK: return "no error";
    case RTD_ERR_CHANNELS: return "channels must be between 1 and 1024";
    case RTD_ERR_WINDOW: return "window must be a power of two from 16 to 65536";
    case RTD_ERR_HOP: return "hop must divide the window, between window/8 and window/2 "
                              "(grid_phase: 0..hop-1, 0 with the social solver)";
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
    case RTD_ERR_PRECISION: return "precision must be double or single";
    case RTD_ERR_THREADS: return "threads must be between 0 and 64";
    case RTD_ERR_SOCIAL:
        return "social: block and margin must be multiples of hop (block >= window), "
               "neighbourhood sizes odd and >= 1, lambdas > 0";
    case RTD_ERR_FACTOR: return "source rate factor must be 2, 3, 4 or 6";
    case RTD_ERR_HEDGE:
        return "hedge must be between 0 and 5, hedge_budget in (0, 1] and heavy_width in [1, 2]";
    default: return "unknown error";
    }
}

static int validate(const rtd_config *c)
{
    if (c->channels < 1 || c->channels > RTD_CHANNELS_MAX) return RTD_ERR_CHANNELS;
    if (c->window < RTD_WINDOW_MIN || c->window > RTD_WINDOW_MAX || (c->window & (c->window - 1)))
        return RTD_ERR_WINDOW;
    if (c->hop < 1 || c->window % c->hop || c->hop * RTD_HOP_MIN_DIV < c->window
        || c->hop * RTD_HOP_MAX_DIV > c->window)
        return RTD_ERR_HOP;
    if (c->redundancy < 1 || c->redundancy > RTD_REDUNDANCY_MAX || (c->redundancy & (c->redundancy - 1)))
        return RTD_ERR_REDUNDANCY;
    if (c->algorithm < RTD_ASPADE || c->algorithm > RTD_SOCIAL) return RTD_ERR_ALGORITHM;
    if (c->s < 1 || c->r < 1) return RTD_ERR_SCHEDULE;
    if (!(c->epsilon >= 0.0) || !isfinite(c->epsilon)) return RTD_ERR_EPSILON;
    if (c->max_iterations < 0) return RTD_ERR_ITERATIONS;
    if (c->budget_pool < 0 || c->budget_pool > RTD_POOL_MAX) return RTD_ERR_POOL;
    if (c->precision != RTD_DOUBLE && c->precision != RTD_SINGLE) return RTD_ERR_PRECISION;
    if (c->threads < 0 || c->threads > RTD_THREADS_MAX) return RTD_ERR_THREADS;
    if (c->synthesis_length < 0) return RTD_ERR_WINDOW_SHAPE;
    if (c->lookahead < 0 || (c->lookahead > 0 && c->synthesis_length <= 0))
        return RTD_ERR_WINDOW_SHAPE;
    if (!(c->prior_weight >= 0.0) || !isfinite(c->prior_weight)) return RTD_ERR_SCHEDULE;
    if (!(c->adapt_s >= 0.0) || !isfinite(c->adapt_s)) return RTD_ERR_SCHEDULE;
    if (c->second_solve < 0 || !(c->second_adapt_s >= 0.0) || !isfinite(c->second_adapt_s))
        return RTD_ERR_SCHEDULE;
    if (!(c->second_reliable >= 0.0 && c->second_reliable <= 1.0)) return RTD_ERR_SCHEDULE;
    if (c->hedge < 0 || c->hedge > RTD_HEDGE_MAX) return RTD_ERR_HEDGE;
    if (!(c->hedge_budget > 0.0 && c->hedge_budget <= 1.0)) return RTD_ERR_HEDGE;
    if (!(c->heavy_width >= 1.0 && c->heavy_width <= 2.0)) return RTD_ERR_HEDGE;
    if (c->grid_phase < 0 || c->grid_phase >= c->hop
        || (c->grid_phase > 0 && c->algorithm == RTD_SOCIAL))
        return RTD_ERR_HOP;
    return RTD_OK;
}

static void lane_free(lane *ln)
{
    spade_destroy(ln->sp);
    fftw_free(ln->yw);
    fftw_free(ln->x0);
    fftw_free(ln->xout);
}

void rtd_destroy(rtd_state *st)
{
    if (!st) return;
    if (st->soc) social_destroy(st->soc);
    rtd_workers_destroy(st->pool); /* joins the workers before their lanes go */
    if (st->ch) {
        for (int c = 0; c < st->cfg.channels; c++) {
            fftw_free(st->ch[c].frame);
            fftw_free(st->ch[c].given);
            for (int t = 0; t < RTD_TRACKS_MAX; t++) {
                track *tr = &st->ch[c].tr[t];
                fftw_free(tr->acc);
                fftw_free(tr->prev);
                fftw_free(tr->done);
                fftw_free(tr->prior[0]);
                fftw_free(tr->prior[1]);
            }
            fftw_free(st->ch[c].fifo);
        }
        free(st->ch);
    }
    if (st->lane) {
        for (int l = 0; l < st->lanes; l++)
            lane_free(&st->lane[l]);
        free(st->lane);
    }
    fftw_free(st->masks);
    free(st->sm_scratch);
    fftw_free(st->ana);
    fftw_free(st->syn);
    fftw_free(st->anasyn);
    free(st);
}

/* How many lanes: cfg.threads, at most one per channel; 0 = one per
 * processor online. */
static int lane_count(const rtd_config *cfg)
{
    int n = cfg->threads;
    if (n == 0) {
        /* the processors this process may run on (a container's cpuset, a
         * taskset), as rtdeclip.live.cores counts them: a hedge has up to
         * five lanes per channel, and more lanes than processors only take
         * turns */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
            cpus = CPU_COUNT(&set);
#endif
        n = cpus < 1 ? 1 : cpus > RTD_THREADS_MAX ? RTD_THREADS_MAX : (int)cpus;
    }
    /* the units of work: channels, or with a hedge channels x trajectories */
    int units = cfg->channels;
    if (cfg->hedge > 1 && cfg->auto_threshold && cfg->algorithm != RTD_SOCIAL)
        units *= cfg->hedge;
    return n < units ? n : units;
}

static void lane_hop(void *ctx, int l);

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
    if (cfg->algorithm == RTD_SOCIAL) {
        st->soc = social_create(cfg, &e);
        if (!st->soc) goto fail;
        if (error) *error = RTD_OK;
        return st;
    }
    st->w = cfg->window;
    st->hop = cfg->hop;
    const int w = st->w, C = cfg->channels;
    st->ana = fftw_alloc_real(w);
    st->syn = fftw_alloc_real(w);
    st->anasyn = fftw_alloc_real(w);
    /* the second trajectory needs a budget to share; a hedge needs rails
     * to hedge (auto_threshold) */
    st->hedge_made = cfg->hedge > 1 && cfg->auto_threshold ? cfg->hedge : 0;
    st->hedge_on = st->hedge_made > 0;
    st->second = cfg->second_solve > 0 && cfg->max_iterations > 0;
    /* every trajectory a hedge may use is made (rtd_set_hedge changes how
     * many run) */
    const int made = st->hedge_made ? st->hedge_made + st->second : st->second ? 2 : 1;
    st->made = st->tracks = st->keep = made;
    st->masks = fftw_malloc((size_t)w * C * (st->hedge_made ? made : 1));
    st->sm_scratch = malloc(sizeof(int64_t) * (RTD_SM_BINS + 1));
    st->ch = calloc(C, sizeof *st->ch);
    st->lanes = lane_count(cfg);
    st->lane = calloc(st->lanes, sizeof *st->lane);
    if (!st->ana || !st->syn || !st->anasyn || !st->masks || !st->ch || !st->lane ||
        !st->sm_scratch)
        goto fail;
    const double *ana_in = cfg->analysis_window, *syn_in = cfg->synthesis_window;
    if (!ana_in && !syn_in && cfg->synthesis_length > 0) {
        /* designed into syn/anasyn first, then checked like given ones */
        e = rtd_lowdelay_windows(w, st->hop, cfg->synthesis_length, cfg->lookahead,
                                 st->anasyn, st->syn);
        if (e) goto fail;
        memcpy(st->ana, st->anasyn, sizeof(double) * w);
        ana_in = st->ana;
        syn_in = st->syn;
    }
    e = rtd_design_windows(w, st->hop, ana_in, syn_in, st->ana, st->syn, st->anasyn, &st->first);
    if (e) goto fail;
    /* a sample is final once no later frame weighs it; see header */
    st->latency = w - 1 - st->first;
    st->fifo_cap = st->latency + st->hop + 1;
    e = RTD_ERR_NOMEM;
    for (int c = 0; c < C; c++) {
        channel *ch = &st->ch[c];
        ch->frame = fftw_alloc_real(w);
        ch->given = fftw_malloc((size_t)w);
        ch->fifo = fftw_alloc_real(st->fifo_cap);
        if (!ch->frame || !ch->given || !ch->fifo) goto fail;
        for (int t = 0; t < made; t++) {
            track *tr = &ch->tr[t];
            tr->acc = fftw_alloc_real(w);
            tr->prev = fftw_alloc_real(w);
            tr->done = fftw_alloc_real(w);
            if (!tr->acc || !tr->prev || !tr->done) goto fail;
            if (cfg->prior_weight > 0.0) {
                size_t nb = prior_bytes(cfg);
                tr->prior[0] = fftw_malloc(nb);
                tr->prior[1] = fftw_malloc(nb);
                if (!tr->prior[0] || !tr->prior[1]) goto fail;
            }
        }
        ch->fixed_pos = HUGE_VAL;
        ch->fixed_neg = -HUGE_VAL;
    }
    spade_setup setup = {
        .window = w, .redundancy = cfg->redundancy, .algorithm = cfg->algorithm,
        .s = cfg->s, .r = cfg->r, .epsilon = cfg->epsilon, .return_last = cfg->return_last,
        .precision = cfg->precision,
        .fftw_flags = cfg->plan == RTD_PLAN_ESTIMATE ? FFTW_ESTIMATE : FFTW_MEASURE};
    for (int l = 0; l < st->lanes; l++) {
        lane *ln = &st->lane[l];
        ln->yw = fftw_alloc_real(w);
        ln->x0 = fftw_alloc_real(w);
        ln->xout = fftw_alloc_real(w);
        if (!ln->yw || !ln->x0 || !ln->xout) goto fail;
        ln->sp = spade_create(&setup, &e);
        if (!ln->sp) goto fail;
    }
    st->budget = cfg->max_iterations > 0
                     ? cfg->max_iterations
                     : (int)ceil((double)(w * cfg->redundancy / 2 + 1) * cfg->r / cfg->s);
    rtd_reset(st);
    if (st->lanes > 1) {
        e = RTD_ERR_THREADS;
        st->pool = rtd_workers_create(st->lanes, lane_hop, st);
        if (!st->pool) goto fail;
    }
    if (error) *error = RTD_OK;
    return st;
fail:
    rtd_destroy(st);
    if (error) *error = e;
    return NULL;
}

void rtd_reset(rtd_state *st)
{
    if (st->soc) {
        social_reset(st->soc);
        return;
    }
    const int w = st->w;
    st->use_given = 0;
    st->tracks = st->keep;   /* a fade to fewer trajectories ends */
    st->fade_len = 0;
    for (int c = 0; c < st->cfg.channels; c++) {
        channel *ch = &st->ch[c];
        memset(ch->frame, 0, sizeof(double) * w);
        memset(ch->given, 0, (size_t)w);
        for (int t = 0; t < st->made; t++) {
            track *tr = &ch->tr[t];
            memset(tr->acc, 0, sizeof(double) * w);
            memset(tr->prev, 0, sizeof(double) * w);
            memset(tr->done, 0, sizeof(double) * w);
            tr->prev_valid = 0;
        }
        memset(ch->fifo, 0, sizeof(double) * st->fifo_cap);
        ch->credit = 0;
        ch->fifo_rd = 0;
        /* The FIFO is primed so that sample j leaves at time j + latency:
         * the first frame pushes its samples of the silent prehistory too,
         * so hop - 1 zeros are all that is missing. */
        ch->fifo_count = st->hop - 1 - st->cfg.grid_phase;
        clip_estimator_reset(&ch->est);
        smear_reset(&ch->sm);
        rail_watch_reset(&ch->rw);
        smear_set_rate(&ch->sm, st->sample_rate);
        smear_set_rate(&ch->rw.sm, st->sample_rate);
        dc_restore_reset(&ch->dc);
        ch->method[0] = ch->method[1] = RTD_RAIL_NONE;
        ch->width[0] = ch->width[1] = 0.0;
        ch->pos = st->cfg.auto_threshold ? HUGE_VAL : ch->fixed_pos;
        ch->neg = st->cfg.auto_threshold ? -HUGE_VAL : ch->fixed_neg;
    }
    /* The stream is preceded by window - hop samples of silence, so the
     * first frame completes after one hop and every sample lies under the
     * same number of frames; grid_phase more silent samples (zeros in the
     * frame already, before the stream's first) end the hops sooner, and
     * the FIFO holds as many fewer so sample j still leaves at j + latency */
    st->fill = st->cfg.grid_phase;
    for (int l = 0; l < st->lanes; l++) {
        memset(&st->lane[l].stats, 0, sizeof st->lane[l].stats);
        st->lane[l].frame_seconds = 0.0;
    }
    st->samples_in = st->nonfinite_samples = 0;
}

/* Warm start: the previous frame's solution, un-windowed where its window
 * is large enough to divide by safely, re-windowed for this frame. */
static const double *warm_start(const rtd_state *st, const track *tr, lane *ln)
{
    if (!st->cfg.warm_start || !tr->prev_valid) return NULL;
    const int w = st->w, hop = st->hop;
    for (int i = 0; i < w; i++) {
        int j = i + hop;
        ln->x0[i] = (j < w && st->ana[j] > 0.25) ? st->ana[i] * tr->prev[j] / st->ana[j] : ln->yw[i];
    }
    return ln->x0;
}

/* k's step of a frame: s * clamp(reliable / adapt, 1, 3) (adapt > 0). */
static int adapted_step(int s, double adapt, double reliable)
{
    if (!(adapt > 0.0)) return s;
    double g = reliable / adapt;
    g = g < 1.0 ? 1.0 : g > 3.0 ? 3.0 : g;
    return (int)(s * g + 0.5);
}

/* A finished sample made exactly consistent with the observation y:
 * reliable ones are the input, clipped ones no nearer zero than it. */
static inline double consistent(double v, double y, int8_t m)
{
    if (!isfinite(v)) v = y; /* overlap-add overflowed */
    return m == 0 ? y : m > 0 ? (v > y ? v : y) : (v < y ? v : y);
}

/* Deadline of the frame of a lane's channel with `after` more channels of
 * that lane still to solve in this call.  The channels after it are
 * reserved what a frame has been taking (with 50 % slack), not an equal
 * share of the time left: a stall while one channel is solved (the thread
 * descheduled for a few ms) then eats into the slack of the whole call
 * instead of cutting that channel at a fraction of it.  Before any frame
 * was timed the time left is shared equally. */
static double channel_deadline(const rtd_state *st, const lane *ln, int after, double now)
{
    if (st->call_deadline <= 0.0) return 0.0;
    double fair = now + (st->call_deadline - now) / (after + 1);
    if (ln->frame_seconds <= 0.0) return fair;
    double reserved = st->call_deadline - 1.5 * after * ln->frame_seconds;
    return reserved > fair ? reserved : fair;
}

/* Width factors of the hedge's trajectories, in order (the first
 * `hedge` are used): the declared width first, so trajectory 0 is what
 * one solve gives; the five are the file path's (core/hedge.py,
 * docs/lossy.md "Hedged over the width").  The order makes every prefix
 * a good hedge: a wider member first (a pair of 1 and 1.25 gained +0.27
 * dB on 816 lossy stream cells, 1 and 0.75 +0.24 with three times as
 * many cells 1 dB down), then the narrower one (docs/lossy.md, fifteenth
 * session). */
static const double HEDGE_WIDTHS[RTD_HEDGE_MAX] = {1.0, 1.25, 0.75, 1.6, 0.9};

static inline int smeared(int method)
{
    return method == RTD_RAIL_CODEC || method == RTD_RAIL_NOISY;
}

/* A smeared rail of either polarity in use on the channel: where a hedge's
 * members may part from trajectory 0 (hop_prepare, hedge_passes). */
static inline int rails_smeared(const channel *ch)
{
    return smeared(ch->method[0]) || smeared(ch->method[1]);
}

/* Trajectory t's levels: each smeared rail of the channel declared
 * HEDGE_WIDTHS[t] times its width below its centre; exact rails as they
 * are. */
static void hedge_levels(const channel *ch, int t, double *pos, double *neg)
{
    *pos = ch->pos;
    *neg = ch->neg;
    for (int side = 0; side < 2; side++) {
        if (!smeared(ch->method[side]) || !(ch->width[side] > 0.0)) continue;
        double *lv = side ? neg : pos;
        double centre = 20.0 * log10(fabs(*lv)) + ch->width[side];
        double v = pow(10.0, (centre - HEDGE_WIDTHS[t] * ch->width[side]) / 20.0);
        *lv = side ? -v : v;
    }
}

/* Classify a frame's samples against (pos, neg); returns how many are
 * clipped.  past_final: the `known` samples that have left the stream
 * are reliable. */
static int classify(const double *frame, int w, int known, double pos, double neg, int8_t *mask)
{
    int nclip = 0;
    for (int i = 0; i < w; i++) {
        double y = frame[i];
        int8_t m = i < known ? 0 : y >= pos ? 1 : y <= neg ? -1 : 0;
        mask[i] = m;
        nclip += m != 0;
    }
    return nclip;
}

/* The caller's set (rtd_process_given_double) as a frame's mask. */
static int given_set(const int8_t *given, int w, int known, int8_t *mask)
{
    int nclip = 0;
    for (int i = 0; i < w; i++) {
        int8_t m = i < known ? 0 : given[i];
        mask[i] = m;
        nclip += m != 0;
    }
    return nclip;
}

/* A trajectory's frame with nothing to solve overlap-adds back to the input. */
static void track_pass(const rtd_state *st, const channel *ch, track *tr)
{
    for (int i = 0; i < st->w; i++)
        tr->acc[i] += st->anasyn[i] * ch->frame[i];
    tr->prev_valid = 0;
}

/* A trajectory takes trajectory 0's solution of this frame (and its prior). */
static void track_copy(const rtd_state *st, const track *t0r, track *tr)
{
    const int w = st->w;
    for (int i = 0; i < w; i++)
        tr->acc[i] += st->syn[i] * t0r->prev[i];
    memcpy(tr->prev, t0r->prev, sizeof(double) * w);
    tr->prev_valid = t0r->prev_valid;
    if (tr->prior[0])
        memcpy(tr->prior[0], t0r->prior[0], prior_bytes(&st->cfg));
}

/* A hop of a channel runs in three steps: hop_prepare (classify its
 * trajectories' masks, or pass a frame with nothing to solve), hop_solve
 * once per trajectory (the solves: the CPU), hop_finish (trajectories that
 * take trajectory 0's solution, the budget pool, counters, and the samples
 * no later frame touches into the FIFO).  Without a hedge a lane runs the
 * three for each of its channels in turn (channel_hop).  With a hedge the
 * solves of all channels x trajectories are spread over the lanes (a mono
 * stream hedged 5 ways keeps five lanes busy), each step a pass of the
 * workers (run_frame): a solve writes only its own trajectory and its own
 * `hop_step.res[t]`, so the output does not depend on the number of
 * lanes. */

/* Channel c's hop, step 1: masks, counters of the newest samples, and the
 * frame passed through when nothing is clipped. */
static void hop_prepare(rtd_state *st, lane *ln, int c)
{
    const int w = st->w, hop = st->hop, C = st->cfg.channels;
    const int budget = st->budget, pool = st->cfg.budget_pool;
    channel *ch = &st->ch[c];
    hop_step *hs = &ch->hs;
    const int ntr = st->tracks;
    /* with second_solve (lowlatency) trajectory 1 is its second solve in
     * every hop, and the hedge's members (2..) solve only hops of a
     * smeared rail while the hedge is on; in the others they copy 0 */
    const int rails = rails_smeared(ch);
    const int hedging = st->hedge_made > 0 &&
                        (!st->second || (st->hedge_on && rails && !st->use_given));
    hs->hedge = hedging;
    /* past_final: samples before `first` have left the stream; they are
     * reliable at their output values (ch->done) */
    const int known = st->cfg.past_final ? st->first : 0;
    /* trajectory t's mask; with a hedge, `same[t]`: it equals trajectory
     * 0's, so the trajectory takes trajectory 0's solution (exact rails:
     * always, bit for bit one trajectory's output) */
    hs->masks[0] = st->masks + (size_t)c * w;
    hs->nclips[0] = st->use_given ? given_set(ch->given, w, known, hs->masks[0])
                                  : classify(ch->frame, w, known, ch->pos, ch->neg, hs->masks[0]);
    int nclip = hs->nclips[0];
    hs->same[0] = 0;
    int parted = 0;   /* a member's clipped set differs from trajectory 0's */
    if (hedging && !st->use_given) {
        for (int t = 1; t < ntr; t++) {
            hs->masks[t] = st->masks + ((size_t)t * C + c) * w;
            if (st->second && t == 1) {   /* the second solve: trajectory 0's set */
                hs->masks[t] = hs->masks[0];
                hs->nclips[t] = hs->nclips[0];
                hs->same[t] = 0;
                continue;
            }
            if (!rails) {
                hs->masks[t] = hs->masks[0];
                hs->nclips[t] = hs->nclips[0];
                hs->same[t] = 1;
                continue;
            }
            double p, n;
            hedge_levels(ch, st->second ? t - 1 : t, &p, &n);
            hs->nclips[t] = classify(ch->frame, w, known, p, n, hs->masks[t]);
            hs->same[t] = memcmp(hs->masks[t], hs->masks[0], (size_t)w) == 0;
            parted |= !hs->same[t] && st->hedge_on;
            nclip += hs->nclips[t];
        }
    } else {
        for (int t = 1; t < ntr; t++) {
            hs->masks[t] = hs->masks[0];
            hs->nclips[t] = hs->nclips[0];
            hs->same[t] = 0;
        }
        /* second_solve's trajectory 1 solves; a hedge's others copy 0 */
        for (int t = 2; t < ntr && st->second; t++) hs->same[t] = 1;
    }
    hs->known = known;
    /* samples entering this hop are counted once (trajectory 0's set) */
    for (int i = w - hop; i < w; i++)
        ln->stats.clipped_samples += hs->masks[0][i] != 0;
    memset(hs->res, 0, sizeof hs->res);
    memset(hs->copy, 0, sizeof hs->copy);
    hs->solve = nclip > 0 && budget > 0;
    if (!hs->solve) {
        /* nothing to solve: the frame overlap-adds back to the input */
        for (int t = 0; t < ntr; t++)
            track_pass(st, ch, &ch->tr[t]);
        ln->stats.frames_skipped++;
        if (budget > 0) budget_pool_settle(pool, &ch->credit, budget, 0, 0);
        return;
    }
    hs->allowance = budget_pool_allowance(pool, ch->credit, budget);
    /* cfg.hedge_budget: in a frame the hedge really splits, each of its
     * solves runs that share of the allowance (at least one iteration) */
    hs->hedge_allowance = hs->allowance;
    if (parted && st->cfg.hedge_budget < 1.0) {
        int share = (int)(hs->allowance * st->cfg.hedge_budget + 0.5);
        hs->hedge_allowance = share > 0 ? share : 1;
    }
}

/* Step 2: trajectory t's solve of channel c's frame on lane ln, cut at
 * `deadline` (0: none).  Without a hedge trajectory 1 (second_solve)
 * follows trajectory 0 on the same lane and reads its result. */
static void hop_solve(rtd_state *st, lane *ln, int c, int t, double deadline)
{
    const int w = st->w;
    channel *ch = &st->ch[c];
    hop_step *hs = &ch->hs;
    if (!hs->solve) return;
    track *tr = &ch->tr[t];
    const int hedging = hs->hedge;
    /* trajectory t is second_solve's (1, with second_solve) or a hedge's
     * member (any other t > 0) */
    const int second = st->second && t == 1, member = t > 0 && !second;
    const int known = hs->known;
    if (hs->nclips[t] == 0) {   /* only with a hedge: this trajectory's set is empty */
        track_pass(st, ch, tr);
        return;
    }
    const spade_result *r0 = &hs->res[0];
    const double reliable = 1.0 - (double)hs->nclips[0] / (w - known);
    /* the second solve spends what the frame's allowance has left;
     * the pool's credit is settled on the first solve only (charging
     * it the second drains the credit that heavy passages need:
     * 7.85 / 9.71 dB on SQAM), so a frame still runs at most its
     * allowance but the long-run average may exceed the budget
     * (up to pool / 2 + 1/2 of it on adversarial signals).  A
     * hedge's trajectories each get the frame's allowance: members
     * on a quarter of it gained nothing in streams (average, lossy
     * benchmark: -0.03 dB against one trajectory; docs/lossy.md). */
    /* (the second solve still spends what trajectory 0 left of the whole
     * allowance; cfg.hedge_budget shares it out in frames the hedge splits) */
    const int left = second ? hs->allowance - r0->iterations : hs->hedge_allowance;
    int run = t == 0 || (second ? r0->converged && !r0->cut && left >= st->cfg.second_solve &&
                                      reliable >= st->cfg.second_reliable
                                : hedging && !hs->same[t]);
    /* a hedge turned down (rtd_set_hedge: the plug-ins' control,
     * the live governor under overload) sheds the CPU of the
     * trajectories left out at once: while the output fades to the
     * mean of the rest they take trajectory 0's solutions, so what
     * they overlap-add moves towards its output over the window
     * (before, they solved one window more: the overload the
     * governor reacted to lasted a window longer) */
    if (member && st->fade_len > 0 && t >= st->keep) run = 0;
    if (run) {
        for (int i = 0; i < w; i++)
            ln->yw[i] = (i < known ? tr->done[i] : ch->frame[i]) * st->ana[i];
        spade_job job = {
            .budget = left,
            .deadline = deadline,
            /* k restarts at s even when warm: starting from the previous
             * frame's (larger) k lets the termination test pass before the
             * newest hop is repaired (measured: -2.5 dB on SQAM) */
            .k0 = st->cfg.s,
            .s = !second
                     ? adapted_step(st->cfg.s, st->cfg.adapt_s,
                                    1.0 - (double)hs->nclips[t] / (w - known))
                     : adapted_step(st->cfg.s, st->cfg.second_adapt_s, reliable),
            .x0 = warm_start(st, tr, ln),
            .prior = tr->prior[0] && tr->prev_valid ? tr->prior[0] : NULL,
            .prior_weight = st->cfg.prior_weight,
            .prior_out = tr->prior[1],
        };
        spade_result r;
        spade_solve(ln->sp, ln->yw, hs->masks[t], &job, ln->xout, &r);
        hs->res[t] = r;
        if (member) ln->stats.hedge_solves++;
        /* a second solve that did not reach epsilon is not averaged
         * in (cut short by the allowance, it is worse than none:
         * 8.71 / 10.88 dB on SQAM instead of 8.71 / 11.06); a hedge's
         * solve cut by the time limit neither */
        if (t > 0 && (second ? !r.converged : r.cut)) run = 0;
    }
    if (!run) {
        /* this frame the trajectory takes the first one's solution (in
         * hop_finish, once that is made), or passes when the first one
         * had nothing to solve */
        if (hs->nclips[0] > 0) hs->copy[t] = 1;
        else track_pass(st, ch, tr);
        return;
    }
    /* samples near DBL_MAX overflow the transforms: such a solution
     * is dropped (the frame passes through) and never warm-starts */
    int finite = 1;
    for (int i = 0; i < w; i++)
        finite &= isfinite(ln->xout[i]) != 0;
    const double *sol = finite ? ln->xout : ln->yw;
    for (int i = 0; i < w; i++)
        tr->acc[i] += st->syn[i] * sol[i];
    memcpy(tr->prev, sol, sizeof(double) * w);
    tr->prev_valid = finite;
    if (tr->prior[0]) {
        float *p = tr->prior[0];
        tr->prior[0] = tr->prior[1];
        tr->prior[1] = p;
    }
}

/* A lane's running estimate of one solve step's time (uncut steps only:
 * a cut step's time is its deadline), for channel_deadline. */
static void note_step_time(lane *ln, double t0, int cut, int used)
{
    if (!(t0 > 0.0) || cut || used <= 0) return;
    double dt = rtd_now() - t0;
    ln->frame_seconds = ln->frame_seconds > 0.0 ? 0.875 * ln->frame_seconds + 0.125 * dt : dt;
}

/* Iterations and cuts of channel c's solves this hop. */
static void hop_totals(const rtd_state *st, const channel *ch, int *used, int *cut)
{
    *used = *cut = 0;
    for (int t = 0; t < st->tracks; t++) {
        *used += ch->hs.res[t].iterations;
        *cut |= ch->hs.res[t].cut;
    }
}

/* Step 3: channel c's trajectories that take trajectory 0's solution, its
 * counters, and its finished samples into the FIFO. */
static void hop_finish(rtd_state *st, lane *ln, int c)
{
    const int w = st->w, hop = st->hop, first = st->first;
    channel *ch = &st->ch[c];
    hop_step *hs = &ch->hs;
    const int ntr = st->tracks;
    const int8_t *mask = hs->masks[0];
    if (hs->solve) {
        for (int t = 1; t < ntr; t++)
            if (hs->copy[t]) track_copy(st, &ch->tr[0], &ch->tr[t]);
        int used, cut;
        hop_totals(st, ch, &used, &cut);
        /* in a frame the hedge split (cfg.hedge_budget) trajectory 0 ran on
         * its share of the allowance: it is charged for the part of the
         * frame's allowance that share stands for (all of it when it used
         * its share up), else the pool (lowlatency) would take the unspent
         * rest as credit and hand it back, undoing the share */
        long long charged = hs->res[0].iterations;
        if (hs->hedge_allowance < hs->allowance && hs->hedge_allowance > 0)
            charged = charged * hs->allowance / hs->hedge_allowance;
        ln->stats.pooled_iterations +=
            budget_pool_settle(st->cfg.budget_pool, &ch->credit, st->budget, (int)charged,
                               hs->res[0].cut);
        ln->stats.frames_solved++;
        ln->stats.frames_converged += hs->res[0].converged;
        ln->stats.frames_cut += cut;
        ln->stats.iterations += used;
        if (used > ln->stats.max_frame_iterations)
            ln->stats.max_frame_iterations = used;
    }
    /* finished samples, made exactly consistent with the observation; with
     * several trajectories the output is their mean (consistent with
     * trajectory 0's set: what it keeps reliable leaves as it came), and
     * each keeps its own consistent samples as its past */
    int wr = (ch->fifo_rd + ch->fifo_count) % st->fifo_cap;
    for (int i = first; i < first + hop; i++) {
        double y = ch->frame[i];
        double v0 = ch->tr[0].done[i] = consistent(ch->tr[0].acc[i], y, mask[i]);
        if (ntr > 1) {
            const int keep = st->keep;
            double sum = v0, all = v0, v1 = v0;
            int differ = 0, hedged = 0;
            for (int t = 1; t < ntr; t++) {
                double v = ch->tr[t].done[i] = consistent(ch->tr[t].acc[i], y, hs->masks[t][i]);
                all += v;
                if (t < keep) sum += v;
                if (t == 1) v1 = v;
                differ |= v != v0;
                hedged |= t >= 2 && v != v0;
            }
            /* equal trajectories give trajectory 0's value bit for bit;
             * with second_solve, where the hedge's members still equal
             * the first (no smeared frame over this sample, or none of
             * theirs differs), the mean of the preset's two, bit for bit
             * its output unhedged; else the mean of all (the members and
             * the second solve alike) */
            if (differ && st->second && !hedged) {
                v0 = consistent((v0 + v1) / 2, y, mask[i]);
            } else if (differ) {
                double m = sum / keep;
                if (st->fade_len > 0) {   /* from the mean of all to that of `keep` */
                    double a = (double)(st->fade_done * hop + (i - first) + 1) / st->fade_len;
                    m = a * m + (1.0 - a) * (all / ntr);
                }
                v0 = consistent(m, y, mask[i]);
            }
        }
        ch->fifo[wr] = v0;
        if (++wr == st->fifo_cap) wr = 0;
    }
    for (int t = 0; t < ntr; t++) {
        track *tr = &ch->tr[t];
        memmove(tr->done, tr->done + hop, sizeof(double) * (w - hop));
        memmove(tr->acc, tr->acc + hop, sizeof(double) * (w - hop));
        memset(tr->acc + w - hop, 0, sizeof(double) * hop);
    }
    memmove(ch->frame, ch->frame + hop, sizeof(double) * (w - hop));
    memmove(ch->given, ch->given + hop, (size_t)(w - hop));
}

/* Channel c's hop on lane ln, the three steps in turn (no hedge: a lane
 * solves its channels one after the other).  Touches only the channel's
 * own state and the lane's scratch, so lanes run in parallel and the
 * output does not depend on their number. */
static void channel_hop(rtd_state *st, lane *ln, int c, int after)
{
    hop_prepare(st, ln, c);
    if (st->ch[c].hs.solve) {
        double t0 = st->call_deadline > 0.0 ? rtd_now() : 0.0;
        for (int t = 0; t < st->tracks; t++)
            hop_solve(st, ln, c, t, channel_deadline(st, ln, after, t0));
        int used, cut;
        hop_totals(st, &st->ch[c], &used, &cut);
        note_step_time(ln, t0, cut, used);
    }
    hop_finish(st, ln, c);
}

/* With a hedge, lane l's solves: units l, l + lanes, ... of channels x
 * (hedge) trajectories (unit k = channel k % channels, its (k /
 * channels)-th trajectory: trajectory-major, so the channels' trajectory 0
 * fall on different lanes, as without a hedge, and a frame whose members
 * do not part, so that only trajectory 0 solves, is not left to one lane).
 * With second_solve trajectory 1 reads trajectory 0's result, so it is no
 * unit of its own: trajectory 0's unit solves both in turn, and the units
 * are the hedge's trajectories 0, 2, 3, ... (as many as lane_count
 * counts, so each lane gets its share). */
static void lane_solves(rtd_state *st, lane *ln, int l)
{
    const int L = st->lanes, C = st->cfg.channels, per = st->tracks - st->second, n = C * per;
    for (int k = l; k < n; k += L) {
        const int c = k % C, j = k / C, t = j == 0 ? 0 : j + st->second;
        const hop_step *hs = &st->ch[c].hs;
        if (!hs->solve) continue;
        double t0 = st->call_deadline > 0.0 ? rtd_now() : 0.0;
        const double deadline = channel_deadline(st, ln, (n - 1 - k) / L, t0);
        hop_solve(st, ln, c, t, deadline);
        int used = hs->res[t].iterations, cut = hs->res[t].cut;
        if (st->second && t == 0) {
            hop_solve(st, ln, c, 1, deadline);
            used += hs->res[1].iterations;
            cut |= hs->res[1].cut;
        }
        note_step_time(ln, t0, cut, used);
    }
}

/* Lane l's share of a hop's step (st->step): its channels l, l + lanes,
 * ... in order, or its solves. */
static void lane_hop(void *ctx, int l)
{
    rtd_state *st = ctx;
    lane *ln = &st->lane[l];
    const int C = st->cfg.channels, L = st->lanes;
    switch (st->step) {
    case STEP_PREPARE:
        for (int c = l; c < C; c += L) hop_prepare(st, ln, c);
        break;
    case STEP_SOLVE:
        lane_solves(st, ln, l);
        break;
    case STEP_FINISH:
        for (int c = l; c < C; c += L) hop_finish(st, ln, c);
        break;
    default:
        for (int c = l; c < C; c += L) channel_hop(st, ln, c, (C - 1 - c) / L);
    }
}

static void run_lanes(rtd_state *st)
{
    if (st->pool)
        rtd_workers_run(st->pool);
    else
        lane_hop(st, 0);
}

/* Whether this hop needs the hedge's passes: members that may solve (a
 * hedge made and not turned down to off: the plug-ins' control at 0, the
 * live governor's drop; during a fade the ones left out no longer solve)
 * and some channel with a smeared rail in use, where they may part from
 * trajectory 0.  Otherwise (exact rails, every hop before a rail is found,
 * a hedge turned off) no member solves, and a hop of passes would only add
 * two waits of the lanes; each lane runs its own channels whole instead,
 * as without a hedge.  The output is the same either way (the same steps
 * in the same order per channel): only the lanes' share of the work
 * differs. */
static int hedge_passes(const rtd_state *st)
{
    if (!st->hedge_made || st->use_given || st->keep - st->second < 2) return 0;
    for (int c = 0; c < st->cfg.channels; c++)
        if (rails_smeared(&st->ch[c])) return 1;
    return 0;
}

/* One complete hop on every channel, the lanes in parallel: each channel
 * whole, or while a smeared rail is hedged step by step (the solves of
 * every channel and trajectory spread over the lanes). */
static void run_frame(rtd_state *st)
{
    if (hedge_passes(st)) {
        for (int step = STEP_PREPARE; step <= STEP_FINISH; step++) {
            st->step = step;
            run_lanes(st);
        }
    } else {
        st->step = STEP_WHOLE;
        run_lanes(st);
    }
    /* the FIFO counts move here, on the caller's thread, after every lane
     * is done: process() reads them */
    for (int c = 0; c < st->cfg.channels; c++)
        st->ch[c].fifo_count += st->hop;
    if (st->fade_len > 0 && ++st->fade_done * st->hop >= st->fade_len) {
        st->tracks = st->keep;   /* the fade to fewer trajectories is over */
        st->fade_len = 0;
    }
}

/* Levels in use with auto_threshold (smear_choose). */
static void auto_levels(channel *ch)
{
    double lv[2];
    clip_estimator_levels(&ch->est, &lv[0], &lv[1]);
    smear_choose(&ch->sm, ch->est.hits, RTD_MIN_HITS, lv, ch->method, ch->width);
    ch->pos = lv[0];
    ch->neg = lv[1];
}

/* After auto_levels on every channel: a channel with no rail at all takes
 * another channel's codec-smeared rail (smear_adopt), and a hump that
 * another channel's exact rail contradicts is dropped. */
static void levels_across_channels(rtd_state *st)
{
    for (int c = 0; c < st->cfg.channels; c++) {
        channel *ch = &st->ch[c];
        smear_adopt_across(&st->ch[0].sm, sizeof(channel), st->cfg.channels, c,
                           &ch->pos, &ch->neg, ch->method, ch->width);
    }
    smear_veto_false_humps(st->cfg.channels, sizeof(channel), &st->ch[0].pos, &st->ch[0].neg,
                           st->ch[0].method, st->ch[0].width);
}

static void process(rtd_state *st, const void *in, const int8_t *given, void *out, int frames,
                    int is_float)
{
    const int C = st->cfg.channels, w = st->w, hop = st->hop;
    st->call_deadline = st->time_limit > 0.0 ? rtd_now() + st->time_limit : 0.0;
    int done = 0;
    while (done < frames) {
        int n = hop - st->fill;
        if (n > frames - done) n = frames - done;
        for (int c = 0; c < C; c++) {
            channel *ch = &st->ch[c];
            double *dst = ch->frame + (w - hop) + st->fill;
            for (int i = 0; i < n; i++) {
                size_t idx = (size_t)(done + i) * C + c;
                double y = is_float ? (double)((const float *)in)[idx] : ((const double *)in)[idx];
                if (!isfinite(y)) {
                    /* a live stream must not stop: replace, count, and keep
                     * the sample out of the clip estimate and the solver */
                    y = 0.0;
                    st->nonfinite_samples++;
                } else {
                    /* an Opus encoder's DC reject undone before anything
                     * reads the rails (rtd_set_dc_restore; off: y as is) */
                    y = dc_restore_push(&ch->dc, y);
                    if (st->cfg.auto_threshold) {
                        clip_estimator_push(&ch->est, y);
                        smear_push(&ch->sm, y, st->sm_scratch);
                        rail_watch_push(&ch->rw, &ch->est, &ch->sm, y, st->sm_scratch);
                    }
                }
                dst[i] = y;
            }
            if (given) {
                int8_t *g = ch->given + (w - hop) + st->fill;
                for (int i = 0; i < n; i++) {
                    int8_t m = given[(size_t)(done + i) * C + c];
                    g[i] = m > 0 ? 1 : m < 0 ? -1 : 0;
                }
            }
        }
        /* the levels are chosen where a hop ends, from the samples up to
         * it, whatever the block sizes: the estimator's choices (held
         * rails, switches) must not depend on how often a caller calls
         * (fuzz_process found a stream in blocks of 219 that differed) */
        const int at_hop = st->fill + n == hop;
        if (st->cfg.auto_threshold && at_hop)
            for (int c = 0; c < C; c++) auto_levels(&st->ch[c]);
        if (at_hop && st->cfg.auto_threshold &&
            rail_watch_together((char *)&st->ch[0].rw, sizeof(channel), C,
                                offsetof(channel, est) - offsetof(channel, rw),
                                offsetof(channel, sm) - offsetof(channel, rw)))
            for (int c = 0; c < C; c++) auto_levels(&st->ch[c]);
        if (at_hop && st->cfg.auto_threshold && C > 1) levels_across_channels(st);
        if (at_hop && st->cfg.auto_threshold && st->codec != RTD_CODEC_UNKNOWN)
            for (int c = 0; c < C; c++) {
                channel *ch = &st->ch[c];
                smear_codec_family(&ch->sm, st->codec, &ch->pos, &ch->neg, ch->method, ch->width);
            }
        if (at_hop && st->cfg.auto_threshold && st->cfg.heavy_width > 1.0)
            for (int c = 0; c < C; c++) {
                channel *ch = &st->ch[c];
                smear_heavy_width(&ch->sm, st->cfg.heavy_width, &ch->pos, &ch->neg, ch->method,
                                  ch->width);
            }
        if (at_hop && st->cfg.auto_threshold)
            for (int c = 0; c < C; c++)
                rail_watch_levels(&st->ch[c].rw, st->ch[c].pos, st->ch[c].neg, st->ch[c].width,
                                  st->ch[c].method, &st->ch[c].sm);
        st->fill += n;
        if (st->fill == hop) {
            run_frame(st);
            st->fill = 0;
        }
        for (int c = 0; c < C; c++) {
            channel *ch = &st->ch[c];
            for (int i = 0; i < n; i++) {
                size_t idx = (size_t)(done + i) * C + c;
                /* high-passed while an Opus DC reject is undone (off: v) */
                double v = dc_restore_out(&ch->dc, ch->fifo[ch->fifo_rd]);
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
    st->samples_in += frames;
}

void rtd_process_double(rtd_state *st, const double *in, double *out, int frames)
{
    if (st->soc) social_process(st->soc, in, out, frames, 0);
    else process(st, in, NULL, out, frames, 0);
}

int rtd_process_given_double(rtd_state *st, const double *in, const int8_t *given,
                             double *out, int frames)
{
    if (st->soc) return RTD_ERR_ALGORITHM;   /* the social solver keeps its own sets */
    st->use_given = 1;
    process(st, in, given, out, frames, 0);
    return 0;
}

void rtd_process_float(rtd_state *st, const float *in, float *out, int frames)
{
    if (st->soc) social_process(st->soc, in, out, frames, 1);
    else process(st, in, NULL, out, frames, 1);
}

int rtd_latency(const rtd_state *st) { return st->soc ? social_latency(st->soc) : st->latency; }

int rtd_channels(const rtd_state *st) { return st->cfg.channels; }

void rtd_set_thresholds(rtd_state *st, int c, double pos, double neg)
{
    if (st->soc) {
        social_set_thresholds(st->soc, c, pos, neg);
        return;
    }
    if (c < 0 || c >= st->cfg.channels) return;
    st->ch[c].fixed_pos = st->ch[c].pos = pos;
    st->ch[c].fixed_neg = st->ch[c].neg = neg;
}

void rtd_get_detection(const rtd_state *st, int c, int *method_pos, int *method_neg,
                       double *width_pos, double *width_neg)
{
    if (c < 0 || c >= st->cfg.channels) return;
    if (st->soc) {
        social_get_detection(st->soc, c, method_pos, method_neg, width_pos, width_neg);
        return;
    }
    *method_pos = st->ch[c].method[0];
    *method_neg = st->ch[c].method[1];
    *width_pos = st->ch[c].width[0];
    *width_neg = st->ch[c].width[1];
}

void rtd_get_thresholds(const rtd_state *st, int c, double *pos, double *neg)
{
    if (st->soc) {
        social_get_thresholds(st->soc, c, pos, neg);
        return;
    }
    if (c < 0 || c >= st->cfg.channels) return;
    *pos = st->ch[c].pos;
    *neg = st->ch[c].neg;
}

void rtd_set_max_iterations(rtd_state *st, int n)
{
    if (st->soc) social_set_max_iterations(st->soc, n);
    else st->budget = n < 0 ? 0 : n;
}
int rtd_set_hedge(rtd_state *st, int n)
{
    if (st->soc || !st->hedge_made) return 1;
    if (n > st->hedge_made) n = st->hedge_made;
    st->hedge_on = n >= 2;
    /* with second_solve its trajectory stays averaged in: off is the
     * preset's pair, n the pair and n - 1 more members */
    const int used = n < 2 ? 1 : n;
    const int next = used + st->second;
    if (next == st->keep) return used;   /* as it is (a fade to it goes on) */
    /* a fade still running ends here */
    st->tracks = st->keep;
    st->fade_len = 0;
    const int w = st->w, now = st->tracks;
    if (next < now && st->samples_in > 0) {
        /* fewer: the ones left out keep running while the output moves to
         * the mean of the rest over one window (a step at once would jump
         * by the difference of the means near the rails) */
        st->keep = next;
        st->fade_len = st->w;
        st->fade_done = 0;
        return used;
    }
    /* trajectories taken into use continue from the first one's state: the
     * mean of equal trajectories is the first one's output, bit for bit */
    for (int c = 0; c < st->cfg.channels; c++) {
        channel *ch = &st->ch[c];
        const track *t0 = &ch->tr[0];
        for (int t = now; t < next; t++) {
            track *tr = &ch->tr[t];
            memcpy(tr->acc, t0->acc, sizeof(double) * w);
            memcpy(tr->prev, t0->prev, sizeof(double) * w);
            memcpy(tr->done, t0->done, sizeof(double) * w);
            tr->prev_valid = t0->prev_valid;
            if (tr->prior[0])
                memcpy(tr->prior[0], t0->prior[0], prior_bytes(&st->cfg));
        }
    }
    st->tracks = st->keep = next;
    return used;
}

int rtd_get_max_iterations(const rtd_state *st)
{
    return st->soc ? social_get_max_iterations(st->soc) : st->budget;
}

/* The lanes' counters summed (called between process calls). */
void rtd_get_stats(const rtd_state *st, rtd_stats *s)
{
    if (st->soc) {
        social_get_stats(st->soc, s);
        return;
    }
    memset(s, 0, sizeof *s);
    s->samples_in = st->samples_in;
    s->nonfinite_samples = st->nonfinite_samples;
    for (int c = 0; c < st->cfg.channels; c++) s->rail_switches += st->ch[c].rw.switches;
    for (int l = 0; l < st->lanes; l++) {
        const rtd_stats *t = &st->lane[l].stats;
        s->frames_solved += t->frames_solved;
        s->frames_skipped += t->frames_skipped;
        s->frames_converged += t->frames_converged;
        s->iterations += t->iterations;
        if (t->max_frame_iterations > s->max_frame_iterations)
            s->max_frame_iterations = t->max_frame_iterations;
        s->clipped_samples += t->clipped_samples;
        s->frames_cut += t->frames_cut;
        s->pooled_iterations += t->pooled_iterations;
        s->hedge_solves += t->hedge_solves;
    }
}

int rtd_solve_frame(rtd_state *st, const double *y, const int8_t *mask, double *x)
{
    if (st->soc) return social_declip_block(st->soc, y, mask, st->cfg.window, x);
    spade_job job = {.budget = st->budget, .deadline = 0.0, .k0 = st->cfg.s, .x0 = NULL};
    spade_result res;
    spade_solve(st->lane[0].sp, y, mask, &job, x, &res);
    return res.iterations;
}

void rtd_get_windows(const rtd_state *st, double *analysis, double *synthesis)
{
    if (st->soc) { /* its frame is internal */
        memset(analysis, 0, sizeof(double) * st->cfg.window);
        memset(synthesis, 0, sizeof(double) * st->cfg.window);
        return;
    }
    memcpy(analysis, st->ana, sizeof(double) * st->w);
    memcpy(synthesis, st->syn, sizeof(double) * st->w);
}

double rtd_time_transforms(rtd_state *st, int n, int fftw_real)
{
    return st->soc ? -1.0 : spade_time_transforms(st->lane[0].sp, n, fftw_real);
}

/* smear.h's names for the families are the header's */
typedef char rtd_codec_names_agree[(RTD_CODEC_OPUS == RTD_SM_CODEC_OPUS &&
                                    RTD_CODEC_UNKNOWN == RTD_SM_CODEC_UNKNOWN) ? 1 : -1];

int rtd_set_codec(rtd_state *st, int family)
{
    const int known = family == RTD_CODEC_OPUS ? family : RTD_CODEC_UNKNOWN;
    if (st->soc) social_set_codec(st->soc, known);
    else st->codec = known;
    return known;
}

int rtd_set_dc_restore(rtd_state *st, double cutoff_hz, double sample_rate)
{
    const double a = dc_restore_coef(cutoff_hz, sample_rate), pole = dc_restore_pole(sample_rate);
    if (st->soc) {
        social_set_dc_restore(st->soc, a, pole);
        return RTD_OK;
    }
    for (int c = 0; c < st->cfg.channels; c++) dc_restore_set(&st->ch[c].dc, a, pole);
    return RTD_OK;
}

int rtd_dc_restore_tripped(const rtd_state *st)
{
    if (st->soc) return social_dc_restore_tripped(st->soc);
    int n = 0;
    for (int c = 0; c < st->cfg.channels; c++) n += st->ch[c].dc.tripped;
    return n;
}

void rtd_set_sample_rate(rtd_state *st, double rate)
{
    rate = rate > 0.0 && isfinite(rate) ? rate : 0.0;
    if (st->soc) {
        social_set_sample_rate(st->soc, rate);
        return;
    }
    st->sample_rate = rate;
    for (int c = 0; c < st->cfg.channels; c++) {
        smear_set_rate(&st->ch[c].sm, rate);
        smear_set_rate(&st->ch[c].rw.sm, rate);
    }
}

void rtd_set_time_limit(rtd_state *st, double seconds)
{
    st->time_limit = (seconds > 0.0 && isfinite(seconds)) ? seconds : 0.0;
}

int rtd_threads(const rtd_state *st) { return st->soc ? 1 : st->lanes; }

int rtd_match_worker_scheduling(rtd_state *st) { return rtd_workers_match_caller(st->pool); }

double rtd_worker_cpu_seconds(const rtd_state *st, int lane)
{
    return rtd_workers_cpu_seconds(st->pool, lane);
}
