"""Damaged and mutated store files: typed errors, never a traceback (issue 15).

The fuzz test takes a small real store (two node logs written by the core
through ``Node``, the cluster configuration in ``meta``), damages a copy
(flipped bytes, a truncation, a cell of any table set to a value of any
SQLite type: invalid UTF-8 text, a blob, a huge or negative integer, NULL)
and runs ``hacore log verify``, ``show`` and ``replay`` on it through the
real dispatcher. Oracle: each command returns 0, 1 or 2 with no exception
and no traceback; and ``verify`` exits 0 only when what it vouches for (the
records, the commit markers, the stored config) is what was written.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from boundary_fuzz import ACCEPTED, FAST, SLOW, TYPED_ERROR, tally
from crash_writer import CONFIG, drive
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store import NotAStoreError, SqliteStore, StoreError
from adapters.store.config_json import config_to_json
from hacli.main import main
from hacore.node import Node

_TEMPLATE: dict[str, bytes] = {}


def _template() -> bytes:
    """The bytes of a small valid store (built once per process, checkpointed)."""
    if "db" not in _TEMPLATE:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.db")
            with SqliteStore.open(path, config=CONFIG) as store:
                for name in ("a", "b"):
                    node = Node(CONFIG, name, store.log_for(name))
                    for _ in drive(node, 12, seed=ord(name)):
                        pass
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
            conn.close()
            _TEMPLATE["db"] = Path(path).read_bytes()
    return _TEMPLATE["db"]


def _content(path: str) -> Any:
    """What verify vouches for, read plainly; None when SQLite cannot read it."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.text_factory = bytes
        try:
            return [
                conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("records", "batches", "meta")
            ]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# -- the examples -------------------------------------------------------------


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.db"
    path.write_bytes(_template())
    return path


