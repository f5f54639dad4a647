"""A total outage on the real lab, recovered by the agents (root, slow).

Two nodes, an `hacore agent` each with the real Galera adapter. The agents die
(SIGKILL: power lost), then MariaDB on b, then a carries on alone (bootstrapped,
as an availability-first promotion would) and is SIGKILLed during writes: a is
the most advanced. The agents restart, b's first: b must not start MariaDB
while a is not heard (a may be ahead); once a's agent publishes its recovered
position, the core's choice (hacore.bootstrap.choose_bootstrap) picks a, a
cold-bootstraps, b joins it, and every acknowledged write is on both nodes,
row by row.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_lab import AgentLab
from galera_lab import GALERA_TOOLS, TABLE, Background, Writer, ids, node, table_ids, wait_until
from realdaemon import require_root_tools

from adapters.lab.galera import GaleraLab, sql_root

pytestmark = pytest.mark.root


def _synced_pair(g: GaleraLab) -> bool:
    for name in ("a", "b"):
        s = g.probe(name, 2.0).status
        if s is None or not s.synced or s.cluster_size != 2:
            return False
    return True


def _log_lines(alab: AgentLab, name: str, message: str) -> list[dict[str, Any]]:
    path = alab.dir(name) / "agent.log"
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if message in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


@contextlib.contextmanager
def _converged_lab() -> Iterator[tuple[AgentLab, GaleraLab]]:
    """Two agents on real MariaDB Galera, a active and b standby, table created."""
    require_root_tools(*GALERA_TOOLS)
    d = Path("/run/hacore-lab-test") / f"outage-{os.getpid()}-{time.monotonic_ns()}"
    alab = AgentLab(d, mariadb=True, policy="vrrp-winner")
    try:
        g = alab.galera
        assert g is not None
        sql_root(g, "a", f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, origin VARCHAR(8))")
        for name in ("a", "b"):
            alab.start_agent(name)
        alab.lab.start_together()
        alab.wait_roles({"a": "active", "b": "standby"}, 30)
        yield alab, g
    finally:
        alab.down()


def _every_acked_write_on_both(g: GaleraLab, acked: list[int]) -> None:
    for name in ("a", "b"):  # row by row
        present = table_ids(g, name)
        missing = [i for i in acked if i not in present]
        assert missing == [], f"{name} lacks acknowledged writes {missing[:10]}"
    assert table_ids(g, "a") == table_ids(g, "b")


@pytest.mark.slow  # about 2 minutes: MariaDB install, SST, detection, recovery twice
def test_after_a_total_outage_the_agents_bootstrap_the_most_advanced_node() -> None:
    with _converged_lab() as (alab, g):
        w = Writer(g, "a", ids(1))
        assert w.write(10) == 10
        # power lost: the agents first, then MariaDB, b before a
        alab.kill_agent("a")
        alab.kill_agent("b")
        bg = Background(w)
        time.sleep(0.5)
        g.server("b").kill()
        wait_until(lambda: (s := g.probe("a", 2.0).status) is not None and not s.primary, 30,
                   "a non-Primary after b's SIGKILL")  # fmt: skip
        assert node(g, "a").make_primary(bootstrap_allowed=True).ok
        before = len(w.acked)
        wait_until(lambda: len(w.acked) > before + 30, 30, "writes on a alone")
        g.server("a").kill()
        bg.join()
        assert not g.server("a").running() and not g.server("b").running()
        acked = list(w.acked)
        # b's agent comes back first, alone: it must not start MariaDB (a may be ahead)
        alab.start_agent("b")
        time.sleep(8.0)
        assert not g.server("b").running(), alab.log_tail("b")
        alab.start_agent("a")
        wait_until(lambda: _synced_pair(g), 180, "a and b Synced in a cluster of 2")
        # each agent logs its start once the operation returned (just after Synced)
        wait_until(lambda: all(_log_lines(alab, n, '"galera cold start"') for n in ("a", "b")),
                   30, "both agents logged how they started MariaDB")  # fmt: skip
        started = {n: _log_lines(alab, n, '"galera cold start"') for n in ("a", "b")}
        assert [e["detail"] for e in started["a"]][:1] and all(
            "total outage: a has the highest seqno" in e["detail"] for e in started["a"]
        ), started
        assert started["b"] and all("MariaDB runs on a" in e["detail"] for e in started["b"]), (
            started
        )
        _every_acked_write_on_both(g, acked)


@pytest.mark.slow  # about 3 minutes: two failovers' detection, recovery, a standalone dump, SST
def test_after_a_total_outage_an_ex_active_behind_is_dumped_then_joins_by_sst() -> None:
    """a crashes (agent, keepalived, MariaDB); b takes over, bootstraps and takes writes
    alone; then b crashes too. a comes back first; it is first in the order and the
    VRRP master, but behind: b bootstraps. a's log says it was active, so its demotion
    dumps its stopped MariaDB (standalone start) before it joins b by a forced SST."""
    with _converged_lab() as (alab, g):
        wa = Writer(g, "a", ids(1))
        assert wa.write(10) == 10
        alab.kill_agent("a")  # a loses power
        alab.lab.kill("a")
        g.server("a").kill()
        alab.wait_roles({"b": "active"}, 90)
        wb = Writer(g, "b", ids(10_000))
        wait_until(lambda: wb.write(5, timeout=2.0) >= 0 and len(wb.acked) >= 30, 60,
                   "writes on b alone")  # fmt: skip
        alab.kill_agent("b")  # then b
        alab.lab.kill("b")
        g.server("b").kill()
        acked = wa.acked + wb.acked
        a_log = g.server("a").log_offset()
        for name in ("a", "b"):  # power back: keepalived, then a's agent first
            alab.lab.start(name)
        alab.start_agent("a")
        time.sleep(8.0)
        assert not g.server("a").running(), alab.log_tail("a")  # b unheard: it may be ahead
        alab.start_agent("b")
        wait_until(lambda: _synced_pair(g), 240, "a and b Synced in a cluster of 2")
        wait_until(lambda: _log_lines(alab, "b", '"galera cold start"'), 30, "b logged its start")
        starts = [e["detail"] for e in _log_lines(alab, "b", '"galera cold start"')]
        assert starts and "total outage: b has the highest seqno" in starts[0], starts
        assert not any(
            "highest seqno" in e["detail"] for e in _log_lines(alab, "a", '"galera cold start"')
        )
        story = [
            line[:300]
            for line in (alab.dir("a") / "agent.log").read_text(errors="replace").splitlines()
            if any(w in line for w in ("galera", "rejoin", "quarantine", "role changed"))
        ]
        assert g.server("a").state_transfer_since(a_log) == "SST", "\n".join(story[-40:])
        dumps = sorted((alab.lab.dir / "quarantine").glob("epoch-*_node-a_*"))
        assert dumps, "a's stopped MariaDB was not dumped before its SST"
        _every_acked_write_on_both(g, acked)
