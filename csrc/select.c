/* select.c -- k-th largest value without a full sort.
 *
 * Hard thresholding keeps the k largest of (window*redundancy/2 + 1)
 * magnitudes every iteration, so this runs once per iteration beside two
 * FFTs and must cost well under one of them. */
#include "select.h"

/* Small k: keep the k largest seen so far in descending order; almost every
 * value is rejected by one comparison with the current k-th. */
#define SMALL_K 48

static double kth_small(const double *v, int n, int k, int *above)
{
    double top[SMALL_K];
    int have = 0;
    for (int i = 0; i < n; i++) {
        double x = v[i];
        if (have == k && !(x > top[k - 1]))
            continue;
        int j = (have < k) ? have++ : k - 1;
        while (j > 0 && top[j - 1] < x) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = x;
    }
    /* the list holds the k largest, so every value above top[k-1] is in it */
    int c = 0;
    for (int j = 0; j < k - 1; j++) c += top[j] > top[k - 1];
    *above = c;
    return top[k - 1];
}

static inline void swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Quickselect on a[0..n) for the element of descending rank k-1, with a
 * median-of-three pivot and a three-way split so runs of equal values
 * (zeros are common) cannot make it quadratic. */
static double kth_quick(double *a, int n, int k)
{
    int lo = 0, hi = n - 1, want = k - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] > a[lo]) swap(&a[mid], &a[lo]);
        if (a[hi] > a[lo]) swap(&a[hi], &a[lo]);
        if (a[hi] > a[mid]) swap(&a[hi], &a[mid]);
        double pivot = a[mid]; /* median of the three */
        /* Dutch flag: [lo,lt) > pivot, [lt,i) == pivot, (gt,hi] < pivot */
        int lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            if (a[i] > pivot)
                swap(&a[lt++], &a[i++]);
            else if (a[i] < pivot)
                swap(&a[i], &a[gt--]);
            else
                i++;
        }
        if (want < lt)
            hi = lt - 1;
        else if (want > gt)
            lo = gt + 1;
        else
            return pivot;
    }
    return a[want];
}

double rtd_kth_largest_inplace(double *a, int n, int k, int *above)
{
    if (k <= SMALL_K)
        return kth_small(a, n, k, above);
    double t = kth_quick(a, n, k);
    /* quickselect leaves the values >= t in front of rank k-1 */
    int c = 0;
    for (int i = 0; i < k - 1; i++) c += a[i] > t;
    *above = c;
    return t;
}

double rtd_kth_largest(const double *v, int n, int k, double *scratch, int *above)
{
    if (k <= SMALL_K)
        return kth_small(v, n, k, above);
    for (int i = 0; i < n; i++)
        scratch[i] = v[i];
    return rtd_kth_largest_inplace(scratch, n, k, above);
}
