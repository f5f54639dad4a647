"""notify_fifo lines: typed records with sequence numbers; bad lines reported, never fatal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.keepalived import (
    FifoReader,
    FifoRecord,
    LineKind,
    MalformedLine,
    parse_line,
    parse_lines,
)


def test_instance_state_line() -> None:
    r = parse_line('INSTANCE "VI_1" MASTER 150\n', seq=7)
    assert (r.seq, r.type, r.name, r.kind, r.state, r.priority) == (
        7,
        "INSTANCE",
        "VI_1",
        LineKind.STATE,
        "MASTER",
        150,
    )


def test_group_line() -> None:
    r = parse_line('GROUP "G1" BACKUP 0')
    assert (r.type, r.name, r.state) == ("GROUP", "G1", "BACKUP")


def test_master_rx_lower_pri_line() -> None:
    r = parse_line('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 200')
    assert r.kind is LineKind.MASTER_RX_LOWER_PRI and r.state == "MASTER"


@pytest.mark.parametrize(
    ("word", "state"), [("MASTER_PRIORITY", "MASTER"), ("BACKUP_PRIORITY", "BACKUP")]
)
def test_priority_change_lines(word: str, state: str) -> None:
    r = parse_line(f'INSTANCE "VI_1" {word} 120')
    assert r.kind is LineKind.PRIORITY and r.state == state and r.priority == 120


@pytest.mark.parametrize(
    "line",
    [
        "",
        "INSTANCE VI_1 MASTER 150",  # name not quoted
        'INSTANCE "VI_1" MASTR 150',  # unknown state
        'INSTANCE "VI_1" MASTER 256',  # priority out of range
        'INSTANCE "VI_1" MASTER',  # no priority
        'NODE "VI_1" MASTER 150',  # unknown type
        'GROUP "G" DELETED 0',  # DELETED only for instances
        'GROUP "G" MASTER_RX_LOWER_PRI 0',
        'INSTANCE "VI_1" MASTER 150 extra',
    ],
)
def test_malformed_lines_raise_a_typed_error_carrying_the_line(line: str) -> None:
    with pytest.raises(MalformedLine) as info:
        parse_line(line, seq=3)
    assert info.value.line == line and info.value.seq == 3
    assert repr(line) in str(info.value)


def test_a_malformed_line_loses_nothing_before_or_after() -> None:
    lines = ['INSTANCE "VI_1" BACKUP 100', "garbage", 'INSTANCE "VI_1" MASTER 100']
    out = list(parse_lines(lines))
    assert [type(x) for x in out] == [FifoRecord, MalformedLine, FifoRecord]
    assert [x.seq for x in out] == [1, 2, 3]


def test_reader_buffers_partial_lines_and_reports_bad_bytes() -> None:
    reader = FifoReader()
    assert reader.feed(b'INSTANCE "VI_1" BAC') == []
    got = reader.feed(b'KUP 100\n\xff\xfe\nINSTANCE "VI_1" MASTER 100\nINST')
    assert [(r.seq, r.state) for r in got] == [(1, "BACKUP"), (3, "MASTER")]
    assert len(reader.errors) == 1 and reader.errors[0].seq == 2
    assert [r.state for r in reader.feed(b'ANCE "VI_1" STOP 100\n')] == ["STOP"]


_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"'),
    min_size=1,
    max_size=64,
)


@given(
    st.sampled_from(["INSTANCE", "GROUP"]),
    _names,
    st.sampled_from(["BACKUP", "MASTER", "FAULT", "STOP"]),
    st.integers(0, 255),
)
def test_every_line_keepalived_writes_parses_back(
    typ: str, name: str, state: str, prio: int
) -> None:
    r = parse_line(f'{typ} "{name}" {state} {prio}')
    assert (r.type, r.name, r.state, r.priority) == (typ, name, state, prio)


@given(st.lists(st.text(max_size=40), max_size=20))
def test_reader_never_raises_and_counts_every_line(chunks: list[str]) -> None:
    reader = FifoReader()
    data = "\n".join(chunks).encode() + b"\n"
    records = reader.feed(data)
    lines = data.split(b"\n")[:-1]  # every line, blank ones too, gets a sequence number
    assert len(records) + len(reader.errors) == len(lines)
    assert sorted([r.seq for r in records] + [e.seq for e in reader.errors]) == list(
        range(1, len(lines) + 1)
    )


def test_fifo_lines_become_core_inputs_with_their_sequence_numbers() -> None:
    from adapters.keepalived import FifoIngest
    from hacore.roles import VrrpStatus

    ingest = FifoIngest(instance="VI_1")
    data = (
        b'INSTANCE "VI_1" BACKUP 150\n'
        b'GROUP "G1" BACKUP 0\n'
        b"junk\n"
        b'INSTANCE "VI_2" MASTER 100\n'
        b'INSTANCE "VI_1" MASTER 150\n'
        b'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n'
        b'INSTANCE "VI_1" MASTER_PRIORITY 120\n'
        b'INSTANCE "VI_1" DELETED 120\n'
    )
    got = ingest.feed(data, at_us=42)
    assert [(c.seq, c.input.state, c.input.priority) for c in got] == [
        (1, VrrpStatus.BACKUP, 150),
        (5, VrrpStatus.MASTER, 150),
        (6, VrrpStatus.MASTER, 150),
        (7, VrrpStatus.MASTER, 120),
        (8, VrrpStatus.STOP, 120),
    ]
    assert all(c.input.at == 42 for c in got)
    assert [e.line for e in ingest.errors] == ["junk"]


def test_master_rx_lower_pri_becomes_a_recorded_lower_priority_report() -> None:
    """The line reaches the core as its own input kind, and the core records it in the
    log even though the MASTER it implies is no news (an input deciding nothing would
    not be recorded at all)."""
    from adapters.keepalived import FifoIngest
    from hacore import events as ev
    from hacore import inputs as inp
    from hacore.config import ClusterConfig, NodeSpec
    from hacore.node import Node
    from hacore.roles import VrrpStatus

    ingest = FifoIngest(instance="VI_1")
    got = ingest.feed(
        b'INSTANCE "VI_1" MASTER 150\nINSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n', at_us=7
    )
    assert [type(c.input) for c in got] == [inp.VrrpReported, inp.VrrpLowerPriorityReported]
    lower = got[1].input
    assert (lower.state, lower.priority) == (VrrpStatus.MASTER, 150)

    config = ClusterConfig(nodes=(NodeSpec("n1", "10.0.0.1", 150), NodeSpec("n2", "10.0.0.2", 100)))
    node = Node(config, "n1")
    node.handle(got[0].input)
    before = len(list(node.log.records()))
    decision = node.handle(lower)
    assert [type(e) for e in decision.events] == [ev.VrrpLowerPriorityHeard]
    recorded = list(node.log.records())[before:]
    assert [r.type for r in recorded] == [
        inp.VrrpLowerPriorityReported.TYPE,
        ev.VrrpLowerPriorityHeard.TYPE,
    ]
    assert decision.state.vrrp == VrrpStatus.MASTER
