"""The transition table: what a node does on every input, in every role.

How to read it
--------------
``TABLE[role][input type]`` is a cell: a tuple of rules tried in order. The
first rule whose guard holds decides; its action writes the events, and its
target is the role the node ends in. A rule whose target is not the current
role records ``RoleChanged`` before its action's events (its reason is the
action's name in words). A target of ``None`` means the input is ignored on
purpose (a stale timer, a late step result): it is decided here, never dropped
by accident. Every cell ends with an ``always`` rule, so no input falls off a
cell, and a test visits every (role, input type) pair to prove none is
missing (pg_auto_failover once shipped a state pair with no edge and
deadlocked). Guards are in :mod:`hacore.guards`, actions in
:mod:`hacore.actions`; the table names each by the function itself.

The rules, in words
-------------------
* A standby promotes when VRRP makes it master, nothing holds it down and, in
  safety-first mode, a majority of votes is reachable. The promotion opens an
  epoch above any seen. Keepalived does not re-notify a state it reported, so
  a later peer message or the end of the hold-down can start the promotion
  too.
* A standby that VRRP makes master but that may not promote records why (the
  promotion is deferred); when the blocker is the hold-down, it arms a timer
  for its end.
* A promoting node becomes active when the last step of its plan succeeds.
* A promoting node demotes when VRRP takes the VIP away or, in safety-first
  mode, when it loses the quorum. The demotion undoes the partial promotion.
* An active node keeps its role while VRRP keeps it master. Getting the VIP
  back ends any wait for a peer's split-brain facts; a split-brain winner
  that gets the VIP back has completed the handover.
* An active node that loses the VIP demotes, except in three cases:
  - it won a split-brain and the loser is still yielding the VIP (held at
    most until the vip-handover timer fires);
  - it is frozen, awaiting the operator's choice;
  - a peer is unreachable, so the loss may be a partition healing. VRRP
    settles before any peer message arrives, so the node waits (at most until
    the split-judge timer fires) for the peer's facts: the split-brain policy
    decides, not the race.
* An active node that hears another active of a different epoch has a
  split-brain. It freezes under the manual policy; otherwise it waits for the
  other side's frozen facts, then wins or loses by the policy. The loser
  yields its priority and demotes.
* An active node in safety-first mode that loses the quorum arms the
  self-fence timer; it demotes if the timer fires before a majority is back.
* An active node demotes when an operator asks for a switchover, and after a
  restart (its services died with it and must be stopped cleanly).
* A demoting node becomes standby when the last step of its plan succeeds;
  a hold-down follows so that a flapping link cannot promote it again at once.
* A promoting or demoting node goes to fault when a step fails on its last
  attempt or times out. Fault yields the VIP. When the fault-hold timer fires
  or an operator clears the fault, the node runs the whole demotion plan
  again: a node leaves fault only through a completed demotion, so a service
  step that failed for good (its peer was unreachable) is retried until the
  node's services are a standby's. Every step is idempotent, so re-running
  the ones that succeeded is harmless.
* An active node runs the repair plan (as promoting, in its epoch) when a
  local service stayed unhealthy for the service grace (Galera not in a
  primary component; reported by the runtime's poll): the promotion's service
  steps that can run on an active, then the mark. At most ``MAX_SERVICE_REPAIRS`` times until it is
  healthy again; with the budget spent the fault stands, shown
  (``hacore.health``).
* A promotion that failed making Galera primary without bootstrap and without
  a majority in reach is parked: no timer retries it, nor the demotion out of
  fault (it needs peers too); a peer heard again does.
* Any node ignores a step result or timer that does not belong to its current
  plan attempt or to an armed timer: it is stale.
* Any node takes in a peer's message the same way (a view update, the end of
  a contact episode, a regained quorum; see ``actions._observe_peer_events``),
  and ignores a message from a node it does not know. A heartbeat that repeats
  what the node knows changes nothing; the cheapest rule, first in each cell,
  says so without trying the others (tests/test_quiet_heartbeat.py proves it
  equal to the rest of the cell).
* Any node ignores a heartbeat whose only news is that the peer's business
  position (``committed``) moved forward by less than
  ``guards.POSITION_STEP`` commits, while no contact episode, split-brain
  judgement or quorum loss is open: no rule reads a peer's position then (the
  split-brain policies judge on facts frozen and advertised when an episode
  opens, and every heartbeat of an episode is recorded). The peer's view lags
  its position by less than the step, and the log grows with the episodes
  and every ``POSITION_STEP`` commits, not with every client write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hacore import actions as a
from hacore import events as ev
from hacore import guards as g
from hacore import inputs as inp
from hacore.context import Context
from hacore.roles import Role
from hacore.state import NodeState

Guard = Callable[[Context, NodeState, inp.Input], bool]
Action = Callable[[Context, NodeState, inp.Input], list[ev.Event]]


@dataclass(frozen=True, slots=True)
class Rule:
    """When ``guard`` holds, ``action`` writes the events and the node ends in ``target``."""

    guard: Guard
    target: Role | None  # None: the input is ignored on purpose
    action: Action
    reason: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", self.action.__name__.replace("_", " "))

    def fire(self, ctx: Context, state: NodeState, received: inp.Input) -> list[ev.Event]:
        """The decision: the action's events, after ``RoleChanged`` when the role changes."""
        target = self.target
        if target is None:
            return []
        events = self.action(ctx, state, received)
        if target is not state.role:
            events.insert(0, ev.RoleChanged(received.at, target, self.reason))
        return events


