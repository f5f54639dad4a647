"""A step that needs a peer must not succeed without it, and a fault leads
somewhere: out of fault only through a completed demotion (issue 12)."""

from __future__ import annotations

import pytest
from core_helpers import Driver, cluster

from hacore.plans import plan_steps
from hacore.ports import Done, Failed
from hacore.roles import Command, PeerRole, PlanKind, Role, TimerPurpose, VrrpStatus
from sims.faults import parse_schedule
from sims.gluster import GlusterFake
from sims.run import make_simulation

PAIR = cluster(2)
DEMOTION = plan_steps(PlanKind.DEMOTION, PAIR)
PROMOTION = plan_steps(PlanKind.PROMOTION, PAIR)


def role(d: Driver) -> Role:
    """The driver's role now (a call, so the checker does not narrow it between steps)."""
    return d.role


def _fail_for_good(d: Driver) -> None:
    for _ in range(d.config.timing.max_attempts - 1):
        d.fail("peer unreachable")
        d.fire(TimerPurpose.STEP_RETRY)
    d.fail("peer unreachable")


def _demoting_active(d: Driver) -> None:
    d.promote()
    d.heard("b", PeerRole.STANDBY)
    d.operator(Command.SWITCHOVER)
    assert role(d) is Role.DEMOTING


@pytest.mark.parametrize("failing", range(len(DEMOTION)), ids=lambda i: str(DEMOTION[i]))
def test_a_demotion_step_that_fails_for_good_is_run_again_after_the_fault_hold(
    failing: int,
) -> None:
    """Every service the demotion plan touches: when its step fails on every
    attempt (its peer unreachable), the node does not rest half-demoted: after
    the fault hold it runs the whole demotion plan again, that step included."""
    a = Driver(PAIR, "a")
    _demoting_active(a)
    a.vrrp(VrrpStatus.BACKUP, 1)
    for _ in range(failing):
        a.succeed()
    plan = a.state.plan
    assert plan is not None and plan.current_step == DEMOTION[failing]
    _fail_for_good(a)
    assert role(a) is Role.FAULT
    a.fire(TimerPurpose.FAULT_HOLD)
    assert role(a) is Role.DEMOTING
    again = a.state.plan
    assert again is not None and again.kind is PlanKind.DEMOTION and again.index == 0
    assert again.steps == DEMOTION and again.plan_id != plan.plan_id
    a.run_plan()
    assert role(a) is Role.STANDBY


@pytest.mark.parametrize("failing", range(len(PROMOTION)), ids=lambda i: str(PROMOTION[i]))
def test_a_failed_promotion_is_undone_by_a_demotion_after_the_fault_hold(failing: int) -> None:
    """A promotion that failed at any step left services half-started: after the
    hold (VRRP no longer master) the demotion plan stops them."""
    b = Driver(PAIR, "b")
    b.heard("a", PeerRole.ACTIVE, epoch=1)
    b.lost("a")
    b.vrrp(VrrpStatus.MASTER)
    for _ in range(failing):
        b.succeed()
    _fail_for_good(b)
    assert role(b) is Role.FAULT
    b.vrrp(VrrpStatus.BACKUP, 1)
    b.fire(TimerPurpose.FAULT_HOLD)
    assert role(b) is Role.DEMOTING
    b.run_plan()
    assert role(b) is Role.STANDBY


def test_the_operator_clearing_a_fault_runs_the_demotion_too() -> None:
    b = Driver(PAIR, "b")
    b.vrrp(VrrpStatus.MASTER)
    _fail_for_good(b)
    b.operator(Command.CLEAR_FAULT)
    assert role(b) is Role.DEMOTING and b.state.timer_for(TimerPurpose.FAULT_HOLD) is None
    b.run_plan()
    assert role(b) is Role.STANDBY


REPRODUCER = "20.5s:partition:bridge,30.5s:partition:halves,31s:partition:isolate-active,34.5s:heal"
# The seed was 404000; since the simulator draws from one stream per
# subsystem the same schedule needs these seeds to show it (each failed before).
SEEDS = (404004, 404024, 404036)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_gluster_resync_that_ran_without_its_peer_no_longer_leaves_a_mark_for_good(
    seed: int,
) -> None:
    """The issue's reproducer (2 nodes + witness, vrrp-winner, availability-first):
    the loser's resync_gluster ran while the winner was unreachable and reported
    success; the winner's split-brain mark stayed set for good. Now the step
    fails without the peer, is retried (and, failed for good, re-run after the
    fault hold) and the cluster converges."""
    sim = make_simulation(
        "custom", seed, nodes=2, witness=True, schedule=parse_schedule(REPRODUCER)
    )
    result = sim.run()
    assert result.invariants["convergence"], result.violations
    assert result.ok, result.violations
    assert not any(n.gl_split for n in sim.data)


def test_resync_gluster_without_the_peer_fails() -> None:
    sim = make_simulation("custom", 1, schedule=parse_schedule("20s:partition:halves,30s:heal"))
    sim.run()
    a, b = sim.data
    a.gl_split = b.gl_split = True
    port = GlusterFake(sim.gluster, b)
    sim.blocked = {(0, 1), (1, 0)}
    outcome = port.resync(key="k", deadline=0)
    assert isinstance(outcome, Failed) and "need the brick on n1" in outcome.reason
    assert a.gl_split and b.gl_split  # nothing cleared: the step did not succeed
    sim.blocked = set()
    assert isinstance(port.resync(key="k", deadline=0), Done)
    assert not a.gl_split and not b.gl_split
