/* presets.c -- the preset table of rtdeclip/core/params.py and its rate
 * scaling (rate_budget, rate_schedule, resolve), line for line.
 *
 * Python's round() rounds half to even; so does rint() in the default
 * rounding mode, which is why it is used below instead of lround(). */
#include "presets.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>

/* Same order and values as params.PRESETS (checked by the test); the
 * hedges of fastest (2) and average (2, each solve on 2/3 of the budget)
 * are what Declipper runs by default (the plug-ins take their "hedge"
 * control instead, 0 by default, with the preset's hedge_budget:
 * docs/plugins.md). */
static const rtd_preset PRESETS[] = {
    /* name          w48   hop redund s  r  eps  it48 warm pool precision syn_div
     *                lookahead_hops past_final adapt_s prior_weight second_solve
     *                second_adapt_s second_reliable hedge hedge_budget heavy_width */
    {"highquality", 8192, 4, 2, 1, 1, 0.1, 0, 0, 0, RTD_DOUBLE, 0, 0, 0, 0.0, 0.0, 0, 0.0, 0.0, 0, 1.0, 1.0},
    {"average", 4096, 8, 1, 6, 3, 0.06, 150, 1, 0, RTD_SINGLE, 2, 1, 1, 0.4, 0.15, 0, 0.0, 0.0, 2, 2.0 / 3.0, 1.3},
    {"fastest", 2048, 4, 1, 6, 6, 0.1, 60, 1, 2, RTD_SINGLE, 0, 0, 0, 0.0, 0.0, 0, 0.0, 0.0, 2, 1.0, 1.0},
    {"lowlatency", 1024, 4, 2, 3, 2, 0.07, 85, 1, 2, RTD_SINGLE, 2, 0, 1, 0.3, 0.3, 20, 0.6, 0.3, 0, 1.0, 1.0},
};
#define N_PRESETS ((int)(sizeof PRESETS / sizeof PRESETS[0]))

int rtd_preset_count(void) { return N_PRESETS; }

const rtd_preset *rtd_preset_get(int index)
{
    return index >= 0 && index < N_PRESETS ? &PRESETS[index] : NULL;
}

int rtd_preset_find(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < N_PRESETS; i++) {
        const char *a = PRESETS[i].name, *b = name;
        while (*a && tolower((unsigned char)*b) == *a) a++, b++;
        if (!*a && !*b) return i;
    }
    return -1;
}

int rtd_preset_realtime_count(void)
{
    int n = 0;
    for (int i = 0; i < N_PRESETS; i++) n += PRESETS[i].iterations48 > 0;
    return n;
}

int rtd_preset_realtime(int k)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (PRESETS[i].iterations48 > 0 && k-- == 0) return i;
    return -1;
}

int rtd_rate_budget(int iterations48, double sample_rate)
{
    double f = 48000.0 / sample_rate;
    if (f > 8.0) f = 8.0;
    double n = rint(iterations48 * f);
    return n < 1.0 ? 1 : (int)n;
}

void rtd_rate_schedule(int s48, int r48, int window, int window48, int *s, int *r)
{
    if (window >= window48) {
        *s = s48 * (window / window48);
        *r = r48;
        return;
    }
    double q = (double)window / window48;
    int si = (int)(s48 * q + 0.5);
    if (si < 1) si = 1;
    int ri = (int)(r48 * si / (s48 * q) + 0.5);
    *s = si;
    *r = ri < 1 ? 1 : ri;
}

int rtd_preset_config(int index, double sample_rate, rtd_config *cfg)
{
    const rtd_preset *p = rtd_preset_get(index);
    if (!p) return RTD_ERR_SCHEDULE;
    if (!(sample_rate > 0.0) || !isfinite(sample_rate)) return RTD_ERR_WINDOW;
    double scaled = p->window48 * sample_rate / 48000.0;
    double e = rint(log2(scaled));
    if (e > 16.0) return RTD_ERR_WINDOW; /* beyond 65536: resolve() refuses too */
    int window = e < 6.0 ? 64 : 1 << (int)e;
    cfg->window = window;
    cfg->hop = window / p->hop_div;
    cfg->redundancy = p->redundancy;
    cfg->algorithm = RTD_ASPADE;
    if (p->iterations48 > 0) {
        rtd_rate_schedule(p->s, p->r, window, p->window48, &cfg->s, &cfg->r);
        cfg->max_iterations = rtd_rate_budget(p->iterations48, sample_rate);
        cfg->return_last = 1; /* Declipper: return_last whenever there is a budget */
    } else {
        cfg->s = p->s;
        cfg->r = p->r;
        cfg->max_iterations = 0;
        cfg->return_last = 0;
    }
    cfg->epsilon = p->epsilon;
    cfg->warm_start = p->warm_start;
    cfg->budget_pool = p->budget_pool;
    cfg->precision = p->precision;
    cfg->synthesis_length = p->synthesis_div ? window / p->synthesis_div : 0;
    cfg->lookahead = p->synthesis_div ? p->lookahead_hops * cfg->hop : 0;
    cfg->past_final = p->past_final;
    cfg->adapt_s = p->adapt_s;
    cfg->prior_weight = p->prior_weight;
    cfg->second_solve = p->iterations48 > 0 ? p->second_solve : 0;
    cfg->second_adapt_s = p->second_adapt_s;
    cfg->second_reliable = p->second_reliable;
    cfg->hedge = p->hedge;
    cfg->hedge_budget = p->hedge_budget;
    cfg->heavy_width = p->heavy_width;
    return RTD_OK;
}
