/* spade.c -- A-SPADE, S-SPADE and original S-SPADE on one frame.
 *
 * An iteration is one forward and one inverse real FFT, a selection of the
 * k largest coefficients, and three fused passes over the data; iterates
 * live in three rotating buffers, so recording the best one is a pointer
 * move, not a copy.  The iteration itself is spade_kernel.h, compiled here
 * in double (the survey's arithmetic) and in float (fftwf).  Nothing here
 * allocates after spade_create. */
#include "spade.h"
#include "select.h"
#include "clock.h"
#include "planner.h"
#include "rtdeclip.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* True when the job's deadline has passed (and then the result says so). */
static inline int past_deadline(const spade_job *job, spade_result *res)
{
    if (job->deadline <= 0.0 || rtd_now() < job->deadline) return 0;
    res->cut = 1;
    return 1;
}

/* The double kernel is compiled for the baseline ISA only: its results must
 * not depend on the machine (the survey reproduction is exact). */
#define KERNEL_TARGET
#define R double
#define FW(name) fftw_##name
#define K(name) name##_d
#define KTH rtd_kth_largest
#define KTH_INPLACE rtd_kth_largest_inplace
#include "spade_kernel.h"
#undef R
#undef FW
#undef K
#undef KTH
#undef KTH_INPLACE
#undef KERNEL_TARGET

/* The float A-SPADE passes in AVX2 where the processor has it (chosen when
 * a solver is created; the baseline passes compute the same floats). */
#if defined(__GNUC__) && defined(__x86_64__)
#define RTD_AVX2_PASSES 1
#include "spade_avx2.h"
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;
static int simd_has_avx2;
static void simd_init(void)
{
    compact_lut_init();
    __builtin_cpu_init();
    simd_has_avx2 = __builtin_cpu_supports("avx2");
}
#endif
static int simd_allowed = 1; /* rtd_testing_simd */

static int simd_avx2(void)
{
#ifdef RTD_AVX2_PASSES
    pthread_once(&simd_once, simd_init);
    return simd_allowed && simd_has_avx2;
#else
    return 0;
#endif
}

int rtd_testing_simd(int allowed)
{
    if (allowed >= 0) simd_allowed = allowed != 0;
    return simd_avx2();
}

/* The float kernel also in an AVX2 clone, chosen at load time where the
 * processor has it (GCC's function multi-versioning). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define KERNEL_TARGET __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL_TARGET
#endif
#include "rfft_split.h" /* the float kernel's real FFTs */
#define R float
#define FW(name) fftwf_##name
#define K(name) name##_f
#define KTH rtd_kth_largest_f
#define KTH_INPLACE rtd_kth_largest_inplace_f
#define KERNEL_F32
#include "spade_kernel.h"
#undef KERNEL_F32
#undef KERNEL_TARGET
#undef R
#undef FW
#undef K
#undef KTH
#undef KTH_INPLACE

struct spade_solver {
    spade_setup setup;
    kernel_d kd;            /* used when setup.precision == RTD_DOUBLE */
    kernel_f kf;            /* used when setup.precision == RTD_SINGLE */
};

spade_solver *spade_create(const spade_setup *setup, int *error)
{
    spade_solver *sp = calloc(1, sizeof *sp);
    if (!sp) {
        *error = RTD_ERR_NOMEM;
        return NULL;
    }
    sp->setup = *setup;
    rtd_planner_lock();
    int e = setup->precision == RTD_SINGLE
                ? kernel_init_f(&sp->kf, setup->window, setup->redundancy, setup->fftw_flags)
                : kernel_init_d(&sp->kd, setup->window, setup->redundancy, setup->fftw_flags);
    rtd_planner_unlock();
    if (e) {
        free(sp);
        *error = e;
        return NULL;
    }
    *error = RTD_OK;
    return sp;
}

void spade_destroy(spade_solver *sp)
{
    if (!sp) return;
    rtd_planner_lock();
    kernel_free_d(&sp->kd);
    kernel_free_f(&sp->kf);
    rtd_planner_unlock();
    free(sp);
}

void spade_solve(spade_solver *sp, const double *y, const int8_t *mask, const spade_job *job,
                 double *x, spade_result *result)
{
    memset(result, 0, sizeof *result);
    if (sp->setup.precision == RTD_SINGLE)
        kernel_solve_f(&sp->kf, &sp->setup, y, mask, job, x, result);
    else
        kernel_solve_d(&sp->kd, &sp->setup, y, mask, job, x, result);
}

double spade_time_transforms(spade_solver *sp, int n, int fftw_real)
{
    if (sp->setup.precision == RTD_SINGLE)
        return kernel_time_transforms_f(&sp->kf, n, fftw_real);
    return kernel_time_transforms_d(&sp->kd, n, fftw_real);
}
