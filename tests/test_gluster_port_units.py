"""The Gluster adapter's pieces that need no glusterd: the volume info parser (on
documents a real glusterd 10.3 printed), the quarantine's receipts and
refusals, brick paths, and the port's deadline handling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.gluster.cli import GlusterCli
from adapters.gluster.copies import NotAFile, Unreadable, local_path, read_local_brick
from adapters.gluster.errors import GlusterOpError, GlusterXmlError
from adapters.gluster.port import GlusterPortAdapter
from adapters.gluster.quarantine import Quarantine, QuarantineError
from adapters.gluster.split_brain import Entries
from adapters.gluster.volume_info import parse_volume_info
from hacore.ports import Failed, Uncertain

CAPTURED = Path(__file__).parent / "data" / "gluster" / "captured"


def test_volume_info_lists_the_bricks_in_order_and_names_their_clients() -> None:
    info = parse_volume_info((CAPTURED / "volume-info-ok.xml").read_text())
    assert info.name == "gv0" and info.replica_count == 2
    assert [b.split(":")[0] for b in info.bricks] == ["10.77.0.1", "10.77.0.2"]
    assert info.client_of(info.bricks[1]) == "gv0-client-1"
    with pytest.raises(GlusterXmlError, match="not a brick"):
        info.client_of("10.0.0.9:/nowhere")


def test_volume_info_errors_are_typed() -> None:
    with pytest.raises(GlusterOpError, match="Volume does not exist"):
        parse_volume_info((CAPTURED / "volume-info-error.xml").read_text())
    text = (CAPTURED / "volume-info-ok.xml").read_text()
    with pytest.raises(GlusterXmlError, match="brickCount"):
        parse_volume_info(text.replace("<brickCount>2</brickCount>", "<brickCount>3</brickCount>"))
    with pytest.raises(GlusterXmlError, match="malformed"):
        parse_volume_info(text[: len(text) // 2])


def test_a_copy_is_kept_once_by_content(tmp_path: Path) -> None:
    q = Quarantine(tmp_path / "q")
    assert q.keep("/f", "h:/b", b"one", "k1")
    assert not q.keep("/f", "h:/b", b"one", "k2")  # same content: nothing copied twice
    assert q.keep("/f", "h:/b", b"two", "k3")  # new content is a new copy
    assert [(r.entry, r.size, r.key) for r in q.receipts()] == [("/f", 3, "k1"), ("/f", 3, "k3")]
    assert {q.copy_of(r) for r in q.receipts()} == {b"one", b"two"}
    assert os.stat(tmp_path / "q").st_mode & 0o777 == 0o700


def test_a_quarantine_others_can_write_or_a_planted_link_is_refused(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    os.chmod(open_dir, 0o777)
    with pytest.raises(QuarantineError, match="not ours alone"):
        Quarantine(open_dir).keep("/f", "h:/b", b"x", "k")
    linked = tmp_path / "linked"
    (linked / "copies").mkdir(parents=True, mode=0o700)
    os.chmod(linked, 0o700)
    (linked / "receipts.jsonl").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(QuarantineError, match="symbolic link"):
        Quarantine(linked).receipts()


def test_brick_paths_stay_inside_the_brick(tmp_path: Path) -> None:
    gfid = "0123abcd-0000-4000-8000-00000000beef"
    assert local_path(tmp_path, f"<gfid:{gfid}>") == tmp_path / ".glusterfs" / "01" / "23" / gfid
    assert local_path(tmp_path, "/d/f.txt") == tmp_path / "d" / "f.txt"
    for bad in ("/../etc/passwd", "relative", "<gfid:nothex>"):
        with pytest.raises(Unreadable):
            local_path(tmp_path, bad)
    (tmp_path / "d").mkdir()
    for directory in ("/d", "/"):
        with pytest.raises(NotAFile):
            read_local_brick(tmp_path, directory)
    (tmp_path / "link").symlink_to("/etc/hostname")
    with pytest.raises(NotAFile):
        read_local_brick(tmp_path, "/link")


def test_split_files_leave_out_the_root_and_repeat_nothing() -> None:
    e = Entries(pending={"a": ("/", "/x")}, split={"a": ("/", "/x"), "b": ("/x", "/y")})
    assert e.split_files() == ("/x", "/y")
    assert not e.clean()
    assert Entries({"a": ()}, {"a": ()}).clean()


def _port(tmp_path: Path, binary: str) -> GlusterPortAdapter:
    return GlusterPortAdapter(
        cli=GlusterCli(binary=binary),
        volume="gv0",
        brick="h:/b",
        brick_path=tmp_path,
        mount=str(tmp_path),
        quarantine_root=tmp_path / "q",
        clock_us=lambda: 1_000_000,
    )


def test_a_passed_deadline_is_uncertain_without_running_anything(tmp_path: Path) -> None:
    port = _port(tmp_path, "/nonexistent/gluster")
    for call in (port.probe, port.heal, port.resync, port.quarantine_losing_copy):
        outcome = call(key="k", deadline=1_000_000)
        assert isinstance(outcome, Uncertain) and "deadline" in outcome.reason


def test_a_cli_that_answers_garbage_is_uncertain_and_a_refusal_is_failed(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("#!/bin/sh\necho not xml\n")
    garbage.chmod(0o755)
    outcome = _port(tmp_path, str(garbage)).probe(key="k", deadline=60_000_000)
    assert isinstance(outcome, Uncertain) and "unreadable answer" in outcome.reason
    refusing = tmp_path / "refusing"
    error = (CAPTURED / "volume-status-error.xml").read_text()
    refusing.write_text(f"#!/bin/sh\ncat <<'EOF'\n{error}\nEOF\n")
    refusing.chmod(0o755)
    outcome = _port(tmp_path, str(refusing)).probe(key="k", deadline=60_000_000)
    assert isinstance(outcome, Failed) and "opRet" in outcome.reason
