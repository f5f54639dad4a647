"""The table's guard conditions written a second time, from the rules in words.

tests/test_transitions_differential.py drives a `transitions` machine whose
conditions are these functions, not hacore.guards: a guard of the core that
drifts from what its rule says (a flipped comparison, a forgotten field, a
vote counted that should not be) makes the machine and the core end in
different roles. Nothing here imports hacore.guards, hacore.facts or
hacore.splitbrain; each condition is written from the table's header and the
inputs' meaning, in a different style (dicts of views, explicit loops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hacore import inputs as inp
from hacore.context import Context
from hacore.roles import Command, Mode, PeerRole, Policy, Role, TimerPurpose, VrrpStatus
from hacore.state import NodeState

Spec = Callable[[Context, NodeState, Any], bool]
MASTER = VrrpStatus.MASTER


def _is_data_node(ctx: Context, name: str) -> bool:
    return name in {spec.name for spec in ctx.config.nodes}


def _votes(ctx: Context, state: NodeState, i: Any) -> int:
    """Me, plus every peer reachable after this input whose vote is nobody's or mine."""
    views = {p.name: (p.reachable, p.follows) for p in state.peers}
    if isinstance(i, inp.PeerHeard):
        views[i.peer] = (True, i.follows)
    elif isinstance(i, inp.PeerLost) and i.peer in views:
        views[i.peer] = (False, views[i.peer][1])
    count = 1
    for reachable, follows in views.values():
        if reachable and follows in ("", ctx.node):
            count += 1
    return count


def _quorum(ctx: Context, state: NodeState, i: Any) -> bool:
    return 2 * _votes(ctx, state, i) > ctx.config.voters


def _contact_now(state: NodeState, i: Any) -> bool:
    """A peer message from someone this node had no reachable view of."""
    if not isinstance(i, inp.PeerHeard):
        return False
    reachable = {p.name for p in state.peers if p.reachable}
    return i.peer not in reachable


def _may_promote(ctx: Context, state: NodeState, i: Any) -> bool:
    vrrp = i.state if isinstance(i, inp.VrrpReported) else state.vrrp
    if vrrp != MASTER or state.frozen or i.at < state.hold_down_until:
        return False
    if state.promotion_parked and not _contact_now(state, i):
        return False  # parked for want of contact: only contact unparks it
    return ctx.config.mode is not Mode.SAFETY_FIRST or _quorum(ctx, state, i)


def _purpose(state: NodeState, i: Any) -> TimerPurpose | None:
    return {t.timer_id: t.purpose for t in state.timers}.get(i.timer_id)


def _current(state: NodeState, i: Any) -> bool:
    plan = state.plan
    if plan is None:
        return False
    return (plan.plan_id, plan.steps[plan.index] if plan.index < len(plan.steps) else None) == (
        i.plan_id,
        i.step,
    ) and plan.attempt == i.attempt


def _retries_left(ctx: Context, state: NodeState) -> bool:
    return state.plan is not None and state.plan.attempt < ctx.config.timing.max_attempts


def _overtaken(state: NodeState, i: Any) -> bool:
    """Says active in an epoch the stored view shows it has already left."""
    view = {p.name: p for p in state.peers}.get(i.peer)
    if view is None or i.role != PeerRole.ACTIVE:
        return False
    left = view.role in (PeerRole.DEMOTING, PeerRole.STANDBY, PeerRole.FAULT)
    return left and view.epoch == i.epoch


def _contest_left(state: NodeState, i: Any) -> bool:
    """After this message, some reachable peer is active in an epoch not mine."""
    if i.role == PeerRole.ACTIVE and i.epoch != state.epoch and not _overtaken(state, i):
        return True
    for p in state.peers:
        if p.name != i.peer and p.reachable and p.role == PeerRole.ACTIVE:
            if p.epoch != state.epoch:
                return True
    return False


def _another_active(ctx: Context, state: NodeState, i: Any) -> bool:
    """A data node claims active in an epoch not mine, not the one already judged,
    and not one this node is already frozen against."""
    if i.role != PeerRole.ACTIVE or not _is_data_node(ctx, i.peer) or i.epoch == state.epoch:
        return False
    if (state.split_peer, state.split_peer_epoch) == (i.peer, i.epoch):
        return False
    return (i.peer, i.epoch) not in set(state.frozen_against) and not _overtaken(state, i)


def _facts_known(ctx: Context, state: NodeState, i: Any) -> bool:
    if ctx.config.policy is Policy.MANUAL or not i.judging or _overtaken(state, i):
        return False
    return _another_active(ctx, state, i) or (state.judging and state.split_peer == i.peer)


