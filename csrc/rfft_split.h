/* rfft_split.h -- the float kernel's real FFT as a half-length complex FFT
 * (internal; included by spade.c before the float kernel, after
 * spade_avx2.h, whose AVX2 target it shares).
 *
 * Why: FFTW 3.3's float r2c/c2r transforms are barely faster than its
 * double ones at 512-8192 points (1.03-1.4x here), because its real
 * transforms run mostly scalar codelets, while its complex transforms use
 * AVX with four complex floats per vector.  A real signal x of even length
 * M read as M/2 complex samples z[n] = x[2n] + i x[2n+1] (the same memory)
 * has the complex FFT Z, from which the half spectrum follows in one pass:
 *
 *   X[k] = Fe[k] + W^k Fo[k],   X[M/2-k] = conj(Fe[k] - W^k Fo[k]),
 *   Fe[k] = (Z[k] + conj Z[M/2-k]) / 2,  Fo[k] = -i (Z[k] - conj Z[M/2-k]) / 2,
 *
 * W = exp(-2 pi i / M); the inverse runs the pass backwards, then a complex
 * inverse FFT whose output, read as M reals, is FFTW's unnormalised c2r.
 * The two passes cost about a third of what the half-length complex FFTs
 * save (0.14 of 0.46 us at 512 points): the float transform pair runs
 * 1.4-1.9x faster than fftwf's r2c + c2r (benchmarks/speed.py reports
 * both).  The double kernel
 * keeps FFTW's real transforms, so the survey's arithmetic is unchanged.
 *
 * The passes take bins k = 1 .. M/4 four at a time with their mirrors
 * M/2-k, so M must be a multiple of 16 (every window is a power of two
 * >= 16).  They are written once on 8-float vectors and compiled twice,
 * for the baseline ISA and for AVX2; the same IEEE operations in the same
 * order (no FMA: -std=c99 keeps contraction off), so both give the same
 * floats (tests/test_simd.py). */
#include <fftw3.h>
#include <math.h>
#include <string.h>

/* 8 floats: one AVX register, two SSE registers on the baseline ISA */
typedef float rs_v8f __attribute__((vector_size(32)));
typedef int rs_v8i __attribute__((vector_size(32)));

#define RS_INLINE static inline __attribute__((always_inline))

/* Unaligned loads and stores of 8 floats (the type that _mm256_loadu_ps is
 * built on: alignment 4, may alias floats); macros, so that no function
 * passes a vector by value (whose ABI differs with and without AVX). */
typedef float rs_v8f_u __attribute__((vector_size(32), aligned(4), may_alias));
#define rs_ld(p) (*(const rs_v8f_u *)(const void *)(p))
#define rs_st(p, r) (*(rs_v8f_u *)(void *)(p) = (r))

/* four complex numbers in reverse order; (re, im) -> (im, re) in each;
 * the real or the imaginary parts doubled (macros: no vector arguments;
 * clang, which the fuzzers use, spells GCC's shuffle differently) */
#if defined(__clang__)
#define RS_SHUF(a, i0, i1, i2, i3, i4, i5, i6, i7) \
    __builtin_shufflevector((a), (a), i0, i1, i2, i3, i4, i5, i6, i7)
#else
#define RS_SHUF(a, i0, i1, i2, i3, i4, i5, i6, i7) \
    __builtin_shuffle((a), (rs_v8i){i0, i1, i2, i3, i4, i5, i6, i7})
#endif
#define rs_rev(a) RS_SHUF(a, 6, 7, 4, 5, 2, 3, 0, 1)
#define rs_swap(a) RS_SHUF(a, 1, 0, 3, 2, 5, 4, 7, 6)
#define rs_dup_re(a) RS_SHUF(a, 0, 0, 2, 2, 4, 4, 6, 6)
#define rs_dup_im(a) RS_SHUF(a, 1, 1, 3, 3, 5, 5, 7, 7)

#define RS_CONJ ((rs_v8f){1, -1, 1, -1, 1, -1, 1, -1})

/* Z (M/2 complex, the FFT of x read as complex) -> X (M/2 + 1 bins).  tw
 * holds W^k and twp i W^k = (-Im W^k, Re W^k), k = 0 .. M/4 + 3. */
