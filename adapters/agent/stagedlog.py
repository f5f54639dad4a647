"""The core's synchronous log in front of the aiosqlite store: stage, then commit.

``hacore.node.Node.handle`` appends synchronously; the agent's store is
asynchronous (aiosqlite runs SQLite on its own thread so the event loop never
waits on an fsync). :class:`StagedLog` bridges them: ``append`` builds the
records in memory and stages the batch; the loop then ``await flush()``es,
which commits every staged batch to the store, and only after that does it
start the decision's jobs (persist before acting).

If a commit fails the in-memory state is ahead of the disk. The agent then
stops at once without acting (:class:`CommitFailed`), and its restart replays
what is durable: fail-stop, never act on an undurable decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.store.aio import AsyncSqliteLog
from hacore import codec
from hacore.log import InMemoryLog, LogRecord


class CommitFailed(RuntimeError):
    """The store refused a batch the core already applied: the agent must stop."""


class StagedLog(InMemoryLog):
    def __init__(self, node: str, durable: AsyncSqliteLog, records: Sequence[LogRecord]) -> None:
        super().__init__(node)
        self._records = list(records)
        self._durable = durable
        self._staged: list[tuple[list[codec.Message], int, list[LogRecord]]] = []

    def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]:
        records = super().append(entries, epoch)
        self._staged.append((list(entries), epoch, records))
        return records

    @property
    def staged(self) -> int:
        return len(self._staged)

    async def flush(self) -> int:
        """Commit every staged batch, in order; the number of records committed."""
        committed = 0
        while self._staged:
            entries, epoch, mine = self._staged[0]
            try:
                theirs = await self._durable.append(entries, epoch)
            except Exception as exc:
                raise CommitFailed(f"store refused a batch: {exc}") from exc
            if [r.hash for r in theirs] != [r.hash for r in mine]:
                raise CommitFailed("store and staged log disagree on a batch's hashes")
            self._staged.pop(0)
            committed += len(theirs)
        return committed
