"""``evolve(state, event) -> state``: pure and total.

Replaying a log is a fold of this function. It never decides anything: each
branch applies exactly the fact its event records, so an old log replays to
the same state under a newer decider (decisions may drift; facts do not).
"""

from __future__ import annotations

from hacore import codegen
from hacore import events as ev
from hacore.roles import PeerRole, PlanKind, Policy, VrrpStatus
from hacore.state import ArmedTimer, NodeState, PeerView, PlanProgress

# Copies of the state with some fields changed (generated: hacore.codegen). The
# specialised copiers, fields set positionally, are for the replay's most
# frequent events; the rest go through the general replacer.
_replace_state = codegen.slot_replacer(NodeState)
_set_timers = codegen.slot_copier(NodeState, "timers")
_set_timers_next = codegen.slot_copier(NodeState, "timers", "next_timer_id")
_set_plan = codegen.slot_copier(NodeState, "plan")
_set_role = codegen.slot_copier(NodeState, "role")
_set_vrrp = codegen.slot_copier(NodeState, "vrrp", "vrrp_priority")
_set_plan_step = codegen.slot_copier(PlanProgress, "index", "attempt")
_set_committed = codegen.slot_copier(NodeState, "committed")
_set_plan_next = codegen.slot_copier(NodeState, "plan", "next_plan_id")
_set_peers_seen = codegen.slot_copier(NodeState, "peers", "max_epoch_seen")
_set_epoch = codegen.slot_copier(NodeState, "epoch", "max_epoch_seen")
_replace_peer = codegen.slot_replacer(PeerView)


def _with_peer(state: NodeState, view: PeerView) -> tuple[PeerView, ...]:
    others = [p for p in state.peers if p.name != view.name]
    others.append(view)
    others.sort(key=lambda p: p.name)
    return tuple(others)


