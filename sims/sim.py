"""The deterministic cluster simulator: the real core, simulated everything else.

Rules (each one is why the same seed gives the same logs, byte for byte)
-----------------------------------------------------------------------
* One thread, one virtual clock in integer microseconds, one heap keyed
  ``(time, priority, sequence)``; ties at the same instant are broken by the
  priority (a heartbeat is delivered before a VRRP advert sent at the same
  instant) and then by insertion order, never by object identity.
* One ``random.Random(seed)`` per run and nothing else random; no set is ever
  iterated (sets are used for membership only), dicts are iterated in
  insertion order, nodes in index order.
* Each data node runs ``hacore.node.Node`` over an :class:`SimLog` (an
  in-memory log that survives crashes, and that can be made to fail appends:
  disk full). The core's effects drive simulated services; what the services
  observe comes back to the core as inputs stamped with the virtual time.

Services, in brief
------------------
* VRRP: a :class:`hacore.vrrp.VrrpRouter` per node plays keepalived; adverts
  travel on the links; each ``StateChanged`` reaches the core as
  ``VrrpReported`` through an ordered FIFO after a small delay.
* Heartbeats: every advert interval, and on ``Announce``, a node sends its
  durable role, epoch, committed seqno and changes to each peer; a peer silent
  for ``peer_timeout`` becomes ``PeerLost``. A witness sends ``role=witness``.
* Galera: components are the connected sets of up members; a component is
  primary with a majority of all votes (the witness counts), or when
  bootstrapped (``pc.bootstrap``) and still holding a majority of the component
  it was bootstrapped in. Only a primary component takes writes, and a write is
  replicated synchronously to its members. Two primary components never merge:
  the demoting node's ``rejoin_galera`` SSTs from the other (its divergent
  writes are discarded; ``quarantine_divergent`` must have copied them first).
* k3s + litestream: the active writes Kubernetes objects to its local database;
  litestream ships each to the peers after ``litestream_lag``;
  ``restore_k3s_db`` rebuilds from the local replica and can miss the tail.
* Gluster: a file written while a peer is unreachable is pending; two nodes
  that both wrote pending files meet in split-brain until one resyncs.
* Clients write one business record per round to every *writable* active (role
  active, writes not fenced, Galera primary) and record each acknowledgement.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hacore import effects as fx
from hacore import events as ev
from hacore import inputs as inp
from hacore import vrrp
from hacore.config import ClusterConfig, NodeSpec, Timing
from hacore.log import InMemoryLog, LogError, LogRecord, redecide, replay_records
from hacore.node import Node
from hacore.plans import plan_steps
from hacore.roles import Command, Mode, PeerRole, PlanKind, Policy, Role, VrrpStatus
from hacore.status import NodeObservation
from sims.faults import HEALING, SECOND, Fault, fmt_time

MS = 1000
WITNESS_NAME = "witness"
INVARIANTS = (
    "convergence",
    "one-active-per-epoch",
    "nothing-lost",
    "replay",
    "epochs-monotonic",
    "idempotent-steps",
    "availability",
    "split-brain-verdicts-agree",
)


_NOTABLE = (ev.SplitBrainDetected, ev.SplitBrainResolved, ev.Frozen, ev.QuorumLost)


def _describe(event: ev.Event) -> str:
    if isinstance(event, ev.SplitBrainDetected):
        return f"split-brain detected with {event.peer} (epoch {event.peer_epoch})"
    if isinstance(event, ev.SplitBrainResolved):
        return f"split-brain resolved: {event.winner} wins ({event.reason}, {event.policy})"
    if isinstance(event, ev.Frozen):
        return f"frozen (manual policy) against {event.peer}"
    if isinstance(event, ev.QuorumLost):
        return f"quorum lost ({event.votes} of {event.needed} votes)"
    return event.TYPE


class DiskFull(LogError):
    """The simulated disk refused an append."""


class SimLog(InMemoryLog):
    """An in-memory log that survives crashes and can be made to fail (disk full)."""

    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.full = False

    def append(self, entries: Any, epoch: int) -> list[LogRecord]:
        if self.full:
            raise DiskFull(f"{self.node}: no space left on device")
        return super().append(entries, epoch)


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
    litestream_lag_us: int = 1 * SECOND
    write_interval_us: int = 2 * SECOND
    peer_timeout_adverts: int = 3
    timing: Timing = field(default_factory=Timing)
    chaos_start_us: int = 20 * SECOND
    operator_delay_us: int = 5 * SECOND  # manual policy: operator acts this long after heal

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
        promo = len(plan_steps(PlanKind.PROMOTION, self.config()))
        return self.mdi_us() + self.fifo_delay_us[1] * 2 + promo * self.step_us[1] + SECOND


class SimNode:
    """One member: a data node (core + services) or the witness (votes only)."""

    def __init__(self, index: int, name: str, spec: NodeSpec | None) -> None:
        self.index = index
        self.name = name
        self.spec = spec
        self.is_witness = spec is None
        self.log = SimLog(name)
        self.core: Node | None = None
        self.up = False
        self.paused = False
        self.inc = 0  # incarnation: events of a previous life are dropped
        self.deferred: list[tuple[Callable[[Any], None], Any]] = []
        self.router: vrrp.VrrpRouter | None = None
        self.fifo_at = 0  # the FIFO is ordered: never deliver before the previous line
        self.timers: dict[int, int] = {}  # core timer id -> due
        self.last_heard: dict[str, int] = {}
        self.believed_up: dict[str, bool] = {}
        self.role = Role.STANDBY
        self.fenced = True
        self.slow = 1
        self.fail_next = 0
        # Galera
        self.history: list[int] = []
        self.synced_len = 0
        self.g_primary = False
        self.g_gid = 0
        self.g_boot = False  # the component was forced primary by pc.bootstrap
        self.g_view: tuple[int, ...] = ()  # members of the last primary component (gvwstate)
        # k3s + litestream
        self.k3s_running = False
        self.k3s_db: list[int] = []
        self.replica: list[int] = []
        self.litestream_on = False
        # Gluster
        self.gl_pending = 0
        self.gl_split = False


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

    @property
    def ok(self) -> bool:
        return all(self.invariants.values())


class Simulation:
    """One run. ``run()`` plays the schedule, then the heal phase, then checks."""

    def __init__(
        self,
        params: SimParams,
        seed: int,
        schedule: tuple[Fault, ...],
        scenario: str = "custom",
        single_active_failure: bool = False,
        duration_us: int | None = None,
    ) -> None:
        self.p = params
        self.seed = seed
        self.scenario = scenario
        self.schedule = schedule
        self.single_active_failure = single_active_failure
        self.rng = random.Random(seed)
        self.config = params.config()
        self.now = 0
        self.seq = 0
        self.heap: list[tuple[int, int, int, Callable[[Any], None], Any]] = []
        self.events = 0
        self.nodes: list[SimNode] = [
            SimNode(i, spec.name, spec) for i, spec in enumerate(self.config.nodes)
        ]
        if params.witness:
            self.nodes.append(SimNode(len(self.nodes), WITNESS_NAME, None))
        self.data = [n for n in self.nodes if not n.is_witness]
        self.by_name = {n.name: n for n in self.nodes}
        self.total_votes = len(self.nodes)
        for member in self.nodes:
            member.g_view = tuple(m.index for m in self.nodes)
        self.blocked: set[tuple[int, int]] = set()  # membership only, never iterated
        self.loss = 0.0
        self.dup = 0.0
        self.chaos = True
        self.next_write = 1
        self.next_k8s = 1
        self.next_gid = 1
        self.acked: list[tuple[int, str, int]] = []  # (write id, node, at)
        self.k8s_acked: list[int] = []
        self.quarantine: set[int] = set()
        self.k8s_quarantine: set[int] = set()
        self.discarded: list[tuple[int, str, int]] = []  # (at, node, write id) lost to an SST
        self.violations: list[str] = []
        self.epoch_owner: dict[int, str] = {}
        self.timeline: list[tuple[int, str, str]] = []
        self.spans: list[Span] = []
        self.open_span: dict[str, Span] = {}
        self.shaded: list[tuple[int, int, str, str]] = []
        self.open_shade: dict[str, tuple[int, str, str]] = {}
        self.epochs_marked: list[tuple[int, str, int]] = []
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
        self.append_failures = 0
        self.operator_started = False

    # ------------------------------------------------------------ engine ----

    def push(self, at: int, fn: Callable[[Any], None], arg: Any, pri: int = 1) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, pri, self.seq, fn, arg))

    def run_until(self, until: int) -> None:
        heap = self.heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            at, _pri, _seq, fn, arg = pop(heap)
            self.now = at
            self.events += 1
            fn(arg)
        if until > self.now:
            self.now = until
        self._observe()

    def start(self) -> None:
        for n in self.nodes:
            self.push(self.rng.randint(0, 50 * MS), self._boot, n.index)
        for f in self.schedule:
            self.push(f.at, self._fault, f, 2)
        self.push(self.p.chaos_start_us // 2, self._client, None)

    def inject(self, fault: Fault) -> None:
        """Add a fault while running (the fuzzer). Faults run last at their instant
        (priority 2), so a run with the same faults scheduled up front is identical."""
        self.schedule = (*self.schedule, fault)
        self.push(fault.at, self._fault, fault, 2)

    def run(self) -> RunResult:
        wall = time.perf_counter()
        self.start()
        self.run_until(self.end)
        return self.finish(time.perf_counter() - wall)

    # ------------------------------------------------------------- nodes ----

    def _alive(self, n: SimNode, inc: int) -> bool:
        return n.up and n.inc == inc

    def _defer(self, n: SimNode, fn: Callable[[Any], None], arg: Any) -> bool:
        if n.paused:
            n.deferred.append((fn, arg))
            return True
        return False

    def _boot(self, index: int) -> None:
        n = self.nodes[index]
        if n.up:
            return
        n.up = True
        n.paused = False
        n.inc += 1
        n.timers = {}
        n.last_heard = {}
        n.believed_up = {}
        n.fenced = True
        n.fifo_at = 0
        self._span(n, "standby" if not n.is_witness else "witness", 0)
        if n.spec is not None:
            n.core = Node.recover(self.config, n.name, n.log)
            n.role = n.core.state.role
            cfg = vrrp.VrrpConfig(n.spec.priority, self.p.advert_us, n.spec.address)
            n.router = vrrp.VrrpRouter.initial(cfg)
            self._feed(n, inp.Booted(self.now))
            self._vrrp(n, vrrp.Start(self.now))
        for other in self.nodes:
            if other is not n:
                n.last_heard[other.name] = self.now
                n.believed_up[other.name] = False
        self._galera_recompute()
        self.push(self.now + self.rng.randint(0, self.p.advert_us), self._tick, (index, n.inc))

    def _crash(self, n: SimNode) -> None:
        if not n.up:
            return
        n.up = False
        n.paused = False
        n.deferred = []
        n.inc += 1
        n.core = None
        n.router = None
        n.timers = {}
        n.fenced = True
        n.k3s_running = False
        n.litestream_on = False
        n.g_primary = False  # grastate/gvwstate (gid, view, history) survive on disk
        self._span(n, "down", 0)
        self._galera_recompute()
        self._observe()

    # -------------------------------------------------------------- core ----

    def _feed(self, n: SimNode, received: inp.Input) -> None:
        core = n.core
        assert core is not None
        before = core.state
        try:
            decision = core.handle(received)
        except DiskFull:
            self.append_failures += 1
            return
        if not decision.events:
            return
        after = decision.state
        if after.epoch < before.epoch or after.max_epoch_seen < before.max_epoch_seen:
            self._violate(
                "epochs-monotonic",
                f"{n.name}: epoch {before.epoch}->{after.epoch}, "
                f"max seen {before.max_epoch_seen}->{after.max_epoch_seen}",
            )
        if after.epoch != before.epoch:
            self.epochs_marked.append((self.now, n.name, after.epoch))
        if after.role is not before.role or after.role is not n.role:
            self._role(n, after.role, after.epoch)
        for event in decision.events:
            if isinstance(event, _NOTABLE):
                self.timeline.append((self.now, n.name, _describe(event)))
        for effect in decision.effects:
            self._effect(n, effect)
        self._observe()

    def _role(self, n: SimNode, role: Role, epoch: int) -> None:
        n.role = role
        self.timeline.append((self.now, n.name, f"{role} (epoch {epoch})"))
        self._span(n, str(role), epoch)
        if role is Role.ACTIVE:
            owner = self.epoch_owner.setdefault(epoch, n.name)
            if owner != n.name:
                self._violate(
                    "one-active-per-epoch", f"epoch {epoch} active on {owner} and {n.name}"
                )

    def _effect(self, n: SimNode, effect: fx.Effect) -> None:
        if isinstance(effect, fx.RunStep):
            lo, hi = self.p.step_us
            dur = self.rng.randint(lo, hi) * n.slow
            self.push(self.now + dur, self._step_done, (n.index, n.inc, effect))
        elif isinstance(effect, fx.StartTimer):
            n.timers[effect.timer_id] = effect.due
            self.push(
                max(effect.due, self.now), self._core_timer, (n.index, n.inc, effect.timer_id)
            )
        elif isinstance(effect, fx.CancelTimer):
            n.timers.pop(effect.timer_id, None)
        elif isinstance(effect, fx.Announce):
            self._send_heartbeats(n)
        elif isinstance(effect, fx.SetPriorityYield):
            assert n.spec is not None
            prio = 1 if effect.yielded else n.spec.priority
            self._vrrp(n, vrrp.PriorityChanged(self.now, prio))
        elif isinstance(effect, fx.FenceWrites):
            n.fenced = effect.fenced
        elif isinstance(effect, fx.StopServices):
            n.k3s_running = False
            n.litestream_on = False
        elif isinstance(effect, fx.ProbeVrrp):
            if n.router is not None:
                r = n.router
                self._fifo(n, VrrpStatus(r.state.value), r.priority)

    def _core_timer(self, arg: tuple[int, int, int]) -> None:
        index, inc, timer_id = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._core_timer, arg):
            return
        if n.timers.pop(timer_id, None) is None:
            return  # cancelled
        self._feed(n, inp.TimerFired(self.now, timer_id))

    def _fifo(self, n: SimNode, state: VrrpStatus, priority: int) -> None:
        lo, hi = self.p.fifo_delay_us
        at = max(self.now + self.rng.randint(lo, hi), n.fifo_at)
        n.fifo_at = at
        self.push(at, self._fifo_line, (n.index, n.inc, state, priority))

    def _fifo_line(self, arg: tuple[int, int, VrrpStatus, int]) -> None:
        index, inc, state, priority = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._fifo_line, arg):
            return
        self._feed(n, inp.VrrpReported(self.now, state, priority))

    # -------------------------------------------------------------- VRRP ----

    def _vrrp(self, n: SimNode, stimulus: vrrp.Stimulus) -> None:
        assert n.router is not None
        n.router, actions = vrrp.step(n.router, stimulus)
        for action in actions:
            if isinstance(action, vrrp.SendAdvert):
                assert n.spec is not None
                msg = (action.priority, action.interval_us, n.spec.address)
                for peer in self.data:
                    if peer is not n:
                        self._send(n, peer, self._advert, msg, 1)
            elif isinstance(action, vrrp.ArmTimer):
                self.push(action.due, self._vrrp_timer, (n.index, n.inc, action.generation))
            elif isinstance(action, vrrp.StateChanged):
                self._fifo(n, VrrpStatus(action.new.value), action.priority)

    def _vrrp_timer(self, arg: tuple[int, int, int]) -> None:
        index, inc, gen = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._vrrp_timer, arg):
            return
        if n.router is not None and n.router.timer_generation == gen:
            self._vrrp(n, vrrp.TimerFired(self.now, gen))

    def _advert(self, arg: tuple[int, int, tuple[int, int, str]]) -> None:
        index, inc, (priority, interval, sender) = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._advert, arg):
            return
        self._vrrp(n, vrrp.AdvertReceived(self.now, priority, interval, sender))

    # ----------------------------------------------------------- network ----

    def _send(
        self, src: SimNode, dst: SimNode, fn: Callable[[Any], None], msg: Any, pri: int
    ) -> None:
        if not dst.up or (src.index, dst.index) in self.blocked:
            return
        if self.loss and self.rng.random() < self.loss:
            return
        lo, hi = self.p.link_delay_us
        self.push(self.now + self.rng.randint(lo, hi), fn, (dst.index, dst.inc, msg), pri)
        if self.dup and self.rng.random() < self.dup:
            self.push(self.now + self.rng.randint(lo, hi * 4), fn, (dst.index, dst.inc, msg), pri)

    def _heartbeat_msg(self, n: SimNode) -> tuple[str, PeerRole, int, int, int, bool]:
        if n.core is None:
            return (n.name, PeerRole.WITNESS, 0, 0, 0, False)
        ad = n.core.state.advertisement()  # frozen facts during a split-brain episode
        return (n.name, ad.role, ad.epoch, ad.committed, ad.changes, ad.judging)

    def _send_heartbeats(self, n: SimNode) -> None:
        msg = self._heartbeat_msg(n)
        for peer in self.data:
            if peer is not n:
                self._send(n, peer, self._heartbeat, msg, 0)

    def _heartbeat(self, arg: tuple[int, int, tuple[str, PeerRole, int, int, int, bool]]) -> None:
        index, inc, (peer, role, epoch, committed, changes, judging) = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._heartbeat, arg):
            return
        n.last_heard[peer] = self.now
        n.believed_up[peer] = True
        self._feed(n, inp.PeerHeard(self.now, peer, role, epoch, committed, changes, judging))

    def _tick(self, arg: tuple[int, int]) -> None:
        index, inc = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._tick, arg):
            return
        self._send_heartbeats(n)
        if n.core is not None:
            timeout = self.p.peer_timeout_us
            for other in self.nodes:
                name = other.name
                if name != n.name and n.believed_up.get(name, True):
                    if self.now - n.last_heard.get(name, 0) > timeout:
                        n.believed_up[name] = False
                        self._feed(n, inp.PeerLost(self.now, name))
            if len(n.history) != n.core.state.committed:
                self._feed(n, inp.LocalProgress(self.now, len(n.history)))
        self.push(self.now + self.p.advert_us, self._tick, arg)

    def connected(self, a: SimNode, b: SimNode) -> bool:
        return (
            a.up
            and b.up
            and (a.index, b.index) not in self.blocked
            and (b.index, a.index) not in self.blocked
        )

    # ------------------------------------------------------------ Galera ----

    def _galera_recompute(self) -> None:
        members = [n for n in self.nodes if n.up]
        seen: set[int] = set()
        for start in members:
            if start.index in seen:
                continue
            comp = [start]
            seen.add(start.index)
            i = 0
            while i < len(comp):
                cur = comp[i]
                i += 1
                for other in members:
                    if other.index not in seen and self.connected(cur, other):
                        seen.add(other.index)
                        comp.append(other)
            comp.sort(key=lambda x: x.index)
            self._galera_component(comp)
        for n in self.nodes:
            if not n.up:
                n.g_primary = False
        self._gluster_sync()

    def _galera_component(self, comp: list[SimNode]) -> None:
        """Galera's rule: a component is primary when it holds a majority of the last
        primary component it descends from (the witness, garbd, counts as a member)."""
        data = [n for n in comp if not n.is_witness]
        if not data:
            for n in comp:
                n.g_primary = False
            return
        members = {n.index for n in comp}
        gids: list[int] = []
        for n in comp:
            if n.g_primary and n.g_gid not in gids:
                gids.append(n.g_gid)
        if len(gids) >= 2:
            # Conflicting primary components never merge: each keeps its own
            # members; the others wait. A demotion's rejoin_galera resolves it.
            return
        if gids:
            part = [n for n in comp if n.g_primary and n.g_gid == gids[0]]
            view = part[0].g_view
            donors = [n for n in part if not n.is_witness] or data
        else:
            latest = max(comp, key=lambda x: (x.g_gid, -x.index))
            view = latest.g_view
            donors = data
        if sum(1 for i in view if i in members) * 2 <= len(view):
            for n in comp:
                n.g_primary = False
            return
        donor = max(donors, key=lambda x: (x.g_gid, len(x.history), -x.index))
        self._form(comp, donor, boot=False)

    def _form(self, comp: list[SimNode], donor: SimNode, boot: bool) -> None:
        gid = self.next_gid
        self.next_gid += 1
        view = tuple(sorted(n.index for n in comp))
        for n in comp:
            if not n.is_witness:
                self._sync_from(n, donor)
            n.g_primary, n.g_gid, n.g_boot, n.g_view = True, gid, boot, view
        self._mark_synced()

    def _sync_from(self, n: SimNode, donor: SimNode) -> None:
        if n is donor:
            return
        mine, theirs = n.history, donor.history
        if len(mine) <= len(theirs) and (not mine or theirs[len(mine) - 1] == mine[-1]):
            n.history = list(theirs)  # IST: our history is a prefix of theirs
            return
        keep = set(theirs)
        for w in mine:
            if w not in keep:
                self.discarded.append((self.now, n.name, w))
        n.history = list(theirs)  # SST
        self.timeline.append((self.now, n.name, "galera SST (divergent writes discarded)"))

    def _component(self, n: SimNode) -> list[SimNode]:
        return [m for m in self.data if m.up and m.g_primary and m.g_gid == n.g_gid]

    # ------------------------------------------------------------ Gluster ----

    def _gluster_sync(self) -> None:
        for a in self.data:
            for b in self.data:
                if b.index <= a.index or not self.connected(a, b):
                    continue
                if a.gl_pending and b.gl_pending:
                    if not (a.gl_split and b.gl_split):
                        self.timeline.append(
                            (self.now, a.name, f"gluster split-brain with {b.name}")
                        )
                    a.gl_split = b.gl_split = True
                elif (a.gl_pending or b.gl_pending) and not (a.gl_split or b.gl_split):
                    a.gl_pending = b.gl_pending = 0

    # ------------------------------------------------------------ clients ----

    def writable(self, n: SimNode) -> bool:
        return n.up and not n.paused and n.role is Role.ACTIVE and not n.fenced and n.g_primary

    def _client(self, _: Any) -> None:
        for n in self.data:
            if not self.writable(n):
                continue
            w = self.next_write
            self.next_write += 1
            comp = self._component(n)
            for m in comp:
                m.history.append(w)
            if len(comp) == len(self.data):
                for m in comp:
                    m.synced_len = len(m.history)
            self.acked.append((w, n.name, self.now))
            if n.k3s_running:
                k = self.next_k8s
                self.next_k8s += 1
                n.k3s_db.append(k)
                self.k8s_acked.append(k)
                if n.litestream_on:
                    for peer in self.data:
                        if peer is not n and self.connected(n, peer):
                            self.push(
                                self.now + self.p.litestream_lag_us,
                                self._litestream,
                                (peer.index, peer.inc, k),
                            )
            others = [m for m in self.data if m is not n and m.up]
            if others and all(self.connected(n, m) for m in others) and not n.gl_split:
                pass  # the file reached every peer at once
            else:
                n.gl_pending += 1
        lo = self.p.write_interval_us // 2
        self.push(self.now + self.rng.randint(lo, lo * 3), self._client, None)

    def _litestream(self, arg: tuple[int, int, int]) -> None:
        index, inc, k = arg
        n = self.nodes[index]
        if self._alive(n, inc):
            n.replica.append(k)

    # ------------------------------------------------------------- steps ----

    def _step_done(self, arg: tuple[int, int, fx.RunStep]) -> None:
        index, inc, eff = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._step_done, arg):
            return
        reason = ""
        if n.fail_next > 0:
            n.fail_next -= 1
            reason = "injected failure"
        elif self.chaos and self.p.step_fail_rate and self.rng.random() < self.p.step_fail_rate:
            reason = "transient failure"
        if not reason:
            reason = self._run_step(n, eff)
            if not reason and self.rng.random() < self.p.double_step_rate:
                before = self._fingerprint(n)
                again = self._run_step(n, eff)
                self.double_checks += 1
                after = self._fingerprint(n)
                if again or before != after:
                    self._violate(
                        "idempotent-steps",
                        f"{n.name}: step {eff.step} run twice changed the outcome "
                        f"({before} -> {after}, {again or 'ok'})",
                    )
        if reason:
            self._feed(n, inp.StepFailed(self.now, eff.plan_id, eff.step, eff.attempt, reason))
        else:
            self._feed(n, inp.StepSucceeded(self.now, eff.plan_id, eff.step, eff.attempt))

    def _fingerprint(self, n: SimNode) -> tuple[object, ...]:
        return (
            len(n.history),
            n.history[-1] if n.history else 0,
            n.g_gid,
            n.g_primary,
            n.g_boot,
            n.g_view,
            len(n.k3s_db),
            n.k3s_running,
            n.litestream_on,
            n.gl_pending,
            n.gl_split,
            len(self.quarantine),
            len(self.discarded),
        )

    def _run_step(self, n: SimNode, eff: fx.RunStep) -> str:
        """Perform one plan step on the simulated services; "" on success."""
        step = eff.step
        if step == "confirm_old_active_gone" or step in ("mark_active", "mark_standby"):
            return ""
        if step == "restore_k3s_db":
            if n.replica:
                n.k3s_db = list(n.replica)
            return ""
        if step == "start_k3s":
            n.k3s_running = True
            return ""
        if step == "make_galera_primary":
            if n.g_primary:
                return ""
            if not eff.bootstrap_allowed:
                return "galera: non-primary component and bootstrap not allowed"
            comp = [m for m in self.nodes if m.up and (m is n or self.connected(n, m))]
            self._form([m for m in comp if not m.g_primary], n, boot=True)
            self.timeline.append((self.now, n.name, "galera pc.bootstrap"))
            return ""
        if step == "heal_gluster":
            n.gl_split = False
            n.gl_pending = 0
            return ""
        if step == "start_replication":
            n.litestream_on = True
            return ""
        if step == "quarantine_divergent":
            # Compare with the primary component this node will rejoin (GTIDs),
            # or, unreachable, keep everything since the last full-cluster sync.
            donor = self._rejoin_donor(n)
            if donor is not None:
                theirs = set(donor.history)
                for w in n.history:
                    if w not in theirs:
                        self.quarantine.add(w)
            else:
                for w in n.history[n.synced_len :]:
                    self.quarantine.add(w)
            replicated = set(n.replica)
            for k in n.k3s_db:
                if k not in replicated:
                    self.k8s_quarantine.add(k)
            return ""
        if step == "stop_replication":
            n.litestream_on = False
            return ""
        if step == "stop_k3s":
            n.k3s_running = False
            return ""
        if step == "rejoin_galera":
            self._rejoin(n)
            return ""
        if step == "resync_gluster":
            n.gl_pending = 0
            n.gl_split = False
            for m in self.data:
                if m is not n and self.connected(n, m) and m.gl_split:
                    m.gl_split = False
                    m.gl_pending = 0
            return ""
        return f"unknown step {step}"

    def _rejoin_donor(self, n: SimNode) -> SimNode | None:
        """The primary component a demoting node rejoins: not forced first, then size."""
        best: SimNode | None = None
        best_key: tuple[int, int, int] | None = None
        for m in self.data:
            if m is n or not m.g_primary or not self.connected(n, m):
                continue
            key = (0 if m.g_boot else 1, len(self._component(m)), -m.index)
            if best_key is None or key > best_key:
                best, best_key = m, key
        if best is None:
            return None
        if n.g_primary and n.g_gid == best.g_gid:
            return None  # already a member of it
        return best

    def _rejoin(self, n: SimNode) -> None:
        donor = self._rejoin_donor(n)
        if donor is not None:
            comp = [m for m in self.nodes if m.up and m.g_primary and m.g_gid == donor.g_gid]
            self._form([*comp, n], donor, boot=donor.g_boot)
            return
        if n.g_primary and n.g_boot and len(self._component(n)) == 1:
            # Restart MariaDB without bootstrap: leave the forced one-node component
            # and wait for a majority of the whole cluster.
            n.g_primary = False
            n.g_boot = False
            n.g_view = tuple(m.index for m in self.nodes)
            self._galera_recompute()

    def _mark_synced(self) -> None:
        """Histories shared by every data node (one primary component of all) are synced."""
        first = self.data[0]
        if all(m.up and m.g_primary and m.g_gid == first.g_gid for m in self.data):
            for m in self.data:
                m.synced_len = len(m.history)

    # ------------------------------------------------------------ faults ----

    def _targets(self, target: str) -> list[SimNode]:
        if target == "all":
            return list(self.data)
        if target == "active":
            actives = [n for n in self.data if n.up and n.role is Role.ACTIVE]
            return actives[:1] if actives else []
        node = self.by_name.get(target)
        return [node] if node is not None else []

    def _fault(self, f: Fault) -> None:
        kind = f.kind
        names = ",".join(n.name for n in self._targets(f.target)) if f.target else ""
        resolved = f"={names}" if names and names != f.target else ""
        what = f"fault {f.kind} {f.target}{resolved} {f.arg}".rstrip()
        self.timeline.append((self.now, "*", what))
        if kind == "partition":
            self._partition(f.target)
        elif kind == "heal":
            self.blocked = set()
            self.loss = self.dup = 0.0
            self._unshade("partition")
            self._galera_recompute()
        elif kind == "crash":
            for n in self._targets(f.target):
                if self.single_active_failure and self.failure_at is None and n.role is Role.ACTIVE:
                    self.failure_at = self.now
                self._crash(n)
        elif kind == "restart":
            for n in self._targets(f.target):
                self._boot(n.index)
        elif kind == "pause":
            for n in self._targets(f.target):
                if n.up and not n.paused:
                    n.paused = True
                    self._shade(n.name, "paused")
        elif kind == "resume":
            for n in self._targets(f.target):
                self._resume(n)
        elif kind == "slow":
            for n in self._targets(f.target):
                n.slow = max(1, int(f.arg or "1"))
        elif kind == "failsteps":
            for n in self._targets(f.target):
                n.fail_next = int(f.arg or "1")
        elif kind == "diskfull":
            for n in self._targets(f.target):
                n.log.full = True
                self._shade(n.name, "disk full")
        elif kind == "diskok":
            for n in self._targets(f.target):
                n.log.full = False
                self._unshade_node(n.name)
        elif kind == "noise":
            self.loss = float(f.target or "0") / 100
            self.dup = float(f.arg or "0") / 100
        elif kind == "resolve":
            self._operator_resolve()
        elif kind == "switchover":
            for n in self._targets("active"):
                if n.core is not None and not n.paused:
                    self._feed(n, inp.OperatorCommand(self.now, Command.SWITCHOVER))
        if self.now >= self.last_heal:
            self.chaos = False
            if self.p.policy is Policy.MANUAL and not self.operator_started:
                self.operator_started = True
                self.push(self.now + self.p.operator_delay_us, self._operator_poll, None)
        self._observe()

    def _resume(self, n: SimNode) -> None:
        if not n.paused:
            return
        n.paused = False
        self._unshade_node(n.name)
        pending, n.deferred = n.deferred, []
        for fn, arg in pending:
            self.push(self.now, fn, arg)

    def _operator_poll(self, _: Any) -> None:
        self._operator_resolve()
        if self.now + SECOND < self.end:
            self.push(self.now + SECOND, self._operator_poll, None)

    def _operator_resolve(self) -> None:
        frozen = [n for n in self.data if n.up and n.core is not None and n.core.state.frozen]
        if not frozen:
            return
        assert all(n.spec is not None for n in frozen)
        winner = max(frozen, key=lambda x: (x.spec.priority if x.spec else 0, -x.index))
        for n in frozen:
            if not n.paused:
                self._feed(n, inp.OperatorCommand(self.now, Command.RESOLVE, winner.name))

    def _partition(self, spec: str) -> None:
        members = [n.index for n in self.nodes]
        groups: list[list[int]] = []
        one_way: list[tuple[int, int]] = []
        if spec.startswith("isolate-"):
            who = spec[len("isolate-") :]
            targets = self._targets(who)
            if not targets:
                return
            lone = targets[0].index
            groups = [[lone], [m for m in members if m != lone]]
        elif spec == "halves":
            order = list(members)
            half = (len(order) + 1) // 2
            groups = [order[:half], order[half:]]
        elif spec in ("ring", "bridge"):
            order = list(members)
            self.rng.shuffle(order)
            if spec == "bridge":
                mid = len(order) // 2
                left, bridge, right = order[:mid], order[mid], order[mid + 1 :]
                for a in left:
                    for b in right:
                        one_way += [(a, b), (b, a)]
                del bridge
            else:
                n = len(order)
                reach = max(0, (self.total_votes // 2) // 2) if n > 3 else 0
                for i, a in enumerate(order):
                    for j, b in enumerate(order):
                        d = min((i - j) % n, (j - i) % n)
                        if a != b and d > max(reach, 1 if n > 3 else 0):
                            one_way.append((a, b))
        elif spec.startswith("oneway-"):
            parts = spec.split("-")
            if len(parts) == 3 and parts[1] in self.by_name and parts[2] in self.by_name:
                one_way.append((self.by_name[parts[1]].index, self.by_name[parts[2]].index))
        for gi, g in enumerate(groups):
            for h in groups[gi + 1 :]:
                for a in g:
                    for b in h:
                        one_way += [(a, b), (b, a)]
        self.blocked = set(one_way)
        self._unshade("partition")
        cut = sorted(
            {self.nodes[a].name for a, _ in one_way} | {self.nodes[b].name for _, b in one_way}
        )
        self.open_shade["partition"] = (self.now, "*", f"partition {spec}: {' '.join(cut)}")
        self._galera_recompute()

    # ------------------------------------------------------ bookkeeping ----

    def _violate(self, name: str, detail: str) -> None:
        self.violations.append(f"{name}: at {fmt_time(self.now)}: {detail}")

    def _span(self, n: SimNode, label: str, epoch: int) -> None:
        old = self.open_span.get(n.name)
        if old is not None:
            if old.label == label and old.epoch == epoch:
                return
            old.end = self.now
        span = Span(n.name, self.now, None, label, epoch)
        self.spans.append(span)
        self.open_span[n.name] = span

    def _shade(self, node: str, what: str) -> None:
        self.open_shade[node] = (self.now, node, what)

    def _unshade_node(self, node: str) -> None:
        old = self.open_shade.pop(node, None)
        if old is not None:
            self.shaded.append((old[0], self.now, old[1], old[2]))

    def _unshade(self, key: str) -> None:
        old = self.open_shade.pop(key, None)
        if old is not None:
            self.shaded.append((old[0], self.now, old[1], old[2]))

    def _observe(self) -> None:
        """Account downtime and split-brain time up to now, then sample the counts."""
        now = self.now
        elapsed = now - self.m_last
        if elapsed > 0 and self.m_last >= self.p.chaos_start_us:
            if self.m_writable == 0:
                self.downtime += elapsed
            if self.m_active >= 2:
                self.split_brain += elapsed
        self.m_last = now
        writable = 0
        active = 0
        for n in self.data:
            if n.up and n.role is Role.ACTIVE:
                active += 1
                if self.writable(n):
                    writable += 1
        self.m_writable = writable
        self.m_active = active
        if writable >= 2 and self.p.mode is Mode.SAFETY_FIRST:
            names = [n.name for n in self.data if self.writable(n)]
            self._violate("one-active-per-epoch", f"two writable actives at once: {names}")
        if self.failure_at is not None:
            if writable == 0 and self.gap_start is None:
                self.gap_start = now
            elif writable > 0 and self.gap_start is not None:
                self.max_gap_after_failure = max(self.max_gap_after_failure, now - self.gap_start)
                self.gap_start = None
        if now >= self.last_heal:
            if self.converged():
                if self.converged_since is None:
                    self.converged_since = now
            else:
                self.converged_since = None

    def converged(self) -> bool:
        actives = [n for n in self.data if n.role is Role.ACTIVE]
        if len(actives) != 1 or any(not n.up or n.core is None for n in self.data):
            return False
        active = actives[0]
        assert active.core is not None
        epoch = active.core.state.epoch
        if not self.writable(active):
            return False
        for n in self.data:
            if n is active:
                continue
            assert n.core is not None
            if n.role is not Role.STANDBY:
                return False
            view = n.core.state.peer(active.name)
            if view is None or view.role is not PeerRole.ACTIVE or view.epoch != epoch:
                return False
            if n.gl_split:
                return False
        return not active.gl_split

    # ------------------------------------------------------------ results ----

    def digest(self) -> str:
        h = hashlib.sha256()
        for n in self.data:
            for r in n.log.records():
                h.update(r.hash.encode())
        return h.hexdigest()

    def finish(self, wall_s: float) -> RunResult:
        inv = dict.fromkeys(INVARIANTS, True)
        for v in self.violations:
            inv[v.split(":", 1)[0]] = False
        if not self.converged():
            inv["convergence"] = False
            roles = ", ".join(f"{n.name}={n.role if n.up else 'down'}" for n in self.data)
            self._violate(
                "convergence",
                f"not converged {fmt_time(self.end - self.last_heal)} after the last heal"
                f" ({roles})",
            )
        # Invariant 3: every acknowledged write is in the final active's data or quarantined.
        actives = [n for n in self.data if n.role is Role.ACTIVE and n.up]
        final = set(actives[0].history) if len(actives) == 1 else set()
        lost = quarantined = 0
        first_lost: list[int] = []
        for w, _node, _at in self.acked:
            if w in final:
                continue
            if w in self.quarantine:
                quarantined += 1
            else:
                lost += 1
                if len(first_lost) < 5:
                    first_lost.append(w)
        if lost and actives:
            inv["nothing-lost"] = False
            self._violate("nothing-lost", f"{lost} acknowledged writes lost, e.g. {first_lost}")
        k8s_final = set(actives[0].k3s_db) if len(actives) == 1 else set()
        k8s_lost = sum(
            1 for k in self.k8s_acked if k not in k8s_final and k not in self.k8s_quarantine
        )
        # Invariant 4: replay, re-decide, hash chains.
        for n in self.data:
            records = list(n.log.records())
            try:
                n.log.verify()
                state = replay_records(n.name, records)
                if n.core is not None and state != n.core.state:
                    inv["replay"] = False
                    self._violate("replay", f"{n.name}: replayed state differs from the live one")
                mismatches = redecide(Node(self.config, n.name).ctx, records)
                if mismatches:
                    inv["replay"] = False
                    self._violate(
                        "replay", f"{n.name}: re-deciding record {mismatches[0].seq} differs"
                    )
            except LogError as exc:
                inv["replay"] = False
                self._violate("replay", f"{n.name}: {exc}")
        # Invariant 8: both sides of every split-brain name the same winner.
        disagreement = self._verdict_disagreement()
        if disagreement:
            inv["split-brain-verdicts-agree"] = False
            self._violate("split-brain-verdicts-agree", disagreement)
        # safety-first promises no availability when the survivors lack a majority.
        attainable = self.p.mode is Mode.AVAILABILITY_FIRST or (
            (self.total_votes - 1) * 2 > self.total_votes
        )
        if self.failure_at is not None and attainable:
            gap = self.max_gap_after_failure
            if self.gap_start is not None:
                gap = max(gap, self.now - self.gap_start)
            if gap > self.p.availability_bound_us():
                inv["availability"] = False
                self._violate(
                    "availability",
                    f"{fmt_time(gap)} without a writable active after the active failed "
                    f"(bound {fmt_time(self.p.availability_bound_us())})",
                )
        for key in list(self.open_shade):
            self._unshade(key)
        for span in self.spans:
            if span.end is None:
                span.end = self.now
        converged_after = (
            None if self.converged_since is None else max(0, self.converged_since - self.last_heal)
        )
        return RunResult(
            scenario=self.scenario,
            seed=self.seed,
            params=self.p,
            schedule=self.schedule,
            invariants=inv,
            violations=list(self.violations),
            digest=self.digest(),
            events=self.events,
            sim_us=self.now,
            wall_s=wall_s,
            downtime_us=self.downtime,
            split_brain_us=self.split_brain,
            writes_acked=len(self.acked),
            writes_lost=lost,
            writes_quarantined=quarantined,
            k8s_writes=len(self.k8s_acked),
            k8s_lost=k8s_lost,
            converged_after_us=converged_after,
            last_heal_us=self.last_heal,
            timeline=list(self.timeline),
            spans=list(self.spans),
            shaded=sorted(self.shaded),
            epochs=list(self.epochs_marked),
            observations=self.observations(),
            logs={n.name: list(n.log.records()) for n in self.data},
        )

    def _verdict_disagreement(self) -> str:
        """The first split-brain whose sides named different winners ("" if none).

        A split-brain is the pair (node, its epoch) x (peer, the peer's epoch);
        each side records its verdict in a SplitBrainResolved event.
        """
        verdicts: dict[frozenset[tuple[str, int]], dict[str, str]] = {}
        for n in self.data:
            peer: tuple[str, int] | None = None
            for r in n.log.records():
                if r.type == ev.SplitBrainDetected.TYPE:
                    detected = r.message()
                    assert isinstance(detected, ev.SplitBrainDetected)
                    peer = (detected.peer, detected.peer_epoch)
                elif r.type == ev.SplitBrainResolved.TYPE and peer is not None:
                    resolved = r.message()
                    assert isinstance(resolved, ev.SplitBrainResolved)
                    key = frozenset({(n.name, r.epoch), peer})
                    verdicts.setdefault(key, {})[n.name] = resolved.winner
        for key in sorted(verdicts, key=sorted):
            winners = verdicts[key]
            if len(set(winners.values())) > 1:
                sides = ", ".join(f"{k} says {v}" for k, v in sorted(winners.items()))
                return f"split-brain {sorted(key)}: {sides}"
        return ""

    def observations(self) -> list[NodeObservation]:
        out: list[NodeObservation] = []
        actives = [n for n in self.data if n.up and n.role is Role.ACTIVE]
        for n in self.data:
            assert n.spec is not None
            size = len(self._component(n)) if n.g_primary else 0
            out.append(
                NodeObservation(
                    name=n.name,
                    address=n.spec.address,
                    up=n.up,
                    role=n.role if n.up else None,
                    services_ready=n.k3s_running and n.g_primary,
                    k8s_consistent=n.k3s_running,
                    galera_member=n.g_primary,
                    galera_cluster_size=size,
                    reachable_from_active=any(a is not n and self.connected(a, n) for a in actives),
                )
            )
        return out
