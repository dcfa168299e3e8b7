/*
 * rtdeclip.h -- streaming SPADE declipper (A-SPADE, S-SPADE, original S-SPADE).
 *
 * Usage, in the style of libsamplerate / speexdsp:
 *
 *     rtd_config cfg;
 *     rtd_config_default(&cfg);          // survey settings, 1 channel
 *     cfg.channels = 2;
 *     int err;
 *     rtd_state *st = rtd_create(&cfg, &err);
 *     if (!st) { fprintf(stderr, "%s\n", rtd_strerror(err)); ... }
 *     rtd_set_thresholds(st, 0, 0.5, -0.5);  // or cfg.auto_threshold = 1
 *     for (;;) rtd_process_double(st, in, out, frames);  // interleaved
 *     rtd_destroy(st);
 *
 * Signal model.  Each channel is cut into frames of `window` samples at a
 * hop of `hop` samples.  Every frame is multiplied by the analysis window,
 * declipped by SPADE in an overcomplete DFT (the frame zero-padded to
 * redundancy * window, unitary scaling), multiplied by the synthesis window
 * and overlap-added.  With the default windows (periodic Hann, peak 1, and
 * its canonical dual) a frame that is left alone overlap-adds back to the
 * input, so frames without a clipped sample are skipped.
 *
 * Clipping.  A sample y is clipped high when y >= pos_threshold and clipped
 * low when y <= neg_threshold (neg_threshold is a negative number); all
 * other samples are reliable.  The output equals the input exactly on the
 * reliable samples and lies on the far side of the observed value on the
 * clipped ones (consistency with the observation).
 *
 * Latency.  The output is the input delayed by exactly rtd_latency()
 * samples, whatever the block sizes given to rtd_process_*: the stream is
 * treated as preceded by silence, and a sample leaves as soon as the last
 * frame with a non-zero synthesis weight on it has been solved.
 *
 * Real-time safety.  rtd_create() makes every buffer and FFTW plan;
 * rtd_process_*(), rtd_reset(), rtd_set_*() and rtd_get_stats() never
 * allocate, lock, or call the FFTW planner.  One rtd_state must not be used
 * from two threads at once; different states may run in parallel threads.
 *
 * Threads.  With cfg.threads != 1 the channels of a stream are solved in
 * parallel: rtd_create starts a pool of worker threads (channel c runs on
 * lane c % lanes, lane 0 being the caller's thread), rtd_process_* hands
 * each hop to them without allocating or taking a mutex (one semaphore
 * post per worker and hop, and a short spin on an atomic before waiting
 * for each), and rtd_destroy joins them.  With a hedge (cfg.hedge) the
 * unit of work is a channel's trajectory: a hop is three passes of the
 * lanes (the masks per channel, the solves of every channel x trajectory
 * spread over the lanes, the finish per channel), so a hedged mono stream
 * keeps several cores busy.  The output is the same, bit for bit,
 * whatever the number of threads.
 *
 * Test-only calls (solving one frame, timing the transforms, worker CPU
 * time) are declared in rtdeclip_testing.h.
 */
#ifndef RTDECLIP_H
#define RTDECLIP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtd_state rtd_state;

/* Solvers.  Names and numbering of Zaviska et al., ICASSP 2019. */
typedef enum {
    RTD_ASPADE = 0,          /* analysis SPADE, Algorithm 1                  */
    RTD_SSPADE = 1,          /* synthesis SPADE "done properly", Algorithm 3 */
    RTD_SSPADE_ORIGINAL = 2, /* synthesis SPADE as first published, Alg. 2   */
    RTD_SOCIAL = 3           /* social sparsity (PEW shrinkage) on the whole
                                signal's STFT, streamed in blocks: see the
                                social_* fields of rtd_config                */
} rtd_algorithm;

/* FFTW planning rigour.  MEASURE plans take a while the first time; load a
 * wisdom file (rtd_wisdom_load) to make them instant. */
typedef enum { RTD_PLAN_MEASURE = 0, RTD_PLAN_ESTIMATE = 1 } rtd_plan;

