"""``evolve(state, event) -> state``: pure and total.

Replaying a log is a fold of this function. It never decides anything: each
branch applies exactly the fact its event records, so an old log replays to
the same state under a newer decider (decisions may drift; facts do not).
"""

from __future__ import annotations

from dataclasses import replace

from hacore import events as ev
from hacore.roles import PeerRole, Role, VrrpStatus
from hacore.state import ArmedTimer, NodeState, PeerView, PlanProgress


def _with_peer(state: NodeState, view: PeerView) -> tuple[PeerView, ...]:
    others = [p for p in state.peers if p.name != view.name]
    others.append(view)
    others.sort(key=lambda p: p.name)
    return tuple(others)


def evolve(state: NodeState, event: ev.Event) -> NodeState:
    t = type(event)
    if t is ev.PeerObserved:
        assert isinstance(event, ev.PeerObserved)
        view = PeerView(event.peer, event.role, event.epoch, event.committed, event.changes, True)
        peers = _with_peer(state, view)
        return replace(state, peers=peers, max_epoch_seen=max(state.max_epoch_seen, event.epoch))
    if t is ev.TimerArmed:
        assert isinstance(event, ev.TimerArmed)
        armed = ArmedTimer(event.timer_id, event.purpose, event.due)
        return replace(
            state,
            timers=(*state.timers, armed),
            next_timer_id=max(state.next_timer_id, event.timer_id + 1),
        )
    if t is ev.TimerDisarmed:
        assert isinstance(event, ev.TimerDisarmed)
        timers = tuple(a for a in state.timers if a.timer_id != event.timer_id)
        return replace(state, timers=timers)
    if t is ev.VrrpObserved:
        assert isinstance(event, ev.VrrpObserved)
        return replace(state, vrrp=event.state, vrrp_priority=event.priority)
    if t is ev.ProgressObserved:
        assert isinstance(event, ev.ProgressObserved)
        return replace(state, committed=event.committed)
    if t is ev.RoleChanged:
        assert isinstance(event, ev.RoleChanged)
        return replace(state, role=event.role)
    if t is ev.EpochOpened:
        assert isinstance(event, ev.EpochOpened)
        return replace(
            state, epoch=event.epoch, max_epoch_seen=max(state.max_epoch_seen, event.epoch)
        )
    if t is ev.PlanStarted:
        assert isinstance(event, ev.PlanStarted)
        plan = PlanProgress(event.plan_id, event.kind, event.steps, 0, 0, event.bootstrap_allowed)
        return replace(state, plan=plan, next_plan_id=max(state.next_plan_id, event.plan_id + 1))
    if t is ev.StepStarted:
        assert isinstance(event, ev.StepStarted)
        if state.plan is None:
            return state
        return replace(state, plan=replace(state.plan, index=event.index, attempt=event.attempt))
    if t is ev.StepCompleted:
        assert isinstance(event, ev.StepCompleted)
        if state.plan is None:
            return state
        return replace(state, plan=replace(state.plan, index=event.index + 1, attempt=0))
    if t is ev.StepAttemptFailed:
        return state  # the retry (or the failure) is its own event
    if t is ev.PlanFinished:
        return replace(state, plan=None)
    if t is ev.PeerUnreachable:
        assert isinstance(event, ev.PeerUnreachable)
        old = state.peer(event.peer)
        if old is None:
            view = PeerView(event.peer, PeerRole.STANDBY, 0, 0, 0, False)
        else:
            view = replace(old, reachable=False)
        at_loss = state.committed if state.committed_at_loss is None else state.committed_at_loss
        return replace(state, peers=_with_peer(state, view), committed_at_loss=at_loss)
    if t is ev.ContactSynced:
        return replace(state, committed_at_loss=None)
    if t is ev.SplitBrainDetected:
        assert isinstance(event, ev.SplitBrainDetected)
        return replace(
            state, split_peer=event.peer, split_peer_epoch=event.peer_epoch, split_winner=""
        )
    if t is ev.SplitBrainResolved:
        assert isinstance(event, ev.SplitBrainResolved)
        return replace(state, split_winner=event.winner)
    if t is ev.Frozen:
        return replace(state, frozen=True)
    if t is ev.Unfrozen:
        return replace(state, frozen=False)
    if t is ev.PriorityYielded:
        return replace(state, priority_yielded=True)
    if t is ev.PriorityRestored:
        return replace(state, priority_yielded=False)
    if t is ev.QuorumLost:
        return replace(state, quorum_lost=True)
    if t is ev.QuorumRegained:
        return replace(state, quorum_lost=False)
    if t is ev.PromotionDeferred or t is ev.OperatorRejected:
        return state
    if t is ev.NodeBooted:
        # The VRRP state before the restart is unknown now; ask, do not assume.
        return replace(state, vrrp=VrrpStatus.INIT)
    if t is ev.SplitBrainCleared:
        # The peer and epoch judged stay recorded, so later messages from the
        # same (old) active do not open the same split-brain again.
        return replace(state, split_winner="")
    if t is ev.HoldDownStarted:
        assert isinstance(event, ev.HoldDownStarted)
        return replace(state, hold_down_until=event.until)
    raise TypeError(f"evolve: not an event: {event!r}")


def replay(initial: NodeState, events: list[ev.Event]) -> NodeState:
    state = initial
    for event in events:
        state = evolve(state, event)
    return state


__all__ = ["Role", "evolve", "replay"]
