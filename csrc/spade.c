/* spade.c -- A-SPADE, S-SPADE and original S-SPADE on one frame.
 *
 * An iteration is one forward and one inverse real FFT, a selection of the
 * k largest coefficients, and three fused passes over the data; iterates
 * live in three rotating buffers, so recording the best one is a pointer
 * move, not a copy.  Nothing here allocates after spade_init. */
#include "spade.h"
#include "select.h"
#include "rtdeclip.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* True when the time limit of this call has passed. */
static int past_deadline(spade_solver *sp)
{
    if (sp->deadline <= 0.0) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec < sp->deadline) return 0;
    sp->cut = 1;
    return 1;
}

int spade_init(spade_solver *sp, int w, int redundancy, unsigned fftw_flags)
{
    memset(sp, 0, sizeof *sp);
    sp->w = w;
    sp->M = w * redundancy;
    sp->H = sp->M / 2 + 1;
    sp->guess_ratio = 0.5;
    const int M = sp->M, H = sp->H;
    int ok = 1;
    for (int j = 0; j < 3; j++)
        ok &= (sp->xb[j] = fftw_alloc_real(M)) != NULL;
    ok &= (sp->ain = fftw_alloc_real(M)) != NULL;
    ok &= (sp->t_out = fftw_alloc_real(M)) != NULL;
    ok &= (sp->zest = fftw_alloc_complex(H)) != NULL;
    ok &= (sp->c_in = fftw_alloc_complex(H)) != NULL;
    ok &= (sp->u = fftw_alloc_complex(H)) != NULL;
    ok &= (sp->zb = fftw_alloc_complex(H)) != NULL;
    ok &= (sp->v = fftw_alloc_complex(H)) != NULL;
    ok &= (sp->ut = fftw_alloc_real(w)) != NULL;
    ok &= (sp->mag = fftw_alloc_real(H)) != NULL;
    ok &= (sp->cand = fftw_alloc_real(H)) != NULL;
    ok &= (sp->lo = fftw_alloc_real(w)) != NULL;
    ok &= (sp->hi = fftw_alloc_real(w)) != NULL;
    if (!ok) {
        spade_free(sp);
        return RTD_ERR_NOMEM;
    }
    /* Planning with MEASURE overwrites the arrays, so plan before filling.
     * All x buffers come from fftw_alloc, so they share the alignment the
     * new-array execute calls below require. */
    sp->fwd = fftw_plan_dft_r2c_1d(M, sp->xb[0], sp->zest, fftw_flags);
    sp->inv = fftw_plan_dft_c2r_1d(M, sp->c_in, sp->t_out, fftw_flags);
    if (!sp->fwd || !sp->inv) {
        spade_free(sp);
        return RTD_ERR_PLAN;
    }
    for (int j = 0; j < 3; j++)
        memset(sp->xb[j], 0, sizeof(double) * M);
    memset(sp->ain, 0, sizeof(double) * M);
    return RTD_OK;
}

void spade_free(spade_solver *sp)
{
    if (sp->fwd) fftw_destroy_plan(sp->fwd);
    if (sp->inv) fftw_destroy_plan(sp->inv);
    for (int j = 0; j < 3; j++)
        fftw_free(sp->xb[j]);
    fftw_free(sp->ain);
    fftw_free(sp->t_out);
    fftw_free(sp->zest);
    fftw_free(sp->c_in);
    fftw_free(sp->u);
    fftw_free(sp->zb);
    fftw_free(sp->v);
    fftw_free(sp->ut);
    fftw_free(sp->mag);
    fftw_free(sp->cand);
    fftw_free(sp->lo);
    fftw_free(sp->hi);
    memset(sp, 0, sizeof *sp);
}

void spade_time_transforms(spade_solver *sp, int n)
{
    for (int i = 0; i < n; i++) {
        fftw_execute_dft_r2c(sp->fwd, sp->xb[0], sp->zest);
        fftw_execute(sp->inv);
    }
}

/* The consistent set as a box: reliable samples lo = hi = y, clipped high
 * lo = y, hi = +inf, clipped low lo = -inf, hi = y.  The projection is then
 * a clamp, which vectorises. */
static void make_box(spade_solver *sp, const double *y, const int8_t *mask)
{
    for (int i = 0; i < sp->w; i++) {
        sp->lo[i] = mask[i] < 0 ? -INFINITY : y[i];
        sp->hi[i] = mask[i] > 0 ? INFINITY : y[i];
    }
}