/* Arithmetic of the solver's iteration.  DOUBLE is the survey's (and the
 * only one that reproduces it exactly).  SINGLE runs the transforms and
 * passes in float (FFTW's fftwf plans): about twice as fast; the stream's
 * buffers, windows, overlap-add and output stay double. */
typedef enum { RTD_DOUBLE = 0, RTD_SINGLE = 1 } rtd_precision;

/* Limits of rtd_config, checked by rtd_create and read from here by the
 * Python layer (through cffi), so each is written once. */
enum {
    RTD_CHANNELS_MAX = 1024,    /* channels: 1..RTD_CHANNELS_MAX                */
    RTD_WINDOW_MIN = 16,        /* window: a power of two in MIN..MAX           */
    RTD_WINDOW_MAX = 65536,
    RTD_HOP_MIN_DIV = 8,        /* hop divides the window, window/8 <= hop      */
    RTD_HOP_MAX_DIV = 2,        /*   and hop <= window/2                        */
    RTD_REDUNDANCY_MAX = 4,     /* redundancy: a power of two, 1..MAX           */
    RTD_POOL_MAX = 16,          /* budget_pool: 0..RTD_POOL_MAX                 */
    RTD_THREADS_MAX = 64,       /* threads: 0..RTD_THREADS_MAX                  */
    RTD_HEDGE_MAX = 5,          /* hedge: 0..RTD_HEDGE_MAX                      */
    RTD_NAMED_MAX = 5           /* rtd_named_create shares: 1..RTD_NAMED_MAX    */
};

