"""One simulated member: its durable log (which survives crashes and can fill
up) and the volatile and on-disk state of its simulated services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hacore import vrrp
from hacore.config import NodeSpec
from hacore.dispatch import Dispatcher
from hacore.log import InMemoryLog, LogError, LogRecord
from hacore.node import Node
from hacore.ports import Ports
from hacore.roles import PeerRole, Role


class DiskFull(LogError):
    """The simulated disk refused an append."""


class SimLog(InMemoryLog):
    """An in-memory log that survives crashes and can be made to fail (disk full)."""

    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.full = False
        self.refused = 0

    def append(self, entries: Any, epoch: int) -> list[LogRecord]:
        if self.full:
            self.refused += 1
            raise DiskFull(f"{self.node}: no space left on device")
        return super().append(entries, epoch)


class SimNode:
    """One member: a data node (core + services) or the witness (votes only)."""

    def __init__(self, index: int, name: str, spec: NodeSpec | None) -> None:
        self.index = index
        self.name = name
        self.spec = spec
        self.is_witness = spec is None
        self.log = SimLog(name)
        self.core: Node | None = None  # the core, as its dispatcher runs it
        self.runtime: Dispatcher | None = None  # None: down, or the witness
        self.ports: Ports | None = None
        self.up = False
        self.paused = False
        self.inc = 0  # incarnation: events of a previous life are dropped
        self.others: tuple[str, ...] = ()  # the other members' names, in index order
        self.hb_state: object = None  # the core state hb_msg was built from
        self.hb_msg: tuple[Any, ...] = ()
        self.deferred: list[tuple[Callable[[Any], None], Any]] = []
        self.router: vrrp.VrrpRouter | None = None
        self.fifo_at = 0  # the FIFO is ordered: never deliver before the previous line
        self.last_heard: dict[str, int] = {}
        # The write lease's clock: when each peer's heartbeat that the core has
        # *decided* was sent. A heartbeat still waiting in the backlog (disk
        # full) renews nothing: the core's view of whom the peer follows is
        # older than the heartbeat.
        self.lease_heard: dict[str, int] = {}
        # The witness's memory of each data node's last heartbeat: (role, epoch).
        self.heard_roles: dict[str, tuple[PeerRole, int]] = {}
        self.believed_up: dict[str, bool] = {}
        self.role = Role.STANDBY
        self.fenced = True
        self.slow = 1
        # The node's daemons stop answering (a hung mysqld, a stopped keepalived):
        # every port call is Uncertain. Set by the port contract tests.
        self.hung = False
        self.fail_next = 0
        # Galera
        self.history: list[int] = []
        self.synced_len = 0
        self.g_primary = False
        self.g_gid = 0
        self.g_boot = False  # the component was forced primary by pc.bootstrap
        # MariaDB not started yet: a node that restarts in the middle of a role
        # (its log says active, promoting or demoting) waits for its plan's
        # Galera step, so no automatic SST can overwrite writes it has not
        # quarantined (the agent, not the init system, starts MariaDB).
        self.g_held = False
        # Held because of a total outage: the runtime's bootstrap rule decides when
        # it starts (sims.galera.SimGalera.tend).
        self.g_outage = False
        self.g_view: tuple[int, ...] = ()  # members of the last primary component (gvwstate)
        # k3s + litestream
        self.k3s_running = False
        self.k3s_db: list[int] = []
        # What litestream last delivered here (a sims.k3s.Capture, or a list).
        self.replica: Sequence[int] = []
        # (database list, replica list, replica length, objects compared): how far
        # the last quarantine compared this database with a capture of that list.
        self.k3s_compared: tuple[list[int], list[int], int, int] | None = None
        self.litestream_on = False
        # Gluster
        self.gl_pending = 0
        self.gl_split = False
