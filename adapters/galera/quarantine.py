"""Quarantine: a logical dump of the business schemas before a split-brain loser discards.

Divergence cannot be found by GTID or seqno (both sides of a split number their
own writes with the same ``uuid:seqno``), so the loser preserves *content*:
every row of every business table, read in one consistent snapshot (with
``wsrep_dirty_reads`` so that a non-Primary node can be read too), as JSON
lines per table plus the ``CREATE TABLE`` statements. The dump is written
into a hidden directory, then renamed to ``epoch-E_node-N_TIME``: a directory
with that name is complete. ``receipt.json`` (written last) lists each file's
SHA-256 and row count; :func:`verify` re-checks them, and the forced-SST rejoin
refuses to remove anything without a verified receipt.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql.err

from adapters.galera.credentials import Credentials
from adapters.galera.errors import QuarantineError
from adapters.galera.sql import Endpoint, SqlUnavailable, _classify, connect

_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


@dataclass(frozen=True, slots=True)
class Receipt:
    directory: Path
    node: str
    epoch: int
    rows: dict[str, int]  # "schema.table" -> row count
    # wsrep_last_committed read inside the dump's snapshot: a node that committed
    # more since then holds writes this dump does not have (-1: not recorded)
    committed: int = -1

    @property
    def name(self) -> str:
        return self.directory.name


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes | bytearray):
        return {"hex": bytes(v).hex()}
    if isinstance(v, dt.datetime | dt.date | dt.time | dt.timedelta):
        return str(v)
    return str(v)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _write(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())


def quarantine(
    endpoint: Endpoint,
    creds: Credentials,
    *,
    schemas: Sequence[str],
    root: Path,
    node: str,
    epoch: int,
    now: dt.datetime,
    timeout: float = 30.0,
    committed: int | None = None,
) -> Receipt:
    """Dump ``schemas`` of the node at ``endpoint``. ``committed``: the position the
    dump covers when the server cannot say (a stopped node read by a standalone start:
    its recovered seqno); None: ``wsrep_last_committed`` inside the snapshot."""
    for s in schemas:
        if not _NAME.match(s):
            raise QuarantineError(f"quarantine: schema name {s!r} is not a plain identifier")
    if not _NAME.match(node.replace("-", "_")):
        raise QuarantineError(f"quarantine: node name {node!r} is not a plain identifier")
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    final = root / f"epoch-{epoch}_node-{node}_{stamp}"
    partial = root / f".partial-{final.name}"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial.mkdir(mode=0o700)
    files: dict[str, str] = {}
    rows: dict[str, int] = {}
    try:
        conn = connect(endpoint, creds, timeout)
    except SqlUnavailable as exc:
        raise QuarantineError(f"quarantine of {node}: cannot dump ({exc})") from None
    try:
        with conn.cursor() as cur:
            if committed is None:
                cur.execute("SET SESSION wsrep_dirty_reads=ON")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            if committed is None:
                cur.execute("SHOW STATUS LIKE 'wsrep_last_committed'")
                row = cur.fetchone()
                committed = int(str(row[1])) if row is not None else -1
            for schema in schemas:
                cur.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema=%s AND table_type='BASE TABLE' ORDER BY table_name",
                    (schema,),
                )
                tables = [str(r[0]) for r in cur.fetchall()]
                ddl: list[str] = []
                for table in tables:
                    cur.execute(f"SHOW CREATE TABLE `{schema}`.`{table}`")
                    ddl.append(str(cur.fetchone()[1]) + ";\n")
                    cur.execute(f"SELECT * FROM `{schema}`.`{table}`")
                    cols = [d[0] for d in cur.description or ()]
                    out = [
                        json.dumps(
                            {c: _json_value(v) for c, v in zip(cols, r, strict=True)},
                            sort_keys=True,
                        )
                        + "\n"
                        for r in cur.fetchall()
                    ]
                    fname = f"{schema}.{table}.jsonl"
                    _write(partial / fname, out)
                    files[fname] = _sha256(partial / fname)
                    rows[f"{schema}.{table}"] = len(out)
                _write(partial / f"{schema}.schema.sql", ddl)
                files[f"{schema}.schema.sql"] = _sha256(partial / f"{schema}.schema.sql")
            cur.execute("COMMIT")
    except (pymysql.err.MySQLError, OSError) as exc:
        raise QuarantineError(
            f"quarantine of {node}: dump failed ({_classify(exc, endpoint, timeout)})"
        ) from None
    finally:
        try:
            conn.close()
        except (pymysql.err.MySQLError, OSError):
            pass
    receipt = {
        "node": node, "epoch": epoch, "time": stamp, "files": files, "rows": rows,
        "committed": committed,
    }  # fmt: skip
    _write(partial / "receipt.json", [json.dumps(receipt, indent=2, sort_keys=True) + "\n"])
    os.rename(partial, final)
    return Receipt(final, node, epoch, rows, committed)


def verify(directory: Path) -> Receipt:
    """The receipt of a complete, intact dump; QuarantineError otherwise."""
    try:
        raw = json.loads((directory / "receipt.json").read_text())
        files: dict[str, str] = raw["files"]
        node, epoch, rows = str(raw["node"]), int(raw["epoch"]), dict(raw["rows"])
        committed = int(raw.get("committed", -1))
    except FileNotFoundError:
        raise QuarantineError(f"{directory}: no receipt.json (incomplete dump)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise QuarantineError(f"{directory}/receipt.json: malformed ({exc})") from None
    for fname, digest in sorted(files.items()):
        try:
            actual = _sha256(directory / fname)
        except OSError:
            raise QuarantineError(f"{directory}: {fname} is missing") from None
        if actual != digest:
            raise QuarantineError(f"{directory}: {fname} does not match its receipt")
    return Receipt(directory, node, epoch, rows, committed)


def read_rows(receipt: Receipt, table: str) -> list[dict[str, Any]]:
    """The dumped rows of ``schema.table`` (for checks and for an operator's merge)."""
    path = receipt.directory / f"{table}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]
