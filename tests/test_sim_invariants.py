"""The live invariant checkers can fail: each test breaks the run the way its
invariant forbids (through the simulator's own wiring, not by calling the
checker) and asserts the run reports the invariant false.

In the style of ``test_nothing_lost_checker_fails_when_an_acknowledged_write_vanishes``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from hacore.decider import Decision
from hacore.inputs import Input
from hacore.node import Node
from hacore.ports import Outcome
from hacore.roles import Mode, Role
from sims.k3s import K3sFake
from sims.lifecycle import NodeLifecycle
from sims.run import make_simulation
from sims.simnode import SimNode


def _violations(result_violations: list[str], name: str) -> list[str]:
    return [v for v in result_violations if v.startswith(f"{name}:")]


def test_epochs_monotonic_fails_when_a_core_goes_back_an_epoch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A core that, once in epoch 2, reports its epoch one lower than it is."""
    handle = Node.handle

    def forgetful(self: Node, received: Input) -> Decision:
        decision = handle(self, received)
        if decision.events and decision.state.epoch >= 2:
            return replace(decision, state=replace(decision.state, epoch=decision.state.epoch - 1))
        return decision

    monkeypatch.setattr(Node, "handle", forgetful)
    result = make_simulation("active-crash", 1).run()
    assert not result.invariants["epochs-monotonic"]
    assert any("epoch 2->1" in v for v in _violations(result.violations, "epochs-monotonic"))


def test_one_active_per_epoch_fails_when_two_nodes_are_active_in_one_epoch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The epoch-owner branch: every promotion lands in epoch 1, so the split-brain's
    second active shares the first one's epoch."""
    role = NodeLifecycle._role

    def same_epoch(self: NodeLifecycle, n: SimNode, r: Role, epoch: int) -> None:
        role(self, n, r, min(epoch, 1))

    monkeypatch.setattr(NodeLifecycle, "_role", same_epoch)
    result = make_simulation("partition-heal", 1).run()  # availability-first
    assert not result.invariants["one-active-per-epoch"]
    broken = _violations(result.violations, "one-active-per-epoch")
    assert any("epoch 1 active on n1 and n2" in v for v in broken), broken
    assert not any("two writable actives" in v for v in broken)


def test_one_active_per_epoch_fails_on_two_writable_actives_in_safety_first() -> None:
    """The safety-first branch: the cores run availability-first (both sides of the
    partition serve, in different epochs) while the run is judged as safety-first."""
    sim = make_simulation("partition-heal", 1)
    sim.p = replace(sim.p, mode=Mode.SAFETY_FIRST)
    result = sim.run()
    assert not result.invariants["one-active-per-epoch"]
    broken = _violations(result.violations, "one-active-per-epoch")
    assert any("two writable actives at once: ['n1', 'n2']" in v for v in broken), broken
    assert not any("active on" in v for v in broken)  # distinct epochs: only this branch


def test_idempotent_steps_fails_when_a_step_run_twice_changes_the_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A k3s fake whose start also adds a k3s object: running start_k3s again adds
    another, so the double execution leaves a different outcome."""
    start = K3sFake.start

    def not_idempotent(self: K3sFake, *, key: str, deadline: int) -> Outcome:
        outcome = start(self, key=key, deadline=deadline)
        self.node.k3s_db.append(-len(self.node.k3s_db) - 1)
        return outcome

    monkeypatch.setattr(K3sFake, "start", not_idempotent)
    sim = make_simulation("active-crash", 1)
    sim.p = replace(sim.p, double_step_rate=1.0)
    result = sim.run()
    assert sim.double_checks > 0
    assert not result.invariants["idempotent-steps"]
    assert any("run twice changed the outcome" in v for v in result.violations)


def test_the_same_runs_untampered_hold_those_invariants() -> None:
    for name in ("active-crash", "partition-heal"):
        result = make_simulation(name, 1).run()
        for inv in ("epochs-monotonic", "one-active-per-epoch", "idempotent-steps"):
            assert result.invariants[inv], (name, inv, result.violations)
