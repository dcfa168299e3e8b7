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
 * projection, and the termination value, scaled once.
 *
 * The contract: what a solver is (spade_setup, fixed at creation), what
 * one solve is asked (spade_job: budget, deadline, start) and what it
 * reports (spade_result).  The solver keeps no per-call settings. */
#ifndef RTD_SPADE_H
#define RTD_SPADE_H

#include <stdint.h>

typedef struct {
    int window, redundancy;
    int algorithm;          /* rtd_algorithm                                */
    int s, r;               /* k grows by s every r-th iteration            */
    double epsilon;         /* stop when the termination value <= epsilon  */
    int return_last;        /* 1: last projected iterate; 0: best objective */
    int precision;          /* rtd_precision: the iteration's arithmetic    */
    unsigned fftw_flags;    /* FFTW_MEASURE or FFTW_ESTIMATE                */
} spade_setup;

typedef struct {
    int budget;             /* iterations at most (>= 1)                    */
    double deadline;        /* CLOCK_MONOTONIC seconds; 0 = none            */
    int k0;                 /* starting sparsity; <= 0: setup.s             */
    const double *x0;       /* starting estimate (w samples) or NULL: y     */
    int s;                  /* A-/S-SPADE: k's step for this frame; <= 0:
                               setup.s                                      */
    /* A-SPADE only: a ranking prior.  With prior non-NULL, hard
     * thresholding keeps the k bins of largest |v|^2 + prior_weight *
     * prior (H = window * redundancy / 2 + 1 values, the previous frame's
     * spectrum as left in prior_out), so bins active in the past are
     * favoured (a causal, time-only "social" neighbourhood).  prior_out,
     * if non-NULL, receives |A x|^2 of the solution (H values, DC at a
     * quarter as ranked).  prior and prior_out may not alias.          */
    const float *prior;
    double prior_weight;
    float *prior_out;
} spade_job;

typedef struct {
    int iterations;         /* run                                          */
    int k;                  /* sparsity at the end                          */
    int converged;          /* reached epsilon                              */
    int cut;                /* stopped by the deadline                      */
} spade_result;

typedef struct spade_solver spade_solver;

/* Allocates buffers and makes the plans (the only FFTW planner calls; the
 * planner lock is taken inside).  NULL on error with *error set. */
spade_solver *spade_create(const spade_setup *setup, int *error);
void spade_destroy(spade_solver *sp);

/* Declips frame y (windowed, w samples) under mask (+1 high, -1 low, 0
 * reliable) into x (w samples).  Allocates nothing, takes no lock. */
void spade_solve(spade_solver *sp, const double *y, const int8_t *mask, const spade_job *job,
                 double *x, spade_result *result);

/* Runs n forward + inverse transform pairs on the solver's own plans (the
 * floor an iteration's cost is measured against), or with fftw_real on
 * FFTW's r2c + c2r of the same size (planned for the call in the float
 * solver, outside the time).  Returns their thread CPU seconds, -1 if the
 * plans could not be made. */
double spade_time_transforms(spade_solver *sp, int n, int fftw_real);

#endif
