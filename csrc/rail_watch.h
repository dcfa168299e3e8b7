/* rail_watch.h -- is the rail in use still the stream's? (internal)
 *
 * The online estimators (threshold.h, smear.h) remember the whole stream:
 * right for one recording, wrong for a playlist, a radio stream or a
 * monitored music player, where every track was clipped (or not) at a
 * level of its own.  Measured before this watch (docs/lossy.md, eighteenth
 * session): five tracks of stereo music clipped at 0.30 / 0.60 / 0.15 /
 * 0.70 / 0.35 and streamed one after the other through MP3 128k with
 * `average`: the second track lost 6.6 dB (the first track's hump, far
 * under its level, still stood, and every sample of the louder track
 * between the two was declared clipped), the fourth lost 3.1 dB, the third
 * and fifth gained nothing (the loudest rail so far never came back, and a
 * lower one was never looked for).  Uncoded, the same: -5.3 and -16.1 dB.
 *
 * The watch counts, per segment of RTD_RW_SEG samples, the samples that
 * pass the rail in use and those that reach it, and runs a second, fresh
 * pair of estimators (the shadow) while it has a doubt:
 *
 *  - passed: a segment contradicts a polarity's own rail (not one mirrored
 *    from the other polarity or lent by another channel) as soon as
 *    RTD_RW_MIN_OVER of its samples lie more than RTD_SM_TOP_DB over the
 *    rail's centre, more than RTD_RW_OVER_RATIO times as many as reached
 *    the rail (at or over the declared level, up to that bound).  An exact
 *    rail is never passed, and a codec's overshoots (a few drum hits) stay
 *    far fewer than the samples in its hump.  The first such segment
 *    starts the shadow; at RTD_RW_CONTRA running it replaces the
 *    estimators, whether it holds a rail yet or not (none is better than
 *    one the signal keeps passing).  A segment that does not contradict
 *    drops a shadow started this way.
 *  - idle: RTD_RW_IDLE samples running without one at or beyond a rail in
 *    use start the shadow (again every RTD_RW_IDLE samples while it holds
 *    no exact rail, so it does not keep the old track's tail as its
 *    extreme).  It replaces the estimators at once when it holds an exact
 *    rail (RTD_SM_SURE_HITS returns, above RTD_RW_FLOOR) more than
 *    RTD_RW_LOWER_DB under the one in use on that polarity, or a narrow
 *    smeared one (rail_watch_shadow_smeared), and in any case after
 *    RTD_RW_FORGET samples of idling.  Reaching the rail in use drops it.
 *  - bare: RTD_RW_BARE_AFTER samples running with no rail in use at all
 *    (RTD_RW_BARE_AGAIN once a rail has been in use) start the shadow
 *    too (again every RTD_RW_IDLE samples while it holds nothing, and
 *    after RTD_RW_FORGET samples in any case).  It replaces
 *    the estimators when it holds an exact rail or a narrow smeared one,
 *    as an idle shadow does.  The estimators remember the stream's
 *    loudest sample: after a louder recording that was not clipped, the
 *    next one's exact rail never reached it (no exact rail was found) and
 *    its samples piled up under it were taken for a codec's hump, 2.95 dB
 *    wide, found 5 s late.  An unclipped 30 s track then a clipped one
 *    (0.5, uncoded): the file gained 3.46 dB on the clipped track (19.77
 *    alone) and the unclipped track was changed (its SDR 31.5 dB).
 *  - higher: a louder track within RTD_SM_TOP_DB of the rail in use never
 *    passes it; segments whose samples more than RTD_RW_HIGH_DB over the
 *    centre are many (RTD_RW_HIGH_RATIO of those at the rail) start the
 *    shadow, which replaces the estimators as soon as it holds a rail more
 *    than RTD_RW_HIGH_MIN_DB, and RTD_RW_HIGH_APART times the width of the
 *    rail in use, above the higher of the channel's two rails
 *    (docs/lossy.md, twenty-second and twenty-third sessions: 75 gapless
 *    playlist tracks 563 -> 668 dB summed, with gaps 589 -> 698; through
 *    Opus the codec's overshoot starts it too, and without those margins a
 *    young estimate of the same rail switched a 30 s clarinet stream,
 *    -1.37 dB).
 *  - a switch on one channel restarts the others too (rail_watch_together):
 *    a new track starts on every channel at once.
 *
 * One recording's rail is neither passed nor left idle for long while the
 * recording is clipped, so streams of one clip behave as before, bit for
 * bit: the lossy benchmark's 288 stream cells, none switching.  On full
 * SQAM excerpts and 30 s clips (every excerpt and clip at input SDR 3, 10,
 * 20, uncoded and through MP3, AAC, Opus: 156 streams) 15 switches in 6
 * (quiet passages longer than RTD_RW_FORGET, a narrow hump in one),
 * summed over the 156 +0.40 dB with `fastest` and -0.23 dB with `average`,
 * the worst stream -0.10 / -0.17 dB (glockenspiel through MP3 at 20).  The shadow decides nothing
 * until it replaces the estimators.  Nothing allocates and
 * nothing waits: the shadow lives in the channel, and a switch copies it
 * once (about 13 kB). */