Cell = tuple[Rule, ...]
S, P, A, D, F = Role.STANDBY, Role.PROMOTING, Role.ACTIVE, Role.DEMOTING, Role.FAULT

IGNORE = Rule(g.always, None, a.ignore)
# A message naming no node (nor the witness) of the configuration is ignored
# on purpose: it must not count as a vote nor open a split-brain. The adapters
# reject such messages at the edge with a typed error; this rule keeps the core
# safe when one gets through.
STRANGER = Rule(g.unknown_peer, None, a.ignore)
QUIET = Rule(g.quiet_heartbeat, None, a.ignore)
POSITION_ONLY = Rule(g.only_position_moved, None, a.ignore)


def _peer_heard(role: Role, *rules: Rule) -> Cell:
    """A PeerHeard cell: quiet repeats first, strangers next, the role's own rules,
    then the bookkeeping every role does the same way (a small move of the
    peer's position alone is not news)."""
    return (
        QUIET,
        STRANGER,
        *rules,
        POSITION_ONLY,
        Rule(g.regains_quorum, role, a.regain_quorum),
        Rule(g.restores_contact, role, a.sync_contact),
        Rule(g.always, role, a.observe_peer),
    )


def _plan_cells(role: Role, done: Role) -> dict[type[inp.Input], Cell]:
    """The cells shared by the two plan-running roles (promoting, demoting)."""
    return {
        inp.StepSucceeded: (
            Rule(g.current_last_step, done, a.finish_plan),
            Rule(g.current_step, role, a.next_step),
            IGNORE,
        ),
        inp.StepFailed: (
            Rule(g.current_step_retry_left, role, a.schedule_retry),
            Rule(g.current_step, F, a.fail_plan),
            IGNORE,
        ),
        inp.TimerFired: (
            Rule(g.retry_timer, role, a.retry_step),
            Rule(g.step_timeout_retry_left, role, a.timeout_retry),
            Rule(g.step_timeout, F, a.fail_plan),
            Rule(g.armed_timer, role, a.disarm_timer),
            IGNORE,
        ),
        inp.OperatorCommand: (Rule(g.always, role, a.reject_operator),),
        inp.Booted: (Rule(g.always, role, a.resume_plan),),
        inp.LocalProgress: (Rule(g.always, role, a.observe_progress),),
        inp.ServiceReported: (Rule(g.always, role, a.observe_service),),
    }


