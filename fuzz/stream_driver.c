/* stream_driver.c -- a streaming run of the C core for valgrind memcheck.
 *
 * For every algorithm, float and double, fixed and online thresholds, warm
 * start on and off: create a state, stream a clipped multi-sine (with NaN,
 * Inf and denormal samples) in blocks of random sizes, reset, stream again
 * with a time limit, read the stats, destroy.  Also one rtd_solve_frame and
 * wisdom export/import.  Exits 1 if any output sample is not finite.  At
 * the end fftw_cleanup() frees FFTW's own caches, so valgrind must report
 * zero bytes in use at exit.
 *
 *   cc -g -O1 -Icsrc fuzz/stream_driver.c csrc/{stream,spade,select,planner,windows,workers}.c \
 *      -lfftw3_threads -lfftw3 -lfftw3f_threads -lfftw3f -lm -lpthread -o stream_driver
 *   valgrind --leak-check=full --show-leak-kinds=all --error-exitcode=99 ./stream_driver [seconds]
 */
#include "rtdeclip.h"
#include "rtdeclip_testing.h"

#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int stream(rtd_state *st, int C, int N, const double *in, double *out, float *fin,
                  float *fout, int is_float)
{
    int bad = 0;
    for (int done = 0; done < N;) {
        int n = rand() % 600;
        if (n > N - done) n = N - done;
        if (is_float)
            rtd_process_float(st, fin + (size_t)done * C, fout + (size_t)done * C, n);
        else
            rtd_process_double(st, in + (size_t)done * C, out + (size_t)done * C, n);
        done += n;
    }
    for (int i = 0; i < N * C; i++) bad += is_float ? !isfinite(fout[i]) : !isfinite(out[i]);
    return bad;
}

