"""The node's append-only log: inputs and events in one hash chain.

Rules
-----
* A record is an input the decider acted on, or an event it decided. Inputs
  that decided nothing are not recorded: they changed nothing, so replay and
  re-decide do not need them.
* Each record's hash covers the previous record's hash and the record's own
  canonical JSON, so editing, dropping or reordering any record breaks every
  hash after it. The first record's ``prev_hash`` is 64 zeros.
* Replay is a fold of ``evolve`` over the event records. The re-decide check
  feeds each recorded input to ``decide`` again and compares what comes out
  with the events recorded after it: the determinism check, which also shows
  behaviour drift after an upgrade.

The SQLite store in ``adapters`` implements the same :class:`EventLog` contract
and the same record format, so one contract test suite covers both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hacore import codec, codegen
from hacore import events as ev
from hacore import inputs as inp
from hacore.context import Context
from hacore.decider import decide, initial_state
from hacore.evolve import evolve
from hacore.state import NodeState

GENESIS_HASH = "0" * 64
INPUT = "input"
EVENT = "event"


class LogError(Exception):
    """Base of the log's typed errors."""


class ChainError(LogError):
    """The chain does not verify; ``seq`` is the first bad sequence number."""

    def __init__(self, node: str, seq: int, reason: str) -> None:
        super().__init__(f"node {node}: record {seq}: {reason}")
        self.node = node
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LogRecord:
    seq: int  # 1, 2, 3, ... per node
    node: str
    epoch: int  # the node's epoch once this record is applied
    at: int  # microseconds, from the input or event
    kind: str  # "input" | "event"
    type: str
    v: int
    payload: str  # canonical JSON of the payload object
    prev_hash: str
    hash: str

    def message(self) -> codec.Message:
        """Decode the payload (current versions only; the store upcasts first)."""
        try:
            payload = codec.parse_json(self.payload)
        except codec.JsonError as exc:
            raise codec.DecodeError(f"record {self.seq}: payload is not JSON: {exc}") from exc
        return codec.decode_payload(self.type, self.v, payload)


def record_hash(
    prev_hash: str,
    seq: int,
    node: str,
    epoch: int,
    at: int,
    kind: str,
    type_: str,
    v: int,
    payload: str,
) -> str:
    # One line per field, the payload (the only free-form text) last: node
    # names, kinds and types hold no newline, so the layout is unambiguous,
    # and the payload is hashed as stored rather than re-encoded.
    body = f"{prev_hash}\n{seq}\n{node}\n{epoch}\n{at}\n{kind}\n{type_}\n{v}\n{payload}"
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# ``LogRecord(...)`` without the frozen ``__init__`` (generated: hacore.codegen):
# every append and every read of a stored log builds records, and the frozen
# ``__init__`` (one ``object.__setattr__`` per field) was a fifth of make_records.
new_record = codegen.slot_constructor(LogRecord)

# Per message class: (kind, type, version, payload encoder, opens an epoch?).
_ENTRY_INFO: dict[type, tuple[str, str, int, Callable[[Any], str], bool]] = {}


def _entry_info(cls: type[codec.Message]) -> tuple[str, str, int, Callable[[Any], str], bool]:
    info = _ENTRY_INFO.get(cls)
    if info is None:
        kind = INPUT if issubclass(cls, inp.Input) else EVENT
        encoder = codec.payload_encoder(cls)
        info = (kind, cls.TYPE, cls.VERSION, encoder, issubclass(cls, ev.EpochOpened))
        _ENTRY_INFO[cls] = info
    return info


def make_records(
    node: str, start_seq: int, prev_hash: str, epoch: int, entries: Sequence[codec.Message]
) -> list[LogRecord]:
    """Chain ``entries`` (inputs and events) after ``prev_hash``.

    The same records as encoding each entry with ``codec.canonical_json(
    codec.payload_of(entry))`` and hashing with :func:`record_hash` (a test
    holds the two equal); the per-class facts are looked up once, the hash
    body is built inline.
    """
    out: list[LogRecord] = []
    seq = start_seq
    sha256 = hashlib.sha256
    for entry in entries:
        info = _ENTRY_INFO.get(type(entry)) or _entry_info(type(entry))
        kind, type_, v, encode, opens_epoch = info
        if opens_epoch:
            epoch = entry.epoch  # type: ignore[attr-defined]
        payload = encode(entry)
        at = getattr(entry, "at", 0)
        if type(at) is not int:
            at = int(at)
        # The body of record_hash(), inlined: it is the hot line of every append.
        body = f"{prev_hash}\n{seq}\n{node}\n{epoch}\n{at}\n{kind}\n{type_}\n{v}\n{payload}"
        digest = sha256(body.encode()).hexdigest()
        out.append(new_record(seq, node, epoch, at, kind, type_, v, payload, prev_hash, digest))
        prev_hash = digest
        seq += 1
    return out


