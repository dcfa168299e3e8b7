/* fuzz_process.c -- libFuzzer target on the C core's streaming call.
 *
 * The input bytes choose everything: the configuration (channels, window,
 * hop, redundancy, algorithm, schedule, iteration budget, warm start,
 * online or fixed thresholds -- raw doubles, so 0, negative, huge, NaN,
 * inverted pairs), the sample format, the block sizes, and the samples
 * themselves (raw IEEE bytes: NaN, Inf, denormals, 1e308 included).
 *
 * Properties checked on every input (abort() on failure, so libFuzzer
 * keeps the input):
 *   - no crash, no sanitizer report (built with ASan + UBSan);
 *   - every output sample is finite;
 *   - consistency with the observation, in the header's words: with fixed
 *     thresholds, out[j + latency] equals the input exactly where it is
 *     reliable, is >= it where clipped high (y >= pos) and <= it where
 *     clipped low (y <= neg); NaN/Inf input samples count as 0;
 *   - block-size invariance: the same stream fed in one call and in the
 *     fuzzer's block sizes gives bit-identical output;
 *   - rtd_reset() gives back the freshly created state (same output again);
 *   - stats: nonfinite_samples counts the NaN/Inf inputs exactly;
 *   - byte 39 may wrap the state in rtd_rate (a stream at 2-6 times the
 *     solver's rate): the same properties except consistency, which the
 *     interpolated repair does not keep sample by sample.
 *
 * Build and run: fuzz/run.sh SECONDS (clang -fsanitize=fuzzer,address,undefined). */
#include "rtdeclip.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 6000
#define HEADER 40

static void fail(const char *what, long j, int c, double in, double out)
{
    fprintf(stderr, "PROPERTY FAILED: %s at frame %ld channel %d: in %.17g out %.17g\n", what, j, c,
            in, out);
    abort();
}

static double rd_double(const uint8_t *p)
{
    double d;
    memcpy(&d, p, sizeof d);
    return d;
}

/* one run of the whole stream through st (through rs around it when not
 * NULL: the stream at factor times the solver's rate) in the given block
 * sizes */
