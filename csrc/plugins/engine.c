/* engine.c -- see engine.h. */
#include "engine.h"
#include "limiter.h"
#include "presets.h"
#include "rtdeclip.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STATES 16  /* real-time presets x 2 clip-level modes */
/* FFTW planning rigour: ESTIMATE.  MEASURE picks algorithms by timing, so
 * two processes can round differently (with single-precision transforms
 * the solver's hard thresholding turns that into audible-level
 * differences: ffmpeg runs differed from each other by 0.11 at the same
 * wisdom); ESTIMATE is deterministic and instantiates at once.  FFTW
 * takes a plan from wisdom of any rigour when it has one for the problem,
 * so an ESTIMATE build reads no wisdom (the Python Declipper with
 * plan="estimate" reads none either): the plans, and the output, do not
 * depend on what an earlier "measure" run left in the cache.  The output
 * equals Declipper(..., plan="estimate") to float precision. */
#ifndef RTDP_PLAN
#define RTDP_PLAN RTD_PLAN_ESTIMATE
#endif

/* symbol, name, min, max, default, integer, toggled.  Every control but
 * the preset is the same in both families. */
#define RTDP_COMMON_CONTROLS \
    {"clip_mode", "Clip level (0 auto, 1 fixed)", 0, 1, 0, 1, 0}, \
    {"clip_pos_db", "Fixed positive clip level (dBFS)", -60, 0, 0, 0, 0}, \
    {"clip_neg_db", "Fixed negative clip level (dBFS)", -60, 0, 0, 0, 0}, \
    {"gain_db", "Output gain (dB)", -24, 24, 0, 0, 0}, \
    {"limiter", "Limiter", 0, 1, 0, 0, 1}, \
    {"ceiling_db", "Limiter ceiling (dBFS)", -20, 0, 0, 0, 0}, \
    {"enabled", "Enabled (0 bypass)", 0, 1, 1, 0, 1},

/* the rows the families share in part: the standard preset port, the
 * hedge, and the codec control (Opus's own width, rtd_set_codec) */
#define RTDP_PRESET_STANDARD {"preset", "Preset (0 average, 1 fastest)", 0, 1, 0, 1, 0},
#define RTDP_HEDGE_CONTROL {"hedge", "Hedge a smeared rail (0 off, 2-5 widths)", 0, RTD_HEDGE_MAX, 0, 1, 0},
#define RTDP_CODEC_CONTROL {"codec", "Decoded from (0 unknown or other, 1 Opus)", 0, 1, 0, 1, 0},

const rtdp_control_info rtdp_control_table[RTDP_N_CONTROLS] = {
    RTDP_PRESET_STANDARD
    RTDP_COMMON_CONTROLS
    RTDP_HEDGE_CONTROL
    RTDP_CODEC_CONTROL
};

/* The low-latency family: the same ports (the hedge, since 2026-12-05
 * fourteenth session, beside lowlatency's second solve), but the preset
 * port has one value, 2 (lowlatency's index among the real-time presets, which
 * rtdp_create checks against the table): hosts show it as fixed, reject
 * (ffmpeg) or clamp other values, and a port-by-port layout is the same
 * for both families. */
const rtdp_control_info rtdp_control_table_lowlatency[RTDP_N_CONTROLS] = {
    {"preset", "Preset (2 lowlatency, fixed)", 2, 2, 2, 1, 0},
    RTDP_COMMON_CONTROLS
    RTDP_HEDGE_CONTROL
    RTDP_CODEC_CONTROL
};

/* The voice family: the standard ports; its codec control's 1 undoes the
 * Opus encoder's DC reject only, at the 16 kHz source's rate, as
 * Declipper(source_rate=16000, codec="opus") does: Opus's own width was
 * measured on full-band audio, and a 16 kHz voice is coded in its voice
 * modes. */
const rtdp_control_info rtdp_control_table_voice[RTDP_N_CONTROLS] = {
    RTDP_PRESET_STANDARD
    RTDP_COMMON_CONTROLS
    RTDP_HEDGE_CONTROL
    {"codec", "Decoded from (0 unknown or other, 1 Opus: its DC reject undone)", 0, 1, 0, 1, 0},
};

/* The lossy family: the standard ports, hedged 2 ways by default (a
 * Declipper's own hedge for fastest and average, which it runs told a
 * lossy codec), up to 4: LADSPA says a default only as a point of the
 * range (its middle here), and 2 is no such point of 0..5; 0 of the codec
 * control is any lossy codec but Opus. */
