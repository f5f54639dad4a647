"""A node that restarts while active yields its priority (docs/findings.md row 14).

Its services died with it; its log says active, so it demotes. With preempt
and a higher priority its VRRP router used to take the VIP back from the
survivor within Master_Down_Interval, only to demote, hold down and promote:
a second outage (active-crash seed 3 crossed invariant 7's bound by 10 ms).
Decided: the behaviour was wrong, not the bound. The returning node keeps
its priority yielded until VRRP makes it master again (as after a fault)."""

from __future__ import annotations

import pytest
from core_helpers import Driver, cluster

from hacore import events as ev
from hacore import inputs as inp
from hacore.roles import Policy, Role
from sims.run import make_simulation


def test_an_active_that_restarts_yields_its_priority_and_demotes() -> None:
    a = Driver(cluster(2), "a")
    a.promote()
    decision = a.feed(inp.Booted(a.tick()))
    assert a.role is Role.DEMOTING and a.state.priority_yielded
    yielded = [e for e in decision.events if isinstance(e, ev.PriorityYielded)]
    assert [e.reason for e in yielded] == ["restarted while active"]


def test_the_seed_that_crossed_invariant_7s_bound_keeps_the_survivor() -> None:
    result = make_simulation("active-crash", 3).run()
    assert result.ok, result.violations
    # One outage only: the survivor keeps serving after the old active returns.
    assert [n.name for n in result.nodes_end if n.role == "active"] == ["n2"]


@pytest.mark.parametrize("policy", list(Policy))
def test_active_crash_keeps_invariant_7_over_many_seeds(policy: Policy) -> None:
    """Seeds 1-30: before the change 3 of seeds 1-140 crossed the bound (15.31 s
    worst gap); now every run holds it (measured over 1-140 x every policy)."""
    for seed in range(1, 31):
        result = make_simulation("active-crash", seed, policy=policy).run()
        assert result.invariants["availability"], (seed, result.violations)
