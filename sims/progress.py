"""Liveness as an invariant: run budgets and the progress invariant.

A livelock burns a core and fills the disk while every safety invariant holds
(two rules that re-trigger each other: detect, freeze, detect again). Two
guards catch it, each reported like any other violation:

* **Budgets** (:func:`default_event_budget`, :func:`default_wall_budget_s`):
  every run has an event budget and a wall-time budget, derived from its
  simulated duration unless given. The engine stops a run that spends one
  (:meth:`sims.engine.Engine.set_budgets`) and the run reports
  ``progress: ... stuck: N events in S simulated seconds``: never a hang.
* **The progress invariant** (:func:`progress`), checked on the node logs at
  the end of the run:

  1. *Bounded decisions.* In any window of one simulated second a node makes
     at most ``burst + rate`` decisions (inputs it logged), where ``rate`` and
     ``burst`` come from the timers and the advert interval
     (:class:`DecisionBound`, derivation in ``docs/simulator.md``). Catch-up is
     the allowance on top: what a node missed while paused or unable to log
     (full disk) arrives at once when it resumes, so the decisions at the
     instant of each resume, disk repair and restart, and within the FIFO
     delay and a round trip after it, are not counted (:func:`catch_up_windows`).
  2. *A converged cluster goes quiet.* Once the cluster has converged and
     every timer that could still be armed has run out (:func:`settle_us`),
     the logs grow only with new facts: the local commit seqno and a peer's
     advertised facts moving (the clients keep writing). Any other record
     (a role change, a timer, a split-brain event, a re-observed peer) is a
     violation: heartbeats that repeat what is known decide nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hacore import events as ev
from hacore import inputs as inp
from hacore.timefmt import seconds
from sims.faults import SECOND
from sims.params import SimParams

if TYPE_CHECKING:
    from hacore.log import LogRecord
    from sims.world import World

# Default budgets. Normal runs process about 20 events per simulated second
# per member squared or less (heartbeats are all-to-all); the three-actives
# livelock (docs/findings.md row 13) processed ~300,000 per simulated second.
EVENTS_PER_MEMBER_PAIR_SECOND = 50
MIN_EVENT_BUDGET = 20_000
# Wall time: a normal run simulates hundreds of seconds per wall second; the
# default lets a run be 100 times slower than that (a loaded machine).
MIN_WALL_BUDGET_S = 30.0
WALL_S_PER_SIMULATED_S = 0.05


def members_of(p: SimParams) -> int:
    return p.nodes + (1 if p.witness else 0)


def default_event_budget(p: SimParams, duration_us: int) -> int:
    """Events a run of ``duration_us`` may process: proportional to the
    all-to-all heartbeat traffic, with a floor for short runs."""
    members = members_of(p)
    seconds = max(1, -(-duration_us // SECOND))
    return max(MIN_EVENT_BUDGET, EVENTS_PER_MEMBER_PAIR_SECOND * members * members * seconds)


def default_wall_budget_s(duration_us: int) -> float:
    return max(MIN_WALL_BUDGET_S, WALL_S_PER_SIMULATED_S * duration_us / SECOND)


def stuck_message(events: int, sim_us: int, why: str) -> str:
    return f"stuck: {events} events in {sim_us / SECOND:.1f} simulated seconds ({why})"


# ------------------------------------------------------------ the bound ----


@dataclass(frozen=True, slots=True)
class DecisionBound:
    """At most ``burst + rate`` decisions by one node in any simulated second.

    ``rate``: what one second can bring a node that is not livelocked. Per
    advert interval each other member sends one heartbeat, a duplicate of it
    (the ``noise`` fault) and up to two announcements (a role change, an epoch
    or a split-brain detection each announce once); that is 4 per member per
    advert interval. Plan steps take at least ``step_us[0]``, so at most one
    step result per ``step_us[0]``; each is followed by a step timeout timer.
    Add the VRRP FIFO, the commit-progress tick and one core timer: 4 more.
    ``burst``: a heal or a restart makes every member announce its new role
    and epoch at once and re-judge what it hears: 8 per member.
    """

    rate: int
    burst: int

    @classmethod
    def of(cls, p: SimParams) -> DecisionBound:
        members = members_of(p)
        adverts_per_s = -(-SECOND // p.advert_us)
        steps_per_s = -(-SECOND // max(1, p.step_us[0]))
        return cls(rate=4 * members * adverts_per_s + 2 * steps_per_s + 4, burst=8 * members)

    @property
    def per_second(self) -> int:
        return self.rate + self.burst


def settle_us(p: SimParams) -> int:
    """After convergence, the longest a timer armed before it can still fire:
    the hold-down, the fault hold, the VIP handover, the split judge, plus a
    step timeout and the peer timeout (a late PeerLost)."""
    t = p.timing
    return (
        max(t.hold_down_us, t.fault_hold_us, t.vip_handover_us, t.split_judge_us)
        + t.step_timeout_us
        + p.peer_timeout_us
    )


# The inputs and events a converged cluster keeps logging: new facts only.
_QUIET_INPUTS = frozenset({inp.PeerHeard.TYPE, inp.LocalProgress.TYPE})
_QUIET_EVENTS = frozenset({ev.PeerObserved.TYPE, ev.ProgressObserved.TYPE})


def catch_up_windows(p: SimParams, instants: list[int]) -> list[tuple[int, int]]:
    """The catch-up allowance: what a node missed while paused or unable to log
    is handed to it at the instant it resumes (or gets its disk back, or
    restarts), and what it makes of it (its VRRP router's FIFO lines, the
    replies of its peers) reaches the core within the FIFO delay and a round
    trip. Decisions inside these windows are not counted."""
    width = p.fifo_delay_us[1] + 2 * p.link_delay_us[1]
    return [(t, t + width) for t in sorted(instants)]


def _inside(at: int, windows: list[tuple[int, int]]) -> bool:
    return any(lo <= at <= hi for lo, hi in windows)


def _densest_second(ats: list[int]) -> tuple[int, int]:
    """(most decisions in a one-second window, the window's first decision time)."""
    best, start, lo = 0, 0, 0
    for hi, t in enumerate(ats):
        while t - ats[lo] >= SECOND:
            lo += 1
        if hi - lo + 1 > best:
            best, start = hi - lo + 1, ats[lo]
    return best, start


def _burst_timeline(records: Iterable[LogRecord], start: int, limit: int = 12) -> str:
    """The first records of a burst, as ``TIME type`` items, and the commonest kinds."""
    inside = [r for r in records if start <= r.at < start + SECOND]
    counts: dict[str, int] = {}
    for r in inside:
        counts[r.type] = counts.get(r.type, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    head = ", ".join(f"{seconds(r.at)} {r.type}" for r in inside[:limit])
    kinds = ", ".join(f"{k} x{v}" for k, v in top)
    return f"{kinds}; timeline: {head}{', ...' if len(inside) > limit else ''}"


def progress(sim: World) -> list[str]:
    """The progress invariant (see the module docstring): bounded decisions per
    simulated second, and a converged cluster that goes quiet."""
    bound = DecisionBound.of(sim.p)
    details: list[str] = []
    for n in sim.data:
        records = list(n.log.records())
        excused = catch_up_windows(sim.p, sim.catch_up.get(n.name, []))
        ats = sorted(r.at for r in records if r.kind == "input" and not _inside(r.at, excused))
        most, start = _densest_second(ats)
        if most > bound.per_second:
            details.append(
                f"{n.name}: {most} decisions in the second from {seconds(start)} "
                f"(bound {bound.per_second}: rate {bound.rate} + burst {bound.burst}): "
                f"{_burst_timeline(records, start)}"
            )
            continue
        if sim.converged_since is None:
            continue
        quiet_from = sim.converged_since + settle_us(sim.p)
        noisy = [
            r
            for r in records
            if r.at >= quiet_from
            and r.type not in (_QUIET_INPUTS if r.kind == "input" else _QUIET_EVENTS)
        ]
        if noisy:
            first = noisy[0]
            details.append(
                f"{n.name}: the converged cluster's log still grows at {seconds(first.at)} "
                f"with {first.type} ({len(noisy)} such records after {seconds(quiet_from)})"
            )
    return details
