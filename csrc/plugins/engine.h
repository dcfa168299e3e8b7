/* engine.h -- what the LADSPA and LV2 wrappers share: one declipper
 * instance (mono or stereo) with its controls, built only on the public
 * API of the C core (rtdeclip.h) and the preset table (presets.h).
 *
 * Signal path per channel:
 *
 *   in -> core state of the chosen preset and clip-level mode (latency Lc)
 *      -> output gain -> look-ahead limiter (Ll, off by default) -> wet
 *   in -> delay Lc + Ll -> dry
 *   out = wet while enabled, dry while bypassed (10 ms cross-fade)
 *
 * so the latency is Lc + Ll whatever the controls, and with the default
 * controls the output is the core's output delayed by Ll: the Python
 * Declipper(rate, channels, preset="average", threshold="auto") stream.
 *
 * Families of instances, same ports: the standard one (presets average
 * and fastest, Lc = the larger of their latencies, 2046 samples at 48 kHz)
 * and the low-latency one, which runs only the lowlatency preset (Lc = 510
 * at 48 kHz): a constant-latency instance that could switch to average
 * would have to carry average's latency, so it is a family of its own,
 * whose preset control has the one value 2 (the real-time preset index of
 * lowlatency).  The voice and lossy families (RTDP_VOICE, RTDP_LOSSY
 * below) run the standard presets through a rate chain to 16 kHz or
 * followed by a second pass over a codec's smeared rail.
 *
 * Real-time safety: rtdp_create makes every state (each real-time preset
 * in both clip-level modes), buffer and FFTW plan; rtdp_run and
 * rtdp_activate never allocate, lock or plan, for any block size (long
 * blocks are cut into chunks of RTDP_CHUNK).  A preset or clip-mode change
 * resets the state it switches to and feeds it the input alongside the
 * current one until it has seen a window and its latency of audio, then
 * switches: no gap, no allocation, twice the CPU for that moment. */
#ifndef RTDP_ENGINE_H
#define RTDP_ENGINE_H

#define RTDP_MAX_CHANNELS 2
#define RTDP_CHUNK 1024

typedef struct rtdp rtdp;

/* Input controls, as the host gives them (any float: out-of-range values
 * are clamped, NaN means the default). */
typedef struct {
    float preset;      /* index among the real-time presets (0 = average) */
    float clip_mode;   /* 0 auto (estimated online), 1 fixed levels below  */
    float clip_pos_db; /* fixed positive clip level, dBFS                 */
    float clip_neg_db; /* fixed negative clip level (magnitude), dBFS     */
    float gain_db;     /* output gain                                     */
    float limiter;     /* 0 off, 1 on                                     */
    float ceiling_db;  /* limiter ceiling, dBFS                           */
    float enabled;     /* 1 declip, 0 bypass (same delay)                 */
    float hedge;       /* auto levels: a smeared rail hedged over its width,
                          0 off or 2-5 trajectories (rtd_set_hedge); the
                          port after the meters (added 2026-12-05: the
                          ports before it keep their indices)              */
    float codec;       /* auto levels: the codec the input was decoded
                          from, 0 unknown or another, 1 Opus (its rails get
                          Opus's own width, rtd_set_codec); after "hedge"
                          (added 2026-12-05); the voice family's is 0..0   */
} rtdp_controls;
/* Input controls: the first RTDP_CONTROLS_BEFORE_METERS come after the
 * audio ports, the rest after the output controls. */
#define RTDP_N_CONTROLS 10
#define RTDP_CONTROLS_BEFORE_METERS 8
#define RTDP_CTL_HEDGE 8    /* indices of the controls after the meters */
#define RTDP_CTL_CODEC 9

/* Output controls. */
typedef struct {
    float latency;                          /* samples                     */
    float level_pos_db[RTDP_MAX_CHANNELS];  /* clip levels in use, dBFS;   */
    float level_neg_db[RTDP_MAX_CHANNELS];  /* 0 where none was found      */
    float clipped_ratio;                    /* clipped / all samples, last
                                               quarter second             */
    float iterations;                       /* mean per solved frame, same */
} rtdp_meters;
/* The most output control ports a plug-in has. */
#define RTDP_N_METERS (1 + 2 * RTDP_MAX_CHANNELS + 2)
/* The meters of C channels in output-port order (latency, pos/neg level per
 * channel, clipped ratio, iterations) into v[RTDP_N_METERS]; returns how
 * many.  Both wrappers publish their output ports in this order. */
