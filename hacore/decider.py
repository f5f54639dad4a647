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
from hacore.roles import PeerRole, Role
from hacore.state import NodeState
from hacore.table import (
    ACTIONS,
    GUARDS,
    QUIET_PEER_HEARD_CELLS,
    TABLE,
    Action,
    Context,
    Guard,
    quiet_heartbeat,
)


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


# The compiled PEER_HEARD cells that are exactly the ones quiet_heartbeat was
# proven against (by identity: a cell replaced later, as the fuzzer's canary
# does, is not in here and always goes through its rules).
_QUIET_CELLS: dict[Role, _Compiled] = {
    role: _COMPILED[(role, InputKind.PEER_HEARD)]
    for role, cell in QUIET_PEER_HEARD_CELLS.items()
    if TABLE[role].get(InputKind.PEER_HEARD) == cell
}


def heartbeat_is_quiet(
    ctx: Context,
    state: NodeState,
    peer: str,
    role: PeerRole,
    epoch: int,
    committed: int,
    changes: int,
    judging: bool,
    follows: str,
) -> bool:
    """True only if ``step`` on ``PeerHeard(at, peer, role, epoch, committed, changes,
    judging, follows)`` would return no events (at any ``at``): nothing to log, no
    state change, no effect. A runtime may then skip building and deciding it.
    ``False`` means only "decide it"."""
    cell = _QUIET_CELLS.get(state.role)
    return (
        cell is not None
        and _COMPILED.get((state.role, InputKind.PEER_HEARD)) is cell
        and quiet_heartbeat(ctx, state, peer, role, epoch, committed, changes, judging, follows)
    )


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
    if rules is _QUIET_CELLS.get(state.role) and type(received) is inp.PeerHeard:
        # The commonest input, a heartbeat repeating what is known: no rule but
        # the final observe can match, and it observes nothing (see quiet_heartbeat).
        if quiet_heartbeat(
            ctx,
            state,
            received.peer,
            received.role,
            received.epoch,
            received.committed,
            received.changes,
            received.judging,
            received.follows,
        ):
            return []
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
    "heartbeat_is_quiet",
    "initial_state",
    "matching_rule",
    "step",
]
