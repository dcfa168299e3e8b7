"""The live host's overload policy, as a pure function of what the worker
sees before each block: no device, no declipper, no clock, so it is
unit-tested with made-up queues (tests/test_governor.py).

    gov = OverloadGovernor(budget=110, block=256, window=512, sample_rate=48000)
    gov.update(queued=900, frames_cut=0, hops=1)    # -> passes through?
    gov.time_limit, gov.iterations                  # what the worker applies

The policy, block by block:

- Deadline.  The device runs dry at the first callback after the queued
  output is played: queued / rate from now, plus the rest of the current
  period (the worker wakes at most a quarter period after a callback, so at
  least 3/4 of it; half is counted).  85 % of that goes to the solver, the
  rest to Python around the call.  While frames are being cut the deadline
  is capped at the processing window (max(block, hop)): a worker that spends
  whole deadlines hop after hop would run 100 % busy and underflow on the
  next jitter.  After a hop without cuts one hop may borrow past its length
  (a stall, a frame costlier than most).
- Budget.  Halved after a block in which frames were cut (``budget_cuts``),
  given back by a quarter per block while at least half a window is queued,
  never above the preset's.
- Pass-through.  With less than a quarter block queued the block is not
  solved at all (iterations 0, ``passthrough_blocks``); the budget it had
  is restored on the next block.
- Bypass.  Iterations 0 (the declipper keeps its delay, so A/B does not
  jump); nothing else changes.
- Hedge (``rtdeclip live --hedge N``: N solves per frame while a smeared
  rail is in use).  The first thing to go: a block with cuts turns it off
  (``hedge_drops``) instead of halving the budget; it comes back after
  HEDGE_WAIT seconds without cuts at the full budget, a wait that doubles
  at each drop (up to HEDGE_WAIT_MAX), so a machine that cannot afford it
  stops trying.  Only a hedge that solved in the cut block is dropped
  (``hedge_solves`` moved): on exact rails it costs nothing (the own
  hedge of fastest and average asks for it on every stream), so a cut there halves the budget
  as without a hedge.
"""

# share of the time left that the solver may take; the rest is Python's
SOLVER_SHARE = 0.85
# shortest limit ever set (seconds): a zero would mean "no limit" to the core
MIN_TIME_LIMIT = 1e-4
# seconds without cuts before a dropped hedge comes back; doubled per drop
HEDGE_WAIT, HEDGE_WAIT_MAX = 2.0, 64.0


class OverloadGovernor:
    """Time limit, iteration budget and pass-through for each block.

    ``budget``: the preset's iterations per frame; ``block``: frames per
    device period; ``window``: the processing window max(block, hop), in
    frames; ``sample_rate``: frames per second."""

    def __init__(self, budget, block, window, sample_rate, hedge=0):
        self.budget = budget            # the preset's, the most ever given
        self.hedge_asked = hedge        # the hedge asked for (0: none)
        self.hedge = hedge              # the hedge for the next call
        self.block, self.window, self.sample_rate = block, window, sample_rate
        # outputs, read by the worker after update()
        self.time_limit = None          # seconds for the next call; None: leave as is
        self.iterations = budget        # budget for the next call (0: pass through)
        self.passthrough = False
        # counters, reported in the host's stats
        self.budget_cuts = 0
        self.passthrough_blocks = 0
        self.hedge_drops = 0
        # memory between blocks
        self._hedge_wait = HEDGE_WAIT / 2  # seconds; doubled at each drop
        self._hedge_left = 0               # blocks until a dropped hedge returns
        self._saved = budget            # the budget before a pass-through
        self._cut_before = 0            # frames_cut seen at the last update
        self._solves_before = 0         # hedge_solves seen at the last update
        self._borrow = True             # the last hop was not cut: the next may run long

    def update(self, queued, frames_cut, hops, bypass=False, hedge_solves=None):
        """Decide for the next block.  ``queued``: output frames still
        queued for the device; ``frames_cut``: the declipper's count of
        frames cut by the time limit so far; ``hops``: hops the previous
        call completed; ``hedge_solves``: the declipper's count of the
        hedge's solves so far (None: take the hedge as solving).  Sets
        ``time_limit``, ``iterations`` and ``passthrough``; returns
        ``passthrough``."""
        self.passthrough = False
        if bypass:
            self.iterations = 0
            self.time_limit = None
            return False
        cut = frames_cut > self._cut_before
        if cut:
            self._borrow = False
        elif hops:
            self._borrow = True
        left = (max(0, queued) + self.block / 2) / self.sample_rate
        if not self._borrow:
            left = min(left, self.window / self.sample_rate)
        self.time_limit = max(MIN_TIME_LIMIT, SOLVER_SHARE * left)
        if self.iterations == 0:        # after a pass-through or bypass
            self.iterations = max(1, self._saved)
        hedging = self.hedge and (hedge_solves is None or hedge_solves > self._solves_before)
        if hedge_solves is not None:
            self._solves_before = hedge_solves
        if cut and hedging:
            # the hedge goes first, the budget stays
            self.hedge = 0
            self.hedge_drops += 1
            self._hedge_wait = min(HEDGE_WAIT_MAX, 2 * self._hedge_wait)
            self._hedge_left = int(self._hedge_wait * self.sample_rate / self.block)
        elif cut:
            if self.iterations > 1:
                self.iterations = max(1, self.iterations // 2)
                self.budget_cuts += 1
        elif queued >= self.window // 2 and self.iterations < self.budget:
            self.iterations = min(self.budget, self.iterations + max(1, self.iterations // 4))
        elif self.hedge != self.hedge_asked and self.iterations == self.budget:
            self._hedge_left -= 1
            if self._hedge_left <= 0:
                self.hedge = self.hedge_asked
        self._cut_before = frames_cut
        if queued < self.block // 4:
            self._saved = self.iterations
            self.iterations = 0
            self.passthrough_blocks += 1
            self.passthrough = True
        return self.passthrough
