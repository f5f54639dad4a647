"""Failover plans as the decider runs them: order, retries, failure, stale results, resume."""

from __future__ import annotations

import pytest
from core_helpers import SEC, Driver, cluster, events_of_type
from hypothesis import given, settings
from hypothesis import strategies as st

from hacore import effects as fx
from hacore import events as ev
from hacore import inputs as inp
from hacore.config import Services
from hacore.log import InMemoryLog
from hacore.node import Node
from hacore.plans import DEMOTION_STEPS, PROMOTION_STEPS, StepName
from hacore.roles import Command, PeerRole, PlanKind, Role, TimerPurpose, VrrpStatus


def promoting_b(services: Services | None = None) -> Driver:
    b = Driver(cluster(2, services=services), "b")
    b.heard("a", PeerRole.ACTIVE, epoch=1)
    b.vrrp(VrrpStatus.BACKUP)
    b.lost("a")
    b.vrrp(VrrpStatus.MASTER)
    assert b.role is Role.PROMOTING
    return b


def run_steps(driver: Driver) -> list[str]:
    started: list[str] = []
    while driver.state.plan is not None:
        started.append(driver.state.plan.current_step)
        driver.succeed()
    return started


def test_failover_plan_runs_the_reference_steps_in_order() -> None:
    b = promoting_b()
    assert run_steps(b) == [s.name for s in PROMOTION_STEPS]
    assert b.role is Role.ACTIVE


def test_each_step_is_requested_once_as_a_run_step_effect_in_plan_order() -> None:
    b = promoting_b()
    b.run_plan()
    runs = [e for _, d in b.decisions for e in d.effects if isinstance(e, fx.RunStep)]
    assert [r.step for r in runs] == [s.name for s in PROMOTION_STEPS]
    assert all(r.kind is PlanKind.PROMOTION and r.attempt == 1 for r in runs)
    assert len({r.key for r in runs}) == len(runs)


def test_a_step_starts_only_after_the_previous_one_succeeded() -> None:
    b = promoting_b()
    first = b.state.plan
    assert first is not None and first.index == 0
    # A success for a step that is not current (the next one) changes nothing.
    b.feed(inp.StepSucceeded(b.tick(), first.plan_id, PROMOTION_STEPS[1].name, 1))
    assert b.state.plan is not None and b.state.plan.index == 0


def test_the_node_is_active_only_after_the_last_step_succeeded() -> None:
    b = promoting_b()
    roles = []
    while b.state.plan is not None:
        roles.append(b.role)
        b.succeed()
    assert set(roles) == {Role.PROMOTING}
    assert b.role is Role.ACTIVE


@pytest.mark.parametrize("disabled", ["k3s", "galera", "gluster", "litestream"])
def test_disabled_services_drop_their_steps(disabled: str) -> None:
    services = Services(**{disabled: False})
    b = promoting_b(services)
    steps = run_steps(b)
    assert [s.name for s in PROMOTION_STEPS if s.service == disabled] != []
    assert not any(s.service == disabled for s in PROMOTION_STEPS if s.name in steps)
    assert steps[0] == "confirm_old_active_gone" and steps[-1] == "mark_active"


def test_a_failed_attempt_arms_a_retry_timer_with_doubling_backoff() -> None:
    b = promoting_b()
    timing = b.config.timing
    dues: list[int] = []
    for attempt in range(1, timing.max_attempts):
        d = b.fail()
        (armed,) = events_of_type(d, ev.TimerArmed)
        assert armed.purpose is TimerPurpose.STEP_RETRY
        dues.append(armed.due - b.now)
        assert b.role is Role.PROMOTING
        assert any(isinstance(e, fx.StartTimer) for e in d.effects)  # timers are effects
        b.fire(TimerPurpose.STEP_RETRY)
        assert b.state.plan is not None and b.state.plan.attempt == attempt + 1
    assert dues == [timing.retry_backoff_us * 2**i for i in range(timing.max_attempts - 1)]


def test_a_step_timeout_is_retried_as_uncertain_not_counted_as_success() -> None:
    b = promoting_b()
    d = b.fire(TimerPurpose.STEP_TIMEOUT)
    assert events_of_type(d, ev.StepAttemptFailed)[0].reason.startswith("timed out")
    assert b.state.timer_for(TimerPurpose.STEP_RETRY) is not None
    assert b.state.plan is not None and b.state.plan.index == 0


