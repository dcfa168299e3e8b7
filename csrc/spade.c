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
#include <stdlib.h>
#include <string.h>

/* True when the job's deadline has passed (and then the result says so). */
static inline int past_deadline(const spade_job *job, spade_result *res)
{
    if (job->deadline <= 0.0 || rtd_now() < job->deadline) return 0;
    res->cut = 1;
    return 1;
}

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

#define R float
#define FW(name) fftwf_##name
#define K(name) name##_f
#define KTH rtd_kth_largest_f
#define KTH_INPLACE rtd_kth_largest_inplace_f
#define KERNEL_F32
#include "spade_kernel.h"
#undef KERNEL_F32
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

void spade_time_transforms(spade_solver *sp, int n)
{
    if (sp->setup.precision == RTD_SINGLE)
        kernel_time_transforms_f(&sp->kf, n);
    else
        kernel_time_transforms_d(&sp->kd, n);
}
