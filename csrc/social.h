/* social.h -- social-sparsity declipper on the whole signal's STFT (internal).
 *
 * Synthesis model x = D z on a Parseval tight STFT frame (periodic Hann
 * normalised so that sum_m g^2(n - m a) = 1, each frame zero-padded to
 * M = redundancy * w, unitary DFT, half spectrum stored), solved by FISTA on
 *
 *     min_z  1/2 || D z - P_C(D z) ||^2  +  social penalty(z)
 *
 * where P_C projects onto the signals consistent with the observation
 * (reliable samples equal to it, clipped ones beyond it): the gradient is
 * A (x - P_C x) with A = D^H and Lipschitz constant 1.  The proximal step is
 * the persistent empirical Wiener (PEW) shrinkage of Siedenburg, Kowalski
 * and Doerfler (ICASSP 2014):
 *
 *     z <- z * max(0, 1 - lambda^2 / mean_{N(z)} |z'|^2)
 *
 * over a box neighbourhood N of nf bins x nt frames, with lambda decreasing
 * geometrically from lambda_max to lambda_min in `levels` steps.
 *
 * Streaming.  The signal is cut into blocks of `block` samples (the core);
 * each is solved together with `margin` samples on either side, the frames
 * on a grid of absolute positions (multiples of the hop), and only its core
 * is kept.  A block whose core has no clipped sample passes through.  The
 * output differs from the input only on clipped samples, and those are
 * made consistent (no nearer zero than the observation).  Memory is
 * O(block + margin) per channel whatever the length of the stream. */
#ifndef RTD_SOCIAL_H
#define RTD_SOCIAL_H

#include "rtdeclip.h"

/* Defaults (cfg fields left at 0): block and margin in windows, iterations
 * per block. */
/* margin: 8 windows keep the output within 3e-7 (relative) of a single
 * block's (measured: 2 windows 5e-4, 4 windows 7e-5, 6 windows 1.5e-6) */
#define RTD_SOCIAL_BLOCK_WINDOWS 48
#define RTD_SOCIAL_MARGIN_WINDOWS 8
#define RTD_SOCIAL_ITERATIONS 500

typedef struct social_state social_state;

social_state *social_create(const rtd_config *cfg, int *error);
void social_destroy(social_state *so);
void social_reset(social_state *so);
void social_process(social_state *so, const void *in, void *out, int frames, int is_float);
int social_latency(const social_state *so);
void social_set_thresholds(social_state *so, int c, double pos, double neg);
void social_get_thresholds(const social_state *so, int c, double *pos, double *neg);
/* how channel c's auto levels were found (RTD_RAIL_*, smear.h) and the width */
void social_get_detection(const social_state *so, int c, int *method_pos, int *method_neg,
                          double *width_pos, double *width_neg);
void social_get_stats(const social_state *so, rtd_stats *s);
void social_set_codec(social_state *so, int family);   /* RTD_CODEC_* */
/* dc_restore.h on every channel's input and output (a: dc_restore_coef,
 * 0 off; pole: dc_restore_pole); zeroes m.  Real-time safe. */
void social_set_dc_restore(social_state *so, double a, double pole);
int social_dc_restore_tripped(const social_state *so);
void social_set_sample_rate(social_state *so, double rate);   /* Hz, 0: unknown */
void social_set_max_iterations(social_state *so, int n);
int social_get_max_iterations(const social_state *so);

/* Declip one whole signal of n samples in one block (no streaming, no
 * margins beyond the signal): for tests and benchmarks. */
int social_declip_block(social_state *so, const double *y, const int8_t *mask, int n,
                        double *x);

#endif
