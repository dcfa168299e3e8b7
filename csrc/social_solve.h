/* social_solve.h -- one FISTA solve of the social solver (social.c), included
 * once per coefficient storage type: SOC_COEF (double, or float to halve the
 * memory traffic of the iterates, which bounds the solver) and SOC_SOLVE
 * (the function's name). */

/* One solve with neighbourhood nf x nt of a region of ws->span samples (y
 * observed, mask +1/-1/0); the solution is left in ws->x + (w - a).
 *
 * FISTA, one pass over the frames per iteration: the gradient of frame m
 * (the analysis of the residual), then the PEW shrinkage of frame m - nt/2
 * (whose neighbourhood is complete), its next extrapolated point and that
 * point's synthesis into the next residual buffer.  The neighbourhood's
 * gradient points and energies live in rings of nt frames, so each
 * coefficient is read and written once per iteration (the solver is bound
 * by memory traffic more than by the FFTs).  A frame with no observation
 * under it, no coefficient of its own and none in an overlapping frame is
 * dead: its gradient is zero, the shrinkage keeps it zero, it is skipped
 * (the silent margins of a block, most of the block of a short file). */
SOC_TARGET static int SOC_SOLVE(social_state *so, workspace *ws, const double *y,
                                const int8_t *mask, int nf, int nt)
{
    const int H = so->H, nfr = ws->nfr, a = so->a, w = so->w, off = w - a, span = ws->span;
    const double sc = 1.0 / sqrt((double)so->M);
    const int hf = nf / 2, ht = nt / 2, ring = nt;
    const int K = (w + a - 1) / a - 1;  /* frames q overlap frame m iff |q - m| <= K */
    const double inv_count = 1.0 / (nf * nt);
    uint8_t *unz = ws->unz, *unz2 = ws->unz + nfr, *znz = ws->unz + 2 * (size_t)nfr;
    uint8_t *dead = so->dead;  /* ring: the frame in that slot is dead */
    /* sum of the energies of the frames in the ring (dead ones are zero):
     * a running sum, the frame entering added, the one leaving subtracted */
    double *Erun = so->erun;
    double *x = ws->x, *x2 = ws->x2;
    /* which frames have some observation under them */
    for (int m = 0; m < nfr; m++) {
        int lo = m * a - off, hi = lo + w, nz = 0;
        if (lo < 0) lo = 0;
        if (hi > span) hi = span;
        for (int i = lo; i < hi && !nz; i++) nz = y[i] != 0.0 || mask[i] != 0;
        ws->ynz[m] = (uint8_t)nz;
    }
    /* start: z = u = the analysis of the observation; x = D u */
    memset(x, 0, sizeof(double) * ws->xl);
    memcpy(x + off, y, sizeof(double) * span);
    for (int m = 0; m < nfr; m++) {
        analyse_frame(so, x, m, !ws->ynz[m]);
        SOC_COEF (*z)[2] = (SOC_COEF (*)[2])ws->z + (size_t)m * H;
        for (int k = 0; k < H; k++) {
            z[k][0] = sc * so->cbuf[k][0];
            z[k][1] = sc * so->cbuf[k][1];
        }
    }
    memcpy(ws->u, ws->z, sizeof(SOC_COEF) * 2 * (size_t)nfr * H);
    memset(x, 0, sizeof(double) * ws->xl);
    for (int m = 0; m < nfr; m++) {
        const SOC_COEF (*u)[2] = (const SOC_COEF (*)[2])ws->u + (size_t)m * H;
        int nz = 0;
        for (int k = 0; k < H; k++) {
            so->cbuf[k][0] = u[k][0];
            so->cbuf[k][1] = u[k][1];
            nz |= (u[k][0] != 0) | (u[k][1] != 0);
        }
        unz[m] = znz[m] = (uint8_t)nz;
        if (nz) inverse_add(so, x, m);
    }
    const int T = so->iters, L = so->levels < so->iters ? so->levels : so->iters;
    /* one FISTA momentum sequence across the lambdas: restarting it at each
     * lambda (as the survey's code does) costs 3-6 dB at 3 dB input SDR at
     * 25 iterations per lambda (measured on SQAM) */
    int level = -1;
    double lam2 = 0.0;
    /* social_tail: ws->acc gets the mean of D u over the last `tail`
     * iterations and the final D z, ws->x keeps the final D z; solve()
     * mixes them (social_tail_weight).  The mean alone gained at dense
     * clipping and lost at light clipping on SQAM, the midpoint of the two
     * gained at every input SDR (HighQuality's, docs/highquality.md) */
    int tail = (int)(so->tail * T + 0.5);
    if (tail > T - 1) tail = T - 1;
    if (tail > 0) memset(ws->acc, 0, sizeof(double) * ws->xl);
    for (int it = 0; it < T; it++) {
        if (tail > 0 && it >= T - tail)
            for (int i = 0; i < ws->xl; i++) ws->acc[i] += x[i];
        int l = (int)((long long)it * L / T);
        if (l != level) {
            level = l;
            double f = L > 1 ? (double)l / (L - 1) : 0.0;
            double lam = so->lam_max * pow(so->lam_min / so->lam_max, f);
            lam2 = lam * lam;
        }
        const int last = it == T - 1;
        const int kn = it + 2; /* the momentum of the next iteration */
        const double bnext = (kn - 1.0) / (kn + 5.0);
        /* residual x - P_C(x), zero outside the region */
        for (int i = 0; i < off; i++) x[i] = 0.0;
        for (int i = 0; i < span; i++) {
            double v = x[off + i], o = y[i];
            int8_t mk = mask[i];
            x[off + i] = mk == 0 ? v - o : mk > 0 ? (v < o ? v - o : 0.0) : (v > o ? v - o : 0.0);
        }
        for (int i = off + span; i < ws->xl; i++) x[i] = 0.0;
        memset(x2, 0, sizeof(double) * ws->xl);
        memset(Erun, 0, sizeof(double) * H);
        for (int m = 0; m < nfr + ht; m++) {
            if (m < nfr) {
                /* gradient step of frame m: v = u - A r, and its energies */
                const int slot = m % ring;
                int rzero = !ws->ynz[m];
                for (int q = m - K; q <= m + K && rzero; q++)
                    if (q >= 0 && q < nfr && unz[q]) rzero = 0;
                /* the window slides: frame m - nt leaves the energy sum */
                if (m >= nt && !dead[slot]) {
                    const double *eo = so->ering + (size_t)slot * H;
                    for (int k = 0; k < H; k++) Erun[k] -= eo[k];
                }
                dead[slot] = (uint8_t)(rzero && !unz[m] && !znz[m]);
                if (!dead[slot]) {
                    analyse_frame(so, x, m, rzero);
                    const SOC_COEF (*u)[2] = (const SOC_COEF (*)[2])ws->u + (size_t)m * H;
                    fftw_complex *v = so->vring + (size_t)slot * H;
                    double *e = so->ering + (size_t)slot * H, *t = so->tmpe;
                    for (int k = 0; k < H; k++) {
                        double re = u[k][0] - sc * so->cbuf[k][0];
                        double im = u[k][1] - sc * so->cbuf[k][1];
                        v[k][0] = re;
                        v[k][1] = im;
                        t[k] = re * re + im * im;
                    }
                    box_sum(t, e, Erun, H, hf);
                }
            } else if (m >= nt && !dead[m % ring]) {
                const double *eo = so->ering + (size_t)(m % ring) * H;
                for (int k = 0; k < H; k++) Erun[k] -= eo[k];
                dead[m % ring] = 1;
            }
            const int c = m - ht;
            if (c < 0) continue;
            if (dead[c % ring]) {  /* v = 0 and z = 0: z and u stay zero */
                unz2[c] = 0;
                continue;
            }
            /* PEW shrinkage of frame c over its nt frames: z <- shrink(v) */
            const fftw_complex *v = so->vring + (size_t)(c % ring) * H;
            SOC_COEF (*z)[2] = (SOC_COEF (*)[2])ws->z + (size_t)c * H, (*u)[2] = (SOC_COEF (*)[2])ws->u + (size_t)c * H;
            fftw_complex *ck = so->cbuf;  /* what is synthesised: u, or z at the end */
            uint64_t ubits = 0, zbits = 0;
            for (int k = 0; k < H; k++) {
                /* en > lam2 ? 1 - lam2/en : 0, branch-free (the running sum
                 * may leave a rounding error below zero: no division by it) */
                double en = Erun[k] * inv_count;
                double gain = 1.0 - lam2 / (en > lam2 ? en : lam2);
                double zr = gain * v[k][0], zi = gain * v[k][1];
                double ur = zr + bnext * (zr - z[k][0]), ui = zi + bnext * (zi - z[k][1]);
                z[k][0] = (SOC_COEF)zr;
                z[k][1] = (SOC_COEF)zi;
                u[k][0] = (SOC_COEF)ur;
                u[k][1] = (SOC_COEF)ui;
                ck[k][0] = last ? zr : ur;
                ck[k][1] = last ? zi : ui;
                zbits |= dbits(zr) | dbits(zi);
                ubits |= dbits(ur) | dbits(ui);
            }
            /* nonzero: some bit beyond the sign */
            znz[c] = (zbits << 1) != 0;
            int nz = last ? znz[c] : (ubits << 1) != 0;
            unz2[c] = (uint8_t)nz;
            if (nz) inverse_add(so, x2, c); /* next iteration's D u, or the output D z */
        }
        double *tx = x; x = x2; x2 = tx;
        uint8_t *tf = unz; unz = unz2; unz2 = tf;
    }
    if (tail > 0) {  /* acc: the tail's mean; x: the last iterate D z */
        const double inv = 1.0 / (tail + 1);
        for (int i = 0; i < ws->xl; i++) ws->acc[i] = (x[i] + ws->acc[i]) * inv;
    }
    if (x != ws->x) memcpy(ws->x, x, sizeof(double) * ws->xl);
    return tail > 0;   /* ws->acc holds a tail mean */
}


#undef SOC_COEF
#undef SOC_SOLVE
