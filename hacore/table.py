"""The transition table: cluster role x input kind -> ordered rules.

Theory of operation (read this before the code)
-----------------------------------------------
Every (role, input kind) pair has a cell; every cell is a tuple of rules tried
in order, and the first rule whose *guard* holds decides. A rule names the
role the node ends in (``target``) and the *action* that writes the events.
``target=None`` means the input is deliberately ignored (a stale timer, a late
step result): it is recorded as ignored here, never dropped by accident. A
missing cell is a bug, and a property test visits every pair to prove there is
none (pg_auto_failover once shipped a state pair with no edge and deadlocked).

The rules, in words:
* standby -> promoting: VRRP says MASTER (now, or still, when a later
  observation arrives: keepalived does not re-notify), no hold-down is running
  (flapping), the node is not frozen, and in ``safety-first`` a majority of
  votes is reachable. Promotion opens a new epoch above any seen.
* promoting -> active: the last step of the promotion plan succeeded.
* promoting -> demoting: VRRP lost mid-plan, or (safety-first) quorum lost.
  The demotion undoes the partial promotion; a hold-down follows.
* active -> demoting: VRRP says the node is not master (unless it just won a
  split-brain and the loser is yielding the VIP — a hold bounded by the
  vip-handover timer — or it is frozen awaiting an operator). When it loses
  the VIP while a peer is unreachable, the loss may be a partition healing
  (VRRP settles in milliseconds, before any peer message arrives): it waits,
  bounded by the split-judge timer, for the peer's facts so that the
  split-brain *policy* decides, not the race; the split-brain
  policy chose the peer; the quorum was lost for
  longer than the self-fence timeout; an operator asked for a switchover; or
  the node restarted (its services died with it and must be demoted cleanly).
* demoting -> standby: the last step of the demotion plan succeeded.
* promoting/demoting -> fault: a step failed on its last attempt or timed out.
  Fault yields the VIP. When the fault-hold timer fires (or an operator clears
  the fault) the node runs the demotion plan again from its first step: a node
  leaves fault only through a completed demotion, so a service step that
  failed for good (its peer unreachable: Gluster's resync, Galera's rejoin)
  is tried again until the node's services are a standby's, instead of being
  left half-done for good (issue 12: a Gluster split-brain mark nothing
  cleared). Every step is idempotent, so re-running the ones that did succeed
  is harmless.
* A step result or timer that does not match the current plan attempt or an
  armed timer is stale and ignored (the stale-timer trap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hacore import events as ev
from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec, next_epoch
from hacore.inputs import InputKind
from hacore.plans import plan_steps
from hacore.roles import Command, Mode, PeerRole, PlanKind, Policy, Role, TimerPurpose, VrrpStatus
from hacore.splitbrain import SideFacts, choose_winner
from hacore.state import NodeState


@dataclass(frozen=True, slots=True)
class Context:
    """What the decider knows besides its state: the cluster and who it is."""

    config: ClusterConfig
    node: str

    @property
    def spec(self) -> NodeSpec:
        return self.config.node(self.node)

    @property
    def index(self) -> int:
        return self.config.index_of(self.node)


@dataclass(frozen=True, slots=True)
class Rule:
    guard: str
    target: Role | None  # None: the input is ignored on purpose
    action: str


Guard = Callable[[Context, NodeState, inp.Input], bool]
Action = Callable[[Context, NodeState, inp.Input], list[ev.Event]]

S, P, A, D, F = Role.STANDBY, Role.PROMOTING, Role.ACTIVE, Role.DEMOTING, Role.FAULT
IGNORE = Rule("always", None, "ignore")
# A message naming no node (nor the witness) of the configuration is ignored
# on purpose: it must not count as a vote nor open a split-brain. The adapters
# reject such messages at the edge with a typed error; this rule keeps the core
# safe when one gets through.
STRANGER = Rule("unknown_peer", None, "ignore")


def _plan_cells(role: Role, done: Role) -> dict[InputKind, tuple[Rule, ...]]:
    """The cells shared by the two plan-running roles (promoting, demoting)."""
    return {
        InputKind.STEP_SUCCEEDED: (
            Rule("current_last_step", done, "finish_plan"),
            Rule("current_step", role, "next_step"),
            IGNORE,
        ),
        InputKind.STEP_FAILED: (
            Rule("current_step_retry_left", role, "schedule_retry"),
            Rule("current_step", F, "fail_plan"),
            IGNORE,
        ),
        InputKind.TIMER_FIRED: (
            Rule("retry_timer", role, "retry_step"),
            Rule("step_timeout_retry_left", role, "timeout_retry"),
            Rule("step_timeout", F, "fail_plan"),
            Rule("armed_timer", role, "disarm_timer"),
            IGNORE,
        ),
        InputKind.OPERATOR: (Rule("always", role, "reject_operator"),),
        InputKind.BOOTED: (Rule("always", role, "resume_plan"),),
        InputKind.PROGRESS: (Rule("always", role, "observe_progress"),),
        InputKind.PEER_HEARD: (
            STRANGER,
            *((Rule("quorum_lost_after", D, "abort_promotion"),) if role is P else ()),
            Rule("always", role, "observe_peer"),
        ),
    }


TABLE: dict[Role, dict[InputKind, tuple[Rule, ...]]] = {
    S: {
        InputKind.VRRP: (
            Rule("may_promote", P, "start_promotion"),
            Rule("always", S, "observe_vrrp"),
        ),
        InputKind.PEER_HEARD: (
            STRANGER,
            Rule("may_promote", P, "start_promotion"),
            Rule("always", S, "observe_peer"),
        ),
        InputKind.PEER_LOST: (STRANGER, Rule("always", S, "observe_peer_lost")),
        InputKind.STEP_SUCCEEDED: (IGNORE,),
        InputKind.STEP_FAILED: (IGNORE,),
        InputKind.TIMER_FIRED: (
            Rule("hold_down_timer_may_promote", P, "start_promotion"),
            Rule("armed_timer", S, "disarm_timer"),
            IGNORE,
        ),
        InputKind.OPERATOR: (Rule("always", S, "reject_operator"),),
        InputKind.BOOTED: (Rule("always", S, "boot"),),
        InputKind.PROGRESS: (Rule("always", S, "observe_progress"),),
    },
    P: {
        **_plan_cells(P, A),
        InputKind.VRRP: (
            Rule("vrrp_not_master", D, "abort_promotion"),
            Rule("always", P, "observe_vrrp"),
        ),
        InputKind.PEER_LOST: (
            STRANGER,
            Rule("quorum_lost_after", D, "abort_promotion"),
            Rule("always", P, "observe_peer_lost"),
        ),
    },
    A: {
        InputKind.VRRP: (
            Rule("vrrp_master", A, "observe_vrrp"),
            Rule("split_brain_won", A, "observe_vrrp"),
            Rule("frozen", A, "observe_vrrp"),
            Rule("may_be_split_brain", A, "await_peer_facts"),
            Rule("always", D, "demote_lost_vip"),
        ),
        InputKind.PEER_HEARD: (
            STRANGER,
            Rule("split_brain_manual", A, "freeze"),
            Rule("split_brain_winner", A, "win_split_brain"),
            Rule("split_brain_loser", D, "lose_split_brain"),
            Rule("split_brain_opened", A, "open_split_brain"),
            Rule("awaited_peer_not_active", D, "demote_lost_vip"),
            Rule("quorum_lost_after", A, "arm_self_fence"),
            Rule("always", A, "observe_peer"),
        ),
        InputKind.PEER_LOST: (
            STRANGER,
            Rule("quorum_lost_after", A, "arm_self_fence"),
            Rule("always", A, "observe_peer_lost"),
        ),
        InputKind.STEP_SUCCEEDED: (IGNORE,),
        InputKind.STEP_FAILED: (IGNORE,),
        InputKind.TIMER_FIRED: (
            Rule("self_fence_due", D, "self_fence"),
            Rule("vip_handover_expired", D, "vip_handover_failed"),
            Rule("judge_expired_winner", A, "win_split_brain"),
            Rule("judge_expired_loser", D, "lose_split_brain"),
            Rule("split_judge_expired", D, "demote_lost_vip"),
            Rule("armed_timer", A, "disarm_timer"),
            IGNORE,
        ),
        InputKind.OPERATOR: (
            Rule("switchover", D, "switchover"),
            Rule("resolve_for_me", A, "resolve_win"),
            Rule("resolve_for_peer", D, "resolve_lose"),
            Rule("always", A, "reject_operator"),
        ),
        InputKind.BOOTED: (Rule("always", D, "demote_after_restart"),),
        InputKind.PROGRESS: (Rule("always", A, "observe_progress"),),
    },
    D: {
        **_plan_cells(D, S),
        InputKind.VRRP: (Rule("always", D, "observe_vrrp"),),
        InputKind.PEER_LOST: (STRANGER, Rule("always", D, "observe_peer_lost")),
    },
    F: {
        InputKind.VRRP: (Rule("always", F, "observe_vrrp"),),
        InputKind.PEER_HEARD: (STRANGER, Rule("always", F, "observe_peer")),
        InputKind.PEER_LOST: (STRANGER, Rule("always", F, "observe_peer_lost")),
        InputKind.STEP_SUCCEEDED: (IGNORE,),
        InputKind.STEP_FAILED: (IGNORE,),
        InputKind.TIMER_FIRED: (
            Rule("fault_hold_timer_may_promote", P, "start_promotion"),
            Rule("fault_hold_timer", D, "leave_fault"),
            Rule("armed_timer", F, "disarm_timer"),
            IGNORE,
        ),
        InputKind.OPERATOR: (
            Rule("clear_fault", D, "leave_fault"),
            Rule("always", F, "reject_operator"),
        ),
        InputKind.BOOTED: (Rule("always", F, "boot"),),
        InputKind.PROGRESS: (Rule("always", F, "observe_progress"),),
    },
}


# ---------------------------------------------------------------------------
# Guards: pure predicates on (context, state, input).
# ---------------------------------------------------------------------------


def _vrrp_after(state: NodeState, i: inp.Input) -> VrrpStatus:
    return i.state if isinstance(i, inp.VrrpReported) else state.vrrp


def _votes_after(ctx: Context, state: NodeState, i: inp.Input) -> int:
    """Votes this node holds (its own included) once this input is taken into account.

    A reachable peer's vote counts only if the peer follows nobody or this
    node: reachability alone is not a vote, or a bridge node seen by both sides
    of a non-transitive partition would give each side a "majority".
    """
    me = ctx.node
    votes = 1
    seen = False
    for view in state.peers:
        reachable, follows = view.reachable, view.follows
        if view.name == getattr(i, "peer", None):
            seen = True
            if isinstance(i, inp.PeerHeard):
                reachable, follows = True, i.follows
            elif isinstance(i, inp.PeerLost):
                reachable = False
        if reachable and (follows == "" or follows == me):
            votes += 1
    if not seen and isinstance(i, inp.PeerHeard) and i.follows in ("", me):
        votes += 1
    return votes


def _has_quorum_after(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _votes_after(ctx, state, i) >= ctx.config.majority


def _promotion_blocker(ctx: Context, state: NodeState, i: inp.Input) -> str:
    """Why this node may not promote now ("" when it may)."""
    if _vrrp_after(state, i) != VrrpStatus.MASTER:
        return "not VRRP master"
    if state.frozen:
        return "frozen by a manual split-brain"
    if i.at < state.hold_down_until:
        return f"hold-down until {state.hold_down_until}"
    if ctx.config.mode is Mode.SAFETY_FIRST and not _has_quorum_after(ctx, state, i):
        votes = _votes_after(ctx, state, i)
        return f"no quorum ({votes} of {ctx.config.majority} votes needed)"
    return ""


def g_always(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return True


def g_unknown_peer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.PeerHeard | inp.PeerLost)
    return i.peer == ctx.node or (
        i.peer != ctx.config.witness and all(n.name != i.peer for n in ctx.config.nodes)
    )


def g_may_promote(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _promotion_blocker(ctx, state, i) == ""


def g_hold_down_timer_may_promote(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.TimerFired)
    armed = state.timer(i.timer_id)
    return (
        armed is not None
        and armed.purpose is TimerPurpose.HOLD_DOWN
        and _promotion_blocker(ctx, state, i) == ""
    )


def _matches_current(state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.StepSucceeded | inp.StepFailed)
    plan = state.plan
    return (
        plan is not None
        and plan.plan_id == i.plan_id
        and plan.current_step == i.step
        and plan.attempt == i.attempt
    )


def g_current_step(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _matches_current(state, i)


def g_current_last_step(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _matches_current(state, i) and state.plan is not None and state.plan.is_last_step


def g_current_step_retry_left(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return (
        _matches_current(state, i)
        and state.plan is not None
        and state.plan.attempt < ctx.config.timing.max_attempts
    )


def _timer_is(state: NodeState, i: inp.Input, purpose: TimerPurpose) -> bool:
    assert isinstance(i, inp.TimerFired)
    armed = state.timer(i.timer_id)
    return armed is not None and armed.purpose is purpose


def g_armed_timer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.TimerFired)
    return state.timer(i.timer_id) is not None


def g_retry_timer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.STEP_RETRY)


def g_step_timeout(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.STEP_TIMEOUT)


def g_step_timeout_retry_left(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return (
        _timer_is(state, i, TimerPurpose.STEP_TIMEOUT)
        and state.plan is not None
        and state.plan.attempt < ctx.config.timing.max_attempts
    )


def g_fault_hold_timer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.FAULT_HOLD)


def g_fault_hold_timer_may_promote(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    # A single survivor gets no new VRRP notification or peer message when its
    # fault hold ends: if VRRP still makes it master, promote now.
    return _timer_is(state, i, TimerPurpose.FAULT_HOLD) and g_may_promote(ctx, state, i)


def g_self_fence_due(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.SELF_FENCE) and state.quorum_lost


def g_vip_handover_expired(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.VIP_HANDOVER) and state.vrrp != VrrpStatus.MASTER


def g_may_be_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.BACKUP and any(not p.reachable for p in state.peers)


def g_awaited_peer_not_active(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    # Waiting for facts after losing the VIP, and the peer that comes back is not
    # active: no split-brain, an ordinary loss of the election. Demote now.
    assert isinstance(i, inp.PeerHeard)
    return (
        state.timer_for(TimerPurpose.SPLIT_JUDGE) is not None
        and i.role != PeerRole.ACTIVE
        and state.vrrp != VrrpStatus.MASTER
        and all(p.reachable or p.name == i.peer for p in state.peers)
    )


def g_split_judge_expired(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.SPLIT_JUDGE) and state.vrrp != VrrpStatus.MASTER


def g_vrrp_not_master(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.VrrpReported)
    return i.state != VrrpStatus.MASTER


def g_vrrp_master(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.MASTER


def g_split_brain_won(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    # Won a split-brain the VRRP election went the other way on: hold the role
    # while the loser yields its priority; VRRP will follow.
    assert isinstance(i, inp.VrrpReported)
    return i.state == VrrpStatus.BACKUP and state.split_winner == ctx.node


def g_frozen(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return state.frozen


def _new_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.PeerHeard)
    # Only a data node can be the other active: a witness (garbd, qdevice) that
    # claims "active" is confused, not a split-brain, and has no facts to judge.
    # A frozen node stays frozen against every active it has recorded: hearing
    # one of them again is not a new split-brain (with three or more actives
    # the single ``split_peer`` alternates between them, issue 12's livelock).
    return (
        i.role == PeerRole.ACTIVE
        and any(spec.name == i.peer for spec in ctx.config.nodes)
        and i.epoch != state.epoch
        and not (state.split_peer == i.peer and state.split_peer_epoch == i.epoch)
        and (i.peer, i.epoch) not in state.frozen_against
    )


def _own_facts(ctx: Context, state: NodeState) -> SideFacts:
    """This node's facts: the frozen ones during a split-brain episode."""
    me = ctx.spec
    if state.split_committed is not None:
        committed, changes = state.split_committed, state.split_changes
    else:
        committed, changes = state.committed, state.changes
    return SideFacts(me.name, state.epoch, me.priority, me.address_number, committed, changes)


