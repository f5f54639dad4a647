"""The agent's clock: wall time read once at start, then advanced by the
monotonic clock.

Every instant the agent hands the core (an input's ``at``), every deadline
and timer due time, the peer timeout and the write lease are differences on
this one clock. Reading the wall clock each time would let an NTP step or an
operator's ``date -s`` move all of them at once: a step forward makes every
peer look silent (a spurious ``PeerLost``, the start of a failover) and
lapses the lease; a step back keeps a dead peer "heard" for the length of the
step, renews the lease of an old active, and makes a timer's firing look
earlier than its due time, which the dispatcher drops as stale (the timer is
lost). So the agent reads the wall clock once, at start, and only the
monotonic clock after that: its values stay close to wall time (the log,
``hacore history`` and the peers' clock-skew check read them as such) but a
wall-clock step while it runs changes nothing.

Across a restart the wall clock is read again. :meth:`AgentClock.not_before`
keeps time from running backwards against the replayed log (a step back
while the agent was down): a timer in the log then fires no earlier than it
would have had no time passed while the agent was down.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class AgentClock:
    """Callable: integer microseconds, wall-anchored, monotonic."""

    def __init__(
        self,
        wall_ns: Callable[[], int] = time.time_ns,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._monotonic_ns = monotonic_ns
        self._offset_us = wall_ns() // 1000 - monotonic_ns() // 1000

    def __call__(self) -> int:
        return self._monotonic_ns() // 1000 + self._offset_us

    def not_before(self, at_us: int) -> None:
        """Advance the clock so that it reads at least ``at_us`` now (never moves it back)."""
        behind = at_us - self()
        if behind > 0:
            self._offset_us += behind
