"""Inputs: everything the core learns, each an observation stamped with time.

Every input carries ``at``, integer microseconds on the node's clock; the core
never reads a clock. The input *kind* (``KIND``) is the column of the
transition table in :mod:`hacore.table`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from hacore.codec import Message, register
from hacore.plans import StepName
from hacore.roles import Command, PeerRole, Service, VrrpStatus


class InputKind(enum.StrEnum):
    VRRP = "vrrp"
    PEER_HEARD = "peer-heard"
    PEER_LOST = "peer-lost"
    STEP_SUCCEEDED = "step-succeeded"
    STEP_FAILED = "step-failed"
    TIMER_FIRED = "timer-fired"
    OPERATOR = "operator"
    BOOTED = "booted"
    PROGRESS = "progress"
    SERVICE = "service"


class Input(Message):
    __slots__ = ()
    KIND: ClassVar[InputKind]
    at: int


@register
@dataclass(frozen=True, slots=True)
class VrrpReported(Input):
    """keepalived's notify_fifo (or the simulator's VRRP model) reported a state."""

    TYPE: ClassVar[str] = "vrrp-reported"
    KIND: ClassVar[InputKind] = InputKind.VRRP
    at: int
    state: VrrpStatus
    priority: int


@register
@dataclass(frozen=True, slots=True)
class VrrpLowerPriorityReported(VrrpReported):
    """keepalived's ``MASTER_RX_LOWER_PRI`` line: as MASTER it heard a lower-priority
    advert and re-advertised. A report of MASTER (``state`` is always MASTER: the
    line is only written by a master), so every rule about VRRP reports applies;
    after a partition heals it is often the only line the surviving master
    writes (keepalived #1884). The core records it (``VrrpLowerPriorityHeard``
    event) even when the MASTER it implies is no news."""

    TYPE: ClassVar[str] = "vrrp-lower-priority-reported"


@register
@dataclass(frozen=True, slots=True)
class PeerHeard(Input):
    """A peer's status message arrived (its role and epoch come from its durable log)."""

    TYPE: ClassVar[str] = "peer-heard"
    # v2 added ``changes`` (the zero-changes split-brain policy needs it); v3
    # added ``judging``; v4 ``follows``. Older logs decode through the store's
    # upcasters.
    VERSION: ClassVar[int] = 4
    KIND: ClassVar[InputKind] = InputKind.PEER_HEARD
    at: int
    peer: str
    role: PeerRole
    epoch: int
    committed: int  # the peer's last committed business seqno (Galera)
    changes: int  # writes the peer committed since it last heard from us
    # True when committed/changes are the peer's facts frozen for judging a
    # split-brain (see hacore.table): both sides then judge the same pair.
    judging: bool = False
    # The node this peer follows as active (itself when active or promoting;
    # "" when it follows nobody): its vote. In safety-first a candidate counts
    # only peers that follow nobody or it, so two overlapping majorities (a
    # bridge partition) cannot both promote.
    follows: str = ""


@register
@dataclass(frozen=True, slots=True)
class PeerLost(Input):
    """No status from a peer within the runtime's timeout. Uncertain: it may be alive."""

    TYPE: ClassVar[str] = "peer-lost"
    KIND: ClassVar[InputKind] = InputKind.PEER_LOST
    at: int
    peer: str


@register
@dataclass(frozen=True, slots=True)
class StepSucceeded(Input):
    TYPE: ClassVar[str] = "step-succeeded"
    # v2 added ``detail``: what the port said it did (a restore's replica
    # position, a bootstrap's view), so the log records it. Older logs decode
    # through the store's upcaster (detail "").
    VERSION: ClassVar[int] = 2
    KIND: ClassVar[InputKind] = InputKind.STEP_SUCCEEDED
    at: int
    plan_id: int
    step: StepName
    attempt: int
    detail: str = ""


@register
@dataclass(frozen=True, slots=True)
class StepFailed(Input):
    TYPE: ClassVar[str] = "step-failed"
    KIND: ClassVar[InputKind] = InputKind.STEP_FAILED
    at: int
    plan_id: int
    step: StepName
    attempt: int
    reason: str


@register
@dataclass(frozen=True, slots=True)
class TimerFired(Input):
    """A timer the core armed has fired. Its id tells a current timer from a stale one."""

    TYPE: ClassVar[str] = "timer-fired"
    KIND: ClassVar[InputKind] = InputKind.TIMER_FIRED
    at: int
    timer_id: int


@register
@dataclass(frozen=True, slots=True)
class OperatorCommand(Input):
    TYPE: ClassVar[str] = "operator-command"
    KIND: ClassVar[InputKind] = InputKind.OPERATOR
    at: int
    command: Command
    target: str = ""


@register
@dataclass(frozen=True, slots=True)
class Booted(Input):
    """The node's process (re)started after its log was replayed."""

    TYPE: ClassVar[str] = "booted"
    KIND: ClassVar[InputKind] = InputKind.BOOTED
    at: int


@register
@dataclass(frozen=True, slots=True)
class LocalProgress(Input):
    """The local business database reports its last committed seqno."""

    TYPE: ClassVar[str] = "local-progress"
    KIND: ClassVar[InputKind] = InputKind.PROGRESS
    at: int
    committed: int


@register
@dataclass(frozen=True, slots=True)
class ServiceReported(Input):
    """The runtime's poller saw a local service turn healthy or unhealthy
    (Galera: member of a primary component or not). Sent when the report
    differs from what the core last recorded (``NodeState.unhealthy``)."""

    TYPE: ClassVar[str] = "service-reported"
    KIND: ClassVar[InputKind] = InputKind.SERVICE
    at: int
    service: Service
    healthy: bool
    detail: str = ""


INPUT_TYPES: tuple[type[Input], ...] = (
    VrrpReported,
    VrrpLowerPriorityReported,
    PeerHeard,
    PeerLost,
    StepSucceeded,
    StepFailed,
    TimerFired,
    OperatorCommand,
    Booted,
    LocalProgress,
    ServiceReported,
)
