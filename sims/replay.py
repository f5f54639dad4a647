"""The command that replays a run: every option that changes it, nothing left out.

A run is a function of its scenario, seed, cluster shape (nodes, witness),
policy, mode, fault schedule, duration, the instant its heal phase begins and
its event budget (and, as a backstop that depends on the machine, its wall
budget). :func:`replay_command` prints all of them, so a run cut short by
``--duration`` or by a budget replays as exactly that run, and the fuzzer's
counterexample (found in the middle of its chaos phase, before any heal)
replays with ``--heal-at never``.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from sims.faults import fmt_time, schedule_text

if TYPE_CHECKING:
    from sims.world import World

# ``World.last_heal`` when the heal phase never begins (the fuzzer's chaos phase).
NEVER = 1 << 62


def heal_at_text(heal_at_us: int) -> str:
    return "never" if heal_at_us >= NEVER else fmt_time(heal_at_us)


def replay_command(sim: World) -> str:
    """``hacore simulate ...`` replaying ``sim`` event for event (same digest)."""
    p = sim.p
    parts = ["hacore", "simulate", sim.scenario, "--seed", str(sim.seed)]
    parts += ["--nodes", str(p.nodes), "--policy", str(p.policy), "--mode", str(p.mode)]
    if p.witness:
        parts.append("--witness")
    parts += ["--duration", fmt_time(sim.end), "--heal-at", heal_at_text(sim.last_heal)]
    if sim.event_budget is not None:
        parts += ["--event-budget", str(sim.event_budget)]
    if sim.wall_budget_s is not None:
        parts += ["--wall-budget", f"{sim.wall_budget_s:g}s"]
    # The schedule always in single quotes, as people paste it (it holds no quote).
    return f"{shlex.join(parts)} --schedule '{schedule_text(sim.schedule)}'"
