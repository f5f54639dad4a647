"""The reference system's failover end to end on the lab (root; tests/e2e_lab.py):
real keepalived, two agents, real litestream, the k3s STAND-IN (not k3s).

Default run: kill the active (every daemon it runs) -> the standby runs the
whole promotion, its k3s database restored from the litestream replica, the
stand-in ready on it, the VIP and /active on it. The longer cases are slow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_lab import E2ELab, last_promotion
from litestream_helpers import litestream_binary
from realdaemon import require_root_tools

from hacore import codec
from hacore import events as ev
from hacore import inputs as inp
from hacore.roles import PlanKind

pytestmark = pytest.mark.root

BUDGET_S = 90.0  # real processes on a loaded 2-core machine: generous, never a timing claim


@pytest.fixture
def e2e() -> Iterator[E2ELab]:
    require_root_tools("ip", "nft", "keepalived")
    litestream_binary()  # fails when CI=true and it is missing, skips locally
    d = Path("/run/hacore-lab-test") / f"e2e-{os.getpid()}-{time.monotonic_ns()}"
    lab = E2ELab(d)
    try:
        yield lab
    finally:
        lab.down()


def _until(pred: Callable[[], bool], what: str, timeout: float = BUDGET_S) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def converge(lab: E2ELab) -> None:
    for name in ("a", "b"):
        lab.start_agent(name)
    lab.lab.start_together()
    lab.wait_roles({"a": "active", "b": "standby"}, BUDGET_S)
    _until(lambda: lab.readyz("a") == 200, "the stand-in ready on a")


def _status(lab: E2ELab, name: str, want: int) -> str:
    """``hacore status`` on ``name`` until it exits ``want`` (bounded)."""
    out = ""

    def exits() -> bool:
        nonlocal out
        result = lab.hacore(name, "status")
        out = result.stdout + result.stderr
        return result.returncode == want

    try:
        _until(exits, f"hacore status on {name} exiting {want}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last output:\n{out}") from None
    return out


def test_killing_the_active_moves_k3s_restored_from_the_replica(e2e: E2ELab) -> None:
    lab = e2e
    converge(lab)
    assert lab.seeded <= lab.objects("a"), "a's promotion did not restore the replica"
    assert lab.readyz("b") == 0, "k3s runs on the standby too"
    acked = lab.put("a", [f"configmaps/before-{i}" for i in range(5)])
    assert len(acked) == 5, acked
    lab.wait_replica_level("a")  # shipped: these must survive the crash
    for name in ("a", "b"):  # before: healthy from either node, the lag shown
        out = _status(lab, name, 0)
        assert "Replica lag (litestream on a): 0 revisions" in out, out
    late = lab.put("a", ["configmaps/late"])  # may or may not be shipped: litestream's lag

    lab.kill_node("a")
    lab.wait_roles({"b": "active"}, BUDGET_S)
    _until(lambda: lab.readyz("b") == 200, "the stand-in ready on b")
    _until(lambda: lab.lab.has_vip(lab.lab.node("b")), "the VIP on b")
    _until(lambda: lab.http_code("b", "/active") == 200, "/active 200 on b")
    on_b = lab.objects("b")
    assert lab.seeded | {f"/registry/{k}" for k in acked} <= on_b
    lost_late = {f"/registry/{k}" for k in late} - on_b
    assert lost_late <= {"/registry/configmaps/late"}  # only the unshipped tail may go
    assert lab.put("b", ["configmaps/after"]), "b's k3s takes writes"
    after = _status(lab, "b", 1)  # after: b serves, a (every daemon) is gone: degraded
    assert "Verdict: degraded" in after and "(not heard)" in after, after
    promotion = last_promotion(lab.log("b"))
    assert promotion is not None
    assert {"restore_k3s_db", "start_k3s", "start_replication"} <= set(promotion.steps)
    # The restore's replica position and verification are in b's log.
    restored = [
        m.detail
        for m in lab.log("b")
        if isinstance(m, inp.StepSucceeded)
        and m.plan_id == promotion.plan_id
        and m.step.value == "restore_k3s_db"
    ]
    assert restored and "replica txid" in restored[0] and "integrity ok" in restored[0], restored


@pytest.mark.slow
def test_a_partition_with_k3s_writes_on_both_sides_keeps_every_acknowledged_object(
    e2e: E2ELab,
) -> None:
    lab = e2e
    converge(lab)
    before = lab.put("a", [f"configmaps/before-{i}" for i in range(3)])
    lab.wait_replica_level("a")
    lab.lab.partition([["a"], ["b"]])
    lab.wait_roles({"a": "active", "b": "active"}, BUDGET_S)
    _until(lambda: lab.readyz("b") == 200, "the stand-in ready on b during the split")
    a_side = lab.put("a", [f"configmaps/a-side-{i}" for i in range(3)])
    b_side = lab.put("b", [f"configmaps/b-side-{i}" for i in range(3)])
    assert len(a_side) == len(b_side) == 3, (a_side, b_side)
    lab.lab.heal()
    # vrrp-winner: a (priority 150) wins; b demotes through its whole plan
    lab.wait_roles({"a": "active", "b": "standby"}, BUDGET_S)
    _until(lambda: lab.readyz("b") == 0, "k3s stopped on the loser")
    assert lab.readyz("a") == 200, "k3s runs on the winner"
    acked = {f"/registry/{k}" for k in {**before, **a_side, **b_side}}
    kept, quarantined = lab.objects("a"), lab.quarantined("b")
    missing = acked - kept - quarantined
    assert not missing, f"acknowledged objects neither kept nor quarantined: {sorted(missing)}"
    assert {f"/registry/{k}" for k in b_side} <= quarantined
    _until(
        lambda: (lab.http_code("a", "/active"), lab.http_code("b", "/active")) == (200, 503),
        "/active 200 on a only",
    )


@pytest.fixture
def safety_lab() -> Iterator[E2ELab]:
    require_root_tools("ip", "nft", "keepalived")
    litestream_binary()
    d = Path("/run/hacore-lab-test") / f"e2e-safe-{os.getpid()}-{time.monotonic_ns()}"
    lab = E2ELab(d, mode="safety-first")
    try:
        yield lab
    finally:
        lab.down()


@pytest.mark.slow
def test_safety_first_never_runs_k3s_on_both_sides_of_a_partition(safety_lab: E2ELab) -> None:
    lab = safety_lab
    converge(lab)
    lab.lab.partition([["a"], ["b"]])
    # Neither side has a majority of two: b must not promote, so k3s never answers
    # on b while a's still may. Sampled for a while, bounded.
    seen: list[tuple[int, int]] = []
    end = time.monotonic() + 15.0
    while time.monotonic() < end:
        seen.append((lab.readyz("a"), lab.readyz("b")))
        assert seen[-1] != (200, 200), f"k3s answered on both sides: {seen}"
    assert all(b != 200 for _a, b in seen), seen
    assert lab.role("b") == "standby"
    lab.lab.heal()
    lab.wait_roles({"a": "active", "b": "standby"}, BUDGET_S)
    _until(lambda: lab.readyz("a") == 200 and lab.readyz("b") == 0, "k3s on a only after the heal")


@pytest.mark.slow
def test_an_agent_sigkilled_mid_promotion_completes_it_once_restarted(e2e: E2ELab) -> None:
    lab = e2e
    converge(lab)
    lab.put("a", [f"configmaps/before-{i}" for i in range(3)])
    lab.wait_replica_level("a")
    killed_at = lab.kill_node("a")

    def promoting() -> bool:
        return any(
            isinstance(m, ev.StepStarted) and m.at > killed_at and m.step.value == "start_k3s"
            for m in lab.log("b")
        )

    _until(promoting, "b's promotion reached start_k3s")
    lab.kill_agent("b")
    plan = _open_promotion(lab.log("b"), killed_at)
    assert plan is not None, "the promotion finished before the SIGKILL: nothing to resume"
    k3s_pid = lab.service_pids("b").get("k3s")
    lab.start_agent("b")
    _until(lambda: lab.role("b") == "active", "b active after its restart")
    _until(lambda: lab.readyz("b") == 200, "the stand-in ready on b")
    log = lab.log("b")
    completed = [m.step.value for m in log if isinstance(m, ev.StepCompleted) and m.plan_id == plan]
    assert len(completed) == len(set(completed)), completed  # each step completed once
    assert {"restore_k3s_db", "start_k3s", "start_replication"} <= set(completed)
    if k3s_pid is not None:  # the stand-in it had started was kept, not started again
        assert lab.service_pids("b").get("k3s") == k3s_pid
    assert lab.put("b", ["configmaps/after"])


def _open_promotion(log: list[codec.Message], since_us: int) -> int | None:
    """The promotion started after ``since_us`` that has not finished."""
    open_plans = {
        m.plan_id
        for m in log
        if isinstance(m, ev.PlanStarted) and m.kind is PlanKind.PROMOTION and m.at > since_us
    }
    open_plans -= {m.plan_id for m in log if isinstance(m, ev.PlanFinished)}
    return min(open_plans) if open_plans else None


@pytest.fixture
def galera_e2e() -> Iterator[E2ELab]:
    require_root_tools("ip", "nft", "keepalived", "mariadbd", "mariadb-install-db", "rsync")
    litestream_binary()
    d = Path("/run/hacore-lab-test") / f"e2e-galera-{os.getpid()}-{time.monotonic_ns()}"
    lab = E2ELab(d, galera=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.mark.slow  # MariaDB install and SST: about a minute
def test_killing_the_active_with_real_galera_too(galera_e2e: E2ELab) -> None:
    lab = galera_e2e
    converge(lab)
    acked = lab.put("a", ["configmaps/with-galera"])
    lab.wait_replica_level("a")
    lab.kill_node("a")  # mariadbd included
    lab.wait_roles({"b": "active"}, BUDGET_S)
    _until(lambda: lab.readyz("b") == 200, "the stand-in ready on b")
    assert {f"/registry/{k}" for k in acked} <= lab.objects("b")
    promotion = last_promotion(lab.log("b"))
    assert promotion is not None
    assert {"restore_k3s_db", "start_k3s", "make_galera_primary", "start_replication"} <= set(
        promotion.steps
    )
    doc = lab.status_doc("b")
    assert doc is not None
    assert doc["self"].get("galera_member") is True, doc["self"]


@pytest.fixture
def all_daemons() -> Iterator[E2ELab]:
    require_root_tools("ip", "nft", "keepalived", "mariadbd", "mariadb-install-db", "rsync")
    require_root_tools("glusterd", "gluster", "nsenter")
    litestream_binary()
    d = Path("/run/hacore-lab-test") / f"e2e-all-{os.getpid()}-{time.monotonic_ns()}"
    lab = E2ELab(d, galera=True, gluster=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.mark.slow  # MariaDB, a Gluster pool, litestream, the stand-in: a few minutes
def test_killing_the_active_with_every_service_of_the_reference_system(
    all_daemons: E2ELab,
) -> None:
    lab = all_daemons
    converge(lab)
    acked = lab.put("a", ["configmaps/every-service"])
    lab.wait_replica_level("a")
    lab.kill_node("a")
    lab.wait_roles({"b": "active"}, BUDGET_S)
    _until(lambda: lab.readyz("b") == 200, "the stand-in ready on b")
    assert {f"/registry/{k}" for k in acked} <= lab.objects("b")
    promotion = last_promotion(lab.log("b"))
    assert promotion is not None
    every = {"restore_k3s_db", "start_k3s", "make_galera_primary", "heal_gluster"}
    assert every | {"start_replication"} <= set(promotion.steps), promotion.steps