#ifndef RTD_RAIL_WATCH_H
#define RTD_RAIL_WATCH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smear.h"
#include "threshold.h"

#define RTD_RW_SEG 2048        /* samples per segment (43 ms at 48 kHz)      */
#define RTD_RW_MIN_OVER 64     /* passing samples that make a segment count  */
#define RTD_RW_OVER_RATIO 2.0  /* ... and times those that reached the rail  */
#define RTD_RW_CONTRA 2        /* contradicting segments running: switch     */
#define RTD_RW_IDLE 8192       /* samples without reaching the rail (0.17 s at
                                  48 kHz): start looking for a lower one     */
#define RTD_RW_LOWER_DB 1.0    /* how far under the rail in use a new exact
                                  one must lie to replace it at once        */
#define RTD_RW_FLOOR 0.0316    /* -30 dBFS: no clipper's level lies lower (a
                                  fade's dither repeats its last code)      */
#define RTD_RW_FORGET (1 << 18)/* samples without reaching the rail (5.5 s at
                                  48 kHz): the shadow replaces it, found a
                                  rail or not                               */
#define RTD_RW_BARE_AFTER (1 << 17) /* samples with no rail in use (2.7 s at
                                  48 kHz) before a shadow looks for one: a
                                  stream's own start is left to the
                                  estimators                                */
#define RTD_RW_BARE_AGAIN (1 << 15) /* ... once a rail has been in use (0.68 s):
                                  a track after one whose rails went (a
                                  Vorbis q4 album's 0.35 track after the
                                  0.70 one waited 2.7 s: 3.97 dB, 7.48 now,
                                  8.36 alone)                               */

/* A louder track clipped less than RTD_SM_TOP_DB over the rail in use
 * never passes it; the samples it lifts more than RTD_RW_HIGH_DB over the
 * centre, at least RTD_RW_MIN_OVER in a segment and over RTD_RW_HIGH_RATIO
 * of those at the rail, start a shadow that replaces the estimators as
 * soon as it holds a rail above the higher of the channel's two rails in
 * use by RTD_RW_HIGH_MIN_DB and by RTD_RW_HIGH_APART times their width. */
#define RTD_RW_HIGH_DB 1.0
#define RTD_RW_HIGH_RATIO 0.3
#define RTD_RW_HIGH_CALM 16    /* segments without: the shadow stops (0.7 s)  */
#define RTD_RW_HIGH_MIN_DB 1.5 /* ... more than this over the one in use       */
#define RTD_RW_HIGH_APART 0.5  /* ... and more than this times its width       */

enum { RTD_RW_OFF = 0, RTD_RW_PASSED = 1, RTD_RW_IDLED = 2, RTD_RW_BARE = 3, RTD_RW_HIGHER = 4 };