const rtdp_control_info rtdp_control_table_lossy[RTDP_N_CONTROLS] = {
    RTDP_PRESET_STANDARD
    RTDP_COMMON_CONTROLS
    {"hedge", "Hedge a smeared rail (0 off, 2-4 widths)", 0, 4, 2, 1, 0},
    {"codec", "Decoded from (0 MP3, AAC, Vorbis or unknown, 1 Opus)", 0, 1, 0, 1, 0},
};

const rtdp_control_info *rtdp_controls_of(int family)
{
    return family == RTDP_LOWLATENCY ? rtdp_control_table_lowlatency
         : family == RTDP_VOICE ? rtdp_control_table_voice
         : family == RTDP_LOSSY ? rtdp_control_table_lossy : rtdp_control_table;
}

typedef struct {
    float *buf; /* len frames x C */
    int len, pos;
} delay_line;

struct rtdp {
    int C;
    double rate;
    const rtdp_control_info *table; /* the family's controls */
    int nstates, npresets;
    int first_preset;           /* real-time preset index of state 0/1 */
    rtd_state *st[MAX_STATES];
    rtd_rate *rs[MAX_STATES];   /* RTDP_VOICE: st[k] run through it at 16 kHz */
    rtd_state *inner[MAX_STATES]; /* RTDP_LOSSY, auto states: the second pass's */
    rtd_named *ns[MAX_STATES];  /* ... chain st[k] -> inner[k] (run instead of st[k]) */
    int window[MAX_STATES], lat[MAX_STATES]; /* host samples */
    delay_line pad[MAX_STATES]; /* evens the states' latencies out */
    int core_latency;           /* the largest state latency */
    int active, pending;        /* state indices; pending -1 = none */
    int hedge;                  /* the hedge control in use (auto states) */
    int codec;                  /* the codec control in use (auto states) */
    double solver_rate;         /* the states' rate (the source's in a rate chain) */
    long primed;                /* samples fed to the pending state */
    int fresh;                  /* nothing processed since activate */
    rtd_limiter *lim;
    delay_line dry;
    float *xin, *wet, *tmp;     /* RTDP_CHUNK x C, interleaved */
    double gain;                /* linear, as applied at the end of the last chunk */
    double mix;                 /* 1 wet, 0 dry */
    double fixed_pos, fixed_neg;
    /* meters */
    rtd_stats snap;
    long meter_fill, meter_period;
    float ratio, iters;
};

static float control_value(const rtdp *p, const float *v, int i)
{
    const rtdp_control_info *c = &p->table[i];
    if (!v || isnan(*v)) return c->def;
    float x = *v;
    if (x < c->min) x = c->min;
    if (x > c->max) x = c->max;
    return x;
}

void rtdp_default_controls(rtdp_controls *ctl, int family)
{
    const rtdp_control_info *t = rtdp_controls_of(family);
    float *f = (float *)ctl;
    for (int i = 0; i < RTDP_N_CONTROLS; i++) f[i] = t[i].def;
}

/* ---- delay lines -------------------------------------------------------- */

static int delay_init(delay_line *d, int len, int C)
{
    d->len = len;
    d->pos = 0;
    d->buf = len > 0 ? calloc((size_t)len * C, sizeof(float)) : NULL;
    return len == 0 || d->buf != NULL;
}

static void delay_reset(delay_line *d, int C)
{
    if (d->len) memset(d->buf, 0, sizeof(float) * (size_t)d->len * C);
    d->pos = 0;
}

/* in place: x (frames x C) comes out `len` frames later */
static void delay_run(delay_line *d, float *x, int frames, int C)
{
    if (!d->len) return;
    for (int n = 0; n < frames; n++) {
        float *slot = d->buf + (size_t)d->pos * C, *fr = x + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            float t = slot[c];
            slot[c] = fr[c];
            fr[c] = t;
        }
        if (++d->pos == d->len) d->pos = 0;
    }
}

/* ---- wisdom ------------------------------------------------------------- */

/* The Python package's FFTW wisdom (RTDECLIP_WISDOM or
 * ~/.cache/rtdeclip/fftw-wisdom), read once per process by a build that
 * plans with MEASURE (-DRTDP_PLAN=RTD_PLAN_MEASURE), so its plans at
 * instantiate are quick; an ESTIMATE build (the default) reads none, see
 * RTDP_PLAN above.  Never written from a plug-in. */
