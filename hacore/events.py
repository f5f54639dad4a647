"""Events: the facts the core decided, appended to the node's log.

Events are the only thing ``evolve`` reads, so a log of events is the node's
whole durable memory. Each event records *what was decided*, never how the
world should be changed; effects are derived from events afterwards
(:mod:`hacore.effects`), which is what makes "persist before acting" hold by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hacore.codec import Message, register
from hacore.plans import StepName
from hacore.roles import (
    Command,
    PeerRole,
    PlanKind,
    Policy,
    Role,
    Service,
    TimerPurpose,
    VrrpStatus,
)


class Event(Message):
    __slots__ = ()
    at: int


@register
@dataclass(frozen=True, slots=True)
class RoleChanged(Event):
    TYPE: ClassVar[str] = "role-changed"
    at: int
    role: Role
    reason: str


@register
@dataclass(frozen=True, slots=True)
class EpochOpened(Event):
    """A promotion opened a new epoch, strictly greater than any this node has seen."""

    TYPE: ClassVar[str] = "epoch-opened"
    at: int
    epoch: int


@register
@dataclass(frozen=True, slots=True)
class PlanStarted(Event):
    TYPE: ClassVar[str] = "plan-started"
    at: int
    plan_id: int
    kind: PlanKind
    steps: tuple[StepName, ...]
    bootstrap_allowed: bool  # may make_galera_primary force pc.bootstrap?


@register
@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    TYPE: ClassVar[str] = "step-started"
    at: int
    plan_id: int
    index: int
    step: StepName
    attempt: int
    timeout_timer: int  # id of the step-timeout timer armed with it


@register
@dataclass(frozen=True, slots=True)
class StepCompleted(Event):
    TYPE: ClassVar[str] = "step-completed"
    at: int
    plan_id: int
    index: int
    step: StepName


@register
@dataclass(frozen=True, slots=True)
class StepAttemptFailed(Event):
    TYPE: ClassVar[str] = "step-attempt-failed"
    at: int
    plan_id: int
    index: int
    step: StepName
    attempt: int
    reason: str


@register
@dataclass(frozen=True, slots=True)
class PlanFinished(Event):
    TYPE: ClassVar[str] = "plan-finished"
    at: int
    plan_id: int
    outcome: str  # "completed" | "failed" | "aborted"


@register
@dataclass(frozen=True, slots=True)
class TimerArmed(Event):
    TYPE: ClassVar[str] = "timer-armed"
    at: int
    timer_id: int
    purpose: TimerPurpose
    due: int


@register
@dataclass(frozen=True, slots=True)
class TimerDisarmed(Event):
    """A timer fired (and was acted on) or is no longer wanted."""

    TYPE: ClassVar[str] = "timer-disarmed"
    at: int
    timer_id: int


@register
@dataclass(frozen=True, slots=True)
class VrrpObserved(Event):
    TYPE: ClassVar[str] = "vrrp-observed"
    at: int
    state: VrrpStatus
    priority: int


@register
@dataclass(frozen=True, slots=True)
class VrrpLowerPriorityHeard(Event):
    """keepalived reported ``MASTER_RX_LOWER_PRI``: as master it heard a lower-priority
    advert (another node was master too, a healed partition) and re-advertised.
    Recorded for the log's reader; the VRRP state it implies (MASTER) is a
    ``VrrpObserved`` of its own when it is news."""

    TYPE: ClassVar[str] = "vrrp-lower-priority-heard"
    at: int
    priority: int  # our own effective priority, as keepalived writes it


@register
@dataclass(frozen=True, slots=True)
class PeerObserved(Event):
    """A peer's view changed (role, epoch, reachability, progress)."""

    TYPE: ClassVar[str] = "peer-observed"
    at: int
    peer: str
    role: PeerRole
    epoch: int
    committed: int
    changes: int
    follows: str = ""


@register
@dataclass(frozen=True, slots=True)
class PeerUnreachable(Event):
    TYPE: ClassVar[str] = "peer-unreachable"
    at: int
    peer: str


@register
@dataclass(frozen=True, slots=True)
class ProgressObserved(Event):
    TYPE: ClassVar[str] = "progress-observed"
    at: int
    committed: int


@register
@dataclass(frozen=True, slots=True)
class ContactSynced(Event):
    """The node and its peers are in contact again: changes are counted from here."""

    TYPE: ClassVar[str] = "contact-synced"
    at: int
    committed: int


@register
@dataclass(frozen=True, slots=True)
class SplitBrainDetected(Event):
    """Another active node seen; this node's facts are frozen for the judgment."""

    TYPE: ClassVar[str] = "split-brain-detected"
    at: int
    peer: str
    peer_epoch: int
    policy: Policy
    committed: int  # this node's facts, frozen: advertised until the episode ends
    changes: int


