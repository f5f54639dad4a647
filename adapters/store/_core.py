"""What the synchronous and the asyncio store share: schema, checks, locks, errors.

Theory of operation
-------------------
* One SQLite file in WAL mode holds many node logs. ``records`` has exactly
  the fields of :class:`hacore.log.LogRecord`, keyed ``(node, seq)``; the chain
  is computed and verified by :mod:`hacore.log` alone (``make_records``,
  ``record_hash``, ``verify_records``), never re-implemented here.
* Group commit: one ``append`` = one transaction = one row in ``batches``
  (``node, first_seq, last_seq, head_hash``), the commit marker. The append
  returns only after ``COMMIT`` returned, under ``synchronous=FULL`` by
  default: the batch is on disk before the caller may act on it.
* Torn writes. In WAL mode a commit is one WAL frame carrying the commit flag;
  a power loss mid-commit leaves frames whose checksums fail, and SQLite
  ignores them: the whole transaction is simply absent, and the log ends at
  the previous batch (which is correct: that append never returned). What the
  marker catches is the rarer damage below SQLite (a lying disk, a copied or
  half-restored file): records without their marker, or a marker whose
  records stop short. When that is confined to the *last* batch it is a torn
  tail (:class:`TornTailError`); anything else is corruption
  (:class:`CorruptLogError`), reported with the first bad sequence number.
* Single writer per node log: an open-file-description lock (Linux
  ``F_OFD_SETLK``) on byte ``node_id`` of the side file ``<store>-lock``. The
  kernel drops it when the holder dies, however it dies, so a crash never
  leaves a stale lease; and it conflicts between two store objects of the same
  process too (plain POSIX locks would not). As a second line, each append
  checks inside ``BEGIN IMMEDIATE`` that the head is still the one this writer
  wrote last.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sqlite3
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from adapters.store.errors import (
    CorruptLogError,
    NotAStoreError,
    ReadOnlyStoreError,
    StoreBusyError,
    StoreDamagedError,
    StoreError,
    StoreFullError,
    StorePathError,
    StoreWriteError,
    TornTailError,
    WriterBusyError,
)
from hacore import events as ev
from hacore.effects import EFFECT_EVENT_TYPES
from hacore.log import (
    EVENT,
    GENESIS_HASH,
    ChainError,
    LogRecord,
    new_record,
    record_hash,
    verify_records,
)

FORMAT = "hacore-event-store"
SCHEMA_VERSION = "1"
FILE_MODE = 0o600
FULL = "FULL"
NORMAL = "NORMAL"
SYNCHRONOUS_MODES = (FULL, NORMAL)

# Events that change role or epoch, and events that precede an effect (the
# core's own list, ``hacore.effects.EFFECT_EVENT_TYPES``): a batch holding one
# is always committed with FULL, even when the store runs with NORMAL for
# speed, because the node acts (or tells peers) as soon as the append returns.
DURABLE_TYPES: frozenset[str] = (
    frozenset({ev.RoleChanged.TYPE, ev.EpochOpened.TYPE}) | EFFECT_EVENT_TYPES
)

SCHEMA = (
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        node TEXT NOT NULL UNIQUE,
        writer_pid INTEGER NOT NULL DEFAULT 0,
        writer_host TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE records (
        node TEXT NOT NULL,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        type TEXT NOT NULL,
        v INTEGER NOT NULL,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (node, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE batches (
        node TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        PRIMARY KEY (node, last_seq)
    ) WITHOUT ROWID""",
)

