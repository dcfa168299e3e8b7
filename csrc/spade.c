/* spade.c -- A-SPADE, S-SPADE and original S-SPADE on one frame.
 *
 * Each iteration costs one forward and one inverse real FFT plus a
 * selection of the k largest coefficients; every other step is a pass over
 * w or M/2+1 values.  Nothing here allocates after spade_init. */
#include "spade.h"
#include "select.h"
#include "rtdeclip.h"

#include <math.h>
#include <string.h>

int spade_init(spade_solver *sp, int w, int redundancy, unsigned fftw_flags)
{
    memset(sp, 0, sizeof *sp);
    sp->w = w;
    sp->M = w * redundancy;
    sp->H = sp->M / 2 + 1;
    sp->scale = 1.0 / sqrt((double)sp->M);
    int M = sp->M, H = sp->H;
    sp->t_in = fftw_alloc_real(M);
    sp->t_out = fftw_alloc_real(M);
    sp->f_out = fftw_alloc_complex(H);
    sp->c_in = fftw_alloc_complex(H);
    sp->zest = fftw_alloc_complex(H);
    sp->u = fftw_alloc_complex(H);
    sp->zbar = fftw_alloc_complex(H);
    sp->v = fftw_alloc_complex(H);
    sp->xhat = fftw_alloc_real(w);
    sp->ut = fftw_alloc_real(w);
    sp->best = fftw_alloc_real(w);
    sp->tmp = fftw_alloc_real(w);
    sp->mag = fftw_alloc_real(H);
    sp->scratch = fftw_alloc_real(H);
    if (!sp->t_in || !sp->t_out || !sp->f_out || !sp->c_in || !sp->zest || !sp->u ||
        !sp->zbar || !sp->v || !sp->xhat || !sp->ut || !sp->best || !sp->tmp ||
        !sp->mag || !sp->scratch) {
        spade_free(sp);
        return RTD_ERR_NOMEM;
    }
    /* Planning with MEASURE overwrites the arrays, so plan before filling. */
    sp->fwd = fftw_plan_dft_r2c_1d(M, sp->t_in, sp->f_out, fftw_flags);
    sp->inv = fftw_plan_dft_c2r_1d(M, sp->c_in, sp->t_out, fftw_flags);
    if (!sp->fwd || !sp->inv) {
        spade_free(sp);
        return RTD_ERR_PLAN;
    }
    memset(sp->t_in, 0, sizeof(double) * M);
    return RTD_OK;
}

void spade_free(spade_solver *sp)
{
    if (sp->fwd) fftw_destroy_plan(sp->fwd);
    if (sp->inv) fftw_destroy_plan(sp->inv);
    fftw_free(sp->t_in);
    fftw_free(sp->t_out);
    fftw_free(sp->f_out);
    fftw_free(sp->c_in);
    fftw_free(sp->zest);
    fftw_free(sp->u);
    fftw_free(sp->zbar);
    fftw_free(sp->v);
    fftw_free(sp->xhat);
    fftw_free(sp->ut);
    fftw_free(sp->best);
    fftw_free(sp->tmp);
    fftw_free(sp->mag);
    fftw_free(sp->scratch);
    memset(sp, 0, sizeof *sp);
}

/* Z = A x: zero-padded unitary DFT (half spectrum). */
static void analysis(spade_solver *sp, const double *x, fftw_complex *Z)
{
    memcpy(sp->t_in, x, sizeof(double) * sp->w);
    fftw_execute(sp->fwd);
    const double c = sp->scale;
    for (int i = 0; i < sp->H; i++) {
        Z[i][0] = sp->f_out[i][0] * c;
        Z[i][1] = sp->f_out[i][1] * c;
    }
}

/* x = D Z: inverse unitary DFT truncated to the frame.  Using c2r keeps the
 * result strictly real, as min/max in the projection need. */
static void synthesis(spade_solver *sp, const fftw_complex *Z, double *x)
{
    memcpy(sp->c_in, Z, sizeof(fftw_complex) * sp->H);
    fftw_execute(sp->inv);
    const double c = sp->scale;
    for (int i = 0; i < sp->w; i++)
        x[i] = sp->t_out[i] * c;
}

/* Squared norm over the full spectrum from its half: interior bins stand
 * for themselves and their mirror images. */
