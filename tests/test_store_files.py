"""Files, paths and failing disks: 0600, clear typed errors, never a partial record."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive
from realdaemon import in_ci, require_root_tools

from adapters.store import (
    ReadOnlyStoreError,
    SqliteStore,
    StoreFullError,
    StorePathError,
    StoreWriteError,
)
from hacore import inputs as inp
from hacore.node import Node

CHATTR = shutil.which("chattr")


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """``chattr +i``: even root cannot write the file (or create in the directory)."""
    require_root_tools("chattr")  # fails in CI, skips with the reason elsewhere
    assert CHATTR is not None
    done: list[Path] = []
    try:
        for p in paths:
            r = subprocess.run([CHATTR, "+i", str(p)], capture_output=True, check=False)  # noqa: S603
            if r.returncode != 0:
                reason = f"chattr +i unsupported here: {r.stderr.decode().strip()}"
                if in_ci():
                    pytest.fail(reason + " — CI=true, so this is a failure, not a skip")
                pytest.skip(reason)
            done.append(p)
        yield
    finally:
        for p in done:
            subprocess.run([CHATTR, "-i", str(p)], check=True)  # noqa: S603


def test_new_store_files_are_private_to_their_owner(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    old = os.umask(0o022)
    try:
        with SqliteStore.open(str(db), config=CONFIG) as store:
            store.log_for("a").append([inp.Booted(1)], 0)
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-lock")]
            for f in files:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    finally:
        os.umask(old)


def test_a_directory_is_not_a_store_path(tmp_path: Path) -> None:
    with pytest.raises(StorePathError, match="is a directory"):
        SqliteStore.open(str(tmp_path))


def test_a_missing_parent_directory_is_a_path_error(tmp_path: Path) -> None:
    with pytest.raises(StorePathError):
        SqliteStore.open(str(tmp_path / "no" / "such" / "s.db"))


def test_a_missing_store_is_not_created_when_creation_is_off(tmp_path: Path) -> None:
    with pytest.raises(StorePathError, match="no such store"):
        SqliteStore.open(str(tmp_path / "s.db"), create=False)
    assert not (tmp_path / "s.db").exists()


def test_an_unwritable_directory_is_a_path_error_even_for_root(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with immutable(locked), pytest.raises(StorePathError, match="not writable"):
        SqliteStore.open(str(locked / "s.db"))
    assert not (locked / "s.db").exists()


def test_an_immutable_store_file_opens_only_for_reading(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SqliteStore.open(str(db), config=CONFIG) as store:
        store.log_for("a").append([inp.Booted(1)], 0)
    with immutable(db):
        with pytest.raises(StorePathError, match="not writable"):
            SqliteStore.open(str(db))
        with SqliteStore.open(str(db), readonly=True) as ro:
            assert ro.verify() == {"a": 1}


def test_a_read_only_store_refuses_writers(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SqliteStore.open(str(db), config=CONFIG).close()
    with SqliteStore.open(str(db), readonly=True) as store, pytest.raises(ReadOnlyStoreError):
        store.log_for("a")


def test_a_full_disk_rolls_back_the_whole_batch(tmp_path: Path) -> None:
    """``max_page_count`` makes SQLite report SQLITE_FULL, as on a full disk."""
    db = tmp_path / "s.db"
    store = SqliteStore.open(str(db), config=CONFIG, max_page_count=12)
    log = store.log_for("a")
    node = Node(CONFIG, "a", log)
    acknowledged = 0
    with pytest.raises(StoreFullError):
        for acknowledged in drive(node, 10**6, seed=2):  # noqa: B007
            pass
    state_before_failure = node.state
    assert acknowledged > 20
    assert len(log) == acknowledged  # the failed batch left no trace, even in memory
    assert log.verify() == acknowledged
    with pytest.raises(StoreFullError):  # still full: still nothing half-written
        node.handle(inp.Booted(10**12))
    assert node.state == state_before_failure  # Node did not act on an unpersisted decision
    store.close()
    with SqliteStore.open(str(db)) as bigger:  # space again: the log continues intact
        assert bigger.verify() == {"a": acknowledged}
        assert bigger.log_for("a").append([inp.Booted(10**12)], 0)[0].seq == acknowledged + 1


def test_append_fails_cleanly_when_the_file_is_made_immutable_mid_run(tmp_path: Path) -> None:
    """``chattr +i`` on the database and its WAL while the writer is running."""
    db = tmp_path / "s.db"
    store = SqliteStore.open(str(db), config=CONFIG)
    log = store.log_for("a")
    node = Node(CONFIG, "a", log)
    for acknowledged in drive(node, 25, seed=4):  # noqa: B007
        pass
    with immutable(db, Path(f"{db}-wal")):
        with pytest.raises(StoreWriteError):
            for _ in drive(node, 10, seed=5, start_at=10**11):
                pass
        assert len(log) == acknowledged
    store.close()
    with SqliteStore.open(str(db)) as reopened:
        assert reopened.verify() == {"a": acknowledged}