def _side_wins(policy: Policy, me: tuple[Any, ...], them: tuple[Any, ...]) -> bool:
    """(name, epoch, priority, address, committed, changes): does ``me`` beat ``them``?"""
    name, epoch, prio, addr, committed, changes = me
    o_name, o_epoch, o_prio, o_addr, o_committed, o_changes = them
    if policy is Policy.HIGHEST_EPOCH and epoch != o_epoch:
        return bool(epoch > o_epoch)
    if policy is Policy.MOST_COMMITTED and committed != o_committed:
        return bool(committed > o_committed)
    if policy is Policy.ZERO_CHANGES and (changes > 0) != (o_changes > 0):
        return bool(changes > 0)
    if prio != o_prio:
        return bool(prio > o_prio)
    if addr != o_addr:
        return bool(addr > o_addr)
    return bool(name > o_name)


def _i_win(ctx: Context, state: NodeState, i: Any) -> bool:
    if isinstance(i, inp.PeerHeard):
        peer, role, epoch, committed, changes = i.peer, i.role, i.epoch, i.committed, i.changes
    else:
        views = {p.name: p for p in state.peers}
        if state.split_peer not in views:
            return True  # nobody's facts contest mine
        v = views[state.split_peer]
        peer, role, epoch, committed, changes = v.name, v.role, v.epoch, v.committed, v.changes
    sent_frozen_facts = isinstance(i, inp.PeerHeard) and i.judging
    if role != PeerRole.ACTIVE and not sent_frozen_facts:
        return True  # the peer gave up (and sent no facts to judge)
    if ctx.config.policy is Policy.MANUAL:
        return False
    mine = ctx.config.node(ctx.node)
    theirs = ctx.config.node(peer)
    frozen = state.split_committed is not None
    me = (
        ctx.node,
        state.epoch,
        mine.priority,
        mine.address_number,
        state.split_committed if frozen else state.committed,
        state.split_changes if frozen else state.changes,
    )
    them = (peer, epoch, theirs.priority, theirs.address_number, committed, changes)
    return _side_wins(ctx.config.policy, me, them)


def _everyone_reachable_with(state: NodeState, peer: str) -> bool:
    return not [p for p in state.peers if not p.reachable and p.name != peer]


def _split_judge_armed(state: NodeState) -> bool:
    return TimerPurpose.SPLIT_JUDGE in {t.purpose for t in state.timers}


STEP = 64  # the position step of the table's header


def _only_position(ctx: Context, state: NodeState, i: Any) -> bool:
    """Everything the same but a position a little ahead, and nothing pending."""
    view = {p.name: p for p in state.peers}.get(i.peer)
    if view is None or not view.reachable or _pending(state, i):
        return False
    rest = (view.role, view.epoch, view.changes, view.follows)
    return rest == (i.role, i.epoch, i.changes, i.follows) and (
        view.committed < i.committed < view.committed + STEP
    )


def _pending(state: NodeState, i: Any) -> bool:
    return bool(
        i.judging
        or state.judging
        or state.quorum_lost
        or state.committed_at_loss is not None
        or state.split_committed is not None
    )


def _quiet(ctx: Context, state: NodeState, i: Any) -> bool:
    """A heartbeat that repeats the stored view (up to a position a little ahead)
    while nothing is pending, and that none of the role's own rules could act on."""
    view = {p.name: p for p in state.peers}.get(i.peer)
    if view is None or not view.reachable:
        return False
    same = (view.role, view.epoch, view.changes, view.follows) == (
        i.role,
        i.epoch,
        i.changes,
        i.follows,
    ) and (view.committed == i.committed or _only_position(ctx, state, i))
    pending = (
        i.judging
        or state.judging
        or state.quorum_lost
        or state.committed_at_loss is not None
        or state.split_committed is not None
    )
    if not same or pending:
        return False
    if state.role is Role.STANDBY and state.vrrp == MASTER:
        return False
    if state.role is Role.ACTIVE and (i.role == PeerRole.ACTIVE or _split_judge_armed(state)):
        return False
    if state.role in (Role.PROMOTING, Role.ACTIVE):  # the roles that can lose quorum
        return ctx.config.mode is not Mode.SAFETY_FIRST or _quorum(ctx, state, i)
    return True


