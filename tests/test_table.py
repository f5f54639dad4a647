"""The transition table is complete: every (role, input kind) pair is decided on purpose."""

from __future__ import annotations

import ast
import inspect

import pytest
from core_helpers import CONFIGS, inputs_for, node_states
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hacore import actions, guards, table
from hacore import events as ev
from hacore import inputs as inp
from hacore.config import ClusterConfig
from hacore.context import Context
from hacore.decider import TransitionError, decide, matching_rule
from hacore.evolve import evolve
from hacore.roles import Role, VrrpStatus
from hacore.state import NodeState
from hacore.table import TABLE, Rule, cell_of

# The table's columns: every input type that is not a subclass of another one
# (VrrpLowerPriorityReported is a VrrpReported and shares its cell).
COLUMNS = [
    t for t in inp.INPUT_TYPES if not any(b is not t and issubclass(t, b) for b in inp.INPUT_TYPES)
]
PAIRS = [(role, column) for role in Role for column in COLUMNS]
RULES = [rule for cells in TABLE.values() for rules in cells.values() for rule in rules]

# Actions that observe and may legitimately decide nothing when the input
# repeats what the state already holds (such inputs are not even logged).
OBSERVERS = {
    "observe_vrrp",
    "observe_peer",
    "observe_peer_lost",
    "observe_progress",
    "stop_awaiting_peer_facts",
    "observe_service",
}


def _is_rule_function(module: object, name: str, fn: object) -> bool:
    """A public function defined in ``module`` with a rule's signature (ctx, state, i)."""
    return (
        inspect.isfunction(fn)
        and not name.startswith("_")
        and fn.__module__ == getattr(module, "__name__", "")
        and list(inspect.signature(fn).parameters) == ["ctx", "state", "i"]
    )


def _redundant(state: NodeState, received: inp.Input) -> bool:
    """True when ``received`` tells the node nothing it does not already know.

    Written from the inputs' meaning, not from the actions: every field a peer
    sends is compared (its vote, ``follows``, included), and a message flagged
    ``judging`` from the peer whose split-brain this node is judging carries
    the frozen facts it waits for: never nothing.
    """
    if isinstance(received, inp.VrrpLowerPriorityReported):
        return False  # recorded (VrrpLowerPriorityHeard) even when MASTER is no news
    if isinstance(received, inp.VrrpReported):
        return received.state == state.vrrp and received.priority == state.vrrp_priority
    if isinstance(received, inp.LocalProgress):
        return received.committed == state.committed
    if isinstance(received, inp.ServiceReported):
        return (received.service not in state.unhealthy) == received.healthy
    if isinstance(received, inp.PeerLost):
        view = state.peer(received.peer)
        return view is not None and not view.reachable
    if isinstance(received, inp.PeerHeard):
        view = state.peer(received.peer)
        awaited = received.judging and state.judging and state.split_peer == received.peer
        heard = (received.role, received.epoch, received.committed, received.changes)
        return (
            view is not None
            and view.reachable
            and not awaited
            and (view.role, view.epoch, view.committed, view.changes) == heard
            and view.follows == received.follows
        )
    return False


def test_every_role_has_a_cell_for_every_input_type() -> None:
    missing = [(r, t.__name__) for r, t in PAIRS if t not in TABLE.get(r, {})]
    assert missing == []
    # ...and every input type, subclasses included, finds one.
    assert [(r, t) for r in Role for t in inp.INPUT_TYPES if cell_of(r, t) is None] == []
    assert set(t for cells in TABLE.values() for t in cells) == set(COLUMNS)


def test_every_rule_holds_a_guard_of_the_guards_module_and_an_action_of_the_actions_module() -> (
    None
):
    foreign = [
        rule
        for rule in RULES
        if rule.guard.__module__ != guards.__name__ or rule.action.__module__ != actions.__name__
    ]
    assert foreign == []


