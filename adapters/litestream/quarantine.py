"""Local objects the replica does not hold, copied aside before a restore.

A quarantine is a full copy of the local database (SQLite backup API, so the
WAL's content is in it) plus a receipt naming the rows the replica lacked;
the receipt is written last, so a receipt means a complete copy. Rows are
compared by content (a split's two sides can write the same revision id).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from adapters.k3s.kine import KineRow, read_rows
from adapters.litestream.errors import LitestreamError


@dataclass(frozen=True, slots=True)
class Receipt:
    key: str
    replica_txid: int | None  # None: the replica held no backup at all
    row_ids: tuple[int, ...]
    copy: str  # the database copy's file name in the quarantine dir


def _stem(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Quarantine:
    root: Path

    def receipt(self, key: str) -> Receipt | None:
        path = self.root / f"{_stem(key)}.json"
        try:
            raw = json.loads(path.read_text())
            return Receipt(
                key=str(raw["key"]),
                replica_txid=None if raw["replica_txid"] is None else int(raw["replica_txid"]),
                row_ids=tuple(int(i) for i in raw["row_ids"]),
                copy=str(raw["copy"]),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise LitestreamError(f"{path}: unreadable quarantine receipt ({exc})") from None

    def receipts(self) -> list[Receipt]:
        if not self.root.exists():
            return []
        out = []
        for path in sorted(self.root.glob("*.json")):
            raw_key = json.loads(path.read_text()).get("key")
            got = self.receipt(str(raw_key))
            if got is not None:
                out.append(got)
        return out

    def kept_rows(self) -> set[KineRow]:
        """Every row some quarantine copy holds."""
        kept: set[KineRow] = set()
        for r in self.receipts():
            kept |= read_rows(self.root / r.copy)
        return kept

    def receipted_rows(self) -> set[KineRow]:
        """The rows the receipts name: what was set aside for being newer than
        the replica (each copy holds the whole database besides)."""
        named: set[KineRow] = set()
        for r in self.receipts():
            ids = set(r.row_ids)
            named |= {row for row in read_rows(self.root / r.copy) if row.id in ids}
        return named

    def keep(self, key: str, database: Path, rows: Iterable[KineRow], txid: int | None) -> Receipt:
        """Copy ``database`` aside and record ``rows`` (idempotent per key)."""
        done = self.receipt(key)
        if done is not None:
            return done
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{_stem(key)}.sqlite"
        tmp = self.root / f"{name}.tmp"
        tmp.unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1.0)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, self.root / name)
        receipt = Receipt(key, txid, tuple(sorted(r.id for r in rows)), name)
        body = {
            "key": receipt.key,
            "replica_txid": receipt.replica_txid,
            "row_ids": list(receipt.row_ids),
            "copy": receipt.copy,
        }
        rtmp = self.root / f"{_stem(key)}.json.tmp"
        rtmp.write_text(json.dumps(body, sort_keys=True) + "\n")
        os.replace(rtmp, self.root / f"{_stem(key)}.json")
        return receipt