static void run(rtd_state *st, rtd_rate *rs, const void *in, void *out, int frames, int C,
                int is_float, const uint8_t *sizes, size_t nsizes)
{
    size_t es = is_float ? sizeof(float) : sizeof(double);
    int done = 0;
    size_t k = 0, empty = 0;
    while (done < frames) {
        int n = nsizes ? (int)sizes[k++ % nsizes] * 3 : frames; /* 0..765, 0 allowed */
        /* a size list of zeros only would never get through the stream (the
         * harness's own hang, found by the fuzzer): after a whole cycle of
         * empty blocks, the rest goes in one call */
        empty = n == 0 ? empty + 1 : 0;
        if (nsizes && empty >= nsizes) n = frames - done;
        if (n > frames - done) n = frames - done;
        const char *pi = (const char *)in + (size_t)done * C * es;
        char *po = (char *)out + (size_t)done * C * es;
        if (rs && is_float)
            rtd_rate_process_float(rs, (const float *)pi, (float *)po, n);
        else if (rs)
            rtd_rate_process_double(rs, (const double *)pi, (double *)po, n);
        else if (is_float)
            rtd_process_float(st, (const float *)pi, (float *)po, n);
        else
            rtd_process_double(st, (const double *)pi, (double *)po, n);
        done += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER) return 0;
    const uint8_t *h = data;
    rtd_config cfg;
    rtd_config_default(&cfg);
    cfg.channels = 1 + h[0] % 3;
    cfg.window = 16 << (h[1] % 7); /* 16 .. 1024 */
    cfg.hop = cfg.window / (2 << (h[2] % 3));
    cfg.redundancy = 1 << (h[3] % 3);
    cfg.algorithm = (rtd_algorithm)(h[4] % 3);
    cfg.s = 1 + h[5] % 4;
    cfg.r = 1 + h[6] % 3;
    cfg.epsilon = (h[7] % 4) * 0.05;
    cfg.max_iterations = h[8] % 16; /* 0: the survey's budget, capped below */
    cfg.return_last = h[9] & 1;
    cfg.warm_start = (h[9] >> 1) & 1;
    cfg.auto_threshold = (h[9] >> 2) & 1;
    const int is_float = (h[9] >> 3) & 1;
    const int zero_budget = (h[9] >> 4) & 1; /* rtd_set_max_iterations(0) */
    cfg.budget_pool = (h[9] >> 5) & 3;       /* 0..3: off, off, 2x, 3x */
    cfg.plan = RTD_PLAN_ESTIMATE;
    if (cfg.max_iterations == 0) cfg.max_iterations = 24; /* keep one input cheap */
    /* thresholds: raw doubles, or "nice" ones picked by a selector byte */
    double pos = rd_double(h + 10), neg = rd_double(h + 18);
    switch (h[26] % 4) {
    case 0: break;                                   /* raw bytes: anything */
    case 1: pos = (h[27] % 20) * 0.05; neg = -pos; break; /* symmetric, 0 included */
    case 2: pos = (h[27] % 20) * 0.05; neg = -(h[28] % 20) * 0.05; break; /* asymmetric */
    case 3: pos = HUGE_VAL; neg = -(h[28] % 20) * 0.05; break; /* one polarity */
    }
    size_t nsizes = h[29] % 10;
    const uint8_t *sizes = h + 30;
    const size_t es = is_float ? sizeof(float) : sizeof(double);
    const int C = cfg.channels;
    int frames = (int)((size - HEADER) / (es * C));
    if (frames > MAX_FRAMES) frames = MAX_FRAMES;

    int err;
    rtd_state *a = rtd_create(&cfg, &err);
    if (!a) {
        fprintf(stderr, "create failed on a valid config: %s\n", rtd_strerror(err));
        abort();
    }
    rtd_state *b = rtd_create(&cfg, &err);
    if (!b) abort();
    if (!cfg.auto_threshold)
        for (int c = 0; c < C; c++) {
            rtd_set_thresholds(a, c, pos, neg);
            rtd_set_thresholds(b, c, pos, neg);
        }
    if (zero_budget) {
        rtd_set_max_iterations(a, 0);
        rtd_set_max_iterations(b, 0);
    }
    /* byte 39: the stream at 2, 3, 4 or 6 times the solver's rate
     * (rtd_rate, source_rate.c): outputs change beyond the clipped samples
     * (the repair is interpolated), so the consistency checks are off and
     * the prehistory may carry the interpolator's pre-ringing */
    const int factors[4] = {2, 3, 4, 6};
    rtd_rate *ra = NULL, *rb = NULL;
    if (h[39] & 1) {
        int f = factors[(h[39] >> 1) & 3];
        ra = rtd_rate_create(a, C, f, &err);
        rb = rtd_rate_create(b, C, f, &err);
        if (!ra || !rb) abort();
    }
    const int lat = ra ? rtd_rate_latency(ra) : rtd_latency(a);
    const int ringing = ra ? 32 * factors[(h[39] >> 1) & 3] : 0;
    /* the stream plus enough silence to flush it */
    const int total = frames + lat;
    void *in = calloc((size_t)total * C + 1, es);
    void *o1 = malloc(((size_t)total * C + 1) * es);
    void *o2 = malloc(((size_t)total * C + 1) * es);
    memcpy(in, data + HEADER, (size_t)frames * C * es);

    run(a, ra, in, o1, total, C, is_float, NULL, 0);
    run(b, rb, in, o2, total, C, is_float, sizes, nsizes);
    if (memcmp(o1, o2, (size_t)total * C * es))
        fail("block-size invariance", -1, -1, 0, 0);

    rtd_stats s;
    rtd_get_stats(a, &s);
    long nonfinite = 0;
    for (long j = 0; j < (long)total * C; j++) {
        double y = is_float ? ((float *)in)[j] : ((double *)in)[j];
        nonfinite += !isfinite(y);
    }
    long long seen_nonfinite = ra ? rtd_rate_nonfinite(ra) : s.nonfinite_samples;
    if (seen_nonfinite != nonfinite) fail("nonfinite count", -1, -1, (double)nonfinite, (double)seen_nonfinite);
    if (!ra && s.samples_in != total) fail("samples_in", -1, -1, total, (double)s.samples_in);

    for (long j = 0; j < total; j++)
        for (int c = 0; c < C; c++) {
            size_t idx = (size_t)j * C + c;
            double v = is_float ? ((float *)o1)[idx] : ((double *)o1)[idx];
            if (!isfinite(v)) fail("finite output", j, c, NAN, v);
            if (j < lat - ringing) {
                /* the silent prehistory: zeros, unless the thresholds call
                 * 0 clipped (pos <= 0 or neg >= 0 are accepted by the C API) */
                if (v != 0.0 && (cfg.auto_threshold || (0.0 < pos && 0.0 > neg)))
                    fail("silent prehistory", j, c, 0.0, v);
                continue;
            }
            if (j < lat || ra) continue;
            size_t src = (size_t)(j - lat) * C + c;
            double y = is_float ? ((float *)in)[src] : ((double *)in)[src];
            if (!isfinite(y)) y = 0.0;
            if (cfg.auto_threshold) continue; /* levels moved while reading */
            if (y >= pos) {
                if (!(v >= y)) fail("clipped high restored below the observation", j - lat, c, y, v);
            } else if (y <= neg) {
                if (!(v <= y)) fail("clipped low restored above the observation", j - lat, c, y, v);
            } else if (v != y && !(is_float && (float)v == (float)y)) {
                fail("reliable sample changed", j - lat, c, y, v);
            }
        }

    /* reset gives the fresh state back: the same output again */
    rtd_reset(a);
    if (ra) rtd_rate_reset(ra);
    run(a, ra, in, o2, total, C, is_float, sizes, nsizes);
    if (memcmp(o1, o2, (size_t)total * C * es)) fail("reset", -1, -1, 0, 0);

    rtd_rate_destroy(ra);
    rtd_rate_destroy(rb);
    rtd_destroy(a);
    rtd_destroy(b);
    free(in);
    free(o1);
    free(o2);
    return 0;
}
