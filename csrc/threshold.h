/* threshold.h -- online estimate of the clip levels of a stream (internal).
 *
 * A hard clipper maps every sample beyond its level onto the level itself,
 * so a clipped stream keeps returning to one extreme value.  Per polarity we
 * track the extreme seen so far and count how often the signal comes back to
 * it (within a relative tolerance).  Once it has been hit `RTD_MIN_HITS`
 * times the polarity is declared clipped at that level.  A louder sample
 * starts the count again, so a level that was only a loud peak is dropped. */
#ifndef RTD_THRESHOLD_H
#define RTD_THRESHOLD_H

#include <math.h>

#define RTD_CLIP_TOL 1e-6 /* relative: the rail is one value          */
#define RTD_MIN_HITS 3     /* returns to the extreme that make a rail  */

typedef struct {
    double peak[2]; /* [0] positive extreme, [1] magnitude of negative */
    int hits[2];
} clip_estimator;

static inline void clip_estimator_reset(clip_estimator *e)
{
    e->peak[0] = e->peak[1] = 0.0;
    e->hits[0] = e->hits[1] = 0;
}

static inline void clip_estimator_push(clip_estimator *e, double y)
{
    int side = y < 0.0;
    double m = side ? -y : y;
    if (m <= 0.0) return;
    double p = e->peak[side];
    if (m > p * (1.0 + RTD_CLIP_TOL)) {
        e->peak[side] = m;
        e->hits[side] = 1;
    } else if (m >= p * (1.0 - RTD_CLIP_TOL)) {
        if (m > p) e->peak[side] = m;
        e->hits[side]++;
    }
}

/* Levels for the classification y >= pos / y <= neg; +-HUGE_VAL when a
 * polarity shows no rail (yet). */
static inline void clip_estimator_levels(const clip_estimator *e, double *pos, double *neg)
{
    *pos = e->hits[0] >= RTD_MIN_HITS ? e->peak[0] * (1.0 - RTD_CLIP_TOL) : HUGE_VAL;
    *neg = e->hits[1] >= RTD_MIN_HITS ? -e->peak[1] * (1.0 - RTD_CLIP_TOL) : -HUGE_VAL;
}

#endif