typedef struct {
    int channels;            /* 1..RTD_CHANNELS_MAX                          */
    int window;              /* frame length, power of two, 16..65536        */
    int hop;                 /* divides window, window/8 <= hop <= window/2  */
    int redundancy;          /* DFT redundancy: 1, 2 or 4                    */
    rtd_algorithm algorithm;
    int s, r;                /* sparsity k starts at s, grows by s every r-th
                                iteration                                     */
    double epsilon;          /* stop when the termination value <= epsilon   */
    int max_iterations;      /* per frame; 0 = the survey's
                                ceil((window*redundancy/2 + 1) * r / s)       */
    int return_last;         /* 0: return the iterate with the best
                                termination value (survey).  1: return the
                                last projected iterate, which is better when
                                max_iterations is a small real-time budget   */
    int warm_start;          /* 1: start each frame from the previous frame's
                                solution on the overlap (k still starts at s) */
    int auto_threshold;      /* 1: estimate the clip levels online from the
                                stream (per channel, per polarity)           */
    int budget_pool;         /* 0 or 1: every frame gets max_iterations.
                                n >= 2 (up to 16): each channel keeps a credit
                                of the iterations its frames left unused (a
                                skipped frame leaves max_iterations, a frame
                                that reaches epsilon early what it did not
                                run; a frame cut by the time limit leaves
                                nothing), capped at 8 * max_iterations; a
                                frame may run up to n * max_iterations,
                                paying what it runs beyond max_iterations
                                from the credit.  So iterations over any
                                stretch never exceed max_iterations * frames
                                (the every-frame-clipped worst case is
                                unchanged), but one frame may take n times
                                as long.  Deterministic and independent of
                                block sizes; cleared by rtd_reset.          */
    rtd_plan plan;
    /* Optional windows of `window` samples, copied in rtd_create.  NULL
     * analysis = periodic Hann with peak 1; NULL synthesis = canonical dual
     * of the analysis window at this hop.  A synthesis window that is zero
     * on its first samples shortens the latency (asymmetric, low-delay
     * windows). The pair must overlap-add to one:
     * sum_m analysis[i + m*hop] * synthesis[i + m*hop] == 1 for every i.   */
    const double *analysis_window;
    const double *synthesis_window;
    rtd_precision precision; /* RTD_DOUBLE (default) or RTD_SINGLE          */
    int threads;             /* lanes solving the channels in parallel: 1 =
                                the caller's thread only (default); n >= 2 =
                                min(n, units) lanes, the caller's thread and
                                n - 1 workers made here; 0 = min(units,
                                processors the process may run on, its CPU
                                affinity).  Up to 64.  units: the channels,
                                times hedge with a hedge.                   */
    int synthesis_length;    /* 0: the windows above.  n > 0 with both window
                                pointers NULL: the low-delay pair designed
                                here (rtdeclip/core/windows.py lowdelay): a
                                Hann rise over the frame's past, and a
                                synthesis window on the last n samples whose
                                product with the analysis window is a Hann
                                window of n samples; latency n - 2.  n must
                                be a multiple of 2 * hop (or the window),
                                2 * hop <= n <= window.                     */
    /* RTD_SOCIAL only.  The STFT is window/hop/redundancy (Hann, made
     * tight), max_iterations the FISTA iterations per block (0: 500);
     * precision RTD_SINGLE runs its FFTs in fftwf and stores the
     * coefficient iterates in float (sums and signals stay double); s, r, epsilon, return_last, warm_start, budget_pool,
     * threads and custom windows are not used (the channels solved one
     * after the other).  The signal is solved in
     * blocks of social_block samples with social_margin more on either
     * side (both multiples of hop; 0: 48 and 8 windows); the latency is
     * block + margin - 1 samples.  lambda goes geometrically from
     * social_lambda_max to social_lambda_min in social_levels steps; the
     * PEW neighbourhood is social_neigh_freq bins x social_neigh_time
     * frames (odd).  social_neigh2_*: if not 0, a second solve with that
     * neighbourhood, and the output is the mean of the two.  social_tail
     * (0 <= f < 1): each solve outputs the mean of its synthesised iterates
     * over its last round(f * max_iterations) iterations (0: the last
     * iterate only); social_tail_weight a (0 < a <= 1, default 1): each
     * solve then outputs (1 - a) D z + a (that mean).  social_weight2
     * (0 < w < 1, default 0.5): the second solve's weight in the output. */
    int social_block, social_margin, social_levels;
    int social_neigh_freq, social_neigh_time;
    int social_neigh2_freq, social_neigh2_time;
    double social_lambda_max, social_lambda_min;
    double social_tail;
    double social_tail_weight;
    double social_weight2;
    int past_final;          /* 1: a frame's samples that have already left
                                the stream (those before the synthesis
                                window: the long past of low-delay windows)
                                are given to the solver as reliable, at
                                their output values, so that past is
                                context, not unknowns solved again.  With
                                Hann windows only a frame's first sample
                                (analysis weight 0) is final.  0
                                (default): off.                            */
    double prior_weight;     /* A-SPADE only.  > 0: hard thresholding ranks
                                a bin by |v|^2 + prior_weight * |A x_prev|^2,
                                x_prev the channel's previous solution (its
                                spectrum on the same bins), so bins active
                                in the past frame are favoured: a causal
                                "social" neighbourhood over time.  0
                                (default): plain SPADE.                     */
    int lookahead;           /* With synthesis_length: the synthesis window
                                ends this many samples before the frame's
                                end (0: at the end).  The newest samples are
                                then solved as context for the next frames
                                but not output by this one; the latency is
                                unchanged (synthesis_length - 2).
                                synthesis_length - lookahead must be a
                                multiple of hop, at least 2 * hop.          */
    double adapt_s;          /* A-/S-SPADE, > 0: k's step of a frame is
                                s * clamp(reliable / adapt_s, 1, 3), where
                                reliable is the fraction of the frame's
                                unknown part (all of it, or what is not
                                final with past_final) that is not clipped:
                                lightly clipped frames grow k faster.
                                0 (default): s for every frame.            */
    int second_solve;        /* A-/S-SPADE with max_iterations, >= 1: a
                                second trajectory of solutions per channel
                                (its own past with past_final, its own warm
                                start and prior), the output being the mean
                                of the two.  When a frame's first solve
                                reaches epsilon with at least second_solve
                                iterations of the frame's allowance left,
                                the second trajectory's frame is solved on
                                what is left, with k's step from
                                second_adapt_s; if that solve does not reach
                                epsilon too, or there is not enough left,
                                the second trajectory takes the first one's
                                solution for that frame.  A frame never runs
                                more than its allowance (max_iterations, or
                                up to budget_pool times it), so the per-frame
                                worst case and frames that never converge
                                are unchanged; the budget pool is settled on
                                the first solve only, so over a long stretch
                                the iterations may average more than
                                max_iterations per frame (at most
                                (budget_pool + 1) / 2 times it).  0
                                (default): one trajectory.                 */
    double second_adapt_s;   /* the second solves' adapt_s (0: step s)      */
    double second_reliable;  /* 0..1: a second solve runs only in frames
                                whose unknown part is at least this share
                                reliable (not clipped; the share adapt_s
                                uses): densely clipped frames, where the
                                second trajectory gains nothing, keep their
                                CPU (0, default: every frame)              */
    int hedge;               /* A-/S-SPADE with auto_threshold, 2..5: a
                                smeared rail (codec or noisy, see
                                rtd_get_detection) is hedged over its width:
                                the channel keeps `hedge` trajectories (each
                                its own past, warm start and prior) whose
                                clipped sets reach 1, 1.25, 0.75, 1.6 and
                                0.9 times the measured width below the
                                rail's centre (the first `hedge` of these),
                                and the output is their mean; samples inside
                                the first one's levels (the declared ones)
                                leave as they came.  A trajectory whose
                                clipped set in a frame is the first one's
                                takes the first one's solution there, so
                                exact rails (plain digital clipping) cost and
                                give exactly what one trajectory does; a
                                frame with a smeared rail costs up to
                                `hedge` solves.  Each solve gets the frame's
                                allowance; one cut by the time limit takes
                                the first trajectory's solution.  With
                                second_solve (lowlatency) its trajectory
                                stays, one more averaged in with the
                                members in frames of a smeared rail (exact
                                rails: the same output as without a hedge,
                                bit for bit).  0 or 1 (default): off.      */
    double hedge_budget;     /* with hedge, (0, 1]: in a frame where the
                                trajectories' clipped sets part (a smeared
                                rail being hedged) each solve may run this
                                share of the frame's allowance, so a hedge
                                of N costs about N x hedge_budget solves
                                (2 x 2/3: 1.33x; docs/lossy.md, sixteenth
                                session).  Frames of exact rails and
                                unhedged states keep the whole allowance.
                                With budget_pool such a frame is charged
                                for the allowance its share stands for
                                (the unspent share is no credit).
                                1 (default): the whole allowance.         */
    double heavy_width;      /* with auto_threshold, in [1, 2]: once the
                                heavier of a channel's codec rails holds 14 %
                                or more of its samples (heavy clipping; from
                                12 % it comes in linearly), its codec rails
                                are declared this many times their width
                                below their centre, whatever the codec
                                (rtd_set_codec's Opus width gives way to
                                the rule's at that share).  average:
                                1.3 (the width rule was fitted with fastest;
                                files: detect.for_preset).  1 (default): the
                                rule's width.                              */
    int grid_phase;          /* 0..hop-1: the frame grid starts this many
                                samples earlier (the stream is preceded by
                                window - hop + grid_phase samples of
                                silence): hops end grid_phase samples
                                sooner.  The latency is unchanged; the
                                frames fall elsewhere on the signal, so the
                                output differs as one frame grid from
                                another.  Chained states (rtd_named) set it
                                so their hops end in different blocks: the
                                largest block's CPU is one state's hop, not
                                the sum.  A-/S-SPADE only.  0 (default).   */
} rtd_config;

