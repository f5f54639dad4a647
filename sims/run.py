"""Build and run one simulation from a scenario name, a seed and overrides."""

from __future__ import annotations

from dataclasses import replace

from hacore.roles import Mode, Policy
from sims.faults import Fault
from sims.scenarios import SCENARIOS, build_schedule
from sims.sim import SimParams, Simulation


def make_simulation(
    scenario: str,
    seed: int,
    *,
    nodes: int | None = None,
    policy: Policy | None = None,
    mode: Mode | None = None,
    witness: bool | None = None,
    duration_us: int | None = None,
    schedule: tuple[Fault, ...] | None = None,
    params: SimParams | None = None,
) -> Simulation:
    """The simulation ``hacore simulate`` runs (``scenario`` "custom" needs ``schedule``)."""
    base = params if params is not None else SimParams()
    sc = SCENARIOS.get(scenario)
    if sc is None and schedule is None:
        raise KeyError(f"unknown scenario {scenario!r} (see `hacore scenarios`)")
    n = nodes if nodes is not None else (sc.nodes if sc is not None else base.nodes)
    w = witness if witness is not None else (sc.witness if sc is not None else base.witness)
    m = mode if mode is not None else (sc.mode if sc is not None and sc.mode else base.mode)
    p = replace(
        base, nodes=n, witness=w, mode=m, policy=policy if policy is not None else base.policy
    )
    if schedule is None:
        assert sc is not None
        schedule = build_schedule(sc, seed, p.chaos_start_us, n)
    single = sc.single_active_failure if sc is not None else False
    return Simulation(p, seed, schedule, scenario, single, duration_us)
