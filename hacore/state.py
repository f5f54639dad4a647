"""The node's state: everything ``evolve`` folds out of the event log.

Immutable and built only of tuples, ints, strings and enums, so two states can
be compared for equality after a replay, and hashed for a digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore.plans import StepName
from hacore.roles import PeerRole, PlanKind, Role, Service, TimerPurpose, VrrpStatus

_CONTENDING = (PeerRole.ACTIVE, PeerRole.PROMOTING)


@dataclass(frozen=True, slots=True)
class PlanProgress:
    plan_id: int
    kind: PlanKind
    steps: tuple[StepName, ...]
    index: int  # the first unfinished step
    attempt: int  # attempt number of the current step (1-based; 0 = not started)
    bootstrap_allowed: bool

    @property
    def current_step(self) -> StepName:
        return self.steps[self.index]

    @property
    def is_last_step(self) -> bool:
        return self.index == len(self.steps) - 1


@dataclass(frozen=True, slots=True)
class ArmedTimer:
    timer_id: int
    purpose: TimerPurpose
    due: int


@dataclass(frozen=True, slots=True)
class PeerView:
    name: str
    role: PeerRole
    epoch: int
    committed: int
    changes: int
    reachable: bool
    follows: str = ""  # whom the peer follows as active (its vote); "" nobody


@dataclass(frozen=True, slots=True)
class Advertisement:
    """The status message a node sends its peers (a PeerHeard on arrival)."""

    role: PeerRole
    epoch: int
    committed: int
    changes: int
    judging: bool
    follows: str


@dataclass(frozen=True, slots=True)
class NodeState:
    name: str
    role: Role = Role.STANDBY
    epoch: int = 0  # the epoch of this node's latest promotion (0: never promoted)
    max_epoch_seen: int = 0  # never decreases
    vrrp: VrrpStatus = VrrpStatus.INIT
    vrrp_priority: int = 0
    plan: PlanProgress | None = None
    next_plan_id: int = 1
    next_timer_id: int = 1
    timers: tuple[ArmedTimer, ...] = ()
    peers: tuple[PeerView, ...] = ()  # sorted by name
    committed: int = 0
    committed_at_loss: int | None = None  # committed when contact was first lost
    split_peer: str = ""  # the active peer of the last split-brain judged ("" = none)
    split_peer_epoch: int = 0
    # The winner while its VIP handover is pending ("" when undecided or settled).
    split_winner: str = ""
    judging: bool = False  # split-brain detected, waiting for the peer's frozen facts
    # This node's facts frozen at detection (None outside a split-brain episode).
    split_committed: int | None = None
    split_changes: int = 0
    frozen: bool = False
    # Every (peer, epoch) this node is frozen against (manual policy), sorted.
    # One remembered split peer is not enough with three or more actives: a
    # frozen node hearing n2, then n3, then n2 again would "detect" each anew,
    # announce, and make its peers do the same: a livelock.
    frozen_against: tuple[tuple[str, int], ...] = ()
    priority_yielded: bool = False
    quorum_lost: bool = False
    hold_down_until: int = 0
    # Local services last reported unhealthy (sorted), and how many times the
    # node yielded for a service fault since they were last all healthy.
    unhealthy: tuple[Service, ...] = ()
    service_repairs: int = 0
    # A failed promotion only contact can fix: timers do not retry it.
    promotion_parked: bool = False

    @property
    def changes(self) -> int:
        """Writes committed since contact with some peer was lost (the split)."""
        if self.committed_at_loss is None:
            return 0
        return self.committed - self.committed_at_loss

    def peer(self, name: str) -> PeerView | None:
        for view in self.peers:
            if view.name == name:
                return view
        return None

    def timer(self, timer_id: int) -> ArmedTimer | None:
        for armed in self.timers:
            if armed.timer_id == timer_id:
                return armed
        return None

    def timer_for(self, purpose: TimerPurpose) -> ArmedTimer | None:
        for armed in self.timers:
            if armed.purpose is purpose:
                return armed
        return None

    def advertisement(self) -> Advertisement:
        """What this node tells its peers: durable role and epoch, and its facts.

        During a split-brain episode the facts are the frozen ones, flagged as
        ``judging``, so that both sides judge the same pair of facts.
        """
        frozen = self.split_committed is not None
        return Advertisement(
            role=PeerRole(self.role.value),
            epoch=self.epoch,
            committed=self.split_committed if self.split_committed is not None else self.committed,
            changes=self.split_changes if frozen else self.changes,
            judging=frozen,
            follows=self.follows,
        )

    @property
    def follows(self) -> str:
        """The node this one backs as active: its vote in safety-first quorums.

        An active or promoting node backs itself; any other backs the reachable
        active or promoting peer with the highest epoch, or nobody. A vote goes
        to one node at a time, like a raft vote, which is what makes a majority
        exclusive when a partition is not transitive.
        """
        if self.role is Role.ACTIVE or self.role is Role.PROMOTING:
            return self.name
        best: PeerView | None = None
        for view in self.peers:
            if view.reachable and view.role in _CONTENDING:
                if best is None or (view.epoch, view.name) > (best.epoch, best.name):
                    best = view
        return "" if best is None else best.name
