"""The transition table is complete: every (role, input kind) pair is decided on purpose."""

from __future__ import annotations

import ast
import inspect

import pytest
from core_helpers import CONFIGS, inputs_for, node_states
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hacore.decider as decider
from hacore import events as ev
from hacore import inputs as inp
from hacore import table
from hacore.config import ClusterConfig
from hacore.decider import TransitionError, decide, matching_rule
from hacore.evolve import evolve
from hacore.inputs import InputKind
from hacore.roles import Role, VrrpStatus
from hacore.state import NodeState
from hacore.table import ACTIONS, GUARDS, TABLE, Context, Rule

PAIRS = [(role, kind) for role in Role for kind in InputKind]

# Actions that observe and may legitimately decide nothing when the input
# repeats what the state already holds (such inputs are not even logged).
OBSERVERS = {"observe_vrrp", "observe_peer", "observe_peer_lost", "observe_progress"}


def _redundant(state: NodeState, received: inp.Input) -> bool:
    """True when ``received`` tells the node nothing it does not already know."""
    if isinstance(received, inp.VrrpReported):
        return received.state == state.vrrp and received.priority == state.vrrp_priority
    if isinstance(received, inp.LocalProgress):
        return received.committed == state.committed
    if isinstance(received, inp.PeerLost):
        view = state.peer(received.peer)
        return view is not None and not view.reachable
    if isinstance(received, inp.PeerHeard):
        view = state.peer(received.peer)
        return (
            view is not None
            and view.reachable
            and (view.role, view.epoch, view.committed, view.changes)
            == (received.role, received.epoch, received.committed, received.changes)
        )
    return False


def test_every_role_has_a_cell_for_every_input_kind() -> None:
    missing = [(r, k) for r, k in PAIRS if k not in TABLE.get(r, {})]
    assert missing == []


def test_every_guard_and_action_named_in_the_table_exists() -> None:
    unknown = [
        (role, kind, rule)
        for role, cells in TABLE.items()
        for kind, rules in cells.items()
        for rule in rules
        if rule.guard not in GUARDS or rule.action not in ACTIONS
    ]
    assert unknown == []


def test_every_guard_and_action_defined_is_used_by_some_rule() -> None:
    rules = [rule for cells in TABLE.values() for rules in cells.values() for rule in rules]
    assert set(GUARDS) - {r.guard for r in rules} == set()
    assert set(ACTIONS) - {r.action for r in rules} == set()


def unreachable_rules(cells: dict[Role, dict[InputKind, tuple[Rule, ...]]]) -> list[str]:
    """Rules that follow an "always" rule in their cell: they can never match."""
    found: list[str] = []
    for role, by_kind in cells.items():
        for kind, rules in by_kind.items():
            for i, rule in enumerate(rules):
                if rule.guard == "always" and i < len(rules) - 1:
                    found += [f"{role}/{kind}: {r.guard}->{r.action}" for r in rules[i + 1 :]]
    return found


def test_no_rule_follows_an_always_rule() -> None:
    assert unreachable_rules(TABLE) == []


def test_the_unreachable_rule_check_flags_a_shadowed_rule() -> None:
    shadowed: dict[Role, dict[InputKind, tuple[Rule, ...]]] = {
        Role.STANDBY: {
            InputKind.VRRP: (table.IGNORE, Rule("may_promote", Role.PROMOTING, "start_promotion"))
        }
    }
    assert unreachable_rules(shadowed) == ["standby/vrrp: may_promote->start_promotion"]


def test_every_cell_ends_in_an_always_rule() -> None:
    # With a catch-all last rule no guard combination can fall off the end of a cell.
    partial = [(r, k) for r, k in PAIRS if TABLE[r][k][-1].guard != "always"]
    assert partial == []


def test_guards_are_pure_predicates_without_side_effects() -> None:
    # A guard that assigns to state or context attributes would make the table order-dependent.
    for name, fn in GUARDS.items():
        tree = ast.parse(inspect.getsource(fn))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                pytest.fail(f"guard {name} assigns {ast.unparse(node)}")


@pytest.mark.parametrize(("role", "kind"), PAIRS, ids=[f"{r}-{k}" for r, k in PAIRS])
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), config=CONFIGS)
def test_every_role_and_input_kind_has_a_defined_outcome(
    role: Role, kind: InputKind, data: st.DataObject, config: ClusterConfig
) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    ctx = Context(config, name)
    state = data.draw(node_states(config, name, role))
    received = data.draw(inputs_for(config, name, state, kind))

    target, action = matching_rule(ctx, state, received)  # raises TransitionError if none
    events = decide(ctx, state, received)
    after = state
    for event in events:
        after = evolve(after, event)

    if target is None:
        assert action == "ignore"
        assert events == []
        assert after == state
        return
    # Not ignored: a transition always leaves a RoleChanged first and lands on the target.
    if target is not role:
        assert isinstance(events[0], ev.RoleChanged)
        assert events[0].role is target
    else:
        assert not any(isinstance(e, ev.RoleChanged) for e in events)
    assert after.role is target
    # No silent drop: an empty decision only for an observation that told nothing new.
    if not events:
        assert action in OBSERVERS, f"{role}/{kind}: {action} decided nothing"
        assert _redundant(state, received), f"{role}/{kind}: {action} dropped {received}"
    # Epochs never go backwards, whatever the input.
    assert after.max_epoch_seen >= state.max_epoch_seen
    assert after.epoch >= state.epoch


def test_a_missing_cell_raises_a_transition_error_naming_role_and_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core_helpers import cluster

    config = cluster()
    ctx = Context(config, "b")
    state = NodeState(name="b")
    compiled = dict(decider._COMPILED)
    del compiled[(Role.STANDBY, InputKind.VRRP)]
    monkeypatch.setattr(decider, "_COMPILED", compiled)
    received = inp.VrrpReported(5, VrrpStatus.MASTER, 100)
    with pytest.raises(TransitionError, match=r"vrrp-reported.*role standby") as info:
        decide(ctx, state, received)
    assert info.value.role is Role.STANDBY
    assert info.value.received == received
