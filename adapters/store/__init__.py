"""The durable event store: many node logs in one SQLite file (WAL).

* :class:`SqliteStore` / :class:`SqliteLog` — synchronous (stdlib ``sqlite3``);
  ``SqliteLog`` implements :class:`hacore.log.EventLog`.
* :class:`AsyncSqliteStore` / :class:`AsyncSqliteLog` — the same on aiosqlite,
  for the asyncio agent (imported lazily: aiosqlite is an optional extra).
* :class:`UpcasterRegistry`, :data:`DEFAULT_UPCASTERS` — decoding old versions.
* ``config_to_json`` / ``config_from_json`` — the configuration kept in the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.store._core import FULL, NORMAL
from adapters.store.config_json import config_from_json, config_to_json
from adapters.store.errors import (
    ConcurrentWriteError,
    ConfigDecodeError,
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
    UpcastError,
    WriterBusyError,
)
from adapters.store.sqlite import ConfigMismatchError, SqliteLog, SqliteStore
from adapters.store.upcast import DEFAULT_UPCASTERS, UpcasterRegistry

if TYPE_CHECKING:
    from adapters.store.aio import AsyncSqliteLog, AsyncSqliteStore


def __getattr__(name: str) -> Any:
    if name in ("AsyncSqliteStore", "AsyncSqliteLog"):
        from adapters.store import aio

        return getattr(aio, name)
    raise AttributeError(f"module 'adapters.store' has no attribute {name!r}")


__all__ = [
    "DEFAULT_UPCASTERS",
    "FULL",
    "NORMAL",
    "AsyncSqliteLog",
    "AsyncSqliteStore",
    "ConcurrentWriteError",
    "ConfigDecodeError",
    "ConfigMismatchError",
    "CorruptLogError",
    "NotAStoreError",
    "ReadOnlyStoreError",
    "SqliteLog",
    "SqliteStore",
    "StoreBusyError",
    "StoreDamagedError",
    "StoreError",
    "StoreFullError",
    "StorePathError",
    "StoreWriteError",
    "TornTailError",
    "UpcastError",
    "UpcasterRegistry",
    "WriterBusyError",
    "config_from_json",
    "config_to_json",
]
