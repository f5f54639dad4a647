# mypy: disable-error-code="comparison-overlap"
# (role checks before and after a state-changing call look non-overlapping to mypy)
"""Decider behaviour: flapping hold-down, operator commands, restarts, modes at a glance."""

from __future__ import annotations

from core_helpers import SEC, Driver, cluster, events_of_type

from hacore import effects as fx
from hacore import events as ev
from hacore.roles import Command, Mode, PeerRole, Policy, Role, TimerPurpose, VrrpStatus


def demoted_a() -> Driver:
    a = Driver(cluster(2), "a")
    a.promote()
    a.vrrp(VrrpStatus.BACKUP)
    a.run_plan()
    assert a.role is Role.STANDBY
    return a


def test_flapping_vrrp_inside_the_hold_down_starts_no_plan() -> None:
    a = demoted_a()
    plans_before = len(
        [e for _, d in a.decisions for e in d.events if isinstance(e, ev.PlanStarted)]
    )
    for _ in range(5):
        a.vrrp(VrrpStatus.MASTER)
        a.vrrp(VrrpStatus.BACKUP)
    plans_after = len(
        [e for _, d in a.decisions for e in d.events if isinstance(e, ev.PlanStarted)]
    )
    assert plans_after == plans_before
    assert a.role is Role.STANDBY
    assert len([t for t in a.state.timers if t.purpose is TimerPurpose.HOLD_DOWN]) <= 1


def test_master_after_the_hold_down_promotes_once() -> None:
    a = demoted_a()
    a.now = a.state.hold_down_until + SEC
    a.vrrp(VrrpStatus.MASTER)
    assert a.role is Role.PROMOTING


def test_hold_down_timer_promotes_a_node_keepalived_does_not_renotify() -> None:
    a = demoted_a()
    a.vrrp(VrrpStatus.MASTER)  # deferred, hold-down timer armed
    d = a.fire(TimerPurpose.HOLD_DOWN)
    assert a.role is Role.PROMOTING
    assert events_of_type(d, ev.EpochOpened)[0].epoch == 3


def test_switchover_demotes_the_active_and_yields_the_vip() -> None:
    a = Driver(cluster(2), "a")
    a.promote()
    d = a.operator(Command.SWITCHOVER)
    assert a.role is Role.DEMOTING
    assert any(isinstance(e, fx.SetPriorityYield) and e.yielded for e in d.effects)


def test_operator_commands_not_allowed_in_a_role_are_rejected_with_a_reason() -> None:
    b = Driver(cluster(2), "b")
    d = b.operator(Command.SWITCHOVER)
    (rejected,) = events_of_type(d, ev.OperatorRejected)
    assert rejected.command is Command.SWITCHOVER
    assert "standby" in rejected.reason
    assert b.role is Role.STANDBY


def test_resolve_is_rejected_unless_the_node_is_frozen() -> None:
    a = Driver(cluster(2), "a")
    a.promote()
    d = a.operator(Command.RESOLVE, "a")
    assert events_of_type(d, ev.OperatorRejected)
    assert a.role is Role.ACTIVE


def test_manual_resolve_names_the_winner_on_both_sides() -> None:
    sides = {}
    for me, peer, epoch, peer_epoch in (("a", "b", 1, 2), ("b", "a", 2, 1)):
        d = Driver(cluster(2, policy=Policy.MANUAL), me)
        if me == "b":
            d.heard("a", PeerRole.ACTIVE, epoch=1)
            d.lost("a")
        d.promote()
        assert d.state.epoch == epoch
        if me == "a":
            d.lost(peer)
        d.heard(peer, PeerRole.ACTIVE, epoch=peer_epoch)
        assert d.state.frozen and d.role is Role.ACTIVE
        d.operator(Command.RESOLVE, "b")
        sides[me] = d
    assert sides["b"].role is Role.ACTIVE and not sides["b"].state.frozen
    assert sides["a"].role is Role.DEMOTING
    assert sides["a"].state.plan is not None
    assert sides["a"].state.plan.steps[0] == "quarantine_divergent"


def test_frozen_active_ignores_vrrp_loss_until_the_operator_decides() -> None:
    a = Driver(cluster(2, policy=Policy.MANUAL), "a")
    a.promote()
    a.lost("b")
    a.heard("b", PeerRole.ACTIVE, epoch=2)
    a.vrrp(VrrpStatus.BACKUP)
    assert a.role is Role.ACTIVE and a.state.frozen


def test_clear_fault_returns_a_faulted_node_to_standby_through_a_demotion() -> None:
    b = Driver(cluster(2), "b")
    b.vrrp(VrrpStatus.MASTER)
    for _ in range(b.config.timing.max_attempts - 1):
        b.fail()
        b.fire(TimerPurpose.STEP_RETRY)
    b.fail()
    assert b.role is Role.FAULT
    b.operator(Command.CLEAR_FAULT)
    assert b.role is Role.DEMOTING  # the half-done promotion is undone first
    assert b.state.timer_for(TimerPurpose.FAULT_HOLD) is None
    b.run_plan()
    assert b.role is Role.STANDBY


def test_fault_hold_ending_while_still_master_promotes_again() -> None:
    b = Driver(cluster(2), "b")
    b.vrrp(VrrpStatus.MASTER)
    for _ in range(b.config.timing.max_attempts - 1):
        b.fail()
        b.fire(TimerPurpose.STEP_RETRY)
    b.fail()
    b.fire(TimerPurpose.FAULT_HOLD)  # VRRP never said otherwise: a lone survivor
    assert b.role is Role.PROMOTING


def test_availability_first_lone_survivor_promotes_safety_first_does_not() -> None:
    for mode, expected in (
        (Mode.AVAILABILITY_FIRST, Role.PROMOTING),
        (Mode.SAFETY_FIRST, Role.STANDBY),
    ):
        b = Driver(cluster(2, mode=mode), "b")
        b.heard("a", PeerRole.ACTIVE, epoch=1)
        b.lost("a")
        b.vrrp(VrrpStatus.MASTER)
        assert b.role is expected, mode


def test_standby_ignores_step_results_and_foreign_timers() -> None:
    b = Driver(cluster(2), "b")
    b.boot()
    before = b.state
    assert b.fire_id(99).events == ()
    assert b.state == before
