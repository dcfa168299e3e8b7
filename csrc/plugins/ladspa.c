/* ladspa.c -- the LADSPA face of the declipper: labels rtdeclip_mono and
 * rtdeclip_stereo (presets average / fastest), rtdeclip_mono_lowlatency
 * and rtdeclip_stereo_lowlatency (the lowlatency preset only, a quarter of
 * the latency), rtdeclip_mono_voice and rtdeclip_stereo_voice (average
 * / fastest declipped at a 16 kHz source's rate, engine.h RTDP_VOICE) and
 * rtdeclip_mono_lossy and rtdeclip_stereo_lossy (average / fastest with
 * the second pass over a codec's smeared rail, RTDP_LOSSY) in one
 * library.  All the work is in engine.c; this file only maps ports.
 * Every family has the same ports; the low-latency one's preset port has
 * the one value 2.
 *
 * Ports, in order: audio in (1 or 2), audio out (1 or 2), the first
 * RTDP_CONTROLS_BEFORE_METERS input controls of rtdp_control_table, then
 * the output controls: "latency" (samples; ffmpeg's ladspa filter
 * compensates it with latency=1), the clip levels in use per channel
 * (dBFS, 0 where none found), the clipped-sample ratio and the mean
 * iterations per solved frame; then the input controls added later
 * ("hedge", "codec"), so every earlier port keeps its index. */
#include "engine.h"

#include <ladspa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_CTL RTDP_N_CONTROLS
#define N_CTL_FIRST RTDP_CONTROLS_BEFORE_METERS
#define MAX_PORTS (2 * RTDP_MAX_CHANNELS + N_CTL + 1 + 2 * RTDP_MAX_CHANNELS + 2)

typedef struct {
    rtdp *p;
    int C, family;
    const LADSPA_Data *in[RTDP_MAX_CHANNELS];
    LADSPA_Data *out[RTDP_MAX_CHANNELS];
    const LADSPA_Data *ctl[N_CTL];
    LADSPA_Data *meter[MAX_PORTS];     /* output controls, in port order */
} instance;

typedef struct {
    LADSPA_Descriptor d;
    int C, family;
    LADSPA_PortDescriptor pd[MAX_PORTS];
    const char *names[MAX_PORTS];
    LADSPA_PortRangeHint hints[MAX_PORTS];
} variant;

/* descriptor index: 0 mono, 1 stereo, 2 mono low-latency, 3 stereo
 * low-latency, 4 mono voice, 5 stereo voice, 6 mono lossy, 7 stereo lossy
 * (family = index / 2) */
#define N_VARIANTS 8
static variant variants[N_VARIANTS];
static pthread_once_t built = PTHREAD_ONCE_INIT;

/* number of audio + control-in ports before the output controls */
static int first_meter(int C) { return 2 * C + N_CTL_FIRST; }
/* the input controls after the meters */
static int first_late(int C) { return first_meter(C) + 1 + 2 * C + 2; }
static int n_ports(int C) { return first_late(C) + N_CTL - N_CTL_FIRST; }

static LADSPA_Handle instantiate(const LADSPA_Descriptor *d, unsigned long rate)
{
    instance *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    /* by ID, not by address: a host may hand back a copy of the descriptor */
    const variant *v = NULL;
    for (int k = 0; k < N_VARIANTS; k++)
        if (variants[k].d.UniqueID == d->UniqueID) v = &variants[k];
    if (!v) {
        free(h);
        return NULL;
    }
    h->C = v->C;
    h->family = v->family;
    h->p = rtdp_create((double)rate, h->C, h->family);
    if (!h->p) {
        free(h);
        return NULL;
    }
    return h;
}

static void connect_port(LADSPA_Handle hd, unsigned long port, LADSPA_Data *where)
{
    instance *h = hd;
    int C = h->C, i = (int)port;
    if (i < C)
        h->in[i] = where;
    else if (i < 2 * C)
        h->out[i - C] = where;
    else if (i < first_meter(C))
        h->ctl[i - 2 * C] = where;
    else if (i < first_late(C))
        h->meter[i - first_meter(C)] = where;
    else if (i < n_ports(C))
        h->ctl[N_CTL_FIRST + i - first_late(C)] = where;
}

static void activate(LADSPA_Handle hd) { rtdp_activate(((instance *)hd)->p); }

static void run(LADSPA_Handle hd, unsigned long frames)
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

static void cleanup(LADSPA_Handle hd)
{
    instance *h = hd;
    rtdp_destroy(h->p);
    free(h);
}

static LADSPA_PortRangeHintDescriptor default_hint(const rtdp_control_info *c)
{
    if (c->toggled) return c->def != 0.0f ? LADSPA_HINT_DEFAULT_1 : LADSPA_HINT_DEFAULT_0;
    if (c->def == c->min) return LADSPA_HINT_DEFAULT_MINIMUM;
    if (c->def == c->max) return LADSPA_HINT_DEFAULT_MAXIMUM;
    if (c->def == 0.0f) return LADSPA_HINT_DEFAULT_0;
    if (c->def == 1.0f) return LADSPA_HINT_DEFAULT_1;
    return LADSPA_HINT_DEFAULT_MIDDLE;
}