@register
@dataclass(frozen=True, slots=True)
class SplitBrainResolved(Event):
    TYPE: ClassVar[str] = "split-brain-resolved"
    at: int
    winner: str
    loser: str
    policy: Policy
    reason: str


@register
@dataclass(frozen=True, slots=True)
class Frozen(Event):
    """Manual policy: writes fenced, no plan runs until an operator resolves."""

    TYPE: ClassVar[str] = "frozen"
    at: int
    peer: str


@register
@dataclass(frozen=True, slots=True)
class Unfrozen(Event):
    TYPE: ClassVar[str] = "unfrozen"
    at: int


@register
@dataclass(frozen=True, slots=True)
class PriorityYielded(Event):
    """This node lowered its VRRP priority so a peer takes (or keeps) the VIP."""

    TYPE: ClassVar[str] = "priority-yielded"
    at: int
    reason: str


@register
@dataclass(frozen=True, slots=True)
class PriorityRestored(Event):
    TYPE: ClassVar[str] = "priority-restored"
    at: int


@register
@dataclass(frozen=True, slots=True)
class QuorumLost(Event):
    TYPE: ClassVar[str] = "quorum-lost"
    at: int
    votes: int
    needed: int


@register
@dataclass(frozen=True, slots=True)
class QuorumRegained(Event):
    TYPE: ClassVar[str] = "quorum-regained"
    at: int
    votes: int


@register
@dataclass(frozen=True, slots=True)
class PromotionDeferred(Event):
    """VRRP made this node master but the core will not promote (yet), and why."""

    TYPE: ClassVar[str] = "promotion-deferred"
    at: int
    reason: str


@register
@dataclass(frozen=True, slots=True)
class OperatorRejected(Event):
    TYPE: ClassVar[str] = "operator-rejected"
    at: int
    command: Command
    reason: str


@register
@dataclass(frozen=True, slots=True)
class SplitBrainCleared(Event):
    """The split-brain is over: one active remains."""

    TYPE: ClassVar[str] = "split-brain-cleared"
    at: int


@register
@dataclass(frozen=True, slots=True)
class HoldDownStarted(Event):
    """No promotion before ``until``: a demotion just ended (flapping guard)."""

    TYPE: ClassVar[str] = "hold-down-started"
    at: int
    until: int


@register
@dataclass(frozen=True, slots=True)
class NodeBooted(Event):
    TYPE: ClassVar[str] = "node-booted"
    at: int


@register
@dataclass(frozen=True, slots=True)
class ServiceHealthChanged(Event):
    """A local service turned healthy or unhealthy (``NodeState.unhealthy``)."""

    TYPE: ClassVar[str] = "service-health-changed"
    at: int
    service: Service
    healthy: bool
    detail: str


@register
@dataclass(frozen=True, slots=True)
class ServiceRepairStarted(Event):
    """The active yields (demotes) because ``service`` stayed unhealthy past the
    grace period: attempt ``attempt`` of the budget (hacore.health)."""

    TYPE: ClassVar[str] = "service-repair-started"
    at: int
    service: Service
    attempt: int


@register
@dataclass(frozen=True, slots=True)
class ServiceFaultStanding(Event):
    """The budget of yields is spent and ``service`` is still unhealthy: the
    active stays, the fault stands (``hacore status`` shows it) until the
    service is healthy again or an operator acts."""

    TYPE: ClassVar[str] = "service-fault-standing"
    at: int
    service: Service
    attempts: int


@register
@dataclass(frozen=True, slots=True)
class PromotionParked(Event):
    """A promotion failed where only contact can make the next one succeed
    (Galera non-primary, bootstrap not allowed, no majority of votes in
    reach): no timer retries it; a peer heard again, a restart or a healthy
    service report does (``NodeState.promotion_parked``)."""

    TYPE: ClassVar[str] = "promotion-parked"
    at: int
    reason: str


EVENT_TYPES: tuple[type[Event], ...] = (
    RoleChanged,
    EpochOpened,
    PlanStarted,
    StepStarted,
    StepCompleted,
    StepAttemptFailed,
    PlanFinished,
    TimerArmed,
    TimerDisarmed,
    VrrpObserved,
    PeerObserved,
    PeerUnreachable,
    ProgressObserved,
    ContactSynced,
    SplitBrainDetected,
    SplitBrainResolved,
    Frozen,
    Unfrozen,
    PriorityYielded,
    PriorityRestored,
    QuorumLost,
    QuorumRegained,
    PromotionDeferred,
    VrrpLowerPriorityHeard,
    OperatorRejected,
    SplitBrainCleared,
    HoldDownStarted,
    NodeBooted,
    ServiceHealthChanged,
    ServiceRepairStarted,
    ServiceFaultStanding,
    PromotionParked,
)
