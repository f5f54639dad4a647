"""kine's SQLite schema (k3s's datastore, ``state.db``) and the row reads the
adapters need: which objects a database holds, by content.

The schema is kine's own (github.com/k3s-io/kine, pkg/drivers/sqlite): one
table ``kine``, each row a revision of a key. Revisions are the ``id``s; two
sides of a split can both write revision 7 with different contents, so rows
are compared by content, never by id alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

KINE_COLUMNS = (
    "id",
    "name",
    "created",
    "deleted",
    "create_revision",
    "prev_revision",
    "lease",
    "value",
    "old_value",
)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS kine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name INTEGER,
        created INTEGER,
        deleted INTEGER,
        create_revision INTEGER,
        prev_revision INTEGER,
        lease INTEGER,
        value BLOB,
        old_value BLOB
    )""",
    "CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)",
    "CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)",
    "CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)",
    "CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex"
    " ON kine (name, prev_revision)",
)


class KineSchemaError(Exception):
    """The database is not a kine datastore (no ``kine`` table, or other columns)."""


@dataclass(frozen=True, slots=True, order=True)
class KineRow:
    id: int
    name: str
    created: int
    deleted: int
    create_revision: int
    prev_revision: int
    lease: int
    value: bytes | None
    old_value: bytes | None


def create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def check_schema(conn: sqlite3.Connection) -> None:
    """Raise :class:`KineSchemaError` unless table ``kine`` has kine's columns."""
    columns = tuple(str(r[1]) for r in conn.execute("PRAGMA table_info(kine)"))
    if not columns:
        raise KineSchemaError("no table 'kine': not a k3s (kine) datastore")
    if columns != KINE_COLUMNS:
        raise KineSchemaError(f"table 'kine' has columns {columns}, kine's are {KINE_COLUMNS}")


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open ``path`` read-only (never creating it), with a short busy timeout."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)


def _as_row(raw: tuple[object, ...]) -> KineRow:
    ints = raw[:1] + raw[2:7]
    if not all(isinstance(v, int) or v is None for v in ints):
        raise KineSchemaError(f"kine row {raw[0]!r}: non-integer revision fields")
    value, old = raw[7], raw[8]
    if not all(v is None or isinstance(v, bytes) for v in (value, old)):
        raise KineSchemaError(f"kine row {raw[0]!r}: value is not a blob")

    def num(v: object) -> int:
        return v if isinstance(v, int) else 0

    return KineRow(
        id=num(raw[0]),
        name=str(raw[1]),
        created=num(raw[2]),
        deleted=num(raw[3]),
        create_revision=num(raw[4]),
        prev_revision=num(raw[5]),
        lease=num(raw[6]),
        value=value if isinstance(value, bytes) else None,
        old_value=old if isinstance(old, bytes) else None,
    )


def read_rows(path: Path) -> frozenset[KineRow]:
    """Every row of ``path``'s kine table; an absent file holds none."""
    if not path.exists():
        return frozenset()
    conn = open_readonly(path)
    try:
        check_schema(conn)
        cols = ", ".join(KINE_COLUMNS)
        return frozenset(_as_row(tuple(r)) for r in conn.execute(f"SELECT {cols} FROM kine"))
    finally:
        conn.close()


def insert_object(conn: sqlite3.Connection, name: str, value: bytes) -> int:
    """Create one object the way kine does (a revision row); returns its revision."""
    cur = conn.execute(
        "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value,"
        " old_value) VALUES (?, 1, 0, 0, 0, 0, ?, NULL)",
        (name, value),
    )
    conn.commit()
    rev = cur.lastrowid
    if rev is None:
        raise KineSchemaError("insert returned no revision")
    return rev


def latest_revision(path: Path) -> int:
    """kine's current revision (its largest row id) in ``path``; 0 for none."""
    if not path.exists():
        return 0
    conn = open_readonly(path)
    try:
        check_schema(conn)
        (rev,) = conn.execute("SELECT MAX(id) FROM kine").fetchone()
    finally:
        conn.close()
    if rev is not None and not isinstance(rev, int):
        raise KineSchemaError(f"kine's largest id is {rev!r}, not an integer")
    return rev or 0
