"""The decider's shortcut for quiet heartbeats never changes a decision.

``hacore.table.quiet_heartbeat`` answers "this PeerHeard decides nothing"
without trying the PEER_HEARD guards; ``decide`` uses it for the commonest
input. This holds it to the full table: whenever the shortcut says "quiet",
running the cell's rules in order must produce no events.
"""

from __future__ import annotations

import dataclasses

from core_helpers import cluster, node_states
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hacore import events as ev
from hacore import inputs as inp
from hacore.decider import _COMPILED, decide
from hacore.inputs import InputKind
from hacore.roles import Mode, PeerRole, Policy, Role
from hacore.state import NodeState
from hacore.table import Context, quiet_heartbeat


def full_table_decision(ctx: Context, state: NodeState, received: inp.PeerHeard) -> list[object]:
    """The cell's rules in order, without any shortcut (decide's contract)."""
    for guard, target, action, name in _COMPILED[(state.role, InputKind.PEER_HEARD)]:
        if guard(ctx, state, received):
            if target is None:
                return []
            events: list[object] = list(action(ctx, state, received))
            if target is not state.role:
                events.insert(0, ev.RoleChanged(received.at, target, name.replace("_", " ")))
            return events
    raise AssertionError("no rule matched")


@st.composite
def quiet_candidates(draw: st.DrawFn) -> tuple[Context, NodeState, inp.PeerHeard]:
    n = draw(st.sampled_from([2, 3, 5]))
    config = cluster(
        n,
        mode=draw(st.sampled_from(list(Mode))),
        policy=draw(st.sampled_from(list(Policy))),
        witness=draw(st.sampled_from([None, "w"])),
    )
    role = draw(st.sampled_from(list(Role)))
    state = draw(node_states(config, "a", role))
    names = sorted({*(p.name for p in state.peers), *(s.name for s in config.nodes[1:])})
    follows_choices = ["", "a", *names]
    peers = tuple(
        dataclasses.replace(p, follows=draw(st.sampled_from(follows_choices))) for p in state.peers
    )
    # Mostly a calm node hearing an exact repeat of a stored view (the case the
    # shortcut is for, and the one where it must not be wrong); sometimes not.
    calm = draw(st.integers(0, 4)) > 0
    state = dataclasses.replace(
        state,
        peers=peers,
        judging=False if calm else draw(st.booleans()),
        split_committed=None if calm else draw(st.none() | st.integers(0, 5)),
        committed_at_loss=None if calm else state.committed_at_loss,
        quorum_lost=False if calm else state.quorum_lost,
    )
    assume(state.peers)
    view = draw(st.sampled_from(state.peers))
    if calm:
        state = dataclasses.replace(
            state,
            peers=tuple(dataclasses.replace(p, reachable=True) if p is view else p for p in peers),
        )
        view = dataclasses.replace(view, reachable=True)
    exact = calm or draw(st.booleans())
    heard = inp.PeerHeard(
        at=draw(st.integers(0, 10**9)),
        peer=view.name,
        role=view.role if exact else draw(st.sampled_from(list(PeerRole))),
        epoch=view.epoch if exact else draw(st.integers(0, 50)),
        committed=view.committed,
        changes=view.changes,
        judging=False if calm else draw(st.booleans()),
        follows=(
            view.follows
            if exact and draw(st.integers(0, 2)) > 0
            else draw(st.sampled_from(follows_choices))
        ),
    )
    return Context(config, "a"), state, heard


@settings(max_examples=1500, deadline=None)
@given(case=quiet_candidates())
def test_a_quiet_heartbeat_decides_nothing_under_the_full_table(
    case: tuple[Context, NodeState, inp.PeerHeard],
) -> None:
    ctx, state, heard = case
    quiet = quiet_heartbeat(
        ctx,
        state,
        heard.peer,
        heard.role,
        heard.epoch,
        heard.committed,
        heard.changes,
        heard.judging,
        heard.follows,
    )
    full = full_table_decision(ctx, state, heard)
    if quiet:
        assert full == [], (state, heard, full)
    # decide() (shortcut or not) agrees with the full table either way.
    assert decide(ctx, state, heard) == full