int rtdp_meter_ports(const rtdp_meters *m, int C, float *v);

/* The control ports both wrappers publish, in port order after the audio
 * ports: one table, so the LADSPA descriptor and the checks of the LV2
 * Turtle (tests/test_plugins_meta.py) agree. */
typedef struct {
    const char *symbol, *name;
    float min, max, def;
    int integer, toggled;
} rtdp_control_info;
extern const rtdp_control_info rtdp_control_table[RTDP_N_CONTROLS];
/* The low-latency family's: the same but the preset port, 2..2 (its hedge
 * runs beside lowlatency's second solve, csrc/stream.c). */
extern const rtdp_control_info rtdp_control_table_lowlatency[RTDP_N_CONTROLS];
/* The voice family's: the standard one's but the codec, 0..0 (Opus codes
 * a 16 kHz voice in its voice modes; Opus's width was measured full band). */
extern const rtdp_control_info rtdp_control_table_voice[RTDP_N_CONTROLS];
/* The lossy family's: the standard one's with the hedge at 2 by default
 * (the Declipper's own for fastest and average) and the codec control
 * telling Opus from the others. */
extern const rtdp_control_info rtdp_control_table_lossy[RTDP_N_CONTROLS];

/* RTDP_VOICE: the standard family's presets and ports, run at a 16 kHz
 * source's rate: the host's stream (32, 48, 64 or 96 kHz: 2, 3, 4 or 6
 * times 16 kHz; other rates fail to instantiate) is decimated to 16 kHz,
 * declipped there and only the repair comes back, interpolated (rtd_rate
 * in rtdeclip.h), as Declipper(rate, channels, preset, source_rate=16000).
 * For audio whose spectrum stops at 8 kHz: an Opus voice call or voice
 * message decoded at 48 kHz, wideband telephony; several dB better there
 * than the standard family, less CPU, 4 ms more latency. */
#define RTDP_VOICE_RATE 16000
/* RTDP_LOSSY: the standard family's presets and ports for audio decoded
 * from a lossy codec (an MP3, AAC, Vorbis or Opus file a host renders, a
 * music player's stream), as Declipper(rate, channels, preset,
 * threshold="auto", codec="mp3") (codec control 1: codec="opus"): each auto
 * state runs the stream's second pass over a smeared rail (rtd_named, 2
 * shares; docs/lossy.md, twenty-sixth session) and hedges 2 ways by
 * default.  Twice the latency of the standard family plus 8 samples (4100
 * at 48 kHz) and, while a smeared rail is in use, about twice the CPU of a
 * hedged standard instance: for hosts that render (ffmpeg, sox) or a
 * machine with CPU to spare.  Exact rails come out as the standard
 * family's with the default hedge, only later. */
enum { RTDP_STANDARD = 0, RTDP_LOWLATENCY = 1, RTDP_VOICE = 2, RTDP_LOSSY = 3 };
/* shares of the lossy family's second pass (Declipper's PRESET_SHARES) */
#define RTDP_LOSSY_SHARES 2
const rtdp_control_info *rtdp_controls_of(int family);

/* family: RTDP_STANDARD, RTDP_LOWLATENCY, RTDP_VOICE or RTDP_LOSSY.  NULL if the rate
 * is out of range (8-192 kHz is supported; anything the core accepts
 * works; RTDP_VOICE: 2, 3, 4 or 6 times RTDP_VOICE_RATE), memory runs out,
 * or the preset table does not have the presets the family's preset port
 * names. */
rtdp *rtdp_create(double sample_rate, int channels, int family);
void rtdp_destroy(rtdp *p);
/* Back to silence: every state, delay line, limiter and meter reset. */
void rtdp_activate(rtdp *p);
int rtdp_latency(const rtdp *p);
int rtdp_channels(const rtdp *p);
/* in[c], out[c]: the host's buffers (out may alias in).  Any NULL control
 * or meter pointer is fine (defaults / not written). */
void rtdp_run(rtdp *p, const rtdp_controls *ctl, const float *const *in, float *const *out,
              unsigned long frames, rtdp_meters *meters);
/* Defaults of every control (the family's table's). */
void rtdp_default_controls(rtdp_controls *ctl, int family);

#endif
