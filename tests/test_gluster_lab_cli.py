"""``hacore lab up --gluster`` / ``status`` / ``down`` through the CLI (root, slow:
keepalived and a two-node pool, ~30 s)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from gluster_lab import GLUSTER_TOOLS
from realdaemon import require_root_tools

from adapters.lab.gluster import GlusterLab
from adapters.lab.lab import Lab, leftovers
from hacli.main import main

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_up_gluster_mounts_the_volume_on_each_node_and_down_leaves_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_root_tools("keepalived", *GLUSTER_TOOLS)
    d = Path("/run/hacore-lab-test") / f"gluster-cli-{os.getpid()}-{time.monotonic_ns()}"
    args = ["--name", "glcli", "--state-dir", str(d)]
    assert main(["lab", "up", "--nodes", "2", "--gluster", *args]) == 0
    lab = Lab.load("glcli", d)
    prefix = lab.state.prefix
    try:
        g = GlusterLab.load(lab)
        assert g is not None
        data_root = g.state.data_root
        (g.mount_view("n1") / "hello.txt").write_text("from n1\n")
        assert (g.mount_view("n2") / "hello.txt").read_text() == "from n1\n"
        pids = [p for n in lab.state.nodes for p in g.gluster_pids(n)]
        assert len(pids) >= 8  # per node: glusterd, a brick, a self-heal daemon, a FUSE client
        capsys.readouterr()
        assert main(["lab", "status", *args]) == 0
        out = capsys.readouterr().out
        assert out.count("bricks 2/2 online") == 2, out
    finally:
        code = main(["lab", "down", *args])
    assert code == 0
    assert leftovers(prefix) == []
    assert not os.path.exists(data_root)
    assert [p for p in pids if os.path.exists(f"/proc/{p}")] == []
