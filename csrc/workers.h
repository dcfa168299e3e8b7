/* workers.h -- a pool of threads that run one hop's lanes in parallel
 * (internal).
 *
 * Made in rtd_create, joined in rtd_destroy.  rtd_workers_run(p) calls
 * fn(ctx, lane) for lane 1..n-1 on the pool's threads and lane 0 on the
 * caller, and returns when all are done.  The hand-off allocates nothing
 * and takes no mutex: one semaphore post wakes each worker (it sleeps
 * between hops, so an idle stream costs no CPU), and the caller spins
 * briefly on an atomic sequence number before waiting on the worker's
 * "done" semaphore (usually already posted: the wait then returns at once
 * without a system call). */
#ifndef RTD_WORKERS_H
#define RTD_WORKERS_H

typedef void (*rtd_lane_fn)(void *ctx, int lane);
typedef struct rtd_workers rtd_workers;

/* lanes >= 2: lanes - 1 threads.  NULL on failure. */
rtd_workers *rtd_workers_create(int lanes, rtd_lane_fn fn, void *ctx);
void rtd_workers_destroy(rtd_workers *p);
void rtd_workers_run(rtd_workers *p);

/* CPU seconds used so far by the thread of `lane` (1..lanes-1); -1 if
 * unknown.  Benchmarks only. */
double rtd_workers_cpu_seconds(const rtd_workers *p, int lane);

/* Gives every worker the calling thread's scheduling policy and priority
 * (a live host calls it from its real-time thread).  0 on success. */
int rtd_workers_match_caller(rtd_workers *p);

#endif
