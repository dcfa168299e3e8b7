/* spade_kernel.h -- the SPADE iteration in one precision (internal).
 *
 * Included twice by spade.c: once with R = double (the survey's precision,
 * bit for bit what it always computed) and once with R = float (fftwf
 * plans; an iteration moves half the bytes and FFTW's codelets do twice
 * the lanes).  The including file defines:
 *   R          the real type
 *   FW(name)   fftw_##name or fftwf_##name
 *   K(name)    a suffixed name for this precision's functions
 *   KTH, KTH_INPLACE   the selection functions of this precision
 * Inputs and outputs of kernel_solve are double in both cases (the stream
 * keeps its buffers in double); the float kernel converts at the edges,
 * which costs O(window) per frame against O(iterations * window log window).
 */

typedef R K(v2) __attribute__((vector_size(2 * sizeof(R))));

typedef struct {
    int w, M, H;           /* frame, padded transform, half spectrum       */
    double guess_ratio;    /* selection pre-filter, see select_threshold() */
    unsigned fftw_flags;   /* the planning rigour, for the benchmark's plans */
    FW(plan) fwd, inv;     /* double: r2c of any x buffer -> zest; c2r c_in -> t_out */
    R *xb[3];              /* M each, zero tail: current, best, next iterate */
    R *ain;                /* M, zero tail: S-SPADE analysis input x - u    */
    R *t_out;              /* M: inverse FFT output                         */
    FW(complex) *zest, *c_in, *u, *zb, *v; /* H each                        */
    R *ut;                 /* w: S-SPADE time-domain dual                   */
    R *mag, *cand;         /* H each: magnitudes and selection candidates   */
    R *lo, *hi;            /* w each: the consistent set as a box           */
    int avx2;              /* float kernel: run the AVX2 passes             */
#ifdef KERNEL_F32
    /* the real FFTs as half-length complex FFTs (rfft_split.h) */
    FW(plan) cfwd, cinv;   /* M/2 complex: x read as complex -> zc; zc -> t_out */
    FW(complex) *zc;       /* M/2: the half-length spectrum                 */
    FW(complex) *tw, *twp; /* M/4 + 4 each: W^k and i W^k                   */
#endif
} K(kernel);

static void K(kernel_free)(K(kernel) *kn)
{
    if (kn->fwd) FW(destroy_plan)(kn->fwd);
    if (kn->inv) FW(destroy_plan)(kn->inv);
#ifdef KERNEL_F32
    if (kn->cfwd) FW(destroy_plan)(kn->cfwd);
    if (kn->cinv) FW(destroy_plan)(kn->cinv);
    FW(free)(kn->zc);
    FW(free)(kn->tw);
    FW(free)(kn->twp);
#endif
    for (int j = 0; j < 3; j++)
        FW(free)(kn->xb[j]);
    FW(free)(kn->ain);
    FW(free)(kn->t_out);
    FW(free)(kn->zest);
    FW(free)(kn->c_in);
    FW(free)(kn->u);
    FW(free)(kn->zb);
    FW(free)(kn->v);
    FW(free)(kn->ut);
    FW(free)(kn->mag);
    FW(free)(kn->cand);
    FW(free)(kn->lo);
    FW(free)(kn->hi);
    memset(kn, 0, sizeof *kn);
}

