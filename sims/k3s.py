"""Simulated k3s and its datastore with litestream, and their ports.

The active writes a Kubernetes object per client round to its local database
(while k3s runs). litestream is modelled as measured on the real binary
(docs/conformance-litestream.md, benchmarks/litestream_loss.py): ``replicate``
looks at the WAL every ``litestream_monitor_us`` (the first look a phase
drawn from this service's stream after replication starts), and ships what it
captured to each reachable peer's replica, landing after a delay drawn from
``litestream_ship_us``. So on a crash of the active the commits since its
last capture, and any capture still in flight, are lost: the lag is drawn,
not fixed, and nothing in flight survives its sender. A peer cut off at a
capture gets everything at the first capture after the heal (litestream
ships from where the replica stands). Each replica holds one generation: the
last snapshot shipped to it (a new active's first capture replaces it).

``restore_from_replica`` rebuilds the local database from the local replica,
quarantining local objects the replica lacks first (the real adapter does),
and refuses an empty replica (the real one does; every node's replica starts
with the install-time object :data:`SEED_OBJECT`). At each crash the objects
only the crashed node held are recorded in :attr:`SimK3s.lag_lost`: the
checker (invariant 3) tells a loss to litestream's lag, which the design
accepts, from any other loss, which is a violation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, overload

from hacore.ports import Done, Failed, Outcome, Uncertain
from hacore.roles import Role
from sims.simnode import SimNode

if TYPE_CHECKING:
    from sims.world import World


# What a fake of a hung daemon answers (SimNode.hung).
NO_ANSWER = Uncertain("no answer before the deadline")

SEED_OBJECT = 0  # the install-time state every database and replica starts with


class Capture(Sequence[int]):
    """What one litestream capture holds: the first ``length`` objects of a database.

    A database list is only ever appended to (a restore gives the node a new
    list), so its first ``length`` objects never change and a capture can
    share the list instead of copying it: a capture and its landing cost
    O(1), not O(database) every monitor interval (a day of client writes made
    those copies quadratic). A replica is a capture (or, as set up and in
    tests, a plain list).
    """

    __slots__ = ("items", "length")

    def __init__(self, items: list[int], length: int) -> None:
        self.items = items
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        return islice(self.items, self.length)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        return self.items[: self.length][index]


def capture_of(n: SimNode) -> Capture:
    """A capture of ``n``'s database as it stands."""
    return Capture(n.k3s_db, len(n.k3s_db))


