"""The k3s part of a promotion on one host with the real litestream and the
k3s STAND-IN (not k3s): the old active's replicate is SIGKILLed; the new
active restores its datastore from the same replica, starts the stand-in on
it, then replicates its own writes into that replica. No lab, no agent."""

from __future__ import annotations

import json
import time

from litestream_helpers import KineSite
from test_k3s_standin import StandInSite

from adapters.k3s import kine
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.port import LitestreamDatastore
from adapters.litestream.quarantine import Quarantine
from adapters.litestream.replicator import Replicator
from hacore.ports import Done


def test_restore_then_standin_then_replicate_on_the_new_active() -> None:
    old = KineSite()
    new = StandInSite(replica_expected=True, create=False)
    try:
        assert isinstance(old.port.start_replication(key="a", deadline=_dl(old)), Done)
        shipped = [old.write() for _ in range(3)]
        old.port.replicator.wait_synced(until=time.monotonic() + 5)
        old.port.replicator.kill()  # the old active crashes

        # The new active: its own state.db path, the same replica.
        cfg = LitestreamConfig(
            database=new.db,
            replica_dir=old.config.replica_dir,
            socket=new.root / "litestream.sock",
            monitor_interval_ms=100,
            sync_interval_ms=100,
        )
        (new.root / "ls").mkdir()
        port = LitestreamDatastore(
            Replicator(cfg, new.root / "ls", old.binary), Quarantine(new.root / "q")
        )
        restored = port.restore_from_replica(key="r", deadline=_dl(old))
        assert isinstance(restored, Done), restored
        assert {r.id for r in kine.read_rows(new.db)} == set(shipped)

        started = new.adapter.start(key="k", deadline=new.deadline())
        assert isinstance(started, Done), started
        status, body = new.request("PUT", "/objects/configmaps/after", b"x")
        assert status == 200 and isinstance(body, dict)

        assert isinstance(port.start_replication(key="s", deadline=_dl(old)), Done)
        status, body2 = new.request("PUT", "/objects/configmaps/after2", b"y")
        assert status == 200 and isinstance(body2, dict)
        port.replicator.wait_synced(until=time.monotonic() + 5)
        in_replica = old.replica_ids()
        assert set(shipped) | {body["revision"], body2["revision"]} <= in_replica, json.dumps(
            sorted(in_replica)
        )
        port.replicator.kill()
    finally:
        new.close()
        old.close()


def _dl(site: KineSite) -> int:
    return site.port.clock_us() + 10_000_000
