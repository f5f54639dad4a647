"""Guards: the conditions of the transition table's rules.

A guard is a pure predicate on ``(context, state, input)``: it reads, it never
writes, and it is asked only for inputs of the cell its rule sits in (a
``TimerFired`` guard may assume a ``TimerFired``). The table in
:mod:`hacore.table` refers to each guard by the function itself, so an editor
goes from a rule straight here; the name says when the rule applies. Derived
facts a guard shares with an action (votes, the split-brain winner) live in
:mod:`hacore.facts`.
"""

from __future__ import annotations

from hacore import facts
from hacore import inputs as inp
from hacore.context import Context
from hacore.health import MAX_SERVICE_REPAIRS
from hacore.roles import Command, Mode, PeerRole, Policy, Role, TimerPurpose, VrrpStatus
from hacore.state import NodeState

# ---------------------------------------------------------------------------
# Any cell
# ---------------------------------------------------------------------------


def always(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The cell's catch-all: every cell ends with it, so no input falls off a cell."""
    return True


def unknown_peer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The message names no node (nor the witness) of the configuration, or this node."""
    assert isinstance(i, inp.PeerHeard | inp.PeerLost)
    return i.peer == ctx.node or (
        i.peer != ctx.config.witness and all(n.name != i.peer for n in ctx.config.nodes)
    )


# ---------------------------------------------------------------------------
# Heartbeats: the commonest input
# ---------------------------------------------------------------------------

# How far (in commits) a peer's position must have moved since its recorded
# view for a heartbeat outside any episode to be recorded for that alone (the
# table's position rule). The view's position lags the peer by less than this.
POSITION_STEP = 64


def _position_news(recorded: int, heard: int) -> bool:
    """The position moved back, or forward by POSITION_STEP or more."""
    return not 0 <= heard - recorded < POSITION_STEP


def heartbeat_repeats_known_facts(
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
    """True only if no later rule of this role's ``PeerHeard`` cell can record anything.

    Nearly every heartbeat repeats what the node already knows. This is the
    cheapest first rule of every ``PeerHeard`` cell, and it takes the message's
    fields (not a ``PeerHeard``) so that a runtime can ask before building the
    input (:func:`hacore.decider.heartbeat_is_quiet`). ``False`` means "not
    sure": the later rules decide. It holds when, for the rules after it:

    * the message equals the stored, reachable view of the peer, or differs
      only by a forward move of the peer's position below
      :data:`POSITION_STEP`, which :func:`only_position_moved` ignores under
      the next condition (no ``PeerObserved`` either way);
    * no contact episode is open and nothing is being judged (no
      ``ContactSynced``; no split-brain judgement can be made);
    * quorum is not lost (no ``QuorumRegained``) and, in safety-first mode
      where a ``quorum_lost_after`` rule exists (promoting, active), the votes
      after this message still make a majority;
    * standby: VRRP is not MASTER (``may_promote`` cannot hold);
    * active: the peer does not claim to be active (no split-brain rule can
      match) and no split-judge timer is armed (``awaited_peer_not_active``).

    ``at`` is read by no later rule except through these conditions (the
    hold-down only gates ``may_promote``, excluded by the VRRP condition).
    tests/test_quiet_heartbeat.py holds it to the rest of every cell.
    """
    if judging or state.judging:
        return False
    if state.committed_at_loss is not None or state.split_committed is not None:
        return False
    if state.quorum_lost:
        return False
    view = state.peer(peer)
    if (
        view is None
        or not view.reachable
        or view.role is not role
        or view.epoch != epoch
        or _position_news(view.committed, committed)
        or view.changes != changes
        or view.follows != follows
    ):
        return False
    mine = state.role
    if mine is Role.STANDBY:
        return state.vrrp != VrrpStatus.MASTER
    if mine is Role.ACTIVE:
        if role == PeerRole.ACTIVE or state.timer_for(TimerPurpose.SPLIT_JUDGE) is not None:
            return False
    elif mine is not Role.PROMOTING:
        return mine is Role.DEMOTING or mine is Role.FAULT
    if ctx.config.mode is not Mode.SAFETY_FIRST:
        return True
    # The message repeats the peer's stored vote: the votes after it are the votes now.
    return facts.votes_now(ctx, state) >= ctx.config.majority


def quiet_heartbeat(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The heartbeat repeats what is known and changes nothing (see above)."""
    assert isinstance(i, inp.PeerHeard)
    return heartbeat_repeats_known_facts(
        ctx, state, i.peer, i.role, i.epoch, i.committed, i.changes, i.judging, i.follows
    )


def only_position_moved(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The heartbeat's only news is a forward move of the peer's position below
    :data:`POSITION_STEP`, and nothing is open that reads a peer's position: no
    contact episode, no split-brain judgement on either side, no quorum loss."""
    assert isinstance(i, inp.PeerHeard)
    if (
        i.judging
        or state.judging
        or state.quorum_lost
        or state.committed_at_loss is not None
        or state.split_committed is not None
    ):
        return False
    view = state.peer(i.peer)
    return (
        view is not None
        and view.reachable
        and view.role is i.role
        and view.epoch == i.epoch
        and view.changes == i.changes
        and view.follows == i.follows
        and view.committed != i.committed
        and not _position_news(view.committed, i.committed)
    )


def regains_quorum(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Quorum was lost, and with this peer's vote the node holds a majority again."""
    return state.quorum_lost and facts.has_quorum_after(ctx, state, i)


def restores_contact(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Every peer is reachable again and nothing is left to judge: the contact
    episode (opened by the first loss, or by a split-brain) ends here.

    An active that hears, or still knows, another active of a different epoch
    is in a contest (a split-brain the active cell's rules judge), never in sync.
    """
    assert isinstance(i, inp.PeerHeard)
    episode = state.committed_at_loss is not None or state.split_committed is not None
    if not episode or state.judging:
        return False
    if state.role is Role.ACTIVE and facts.other_active_after(state, i):
        return False  # every other active must be judged on the facts we froze
    return all(p.reachable or p.name == i.peer for p in state.peers)


# ---------------------------------------------------------------------------
# Promotion and quorum
# ---------------------------------------------------------------------------


def may_promote(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """VRRP master (after this input), not frozen, no hold-down, quorum if safety-first."""
    return facts.promotion_blocker(ctx, state, i) == ""


def quorum_lost_after(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Safety-first, and this input takes the node below a majority of votes."""
    return (
        ctx.config.mode is Mode.SAFETY_FIRST
        and not state.quorum_lost
        and not facts.has_quorum_after(ctx, state, i)
    )


# ---------------------------------------------------------------------------
# VRRP reports
# ---------------------------------------------------------------------------


def vrrp_master(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.MASTER


def vrrp_not_master(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.VrrpReported)
    return i.state != VrrpStatus.MASTER


def split_brain_winner_holds_vip(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """VRRP master again after winning a split-brain: the loser has yielded the VIP.

    (A winner is never still judging: the resolution ends the judgement.)
    """
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.MASTER and state.split_winner != ""


def vip_held_not_judging(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """VRRP master with no split-brain being judged: any wait for peer facts is over."""
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.MASTER and not state.judging


def split_brain_won(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Won a split-brain the VRRP election went the other way on: the loser is
    yielding its priority and VRRP will follow, so the role is held."""
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.BACKUP and state.split_winner == ctx.node


def frozen(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Frozen by a manual split-brain: only the operator moves this node."""
    return state.frozen


def may_be_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The VIP went to another node while a peer is unreachable: perhaps a heal.

    VRRP settles in milliseconds after a partition heals, before any peer
    message arrives; demoting now would let that race, not the split-brain
    policy, pick the survivor.
    """
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.BACKUP and any(not p.reachable for p in state.peers)


# ---------------------------------------------------------------------------
# Split-brain: another active heard
# ---------------------------------------------------------------------------


def split_brain_manual(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.new_split_brain(ctx, state, i) and ctx.config.policy is Policy.MANUAL


def split_brain_winner(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Both sides' frozen facts are known and the policy picks this node."""
    return facts.judgeable(ctx, state, i) and facts.split_brain_winner(ctx, state, i) == ctx.node


def split_brain_loser(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Both sides' frozen facts are known (after the winner rule: the peer won)."""
    return facts.judgeable(ctx, state, i)


def split_brain_opened(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Another active heard whose frozen facts are not known yet."""
    return facts.new_split_brain(ctx, state, i)


def awaited_peer_not_active(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Waiting for facts after losing the VIP, and the peer that comes back is not
    active: no split-brain, an ordinary loss of the election."""
    assert isinstance(i, inp.PeerHeard)
    return (
        state.timer_for(TimerPurpose.SPLIT_JUDGE) is not None
        and i.role != PeerRole.ACTIVE
        and state.vrrp != VrrpStatus.MASTER
        and all(p.reachable or p.name == i.peer for p in state.peers)
    )


# ---------------------------------------------------------------------------
# Plans: step results for the running attempt
# ---------------------------------------------------------------------------


def current_step(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.matches_current_step(state, i)


def current_last_step(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return (
        facts.matches_current_step(state, i) and state.plan is not None and state.plan.is_last_step
    )


def current_step_retry_left(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return (
        facts.matches_current_step(state, i)
        and state.plan is not None
        and state.plan.attempt < ctx.config.timing.max_attempts
    )


# ---------------------------------------------------------------------------
# Timers: only an armed timer counts (a stale one is ignored)
# ---------------------------------------------------------------------------


def armed_timer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.TimerFired)
    return state.timer(i.timer_id) is not None


def retry_timer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.timer_is(state, i, TimerPurpose.STEP_RETRY)


def step_timeout(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.timer_is(state, i, TimerPurpose.STEP_TIMEOUT)


def step_timeout_retry_left(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return (
        facts.timer_is(state, i, TimerPurpose.STEP_TIMEOUT)
        and state.plan is not None
        and state.plan.attempt < ctx.config.timing.max_attempts
    )


def hold_down_timer_may_promote(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The hold-down ended and nothing else blocks a promotion (keepalived does
    not re-notify a MASTER it already reported)."""
    return facts.timer_is(state, i, TimerPurpose.HOLD_DOWN) and may_promote(ctx, state, i)


def hold_down_timer_while_master(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The hold-down ended while VRRP makes the node master, but something else
    (a freeze, the quorum) still blocks the promotion."""
    return facts.timer_is(state, i, TimerPurpose.HOLD_DOWN) and state.vrrp is VrrpStatus.MASTER


def fault_hold_timer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The fault hold ended: run the demotion again, unless the promotion is
    parked for want of contact (isolated, its demotion would fail the same way
    for ever: Gluster's resync needs a peer brick); then contact does it."""
    return facts.timer_is(state, i, TimerPurpose.FAULT_HOLD) and not state.promotion_parked


def parked_contact_regained(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """In fault with a parked promotion, a message from a peer it did not reach."""
    return state.promotion_parked and facts.regains_contact(state, i)


def fault_hold_timer_may_promote(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """A single survivor gets no new VRRP report or peer message when its fault
    hold ends: if VRRP still makes it master, it promotes now (not after a
    promotion parked for want of contact: it would fail the same way)."""
    return facts.timer_is(state, i, TimerPurpose.FAULT_HOLD) and may_promote(ctx, state, i)


def self_fence_due(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.timer_is(state, i, TimerPurpose.SELF_FENCE) and state.quorum_lost


def vip_handover_expired(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.timer_is(state, i, TimerPurpose.VIP_HANDOVER) and state.vrrp != VrrpStatus.MASTER


def split_judge_expired(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.timer_is(state, i, TimerPurpose.SPLIT_JUDGE) and state.vrrp != VrrpStatus.MASTER


def judge_expired_winner(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The peer's frozen facts never came: judge on its last ones, and this node wins."""
    return (
        facts.timer_is(state, i, TimerPurpose.SPLIT_JUDGE)
        and state.judging
        and facts.split_brain_winner(ctx, state, i) == ctx.node
    )


def judge_expired_loser(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return facts.timer_is(state, i, TimerPurpose.SPLIT_JUDGE) and state.judging


# ---------------------------------------------------------------------------
# Operator commands
# ---------------------------------------------------------------------------


def switchover(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.OperatorCommand)
    return i.command == Command.SWITCHOVER and not state.frozen


def resolve_for_me(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.OperatorCommand)
    return i.command == Command.RESOLVE and state.frozen and i.target == ctx.node


def resolve_for_peer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Any other data node: with three or more actives a node is frozen against
    several, and the operator's one choice must settle every one of them."""
    assert isinstance(i, inp.OperatorCommand)
    return (
        i.command == Command.RESOLVE
        and state.frozen
        and i.target != ctx.node
        and any(spec.name == i.target for spec in ctx.config.nodes)
    )


def clear_fault(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.OperatorCommand)
    return i.command == Command.CLEAR_FAULT


# ---------------------------------------------------------------------------
# Service faults on the active (hacore.health)
# ---------------------------------------------------------------------------


def service_fault_opened(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """A service is unhealthy after this report and its grace is not running yet."""
    return facts.unhealthy_after(state, i) and state.timer_for(TimerPurpose.SERVICE_GRACE) is None


def service_fault_due(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The service grace ended, a service is still unhealthy, and the budget of
    yields is not spent."""
    return (
        facts.timer_is(state, i, TimerPurpose.SERVICE_GRACE)
        and bool(state.unhealthy)
        and state.service_repairs < MAX_SERVICE_REPAIRS
    )


def service_fault_budget_spent(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """The service grace ended with a service still unhealthy (after the rule
    above: no yield is left)."""
    return facts.timer_is(state, i, TimerPurpose.SERVICE_GRACE) and bool(state.unhealthy)
