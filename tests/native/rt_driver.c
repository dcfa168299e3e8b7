/* rt_driver.c -- proves that rtd_process_* neither allocates nor locks.
 *
 * Defines malloc, calloc, realloc, free, memalign, aligned_alloc,
 * posix_memalign and pthread_mutex_lock for the whole process (FFTW's
 * calls included) and counts the calls made while `counting` is set.  Creates a state (allocations allowed),
 * then streams clipped audio in blocks of random sizes, including NaN and
 * denormal samples, through every algorithm, with a time limit set, and
 * prints the counts seen during processing.  Exit 0 only if all are zero. */
#include "rtdeclip.h"
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile int counting;
static long n_alloc, n_free, n_lock;

/* Interposed for the whole process (the executable's definitions win over
 * libc's for every shared library, FFTW included); the real ones are
 * glibc's __libc_* entry points. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n) { if (counting) n_alloc++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (counting) n_alloc++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (counting) n_alloc++; return __libc_realloc(p, n); }
void free(void *p) { if (counting && p) n_free++; __libc_free(p); }
void *memalign(size_t a, size_t n) { if (counting) n_alloc++; return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { if (counting) n_alloc++; return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    if (counting) n_alloc++;
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    static int (*real)(pthread_mutex_t *);
    if (!real) real = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    if (counting) n_lock++;
    return real(m);
}

int main(void)
{
    const int C = 2, N = 48000 * 3;
    double *in = malloc(sizeof(double) * N * C), *out = malloc(sizeof(double) * N * C);
    float *inf32 = malloc(sizeof(float) * N * C), *outf32 = malloc(sizeof(float) * N * C);
    srand(7);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double t = (double)i / 48000.0;
            double x = sin(2 * M_PI * 220 * t + c) + 0.5 * sin(2 * M_PI * 555 * t) + 0.3 * sin(2 * M_PI * 1333 * t);
            x = x > 0.6 ? 0.6 : x < -0.6 ? -0.6 : x;
            if (i % 9973 == 0) x = NAN;
            if (i % 7919 == 0) x = 1e-310; /* denormal */
            in[i * C + c] = x;
            inf32[i * C + c] = (float)x;
        }
    long bad = 0;
    for (int alg = 0; alg < 3; alg++) {
        rtd_config cfg;
        rtd_config_default(&cfg);
        cfg.channels = C;
        cfg.window = 1024;
        cfg.hop = 256;
        cfg.algorithm = (rtd_algorithm)alg;
        cfg.max_iterations = 40;
        cfg.return_last = 1;
        cfg.warm_start = alg == 0;
        cfg.auto_threshold = alg != 1;
        cfg.budget_pool = alg == 0 ? 2 : 0;
        cfg.plan = RTD_PLAN_ESTIMATE;
        /* a worker thread for two of the three: the counters are global, so
         * the worker's calls count too */
        cfg.threads = alg == 1 ? 1 : 2;
        cfg.precision = alg == 0 ? RTD_SINGLE : RTD_DOUBLE;
        int err;
        rtd_state *st = rtd_create(&cfg, &err);
        if (!st) { fprintf(stderr, "create: %s\n", rtd_strerror(err)); return 2; }
        rtd_set_thresholds(st, 0, 0.6, -0.6);
        rtd_set_thresholds(st, 1, 0.6, -0.6);
        rtd_set_time_limit(st, alg == 2 ? 0.0005 : 0.0);
        counting = 1;
        for (int done = 0; done < N;) {
            int n = 1 + rand() % 700;
            if (n > N - done) n = N - done;
            if (alg == 1)
                rtd_process_float(st, inf32 + (size_t)done * C, outf32 + (size_t)done * C, n);
            else
                rtd_process_double(st, in + (size_t)done * C, out + (size_t)done * C, n);
            done += n;
        }
        rtd_reset(st);
        rtd_set_max_iterations(st, 10);
        rtd_process_double(st, in, out, 4096);
        counting = 0;
        rtd_stats s;
        rtd_get_stats(st, &s);
        for (int i = 0; i < 4096 * C; i++) bad += !isfinite(out[i]);
        printf("algorithm %d: allocations %ld frees %ld locks %ld frames solved %lld\n", alg,
               n_alloc, n_free, n_lock, (long long)s.frames_solved);
        rtd_destroy(st);
    }
    {   /* a 16 kHz source in the 48 kHz stream: rtd_rate around a state
         * at the low rate (auto levels, a worker thread) */
        rtd_config cfg;
        rtd_config_default(&cfg);
        cfg.channels = C;
        cfg.window = 512;
        cfg.hop = 128;
        cfg.max_iterations = 40;
        cfg.return_last = 1;
        cfg.auto_threshold = 1;
        cfg.plan = RTD_PLAN_ESTIMATE;
        cfg.threads = 2;
        cfg.precision = RTD_SINGLE;
        int err;
        rtd_state *st = rtd_create(&cfg, &err);
        rtd_rate *rs = st ? rtd_rate_create(st, C, 3, &err) : NULL;
        if (!rs) { fprintf(stderr, "rate: %s\n", rtd_strerror(err)); return 2; }
        counting = 1;
        for (int done = 0; done < N;) {
            int n = 1 + rand() % 700;
            if (n > N - done) n = N - done;
            if (done & 1)
                rtd_rate_process_float(rs, inf32 + (size_t)done * C, outf32 + (size_t)done * C, n);
            else
                rtd_rate_process_double(rs, in + (size_t)done * C, out + (size_t)done * C, n);
            done += n;
        }
        rtd_reset(st);
        rtd_rate_reset(rs);
        rtd_rate_process_double(rs, in, out, 4096);
        counting = 0;
        rtd_stats s;
        rtd_get_stats(st, &s);
        for (int i = 0; i < 4096 * C; i++) bad += !isfinite(out[i]);
        printf("source rate: allocations %ld frees %ld locks %ld frames solved %lld nonfinite in %lld\n",
               n_alloc, n_free, n_lock, (long long)s.frames_solved, rtd_rate_nonfinite(rs));
        rtd_rate_destroy(rs);
        rtd_destroy(st);
    }
    printf("nonfinite outputs %ld\n", bad);
    return (n_alloc || n_free || n_lock || bad) ? 1 : 0;
}
