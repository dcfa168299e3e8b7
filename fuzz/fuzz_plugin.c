/* fuzz_plugin.c -- libFuzzer target on the plug-ins' LADSPA entry points
 * (the LV2 wrapper calls the same engine through the same port map).
 *
 * The input bytes choose the variant (mono / stereo, standard / low-latency),
 * the sample rate, and
 * a script of operations: runs of 0..8192 frames (raw float samples from
 * the input: NaN, Inf, denormals, 1e38 included), control changes to raw
 * float values (out of range, NaN, +-Inf), activate(), reconnecting
 * ports in place (out == in, as ffmpeg does).
 *
 * Properties (abort() on failure, so libFuzzer keeps the input):
 *   - no crash, no sanitizer report (ASan + UBSan);
 *   - every output sample and every output control is finite;
 *   - the latency port never changes and is > 0;
 *   - with the limiter on, |out| <= ceiling (the clamped ceiling control)
 *     except during the 10 ms bypass fade.
 * Build and run: fuzz/run_plugin.sh SECONDS. */
#include <ladspa.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const LADSPA_Descriptor *ladspa_descriptor(unsigned long index);

#define MAXB 8192 /* the largest block a run gets here (the engine takes any) */
static float in[2][MAXB], out[2][MAXB], ctl[8], meters[8];

static void fail(const char *what, double v)
{
    fprintf(stderr, "PROPERTY FAILED: %s (%g)\n", what, v);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    static const unsigned long rates[] = {8000, 22050, 44100, 48000, 96000};
    /* the voice family's rate chain needs 2, 3, 4 or 6 times 16 kHz */
    static const unsigned long voice_rates[] = {32000, 48000, 64000, 96000};
    /* descriptor 0 mono, 1 stereo, 2 / 3 low-latency, 4 / 5 voice, 6 / 7
     * lossy (the second pass): bit 0 the channels, bits 1 and 7 the family */
    int C = 1 + (data[0] & 1);
    int family = ((data[0] >> 1) & 1) | ((data[0] >> 6) & 2);
    unsigned long rate = family == 2 ? voice_rates[(data[0] >> 2) % 4] : rates[(data[0] >> 2) % 5];
    const LADSPA_Descriptor *d = ladspa_descriptor((unsigned long)(C - 1 + 2 * family));
    LADSPA_Handle h = d->instantiate(d, rate);
    if (!h) fail("instantiate", (double)rate);
    const float defaults[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    memcpy(ctl, defaults, sizeof ctl);
    for (int c = 0; c < C; c++) {
        d->connect_port(h, c, in[c]);
        d->connect_port(h, C + c, out[c]);
    }
    for (int i = 0; i < 8; i++) d->connect_port(h, 2 * C + i, &ctl[i]);
    int nmeters = 1 + 2 * C + 2;
    for (int i = 0; i < nmeters; i++) d->connect_port(h, 2 * C + 8 + i, &meters[i]);
    d->activate(h);
    float latency = -1;
    size_t pos = 1;
    long since_toggle = 1 << 30;
    int inplace = 0; /* the outputs are in in[] (op 4), not out[] */
    /* every op reads at most 3 bytes after its own: no read past the end */
    while (pos + 4 <= size) {
        uint8_t op = data[pos++];
        switch (op % 5) {
        case 0:
        case 1: { /* run n frames of raw samples */
            int n = ((data[pos] | data[pos + 1] << 8) % (MAXB + 1));
            pos += 2;
            for (int i = 0; i < n; i++)
                for (int c = 0; c < C; c++) {
                    float v = 0;
                    if (pos + 4 <= size) {
                        memcpy(&v, data + pos, 4);
                        pos += 4;
                    } else {
                        v = (float)(0.5 * sin(0.01 * i + c)); /* out of bytes: a tone */
                        v = v > 0.3f ? 0.3f : v;
                    }
                    in[c][i] = v;
                }
            d->run(h, (unsigned long)n);
            since_toggle += n;
            int limiting = ctl[5] >= 0.5f && !isnan(ctl[5]);
            double cdb = isnan(ctl[6]) ? 0.0 : ctl[6] < -20 ? -20 : ctl[6] > 0 ? 0 : ctl[6];
            double ceiling = pow(10.0, cdb / 20.0);
            for (int c = 0; c < C; c++) {
                const float *o = inplace ? in[c] : out[c]; /* where run() wrote */
                for (int i = 0; i < n; i++) {
                    if (!isfinite(o[i])) fail("non-finite output", o[i]);
                    if (limiting && since_toggle > (long)rate && fabsf(o[i]) > ceiling * 1.000001 &&
                        ctl[7] >= 0.5f)
                        fail("output above the limiter ceiling", o[i]);
                }
            }
            for (int i = 0; i < nmeters; i++)
                if (!isfinite(meters[i])) fail("non-finite output control", meters[i]);
            if (latency < 0) latency = meters[0];
            if (meters[0] != latency || latency <= 0) fail("latency changed", meters[0]);
            break;
        }
        case 2: { /* a control to a raw float value */
            int k = data[pos] % 8;
            float v;
            uint16_t raw = (uint16_t)(data[pos + 1] | data[pos + 2] << 8);
            static const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.5f, -0.0f, 1.0f};
            v = (raw & 0x8000) ? special[raw % 8] : (float)((int)(raw & 0x7fff) - 16384) / 256.0f;
            if (k == 5 || k == 6 || k == 7) since_toggle = 0; /* limiter / bypass change: fades */
            ctl[k] = v;
            pos += 3;
            break;
        }
        case 3:
            d->activate(h);
            latency = -1;
            pos += 2;
            break;
        case 4: /* in-place buffers (ffmpeg), then back */
            inplace = data[pos] & 1;
            for (int c = 0; c < C; c++) d->connect_port(h, C + c, inplace ? in[c] : out[c]);
            pos += 2;
            break;
        }
    }
    d->cleanup(h);
    return 0;
}
