/*
 * rtdeclip_testing.h -- calls for tests and benchmarks, not for
 * processing audio.  Include after rtdeclip.h.
 */
#ifndef RTDECLIP_TESTING_H
#define RTDECLIP_TESTING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Solve one frame directly (no windowing, no overlap-add): y is the frame
 * (window samples, already windowed), mask[i] is +1 clipped high, -1
 * clipped low, 0 reliable; x receives the solution.  Runs on lane 0's
 * solver with the state's budget.  Returns the number of iterations run.
 * For tests against a reference implementation. */
int rtd_solve_frame(rtd_state *st, const double *y, const int8_t *mask, double *x);

/* Runs n forward + inverse FFT pairs on lane 0's solver: the floor the
 * cost of one iteration is measured against (benchmarks only).  fftw_real
 * = 0: the transforms the iteration runs (in single precision a
 * half-length complex FFT and a pass, see rfft_split.h); 1: FFTW's own
 * r2c + c2r of the same size (the single-precision solver plans them for
 * the call: it allocates and plans, unlike rtd_process).  Returns the
 * thread CPU seconds of the n pairs (planning excluded), -1 for a social
 * state or plans that could not be made. */
double rtd_time_transforms(rtd_state *st, int n, int fftw_real);

/* CPU seconds used so far by the worker thread of lane `lane` (1 ..
 * rtd_threads() - 1), -1 if there is none: per-thread CPU time for the
 * speed benchmark. */
double rtd_worker_cpu_seconds(const rtd_state *st, int lane);

/* The float solver's SIMD passes for states created after this call:
 * allowed = 0 the baseline passes only, 1 the widest the processor has
 * (the default), -1 no change.  Returns 1 when the AVX2 passes would now
 * run.  The output is the same either way (tests compare them). */
int rtd_testing_simd(int allowed);

/* The solver's selection on v[0..n): the k-th largest value (1 <= k <=
 * n) and in *above how many values are strictly larger; single != 0 runs
 * the float selection on v rounded to float.  v is not changed.  Returns
 * NaN (and *above = -1) on bad arguments or no memory. */
double rtd_testing_kth_largest(const double *v, int n, int k, int single, int *above);

#ifdef __cplusplus
}
#endif
#endif /* RTDECLIP_TESTING_H */
