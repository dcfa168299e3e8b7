"""The real-time presets' context options (issue 12, quality): past_final
(samples that left the stream are reliable context), lookahead, prior_weight
(a causal ranking prior from the previous frame), adapt_s (k's step by
the frame's reliable fraction) and second_solve (a second trajectory of
solutions on the iterations early-converging frames leave, averaged).  Each one does something, is off at its
neutral value, keeps the output consistent with the observation, and keeps
the stream independent of block sizes and thread counts."""
import numpy as np
import pytest

import rtdeclip

SR = 48000
LOWDELAY = dict(window=2048, hop=256, window_shape="lowdelay", synthesis_length=1024,
                redundancy=1, iterations=20, s=4, r=2, precision="double", lookahead=0,
                past_final=False, prior_weight=0.0, adapt_s=0.0, second_solve=0)


def clipped(channels=1, n=16000, level=0.4, seed=5):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / SR
    x = sum(rng.uniform(0.2, 0.5, channels) * np.sin(2 * np.pi * rng.uniform(100, 3000, channels)
                                                     * t + rng.uniform(0, 6, channels))
            for _ in range(4))
    x += 0.02 * rng.standard_normal(x.shape)
    x = x[:, 0] if channels == 1 else x
    return x, np.clip(x, -level, level)


def stream(y, blocks=(256,), channels=1, threads=1, **kw):
    d = rtdeclip.Declipper(SR, channels=channels, preset="average", threshold=0.4,
                           threads=threads, plan="estimate", **dict(LOWDELAY, **kw))
    out, i, k = [], 0, 0
    while i < len(y):
        m = blocks[k % len(blocks)]
        out.append(d.process(np.ascontiguousarray(y[i:i + m])))
        i, k = i + m, k + 1
    out.append(d.flush())
    return np.concatenate(out)[d.latency_samples:][:len(y)], d


OPTIONS = [dict(past_final=True), dict(lookahead=256), dict(prior_weight=0.3),
           dict(adapt_s=0.2)]


@pytest.mark.parametrize("opt", OPTIONS, ids=lambda o: next(iter(o)))
def test_option_changes_the_output_and_stays_consistent(opt):
    x, y = clipped()
    plain, _ = stream(y)
    out, d = stream(y, **opt)
    assert not np.array_equal(out, plain)
    reliable = np.abs(y) < 0.39   # (a level is given some tolerance: levels.py)
    assert np.array_equal(out[reliable], y[reliable])          # reliable samples untouched
    assert np.all(out[y >= 0.4] >= 0.4) and np.all(out[y <= -0.4] <= -0.4)
    assert rtdeclip.sdr(x, out) > rtdeclip.sdr(x, y) + 3          # and it declips
    assert d.latency_samples == LOWDELAY["synthesis_length"] - 2  # lookahead costs no latency


def test_neutral_values_are_plain_spade():
    _, y = clipped()
    plain, _ = stream(y)
    # adapt_s = 1: the reliable fraction never exceeds it, so k's step stays s
    assert np.array_equal(stream(y, adapt_s=1.0)[0], plain)


def test_block_sizes_and_threads_do_not_matter():
    _, y = clipped(channels=2)
    opts = dict(past_final=True, lookahead=256, prior_weight=0.3, adapt_s=0.4,
                precision="single")
    ref, _ = stream(y, channels=2, **opts)
    assert np.array_equal(ref, stream(y, blocks=(1, 700, 33, 4096), channels=2, **opts)[0])
    assert np.array_equal(ref, stream(y, blocks=(97,), channels=2, threads=2, **opts)[0])


def test_reset_forgets_the_past_and_the_prior():
    _, y = clipped()
    opts = dict(past_final=True, prior_weight=0.3)
    d = rtdeclip.Declipper(SR, preset="average", threshold=0.4, plan="estimate",
                           **dict(LOWDELAY, **opts))
    first = np.concatenate([d.process(y), d.flush()])
    d.reset()
    again = np.concatenate([d.process(y), d.flush()])
    assert np.array_equal(first, again)


