"""Differential test: a `transitions` machine built from TABLE and the core agree on roles.

The machine is an independent interpreter of the same table (states = roles,
triggers = input kinds, one transition per rule, ignored rules as internal
transitions) whose conditions are not the core's guards but the same rules
written a second time, from their words (tests/spec_guards.py). Driven through
the same hypothesis-generated inputs as a real Node, it must be in the same
role after every step: a disagreement means a guard does not say what its rule
says, or the decider does not do what its table says.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_helpers import CONFIGS, Driver, cluster, inputs_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_guards import SPEC, Spec
from test_state_machine_doc import GEN

from hacore import actions, guards
from hacore import inputs as inp
from hacore.config import ClusterConfig
from hacore.context import Context
from hacore.roles import PeerRole, Role, VrrpStatus
from hacore.table import Rule


class Model:
    state: str


def spec_condition(rule: Rule) -> Spec:
    """The condition of a rule's transition: its guard as written in spec_guards."""
    return SPEC[rule.guard.__name__]


def test_every_guard_of_the_table_is_written_again_in_the_spec() -> None:
    names = {r.guard.__name__ for cells in GEN.TABLE.values() for c in cells.values() for r in c}
    assert names == set(SPEC)


def run_both(
    data: st.DataObject, config: ClusterConfig, name: str, steps: int
) -> list[tuple[str, str]]:
    model = Model()
    GEN.build_machine(model, spec_condition)
    ctx = Context(config, name)
    core = Driver(config, name)
    trace: list[tuple[str, str]] = []
    for _ in range(steps):
        at = core.now + data.draw(st.integers(0, 40_000_000))
        received = data.draw(inputs_for(config, name, core.state, at=at))
        fired = model.trigger(str(received.KIND), ctx, core.state, received)  # type: ignore[attr-defined]
        assert fired, f"no transition for {received.KIND} in {model.state}"
        core.feed(received)
        trace.append((model.state, str(core.role)))
    return trace


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), config=CONFIGS)
def test_transitions_machine_and_core_reach_the_same_roles(
    data: st.DataObject, config: ClusterConfig
) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    trace = run_both(data, config, name, data.draw(st.integers(1, 60)))
    for i, (machine_role, core_role) in enumerate(trace):
        assert machine_role == core_role, f"step {i}: machine {machine_role}, core {core_role}"


def test_the_machine_has_one_transition_per_rule() -> None:
    machine = GEN.build_machine(Model())
    count = sum(
        len(transitions)
        for event in machine.events.values()
        for transitions in event.transitions.values()
    )
    assert count == sum(len(rules) for cells in GEN.TABLE.values() for rules in cells.values())
    assert machine.states.keys() == {str(r) for r in Role}


def test_a_wrong_table_in_the_machine_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sanity of the harness: a machine whose table sends promoting to active on
    # the first step success disagrees with the core during a failover.
    patched = {role: dict(cells) for role, cells in GEN.TABLE.items()}
    patched[Role.PROMOTING][inp.StepSucceeded] = (
        Rule(guards.current_step, Role.ACTIVE, actions.next_step),
    )
    monkeypatch.setattr(GEN, "TABLE", patched)
    model = Model()
    GEN.build_machine(model, spec_condition)
    config = cluster(2)
    core = Driver(config, "b")
    ctx = Context(config, "b")
    feeds: list[Callable[[], object]] = [
        lambda: core.heard("a", PeerRole.ACTIVE, epoch=1),
        lambda: core.lost("a"),
        lambda: core.vrrp(VrrpStatus.MASTER),
        core.succeed,
    ]
    roles: list[tuple[str, str]] = []
    for feed in feeds:
        before = core.state
        feed()
        received = core.decisions[-1][0]
        model.trigger(str(received.KIND), ctx, before, received)  # type: ignore[attr-defined]
        roles.append((model.state, str(core.role)))
    assert roles[-1] == ("active", "promoting")
