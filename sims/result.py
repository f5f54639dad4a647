"""What a run returns: the verdicts, the metrics, the logs and the timeline."""

from __future__ import annotations

from dataclasses import dataclass

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
    # The command replaying this run exactly (sims.replay); "" for a result
    # built by hand.
    replay: str = ""
    down: tuple[str, ...] = ()  # data nodes down at the end (not judged for convergence)

    @property
    def ok(self) -> bool:
        return all(self.invariants.values())
