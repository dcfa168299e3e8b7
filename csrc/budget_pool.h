/* budget_pool.h -- the per-channel iteration credit of cfg.budget_pool
 * (internal; the rules are documented in rtdeclip.h).
 *
 * Integer arithmetic on per-frame counts only: the same frames give the
 * same iterations whatever the block sizes.  Cap and floor are applied
 * against the budget in force, which the live host may lower. */
#ifndef RTD_BUDGET_POOL_H
#define RTD_BUDGET_POOL_H

/* the largest factor, RTD_POOL_MAX, is in rtdeclip.h */
#define RTD_POOL_CAP 8  /* a channel's credit is at most this many budgets  */

/* What a frame may run, given the channel's credit. */
static inline int budget_pool_allowance(int factor, long long credit, int budget)
{
    if (factor < 2) return budget;
    long long extra = (long long)(factor - 1) * budget;
    if (extra > credit) extra = credit;
    long long allow = budget + extra;
    return allow > 0x7fffffff ? 0x7fffffff : (int)allow;
}

/* The credit after a frame ran `it` iterations (0: skipped); returns the
 * iterations it ran beyond the budget (paid from the credit). */
static inline int budget_pool_settle(int factor, long long *credit, int budget, int it, int cut)
{
    if (factor < 2) return 0;
    int pooled = 0;
    if (it > budget) {
        pooled = it - budget;
        *credit -= pooled;
    } else if (!cut) {
        /* skipped (it = 0) or reached epsilon within the budget */
        *credit += budget - it;
    }
    long long cap = (long long)RTD_POOL_CAP * budget;
    if (*credit > cap) *credit = cap;
    if (*credit < 0) *credit = 0;
    return pooled;
}

#endif