/* Allocates buffers and makes the plans (the only FFTW planner calls). */
static int K(kernel_init)(K(kernel) *kn, int w, int redundancy, unsigned fftw_flags)
{
    memset(kn, 0, sizeof *kn);
    kn->w = w;
    kn->M = w * redundancy;
    kn->H = kn->M / 2 + 1;
    kn->guess_ratio = 0.5;
    const int M = kn->M, H = kn->H;
    int ok = 1;
    for (int j = 0; j < 3; j++)
        ok &= (kn->xb[j] = FW(alloc_real)(M)) != NULL;
    ok &= (kn->ain = FW(alloc_real)(M)) != NULL;
    ok &= (kn->t_out = FW(alloc_real)(M)) != NULL;
    ok &= (kn->zest = FW(alloc_complex)(H)) != NULL;
    ok &= (kn->c_in = FW(alloc_complex)(H)) != NULL;
    ok &= (kn->u = FW(alloc_complex)(H)) != NULL;
    ok &= (kn->zb = FW(alloc_complex)(H)) != NULL;
    ok &= (kn->v = FW(alloc_complex)(H)) != NULL;
    ok &= (kn->ut = FW(alloc_real)(w)) != NULL;
    ok &= (kn->mag = FW(alloc_real)(H)) != NULL;
    ok &= (kn->cand = FW(alloc_real)(H + 8)) != NULL; /* + a vector store's slack */
    ok &= (kn->lo = FW(alloc_real)(w)) != NULL;
    ok &= (kn->hi = FW(alloc_real)(w)) != NULL;
#ifdef KERNEL_F32
    ok &= (kn->zc = FW(alloc_complex)(M / 2)) != NULL;
    ok &= (kn->tw = FW(alloc_complex)(M / 4 + 4)) != NULL;
    ok &= (kn->twp = FW(alloc_complex)(M / 4 + 4)) != NULL;
#endif
    if (!ok) {
        K(kernel_free)(kn);
        return RTD_ERR_NOMEM;
    }
    /* Planning with MEASURE overwrites the arrays, so plan before filling.
     * All x buffers come from fftw_alloc, so they share the alignment the
     * new-array execute calls below require. */
#ifdef KERNEL_F32
    kn->avx2 = simd_avx2();
#endif
    kn->fftw_flags = fftw_flags;
#ifdef KERNEL_F32
    /* every x buffer and t_out, read as M/2 complex, share the alignment
     * of xb[0], as the new-array execute calls require */
    kn->cfwd = FW(plan_dft_1d)(M / 2, (FW(complex) *)kn->xb[0], kn->zc, FFTW_FORWARD, fftw_flags);
    kn->cinv = FW(plan_dft_1d)(M / 2, kn->zc, (FW(complex) *)kn->t_out, FFTW_BACKWARD, fftw_flags);
    int planned = kn->cfwd && kn->cinv;
    if (planned) rs_twiddles(M, kn->tw, kn->twp);
#else
    kn->fwd = FW(plan_dft_r2c_1d)(M, kn->xb[0], kn->zest, fftw_flags);
    kn->inv = FW(plan_dft_c2r_1d)(M, kn->c_in, kn->t_out, fftw_flags);
    int planned = kn->fwd && kn->inv;
#endif
    if (!planned) {
        K(kernel_free)(kn);
        return RTD_ERR_PLAN;
    }
    for (int j = 0; j < 3; j++)
        memset(kn->xb[j], 0, sizeof(R) * M);
    memset(kn->ain, 0, sizeof(R) * M);
    return RTD_OK;
}

/* The forward real FFT of a frame buffer (M reals from fftw_alloc) into a
 * half spectrum (H bins), and the inverse c_in -> t_out (unnormalised).
 * The float kernel runs them as half-length complex FFTs (rfft_split.h);
 * the double kernel keeps FFTW's real transforms. */
static inline void K(fft_fwd)(K(kernel) *kn, R *in, FW(complex) *out)
{
#ifdef KERNEL_F32
    FW(execute_dft)(kn->cfwd, (FW(complex) *)in, kn->zc);
#ifdef RTD_AVX2_PASSES
    if (kn->avx2) {
        rs_post_avx2(kn->M / 2, kn->zc, out, kn->tw, kn->twp);
        return;
    }
#endif
    rs_post_base(kn->M / 2, kn->zc, out, kn->tw, kn->twp);
#else
    FW(execute_dft_r2c)(kn->fwd, in, out);
#endif
}

static inline void K(fft_inv)(K(kernel) *kn)
{
#ifdef KERNEL_F32
#ifdef RTD_AVX2_PASSES
    if (kn->avx2)
        rs_pre_avx2(kn->M / 2, kn->c_in, kn->zc, kn->tw, kn->twp);
    else
#endif
        rs_pre_base(kn->M / 2, kn->c_in, kn->zc, kn->tw, kn->twp);
    FW(execute_dft)(kn->cinv, kn->zc, (FW(complex) *)kn->t_out);
#else
    FW(execute)(kn->inv);
#endif
}

/* n forward + inverse pairs of the transforms an iteration runs
 * (rtd_time_transforms); returns their thread CPU seconds, or -1.
 * fftw_real: FFTW's r2c + c2r of the same size instead, which the float
 * kernel does not use: planned here on scratch arrays (benchmarks only;
 * MEASURE would scribble on the solver's), outside the time returned. */