/* Port k: an input control of the table. */
static void control_port(variant *v, int k, const rtdp_control_info *c)
{
    v->pd[k] = LADSPA_PORT_CONTROL | LADSPA_PORT_INPUT;
    v->names[k] = c->name;
    LADSPA_PortRangeHintDescriptor h = default_hint(c);
    if (c->toggled) {
        h |= LADSPA_HINT_TOGGLED;
    } else {
        h |= LADSPA_HINT_BOUNDED_BELOW | LADSPA_HINT_BOUNDED_ABOVE;
        if (c->integer) h |= LADSPA_HINT_INTEGER;
        v->hints[k].LowerBound = c->min;
        v->hints[k].UpperBound = c->max;
    }
    v->hints[k].HintDescriptor = h;
}

static void build(variant *v, int C, int family)
{
    static const char *const audio[2][2][2] = {
        {{"Input", NULL}, {"Output", NULL}},
        {{"Input L", "Input R"}, {"Output L", "Output R"}}};
    static const char *const levels[2][4] = {
        {"Positive clip level (dBFS)", "Negative clip level (dBFS)", NULL, NULL},
        {"Positive clip level L (dBFS)", "Negative clip level L (dBFS)",
         "Positive clip level R (dBFS)", "Negative clip level R (dBFS)"}};
    int k = 0;
    memset(v, 0, sizeof *v);
    v->C = C;
    v->family = family;
    const rtdp_control_info *table = rtdp_controls_of(family);
    for (int io = 0; io < 2; io++)
        for (int c = 0; c < C; c++, k++) {
            v->pd[k] = LADSPA_PORT_AUDIO | (io ? LADSPA_PORT_OUTPUT : LADSPA_PORT_INPUT);
            v->names[k] = audio[C - 1][io][c];
        }
    for (int i = 0; i < N_CTL_FIRST; i++, k++) control_port(v, k, &table[i]);
    /* output controls; "latency" is the name hosts look for.  They get a
     * default hint too: sox asks every control port for one. */
    int first_out = k;
    v->names[k++] = "latency";
    for (int i = 0; i < 2 * C; i++) v->names[k++] = levels[C - 1][i];
    v->names[k++] = "Clipped-sample ratio";
    v->names[k++] = "Iterations per frame";
    for (int i = first_out; i < k; i++) {
        v->pd[i] = LADSPA_PORT_CONTROL | LADSPA_PORT_OUTPUT;
        v->hints[i].HintDescriptor = LADSPA_HINT_DEFAULT_0;
    }
    for (int i = N_CTL_FIRST; i < N_CTL; i++, k++) control_port(v, k, &table[i]);

    static const unsigned long ids[4][2] = {
        {2796201, 2796202}, {2796203, 2796204}, {2796205, 2796206}, {2796207, 2796208}};
    static const char *const labels[4][2] = {
        {"rtdeclip_mono", "rtdeclip_stereo"},
        {"rtdeclip_mono_lowlatency", "rtdeclip_stereo_lowlatency"},
        {"rtdeclip_mono_voice", "rtdeclip_stereo_voice"},
        {"rtdeclip_mono_lossy", "rtdeclip_stereo_lossy"}};
    static const char *const names[4][2] = {
        {"rtdeclip SPADE declipper (mono)", "rtdeclip SPADE declipper (stereo)"},
        {"rtdeclip SPADE declipper, low latency (mono)",
         "rtdeclip SPADE declipper, low latency (stereo)"},
        {"rtdeclip SPADE declipper, 16 kHz voice (mono)",
         "rtdeclip SPADE declipper, 16 kHz voice (stereo)"},
        {"rtdeclip SPADE declipper, lossy input (mono)",
         "rtdeclip SPADE declipper, lossy input (stereo)"}};
    v->d.UniqueID = ids[family][C - 1];
    v->d.Label = labels[family][C - 1];
    v->d.Properties = LADSPA_PROPERTY_HARD_RT_CAPABLE;
    v->d.Name = names[family][C - 1];
    v->d.Maker = "rtdeclip";
    v->d.Copyright = "MIT";
    v->d.PortCount = (unsigned long)k;
    v->d.PortDescriptors = v->pd;
    v->d.PortNames = v->names;
    v->d.PortRangeHints = v->hints;
    v->d.instantiate = instantiate;
    v->d.connect_port = connect_port;
    v->d.activate = activate;
    v->d.run = run;
    v->d.cleanup = cleanup;
}

static void build_all(void)
{
    for (int k = 0; k < N_VARIANTS; k++)
        build(&variants[k], 1 + k % 2, k / 2);   /* RTDP_STANDARD, _LOWLATENCY, _VOICE, _LOSSY */
}

__attribute__((visibility("default"))) const LADSPA_Descriptor *ladspa_descriptor(unsigned long index)
{
    pthread_once(&built, build_all);
    return index < N_VARIANTS ? &variants[index].d : NULL;
}
