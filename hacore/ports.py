"""Service ports: the interfaces the runtime carries the core's effects out through.

One port per thing the failover plans (hacore.plans) and effects touch:
the VIP (keepalived), Galera, the k3s datastore with litestream, k3s, Gluster,
the peer transport and the timers. ``adapters/`` implements them against the
real daemons, ``sims/`` as fakes over the simulated world; neither imports the
other, both import this module (typing ``Protocol``s: no I/O here).

The contract every operation keeps (OCF's, checked by :mod:`hacore.contracts`):

* **Idempotent.** ``start`` succeeds if already running, ``stop`` if already
  stopped, a quarantine of what is already quarantined copies nothing twice.
  The runtime re-runs an operation after a crash or a retry with the same
  ``key`` (the effect's idempotency key) and relies on it.
* **A deadline.** ``deadline`` is an instant on the runtime's clock (integer
  microseconds: virtual in the simulator, monotonic in the agent). The
  operation returns by then, whatever happened.
* **A typed outcome** (:data:`Outcome`): :class:`Done` (the wanted state holds,
  with what the port observed as core inputs), :class:`Failed` (it does not,
  and the port knows it), or :class:`Uncertain` (the deadline passed or the
  connection broke mid-way: it may or may not hold). The runtime never turns
  an ``Uncertain`` into a success.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from hacore import inputs as inp
from hacore.roles import Role


@dataclass(frozen=True, slots=True)
class Done:
    """The operation's wanted state holds now (perhaps it already did).

    ``inputs``: what the port observed doing it, as core inputs (a probe's
    answer: ``VrrpReported``, ``LocalProgress``); the dispatcher hands them to
    the core in order.
    """

    inputs: tuple[inp.Input, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Failed:
    """The wanted state does not hold, and the port knows it (a refusal, an error)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Uncertain:
    """The port cannot tell whether the operation took effect: its deadline
    passed, or the daemon went away in the middle. Never a success."""

    reason: str


Outcome = Done | Failed | Uncertain


class PortName(enum.StrEnum):
    VIP = "vip"
    GALERA = "galera"
    DATASTORE = "datastore"
    K3S = "k3s"
    GLUSTER = "gluster"
    TRANSPORT = "transport"
    TIMERS = "timers"


class VipPort(Protocol):
    """The virtual IP, held by keepalived's VRRP: yield priority, ask its state."""

    def set_priority_yield(self, *, yielded: bool, key: str, deadline: int) -> Outcome:
        """Lower this node's VRRP priority (``yielded``) or restore it."""
        ...

    def probe(self, *, key: str, deadline: int) -> Outcome:
        """Ask keepalived for its state now. The answer is a ``VrrpReported``,
        in ``Done.inputs`` or later through the port's own ordered stream (the
        notify FIFO), never both."""
        ...


class GaleraPort(Protocol):
    """The business database, MariaDB Galera."""

    def probe(self, *, key: str, deadline: int) -> Outcome:
        """This member's state; ``Done.inputs`` carries a ``LocalProgress``."""
        ...

    def make_primary(self, *, bootstrap_allowed: bool, key: str, deadline: int) -> Outcome:
        """Make this member's component primary: join a primary component if one
        is reachable; otherwise force one (``pc.bootstrap``) only when
        ``bootstrap_allowed``, else :class:`Failed`."""
        ...

    def rejoin(self, *, key: str, deadline: int) -> Outcome:
        """Leave a forced component and rejoin the cluster's primary one (an SST
        may overwrite local writes: the plan quarantined them first)."""
        ...

    def fence_writes(self, *, fenced: bool, key: str, deadline: int) -> Outcome:
        """Refuse (``fenced``) or accept again client writes on this member."""
        ...

    def quarantine(self, *, key: str, deadline: int) -> Outcome:
        """Copy aside what this member committed that the primary component it
        will rejoin may not have, before anything may discard it. By content,
        not by GTID: two sides of a split both bootstrapped number their own
        writes with the same ``uuid:seqno`` values (measured on Galera 4)."""
        ...


class DatastorePort(Protocol):
    """k3s's datastore (SQLite) and its litestream replication."""

    def restore_from_replica(self, *, key: str, deadline: int) -> Outcome:
        """Rebuild the local database from the local litestream replica."""
        ...

    def start_replication(self, *, key: str, deadline: int) -> Outcome: ...

    def stop_replication(self, *, key: str, deadline: int) -> Outcome: ...

    def quarantine_newer_local(self, *, key: str, deadline: int) -> Outcome:
        """Copy aside local objects the replica does not hold, before a restore."""
        ...


class K3sPort(Protocol):
    def start(self, *, key: str, deadline: int) -> Outcome: ...

    def stop(self, *, key: str, deadline: int) -> Outcome: ...

    def ready(self, *, key: str, deadline: int) -> Outcome:
        """:class:`Done` when the API server answers ``/readyz``, else :class:`Failed`."""
        ...


class GlusterPort(Protocol):
    def probe(self, *, key: str, deadline: int) -> Outcome: ...

    def heal(self, *, key: str, deadline: int) -> Outcome:
        """Heal pending files towards this (the new active) node's copy."""
        ...

    def resync(self, *, key: str, deadline: int) -> Outcome:
        """Take the peers' copy of split-brain files (this node's is the loser)."""
        ...

    def quarantine_losing_copy(self, *, key: str, deadline: int) -> Outcome:
        """Copy aside this node's version of files a resync would replace."""
        ...


class TransportPort(Protocol):
    """The peer heartbeat channel."""

    def announce(self, *, role: Role, epoch: int, key: str, deadline: int) -> Outcome:
        """Tell the peers this node's durable role and epoch now (best effort:
        the periodic heartbeat repeats it)."""
        ...


class TimerPort(Protocol):
    """Volatile timers. A firing comes back as ``Dispatcher.timer_fired``; the
    dispatcher, not the port, recognises a cancelled or stale one."""

    def start(self, *, timer_id: int, due: int, key: str) -> Outcome: ...

    def cancel(self, *, timer_id: int, key: str) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """One node's ports, as the dispatcher's driver holds them."""

    vip: VipPort
    galera: GaleraPort
    datastore: DatastorePort
    k3s: K3sPort
    gluster: GlusterPort
    transport: TransportPort
    timers: TimerPort
