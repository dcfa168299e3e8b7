/* select.c -- k-th largest value without a full sort.
 *
 * Hard thresholding keeps the k largest of (window*redundancy/2 + 1)
 * magnitudes every iteration, so this runs once per iteration beside two
 * FFTs and must cost well under one of them. */
#include "select.h"

/* Small k: keep the k largest seen so far in descending order; almost every
 * value is rejected by one comparison with the current k-th. */
#define SMALL_K 48

#define R double
#define KS(name) name
#include "select_kernel.h"
#undef R
#undef KS

#define R float
#define KS(name) name##_f
#include "select_kernel.h"
#undef R
#undef KS
