"""Restore the replica into a temporary path, verify it, move it into place.

The temporary copy lives beside the database (same filesystem: ``os.replace``
is atomic). Verification: ``PRAGMA integrity_check`` is ``ok`` and the copy is
a kine datastore; the replica position (txid) comes back for the event. The
local ``-wal``/``-shm`` are moved aside before the swap: a stale WAL next to a
new database file would be replayed onto it, and litestream's local state
(``.NAME-litestream``) describes the old file, so it goes aside too.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from adapters.k3s.kine import KineSchemaError, check_schema
from adapters.litestream import command, outputs
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.errors import (
    LitestreamCommandError,
    LitestreamOutputError,
    ReplicaMissingError,
    RestoreVerificationError,
)

SIDECARS = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class RestoredCopy:
    path: Path
    txid: int


def restore_to(
    binary: str, config: LitestreamConfig, out: Path, *, timeout_s: float, own: bool = False
) -> RestoredCopy:
    """``litestream restore`` of the replica a promotion restores from (``own``:
    the one this node writes) into ``out`` (which must not exist), verified."""
    url = config.replica_url if own else config.restore_url
    try:
        result = command.run([binary, "restore", "-json", "-o", str(out), url], timeout_s=timeout_s)
    except LitestreamCommandError as exc:
        if "no matching backup files" in str(exc):
            raise ReplicaMissingError(
                f"replica {url} holds no backup: refusing to treat an empty database as restored"
            ) from None
        raise
    summary = outputs.parse_restore(result.stdout)
    if summary.db_path != str(out):
        raise LitestreamOutputError(f"restore wrote {summary.db_path!r}, asked for {str(out)!r}")
    verify(out)
    return RestoredCopy(out, summary.txid)


def verify(path: Path) -> None:
    """``integrity_check`` ok and kine's schema, or :class:`RestoreVerificationError`."""
    try:
        conn = sqlite3.connect(path, timeout=1.0)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                raise RestoreVerificationError(f"{path}: integrity_check says {rows[:5]}")
            check_schema(conn)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except KineSchemaError as exc:
        raise RestoreVerificationError(f"{path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise RestoreVerificationError(f"{path}: not a readable SQLite database ({exc})") from None
    for suffix in SIDECARS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def install(copy: Path, database: Path, aside: Path) -> None:
    """Put ``copy`` in place of ``database`` atomically; the old sidecars go to ``aside``."""
    aside.mkdir(mode=0o700, parents=True, exist_ok=True)
    for suffix in SIDECARS:
        side = Path(f"{database}{suffix}")
        if side.exists():
            os.replace(side, aside / f"{database.name}{suffix}")
    # litestream's own state about the old file would describe the wrong database.
    meta = database.parent / f".{database.name}-litestream"
    if meta.exists():
        os.replace(meta, aside / meta.name)
    os.replace(copy, database)
    fd = os.open(database.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