RS_INLINE void rs_post_body(int hh, const fftwf_complex *Z, fftwf_complex *X,
                            const fftwf_complex *tw, const fftwf_complex *twp)
{
    const float z0r = Z[0][0], z0i = Z[0][1];
    X[0][0] = z0r + z0i;
    X[0][1] = 0.0f;
    X[hh][0] = z0r - z0i;
    X[hh][1] = 0.0f;
    const rs_v8f half = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    for (int k = 1; k <= hh / 2; k += 4) {
        const int j = hh - k - 3; /* the mirrors hh-k-3 .. hh-k, reversed */
        rs_v8f a = rs_ld(Z + k), b = rs_rev(rs_ld(Z + j)) * RS_CONJ;
        rs_v8f fe = half * (a + b), d = half * (a - b);
        rs_v8f fo = rs_swap(d) * RS_CONJ; /* -i d */
        rs_v8f t = rs_dup_re(fo) * rs_ld(tw + k) + rs_dup_im(fo) * rs_ld(twp + k);
        rs_st(X + k, fe + t);
        rs_st(X + j, rs_rev((fe - t) * RS_CONJ));
    }
}

/* X (M/2 + 1 bins) -> Z (M/2 complex) whose inverse complex FFT, read as M
 * reals, is M x (FFTW's c2r: the imaginary parts of DC and Nyquist are
 * ignored). */
RS_INLINE void rs_pre_body(int hh, const fftwf_complex *X, fftwf_complex *Z,
                           const fftwf_complex *tw, const fftwf_complex *twp)
{
    const float x0 = X[0][0], xh = X[hh][0];
    Z[0][0] = x0 + xh;
    Z[0][1] = x0 - xh;
    const rs_v8f imul = {-1, 1, -1, 1, -1, 1, -1, 1}; /* i (a, b) = swap * imul */
    for (int k = 1; k <= hh / 2; k += 4) {
        const int j = hh - k - 3;
        rs_v8f a = rs_ld(X + k), b = rs_rev(rs_ld(X + j)) * RS_CONJ;
        rs_v8f e = a + b, d = a - b;
        /* o = d conj(W^k) = re(d) conj(W^k) + im(d) i conj(W^k), and
         * i conj(W^k) = (Im W^k, Re W^k) = twp * (-1, 1) */
        rs_v8f o = rs_dup_re(d) * (rs_ld(tw + k) * RS_CONJ) + rs_dup_im(d) * (rs_ld(twp + k) * imul);
        rs_st(Z + k, e + rs_swap(o) * imul);                       /* e + i o */
        rs_st(Z + j, rs_rev(e * RS_CONJ + rs_swap(o * RS_CONJ) * imul)); /* conj e + i conj o */
    }
}

static void rs_post_base(int hh, const fftwf_complex *Z, fftwf_complex *X,
                         const fftwf_complex *tw, const fftwf_complex *twp)
{
    rs_post_body(hh, Z, X, tw, twp);
}

static void rs_pre_base(int hh, const fftwf_complex *X, fftwf_complex *Z,
                        const fftwf_complex *tw, const fftwf_complex *twp)
{
    rs_pre_body(hh, X, Z, tw, twp);
}

#ifdef RTD_AVX2_PASSES /* spade_avx2.h: x86-64 with GCC or clang */
AVX2 static void rs_post_avx2(int hh, const fftwf_complex *Z, fftwf_complex *X,
                              const fftwf_complex *tw, const fftwf_complex *twp)
{
    rs_post_body(hh, Z, X, tw, twp);
}

AVX2 static void rs_pre_avx2(int hh, const fftwf_complex *X, fftwf_complex *Z,
                             const fftwf_complex *tw, const fftwf_complex *twp)
{
    rs_pre_body(hh, X, Z, tw, twp);
}
#endif

/* The twiddles for a transform of M points (M/4 + 4 of each, computed in
 * double and rounded once). */
static void rs_twiddles(int M, fftwf_complex *tw, fftwf_complex *twp)
{
    for (int k = 0; k < M / 4 + 4; k++) {
        double a = -2.0 * M_PI * (double)k / (double)M;
        tw[k][0] = (float)cos(a);
        tw[k][1] = (float)sin(a);
        twp[k][0] = -tw[k][1];
        twp[k][1] = tw[k][0];
    }
}
