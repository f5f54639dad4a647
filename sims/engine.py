"""The discrete-event engine: a virtual clock, a heap and the run loop.

Rules (each one is why the same seed gives the same logs, byte for byte)
-----------------------------------------------------------------------
* One thread, one virtual clock in integer microseconds, one heap keyed
  ``(time, priority, sequence)``; ties at the same instant are broken by the
  priority (0: a heartbeat, delivered before a VRRP advert sent at the same
  instant; 1: everything else; 2: an injected fault, last at its instant) and
  then by insertion order, never by object identity.
* One ``random.Random(seed)`` per run and nothing else random.

An event is a callable and its argument; the callable runs with ``now`` set to
the event's time. Handlers check by themselves whether the event is stale (a
node that crashed since, a cancelled timer).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class Engine:
    """Clock, heap and run loop; the simulation's mixins add the world."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 0
        self.seq = 0
        self.heap: list[tuple[int, int, int, Handler, Any]] = []
        self.events = 0

    def _observe(self) -> None:
        """Called after every ``run_until``; the metrics override it."""

    def push(self, at: int, fn: Handler, arg: Any, pri: int = 1) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, pri, self.seq, fn, arg))

    def run_until(self, until: int) -> None:
        heap = self.heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            at, _pri, _seq, fn, arg = pop(heap)
            self.now = at
            self.events += 1
            fn(arg)
        if until > self.now:
            self.now = until
        self._observe()