/* Running statistics, for reports and for the live host. */
typedef struct {
    int64_t samples_in;        /* per channel                                 */
    int64_t frames_solved;     /* all channels                                */
    int64_t frames_skipped;    /* no clipped sample: passed through           */
    int64_t frames_converged;  /* reached epsilon before max_iterations       */
    int64_t iterations;        /* sum over solved frames                      */
    int32_t max_frame_iterations;
    int64_t clipped_samples;   /* samples classified clipped, all channels    */
    int64_t nonfinite_samples; /* NaN/Inf replaced by 0                       */
    int64_t frames_cut;        /* stopped by the time limit (rtd_set_time_limit) */
    int64_t pooled_iterations; /* run beyond max_iterations, from the credit
                                  of cfg.budget_pool                         */
    int64_t hedge_solves;      /* cfg.hedge: frames solved by the other
                                  trajectories (their iterations are in
                                  `iterations`)                              */
    int64_t rail_switches;     /* auto_threshold: times a channel's clip-level
                                  estimate started afresh because the stream
                                  passed its rail or found a lower one (a new
                                  track of a playlist), all channels        */
} rtd_stats;

enum {
    RTD_OK = 0,
    RTD_ERR_CHANNELS = -1,
    RTD_ERR_WINDOW = -2,
    RTD_ERR_HOP = -3,
    RTD_ERR_REDUNDANCY = -4,
    RTD_ERR_ALGORITHM = -5,
    RTD_ERR_SCHEDULE = -6,
    RTD_ERR_EPSILON = -7,
    RTD_ERR_WINDOW_SHAPE = -8,
    RTD_ERR_NOMEM = -9,
    RTD_ERR_PLAN = -10,
    RTD_ERR_ITERATIONS = -11,
    RTD_ERR_POOL = -12,
    RTD_ERR_PRECISION = -13,
    RTD_ERR_THREADS = -14,
    RTD_ERR_SOCIAL = -15,
    RTD_ERR_FACTOR = -16,
    RTD_ERR_HEDGE = -17
};

