"""The quiet-heartbeat rule never changes a decision.

Every ``PeerHeard`` cell of the table starts with the rule
``Rule(guards.quiet_heartbeat, None, ignore)``: it answers "this heartbeat
decides nothing" without trying the cell's other guards. This holds it to the
rest of the cell: whenever it fires, the cell's remaining rules, in order, must
produce no events too; and ``decide`` (with the rule) always agrees with the
cell without it.
"""

from __future__ import annotations

import dataclasses

from core_helpers import cluster, node_states
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hacore import events as ev
from hacore import guards
from hacore import inputs as inp
from hacore.context import Context
from hacore.decider import decide, heartbeat_is_quiet
from hacore.roles import Mode, PeerRole, Policy, Role
from hacore.state import NodeState
from hacore.table import QUIET, TABLE

STEP = guards.POSITION_STEP
POSITION_MOVES = (0, 0, 0, 1, 7, STEP - 1, STEP, STEP + 3, -1)


def full_table_decision(ctx: Context, state: NodeState, received: inp.PeerHeard) -> list[ev.Event]:
    """The cell's rules after the quiet rule, in order: the plain path."""
    cell = TABLE[state.role][inp.PeerHeard]
    assert cell[0] is QUIET, "every PeerHeard cell starts with the quiet rule"
    for rule in cell[1:]:
        if rule.guard(ctx, state, received):
            return rule.fire(ctx, state, received)
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
        # The same position, or moved (a small step forward is ignored outside
        # episodes by only_position_moved, which the quiet rule answers too).
        committed=view.committed + draw(st.sampled_from(POSITION_MOVES)),
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
    quiet = guards.quiet_heartbeat(ctx, state, heard)
    full = full_table_decision(ctx, state, heard)
    if quiet:
        assert full == [], (state, heard, full)
    # The runtime's question (asked without building the input) is the same rule.
    fields = (heard.peer, heard.role, heard.epoch, heard.committed, heard.changes)
    assert heartbeat_is_quiet(ctx, state, *fields, heard.judging, heard.follows) == quiet
    # decide() (with the quiet rule first) agrees with the plain path either way.
    assert decide(ctx, state, heard) == full
