"""Cluster configuration: who the nodes are, and the knobs of the decider.

All durations are integer microseconds: the core never reads a clock, time
arrives in inputs, and integers keep replay byte-exact.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from hacore.roles import Mode, Policy

SECOND_US = 1_000_000


class ClusterConfigError(ValueError):
    """A cluster configuration value is wrong (or of the wrong type); the message says which."""


# Node and witness names end up in keepalived.conf, SQL rows, file names and
# log lines: ASCII letters, digits, '-' and '_' only (``str.isalnum`` would
# admit any Unicode letter), matched whole (no trailing newline).
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
INT64_MAX = 2**63 - 1


def check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ClusterConfigError(f"{what} {value!r}: use 1..64 ASCII letters, digits, '-' or '_'")
    return value


def _check_int(value: object, what: str, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClusterConfigError(f"{what} must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ClusterConfigError(f"{what} {value} outside {lo}..{hi}")


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    address: str  # the primary address VRRP compares (numerically) on equal priority
    priority: int = 100

    def __post_init__(self) -> None:
        check_name(self.name, "node name")
        if not isinstance(self.address, str):
            raise ClusterConfigError(
                f"node {self.name}: address must be a string, got {type(self.address).__name__}"
            )
        try:
            ipaddress.IPv4Address(self.address)
        except ValueError:
            raise ClusterConfigError(
                f"node {self.name}: address {self.address!r} is not IPv4"
            ) from None
        _check_int(self.priority, f"node {self.name}: priority", 1, 255)

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

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if not isinstance(getattr(self, name), bool):
                raise ClusterConfigError(f"services.{name} must be a boolean")


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
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ClusterConfigError(f"timing.{name} must not be negative")
            _check_int(value, f"timing.{name}", 0, INT64_MAX)
        if self.max_attempts < 1:
            raise ClusterConfigError("timing.max_attempts must be at least 1")


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    nodes: tuple[NodeSpec, ...]
    mode: Mode = Mode.AVAILABILITY_FIRST
    policy: Policy = Policy.VRRP_WINNER
    witness: str | None = None  # name of a vote-only witness (garbd, qdevice)
    services: Services = field(default_factory=Services)
    timing: Timing = field(default_factory=Timing)

    def __post_init__(self) -> None:
        if not isinstance(self.nodes, tuple) or not all(
            isinstance(n, NodeSpec) for n in self.nodes
        ):
            raise ClusterConfigError("nodes must be a tuple of NodeSpec")
        if len(self.nodes) < 2:
            raise ClusterConfigError("a cluster needs at least two nodes")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ClusterConfigError(f"duplicate node names in {names}")
        addresses = [n.address for n in self.nodes]
        if len(set(addresses)) != len(addresses):
            raise ClusterConfigError(f"duplicate node addresses in {addresses}")
        if not isinstance(self.mode, Mode):
            raise ClusterConfigError(f"mode must be a Mode, got {self.mode!r}")
        if not isinstance(self.policy, Policy):
            raise ClusterConfigError(f"policy must be a Policy, got {self.policy!r}")
        if self.witness is not None:
            check_name(self.witness, "witness name")
            if self.witness in names:
                raise ClusterConfigError(f"witness {self.witness!r} is also a data node")
        if not isinstance(self.services, Services):
            raise ClusterConfigError("services must be a Services")
        if not isinstance(self.timing, Timing):
            raise ClusterConfigError("timing must be a Timing")

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