static inline double clamp(double x, double lo, double hi)
{
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

/* Magnitude used for ranking: the DC bin stands alone while every other bin
 * stands for a conjugate pair, so DC is compared at half its magnitude (a
 * quarter of its square), as in the survey toolbox. */
static inline double rank_mag(const fftw_complex z, int i)
{
    double m = z[0] * z[0] + z[1] * z[1];
    return i == 0 ? 0.25 * m : m;
}

/* The k-th largest of sp->mag.  The pre-filter: every magnitude above
 * `guess` was copied to sp->cand while mag was computed; the threshold moves
 * little between iterations, so usually the k-th largest is among those few
 * and the selection runs on them only.  Otherwise select over all. */
static double select_threshold(spade_solver *sp, int ncand, double guess, int k, int *above)
{
    if (ncand >= k && guess > 0.0)
        return rtd_kth_largest_inplace(sp->cand, ncand, k, above);
    return rtd_kth_largest(sp->mag, sp->H, k, sp->cand, above);
}

/* Hard thresholding H_k, step 1: the magnitude threshold t and how many
 * bins equal to t may be kept (*ties).  Ties go to the lower frequencies, as
 * a stable descending sort orders them.  With k >= H everything is kept. */
static double threshold_for(spade_solver *sp, int nc, double *guess, int k, int *ties)
{
    if (k >= sp->H) {
        *ties = 0;
        *guess = 0.0;
        return -1.0;
    }
    int above;
    double t = select_threshold(sp, nc, *guess, k, &above);
    *ties = k - above;
    /* Steer the pre-filter so that a little over k bins pass it: too few and the
     * next selection falls back to all bins, too many and it sorts more
     * than it needs. */
    if (nc < k || *guess <= 0.0)
        sp->guess_ratio *= sp->guess_ratio;
    else if (nc > k + k / 2 + 16)
        sp->guess_ratio = sqrt(sp->guess_ratio);
    if (sp->guess_ratio < 1e-6) sp->guess_ratio = 1e-6;
    *guess = t * sp->guess_ratio;
#ifdef RTD_SELECT_STATS
    sp->stat_nc += nc;
    sp->stat_k += k;
    sp->stat_fallback += nc < k;
#endif
    return t;
}

/* Hard thresholding, step 2, bin by bin in increasing frequency. */
static inline int keep_bin(double m, double t, int *ties)
{
    return m > t || (m == t && (*ties)-- > 0);
}

/* Complex bins as pairs of doubles (GCC/Clang vector extension): the
 * per-bin arithmetic below then compiles to one SIMD operation per bin,
 * and sums keep one accumulator per lane. */
typedef double v2d __attribute__((vector_size(16)));

static inline v2d ld(const fftw_complex z)
{
    v2d r;
    memcpy(&r, z, sizeof r);
    return r;
}

static inline void st(fftw_complex z, v2d r) { memcpy(z, &r, sizeof r); }

/* u += A x - zbar (the previous iteration's dual update), v = A x + u, and
 * the squared magnitudes of v. */
static void dual_update(int H, fftw_complex *u, const fftw_complex *z, const fftw_complex *zb,
                        fftw_complex *v, double *mag)
{
    for (int i = 0; i < H; i++) {
        v2d zi = ld(z[i]), ui = ld(u[i]) + (zi - ld(zb[i])), vi = zi + ui;
        st(u[i], ui);
        st(v[i], vi);
        v2d sq = vi * vi;
        mag[i] = sq[0] + sq[1];
    }
}

/* Finish the ranking magnitudes (DC at a quarter, see rank_mag) and copy
 * those above `guess` to cand, branch-free. */
static int collect_candidates(double *mag, double *cand, int H, double guess)
{
    mag[0] *= 0.25;
    int nc = 0;
    for (int i = 0; i < H; i++) {
        cand[nc] = mag[i];
        nc += mag[i] > guess;
    }
    return nc;
}

/* Pick a buffer that is neither the current nor the best iterate. */
static double *spare(spade_solver *sp, const double *cur, const double *best)
{
    for (int j = 0; j < 3; j++)
        if (sp->xb[j] != cur && sp->xb[j] != best) return sp->xb[j];
    return sp->xb[0]; /* unreachable: three buffers, two taken */
}

/* A-SPADE (ICASSP 2019, Algorithm 1), ADMM with the analysis operator. */
static int aspade(spade_solver *sp, int *k, const double **out, int *converged)
{
    const int w = sp->w, H = sp->H;
    const double inv_m = 1.0 / sp->M, unit = 1.0 / sqrt((double)sp->M);
    double *cur = sp->xb[0], *best = sp->xb[0];
    fftw_complex *zest = sp->zest, *u = sp->u, *zb = sp->zb, *v = sp->v, *b = sp->c_in;
    double *mag = sp->mag, *cand = sp->cand;
    double best_obj = INFINITY, guess = 0.0;
    int it = 0;
    fftw_execute_dft_r2c(sp->fwd, cur, zest);
    memset(u, 0, sizeof(fftw_complex) * H);
    memcpy(zb, zest, sizeof(fftw_complex) * H); /* makes the first dual update a no-op */
    for (int cnt = 1; cnt <= sp->max_iter && !past_deadline(sp);) {
        it++;
        /* the previous iteration's dual update u += A x - zbar, fused with
         * v = A x + u and the ranking magnitudes */
        dual_update(H, u, zest, zb, v, mag);
        int nc = collect_candidates(mag, cand, H, guess);
        int ties;
        double t = threshold_for(sp, nc, &guess, *k, &ties);
        /* zbar = H_k(v), the termination value ||A x - zbar||, b = zbar - u */
        v2d acc = {0.0, 0.0}, zero = {0.0, 0.0};
        for (int i = 0; i < H; i++) {
            v2d zbi = keep_bin(mag[i], t, &ties) ? ld(v[i]) : zero;
            v2d d = ld(zest[i]) - zbi;
            acc += d * d;
            st(zb[i], zbi);
            st(b[i], zbi - ld(u[i]));
        }
        double obj2_in = acc[0] + acc[1], obj2_edge;
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
        if (obj <= sp->epsilon) {
            *converged = 1;
            break;
        }
        fftw_execute(sp->inv); /* D b, scaled in the projection */
        double *next = spare(sp, cur, best);
        for (int i = 0; i < w; i++)
            next[i] = clamp(sp->t_out[i] * inv_m, sp->lo[i], sp->hi[i]);
        cur = next;
        fftw_execute_dft_r2c(sp->fwd, cur, zest);
        cnt++;
        if (cnt % sp->r == 0) *k += sp->s;
    }
    *out = sp->return_last ? cur : best;
    return it;
}

/* S-SPADE done properly (ICASSP 2019, Algorithm 3), ADMM in time. */
static int sspade(spade_solver *sp, int *k, const double **out, int *converged)
{
    const int w = sp->w, H = sp->H;
    const double inv_m = 1.0 / sp->M;
    double *cur = sp->xb[0], *best = sp->xb[0], *ut = sp->ut, *ain = sp->ain;
    fftw_complex *z = sp->zest, *zb = sp->c_in;
    double *mag = sp->mag, *cand = sp->cand;
    double best_obj = INFINITY, guess = 0.0;
    int it = 0;
    memset(ut, 0, sizeof(double) * w);
    memcpy(ain, cur, sizeof(double) * w);
    for (int cnt = 1; cnt <= sp->max_iter && !past_deadline(sp);) {
        it++;
        fftw_execute_dft_r2c(sp->fwd, ain, z); /* z = A(x - u) */
        for (int i = 0; i < H; i++) {
            v2d sq = ld(z[i]) * ld(z[i]);
            mag[i] = sq[0] + sq[1];
        }
        int nc = collect_candidates(mag, cand, H, guess);
        int ties;
        double t = threshold_for(sp, nc, &guess, *k, &ties);
        v2d zero = {0.0, 0.0};
        for (int i = 0; i < H; i++)
            st(zb[i], keep_bin(mag[i], t, &ties) ? ld(z[i]) : zero);
        fftw_execute(sp->inv); /* D zbar, scaled below */
        /* the termination value ||D zbar - x||, and the next iterate
         * computed ahead into a spare buffer (unused if this is the last) */
        double *next = spare(sp, cur, best);
        double obj2 = 0.0;
        for (int i = 0; i < w; i++) {
            double dz = sp->t_out[i] * inv_m, d = dz - cur[i];
            obj2 += d * d;
            double xn = clamp(dz + ut[i], sp->lo[i], sp->hi[i]);
            next[i] = xn;
            ut[i] += dz - xn;
            ain[i] = xn - ut[i];
        }
        double obj = sqrt(obj2);
        if (obj <= best_obj) {
            best_obj = obj;
            best = cur;
        }
        if (obj <= sp->epsilon) {
            *converged = 1;
            break;
        }
        cur = next;
        cnt++;
        if (cnt % sp->r == 0) *k += sp->s;
    }
    *out = sp->return_last ? cur : best;
    return it;
}

/* Full-spectrum squared norm of a - b from half spectra. */
static double full_norm2(const fftw_complex *a, const fftw_complex *b, int H)
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
static int sspade_original(spade_solver *sp, int *k, const double **out, int *converged)
{
    const int w = sp->w, H = sp->H;
    const double inv_m = 1.0 / sp->M, unit = 1.0 / sqrt((double)sp->M);
    double *cur = sp->xb[0], *best = sp->xb[0], *diff = sp->ain;
    fftw_complex *zhat = sp->v, *corr = sp->zest, *u = sp->u, *zb = sp->zb;
    double *mag = sp->mag, *cand = sp->cand;
    double best_obj = INFINITY, guess = 0.0;
    int it = 0;
    fftw_execute_dft_r2c(sp->fwd, cur, zhat);
    memset(u, 0, sizeof(fftw_complex) * H);
    for (int cnt = 1; cnt <= sp->max_iter && !past_deadline(sp);) {
        it++;
        int nc = 0;
        for (int i = 0; i < H; i++) {
            zb[i][0] = zhat[i][0] + u[i][0]; /* thresholded below */
            zb[i][1] = zhat[i][1] + u[i][1];
            double m = rank_mag(zb[i], i);
            mag[i] = m;
            cand[nc] = m;
            nc += m > guess;
        }
        int ties;
        double t = threshold_for(sp, nc, &guess, *k, &ties);
        for (int i = 0; i < H; i++) {
            if (!keep_bin(mag[i], t, &ties)) zb[i][0] = zb[i][1] = 0.0;
            zhat[i][0] = zb[i][0] - u[i][0]; /* the point to project */
            zhat[i][1] = zb[i][1] - u[i][1];
        }
        memcpy(sp->c_in, zhat, sizeof(fftw_complex) * H);
        fftw_execute(sp->inv);
        double *next = spare(sp, cur, best);
        for (int i = 0; i < w; i++) {
            double dv = sp->t_out[i] * inv_m;
            next[i] = clamp(dv, sp->lo[i], sp->hi[i]);
            diff[i] = next[i] - dv;
        }
        cur = next;
        fftw_execute_dft_r2c(sp->fwd, diff, corr);
        for (int i = 0; i < H; i++) {
            zhat[i][0] += corr[i][0];
            zhat[i][1] += corr[i][1];
        }
        double obj = unit * sqrt(full_norm2(zhat, zb, H));
        if (obj <= best_obj) {
            best_obj = obj;
            best = cur;
        }
        if (obj <= sp->epsilon) {
            *converged = 1;
            break;
        }
        for (int i = 0; i < H; i++) {
            u[i][0] += zhat[i][0] - zb[i][0];
            u[i][1] += zhat[i][1] - zb[i][1];
        }
        cnt++;
        if (cnt % sp->r == 0) *k += sp->s;
    }
    *out = sp->return_last ? cur : best;
    return it;
}

int spade_solve(spade_solver *sp, const double *y, const int8_t *mask, const double *x0,
                int k0, double *x, int *k_end, int *converged)
{
    make_box(sp, y, mask);
    return spade_solve_box(sp, y, x0, k0, x, k_end, converged);
}

int spade_solve_box(spade_solver *sp, const double *y, const double *x0, int k0, double *x,
                    int *k_end, int *converged)
{
    int k = k0 > 0 ? k0 : sp->s;
    *converged = 0;
    sp->cut = 0;
    for (int i = 0; i < sp->w; i++)
        sp->xb[0][i] = x0 ? clamp(x0[i], sp->lo[i], sp->hi[i]) : y[i];
    const double *res = sp->xb[0];
    int it;
    switch (sp->algorithm) {
    case RTD_SSPADE: it = sspade(sp, &k, &res, converged); break;
    case RTD_SSPADE_ORIGINAL: it = sspade_original(sp, &k, &res, converged); break;
    default: it = aspade(sp, &k, &res, converged); break;
    }
    memcpy(x, res, sizeof(double) * sp->w);
    *k_end = k;
    return it;
}
