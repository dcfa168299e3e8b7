/* presets.h -- the Python presets (rtdeclip/core/params.py) in C, for the
 * plug-ins, which have no Python inside.
 *
 * params.py is the source of truth: tests/test_plugin_presets.py compares
 * this table and rtd_preset_config() with params.PRESETS and
 * params.resolve() at every rate from 8 to 192 kHz, so the two cannot
 * drift.  A preset added to params.py must be added here too (the test
 * names it). */
#ifndef RTD_PRESETS_H
#define RTD_PRESETS_H

#include "rtdeclip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One preset, as params.PRESETS writes it (windows at 48 kHz). */
typedef struct {
    const char *name;
    int window48;        /* frame length at 48 kHz; scaled to the rate      */
    int hop_div;         /* hop = window / hop_div                          */
    int redundancy;
    int s, r;            /* sparsity schedule at window48                   */
    double epsilon;
    int iterations48;    /* budget per frame at 48 kHz; 0 = run to epsilon */
    int warm_start;
    int budget_pool;
    rtd_precision precision; /* the iteration's arithmetic                  */
    int synthesis_div;   /* 0: Hann windows; n: low-delay windows with a
                            synthesis support of window / n                 */
    int lookahead_hops;  /* low-delay: lookahead = lookahead_hops * hop     */
    int past_final;      /* rtd_config's, as given (not scaled)             */
    double adapt_s;
    double prior_weight;
    int second_solve;    /* rtd_config's, as given (not scaled)             */
    double second_adapt_s;
    double second_reliable;
    int hedge;           /* rtd_config's, as given                          */
    double hedge_budget; /* rtd_config's, as given (1: the whole allowance)  */
    double heavy_width;  /* rtd_config's, as given (1: the rule's width)     */
} rtd_preset;

/* Number of presets and the i-th one (NULL when out of range). */
int rtd_preset_count(void);
const rtd_preset *rtd_preset_get(int index);
/* Index of a preset by name (case-insensitive), -1 if unknown. */
int rtd_preset_find(const char *name);

/* Real-time presets (those with an iteration budget), in table order: the
 * ones the plug-ins offer.  rtd_preset_realtime(k) is the table index of
 * the k-th, -1 past the end. */
int rtd_preset_realtime_count(void);
int rtd_preset_realtime(int k);

/* params.rate_budget and params.rate_schedule. */
int rtd_rate_budget(int iterations48, double sample_rate);
void rtd_rate_schedule(int s48, int r48, int window, int window48, int *s, int *r);

/* params.resolve(sample_rate, preset) with no overrides, into cfg: window,
 * hop, redundancy, algorithm (A-SPADE, the default), s, r, epsilon,
 * max_iterations, return_last, warm_start, budget_pool, precision,
 * synthesis_length and lookahead (low-delay windows, designed by
 * rtd_create), past_final,
 * adapt_s, prior_weight, second_solve, second_adapt_s, second_reliable,
 * hedge, hedge_budget.  channels,
 * auto_threshold, plan and the windows are left as they are.  Returns
 * RTD_OK, or an RTD_ERR_* code for an unknown preset or a bad rate. */
int rtd_preset_config(int index, double sample_rate, rtd_config *cfg);

#ifdef __cplusplus
}
#endif
#endif /* RTD_PRESETS_H */
