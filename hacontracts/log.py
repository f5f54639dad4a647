"""The event log contract: what every ``hacore.log.EventLog`` must do.

Subclass :class:`EventLogContract` once per implementation and give it:

* ``make_log(node)``: a fresh, empty log for ``node`` (a new store per test);
* ``reopen(log)``: the same log read back as after a restart (the same
  object for memory; a new store object on the same file for a database);
* ``sibling(log, node)``: another node's log kept beside ``log`` (the same
  store), empty;
* optionally ``setup_method``/``teardown_method`` to create and remove what a
  test's logs live in (pytest calls them around each test).

The suite's logs use :data:`CONFIG` (a pair, ``a`` and ``b``). The records a
log returns must equal, field for field, those of the reference
:class:`hacore.log.InMemoryLog` for the same appends.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from hacore import events as ev
from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec
from hacore.context import Context
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
from hacore.roles import PeerRole, Role, VrrpStatus

CONFIG = ClusterConfig((NodeSpec("a", "10.0.0.1", 150), NodeSpec("b", "10.0.0.2", 100)))


def next_input(node: Node, t: int, rng: random.Random) -> inp.Input:
    """One plausible observation for the node's current state (plans run through)."""
    state = node.state
    if state.plan is not None:
        plan = state.plan
        return inp.StepSucceeded(t, plan.plan_id, plan.current_step, max(plan.attempt, 1))
    due = [a for a in state.timers if a.due <= t]
    if due:
        return inp.TimerFired(t, due[0].timer_id)
    if state.vrrp is VrrpStatus.INIT:
        return inp.VrrpReported(t, VrrpStatus.BACKUP, 150)
    roll = rng.random()
    if state.role is Role.ACTIVE:
        if roll < 0.5:
            return inp.LocalProgress(t, state.committed + 1)
        if roll < 0.8:
            return inp.PeerHeard(t, "b", PeerRole.STANDBY, 0, state.committed, 0)
        if roll < 0.9:
            return inp.PeerLost(t, "b")
        return inp.VrrpReported(t, VrrpStatus.BACKUP, 150)
    if roll < 0.4:
        return inp.PeerHeard(t, "b", PeerRole.ACTIVE, state.max_epoch_seen, 5, 0)
    if roll < 0.6:
        return inp.LocalProgress(t, state.committed + 1)
    return inp.VrrpReported(t, VrrpStatus.MASTER, 150)


def drive(node: Node, decisions: int, seed: int = 1) -> Iterator[int]:
    """Feed ``node`` until ``decisions`` inputs decided something (a seeded
    sequence: the same for every implementation); yield after each."""
    rng = random.Random(seed)
    t = 1
    if not list(node.log.records()):
        node.handle(inp.Booted(t))
    done = 0
    for _ in range(decisions * 50):  # bounded: most inputs decide something
        if done >= decisions:
            break
        t += rng.randrange(1, 3_000_000)
        if node.handle(next_input(node, t, rng)).events:
            done += 1
            yield done


def _entries(at: int = 1) -> list[inp.Input | ev.Event]:
    return [inp.Booted(at), ev.NodeBooted(at)]


def _run(node: Node, decisions: int, seed: int) -> None:
    for _ in drive(node, decisions, seed):
        pass


class EventLogContract:
    """Every EventLog implementation must pass all of these."""

    def make_log(self, node: str) -> EventLog:
        raise NotImplementedError

    def reopen(self, log: EventLog) -> EventLog:
        raise NotImplementedError

    def sibling(self, log: EventLog, node: str) -> EventLog:
        raise NotImplementedError

    def test_a_new_log_is_empty_and_verifies(self) -> None:
        log = self.make_log("a")
        assert list(log.records()) == []
        assert log.verify() == 0

    def test_append_numbers_and_chains_records_from_genesis(self) -> None:
        log = self.make_log("a")
        first = log.append(_entries(1), 0)
        second = log.append(_entries(2), 0)
        assert [r.seq for r in first + second] == [1, 2, 3, 4]
        assert first[0].prev_hash == GENESIS_HASH
        assert second[0].prev_hash == first[-1].hash
        assert all(r.node == "a" for r in first + second)
        assert list(log.records()) == first + second
        assert log.verify() == 4
        assert verify_records("a", log.records()) == 4

    def test_appending_nothing_writes_nothing(self) -> None:
        log = self.make_log("a")
        log.append(_entries(), 0)
        assert log.append([], 0) == []
        assert log.verify() == 2

    def test_records_since_returns_the_suffix(self) -> None:
        log = self.make_log("a")
        for t in range(1, 6):
            log.append(_entries(t), 0)
        assert [r.seq for r in log.records(since=7)] == [7, 8, 9, 10]
        assert [r.seq for r in log.records(since=0)] == list(range(1, 11))
        assert list(log.records(since=11)) == []

    def test_records_are_identical_to_the_reference_implementation(self) -> None:
        reference = Node(CONFIG, "a", InMemoryLog("a"))
        subject = Node(CONFIG, "a", self.make_log("a"))
        _run(reference, 150, seed=7)
        _run(subject, 150, seed=7)
        assert list(subject.log.records()) == list(reference.log.records())
        assert any(r.epoch > 0 for r in subject.log.records())  # the epoch column moved

    def test_records_survive_reopening_and_appends_continue_the_chain(self) -> None:
        node = Node(CONFIG, "a", self.make_log("a"))
        _run(node, 40, seed=3)
        before = list(node.log.records())
        log = self.reopen(node.log)
        assert list(log.records()) == before
        more = log.append(_entries(10**9), 0)
        assert more[0].seq == len(before) + 1
        assert more[0].prev_hash == before[-1].hash
        assert log.verify() == len(before) + 2

    def test_replay_rebuilds_the_state_the_node_reached(self) -> None:
        node = Node(CONFIG, "a", self.make_log("a"))
        _run(node, 200, seed=11)
        log = self.reopen(node.log)
        assert replay_records("a", log.records()) == node.state
        assert Node.recover(CONFIG, "a", log).state == node.state

    def test_redecide_reproduces_every_recorded_decision(self) -> None:
        node = Node(CONFIG, "a", self.make_log("a"))
        _run(node, 200, seed=5)
        assert redecide(Context(CONFIG, "a"), node.log.records()) == []

    def test_redecide_reports_a_decision_that_was_not_made_by_this_decider(self) -> None:
        log = self.make_log("a")
        # A boot followed by an event the decider would never produce for it.
        log.append([inp.Booted(1), ev.NodeBooted(1), ev.Frozen(1, "b")], 0)
        mismatches = redecide(Context(CONFIG, "a"), log.records())
        assert [m.seq for m in mismatches] == [1]

    def test_logs_of_two_nodes_are_independent(self) -> None:
        a = self.make_log("a")
        b = self.sibling(a, "b")
        a.append(_entries(1), 0)
        b.append(_entries(2), 0)
        b.append(_entries(3), 0)
        assert a.verify() == 2
        assert b.verify() == 4
        assert {r.node for r in b.records()} == {"b"}
        assert [r.seq for r in b.records()] == [1, 2, 3, 4]

    def test_each_record_is_a_log_record(self) -> None:
        log = self.make_log("a")
        log.append(_entries(), 0)
        assert all(type(r) is LogRecord for r in log.records())
