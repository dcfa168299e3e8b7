"""The live host's overload policy without a device (issue 14, point 1):
deadlines from the queued output, the budget halved after cuts and given
back, pass-through when the device is about to run dry, bypass."""
import pytest

from rtdeclip.live.governor import MIN_TIME_LIMIT, SOLVER_SHARE, OverloadGovernor

SR, BLOCK, HOP, BUDGET = 48000, 256, 512, 110
WINDOW = max(BLOCK, HOP)


def governor():
    return OverloadGovernor(BUDGET, BLOCK, WINDOW, SR)


def test_on_time_the_deadline_is_the_queue_and_the_budget_stays():
    g = governor()
    for _ in range(10):
        assert g.update(queued=768, frames_cut=0, hops=1) is False
        assert g.iterations == BUDGET
        assert g.time_limit == pytest.approx(SOLVER_SHARE * (768 + BLOCK / 2) / SR)
    assert g.budget_cuts == g.passthrough_blocks == 0


def test_a_cut_halves_the_budget_and_caps_the_deadline_at_the_window():
    g = governor()
    g.update(queued=4096, frames_cut=0, hops=1)
    g.update(queued=4096, frames_cut=2, hops=1)          # frames were cut in the last call
    assert g.iterations == BUDGET // 2 and g.budget_cuts == 1
    assert g.time_limit == pytest.approx(SOLVER_SHARE * WINDOW / SR)   # not the whole queue
    g.update(queued=4096, frames_cut=5, hops=1)          # cut again
    assert g.iterations == BUDGET // 4 and g.budget_cuts == 2
    g.update(queued=4096, frames_cut=5, hops=0)          # no cut, but no hop completed either
    assert g.time_limit == pytest.approx(SOLVER_SHARE * WINDOW / SR)
    g.update(queued=4096, frames_cut=5, hops=1)          # a whole hop without cuts: may borrow
    assert g.time_limit == pytest.approx(SOLVER_SHARE * (4096 + BLOCK / 2) / SR)