def _peer_facts(ctx: Context, state: NodeState, i: inp.Input) -> tuple[SideFacts, PeerRole] | None:
    """The split peer's facts and role: from its message, or the last one heard."""
    if isinstance(i, inp.PeerHeard):
        name, role, epoch, committed, changes = i.peer, i.role, i.epoch, i.committed, i.changes
    else:
        view = state.peer(state.split_peer)
        if view is None:
            return None
        name, role, epoch, committed, changes = (
            view.name,
            view.role,
            view.epoch,
            view.committed,
            view.changes,
        )
    spec = ctx.config.node(name)
    return SideFacts(name, epoch, spec.priority, spec.address_number, committed, changes), role


def _winner(ctx: Context, state: NodeState, i: inp.Input) -> str | None:
    """The split-brain winner from the frozen facts of both sides."""
    found = _peer_facts(ctx, state, i)
    if found is None:
        return ctx.node  # no facts of the peer at all: nobody contests
    theirs, role = found
    if role != PeerRole.ACTIVE:
        return ctx.node  # the peer no longer contends (it demoted, lost, or failed)
    return choose_winner(ctx.config.policy, _own_facts(ctx, state), theirs)


def _judgeable(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    """Both sides' frozen facts are known: the judgment can be made, the same on both.

    Facts move after a heal (Galera merges, counters reset), so a side judging
    on the other's *live* facts can disagree with the other side. Each side
    therefore freezes its facts when it detects the split-brain, advertises
    them flagged ``judging``, and judges only on the peer's frozen ones.
    """
    assert isinstance(i, inp.PeerHeard)
    if not i.judging or ctx.config.policy is Policy.MANUAL:
        return False
    if _new_split_brain(ctx, state, i):
        return True
    return state.judging and i.peer == state.split_peer


def g_split_brain_manual(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _new_split_brain(ctx, state, i) and ctx.config.policy is Policy.MANUAL


def g_split_brain_winner(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _judgeable(ctx, state, i) and _winner(ctx, state, i) == ctx.node


def g_split_brain_loser(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _judgeable(ctx, state, i)  # judgeable and not won: lost


def g_split_brain_opened(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _new_split_brain(ctx, state, i)  # the peer's facts are not frozen yet


def g_judge_expired_winner(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    # Fallback when the peer's frozen facts never came: judge on its last ones.
    return (
        _timer_is(state, i, TimerPurpose.SPLIT_JUDGE)
        and state.judging
        and _winner(ctx, state, i) == ctx.node
    )


def g_judge_expired_loser(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return _timer_is(state, i, TimerPurpose.SPLIT_JUDGE) and state.judging


def g_quorum_lost_after(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    return (
        ctx.config.mode is Mode.SAFETY_FIRST
        and not state.quorum_lost
        and not _has_quorum_after(ctx, state, i)
    )


def g_switchover(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.OperatorCommand)
    return i.command == Command.SWITCHOVER and not state.frozen


def g_resolve_for_me(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.OperatorCommand)
    return i.command == Command.RESOLVE and state.frozen and i.target == ctx.node


def g_resolve_for_peer(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    # Any other data node: with three or more actives a node is frozen against
    # several, and the operator's one choice must settle every one of them.
    assert isinstance(i, inp.OperatorCommand)
    return (
        i.command == Command.RESOLVE
        and state.frozen
        and i.target != ctx.node
        and any(spec.name == i.target for spec in ctx.config.nodes)
    )


def g_clear_fault(ctx: Context, state: NodeState, i: inp.Input) -> bool:
    assert isinstance(i, inp.OperatorCommand)
    return i.command == Command.CLEAR_FAULT


GUARDS: dict[str, Guard] = {
    name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("g_")
}


# ---------------------------------------------------------------------------
# Actions: write the events of a decision. They never change the role
# themselves: the rule's target does (decide() adds RoleChanged).
# ---------------------------------------------------------------------------


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
    """Peer view updates, contact bookkeeping and quorum changes for one observation."""
    out: list[ev.Event] = []
    if isinstance(i, inp.PeerHeard):
        old = state.peer(i.peer)
        if (
            old is None
            or not old.reachable
            or old.role is not i.role
            or old.epoch != i.epoch
            or old.committed != i.committed
            or old.changes != i.changes
            or old.follows != i.follows
        ):
            out.append(
                ev.PeerObserved(i.at, i.peer, i.role, i.epoch, i.committed, i.changes, i.follows)
            )
        all_reachable = all(p.reachable or p.name == i.peer for p in state.peers)
        episode = state.committed_at_loss is not None or state.split_committed is not None
        contest = state.role is Role.ACTIVE and i.role == PeerRole.ACTIVE and i.epoch != state.epoch
        if all_reachable and episode and not contest and not state.judging:
            # Contact restored everywhere and no split-brain left to judge: the
            # frozen facts are no longer needed and changes are counted afresh.
            out.append(ev.ContactSynced(i.at, state.committed))
        if state.quorum_lost and _has_quorum_after(ctx, state, i):
            out.append(ev.QuorumRegained(i.at, _votes_after(ctx, state, i)))
            for armed in state.timers:
                if armed.purpose is TimerPurpose.SELF_FENCE:
                    out.append(ev.TimerDisarmed(i.at, armed.timer_id))
    elif isinstance(i, inp.PeerLost):
        old = state.peer(i.peer)
        if old is None or old.reachable:
            out.append(ev.PeerUnreachable(i.at, i.peer))
    return out


def a_ignore(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return []


def a_observe_vrrp(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    out = _observe_vrrp_events(state, i)
    assert isinstance(i, inp.VrrpReported)
    if state.role is Role.STANDBY and i.state == VrrpStatus.MASTER:
        batch = _Batch(state, i.at)
        batch.add(*out)
        _defer_promotion(ctx, state, i, batch)
        return batch.events
    if state.role is Role.ACTIVE and i.state == VrrpStatus.MASTER and not state.judging:
        # VIP back (or kept): no wait for split-brain facts is needed any more.
        out.extend(
            ev.TimerDisarmed(i.at, t.timer_id)
            for t in state.timers
            if t.purpose is TimerPurpose.SPLIT_JUDGE
        )
    if state.role is Role.ACTIVE and i.state == VrrpStatus.MASTER and state.split_winner:
        # The split-brain winner holds the VIP now: the handover is complete.
        out.append(ev.SplitBrainCleared(i.at))
        out.extend(
            ev.TimerDisarmed(i.at, t.timer_id)
            for t in state.timers
            if t.purpose is TimerPurpose.VIP_HANDOVER
        )
    return out


def _defer_promotion(ctx: Context, state: NodeState, i: inp.Input, batch: _Batch) -> None:
    reason = _promotion_blocker(ctx, state, i)
    batch.add(ev.PromotionDeferred(i.at, reason))
    if i.at < state.hold_down_until and state.timer_for(TimerPurpose.HOLD_DOWN) is None:
        batch.arm(TimerPurpose.HOLD_DOWN, state.hold_down_until - i.at)


def a_observe_peer(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return _observe_peer_events(ctx, state, i)


def a_observe_peer_lost(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return _observe_peer_events(ctx, state, i)


def a_observe_progress(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.LocalProgress)
    if i.committed == state.committed:
        return []
    return [ev.ProgressObserved(i.at, i.committed)]


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


def a_start_promotion(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i), *_observe_peer_events(ctx, state, i))
    if isinstance(i, inp.TimerFired):
        batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    epoch = next_epoch(state.max_epoch_seen, ctx.index, len(ctx.config.nodes))
    batch.add(ev.EpochOpened(i.at, epoch))
    if state.priority_yielded:
        batch.add(ev.PriorityRestored(i.at))
    bootstrap_allowed = _bootstrap_allowed(ctx.config)
    _start_plan(ctx, state, batch, PlanKind.PROMOTION, bootstrap_allowed)
    return batch.events


def _start_demotion(
    ctx: Context, state: NodeState, i: inp.Input, batch: _Batch, outcome: str = "aborted"
) -> None:
    _abandon_plan(state, batch, outcome)
    # Leaving active ends every wait that only an active has.
    batch.disarm_purpose(
        TimerPurpose.SELF_FENCE, TimerPurpose.SPLIT_JUDGE, TimerPurpose.VIP_HANDOVER
    )
    _start_plan(ctx, state, batch, PlanKind.DEMOTION, False)


def a_abort_promotion(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i), *_observe_peer_events(ctx, state, i))
    if isinstance(i, inp.PeerLost | inp.PeerHeard):
        batch.add(ev.QuorumLost(i.at, _votes_after(ctx, state, i), ctx.config.majority))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_demote_lost_vip(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i), *_observe_peer_events(ctx, state, i))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_await_peer_facts(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_vrrp_events(state, i))
    if state.timer_for(TimerPurpose.SPLIT_JUDGE) is None:
        batch.arm(TimerPurpose.SPLIT_JUDGE, ctx.config.timing.split_judge_us)
    return batch.events


def a_demote_after_restart(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(ev.NodeBooted(i.at))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_switchover(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(ev.PriorityYielded(i.at, "operator switchover"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_self_fence(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    batch = _Batch(state, i.at)
    # _start_demotion disarms the self-fence timer (this one) with the others.
    batch.add(ev.PriorityYielded(i.at, "self-fence: quorum lost"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_vip_handover_failed(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id), ev.SplitBrainCleared(i.at))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_arm_self_fence(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.add(*_observe_peer_events(ctx, state, i))
    batch.add(ev.QuorumLost(i.at, _votes_after(ctx, state, i), ctx.config.majority))
    batch.arm(TimerPurpose.SELF_FENCE, ctx.config.timing.self_fence_us)
    return batch.events


def _detect(ctx: Context, state: NodeState, i: inp.Input, batch: _Batch) -> None:
    """Open the split-brain episode (once): record the peer and freeze our facts."""
    if not isinstance(i, inp.PeerHeard) or not _new_split_brain(ctx, state, i):
        return
    mine = _own_facts(ctx, state)
    batch.add(
        ev.SplitBrainDetected(
            i.at, i.peer, i.epoch, ctx.config.policy, mine.committed, mine.changes
        )
    )


def a_open_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.add(*_observe_peer_events(ctx, state, i))
    # Wait (bounded) for the peer's frozen facts; our own go out at once
    # (SplitBrainDetected is announced).
    if state.timer_for(TimerPurpose.SPLIT_JUDGE) is None:
        batch.arm(TimerPurpose.SPLIT_JUDGE, ctx.config.timing.split_judge_us)
    return batch.events


def a_freeze(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.PeerHeard)
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.disarm_purpose(TimerPurpose.SPLIT_JUDGE)
    batch.add(*_observe_peer_events(ctx, state, i))
    batch.add(ev.Frozen(i.at, i.peer))
    return batch.events


def _split_peer_of(state: NodeState, i: inp.Input) -> str:
    return i.peer if isinstance(i, inp.PeerHeard) else state.split_peer


def a_win_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
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


def a_lose_split_brain(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    peer = _split_peer_of(state, i)
    batch = _Batch(state, i.at)
    _detect(ctx, state, i, batch)
    batch.add(ev.SplitBrainResolved(i.at, peer, ctx.node, ctx.config.policy, "policy"))
    batch.add(*_observe_peer_events(ctx, state, i))
    batch.add(ev.PriorityYielded(i.at, f"lost split-brain to {peer}"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_resolve_win(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    peer = state.split_peer
    return [
        ev.SplitBrainResolved(i.at, ctx.node, peer, Policy.MANUAL, "operator"),
        ev.Unfrozen(i.at),
    ]


def a_resolve_lose(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.OperatorCommand)
    batch = _Batch(state, i.at)
    batch.add(ev.SplitBrainResolved(i.at, i.target, ctx.node, Policy.MANUAL, "operator"))
    batch.add(ev.Unfrozen(i.at))
    batch.add(ev.PriorityYielded(i.at, f"operator chose {i.target}"))
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_reject_operator(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.OperatorCommand)
    return [ev.OperatorRejected(i.at, i.command, f"not allowed while {state.role}")]


def _start_step(ctx: Context, state: NodeState, batch: _Batch, index: int, attempt: int) -> None:
    plan = state.plan
    assert plan is not None
    timer = batch.arm(TimerPurpose.STEP_TIMEOUT, ctx.config.timing.step_timeout_us)
    batch.add(ev.StepStarted(batch.at, plan.plan_id, index, plan.steps[index], attempt, timer))


def a_next_step(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(ev.StepCompleted(i.at, plan.plan_id, plan.index, plan.current_step))
    batch.disarm_purpose(TimerPurpose.STEP_TIMEOUT)
    _start_step(ctx, state, batch, plan.index + 1, 1)
    return batch.events


def a_finish_plan(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
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
        if state.split_winner:
            batch.add(ev.SplitBrainCleared(i.at))
        if state.frozen:
            # Frozen means "an active awaiting the operator's choice". A node
            # that demoted anyway (it restarted, or lost its VIP) has
            # quarantined its divergent state and holds nothing to choose
            # between: staying frozen would bar it from ever promoting again
            # (found by the fuzzer: every node standby, forever).
            batch.add(ev.Unfrozen(i.at))
    return batch.events


def _backoff(ctx: Context, attempt: int) -> int:
    return int(ctx.config.timing.retry_backoff_us * (2 ** (attempt - 1)))


def a_schedule_retry(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
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


def a_retry_step(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    plan = state.plan
    assert plan is not None
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    _start_step(ctx, state, batch, plan.index, plan.attempt + 1)
    return batch.events


def a_timeout_retry(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
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


def a_fail_plan(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
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
    if not state.priority_yielded:
        batch.add(ev.PriorityYielded(i.at, f"{plan.kind} failed at {plan.current_step}"))
    batch.arm(TimerPurpose.FAULT_HOLD, ctx.config.timing.fault_hold_us)
    return batch.events


def a_leave_fault(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    batch = _Batch(state, i.at)
    batch.disarm_purpose(TimerPurpose.FAULT_HOLD)
    # Out of fault through the whole demotion plan: what the failed plan left
    # half-done (a resync that needed an unreachable peer) is done now. The
    # yielded priority stays: a recovered node rejoins as a calm standby and is
    # restored only when VRRP makes it master again.
    _start_demotion(ctx, state, i, batch)
    return batch.events


def a_disarm_timer(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    assert isinstance(i, inp.TimerFired)
    batch = _Batch(state, i.at)
    batch.add(ev.TimerDisarmed(i.at, i.timer_id))
    armed = state.timer(i.timer_id)
    if (
        armed is not None
        and armed.purpose is TimerPurpose.HOLD_DOWN
        and state.role is Role.STANDBY
        and state.vrrp is VrrpStatus.MASTER
    ):
        batch.add(ev.PromotionDeferred(i.at, _promotion_blocker(ctx, state, i)))
    return batch.events


def a_boot(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
    return [ev.NodeBooted(i.at)]


def a_resume_plan(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
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


ACTIONS: dict[str, Action] = {
    name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("a_")
}


# ---------------------------------------------------------------------------
# Quiet heartbeats: a shortcut for the commonest input, proven against the cells.
# ---------------------------------------------------------------------------

# The PEER_HEARD cells :func:`quiet_heartbeat` was written against. The decider
# takes the shortcut only for a role whose cell is still exactly this one, so
# editing a cell turns the shortcut off for that role instead of making it wrong.
QUIET_PEER_HEARD_CELLS: dict[Role, tuple[Rule, ...]] = {
    S: (STRANGER, Rule("may_promote", P, "start_promotion"), Rule("always", S, "observe_peer")),
    P: (
        STRANGER,
        Rule("quorum_lost_after", D, "abort_promotion"),
        Rule("always", P, "observe_peer"),
    ),
    A: (
        STRANGER,
        Rule("split_brain_manual", A, "freeze"),
        Rule("split_brain_winner", A, "win_split_brain"),
        Rule("split_brain_loser", D, "lose_split_brain"),
        Rule("split_brain_opened", A, "open_split_brain"),
        Rule("awaited_peer_not_active", D, "demote_lost_vip"),
        Rule("quorum_lost_after", A, "arm_self_fence"),
        Rule("always", A, "observe_peer"),
    ),
    D: (STRANGER, Rule("always", D, "observe_peer")),
    F: (STRANGER, Rule("always", F, "observe_peer")),
}


def quiet_heartbeat(
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
    """True only if ``PeerHeard(at, peer, role, ...)`` decides nothing now, at any ``at``.

    Nearly every heartbeat repeats what the node already knows, yet the cells
    above try up to eight guards on it before ``observe_peer`` finds nothing to
    record. This answers the same question for those repeats in a few
    comparisons; ``False`` means "not sure", never "it decides something", and
    the full table then decides. It holds when, for the cells of
    :data:`QUIET_PEER_HEARD_CELLS`:

    * the message equals the stored, reachable view of the peer (no
      ``PeerObserved``);
    * no contact episode is open and nothing is being judged
      (``committed_at_loss`` and ``split_committed`` unset, ``judging`` false
      on both sides: no ``ContactSynced``, ``split_brain_winner``/``loser``
      cannot match);
    * quorum is not lost (no ``QuorumRegained``) and, where a
      ``quorum_lost_after`` rule exists in safety-first mode, the votes after
      this message still make a majority;
    * standby: VRRP is not MASTER (``may_promote`` cannot hold);
    * active: the peer does not claim to be active (no split-brain rule can
      match) and no split-judge timer is armed (``awaited_peer_not_active``).

    A stranger's message is ignored by its cell's first rule, so it decides
    nothing whatever this returns. ``at`` is read by no guard the shortcut
    skips except through the conditions above (hold-down only gates
    ``may_promote``, excluded by the VRRP condition).
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
        or view.committed != committed
        or view.changes != changes
        or view.follows != follows
    ):
        return False
    mine = state.role
    if mine is S:
        return state.vrrp != VrrpStatus.MASTER
    if mine is A:
        if role == PeerRole.ACTIVE or state.timer_for(TimerPurpose.SPLIT_JUDGE) is not None:
            return False
    elif mine is not P:
        return mine is D or mine is F
    if ctx.config.mode is not Mode.SAFETY_FIRST:
        return True
    # _votes_after for this message: the peer's view is reachable with the same vote.
    me = ctx.node
    votes = 1
    for other in state.peers:
        if other.name == peer:
            reachable, vote = True, follows
        else:
            reachable, vote = other.reachable, other.follows
        if reachable and (vote == "" or vote == me):
            votes += 1
    return votes >= ctx.config.majority
