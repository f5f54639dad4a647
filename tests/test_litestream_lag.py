"""Replica lag measured in kine revisions against the real litestream
(tests/litestream_helpers.py: a kine database and a file replica in a
temporary directory)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from litestream_helpers import KineSite

from adapters.litestream import command
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.outputs import parse_status
from adapters.litestream.port import LitestreamDatastore
from adapters.litestream.replicator import Replicator
from hacore.ports import Done


@pytest.fixture
def site() -> Iterator[KineSite]:
    s = KineSite()
    try:
        yield s
    finally:
        s.close()


def _deadline(site: KineSite) -> int:
    return site.port.clock_us() + 30_000_000


def test_level_while_replicating_then_the_unshipped_tail_is_counted(site: KineSite) -> None:
    port = site.port
    assert isinstance(port.start_replication(key="s", deadline=_deadline(site)), Done)
    for _ in range(3):
        site.write()
    port.replicator.wait_synced(until=time.monotonic() + 20)
    level = port.replica_lag(port.clock_us())
    assert level.replicating and level.revisions_behind == 0, level
    assert level.seconds_behind == 0.0 and level.local_revision == level.replica_revision == 3

    port.replicator.kill()  # what a crash leaves: commits litestream never saw
    for _ in range(2):
        site.write()
    first = port.replica_lag(port.clock_us())
    assert not first.replicating
    assert (first.local_revision, first.replica_revision, first.revisions_behind) == (5, 3, 2)
    time.sleep(0.2)
    later = port.replica_lag(port.clock_us())
    assert later.revisions_behind == 2 and later.seconds_behind is not None
    assert first.seconds_behind is not None and later.seconds_behind > first.seconds_behind

    # litestream's own view misses them: its local txid has not moved.
    st = parse_status(
        command.run(
            [site.binary, "status", "-json", "-config", str(port.replicator.config_path)],
            timeout_s=10,
        ).stdout
    )
    assert st and st[0].local_txid <= 3

    assert isinstance(port.start_replication(key="s2", deadline=_deadline(site)), Done)
    caught_up = port.replica_lag(port.clock_us())
    assert caught_up.revisions_behind == 0 and caught_up.seconds_behind == 0.0, caught_up


def test_an_empty_replica_lags_by_every_local_revision(site: KineSite) -> None:
    for _ in range(2):
        site.write()
    lag = site.port.replica_lag(site.port.clock_us())
    assert (lag.revisions_behind, lag.replica_revision) == (2, 0), lag
    assert "empty replica" in lag.detail and "lower bound" in lag.detail


def test_a_replica_ahead_of_the_local_database_is_not_a_lag(site: KineSite) -> None:
    port = site.port
    assert isinstance(port.start_replication(key="s", deadline=_deadline(site)), Done)
    for _ in range(3):
        site.write()
    port.replicator.wait_synced(until=time.monotonic() + 20)
    port.replicator.stop(timeout_s=5)
    # A standby's stale copy: an older database than the replica.
    stale = KineSite()
    try:
        stale.write()
        config = LitestreamConfig(
            database=stale.db, replica_dir=site.config.replica_dir, socket=stale.config.socket
        )
        probe_port = LitestreamDatastore(
            Replicator(config, stale.root / "state", site.binary), stale.port.quarantine
        )
        lag = probe_port.replica_lag(probe_port.clock_us())
        assert lag.revisions_behind == 0 and "ahead" in lag.detail, lag
    finally:
        stale.close()