def test_every_guard_and_action_defined_is_used_by_some_rule() -> None:
    defined_guards = {fn for n, fn in vars(guards).items() if _is_rule_function(guards, n, fn)}
    defined_actions = {fn for n, fn in vars(actions).items() if _is_rule_function(actions, n, fn)}
    assert len(defined_guards) > 30 and len(defined_actions) > 30  # the scan finds them
    assert {fn.__name__ for fn in defined_guards - {r.guard for r in RULES}} == set()
    assert {fn.__name__ for fn in defined_actions - {r.action for r in RULES}} == set()


def unreachable_rules(cells: dict[Role, dict[type[inp.Input], tuple[Rule, ...]]]) -> list[str]:
    """Rules that follow an "always" rule in their cell: they can never match."""
    found: list[str] = []
    for role, by_type in cells.items():
        for input_type, rules in by_type.items():
            for i, rule in enumerate(rules):
                if rule.guard is guards.always and i < len(rules) - 1:
                    found += [
                        f"{role}/{input_type.__name__}: {r.guard.__name__}->{r.action.__name__}"
                        for r in rules[i + 1 :]
                    ]
    return found


def test_no_rule_follows_an_always_rule() -> None:
    assert unreachable_rules(TABLE) == []


def test_the_unreachable_rule_check_flags_a_shadowed_rule() -> None:
    shadowed: dict[Role, dict[type[inp.Input], tuple[Rule, ...]]] = {
        Role.STANDBY: {
            inp.VrrpReported: (
                table.IGNORE,
                Rule(guards.may_promote, Role.PROMOTING, actions.start_promotion),
            )
        }
    }
    assert unreachable_rules(shadowed) == ["standby/VrrpReported: may_promote->start_promotion"]


def test_every_cell_ends_in_an_always_rule() -> None:
    # With a catch-all last rule no guard combination can fall off the end of a cell.
    partial = [(r, t) for r, t in PAIRS if TABLE[r][t][-1].guard is not guards.always]
    assert partial == []


def test_guards_are_pure_predicates_without_side_effects() -> None:
    # A guard that assigns to state or context attributes would make the table order-dependent.
    for fn in {rule.guard for rule in RULES}:
        tree = ast.parse(inspect.getsource(fn))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                pytest.fail(f"guard {fn.__name__} assigns {ast.unparse(node)}")


@pytest.mark.parametrize(("role", "column"), PAIRS, ids=[f"{r}-{t.KIND}" for r, t in PAIRS])
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), config=CONFIGS)
def test_every_role_and_input_type_has_a_defined_outcome(
    role: Role, column: type[inp.Input], data: st.DataObject, config: ClusterConfig
) -> None:
    kind = column.KIND
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    ctx = Context(config, name)
    state = data.draw(node_states(config, name, role))
    received = data.draw(inputs_for(config, name, state, kind))

    rule = matching_rule(ctx, state, received)  # raises TransitionError if none
    target, action = rule.target, rule.action.__name__
    events = decide(ctx, state, received)
    after = state
    for event in events:
        after = evolve(after, event)

    if target is None:
        assert action == "ignore"
        assert events == []
        assert after == state
        if rule is table.QUIET:  # ignored as a repeat: it must really be one
            assert _redundant(state, received), f"{role}: a heartbeat with news ignored"
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
    # The whole role's cells are swapped (not one key deleted and put back, which
    # would move it to the end of the dict and reorder every later reader).
    cells = {t: rules for t, rules in TABLE[Role.STANDBY].items() if t is not inp.VrrpReported}
    monkeypatch.setitem(TABLE, Role.STANDBY, cells)
    received = inp.VrrpReported(5, VrrpStatus.MASTER, 100)
    with pytest.raises(TransitionError, match=r"vrrp-reported.*role standby") as info:
        decide(ctx, state, received)
    assert info.value.role is Role.STANDBY
    assert info.value.received == received
