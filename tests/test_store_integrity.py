"""Opening verifies every node log: tampering is named, torn tails are told apart.

Each test builds a real log (a node driven through promotions), closes the
store, damages the file with plain sqlite3 the way a bug, an attacker or a
lying disk would, and opens it again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive

from adapters.store import (
    CorruptLogError,
    NotAStoreError,
    SqliteStore,
    TornTailError,
)
from hacore import inputs as inp
from hacore.log import ChainError
from hacore.node import Node


def build(path: Path, decisions: int = 30, nodes: tuple[str, ...] = ("a", "b")) -> dict[str, int]:
    counts = {}
    with SqliteStore.open(str(path), config=CONFIG) as store:
        for name in nodes:
            node = Node(CONFIG, name, store.log_for(name))
            for _ in drive(node, decisions, seed=ord(name)):
                pass
            counts[name] = len(node.log)  # type: ignore[arg-type]
    return counts


def tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for sql, params in statements:
        conn.execute(sql, params)
    conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def batch_bounds(path: Path, node: str) -> list[tuple[int, int]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT first_seq, last_seq FROM batches WHERE node = ? ORDER BY last_seq", (node,)
    ).fetchall()
    conn.close()
    return [(int(a), int(b)) for a, b in rows]


def open_error(path: Path) -> ChainError:
    before = digest(path)
    with pytest.raises(ChainError) as info:
        SqliteStore.open(str(path))
    assert digest(path) == before, "opening a damaged store must not rewrite it"
    return info.value


def test_an_intact_store_opens_and_verifies_every_node(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    counts = build(db)
    with SqliteStore.open(str(db)) as store:
        assert store.verify() == counts
        assert store.nodes() == ["a", "b"]


def test_an_edited_payload_names_the_node_and_its_seq(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    tamper(db, ("UPDATE records SET payload = '{\"at\":1}' WHERE node = 'b' AND seq = 5", ()))
    err = open_error(db)
    assert isinstance(err, CorruptLogError)
    assert (err.node, err.seq) == ("b", 5)


def test_a_flipped_byte_in_a_hash_is_caught_at_that_record(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    conn = sqlite3.connect(db)
    (h,) = conn.execute("SELECT hash FROM records WHERE node='a' AND seq=9").fetchone()
    conn.close()
    flipped = h[:10] + ("0" if h[10] != "0" else "1") + h[11:]
    tamper(db, ("UPDATE records SET hash = ? WHERE node = 'a' AND seq = 9", (flipped,)))
    err = open_error(db)
    assert isinstance(err, CorruptLogError)
    assert (err.node, err.seq) == ("a", 9)


def test_a_flipped_byte_in_the_file_is_caught(tmp_path: Path) -> None:
    """Flip one byte of a payload inside the database file itself, below SQLite."""
    db = tmp_path / "s.db"
    build(db)
    data = bytearray(db.read_bytes())
    marker = b'"step":"restore_k3s_db"'
    at = data.find(marker)
    assert at > 0
    data[at + 9] ^= 0x01  # 'r' -> 's': still valid UTF-8 and JSON, wrong bytes
    db.write_bytes(bytes(data))
    err = open_error(db)
    assert isinstance(err, CorruptLogError)
    assert err.seq >= 1


def test_a_record_deleted_in_the_middle_is_a_gap_not_a_torn_tail(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    tamper(db, ("DELETE FROM records WHERE node = 'a' AND seq = 4", ()))
    err = open_error(db)
    assert isinstance(err, CorruptLogError)
    assert (err.node, err.seq) == ("a", 4)


def test_two_records_swapped_are_caught_at_the_first_of_them(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    tamper(
        db,
        ("UPDATE records SET seq = -1 WHERE node = 'a' AND seq = 6", ()),
        ("UPDATE records SET seq = 6 WHERE node = 'a' AND seq = 7", ()),
        ("UPDATE records SET seq = 7 WHERE node = 'a' AND seq = -1", ()),
    )
    err = open_error(db)
    assert isinstance(err, CorruptLogError)
    assert (err.node, err.seq) == ("a", 6)


def test_whole_batches_missing_before_the_last_one_are_corruption(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    bounds = batch_bounds(db, "a")
    first, _last = bounds[-3]
    tamper(db, ("DELETE FROM records WHERE node = 'a' AND seq >= ?", (first,)))
    err = open_error(db)
    assert isinstance(err, CorruptLogError)
    assert (err.node, err.seq) == ("a", first)


def test_records_without_a_commit_marker_are_a_torn_tail(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    first, last = batch_bounds(db, "b")[-1]
    tamper(db, ("DELETE FROM batches WHERE node = 'b' AND last_seq = ?", (last,)))
    err = open_error(db)
    assert isinstance(err, TornTailError)
    assert (err.node, err.seq) == ("b", first)


def test_a_last_batch_missing_its_final_records_is_a_torn_tail(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    first, last = batch_bounds(db, "a")[-1]
    assert last > first  # the last decision wrote several records
    tamper(db, ("DELETE FROM records WHERE node = 'a' AND seq = ?", (last,)))
    err = open_error(db)
    assert isinstance(err, TornTailError)
    assert (err.node, err.seq) == ("a", last)


def test_repairing_a_torn_tail_drops_only_the_torn_batch(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    counts = build(db)
    first, last = batch_bounds(db, "a")[-1]
    tamper(db, ("DELETE FROM records WHERE node = 'a' AND seq = ?", (last,)))
    with SqliteStore.open(str(db), repair_torn_tail=True) as store:
        assert [(e.node, e.seq) for e in store.repairs] == [("a", last)]
        assert store.verify() == {"a": first - 1, "b": counts["b"]}
        log = store.log_for("a")  # and the writer continues from the cut
        assert log.append([inp.Booted(10**12)], 0)[0].seq == first
    with SqliteStore.open(str(db)) as store:
        assert store.verify()["a"] == first


def test_repair_never_touches_corruption_in_the_middle(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    build(db)
    tamper(db, ("UPDATE records SET at = at + 1 WHERE node = 'a' AND seq = 3", ()))
    before = digest(db)
    with pytest.raises(CorruptLogError):
        SqliteStore.open(str(db), repair_torn_tail=True)
    assert digest(db) == before


def test_a_power_loss_mid_commit_loses_only_the_unacknowledged_transaction(
    tmp_path: Path,
) -> None:
    """Cut the WAL inside its last transaction, as a power loss would.

    SQLite checksums WAL frames; an incomplete final transaction is ignored on
    recovery, so the log simply ends at the previous batch, and verifies.
    """
    db = tmp_path / "s.db"
    crash = tmp_path / "crash"
    crash.mkdir()
    store = SqliteStore.open(str(db), config=CONFIG)
    store._conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep every commit in the WAL
    log = store.log_for("a")
    node = Node(CONFIG, "a", log)
    sizes = []
    for _ in drive(node, 20, seed=1):
        sizes.append((len(log), os.path.getsize(str(db) + "-wal")))
    # Snapshot the files as they are on disk right now (the writer is alive).
    shutil.copy(db, crash / "s.db")
    wal = Path(str(db) + "-wal").read_bytes()
    store.close()
    (prev_len, prev_wal), (last_len, last_wal) = sizes[-2], sizes[-1]
    assert last_wal > prev_wal
    cut = prev_wal + (last_wal - prev_wal) // 2  # half of the last transaction's frames
    (crash / "s.db-wal").write_bytes(wal[:cut])
    with SqliteStore.open(str(crash / "s.db")) as recovered:
        assert recovered.verify() == {"a": prev_len}
        assert prev_len < last_len


def test_a_file_that_is_not_sqlite_is_not_a_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, not even close" * 100)
    with pytest.raises(NotAStoreError):
        SqliteStore.open(str(junk))


def test_another_sqlite_database_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = digest(other)
    with pytest.raises(NotAStoreError):
        SqliteStore.open(str(other))
    assert digest(other) == before