typedef struct {
    double decl[2];     /* levels in use (magnitudes; HUGE_VAL: none)        */
    double centre[2];   /* their rails' centres (HUGE_VAL: none)             */
    double over_lv[2];  /* RTD_SM_TOP_DB over the centre of a polarity's own
                           rail (HUGE_VAL: none, or mirrored or lent)       */
    double high_lv[2];  /* RTD_RW_HIGH_DB over it (HUGE_VAL: as over_lv)    */
    double width[2];    /* dB from the centre down to the level in use       */
    int64_t over[2], near[2], high[2];  /* this segment's counts per polarity */
    int seg;            /* samples into the segment                         */
    int contra;         /* contradicting segments running                   */
    int calm;           /* segments running without a higher rail's samples  */
    int64_t idle;       /* samples since one reached a rail in use          */
    int64_t bare;       /* samples running with no rail in use              */
    int64_t age;        /* samples the shadow has taken since it started    */
    int shadow;         /* RTD_RW_OFF / PASSED / IDLED / BARE: why it runs   */
    clip_estimator est; /* the shadow: fresh estimators                      */
    smear_estimator sm;
    int64_t switches;   /* times the estimators started afresh               */
    int had_rail;       /* a rail has been in use since the stream began      */
    int switched;       /* set by a switch; the caller clears it             */
} rail_watch;

static inline void rail_watch_reset(rail_watch *w)
{
    memset(w, 0, sizeof *w);
    for (int side = 0; side < 2; side++)
        w->decl[side] = w->centre[side] = w->over_lv[side] = w->high_lv[side] = HUGE_VAL;
    clip_estimator_reset(&w->est);
    smear_reset(&w->sm);
}

/* The levels in use (after every channel's and the codec family's steps),
 * once per block of samples: pos/neg as the solver gets them, width the dB
 * from each rail's centre down to them (0 for an exact rail). */
static inline void rail_watch_levels(rail_watch *w, double pos, double neg, const double width[2],
                                     const int method[2], const smear_estimator *sm)
{
    const double lv[2] = {pos, -neg};
    for (int side = 0; side < 2; side++) {
        /* only a polarity's own rail can be passed: one taken from the
         * other polarity (smear_mirror) or another channel (smear_adopt)
         * is a guess an asymmetric clipper passes all the time (speech
         * through Opus at input SDR 3 switched, losing 5.4 dB) */
        int own = method[side] == RTD_RAIL_EXACT ||
                  (method[side] != RTD_RAIL_NONE && sm->found[side] == method[side] &&
                   !sm->mirrored[side]);
        if (isfinite(lv[side]) && lv[side] > 0.0) {
            w->decl[side] = lv[side];
            w->centre[side] = lv[side] * pow(10.0, width[side] / 20.0);
            w->width[side] = width[side];
            w->over_lv[side] = own ? w->centre[side] * pow(10.0, RTD_SM_TOP_DB / 20.0) : HUGE_VAL;
            w->high_lv[side] = own ? w->centre[side] * pow(10.0, RTD_RW_HIGH_DB / 20.0) : HUGE_VAL;
        } else {
            w->decl[side] = w->centre[side] = w->over_lv[side] = w->high_lv[side] = HUGE_VAL;
        }
    }
}

static inline void rail_watch_start(rail_watch *w, int why)
{
    clip_estimator_reset(&w->est);
    smear_reset(&w->sm);
    w->shadow = why;
    w->age = 0;
}

/* The shadow's exact rail on `side` (magnitude), or 0 when it holds none it
 * is sure of (RTD_SM_SURE_HITS returns, above the floor). */
static inline double rail_watch_shadow_rail(const rail_watch *w, int side)
{
    if (w->est.hits[side] >= RTD_SM_SURE_HITS && w->est.peak[side] >= RTD_RW_FLOOR)
        return w->est.peak[side];
    return 0.0;
}

