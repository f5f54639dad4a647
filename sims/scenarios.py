"""Named scenarios: a fault schedule (drawn from the seed) and default parameters.

Each scenario's chaos phase starts at ``SimParams.chaos_start_us`` (the cluster
has elected its first active by then); its last fault is a healing one, and the
simulator runs the heal phase for the convergence bound after it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from hacore.roles import Mode
from sims.faults import SECOND, Fault

Builder = Callable[[random.Random, int, int], list[Fault]]  # (rng, start, nodes)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    summary: str
    build: Builder
    nodes: int = 2
    witness: bool = False
    mode: Mode | None = None  # None: the caller's (default availability-first)
    single_active_failure: bool = False


def _j(rng: random.Random, spread_ms: int = 2000) -> int:
    return rng.randint(0, spread_ms) * 1000


def _active_crash(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    return [Fault(at, "crash", "active"), Fault(at + 30 * SECOND + _j(rng), "restart", "all")]


def _standby_crash(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    victim = f"n{n}"
    return [Fault(at, "crash", victim), Fault(at + 30 * SECOND + _j(rng), "restart", victim)]


def _partition_heal(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    return [Fault(at, "partition", "halves"), Fault(at + 30 * SECOND + _j(rng), "heal")]


def _power_loss_both(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    out = [Fault(at, "crash", "all")]
    for i in range(n):
        out.append(Fault(at + 10 * SECOND + _j(rng, 3000), "restart", f"n{i + 1}"))
    return out


def _flapping_link(rng: random.Random, t: int, n: int) -> list[Fault]:
    out = [Fault(t, "noise", "5", "2")]
    at = t + _j(rng, 500)
    end = t + 40 * SECOND
    while at < end:
        out.append(Fault(at, "partition", "halves"))
        at += rng.randint(500, 4000) * 1000
        out.append(Fault(at, "heal"))
        at += rng.randint(500, 4000) * 1000
    out.append(Fault(at, "heal"))
    return out


def _crash_during_failover(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    # The standby takes over one Master_Down_Interval (~3.6 s) after the crash;
    # its seven-step promotion then runs for several seconds: crash it mid-plan.
    mid = at + 5 * SECOND + _j(rng, 1500)
    return [
        Fault(at, "crash", "n1"),
        Fault(mid, "crash", "n2"),
        Fault(mid + 3 * SECOND, "restart", "n2"),
        Fault(at + 40 * SECOND, "restart", "all"),
    ]


def _witness_partition(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    return [Fault(at, "partition", "isolate-active"), Fault(at + 30 * SECOND + _j(rng), "heal")]


def _three_node_isolate(rng: random.Random, t: int, n: int) -> list[Fault]:
    at = t + _j(rng)
    return [Fault(at, "partition", "isolate-active"), Fault(at + 30 * SECOND + _j(rng), "heal")]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "active-crash",
            "the active node crashes (power cut); it restarts 30 s later",
            _active_crash,
            single_active_failure=True,
        ),
        Scenario("standby-crash", "the standby crashes and restarts 30 s later", _standby_crash),
        Scenario(
            "partition-heal",
            "the link between the two nodes is cut for 30 s: two actives, then heal",
            _partition_heal,
        ),
        Scenario(
            "power-loss-both",
            "both nodes lose power at once and come back ~10 s later",
            _power_loss_both,
        ),
        Scenario(
            "flapping-link",
            "for 40 s the link flaps every 0.5-4 s with 5% loss and 2% duplication",
            _flapping_link,
        ),
        Scenario(
            "crash-during-failover",
            "the active crashes; the standby crashes mid-promotion and resumes after restart",
            _crash_during_failover,
        ),
        Scenario(
            "witness-partition",
            "two nodes and a witness (safety-first): the active is isolated for 30 s",
            _witness_partition,
            witness=True,
            mode=Mode.SAFETY_FIRST,
        ),
        Scenario(
            "three-node-isolate",
            "three nodes: the active is isolated from the other two for 30 s",
            _three_node_isolate,
            nodes=3,
        ),
    )
}


def build_schedule(scenario: Scenario, seed: int, start_us: int, nodes: int) -> tuple[Fault, ...]:
    # A separate stream from the run's own, derived from the seed by arithmetic
    # (never hash() of a string): the schedule does not shift when the run's
    # use of randomness changes.
    rng = random.Random(seed * 1_000_003 + 17)
    return tuple(sorted(scenario.build(rng, start_us, nodes), key=lambda f: f.at))
