/* select.c -- k-th largest value without a full sort.
 *
 * Hard thresholding keeps the k largest of (window*redundancy/2 + 1)
 * magnitudes every iteration, so this runs once per iteration beside two
 * FFTs and must cost well under one of them. */
#include "select.h"

#include "rtdeclip.h"
#include "rtdeclip_testing.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Small k: keep the k largest seen so far in descending order; almost every
 * value is rejected by one comparison with the current k-th. */
#define SMALL_K 48

#define R double
#define KS(name) name
#include "select_kernel.h"
#undef R
#undef KS

/* Single precision: the same small-k pass, then a radix selection on the
 * values' bit patterns instead of quickselect (below). */
#define R float
#define KS(name) name##_f
#define SELECT_NO_PUBLIC
#include "select_kernel.h"
#undef SELECT_NO_PUBLIC
#undef R
#undef KS

/* The bit pattern of a float as an unsigned key: for values >= +0 (the
 * solver ranks squared magnitudes) key order is value order. */
static inline uint32_t fkey(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

#define RADIX_BUCKETS 256 /* at most; fewer for small sets          */
#define RADIX_SMALL 24    /* sets this small finish with kth_small  */

/* The k-th largest of a[0..n) by MSD radix selection on the keys: each
 * level counts the keys in at most RADIX_BUCKETS equal slices of the range
 * [min, max] still in play, keeps the slice holding rank k and compacts
 * the set to it.  Branch-free apart from the bucket scan, so it does not
 * pay quickselect's mispredicted comparisons; each level narrows the range
 * by the bucket count, so at most five levels for 32-bit keys, and in
 * practice one or two before the set is small.  Values must be >= +0 and
 * not NaN (the order of other keys is not value order; the result is then
 * still one of the values, never a read outside a).  Exact: the returned
 * value and *above (how many values are strictly larger) are those a
 * descending sort gives. */
static float kth_radix_f(float *a, int n, int k, int *above)
{
    uint32_t cnt[RADIX_BUCKETS];
    int larger = 0; /* values above the set in play, from earlier levels */
    for (;;) {
        if (n <= RADIX_SMALL) {
            int ab;
            float t = kth_small_f(a, n, k, &ab);
            *above = larger + ab;
            return t;
        }
        uint32_t lo = fkey(a[0]), hi = lo;
        for (int i = 1; i < n; i++) {
            uint32_t x = fkey(a[i]);
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        if (lo == hi) { /* all equal: the value, none above it in the set */
            *above = larger;
            return a[0];
        }
        int nb = n < RADIX_BUCKETS ? 64 : RADIX_BUCKETS;
        uint32_t span = hi - lo;
        int shift = 0;
        while ((span >> shift) >= (uint32_t)nb) shift++;
        int top = (int)(span >> shift);
        memset(cnt, 0, sizeof(uint32_t) * (size_t)(top + 1));
        for (int i = 0; i < n; i++) cnt[(fkey(a[i]) - lo) >> shift]++;
        int b = top, cum = 0;
        while (cum + (int)cnt[b] < k) cum += (int)cnt[b--];
        k -= cum;
        larger += cum;
        /* keep bucket b, branch-free; the range shrinks at least by half
         * (shift = 0 leaves one key, caught above), so this ends */
        int m = 0;
        for (int i = 0; i < n; i++) {
            float x = a[i];
            a[m] = x;
            m += (int)((fkey(x) - lo) >> shift) == b;
        }
        n = m;
    }
}

float rtd_kth_largest_inplace_f(float *a, int n, int k, int *above)
{
    if (k <= SMALL_K && n >= 16 * k) /* mostly one rejecting comparison */
        return kth_small_f(a, n, k, above);
    return kth_radix_f(a, n, k, above);
}

float rtd_kth_largest_f(const float *v, int n, int k, float *scratch, int *above)
{
    if (k <= SMALL_K && n >= 16 * k)
        return kth_small_f(v, n, k, above);
    memcpy(scratch, v, sizeof(float) * (size_t)n);
    return kth_radix_f(scratch, n, k, above);
}

double rtd_testing_kth_largest(const double *v, int n, int k, int single, int *above)
{
    *above = -1;
    if (n < 1 || k < 1 || k > n) return NAN;
    if (!single) {
        double *scratch = malloc(sizeof(double) * (size_t)n);
        if (!scratch) return NAN;
        double t = rtd_kth_largest(v, n, k, scratch, above);
        free(scratch);
        return t;
    }
    float *f = malloc(sizeof(float) * 2 * (size_t)n);
    if (!f) return NAN;
    for (int i = 0; i < n; i++) f[i] = (float)v[i];
    float t = rtd_kth_largest_f(f, n, k, f + n, above);
    free(f);
    return t;
}