/* Survey settings: 1 channel, window 8192, hop 2048, redundancy 2, A-SPADE,
 * s = 1, r = 2, epsilon = 0.1, survey maximum of iterations, best iterate,
 * no warm start, fixed thresholds, no budget pool, FFTW_MEASURE, double
 * precision, one thread. */
void rtd_config_default(rtd_config *cfg);

/* Makes a state; NULL on error with *error set (error may be NULL). */
rtd_state *rtd_create(const rtd_config *cfg, int *error);
void rtd_destroy(rtd_state *st);

/* Back to the freshly created condition (silence history, fixed thresholds
 * kept, auto thresholds forgotten, stats zeroed). */
void rtd_reset(rtd_state *st);

/* Interleaved blocks of `frames` x channels samples; `out` may not alias
 * `in`.  The output is the declipped input delayed by rtd_latency().
 * NaN/Inf input samples are replaced by 0 and counted. */
void rtd_process_double(rtd_state *st, const double *in, double *out, int frames);
void rtd_process_float(rtd_state *st, const float *in, float *out, int frames);

/* As rtd_process_double, with the clipped set given by the caller instead
 * of found from the levels: `given` holds one value per input sample
 * (interleaved like `in`): > 0 clipped high (the solution stays at or
 * above the sample), < 0 clipped low (at or below it), 0 reliable (kept).
 * Once fed this way the state uses only given sets (the levels, the
 * estimator and a hedge are ignored for the set) until rtd_reset; flush
 * it with given sets too (zeros: reliable silence).  Offline two-pass
 * declipping of a lossy file names its set from a first solve
 * (rtdeclip.core.named).  Returns 0; RTD_ERR_ALGORITHM from the social
 * solver, which keeps its own sets (nothing done, `out` untouched). */
int rtd_process_given_double(rtd_state *st, const double *in, const int8_t *given,
                             double *out, int frames);

/* Latency in samples (constant for a state). */
int rtd_latency(const rtd_state *st);

/* Channels the state was made with (cfg.channels). */
int rtd_channels(const rtd_state *st);

/* Clip levels of one channel: clipped where y >= pos or y <= neg.
 * Use +HUGE_VAL / -HUGE_VAL to declare a polarity unclipped. */
void rtd_set_thresholds(rtd_state *st, int channel, double pos, double neg);
void rtd_get_thresholds(const rtd_state *st, int channel, double *pos, double *neg);

