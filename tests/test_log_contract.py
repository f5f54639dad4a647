"""The event-log contract (hacontracts.log) against all four logs: the core's
in-memory log, the SQLite store under FULL and NORMAL, and the asyncio store
(through a small synchronous facade that runs each call on its own loop)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from adapters.store import SqliteStore
from adapters.store.aio import AsyncSqliteLog, AsyncSqliteStore
from hacontracts.log import CONFIG, EventLogContract
from hacore import codec
from hacore.log import EventLog, InMemoryLog, LogRecord


class TestInMemoryLog(EventLogContract):
    def make_log(self, node: str) -> EventLog:
        return InMemoryLog(node)

    def reopen(self, log: EventLog) -> EventLog:
        return log

    def sibling(self, log: EventLog, node: str) -> EventLog:
        return InMemoryLog(node)


class _SqliteContract(EventLogContract):
    synchronous = "FULL"

    def setup_method(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hacore-log-contract-"))
        self.stores: list[SqliteStore] = []

    def teardown_method(self) -> None:
        for store in self.stores:
            store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _store(self) -> SqliteStore:
        store = SqliteStore.open(
            str(self.dir / "store.db"), config=CONFIG, synchronous=self.synchronous
        )
        self.stores.append(store)
        return store

    def make_log(self, node: str) -> EventLog:
        return self._store().log_for(node)

    def reopen(self, log: EventLog) -> EventLog:
        for store in self.stores:
            store.close()
        self.stores = []
        return self.make_log(log.node)

    def sibling(self, log: EventLog, node: str) -> EventLog:
        return self.stores[-1].log_for(node)


class TestSqliteFull(_SqliteContract):
    synchronous = "FULL"


class TestSqliteNormal(_SqliteContract):
    synchronous = "NORMAL"


class SyncAioLog:
    """The asyncio store's log as an EventLog: each call runs on the test's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, log: AsyncSqliteLog) -> None:
        self.loop = loop
        self.aio = log
        self.node = log.node

    def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]:
        return self.loop.run_until_complete(self.aio.append(entries, epoch))

    def records(self, since: int = 1) -> Iterator[LogRecord]:
        return iter(self.loop.run_until_complete(self.aio.records(since)))

    def verify(self) -> int:
        return self.loop.run_until_complete(self.aio.verify())


class TestAsyncSqliteStore(EventLogContract):
    def setup_method(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hacore-log-contract-"))
        self.loop = asyncio.new_event_loop()
        self.stores: list[AsyncSqliteStore] = []

    def teardown_method(self) -> None:
        self._close()
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _close(self) -> None:
        for store in self.stores:
            self.loop.run_until_complete(store.close())
        self.stores = []

    def _store(self) -> AsyncSqliteStore:
        store = self.loop.run_until_complete(
            AsyncSqliteStore.open(str(self.dir / "store.db"), config=CONFIG)
        )
        self.stores.append(store)
        return store

    def make_log(self, node: str) -> EventLog:
        store = self._store()
        return SyncAioLog(self.loop, self.loop.run_until_complete(store.log_for(node)))

    def reopen(self, log: EventLog) -> EventLog:
        self._close()
        return self.make_log(log.node)

    def sibling(self, log: EventLog, node: str) -> EventLog:
        store = self.stores[-1]
        return SyncAioLog(self.loop, self.loop.run_until_complete(store.log_for(node)))