static double full_norm2(const fftw_complex *a, const fftw_complex *b, int H)
{
    double acc = 0.0;
    for (int i = 1; i < H - 1; i++) {
        double re = a[i][0] - b[i][0], im = a[i][1] - b[i][1];
        acc += re * re + im * im;
    }
    acc *= 2.0;
    double re0 = a[0][0] - b[0][0], im0 = a[0][1] - b[0][1];
    double reN = a[H - 1][0] - b[H - 1][0], imN = a[H - 1][1] - b[H - 1][1];
    return acc + re0 * re0 + im0 * im0 + reN * reN + imN * imN;
}

/* z = H_k(v): the k largest coefficients of the half spectrum, the DC bin
 * compared at half its magnitude (it stands alone, the others in conjugate
 * pairs), ties resolved towards lower frequencies like a stable sort. */
static void hard_threshold(spade_solver *sp, const fftw_complex *v, fftw_complex *z, int k)
{
    const int H = sp->H;
    if (k >= H) {
        memcpy(z, v, sizeof(fftw_complex) * H);
        return;
    }
    double *m = sp->mag;
    for (int i = 0; i < H; i++)
        m[i] = v[i][0] * v[i][0] + v[i][1] * v[i][1];
    m[0] *= 0.25;
    const double t = rtd_kth_largest(m, H, k, sp->scratch);
    int above = 0;
    for (int i = 0; i < H; i++)
        above += m[i] > t;
    int ties = k - above;
    for (int i = 0; i < H; i++) {
        int keep = m[i] > t || (m[i] == t && ties-- > 0);
        z[i][0] = keep ? v[i][0] : 0.0;
        z[i][1] = keep ? v[i][1] : 0.0;
    }
}

/* Projection onto the signals consistent with the clipped frame y. */
static void project(const double *x, const double *y, const int8_t *mask, double *out, int w)
{
    for (int i = 0; i < w; i++) {
        double xi = x[i], yi = y[i];
        out[i] = mask[i] == 0 ? yi : mask[i] > 0 ? (xi > yi ? xi : yi) : (xi < yi ? xi : yi);
    }
}

static int aspade(spade_solver *sp, const double *y, const int8_t *mask, int *k, double *x,
                  int *converged)
{
    const int w = sp->w, H = sp->H;
    double best = INFINITY;
    int it = 0;
    analysis(sp, sp->xhat, sp->zest);
    memset(sp->u, 0, sizeof(fftw_complex) * H);
    memcpy(sp->best, sp->xhat, sizeof(double) * w);
    for (int cnt = 1; cnt <= sp->max_iter; ) {
        it++;
        for (int i = 0; i < H; i++) {
            sp->v[i][0] = sp->zest[i][0] + sp->u[i][0];
            sp->v[i][1] = sp->zest[i][1] + sp->u[i][1];
        }
        hard_threshold(sp, sp->v, sp->zbar, *k);
        double obj = sqrt(full_norm2(sp->zest, sp->zbar, H));
        if (obj <= best) {
            best = obj;
            memcpy(sp->best, sp->xhat, sizeof(double) * w);
        }
        if (obj <= sp->epsilon) {
            *converged = 1;
            break;
        }
        /* x = P(D(zbar - u)); the difference goes in v, which is free now */
        for (int i = 0; i < H; i++) {
            sp->v[i][0] = sp->zbar[i][0] - sp->u[i][0];
            sp->v[i][1] = sp->zbar[i][1] - sp->u[i][1];
        }
        synthesis(sp, sp->v, sp->tmp);
        project(sp->tmp, y, mask, sp->xhat, w);
        analysis(sp, sp->xhat, sp->zest);
        for (int i = 0; i < H; i++) {
            sp->u[i][0] += sp->zest[i][0] - sp->zbar[i][0];
            sp->u[i][1] += sp->zest[i][1] - sp->zbar[i][1];
        }
        cnt++;
        if (cnt % sp->r == 0)
            *k += sp->s;
    }
    memcpy(x, sp->return_last ? sp->xhat : sp->best, sizeof(double) * w);
    return it;
}

