"""The simulated world's state, shared by the simulation's parts.

:class:`World` holds everything a run knows (the members, the network's
blocked links, the clients' acknowledged writes, the timeline and the
metrics) plus the few predicates every part asks (is an event still for this
incarnation, are two members connected, is a node writable). The simulated
services are objects it holds, each with its own random stream: Galera
(:class:`sims.galera.SimGalera`), k3s with litestream (:class:`sims.k3s.SimK3s`),
Gluster (:class:`sims.gluster.SimGluster`) and the clients; a node reaches them
through its ports (:mod:`sims.node_ports`). The runtime's parts
(:mod:`sims.lifecycle`, :mod:`sims.network`, ...) are mixins over ``World``;
the methods one part calls on another are declared below for the type
checker only, so a part reads and type-checks on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hacore.lease import may_write
from hacore.roles import Role
from sims.clients import Clients
from sims.engine import Engine, Handler
from sims.faults import HEALING, Fault, check_schedule
from sims.galera import SimGalera
from sims.gluster import SimGluster
from sims.k3s import SimK3s
from sims.params import WITNESS_NAME, SimParams
from sims.progress import default_event_budget, default_wall_budget_s
from sims.result import Span
from sims.simnode import SimNode

if TYPE_CHECKING:
    from hacore import inputs as inp
    from hacore import vrrp


class World(Engine):
    """State of one run, and the predicates over it."""

    def __init__(
        self,
        params: SimParams,
        seed: int,
        schedule: tuple[Fault, ...],
        scenario: str = "custom",
        single_active_failure: bool = False,
        duration_us: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.p = params
        self.seed = seed
        self.scenario = scenario
        self.schedule = schedule
        self.single_active_failure = single_active_failure
        self.config = params.config()
        self.nodes: list[SimNode] = [
            SimNode(i, spec.name, spec) for i, spec in enumerate(self.config.nodes)
        ]
        if params.witness:
            self.nodes.append(SimNode(len(self.nodes), WITNESS_NAME, None))
        self.data = [n for n in self.nodes if not n.is_witness]
        self.witness: SimNode | None = next((n for n in self.nodes if n.is_witness), None)
        self.by_name = {n.name: n for n in self.nodes}
        check_schedule(schedule, len(self.nodes))
        for member in self.nodes:
            member.others = tuple(m.name for m in self.nodes if m is not member)
        self.total_votes = len(self.nodes)
        for member in self.nodes:
            member.g_view = tuple(m.index for m in self.nodes)
        self.blocked: set[tuple[int, int]] = set()  # membership only, never iterated
        self.loss = 0.0
        self.dup = 0.0
        self.chaos = True
        self.acked: list[tuple[int, str, int]] = []  # (write id, node, at)
        self.quarantine: set[int] = set()  # business writes copied aside (Galera)
        self.discarded: list[tuple[int, str, int]] = []  # (at, node, write id) lost to an SST
        self.violations: list[str] = []
        self.epoch_owner: dict[int, str] = {}
        self.timeline: list[tuple[int, str, str]] = []
        self.spans: list[Span] = []
        self.open_span: dict[str, Span] = {}
        self.shaded: list[tuple[int, int, str, str]] = []
        self.open_shade: dict[str, tuple[int, str, str]] = {}
        self.epochs_marked: list[tuple[int, str, int]] = []
        # The timeline picture's lanes (see Bookkeeping._sample_lanes): per node
        # whether it holds the VIP, is writable, is frozen; "*" split-brain.
        self.lane_open: dict[tuple[str, str], int] = {}
        self.lane_last: dict[str, tuple[bool, ...]] = {}  # what was sampled last, per node
        self.lane_spans: list[tuple[str, str, int, int]] = []  # (node, lane, start, end)
        self.fault_marks: list[tuple[int, str, str]] = []  # (at, kind, label)
        self.violation_marks: list[tuple[int, str, str]] = []  # (at, invariant, detail)
        # metrics
        self.m_last = 0
        self.m_writable = 0
        self.m_active = 0
        self.downtime = 0
        self.split_brain = 0
        self.gap_start: int | None = None
        self.max_gap_after_failure = 0
        self.failure_at: int | None = None
        self.last_heal = max(
            (f.at for f in schedule if f.kind in HEALING), default=params.chaos_start_us
        )
        self.last_fault = max((f.at for f in schedule), default=params.chaos_start_us)
        self.last_heal = max(self.last_heal, self.last_fault)
        self.converged_since: int | None = None
        self.end = (
            duration_us
            if duration_us is not None
            else (self.last_heal + params.convergence_bound_us())
        )
        self.double_checks = 0
        self.operator_started = False
        # When each node resumed, got its disk back or restarted (sims.progress).
        self.catch_up: dict[str, list[int]] = {}
        # Nothing hangs: budgets from the duration unless the driver sets others.
        self.set_budgets(default_event_budget(params, self.end), default_wall_budget_s(self.end))
        # One random stream per subsystem (sims.engine.Stream).
        self.net = self.stream("network")
        self.fifo_rng = self.stream("vip-fifo")
        self.steps_rng = self.stream("plan-steps")
        self.nemesis_rng = self.stream("nemesis")
        self.boot_rng = self.stream("boot")
        # The simulated services, each its own object.
        self.galera = SimGalera(self)
        self.k3s = SimK3s(self)
        self.gluster = SimGluster(self)
        self.galera.after_recompute = self.gluster.sync
        self.clients = Clients(self)

    @property
    def append_failures(self) -> int:
        """Appends the simulated disks refused (disk full), over the whole run."""
        return sum(n.log.refused for n in self.nodes)

    def _alive(self, n: SimNode, inc: int) -> bool:
        return n.up and n.inc == inc

    def _defer(self, n: SimNode, fn: Handler, arg: Any) -> bool:
        if n.paused:
            n.deferred.append((fn, arg))
            return True
        return False

    def connected(self, a: SimNode, b: SimNode) -> bool:
        return (
            a.up
            and b.up
            and (a.index, b.index) not in self.blocked
            and (b.index, a.index) not in self.blocked
        )

    def writable(self, n: SimNode) -> bool:
        """The runtime's write path: role, fence, Galera, and the write lease
        (safety-first), checked at the instant of the write."""
        if not (n.up and not n.paused and n.role is Role.ACTIVE and not n.fenced and n.g_primary):
            return False
        if self.galera.is_stalled(n):
            return False  # a member was lost and Galera has not yet noticed: commits stall
        core = n.core
        return core is not None and may_write(self.config, core.state, self.now, n.lease_heard)

    if TYPE_CHECKING:
        # Provided by the parts (see sims.sim.Simulation's bases).

        def _feed(self, n: SimNode, received: inp.Input) -> None: ...
        def _drain(self, n: SimNode) -> None: ...
        def _core_timer(self, arg: tuple[int, int, int]) -> None: ...
        def _vrrp(self, n: SimNode, stimulus: vrrp.Stimulus) -> None: ...
        def _send_heartbeats(self, n: SimNode) -> None: ...
        def _tick(self, arg: tuple[int, int]) -> None: ...
        def _boot(self, index: int) -> None: ...
        def _crash(self, n: SimNode) -> None: ...
        def _fifo(self, n: SimNode, state: Any, priority: int, lower: bool = False) -> None: ...
        def _fault(self, f: Fault) -> None: ...
        def _violate(self, name: str, detail: str) -> None: ...
        def _note_catch_up(self, nodes: list[SimNode]) -> None: ...
        def _span(self, n: SimNode, label: str, epoch: int) -> None: ...
        def _shade(self, node: str, what: str) -> None: ...
        def _unshade(self, key: str) -> None: ...
        def _unshade_node(self, node: str) -> None: ...
        def _mark_fault(self, f: Fault, names: str) -> None: ...