RECORD_COLUMNS = "seq, node, epoch, at, kind, type, v, payload, prev_hash, hash"
INSERT_RECORD = f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_BATCH = "INSERT INTO batches (node, last_seq, first_seq, head_hash) VALUES (?, ?, ?, ?)"
SELECT_HEAD = (
    "SELECT last_seq, head_hash FROM batches WHERE node = ? ORDER BY last_seq DESC LIMIT 1"
)
SELECT_RECORDS = f"SELECT {RECORD_COLUMNS} FROM records WHERE node = ? ORDER BY seq"
SELECT_RECORDS_PAGE = (
    f"SELECT {RECORD_COLUMNS} FROM records WHERE node = ? AND seq >= ? ORDER BY seq LIMIT ?"
)
SELECT_BATCHES = (
    "SELECT first_seq, last_seq, head_hash FROM batches WHERE node = ? ORDER BY last_seq"
)
SELECT_LAST_BATCH = (
    "SELECT first_seq, last_seq, head_hash FROM batches WHERE node = ? "
    "ORDER BY last_seq DESC LIMIT 1"
)
SELECT_NODES = "SELECT node FROM records UNION SELECT node FROM batches ORDER BY 1"
SELECT_EVENTS = (
    "SELECT type, v, payload FROM records WHERE node = ? AND kind = 'event' ORDER BY seq"
)
PAGE = 2000

Head = tuple[int, str]  # (last committed seq, its hash)
EMPTY_HEAD: Head = (0, GENESIS_HASH)


def record_rows(records: Sequence[LogRecord]) -> list[tuple[Any, ...]]:
    return [
        (r.seq, r.node, r.epoch, r.at, r.kind, r.type, r.v, r.payload, r.prev_hash, r.hash)
        for r in records
    ]


def batch_row(node: str, records: Sequence[LogRecord]) -> tuple[str, int, int, str]:
    return (node, records[-1].seq, records[0].seq, records[-1].hash)


def needs_full_sync(records: Sequence[LogRecord]) -> bool:
    """Must this batch commit with ``synchronous=FULL`` even in NORMAL mode?"""
    return any(r.kind == EVENT and r.type in DURABLE_TYPES for r in records)


# -- rows as stored ------------------------------------------------------------

# SQLite's column types are affinities, not constraints: a damaged or edited
# file can hold text in ``seq`` or a blob in ``payload``. Rows are checked
# before they become records, so such a file is a CorruptLogError naming the
# record, not a TypeError somewhere downstream.
_RECORD_TYPES = (int, str, int, int, str, str, int, str, str, str)  # RECORD_COLUMNS order
_RECORD_NAMES = tuple(RECORD_COLUMNS.split(", "))


def records_from_rows(node: str, rows: Sequence[Sequence[Any]]) -> list[LogRecord]:
    out = []
    for row in rows:
        for value, kind, name in zip(row, _RECORD_TYPES, _RECORD_NAMES, strict=True):
            if type(value) is not kind:
                seq = row[0] if type(row[0]) is int else 0
                raise CorruptLogError(
                    node, seq, f"column {name} holds {type(value).__name__}, not {kind.__name__}"
                )
        out.append(new_record(*row))
    return out


def batches_from_rows(node: str, rows: Sequence[Sequence[Any]]) -> list[tuple[int, int, str]]:
    out = []
    for row in rows:
        first, last, head = row
        if type(first) is not int or type(last) is not int or type(head) is not str:
            raise CorruptLogError(node, 1, f"a commit marker holds wrong types: {row!r}"[:200])
        out.append((first, last, head))
    return out


def checked_nodes(rows: Sequence[Sequence[Any]], path: str) -> list[str]:
    names = [row[0] for row in rows]
    for name in names:
        if type(name) is not str:
            raise StoreDamagedError(f"{path}: a node name is {type(name).__name__}, not text")
    return names


def is_empty_database(conn: sqlite3.Connection) -> bool:
    """No table, index or anything: a store whose creation never committed.

    Creating a store is ``PRAGMA journal_mode=WAL`` then one transaction with
    the schema; a crash between the two leaves a valid SQLite file with
    nothing in it, which opening for writing simply initializes.
    """
    return int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]) == 0


# -- verification --------------------------------------------------------------


