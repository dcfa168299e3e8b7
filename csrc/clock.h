/* clock.h -- the one clock deadlines are measured on (internal).
 * CLOCK_MONOTONIC through the vDSO: no lock, no system call. */
#ifndef RTD_CLOCK_H
#define RTD_CLOCK_H

#include <time.h>

static inline double rtd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the calling thread (benchmarks: not inflated by other
 * processes taking the core). */
static inline double rtd_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