class SimK3s:
    """The cluster's k3s datastores and litestream replication."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world.stream("k3s")
        self.next_object = 1
        self.acked: list[int] = []  # objects the API server acknowledged
        self.writer: dict[int, str] = {}  # object -> the node whose API server took it
        self.quarantined: set[int] = set()  # objects copied aside before a restore
        # object -> (node, time): unshipped when that node crashed (litestream's lag)
        self.lag_lost: dict[int, tuple[str, int]] = {}
        self._generation: dict[int, int] = {}  # node index -> replicate run number
        self._captured: dict[int, int] = {}  # node index -> objects captured so far
        for n in world.data:
            n.k3s_db = [SEED_OBJECT]
            n.replica = [SEED_OBJECT]

    def write(self, n: SimNode) -> None:
        """The API server on ``n`` stores one object (a client round)."""
        if not n.k3s_running:
            return
        k = self.next_object
        self.next_object += 1
        n.k3s_db.append(k)
        self.acked.append(k)
        self.writer[k] = n.name

    # ------------------------------------------------------- replicate --

    def start(self, n: SimNode) -> None:
        if n.litestream_on:
            return
        n.litestream_on = True
        gen = self._generation.get(n.index, 0) + 1
        self._generation[n.index] = gen
        self._captured[n.index] = 0
        first = self.rng.draw(1, self.w.p.litestream_monitor_us)
        self.w.push(self.w.now + first, self._capture, (n.index, n.inc, gen))

    def stop(self, n: SimNode) -> None:
        """A clean stop: ship the whole tail first (the adapter's ``sync -wait``)."""
        if n.litestream_on:
            self._captured[n.index] = len(n.k3s_db)
            for peer in self._reachable(n):
                peer.replica = capture_of(n)
        n.litestream_on = False

    def _reachable(self, n: SimNode) -> list[SimNode]:
        return [p for p in self.w.data if p is not n and self.w.connected(n, p)]

    def _running(self, index: int, inc: int, gen: int) -> SimNode | None:
        n = self.w.nodes[index]
        ok = n.up and n.inc == inc and n.litestream_on and self._generation.get(index) == gen
        return n if ok else None

    def _capture(self, arg: tuple[int, int, int]) -> None:
        index, inc, gen = arg
        n = self._running(index, inc, gen)
        if n is None:
            return
        w = self.w
        self._captured[index] = len(n.k3s_db)
        snapshot = capture_of(n)
        lo, hi = w.p.litestream_ship_us
        for peer in self._reachable(n):
            delay = self.rng.draw(lo, hi)
            w.push(w.now + delay, self._landed, (index, inc, gen, peer.index, peer.inc, snapshot))
        w.push(w.now + w.p.litestream_monitor_us, self._capture, arg)

    def _landed(self, arg: tuple[int, int, int, int, int, Capture]) -> None:
        index, inc, gen, peer_index, peer_inc, snapshot = arg
        sender = self._running(index, inc, gen)
        peer = self.w.nodes[peer_index]
        # In flight when the sender crashed, or when the link was cut: not there.
        if sender is None or not (peer.up and peer.inc == peer_inc):
            return
        if self.w.connected(sender, peer):
            peer.replica = snapshot

    def crashed(self, n: SimNode) -> None:
        """``n`` crashed (before its state is cleared): what only it held is lost
        to litestream's lag, unless a later quarantine or restore finds it."""
        elsewhere: set[int] = set()
        for other in self.w.data:
            if other is not n:
                elsewhere.update(other.replica)
                elsewhere.update(other.k3s_db)
        for k in n.k3s_db:
            if k != SEED_OBJECT and k not in elsewhere and k not in self.quarantined:
                self.lag_lost.setdefault(k, (n.name, self.w.now))

    # -------------------------------------------------------- the fates --

    def fates(self) -> dict[int, str]:
        """Each acknowledged object's fate at the end: "kept" (in the single
        active's database), "quarantined", "lost to lag" (unshipped at a crash)
        or "lost" (any other way: a violation)."""
        actives = [n for n in self.w.data if n.role is Role.ACTIVE and n.up]
        final = set(actives[0].k3s_db) if len(actives) == 1 else set()
        out: dict[int, str] = {}
        for k in self.acked:
            if k in final:
                out[k] = "kept"
            elif k in self.quarantined:
                out[k] = "quarantined"
            elif k in self.lag_lost:
                out[k] = "lost to lag"
            else:
                out[k] = "lost"
        return out


class DatastoreFake:
    """One node's :class:`hacore.ports.DatastorePort`."""

    def __init__(self, k3s: SimK3s, node: SimNode) -> None:
        self.k3s = k3s
        self.node = node

    def restore_from_replica(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        if n.litestream_on:
            return Failed("restore: replicate is running on this database; stop it first")
        if not n.replica:
            return Failed("restore: the replica holds no backup")
        self._quarantine_newer(n)
        n.k3s_db = list(n.replica)
        return Done()

    def start_replication(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.k3s.start(self.node)
        return Done()

    def stop_replication(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.k3s.stop(self.node)
        return Done()

    def quarantine_newer_local(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self._quarantine_newer(self.node)
        return Done()

    def _quarantine_newer(self, n: SimNode) -> None:
        # Objects compared before against an earlier capture of the same
        # database list need no new look: the replica now holds that capture's
        # objects and more (the list only grows), and those it lacked then are
        # quarantined already (the set only grows). So each call looks at the
        # objects written since the last one, and compares them as sets (C
        # speed), not one by one.
        db, replica = n.k3s_db, n.replica
        start = 0
        seen = n.k3s_compared
        if (
            seen is not None
            and seen[0] is db
            and isinstance(replica, Capture)
            and seen[1] is replica.items
            and replica.length >= seen[2]
        ):
            start = seen[3]
        if start < len(db):
            missing = set(db[start:]).difference(replica)
            missing.discard(SEED_OBJECT)
            self.k3s.quarantined.update(missing)
        if isinstance(replica, Capture):
            n.k3s_compared = (db, replica.items, replica.length, len(db))


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