def verify_records(
    node: str,
    records: Iterable[LogRecord],
    trusted: Sequence[LogRecord] = (),
    after: LogRecord | None = None,
) -> int:
    """Check sequence and chain; return the count. Raises :class:`ChainError`.

    ``trusted`` (optional) holds records whose hashes were computed or checked
    before, by position: a record that *is* (identity) the trusted one at its
    position skips re-hashing, because a :class:`LogRecord` is frozen and
    still hashes as it did. Its sequence number and link are checked all the
    same, and any record that is not the very same object is hashed.

    ``after`` (optional) is the checked record that ``records`` continue: the
    first one must then be its successor (a tail check); the count is of
    ``records`` only.
    """
    prev = GENESIS_HASH if after is None else after.hash
    expected_seq = 1 if after is None else after.seq + 1
    count = 0
    n_trusted = len(trusted)
    sha256 = hashlib.sha256
    for r in records:
        seq = r.seq
        if seq != expected_seq:
            raise ChainError(node, expected_seq, f"sequence gap or reorder (found {seq})")
        if r.prev_hash != prev:
            raise ChainError(node, seq, "previous-hash link broken")
        if count >= n_trusted or trusted[count] is not r:
            # record_hash(), inlined (prev_hash is prev, checked just above).
            body = (
                f"{prev}\n{seq}\n{r.node}\n{r.epoch}\n{r.at}\n"
                f"{r.kind}\n{r.type}\n{r.v}\n{r.payload}"
            )
            digest = sha256(body.encode()).hexdigest()
            if digest != r.hash:
                raise ChainError(node, seq, "hash mismatch (record edited or corrupted)")
        prev = r.hash
        expected_seq += 1
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state folded out of records ``1..seq`` of a node's log.

    It is valid for a log only while that log's record ``seq`` still has hash
    ``hash``, and only once the log's chain verified: each hash covers the one
    before it, so on a verified chain the hash at ``seq`` pins every record up
    to ``seq`` to exactly those that were folded. ``evolve`` is a pure fold,
    so folding the records after ``seq`` into ``state`` gives the state a full
    replay gives. A snapshot is a cache: dropping it changes nothing but time.
    """

    seq: int
    hash: str
    state: NodeState


class EventLog(Protocol):
    """What the decider's runtime needs of a log (in memory or durable)."""

    node: str

    def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]: ...

    def records(self, since: int = 1) -> Iterator[LogRecord]: ...

    def verify(self) -> int: ...


