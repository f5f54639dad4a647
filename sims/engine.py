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

An event is a callable and its argument; the callable runs with ``now`` set to
the event's time. Handlers check by themselves whether the event is stale (a
node that crashed since, a cancelled timer).
"""

from __future__ import annotations

import heapq
import itertools
import random
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

    def stream(self, name: str) -> Stream:
        return Stream(self.seed, name)

    def _observe(self) -> None:
        """Called after every ``run_until``; the metrics override it."""

    def push(self, at: int, fn: Handler, arg: Any, pri: int = 1) -> None:
        heapq.heappush(self.heap, (at, pri, next(self._seq), fn, arg))

    def run_until(self, until: int) -> None:
        heap = self.heap
        pop = heapq.heappop
        count = 0
        try:
            while heap and heap[0][0] <= until:
                at, _pri, _seq, fn, arg = pop(heap)
                self.now = at
                count += 1
                fn(arg)
        finally:
            self.events += count
        if until > self.now:
            self.now = until
        self._observe()
