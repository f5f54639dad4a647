"""Cluster configuration: who the nodes are, and the knobs of the decider.

All durations are integer microseconds: the core never reads a clock, time
arrives in inputs, and integers keep replay byte-exact.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from hacore.roles import Mode, Policy

SECOND_US = 1_000_000


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    address: str  # the primary address VRRP compares (numerically) on equal priority
    priority: int = 100

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"node name {self.name!r}: use letters, digits, '-' or '_'")
        try:
            ipaddress.IPv4Address(self.address)
        except ValueError:
            raise ValueError(f"node {self.name}: address {self.address!r} is not IPv4") from None
        if not 1 <= self.priority <= 255:
            raise ValueError(f"node {self.name}: priority {self.priority} outside 1..255")

    @property
    def address_number(self) -> int:
        return int(ipaddress.IPv4Address(self.address))


@dataclass(frozen=True, slots=True)
class Services:
    """Which services of the reference system this cluster runs."""

    k3s: bool = True
    galera: bool = True
    gluster: bool = True
    litestream: bool = True


@dataclass(frozen=True, slots=True)
class Timing:
    step_timeout_us: int = 30 * SECOND_US
    max_attempts: int = 3  # per step, first try included
    retry_backoff_us: int = 1 * SECOND_US  # doubled after each failed attempt
    fault_hold_us: int = 30 * SECOND_US
    hold_down_us: int = 5 * SECOND_US
    self_fence_us: int = 3 * SECOND_US
    vip_handover_us: int = 15 * SECOND_US  # split-brain winner without the VIP: then demote
    # An active that loses the VIP while a peer is unreachable may be seeing a
    # partition heal: it waits this long for the peer's facts before demoting.
    split_judge_us: int = 3 * SECOND_US
    # safety-first: an active accepts writes only while a majority backed it
    # this recently (hacore.lease). Keep it below the runtime's peer timeout.
    write_lease_us: int = 2 * SECOND_US

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if getattr(self, name) < 0:
                raise ValueError(f"timing.{name} must not be negative")
        if self.max_attempts < 1:
            raise ValueError("timing.max_attempts must be at least 1")


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    nodes: tuple[NodeSpec, ...]
    mode: Mode = Mode.AVAILABILITY_FIRST
    policy: Policy = Policy.VRRP_WINNER
    witness: str | None = None  # name of a vote-only witness (garbd, qdevice)
    services: Services = field(default_factory=Services)
    timing: Timing = field(default_factory=Timing)

    def __post_init__(self) -> None:
        if len(self.nodes) < 2:
            raise ValueError("a cluster needs at least two nodes")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate node names in {names}")
        if self.witness is not None and self.witness in names:
            raise ValueError(f"witness {self.witness!r} is also a data node")

    def node(self, name: str) -> NodeSpec:
        for spec in self.nodes:
            if spec.name == name:
                return spec
        raise KeyError(f"no node named {name!r} in the cluster")

    def index_of(self, name: str) -> int:
        for i, spec in enumerate(self.nodes):
            if spec.name == name:
                return i
        raise KeyError(f"no node named {name!r} in the cluster")

    @property
    def voters(self) -> int:
        return len(self.nodes) + (1 if self.witness is not None else 0)

    @property
    def majority(self) -> int:
        return self.voters // 2 + 1


def next_epoch(max_seen: int, node_index: int, node_count: int) -> int:
    """The smallest epoch above ``max_seen`` that belongs to this node.

    Epochs are allocated round-robin (like Paxos ballot numbers): node ``i`` of
    ``n`` owns the epochs congruent to ``i + 1`` modulo ``n``. Two nodes that
    promote on opposite sides of a partition therefore can never open the same
    epoch, so "one active per epoch, ever" holds by construction, and the
    owner of any epoch is known from its number alone.
    """
    owner_residue = (node_index + 1) % node_count
    candidate = max_seen + 1
    return candidate + (owner_residue - candidate) % node_count


def epoch_owner(epoch: int, config: ClusterConfig) -> str:
    if epoch <= 0:
        raise ValueError("epoch 0 belongs to no node")
    n = len(config.nodes)
    return config.nodes[(epoch - 1) % n].name
