"""The vocabulary of the core: cluster roles, quorum modes, split-brain policies.

A node's *cluster role* is distinct from its VRRP state (pg_auto_failover's
lesson): keepalived saying MASTER means "I hold the VIP", not "my services are
serving". A node is ``active`` only after its promotion plan finished.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    STANDBY = "standby"
    PROMOTING = "promoting"
    ACTIVE = "active"
    DEMOTING = "demoting"
    FAULT = "fault"


class Mode(enum.StrEnum):
    # The reference system: the VRRP master promotes alone, whatever it can see.
    AVAILABILITY_FIRST = "availability-first"
    # Promote only with a majority of votes; an active that loses it self-fences.
    SAFETY_FIRST = "safety-first"


class Policy(enum.StrEnum):
    """Split-brain resolution policies, after DRBD's after-split-brain catalogue."""

    VRRP_WINNER = "vrrp-winner"
    HIGHEST_EPOCH = "highest-epoch"
    MOST_COMMITTED = "most-committed"
    ZERO_CHANGES = "zero-changes"
    MANUAL = "manual"


class VrrpStatus(enum.StrEnum):
    """VRRP states as keepalived reports them (notify_fifo)."""

    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


class PeerRole(enum.StrEnum):
    """What a peer says it is: a cluster role, or a vote-only witness."""

    STANDBY = "standby"
    PROMOTING = "promoting"
    ACTIVE = "active"
    DEMOTING = "demoting"
    FAULT = "fault"
    WITNESS = "witness"


class PlanKind(enum.StrEnum):
    PROMOTION = "promotion"
    DEMOTION = "demotion"
    REPAIR = "repair"  # an active's service repair, in its epoch (hacore.health)


class TimerPurpose(enum.StrEnum):
    STEP_TIMEOUT = "step-timeout"
    STEP_RETRY = "step-retry"
    FAULT_HOLD = "fault-hold"  # how long a failed node stays out before it may serve again
    HOLD_DOWN = "hold-down"  # calm time after a demotion before promoting again (flapping)
    SELF_FENCE = "self-fence"  # safety-first: an active without majority fences after this
    VIP_HANDOVER = "vip-handover"  # a split-brain winner must get the VIP by then
    SPLIT_JUDGE = "split-judge"  # an active that lost the VIP after a partition waits for facts
    SERVICE_GRACE = "service-grace"  # an active's service fault must last this long before it acts


class Service(enum.StrEnum):
    """A service the active runs whose health its runtime polls (hacore.health)."""

    GALERA = "galera"  # healthy: a member of a primary component


class Command(enum.StrEnum):
    """Operator commands."""

    SWITCHOVER = "switchover"  # planned demotion of the active
    RESOLVE = "resolve"  # manual split-brain: name the winner
    CLEAR_FAULT = "clear-fault"