static pthread_once_t wisdom_once = PTHREAD_ONCE_INIT;
static void load_wisdom(void)
{
    char path[4096];
    const char *env = getenv("RTDECLIP_WISDOM"), *home = getenv("HOME");
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.cache/rtdeclip/fftw-wisdom", home);
    else
        return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    fclose(f);
    rtd_wisdom_load(path);
}

/* ---- create / destroy --------------------------------------------------- */

/* The lossy family's second pass after auto state k, made as the Python
 * Declipper makes it (rtdeclip/core/named_stream.py, stream_chain: the
 * core's rtd_named_inner_config).  0 on failure. */
static int second_pass(rtdp *p, int k, const rtd_config *first)
{
    rtd_config cfg;
    if (rtd_named_inner_config(first, RTDP_LOSSY_SHARES, &cfg) != RTD_OK) return 0;
    int err;
    p->inner[k] = rtd_create(&cfg, &err);
    if (!p->inner[k]) return 0;
    p->ns[k] = rtd_named_create(p->st[k], p->inner[k], first->channels, RTDP_LOSSY_SHARES, &err);
    return p->ns[k] != NULL;
}

rtdp *rtdp_create(double sample_rate, int channels, int family)
{
    if (channels < 1 || channels > RTDP_MAX_CHANNELS || !(sample_rate >= 1000.0) ||
        !(sample_rate <= 768000.0))
        return NULL;
    /* the voice family: the host's rate an integer multiple of 16 kHz the
     * rate chain takes (2, 3, 4 or 6) */
    int factor = 1;
    if (family == RTDP_VOICE) {
        double f = sample_rate / RTDP_VOICE_RATE;
        factor = (int)lrint(f);
        if (fabs(f - factor) > 1e-9 || !(factor == 2 || factor == 3 || factor == 4 || factor == 6))
            return NULL;
    }
    const double solver_rate = sample_rate / factor;
    if (RTDP_PLAN != RTD_PLAN_ESTIMATE)
        pthread_once(&wisdom_once, load_wisdom);
    rtdp *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->C = channels;
    p->rate = sample_rate;
    p->table = rtdp_controls_of(family);
    /* the presets the preset port offers (its range), not every real-time
     * one: lowlatency's point is its latency, which one constant-latency
     * instance switching between presets cannot give, so it has a family
     * of its own */
    p->first_preset = (int)p->table[0].min;
    p->npresets = (int)p->table[0].max - p->first_preset + 1;
    if (p->first_preset + p->npresets > rtd_preset_realtime_count())
        p->npresets = rtd_preset_realtime_count() - p->first_preset;
    if (p->npresets > MAX_STATES / 2) p->npresets = MAX_STATES / 2;
    if (p->npresets < 1) goto fail;
    /* the low-latency family's one preset must be the one it is named for */
    if (family == RTDP_LOWLATENCY &&
        rtd_preset_realtime(p->first_preset) != rtd_preset_find("lowlatency"))
        goto fail;
    p->nstates = 2 * p->npresets;
    p->solver_rate = solver_rate;
    for (int k = 0; k < p->nstates; k++) {
        rtd_config cfg;
        rtd_config_default(&cfg);
        if (rtd_preset_config(rtd_preset_realtime(p->first_preset + k / 2), solver_rate, &cfg) !=
            RTD_OK)
            goto fail;
        cfg.channels = channels;
        cfg.auto_threshold = (k % 2) == 0; /* even: auto, odd: fixed levels */
        cfg.plan = RTDP_PLAN;
        /* the auto states make the hedge's trajectories the control may
         * take into use (off until it does: rtd_set_hedge) */
        if (cfg.auto_threshold && p->table[RTDP_CTL_HEDGE].max > 0) cfg.hedge = RTD_HEDGE_MAX;
        int err;
        p->st[k] = rtd_create(&cfg, &err);
        if (!p->st[k]) goto fail;
        rtd_set_hedge(p->st[k], 0);
        rtd_set_sample_rate(p->st[k], solver_rate);
        if (factor > 1) {
            p->rs[k] = rtd_rate_create(p->st[k], channels, factor, &err);
            if (!p->rs[k]) goto fail;
        }
        if (family == RTDP_LOSSY && cfg.auto_threshold && !second_pass(p, k, &cfg))
            goto fail;
        p->window[k] = cfg.window * factor;
        p->lat[k] = p->rs[k] ? rtd_rate_latency(p->rs[k])
                  : p->ns[k] ? rtd_named_latency(p->ns[k]) : rtd_latency(p->st[k]);
        if (p->lat[k] > p->core_latency) p->core_latency = p->lat[k];
    }
    for (int k = 0; k < p->nstates; k++)
        if (!delay_init(&p->pad[k], p->core_latency - p->lat[k], channels)) goto fail;
    p->lim = rtdl_create(sample_rate, channels);
    if (!p->lim) goto fail;
    if (!delay_init(&p->dry, p->core_latency + rtdl_latency(p->lim), channels)) goto fail;
    p->xin = malloc(sizeof(float) * RTDP_CHUNK * channels);
    p->wet = malloc(sizeof(float) * RTDP_CHUNK * channels);
    p->tmp = malloc(sizeof(float) * RTDP_CHUNK * channels);
    if (!p->xin || !p->wet || !p->tmp) goto fail;
    p->meter_period = (long)(sample_rate / 4);
    rtdp_activate(p);
    return p;
fail:
    rtdp_destroy(p);
    return NULL;
}

