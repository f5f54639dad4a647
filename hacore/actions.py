"""Actions: what a rule of the transition table writes down.

An action returns the events of one decision, in order; it never changes the
role itself (the rule's target does: :class:`hacore.table.Rule` records
``RoleChanged`` first) and never looks at the role to choose what to do (a
different behaviour per role is a different rule in the table). The helpers
at the top are the parts several actions share: allocating timer and plan ids
for one decision, and taking in a VRRP report or a peer's message.
"""

from __future__ import annotations

from hacore import events as ev
from hacore import facts
from hacore import guards as g
from hacore import inputs as inp
from hacore.config import ClusterConfig, next_epoch
from hacore.context import Context
from hacore.health import service_grace_us
from hacore.plans import StepName, plan_steps
from hacore.roles import Mode, PlanKind, Policy, TimerPurpose, VrrpStatus
from hacore.state import NodeState, PlanProgress


class _Batch:
    """Allocates timer and plan ids while one decision is being written."""

    def __init__(self, state: NodeState, at: int) -> None:
        self.state = state
        self.at = at
        self.events: list[ev.Event] = []
        self._next_timer = state.next_timer_id
        self._next_plan = state.next_plan_id

    def add(self, *events: ev.Event) -> None:
        self.events.extend(events)

    def arm(self, purpose: TimerPurpose, delay_us: int) -> int:
        timer_id = self._next_timer
        self._next_timer += 1
        self.events.append(ev.TimerArmed(self.at, timer_id, purpose, self.at + delay_us))
        return timer_id

    def disarm_purpose(self, *purposes: TimerPurpose) -> None:
        for armed in self.state.timers:
            if armed.purpose in purposes:
                self.events.append(ev.TimerDisarmed(self.at, armed.timer_id))

    def new_plan_id(self) -> int:
        plan_id = self._next_plan
        self._next_plan += 1
        return plan_id


def _observe_vrrp_events(state: NodeState, i: inp.Input) -> list[ev.Event]:
    if not isinstance(i, inp.VrrpReported):
        return []
    out: list[ev.Event] = []
    if i.state != state.vrrp or i.priority != state.vrrp_priority:
        out.append(ev.VrrpObserved(i.at, i.state, i.priority))
    if isinstance(i, inp.VrrpLowerPriorityReported):
        out.append(ev.VrrpLowerPriorityHeard(i.at, i.priority))
    return out


def _observe_peer_events(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """Taking in a peer's message, the same in every rule that hears one.

    The view of the peer is updated when the message is news (``PeerObserved``)
    or the peer is newly lost (``PeerUnreachable``); when it ends the contact
    episode (:func:`hacore.guards.restores_contact`), ``ContactSynced``; when it
    restores a lost quorum (:func:`hacore.guards.regains_quorum`),
    ``QuorumRegained`` and the self-fence timer is disarmed. The table has a
    rule of its own for each of the last two, so that a reader sees them; the
    rules before those (a promotion, a split-brain) take the message in too.
    """
    out: list[ev.Event] = []
    if isinstance(i, inp.PeerHeard):
        if facts.peer_news(state, i):
            out.append(
                ev.PeerObserved(i.at, i.peer, i.role, i.epoch, i.committed, i.changes, i.follows)
            )
        if g.restores_contact(ctx, state, i):
            # The frozen facts are no longer needed and changes are counted afresh.
            out.append(ev.ContactSynced(i.at, state.committed))
        if g.regains_quorum(ctx, state, i):
            out.append(ev.QuorumRegained(i.at, facts.votes_after(ctx, state, i)))
            for armed in state.timers:
                if armed.purpose is TimerPurpose.SELF_FENCE:
                    out.append(ev.TimerDisarmed(i.at, armed.timer_id))
    elif isinstance(i, inp.PeerLost):
        old = state.peer(i.peer)
        if old is None or old.reachable:
            out.append(ev.PeerUnreachable(i.at, i.peer))
    return out


def ignore(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return []


def observe_vrrp(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return _observe_vrrp_events(state, i)


def defer_promotion(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """VRRP made this standby master, but a promotion is blocked: say why, and
    if it is the hold-down, arm a timer for its end (keepalived will not
    report the MASTER again)."""
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i))
    batch.add(ev.PromotionDeferred(i.at, facts.promotion_blocker(ctx, state, i)))
    if i.at < state.hold_down_until and state.timer_for(TimerPurpose.HOLD_DOWN) is None:
        batch.arm(TimerPurpose.HOLD_DOWN, state.hold_down_until - i.at)
    return batch.events


def stop_awaiting_peer_facts(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """The VIP is back (or kept): no wait for split-brain facts is needed any more."""
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i))
    batch.disarm_purpose(TimerPurpose.SPLIT_JUDGE)
    return batch.events


def complete_vip_handover(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """The split-brain winner holds the VIP now: the handover is complete."""
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i))
    batch.disarm_purpose(TimerPurpose.SPLIT_JUDGE)
    batch.add(ev.SplitBrainCleared(i.at))
    batch.disarm_purpose(TimerPurpose.VIP_HANDOVER)
    return batch.events


