"""Strict parsers of gluster's --xml outputs, on documents a real glusterd 10.3
printed (tests/data/gluster/captured/) and hand-written ones for the cases not
captured (tests/data/gluster/*.xml; see its README)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.gluster.errors import GlusterError, GlusterOpError, GlusterXmlError
from adapters.gluster.heal_info import (
    BrickEntries,
    parse_heal_info,
    parse_heal_summary,
    parse_split_brain,
)
from adapters.gluster.volume_status import parse_volume_status

DATA = Path(__file__).parent / "data" / "gluster"


def doc(name: str) -> str:
    return (DATA / name).read_text()


def test_volume_status_tells_bricks_from_daemons_and_finds_the_dead_brick() -> None:
    (vol,) = parse_volume_status(doc("volume-status-one-dead-brick.xml"))
    assert vol.name == "gv0"
    assert [(b.hostname, b.online, b.port, b.pid) for b in vol.bricks] == [
        ("10.77.0.1", True, 49152, 4242),
        ("10.77.0.2", False, None, None),
    ]
    assert [d.hostname for d in vol.daemons] == ["Self-heal Daemon"]
    assert [b.hostname for b in vol.dead_bricks()] == ["10.77.0.2"]


def test_an_error_answer_is_an_op_error_whatever_the_exit_code() -> None:
    with pytest.raises(GlusterOpError, match="does not exist") as err:
        parse_volume_status(doc("volume-status-error.xml"))
    assert (err.value.op_ret, err.value.op_errno) == (-1, 30800)


def test_heal_info_keeps_a_dead_brick_unknown_not_zero() -> None:
    live, dead = parse_heal_info(doc("heal-info-dead-brick.xml"))
    assert live.reachable and live.files == ("/a.txt", "/dir/b.txt") and live.count == 2
    assert not dead.reachable and dead.host_uuid is None and dead.count is None
    assert dead.status == "Transport endpoint is not connected"


def test_split_brain_lists_the_same_file_on_both_bricks() -> None:
    bricks = parse_split_brain(doc("heal-info-split-brain.xml"))
    assert [b.files for b in bricks] == [("/same.txt",), ("/same.txt",)]


def test_summary_counts() -> None:
    (b,) = parse_heal_summary(doc("heal-info-summary.xml"))
    assert (b.total, b.heal_pending, b.split_brain, b.possibly_healing) == (3, 2, 1, 0)


def test_a_malformed_summary_for_an_unreachable_brick_is_a_typed_error() -> None:
    with pytest.raises(GlusterXmlError, match="malformed XML"):
        parse_heal_summary(doc("heal-info-summary-unreachable-malformed.xml"))


def test_a_summary_with_dash_counts_is_a_typed_error() -> None:
    text = doc("heal-info-summary.xml").replace(
        "<numberOfEntriesInSplitBrain>1<", "<numberOfEntriesInSplitBrain>-<"
    )
    with pytest.raises(GlusterXmlError, match="unreachable"):
        parse_heal_summary(text)


STATUS = "volume-status-one-dead-brick.xml"
HEAL = "heal-info-dead-brick.xml"


@pytest.mark.parametrize(
    ("parse", "name", "old", "new", "message"),
    [
        (parse_volume_status, STATUS, "<opRet>0</opRet>", "", "0 <opRet>"),
        (parse_volume_status, STATUS, "<opRet>0</opRet>", "<opRet>x</opRet>", "not an integer"),
        (parse_volume_status, STATUS, "<nodeCount>3<", "<nodeCount>2<", "nodeCount 2"),
        (parse_volume_status, STATUS, "<status>0</status>", "<status>2</status>", "0 or 1"),
        (parse_volume_status, STATUS, "<pid>4242</pid>", "<pid>many</pid>", "neither"),
        (parse_volume_status, STATUS, "<cliOutput>", "<cli>", "malformed XML"),
        (parse_heal_info, HEAL, "<numberOfEntries>2<", "<numberOfEntries>3<", "numberOfEntries 3"),
        (parse_heal_info, HEAL, 'hostUuid="-"', "", "without a hostUuid"),
        (parse_heal_info, HEAL, "<numberOfEntries>-<", "<numberOfEntries>1<", "hostUuid '-'"),
        (parse_heal_info, HEAL, "<numberOfEntries>2<", "<numberOfEntries>two<", "neither"),
        (
            parse_heal_info,
            HEAL,
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
            '<!DOCTYPE x [<!ENTITY a "b">]>',
            "DTD",
        ),
    ],
)
def test_damaged_documents_are_typed_errors(
    parse: Callable[[str], object], name: str, old: str, new: str, message: str
) -> None:
    text = doc(name)
    assert old in text
    with pytest.raises(GlusterError, match=message):
        parse(text.replace(old, new, 1))


# ----------------------------------------- documents from a real glusterd ----

CAPTURED = DATA / "captured"


def captured(name: str) -> str:
    return (CAPTURED / name).read_text()


def test_captured_volume_status_shows_the_sigkilled_brick_dead() -> None:
    (ok,) = parse_volume_status(captured("volume-status-ok.xml"))
    assert [b.online for b in ok.bricks] == [True, True] and not ok.daemons
    (dead,) = parse_volume_status(captured("volume-status-dead-brick.xml"))
    assert [(b.path.rsplit("/", 1)[1], b.online, b.pid) for b in dead.bricks] == [
        ("b1", True, 9437),
        ("b2", False, None),
    ]


def test_captured_error_is_an_op_error_though_the_cli_exited_0() -> None:
    with pytest.raises(GlusterOpError, match="Volume nosuch does not exist"):
        parse_volume_status(captured("volume-status-error.xml"))


@pytest.mark.parametrize(
    ("parse", "dead_doc"),
    [
        (parse_heal_info, "heal-info-dead-brick.xml"),
        (parse_split_brain, "heal-info-split-brain-dead-brick.xml"),
    ],
)
def test_captured_heal_info_marks_the_dead_brick_unknown(
    parse: Callable[[str], tuple[BrickEntries, ...]], dead_doc: str
) -> None:
    healthy = parse(captured(dead_doc.replace("dead-brick", "ok")))
    assert [(b.reachable, b.count) for b in healthy] == [(True, 0), (True, 0)]
    live, dead = parse(captured(dead_doc))
    assert (live.reachable, live.count) == (True, 0)
    assert (dead.reachable, dead.host_uuid, dead.count) == (False, None, None)


def test_captured_summary_parses_when_healthy_and_is_refused_with_a_dead_brick() -> None:
    assert [b.total for b in parse_heal_summary(captured("heal-info-summary-ok.xml"))] == [0, 0]
    with pytest.raises(GlusterXmlError, match="totalNumberOfEntries"):
        parse_heal_summary(captured("heal-info-summary-dead-brick.xml"))
