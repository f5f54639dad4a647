"""Simulated k3s and its datastore with litestream, and their ports.

The active writes a Kubernetes object per client round to its local database
(while k3s runs); litestream ships each to the peers' replicas after
``litestream_lag`` (when replication runs and the peer is reachable);
``restore_from_replica`` rebuilds the local database from the local replica
and can miss the tail. Each member's state (``k3s_running``, ``k3s_db``,
``replica``, ``litestream_on``) lives on its :class:`~sims.simnode.SimNode`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hacore.ports import Done, Failed, Outcome, Uncertain
from sims.simnode import SimNode

if TYPE_CHECKING:
    from sims.world import World


# What a fake of a hung daemon answers (SimNode.hung).
NO_ANSWER = Uncertain("no answer before the deadline")


class SimK3s:
    """The cluster's k3s datastores and litestream replication."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world.stream("k3s")
        self.next_object = 1
        self.acked: list[int] = []  # objects the API server acknowledged
        self.quarantined: set[int] = set()  # objects copied aside before a restore

    def write(self, n: SimNode) -> None:
        """The API server on ``n`` stores one object (a client round)."""
        if not n.k3s_running:
            return
        w = self.w
        k = self.next_object
        self.next_object += 1
        n.k3s_db.append(k)
        self.acked.append(k)
        if n.litestream_on:
            for peer in w.data:
                if peer is not n and w.connected(n, peer):
                    w.push(w.now + w.p.litestream_lag_us, self._shipped, (peer.index, peer.inc, k))

    def _shipped(self, arg: tuple[int, int, int]) -> None:
        index, inc, k = arg
        n = self.w.nodes[index]
        if n.up and n.inc == inc:
            n.replica.append(k)


class DatastoreFake:
    """One node's :class:`hacore.ports.DatastorePort`."""

    def __init__(self, k3s: SimK3s, node: SimNode) -> None:
        self.k3s = k3s
        self.node = node

    def restore_from_replica(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        if n.replica:
            n.k3s_db = list(n.replica)
        return Done()

    def start_replication(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.node.litestream_on = True
        return Done()

    def stop_replication(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.node.litestream_on = False
        return Done()

    def quarantine_newer_local(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        replicated = set(n.replica)
        for k in n.k3s_db:
            if k not in replicated:
                self.k3s.quarantined.add(k)
        return Done()


class K3sFake:
    """One node's :class:`hacore.ports.K3sPort`."""

    def __init__(self, node: SimNode) -> None:
        self.node = node

    def start(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.node.k3s_running = True
        return Done()

    def stop(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.node.k3s_running = False
        return Done()

    def ready(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        return Done() if self.node.k3s_running else Failed("k3s: /readyz does not answer")