def observe_peer(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return _observe_peer_events(ctx, state, i)


def regain_quorum(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """QuorumRegained (and the self-fence timer disarmed), with the peer's news."""
    return _observe_peer_events(ctx, state, i)


def sync_contact(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """ContactSynced: the contact episode is over, with the peer's news."""
    return _observe_peer_events(ctx, state, i)


def observe_peer_lost(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return _observe_peer_events(ctx, state, i)


def observe_progress(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.LocalProgress)
    if i.committed == state.committed:
        return []
    return [ev.ProgressObserved(i.at, i.committed)]


def _observe_service_events(state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.ServiceReported)
    if (i.service not in state.unhealthy) == i.healthy:
        return []  # nothing new
    return [ev.ServiceHealthChanged(i.at, i.service, i.healthy, i.detail)]


def observe_service(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_service_events(state, i))
    if not facts.unhealthy_after(state, i):
        batch.disarm_purpose(TimerPurpose.SERVICE_GRACE)  # healthy again: nothing to repair
    return batch.events


def await_service_repair(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_service_events(state, i))
    batch.arm(TimerPurpose.SERVICE_GRACE, service_grace_us(ctx.config.timing))
    return batch.events


def repromote_for_service(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """Run the repair plan, in this epoch: the promotion's service steps that can
    run on an active (Galera: join the primary component, or form one where the
    plan may bootstrap). Not a demotion first: a demotion needs peers a lone
    survivor does not have (Gluster's resync), and would hand nobody the VIP."""
    assert isinstance(i, inp.TimerFired)
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    batch.add(ev.ServiceRepairStarted(i.at, state.unhealthy[0], state.service_repairs + 1))
    # Leaving active ends every wait that only an active has.
    batch.disarm_purpose(
        TimerPurpose.SELF_FENCE, TimerPurpose.SPLIT_JUDGE, TimerPurpose.VIP_HANDOVER
    )
    _start_plan(ctx, state, batch, PlanKind.REPAIR, _bootstrap_allowed(ctx.config))
    return batch.events


def service_fault_standing(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    return [
        ev.TimerDisarmed(i.at, i.timer_id),
        ev.ServiceFaultStanding(i.at, state.unhealthy[0], state.service_repairs),
    ]


def _start_plan(
    ctx: Context, state: NodeState, batch: _Batch, kind: PlanKind, bootstrap_allowed: bool
) -> None:
    plan_id = batch.new_plan_id()
    steps = plan_steps(kind, ctx.config)
    batch.add(ev.PlanStarted(batch.at, plan_id, kind, steps, bootstrap_allowed))
    timer = batch.arm(TimerPurpose.STEP_TIMEOUT, ctx.config.timing.step_timeout_us)
    batch.add(ev.StepStarted(batch.at, plan_id, 0, steps[0], 1, timer))


def _abandon_plan(state: NodeState, batch: _Batch, outcome: str) -> None:
    if state.plan is not None:
        batch.add(ev.PlanFinished(batch.at, state.plan.plan_id, outcome))
    batch.disarm_purpose(TimerPurpose.STEP_TIMEOUT, TimerPurpose.STEP_RETRY)


def _bootstrap_allowed(config: ClusterConfig) -> bool:
    """May this promotion force Galera primary (pc.bootstrap)?

    Bootstrap is the one step that can create a second primary component, so
    it needs both the policy and the evidence. availability-first with exactly
    two voters (the reference pair, no witness) accepts the risk: after any
    failure no side can ever hold a majority, so without bootstrap nothing
    would serve. With three or more voters a majority may be alive behind the
    partition — a timeout is uncertain, never absent — so a minority must not
    bootstrap (the fuzzer found writes lost when one did). safety-first never
    forces it: it promotes with a majority, which keeps Galera primary.
    """
    return config.mode is Mode.AVAILABILITY_FIRST and config.voters == 2


def start_promotion(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i), *_observe_peer_events(ctx, state, i))
    if isinstance(i, inp.TimerFired):
        batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    _promote(ctx, state, i, batch)
    return batch.events


def _promote(ctx: Context, state: NodeState, i: inp.Input, batch: _Batch) -> None:
    epoch = next_epoch(state.max_epoch_seen, ctx.index, len(ctx.config.nodes))
    batch.add(ev.EpochOpened(i.at, epoch))
    if state.priority_yielded:
        batch.add(ev.PriorityRestored(i.at))
    bootstrap_allowed = _bootstrap_allowed(ctx.config)
    _start_plan(ctx, state, batch, PlanKind.PROMOTION, bootstrap_allowed)


def _start_demotion(
    ctx: Context, state: NodeState, i: inp.Input, batch: _Batch, outcome: str = "aborted"
) -> None:
    _abandon_plan(state, batch, outcome)
    # Leaving active ends every wait that only an active has.
    batch.disarm_purpose(
        TimerPurpose.SELF_FENCE,
        TimerPurpose.SPLIT_JUDGE,
        TimerPurpose.VIP_HANDOVER,
        TimerPurpose.SERVICE_GRACE,
    )
    _start_plan(ctx, state, batch, PlanKind.DEMOTION, False)


def abort_promotion(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i), *_observe_peer_events(ctx, state, i))
    if isinstance(i, inp.PeerLost | inp.PeerHeard):
        batch.add(ev.QuorumLost(i.at, facts.votes_after(ctx, state, i), ctx.config.majority))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def demote_lost_vip(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i), *_observe_peer_events(ctx, state, i))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def await_peer_facts(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i))
    if state.timer_for(TimerPurpose.SPLIT_JUDGE) is None:
        batch.arm(TimerPurpose.SPLIT_JUDGE, ctx.config.timing.split_judge_us)
    return batch.events


def demote_after_restart(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(ev.NodeBooted(i.at))
    if not state.priority_yielded:
        # Its services died with it: it must not take the VIP back (preempt, a
        # higher priority) from a survivor that serves, only to demote, hold
        # down and promote again (docs/findings.md row 14). Restored when VRRP
        # makes it master again, as after a fault.
        batch.add(ev.PriorityYielded(i.at, "restarted while active"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def switchover(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(ev.PriorityYielded(i.at, "operator switchover"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def self_fence(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    batch = _Batch(state, i.at)
    # _start_demotion disarms the self-fence timer (this one) with the others.
    batch.add(ev.PriorityYielded(i.at, "self-fence: quorum lost"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def vip_handover_failed(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id), ev.SplitBrainCleared(i.at))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def arm_self_fence(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_peer_events(ctx, state, i))
    batch.add(ev.QuorumLost(i.at, facts.votes_after(ctx, state, i), ctx.config.majority))
    batch.arm(TimerPurpose.SELF_FENCE, ctx.config.timing.self_fence_us)
    return batch.events


def _detect(ctx: Context, state: NodeState, i: inp.Input, batch: _Batch) -> None:
    """Open the split-brain episode (once): record the peer and freeze our facts."""
    if not isinstance(i, inp.PeerHeard) or not facts.new_split_brain(ctx, state, i):
        return
    mine = facts.own_facts(ctx, state)
    batch.add(
        ev.SplitBrainDetected(
            i.at, i.peer, i.epoch, ctx.config.policy, mine.committed, mine.changes
        )
    )


def open_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.add(*_observe_peer_events(ctx, state, i))
    # Wait (bounded) for the peer's frozen facts; our own go out at once
    # (SplitBrainDetected is announced).
    if state.timer_for(TimerPurpose.SPLIT_JUDGE) is None:
        batch.arm(TimerPurpose.SPLIT_JUDGE, ctx.config.timing.split_judge_us)
    return batch.events


def freeze(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.PeerHeard)
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.disarm_purpose(TimerPurpose.SPLIT_JUDGE)
    batch.add(*_observe_peer_events(ctx, state, i))
    batch.add(ev.Frozen(i.at, i.peer))
    return batch.events


def _split_peer_of(state: NodeState, i: inp.Input) -> str:
    return i.peer if isinstance(i, inp.PeerHeard) else state.split_peer


def win_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    peer = _split_peer_of(state, i)
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.add(ev.SplitBrainResolved(i.at, ctx.node, peer, ctx.config.policy, "policy"))
    batch.disarm_purpose(TimerPurpose.SPLIT_JUDGE)
    batch.add(*_observe_peer_events(ctx, state, i))
    # At heal *both* sides are VRRP masters, so the last report says nothing
    # about who keeps the VIP: the re-election does (higher priority, then the
    # higher address), until the loser yields its priority.
    me, other = ctx.spec, ctx.config.node(peer)
    wins_vrrp = (me.priority, me.address_number) > (other.priority, other.address_number)
    if state.vrrp == VrrpStatus.MASTER and wins_vrrp:
        batch.add(ev.SplitBrainCleared(i.at))  # keeps the VIP: nothing to wait for
    else:
        # The VRRP election went to the loser; it yields its priority and VRRP
        # follows. Hold the role for a bounded time only.
        batch.arm(TimerPurpose.VIP_HANDOVER, ctx.config.timing.vip_handover_us)
    return batch.events


def lose_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    peer = _split_peer_of(state, i)
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.add(ev.SplitBrainResolved(i.at, peer, ctx.node, ctx.config.policy, "policy"))
    batch.add(*_observe_peer_events(ctx, state, i))
    batch.add(ev.PriorityYielded(i.at, f"lost split-brain to {peer}"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def resolve_win(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    peer = state.split_peer
    return [
        ev.SplitBrainResolved(i.at, ctx.node, peer, Policy.MANUAL, "operator"),
        ev.Unfrozen(i.at),
    ]


def resolve_lose(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.OperatorCommand)
    batch = _Batch(state, i.at)
    batch.add(ev.SplitBrainResolved(i.at, i.target, ctx.node, Policy.MANUAL, "operator"))
    batch.add(ev.Unfrozen(i.at))
    batch.add(ev.PriorityYielded(i.at, f"operator chose {i.target}"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def reject_operator(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.OperatorCommand)
    return [ev.OperatorRejected(i.at, i.command, f"not allowed while {state.role}")]


def _start_step(ctx: Context, state: NodeState, batch: _Batch, index: int, attempt: int) -> None:
    plan = state.plan
    assert plan is not None
    timer = batch.arm(TimerPurpose.STEP_TIMEOUT, ctx.config.timing.step_timeout_us)
    batch.add(ev.StepStarted(batch.at, plan.plan_id, index, plan.steps[index], attempt, timer))


def next_step(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(ev.StepCompleted(i.at, plan.plan_id, plan.index, plan.current_step))
    batch.disarm_purpose(TimerPurpose.STEP_TIMEOUT)
    _start_step(ctx, state, batch, plan.index + 1, 1)
    return batch.events


def finish_plan(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(ev.StepCompleted(i.at, plan.plan_id, plan.index, plan.current_step))
    batch.disarm_purpose(TimerPurpose.STEP_TIMEOUT)
    batch.add(ev.PlanFinished(i.at, plan.plan_id, "completed"))
    if plan.kind is PlanKind.DEMOTION:
        # Calm after a demotion: do not promote again at once (flapping trap).
        until = i.at + ctx.config.timing.hold_down_us
        batch.add(ev.HoldDownStarted(i.at, until))
        if state.vrrp is VrrpStatus.MASTER:  # keepalived may not re-notify
            batch.arm(TimerPurpose.HOLD_DOWN, ctx.config.timing.hold_down_us)
        if state.split_winner or state.judging:
            # A standby contests nothing: a won episode is over, and one still
            # awaiting the peer's frozen facts (the re-election demoted this
            # node first) has nothing left to judge. Left judging, contact
            # could never sync and the stale frozen facts would be advertised
            # and judged on in the next split-brain.
            batch.add(ev.SplitBrainCleared(i.at))
        if state.frozen:
            # Frozen means "an active awaiting the operator's choice". A node
            # that demoted anyway (it restarted, or lost its VIP) has
            # quarantined its divergent state and holds nothing to choose
            # between: staying frozen would bar it from ever promoting again
            # (found by the fuzzer: every node standby, forever).
            batch.add(ev.Unfrozen(i.at))
    elif state.unhealthy:
        # Active with a service already unhealthy (recorded before): its grace starts now.
        batch.arm(TimerPurpose.SERVICE_GRACE, service_grace_us(ctx.config.timing))
    return batch.events


def _backoff(ctx: Context, attempt: int) -> int:
    return int(ctx.config.timing.retry_backoff_us * (2 ** (attempt - 1)))


def schedule_retry(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.StepFailed)
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(
        ev.StepAttemptFailed(i.at, plan.plan_id, plan.index, plan.current_step, i.attempt, i.reason)
    )
    batch.disarm_purpose(TimerPurpose.STEP_TIMEOUT)
    batch.arm(TimerPurpose.STEP_RETRY, _backoff(ctx, i.attempt))
    return batch.events


def retry_step(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    _start_step(ctx, state, batch, plan.index, plan.attempt + 1)
    return batch.events


def timeout_retry(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    reason = "timed out (outcome uncertain; the step is idempotent, so it is re-run)"
    batch.add(
        ev.StepAttemptFailed(
            i.at, plan.plan_id, plan.index, plan.current_step, plan.attempt, reason
        )
    )
    batch.arm(TimerPurpose.STEP_RETRY, _backoff(ctx, plan.attempt))
    return batch.events


def fail_plan(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    reason = i.reason if isinstance(i, inp.StepFailed) else "timed out"
    batch.add(
        ev.StepAttemptFailed(
            i.at, plan.plan_id, plan.index, plan.current_step, plan.attempt, reason
        )
    )
    _abandon_plan(state, batch, "failed")
    if _wants_contact(ctx, state, plan):
        batch.add(ev.PromotionParked(i.at, f"{plan.current_step} failed without a majority"))
    if not state.priority_yielded:
        batch.add(ev.PriorityYielded(i.at, f"{plan.kind} failed at {plan.current_step}"))
    batch.arm(TimerPurpose.FAULT_HOLD, ctx.config.timing.fault_hold_us)
    return batch.events


def _wants_contact(ctx: Context, state: NodeState, plan: PlanProgress) -> bool:
    """A promotion failed making Galera primary with no bootstrap allowed and no
    majority of votes in reach: Galera's primary component is elsewhere or
    nowhere, and only contact with more members can change that."""
    return (
        plan.kind in (PlanKind.PROMOTION, PlanKind.REPAIR)
        and plan.current_step is StepName.MAKE_GALERA_PRIMARY
        and not plan.bootstrap_allowed
        and facts.votes_now(ctx, state) < ctx.config.majority
    )


def leave_fault_on_contact(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """A parked node hears a peer it did not reach: the demotion may complete now."""
    return [*_observe_peer_events(ctx, state, i), *leave_fault(ctx, state, i)]


def leave_fault(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.disarm_purpose(TimerPurpose.FAULT_HOLD)
    # Out of fault through the whole demotion plan: what the failed plan left
    # half-done (a resync that needed an unreachable peer) is done now. The
    # yielded priority stays: a recovered node rejoins as a calm standby and is
    # restored only when VRRP makes it master again.
    _start_demotion(ctx, state, i, batch)
    return batch.events


def disarm_timer(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """An armed timer whose purpose no longer calls for anything in this role."""
    assert isinstance(i, inp.TimerFired)
    return [ev.TimerDisarmed(i.at, i.timer_id)]


def keep_promotion_deferred(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """The hold-down is over but something else still blocks the promotion: say what."""
    assert isinstance(i, inp.TimerFired)
    return [
        ev.TimerDisarmed(i.at, i.timer_id),
        ev.PromotionDeferred(i.at, facts.promotion_blocker(ctx, state, i)),
    ]


def boot(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return [ev.NodeBooted(i.at)]


def resume_plan(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    """After a restart mid-plan: re-run the first unfinished step (it is idempotent)."""
    plan = state.plan
    batch = _Batch(state, i.at)
    batch.add(ev.NodeBooted(i.at))
    if plan is None:
        return batch.events
    # Timers of the old process are gone; start the step afresh with a new timeout.
    batch.disarm_purpose(TimerPurpose.STEP_TIMEOUT, TimerPurpose.STEP_RETRY)
    _start_step(ctx, state, batch, plan.index, plan.attempt + 1)
    return batch.events