void rtdp_destroy(rtdp *p)
{
    if (!p) return;
    for (int k = 0; k < MAX_STATES; k++) {
        if (p->rs[k]) rtd_rate_destroy(p->rs[k]);
        if (p->ns[k]) rtd_named_destroy(p->ns[k]);   /* before the states it chains */
        if (p->inner[k]) rtd_destroy(p->inner[k]);
        if (p->st[k]) rtd_destroy(p->st[k]);
        free(p->pad[k].buf);
    }
    rtdl_destroy(p->lim);
    free(p->dry.buf);
    free(p->xin);
    free(p->wet);
    free(p->tmp);
    free(p);
}

/* The stream rule for a level given by hand (rtdeclip/core/levels.py,
 * for_stream): lowered in magnitude by 0.01 dB (a display's resolution), so
 * a level read off a meter rounded to 0.01 dB still finds the rail it names. */
static double stream_level(double v)
{
    double tol = fabs(v) * (1.0 - pow(10.0, -0.01 / 20.0));
    return v > 0 ? v - tol : v + tol;
}

static void set_fixed_levels(rtdp *p, double pos, double neg)
{
    p->fixed_pos = pos;   /* as given: a changed control is noticed */
    p->fixed_neg = neg;
    for (int k = 1; k < p->nstates; k += 2)
        for (int c = 0; c < p->C; c++)
            rtd_set_thresholds(p->st[k], c, stream_level(pos), stream_level(neg));
}

/* State k back to silence (with its rate chain, RTDP_VOICE, or its second
 * pass, RTDP_LOSSY). */
static void state_reset(rtdp *p, int k)
{
    rtd_reset(p->st[k]);
    if (p->rs[k]) rtd_rate_reset(p->rs[k]);
    if (p->ns[k]) {
        rtd_reset(p->inner[k]);
        rtd_named_reset(p->ns[k]);
    }
    delay_reset(&p->pad[k], p->C);
}

/* State k on n interleaved frames at the host's rate. */
static void state_process(rtdp *p, int k, const float *in, float *out, int n)
{
    if (p->rs[k])
        rtd_rate_process_float(p->rs[k], in, out, n);
    else if (p->ns[k])
        rtd_named_process_float(p->ns[k], in, out, n);
    else
        rtd_process_float(p->st[k], in, out, n);
}

void rtdp_activate(rtdp *p)
{
    for (int k = 0; k < p->nstates; k++)
        state_reset(p, k);
    set_fixed_levels(p, 1.0, -1.0);
    rtdl_reset(p->lim);
    delay_reset(&p->dry, p->C);
    p->active = 0;
    p->pending = -1;
    p->primed = 0;
    p->fresh = 1;
    p->gain = 1.0;
    p->mix = 1.0;
    rtd_get_stats(p->st[0], &p->snap);
    p->meter_fill = 0;
    p->ratio = p->iters = 0.0f;
}

int rtdp_latency(const rtdp *p) { return p->core_latency + rtdl_latency(p->lim); }
int rtdp_channels(const rtdp *p) { return p->C; }

/* ---- run ---------------------------------------------------------------- */

