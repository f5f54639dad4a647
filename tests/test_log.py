"""The in-memory log: hash chain, tamper detection, replay and re-decide."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest
from core_helpers import CONFIGS, Driver, cluster, random_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hacore import codec
from hacore.config import ClusterConfig
from hacore.context import Context
from hacore.log import (
    GENESIS_HASH,
    ChainError,
    InMemoryLog,
    LogRecord,
    Mismatch,
    record_hash,
    redecide,
    replay_records,
    verify_records,
)
from hacore.roles import PeerRole, VrrpStatus

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def failover_log() -> tuple[Driver, list[LogRecord]]:
    b = Driver(cluster(2), "b")
    b.boot()
    b.heard("a", PeerRole.ACTIVE, epoch=1)
    b.lost("a")
    b.vrrp(VrrpStatus.MASTER)
    b.run_plan()
    return b, list(b.node.log.records())


def rehash(records: list[LogRecord]) -> list[LogRecord]:
    """Re-chain edited records the way a careless forger would not bother to."""
    out: list[LogRecord] = []
    prev = GENESIS_HASH
    for seq, r in enumerate(records, start=1):
        h = record_hash(prev, seq, r.node, r.epoch, r.at, r.kind, r.type, r.v, r.payload)
        out.append(dataclasses.replace(r, seq=seq, prev_hash=prev, hash=h))
        prev = h
    return out


def test_chain_verifies_and_links_each_record_to_the_previous_hash() -> None:
    b, records = failover_log()
    assert b.node.log.verify() == len(records)
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1


def test_records_carry_the_epoch_once_applied() -> None:
    _, records = failover_log()
    opened = next(r for r in records if r.type == "epoch-opened")
    assert all(r.epoch == 0 for r in records if r.seq < opened.seq)
    assert all(r.epoch == 2 for r in records if r.seq >= opened.seq)


@FAST
@given(data=st.data())
def test_editing_any_record_is_detected_at_its_seq(data: st.DataObject) -> None:
    _, records = failover_log()
    i = data.draw(st.integers(0, len(records) - 1))
    field = data.draw(st.sampled_from(["payload", "at", "epoch", "type", "kind"]))
    r = records[i]
    edited = {
        "payload": dataclasses.replace(r, payload=r.payload.replace("}", ',"x":1}', 1)),
        "at": dataclasses.replace(r, at=r.at + 1),
        "epoch": dataclasses.replace(r, epoch=r.epoch + 1),
        "type": dataclasses.replace(r, type=r.type + "-x"),
        "kind": dataclasses.replace(r, kind="event" if r.kind == "input" else "input"),
    }[field]
    tampered = [*records[:i], edited, *records[i + 1 :]]
    with pytest.raises(ChainError) as info:
        verify_records("b", tampered)
    assert info.value.seq == r.seq


@FAST
@given(data=st.data())
def test_dropping_any_record_is_detected_at_its_seq(data: st.DataObject) -> None:
    _, records = failover_log()
    i = data.draw(st.integers(0, len(records) - 2))
    with pytest.raises(ChainError) as info:
        verify_records("b", records[:i] + records[i + 1 :])
    assert info.value.seq == records[i].seq


def test_dropping_the_tail_shows_against_the_head_hash() -> None:
    b, records = failover_log()
    log = b.node.log
    assert isinstance(log, InMemoryLog)
    assert verify_records("b", records[:-1]) == len(records) - 1
    assert records[-2].hash != log.head_hash


@FAST
@given(data=st.data())
def test_reordering_any_two_records_is_detected_at_the_first_moved_seq(
    data: st.DataObject,
) -> None:
    _, records = failover_log()
    i, j = sorted(
        data.draw(st.lists(st.integers(0, len(records) - 1), min_size=2, max_size=2, unique=True))
    )
    swapped = list(records)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(ChainError) as info:
        verify_records("b", swapped)
    assert info.value.seq == records[i].seq


def test_a_rechained_forgery_is_still_caught_against_the_known_head() -> None:
    b, records = failover_log()
    forged = rehash(
        [*records[:3], dataclasses.replace(records[3], at=records[3].at + 5), *records[4:]]
    )
    verify_records("b", forged)  # internally consistent...
    log = b.node.log
    assert isinstance(log, InMemoryLog)
    assert forged[-1].hash != log.head_hash  # ...but the head no longer matches


@FAST
@given(data=st.data(), config=CONFIGS)
def test_replay_equals_the_live_state(data: st.DataObject, config: ClusterConfig) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    driver = random_run(data, config, name)
    assert replay_records(name, driver.node.log.records()) == driver.state


@FAST
@given(data=st.data(), config=CONFIGS)
def test_redeciding_the_recorded_inputs_reproduces_the_recorded_decisions(
    data: st.DataObject, config: ClusterConfig
) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    driver = random_run(data, config, name)
    assert redecide(Context(config, name), driver.node.log.records()) == []


def test_a_tampered_decision_is_reported_as_a_mismatch() -> None:
    b, records = failover_log()
    target = next(r for r in records if r.type == "epoch-opened")
    payload = json.loads(target.payload)
    payload["epoch"] = 4
    edited = dataclasses.replace(target, payload=codec.canonical_json(payload))
    tampered = rehash([edited if r.seq == target.seq else r for r in records])
    mismatches = redecide(Context(b.config, "b"), tampered)
    assert len(mismatches) == 1
    (m,) = mismatches
    assert isinstance(m, Mismatch)
    owning_input = max(r.seq for r in records if r.kind == "input" and r.seq < target.seq)
    assert m.seq == owning_input
    assert any('"epoch":4' in e for e in m.expected)
    assert any('"epoch":2' in e for e in m.actual)


def test_a_decision_under_a_different_config_is_a_mismatch_behaviour_drift() -> None:
    b, records = failover_log()
    drifted = cluster(2, services=dataclasses.replace(b.config.services, k3s=False))
    assert redecide(Context(drifted, "b"), records) != []


def test_an_event_before_any_input_is_a_mismatch() -> None:
    _, records = failover_log()
    events_only = rehash([r for r in records if r.kind == "event"][:1])
    (m,) = redecide(Context(cluster(2), "b"), events_only)
    assert m.seq == 1 and m.actual == ()


def test_records_since_returns_the_tail() -> None:
    b, records = failover_log()
    assert list(b.node.log.records(since=5)) == records[4:]