static double K(kernel_time_transforms)(K(kernel) *kn, int n, int fftw_real)
{
#ifdef KERNEL_F32
    if (fftw_real) {
        const int M = kn->M;
        R *x = FW(alloc_real)(M);
        FW(complex) *c = FW(alloc_complex)(kn->H);
        FW(plan) fwd = NULL, inv = NULL;
        double t = -1.0;
        if (x && c) {
            rtd_planner_lock();
            fwd = FW(plan_dft_r2c_1d)(M, x, c, kn->fftw_flags);
            inv = FW(plan_dft_c2r_1d)(M, c, x, kn->fftw_flags);
            rtd_planner_unlock();
        }
        if (fwd && inv) {
            memset(x, 0, sizeof(R) * M);
            t = rtd_thread_cpu();
            for (int i = 0; i < n; i++) {
                FW(execute)(fwd);
                FW(execute)(inv);
            }
            t = rtd_thread_cpu() - t;
        }
        rtd_planner_lock();
        if (fwd) FW(destroy_plan)(fwd);
        if (inv) FW(destroy_plan)(inv);
        rtd_planner_unlock();
        FW(free)(x);
        FW(free)(c);
        return t;
    }
#else
    (void)fftw_real; /* the double kernel's own transforms are FFTW's r2c + c2r */
#endif
    double t = rtd_thread_cpu();
    for (int i = 0; i < n; i++) {
        K(fft_fwd)(kn, kn->xb[0], kn->zest);
        K(fft_inv)(kn);
    }
    return rtd_thread_cpu() - t;
}

