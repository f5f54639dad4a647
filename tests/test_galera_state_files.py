"""grastate.dat and the --wsrep-recover position: strict parsers with typed errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.galera.errors import StateFileError
from adapters.galera.state_files import (
    Position,
    parse_grastate,
    parse_recovered_position,
    read_grastate,
    set_safe_to_bootstrap,
)

UUID = "8bd8c5a0-a1f5-11ee-8b6e-2f0e1c6a8f21"
GOOD = f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID}\nseqno:   42\nsafe_to_bootstrap: 0\n"


def test_a_clean_grastate_parses() -> None:
    g = parse_grastate(GOOD)
    assert (g.version, g.uuid, g.seqno, g.safe_to_bootstrap) == ("2.1", UUID, 42, False)
    assert g.position == Position(UUID, 42) and g.position.known
    crashed = parse_grastate(GOOD.replace("42", "-1"))
    assert crashed.seqno == -1 and not crashed.position.known


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("seqno:   42", "seqno:   4x2"), 4, "not an integer"),
        (GOOD.replace("seqno:   42", "seqno:   -7"), 4, "below -1"),
        (GOOD.replace(UUID, "not-a-uuid"), 3, "not a UUID"),
        (GOOD.replace("safe_to_bootstrap: 0", "safe_to_bootstrap: yes"), 5, "not 0 or 1"),
        (GOOD + "seqno: 43\n", 6, "given twice"),
        (GOOD + "colour: red\n", 6, "unknown key"),
        (GOOD.replace("version: 2.1", "version 2.1"), 2, "key: value"),
        (GOOD.replace("version: 2.1", "version: two"), 2, "not N.M"),
        ("# GALERA saved state\nversion: 2.1\nuuid:    " + UUID[:10], 3, "truncated: no seqno"),
        ("# GALERA saved state\nversion: 2.1\n", 2, "truncated"),
    ],
)
def test_corrupt_or_truncated_grastate_names_file_and_line(
    text: str, line: int, words: str
) -> None:
    with pytest.raises(StateFileError, match=words) as info:
        parse_grastate(text, "/data/n1/grastate.dat")
    assert info.value.line == line
    assert str(info.value).startswith(f"/data/n1/grastate.dat:{line}: ")


def test_empty_grastate_is_truncated() -> None:
    with pytest.raises(StateFileError, match="truncated") as info:
        parse_grastate("", "g.dat")
    assert info.value.line is None


def test_read_grastate_missing_binary_and_present(tmp_path: Path) -> None:
    path = tmp_path / "grastate.dat"
    assert read_grastate(path) is None
    path.write_bytes(b"# GALERA\nversion: 2.1\n\xff\xfe\n")
    with pytest.raises(StateFileError, match=r"grastate.dat:3: not ASCII"):
        read_grastate(path)
    path.write_text(GOOD)
    state = read_grastate(path)
    assert state is not None and state.seqno == 42


def test_set_safe_to_bootstrap_is_idempotent_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "grastate.dat"
    path.write_text(GOOD)
    os.chmod(path, 0o640)
    assert set_safe_to_bootstrap(path).safe_to_bootstrap
    first = path.read_text()
    assert "safe_to_bootstrap: 1" in first and "seqno:   42" in first
    assert set_safe_to_bootstrap(path).safe_to_bootstrap
    assert path.read_text() == first
    assert path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(StateFileError, match="missing"):
        set_safe_to_bootstrap(tmp_path / "absent.dat")


LOG = (
    "2026-12-01 21:00:00 0 [Note] WSREP: Recovered position: {u}:7\n"
    "2026-12-01 21:05:00 0 [Note] InnoDB: Shutdown completed\n"
    "2026-12-01 21:10:00 0 [Note] WSREP: Recovered position: {u}:19\n"
)


def test_recovered_position_last_match_wins() -> None:
    assert parse_recovered_position(LOG.format(u=UUID)) == Position(UUID, 19)
    nil = "00000000-0000-0000-0000-000000000000"
    unknown = parse_recovered_position(f"x WSREP: Recovered position: {nil}:-1\n")
    assert not unknown.known


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("nothing here\n", None, "no 'WSREP: Recovered position'"),
        ("a\nWSREP: Recovered position: garbage\n", 2, "not UUID:SEQNO"),
        (f"WSREP: Recovered position: {UUID}:abc\n", 1, "not an integer"),
        (f"WSREP: Recovered position: {UUID[:-3]}:4\n", 1, "not a UUID"),
    ],
)
def test_bad_recovered_position_is_a_typed_error(text: str, line: int | None, words: str) -> None:
    with pytest.raises(StateFileError, match=words) as info:
        parse_recovered_position(text, "/n1/recover.log")
    assert info.value.line == line and info.value.path == "/n1/recover.log"