def evolve(state: NodeState, event: ev.Event) -> NodeState:
    t = type(event)
    if t is ev.TimerArmed:
        assert isinstance(event, ev.TimerArmed)
        armed = ArmedTimer(event.timer_id, event.purpose, event.due)
        next_id = state.next_timer_id
        return _set_timers_next(
            state,
            (*state.timers, armed),
            next_id if next_id > event.timer_id else event.timer_id + 1,
        )
    if t is ev.TimerDisarmed:
        assert isinstance(event, ev.TimerDisarmed)
        timer_id = event.timer_id
        return _set_timers(state, tuple([a for a in state.timers if a.timer_id != timer_id]))
    if t is ev.StepStarted:
        assert isinstance(event, ev.StepStarted)
        if state.plan is None:
            return state
        return _set_plan(state, _set_plan_step(state.plan, event.index, event.attempt))
    if t is ev.StepCompleted:
        assert isinstance(event, ev.StepCompleted)
        if state.plan is None:
            return state
        return _set_plan(state, _set_plan_step(state.plan, event.index + 1, 0))
    if t is ev.RoleChanged:
        assert isinstance(event, ev.RoleChanged)
        return _set_role(state, event.role)
    if t is ev.VrrpObserved:
        assert isinstance(event, ev.VrrpObserved)
        return _set_vrrp(state, event.state, event.priority)
    if t is ev.PlanStarted:
        assert isinstance(event, ev.PlanStarted)
        plan = PlanProgress(event.plan_id, event.kind, event.steps, 0, 0, event.bootstrap_allowed)
        return _set_plan_next(state, plan, max(state.next_plan_id, event.plan_id + 1))
    if t is ev.PlanFinished:
        assert isinstance(event, ev.PlanFinished)
        promoted = state.plan is not None and state.plan.kind is not PlanKind.DEMOTION
        if state.promotion_parked and promoted and event.outcome == "completed":
            return _replace_state(state, plan=None, promotion_parked=False)
        return _set_plan(state, None)
    if t is ev.PeerObserved:
        assert isinstance(event, ev.PeerObserved)
        view = PeerView(
            event.peer, event.role, event.epoch, event.committed, event.changes, True, event.follows
        )
        peers = _with_peer(state, view)
        if state.promotion_parked:
            old = state.peer(event.peer)
            if old is None or not old.reachable:  # contact: a promotion may succeed now
                state = _replace_state(state, promotion_parked=False)
        return _set_peers_seen(state, peers, max(state.max_epoch_seen, event.epoch))
    if t is ev.ProgressObserved:
        assert isinstance(event, ev.ProgressObserved)
        return _set_committed(state, event.committed)
    if t is ev.EpochOpened:
        assert isinstance(event, ev.EpochOpened)
        return _set_epoch(state, event.epoch, max(state.max_epoch_seen, event.epoch))
    if t is ev.StepAttemptFailed:
        return state  # the retry (or the failure) is its own event
    if t is ev.PeerUnreachable:
        assert isinstance(event, ev.PeerUnreachable)
        old = state.peer(event.peer)
        if old is None:
            view = PeerView(event.peer, PeerRole.STANDBY, 0, 0, 0, False)
        else:
            view = _replace_peer(old, reachable=False)
        at_loss = state.committed if state.committed_at_loss is None else state.committed_at_loss
        return _replace_state(state, peers=_with_peer(state, view), committed_at_loss=at_loss)
    if t is ev.ContactSynced:
        # The episode is over: count changes afresh, advertise live facts again.
        return _replace_state(
            state, committed_at_loss=None, split_committed=None, split_changes=0, judging=False
        )
    if t is ev.SplitBrainDetected:
        assert isinstance(event, ev.SplitBrainDetected)
        return _replace_state(
            state,
            split_peer=event.peer,
            split_peer_epoch=event.peer_epoch,
            split_winner="",
            judging=event.policy is not Policy.MANUAL,
            split_committed=event.committed,
            split_changes=event.changes,
        )
    if t is ev.SplitBrainResolved:
        assert isinstance(event, ev.SplitBrainResolved)
        return _replace_state(state, split_winner=event.winner, judging=False)
    if t is ev.Frozen:
        assert isinstance(event, ev.Frozen)
        # The SplitBrainDetected just before it recorded the peer's epoch.
        pair = (event.peer, state.split_peer_epoch if event.peer == state.split_peer else 0)
        against = state.frozen_against
        if pair not in against:
            against = tuple(sorted((*against, pair)))
        return _replace_state(state, frozen=True, frozen_against=against)
    if t is ev.Unfrozen:
        return _replace_state(state, frozen=False, frozen_against=())
    if t is ev.PriorityYielded:
        return _replace_state(state, priority_yielded=True)
    if t is ev.PriorityRestored:
        return _replace_state(state, priority_yielded=False)
    if t is ev.QuorumLost:
        return _replace_state(state, quorum_lost=True)
    if t is ev.QuorumRegained:
        return _replace_state(state, quorum_lost=False)
    if t is ev.PromotionDeferred or t is ev.OperatorRejected or t is ev.VrrpLowerPriorityHeard:
        return state
    if t is ev.NodeBooted:
        # The VRRP state before the restart is unknown now; ask, do not assume.
        return _replace_state(state, vrrp=VrrpStatus.INIT, promotion_parked=False)
    if t is ev.SplitBrainCleared:
        # The peer and epoch judged stay recorded, so later messages from the
        # same (old) active do not open the same split-brain again.
        return _replace_state(state, split_winner="", judging=False)
    if t is ev.HoldDownStarted:
        assert isinstance(event, ev.HoldDownStarted)
        return _replace_state(state, hold_down_until=event.until)
    if t is ev.ServiceHealthChanged:
        assert isinstance(event, ev.ServiceHealthChanged)
        others = tuple(x for x in state.unhealthy if x is not event.service)
        if not event.healthy:
            return _replace_state(state, unhealthy=tuple(sorted((*others, event.service))))
        # All healthy again: the next fault gets the whole budget.
        if others:
            return _replace_state(state, unhealthy=others)
        return _replace_state(state, unhealthy=(), service_repairs=0, promotion_parked=False)
    if t is ev.ServiceRepairStarted:
        assert isinstance(event, ev.ServiceRepairStarted)
        return _replace_state(state, service_repairs=event.attempt)
    if t is ev.ServiceFaultStanding:
        return state
    if t is ev.PromotionParked:
        return _replace_state(state, promotion_parked=True)
    raise TypeError(f"evolve: not an event: {event!r}")


__all__ = ["evolve"]
