r"""The discrete-event engine: a virtual clock, a heap and the run loop.

Rules (each one is why the same seed gives the same logs, byte for byte)
-----------------------------------------------------------------------
* One thread, one virtual clock in integer microseconds, one heap keyed
  ``(time, priority, sequence)``; ties at the same instant are broken by the
  priority (0: a heartbeat, delivered before a VRRP advert sent at the same
  instant; 1: everything else; 2: an injected fault, last at its instant) and
  then by insertion order, never by object identity.
* Randomness comes only from :class:`Stream`\ s, one per subsystem (the
  network, the VIP's notify FIFO, plan-step durations and failures, clients,
  the nemesis, each simulated service), each a ``random.Random`` seeded from
  the run seed and the subsystem's name: a draw added in one subsystem never
  reshuffles another's.
* Nothing hangs: a run has an event budget and a wall-time budget
  (:meth:`Engine.set_budgets`). When one runs out the loop stops, the run is
  marked :attr:`Engine.stuck` and every later ``run_until`` returns at once;
  the simulation reports it as a violation (a livelock burns events while every
  safety invariant holds). The event budget is deterministic, so a replay with
  the same budget stops at the same event; the wall budget is the backstop for
  a run whose events are slow, not many, and depends on the machine.

An event is a callable and its argument; the callable runs with ``now`` set to
the event's time. Handlers check by themselves whether the event is stale (a
node that crashed since, a cancelled timer).
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class Stream:
    """One subsystem's random numbers, derived from the run seed and its name
    (a ``str`` seed is hashed with SHA-512 by ``random``: the same in every
    process, whatever ``PYTHONHASHSEED``)."""

    __slots__ = ("bits", "random")

    def __init__(self, seed: int, name: str) -> None:
        self.random = random.Random(f"{seed}/{name}")
        self.bits = self.random.getrandbits

    def draw(self, lo: int, hi: int) -> int:
        """``randint(lo, hi)``, drawn exactly as it draws (``lo`` plus
        ``getrandbits(k)`` retried until below the width), without its argument
        checks: the same numbers, a third of the cost on the hot paths."""
        width = hi - lo + 1
        k = width.bit_length()
        bits = self.bits
        r = bits(k)
        while r >= width:
            r = bits(k)
        return lo + r

    def chance(self, p: float) -> bool:
        return self.random.random() < p


class Engine:
    """Clock, heap and run loop; the simulation's parts add the world."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.now = 0
        self._seq = itertools.count(1)  # insertion order breaks ties
        self.heap: list[tuple[int, int, int, Handler, Any]] = []
        self.events = 0
        self.event_budget: int | None = None  # events this run may process in all
        self.wall_budget_s: float | None = None
        self._wall_deadline: float | None = None  # time.perf_counter() value
        self.stuck = ""  # why the budget stopped the run ("" while it has not)

    def set_budgets(self, events: int | None, wall_s: float | None) -> None:
        """Limit the run to ``events`` events in all and ``wall_s`` seconds of wall
        time from its next ``run_until`` on (None: no limit of that kind)."""
        self.event_budget = events
        self.wall_budget_s = wall_s
        self._wall_deadline = None

    def _out_of_budget(self, why: str, events: int) -> None:
        """Called once when a budget runs out, ``events`` processed so far; the
        bookkeeping records the violation."""
        self.stuck = why

    def stream(self, name: str) -> Stream:
        return Stream(self.seed, name)

    def _observe(self) -> None:
        """Called after every ``run_until``; the metrics override it."""

    def push(self, at: int, fn: Handler, arg: Any, pri: int = 1) -> None:
        heapq.heappush(self.heap, (at, pri, next(self._seq), fn, arg))

    # Events between two looks at the wall clock (and at the event budget):
    # one comparison per event on the hot path, a clock read per batch.
    _CHECK_EVERY = 2048

    def run_until(self, until: int) -> None:
        if self.stuck:
            return
        if self._wall_deadline is None and self.wall_budget_s is not None:
            self._wall_deadline = time.perf_counter() + self.wall_budget_s
        heap = self.heap
        pop = heapq.heappop
        count = 0
        check_at = self._next_check(0)
        try:
            while heap and heap[0][0] <= until:
                if count >= check_at:
                    if self._budget_spent(count):
                        return
                    check_at = self._next_check(count)
                at, _pri, _seq, fn, arg = pop(heap)
                self.now = at
                count += 1
                fn(arg)
        finally:
            self.events += count
        if until > self.now:
            self.now = until
        self._observe()

    def _next_check(self, count: int) -> int:
        """The loop's count at which to look at the budgets next."""
        step = count + self._CHECK_EVERY
        if self.event_budget is None:
            return step
        return min(step, self.event_budget - self.events)

    def _budget_spent(self, count: int) -> bool:
        done = self.events + count
        if self.event_budget is not None and done >= self.event_budget:
            self._out_of_budget(f"event budget of {self.event_budget} events spent", done)
            return True
        if self._wall_deadline is not None and time.perf_counter() > self._wall_deadline:
            self._out_of_budget(f"wall-time budget of {self.wall_budget_s:g} s spent", done)
            return True
        return False