def _set(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(sql)
    conn.close()


def test_a_crash_between_wal_and_schema_leaves_a_store_that_opens(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")  # creation got this far, then the crash
    conn.close()
    assert path.stat().st_size > 0
    with pytest.raises(NotAStoreError):  # read-only: nothing to read, and it says so
        SqliteStore.open(str(path), readonly=True)
    with SqliteStore.open(str(path), config=CONFIG) as store:
        assert store.nodes() == [] and store.config == CONFIG
    with SqliteStore.open(str(path), readonly=True) as store:
        assert store.config == CONFIG


def test_the_async_store_recovers_the_same_half_created_file(tmp_path: Path) -> None:
    import asyncio

    from adapters.store.aio import AsyncSqliteStore

    path = tmp_path / "half.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()

    async def go() -> list[str]:
        store = await AsyncSqliteStore.open(str(path), config=CONFIG)
        try:
            return await store.nodes()
        finally:
            await store.close()

    assert asyncio.run(go()) == []


def test_a_failing_commit_of_a_read_does_not_hide_the_damage(store_file: Path) -> None:
    class Damaged:
        """The connection of a damaged file: reads fail, and so does ending the read."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn
            self.in_transaction = True

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT" or sql.startswith("SELECT seq"):
                raise sqlite3.DatabaseError("database disk image is malformed")
            return self._conn.execute(sql, *args)

    store = SqliteStore.open(str(store_file), verify=False)
    real = store._conn
    store._conn = Damaged(real)  # type: ignore[assignment]
    try:
        with pytest.raises(StoreError) as info:
            store._verify_on_open(repair=False)
        assert "read node" in str(info.value)  # the read's error, typed, not COMMIT's
    finally:
        store._conn = real
        store.close()


@pytest.mark.parametrize("command", ["verify", "show", "replay"])
def test_invalid_utf8_in_a_text_column_is_a_failed_check(store_file: Path, command: str) -> None:
    _set(store_file, "UPDATE records SET payload = CAST(x'ff' AS TEXT) WHERE seq = 3")
    code, out, err = run_cli("log", command, str(store_file))
    assert code == 1, (out, err)
    assert "not UTF-8" in out + err and "Traceback" not in out + err


def test_a_schema_name_that_is_not_utf8_is_damage_not_a_traceback(store_file: Path) -> None:
    conn = sqlite3.connect(store_file, isolation_level=None)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET name = CAST(x'6e6fff' AS TEXT) WHERE name = 'nodes'")
    conn.close()
    for command in ("verify", "show", "replay"):
        code, out, err = run_cli("log", command, str(store_file))
        assert code in (1, 2) and "not UTF-8" in out + err, (command, out, err)
        assert "Traceback" not in out + err


def test_a_wrongly_typed_column_names_the_record(store_file: Path) -> None:
    _set(store_file, "UPDATE records SET seq = 'x' WHERE node = 'a' AND seq = 5")
    code, out, _ = run_cli("log", "verify", str(store_file))
    assert code == 1
    assert "column seq holds str" in out


def test_verify_checks_the_stored_configuration(store_file: Path) -> None:
    bad = config_to_json(CONFIG).replace('"10.0.0.2"', '"10.0.0.1"')  # two nodes, one address
    assert bad != config_to_json(CONFIG)
    _set(store_file, f"UPDATE meta SET value = '{bad}' WHERE key = 'config'")
    code, out, _ = run_cli("log", "verify", str(store_file))
    assert code == 1
    assert "FAIL stored cluster configuration" in out and "duplicate node addresses" in out


def test_verify_refuses_a_meta_key_it_never_writes(store_file: Path) -> None:
    _set(store_file, "UPDATE meta SET key = 'conf' WHERE key = 'config'")
    code, out, _ = run_cli("log", "verify", str(store_file))
    assert code == 1 and "never writes" in out


@pytest.mark.parametrize("value", ["'" + "9" * 5000 + "'", "'" + "[" * 3000 + "'", "'[]'", "1"])
def test_replay_with_a_bad_stored_config_is_a_clear_error(store_file: Path, value: str) -> None:
    _set(store_file, f"UPDATE meta SET value = {value} WHERE key = 'config'")
    code, out, err = run_cli("log", "replay", str(store_file))
    assert code == 2 and "config" in err and "Traceback" not in out + err


def test_verify_asks_sqlite_about_its_b_trees_too(tmp_path: Path) -> None:
    """Found by the slow fuzz run: four zeroed bytes made a keyed lookup and a full
    scan of ``batches`` disagree; the chain verified what the lookups returned,
    ``PRAGMA integrity_check`` does not pass it."""
    check_store(tmp_path, (((24, 0), (15, 0), (15, 0), (24214, 0)), None, ()))


# -- fuzz: whole files -------------------------------------------------------------------


_CELLS = st.sampled_from(
    [
        ("records", "payload"),
        ("records", "type"),
        ("records", "kind"),
        ("records", "node"),
        ("records", "seq"),
        ("records", "epoch"),
        ("records", "at"),
        ("records", "v"),
        ("records", "hash"),
        ("records", "prev_hash"),
        ("batches", "last_seq"),
        ("batches", "first_seq"),
        ("batches", "head_hash"),
        ("batches", "node"),
        ("meta", "value"),
        ("meta", "key"),
        ("nodes", "node"),
    ]
)
_SQL_VALUES = st.sampled_from(
    [
        "NULL",
        "CAST(x'ff' AS TEXT)",
        "CAST(x'c3' AS TEXT)",
        "x'00ff'",
        "9223372036854775807",
        "-9223372036854775808",
        "-1",
        "0",
        "1.5",
        "''",
        "'x'",
        "'{}'",
        "'[]'",
        "'a'",
        "'" + "9" * 5000 + "'",
        "'" + "[" * 3000 + "'",
        "'{\"nodes\":[]}'",
        "'event'",
        "'input'",
    ]
)


Damage = tuple[tuple[tuple[int, int], ...], int | None, tuple[tuple[str, str, str, int], ...]]


@st.composite
def damaged(draw: st.DrawFn) -> Damage:
    """(byte edits (offset, value), truncation length or None, cell updates) — small to print."""
    size = len(_template())
    if draw(st.booleans()):
        edits = tuple(
            (draw(st.integers(0, size - 1)), draw(st.integers(0, 255)))
            for _ in range(draw(st.integers(1, 6)))
        )
        cut = draw(st.integers(0, size)) if draw(st.integers(0, 4)) == 0 else None
        return (edits, cut, ())
    updates = tuple(
        (table, column, draw(_SQL_VALUES), draw(st.integers(0, 40)))
        for table, column in draw(st.lists(_CELLS, min_size=1, max_size=2))
    )
    return ((), None, updates)


def check_store(tmp: Path, case: Damage) -> None:
    edits, cut, updates = case
    data = bytearray(_template())
    for offset, value in edits:
        data[offset] = value
    if cut is not None:
        del data[cut:]
    path = tmp / "s.db"
    for suffix in ("", "-wal", "-shm", "-lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(data)
    if updates:
        conn = sqlite3.connect(path, isolation_level=None)
        for table, column, literal, row in updates:
            with contextlib.suppress(sqlite3.IntegrityError):  # NOT NULL, UNIQUE: not applied
                _update(conn, table, column, literal, row)
        conn.close()
    original = _content_of_template()
    codes = {}
    for command in ("verify", "show", "replay"):
        code, out, err = run_cli("log", command, str(path))
        assert code in (0, 1, 2), (command, code, err)
        assert "Traceback" not in err + out
        codes[command] = code
    if codes["verify"] == 0:
        assert _content(str(path)) == original, "verify passed a store that was changed"
    tally("store files (log verify/show/replay)", ACCEPTED if codes["verify"] == 0 else TYPED_ERROR)


def _update(conn: sqlite3.Connection, table: str, column: str, value: str, row: int) -> None:
    """Set one cell (the row-th row of the table) to an SQL literal."""
    key = "rowid" if table == "nodes" else ", ".join(_KEYS[table])
    conn.execute(
        f"UPDATE {table} SET {column} = {value} WHERE ({key}) "
        f"IN (SELECT {key} FROM {table} LIMIT 1 OFFSET {row})"
    )


_KEYS = {"records": ("node", "seq"), "batches": ("node", "last_seq"), "meta": ("key",)}
_ORIGINAL: dict[str, Any] = {}


def _content_of_template() -> Any:
    if "content" not in _ORIGINAL:
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.db")
            Path(p).write_bytes(_template())
            _ORIGINAL["content"] = _content(p)
    return _ORIGINAL["content"]


# Each input runs three CLI commands on a fresh file (~0.3 s): 60 in the default
# run, 2,000 in the slow one.
FAST_STORE = settings(FAST, max_examples=60)
SLOW_STORE = settings(SLOW, max_examples=2_000)


@FAST_STORE
@given(damaged())
def test_fuzz_store_files(tmp_path_factory: pytest.TempPathFactory, case: Any) -> None:
    check_store(tmp_path_factory.mktemp("st"), case)


@pytest.mark.slow
@SLOW_STORE
@given(damaged())
def test_fuzz_store_files_slow(tmp_path_factory: pytest.TempPathFactory, case: Any) -> None:
    check_store(tmp_path_factory.mktemp("st"), case)
