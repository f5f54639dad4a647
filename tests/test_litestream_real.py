"""The litestream DatastorePort against the real binary (file replica on local
disk, no network, a few seconds in all)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Collection

from litestream_helpers import KineSite

from adapters.k3s.kine import read_rows
from adapters.litestream.replicator import Replicator
from hacontracts.ports import DatastorePortContract
from hacore.ports import DatastorePort, Done, Failed

BUDGET_US = 5_000_000


def _deadline(site: KineSite) -> int:
    return site.port.clock_us() + BUDGET_US


class TestLitestreamDatastore(DatastorePortContract):
    budget_us = 2_000_000  # keeps the unresponsive case (4 calls) to ~8 s
    site: KineSite

    def make_port(self) -> DatastorePort:
        self.site = KineSite()
        return self.site.port

    def teardown_method(self) -> None:
        self.site.close()

    def now(self) -> int:
        return self.site.port.clock_us()

    def make_unresponsive(self) -> None:
        # A wedged litestream: every command hangs; a running replicate is SIGSTOPped.
        # One local object first: with none, "nothing to quarantine" is a true Done
        # that needs no litestream, and the quarantine call would not reach it.
        self.site.write()
        hang = self.site.root / "wedged-litestream"
        hang.write_text("#!/bin/sh\nexec sleep 600\n")
        hang.chmod(0o700)
        pid = self.site.port.replicator.pid()
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)
        r = self.site.port.replicator
        self.site.port.replicator = Replicator(r.config, r.state_dir, str(hang))

    def replicating(self) -> bool:
        return self.site.port.replicator.pid() is not None

    def write_local(self) -> int:
        return self.site.write()

    def catch_up(self) -> None:
        self.site.port.replicator.wait_synced(until=time.monotonic() + 5)

    def local(self) -> Collection[int]:
        return self.site.local_ids()

    def replica(self) -> Collection[int]:
        return self.site.replica_ids()

    def quarantined(self) -> Collection[int]:
        return {i for r in self.site.port.quarantine.receipts() for i in r.row_ids}


def test_restore_from_an_empty_replica_is_an_explicit_failure_not_an_empty_database() -> None:
    site = KineSite()
    try:
        site.write()
        before = site.db.read_bytes()
        outcome = site.port.restore_from_replica(key="r1", deadline=_deadline(site))
        assert isinstance(outcome, Failed), outcome
        assert "holds no backup" in outcome.reason
        assert site.db.read_bytes() == before  # the local database untouched
    finally:
        site.close()


def test_restore_quarantines_newer_local_objects_even_when_not_asked_first() -> None:
    site = KineSite()
    try:
        port = site.port
        assert isinstance(port.start_replication(key="s", deadline=_deadline(site)), Done)
        shipped = site.write()
        stop = port.stop_replication(key="t", deadline=_deadline(site))
        assert isinstance(stop, Done), stop
        newer = site.write()
        restored = port.restore_from_replica(key="r", deadline=_deadline(site))
        assert isinstance(restored, Done), restored
        assert "replica txid" in restored.detail and "integrity ok" in restored.detail
        # The replica position of each verified restore is recorded with the step's key.
        (line,) = [json.loads(x) for x in port.restore_journal.read_text().splitlines()]
        assert line["key"] == "r" and line["installed"] and line["integrity_check"] == "ok"
        assert f"replica txid {line['txid']}" in restored.detail and line["rows"] == 1
        assert site.local_ids() == {shipped}
        kept = {i for r in port.quarantine.receipts() for i in r.row_ids}
        assert kept == {newer}
        copy = port.quarantine.root / port.quarantine.receipts()[0].copy
        assert {r.id for r in read_rows(copy)} == {shipped, newer}
    finally:
        site.close()


def test_restore_refuses_while_replicate_runs_on_the_database() -> None:
    site = KineSite()
    try:
        assert isinstance(site.port.start_replication(key="s", deadline=_deadline(site)), Done)
        outcome = site.port.restore_from_replica(key="r", deadline=_deadline(site))
        assert isinstance(outcome, Failed) and "replicate is running" in outcome.reason
    finally:
        site.close()


def test_a_sigkilled_replicate_leaves_a_clean_prefix_in_the_replica() -> None:
    site = KineSite(monitor_interval_ms=1000, sync_interval_ms=1000)
    try:
        port = site.port
        assert isinstance(port.start_replication(key="s", deadline=_deadline(site)), Done)
        acked = [site.write() for _ in range(20)]
        port.replicator.kill()  # a crash: no final sync
        replica = site.replica_ids()
        assert replica == set(acked[: len(replica)]), "the replica is not a prefix"
        restored = port.restore_from_replica(key="r", deadline=_deadline(site))
        assert isinstance(restored, Done), restored
        lost = set(acked) - site.local_ids()
        assert lost <= {i for r in port.quarantine.receipts() for i in r.row_ids}
    finally:
        site.close()