/* The shadow's smeared rail on `side` as a centre, or 0: one found at
 * RTD_SM_HOLD_AFTER evaluations running, after RTD_RW_SMEARED_AFTER x
 * RTD_RW_IDLE samples of idling, narrow (width <= RTD_RW_MAX_WIDTH_DB, 68 %
 * of its top within RTD_RW_MAX_SPREAD_DB of its centre), above the floor
 * and at most RTD_RW_MAX_DROP_DB under the rail in use (`now`).  Measured
 * on full SQAM excerpts and 30 s clips, every codec, input SDR 3-20 (the
 * humps a fresh histogram finds in a bell's decay: width 2.7-2.95 dB,
 * spread 0.5-1.0 dB, 10-15 dB down, and switching to them cost up to 2 dB)
 * and on a playlist's quieter clipped tracks through MP3 and Opus (width
 * 0.85-2.0 dB, spread 0.12-0.33 dB, 6-12 dB down). */
#define RTD_RW_SMEARED_AFTER 4
#define RTD_RW_MAX_WIDTH_DB 2.5
#define RTD_RW_MAX_SPREAD_DB 0.4
#define RTD_RW_MAX_DROP_DB 14.0
static inline double rail_watch_shadow_smeared(const rail_watch *w, int side, double now)
{
    /* idling for as long, or (a bare shadow, restarted while it holds
     * nothing) the shadow as old */
    const int64_t ran = w->shadow == RTD_RW_BARE || w->shadow == RTD_RW_HIGHER ? w->age : w->idle;
    /* a higher shadow was started by the louder samples themselves: it
     * needs no idling first (waiting as long, 0.68 s at 48 kHz, the louder
     * track's samples between the two rails stayed declared clipped:
     * -10 to -20 dB in its first 0.3 s) */
    const int64_t after = w->shadow == RTD_RW_HIGHER ? 0 : RTD_RW_SMEARED_AFTER * RTD_RW_IDLE;
    if (w->sm.found[side] == RTD_RAIL_NONE || w->sm.seen[side] < RTD_SM_HOLD_AFTER ||
        ran < after || w->sm.width[side] > RTD_RW_MAX_WIDTH_DB ||
        w->sm.spread[side] > RTD_RW_MAX_SPREAD_DB)
        return 0.0;
    double c = w->sm.level[side] * pow(10.0, w->sm.width[side] / 20.0);
    return c >= RTD_RW_FLOOR && c >= now * pow(10.0, -RTD_RW_MAX_DROP_DB / 20.0) ? c : 0.0;
}

/* The shadow holds no rail on either polarity, exact or smeared. */
static inline int rail_watch_holds_nothing(const rail_watch *w)
{
    return !(rail_watch_shadow_rail(w, 0) > 0.0) && !(rail_watch_shadow_rail(w, 1) > 0.0) &&
           w->sm.found[0] == RTD_RAIL_NONE && w->sm.found[1] == RTD_RAIL_NONE;
}

/* Replace the channel's estimators with the shadow's. */
static inline void rail_watch_switch(rail_watch *w, clip_estimator *est, smear_estimator *sm)
{
    *est = w->est;
    memcpy(sm, &w->sm, sizeof *sm);
    w->shadow = RTD_RW_OFF;
    w->contra = 0;
    w->idle = 0;
    w->bare = 0;
    w->switches++;
    w->switched = 1;
}

/* Another channel of the stream switched: a new track starts on every
 * channel at once, so this one starts afresh too, from its shadow if it
 * runs one (it has the newest samples), else from nothing.  Without it the
 * channel still holding the old track's rail lent it to the one that had
 * switched (smear_adopt_across): the louder track lost 1.8 dB instead of
 * gaining. */
