"""The deterministic cluster simulator: the real core, simulated everything else.

:class:`Simulation` is one run. It is assembled from small parts, one job each:

============================  ==================================================
:mod:`sims.engine`            virtual clock, event heap, run loop
:mod:`sims.world`             the run's state, shared by the parts below
:mod:`sims.params`            run parameters and the bounds derived from them
:mod:`sims.simnode`           one member: its log and its services' state
:mod:`sims.lifecycle`         node boot/crash; drives each node's dispatcher
:mod:`sims.network`           links, VRRP adverts, heartbeats, peer timeouts
:mod:`sims.node_ports`        one node's ports (hacore.ports) as fakes
:mod:`sims.galera`            Galera components, quorum, IST/SST, rejoin
:mod:`sims.k3s`               k3s, its datastore and litestream
:mod:`sims.gluster`           Gluster files and split-brain
:mod:`sims.clients`           the clients' writes
:mod:`sims.nemesis`           applying faults, the manual policy's operator
:mod:`sims.bookkeeping`       violations, timeline, downtime/split-brain metrics
:mod:`sims.invariants`        the run invariants, one function each
:mod:`sims.result`            what a run returns
============================  ==================================================

Determinism rules (why the same seed gives the same logs, byte for byte): one
thread, one clock in integer microseconds, one heap keyed ``(time, priority,
sequence)`` (see :mod:`sims.engine`); one random stream per subsystem, derived
from the run seed and the subsystem's name, and nothing else random; no set
is ever iterated (sets are for membership only), dicts are iterated in
insertion order, nodes in index order. Each data node runs ``hacore.node.Node``
inside the runtime's dispatcher (``hacore.dispatch``) over a
:class:`~sims.simnode.SimLog` (an in-memory log that survives crashes and can
be made to fail appends: disk full).
"""

from __future__ import annotations

import hashlib
import time

from hacore.log import replay_records
from hacore.roles import Role, VrrpStatus
from hacore.status import NodeObservation
from sims.bookkeeping import Bookkeeping
from sims.invariants import END_CHECKS, INVARIANTS, write_fates, write_losses
from sims.lifecycle import NodeLifecycle
from sims.nemesis import Nemesis
from sims.network import Network
from sims.params import MS, WITNESS_NAME, SimParams
from sims.replay import replay_command
from sims.result import NodeEnd, RunResult, Span
from sims.simnode import DiskFull, SimLog, SimNode

__all__ = [
    "INVARIANTS",
    "MS",
    "WITNESS_NAME",
    "DiskFull",
    "RunResult",
    "SimLog",
    "SimNode",
    "SimParams",
    "Simulation",
    "Span",
]


def durable_epoch(n: SimNode) -> int:
    """A down node's epoch: what its log says."""
    return replay_records(n.name, n.log.records()).epoch


class Simulation(NodeLifecycle, Network, Nemesis, Bookkeeping):
    """One run. ``run()`` plays the schedule, then the heal phase, then checks."""

    def start(self) -> None:
        for n in self.nodes:
            self.push(self.boot_rng.random.randint(0, 50 * MS), self._boot, n.index)
        for f in self.schedule:
            self.push(f.at, self._fault, f, 2)
        self.push(self.p.chaos_start_us // 2, self.clients.round, None)

    def run(self) -> RunResult:
        wall = time.perf_counter()
        self.start()
        self.run_until(self.end)
        return self.finish(time.perf_counter() - wall)

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
        for name, check in END_CHECKS:
            for detail in check(self):
                inv[name] = False
                self._violate(name, detail)
        lost, quarantined, _first = write_losses(self)
        k8s = self.k3s
        k8s_fates = k8s.fates()
        k8s_lost = sum(1 for fate in k8s_fates.values() if fate == "lost to lag")
        for key in list(self.open_shade):
            self._unshade(key)
        self._close_lanes()
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
            k8s_writes=len(k8s.acked),
            k8s_lost=k8s_lost,
            converged_after_us=converged_after,
            last_heal_us=self.last_heal,
            timeline=list(self.timeline),
            spans=list(self.spans),
            shaded=sorted(self.shaded),
            epochs=list(self.epochs_marked),
            observations=self.observations(),
            logs={n.name: list(n.log.records()) for n in self.data},
            replay=replay_command(self),
            down=tuple(n.name for n in self.data if not n.up),
            nodes_end=self.nodes_end(),
            lanes=list(self.lane_spans),
            faults=list(self.fault_marks),
            violation_marks=list(self.violation_marks),
            writes=write_fates(self),
        )

    def nodes_end(self) -> list[NodeEnd]:
        out: list[NodeEnd] = []
        for n in self.data:
            router = n.router
            core = n.core
            out.append(
                NodeEnd(
                    name=n.name,
                    up=n.up,
                    role=str(n.role) if n.up else "down",
                    epoch=core.state.epoch if core is not None else durable_epoch(n),
                    vip=router is not None and router.state is VrrpStatus.MASTER,
                    writable=self.writable(n),
                    frozen=core is not None and core.state.frozen,
                )
            )
        return out

    def observations(self) -> list[NodeObservation]:
        out: list[NodeObservation] = []
        actives = [n for n in self.data if n.up and n.role is Role.ACTIVE]
        for n in self.data:
            assert n.spec is not None
            size = len(self.galera.component(n)) if n.g_primary else 0
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
