/* limiter.h -- look-ahead peak limiter for the plug-ins' output, the C
 * counterpart of rtdeclip/live/limiter.py (same design and defaults:
 * 1.5 ms look-ahead, 8 ms hold, channels linked).
 *
 * The gain for output sample n is the mean over the last L samples of the
 * minimum, over the last W >= L samples, of the gain each input sample
 * needs (ceiling / peak over channels, at most 1).  The audio is delayed
 * by L - 1 samples, so every peak lies inside all L minima averaged for
 * it and the output never exceeds the ceiling (a final clip catches float
 * rounding).  Everything is made in rtdl_create; rtdl_process never
 * allocates, and costs O(channels) per sample (a monotonic queue for the
 * running minimum, a running sum for the mean). */
#ifndef RTD_LIMITER_H
#define RTD_LIMITER_H

typedef struct rtd_limiter rtd_limiter;

/* NULL if out of memory. */
rtd_limiter *rtdl_create(double sample_rate, int channels);
void rtdl_destroy(rtd_limiter *l);
void rtdl_reset(rtd_limiter *l);
/* Delay of the output, in samples (L - 1), whether limiting or not. */
int rtdl_latency(const rtd_limiter *l);
/* Interleaved x (frames x channels), in place: delayed by rtdl_latency();
 * when `on`, limited to `ceiling` (linear, > 0).  The gain is tracked
 * either way, so switching it on acts at once. */
void rtdl_process(rtd_limiter *l, float *x, int frames, int on, double ceiling);

#endif