static inline void rail_watch_follow(rail_watch *w, clip_estimator *est, smear_estimator *sm)
{
    if (w->shadow == RTD_RW_OFF) {
        clip_estimator_reset(&w->est);
        smear_reset(&w->sm);
    } else if (!(rail_watch_shadow_rail(w, 0) > 0.0) && !(rail_watch_shadow_rail(w, 1) > 0.0)) {
        /* a shadow sure of no exact rail may keep the old track's loudest
         * sample from its start, and the new track's exact rail would
         * never reach it */
        clip_estimator_reset(&w->est);
    }
    rail_watch_switch(w, est, sm);
}

/* Once per block of samples, after every channel took its samples: when
 * one switched, the others follow (rail_watch_follow).  `first` is channel
 * 0's watch, `stride` the bytes between channels' watches and estimators
 * (est and sm at the given byte offsets from the watch).  Returns 1 when
 * the estimators of any channel changed (levels must be taken again). */
static inline int rail_watch_together(char *first, size_t stride, int channels,
                                      ptrdiff_t est_off, ptrdiff_t sm_off)
{
    int any = 0;
    for (int c = 0; c < channels; c++) any |= ((rail_watch *)(first + c * stride))->switched;
    if (!any) return 0;
    for (int c = 0; c < channels; c++) {
        char *base = first + c * stride;
        rail_watch *w = (rail_watch *)base;
        if (!w->switched)
            rail_watch_follow(w, (clip_estimator *)(base + est_off), (smear_estimator *)(base + sm_off));
    }
    for (int c = 0; c < channels; c++) ((rail_watch *)(first + c * stride))->switched = 0;
    return 1;
}

