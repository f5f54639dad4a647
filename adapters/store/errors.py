"""Typed errors of the SQLite event store.

Every failure a caller can meet has its own class, so the agent, the
simulator and ``hacore log`` can react precisely (and print one clear line)
instead of catching ``sqlite3.Error`` and guessing.

* :class:`CorruptLogError` and :class:`TornTailError` are also
  :class:`hacore.log.ChainError`: they carry ``node`` and ``seq`` (the first
  bad sequence number), so code written against the core's in-memory log
  handles them unchanged.
"""

from __future__ import annotations

from hacore.codec import DecodeError
from hacore.log import ChainError, LogError


class StoreError(LogError):
    """Base of every store error."""


class NotAStoreError(StoreError):
    """The file is not an SQLite database, or not one written by this store."""


class StorePathError(StoreError):
    """The path cannot hold a store: a directory, a missing parent, unwritable."""


class StoreFullError(StoreError):
    """The disk (or the page quota) is full; the batch was rolled back whole."""


class StoreWriteError(StoreError):
    """A write failed (I/O error, file made read-only); the batch was rolled back."""


class ReadOnlyStoreError(StoreError):
    """A write was asked of a store opened read-only."""


class StoreBusyError(StoreError):
    """SQLite stayed locked by another connection beyond the busy timeout."""


class WriterBusyError(StoreError):
    """Another writer (process or store object) holds this node's log."""

    def __init__(self, node: str, detail: str) -> None:
        super().__init__(f"node {node}: log is held by another writer ({detail})")
        self.node = node


class ConcurrentWriteError(StoreError):
    """The node's log grew under us: someone bypassed the writer lock."""

    def __init__(self, node: str, expected: int, found: int) -> None:
        super().__init__(
            f"node {node}: log head moved from {expected} to {found} under this writer; "
            "another writer bypassed the lock (is the file on a network filesystem?)"
        )
        self.node = node
        self.expected = expected
        self.found = found


class StoreDamagedError(StoreError):
    """SQLite itself reports the file malformed (below the level of records)."""


class CorruptLogError(StoreError, ChainError):
    """A record in a node log was edited, dropped, reordered or damaged.

    ``seq`` is the first bad sequence number. Nothing is rewritten.
    """

    def __init__(self, node: str, seq: int, reason: str) -> None:
        ChainError.__init__(self, node, seq, reason)


class TornTailError(StoreError, ChainError):
    """The last batch of a node log is incomplete (a torn final write).

    Everything before ``seq`` verifies. Distinct from :class:`CorruptLogError`:
    only the final commit is affected, which is what a lost or half-written last
    write looks like. Opening with ``repair_torn_tail=True`` drops that batch.
    """

    def __init__(self, node: str, seq: int, reason: str) -> None:
        ChainError.__init__(self, node, seq, reason)


class ConfigDecodeError(StoreError):
    """The cluster configuration stored in the file is not valid."""


class UpcastError(StoreError, DecodeError):
    """A record's (type, version) has no path to the current version."""
