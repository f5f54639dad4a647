"""The asyncio store on aiosqlite, for the agent.

Same file format, checks and locks as :class:`adapters.store.SqliteStore`
(shared in :mod:`adapters.store._core`); the difference is only that SQLite
runs on aiosqlite's thread, so the event loop never blocks on an fsync.
``await log.append(entries, epoch)`` returns after the batch committed (with
``synchronous=FULL``): only then may the agent run the decision's effects.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiosqlite

from adapters.store import _core as core
from adapters.store.config_json import config_from_json, config_to_json
from adapters.store.errors import ConcurrentWriteError, NotAStoreError, StoreError
from adapters.store.upcast import DEFAULT_UPCASTERS, UpcasterRegistry
from hacore import codec
from hacore.config import ClusterConfig
from hacore.log import LogRecord, make_records


class AsyncSqliteStore:
    def __init__(
        self,
        path: str,
        conn: aiosqlite.Connection,
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
        self._tx = asyncio.Lock()  # one transaction at a time on the shared connection
        self._lock = core.WriterLock(path)
        self._logs: dict[str, AsyncSqliteLog] = {}

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        create: bool = True,
        readonly: bool = False,
        config: ClusterConfig | None = None,
        synchronous: str = core.FULL,
        verify: bool = True,
        max_page_count: int | None = None,
        busy_timeout_s: float = 5.0,
        upcasters: UpcasterRegistry = DEFAULT_UPCASTERS,
    ) -> AsyncSqliteStore:
        """Open (or create, mode 0600) and verify; see ``SqliteStore.open``.

        A torn tail raises :class:`TornTailError`; repair it with the
        synchronous store (``SqliteStore.open(path, repair_torn_tail=True)``),
        an operator decision, not something the agent does on its own.
        """
        if synchronous not in core.SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {core.SYNCHRONOUS_MODES}")
        created = await asyncio.to_thread(core.prepare_path, path, create=create, readonly=readonly)
        try:
            if readonly:
                conn = await aiosqlite.connect(
                    f"file:{quote(path)}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    timeout=busy_timeout_s,
                )
            else:
                conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_s)
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, path, "open") from None
        store = cls(path, conn, readonly=readonly, synchronous=synchronous, upcasters=upcasters)
        try:
            await store._setup(created, config, max_page_count)
            if verify:
                await store.verify()
        except BaseException:
            await store.close()
            raise
        return store

    async def _setup(
        self, created: bool, config: ClusterConfig | None, max_pages: int | None
    ) -> None:
        conn = self._conn
        try:
            rows = await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
            tables = {row[0] for row in rows}
            empty = (
                created
                or os.path.getsize(self.path) == 0
                or await conn.execute_fetchall("SELECT 1 FROM sqlite_master LIMIT 1") == []
            )
            fresh = not tables and not self.readonly and empty
            if not fresh and "meta" not in tables:  # before any PRAGMA that could write
                raise NotAStoreError(f"{self.path}: not a hacore event store (no meta table)")
            if not self.readonly:
                await conn.execute("PRAGMA journal_mode = WAL")
                await conn.execute(f"PRAGMA synchronous = {self.synchronous}")
                if max_pages is not None:
                    await conn.execute(f"PRAGMA max_page_count = {int(max_pages)}")
            if fresh:

                async def init() -> None:
                    for statement in core.SCHEMA:
                        await conn.execute(statement)
                    await conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [("format", core.FORMAT), ("schema", core.SCHEMA_VERSION)],
                    )
                    if config is not None:
                        await conn.execute(
                            "INSERT INTO meta (key, value) VALUES ('config', ?)",
                            (config_to_json(config),),
                        )

                await self._write(init, "create")
                return
            meta = {str(k): str(v) for k, v in await conn.execute_fetchall("SELECT * FROM meta")}
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "open") from None
        if meta.get("format") != core.FORMAT or meta.get("schema") != core.SCHEMA_VERSION:
            raise NotAStoreError(f"{self.path}: not a hacore event store of schema 1")
        if config is not None:
            if meta.get("config") is None:
                await self._write(
                    lambda: conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('config', ?)",
                        (config_to_json(config),),
                    ),
                    "store config",
                )
            elif meta["config"] != config_to_json(config):
                from adapters.store.sqlite import ConfigMismatchError

                raise ConfigMismatchError(f"{self.path}: holds a different cluster configuration")

    async def _write(self, fn: Any, doing: str) -> Any:
        """Run coroutine function ``fn`` in one IMMEDIATE transaction."""
        conn = self._conn
        async with self._tx:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                result = await fn()
                await conn.execute("COMMIT")
                return result
            except core.SQLITE_ERRORS as exc:
                await self._rollback()
                raise core.map_sqlite_error(exc, self.path, doing) from None
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                await self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    # -- reading ----------------------------------------------------------------

    async def nodes(self) -> list[str]:
        try:
            rows = await self._conn.execute_fetchall(core.SELECT_NODES)
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, "list nodes") from None
        return core.checked_nodes(list(rows), self.path)

    async def config(self) -> ClusterConfig | None:
        rows = list(
            await self._conn.execute_fetchall("SELECT value FROM meta WHERE key = 'config'")
        )
        return None if not rows else config_from_json(rows[0][0])

    async def _load(self, node: str) -> tuple[list[LogRecord], list[tuple[int, int, str]]]:
        async with self._tx:  # one snapshot for both reads
            try:
                await self._conn.execute("BEGIN")
                rows = await self._conn.execute_fetchall(core.SELECT_RECORDS, (node,))
                marks = await self._conn.execute_fetchall(core.SELECT_BATCHES, (node,))
                await self._conn.execute("COMMIT")
            except core.SQLITE_ERRORS as exc:
                await self._rollback()
                raise core.map_sqlite_error(exc, self.path, f"read node {node}") from None
        return core.records_from_rows(node, list(rows)), core.batches_from_rows(node, list(marks))

    async def records(self, node: str, since: int = 1) -> list[LogRecord]:
        try:
            rows = await self._conn.execute_fetchall(
                core.SELECT_RECORDS_PAGE, (node, max(since, 1), -1)
            )
        except core.SQLITE_ERRORS as exc:
            raise core.map_sqlite_error(exc, self.path, f"read node {node}") from None
        return core.records_from_rows(node, list(rows))

    async def messages(self, node: str, since: int = 1) -> list[codec.Message]:
        decode = self.upcasters.decode
        return [decode(r.type, r.v, r.payload) for r in await self.records(node, since)]

    async def verify_node(self, node: str) -> core.Head:
        records, batches = await self._load(node)
        return core.check_node_log(node, records, batches)

    async def verify(self) -> dict[str, int]:
        return {node: (await self.verify_node(node))[0] for node in await self.nodes()}

    # -- writing ------------------------------------------------------------------

    async def log_for(self, node: str) -> AsyncSqliteLog:
        log = self._logs.get(node)
        if log is not None:
            return log
        core.require_writable(self.readonly, self.path)
        conn = self._conn

        async def register() -> tuple[int, str]:
            await conn.execute("INSERT OR IGNORE INTO nodes (node) VALUES (?)", (node,))
            rows = list(
                await conn.execute_fetchall(
                    "SELECT id, writer_pid, writer_host FROM nodes WHERE node = ?", (node,)
                )
            )
            return int(rows[0][0]), f"last holder pid {rows[0][1]} on {rows[0][2] or '?'}"

        node_id, holder = await self._write(register, f"register node {node}")
        self._lock.acquire(node, node_id, holder)
        try:
            pid, host = core.writer_identity()
            await self._write(
                lambda: conn.execute(
                    "UPDATE nodes SET writer_pid = ?, writer_host = ? WHERE id = ?",
                    (pid, host, node_id),
                ),
                f"claim node {node}",
            )
            head = await self.verify_node(node)
        except BaseException:
            self._lock.release(node_id)
            raise
        log = AsyncSqliteLog(self, node, node_id, head)
        self._logs[node] = log
        return log

    async def _write_batch(
        self, node: str, expected: core.Head, records: Sequence[LogRecord]
    ) -> None:
        conn = self._conn
        full_now = self.synchronous == core.NORMAL and core.needs_full_sync(records)

        async def write() -> None:
            rows = list(await conn.execute_fetchall(core.SELECT_HEAD, (node,)))
            head = core.EMPTY_HEAD if not rows else (int(rows[0][0]), str(rows[0][1]))
            if head != expected:
                raise ConcurrentWriteError(node, expected[0], head[0])
            await conn.executemany(core.INSERT_RECORD, core.record_rows(records))
            await conn.execute(core.INSERT_BATCH, core.batch_row(node, records))

        if full_now:
            await conn.execute("PRAGMA synchronous = FULL")
        try:
            await self._write(write, f"append to node {node}")
        finally:
            if full_now:
                await conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    async def close(self) -> None:
        self._logs.clear()
        self._lock.close()
        try:
            await self._conn.close()
        except sqlite3.Error:
            pass

    async def __aenter__(self) -> AsyncSqliteStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class AsyncSqliteLog:
    """One node's log in an :class:`AsyncSqliteStore` (the async twin of EventLog)."""

    def __init__(self, store: AsyncSqliteStore, node: str, node_id: int, head: core.Head) -> None:
        self.node = node
        self._store = store
        self._node_id = node_id
        self._head = head
        self._append_lock = asyncio.Lock()  # chain order = call order

    async def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]:
        if not entries:
            return []
        async with self._append_lock:
            if self._store._logs.get(self.node) is not self:
                raise StoreError(f"node {self.node}: this log was closed")
            seq, head_hash = self._head
            records = make_records(self.node, seq + 1, head_hash, epoch, entries)
            await self._store._write_batch(self.node, self._head, records)
            self._head = (records[-1].seq, records[-1].hash)
            return records

    async def records(self, since: int = 1) -> list[LogRecord]:
        return await self._store.records(self.node, since)

    async def verify(self) -> int:
        return (await self._store.verify_node(self.node))[0]

    def __len__(self) -> int:
        return self._head[0]

    @property
    def head_hash(self) -> str:
        return self._head[1]

    def close(self) -> None:
        if self._store._logs.get(self.node) is self:
            del self._store._logs[self.node]
            self._store._lock.release(self._node_id)
