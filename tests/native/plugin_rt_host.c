/* plugin_rt_host.c -- a small LADSPA + LV2 host that proves the plug-ins'
 * run() (and activate()) neither allocate nor lock.
 *
 * Like rt_driver.c it defines malloc & co., pthread mutex / rwlock /
 * condition / semaphore waits for the whole process (the plug-in's and
 * FFTW's calls bind to these: the executable is linked -rdynamic) and
 * counts the calls made while `counting` is set.  FFTW's planner always
 * allocates and the core serialises it with a mutex, so a plan made in
 * run() would show up in both counts.
 *
 * Usage: plugin_rt_host LADSPA_SO LV2_SO SECONDS
 * For each plug-in (LADSPA mono/stereo, LV2 mono/stereo, and the same four
 * low-latency variants at the same rates) it instantiates
 * (counted apart: it must allocate, which shows the counters reach into
 * the plug-in), then runs SECONDS of clipped audio with NaN, Inf and
 * denormal samples in blocks of 1..8192 frames changing every call, while
 * changing every control (preset, clip mode and levels, gain, limiter,
 * ceiling, bypass) every few blocks, with activate() and zero-frame runs
 * mixed in.  Prints one line per plug-in and a self-test of the counters;
 * exits 0 only if nothing was counted and the output stayed finite. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ladspa.h>
#include <lv2/core/lv2.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int counting;
static long n_alloc, n_free, n_lock;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n) { if (counting) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (counting) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (counting) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_realloc(p, n); }
void free(void *p) { if (counting && p) __atomic_add_fetch(&n_free, 1, __ATOMIC_RELAXED); __libc_free(p); }
void *memalign(size_t a, size_t n) { if (counting) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { if (counting) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    if (counting) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED);
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12;
}

#define COUNTED(ret, name, params, args)                                     \
    ret name params                                                          \
    {                                                                        \
        static ret (*real) params;                                           \
        if (!real) real = (ret (*) params)dlsym(RTLD_NEXT, #name);           \
        if (counting) __atomic_add_fetch(&n_lock, 1, __ATOMIC_RELAXED);      \
        return real args;                                                    \
    }
COUNTED(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
COUNTED(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
COUNTED(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
COUNTED(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
COUNTED(int, pthread_spin_lock, (pthread_spinlock_t *l), (l))
COUNTED(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
COUNTED(int, sem_wait, (sem_t *s), (s))

#define MAXB 8192
#define N_CTL 10       /* the last two (hedge, codec) after the meters */
#define N_CTL_FIRST 8

/* one plug-in instance behind either API */
typedef struct {
    const char *what;
    int C;
    const LADSPA_Descriptor *ld;
    const LV2_Descriptor *vd;
    void *h;
} plug;

static void connect(plug *p, unsigned long port, float *where)
{
    if (p->ld) p->ld->connect_port(p->h, port, where);
    else p->vd->connect_port(p->h, (uint32_t)port, where);
}
static void activate(plug *p) { if (p->ld) p->ld->activate(p->h); else p->vd->activate(p->h); }
static void run(plug *p, unsigned long n) { if (p->ld) p->ld->run(p->h, n); else p->vd->run(p->h, (uint32_t)n); }
static void cleanup(plug *p) { if (p->ld) p->ld->cleanup(p->h); else p->vd->cleanup(p->h); }

static float in[2][MAXB], out[2][MAXB], ctl[N_CTL], meters[8];