/* How the levels in use were found (auto_threshold): per polarity 0 none,
 * 1 exact rail, 2 noisy rail (noise/dither/resampler: its lower edge, at
 * least 0.25 dB down), 3 codec-smeared rail (a hump of the amplitude
 * histogram; the level lies width dB below its centre).  Fixed thresholds
 * report 0.  Every algorithm, the social solver (highquality) included. */
void rtd_get_detection(const rtd_state *st, int channel, int *method_pos, int *method_neg,
                       double *width_pos, double *width_neg);

/* Iteration budget per frame, changeable between calls (the live host
 * lowers it under overload; 0 passes clipped frames through unsolved).
 * With cfg.budget_pool a frame may run up to budget_pool times this. */
void rtd_set_max_iterations(rtd_state *st, int max_iterations);
int rtd_get_max_iterations(const rtd_state *st);

/* Trajectories of the hedge over a smeared rail's width in use from the
 * next call (cfg.hedge), changeable between calls: 0 or 1 off, up to the
 * cfg.hedge the state was made with (more is taken as that).  Trajectories
 * taken into use start as copies of the first one (the output goes on
 * without a gap); the ones left out stop solving at once (they take the
 * first one's solutions) while the output fades over one window to the
 * mean of the rest (before any audio, and after rtd_reset, without a
 * fade).  No effect on a state made
 * without a hedge.  Returns the number now in use (1: off). */
int rtd_set_hedge(rtd_state *st, int trajectories);

/* The codec family of a decoded stream, when the caller knows it (a
 * script reading a file's container, a monitor told what it plays),
 * changeable between calls, kept by rtd_reset.  RTD_CODEC_UNKNOWN
 * (default; any other value is taken as it): every codec-smeared rail
 * gets the width rule's width.  RTD_CODEC_OPUS: Opus overshoots a rail
 * far more than it dips under it, and the rule, reading the spread above
 * the rail, runs to its cap; while the heavier of a channel's codec rails
 * holds under 11 % of the samples at or above its centre, a codec rail
 * wider than 1.5 dB is declared at the geometric mean of its width and
 * 1.5 dB below its centre, back to the rule's width at 16 %
 * (rtd_get_detection reports the width in use), as the file detector does
 * for an Opus file with a step at 13 % (detect.py, codec_family_width;
 * smear.h says why a stream ramps).  Only for a stream at the codec's own
 * rate: not for the inner state of an rtd_rate chain (an Opus voice from
 * a 16 kHz source is coded in Opus's voice modes).  Real-time safe.
 * Returns the family now in use. */
enum { RTD_CODEC_UNKNOWN = 0, RTD_CODEC_OPUS = 1 };
int rtd_set_codec(rtd_state *st, int family);

/* The stream went through an Opus encoder (libopus, its "audio" or
 * "restricted-lowdelay" application: ffmpeg's and opusenc's default),
 * which high-passed it with a one-pole DC reject at `cutoff_hz` (3 Hz):
 * clipping gives a signal a slowly moving mean, the encoder took it off,
 * and both rails moved with it.  Undone on every sample before anything
 * reads it (m += 6.3 * cutoff_hz / sample_rate * x, the sample + m; from
 * the stream's first sample, which must be the encoder's: the decoder
 * trims the pre-skip), so the rails sit flat again and the output
 * carries the mean back, high-passed at 0.3 Hz (one pole: the integral
 * also sums the codec's error near DC, a slow random walk, and a stream
 * joined midway would keep the encoder's m then as an offset).
 * `sample_rate`: the rate this state sees (the
 * source's in an rtd_rate chain).  A channel whose m passes its peak so
 * far was not DC-rejected (ffmpeg's own Opus encoder): m is let go there
 * (rtd_dc_restore_tripped counts them).  cutoff_hz 0: off (the default).
 * Resets m; survives rtd_reset (which zeroes m).  For an rtd_named chain
 * set it on the chain (rtd_named_set_dc_restore), not on its states.
 * Real-time safe; the social solver too.  Returns RTD_OK.
 * docs/lossy.md, thirtieth session: a 16 kHz voice through Opus at input
 * SDR 7, fastest stream through a 16 kHz rtd_rate chain 17.8 -> 21.7 dB. */
