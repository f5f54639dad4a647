"""Build and run one simulation from a scenario name, a seed and overrides."""

from __future__ import annotations

from dataclasses import replace

from hacore.roles import Mode, Policy
from sims.faults import Fault, ScheduleError, check_run
from sims.params import WITNESS_NAME
from sims.progress import default_event_budget, default_wall_budget_s
from sims.replay import NEVER
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
    heal_at_us: int | None = None,
    event_budget: int | None = None,
    wall_budget_s: float | None = None,
) -> Simulation:
    """The simulation ``hacore simulate`` runs (``scenario`` "custom" needs ``schedule``).

    ``heal_at_us``: when the heal phase begins (default: the last fault;
    :data:`sims.replay.NEVER` for a chaos phase that never ends, as in the
    fuzzer before its teardown; then ``duration_us`` is needed). Budgets
    default to :func:`sims.progress.default_event_budget` and
    :func:`~sims.progress.default_wall_budget_s` of the duration. Raises
    :class:`~sims.faults.ScheduleError` for a schedule that cannot be run
    as written (see :func:`sims.faults.check_run`)."""
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
    members = [spec.name for spec in p.config().nodes] + ([WITNESS_NAME] if w else [])
    check_run(schedule, members, None)  # the duration is the command's to refuse
    if heal_at_us is not None and heal_at_us >= NEVER and duration_us is None:
        raise ScheduleError("--heal-at never needs --duration (the run has no heal phase)")
    single = sc.single_active_failure if sc is not None else False
    sim = Simulation(p, seed, schedule, scenario, single, duration_us)
    if heal_at_us is not None:
        if heal_at_us < sim.last_fault:
            raise ScheduleError("--heal-at is before the schedule's last fault")
        sim.last_heal = heal_at_us
        if duration_us is None:
            sim.end = sim.last_heal + p.convergence_bound_us()
    sim.set_budgets(
        event_budget if event_budget is not None else default_event_budget(p, sim.end),
        wall_budget_s if wall_budget_s is not None else default_wall_budget_s(sim.end),
    )
    return sim