def check_node_log(
    node: str, records: Iterable[LogRecord], batches: Iterable[tuple[int, int, str]]
) -> Head:
    """Verify one node's records against the chain and the commit markers.

    Returns the verified head. Raises :class:`CorruptLogError` (anything in the
    middle) or :class:`TornTailError` (only the last batch is incomplete).

    One pass over both, in seq order, holding neither (``hacore log verify``
    of a store of millions of records runs in constant memory): a bad record
    is reported as soon as it is met; the markers' problems are kept and
    reported once every record verified, in the order the checks were always
    made (marker sequence, then missing or unmarked records, then a marker
    whose head differs from its record's hash).
    """
    marks = iter(batches)
    pending = next(marks, None)  # the next marker, by last seq
    last_mark: tuple[int, int, str] | None = None
    expected_first = 1
    broken: tuple[int, str] | None = None  # the first marker out of sequence
    mismatch = 0  # the first marker whose head is not its record's hash

    def markers_up_to(seq: int, record_hash: str | None) -> None:
        nonlocal pending, last_mark, expected_first, broken, mismatch
        while pending is not None and (record_hash is None or pending[1] <= seq):
            first, last, head = pending
            if broken is None and (first != expected_first or last < first):
                broken = (expected_first, f"commit markers broken (batch {first}..{last})")
            expected_first = last + 1
            if last == seq and record_hash is not None and head != record_hash and not mismatch:
                mismatch = seq
            last_mark, pending = pending, next(marks, None)

    head = GENESIS_HASH

    def checked() -> Iterator[LogRecord]:
        # verify_records asks for the next record only once it has checked this
        # one: the code after ``yield`` sees records whose chain verified.
        nonlocal head
        for r in records:
            if r.node != node:
                raise CorruptLogError(node, r.seq, f"record belongs to node {r.node!r}")
            yield r
            head = r.hash
            markers_up_to(r.seq, r.hash)

    try:
        count = verify_records(node, checked())
    except ChainError as exc:
        if isinstance(exc, CorruptLogError):
            raise
        raise CorruptLogError(node, exc.seq, exc.reason) from None
    markers_up_to(count, None)  # markers past the last record
    if broken is not None:
        raise CorruptLogError(node, *broken)
    marked = last_mark[1] if last_mark else 0
    last_first = last_mark[0] if last_mark else 1
    if count > marked:
        raise TornTailError(
            node,
            marked + 1,
            f"records {marked + 1}..{count} have no commit marker (a write that never completed)",
        )
    if count < marked:
        if count >= last_first - 1:
            raise TornTailError(
                node,
                count + 1,
                f"last batch {last_first}..{marked} is incomplete: "
                f"records {count + 1}..{marked} are missing",
            )
        raise CorruptLogError(
            node, count + 1, f"records {count + 1}..{marked} are missing (log truncated)"
        )
    if mismatch:
        raise CorruptLogError(node, mismatch, "commit marker does not match the record's hash")
    return (count, head) if count else EMPTY_HEAD


def torn_cut(node: str, records_count: int, batches: Sequence[tuple[int, int, str]]) -> int:
    """The seq from which a torn tail is dropped (everything >= it goes)."""
    marked = batches[-1][1] if batches else 0
    if records_count > marked:
        return marked + 1
    return batches[-1][0]


def verify_continuation(node: str, head: Head, records: Sequence[LogRecord]) -> None:
    """Check that ``records`` extend a chain whose head is ``head``."""
    if head == EMPTY_HEAD:
        verify_records(node, records)
        return
    seq, prev = head
    for r in records:
        seq += 1
        if r.seq != seq:
            raise ChainError(node, seq, f"sequence gap or reorder (found {r.seq})")
        if r.node != node:
            raise ChainError(node, r.seq, f"record belongs to node {r.node!r}")
        if r.prev_hash != prev:
            raise ChainError(node, r.seq, "previous-hash link broken")
        digest = record_hash(
            r.prev_hash, r.seq, r.node, r.epoch, r.at, r.kind, r.type, r.v, r.payload
        )
        if digest != r.hash:
            raise ChainError(node, r.seq, "hash mismatch")
        prev = r.hash


# -- errors --------------------------------------------------------------------


