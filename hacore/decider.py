"""The decider: ``decide``, ``evolve`` and effects, bound into one pure step.

Contract (etcd raft's Step/Ready/Advance, as functions):

1. ``events = decide(ctx, state, input)`` — pure; looks the input up in the
   transition table (:mod:`hacore.table`) and fires the first rule whose
   guard holds. Everything the node does is in that table; this module only
   walks it.
2. The caller appends the input and ``events`` to the durable log *before*
   anything else happens (:class:`hacore.log.InMemoryLog` or the SQLite store).
3. ``state = fold(evolve, events)``; ``effects = effects_of(state, events)`` —
   only then may the runtime act.

:func:`step` does 1 and 3 for callers that hold the log themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore import events as ev
from hacore import guards as g
from hacore import inputs as inp
from hacore.config import ClusterConfig
from hacore.effects import Effect, effects_of
from hacore.evolve import evolve
from hacore.roles import PeerRole, Role
from hacore.state import NodeState
from hacore.table import TABLE, Context, Rule, cell_of


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
    ``False`` means only "decide it".

    It asks the first rule of the role's ``PeerHeard`` cell without building the
    input, and only when that rule is the quiet-heartbeat rule (a cell replaced
    by a test or a canary always goes through its own rules)."""
    cell = TABLE[state.role].get(inp.PeerHeard)
    return (
        cell is not None
        and cell[0].guard is g.quiet_heartbeat
        and g.heartbeat_repeats_known_facts(
            ctx, state, peer, role, epoch, committed, changes, judging, follows
        )
    )


def _cell(state: NodeState, received: inp.Input) -> tuple[Rule, ...]:
    rules = TABLE[state.role].get(type(received)) or cell_of(state.role, type(received))
    if rules is None:
        raise TransitionError(state.role, state, received)
    return rules


def matching_rule(ctx: Context, state: NodeState, received: inp.Input) -> Rule:
    """The rule that decides ``received`` now."""
    for rule in _cell(state, received):
        if rule.guard(ctx, state, received):
            return rule
    raise TransitionError(state.role, state, received)


def decide(ctx: Context, state: NodeState, received: inp.Input) -> list[ev.Event]:
    """The events of the first rule of the input's cell whose guard holds."""
    # _cell, inlined: this runs for every input.
    rules = TABLE[state.role].get(type(received)) or _cell(state, received)
    for rule in rules:
        if rule.guard(ctx, state, received):
            return rule.fire(ctx, state, received)
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
