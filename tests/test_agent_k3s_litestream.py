"""Two loopback agents with the real k3s datastore adapters wired in: the real
litestream binary (a file replica per node, each restoring from the peer's,
as over a mount of the peer's disk) and the k3s STAND-IN (adapters/k3s/standin_server.py, NOT k3s:
k3s cannot be installed here), driven by the agent's plans. Galera is off,
so every status check is observed.

A promotion restores the node's kine database from the replica, starts the
stand-in on it and replicates; a switchover stops both on the old active
and the new active restores what the old one wrote through the stand-in.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from agent_helpers import free_port, node_config
from litestream_helpers import KineSite, litestream_binary
from test_agent_runtime import Pair, until

from adapters.agent.operator_socket import request
from adapters.agent.status_report import report
from adapters.k3s import kine
from hacore.ports import Done
from hacore.roles import Role

BUDGET_S = 90.0  # plan steps run real processes on a loaded 2-core machine


class ServicePair(Pair):
    """A pair whose nodes each get their own datastore/k3s paths and ports."""

    def __init__(self, tmp: Path, replica_b: Path, binary: str) -> None:
        super().__init__(tmp, services="k3s = true\nlitestream = true", step_timeout_s=30.0)
        # b's replica holds the cluster's history (a restores from it first)
        self.replicas = {"a": tmp / "replica-a", "b": replica_b}
        self.binary = binary
        self.readyz = {"a": free_port(), "b": free_port()}

    def db(self, node: str) -> Path:
        return self.tmp / node / "k3s" / "state.db"

    def config_path(self, node: str) -> Path:
        d = self.tmp / node
        stand_in = [sys.executable, "-m", "adapters.k3s.standin_server"]
        stand_in += ["--datastore", str(self.db(node)), "--port", str(self.readyz[node])]
        extra = f"""
[datastore]
adapter = "litestream"
database = "{self.db(node)}"
replica_dir = "{self.replicas[node]}"
restore_dir = "{self.replicas["b" if node == "a" else "a"]}"
socket = "{d}/run/ls.sock"
state_dir = "{d}/ls"
quarantine_dir = "{d}/quarantine"
binary = "{self.binary}"
monitor_interval_ms = 100
sync_interval_ms = 100

[k3s]
adapter = "process"
start_command = {json.dumps(stand_in)}
readyz_port = {self.readyz[node]}
state_dir = "{d}/k3s-run"
poll_s = 0.3
"""
        (d / "k3s").mkdir(parents=True, exist_ok=True)
        return node_config(self.tmp, node, port=self.port, extra=extra, **self.kw)

    def put(self, node: str, name: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.readyz[node], timeout=10)
        try:
            conn.request("PUT", f"/objects/{name}", body=b"v")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 200, body
            return int(body["revision"])
        finally:
            conn.close()

    def kill_services(self) -> None:
        """The agent leaves its services running when it stops: end them by PID."""
        for agent in self.agents.values():
            if agent.ports is None:
                continue
            pid = agent.ports.k3s.pid()  # type: ignore[attr-defined]
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)
            agent.ports.datastore.replicator.kill()  # type: ignore[attr-defined]


def _healthy_from(p: Pair, node: str) -> bool:
    return bool(report(p.agents[node].status_doc(), 0)["verdict"] == "healthy")


def _checks(p: Pair, node: str) -> dict[str, Any]:
    return {
        c["name"]: (c["verdict"], c["detail"])
        for c in report(p.agents[node].status_doc(), 0)["checks"]
    }


async def test_promotion_and_switchover_move_k3s_and_its_datastore(tmp_path: Path) -> None:
    binary = litestream_binary()
    seed = KineSite()  # the cluster's history: a replica with two objects in it
    try:
        assert isinstance(seed.port.start_replication(key="seed", deadline=_in(seed, 30)), Done)
        seeded = {seed.write(), seed.write()}
        seed.port.replicator.wait_synced(until=time.monotonic() + 30)
        assert seed.port.replicator.stop(timeout_s=10)
        p = ServicePair(tmp_path, seed.config.replica_dir, binary)
        try:
            await _run(p, seeded)
        finally:
            for node in list(p.runs):
                if not p.runs[node].done():
                    await p.stop(node)
            p.kill_services()
    finally:
        seed.port.replicator.kill()
        seed.close()


async def _run(p: ServicePair, seeded: set[int]) -> None:
    await p.start("a")
    await p.start("b")
    p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    p.fifo("b", 'INSTANCE "VI_1" BACKUP 100')
    await until(lambda: p.agents["a"].state.role is Role.ACTIVE, BUDGET_S)
    # the promotion restored the replica into a's database and started the stand-in on it
    assert seeded <= {r.id for r in kine.read_rows(p.db("a"))}
    await until(lambda: _healthy_from(p, "a") and _healthy_from(p, "b"), BUDGET_S)
    checks = _checks(p, "b")
    assert checks["active a: Kubernetes state consistent"] == ("ok", "k3s answers on a only")
    assert checks["active a: enabled services ready"] == ("ok", "ready: k3s, litestream")

    # the replica's lag, measured on a (in kine revisions), in status, on the channel, in /metrics
    def lag_seen() -> bool:
        peer = p.agents["b"].status_doc()["peers"]["a"] or {}
        return peer.get("lag_revisions") == 0 and isinstance(peer.get("lag_seconds"), float)

    await until(lag_seen, BUDGET_S)
    own = p.agents["a"].status_doc()["self"]["litestream_lag"]
    assert own["replicating"] is True and own["local_revision"] >= max(seeded)
    text = p.agents["a"]._render_metrics().decode()
    assert "hacore_replica_lag_revisions 0.0" in text
    assert "hacore_replica_lag_revisions NaN" in p.agents["b"]._render_metrics().decode()
    assert report(p.agents["b"].status_doc(), 0)["replica_lag"]["a"]["revisions"] == 0

    written = p.put("a", "configmaps/before-switchover")  # through the stand-in on a
    sock = str(p.tmp / "a" / "run" / "agent.sock")
    reply = await asyncio.to_thread(request, sock, {"op": "switchover", "target": ""})
    assert reply["ok"], reply
    await until(lambda: p.agents["a"].state.role is Role.STANDBY, BUDGET_S)
    a_ports = p.agents["a"].ports
    assert a_ports is not None
    assert a_ports.k3s.pid() is None  # type: ignore[attr-defined]  # the demotion stopped it
    assert a_ports.datastore.replicator.pid() is None  # type: ignore[attr-defined]

    p.fifo("a", 'INSTANCE "VI_1" BACKUP 1')  # what keepalived does after the yield
    p.fifo("b", 'INSTANCE "VI_1" MASTER 100')
    await until(lambda: p.agents["b"].state.role is Role.ACTIVE, BUDGET_S)
    # b's restore (from a's replica) holds what a wrote before it stopped replicating
    assert seeded | {written} <= {r.id for r in kine.read_rows(p.db("b"))}
    await until(
        lambda: (
            _checks(p, "a").get("active b: Kubernetes state consistent")
            == ("ok", "k3s answers on b only")
        ),
        BUDGET_S,
    )


def _in(site: KineSite, seconds: float) -> int:
    return site.port.clock_us() + int(seconds * 1e6)
