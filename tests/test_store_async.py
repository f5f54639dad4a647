"""The aiosqlite store: same file, same checks, same records as the sync store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive

from adapters.store import (
    AsyncSqliteStore,
    CorruptLogError,
    ReadOnlyStoreError,
    SqliteStore,
    StoreFullError,
    WriterBusyError,
)
from hacore import inputs as inp
from hacore.log import InMemoryLog
from hacore.node import Node


async def test_async_appends_are_byte_identical_to_the_core_log(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    node = Node(CONFIG, "a", InMemoryLog("a"))
    for _ in drive(node, 60, seed=3):
        pass
    expected = list(node.log.records())
    async with await AsyncSqliteStore.open(db, config=CONFIG) as store:
        log = await store.log_for("a")
        i = 0
        while i < len(expected):  # replay the same batches (input + its events)
            j = i + 1
            while j < len(expected) and expected[j].kind == "event":
                j += 1
            batch = [r.message() for r in expected[i:j]]
            await log.append(batch, expected[i].epoch)
            i = j
        assert await log.records() == expected
        assert await store.verify() == {"a": len(expected)}
        assert await store.config() == CONFIG
    with SqliteStore.open(db) as sync:  # and the sync store reads what async wrote
        assert list(sync.records("a")) == expected


async def test_concurrent_appends_on_one_log_keep_the_chain(tmp_path: Path) -> None:
    async with await AsyncSqliteStore.open(str(tmp_path / "s.db")) as store:
        log = await store.log_for("a")
        await asyncio.gather(*(log.append([inp.Booted(t)], 0) for t in range(1, 41)))
        assert await log.verify() == 40
        assert [m.at for m in await store.messages("a")] == list(range(1, 41))  # type: ignore[attr-defined]


async def test_a_second_async_writer_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    async with await AsyncSqliteStore.open(db) as one, await AsyncSqliteStore.open(db) as two:
        await one.log_for("a")
        with pytest.raises(WriterBusyError):
            await two.log_for("a")
        with SqliteStore.open(db) as sync, pytest.raises(WriterBusyError):
            sync.log_for("a")  # the sync store and the async store share the lock


async def test_async_open_verifies_the_chain(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    async with await AsyncSqliteStore.open(db) as store:
        log = await store.log_for("a")
        for t in range(1, 6):
            await log.append([inp.Booted(t)], 0)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE records SET at = 99 WHERE seq = 3")
    conn.close()
    with pytest.raises(CorruptLogError) as info:
        await AsyncSqliteStore.open(db)
    assert (info.value.node, info.value.seq) == ("a", 3)


async def test_async_full_disk_writes_no_partial_batch(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    store = await AsyncSqliteStore.open(db, max_page_count=8)
    log = await store.log_for("a")
    written = 0
    with pytest.raises(StoreFullError):
        for t in range(10**6):
            await log.append([inp.Booted(t), inp.Booted(t), inp.Booted(t)], 0)
            written += 3
    assert len(log) == written
    assert await store.verify() == {"a": written}
    await store.close()


async def test_async_read_only_store_refuses_writers(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    await (await AsyncSqliteStore.open(db)).close()
    async with await AsyncSqliteStore.open(db, readonly=True) as store:
        with pytest.raises(ReadOnlyStoreError):
            await store.log_for("a")
