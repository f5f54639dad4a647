"""The synchronous store (stdlib ``sqlite3``): tools, the simulator, ``Node``.

``SqliteStore.open(path)`` checks (or creates) the file and verifies every
node log; ``store.log_for(node)`` takes the node's writer lock and returns a
:class:`SqliteLog`, which implements :class:`hacore.log.EventLog`, so
``hacore.node.Node(config, name, log=store.log_for(name))`` persists through
it. ``store.write_run(logs)`` writes the logs of a finished simulation in one
transaction. See :mod:`adapters.store._core` for the theory of operation.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

from adapters.store import _core as core
from adapters.store.config_json import config_from_json, config_to_json
from adapters.store.errors import (
    ConcurrentWriteError,
    CorruptLogError,
    NotAStoreError,
    StoreError,
    TornTailError,
)
from adapters.store.upcast import DEFAULT_UPCASTERS, UpcasterRegistry
from hacore import codec
from hacore import events as ev
from hacore.config import ClusterConfig
from hacore.evolve import evolve
from hacore.log import ChainError, LogRecord, make_records
from hacore.state import NodeState


class ConfigMismatchError(StoreError):
    """The store already holds a different cluster configuration."""


class SqliteStore:
    """Many node logs in one SQLite file. Not thread-safe: one thread per store."""

    def __init__(
        self,
        path: str,
        conn: sqlite3.Connection,
        *,
        readonly: bool,
        synchronous: str,
        upcasters: UpcasterRegistry,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self.synchronous = synchronous
        self.upcasters = upcasters
        self._conn = conn
        self._lock = core.WriterLock(path)
        self._logs: dict[str, SqliteLog] = {}
        self._verified: dict[str, core.Head] = {}
        self.repairs: list[TornTailError] = []  # torn tails dropped by repair_torn_tail

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str,
        *,
        create: bool = True,
        readonly: bool = False,
        config: ClusterConfig | None = None,
        synchronous: str = core.FULL,
        verify: bool = True,
        repair_torn_tail: bool = False,
        max_page_count: int | None = None,
        busy_timeout_s: float = 5.0,
        upcasters: UpcasterRegistry = DEFAULT_UPCASTERS,
    ) -> SqliteStore:
        """Open (or create, mode 0600) the store at ``path`` and verify it.

        ``synchronous``: ``"FULL"`` (default; every append is on disk when it
        returns) or ``"NORMAL"`` (benchmarks, simulator output: a power loss may
        drop the last appends, but a batch that changes role or epoch or
        precedes an effect still commits FULL: ``_core.needs_full_sync``).
        ``max_page_count`` caps the file (SQLite's quota; tests use it to
        simulate a full disk). Raises :class:`StorePathError`,
        :class:`NotAStoreError`, :class:`CorruptLogError`, :class:`TornTailError`.
        """
        if synchronous not in core.SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {core.SYNCHRONOUS_MODES}")
        created = core.prepare_path(path, create=create, readonly=readonly)
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"file:{quote(path)}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    timeout=busy_timeout_s,
                )
            else:
                conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_s)
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, path, "open") from None
        store = cls(path, conn, readonly=readonly, synchronous=synchronous, upcasters=upcasters)
        try:
            store._setup(created, config, max_page_count)
            if verify:
                store._verify_on_open(repair_torn_tail)
        except BaseException:
            store.close()
            raise
        return store

    def _setup(self, created: bool, config: ClusterConfig | None, max_pages: int | None) -> None:
        conn = self._conn
        try:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            fresh = (
                not tables
                and not self.readonly
                and (created or self._empty_file() or core.is_empty_database(conn))
            )
            if not fresh and "meta" not in tables:  # before any PRAGMA that could write
                raise NotAStoreError(f"{self.path}: not a hacore event store (no meta table)")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
                if max_pages is not None:
                    conn.execute(f"PRAGMA max_page_count = {int(max_pages)}")
            if fresh:
                conn.execute("BEGIN IMMEDIATE")
                for statement in core.SCHEMA:
                    conn.execute(statement)
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("format", core.FORMAT), ("schema", core.SCHEMA_VERSION)],
                )
                if config is not None:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('config', ?)",
                        (config_to_json(config),),
                    )
                conn.execute("COMMIT")
                return
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except core.SQLITE_ERRORS as exc:
            self._rollback()
            raise core.map_sqlite_error(exc, self.path, "open") from None
        if meta.get("format") != core.FORMAT:
            raise NotAStoreError(f"{self.path}: not a hacore event store")
        if meta.get("schema") != core.SCHEMA_VERSION:
            raise NotAStoreError(
                f"{self.path}: store schema {meta.get('schema')!r} is not supported "
                f"(this version reads {core.SCHEMA_VERSION})"
            )
        if config is not None:
            stored = meta.get("config")
            if stored is None:
                self.set_config(config)
            elif stored != config_to_json(config):
                raise ConfigMismatchError(
                    f"{self.path}: holds a different cluster configuration; "
                    "use set_config() to replace it deliberately"
                )

    def _empty_file(self) -> bool:
        return os.path.getsize(self.path) == 0

    def _verify_on_open(self, repair: bool) -> None:
        torn: list[tuple[TornTailError, int]] = []
        self._read_begin()
        try:
            for node in self.nodes():
                records, batches = self._stream(node)
                try:
                    self._verified[node] = core.check_node_log(node, records, batches)
                except TornTailError as exc:
                    if not repair:
                        raise
                    torn.append((exc, self._torn_cut(node)))
        finally:
            self._read_end()
        if torn:
            core.require_writable(self.readonly, self.path)
            self._exec_write(self._drop_tails, torn)
            self.repairs.extend(error for error, _ in torn)
            for dropped, _ in torn:
                self._read_begin()
                try:
                    records, batches = self._stream(dropped.node)
                    head = core.check_node_log(dropped.node, records, batches)
                finally:
                    self._read_end()
                self._verified[dropped.node] = head

    def _drop_tails(self, torn: list[tuple[TornTailError, int]]) -> None:
        for exc, cut in torn:
            self._conn.execute("DELETE FROM records WHERE node = ? AND seq >= ?", (exc.node, cut))
            self._conn.execute(
                "DELETE FROM batches WHERE node = ? AND last_seq >= ?", (exc.node, cut)
            )

    def _stream(self, node: str) -> tuple[Iterator[LogRecord], Iterator[tuple[int, int, str]]]:
        """The node's records and commit markers, in seq order, read page by page
        (inside the caller's read snapshot): a check holds neither in memory."""

        def pages(sql: str) -> Iterator[list[Any]]:
            try:
                cursor = self._conn.execute(sql, (node,))
                while rows := cursor.fetchmany(core.PAGE):
                    yield rows
            except core.SQLITE_ERRORS as exc:
                raise core.map_sqlite_error(exc, self.path, f"read node {node}") from None

        def records() -> Iterator[LogRecord]:
            for rows in pages(core.SELECT_RECORDS):
                yield from core.records_from_rows(node, rows)

        def batches() -> Iterator[tuple[int, int, str]]:
            for rows in pages(core.SELECT_BATCHES):
                yield from core.batches_from_rows(node, rows)

        return records(), batches()

    def _torn_cut(self, node: str) -> int:
        """:func:`core.torn_cut` from the record count and the last marker."""
        try:
            (count,) = self._conn.execute(
                "SELECT count(*) FROM records WHERE node = ?", (node,)
            ).fetchone()
            last = self._conn.execute(core.SELECT_LAST_BATCH, (node,)).fetchone()
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, f"read node {node}") from None
        return core.torn_cut(node, int(count), core.batches_from_rows(node, [last] if last else []))

    def _read_begin(self) -> None:
        try:
            self._conn.execute("BEGIN")  # one snapshot for a multi-statement read
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "read") from None

    def _read_end(self) -> None:
        """End a read snapshot. Nothing was written, so a failing COMMIT (a damaged
        file) is rolled back quietly: it must not hide the error being raised."""
        try:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
        except sqlite3.Error:
            self._rollback()

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _exec_write(self, fn: Any, *args: Any, doing: str = "write") -> Any:
        """Run ``fn`` in one IMMEDIATE transaction; roll back whole on any error."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = fn(*args)
            conn.execute("COMMIT")
            return result
        except core.SQLITE_ERRORS as exc:
            self._rollback()
            raise core.map_sqlite_error(exc, self.path, doing) from None
        except BaseException:
            self._rollback()
            raise

    # -- reading ---------------------------------------------------------------

    def nodes(self) -> list[str]:
        try:
            rows = self._conn.execute(core.SELECT_NODES).fetchall()
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "list nodes") from None
        return core.checked_nodes(rows, self.path)

    def integrity_problems(self, limit: int = 5) -> list[str]:
        """SQLite's own ``PRAGMA integrity_check``: [] when the b-trees are sound.

        The hash chain vouches for the records a node's queries return; a
        damaged b-tree can make a keyed lookup and a full scan disagree, so
        ``hacore log verify`` asks SQLite as well.
        """
        try:
            rows = self._conn.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "integrity check") from None
        problems = [str(row[0]) for row in rows]
        return [] if problems == ["ok"] else problems

    def meta_keys(self) -> set[object]:
        """The keys of the ``meta`` table as stored (any type, for ``hacore log verify``)."""
        try:
            return {row[0] for row in self._conn.execute("SELECT key FROM meta")}
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "read meta") from None

    @property
    def config(self) -> ClusterConfig | None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "read config") from None
        return None if row is None else config_from_json(row[0])

    def set_config(self, config: ClusterConfig) -> None:
        core.require_writable(self.readonly, self.path)
        self._exec_write(
            self._conn.execute,
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('config', ?)",
            (config_to_json(config),),
        )

    def records(self, node: str, since: int = 1) -> Iterator[LogRecord]:
        """The node's records from ``since`` on, as stored (read page by page)."""
        seq = max(since, 1)
        while True:
            try:
                cursor = self._conn.execute(core.SELECT_RECORDS_PAGE, (node, seq, core.PAGE))
                rows = cursor.fetchall()
            except core.SQLITE_ERRORS as exc:
                raise core.map_sqlite_error(exc, self.path, f"read node {node}") from None
            yield from core.records_from_rows(node, rows)
            if len(rows) < core.PAGE:
                return
            seq = rows[-1][0] + 1

    def verify_node(self, node: str) -> int:
        """Verify one node's log now; return its record count."""
        self._read_begin()
        try:
            records, batches = self._stream(node)
            head = core.check_node_log(node, records, batches)
        finally:
            self._read_end()
        self._verified[node] = head
        return head[0]

    def verify(self) -> dict[str, int]:
        """Verify every node log; raise the first error."""
        return {node: self.verify_node(node) for node in self.nodes()}

    def check(self) -> dict[str, int | ChainError]:
        """Verify every node log; report each node's count or its error."""
        out: dict[str, int | ChainError] = {}
        for node in self.nodes():
            try:
                out[node] = self.verify_node(node)
            except ChainError as exc:
                out[node] = exc
        return out

    def messages(self, node: str, since: int = 1) -> Iterator[codec.Message]:
        """Decoded records (upcast to the current versions)."""
        decode = self.upcasters.decode
        for r in self.records(node, since):
            yield decode(r.type, r.v, r.payload)

    def upcast_records(self, node: str, since: int = 1) -> Iterator[LogRecord]:
        """Records with payloads upcast, for ``hacore.log.replay_records``/``redecide``."""
        upcast = self.upcasters.upcast_record
        for r in self.records(node, since):
            yield upcast(r)

    def replay(self, node: str) -> NodeState:
        """Fold ``evolve`` over the node's events, straight from the file.

        The hot loop of ``hacore log replay`` and of a node's recovery: a record
        at its type's current version is parsed and decoded directly (one dict
        lookup decides), anything older goes through the upcaster registry.
        """
        current = {name: cls.VERSION for name, cls in codec.registered_types().items()}
        decode_payload = codec.decode_payload
        parse = codec.parse_json
        slow = self.upcasters.decode
        state = NodeState(name=node)
        try:
            cursor = self._conn.execute(core.SELECT_EVENTS, (node,))
            while rows := cursor.fetchmany(4096):
                for type_name, v, payload in rows:
                    if current.get(type_name) == v:
                        message = decode_payload(type_name, v, parse(payload))
                    else:
                        message = slow(type_name, v, payload)
                    assert isinstance(message, ev.Event)
                    state = evolve(state, message)
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, f"replay node {node}") from None
        return state

    # -- writing ---------------------------------------------------------------

    def _node_id(self, node: str) -> tuple[int, str]:
        def register() -> tuple[int, str]:
            self._conn.execute("INSERT OR IGNORE INTO nodes (node) VALUES (?)", (node,))
            row = self._conn.execute(
                "SELECT id, writer_pid, writer_host FROM nodes WHERE node = ?", (node,)
            ).fetchone()
            return int(row[0]), f"last holder pid {row[1]} on {row[2] or '?'}"

        result: tuple[int, str] = self._exec_write(register, doing=f"register node {node}")
        return result

    def _claim(self, node: str) -> int:
        core.require_writable(self.readonly, self.path)
        node_id, holder = self._node_id(node)
        self._lock.acquire(node, node_id, holder)
        pid, host = core.writer_identity()
        try:
            self._exec_write(
                self._conn.execute,
                "UPDATE nodes SET writer_pid = ?, writer_host = ? WHERE id = ?",
                (pid, host, node_id),
            )
        except BaseException:
            self._lock.release(node_id)
            raise
        return node_id

    def _head(self, node: str) -> core.Head:
        row = self._conn.execute(core.SELECT_HEAD, (node,)).fetchone()
        return core.EMPTY_HEAD if row is None else (int(row[0]), str(row[1]))

    def log_for(self, node: str) -> SqliteLog:
        """The node's log, with this store object as its only writer."""
        log = self._logs.get(node)
        if log is not None:
            return log
        node_id = self._claim(node)
        try:
            try:
                head = self._head(node)
            except core.SQLITE_ERRORS as exc:
                raise core.map_sqlite_error(exc, self.path, f"read node {node}") from None
            if self._verified.get(node) != head:
                self.verify_node(node)
                head = self._verified[node]
        except BaseException:
            self._lock.release(node_id)
            raise
        log = SqliteLog(self, node, node_id, head)
        self._logs[node] = log
        return log

    def _write_batch(self, node: str, expected: core.Head, records: Sequence[LogRecord]) -> None:
        conn = self._conn
        full_now = self.synchronous == core.NORMAL and core.needs_full_sync(records)

        def write() -> None:
            head = self._head(node)
            if head != expected:
                raise ConcurrentWriteError(node, expected[0], head[0])
            conn.executemany(core.INSERT_RECORD, core.record_rows(records))
            conn.execute(core.INSERT_BATCH, core.batch_row(node, records))

        if full_now:
            conn.execute("PRAGMA synchronous = FULL")
        try:
            self._exec_write(write, doing=f"append to node {node}")
        finally:
            if full_now:
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    def write_run(self, logs: Mapping[str, Iterable[LogRecord]]) -> dict[str, int]:
        """Bulk-write finished logs (e.g. a simulation's) in one transaction.

        Each node's records must continue its log in the store (a new store:
        start at seq 1) and verify; one commit marker per node. Returns the
        number of records written per node.
        """
        core.require_writable(self.readonly, self.path)
        batches = {node: list(records) for node, records in sorted(logs.items())}
        claimed: list[int] = []
        try:
            for node in batches:
                if node not in self._logs:
                    claimed.append(self._claim(node))

            def write() -> dict[str, int]:
                counts: dict[str, int] = {}
                for node, records in batches.items():
                    counts[node] = len(records)
                    if not records:
                        continue
                    head = self._head(node)
                    try:
                        core.verify_continuation(node, head, records)
                    except ChainError as exc:
                        raise CorruptLogError(node, exc.seq, f"bulk write: {exc.reason}") from None
                    self._conn.executemany(core.INSERT_RECORD, core.record_rows(records))
                    self._conn.execute(core.INSERT_BATCH, core.batch_row(node, records))
                return counts

            counts: dict[str, int] = self._exec_write(write, doing="bulk write")
        finally:
            for node_id in claimed:
                self._lock.release(node_id)
        for node, records in batches.items():
            if records:
                head = (records[-1].seq, records[-1].hash)
                self._verified[node] = head
                if node in self._logs:
                    self._logs[node]._head = head
        return counts

    # -- closing ---------------------------------------------------------------

    def close(self) -> None:
        self._logs.clear()
        self._lock.close()
        try:
            self._rollback()
            self._conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SqliteLog:
    """One node's log in a :class:`SqliteStore`; implements ``hacore.log.EventLog``."""

    def __init__(self, store: SqliteStore, node: str, node_id: int, head: core.Head) -> None:
        self.node = node
        self._store = store
        self._node_id = node_id
        self._head = head

    def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]:
        """Chain and commit ``entries`` as one batch; return after the commit."""
        if not entries:
            return []
        if self._store._logs.get(self.node) is not self:
            raise StoreError(f"node {self.node}: this log was closed")
        seq, head_hash = self._head
        records = make_records(self.node, seq + 1, head_hash, epoch, entries)
        self._store._write_batch(self.node, self._head, records)
        self._head = (records[-1].seq, records[-1].hash)
        self._store._verified[self.node] = self._head
        return records

    def records(self, since: int = 1) -> Iterator[LogRecord]:
        return self._store.records(self.node, since)

    def verify(self) -> int:
        return self._store.verify_node(self.node)

    def replay(self) -> NodeState:
        return self._store.replay(self.node)

    def __len__(self) -> int:
        return self._head[0]

    @property
    def head_hash(self) -> str:
        return self._head[1]

    def close(self) -> None:
        """Give up the writer lock (the store stays open)."""
        if self._store._logs.get(self.node) is self:
            del self._store._logs[self.node]
            self._store._lock.release(self._node_id)
