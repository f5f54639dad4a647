"""One contract for every EventLog: the core's in-memory log and the SQLite store.

Eventsourcing-style: a single suite, parametrised over implementations. Each
implementation gives a fresh log for a node and a way to "reopen" it (the same
object for memory; a new store object on the same file for SQLite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive

from adapters.store import SqliteStore
from hacore import events as ev
from hacore import inputs as inp
from hacore.log import (
    GENESIS_HASH,
    EventLog,
    InMemoryLog,
    LogRecord,
    redecide,
    replay_records,
    verify_records,
)
from hacore.node import Node
from hacore.table import Context

Make = Callable[[str], EventLog]
Reopen = Callable[[EventLog], EventLog]


class Impl:
    def __init__(self, make: Make, reopen: Reopen) -> None:
        self.make = make
        self.reopen = reopen


@pytest.fixture(params=["memory", "sqlite-full", "sqlite-normal"])
def impl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Impl]:
    if request.param == "memory":
        yield Impl(InMemoryLog, lambda log: log)
        return
    sync = "FULL" if request.param == "sqlite-full" else "NORMAL"
    path = str(tmp_path / "store.db")
    stores: list[SqliteStore] = []

    def make(node: str) -> EventLog:
        store = SqliteStore.open(path, config=CONFIG, synchronous=sync)
        stores.append(store)
        return store.log_for(node)

    def reopen(log: EventLog) -> EventLog:
        for store in stores:
            store.close()
        return make(log.node)

    yield Impl(make, reopen)
    for store in stores:
        store.close()


def _entries(at: int = 1) -> list[inp.Input | ev.Event]:
    return [inp.Booted(at), ev.NodeBooted(at)]


def _sibling(log: EventLog, node: str) -> EventLog:
    store = log._store  # type: ignore[attr-defined]
    assert isinstance(store, SqliteStore)
    return store.log_for(node)


class TestEventLogContract:
    """Every EventLog implementation must pass all of these."""

    def test_a_new_log_is_empty_and_verifies(self, impl: Impl) -> None:
        log = impl.make("a")
        assert list(log.records()) == []
        assert log.verify() == 0

    def test_append_numbers_and_chains_records_from_genesis(self, impl: Impl) -> None:
        log = impl.make("a")
        first = log.append(_entries(1), 0)
        second = log.append(_entries(2), 0)
        assert [r.seq for r in first + second] == [1, 2, 3, 4]
        assert first[0].prev_hash == GENESIS_HASH
        assert second[0].prev_hash == first[-1].hash
        assert all(r.node == "a" for r in first + second)
        assert list(log.records()) == first + second
        assert log.verify() == 4
        assert verify_records("a", log.records()) == 4

    def test_appending_nothing_writes_nothing(self, impl: Impl) -> None:
        log = impl.make("a")
        log.append(_entries(), 0)
        assert log.append([], 0) == []
        assert log.verify() == 2

    def test_records_since_returns_the_suffix(self, impl: Impl) -> None:
        log = impl.make("a")
        for t in range(1, 6):
            log.append(_entries(t), 0)
        assert [r.seq for r in log.records(since=7)] == [7, 8, 9, 10]
        assert [r.seq for r in log.records(since=0)] == list(range(1, 11))
        assert list(log.records(since=11)) == []

    def test_records_are_identical_to_the_reference_implementation(self, impl: Impl) -> None:
        reference = Node(CONFIG, "a", InMemoryLog("a"))
        subject = Node(CONFIG, "a", impl.make("a"))
        for _ in zip(drive(reference, 150, seed=7), drive(subject, 150, seed=7), strict=True):
            pass
        assert list(subject.log.records()) == list(reference.log.records())
        assert any(r.epoch > 0 for r in subject.log.records())  # the epoch column moved

    def test_records_survive_reopening_and_appends_continue_the_chain(self, impl: Impl) -> None:
        node = Node(CONFIG, "a", impl.make("a"))
        for _ in drive(node, 40, seed=3):
            pass
        before = list(node.log.records())
        log = impl.reopen(node.log)
        assert list(log.records()) == before
        more = log.append(_entries(10**9), 0)
        assert more[0].seq == len(before) + 1
        assert more[0].prev_hash == before[-1].hash
        assert log.verify() == len(before) + 2

    def test_replay_rebuilds_the_state_the_node_reached(self, impl: Impl) -> None:
        node = Node(CONFIG, "a", impl.make("a"))
        for _ in drive(node, 200, seed=11):
            pass
        log = impl.reopen(node.log)
        assert replay_records("a", log.records()) == node.state
        assert Node.recover(CONFIG, "a", log).state == node.state

    def test_redecide_reproduces_every_recorded_decision(self, impl: Impl) -> None:
        node = Node(CONFIG, "a", impl.make("a"))
        for _ in drive(node, 200, seed=5):
            pass
        assert redecide(Context(CONFIG, "a"), node.log.records()) == []

    def test_redecide_reports_a_decision_that_was_not_made_by_this_decider(
        self, impl: Impl
    ) -> None:
        log = impl.make("a")
        # A boot followed by an event the decider would never produce for it.
        log.append([inp.Booted(1), ev.NodeBooted(1), ev.Frozen(1, "b")], 0)
        mismatches = redecide(Context(CONFIG, "a"), log.records())
        assert [m.seq for m in mismatches] == [1]

    def test_logs_of_two_nodes_are_independent(self, impl: Impl) -> None:
        a = impl.make("a")
        b_log: EventLog = InMemoryLog("b") if isinstance(a, InMemoryLog) else _sibling(a, "b")
        a.append(_entries(1), 0)
        b_log.append(_entries(2), 0)
        b_log.append(_entries(3), 0)
        assert a.verify() == 2
        assert b_log.verify() == 4
        assert {r.node for r in b_log.records()} == {"b"}
        assert [r.seq for r in b_log.records()] == [1, 2, 3, 4]

    def test_each_record_is_a_log_record(self, impl: Impl) -> None:
        log = impl.make("a")
        log.append(_entries(), 0)
        assert all(type(r) is LogRecord for r in log.records())