static int sspade(spade_solver *sp, const double *y, const int8_t *mask, int *k, double *x,
                  int *converged)
{
    const int w = sp->w;
    double best = INFINITY;
    int it = 0;
    double *dz = sp->tmp;
    memset(sp->ut, 0, sizeof(double) * w);
    memcpy(sp->best, sp->xhat, sizeof(double) * w);
    for (int cnt = 1; cnt <= sp->max_iter; ) {
        it++;
        for (int i = 0; i < w; i++)
            dz[i] = sp->xhat[i] - sp->ut[i];
        analysis(sp, dz, sp->v);
        hard_threshold(sp, sp->v, sp->zbar, *k);
        synthesis(sp, sp->zbar, dz);
        double obj = 0.0;
        for (int i = 0; i < w; i++) {
            double d = dz[i] - sp->xhat[i];
            obj += d * d;
        }
        obj = sqrt(obj);
        if (obj <= best) {
            best = obj;
            memcpy(sp->best, sp->xhat, sizeof(double) * w);
        }
        if (obj <= sp->epsilon) {
            *converged = 1;
            break;
        }
        for (int i = 0; i < w; i++)
            sp->xhat[i] = dz[i] + sp->ut[i];
        project(sp->xhat, y, mask, sp->xhat, w);
        for (int i = 0; i < w; i++)
            sp->ut[i] += dz[i] - sp->xhat[i];
        cnt++;
        if (cnt % sp->r == 0)
            *k += sp->s;
    }
    memcpy(x, sp->return_last ? sp->xhat : sp->best, sizeof(double) * w);
    return it;
}

/* The projection onto {z : Dz in Gamma} is z + D*(P(Dz) - Dz) because
 * D D* = I; its time signal D z is simply P(Dz), kept in xhat. */
static int sspade_original(spade_solver *sp, const double *y, const int8_t *mask, int *k,
                           double *x, int *converged)
{
    const int w = sp->w, H = sp->H;
    double best = INFINITY;
    int it = 0;
    fftw_complex *zhat = sp->zest, *corr = sp->v;
    double *dv = sp->tmp;
    analysis(sp, sp->xhat, zhat);
    memset(sp->u, 0, sizeof(fftw_complex) * H);
    memcpy(sp->best, sp->xhat, sizeof(double) * w);
    for (int cnt = 1; cnt <= sp->max_iter; ) {
        it++;
        for (int i = 0; i < H; i++) {
            corr[i][0] = zhat[i][0] + sp->u[i][0];
            corr[i][1] = zhat[i][1] + sp->u[i][1];
        }
        hard_threshold(sp, corr, sp->zbar, *k);
        for (int i = 0; i < H; i++) { /* zhat <- zbar - u, the point to project */
            zhat[i][0] = sp->zbar[i][0] - sp->u[i][0];
            zhat[i][1] = sp->zbar[i][1] - sp->u[i][1];
        }
        synthesis(sp, zhat, dv);
        project(dv, y, mask, sp->xhat, w);
        for (int i = 0; i < w; i++)
            dv[i] = sp->xhat[i] - dv[i];
        analysis(sp, dv, corr);
        for (int i = 0; i < H; i++) {
            zhat[i][0] += corr[i][0];
            zhat[i][1] += corr[i][1];
        }
        double obj = sqrt(full_norm2(zhat, sp->zbar, H));
        if (obj <= best) {
            best = obj;
            memcpy(sp->best, sp->xhat, sizeof(double) * w);
        }
        if (obj <= sp->epsilon) {
            *converged = 1;
            break;
        }
        for (int i = 0; i < H; i++) {
            sp->u[i][0] += zhat[i][0] - sp->zbar[i][0];
            sp->u[i][1] += zhat[i][1] - sp->zbar[i][1];
        }
        cnt++;
        if (cnt % sp->r == 0)
            *k += sp->s;
    }
    memcpy(x, sp->return_last ? sp->xhat : sp->best, sizeof(double) * w);
    return it;
}

int spade_solve(spade_solver *sp, const double *y, const int8_t *mask, const double *x0,
                int k0, double *x, int *k_end, int *converged)
{
    int k = k0 > 0 ? k0 : sp->s;
    *converged = 0;
    if (x0)
        project(x0, y, mask, sp->xhat, sp->w);
    else
        memcpy(sp->xhat, y, sizeof(double) * sp->w);
    int it;
    switch (sp->algorithm) {
    case RTD_SSPADE: it = sspade(sp, y, mask, &k, x, converged); break;
    case RTD_SSPADE_ORIGINAL: it = sspade_original(sp, y, mask, &k, x, converged); break;
    default: it = aspade(sp, y, mask, &k, x, converged); break;
    }
    *k_end = k;
    return it;
}