/* a double to float without overflowing to Inf: huge but finite input
 * (1e38) times +24 dB of gain, or the difference of two such samples in
 * the bypass fade, stays finite */
static inline float saturate(double v)
{
    return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
}

static void update_meters(rtdp *p, int frames)
{
    p->meter_fill += frames;
    if (p->meter_fill < p->meter_period) return;
    rtd_stats s;
    rtd_get_stats(p->st[p->active], &s);
    double samples = (double)(s.samples_in - p->snap.samples_in) * p->C;
    double solved = (double)(s.frames_solved - p->snap.frames_solved);
    p->ratio = samples > 0 ? (float)((s.clipped_samples - p->snap.clipped_samples) / samples) : 0.0f;
    p->iters = solved > 0 ? (float)((s.iterations - p->snap.iterations) / solved) : 0.0f;
    p->snap = s;
    p->meter_fill = 0;
}

static float to_db(double level)
{
    double a = fabs(level);
    return isfinite(a) && a > 0 ? (float)(20.0 * log10(a)) : 0.0f;
}

static void write_meters(rtdp *p, rtdp_meters *m)
{
    m->latency = (float)rtdp_latency(p);
    for (int c = 0; c < RTDP_MAX_CHANNELS; c++) {
        double pos = HUGE_VAL, neg = -HUGE_VAL;
        if (c < p->C) rtd_get_thresholds(p->st[p->active], c, &pos, &neg);
        m->level_pos_db[c] = to_db(pos);
        m->level_neg_db[c] = to_db(neg);
    }
    m->clipped_ratio = p->ratio;
    m->iterations = p->iters;
}

/* The hedge control on state k (auto levels only: even k; a fixed-level
 * state has nothing to hedge).  Copies only: no allocation. */
static void apply_hedge(rtdp *p, int k)
{
    if (k % 2 == 0) rtd_set_hedge(p->st[k], p->hedge);
}

