"""notify_fifo lines -> the core's ``VrrpReported`` inputs, each with its sequence number.

Only INSTANCE lines of the watched instance become inputs:
- a state line (BACKUP, MASTER, FAULT, STOP; DELETED is reported as STOP);
- ``MASTER_RX_LOWER_PRI``: the master re-asserting itself, a
  ``VrrpLowerPriorityReported`` (a report of MASTER the core also records).
  After a partition heals it is often the only line the surviving master
  writes (keepalived #1884), so it must not be dropped;
- ``MASTER_PRIORITY`` / ``BACKUP_PRIORITY``: same state, new priority.
GROUP lines are returned as records but give no input (the core follows the
instance). Malformed lines are kept in ``errors`` with the line; the lines
before and after them are unaffected.
"""

from __future__ import annotations

import attrs

from adapters.keepalived.fifo import FifoReader, FifoRecord, LineKind, MalformedLine
from hacore.inputs import VrrpLowerPriorityReported, VrrpReported
from hacore.roles import VrrpStatus

_STATES = {
    "INIT": VrrpStatus.INIT,
    "BACKUP": VrrpStatus.BACKUP,
    "MASTER": VrrpStatus.MASTER,
    "FAULT": VrrpStatus.FAULT,
    "STOP": VrrpStatus.STOP,
    "DELETED": VrrpStatus.STOP,
}


@attrs.frozen
class CoreInput:
    seq: int
    input: VrrpReported
    record: FifoRecord


def to_core_input(
    record: FifoRecord, at_us: int, instance: str | None = None
) -> VrrpReported | None:
    """The core input for one fifo record, or None when it is not about the instance."""
    if record.type != "INSTANCE" or (instance is not None and record.name != instance):
        return None
    if record.kind is LineKind.MASTER_RX_LOWER_PRI:
        return VrrpLowerPriorityReported(
            at=at_us, state=VrrpStatus.MASTER, priority=record.priority
        )
    # the other kinds carry a state word: STATE lines their own, MASTER_/BACKUP_PRIORITY
    # the state the new priority applies in
    return VrrpReported(at=at_us, state=_STATES[record.state], priority=record.priority)


class FifoIngest:
    """Bytes from the FIFO in, ordered core inputs out (sequence numbers preserved)."""

    def __init__(self, instance: str | None = None, first_seq: int = 1) -> None:
        self.instance = instance
        self._reader = FifoReader(first_seq)

    @property
    def errors(self) -> list[MalformedLine]:
        return self._reader.errors

    def feed(self, data: bytes, at_us: int) -> list[CoreInput]:
        out = []
        for rec in self._reader.feed(data):
            i = to_core_input(rec, at_us, self.instance)
            if i is not None:
                out.append(CoreInput(rec.seq, i, rec))
        return out
