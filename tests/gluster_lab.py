"""Helpers of the real Gluster lab tests: a two-node pool, the port on a node,
writes through a node's mount, waiting for split-brain."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from realdaemon import require_root_tools

from adapters.gluster.port import GlusterPortAdapter
from adapters.gluster.split_brain import Entries, entries
from adapters.lab.gluster import VOLUME, GlusterLab
from adapters.lab.lab import Lab, default_nodes, leftovers

GLUSTER_TOOLS = ("ip", "nft", "glusterd", "gluster", "nsenter", "mount.glusterfs")
WAIT_S = 90.0  # generous: a loaded 2-core machine


@contextlib.contextmanager
def gluster_lab() -> Iterator[GlusterLab]:
    """Two lab nodes (network only, no keepalived) with a replica-2 volume mounted on each."""
    require_root_tools(*GLUSTER_TOOLS)
    d = Path("/run/hacore-lab-test") / f"gluster-{os.getpid()}-{time.monotonic_ns()}"
    lab = Lab.up(default_nodes(2), name="gluster", state_dir=d, start=False)
    data_root: str | None = None
    pids: list[int] = []
    try:
        g = GlusterLab.up(lab)
        data_root = g.state.data_root
        yield g
        pids = [p for n in lab.state.nodes for p in g.gluster_pids(n)]
    finally:
        prefix = lab.state.prefix
        problems = lab.down()
        assert problems == [], problems
        assert leftovers(prefix) == []
        assert data_root is None or not os.path.exists(data_root)
    # glusterd, bricks, self-heal daemons, FUSE clients: each gone, by PID
    assert len(pids) >= 8, pids
    assert [p for p in pids if _alive(p)] == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_for(g: GlusterLab, name: str, quarantine: Path) -> GlusterPortAdapter:
    return GlusterPortAdapter(
        cli=g.cli(name),
        volume=VOLUME,
        brick=g.brick(name),
        brick_path=g.brick_dir(name),
        mount=str(g.mount_dir(name)),
        quarantine_root=quarantine,
    )


def write(g: GlusterLab, name: str, entry: str, text: str) -> None:
    """Write ``entry`` (a name in the volume's root) through ``name``'s mount
    (right after a cut, the first write blocks for the ping timeout)."""
    (g.mount_view(name) / entry).write_text(text)


def wait_until(pred: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.3)


def found(g: GlusterLab, name: str = "n1") -> Entries:
    return entries(g.cli(name), VOLUME, timeout_s=60, need_all=False)


def on_bricks(g: GlusterLab, entry: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for node in g.lab.state.nodes:
        path = g.brick_dir(node.name) / entry
        out[node.name] = path.read_text() if path.exists() else None
    return out


def split_same_file(g: GlusterLab, entry: str) -> None:
    """A data split-brain of ``entry``: written on both bricks, then on each side of a cut."""
    write(g, "n1", entry, "before\n")
    wait_until(lambda: set(on_bricks(g, entry).values()) == {"before\n"}, f"{entry} on both")
    g.lab.partition([["n1"], ["n2"]])
    try:
        write(g, "n1", entry, "n1 wrote this while apart\n")
        write(g, "n2", entry, "n2 wrote this, longer, while apart\n")
    finally:
        g.lab.heal()
    wait_until(lambda: f"/{entry}" in found(g).split_files(), f"{entry} in split-brain")
