"""Gluster operations against a real glusterd 10.3 in a namespace (root)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from gluster_node import GlusterNode
from realdaemon import require_root_tools

from adapters.gluster.errors import GlusterOpError
from adapters.gluster.ops import heal, pending_heals, start_dead_bricks, volume_status

pytestmark = pytest.mark.root


@pytest.fixture
def node() -> Iterator[GlusterNode]:
    require_root_tools("glusterd", "gluster", "nsenter", "unshare", "ip")
    n = GlusterNode()
    try:
        yield n
    finally:
        n.close()


def test_start_force_brings_a_sigkilled_brick_back_and_errors_are_typed(node: GlusterNode) -> None:
    node.replica_volume("gv0")
    before = volume_status(node.cli, "gv0", timeout_s=30)
    assert [b.online for b in before.bricks] == [True, True]
    victim = before.bricks[1].pid
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    end = time.monotonic() + 60  # generous: a loaded 2-core machine
    while not volume_status(node.cli, "gv0", timeout_s=30).dead_bricks():
        assert time.monotonic() < end, "glusterd never saw the brick die"
        time.sleep(0.2)
    after = start_dead_bricks(node.cli, "gv0", until=time.monotonic() + 60)
    assert [b.online for b in after.bricks] == [True, True]
    assert after.bricks[1].pid not in (None, victim)
    # Same glusterd (one start per test run keeps this ~15 s): an error answer.
    with pytest.raises(GlusterOpError, match="does not exist"):
        volume_status(node.cli, "nosuch", timeout_s=30)


@pytest.mark.slow  # the two-node contract run (test_gluster_port_real.py) heals in the default run
def test_heal_clears_the_entries_a_dead_brick_missed(node: GlusterNode) -> None:
    # The self-heal daemon stays off until the entry is counted: on, it heals the
    # restarted brick by itself within seconds (CI counted 0 once under load).
    node.replica_volume("gv1", self_heal=False)
    mnt = node.mount("gv1")
    victim = volume_status(node.cli, "gv1", timeout_s=30).bricks[1].pid
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    node.run_inside("sh", "-c", f"echo written-while-down > {mnt}/f.txt")
    start_dead_bricks(node.cli, "gv1", until=time.monotonic() + 60)
    assert pending_heals(node.cli, "gv1", timeout_s=30) >= 1
    node.cli.run(["volume", "set", "gv1", "cluster.self-heal-daemon", "on"], timeout_s=30)
    heal(node.cli, "gv1", until=time.monotonic() + 90)
    assert pending_heals(node.cli, "gv1", timeout_s=30) == 0
    copy = node.root / "bricks" / "b2" / "f.txt"
    assert copy.read_text() == "written-while-down\n"
