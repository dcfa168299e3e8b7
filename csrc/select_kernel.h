/* select_kernel.h -- the selection in one precision (internal); included
 * by select.c with R the real type and KS(name) this precision's name. */

static R KS(kth_small)(const R *v, int n, int k, int *above)
{
    R top[SMALL_K];
    int have = 0;
    for (int i = 0; i < n; i++) {
        R x = v[i];
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

#ifndef SELECT_NO_PUBLIC
static inline void KS(swap)(R *a, R *b)
{
    R t = *a;
    *a = *b;
    *b = t;
}

/* Quickselect on a[0..n) for the element of descending rank k-1, with a
 * median-of-three pivot and a three-way split so runs of equal values
 * (zeros are common) cannot make it quadratic. */
static R KS(kth_quick)(R *a, int n, int k)
{
    int lo = 0, hi = n - 1, want = k - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] > a[lo]) KS(swap)(&a[mid], &a[lo]);
        if (a[hi] > a[lo]) KS(swap)(&a[hi], &a[lo]);
        if (a[hi] > a[mid]) KS(swap)(&a[hi], &a[mid]);
        R pivot = a[mid]; /* median of the three */
        /* Dutch flag: [lo,lt) > pivot, [lt,i) == pivot, (gt,hi] < pivot */
        int lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            if (a[i] > pivot)
                KS(swap)(&a[lt++], &a[i++]);
            else if (a[i] < pivot)
                KS(swap)(&a[i], &a[gt--]);
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

R KS(rtd_kth_largest_inplace)(R *a, int n, int k, int *above)
{
    if (k <= SMALL_K)
        return KS(kth_small)(a, n, k, above);
    R t = KS(kth_quick)(a, n, k);
    /* quickselect leaves the values >= t in front of rank k-1 */
    int c = 0;
    for (int i = 0; i < k - 1; i++) c += a[i] > t;
    *above = c;
    return t;
}

R KS(rtd_kth_largest)(const R *v, int n, int k, R *scratch, int *above)
{
    if (k <= SMALL_K)
        return KS(kth_small)(v, n, k, above);
    for (int i = 0; i < n; i++)
        scratch[i] = v[i];
    return KS(rtd_kth_largest_inplace)(scratch, n, k, above);
}
#endif