class InMemoryLog:
    """The reference implementation of :class:`EventLog`, for tests and the simulator.

    Restarts are cheap here, so a simulated day can restart nodes often, and a
    restart costs the tail since the last check, not the whole log:

    * ``verify`` checks only the records after the last one this log made or
      checked (``_checked`` records, the last of them kept as a tripwire: if
      that very object is no longer in its place, the prefix was cut or
      replaced and everything is checked again). A record edited in the
      middle of the list behind the log's back is not looked at by
      ``verify``; :meth:`verify_all` re-hashes every record (the simulator's
      end-of-run replay invariant uses it).
    * :func:`replay_log` starts from the log's :class:`Snapshot`, which the
      node refreshes through :meth:`keep_snapshot` every ``snapshot_every``
      records as it appends (and replay_log at the head it replayed to), so a
      recovery folds at most that many records.
    """

    snapshot_every = 1024

    def __init__(self, node: str) -> None:
        self.node = node
        self._records: list[LogRecord] = []
        # The first _checked records were made (append) or checked (verify) by
        # this log; the last of them is _checked_head, compared by identity.
        self._checked = 0
        self._checked_head: LogRecord | None = None
        self.snapshot: Snapshot | None = None

    def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]:
        records = self._records
        head = records[-1].hash if records else GENESIS_HASH
        new = make_records(self.node, len(records) + 1, head, epoch, entries)
        if self._checked == len(records) and new:
            self._checked += len(new)
            self._checked_head = new[-1]
        records.extend(new)
        return new

    def records(self, since: int = 1) -> Iterator[LogRecord]:
        return iter(self._records[max(since, 1) - 1 :])

    def verify(self) -> int:
        """Check the records after the last checked one (see the class)."""
        records = self._records
        done, head = self._checked, self._checked_head
        if done == 0 or done > len(records) or records[done - 1] is not head:
            return self.verify_all()
        if done < len(records):
            verify_records(self.node, records[done:], after=head)
            self._checked, self._checked_head = len(records), records[-1]
        return len(records)

    def verify_all(self) -> int:
        """Re-hash and re-link every record, trusting nothing."""
        records = self._records
        count = verify_records(self.node, records)
        self._checked = count
        self._checked_head = records[-1] if records else None
        return count

    def keep_snapshot(self, state: NodeState) -> None:
        """``state`` is the fold of every record so far: keep it every ``snapshot_every``."""
        records = self._records
        snap = self.snapshot
        if records and (snap is None or not 0 <= len(records) - snap.seq < self.snapshot_every):
            head = records[-1]
            self.snapshot = Snapshot(head.seq, head.hash, state)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def head_hash(self) -> str:
        return self._records[-1].hash if self._records else GENESIS_HASH


def _fold(state: NodeState, records: Iterable[LogRecord]) -> NodeState:
    for r in records:
        if r.kind == EVENT:
            message = r.message()
            assert isinstance(message, ev.Event)
            state = evolve(state, message)
    return state


def replay_records(node: str, records: Iterable[LogRecord]) -> NodeState:
    """Fold ``evolve`` over the event records."""
    return _fold(NodeState(name=node), records)


def replay_log(node: str, log: EventLog) -> NodeState:
    """``replay_records(node, log.records())``, from a snapshot where the log keeps one.

    Verify the log first (:meth:`hacore.node.Node.recover` does): a snapshot is
    only as good as the chain it is pinned to. An :class:`InMemoryLog` whose
    snapshot still matches its record (same seq, same hash) is replayed from
    it; either way it keeps a new snapshot at the head replayed to.
    """
    if not isinstance(log, InMemoryLog):
        return replay_records(node, log.records())
    records = log._records
    state, start = NodeState(name=node), 0
    snap = log.snapshot
    if snap is not None and snap.state.name == node and 0 < snap.seq <= len(records):
        at = records[snap.seq - 1]
        if at.seq == snap.seq and at.hash == snap.hash:
            state, start = snap.state, snap.seq
    state = _fold(state, records[start:])
    if records:
        log.snapshot = Snapshot(records[-1].seq, records[-1].hash, state)
    return state


@dataclass(frozen=True, slots=True)
class Mismatch:
    seq: int  # the input record whose decision differs
    expected: tuple[str, ...]  # recorded events (canonical JSON)
    actual: tuple[str, ...]  # what decide() produces now


def redecide(ctx: Context, records: Iterable[LogRecord]) -> list[Mismatch]:
    """Re-decide every recorded input; report each decision that differs."""
    mismatches: list[Mismatch] = []
    state = initial_state(ctx.config, ctx.node)
    pending_seq = 0
    pending_actual: list[ev.Event] = []
    recorded: list[ev.Event] = []

    def settle() -> None:
        nonlocal state
        if pending_seq:
            if recorded != pending_actual:
                mismatches.append(
                    Mismatch(
                        pending_seq,
                        tuple(codec.dumps(e) for e in recorded),
                        tuple(codec.dumps(e) for e in pending_actual),
                    )
                )
            for e in recorded:  # the log is the truth: continue from what was recorded
                state = evolve(state, e)

    for r in records:
        message = r.message()
        if r.kind == INPUT:
            settle()
            assert isinstance(message, inp.Input)
            pending_seq = r.seq
            pending_actual = decide(ctx, state, message)
            recorded = []
        else:
            assert isinstance(message, ev.Event)
            if not pending_seq:
                mismatches.append(Mismatch(r.seq, (codec.dumps(message),), ()))
                state = evolve(state, message)
                continue
            recorded.append(message)
    settle()
    return mismatches
