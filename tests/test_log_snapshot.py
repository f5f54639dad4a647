"""Recovery from a snapshot gives exactly what a full replay gives.

``Node.recover`` over an :class:`InMemoryLog` folds only the records after the
log's :class:`Snapshot` (taken at the previous recovery), and ``verify``
re-hashes only records the log did not make or check itself. Neither may
change an outcome: these tests restart random nodes many times and compare
every recovery with a fresh full replay of the same records, and show that a
snapshot or a trusted record no longer pinned to the chain is not used.
"""

from __future__ import annotations

import dataclasses

import pytest
from core_helpers import CONFIGS, SEC, Driver, cluster, inputs_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hacore.config import ClusterConfig
from hacore.log import ChainError, InMemoryLog, Snapshot, replay_log, replay_records
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


def test_incremental_verify_still_finds_a_record_swapped_in_after_a_check() -> None:
    _, log = _failover()
    count = log.verify()
    r = log._records[3]
    log._records[3] = dataclasses.replace(r, at=r.at + 1)  # same hash field, edited body
    with pytest.raises(ChainError) as err:
        log.verify()
    assert err.value.seq == r.seq
    log._records[3] = r
    assert log.verify() == count


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
