"""Each port's contract suite (hacontracts.ports) against the simulator's fakes.

Every subclass builds a two-node simulation, lets it settle (n1 active, n2
standby, Galera primary of both), and hands the suite one of n1's ports from
``sims.node_ports``. The hooks read or shape the simulated world directly:
they are the simulator's side of the contract, as a real adapter's hooks
would start, stop or SIGSTOP a daemon.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from hacontracts.ports import (
    DatastorePortContract,
    GaleraPortContract,
    GlusterPortContract,
    K3sPortContract,
    TimerPortContract,
    TransportPortContract,
    VipPortContract,
)
from hacore import inputs as inp
from hacore.dispatch import Job
from hacore.ports import (
    DatastorePort,
    GaleraPort,
    GlusterPort,
    K3sPort,
    Ports,
    TimerPort,
    TransportPort,
    VipPort,
)
from hacore.roles import Role
from sims.faults import SECOND
from sims.run import make_simulation
from sims.sim import Simulation
from sims.simnode import SimNode


class SimPorts:
    """The settled pair and n1's ports; the hooks every contract needs."""

    sim: Simulation
    n: SimNode

    def settle_pair(self) -> Ports:
        sim = make_simulation("custom", 1, schedule=(), duration_us=120 * SECOND)
        sim.start()
        sim.run_until(15 * SECOND)
        n = sim.nodes[0]
        assert n.role is Role.ACTIVE and n.g_primary and n.ports is not None
        self.sim, self.n = sim, n
        return n.ports

    def now(self) -> int:
        return self.sim.now

    def watch_inputs(self, node: SimNode) -> list[inp.Input]:
        """Every input ``node``'s dispatcher is offered from now on (the core may
        decide nothing on one, and then logs nothing)."""
        runtime = node.runtime
        assert runtime is not None
        seen: list[inp.Input] = []
        offer = runtime.offer

        def watching(received: inp.Input) -> list[Job]:
            seen.append(received)
            return offer(received)

        runtime.offer = watching  # type: ignore[method-assign]
        return seen

    def make_unresponsive(self) -> None:
        self.n.hung = True


class TestGaleraFake(SimPorts, GaleraPortContract):
    def make_port(self) -> GaleraPort:
        return self.settle_pair().galera

    def is_primary(self) -> bool:
        return self.n.g_primary

    def accepts_writes(self) -> bool:
        return self.sim.writable(self.n)

    def committed(self) -> int:
        return len(self.n.history)

    def isolate(self) -> None:
        self.sim.blocked = {(0, 1), (1, 0)}
        self.sim.galera.recompute()
        # Galera notices the cut after its suspect timeout: the contract's isolated
        # node is one whose Galera has noticed (the real adapter's lab waits for it)
        self.sim.galera.settle_now()

    def diverge(self) -> Collection[int]:
        sim, n = self.sim, self.n
        other = sim.nodes[1]
        self.isolate()
        sim.galera.make_primary(n, True)  # both sides forced primary: a split-brain
        sim.galera.make_primary(other, True)
        mine = [9001, 9002]
        n.history.extend(mine)
        other.history.append(9100)
        sim.blocked = set()
        sim.galera.recompute()  # two primary components never merge
        return mine

    def quarantined(self) -> Collection[int]:
        return self.sim.quarantine

    def discarded(self) -> Collection[int]:
        return [w for _at, node, w in self.sim.discarded if node == self.n.name]


class TestDatastoreFake(SimPorts, DatastorePortContract):
    def make_port(self) -> DatastorePort:
        return self.settle_pair().datastore

    def replicating(self) -> bool:
        return self.n.litestream_on

    def write_local(self) -> int:
        self.n.k3s_running = True
        self.sim.k3s.write(self.n)
        return self.n.k3s_db[-1]

    def catch_up(self) -> None:
        # The model's replica is what litestream delivered to this node.
        self.n.replica = list(self.n.k3s_db)

    def local(self) -> Collection[int]:
        return self.n.k3s_db

    def replica(self) -> Collection[int]:
        return self.n.replica

    def quarantined(self) -> Collection[int]:
        return self.sim.k3s.quarantined


class TestK3sFake(SimPorts, K3sPortContract):
    def make_port(self) -> K3sPort:
        return self.settle_pair().k3s


class TestGlusterFake(SimPorts, GlusterPortContract):
    def make_port(self) -> GlusterPort:
        return self.settle_pair().gluster

    def make_split_brain(self) -> None:
        sim = self.sim
        sim.blocked = {(0, 1), (1, 0)}
        for m in sim.data:
            sim.gluster.write(m, file=0)  # the same file on both sides: a split-brain
        sim.blocked = set()
        sim.gluster.sync()

    def split_brain(self) -> bool:
        return self.n.gl_split

    def quarantined_copies(self) -> int:
        return self.sim.gluster.quarantined_copies


class TestVipFake(SimPorts, VipPortContract):
    def make_port(self) -> VipPort:
        ports = self.settle_pair()
        self.offered = self.watch_inputs(self.n)
        return ports.vip

    def priority(self) -> int:
        router = self.n.router
        assert router is not None
        return router.priority

    def configured_priority(self) -> int:
        assert self.n.spec is not None
        return self.n.spec.priority

    def settle(self) -> None:
        self.sim.run_until(self.sim.now + 200_000)

    def reports(self) -> list[inp.VrrpReported]:
        return [i for i in self.offered if isinstance(i, inp.VrrpReported)]


class TestTransportFake(SimPorts, TransportPortContract):
    def make_port(self) -> TransportPort:
        ports = self.settle_pair()
        sim = self.sim
        self.delivered: list[tuple[str, int]] = []
        deliver = sim._heartbeat

        def recording(arg: tuple[int, int, Any]) -> None:
            (sender, role, epoch, *_), _sent = arg[2]
            if arg[0] == 1 and sender == self.n.name:
                self.delivered.append((str(role), epoch))
            deliver(arg)

        sim._heartbeat = recording  # type: ignore[method-assign]
        return ports.transport

    def role_and_epoch(self) -> tuple[Role, int]:
        runtime = self.n.runtime
        assert runtime is not None
        return runtime.state.role, runtime.state.epoch

    def settle(self) -> None:
        self.sim.run_until(self.sim.now + 50_000)

    def heard_by_peers(self) -> list[tuple[str, int]]:
        return self.delivered


class TestTimerFake(SimPorts, TimerPortContract):
    def make_port(self) -> TimerPort:
        ports = self.settle_pair()
        self.fired_ids: list[int] = []
        runtime = self.n.runtime
        assert runtime is not None
        fire = runtime.timer_fired

        def record(timer_id: int, at: int) -> list[Job]:
            self.fired_ids.append(timer_id)
            return fire(timer_id, at)

        runtime.timer_fired = record  # type: ignore[method-assign]
        return ports.timers

    def advance(self, us: int) -> None:
        self.sim.run_until(self.sim.now + us)

    def fired(self) -> list[int]:
        return self.fired_ids