/* One sample y (finite), after the channel's own estimators took it. */
static inline void rail_watch_push(rail_watch *w, clip_estimator *est, smear_estimator *sm,
                                   double y, int64_t *scratch)
{
    const int side = y < 0.0;
    const double m = side ? -y : y;
    const int in_use = w->decl[0] < HUGE_VAL || w->decl[1] < HUGE_VAL;
    if (!in_use) {
        /* idling is counted on a rail in use, without a break: a rail
         * learnt again after none must not inherit an old count (and be
         * forgotten at once) */
        w->idle = 0;
        if (w->shadow == RTD_RW_IDLED) w->shadow = RTD_RW_OFF;
        if (++w->bare >= (w->had_rail ? RTD_RW_BARE_AGAIN : RTD_RW_BARE_AFTER) &&
            (w->shadow == RTD_RW_OFF || (
                w->shadow == RTD_RW_BARE && w->age > 0 && (w->age >= RTD_RW_FORGET || (
                    w->age % RTD_RW_IDLE == 0 && rail_watch_holds_nothing(w))))))
            /* restarted while it holds nothing, as an idle shadow, so
             * its loudest sample is the newest recording's */
            rail_watch_start(w, RTD_RW_BARE);
    } else {
        w->bare = 0;
        w->had_rail = 1;
        if (w->shadow == RTD_RW_BARE) w->shadow = RTD_RW_OFF;
    }
    if (w->shadow != RTD_RW_OFF) {
        clip_estimator_push(&w->est, y);
        smear_push(&w->sm, y, scratch);
        w->age++;
    }
    int passed = 0;
    if (m > w->over_lv[side]) {
        /* a segment contradicts as soon as it has the passing samples to:
         * a louder track would otherwise be declared clipped between the
         * two levels for a segment or two */
        passed = ++w->over[side] >= RTD_RW_MIN_OVER &&
                 (double)w->over[side] > RTD_RW_OVER_RATIO * (double)w->near[side];
        w->idle = 0;
    } else if (m >= w->decl[side]) {
        w->near[side]++;
        if (m > w->high_lv[side]) w->high[side]++;
        w->idle = 0;
        if (w->shadow == RTD_RW_IDLED) w->shadow = RTD_RW_OFF;
    } else if (in_use && ++w->idle >= RTD_RW_IDLE) {
        if (w->shadow == RTD_RW_IDLED && w->idle >= RTD_RW_FORGET) {
            rail_watch_switch(w, est, sm);
            return;
        }
        /* (re)start every RTD_RW_IDLE samples while it holds nothing: a
         * shadow started in the old track's tail keeps one of its peaks as
         * its extreme, and the new track's lower rail never becomes it */
        if (w->shadow == RTD_RW_OFF ||
            (w->shadow == RTD_RW_IDLED && w->idle % RTD_RW_IDLE == 0 &&
             rail_watch_holds_nothing(w)))
            rail_watch_start(w, RTD_RW_IDLED);
    }
    if (++w->seg < RTD_RW_SEG && !passed) return;
    /* the end of a segment */
    w->seg = 0;
    int high = 0;
    for (int s = 0; s < 2; s++)
        high |= w->high[s] >= RTD_RW_MIN_OVER &&
                (double)w->high[s] > RTD_RW_HIGH_RATIO * (double)w->near[s];
    w->over[0] = w->over[1] = w->near[0] = w->near[1] = w->high[0] = w->high[1] = 0;
    if (passed) {
        if (w->shadow == RTD_RW_OFF) rail_watch_start(w, RTD_RW_PASSED);
        if (++w->contra >= RTD_RW_CONTRA) rail_watch_switch(w, est, sm);
        return;
    }
    w->contra = 0;
    if (w->shadow == RTD_RW_PASSED) w->shadow = RTD_RW_OFF;
    if (w->shadow == RTD_RW_HIGHER || (high && w->shadow == RTD_RW_OFF)) {
        w->calm = high ? 0 : w->calm + 1;
        if (w->calm >= RTD_RW_HIGH_CALM) {
            w->shadow = RTD_RW_OFF;
            return;
        }
        if (w->shadow == RTD_RW_OFF) rail_watch_start(w, RTD_RW_HIGHER);
        for (int s = 0; s < 2; s++) {
            double now = w->centre[s];
            /* a louder track lifts both polarities: its rail must lie
             * above the higher of the two in use (two estimates of one
             * clipper's level; the lower one of a single Opus recording,
             * 0.67 dB under its level, let the shadow's estimate 0.92 dB
             * over it switch) */
            if (now < HUGE_VAL && w->centre[1 - s] < HUGE_VAL) now = fmax(now, w->centre[1 - s]);
            double found = rail_watch_shadow_rail(w, s);
            if (!(found > 0.0)) found = rail_watch_shadow_smeared(w, s, 0.0);
            /* two estimates of one smeared rail lie up to half its
             * width apart, and a young one up to 1.41 dB (through Opus the
             * shadow's first estimates sat 1.13-1.41 dB over the rail in
             * use, 1.6-2.95 dB wide, at input SDR 3-10); a louder track's
             * lay 1.78-4.8 dB over it */
            double apart = fmax(RTD_RW_HIGH_MIN_DB, RTD_RW_HIGH_APART * w->width[s]);
            if (now < HUGE_VAL && found > now * pow(10.0, apart / 20.0)) {
                rail_watch_switch(w, est, sm);
                return;
            }
        }
        return;
    }
    if (w->shadow == RTD_RW_BARE) {
        /* any rail beats none */
        for (int s = 0; s < 2; s++)
            if (rail_watch_shadow_rail(w, s) > 0.0 || rail_watch_shadow_smeared(w, s, 0.0) > 0.0) {
                rail_watch_switch(w, est, sm);
                return;
            }
        return;
    }
    if (w->shadow != RTD_RW_IDLED) return;
    for (int s = 0; s < 2; s++) {
        /* the rail in use, own or not (a lent one's centre is known too) */
        double now = w->centre[s] < HUGE_VAL ? w->centre[s] : 0.0;
        double found = rail_watch_shadow_rail(w, s);
        if (!(found > 0.0)) found = rail_watch_shadow_smeared(w, s, now);
        if (now > 0.0 && found > 0.0 && found < now * pow(10.0, -RTD_RW_LOWER_DB / 20.0)) {
            rail_watch_switch(w, est, sm);
            return;
        }
    }
}

#endif
