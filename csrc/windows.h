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

/* The low-delay pair of rtdeclip/core/windows.py (lowdelay) for a
 * synthesis support starting ls samples before the frame's end and ending
 * la samples before it (the lookahead: samples solved as context but not
 * output by this frame), into ana and syn.  RTD_OK, or
 * RTD_ERR_WINDOW_SHAPE when ls is not a multiple of 2 * hop (or w) within
 * 2 * hop .. w, or ls - la is not a multiple of hop >= 2 * hop. */
int rtd_lowdelay_windows(int w, int hop, int ls, int la, double *ana, double *syn);

#endif