#define RTD_OPUS_DC_CUTOFF_HZ 3.0   /* libopus's dc_reject, outside its "voip" application */
int rtd_set_dc_restore(rtd_state *st, double cutoff_hz, double sample_rate);
int rtd_dc_restore_tripped(const rtd_state *st);   /* channels whose guard let m go */

/* The stream's sample rate in Hz (0: unknown, the default).  The level
 * estimator's ripple test (auto_threshold) runs at 32 kHz and up: a
 * smeared rail whose runs above its centre hold smooth peaks (one local
 * maximum each, a limiter's or a note's) rather than a clipped flat top's
 * codec ripple is no rail (smear.h, peak_runs.h).  Below 32 kHz the codec's
 * ripple lies out of band and the test stays off.  Survives rtd_reset.
 * Real-time safe.  The Python Declipper and the plug-ins set it. */
void rtd_set_sample_rate(rtd_state *st, double rate);

/* Wall-clock limit for one rtd_process_* call, in seconds (0 = none).  A
 * frame still iterating when the call's time is up returns its last
 * iterate at once (counted in frames_cut), so a live host can never be
 * made late by the solver.  The clock is CLOCK_MONOTONIC (vDSO: no lock,
 * no system call). */
void rtd_set_time_limit(rtd_state *st, double seconds);

void rtd_get_stats(const rtd_state *st, rtd_stats *stats);

/* Number of lanes the channels are solved on (1 = no worker threads). */
int rtd_threads(const rtd_state *st);

/* Gives the state's worker threads the calling thread's scheduling policy
 * and priority: a live host calls it from its real-time thread after
 * raising that thread's priority (workers otherwise keep the priority of
 * the thread that called rtd_create).  Not real-time safe (system calls);
 * 0 on success, -1 if a worker could not be changed. */
int rtd_match_worker_scheduling(rtd_state *st);

/* The windows in use (window samples each). */
void rtd_get_windows(const rtd_state *st, double *analysis, double *synthesis);

/* A stream declipped at its source's lower rate (source_rate.c).  An
 * Opus voice stream decodes at 48 kHz from a 16 kHz source: its spectrum
 * stops at 8 kHz, and declipping it at 16 kHz gains several dB.  rtd_rate
 * takes the stream at its own rate, decimates it by `factor` (2, 3, 4 or
 * 6) into `inner` (an rtd_state made at the source's rate, with as many
 * channels), and adds only the repair, interpolated back, to the delayed
 * input; samples the inner solver keeps come out bit for bit.  The same
 * filter (Kaiser-windowed sinc, 32 * factor taps each side) decimates
 * for detection in the file path (rtdeclip/core/resample.py, through
 * rtd_rate_filter).  Latency: 64 * factor + factor *
 * rtd_latency(inner) samples.  Real-time safe as rtd_process_*; `inner`
 * is used through it only (its thresholds, stats and budget are read and
 * set on it directly) and is not destroyed with it; rtd_reset(inner)
 * goes with rtd_rate_reset.  NULL on error with *error set. */
typedef struct rtd_rate rtd_rate;
rtd_rate *rtd_rate_create(rtd_state *inner, int channels, int factor, int *error);
void rtd_rate_destroy(rtd_rate *rs);
void rtd_rate_reset(rtd_rate *rs);
void rtd_rate_process_double(rtd_rate *rs, const double *in, double *out, int frames);
void rtd_rate_process_float(rtd_rate *rs, const float *in, float *out, int frames);
int rtd_rate_latency(const rtd_rate *rs);
long long rtd_rate_nonfinite(const rtd_rate *rs);  /* NaN/Inf inputs replaced by 0 */
/* The chain's low-pass for `factor`: 64 * factor + 1 symmetric taps, unit
 * DC gain (the decimator's; the interpolator's is factor times it).
 * Writes them to h when n is at least that, returns the tap count, or
 * RTD_ERR_FACTOR for another factor. */
