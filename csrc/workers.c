/* workers.c -- the lane pool (see workers.h). */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPIN_LIMIT 4000 /* ~10-40 us of polling before sleeping on the semaphore */

typedef struct {
    rtd_workers *pool;
    int lane;
    pthread_t thread;
    int started;
    sem_t go, done;
    int done_seq;      /* atomic: the last sequence number completed       */
    clockid_t cpu_clock;
    int has_clock;
} worker;

struct rtd_workers {
    rtd_lane_fn fn;
    void *ctx;
    int lanes;
    int seq;           /* atomic: the current hop's sequence number        */
    int quit;          /* atomic                                           */
    worker *w;         /* lanes - 1 of them                                */
};

static void sem_wait_retry(sem_t *s)
{
    while (sem_wait(s) != 0 && errno == EINTR) {
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    rtd_workers *p = w->pool;
    for (;;) {
        sem_wait_retry(&w->go);
        if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) break;
        int seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
        p->fn(p->ctx, w->lane);
        __atomic_store_n(&w->done_seq, seq, __ATOMIC_RELEASE);
        sem_post(&w->done);
    }
    return NULL;
}

rtd_workers *rtd_workers_create(int lanes, rtd_lane_fn fn, void *ctx)
{
    if (lanes < 2) return NULL;
    rtd_workers *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->fn = fn;
    p->ctx = ctx;
    p->lanes = lanes;
    p->w = calloc((size_t)lanes - 1, sizeof *p->w);
    if (!p->w) {
        free(p);
        return NULL;
    }
    for (int i = 0; i < lanes - 1; i++) {
        worker *w = &p->w[i];
        w->pool = p;
        w->lane = i + 1;
        if (sem_init(&w->go, 0, 0) || sem_init(&w->done, 0, 0)) goto fail;
        /* the thread inherits the creator's scheduling (glibc's default) */
        if (pthread_create(&w->thread, NULL, worker_main, w)) {
            sem_destroy(&w->go);
            sem_destroy(&w->done);
            goto fail;
        }
        w->started = 1;
        w->has_clock = pthread_getcpuclockid(w->thread, &w->cpu_clock) == 0;
    }
    return p;
fail:
    rtd_workers_destroy(p);
    return NULL;
}

void rtd_workers_destroy(rtd_workers *p)
{
    if (!p) return;
    __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < p->lanes - 1; i++) {
        worker *w = &p->w[i];
        if (!w->started) continue;
        sem_post(&w->go);
        pthread_join(w->thread, NULL);
        sem_destroy(&w->go);
        sem_destroy(&w->done);
    }
    free(p->w);
    free(p);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void rtd_workers_run(rtd_workers *p)
{
    int seq = __atomic_load_n(&p->seq, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&p->seq, seq, __ATOMIC_RELEASE);
    for (int i = 0; i < p->lanes - 1; i++)
        sem_post(&p->w[i].go);
    p->fn(p->ctx, 0);
    for (int i = 0; i < p->lanes - 1; i++) {
        worker *w = &p->w[i];
        for (int n = 0; n < SPIN_LIMIT; n++) {
            if (__atomic_load_n(&w->done_seq, __ATOMIC_ACQUIRE) == seq) break;
            cpu_relax();
        }
        /* balanced with the worker's post: returns at once if it is done */
        sem_wait_retry(&w->done);
    }
}

double rtd_workers_cpu_seconds(const rtd_workers *p, int lane)
{
    if (!p || lane < 1 || lane >= p->lanes || !p->w[lane - 1].has_clock) return -1.0;
    struct timespec ts;
    if (clock_gettime(p->w[lane - 1].cpu_clock, &ts)) return -1.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int rtd_workers_match_caller(rtd_workers *p)
{
    int policy;
    struct sched_param sp;
    if (!p) return 0;
    if (pthread_getschedparam(pthread_self(), &policy, &sp)) return -1;
    int err = 0;
    for (int i = 0; i < p->lanes - 1; i++)
        if (pthread_setschedparam(p->w[i].thread, policy, &sp)) err = -1;
    return err;
}
