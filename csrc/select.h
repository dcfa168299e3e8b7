/* select.h -- linear-time selection for hard thresholding (internal). */
#ifndef RTD_SELECT_H
#define RTD_SELECT_H

/* The k-th largest value of v[0..n), 1 <= k <= n.  `scratch` holds n
 * doubles and is overwritten; v is left untouched.  *above receives how
 * many values are strictly larger than the one returned.  Expected O(n): a
 * quickselect for large k, one pass with a small sorted list for small k. */
double rtd_kth_largest(const double *v, int n, int k, double *scratch, int *above);

/* The same on a[0..n), which it reorders (no copy); *above receives how
 * many values are strictly larger than the one returned. */
double rtd_kth_largest_inplace(double *a, int n, int k, int *above);

/* The same in single precision (the float solver). */
float rtd_kth_largest_f(const float *v, int n, int k, float *scratch, int *above);
float rtd_kth_largest_inplace_f(float *a, int n, int k, int *above);

#endif
