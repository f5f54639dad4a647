"""Violations the fuzzer found (each replays a shrunk schedule): regressions once fixed.

An open finding is ``xfail(strict=True)``: it fails today, and the day a fix
lands it passes and the strict xfail turns it red, so the marker goes with the
fix and the test stays as a regression test.
"""

from __future__ import annotations

import pytest

from hacore.roles import Mode
from sims.faults import parse_schedule
from sims.run import make_simulation


def test_three_nodes_minority_does_not_bootstrap_away_the_majoritys_writes() -> None:
    """Found by `hacore fuzz --nodes 3` (seed 0): the isolated minority (n3) promoted
    and pc.bootstrapped; when the majority's active crashed and the partition healed,
    the majority's standby SSTed from n3's forced component and writes acknowledged
    with a real majority vanished. Fixed in the core: with three or more voters a
    minority never bootstraps (hacore.table._bootstrap_allowed)."""
    sched = parse_schedule(
        "20s:partition:halves,27.5s:crash:n1,27.5s:heal,27.5s:resume:all,"
        "27.5s:diskok:all,27.5s:restart:all"
    )
    result = make_simulation("custom", 0, nodes=3, schedule=sched).run()
    assert result.invariants["nothing-lost"], result.violations


@pytest.mark.parametrize(
    ("seed", "tail"),
    [
        (0, "27.5s:resume:n1"),
        (0, "30s:resume:n1"),
        (0, "50s:resume:n1"),
        (23000, "28.5s:diskfull:n1,28.5s:heal,28.5s:resume:all,28.5s:diskok:all"),
    ],
)
def test_safety_first_paused_active_resumes_writable_beside_the_new_active(
    seed: int, tail: str
) -> None:
    """Found by `hacore fuzz --witness --mode safety-first`: the active (n1) is
    paused; n2 promotes with the witness's vote; at the instant n1 resumes it was
    still active, unfenced and Galera-primary, so two actives were writable
    until n1 caught up with its queued inputs (invariant 2). Fixed by the write
    lease (hacore.lease.may_write): the write path needs a majority heard within
    timing.write_lease_us, counted from when each heartbeat was *sent*, so the
    messages that waited in the paused node's socket renew nothing. The last case
    (seed 23's fuzz run) resumes onto a full disk: heartbeats then wait in the
    backlog, and the core's view of whom each peer follows is older than them,
    so they must not renew the lease either."""
    sched = parse_schedule(f"20s:pause:n1,{tail}")
    result = make_simulation(
        "custom", seed, nodes=2, witness=True, mode=Mode.SAFETY_FIRST, schedule=sched
    ).run()
    assert result.invariants["one-active-per-epoch"], result.violations


def test_a_node_restarted_on_a_full_disk_boots_once_the_disk_is_back() -> None:
    """Booted that cannot be appended is retried before any other input (found by
    the fuzzer's diskfull rule: the node stayed 'active' with its services down)."""
    sched = parse_schedule(
        "20s:partition:halves,29s:crash:n1,29s:diskfull:n1,29s:restart:n1,29s:heal,"
        "29s:resume:all,29s:diskok:all,29s:restart:all"
    )
    result = make_simulation("custom", 0, nodes=2, schedule=sched).run()
    assert result.ok, result.violations


def test_switchover_during_a_partition_then_crash_loses_no_acknowledged_write() -> None:
    """Found by `hacore fuzz --policy highest-epoch` (seed 0), every policy: a
    switchover as a partition starts lets both sides bootstrap; n2, active with a
    write the other side lacks, crashes at the heal. On restart its MariaDB
    joined the other component at once and the SST discarded the write before
    the demotion plan's quarantine step. Fixed in the runtime model: a node that
    restarts mid-role keeps MariaDB stopped until its plan's Galera step, which
    comes after quarantine_divergent (the agent, not init, starts MariaDB)."""
    sched = parse_schedule(
        "20s:partition:halves,20s:switchover,32s:crash:n2,32s:heal,32s:resume:all,"
        "32s:diskok:all,32s:restart:all"
    )
    result = make_simulation("custom", 0, nodes=2, schedule=sched).run()
    assert result.invariants["nothing-lost"], result.violations


@pytest.mark.parametrize(
    ("nodes", "witness", "schedule"),
    [
        (2, True, "20s:switchover,20s:diskfull:n2,23.5s:heal,23.5s:diskok:all"),
        (3, False, "20s:crash:n1,20s:restart:n1,20s:diskfull:n1,24s:heal,24s:diskok:all"),
        (5, False, "20s:diskfull:n2,20s:switchover,23.5s:heal,23.5s:diskok:all"),
    ],
)
def test_an_observation_the_full_disk_refused_is_decided_once_it_is_back(
    nodes: int, witness: bool, schedule: str
) -> None:
    """Found by `hacore fuzz --mode safety-first` (seed 11): the VRRP MASTER report
    reached a node whose disk was full; the runtime dropped it, keepalived never says
    MASTER twice, and every node stayed standby forever. The runtime keeps refused
    observations in order and retries them (the core decides nothing it could not
    persist, and loses nothing it was told)."""
    result = make_simulation(
        "custom",
        11000,
        nodes=nodes,
        witness=witness,
        mode=Mode.SAFETY_FIRST,
        schedule=parse_schedule(schedule),
    ).run()
    assert result.invariants["convergence"], result.violations


def test_a_free_vote_keeps_no_paused_active_writable_behind_a_one_way_cut() -> None:
    """Found by `hacore fuzz --nodes 3 --mode safety-first` (seed 31): n2 -> n3 is
    cut one way and the active n1 is paused. n3 hears nobody and follows nobody;
    n2 counts that free vote and promotes, while the lease of the resumed n1 also
    counted it: two writable actives. The lease now counts only peers that follow
    the node explicitly."""
    sched = parse_schedule(
        "20s:partition:oneway-n2-n3,20s:pause:n1,29.5s:heal,29.5s:resume:all,"
        "29.5s:diskok:all,29.5s:restart:all"
    )
    result = make_simulation("custom", 31000, nodes=3, mode=Mode.SAFETY_FIRST, schedule=sched).run()
    assert result.invariants["one-active-per-epoch"], result.violations
