/* spade_avx2.h -- the float A-SPADE passes in AVX2 (internal; included by
 * spade.c before the float kernel, x86-64 with GCC or clang only).
 *
 * Each function computes bit for bit what its baseline counterpart in
 * spade_kernel.h computes: the same IEEE operations on the same operands
 * (no FMA: the target is plain "avx2", and -std=c99 keeps contraction
 * off), and the termination value's sum is accumulated in the same four
 * lanes in the same order.  They differ in width (four bins per vector
 * instead of two), in not storing v = A x + u (recomputed as z + u, which
 * gives the same float), and in how the candidates above the selection's
 * guess are gathered (a permutation from a table instead of one store per
 * bin).  The output of the solver does not depend on which set runs
 * (tests/test_simd.py compares them). */
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* compact_lut[mask]: the indices of the set bits of an 8-bit mask, one
 * byte each, lowest first: the permutation that packs the selected lanes
 * of a vector to its front.  Filled once (simd_init). */
static uint64_t compact_lut[256];

static void compact_lut_init(void)
{
    for (int m = 0; m < 256; m++) {
        uint64_t e = 0;
        int j = 0;
        for (int b = 0; b < 8; b++)
            if (m >> b & 1) e |= (uint64_t)b << (8 * j++);
        compact_lut[m] = e;
    }
}

/* dual_update_collect_f: u += z - zbar, v = z + u, the ranking magnitude
 * |v|^2 (+ weight * prior), and the magnitudes above `guess` packed into
 * cand (which has 8 floats of slack).  Bins 1 .. H-1, a multiple of 8,
 * eight per step. */
AVX2 static int dual_update_collect_avx2(int H, fftwf_complex *u, const fftwf_complex *z,
                                         const fftwf_complex *zb, float *mag, float *cand,
                                         float guess, const float *prior, float weight)
{
    /* DC alone, as the baseline does it */
    float ur = u[0][0] + (z[0][0] - zb[0][0]), ui = u[0][1] + (z[0][1] - zb[0][1]);
    u[0][0] = ur;
    u[0][1] = ui;
    float vr = z[0][0] + ur, vi = z[0][1] + ui;
    float m0 = vr * vr + vi * vi;
    m0 *= 0.25f;
    if (prior) m0 += weight * prior[0];
    mag[0] = m0;
    cand[0] = m0;
    int nc = m0 > guess;
    const __m256 g = _mm256_set1_ps(guess), wt = _mm256_set1_ps(weight);
    for (int i = 1; i < H; i += 8) {
        float *pu = u[i];
        const float *pz = z[i], *pb = zb[i];
        __m256 za = _mm256_loadu_ps(pz), zc = _mm256_loadu_ps(pz + 8);
        __m256 ua = _mm256_add_ps(_mm256_loadu_ps(pu), _mm256_sub_ps(za, _mm256_loadu_ps(pb)));
        __m256 uc = _mm256_add_ps(_mm256_loadu_ps(pu + 8),
                                  _mm256_sub_ps(zc, _mm256_loadu_ps(pb + 8)));
        _mm256_storeu_ps(pu, ua);
        _mm256_storeu_ps(pu + 8, uc);
        __m256 va = _mm256_add_ps(za, ua), vc = _mm256_add_ps(zc, uc);
        /* re^2 + im^2 per bin: the pairwise sums of hadd, whose bins come
         * out as (i, i+1, i+4, i+5 | i+2, i+3, i+6, i+7), put in order */
        __m256 h = _mm256_hadd_ps(_mm256_mul_ps(va, va), _mm256_mul_ps(vc, vc));
        h = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8));
        if (prior) h = _mm256_add_ps(h, _mm256_mul_ps(wt, _mm256_loadu_ps(prior + i)));
        _mm256_storeu_ps(mag + i, h);
        int bits = _mm256_movemask_ps(_mm256_cmp_ps(h, g, _CMP_GT_OQ));
        __m256i perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&compact_lut[bits]));
        _mm256_storeu_ps(cand + nc, _mm256_permutevar8x32_ps(h, perm));
        nc += __builtin_popcount((unsigned)bits);
    }
    return nc;
}

/* aspade_threshold_fast_f: keep every bin with mag >= t (zbar = v there,
 * 0 elsewhere), b = zbar - u, and |z - zbar|^2 summed in the baseline's
 * four lanes (re, im of an odd bin, re, im of the next), in its order. */
AVX2 static int aspade_threshold_fast_avx2(int H, const float *mag, float t,
                                           const fftwf_complex *z, const fftwf_complex *u,
                                           fftwf_complex *zb, fftwf_complex *b, double *in)
{
    int kept = mag[0] >= t;
    float a0 = 0.0f, a1 = 0.0f;
    {
        float vr = z[0][0] + u[0][0], vi = z[0][1] + u[0][1];
        float zr = kept ? vr : 0.0f, zi = kept ? vi : 0.0f;
        float dr = z[0][0] - zr, di = z[0][1] - zi;
        a0 += dr * dr;
        a1 += di * di;
        zb[0][0] = zr;
        zb[0][1] = zi;
        b[0][0] = zr - u[0][0];
        b[0][1] = zi - u[0][1];
    }
    __m128 acc = _mm_set_ps(0.0f, 0.0f, a1, a0);
    const __m256 tt = _mm256_set1_ps(t);
    const __m256i dup = _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0);
    int kept2 = 0;
    for (int i = 1; i < H; i += 4) {
        __m256 mm = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(mag + i)), dup);
        __m256 keep = _mm256_cmp_ps(mm, tt, _CMP_GE_OQ);
        kept2 += __builtin_popcount((unsigned)_mm256_movemask_ps(keep));
        __m256 zz = _mm256_loadu_ps(z[i]), uu = _mm256_loadu_ps(u[i]);
        __m256 zbi = _mm256_and_ps(_mm256_add_ps(zz, uu), keep);
        __m256 d = _mm256_sub_ps(zz, zbi);
        d = _mm256_mul_ps(d, d);
        acc = _mm_add_ps(acc, _mm256_castps256_ps128(d));
        acc = _mm_add_ps(acc, _mm256_extractf128_ps(d, 1));
        _mm256_storeu_ps(zb[i], zbi);
        _mm256_storeu_ps(b[i], _mm256_sub_ps(zbi, uu));
    }
    float l[4];
    _mm_storeu_ps(l, acc);
    *in = (double)l[0] + (double)l[1] + (double)l[2] + (double)l[3];
    return kept + kept2 / 2;
}

/* The projection: next = clamp(to * inv_m, lo, hi); max(lo, x) is
 * "x < lo ? lo : x" and min(hi, x) is "x > hi ? hi : x", as in clamp_f.
 * n is a multiple of 8. */
AVX2 static void project_avx2(int n, float *next, const float *to, float inv_m,
                              const float *lo, const float *hi)
{
    const __m256 s = _mm256_set1_ps(inv_m);
    for (int i = 0; i < n; i += 8) {
        __m256 x = _mm256_mul_ps(_mm256_loadu_ps(to + i), s);
        x = _mm256_max_ps(_mm256_loadu_ps(lo + i), x);
        x = _mm256_min_ps(_mm256_loadu_ps(hi + i), x);
        _mm256_storeu_ps(next + i, x);
    }
}
