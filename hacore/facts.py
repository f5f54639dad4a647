"""Facts derived from (context, state, input): what both guards and actions need.

A guard asks "does this rule apply?" and an action writes what happened; both
often need the same derived fact — the votes this node holds once the input is
counted, why a promotion is blocked, who wins a split-brain. Each fact is
computed here, once, so that a guard and the action it admits can never
disagree about it. Everything here is pure and reads only its arguments.
"""

from __future__ import annotations

from hacore import inputs as inp
from hacore.context import Context
from hacore.roles import Mode, PeerRole, Policy, TimerPurpose, VrrpStatus
from hacore.splitbrain import SideFacts, choose_winner
from hacore.state import NodeState


def vrrp_after(state: NodeState, i: inp.Input) -> VrrpStatus:
    """The VRRP state once this input is taken in (a report replaces the stored one)."""
    return i.state if isinstance(i, inp.VrrpReported) else state.vrrp


def _vote(reachable: bool, follows: str, me: str) -> int:
    """A reachable peer's vote counts only if the peer follows nobody or this
    node: reachability alone is not a vote, or a bridge node seen by both sides
    of a non-transitive partition would give each side a "majority"."""
    return 1 if reachable and (follows == "" or follows == me) else 0


def votes_now(ctx: Context, state: NodeState) -> int:
    """Votes this node holds now, its own included."""
    me = ctx.node
    return 1 + sum(_vote(view.reachable, view.follows, me) for view in state.peers)


def votes_after(ctx: Context, state: NodeState, i: inp.Input) -> int:
    """Votes this node holds (its own included) once this input is taken into account."""
    votes = votes_now(ctx, state)
    if not isinstance(i, inp.PeerHeard | inp.PeerLost):
        return votes
    me = ctx.node
    old = state.peer(i.peer)
    before = 0 if old is None else _vote(old.reachable, old.follows, me)
    after = _vote(True, i.follows, me) if isinstance(i, inp.PeerHeard) else 0
    return votes - before + after


