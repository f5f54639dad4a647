"""Parse keepalived's ``notify_fifo`` lines: the ordered source of truth.

Line shapes (keepalived 2.2, ``vrrp_notify.c``)::

    INSTANCE "VI_1" MASTER 150           a state change (INIT is never written)
    GROUP "G1" BACKUP 0                  a sync group's state change
    INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150   a master heard a lower priority
    INSTANCE "VI_1" MASTER_PRIORITY 120  the effective priority changed
    INSTANCE "VI_1" BACKUP_PRIORITY 90   (with vrrp_notify_priority_changes)

Each line gets a sequence number (its position among the lines read,
malformed ones included, so gaps show where a bad line was): every line, an
empty or control-character-only one too, is either a record or a
``MalformedLine`` carrying the line; the reader reports it and goes on, losing
nothing before or after it.

The grammar is ASCII and exact: keepalived writes upper-case words, decimal
priorities without leading zeros and names of printable ASCII, so a Unicode
digit (U+0661..U+0669, say), a folded letter, a tab, NUL or a second newline is a
malformed line, never a look-alike of a good one. A line longer than
``MAX_LINE`` bytes is malformed too: the reader does not buffer it without
bound, it reports it once and skips to the next newline.
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


# A keepalived instance or group name: 1..64 printable ASCII characters, no
# space or double quote (keepalived's config tokenizer splits on whitespace).
NAME_PATTERN = r"[!#-~]{1,64}"
# Decimal, no sign, no leading zero (keepalived prints with %d).
PRIORITY_PATTERN = r"0|[1-9][0-9]{0,2}"
_LINE = re.compile(
    rf'(INSTANCE|GROUP) "({NAME_PATTERN})" ([A-Z_]{{3,24}}) ({PRIORITY_PATTERN})', re.ASCII
)
# The longest line keepalived writes is ~100 bytes (a 64-character name and
# MASTER_RX_LOWER_PRI); anything past this is not one of its lines.
MAX_LINE = 256


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
    """Parse one line (one trailing newline allowed); raise MalformedLine otherwise."""
    text = line[:-1] if line.endswith("\n") else line
    if len(text) > MAX_LINE:
        raise MalformedLine(seq, text[:MAX_LINE], f"longer than {MAX_LINE} characters")
    m = _LINE.fullmatch(text)
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
    """Yield a record or a MalformedLine (not raised) for each line, in order."""
    seq = first_seq
    for raw in lines:
        try:
            yield parse_line(raw, seq)
        except MalformedLine as exc:
            yield exc
        seq += 1


class FifoReader:
    """Incremental reader: feed it bytes as they arrive, get complete records out.

    Partial lines are buffered until their newline, up to ``MAX_LINE`` bytes:
    a longer one is reported once as malformed and the rest of it, up to its
    newline, is dropped. Each byte is scanned once (no re-scan of the buffer
    per chunk). Invalid UTF-8 is a malformed line, not an exception.
    """

    def __init__(self, first_seq: int = 1) -> None:
        self._buf = bytearray()
        self._skipping = False  # inside an over-long line already reported
        self._seq = first_seq
        self.errors: list[MalformedLine] = []

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def feed(self, data: bytes) -> list[FifoRecord]:
        out: list[FifoRecord] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            piece = data[start:] if end < 0 else data[start:end]
            start = len(data) if end < 0 else end + 1
            if self._skipping:
                self._skipping = end < 0
                continue
            self._buf += piece
            if len(self._buf) > MAX_LINE:
                text = bytes(self._buf[:MAX_LINE]).decode("utf-8", "replace")
                self.errors.append(
                    MalformedLine(self._next_seq(), text, f"longer than {MAX_LINE} bytes")
                )
                self._buf.clear()
                self._skipping = end < 0
                continue
            if end < 0:
                break
            raw = bytes(self._buf)
            self._buf.clear()
            seq = self._next_seq()
            try:
                out.append(parse_line(raw.decode("utf-8"), seq))
            except UnicodeDecodeError:
                self.errors.append(MalformedLine(seq, raw.decode("utf-8", "replace"), "not UTF-8"))
            except MalformedLine as exc:
                self.errors.append(exc)
        return out
