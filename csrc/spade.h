/* spade.h -- SPADE on one frame (internal).
 *
 * The frame operator is the survey toolbox's: analysis A = unitary DFT of
 * the frame zero-padded to M = redundancy * w samples, synthesis D = A^H
 * (inverse unitary DFT truncated to w samples), a Parseval tight frame
 * (D A = I).  Real signals have conjugate-symmetric spectra, so only the
 * half spectrum (M/2 + 1 bins) is stored; norms count the mirrored bins. */
#ifndef RTD_SPADE_H
#define RTD_SPADE_H

#include <fftw3.h>
#include <stdint.h>

typedef struct {
    int w, M, H;           /* frame, padded transform, half spectrum      */
    int algorithm, s, r, max_iter, return_last;
    double epsilon, scale; /* scale = 1/sqrt(M): unitary transforms       */
    fftw_plan fwd, inv;    /* r2c of t_in -> f_out, c2r of c_in -> t_out  */
    double *t_in, *t_out;  /* M each; t_in[w..M) stays zero (padding)     */
    fftw_complex *f_out, *c_in;
    fftw_complex *zest, *u, *zbar, *v; /* H each                          */
    double *xhat, *ut, *best, *tmp;    /* w each                          */
    double *mag, *scratch;             /* H each, for the selection       */
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

#endif
