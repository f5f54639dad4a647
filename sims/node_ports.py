"""One simulated node's ports: what the dispatcher's jobs reach in the simulator.

The VIP fake drives the node's :class:`hacore.vrrp.VrrpRouter` (the VRRP model
playing keepalived) and answers a probe through the node's ordered notify
FIFO, like keepalived; the transport fake sends the heartbeat; the timer fake
puts the firing on the event heap. Galera, the datastore, k3s and Gluster are
fakes over their cluster-wide models (:mod:`sims.galera`, :mod:`sims.k3s`,
:mod:`sims.gluster`). No fake decides anything: the dispatcher
(:mod:`hacore.dispatch`) says which operation runs, the fakes only do it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hacore import vrrp
from hacore.ports import Done, Outcome, Ports, Uncertain
from hacore.roles import Role
from sims.galera import GaleraFake
from sims.gluster import GlusterFake
from sims.k3s import DatastoreFake, K3sFake
from sims.simnode import SimNode

if TYPE_CHECKING:
    from sims.world import World


# What a fake of a hung daemon answers (SimNode.hung).
NO_ANSWER = Uncertain("no answer before the deadline")


class VipFake:
    def __init__(self, world: World, node: SimNode) -> None:
        self.w = world
        self.node = node

    def set_priority_yield(self, *, yielded: bool, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        assert n.spec is not None
        prio = 1 if yielded else n.spec.priority
        self.w._vrrp(n, vrrp.PriorityChanged(self.w.now, prio))
        return Done()

    def probe(self, *, key: str, deadline: int) -> Outcome:
        # The answer comes as a VrrpReported line through the FIFO, in order
        # with the notifications (keepalived's own ordered stream).
        if self.node.hung:
            return NO_ANSWER
        router = self.node.router
        if router is not None:
            self.w._fifo(self.node, router.state, router.priority)
        return Done()


class TransportFake:
    def __init__(self, world: World, node: SimNode) -> None:
        self.w = world
        self.node = node

    def announce(self, *, role: Role, epoch: int, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.w._send_heartbeats(self.node)
        return Done()


class TimerFake:
    def __init__(self, world: World, node: SimNode) -> None:
        self.w = world
        self.node = node

    def start(self, *, timer_id: int, due: int, key: str) -> Outcome:
        w, n = self.w, self.node
        w.push(max(due, w.now), w._core_timer, (n.index, n.inc, timer_id))
        return Done()

    def cancel(self, *, timer_id: int, key: str) -> Outcome:
        return Done()  # the dispatcher recognises the firing as stale


def node_ports(world: World, n: SimNode) -> Ports:
    return Ports(
        vip=VipFake(world, n),
        galera=GaleraFake(world.galera, n),
        datastore=DatastoreFake(world.k3s, n),
        k3s=K3sFake(n),
        gluster=GlusterFake(world.gluster, n),
        transport=TransportFake(world, n),
        timers=TimerFake(world, n),
    )