static void run_chunk(rtdp *p, const rtdp_controls *ctl, const float *const *in,
                      float *const *out, unsigned long off, int n)
{
    const int C = p->C;
    const float *cv = (const float *)ctl;
    /* which state: preset x clip mode */
    int preset = (int)lrintf(control_value(p, ctl ? &cv[0] : NULL, 0)) - p->first_preset;
    if (preset >= p->npresets) preset = p->npresets - 1;
    if (preset < 0) preset = 0;
    int fixed = control_value(p, ctl ? &cv[1] : NULL, 1) >= 0.5f;
    int target = 2 * preset + fixed;
    double pos = pow(10.0, control_value(p, ctl ? &cv[2] : NULL, 2) / 20.0);
    double neg = -pow(10.0, control_value(p, ctl ? &cv[3] : NULL, 3) / 20.0);
    if (pos != p->fixed_pos || neg != p->fixed_neg) set_fixed_levels(p, pos, neg);
    double gain = pow(10.0, control_value(p, ctl ? &cv[4] : NULL, 4) / 20.0);
    int limit = control_value(p, ctl ? &cv[5] : NULL, 5) >= 0.5f;
    double ceiling = pow(10.0, control_value(p, ctl ? &cv[6] : NULL, 6) / 20.0);
    double want_mix = control_value(p, ctl ? &cv[7] : NULL, 7) >= 0.5f ? 1.0 : 0.0;
    int hedge = (int)lrintf(control_value(p, ctl ? &cv[RTDP_CTL_HEDGE] : NULL, RTDP_CTL_HEDGE));
    int codec = (int)lrintf(control_value(p, ctl ? &cv[RTDP_CTL_CODEC] : NULL, RTDP_CTL_CODEC));
    if (codec != p->codec) {
        /* every auto state at once (a store each: real-time safe), so a
         * preset switch finds it set */
        p->codec = codec;
        for (int k = 0; k < p->nstates; k += 2) {
            /* Opus's own width on full-band audio only (not through a rate
             * chain: the voice family) */
            rtd_set_codec(p->st[k], codec == 1 && !p->rs[k] ? RTD_CODEC_OPUS : RTD_CODEC_UNKNOWN);
            /* and its encoder's DC reject undone from here on (m starts at
             * 0: set before the stream starts, as a host does from the
             * control's initial value) */
            if (p->ns[k])   /* a second pass: on the chain's input (rtdeclip.h) */
                rtd_named_set_dc_restore(p->ns[k], codec == 1 ? RTD_OPUS_DC_CUTOFF_HZ : 0.0,
                                         p->solver_rate);
            else
                rtd_set_dc_restore(p->st[k], codec == 1 ? RTD_OPUS_DC_CUTOFF_HZ : 0.0,
                                   p->solver_rate);
        }
    }
    if (hedge != p->hedge) {
        /* the states running now; the others take it when they start
         * (trajectories taken into use copy the first: no gap) */
        p->hedge = hedge;
        apply_hedge(p, p->active);
        if (p->pending >= 0) apply_hedge(p, p->pending);
    }

    if (p->fresh) {
        /* first audio since activate: every state is as fresh as the
         * other, take the chosen one at once (and gain and bypass) */
        p->active = target;
        apply_hedge(p, target);
        p->gain = gain;
        p->mix = want_mix;
        p->fresh = 0;
        rtd_get_stats(p->st[target], &p->snap);
    }
    if (target == p->active) {
        p->pending = -1;
    } else if (target != p->pending) {
        p->pending = target;
        state_reset(p, target);
        apply_hedge(p, target);
        p->primed = 0;
    }

    /* interleave; the core replaces NaN/Inf itself, the dry path here */
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) {
            float v = in[c] ? in[c][off + i] : 0.0f;
            p->xin[i * C + c] = v;
        }
    state_process(p, p->active, p->xin, p->wet, n);
    delay_run(&p->pad[p->active], p->wet, n, C);
    if (p->pending >= 0) {
        state_process(p, p->pending, p->xin, p->tmp, n);
        delay_run(&p->pad[p->pending], p->tmp, n, C);
        p->primed += n;
        if (p->primed >= (long)p->window[p->pending] + p->core_latency) {
            p->active = p->pending; /* from the next chunk on */
            p->pending = -1;
            rtd_get_stats(p->st[p->active], &p->snap);
            p->meter_fill = 0;
        }
    }
    /* output gain, ramped over the chunk when it changes */
    if (gain != p->gain) {
        double g0 = p->gain, step = (gain - g0) / n;
        for (int i = 0; i < n; i++) {
            double g = g0 + step * (i + 1);
            for (int c = 0; c < C; c++) p->wet[i * C + c] = saturate(p->wet[i * C + c] * g);
        }
        p->gain = gain;
    } else if (gain != 1.0) {
        for (int i = 0; i < n * C; i++) p->wet[i] = saturate(p->wet[i] * gain);
    }
    rtdl_process(p->lim, p->wet, n, limit, ceiling);
    /* dry: the input, finite, delayed like the wet path */
    for (int i = 0; i < n * C; i++)
        if (!isfinite(p->xin[i])) p->xin[i] = 0.0f;
    delay_run(&p->dry, p->xin, n, C);
    const double step = 1.0 / (0.01 * p->rate); /* 10 ms cross-fade */
    for (int i = 0; i < n; i++) {
        if (p->mix != want_mix) {
            p->mix += want_mix > p->mix ? step : -step;
            if (p->mix > 1.0) p->mix = 1.0;
            if (p->mix < 0.0) p->mix = 0.0;
        }
        for (int c = 0; c < C; c++) {
            float v;
            if (p->mix >= 1.0)
                v = p->wet[i * C + c];
            else if (p->mix <= 0.0)
                v = p->xin[i * C + c];
            else
                v = saturate(p->xin[i * C + c] +
                             p->mix * ((double)p->wet[i * C + c] - p->xin[i * C + c]));
            if (out[c]) out[c][off + i] = v;
        }
    }
    update_meters(p, n);
}

void rtdp_run(rtdp *p, const rtdp_controls *ctl, const float *const *in, float *const *out,
              unsigned long frames, rtdp_meters *meters)
{
    for (unsigned long off = 0; off < frames; off += RTDP_CHUNK) {
        unsigned long left = frames - off;
        run_chunk(p, ctl, in, out, off, left < RTDP_CHUNK ? (int)left : RTDP_CHUNK);
    }
    if (meters) write_meters(p, meters);
}

int rtdp_meter_ports(const rtdp_meters *m, int C, float *v)
{
    int k = 0;
    v[k++] = m->latency;
    for (int c = 0; c < C; c++) {
        v[k++] = m->level_pos_db[c];
        v[k++] = m->level_neg_db[c];
    }
    v[k++] = m->clipped_ratio;
    v[k++] = m->iterations;
    return k;
}
