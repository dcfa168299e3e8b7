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
 * Per sample: a few comparisons, nothing allocated. */
#ifndef RTD_PEAK_RUNS_H
#define RTD_PEAK_RUNS_H

#define RTD_PR_MIN_LEN 8     /* samples a run needs to count (shorter ones, a
                                bell's clipped tops, show no ripple either)  */
#define RTD_PR_KEEP 256.0    /* counted runs beyond which the counts halve   */

typedef struct {
    int min_len;       /* RTD_PR_MIN_LEN, or 0: off (below 32 kHz, smear.h)  */
    double level[2];   /* magnitude watched per polarity; 0: none           */
    int len[2];        /* samples in the current run                        */
    int maxima[2];     /* local maxima in the current run                   */
    double runs[2];    /* runs of RTD_PR_MIN_LEN samples or more (decaying) */
    double peaks[2];   /* their local maxima (decaying)                     */
    double y1, y2;     /* the last two samples                              */
} peak_runs;

/* Watch polarity `side` at magnitude `level`; the counts restart when the
 * level moves more than `restart` times (a different rail or none). */
static inline void peak_runs_watch(peak_runs *p, int side, double level, double restart)
{
    double old = p->level[side];
    if (old <= 0.0 || level > old * restart || level * restart < old) {
        p->runs[side] = p->peaks[side] = 0.0;
        p->len[side] = p->maxima[side] = 0;
    }
    p->level[side] = level;
}

static inline void peak_runs_push(peak_runs *p, double y)
{
    if (!p->min_len) return;
    for (int side = 0; side < 2; side++) {
        const double L = p->level[side];
        if (!(L > 0.0)) continue;
        const double v = side ? -y : y, v1 = side ? -p->y1 : p->y1, v2 = side ? -p->y2 : p->y2;
        /* the previous sample, inside the run, is a local maximum */
        if (v1 >= L && v1 > v2 && v1 >= v) p->maxima[side]++;
        if (v >= L) {
            p->len[side]++;
        } else if (p->len[side]) {
            if (p->len[side] >= p->min_len) {
                p->runs[side] += 1.0;
                p->peaks[side] += p->maxima[side];
                if (p->runs[side] > RTD_PR_KEEP) {
                    p->runs[side] *= 0.5;
                    p->peaks[side] *= 0.5;
                }
            }
            p->len[side] = p->maxima[side] = 0;
        }
    }
    p->y2 = p->y1;
    p->y1 = y;
}

/* Polarity `side` crosses its level with smooth peaks: at least `min_runs`
 * runs counted, fewer than `min_maxima` local maxima each on average. */
static inline int peak_runs_smooth(const peak_runs *p, int side, double min_runs,
                                   double min_maxima)
{
    return p->runs[side] >= min_runs && p->peaks[side] < min_maxima * p->runs[side];
}

#endif
