"""Helpers of the real Galera tests: a lab fixture, writers that record acknowledged
writes, the adapter's node handle, and the core's decision for a survivor."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
from realdaemon import require_root_tools

from adapters.galera.ops import GaleraNode
from adapters.galera.port import GaleraPortAdapter, monotonic_us
from adapters.galera.sql import connect
from adapters.lab.galera import APP, GaleraLab, sql_root
from adapters.lab.lab import Lab, default_nodes, leftovers
from hacore import events as ev
from hacore.config import ClusterConfig, NodeSpec, Services
from hacore.inputs import Booted, LocalProgress, PeerHeard, PeerLost, VrrpReported
from hacore.node import Node
from hacore.roles import Mode, PeerRole, Policy, VrrpStatus

GALERA_TOOLS = ("ip", "nft", "keepalived", "mariadbd", "mariadb-install-db", "garbd", "rsync")
TABLE = "app.t"


@contextlib.contextmanager
def galera_lab(
    nodes: int = 2, *, witness: bool = False, provider_options: tuple[str, ...] = ()
) -> Iterator[GaleraLab]:
    require_root_tools(*GALERA_TOOLS)
    d = Path("/run/hacore-lab-test") / f"galera-{os.getpid()}-{time.monotonic_ns()}"
    lab = Lab.up(default_nodes(nodes), name="galera", state_dir=d, witness=witness)
    try:
        g = GaleraLab.up(lab, witness=witness, provider_options=provider_options)
        sql_root(g, "n1", f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, origin VARCHAR(8))")
        yield g
    finally:
        prefix = lab.state.prefix
        problems = lab.down()
        assert problems == [], problems
        assert leftovers(prefix) == []


def node(g: GaleraLab, name: str) -> GaleraNode:
    return GaleraNode(g.server(name), g.endpoint(name), g.credentials(), deadline_s=60.0)


def port_for(g: GaleraLab, name: str, epoch: int) -> GaleraPortAdapter:
    """The adapter as the runtime's GaleraPort, for one lab node."""
    size = len(g.lab.state.nodes) + (1 if g.state.witness else 0)
    return GaleraPortAdapter(
        node(g, name), name, size, ["app"], g.lab.dir / "quarantine", epoch=lambda: epoch
    )


def deadline_in(seconds: float) -> int:
    return monotonic_us() + int(seconds * 1e6)


@dataclass
class Writer:
    """Inserts rows (id, origin) as the app client; ``acked`` holds the ids whose
    commit returned OK. A failed or timed-out insert is not acknowledged."""

    g: GaleraLab
    name: str
    ids: Iterator[int]
    acked: list[int] = field(default_factory=list)
    errors: int = 0

    def write(self, count: int, timeout: float = 3.0) -> int:
        ok = 0
        try:
            conn = connect(self.g.endpoint(self.name), APP, timeout)
        except Exception:
            self.errors += count
            return 0
        try:
            for _ in range(count):
                i = next(self.ids)
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"INSERT INTO {TABLE} VALUES (%s, %s)", (i, self.name))
                    self.acked.append(i)
                    ok += 1
                except pymysql.err.MySQLError:
                    self.errors += 1
        finally:
            with contextlib.suppress(Exception):
                conn.close()
        return ok


class Background:
    """A writer in a thread, until stopped (for crashes during writes)."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.writer.write(5, timeout=2.0) == 0:
                time.sleep(0.05)

    def join(self) -> None:
        self.stop.set()
        self.thread.join(30)


def ids(start: int) -> Iterator[int]:
    i = start
    while True:
        yield i
        i += 1


def table_ids(g: GaleraLab, name: str) -> set[int]:
    return {int(str(r[0])) for r in sql_root(g, name, f"SELECT id FROM {TABLE}")}


def wait_until(pred: object, timeout: float, what: str) -> float:
    """Poll ``pred()`` until true; returns the seconds it took."""
    assert callable(pred)
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - t0


def lab_config(
    g: GaleraLab, mode: Mode, policy: Policy = Policy.VRRP_WINNER, witness: bool = False
) -> ClusterConfig:
    specs = tuple(NodeSpec(n.name, n.ip, n.priority) for n in g.lab.state.nodes)
    return ClusterConfig(
        specs,
        mode=mode,
        policy=policy,
        witness="w" if witness else None,
        services=Services(k3s=False, gluster=False, litestream=False),
    )


def core_promotion(config: ClusterConfig, survivor: str, committed: int) -> ev.PlanStarted | None:
    """Feed the survivor's core what it saw (the active peer, then its loss and VRRP
    MASTER) and return the promotion plan it started, or None when it did not."""
    core = Node(config, survivor)
    prio = config.node(survivor).priority
    t = 1_000
    others = [n.name for n in config.nodes if n.name != survivor]
    core.handle(Booted(t))
    core.handle(VrrpReported(t + 1, VrrpStatus.BACKUP, prio))
    core.handle(LocalProgress(t + 2, committed))
    for peer in others:
        core.handle(PeerHeard(t + 3, peer, PeerRole.ACTIVE, 1, committed, 0, follows=peer))
    if config.witness:
        core.handle(PeerHeard(t + 4, config.witness, PeerRole.WITNESS, 0, 0, 0))
    events: list[ev.Event] = []
    for peer in others:
        events += core.handle(PeerLost(t + 5_000_000, peer)).events
    events += core.handle(VrrpReported(t + 5_000_001, VrrpStatus.MASTER, prio)).events
    plans = [e for e in events if isinstance(e, ev.PlanStarted)]
    return plans[0] if plans else None
