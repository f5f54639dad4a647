"""`hacore status`: the store's durable roles joined with keepalived's own view."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from realdaemon import require_root_tools

from adapters.lab import Lab, LabNodeSpec, leftovers
from adapters.store import SqliteStore
from hacli.main import main
from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec
from hacore.node import Node
from hacore.roles import PeerRole, Role, VrrpStatus


def write_store(path: Path, config: ClusterConfig) -> None:
    """n1's durable log says active (epoch 1), n2's says standby."""
    with SqliteStore.open(str(path), config=config) as store:
        n1 = Node(config, "n1", store.log_for("n1"))
        n1.handle(inp.Booted(1))
        n1.handle(inp.VrrpReported(2, VrrpStatus.MASTER, 200))
        at = 3
        while (plan := n1.state.plan) is not None:
            n1.handle(inp.StepSucceeded(at, plan.plan_id, plan.current_step, plan.attempt))
            at += 1
        assert n1.state.role is Role.ACTIVE
        n2 = Node(config, "n2", store.log_for("n2"))
        n2.handle(inp.Booted(1))
        n2.handle(inp.PeerHeard(2, "n1", PeerRole.ACTIVE, 1, 0, 0))
        n2.handle(inp.VrrpReported(3, VrrpStatus.BACKUP, 100))


CONFIG = ClusterConfig(nodes=(NodeSpec("n1", "10.77.0.1", 200), NodeSpec("n2", "10.77.0.2", 100)))


def test_status_from_the_store_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    write_store(db, CONFIG)
    assert main(["status", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert "| n1        | active  | up     | 10.77.0.1 |" in out
    assert "| n2        | standby | up     | 10.77.0.2 |" in out
    assert "n1: not observed: services, kubernetes state, galera membership" in out


def test_status_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--store", str(tmp_path / "missing.db")]) == 2
    not_a_store = tmp_path / "x.db"
    not_a_store.write_text("hello")
    assert main(["status", "--store", str(not_a_store)]) == 2
    db = tmp_path / "s.db"
    write_store(db, CONFIG)
    assert main(["status", "--store", str(db), "--keepalived-pid", "/nonexistent"]) == 2
    assert main(["status", "--store", str(db), "--node", "zz"]) == 2
    pid = tmp_path / "pid"
    pid.write_text(f"{os.getpid()}\n")  # a live process that is not keepalived
    args = ["status", "--store", str(db), "--node", "n1", "--keepalived-pid", str(pid)]
    assert main(args) == 2
    assert "not keepalived" in capsys.readouterr().err


@pytest.fixture
def lab_dir() -> Iterator[Path]:
    require_root_tools("ip", "nft", "keepalived")
    d = Path("/run/hacore-lab-test") / f"status-{os.getpid()}-{time.monotonic_ns()}"
    yield d
    if (d / "lab.json").exists():
        Lab.load(state_dir=d).down()


@pytest.mark.root
def test_status_joins_keepalived_own_view_and_flags_a_standby_holding_the_vip(
    lab_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = Lab.up(
        [LabNodeSpec("n1", 200), LabNodeSpec("n2", 100)], state_dir=lab_dir, advert_int="0.05"
    )
    prefix = lab.state.prefix
    try:
        ips = {n.name: n.ip for n in lab.state.nodes}
        config = ClusterConfig(
            nodes=(NodeSpec("n1", ips["n1"], 200), NodeSpec("n2", ips["n2"], 100))
        )
        db = tmp_path / "s.db"
        write_store(db, config)

        def status(node: str) -> int:
            return main(
                [
                    "status", "--store", str(db), "--node", node,
                    "--keepalived-pid", str(lab_dir / node / "keepalived.pid"),
                    "--keepalived-tmp", str(lab_dir / node),
                ]
            )  # fmt: skip

        assert status("n1") == 0
        assert "n1: keepalived VI_1 MASTER priority 200, holds the VIP" in capsys.readouterr().out
        assert status("n2") == 0
        assert "n2: keepalived VI_1 BACKUP priority 100, no VIP" in capsys.readouterr().out
        lab.isolate("n2")  # n2's VRRP takes the VIP while its durable role is standby
        lab.wait_for(lambda s: s == {"n1": "MASTER", "n2": "MASTER"}, 3)
        assert status("n2") == 1
        assert "n2: standby but keepalived holds the VIP" in capsys.readouterr().out
    finally:
        lab.down()
    assert leftovers(prefix) == []
