/* windows.c -- the window pair of the frame operator.
 *
 * Periodic Hann with peak 1 (ltfat's 'hann' under the survey's
 * peak-normalisation), and its canonical dual for the hop: the dual divides
 * by the sum of squares of the window over all frames covering a sample.
 * Low-delay pairs are designed in Python (rtdeclip/core/windows.py) and
 * passed in; here they are only checked. */
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