def test_the_budget_comes_back_by_quarters_and_never_above_the_preset():
    g = governor()
    cut = 0
    for _ in range(6):                                   # a long overload: down to 1
        cut += 1
        g.update(queued=1024, frames_cut=cut, hops=1)
    assert g.iterations == 1
    seen = []
    for _ in range(40):
        g.update(queued=WINDOW // 2, frames_cut=cut, hops=1)
        seen.append(g.iterations)
    assert seen == sorted(seen) and seen[-1] == BUDGET   # monotonic, back to the preset
    assert all(b <= a + max(1, a // 4) for a, b in zip([1] + seen, seen))
    g.update(queued=WINDOW // 2 - 1, frames_cut=cut, hops=1)   # too little queued to grow
    assert g.iterations == BUDGET


def test_no_growth_while_the_queue_is_short():
    g = governor()
    g.update(queued=1024, frames_cut=1, hops=1)
    low = g.iterations
    for _ in range(5):
        g.update(queued=WINDOW // 2 - 1, frames_cut=1, hops=1)
    assert g.iterations == low


def test_pass_through_when_almost_nothing_is_queued_then_the_budget_returns():
    g = governor()
    g.update(queued=1024, frames_cut=1, hops=1)          # budget halved: 55
    assert g.update(queued=BLOCK // 4 - 1, frames_cut=1, hops=1) is True
    assert g.iterations == 0 and g.passthrough and g.passthrough_blocks == 1
    assert g.update(queued=200, frames_cut=1, hops=1) is False   # too short to grow
    assert g.iterations == BUDGET // 2                    # the budget it had, not the preset's
    assert g.update(queued=BLOCK // 4, frames_cut=1, hops=1) is False   # a quarter block is enough


def test_bypass_solves_nothing_and_forgets_nothing():
    g = governor()
    g.update(queued=1024, frames_cut=0, hops=1)
    assert g.update(queued=0, frames_cut=3, hops=1, bypass=True) is False
    assert g.iterations == 0 and g.time_limit is None and g.passthrough_blocks == 0
    g.update(queued=1024, frames_cut=3, hops=1)          # the cuts are seen after the bypass
    assert g.iterations == BUDGET // 2 and g.budget_cuts == 1


def test_the_deadline_never_reaches_zero():
    g = governor()
    g.update(queued=-50, frames_cut=0, hops=1)   # a device that ran dry reports nothing queued
    assert g.time_limit >= MIN_TIME_LIMIT


def test_closed_loop_overload_never_runs_dry_and_recovers():
    """A model of the worker: a frame costs `cost` seconds per iteration
    and the solver stops at the deadline (cutting the frame).  Every period
    the device plays a block; the worker falls behind by what a block costs
    beyond a period and catches up when it costs less.  Under an overload
    (a frame's full budget takes 1.5 hops) the output queue must never run
    dry, and once the overload ends the budget must come back."""
    g = governor()
    margin = BLOCK + WINDOW                  # what the host queues up front
    lag, cut, period = 0.0, 0, BLOCK / SR
    for k in range(4000):
        overloaded = k < 2000
        cost = (1.5 if overloaded else 0.3) * (HOP / SR) / BUDGET
        n0 = k * BLOCK
        hops = (n0 + BLOCK) // HOP - n0 // HOP
        g.update(int(margin - lag), cut, hops)
        need = hops * g.iterations * cost
        spent = min(need, g.time_limit)
        if need > g.time_limit:
            cut += hops
        lag = max(0.0, lag + (spent + 0.1 * period - period) * SR)   # 10 % for Python
        assert margin - lag > 0, (k, g.iterations, g.time_limit, lag)
    assert g.budget_cuts > 0
    assert g.iterations == BUDGET


def test_a_cut_drops_the_hedge_before_the_budget_and_it_comes_back_later():
    from rtdeclip.live.governor import HEDGE_WAIT, HEDGE_WAIT_MAX
    g = OverloadGovernor(BUDGET, BLOCK, WINDOW, SR, hedge=5)
    g.update(queued=4096, frames_cut=0, hops=1)
    assert g.hedge == 5 and g.iterations == BUDGET
    g.update(queued=4096, frames_cut=1, hops=1)          # cut: the hedge goes, the budget stays
    assert g.hedge == 0 and g.hedge_drops == 1 and g.iterations == BUDGET
    g.update(queued=4096, frames_cut=2, hops=1)          # cut again: now the budget
    assert g.hedge == 0 and g.iterations == BUDGET // 2 and g.budget_cuts == 1
    blocks = 0
    while g.hedge == 0:                                  # no more cuts
        g.update(queued=4096, frames_cut=2, hops=1)
        blocks += 1
        assert blocks < 10 * SR / BLOCK
    # the budget came back first, then the hedge after HEDGE_WAIT seconds
    assert g.iterations == BUDGET and g.hedge == 5
    assert blocks >= HEDGE_WAIT * SR / BLOCK
    # each drop doubles the wait, up to HEDGE_WAIT_MAX
    waits = []
    cuts = 2
    for _ in range(8):
        cuts += 1
        g.update(queued=4096, frames_cut=cuts, hops=1)
        assert g.hedge == 0
        n = 0
        while g.hedge == 0:
            g.update(queued=4096, frames_cut=cuts, hops=1)
            n += 1
        waits.append(n)
    assert waits[1] > 1.9 * waits[0] and max(waits) <= HEDGE_WAIT_MAX * SR / BLOCK + 1
    assert g.hedge_drops == 9


def test_a_hedge_that_did_not_solve_is_not_what_a_cut_drops():
    """fastest asks for its hedge of 2 on every stream, but on exact rails
    it solves nothing: a cut there halves the budget as without a hedge;
    once the hedge solves, a cut drops it first."""
    g = OverloadGovernor(BUDGET, BLOCK, WINDOW, SR, hedge=2)
    g.update(queued=4096, frames_cut=0, hops=1, hedge_solves=0)
    g.update(queued=4096, frames_cut=1, hops=1, hedge_solves=0)     # cut, no hedge solve
    assert g.hedge == 2 and g.hedge_drops == 0
    assert g.iterations == BUDGET // 2 and g.budget_cuts == 1
    while g.iterations < BUDGET:                                     # no more cuts
        g.update(queued=4096, frames_cut=1, hops=1, hedge_solves=0)
    g.update(queued=4096, frames_cut=1, hops=1, hedge_solves=3)     # a smeared rail: it solves
    g.update(queued=4096, frames_cut=2, hops=1, hedge_solves=5)     # cut while solving
    assert g.hedge == 0 and g.hedge_drops == 1
    assert g.iterations == BUDGET and g.budget_cuts == 1


def test_no_hedge_asked_no_hedge_given():
    g = governor()
    for cut in range(5):
        g.update(queued=4096, frames_cut=cut, hops=1)
        assert g.hedge == 0
    assert g.hedge_drops == 0