static inline R K(clamp)(R x, R lo, R hi)
{
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

/* The consistent set as a box: reliable samples lo = hi = y, clipped high
 * lo = y, hi = +inf, clipped low lo = -inf, hi = y.  The projection is then
 * a clamp, which vectorises. */
static void K(make_box)(K(kernel) *kn, const double *y, const int8_t *mask)
{
    for (int i = 0; i < kn->w; i++) {
        kn->lo[i] = mask[i] < 0 ? -INFINITY : (R)y[i];
        kn->hi[i] = mask[i] > 0 ? INFINITY : (R)y[i];
    }
}

/* Magnitude used for ranking: the DC bin stands alone while every other bin
 * stands for a conjugate pair, so DC is compared at half its magnitude (a
 * quarter of its square), as in the survey toolbox. */
static inline R K(rank_mag)(const FW(complex) z, int i)
{
    R m = z[0] * z[0] + z[1] * z[1];
    return i == 0 ? (R)0.25 * m : m;
}

/* The k-th largest of kn->mag.  The pre-filter: every magnitude above
 * `guess` was copied to kn->cand while mag was computed; the threshold
 * moves little between iterations, so usually the k-th largest is among
 * those few and the selection runs on them only.  Otherwise select over
 * all. */
static R K(select_threshold)(K(kernel) *kn, int ncand, R guess, int k, int *above)
{
    if (ncand >= k && guess > 0)
        return KTH_INPLACE(kn->cand, ncand, k, above);
    return KTH(kn->mag, kn->H, k, kn->cand, above);
}

/* Hard thresholding H_k, step 1: the magnitude threshold t and how many
 * bins equal to t may be kept (*ties).  Ties go to the lower frequencies, as
 * a stable descending sort orders them.  With k >= H everything is kept. */
static R K(threshold_for)(K(kernel) *kn, int nc, R *guess, int k, int *ties)
{
    if (k >= kn->H) {
        *ties = 0;
        *guess = 0;
        return -1;
    }
    int above;
    R t = K(select_threshold)(kn, nc, *guess, k, &above);
    *ties = k - above;
    /* Steer the pre-filter so that a little over k bins pass it: too few
     * and the next selection falls back to all bins, too many and it sorts
     * more than it needs. */
    if (nc < k || *guess <= 0)
        kn->guess_ratio *= kn->guess_ratio;
    else if (nc > k + k / 2 + 16)
        kn->guess_ratio = sqrt(kn->guess_ratio);
    if (kn->guess_ratio < 1e-6) kn->guess_ratio = 1e-6;
    *guess = (R)(t * kn->guess_ratio);
    return t;
}

/* Hard thresholding, step 2, bin by bin in increasing frequency.  The
 * fast passes keep every bin >= t, which is the same set whenever no more
 * bins equal t than may be kept (always, but for exact ties such as runs
 * of zero bins); they count what they kept and, when that is more than k,
 * the pass is redone with this exact rule. */
static inline int K(keep_bin)(R m, R t, int *ties)
{
    return m > t || (m == t && (*ties)-- > 0);
}

static inline K(v2) K(ld)(const FW(complex) z)
{
    K(v2) r;
    memcpy(&r, z, sizeof r);
    return r;
}

static inline void K(store)(FW(complex) z, K(v2) r) { memcpy(z, &r, sizeof r); }

/* u += A x - zbar (the previous iteration's dual update), v = A x + u, and
 * the squared magnitudes of v. */
static void K(dual_update)(int H, FW(complex) *u, const FW(complex) *z, const FW(complex) *zb,
                           FW(complex) *v, R *mag)
{
    for (int i = 0; i < H; i++) {
        K(v2) zi = K(ld)(z[i]), ui = K(ld)(u[i]) + (zi - K(ld)(zb[i])), vi = zi + ui;
        K(store)(u[i], ui);
        K(store)(v[i], vi);
        K(v2) sq = vi * vi;
        mag[i] = sq[0] + sq[1];
    }
}

/* Finish the ranking magnitudes (DC at a quarter, see rank_mag) and copy
 * those above `guess` to cand, branch-free. */
static int K(collect_candidates)(R *mag, R *cand, int H, R guess)
{
    mag[0] *= (R)0.25;
    int nc = 0;
    for (int i = 0; i < H; i++) {
        cand[nc] = mag[i];
        nc += mag[i] > guess;
    }
    return nc;
}

#ifndef KERNEL_F32
/* Ranking with a prior (spade_job.prior): mag += weight * prior, and the
 * candidates above `guess` collected again (the float kernel fuses this
 * into dual_update_collect_f). */
static int K(add_prior)(R *mag, R *cand, int H, R guess, const float *prior, R weight)
{
    int nc = 0;
    for (int i = 0; i < H; i++) {
        R m = mag[i] + weight * (R)prior[i];
        mag[i] = m;
        cand[nc] = m;
        nc += m > guess;
    }
    return nc;
}
#endif

#ifdef KERNEL_F32
/* Single precision: two bins per 4-lane vector, so the passes over the
 * spectrum run at full SIMD width.  Bin 0 (DC) is done alone; bins 1 ..
 * H-1 are an even number (H - 1 = M/2), taken in pairs. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f ld4(const fftwf_complex *z)
{
    v4f r;
    memcpy(&r, z, sizeof r);
    return r;
}

static inline void st4(fftwf_complex *z, v4f r) { memcpy(z, &r, sizeof r); }

/* dual_update and collect_candidates in one pass; with a prior
 * (spade_job.prior, may be NULL) the ranking magnitude is |v|^2 + weight *
 * prior.  Two loops so that the plain one stays as it was.  v = z + u is
 * stored for DC only: the passes after this recompute it, which gives the
 * same float and saves a store and a load per bin. */
static int dual_update_collect_f(int H, fftwf_complex *u, const fftwf_complex *z,
                                 const fftwf_complex *zb, fftwf_complex *v, float *mag,
                                 float *cand, float guess, const float *prior, float weight)
{
    K(dual_update)(1, u, z, zb, v, mag);
    mag[0] *= 0.25f;
    if (prior) mag[0] += weight * prior[0];
    int nc = 0;
    cand[nc] = mag[0];
    nc += mag[0] > guess;
    if (prior) {
        for (int i = 1; i < H; i += 2) {
            v4f zi = ld4(z + i), ui = ld4(u + i) + (zi - ld4(zb + i)), vi = zi + ui;
            st4(u + i, ui);
            v4f sq = vi * vi;
            float m0 = sq[0] + sq[1] + weight * prior[i];
            float m1 = sq[2] + sq[3] + weight * prior[i + 1];
            mag[i] = m0;
            mag[i + 1] = m1;
            cand[nc] = m0;
            nc += m0 > guess;
            cand[nc] = m1;
            nc += m1 > guess;
        }
        return nc;
    }
    for (int i = 1; i < H; i += 2) {
        v4f zi = ld4(z + i), ui = ld4(u + i) + (zi - ld4(zb + i)), vi = zi + ui;
        st4(u + i, ui);
        v4f sq = vi * vi;
        float m0 = sq[0] + sq[1], m1 = sq[2] + sq[3];
        mag[i] = m0;
        mag[i + 1] = m1;
        cand[nc] = m0;
        nc += m0 > guess;
        cand[nc] = m1;
        nc += m1 > guess;
    }
    return nc;
}

/* aspade_threshold_pass's fast rule (keep every bin >= t), branch-free;
 * v = zest + u recomputed (bins 1 .. H-1). */
static int aspade_threshold_fast_f(int H, const float *mag, float t, const fftwf_complex *zest,
                                   const fftwf_complex *u, const fftwf_complex *v,
                                   fftwf_complex *zb, fftwf_complex *b, double *in)
{
    v4f acc = {0, 0, 0, 0};
    v4i kept4 = {0, 0, 0, 0};
    /* DC alone, as a pair with a zero partner */
    int kept = mag[0] >= t;
    {
        float zr = kept ? v[0][0] : 0.0f, zi = kept ? v[0][1] : 0.0f;
        float dr = zest[0][0] - zr, di = zest[0][1] - zi;
        acc[0] += dr * dr;
        acc[1] += di * di;
        zb[0][0] = zr;
        zb[0][1] = zi;
        b[0][0] = zr - u[0][0];
        b[0][1] = zi - u[0][1];
    }
    const v4f tt = {t, t, t, t};
    for (int i = 1; i < H; i += 2) {
        v4f mm = {mag[i], mag[i], mag[i + 1], mag[i + 1]};
        v4i keep = mm >= tt;
        kept4 -= keep;
        v4f zi = ld4(zest + i), ui = ld4(u + i);
        v4f zbi = (v4f)((v4i)(zi + ui) & keep);
        v4f d = zi - zbi;
        acc += d * d;
        st4(zb + i, zbi);
        st4(b + i, zbi - ui);
    }
    *in = (double)acc[0] + (double)acc[1] + (double)acc[2] + (double)acc[3];
    return kept + (kept4[0] + kept4[2]);
}

/* sspade_threshold_pass's fast rule, branch-free. */
static int sspade_threshold_fast_f(int H, const float *mag, float t, const fftwf_complex *z,
                                   fftwf_complex *zb)
{
    int kept = mag[0] >= t;
    zb[0][0] = kept ? z[0][0] : 0.0f;
    zb[0][1] = kept ? z[0][1] : 0.0f;
    const v4f tt = {t, t, t, t};
    v4i kept4 = {0, 0, 0, 0};
    for (int i = 1; i < H; i += 2) {
        v4f mm = {mag[i], mag[i], mag[i + 1], mag[i + 1]};
        v4i keep = mm >= tt;
        kept4 -= keep;
        st4(zb + i, (v4f)((v4i)ld4(z + i) & keep));
    }
    return kept + (kept4[0] + kept4[2]);
}

/* |z|^2 of every bin. */
static void magnitudes_f(int H, const fftwf_complex *z, float *mag)
{
    mag[0] = z[0][0] * z[0][0] + z[0][1] * z[0][1];
    for (int i = 1; i < H; i += 2) {
        v4f zi = ld4(z + i), sq = zi * zi;
        mag[i] = sq[0] + sq[1];
        mag[i + 1] = sq[2] + sq[3];
    }
}
#endif

/* Pick a buffer that is neither the current nor the best iterate. */
static R *K(spare)(K(kernel) *kn, const R *cur, const R *best)
{
    for (int j = 0; j < 3; j++)
        if (kn->xb[j] != cur && kn->xb[j] != best) return kn->xb[j];
    return kn->xb[0]; /* unreachable: three buffers, two taken */
}

/* A-SPADE's thresholding pass: zbar = H_k(v), b = zbar - u, and the
 * squared distance |A x - zbar|^2 over the half spectrum (*in) and its two
 * edge bins (*edge).  Returns how many bins were kept. */
static int K(aspade_threshold_pass)(int H, const R *mag, R t, int ties, int exact,
                                    const FW(complex) *zest, const FW(complex) *u,
                                    const FW(complex) *v, FW(complex) *zb, FW(complex) *b,
                                    double *in)
{
    K(v2) acc = {0, 0}, zero = {0, 0};
    int kept = 0;
    for (int i = 0; i < H; i++) {
        int keep = exact ? K(keep_bin)(mag[i], t, &ties) : mag[i] >= t;
        kept += keep;
#ifdef KERNEL_F32
        /* the float passes need not store v: z + u is the same float */
        K(v2) zbi = keep ? K(ld)(zest[i]) + K(ld)(u[i]) : zero;
#else
        K(v2) zbi = keep ? K(ld)(v[i]) : zero;
#endif
        K(v2) d = K(ld)(zest[i]) - zbi;
        acc += d * d;
        K(store)(zb[i], zbi);
        K(store)(b[i], zbi - K(ld)(u[i]));
    }
    *in = (double)acc[0] + (double)acc[1];
    return kept;
}

/* A-SPADE (ICASSP 2019, Algorithm 1), ADMM with the analysis operator. */
static int K(aspade)(K(kernel) *kn, const spade_setup *cf, const spade_job *job, int *k,
                     const R **out, spade_result *res)
{
    const int w = kn->w, H = kn->H;
    const R inv_m = (R)(1.0 / kn->M);
    const double unit = 1.0 / sqrt((double)kn->M);
    R *cur = kn->xb[0], *best = kn->xb[0];
    FW(complex) *zest = kn->zest, *u = kn->u, *zb = kn->zb, *v = kn->v, *b = kn->c_in;
    R *mag = kn->mag, *cand = kn->cand;
    double best_obj = INFINITY;
    R guess = 0;
    int it = 0;
    K(fft_fwd)(kn, cur, zest);
    memset(u, 0, sizeof(FW(complex)) * H);
    memcpy(zb, zest, sizeof(FW(complex)) * H); /* makes the first dual update a no-op */
    for (int cnt = 1; cnt <= job->budget && !past_deadline(job, res);) {
        it++;
        /* the previous iteration's dual update u += A x - zbar, fused with
         * v = A x + u and the ranking magnitudes */
#if defined(KERNEL_F32) && defined(RTD_AVX2_PASSES)
        int nc = kn->avx2 ? dual_update_collect_avx2(H, u, zest, zb, mag, cand, guess, job->prior,
                                                     (float)job->prior_weight)
                          : dual_update_collect_f(H, u, zest, zb, v, mag, cand, guess, job->prior,
                                                  (float)job->prior_weight);
#elif defined(KERNEL_F32)
        int nc = dual_update_collect_f(H, u, zest, zb, v, mag, cand, guess, job->prior,
                                       (float)job->prior_weight);
#else
        K(dual_update)(H, u, zest, zb, v, mag);
        int nc = K(collect_candidates)(mag, cand, H, guess);
        if (job->prior) nc = K(add_prior)(mag, cand, H, guess, job->prior, (R)job->prior_weight);
#endif
        int ties;
        R t = K(threshold_for)(kn, nc, &guess, *k, &ties);
        /* zbar = H_k(v), the termination value ||A x - zbar||, b = zbar - u */
        double obj2_in;
#if defined(KERNEL_F32) && defined(RTD_AVX2_PASSES)
        int kept = kn->avx2 ? aspade_threshold_fast_avx2(H, mag, t, zest, u, zb, b, &obj2_in)
                            : aspade_threshold_fast_f(H, mag, t, zest, u, v, zb, b, &obj2_in);
#elif defined(KERNEL_F32)
        int kept = aspade_threshold_fast_f(H, mag, t, zest, u, v, zb, b, &obj2_in);
#else
        int kept = K(aspade_threshold_pass)(H, mag, t, ties, 0, zest, u, v, zb, b, &obj2_in);
#endif
        if (kept > *k)
            K(aspade_threshold_pass)(H, mag, t, ties, 1, zest, u, v, zb, b, &obj2_in);
        double obj2_edge;
        /* interior bins count twice (their mirror images), DC and Nyquist once */
        {
            double d0r = zest[0][0] - zb[0][0], d0i = zest[0][1] - zb[0][1];
            double dnr = zest[H - 1][0] - zb[H - 1][0], dni = zest[H - 1][1] - zb[H - 1][1];
            obj2_edge = d0r * d0r + d0i * d0i + dnr * dnr + dni * dni;
        }
        double obj = unit * sqrt(2.0 * obj2_in - obj2_edge);
        if (obj <= best_obj) {
            best_obj = obj;
            best = cur;
        }
        if (obj <= cf->epsilon) {
            res->converged = 1;
            break;
        }
        K(fft_inv)(kn); /* D b, scaled in the projection */
        R *next = K(spare)(kn, cur, best);
        const R *to = kn->t_out, *lo = kn->lo, *hi = kn->hi;
#if defined(KERNEL_F32) && defined(RTD_AVX2_PASSES)
        if (kn->avx2)
            project_avx2(w, next, to, inv_m, lo, hi);
        else
#endif
        for (int i = 0; i < w; i++)
            next[i] = K(clamp)(to[i] * inv_m, lo[i], hi[i]);
        cur = next;
        K(fft_fwd)(kn, cur, zest);
        cnt++;
        if (cnt % cf->r == 0) *k += job->s > 0 ? job->s : cf->s;
    }
    *out = cf->return_last ? cur : best;
    if (job->prior_out) {
        /* |A x|^2 of the returned iterate (zest holds A cur; recomputed
         * when the best one is returned) */
        if (*out != cur) K(fft_fwd)(kn, (R *)*out, zest);
        for (int i = 0; i < H; i++)
            job->prior_out[i] = (float)K(rank_mag)(zest[i], i);
    }
    return it;
}

/* S-SPADE's thresholding: zbar = H_k(z); returns how many bins were kept. */
static int K(sspade_threshold_pass)(int H, const R *mag, R t, int ties, int exact,
                                    const FW(complex) *z, FW(complex) *zb)
{
    K(v2) zero = {0, 0};
    int kept = 0;
    for (int i = 0; i < H; i++) {
        int keep = exact ? K(keep_bin)(mag[i], t, &ties) : mag[i] >= t;
        kept += keep;
        K(store)(zb[i], keep ? K(ld)(z[i]) : zero);
    }
    return kept;
}

/* S-SPADE done properly (ICASSP 2019, Algorithm 3), ADMM in time. */
static int K(sspade)(K(kernel) *kn, const spade_setup *cf, const spade_job *job, int *k,
                     const R **out, spade_result *res)
{
    const int w = kn->w, H = kn->H;
    const R inv_m = (R)(1.0 / kn->M);
    R *cur = kn->xb[0], *best = kn->xb[0], *ut = kn->ut, *ain = kn->ain;
    FW(complex) *z = kn->zest, *zb = kn->c_in;
    R *mag = kn->mag, *cand = kn->cand;
    double best_obj = INFINITY;
    R guess = 0;
    int it = 0;
    memset(ut, 0, sizeof(R) * w);
    memcpy(ain, cur, sizeof(R) * w);
    for (int cnt = 1; cnt <= job->budget && !past_deadline(job, res);) {
        it++;
        K(fft_fwd)(kn, ain, z); /* z = A(x - u) */
#ifdef KERNEL_F32
        magnitudes_f(H, z, mag);
#else
        for (int i = 0; i < H; i++) {
            K(v2) sq = K(ld)(z[i]) * K(ld)(z[i]);
            mag[i] = sq[0] + sq[1];
        }
#endif
        int nc = K(collect_candidates)(mag, cand, H, guess);
        int ties;
        R t = K(threshold_for)(kn, nc, &guess, *k, &ties);
#ifdef KERNEL_F32
        int kept = sspade_threshold_fast_f(H, mag, t, z, zb);
#else
        int kept = K(sspade_threshold_pass)(H, mag, t, ties, 0, z, zb);
#endif
        if (kept > *k)
            K(sspade_threshold_pass)(H, mag, t, ties, 1, z, zb);
        K(fft_inv)(kn); /* D zbar, scaled below */
        /* the termination value ||D zbar - x||, and the next iterate
         * computed ahead into a spare buffer (unused if this is the last) */
        R *next = K(spare)(kn, cur, best);
        double obj2 = 0.0;
        for (int i = 0; i < w; i++) {
            R dz = kn->t_out[i] * inv_m, d = dz - cur[i];
            obj2 += (double)(d * d);
            R xn = K(clamp)(dz + ut[i], kn->lo[i], kn->hi[i]);
            next[i] = xn;
            ut[i] += dz - xn;
            ain[i] = xn - ut[i];
        }
        double obj = sqrt(obj2);
        if (obj <= best_obj) {
            best_obj = obj;
            best = cur;
        }
        if (obj <= cf->epsilon) {
            res->converged = 1;
            break;
        }
        cur = next;
        cnt++;
        if (cnt % cf->r == 0) *k += job->s > 0 ? job->s : cf->s;
    }
    *out = cf->return_last ? cur : best;
    return it;
}

/* Full-spectrum squared norm of a - b from half spectra. */
static double K(full_norm2)(const FW(complex) *a, const FW(complex) *b, int H)
{
    double in = 0.0, edge = 0.0;
    for (int i = 0; i < H; i++) {
        double re = a[i][0] - b[i][0], im = a[i][1] - b[i][1];
        if (i == 0 || i == H - 1)
            edge += re * re + im * im;
        else
            in += re * re + im * im;
    }
    return 2.0 * in + edge;
}

/* Original S-SPADE (ICASSP 2019, Algorithm 2): ADMM in the coefficients.
 * The projection onto {z : Dz in Gamma} is z + D*(P(Dz) - Dz) because
 * D D* = I; its time signal D z is simply P(Dz). */
static int K(sspade_original)(K(kernel) *kn, const spade_setup *cf, const spade_job *job,
                              int *k, const R **out, spade_result *res)
{
    const int w = kn->w, H = kn->H;
    const R inv_m = (R)(1.0 / kn->M);
    const double unit = 1.0 / sqrt((double)kn->M);
    R *cur = kn->xb[0], *best = kn->xb[0], *diff = kn->ain;
    FW(complex) *zhat = kn->v, *corr = kn->zest, *u = kn->u, *zb = kn->zb;
    R *mag = kn->mag, *cand = kn->cand;
    double best_obj = INFINITY;
    R guess = 0;
    int it = 0;
    K(fft_fwd)(kn, cur, zhat);
    memset(u, 0, sizeof(FW(complex)) * H);
    for (int cnt = 1; cnt <= job->budget && !past_deadline(job, res);) {
        it++;
        int nc = 0;
        for (int i = 0; i < H; i++) {
            zb[i][0] = zhat[i][0] + u[i][0]; /* thresholded below */
            zb[i][1] = zhat[i][1] + u[i][1];
            R m = K(rank_mag)(zb[i], i);
            mag[i] = m;
            cand[nc] = m;
            nc += m > guess;
        }
        int ties;
        R t = K(threshold_for)(kn, nc, &guess, *k, &ties);
        for (int i = 0; i < H; i++) {
            if (!K(keep_bin)(mag[i], t, &ties)) zb[i][0] = zb[i][1] = 0;
            zhat[i][0] = zb[i][0] - u[i][0]; /* the point to project */
            zhat[i][1] = zb[i][1] - u[i][1];
        }
        memcpy(kn->c_in, zhat, sizeof(FW(complex)) * H);
        K(fft_inv)(kn);
        R *next = K(spare)(kn, cur, best);
        for (int i = 0; i < w; i++) {
            R dv = kn->t_out[i] * inv_m;
            next[i] = K(clamp)(dv, kn->lo[i], kn->hi[i]);
            diff[i] = next[i] - dv;
        }
        cur = next;
        K(fft_fwd)(kn, diff, corr);
        for (int i = 0; i < H; i++) {
            zhat[i][0] += corr[i][0];
            zhat[i][1] += corr[i][1];
        }
        double obj = unit * sqrt(K(full_norm2)(zhat, zb, H));
        if (obj <= best_obj) {
            best_obj = obj;
            best = cur;
        }
        if (obj <= cf->epsilon) {
            res->converged = 1;
            break;
        }
        for (int i = 0; i < H; i++) {
            u[i][0] += zhat[i][0] - zb[i][0];
            u[i][1] += zhat[i][1] - zb[i][1];
        }
        cnt++;
        if (cnt % cf->r == 0) *k += cf->s;
    }
    *out = cf->return_last ? cur : best;
    return it;
}

KERNEL_TARGET
static void K(kernel_solve)(K(kernel) *kn, const spade_setup *cf, const double *y,
                            const int8_t *mask, const spade_job *job, double *x,
                            spade_result *res)
{
    int k = job->k0 > 0 ? job->k0 : cf->s;
    K(make_box)(kn, y, mask);
    const double *x0 = job->x0;
    for (int i = 0; i < kn->w; i++)
        kn->xb[0][i] = x0 ? K(clamp)((R)x0[i], kn->lo[i], kn->hi[i]) : (R)y[i];
    const R *sol = kn->xb[0];
    switch (cf->algorithm) {
    case RTD_SSPADE: res->iterations = K(sspade)(kn, cf, job, &k, &sol, res); break;
    case RTD_SSPADE_ORIGINAL: res->iterations = K(sspade_original)(kn, cf, job, &k, &sol, res); break;
    default: res->iterations = K(aspade)(kn, cf, job, &k, &sol, res); break;
    }
    for (int i = 0; i < kn->w; i++)
        x[i] = (double)sol[i];
    res->k = k;
}