TABLE: dict[Role, dict[type[inp.Input], Cell]] = {
    S: {
        inp.VrrpReported: (
            Rule(g.may_promote, P, a.start_promotion),
            Rule(g.vrrp_master, S, a.defer_promotion),
            Rule(g.always, S, a.observe_vrrp),
        ),
        inp.PeerHeard: _peer_heard(S, Rule(g.may_promote, P, a.start_promotion)),
        inp.PeerLost: (STRANGER, Rule(g.always, S, a.observe_peer_lost)),
        inp.StepSucceeded: (IGNORE,),
        inp.StepFailed: (IGNORE,),
        inp.TimerFired: (
            Rule(g.hold_down_timer_may_promote, P, a.start_promotion),
            Rule(g.hold_down_timer_while_master, S, a.keep_promotion_deferred),
            Rule(g.armed_timer, S, a.disarm_timer),
            IGNORE,
        ),
        inp.OperatorCommand: (Rule(g.always, S, a.reject_operator),),
        inp.Booted: (Rule(g.always, S, a.boot),),
        inp.LocalProgress: (Rule(g.always, S, a.observe_progress),),
        inp.ServiceReported: (Rule(g.always, S, a.observe_service),),
    },
    P: {
        **_plan_cells(P, A),
        inp.VrrpReported: (
            Rule(g.vrrp_not_master, D, a.abort_promotion),
            Rule(g.always, P, a.observe_vrrp),
        ),
        inp.PeerHeard: _peer_heard(P, Rule(g.quorum_lost_after, D, a.abort_promotion)),
        inp.PeerLost: (
            STRANGER,
            Rule(g.quorum_lost_after, D, a.abort_promotion),
            Rule(g.always, P, a.observe_peer_lost),
        ),
    },
    A: {
        inp.VrrpReported: (
            Rule(g.split_brain_winner_holds_vip, A, a.complete_vip_handover),
            Rule(g.vip_held_not_judging, A, a.stop_awaiting_peer_facts),
            Rule(g.vrrp_master, A, a.observe_vrrp),
            Rule(g.split_brain_won, A, a.observe_vrrp),
            Rule(g.frozen, A, a.observe_vrrp),
            Rule(g.may_be_split_brain, A, a.await_peer_facts),
            Rule(g.always, D, a.demote_lost_vip),
        ),
        inp.PeerHeard: _peer_heard(
            A,
            Rule(g.split_brain_manual, A, a.freeze),
            Rule(g.split_brain_winner, A, a.win_split_brain),
            Rule(g.split_brain_loser, D, a.lose_split_brain),
            Rule(g.split_brain_opened, A, a.open_split_brain),
            Rule(g.awaited_peer_not_active, D, a.demote_lost_vip),
            Rule(g.quorum_lost_after, A, a.arm_self_fence),
        ),
        inp.PeerLost: (
            STRANGER,
            Rule(g.quorum_lost_after, A, a.arm_self_fence),
            Rule(g.always, A, a.observe_peer_lost),
        ),
        inp.StepSucceeded: (IGNORE,),
        inp.StepFailed: (IGNORE,),
        inp.TimerFired: (
            Rule(g.self_fence_due, D, a.self_fence),
            Rule(g.vip_handover_expired, D, a.vip_handover_failed),
            Rule(g.judge_expired_winner, A, a.win_split_brain),
            Rule(g.judge_expired_loser, D, a.lose_split_brain),
            Rule(g.split_judge_expired, D, a.demote_lost_vip),
            Rule(g.service_fault_due, P, a.repromote_for_service),
            Rule(g.service_fault_budget_spent, A, a.service_fault_standing),
            Rule(g.armed_timer, A, a.disarm_timer),
            IGNORE,
        ),
        inp.OperatorCommand: (
            Rule(g.switchover, D, a.switchover),
            Rule(g.resolve_for_me, A, a.resolve_win),
            Rule(g.resolve_for_peer, D, a.resolve_lose),
            Rule(g.always, A, a.reject_operator),
        ),
        inp.Booted: (Rule(g.always, D, a.demote_after_restart),),
        inp.LocalProgress: (Rule(g.always, A, a.observe_progress),),
        inp.ServiceReported: (
            Rule(g.service_fault_opened, A, a.await_service_repair),
            Rule(g.always, A, a.observe_service),
        ),
    },
    D: {
        **_plan_cells(D, S),
        inp.VrrpReported: (Rule(g.always, D, a.observe_vrrp),),
        inp.PeerHeard: _peer_heard(D),
        inp.PeerLost: (STRANGER, Rule(g.always, D, a.observe_peer_lost)),
    },
    F: {
        inp.VrrpReported: (Rule(g.always, F, a.observe_vrrp),),
        inp.PeerHeard: _peer_heard(F, Rule(g.parked_contact_regained, D, a.leave_fault_on_contact)),
        inp.PeerLost: (STRANGER, Rule(g.always, F, a.observe_peer_lost)),
        inp.StepSucceeded: (IGNORE,),
        inp.StepFailed: (IGNORE,),
        inp.TimerFired: (
            Rule(g.fault_hold_timer_may_promote, P, a.start_promotion),
            Rule(g.fault_hold_timer, D, a.leave_fault),
            Rule(g.armed_timer, F, a.disarm_timer),
            IGNORE,
        ),
        inp.OperatorCommand: (
            Rule(g.clear_fault, D, a.leave_fault),
            Rule(g.always, F, a.reject_operator),
        ),
        inp.Booted: (Rule(g.always, F, a.boot),),
        inp.LocalProgress: (Rule(g.always, F, a.observe_progress),),
        inp.ServiceReported: (Rule(g.always, F, a.observe_service),),
    },
}


def cell_of(role: Role, input_type: type[inp.Input]) -> Cell | None:
    """The cell deciding ``input_type`` in ``role``: its own, or its nearest base
    class's (``VrrpLowerPriorityReported`` is a ``VrrpReported``)."""
    cells = TABLE.get(role)
    if cells is None:
        return None
    for cls in input_type.__mro__:
        rules = cells.get(cls)
        if rules is not None:
            return rules
        if cls is inp.Input:
            break
    return None


__all__ = [
    "IGNORE",
    "POSITION_ONLY",
    "QUIET",
    "STRANGER",
    "TABLE",
    "Action",
    "Cell",
    "Context",
    "Guard",
    "Rule",
    "cell_of",
]
