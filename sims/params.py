"""The parameters of a run (everything it depends on besides the seed and the
fault schedule) and the bounds the invariants derive from them."""

from __future__ import annotations

from dataclasses import dataclass, field

from hacore import vrrp
from hacore.config import ClusterConfig, NodeSpec, Timing
from hacore.plans import STEPS_BY_NAME, plan_steps
from hacore.roles import Mode, PlanKind, Policy
from sims.faults import SECOND
from sims.galera_model import GaleraTiming

MS = 1000
WITNESS_NAME = "witness"


@dataclass(frozen=True, slots=True)
class SimParams:
    """Everything a run depends on besides the seed and the fault schedule."""

    nodes: int = 2
    witness: bool = False
    mode: Mode = Mode.AVAILABILITY_FIRST
    policy: Policy = Policy.VRRP_WINNER
    advert_us: int = 1 * SECOND
    fifo_delay_us: tuple[int, int] = (2 * MS, 20 * MS)
    link_delay_us: tuple[int, int] = (200, 3 * MS)
    step_us: tuple[int, int] = (100 * MS, 1500 * MS)
    step_fail_rate: float = 0.02  # transient step failures during the chaos phase
    double_step_rate: float = 0.25  # steps executed twice on purpose (invariant 6)
    # litestream's database monitor-interval (its default): the crash-loss window
    litestream_monitor_us: int = 1 * SECOND
    litestream_ship_us: tuple[int, int] = (1 * MS, 20 * MS)  # capture -> in the replica
    write_interval_us: int = 2 * SECOND
    peer_timeout_adverts: int = 3
    timing: Timing = field(default_factory=Timing)
    chaos_start_us: int = 20 * SECOND
    operator_delay_us: int = 5 * SECOND  # manual policy: operator acts this long after heal

    def __post_init__(self) -> None:
        # The one source of truth for intervals (hacore.vrrp R15): never simulate an
        # interval keepalived would not run.
        vrrp.check_advert_interval_us("advert_us", self.advert_us)

    @property
    def peer_timeout_us(self) -> int:
        return self.peer_timeout_adverts * self.advert_us + self.advert_us // 2

    def priorities(self) -> list[int]:
        return [max(1, 110 - 10 * i) for i in range(self.nodes)]

    def config(self) -> ClusterConfig:
        specs = tuple(
            NodeSpec(f"n{i + 1}", f"10.0.0.{i + 1}", p) for i, p in enumerate(self.priorities())
        )
        return ClusterConfig(
            nodes=specs,
            mode=self.mode,
            policy=self.policy,
            witness=WITNESS_NAME if self.witness else None,
            timing=self.timing,
        )

    def mdi_us(self) -> int:
        return vrrp.master_down_interval_us(min(self.priorities()), self.advert_us)

    def plan_bound_us(self) -> int:
        steps = len(plan_steps(PlanKind.PROMOTION, self.config())) + len(
            plan_steps(PlanKind.DEMOTION, self.config())
        )
        return steps * (self.step_us[1] + self.timing.step_timeout_us // 100)

    def convergence_bound_us(self) -> int:
        """Invariant 1's bound after the last fault heals."""
        t = self.timing
        return (
            self.mdi_us()
            + self.peer_timeout_us
            + max(t.fault_hold_us, t.hold_down_us)
            + t.hold_down_us
            + self.plan_bound_us()
            + self.fifo_delay_us[1] * 4
            + self.operator_delay_us
            + 2 * SECOND
        )

    def availability_bound_us(self) -> int:
        """Invariant 7's bound on time without an active after the active fails once."""
        steps = plan_steps(PlanKind.PROMOTION, self.config())
        start = self.mdi_us() + self.fifo_delay_us[1] * 2
        galera = [i for i, name in enumerate(steps) if STEPS_BY_NAME[name].service == "galera"]
        if not galera:
            return start + len(steps) * self.step_us[1] + SECOND
        # The promotion's Galera step decides only after Galera's view change (the
        # suspect timeout after the crash), like the real adapter: the steps after it
        # count from whichever comes later.
        upto = galera[0] + 1
        decided = max(start + upto * self.step_us[1], GaleraTiming().suspect_us)
        return decided + (len(steps) - upto) * self.step_us[1] + SECOND