def test_a_failed_plan_leads_to_fault_and_yields_the_vrrp_priority() -> None:
    b = promoting_b()
    for _ in range(b.config.timing.max_attempts - 1):
        b.fail()
        b.fire(TimerPurpose.STEP_RETRY)
    d = b.fail()
    assert b.role is Role.FAULT
    assert fx.SetPriorityYield(key=f"b/yield-{b.now}", yielded=True) in d.effects
    assert any(isinstance(e, fx.FenceWrites) and e.fenced for e in d.effects)
    assert b.state.plan is None
    assert b.state.timer_for(TimerPurpose.FAULT_HOLD) is not None


def test_a_failed_demotion_also_leads_to_fault() -> None:
    a = Driver(cluster(2), "a")
    a.promote()
    a.operator(Command.SWITCHOVER)
    assert a.state.plan is not None and a.state.plan.kind is PlanKind.DEMOTION
    assert a.state.plan.steps[0] == DEMOTION_STEPS[0].name
    for _ in range(a.config.timing.max_attempts):
        a.fire(TimerPurpose.STEP_TIMEOUT)
        if a.role is Role.FAULT:
            break
        a.fire(TimerPurpose.STEP_RETRY)
    assert a.role is Role.FAULT


def test_stale_timer_is_ignored() -> None:
    b = promoting_b()
    old = b.state.timer_for(TimerPurpose.STEP_TIMEOUT)
    assert old is not None
    b.succeed()  # disarms the old timeout, arms a new one
    before = b.state
    d = b.fire_id(old.timer_id)
    assert d.events == () and b.state == before


def test_stale_step_results_are_ignored() -> None:
    b = promoting_b()
    plan = b.state.plan
    assert plan is not None
    b.fail()
    b.fire(TimerPurpose.STEP_RETRY)  # attempt 2 now
    before = b.state
    for late in (
        inp.StepSucceeded(b.tick(), plan.plan_id, plan.current_step, 1),
        inp.StepFailed(b.tick(), plan.plan_id, plan.current_step, 1, "late"),
        inp.StepSucceeded(b.tick(), plan.plan_id + 7, plan.current_step, 2),
    ):
        assert b.feed(late).events == ()
    assert b.state == before


def test_step_result_after_the_plan_ended_is_ignored_in_every_role() -> None:
    b = promoting_b()
    plan = b.state.plan
    assert plan is not None
    b.run_plan()
    d = b.feed(inp.StepSucceeded(b.tick(), plan.plan_id, StepName.MARK_ACTIVE, 1))
    assert d.events == () and b.role is Role.ACTIVE


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_after_replaying_a_log_cut_mid_plan_booted_resumes_at_the_first_unfinished_step(
    data: st.DataObject,
) -> None:
    b = promoting_b()
    log = b.node.log
    assert isinstance(log, InMemoryLog)
    plan_start = len(log)
    done = data.draw(st.integers(0, len(PROMOTION_STEPS) - 1))
    fail_first = data.draw(st.booleans())
    for _ in range(done):
        if fail_first:
            b.fail()
            b.fire(TimerPurpose.STEP_RETRY)
        b.succeed()
    # Any cut point between the decision that started the plan and now (decisions
    # are appended atomically, so a crash loses whole decisions).
    cuts = [r.seq - 1 for r in log.records() if r.kind == "input" and r.seq > plan_start]
    cut = data.draw(st.sampled_from([*cuts, len(log)]))
    kept = InMemoryLog("b")
    kept._records.extend(list(log.records())[:cut])
    node = Node.recover(b.config, "b", kept)
    finished = sum(1 for r in kept.records() if r.type == "step-completed")
    assert node.state.role is Role.PROMOTING
    assert node.state.plan is not None and node.state.plan.index == finished
    d = node.handle(inp.Booted(b.now + SEC))
    runs = [e for e in d.effects if isinstance(e, fx.RunStep)]
    assert [r.step for r in runs] == [PROMOTION_STEPS[finished].name]
    resumed = Driver(b.config, "b", node)
    resumed.now = b.now + SEC
    resumed.run_plan()
    assert resumed.role is Role.ACTIVE
