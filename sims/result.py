"""What a run returns: the verdicts, the metrics, the logs and the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from hacore.log import LogRecord
from hacore.status import NodeObservation
from sims.faults import Fault
from sims.params import SimParams


@dataclass
class Span:
    """A role interval for the timeline (end None: still open)."""

    node: str
    start: int
    end: int | None
    label: str  # a role, "down" or "paused"
    epoch: int


@dataclass(frozen=True, slots=True)
class NodeEnd:
    """A data node as the run left it."""

    name: str
    up: bool
    role: str  # a role, or "down"
    epoch: int
    vip: bool  # its VRRP router is MASTER (keepalived would hold the address)
    writable: bool
    frozen: bool


@dataclass
class RunResult:
    scenario: str
    seed: int
    params: SimParams
    schedule: tuple[Fault, ...]
    invariants: dict[str, bool]
    violations: list[str]
    digest: str
    events: int
    sim_us: int
    wall_s: float
    downtime_us: int
    split_brain_us: int
    writes_acked: int
    writes_lost: int
    writes_quarantined: int
    k8s_writes: int
    k8s_lost: int
    converged_after_us: int | None
    last_heal_us: int
    timeline: list[tuple[int, str, str]]
    spans: list[Span]
    shaded: list[tuple[int, int, str, str]]  # (start, end, node or "*", what)
    epochs: list[tuple[int, str, int]]
    observations: list[NodeObservation]
    logs: dict[str, list[LogRecord]]
    # What the timeline picture and the JSON add to the text (see sims.report).
    nodes_end: list[NodeEnd] = field(default_factory=list)
    lanes: list[tuple[str, str, int, int]] = field(default_factory=list)  # node, lane, start, end
    faults: list[tuple[int, str, str]] = field(default_factory=list)  # at, kind, label
    violation_marks: list[tuple[int, str, str]] = field(default_factory=list)  # at, name, detail
    writes: list[tuple[int, str, int, str]] = field(default_factory=list)  # at, node, id, fate

    @property
    def vip_holders(self) -> list[str]:
        return [n.name for n in self.nodes_end if n.vip]

    @property
    def ok(self) -> bool:
        return all(self.invariants.values())
