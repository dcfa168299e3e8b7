/* peak_runs.h -- are the tops above a level flat and rippled, or smooth
 * peaks? (internal, used by smear.h).
 *
 * A clipper cuts each peak flat; a codec then rings on the flat top, so
 * every run of samples above a codec-smeared rail's centre holds several
 * local maxima (its quantisation noise on a flat line).  A signal that was
 * not clipped (a note's peak, or a look-ahead limiter's, whose gain moves
 * slowly, so each peak keeps its shape) crosses such a level with one
 * smooth maximum per run.  Yet both pile up under a level alike in the
 * amplitude histogram, which is all the hump test sees.  What was measured
 * and how smear.h decides: smear_drop_smooth.
 *
 * Counts decay (halved past RTD_PR_KEEP runs), so they follow the music.
 * A new level is counted at once over the last RTD_PR_RECENT samples
 * (peak_runs_watch): a rail found early in a stream is judged from the
 * samples that made its hump, not only from those after it, which let a
 * note's peak stand as a codec's rail for 20-200 ms and cost a
 * stream's first half second up to 15 dB (docs/lossy.md, twenty-second
 * session).  Per sample: a few comparisons and one store, nothing
 * allocated. */
#ifndef RTD_PEAK_RUNS_H
#define RTD_PEAK_RUNS_H

#include <math.h>

#define RTD_PR_MIN_LEN 8     /* samples a run needs to count (shorter ones, a
                                bell's clipped tops, show no ripple either)  */
#define RTD_PR_KEEP 256.0    /* counted runs beyond which the counts halve   */
#define RTD_PR_RECENT 4096   /* samples kept to count a new level over (93 ms
                                at 44.1 kHz)                                 */

typedef struct {
    int min_len;       /* RTD_PR_MIN_LEN, or 0: off (below 32 kHz, smear.h)  */
    double level[2];   /* magnitude watched per polarity; 0: none           */
    int len[2];        /* samples in the current run                        */
    int maxima[2];     /* local maxima in the current run                   */
    double runs[2];    /* runs of RTD_PR_MIN_LEN samples or more (decaying) */
    double peaks[2];   /* their local maxima (decaying)                     */
    double y1, y2;     /* the last two samples                              */
    float recent[RTD_PR_RECENT];  /* the last samples, a ring               */
    int head;          /* next slot of `recent`                             */
    int kept;          /* samples in `recent` (up to RTD_PR_RECENT)         */
} peak_runs;

/* One sample v (of the watched polarity's sign) after v1, v2 into a run
 * count at level L: the shared step of peak_runs_push and the replay. */
static inline void peak_runs_step(int min_len, double L, double v, double v1, double v2,
                                  int *len, int *maxima, double *runs, double *peaks)
{
    /* the previous sample, inside the run, is a local maximum */
    if (v1 >= L && v1 > v2 && v1 >= v) ++*maxima;
    if (v >= L) {
        ++*len;
    } else if (*len) {
        if (*len >= min_len) {
            *runs += 1.0;
            *peaks += *maxima;
            if (*runs > RTD_PR_KEEP) {
                *runs *= 0.5;
                *peaks *= 0.5;
            }
        }
        *len = *maxima = 0;
    }
}

/* Count polarity `side` at its (new) level over the kept samples, as if it
 * had been watched there all along. */
static inline void peak_runs_replay(peak_runs *p, int side)
{
    const double L = p->level[side], sign = side ? -1.0 : 1.0;
    int len = 0, maxima = 0;
    double runs = 0.0, peaks = 0.0, v1 = -HUGE_VAL, v2 = -HUGE_VAL;
    const int first = (p->head - p->kept + RTD_PR_RECENT) % RTD_PR_RECENT;
    for (int i = 0; i < p->kept; i++) {
        const double v = sign * (double)p->recent[(first + i) % RTD_PR_RECENT];
        peak_runs_step(p->min_len, L, v, v1, v2, &len, &maxima, &runs, &peaks);
        v2 = v1;
        v1 = v;
    }
    p->len[side] = len;
    p->maxima[side] = maxima;
    p->runs[side] = runs;
    p->peaks[side] = peaks;
}

/* Watch polarity `side` at magnitude `level`; the counts restart when the
 * level moves more than `restart` times (a different rail or none), from
 * the kept samples counted at the new level. */
static inline void peak_runs_watch(peak_runs *p, int side, double level, double restart)
{
    double old = p->level[side];
    p->level[side] = level;
    if (old <= 0.0 || level > old * restart || level * restart < old) peak_runs_replay(p, side);
}

static inline void peak_runs_push(peak_runs *p, double y)
{
    if (!p->min_len) return;
    for (int side = 0; side < 2; side++) {
        const double L = p->level[side];
        if (!(L > 0.0)) continue;
        const double v = side ? -y : y, v1 = side ? -p->y1 : p->y1, v2 = side ? -p->y2 : p->y2;
        peak_runs_step(p->min_len, L, v, v1, v2, &p->len[side], &p->maxima[side],
                       &p->runs[side], &p->peaks[side]);
    }
    p->y2 = p->y1;
    p->y1 = y;
    p->recent[p->head] = (float)y;
    p->head = (p->head + 1) % RTD_PR_RECENT;
    if (p->kept < RTD_PR_RECENT) p->kept++;
}

/* Polarity `side` crosses its level with smooth peaks: at least `min_runs`
 * runs counted, fewer than `min_maxima` local maxima each on average. */
static inline int peak_runs_smooth(const peak_runs *p, int side, double min_runs,
                                   double min_maxima)
{
    return p->runs[side] >= min_runs && p->peaks[side] < min_maxima * p->runs[side];
}

#endif