def has_quorum_after(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return votes_after(ctx, state, i) >= ctx.config.majority


def regains_contact(state: NodeState, i: inp.Input) -> bool:
    """A message from a peer this node did not reach until now."""
    if not isinstance(i, inp.PeerHeard):
        return False
    view = state.peer(i.peer)
    return view is None or not view.reachable


def promotion_blocker(ctx: Context, state: NodeState, i: inp.Input) -> str:
    """Why this node may not promote now ("" when it may)."""
    if vrrp_after(state, i) != VrrpStatus.MASTER:
        return "not VRRP master"
    if state.frozen:
        return "frozen by a manual split-brain"
    if i.at < state.hold_down_until:
        return f"hold-down until {state.hold_down_until}"
    if state.promotion_parked and not regains_contact(state, i):
        return "the last promotion failed for want of contact: waiting for a peer"
    if ctx.config.mode is Mode.SAFETY_FIRST and not has_quorum_after(ctx, state, i):
        votes = votes_after(ctx, state, i)
        return f"no quorum ({votes} of {ctx.config.majority} votes needed)"
    return ""


def unhealthy_after(state: NodeState, i: inp.Input) -> bool:
    """Some local service is unhealthy once this input is taken in."""
    if not isinstance(i, inp.ServiceReported):
        return bool(state.unhealthy)
    return not i.healthy or any(x is not i.service for x in state.unhealthy)


def timer_is(state: NodeState, i: inp.Input, purpose: TimerPurpose) -> bool:
    """The fired timer is armed now (not stale) and was armed for ``purpose``."""
    assert isinstance(i, inp.TimerFired)
    armed = state.timer(i.timer_id)
    return armed is not None and armed.purpose is purpose


def matches_current_step(state: NodeState, i: inp.Input) -> bool:
    """A step result for the running attempt of the running step (not a late one)."""
    assert isinstance(i, inp.StepSucceeded | inp.StepFailed)
    plan = state.plan
    return (
        plan is not None
        and plan.plan_id == i.plan_id
        and plan.current_step == i.step
        and plan.attempt == i.attempt
    )


_LEFT_ACTIVE = (PeerRole.DEMOTING, PeerRole.STANDBY, PeerRole.FAULT)


def stale_active(state: NodeState, i: inp.PeerHeard) -> bool:
    """The peer claims to be active in an epoch it has already left: an old message
    overtaken by a newer one (the network reorders). A node becomes active only
    through a promotion, which opens a new epoch, so "active in e" after
    "demoting/standby/fault in e" cannot be news. Judging on it would re-open a
    split-brain the peer has already settled, on facts it no longer holds."""
    if i.role != PeerRole.ACTIVE:
        return False
    view = state.peer(i.peer)
    return view is not None and view.epoch == i.epoch and view.role in _LEFT_ACTIVE


def other_active_after(state: NodeState, i: inp.PeerHeard) -> bool:
    """Once this message is taken in, some reachable peer claims to be active in
    an epoch other than ours: a split-brain is (still) in contest.

    Every such peer counts, not only the sender: with three or more actives a
    node that has judged one of them must keep the facts it froze (and
    advertised) until it has judged the others, or it would judge them on
    fresh facts the others never saw (issue 12: two losers naming each other).
    """
    if i.role == PeerRole.ACTIVE and i.epoch != state.epoch and not stale_active(state, i):
        return True
    return any(
        view.name != i.peer
        and view.reachable
        and view.role is PeerRole.ACTIVE
        and view.epoch != state.epoch
        for view in state.peers
    )


def new_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """This message reveals another active this node has not yet judged nor frozen against.

    Only a data node can be the other active: a witness (garbd, qdevice) that
    claims "active" is confused, not a split-brain, and has no facts to judge.
    A frozen node stays frozen against every active it has recorded: hearing
    one of them again is not a new split-brain (with three or more actives the
    single ``split_peer`` would otherwise alternate between them: a livelock).
    """
    assert isinstance(i, inp.PeerHeard)
    return (
        i.role == PeerRole.ACTIVE
        and any(spec.name == i.peer for spec in ctx.config.nodes)
        and i.epoch != state.epoch
        and not (state.split_peer == i.peer and state.split_peer_epoch == i.epoch)
        and (i.peer, i.epoch) not in state.frozen_against
        and not stale_active(state, i)
    )


def own_facts(ctx: Context, state: NodeState) -> SideFacts:
    """This node's facts: the frozen ones during a split-brain episode."""
    me = ctx.spec
    if state.split_committed is not None:
        committed, changes = state.split_committed, state.split_changes
    else:
        committed, changes = state.committed, state.changes
    return SideFacts(me.name, state.epoch, me.priority, me.address_number, committed, changes)


def split_peer_facts(
    ctx: Context, state: NodeState, i: inp.Input
) -> tuple[SideFacts, PeerRole] | None:
    """The split peer's facts and role: from its message, or the last one heard."""
    if isinstance(i, inp.PeerHeard):
        name, role, epoch, committed, changes = i.peer, i.role, i.epoch, i.committed, i.changes
    else:
        view = state.peer(state.split_peer)
        if view is None:
            return None
        name, role = view.name, view.role
        epoch, committed, changes = view.epoch, view.committed, view.changes
    spec = ctx.config.node(name)
    return SideFacts(name, epoch, spec.priority, spec.address_number, committed, changes), role


def split_brain_winner(ctx: Context, state: NodeState, i: inp.Input) -> str | None:
    """The split-brain winner from the frozen facts of both sides."""
    found = split_peer_facts(ctx, state, i)
    if found is None:
        return ctx.node  # no facts of the peer at all: nobody contests
    theirs, role = found
    frozen = isinstance(i, inp.PeerHeard) and i.judging
    if role != PeerRole.ACTIVE and not frozen:
        return ctx.node  # the peer no longer contends (it demoted, lost, or failed)
    # The peer's frozen facts are the ones it judged this pair on: judge them by
    # the policy whatever its role now, or it and we could name different
    # winners (with three or more actives it may already be yielding to a third).
    return choose_winner(ctx.config.policy, own_facts(ctx, state), theirs)


def judgeable(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Both sides' frozen facts are known: the judgment can be made, the same on both.

    Facts move after a heal (Galera merges, counters reset), so a side judging
    on the other's *live* facts can disagree with the other side. Each side
    therefore freezes its facts when it detects the split-brain, advertises
    them flagged ``judging``, and judges only on the peer's frozen ones.
    """
    assert isinstance(i, inp.PeerHeard)
    if not i.judging or ctx.config.policy is Policy.MANUAL or stale_active(state, i):
        return False
    if new_split_brain(ctx, state, i):
        return True
    return state.judging and i.peer == state.split_peer


def peer_news(state: NodeState, i: inp.PeerHeard) -> bool:
    """The message differs from the stored, reachable view of its sender (an
    overtaken one, :func:`stale_active`, is no news: the newer view stands)."""
    old = state.peer(i.peer)
    return not stale_active(state, i) and (
        old is None
        or not old.reachable
        or old.role is not i.role
        or old.epoch != i.epoch
        or old.committed != i.committed
        or old.changes != i.changes
        or old.follows != i.follows
    )
