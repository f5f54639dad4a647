"""Real keepalived and real glusterd on two lab nodes, an `hacore agent` on
each with the Gluster adapter wired in (root, slow: forming the pool takes
15-25 s here).

The agents' plans drive the volume: b's promotion after a's keepalived is
killed runs heal towards b's brick through the real adapter; `hacore status`
observes Gluster through the adapter's probe on both nodes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_lab import AgentLab
from realdaemon import require_root_tools
from test_agent_lab import _status_exit

from adapters.store import SqliteStore
from hacore import events as ev
from hacore.plans import StepName

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def gluster_lab() -> Iterator[AgentLab]:
    require_root_tools(
        "ip", "nft", "keepalived", "glusterd", "gluster", "nsenter", "mount.glusterfs"
    )
    d = Path("/run/hacore-lab-test") / f"agent-gluster-{os.getpid()}-{time.monotonic_ns()}"
    lab = AgentLab(d, services="gluster = true", gluster=True)
    try:
        yield lab
    finally:
        lab.down()


def _completed_steps(alab: AgentLab, name: str) -> list[StepName]:
    path = str(alab.dir(name) / "events.sqlite")
    with SqliteStore.open(path, create=False, readonly=True) as store:
        return [m.step for m in store.messages(name) if isinstance(m, ev.StepCompleted)]


def test_the_gluster_adapter_serves_the_agents_plans(gluster_lab: AgentLab) -> None:
    alab = gluster_lab
    for name in ("a", "b"):
        alab.start_agent(name)
    alab.lab.start_together()
    alab.wait_roles({"a": "active", "b": "standby"}, 90)
    assert StepName.HEAL_GLUSTER in _completed_steps(alab, "a")
    for name in ("a", "b"):  # Gluster observed through the adapter's probe: healthy
        out = _status_exit(alab, name, 0, 60)
        assert "ready: gluster" in out, out
    alab.lab.kill("a")
    alab.wait_roles({"a": "standby", "b": "active"}, 90)
    assert StepName.HEAL_GLUSTER in _completed_steps(alab, "b")
    assert StepName.RESYNC_GLUSTER in _completed_steps(alab, "a")  # a's demotion