SPEC: dict[str, Spec] = {
    "always": lambda ctx, state, i: True,
    "unknown_peer": lambda ctx, state, i: (
        i.peer == ctx.node or (i.peer != ctx.config.witness and not _is_data_node(ctx, i.peer))
    ),
    "quiet_heartbeat": _quiet,
    "only_position_moved": _only_position,
    "regains_quorum": lambda ctx, state, i: state.quorum_lost and _quorum(ctx, state, i),
    "restores_contact": lambda ctx, state, i: (
        (state.committed_at_loss is not None or state.split_committed is not None)
        and not state.judging
        and not (state.role is Role.ACTIVE and _contest_left(state, i))
        and _everyone_reachable_with(state, i.peer)
    ),
    "may_promote": _may_promote,
    "quorum_lost_after": lambda ctx, state, i: (
        ctx.config.mode is Mode.SAFETY_FIRST
        and not state.quorum_lost
        and not _quorum(ctx, state, i)
    ),
    "vrrp_master": lambda ctx, state, i: i.state == MASTER,
    "vrrp_not_master": lambda ctx, state, i: i.state != MASTER,
    "split_brain_winner_holds_vip": lambda ctx, state, i: (
        i.state == MASTER and bool(state.split_winner)
    ),
    "vip_held_not_judging": lambda ctx, state, i: i.state == MASTER and not state.judging,
    "split_brain_won": lambda ctx, state, i: (
        i.state == VrrpStatus.BACKUP and state.split_winner == ctx.node
    ),
    "frozen": lambda ctx, state, i: state.frozen,
    "may_be_split_brain": lambda ctx, state, i: (
        i.state == VrrpStatus.BACKUP and any(not p.reachable for p in state.peers)
    ),
    "split_brain_manual": lambda ctx, state, i: (
        ctx.config.policy is Policy.MANUAL and _another_active(ctx, state, i)
    ),
    "split_brain_winner": lambda ctx, state, i: (
        _facts_known(ctx, state, i) and _i_win(ctx, state, i)
    ),
    "split_brain_loser": _facts_known,
    "split_brain_opened": _another_active,
    "awaited_peer_not_active": lambda ctx, state, i: (
        _split_judge_armed(state)
        and i.role != PeerRole.ACTIVE
        and state.vrrp != MASTER
        and _everyone_reachable_with(state, i.peer)
    ),
    "current_step": lambda ctx, state, i: _current(state, i),
    "current_last_step": lambda ctx, state, i: (
        _current(state, i)
        and state.plan is not None
        and state.plan.index == len(state.plan.steps) - 1
    ),
    "current_step_retry_left": lambda ctx, state, i: (
        _current(state, i) and _retries_left(ctx, state)
    ),
    "armed_timer": lambda ctx, state, i: _purpose(state, i) is not None,
    "retry_timer": lambda ctx, state, i: _purpose(state, i) is TimerPurpose.STEP_RETRY,
    "step_timeout": lambda ctx, state, i: _purpose(state, i) is TimerPurpose.STEP_TIMEOUT,
    "step_timeout_retry_left": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.STEP_TIMEOUT and _retries_left(ctx, state)
    ),
    "hold_down_timer_may_promote": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.HOLD_DOWN and _may_promote(ctx, state, i)
    ),
    "hold_down_timer_while_master": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.HOLD_DOWN and state.vrrp == MASTER
    ),
    "fault_hold_timer": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.FAULT_HOLD and not state.promotion_parked
    ),
    "parked_contact_regained": lambda ctx, state, i: (
        state.promotion_parked and _contact_now(state, i)
    ),
    "fault_hold_timer_may_promote": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.FAULT_HOLD and _may_promote(ctx, state, i)
    ),
    "self_fence_due": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.SELF_FENCE and state.quorum_lost
    ),
    "vip_handover_expired": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.VIP_HANDOVER and state.vrrp != MASTER
    ),
    "split_judge_expired": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.SPLIT_JUDGE and state.vrrp != MASTER
    ),
    "judge_expired_winner": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.SPLIT_JUDGE and state.judging and _i_win(ctx, state, i)
    ),
    "judge_expired_loser": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.SPLIT_JUDGE and state.judging
    ),
    "switchover": lambda ctx, state, i: i.command == Command.SWITCHOVER and not state.frozen,
    "resolve_for_me": lambda ctx, state, i: (
        i.command == Command.RESOLVE and state.frozen and i.target == ctx.node
    ),
    "resolve_for_peer": lambda ctx, state, i: (
        i.command == Command.RESOLVE
        and state.frozen
        and i.target != ctx.node
        and _is_data_node(ctx, i.target)
    ),
    "clear_fault": lambda ctx, state, i: i.command == Command.CLEAR_FAULT,
    "service_fault_opened": lambda ctx, state, i: (
        bool((set(state.unhealthy) - {i.service}) | ({i.service} if not i.healthy else set()))
        and TimerPurpose.SERVICE_GRACE not in {t.purpose for t in state.timers}
    ),
    "service_fault_due": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.SERVICE_GRACE
        and len(state.unhealthy) > 0
        and state.service_repairs < 3  # hacore.health's budget, written again
    ),
    "service_fault_budget_spent": lambda ctx, state, i: (
        _purpose(state, i) is TimerPurpose.SERVICE_GRACE and len(state.unhealthy) > 0
    ),
}