# What reading a damaged file can raise: SQLite's errors, and the sqlite3
# module's own UnicodeDecodeError for a schema or message text that is not UTF-8.
SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def map_sqlite_error(exc: sqlite3.Error | UnicodeDecodeError, path: str, doing: str) -> StoreError:
    """Translate an sqlite3 error into the store's typed errors."""
    where = f"{path}: {doing}"
    if isinstance(exc, UnicodeDecodeError):
        return StoreDamagedError(f"{where}: the file holds text that is not UTF-8")
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == 13:  # SQLITE_FULL
        return StoreFullError(f"{where}: disk or page quota full; nothing was written ({exc})")
    if code == 26:  # SQLITE_NOTADB
        return NotAStoreError(f"{path}: not an SQLite database")
    if code == 11:  # SQLITE_CORRUPT
        return StoreDamagedError(f"{where}: SQLite reports the file damaged ({exc})")
    if "Could not decode to UTF-8" in str(exc):  # the sqlite3 module's, no SQLite code
        return StoreDamagedError(f"{where}: a TEXT column holds bytes that are not UTF-8")
    if code == 5 or code == 6:  # SQLITE_BUSY, SQLITE_LOCKED
        return StoreBusyError(f"{where}: database stayed locked ({exc})")
    if code == 8:  # SQLITE_READONLY
        return StoreWriteError(f"{where}: file is read-only; nothing was written ({exc})")
    if code == 14:  # SQLITE_CANTOPEN
        return StorePathError(f"{where}: cannot open ({exc})")
    if code == 10:  # SQLITE_IOERR
        return StoreWriteError(f"{where}: I/O error; nothing was written ({exc})")
    return StoreError(f"{where}: {exc}")


def map_os_error(exc: OSError, path: str) -> StoreError:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return StoreFullError(f"{path}: disk full ({exc.strerror})")
    if exc.errno == errno.EISDIR:
        return StorePathError(f"{path}: is a directory")
    if exc.errno == errno.ENOENT:
        return StorePathError(f"{path}: no such file or parent directory")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorePathError(f"{path}: not writable ({exc.strerror})")
    return StorePathError(f"{path}: {exc.strerror or exc}")


# -- files ---------------------------------------------------------------------


def prepare_path(path: str, *, create: bool, readonly: bool) -> bool:
    """Check ``path`` and create the file (mode 0600) if asked; True if created."""
    if os.path.isdir(path):
        raise StorePathError(f"{path}: is a directory")
    if os.path.exists(path):
        if not readonly:
            # SQLite would silently fall back to read-only; say so now instead of
            # failing at the first append.
            try:
                os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
            except OSError as exc:
                raise map_os_error(exc, path) from None
        return False
    if readonly or not create:
        raise StorePathError(f"{path}: no such store")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return False  # lost a race with another creator: open what it made
    except OSError as exc:
        raise map_os_error(exc, path) from None
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask said
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def writer_identity() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


class WriterLock:
    """Per-node writer locks: OFD byte-range locks on ``<store>-lock``."""

    def __init__(self, store_path: str) -> None:
        self.path = store_path + "-lock"
        self._fd: int | None = None
        self._held: set[int] = set()

    def _file(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            except OSError as exc:
                raise map_os_error(exc, self.path) from None
        return self._fd

    def _fcntl(self, lock_type: int, node_id: int) -> None:
        # struct flock: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
        arg = struct.pack("hhqqi4x", lock_type, os.SEEK_SET, node_id, 1, 0)
        fcntl.fcntl(self._file(), fcntl.F_OFD_SETLK, arg)

    def acquire(self, node: str, node_id: int, last_holder: str) -> None:
        if node_id in self._held:
            return
        try:
            self._fcntl(fcntl.F_WRLCK, node_id)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise WriterBusyError(node, last_holder) from None
            raise map_os_error(exc, self.path) from None
        self._held.add(node_id)

    def release(self, node_id: int) -> None:
        if node_id in self._held and self._fd is not None:
            self._fcntl(fcntl.F_UNLCK, node_id)
            self._held.discard(node_id)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # drops every lock of this description
            self._fd = None
        self._held.clear()


def require_writable(readonly: bool, path: str) -> None:
    if readonly:
        raise ReadOnlyStoreError(f"{path}: store opened read-only")
