/* windows.c -- the window pair of the frame operator.
 *
 * Periodic Hann with peak 1 (ltfat's 'hann' under the survey's
 * peak-normalisation), and its canonical dual for the hop: the dual divides
 * by the sum of squares of the window over all frames covering a sample.
 * Low-delay pairs (after Mauler & Martin 2007) are designed here too,
 * sample for sample as rtdeclip/core/windows.py does (tests compare). */
#include "windows.h"
#include "rtdeclip.h"

#include <math.h>

int rtd_design_windows(int w, int hop, const double *analysis, const double *synthesis,
                       double *ana, double *syn, double *anasyn, int *first)
{
    for (int i = 0; i < w; i++) {
        ana[i] = analysis ? analysis[i] : 0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * i / w);
        if (!isfinite(ana[i])) return RTD_ERR_WINDOW_SHAPE;
    }
    if (synthesis) {
        for (int i = 0; i < w; i++) {
            syn[i] = synthesis[i];
            if (!isfinite(syn[i])) return RTD_ERR_WINDOW_SHAPE;
        }
    } else {
        for (int i = 0; i < hop; i++) {
            double sum = 0.0;
            for (int j = i; j < w; j += hop)
                sum += ana[j] * ana[j];
            if (!(sum > 0.0)) return RTD_ERR_WINDOW_SHAPE;
            for (int j = i; j < w; j += hop)
                syn[j] = ana[j] / sum;
        }
    }
    /* perfect reconstruction of untouched frames */
    for (int i = 0; i < hop; i++) {
        double sum = 0.0;
        for (int j = i; j < w; j += hop)
            sum += ana[j] * syn[j];
        if (fabs(sum - 1.0) > 1e-9) return RTD_ERR_WINDOW_SHAPE;
    }
    for (int i = 0; i < w; i++)
        anasyn[i] = ana[i] * syn[i];
    int f = 0;
    while (f < w - 1 && syn[f] == 0.0)
        f++;
    *first = f;
    return RTD_OK;
}

/* Periodic Hann of n samples at index i (peak 1 at n/2). */
static double hann_at(int i, int n) { return 0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * i / n); }

int rtd_lowdelay_windows(int w, int hop, int ls, int la, double *ana, double *syn)
{
    if (ls < 2 * hop || ls > w || (ls % (2 * hop) && ls != w)) return RTD_ERR_WINDOW_SHAPE;
    /* the product window: a Hann of ls - la samples from the synthesis
     * support's start (la = 0: all of it), which overlap-adds to one at
     * hop when it spans a whole number (>= 2) of hops */
    const int lp = ls - la;
    if (la < 0 || lp < 2 * hop || lp % hop) return RTD_ERR_WINDOW_SHAPE;
    const int half = ls / 2, rise = w - half;
    for (int i = 0; i < rise; i++)
        ana[i] = hann_at(i, 2 * rise); /* slow rise over the past */
    for (int i = rise; i < w; i++)
        ana[i] = hann_at(i - rise + half, ls); /* fast fall over the future */
    for (int i = 0; i < w; i++) {
        double prod = i >= w - ls && i < w - la ? hann_at(i - (w - ls), lp) * (2.0 * hop / lp)
                                                : 0.0;
        syn[i] = prod > 0.0 ? prod / ana[i] : 0.0;
    }
    return RTD_OK;
}
