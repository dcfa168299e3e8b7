/* lv2.c -- the LV2 face of the declipper: urn:rtdeclip:mono and
 * urn:rtdeclip:stereo (presets average / fastest), urn:rtdeclip:mono-lowlatency
 * and urn:rtdeclip:stereo-lowlatency (the lowlatency preset only),
 * urn:rtdeclip:mono-voice and urn:rtdeclip:stereo-voice (average / fastest
 * at a 16 kHz source's rate, engine.h RTDP_VOICE) and urn:rtdeclip:mono-lossy
 * and urn:rtdeclip:stereo-lossy (average / fastest with the second pass over
 * a codec's smeared rail, RTDP_LOSSY) in one binary (Turtle in lv2/).  The port indices
 * are the LADSPA ones (audio in, audio out, the first controls of
 * rtdp_control_table, then latency, clip levels, clipped ratio,
 * iterations, then "hedge" and "codec"); "enabled" carries lv2:designation lv2:enabled, so hosts
 * bypass through it with the same delay, and "latency" lv2:latency. */
#include "engine.h"

#include <lv2/core/lv2.h>
#include <stdlib.h>
#include <string.h>

#define URI_MONO "urn:rtdeclip:mono"
#define URI_STEREO "urn:rtdeclip:stereo"
#define URI_MONO_LL "urn:rtdeclip:mono-lowlatency"
#define URI_STEREO_LL "urn:rtdeclip:stereo-lowlatency"
#define URI_MONO_VOICE "urn:rtdeclip:mono-voice"
#define URI_STEREO_VOICE "urn:rtdeclip:stereo-voice"
#define URI_MONO_LOSSY "urn:rtdeclip:mono-lossy"
#define URI_STEREO_LOSSY "urn:rtdeclip:stereo-lossy"
#define N_DESCRIPTORS 8
#define N_CTL RTDP_N_CONTROLS
#define N_CTL_FIRST RTDP_CONTROLS_BEFORE_METERS
#define N_METERS RTDP_N_METERS

static const LV2_Descriptor descriptors[N_DESCRIPTORS];

typedef struct {
    rtdp *p;
    int C, family;
    const float *in[RTDP_MAX_CHANNELS];
    float *out[RTDP_MAX_CHANNELS];
    const float *ctl[N_CTL];
    float *meter[N_METERS];
} instance;

static LV2_Handle instantiate(const LV2_Descriptor *d, double rate, const char *bundle,
                              const LV2_Feature *const *features)
{
    (void)bundle;
    (void)features;
    instance *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    /* by URI (a host may pass a copy); descriptors[] is ordered as the
     * LADSPA indices: channels 1 + index % 2, family index / 2 */
    int index = 0;
    while (index < N_DESCRIPTORS && strcmp(d->URI, descriptors[index].URI) != 0) index++;
    if (index == N_DESCRIPTORS) {
        free(h);
        return NULL;
    }
    h->C = 1 + index % 2;
    h->family = index / 2;
    h->p = rtdp_create(rate, h->C, h->family);
    if (!h->p) {
        free(h);
        return NULL;
    }
    return h;
}

static void connect_port(LV2_Handle hd, uint32_t port, void *where)
{
    instance *h = hd;
    int C = h->C, i = (int)port;
    if (i < C)
        h->in[i] = where;
    else if (i < 2 * C)
        h->out[i - C] = where;
    else if (i < 2 * C + N_CTL_FIRST)
        h->ctl[i - 2 * C] = where;
    else if (i < 2 * C + N_CTL_FIRST + 1 + 2 * C + 2)
        h->meter[i - 2 * C - N_CTL_FIRST] = where;
    else if (i < 2 * C + N_CTL + 1 + 2 * C + 2)   /* the controls after the meters */
        h->ctl[i - (2 * C + N_CTL_FIRST + 1 + 2 * C + 2) + N_CTL_FIRST] = where;
}

static void activate(LV2_Handle hd) { rtdp_activate(((instance *)hd)->p); }

static void run(LV2_Handle hd, uint32_t frames)
{
    instance *h = hd;
    rtdp_controls ctl;
    float *cv = (float *)&ctl;
    rtdp_default_controls(&ctl, h->family);
    for (int i = 0; i < N_CTL; i++)
        if (h->ctl[i]) cv[i] = *h->ctl[i];
    rtdp_meters m;
    rtdp_run(h->p, &ctl, (const float *const *)h->in, h->out, frames, &m);
    float v[RTDP_N_METERS];
    int k = rtdp_meter_ports(&m, h->C, v);
    for (int i = 0; i < k; i++)
        if (h->meter[i]) *h->meter[i] = v[i];
}

static void cleanup(LV2_Handle hd)
{
    instance *h = hd;
    rtdp_destroy(h->p);
    free(h);
}

static const void *extension_data(const char *uri)
{
    (void)uri;
    return NULL;
}

static const LV2_Descriptor descriptors[N_DESCRIPTORS] = {
    {URI_MONO, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_STEREO, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_MONO_LL, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_STEREO_LL, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_MONO_VOICE, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_STEREO_VOICE, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_MONO_LOSSY, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
    {URI_STEREO_LOSSY, instantiate, connect_port, activate, run, NULL, cleanup, extension_data},
};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index < N_DESCRIPTORS ? &descriptors[index] : NULL;
}
