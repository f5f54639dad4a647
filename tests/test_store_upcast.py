"""Upcasting: a log written by an older core (peer-heard v1 or v2) still replays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive

from adapters.store import DEFAULT_UPCASTERS, SqliteStore, UpcasterRegistry, UpcastError
from hacore import codec
from hacore import inputs as inp
from hacore.context import Context
from hacore.log import GENESIS_HASH, InMemoryLog, LogRecord, record_hash, redecide
from hacore.node import Node
from hacore.plans import StepName
from hacore.roles import PeerRole


def as_written_by_v1(records: list[LogRecord]) -> list[LogRecord]:
    """The same log as the v1 core wrote it: peer-heard without ``changes`` or ``judging``."""
    out: list[LogRecord] = []
    prev = GENESIS_HASH
    for r in records:
        v, payload = r.v, r.payload
        if r.type == "peer-heard":
            body = json.loads(payload)
            assert body.pop("changes") == 0  # v1 peers could only ever mean 0
            assert body.pop("judging") is False  # nor freeze facts (v3)
            assert body.pop("follows") == ""  # nor name whom it follows (v4)
            v, payload = 1, codec.canonical_json(body)
        digest = record_hash(prev, r.seq, r.node, r.epoch, r.at, r.kind, r.type, v, payload)
        out.append(
            LogRecord(r.seq, r.node, r.epoch, r.at, r.kind, r.type, v, payload, prev, digest)
        )
        prev = digest
    return out


def v1_log() -> tuple[Node, list[LogRecord]]:
    node = Node(CONFIG, "a", InMemoryLog("a"))
    for _ in drive(node, 300, seed=9):
        pass
    old = as_written_by_v1(list(node.log.records()))
    assert any(r.type == "peer-heard" and r.v == 1 for r in old)
    return node, old


def test_peer_heard_is_at_version_4() -> None:
    assert inp.PeerHeard.VERSION == 4


def test_the_v1_to_v2_upcaster_adds_changes_zero_and_v2_to_v3_judging_false() -> None:
    v1 = {"at": 5, "peer": "b", "role": "active", "epoch": 3, "committed": 9}
    message = DEFAULT_UPCASTERS.decode("peer-heard", 1, json.dumps(v1))
    assert message == inp.PeerHeard(5, "b", PeerRole.ACTIVE, 3, 9, 0, False, "")
    v2 = {**v1, "changes": 4}
    message = DEFAULT_UPCASTERS.decode("peer-heard", 2, json.dumps(v2))
    assert message == inp.PeerHeard(5, "b", PeerRole.ACTIVE, 3, 9, 4, False, "")
    v3 = {**v2, "judging": True}
    message = DEFAULT_UPCASTERS.decode("peer-heard", 3, json.dumps(v3))
    assert message == inp.PeerHeard(5, "b", PeerRole.ACTIVE, 3, 9, 4, True, "")


def test_the_core_alone_refuses_v1_records() -> None:
    _, old = v1_log()
    record = next(r for r in old if r.type == "peer-heard")
    with pytest.raises(codec.DecodeError, match="unsupported version 1"):
        record.message()


def test_a_v1_log_verifies_replays_and_redecides_through_the_store(tmp_path: Path) -> None:
    node, old = v1_log()
    with SqliteStore.open(str(tmp_path / "s.db"), config=CONFIG) as store:
        store.write_run({"a": old})
    with SqliteStore.open(str(tmp_path / "s.db")) as store:
        assert store.verify() == {"a": len(old)}  # hashes cover the v1 bytes, untouched
        assert store.replay("a") == node.state
        upcast = list(store.upcast_records("a"))
        assert all(r.v == 4 for r in upcast if r.type == "peer-heard")
        assert redecide(Context(CONFIG, "a"), upcast) == []
        messages = list(store.messages("a"))
        assert messages == [r.message() for r in node.log.records()]
        # The stored bytes are still v1: upcasting never rewrites the log.
        assert [r.v for r in store.records("a")] == [r.v for r in old]


def test_an_unknown_old_version_is_a_typed_error() -> None:
    with pytest.raises(UpcastError, match="no upcaster from version 0"):
        DEFAULT_UPCASTERS.decode("peer-heard", 0, "{}")
    with pytest.raises(UpcastError, match="unknown message type"):
        DEFAULT_UPCASTERS.upcast("no-such-type", 1, {})


def test_an_upcaster_must_move_forward_and_register_once() -> None:
    registry = UpcasterRegistry()
    registry.register("peer-heard", 1, lambda p: (1, p))
    with pytest.raises(UpcastError, match="went to v1"):
        registry.upcast("peer-heard", 1, {})
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("peer-heard", 1, lambda p: (2, p))


def test_a_v1_payload_that_already_has_changes_is_refused() -> None:
    v1 = {"at": 5, "peer": "b", "role": "active", "epoch": 3, "committed": 9, "changes": 4}
    with pytest.raises(UpcastError, match="that is v2"):
        DEFAULT_UPCASTERS.decode("peer-heard", 1, json.dumps(v1))


def test_step_succeeded_v1_upcasts_to_an_empty_detail() -> None:
    assert inp.StepSucceeded.VERSION == 2
    v1 = {"at": 5, "plan_id": 2, "step": "restore_k3s_db", "attempt": 1}
    message = DEFAULT_UPCASTERS.decode("step-succeeded", 1, json.dumps(v1))
    assert message == inp.StepSucceeded(5, 2, StepName.RESTORE_K3S_DB, 1, "")
    with pytest.raises(UpcastError, match="that is v2"):
        DEFAULT_UPCASTERS.decode("step-succeeded", 1, json.dumps({**v1, "detail": "x"}))
