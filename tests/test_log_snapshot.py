"""Recovery from a snapshot gives exactly what a full replay gives.

``Node.recover`` over an :class:`InMemoryLog` folds only the records after the
log's :class:`Snapshot` (kept by the node every ``snapshot_every`` records and
at each recovery), and ``verify`` checks only the records after the last one
the log made or checked. Neither may change an outcome: these tests restart
random nodes many times and compare every recovery with a fresh full replay of
the same records, and show that a snapshot or a checked prefix no longer pinned
to the chain is not used.
"""

from __future__ import annotations

import dataclasses

import pytest
from core_helpers import CONFIGS, SEC, Driver, cluster, inputs_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hacore.log
from hacore.config import ClusterConfig
from hacore.inputs import Input
from hacore.log import (
    ChainError,
    InMemoryLog,
    LogRecord,
    Snapshot,
    replay_log,
    replay_records,
)
from hacore.node import Node
from hacore.roles import PeerRole, VrrpStatus
from hacore.state import NodeState

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _copy(log: InMemoryLog, keep: int | None = None) -> InMemoryLog:
    """A fresh log holding the same record objects (no snapshot, nothing trusted)."""
    out = InMemoryLog(log.node)
    out._records.extend(list(log.records())[:keep])
    return out


@FAST
@given(CONFIGS, st.data())
def test_recovering_from_snapshots_equals_full_replay_on_random_logs(
    config: ClusterConfig, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]), label="node")
    driver = Driver(config, name)
    log = driver.node.log
    assert isinstance(log, InMemoryLog)
    log.snapshot_every = data.draw(st.integers(1, 8), label="snapshot every")
    restarts = data.draw(st.integers(1, 6), label="restarts")
    for _ in range(restarts):
        for _ in range(data.draw(st.integers(0, 15), label="steps")):
            at = driver.now + data.draw(st.integers(0, 40 * SEC), label="dt")
            driver.feed(data.draw(inputs_for(config, name, driver.state, at=at)))
        live = driver.state
        node = Node.recover(config, name, log)
        full = replay_records(name, list(log.records()))
        assert node.state == full
        assert node.state == live
        # And the same as recovering a copy that has no snapshot at all.
        assert Node.recover(config, name, _copy(log)).state == full
        if len(log):  # the next recovery starts from here
            assert log.snapshot is not None
            assert (log.snapshot.seq, log.snapshot.hash) == (len(log), log.head_hash)
        driver = Driver(config, name, node)
        driver.now = max(driver.now, max((r.at for r in log.records()), default=0))


def _failover() -> tuple[Driver, InMemoryLog]:
    b = Driver(cluster(2), "b")
    b.boot()
    b.heard("a", PeerRole.ACTIVE, epoch=1)
    b.lost("a")
    b.vrrp(VrrpStatus.MASTER)
    b.run_plan()
    log = b.node.log
    assert isinstance(log, InMemoryLog)
    return b, log


def test_a_snapshot_is_ignored_when_its_record_no_longer_has_its_hash() -> None:
    b, log = _failover()
    replay_log("b", log)
    assert log.snapshot is not None
    # A snapshot claiming a different state at the same seq and hash would be
    # used; one whose hash does not match the record is not.
    bogus = dataclasses.replace(log.snapshot, hash="0" * 64, state=NodeState(name="b"))
    log.snapshot = bogus
    assert replay_log("b", log) == replay_records("b", list(log.records()))
    # Nor when the log is shorter than the snapshot (a torn tail was cut).
    cut = _copy(log, keep=5)
    cut.snapshot = Snapshot(len(log), log.head_hash, b.state)
    assert replay_log("b", cut) == replay_records("b", list(cut.records()))
    # Nor when it was taken for another node's name.
    log.snapshot = Snapshot(len(log), log.head_hash, NodeState(name="a"))
    assert replay_log("b", log) == replay_records("b", list(log.records()))


def test_verify_checks_only_the_tail_after_the_last_checked_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b, log = _failover()
    b.heard("a", PeerRole.STANDBY, epoch=1)
    b.lost("a")
    keep = len(log) // 2
    copy = _copy(log, keep=keep)
    assert copy.verify() == keep  # nothing checked yet: all of it
    seen: list[int] = []
    real = hacore.log.verify_records

    def spy(node: str, records: list[LogRecord], *args: object, **kw: object) -> int:
        seen.append(len(records))
        return real(node, records, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(hacore.log, "verify_records", spy)
    copy._records.extend(list(log.records())[keep:])  # made elsewhere: to be checked
    assert copy.verify() == len(log)
    tail = len(log) - keep
    assert seen == [tail]
    assert copy.verify() == len(log)  # nothing new: nothing checked
    # Records a log makes itself are checked by making them.
    b.progress(7)
    assert log.verify() == len(log)
    assert seen == [tail]


def test_verify_finds_a_swapped_head_and_verify_all_one_in_the_middle() -> None:
    _, log = _failover()
    count = log.verify()
    r = log._records[3]
    log._records[3] = dataclasses.replace(r, at=r.at + 1)  # same hash field, edited body
    # The middle of a checked prefix is trusted by verify (a restart costs the
    # tail), and re-hashed by verify_all (the simulator's replay invariant).
    assert log.verify() == count
    with pytest.raises(ChainError) as err:
        log.verify_all()
    assert err.value.seq == r.seq
    log._records[3] = r
    assert log.verify_all() == count
    # The last checked record is a tripwire: swapping it sends verify back to
    # a full check, which finds the edit.
    last = log._records[-1]
    log._records[-1] = dataclasses.replace(last, at=last.at + 1)
    with pytest.raises(ChainError) as err:
        log.verify()
    assert err.value.seq == last.seq
    log._records[-1] = last
    assert log.verify() == count


def test_the_node_keeps_a_snapshot_every_so_many_records() -> None:
    _, log = _failover()
    log2 = InMemoryLog("b")
    log2.snapshot_every = 3
    node = Node(cluster(2), "b", log2)
    for r in log.records():
        if r.kind == "input":
            message = r.message()
            assert isinstance(message, Input)
            node.handle(message)
    assert log2.snapshot is not None
    assert len(log2) - log2.snapshot.seq < 3
    snap = log2.snapshot
    assert snap.state == replay_records("b", list(log2.records())[: snap.seq])
    assert Node.recover(cluster(2), "b", log2).state == replay_records("b", list(log2.records()))


def test_records_added_behind_the_logs_back_are_hashed() -> None:
    _, log = _failover()
    log.verify()
    last = log._records[-1]
    forged = dataclasses.replace(
        last, seq=last.seq + 1, prev_hash=last.hash, payload=last.payload + " "
    )
    log._records.append(forged)
    with pytest.raises(ChainError, match="hash mismatch"):
        log.verify()
