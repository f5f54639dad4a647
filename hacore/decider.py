"""The decider: ``decide``, ``evolve`` and effects, bound into one pure step.

Contract (etcd raft's Step/Ready/Advance, as functions):

1. ``events = decide(ctx, state, input)`` — pure; looks the input up in the
   transition table and runs the first rule whose guard holds.
2. The caller appends the input and ``events`` to the durable log *before*
   anything else happens (:class:`hacore.log.InMemoryLog` or the SQLite store).
3. ``state = fold(evolve, events)``; ``effects = effects_of(state, events)`` —
   only then may the runtime act.

:func:`step` does 1 and 3 for callers that hold the log themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore import events as ev
from hacore import inputs as inp
from hacore.config import ClusterConfig
from hacore.effects import Effect, effects_of
from hacore.evolve import evolve
from hacore.inputs import InputKind
from hacore.roles import Role
from hacore.state import NodeState
from hacore.table import ACTIONS, GUARDS, TABLE, Action, Context, Guard


class TransitionError(RuntimeError):
    """The table has no decision for this input in this role (a bug, not bad luck)."""

    def __init__(self, role: Role, state: NodeState, received: inp.Input) -> None:
        super().__init__(
            f"no transition for input {received.TYPE} ({received.KIND}) in role {role}; "
            f"state={state!r}; input={received!r}"
        )
        self.role = role
        self.state = state
        self.received = received


_Compiled = tuple[tuple[Guard, Role | None, Action, str], ...]
_COMPILED: dict[tuple[Role, InputKind], _Compiled] = {
    (role, kind): tuple(
        (GUARDS[rule.guard], rule.target, ACTIONS[rule.action], rule.action) for rule in rules
    )
    for role, cells in TABLE.items()
    for kind, rules in cells.items()
}


def matching_rule(ctx: Context, state: NodeState, received: inp.Input) -> tuple[Role | None, str]:
    """The (target, action) of the rule that decides ``received`` now."""
    rules = _COMPILED.get((state.role, received.KIND))
    if rules is None:
        raise TransitionError(state.role, state, received)
    for guard, target, _action, name in rules:
        if guard(ctx, state, received):
            return target, name
    raise TransitionError(state.role, state, received)


def decide(ctx: Context, state: NodeState, received: inp.Input) -> list[ev.Event]:
    rules = _COMPILED.get((state.role, received.KIND))
    if rules is None:
        raise TransitionError(state.role, state, received)
    for guard, target, action, name in rules:
        if guard(ctx, state, received):
            if target is None:
                return []
            events = action(ctx, state, received)
            if target is not state.role:
                events.insert(0, ev.RoleChanged(received.at, target, name.replace("_", " ")))
            return events
    raise TransitionError(state.role, state, received)


def apply(state: NodeState, events: list[ev.Event]) -> NodeState:
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True, slots=True)
class Decision:
    state: NodeState
    events: tuple[ev.Event, ...]
    effects: tuple[Effect, ...]


def step(ctx: Context, state: NodeState, received: inp.Input) -> Decision:
    events = decide(ctx, state, received)
    if not events:
        return Decision(state, (), ())
    after = apply(state, events)
    return Decision(after, tuple(events), tuple(effects_of(after, events)))


def initial_state(config: ClusterConfig, node: str) -> NodeState:
    config.node(node)  # KeyError with a clear message for an unknown node
    return NodeState(name=node)


__all__ = [
    "Context",
    "Decision",
    "TransitionError",
    "apply",
    "decide",
    "initial_state",
    "matching_rule",
    "step",
]
