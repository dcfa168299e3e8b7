/* alloc_shim.c -- LD_PRELOAD shim: counts heap calls and mutex locks made
 * *inside* rtd_process_double / rtd_process_float by the calling thread,
 * in a real Python process driving the installed extension (the same
 * binary and flags users get).
 *
 * The extension calls its own exported rtd_process_* through the PLT, so
 * the definitions here win; they set a thread-local flag around the real
 * call (found with dlsym(RTLD_NEXT)).  malloc & co. and
 * pthread_mutex_lock / trylock / rwlocks are counted while the flag is
 * set, and semaphore waits apart: the one hand-off a stream with worker
 * threads makes per hop (the caller waits for each worker's lane; no
 * mutex, no allocation).  rtd_shim_counts() reports, read by the test via
 * ctypes.  Calls made by other threads (Python's) are not counted. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>

static __thread int inside;
static long n_calls, n_alloc, n_free, n_lock, n_wait;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n) { if (inside) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (inside) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (inside) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_realloc(p, n); }
void free(void *p) { if (inside && p) __atomic_add_fetch(&n_free, 1, __ATOMIC_RELAXED); __libc_free(p); }
void *memalign(size_t a, size_t n) { if (inside) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { if (inside) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    if (inside) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED);
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12;
}

#define COUNTED(ret, name, params, args)                                  \
    ret name params                                                       \
    {                                                                     \
        static ret (*real) params;                                        \
        if (!real) real = (ret (*) params)dlsym(RTLD_NEXT, #name);        \
        if (inside) __atomic_add_fetch(&n_lock, 1, __ATOMIC_RELAXED);     \
        return real args;                                                 \
    }
COUNTED(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
COUNTED(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
COUNTED(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
COUNTED(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
COUNTED(int, pthread_spin_lock, (pthread_spinlock_t *l), (l))
int sem_wait(sem_t *s)
{
    static int (*real)(sem_t *);
    if (!real) real = (int (*)(sem_t *))dlsym(RTLD_NEXT, "sem_wait");
    if (inside) __atomic_add_fetch(&n_wait, 1, __ATOMIC_RELAXED);
    return real(s);
}

/* The extension is loaded RTLD_LOCAL, so RTLD_NEXT cannot see its
 * definitions: look them up in the extension itself (RTD_SHIM_LIB = its
 * path, already loaded by the time process is called). */
#include <stdlib.h>
static void *real_symbol(const char *name)
{
    const char *lib = getenv("RTD_SHIM_LIB");
    void *h = lib ? dlopen(lib, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    void *f = h ? dlsym(h, name) : NULL;
    if (!f) abort(); /* the shim must not silently count nothing */
    return f;
}

#define WRAPPED(name, T)                                                   \
    void name(void *st, const T *in, T *out, int frames)                   \
    {                                                                      \
        static void (*real)(void *, const T *, T *, int);                  \
        if (!real) real = (void (*)(void *, const T *, T *, int))real_symbol(#name); \
        __atomic_add_fetch(&n_calls, 1, __ATOMIC_RELAXED);                 \
        inside++; /* a depth: the chains call rtd_process_*  */         \
        real(st, in, out, frames);                                         \
        inside--;                                                          \
    }
WRAPPED(rtd_process_double, double)
WRAPPED(rtd_process_float, float)
WRAPPED(rtd_rate_process_double, double)
WRAPPED(rtd_rate_process_float, float)
WRAPPED(rtd_named_process_double, double)  /* a stream's second pass (named_stream.c) */
WRAPPED(rtd_named_process_float, float)

void rtd_shim_counts(long *out)
{
    out[0] = n_calls;
    out[1] = n_alloc;
    out[2] = n_free;
    out[3] = n_lock;
    out[4] = n_wait;
}

/* positive control: one malloc, one free and one lock counted as if inside
 * rtd_process_*, through the same interposed entry points */
void rtd_shim_selftest(void)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    void *(*volatile m_alloc)(size_t) = malloc;
    void (*volatile m_free)(void *) = free;
    inside = 1;
    m_free(m_alloc(64));
    pthread_mutex_lock(&m);
    inside = 0;
    pthread_mutex_unlock(&m);
}
