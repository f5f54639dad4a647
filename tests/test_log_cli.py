"""``hacore log verify | show | replay`` through the real dispatcher."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive

from adapters.store import SqliteStore
from hacli.main import main
from hacore.config import ClusterConfig
from hacore.node import Node
from hacore.roles import Mode


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    with SqliteStore.open(str(db), config=CONFIG) as store:
        for name in ("a", "b"):
            node = Node(CONFIG, name, store.log_for(name))
            for _ in drive(node, 40, seed=ord(name)):
                pass
    return db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_passes_an_intact_store(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "log", "verify", str(store_file))
    assert code == 0
    assert "2 of 2 node logs verify" in out


def test_verify_names_the_node_and_first_bad_seq(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(store_file, isolation_level=None)
    conn.execute("UPDATE records SET epoch = epoch + 1 WHERE node = 'b' AND seq = 17")
    conn.close()
    code, out, _ = run(capsys, "log", "verify", str(store_file))
    assert code == 1
    assert "node b: first bad seq 17 (corrupt)" in out
    assert "ok   node a" in out


def test_verify_tells_a_torn_tail_apart(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(store_file, isolation_level=None)
    (last,) = conn.execute("SELECT max(last_seq) FROM batches WHERE node = 'a'").fetchone()
    conn.execute("DELETE FROM batches WHERE node = 'a' AND last_seq = ?", (last,))
    conn.close()
    code, out, _ = run(capsys, "log", "verify", str(store_file))
    assert code == 1
    assert "node a: first bad seq" in out and "(torn tail)" in out


@pytest.mark.parametrize("content", [b"", b"plain text, no database here" * 50])
def test_verify_exits_2_when_the_file_is_not_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(content)
    code, _, err = run(capsys, "log", "verify", str(junk))
    assert code == 2
    assert "not" in err
    assert junk.read_bytes() == content  # verify never writes


def test_verify_exits_2_for_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "log", "verify", str(tmp_path / "none.db"))
    assert code == 2
    assert "no such store" in err
    assert not (tmp_path / "none.db").exists()


def test_show_prints_a_table_filtered_by_node_and_since(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "log", "show", str(store_file), "--node", "b", "--since", "5")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["node", "seq", "epoch"]
    assert all(line.split()[0] == "b" for line in lines[1:])
    assert [int(line.split()[1]) for line in lines[1:3]] == [5, 6]
    ats = [line.split()[3:5] for line in lines[1:]]
    assert all(re.fullmatch(r"\d+\.\d{3}", at) and unit == "s" for at, unit in ats), ats


def test_show_json_lines_parse_and_carry_every_field(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "log", "show", str(store_file), "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    with SqliteStore.open(str(store_file), readonly=True) as store:
        expected = [r for n in store.nodes() for r in store.records(n)]
    assert [(r["node"], r["seq"], r["hash"]) for r in rows] == [
        (r.node, r.seq, r.hash) for r in expected
    ]
    assert set(rows[0]) == {"node", "seq", "epoch", "at", "kind", "type", "v", "payload", "hash"}


def test_show_an_unknown_node_is_bad_usage(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "log", "show", str(store_file), "--node", "zz")
    assert code == 2
    assert "no log for node 'zz'" in err


def test_replay_prints_the_final_state_of_each_node(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SqliteStore.open(str(store_file), readonly=True) as store:
        states = {n: store.replay(n) for n in store.nodes()}
    code, out, _ = run(capsys, "log", "replay", str(store_file))
    assert code == 0, out
    for name, state in states.items():
        row = next(line for line in out.splitlines() if line.startswith(f"| {name} "))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2:5] == [str(state.role), str(state.epoch), str(state.vrrp)]
        assert cells[-1] == "ok"


def test_replay_exits_1_when_re_deciding_differs(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same logs judged under another mode: safety-first decides differently.
    with SqliteStore.open(str(store_file)) as store:
        store.set_config(ClusterConfig(CONFIG.nodes, mode=Mode.SAFETY_FIRST))
    code, out, _ = run(capsys, "log", "replay", str(store_file), "--node", "a")
    assert code == 1
    assert "MISMATCH node a: input seq" in out


def test_replay_exits_1_when_a_log_does_not_verify(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(store_file, isolation_level=None)
    conn.execute("DELETE FROM records WHERE node = 'a' AND seq = 2")
    conn.close()
    code, out, _ = run(capsys, "log", "replay", str(store_file))
    assert code == 1
    assert "node a: first bad seq 2" in out


def test_replay_without_a_stored_config_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    with SqliteStore.open(str(db)) as store:
        node = Node(CONFIG, "a", store.log_for("a"))
        for _ in drive(node, 5):
            pass
    code, _, err = run(capsys, "log", "replay", str(db))
    assert code == 2
    assert "no cluster configuration" in err


def test_log_without_a_subcommand_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "log")
    assert code == 2