int rtd_rate_filter(int factor, double *h, int n);

/* A stream's second pass over a smeared rail (named_stream.c).  After a
 * codec the set declared under a smeared rail holds reliable samples the
 * codec's ringing lifted over the declared level; the first solve tells
 * most of them apart (its solution stays under the rail's centre there).
 * rtd_named runs `first` (an auto_threshold state, hedged or not) and
 * then, one latency later, `inner` on the set `first` names: a sample
 * beyond `first`'s declared level whose first solution rises over the
 * rail's centre by at least a share of the rail's width (shares 0, 1/4,
 * 1/8, 3/8, 1/2 of it, the first `shares`); the output on a channel with a
 * smeared rail (rtd_get_detection: noisy or codec) is the mean of the first
 * solution and the shares' mean, with samples inside the declared levels
 * as they came; on any other channel it is the first solution, bit for bit
 * (exact rails name nothing: the inner frames are skipped).  A *dip* (a
 * sample under the declared level, at least 0.7 of it, with a declared
 * sample whose first solution rises 0.5 dB over the centre within 8
 * samples on both sides: the codec pulled it down inside a clipped run)
 * is clipped in every share and leaves as the shares' mean alone.  `inner`: a
 * state made with channels * shares channels (channel c's share j on
 * c * shares + j; its lanes solve them in parallel) and the same settings
 * as `first` without auto_threshold or hedge; it is fed with
 * rtd_process_given_double.  Neither state is owned: destroy them after
 * rtd_named_destroy; rtd_named_reset resets the chain's own rings only.
 * Latency: rtd_latency(first) + rtd_latency(inner) + 8 (a dip is decided
 * once the 8 samples after it are known).  Costs up to `shares`
 * more solves per frame of a smeared rail.  Real-time safe (rings made
 * here).  NULL on error with *error set (RTD_ERR_HEDGE: shares out of
 * 1..RTD_NAMED_MAX; RTD_ERR_CHANNELS: `first` without `channels`
 * channels or `inner` without channels * shares). */
typedef struct rtd_named rtd_named;
rtd_named *rtd_named_create(rtd_state *first, rtd_state *inner, int channels, int shares,
                            int *error);
/* The settings of `inner` for a first state made with `first` and `shares`
 * second-pass solves: first's, on first->channels * shares channels, fixed
 * levels, no hedge, each solve on rtd_named_inner_iterations of first's
 * budget, its frame grid half a hop from first's (grid_phase: the two
 * states' hops end in different blocks of up to hop / 2).  Writes *inner; RTD_OK, or RTD_ERR_CHANNELS beyond
 * RTD_CHANNELS_MAX channels (RTD_ERR_HEDGE: shares out of range). */
int rtd_named_inner_config(const rtd_config *first, int shares, rtd_config *inner);
/* A second-pass solve's iterations per frame for a first state's `n` (0:
 * converge): the hedge's share `hedge_budget` of it, rounded half to even,
 * at least 1 (average 2/3: 0.05 dB less than the whole on the lossy
 * benchmark's streams, a third less CPU). */
int rtd_named_inner_iterations(int n, double hedge_budget);
void rtd_named_destroy(rtd_named *ns);
void rtd_named_reset(rtd_named *ns);
void rtd_named_process_double(rtd_named *ns, const double *in, double *out, int frames);
void rtd_named_process_float(rtd_named *ns, const float *in, float *out, int frames);
int rtd_named_latency(const rtd_named *ns);
/* rtd_set_dc_restore for the chain's input, before both states (which
 * keep theirs off); rtd_named_reset zeroes m.  Real-time safe. */
void rtd_named_set_dc_restore(rtd_named *ns, double cutoff_hz, double sample_rate);
int rtd_named_dc_restore_tripped(const rtd_named *ns);

/* FFTW wisdom: load before rtd_create, save after.  Return 1 on success. */
int rtd_wisdom_load(const char *path);
int rtd_wisdom_save(const char *path);

const char *rtd_strerror(int error);

#ifdef __cplusplus
}
#endif
#endif /* RTDECLIP_H */