static int exercise(plug *p, double rate, double seconds, unsigned seed, float preset0)
{
    const int C = p->C;
    for (int c = 0; c < C; c++) {
        connect(p, c, in[c]);
        connect(p, C + c, out[c]);
    }
    const float defaults[N_CTL] = {preset0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    memcpy(ctl, defaults, sizeof ctl);
    for (int i = 0; i < N_CTL_FIRST; i++) connect(p, 2 * C + i, &ctl[i]);
    for (int i = 0; i < 1 + 2 * C + 2; i++) connect(p, 2 * C + N_CTL_FIRST + i, &meters[i]);
    connect(p, 2 * C + N_CTL_FIRST + 1 + 2 * C + 2, &ctl[N_CTL_FIRST]);   /* hedge */
    connect(p, 2 * C + N_CTL_FIRST + 1 + 2 * C + 3, &ctl[N_CTL_FIRST + 1]); /* codec */
    activate(p);
    srand(seed);
    long total = (long)(seconds * rate), done = 0, blocks = 0, bad = 0;
    double ph = 0;
    n_alloc = n_free = n_lock = 0;
    counting = 1;
    while (done < total) {
        int n = 1 + rand() % MAXB;
        for (int i = 0; i < n; i++, ph += 1.0) {
            for (int c = 0; c < C; c++) {
                double x = 0.6 * sin(2 * M_PI * 220 * ph / rate + c) + 0.3 * sin(2 * M_PI * 1375 * ph / rate);
                x = x > 0.4 ? 0.4 : x < -0.45 ? -0.45 : x;
                long k = done + i;
                /* the second half: noise after the clipper, a smeared rail
                 * (what the hedge control hedges) */
                if (2 * k > total) x += 2e-3 * (rand() / (double)RAND_MAX - 0.5);
                if (k % 9973 == 0) x = NAN;
                if (k % 7919 == 0) x = INFINITY;
                if (k % 6007 < 40) x = 1e-41; /* a run of float denormals */
                in[c][i] = (float)x;
            }
        }
        if (blocks % 7 == 3) { /* every control, in range and out of it */
            switch (rand() % 10) {
            case 0: ctl[0] = (float)(rand() % 3); break;        /* preset (2 / 0-1 out of range
                                                                   for standard / low-latency) */
            case 1: ctl[1] = (float)(rand() % 2); break;        /* clip mode */
            case 2: ctl[2] = -(float)(rand() % 20); ctl[3] = -(float)(rand() % 20); break;
            case 3: ctl[4] = (float)(rand() % 49 - 24); break;  /* gain */
            case 4: ctl[5] = (float)(rand() % 2); ctl[6] = -(float)(rand() % 10); break;
            case 5: ctl[7] = (float)(rand() % 2); break;        /* bypass */
            case 6: ctl[rand() % N_CTL] = NAN; break;
            case 7: activate(p); break;
            case 8: run(p, 0); break;
            case 9:
                if (rand() % 2) ctl[N_CTL_FIRST] = (float)(rand() % 7); /* hedge, 6 out of range */
                else ctl[N_CTL_FIRST + 1] = (float)(rand() % 3);       /* codec, 2 out of range */
                break;
            }
        }
        run(p, (unsigned long)n);
        for (int c = 0; c < C; c++)
            for (int i = 0; i < n; i++) bad += !isfinite(out[c][i]);
        done += n;
        blocks++;
    }
    counting = 0;
    printf("%s: blocks %ld frames %ld allocations %ld frees %ld locks %ld nonfinite %ld latency %g\n",
           p->what, blocks, done, n_alloc, n_free, n_lock, bad, meters[0]);
    return n_alloc || n_free || n_lock || bad || meters[0] <= 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: %s LADSPA_SO LV2_SO SECONDS\n", argv[0]); return 2; }
    double seconds = atof(argv[3]);
    int fail = 0;
    void *lh = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    void *vh = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!lh || !vh) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    LADSPA_Descriptor_Function lf = (LADSPA_Descriptor_Function)dlsym(lh, "ladspa_descriptor");
    LV2_Descriptor_Function vf = (LV2_Descriptor_Function)dlsym(vh, "lv2_descriptor");
    if (!lf || !vf) { fprintf(stderr, "no descriptor function\n"); return 2; }
    /* k: bit 0 stereo, bit 1 LV2; family k / 4: standard, low-latency
     * (descriptor index 2 + C - 1), voice (4 + C - 1: the rate chain to
     * 16 kHz, so at 2, 3 or 6 times that), lossy (6 + C - 1: the second
     * pass after the state) */
    const double rates[4][4] = {{48000, 44100, 96000, 22050},
                                {48000, 44100, 96000, 22050},
                                {48000, 32000, 96000, 48000},
                                {44100, 48000, 22050, 96000}};
    static const char *const names[16] = {
        "ladspa mono 48000", "ladspa stereo 44100", "lv2 mono 96000", "lv2 stereo 22050",
        "ladspa mono_lowlatency 48000", "ladspa stereo_lowlatency 44100",
        "lv2 mono_lowlatency 96000", "lv2 stereo_lowlatency 22050",
        "ladspa mono_voice 48000", "ladspa stereo_voice 32000",
        "lv2 mono_voice 96000", "lv2 stereo_voice 48000",
        "ladspa mono_lossy 44100", "ladspa stereo_lossy 48000",
        "lv2 mono_lossy 22050", "lv2 stereo_lossy 96000"};
    for (int k = 0; k < 16; k++) {
        plug p = {0};
        int family = k / 4;
        int index = (k & 1) + 2 * family;
        double rate = rates[family][k & 3];
        p.C = 1 + (k & 1);
        p.what = names[k];
        n_alloc = n_free = n_lock = 0;
        counting = 1;
        if (!(k & 2)) {
            p.ld = lf((unsigned long)index);
            p.h = p.ld ? p.ld->instantiate(p.ld, (unsigned long)rate) : NULL;
        } else {
            p.vd = vf((uint32_t)index);
            p.h = p.vd ? p.vd->instantiate(p.vd, rate, "/nonexistent", NULL) : NULL;
        }
        counting = 0;
        if (!p.h) { fprintf(stderr, "%s: instantiate failed\n", p.what); return 2; }
        /* positive control: instantiate's own allocations and the planner
         * lock, made inside the plug-in and FFTW, are seen */
        printf("%s: instantiate allocations %ld locks %ld\n", p.what, n_alloc, n_lock);
        fail |= exercise(&p, rate, seconds, 17 + k, family == 1 ? 2.0f : 0.0f);
        cleanup(&p);
    }
    /* the counters count: one of each through the interposed entry points */
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    void *(*volatile m_alloc)(size_t) = malloc;
    void (*volatile m_free)(void *) = free;
    n_alloc = n_free = n_lock = 0;
    counting = 1;
    m_free(m_alloc(64));
    pthread_mutex_lock(&m);
    counting = 0;
    pthread_mutex_unlock(&m);
    printf("selftest %ld %ld %ld\n", n_alloc, n_free, n_lock);
    return fail;
}
