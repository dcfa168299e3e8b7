/* windows.h -- design of the analysis/synthesis window pair (internal). */
#ifndef RTD_WINDOWS_H
#define RTD_WINDOWS_H

/* Fills ana, syn and their product anasyn (w samples each) for hop `hop`:
 * the given windows (NULL analysis: periodic Hann, peak 1; NULL synthesis:
 * the canonical dual of the analysis window), checked to overlap-add to
 * one.  *first receives the index of the first non-zero synthesis weight,
 * which sets the latency (w - 1 - first).  Returns RTD_OK or
 * RTD_ERR_WINDOW_SHAPE. */
int rtd_design_windows(int w, int hop, const double *analysis, const double *synthesis,
                       double *ana, double *syn, double *anasyn, int *first);

#endif
