/* spade.h -- SPADE on one frame (internal).
 *
 * The frame operator is the survey toolbox's: analysis A = unitary DFT of
 * the frame zero-padded to M = redundancy * w samples, synthesis D = A^H
 * (inverse unitary DFT truncated to w samples), a Parseval tight frame
 * (D A = I).  Real signals have conjugate-symmetric spectra, so only the
 * half spectrum (M/2 + 1 bins) is stored; norms count the mirrored bins.
 *
 * Internally coefficients are kept unnormalised (plain FFTW output, i.e.
 * sqrt(M) times the unitary ones): selection does not care about scale, so
 * the only scaling left is 1/M on the way back to time, fused with the
 * projection, and the termination value, scaled once. */
#ifndef RTD_SPADE_H
#define RTD_SPADE_H

#include <fftw3.h>
#include <stdint.h>

typedef struct {
    int w, M, H;           /* frame, padded transform, half spectrum       */
    int algorithm, s, r, max_iter, return_last;
    double epsilon;
    double deadline;       /* CLOCK_MONOTONIC seconds; 0 = none            */
    int cut;               /* set when the last solve hit the deadline     */
    double guess_ratio;    /* selection pre-filter, see select_threshold() */
    fftw_plan fwd, inv;    /* r2c of any x buffer -> zest; c2r c_in -> t_out */
    double *xb[3];         /* M each, zero tail: current, best, next iterate */
    double *ain;           /* M, zero tail: S-SPADE analysis input x - u    */
    double *t_out;         /* M: inverse FFT output                         */
    fftw_complex *zest, *c_in, *u, *zb, *v; /* H each                       */
    double *ut;            /* w: S-SPADE time-domain dual                   */
    double *mag, *cand;    /* H each: magnitudes and selection candidates   */
    double *lo, *hi;       /* w each: the consistent set as a box           */
#ifdef RTD_SELECT_STATS
    double stat_nc, stat_k, stat_fallback;
#endif
} spade_solver;

/* Allocates buffers and makes the plans (the only FFTW planner calls). */
int spade_init(spade_solver *sp, int w, int redundancy, unsigned fftw_flags);
void spade_free(spade_solver *sp);

/* Declips frame y (windowed, w samples) under mask (+1 high, -1 low, 0
 * reliable) into x.  x0 (may be NULL) is a starting estimate, k0 the
 * starting sparsity.  Returns the iterations run; *k_end receives the final
 * k and *converged whether epsilon was reached. */
int spade_solve(spade_solver *sp, const double *y, const int8_t *mask,
                const double *x0, int k0, double *x, int *k_end, int *converged);

/* The same with the consistent set already in sp->lo / sp->hi (w samples
 * each; -inf/+inf for an unbounded side): the codec-smeared model, where
 * clipped samples are bounded by the rail's band and reliable ones may lie
 * in a box around the observation.  y must lie in the box. */
int spade_solve_box(spade_solver *sp, const double *y, const double *x0, int k0, double *x,
                    int *k_end, int *converged);

/* Runs n forward + inverse transform pairs on the solver's own plans: the
 * floor an iteration's cost is measured against. */
void spade_time_transforms(spade_solver *sp, int n);

#endif