int main(int argc, char **argv)
{
    const int C = 2, N = argc > 1 ? (int)(atof(argv[1]) * 16000) : 16000;
    double *in = malloc(sizeof(double) * N * C), *out = malloc(sizeof(double) * N * C);
    float *fin = malloc(sizeof(float) * N * C), *fout = malloc(sizeof(float) * N * C);
    srand(3);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double t = i / 16000.0;
            double x = 0.7 * sin(2 * M_PI * 220 * t + c) + 0.4 * sin(2 * M_PI * 1250 * t);
            x = x > 0.5 ? 0.5 : x < -0.5 ? -0.5 : x;
            /* the second half: noise after the clipper, a smeared rail the
             * hedge (variant 3) hedges */
            if (2 * i > N) x += 2e-3 * (rand() / (double)RAND_MAX - 0.5);
            if (i % 4999 == 17) x = NAN;
            if (i % 7001 == 5) x = -INFINITY;
            if (i % 3001 == 9) x = 4e-320; /* denormal */
            in[i * C + c] = x;
            fin[i * C + c] = (float)x;
        }
    int bad = 0, runs = 0;
    long long hedge_solves = 0;
    for (int alg = 0; alg < 3; alg++)
        for (int variant = 0; variant < 4; variant++) {
            rtd_config cfg;
            rtd_config_default(&cfg);
            cfg.channels = C;
            cfg.window = variant & 1 ? 512 : 256;
            cfg.hop = cfg.window / (variant & 2 ? 8 : 4);
            cfg.redundancy = 1 << (variant % 3);
            cfg.algorithm = (rtd_algorithm)alg;
            cfg.max_iterations = 12;
            cfg.s = 2;
            cfg.r = 1;
            cfg.return_last = variant & 1;
            cfg.warm_start = (variant >> 1) & 1;
            cfg.auto_threshold = variant == 3;
            cfg.hedge = variant == 3 ? 5 : 0;   /* five trajectories, three after the reset */
            /* A-SPADE's hedged state also has a second solve (lowlatency's):
             * trajectory 1 is the second solve in frames of exact rails */
            cfg.second_solve = variant == 3 && alg == 0 ? 4 : 0;
            cfg.budget_pool = variant & 2 ? 3 : 0;
            cfg.plan = RTD_PLAN_ESTIMATE;
            cfg.precision = variant & 1 ? RTD_SINGLE : RTD_DOUBLE;
            cfg.threads = variant >= 2 ? 2 : 1; /* a worker thread, joined at destroy */
            int err;
            rtd_state *st = rtd_create(&cfg, &err);
            if (!st) {
                fprintf(stderr, "create: %s\n", rtd_strerror(err));
                return 2;
            }
            for (int c = 0; c < C && !cfg.auto_threshold; c++) rtd_set_thresholds(st, c, 0.5, -0.5);
            bad += stream(st, C, N, in, out, fin, fout, variant & 1);
            rtd_reset(st);
            rtd_set_hedge(st, 3);
            rtd_set_time_limit(st, 0.002);
            rtd_set_max_iterations(st, 6);
            bad += stream(st, C, N, in, out, fin, fout, !(variant & 1));
            rtd_stats s;
            rtd_get_stats(st, &s);
            hedge_solves += s.hedge_solves;
            if (s.nonfinite_samples == 0 || s.frames_solved == 0) {
                fprintf(stderr, "stats: nonfinite %lld solved %lld\n", (long long)s.nonfinite_samples,
                        (long long)s.frames_solved);
                return 3;
            }
            if (alg == 0 && variant == 0) {
                double *y = calloc(cfg.window, sizeof(double)), *x = malloc(sizeof(double) * cfg.window);
                int8_t *m = calloc(cfg.window, 1);
                for (int i = 0; i < cfg.window; i++) {
                    y[i] = in[i * C];
                    m[i] = y[i] >= 0.5 ? 1 : y[i] <= -0.5 ? -1 : 0;
                    if (!isfinite(y[i])) y[i] = 0, m[i] = 0;
                }
                rtd_solve_frame(st, y, m, x);
                free(y), free(x), free(m);
            }
            rtd_destroy(st);
            runs++;
        }
    /* a lossy stream's second pass (named_stream.c): the first state online
     * and hedged, the inner one on two shares, random blocks of both types,
     * a reset in between; a chain with a mismatched inner state is refused */
    long long named_frames = 0;
    {
        rtd_config cfg;
        rtd_config_default(&cfg);
        cfg.channels = C;
        cfg.window = 512;
        cfg.hop = 128;
        cfg.redundancy = 1;
        cfg.max_iterations = 12;
        cfg.s = 2;
        cfg.r = 1;
        cfg.return_last = 1;
        cfg.warm_start = 1;
        cfg.plan = RTD_PLAN_ESTIMATE;
        cfg.precision = RTD_SINGLE;
        cfg.threads = 2;
        rtd_config icfg = cfg;
        cfg.auto_threshold = 1;
        cfg.hedge = 2;
        icfg.channels = 2 * C;
        int e1, e2, e3;
        rtd_state *first = rtd_create(&cfg, &e1), *inner = rtd_create(&icfg, &e2);
        rtd_named *ns = first && inner ? rtd_named_create(first, inner, C, 2, &e3) : NULL;
        if (!ns || rtd_named_create(first, inner, C, 3, &e3) || e3 != RTD_ERR_CHANNELS) {
            fprintf(stderr, "named create\n");
            return 6;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int done = 0; done < N;) {
                int n = rand() % 600;
                if (n > N - done) n = N - done;
                if (pass)
                    rtd_named_process_float(ns, fin + (size_t)done * C, fout + (size_t)done * C, n);
                else
                    rtd_named_process_double(ns, in + (size_t)done * C, out + (size_t)done * C, n);
                done += n;
            }
            for (int i = 0; i < N * C; i++) bad += pass ? !isfinite(fout[i]) : !isfinite(out[i]);
            rtd_stats s;
            rtd_get_stats(inner, &s);
            named_frames += s.frames_solved;
            rtd_reset(first);
            rtd_reset(inner);
            rtd_named_reset(ns);
        }
        rtd_named_destroy(ns);
        rtd_destroy(inner);
        rtd_destroy(first);
    }
    /* a failed create frees what it made */
    rtd_config bad_cfg;
    rtd_config_default(&bad_cfg);
    bad_cfg.window = 100;
    int err;
    if (rtd_create(&bad_cfg, &err) || err != RTD_ERR_WINDOW) return 4;
    double ana[64];
    for (int i = 0; i < 64; i++) ana[i] = 1.0;
    rtd_config_default(&bad_cfg);
    bad_cfg.window = 64;
    bad_cfg.hop = 16;
    bad_cfg.analysis_window = ana;
    bad_cfg.synthesis_window = ana; /* does not overlap-add to one */
    if (rtd_create(&bad_cfg, &err) || err != RTD_ERR_WINDOW_SHAPE) return 5;
    char path[] = "/tmp/rtd-wisdom-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        rtd_wisdom_save(path);
        rtd_wisdom_load(path);
        remove(path);
    }
    free(in), free(out), free(fin), free(fout);
    fftw_cleanup_threads();
    fftw_cleanup();
    fftwf_cleanup_threads();
    fftwf_cleanup();
    printf("streams %d nonfinite outputs %d\n", runs, bad);
    printf("hedge solves %lld\n", hedge_solves);
    printf("second pass frames %lld\n", named_frames);
    return bad ? 1 : 0;
}