@pytest.mark.parametrize("name,value", [("prior_weight", -1.0), ("prior_weight", float("nan")),
                                        ("adapt_s", -0.5), ("adapt_s", "x"),
                                        ("second_solve", -1), ("second_solve", 1.5),
                                        ("second_adapt_s", float("inf")),
                                        ("second_reliable", -0.1), ("second_reliable", 1.5),
                                        ("second_reliable", float("nan")),
                                        ("second_reliable", "x")])
def test_bad_values_are_refused(name, value):
    with pytest.raises(ValueError, match=name):
        rtdeclip.Declipper(SR, preset="average", plan="estimate", **{name: value})


def test_presets_stay_within_their_latency():
    for rate in (44100, 48000, 96000):
        assert rtdeclip.Declipper(rate, preset="average", plan="estimate").latency <= 0.050
        assert rtdeclip.Declipper(rate, preset="lowlatency", plan="estimate").latency <= 0.012


# epsilon 1: on this signal the frames converge, leaving iterations over
SECOND = dict(past_final=True, prior_weight=0.3, adapt_s=0.3, budget_pool=2, iterations=60,
              epsilon=1.0, precision="single", second_solve=1, second_adapt_s=0.6)


def test_second_trajectory_changes_the_output_and_stays_consistent():
    x, y = clipped()
    out, d = stream(y, **SECOND)
    one, d1 = stream(y, **dict(SECOND, second_solve=0))
    # the second solves ran, within each frame's allowance
    assert d.stats["iterations"] > d1.stats["iterations"]
    assert d.stats["max_frame_iterations"] <= 2 * SECOND["iterations"]
    assert not np.array_equal(out, one)
    reliable = np.abs(y) < 0.39
    assert np.array_equal(out[reliable], y[reliable])
    assert np.all(out[y >= 0.4] >= 0.4) and np.all(out[y <= -0.4] <= -0.4)
    assert rtdeclip.sdr(x, out) > rtdeclip.sdr(x, y) + 3


def test_second_solves_only_in_frames_reliable_enough():
    # the gate at 1: no frame with a clipped sample qualifies, so the
    # second trajectory copies the first in every frame and the mean is the
    # first trajectory's output, bit for bit, with its iterations
    x, y = clipped()
    one, d1 = stream(y, **dict(SECOND, second_solve=0))
    shut, ds = stream(y, **dict(SECOND, second_reliable=1.0))
    assert np.array_equal(one, shut)
    assert ds.stats["iterations"] == d1.stats["iterations"]
    # a gate between the frames' reliable shares: some second solves run,
    # fewer than ungated
    _, dall = stream(y, **SECOND)
    _, dhalf = stream(y, **dict(SECOND, second_reliable=0.75))
    assert d1.stats["iterations"] < dhalf.stats["iterations"] < dall.stats["iterations"]


def test_second_trajectory_is_block_size_and_thread_invariant():
    _, y = clipped(channels=2)
    ref, _ = stream(y, channels=2, **SECOND)
    assert np.array_equal(ref, stream(y, blocks=(1, 700, 33, 4096), channels=2, **SECOND)[0])
    assert np.array_equal(ref, stream(y, blocks=(97,), channels=2, threads=2, **SECOND)[0])


def test_second_trajectory_leaves_never_converging_frames_alone():
    # every frame spends its whole allowance: no second solve runs, and the
    # output and the iterations are the first trajectory's, bit for bit
    from rtdeclip import examples
    y = examples.never_converging(SR, 1.0, 0)[:, 0]
    runs = []
    for second in (0, 1):
        d = rtdeclip.Declipper(SR, preset="lowlatency", threshold=0.3, plan="estimate",
                               second_solve=second)
        out = np.concatenate([d.process(y), d.flush()])
        runs.append((out, d.stats["iterations"], d.stats["frames_converged"]))
    assert runs[0][2] == 0
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
