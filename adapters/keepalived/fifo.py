"""Parse keepalived's ``notify_fifo`` lines: the ordered source of truth.

Line shapes (keepalived 2.2, ``vrrp_notify.c``)::

    INSTANCE "VI_1" MASTER 150           a state change (INIT is never written)
    GROUP "G1" BACKUP 0                  a sync group's state change
    INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150   a master heard a lower priority
    INSTANCE "VI_1" MASTER_PRIORITY 120  the effective priority changed
    INSTANCE "VI_1" BACKUP_PRIORITY 90   (with vrrp_notify_priority_changes)

Each parsed line gets a sequence number (its position among the lines read,
malformed ones included, so gaps show where a bad line was). A malformed line
raises/produces ``MalformedLine`` carrying the line; the reader reports it and
goes on, losing nothing before or after it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator

import attrs

STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOP", "DELETED")


class LineKind(enum.StrEnum):
    STATE = "STATE"
    MASTER_RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"
    PRIORITY = "PRIORITY"  # MASTER_PRIORITY / BACKUP_PRIORITY


_LINE = re.compile(r'^(INSTANCE|GROUP) "([^"\n]{1,64})" ([A-Z_]{3,24}) (\d{1,3})$')


@attrs.frozen
class FifoRecord:
    seq: int
    type: str  # INSTANCE or GROUP
    name: str
    kind: LineKind
    state: str  # MASTER, BACKUP, ... (for PRIORITY lines: the state the priority is in)
    priority: int
    line: str


class MalformedLine(ValueError):
    """A fifo line that is not one keepalived writes; ``line`` and ``seq`` say which."""

    def __init__(self, seq: int, line: str, reason: str) -> None:
        super().__init__(f"notify_fifo line {seq} malformed ({reason}): {line!r}")
        self.seq = seq
        self.line = line
        self.reason = reason


def parse_line(line: str, seq: int = 0) -> FifoRecord:
    """Parse one line (trailing newline allowed); raise MalformedLine otherwise."""
    text = line.rstrip("\n").rstrip("\r")
    m = _LINE.match(text)
    if not m:
        raise MalformedLine(seq, text, 'expected TYPE "NAME" STATE PRIORITY')
    typ, name, word, prio_s = m.groups()
    prio = int(prio_s)
    if prio > 255:
        raise MalformedLine(seq, text, f"priority {prio} outside 0..255")
    if word in STATES:
        kind, state = LineKind.STATE, word
    elif word == "MASTER_RX_LOWER_PRI" and typ == "INSTANCE":
        kind, state = LineKind.MASTER_RX_LOWER_PRI, "MASTER"
    elif word in ("MASTER_PRIORITY", "BACKUP_PRIORITY") and typ == "INSTANCE":
        kind, state = LineKind.PRIORITY, word.split("_")[0]
    else:
        raise MalformedLine(seq, text, f"unknown state {word!r} for {typ}")
    if typ == "GROUP" and state == "DELETED":
        raise MalformedLine(seq, text, "DELETED is only written for instances")
    return FifoRecord(
        seq=seq, type=typ, name=name, kind=kind, state=state, priority=prio, line=text
    )


def parse_lines(lines: Iterable[str], first_seq: int = 1) -> Iterator[FifoRecord | MalformedLine]:
    """Yield a record or a MalformedLine (not raised) for each non-empty line, in order."""
    seq = first_seq
    for raw in lines:
        if not raw.strip():
            continue
        try:
            yield parse_line(raw, seq)
        except MalformedLine as exc:
            yield exc
        seq += 1


class FifoReader:
    """Incremental reader: feed it bytes as they arrive, get complete records out.

    Partial lines are buffered until their newline; invalid UTF-8 is a
    malformed line, not an exception.
    """

    def __init__(self, first_seq: int = 1) -> None:
        self._buf = b""
        self._seq = first_seq
        self.errors: list[MalformedLine] = []

    def feed(self, data: bytes) -> list[FifoRecord]:
        self._buf += data
        *complete, self._buf = self._buf.split(b"\n")
        out: list[FifoRecord] = []
        for raw in complete:
            text = raw.decode("utf-8", "replace")
            if not text.strip():  # blank lines are not lines (same rule as parse_lines)
                continue
            seq = self._seq
            self._seq += 1
            try:
                out.append(parse_line(raw.decode("utf-8"), seq))
            except UnicodeDecodeError:
                self.errors.append(MalformedLine(seq, text, "not UTF-8"))
            except MalformedLine as exc:
                self.errors.append(exc)
        return out
